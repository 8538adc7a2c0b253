// `make bench`: our engine's in-browser benchmark (threaded FMA, plain and fallback builds) and, in the same
// run, the peers of ../shared/peers (TensorFlow.js, ConvNetJS) and the WASM SIMD peak probe.
// Prints one table and writes tests/bench/results/latest.json.
//   node tests/bench/run.mjs [--reps 3] [--min-ms 2000] [--nets reference,lenet-5,pytorch-mnist-cnn] [--no-peers]
//     [--pytorch PYTHON]   native PyTorch rows too (a Python with torch; `make bench-pytorch` makes one)
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, serve, withoutRelaxedSimd } from '../e2e/helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const reps = Number(arg('reps', 3));
const minMs = Number(arg('min-ms', 2000));
const nets = arg('nets', 'reference,lenet-5,pytorch-mnist-cnn');
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

// build: 'threaded' (FMA, at /), 'plain' (threads without relaxed SIMD), 'fallback' (one thread).
async function ours(build) {
  const isolation = build !== 'fallback';
  const server = await serve({ isolation });
  const browser = await launch();
  try {
    // Without the headers the service worker would make the page cross-origin isolated (threads
    // on any static host) and the "fallback" row would measure the threaded build again.
    const page = isolation ? await browser.newPage() : await (await browser.newContext({ serviceWorkers: 'block' })).newPage();
    if (build === 'plain') await page.addInitScript(withoutRelaxedSimd);
    await page.goto(`${server.url}?bench=${nets}&reps=${reps}&minms=${minMs}`);
    const timeout = (nets.split(',').length * reps * minMs * 2 + 60_000) * 2;
    await page.waitForSelector('[data-testid=bench-status]:has-text("done")', { timeout });
    const error = await page.$('[data-testid=error]');
    if (error) throw new Error(await error.textContent());
    const mode = await page.textContent('[data-testid=mode]');
    const results = JSON.parse(await page.textContent('[data-testid=bench-json]'));
    return results.map((r) => ({ ...r, build, mode, path: new URL(page.url()).pathname }));
  } finally {
    await browser.close();
    await server.close();
  }
}

