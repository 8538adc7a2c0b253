// Main-thread time per prediction: how long the page's thread spends on each answer from the
// engine while a user draws (reading the message, updating the state, painting the probability
// bars, feature maps, filters and saliency), and how many bytes cross the worker boundary.
// Figures, not a pass/fail test (timing depends on the machine):
//   node tests/bench/main-thread.mjs [--draws 40] [--train]
// With --train it also trains the default model for its epoch and reports, per event kind, the
// main thread's time and its share of the epoch's wall time (CPU the two pool threads lose).
// The worker's `message` events are timed from an init script: the listener the app installs is
// wrapped, and the time from its start to the end of the microtasks it queued (Leptos runs its
// effects there) is recorded per event kind, with the listener's own (synchronous) part.
import { launch, newPage, serve, waitForData } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const draws = Number(arg('draws', 40));
const train = argv.includes('--train');

function instrument() {
  const records = [];
  window.__mainThread = records;
  const kindOf = (data) => {
    if (typeof data === 'string') return { kind: /^\{"cnn":\{?"?(\w+)/.exec(data)?.[1] ?? '?', bytes: data.length };
    const json = data?.cnn ?? '';
    const bulk = (data?.bulk ?? []).reduce((n, a) => n + a.byteLength, 0);
    return { kind: /^\{?"?(\w+)/.exec(json)?.[1] ?? '?', bytes: json.length + bulk };
  };
  // Leptos runs its effects (painting the maps) as microtasks after the handler; a message on a
  // MessageChannel is a task, so it runs once the handler and all its microtasks are done.
  const channel = new MessageChannel();
  const pending = [];
  channel.port1.onmessage = () => {
    const r = pending.shift();
    if (r) records.push({ ...r, ms: performance.now() - r.start });
  };
  const wrap = (listener) => function timed(event) {
    const start = performance.now();
    const { kind, bytes } = kindOf(event.data);
    try {
      return listener.call(this, event);
    } finally {
      pending.push({ kind, bytes, start, sync: performance.now() - start });
      channel.port2.postMessage(0);
    }
  };
  const proto = Worker.prototype;
  const set = Object.getOwnPropertyDescriptor(proto, 'onmessage').set;
  Object.defineProperty(proto, 'onmessage', { set(f) { set.call(this, f && wrap(f)); }, configurable: true });
  const add = proto.addEventListener;
  proto.addEventListener = function (type, f, o) { return add.call(this, type, type === 'message' && typeof f === 'function' ? wrap(f) : f, o); };
}

const server = await serve();
const browser = await launch();
try {
  const page = await newPage(browser);
  await page.addInitScript(instrument);
  await page.goto(server.url);
  await waitForData(page);
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  for (let i = 0; i < draws; i++) {
    await page.click('[data-testid=draw-clear]');
    const x = 0.3 + 0.4 * (i / draws);
    await page.mouse.move(box.x + x * box.width, box.y + 0.15 * box.height);
    await page.mouse.down();
    await page.mouse.move(box.x + (1 - x) * box.width, box.y + 0.85 * box.height, { steps: 12 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid=prediction][aria-busy=false]:has-text("Prediction:")');
  }
  await page.waitForTimeout(500);
  if (train) {
    await page.click('[data-testid=draw-clear]');
    const from = await page.evaluate(() => window.__mainThread.length);
    const t0 = Date.now();
    await page.click('[data-testid=train-start]');
    await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 300_000 });
    const wall = Date.now() - t0;
    const during = (await page.evaluate(() => window.__mainThread)).slice(from);
    const kinds = {};
    for (const r of during) (kinds[r.kind] ??= []).push(r.ms);
    const busy = await page.evaluate((t) => window.__longTasks.filter((l) => l.start >= t).length, 0);
    console.log(`training one epoch: ${(wall / 1000).toFixed(1)} s wall; main thread per event kind (count, total ms, median ms):`);
    for (const [kind, ms] of Object.entries(kinds)) {
      ms.sort((a, b) => a - b);
      const total = ms.reduce((a, b) => a + b, 0);
      console.log(`  ${kind.padEnd(14)} ${String(ms.length).padStart(5)} ${total.toFixed(0).padStart(7)} ms (${(100 * total / wall).toFixed(1)} % of the epoch) median ${ms[ms.length >> 1].toFixed(2)} ms`);
    }
    console.log(`  long tasks recorded since load: ${busy}`);
  }
  const records = await page.evaluate(() => window.__mainThread);
  const predictions = records.filter((r) => r.kind === 'Prediction');
  const quantiles = (key) => {
    const v = predictions.map((r) => r[key]).sort((a, b) => a - b);
    const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))].toFixed(2);
    return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${v.at(-1).toFixed(2)} ms`;
  };
  console.log(`main thread per prediction (${predictions.length} answers, ${predictions[0].bytes} bytes each): ` +
    `handler and its effects ${quantiles('ms')}; handler alone ${quantiles('sync')}`);
} finally {
  await browser.close();
  await server.close();
}
