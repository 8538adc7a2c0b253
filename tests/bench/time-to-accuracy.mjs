// Time to accuracy in the page: picks a preset, presses Start and reads the test accuracy after
// each epoch with the time since the click (what a user waits), beside the worker's own epoch
// time. Figures, not a pass/fail test (timing depends on the machine):
//   node tests/bench/time-to-accuracy.mjs [--preset fast-99]
import { launch, newPage, serve, waitForData } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const preset = arg('preset', 'fast-99');

const server = await serve();
const browser = await launch();
try {
  const page = await newPage(browser);
  await page.goto(server.url);
  await waitForData(page);
  await page.selectOption('[data-testid=preset-select]', preset);
  await page.waitForSelector('[data-testid=train-start]:not([disabled])');
  const epochs = Number(await page.inputValue('[data-testid=epochs]').catch(() => '1'));
  const start = Date.now();
  await page.click('[data-testid=train-start]');
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=epoch-time]').length >= n, epoch, { timeout: 600_000 });
    const seconds = (Date.now() - start) / 1000;
    const accuracy = Number(await page.$$eval('[data-testid=test-acc]', (els, n) => els.find((e) => e.dataset.epoch === String(n))?.dataset.accuracy, epoch));
    const worker = await page.$$eval('[data-testid=epoch-time]', (els, n) => els[n - 1].dataset.seconds, epoch);
    console.log(`${preset}: epoch ${epoch}: test accuracy ${(accuracy * 100).toFixed(2)}% at ${seconds.toFixed(1)} s after Start (the worker's epoch time ${Number(worker).toFixed(1)} s)`);
  }
} finally {
  await browser.close();
  await server.close();
}