function peers() {
  const src = resolve(here, '../../../shared/peers');
  if (!existsSync(src)) return { note: `no peers harness at ${src}` };
  // shared/ is read-only: run a copy (its node_modules stay for the next run).
  const dir = resolve(here, '../../target/peers');
  cpSync(src, dir, { recursive: true, filter: (p) => !p.includes('node_modules') && !p.includes('/results') });
  if (!existsSync(join(dir, 'node_modules/@tensorflow/tfjs-backend-wasm'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  }
  if (!existsSync(join(dir, 'web/peak_relaxed.wasm'))) execFileSync('node', ['bench/gen_peak_wat.mjs'], { cwd: dir, stdio: 'inherit' });
  execFileSync('node', ['bench/run.mjs', '--configs', 'tfjs-wasm-simd-mt2,tfjs-wasm-simd,convnetjs', '--reps', String(reps),
    '--min-time', String(minMs / 1000)], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  return JSON.parse(readFileSync(join(dir, 'results/latest.json'), 'utf8'));
}

const report = { date: new Date().toISOString(), reps, minMs, ours: [] };
for (const build of ['threaded', 'plain', 'fallback']) report.ours.push(...await ours(build));
report.peers = argv.includes('--no-peers') ? { note: 'skipped' } : peers();
// Native PyTorch running our own export of each net, in the same run (after the browsers: alone).
const python = arg('pytorch', '');
if (python) {
  const cnn = resolve(here, '../../target/release/cnn');
  report.pytorch = JSON.parse(execFileSync(python, [join(here, 'pytorch_native.py'), '--cnn', cnn, '--nets', nets,
    '--reps', String(reps), '--min-ms', String(minMs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

const peakRows = report.peers.peak?.rows || [];
// The best peak kernel this build can use: relaxed-SIMD FMA only in the threaded (FMA) build.
const peakFor = (threads, build) => Math.max(0, ...peakRows
  .filter((r) => r.workers === threads && (build === 'threaded' || !r.kernel.includes('relaxed'))).map((r) => r.gflops));
const fmt = (v) => Math.round(v).toLocaleString('en-US');
const pad = (cols, w) => cols.map((c, i) => String(c).padEnd(w[i])).join(' | ');
const W = [38, 7, 22, 22, 8, 8, 9, 9];
console.log(`\n== side by side, headless Chromium, batch 64, ${reps} reps x >= ${minMs} ms (min / median)`);
console.log(pad(['engine / net', 'threads', 'train img/s', 'infer img/s', 'trainGF', 'inferGF', '% peak', '2t / 1t'], W));
for (const r of report.ours) {
  const tr = r.train_img_s, inf = r.infer_img_s;
  const gf = median(tr) * r.train_flops / 1e9;
  const peak = peakFor(r.threads, r.build);
  // Training with two threads over one, the one-thread reps interleaved with the threaded ones.
  const scaling = r.train_img_s_one_thread?.length ? `${(median(tr) / median(r.train_img_s_one_thread)).toFixed(2)}x` : '';
  console.log(pad([`ours ${r.build} ${r.name}`, r.threads, `${fmt(Math.min(...tr))} / ${fmt(median(tr))}`,
    `${fmt(Math.min(...inf))} / ${fmt(median(inf))}`, gf.toFixed(2), (median(inf) * r.infer_flops / 1e9).toFixed(2),
    peak ? `${(100 * gf / peak).toFixed(1)}%` : '?', scaling], W));
}
for (const r of report.pytorch?.results || []) {
  const tr = r.train_img_s, inf = r.infer_img_s;
  console.log(pad([`pytorch ${report.pytorch.torch} native ${r.name}`, 2, `${fmt(Math.min(...tr))} / ${fmt(median(tr))}`,
    `${fmt(Math.min(...inf))} / ${fmt(median(inf))}`, '', '', '', `${(median(tr) / median(r.train_img_s_one_thread)).toFixed(2)}x`], W));
}
const REF_TRAIN = 4.437e6, REF_FWD = 1.584e6;
for (const r of report.peers.results || []) {
  if (r.error) { console.log(pad([`${r.cfg} reference`, '', 'ERROR ' + r.error.slice(0, 60)], W)); continue; }
  const tr = r.train.map((t) => t.imgPerSec), inf = r.infer.map((t) => t.imgPerSec);
  console.log(pad([`${r.cfg} reference`, r.info?.wasmThreads ?? 1, `${fmt(Math.min(...tr))} / ${fmt(median(tr))}`,
    `${fmt(Math.min(...inf))} / ${fmt(median(inf))}`, (median(tr) * REF_TRAIN / 1e9).toFixed(2),
    (median(inf) * REF_FWD / 1e9).toFixed(2), '', ''], W));
}
if (peakRows.length) {
  console.log('\nWASM SIMD128 peak measured in this run (% peak above: the best kernel the build can use, same worker count):');
  for (const p of peakRows) console.log(`  ${p.kernel.padEnd(34)} workers=${p.workers} ${p.gflops.toFixed(1)} GFLOPS`);
}
for (const r of report.ours) {
  console.log(`\nours ${r.build} (${r.path}, ${r.mode}) ${r.name}: wasm memory ${(r.memory_bytes / 2 ** 20).toFixed(0)} MiB; µs per image, one thread (forward / backward):`);
  for (const [i, l] of r.layers.entries()) console.log(`  ${String(i).padEnd(3)} ${l.name.padEnd(10)} ${l.forward_us.toFixed(1).padStart(8)} ${l.backward_us.toFixed(1).padStart(8)}`);
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(report, null, 2));
console.log(`\nwrote ${join(here, 'results', 'latest.json')}`);
