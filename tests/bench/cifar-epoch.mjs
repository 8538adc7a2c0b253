// CIFAR in the page: a CIFAR-10-format archive of 50,000 + 10,000 generated 32×32×3 images
// (`cnn synthetic-cifar`, about the real archive's size) is read into the page, and one epoch
// of a preset (keras-cifar10 by default) is trained: prints the reading time, the epoch time
// and the training rate. Figures, not a pass/fail test:
//   node tests/bench/cifar-epoch.mjs [--preset keras-cifar10] [--train 50000]
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeApp, openApp } from '../e2e/helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const arg = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const preset = arg('preset', 'keras-cifar10');
const train = Number(arg('train', '50000'));
const archive = join(root, 'target', `synthetic-cifar-${train}.tar.gz`);
if (!existsSync(archive)) {
  execFileSync('cargo', ['run', '--release', '--quiet', '--bin', 'cnn', '--', 'synthetic-cifar', archive, '--train', String(train), '--test', '10000'], { cwd: root, stdio: 'inherit' });
}
const app = await openApp();
try {
  const { page } = app;
  await page.selectOption('[data-testid=preset-select]', preset);
  // Presets made for MNIST keep the chosen dataset: choose CIFAR-10 for them.
  if (await page.inputValue('[data-testid=dataset]') !== 'cifar-10') await page.selectOption('[data-testid=dataset]', 'cifar-10');
  await page.waitForSelector('[data-testid=data-drop]');
  let start = Date.now();
  await page.setInputFiles('[data-testid=data-files]', archive);
  await page.waitForSelector('[data-testid=data-status]:has-text("ready")', { timeout: 600_000 });
  console.log(`read ${(statSync(archive).size / 1e6).toFixed(1)} MB (${train} + 10000 images) in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  await page.fill('[data-testid=epochs]', '1');
  await page.press('[data-testid=epochs]', 'Enter');
  await page.waitForSelector('[data-testid=train-start]:not([disabled])');
  start = Date.now();
  await page.click('[data-testid=train-start]');
  await page.waitForSelector('[data-testid=epoch-time]', { timeout: 1_800_000 });
  const seconds = (Date.now() - start) / 1000;
  const worker = Number(await page.getAttribute('[data-testid=epoch-time]', 'data-seconds'));
  const accuracy = Number(await page.getAttribute('[data-testid=test-acc]', 'data-accuracy'));
  console.log(`${preset}: one epoch of ${train} images in ${seconds.toFixed(1)} s after Start (worker's epoch time ${worker.toFixed(1)} s incl. the 10000-image test, ${(train / worker).toFixed(0)} img/s); test accuracy ${(accuracy * 100).toFixed(2)}%`);
} finally {
  await closeApp(app);
}
