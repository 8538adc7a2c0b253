// Download size and time to ready: what a user waits for before the page is usable.
// Figures, not a pass/fail test (timing depends on the machine):
//   node tests/bench/startup.mjs [--runs 7] [--root dist]
// Prints each build's wasm files (bytes and gzip -9 bytes), then, for the threaded build, the
// milliseconds from navigation start to (a) the app's first paint of the data status, (b) the
// engine answering (the Start button enabled) and (c) MNIST decoded ("MNIST ready"), on a first
// visit (fresh profile, empty caches) and on a repeat visit (reload: HTTP and service-worker
// caches warm). Medians over the runs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launch, serve } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] || 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dist = new URL('../../dist/', import.meta.url).pathname;
for (const [build, dir] of [['threaded', dist], ['plain', join(dist, 'plain')], ['single-thread', join(dist, 'st')]]) {
  const wasm = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  let total = 0;
  const parts = wasm.map((f) => {
    const gz = gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
    total += gz;
    return `${f.replace(/-[0-9a-f]{16}_bg/, '_bg')} ${(statSync(join(dir, f)).size / 1024).toFixed(0)} KB (${(gz / 1024).toFixed(0)} KB gz)`;
  });
  console.log(`${build}: ${parts.join(', ')}; total ${(total / 1024).toFixed(0)} KB gz`);
}

/** Records, in the page, when each readiness sign first appears (ms since navigation start). */
function watch() {
  window.__ready = {};
  const mark = (k) => { window.__ready[k] ??= performance.now(); };
  new MutationObserver(() => {
    const status = document.querySelector('[data-testid=data-status]');
    if (status) mark('painted');
    if (status?.textContent.includes('MNIST ready')) mark('data');
    const start = document.querySelector('[data-testid=train-start]');
    if (start && !start.disabled) mark('engine');
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  // The first message of each kind from the engine worker: where the time goes.
  const kindOf = (data) => /^\{?"?(\w+)/.exec(data?.cnn ?? '')?.[1];
  const seen = (event) => {
    const k = kindOf(event.data);
    if (k) mark(`worker ${k}`);
    if (k === 'DataProgress') window.__ready['worker DataProgress last'] = performance.now();
  };
  const proto = Worker.prototype;
  const set = Object.getOwnPropertyDescriptor(proto, 'onmessage').set;
  Object.defineProperty(proto, 'onmessage', { set(f) { set.call(this, f && ((e) => { seen(e); return f(e); })); }, configurable: true });
  const add = proto.addEventListener;
  proto.addEventListener = function (type, f, o) {
    return add.call(this, type, type === 'message' && typeof f === 'function' ? (e) => { seen(e); return f(e); } : f, o);
  };
  const post = proto.postMessage;
  proto.postMessage = function (data, ...rest) {
    const k = kindOf(data);
    if (k) mark(`app ${k}`);
    return post.call(this, data, ...rest);
  };
  const Original = window.Worker;
  window.Worker = function (...args) { mark('worker created'); return new Original(...args); };
  window.Worker.prototype = Original.prototype;
}

const root = argv.includes('--root') ? argv[argv.indexOf('--root') + 1] : null;
const server = await serve(root ? { root } : {});
const browser = await launch();
const times = { first: [], repeat: [] };
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(watch);
    const page = await context.newPage();
    for (const visit of ['first', 'repeat']) {
      if (visit === 'first') await page.goto(server.url);
      else await page.reload();
      await page.waitForFunction(() => window.__ready.data && window.__ready.engine, null, { timeout: 60_000 });
      times[visit].push(await page.evaluate(() => window.__ready));
    }
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
for (const visit of ['first', 'repeat']) {
  const m = (k) => median(times[visit].map((t) => t[k]).filter((t) => t !== undefined)).toFixed(0);
  console.log(`${visit} visit (median of ${runs}): painted ${m('painted')} ms, engine ready ${m('engine')} ms, MNIST ready ${m('data')} ms`);
  const steps = Object.keys(times[visit][0]).filter((k) => k.includes(' '));
  console.log(`  steps: ${steps.map((k) => `${k} ${m(k)}`).sort((a, b) => a.split(' ').at(-1) - b.split(' ').at(-1)).join(', ')}`);
}
