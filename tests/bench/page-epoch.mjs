// The page's training rate against the benchmark's, in one run: what a user gets while watching
// the curves versus what the engine does alone. Figures, not a pass/fail test:
//   node tests/bench/page-epoch.mjs [--runs 3] [--root dist]
// Each run opens the app in a fresh browser, trains the default model for its one MNIST epoch
// and records, from the engine's own messages, the time from pressing Start to the last Progress
// event (the training rate: 60,000 images over that time) and the epoch's wall time with the
// 10,000-image test evaluation (the page's "epoch time"). Right after each epoch, the in-page
// benchmark of the same net (?bench=reference, three 2-s measurements) runs in a fresh browser, so
// each run gives a ratio measured side by side (this machine's speed drifts by ±30 % over
// minutes); the median of those ratios is printed.
import { launch, newPage, recordEngineMessages, serve, waitForData } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const runs = Number(arg('runs', 3));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await serve(arg('root') ? { root: arg('root') } : {});
const rates = [], epochs = [], benches = [], ratios = [];

/** The benchmark's training rate for the default net: the median of three 2-s measurements, in
 *  a fresh browser (as `make bench` measures). */
async function benchOnce() {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await page.goto(`${server.url}?bench=reference&reps=3&minms=2000`);
    await page.waitForSelector('[data-testid=bench-status]:has-text("done")', { timeout: 300_000 });
    const [report] = JSON.parse(await page.textContent('[data-testid=bench-json]'));
    return median(report.train_img_s);
  } finally { await browser.close(); }
}

try {
  for (let run = 0; run < runs; run++) {
    const browser = await launch();
    try {
      const page = await newPage(browser);
      await page.addInitScript(recordEngineMessages);
      await page.goto(server.url);
      await waitForData(page);
      await page.waitForTimeout(1000); // the first prediction and previews settle
      const start = await page.evaluate(() => performance.now());
      await page.click('[data-testid=train-start]');
      await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 300_000 });
      const events = await page.evaluate(() => window.__engine);
      const progress = events.filter(([, m]) => m.Progress);
      const images = progress.reduce((n, [, m]) => n + m.Progress.report.images, 0);
      const last = progress.at(-1)[0];
      const seconds = events.find(([, m]) => m.Evaluated)?.[1].Evaluated.seconds;
      rates.push(images * 1000 / (last - start));
      epochs.push(seconds);
      console.log(`run ${run + 1}: ${images} images in ${((last - start) / 1000).toFixed(2)} s → ${rates.at(-1).toFixed(0)} img/s; epoch with the test evaluation ${seconds.toFixed(2)} s (${progress.length} Progress events)`);
    } finally { await browser.close(); }
    benches.push(await benchOnce());
    ratios.push(rates.at(-1) / benches.at(-1));
    console.log(`        benchmark right after: ${benches.at(-1).toFixed(0)} img/s → page ${(100 * ratios.at(-1)).toFixed(1)} % of it`);
  }
  console.log(`page: median ${median(rates).toFixed(0)} img/s, benchmark median ${median(benches).toFixed(0)} img/s; page / benchmark per run ${ratios.map((r) => (100 * r).toFixed(1)).join(' / ')} %, median ${(100 * median(ratios)).toFixed(1)} %; epoch time median ${median(epochs).toFixed(2)} s`);
} finally { await server.close(); }
