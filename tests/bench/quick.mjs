// Quick in-browser benchmark for kernel work: one build, chosen nets, per-layer times.
//   node tests/bench/quick.mjs [--nets reference] [--reps 3] [--min-ms 1500] [--fallback] [--root dist]
import { launch, serve } from '../e2e/helpers.mjs';
const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const nets = arg('nets', 'reference'), reps = arg('reps', 3), minMs = arg('min-ms', 1500);
const isolation = !argv.includes('--fallback');
const server = await serve({ isolation, ...(arg('root') ? { root: arg('root') } : {}) });
const browser = await launch();
try {
  // Without the headers the service worker would isolate the page and run the threaded build.
  const page = isolation ? await browser.newPage() : await (await browser.newContext({ serviceWorkers: "block" })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log('console:', m.text()); });
  await page.goto(`${server.url}?bench=${nets}&reps=${reps}&minms=${minMs}`);
  await page.waitForSelector('[data-testid=bench-status]:has-text("done")', { timeout: 600_000 });
  const results = JSON.parse(await page.textContent('[data-testid=bench-json]'));
  const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const r of results) {
    console.log(`${r.name} threads=${r.threads} train ${r.train_img_s.map(Math.round).join('/')} (${(med(r.train_img_s) * r.train_flops / 1e9).toFixed(1)} GF) infer ${r.infer_img_s.map(Math.round).join('/')} (${(med(r.infer_img_s) * r.infer_flops / 1e9).toFixed(1)} GF) mem ${(r.memory_bytes / 2 ** 20).toFixed(0)} MiB`);
    if (r.train_img_s_one_thread?.length) console.log(`  one thread: train ${r.train_img_s_one_thread.map(Math.round).join('/')} → scaling ${(med(r.train_img_s) / med(r.train_img_s_one_thread)).toFixed(2)}×`);
    let f = 0, b = 0;
    for (const [i, l] of r.layers.entries()) { f += l.forward_us; b += l.backward_us; console.log(`  ${i} ${l.name.padEnd(10)} ${l.forward_us.toFixed(1).padStart(7)} ${l.backward_us.toFixed(1).padStart(7)}`); }
    console.log(`  total      ${f.toFixed(1).padStart(7)} ${b.toFixed(1).padStart(7)}`);
  }
} finally { await browser.close(); await server.close(); }
