// Without cross-origin isolation and without a service worker to add the headers (a browser that
// has none, simulated by blocking them), the page switches to the single-threaded build (st/),
// which still trains in its worker; and a phone-width layout stays usable.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, screenshot, serve, step, text, waitForData } from './helpers.mjs';

describe('fallback page (no isolation headers)', { timeout: 180_000 }, () => {
  let server, browser, page;

  before(async () => {
    server = await serve({ isolation: false });
    browser = await launch();
    page = await newPage(browser, { width: 360, height: 780 }, { serviceWorkers: 'block' });
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('redirects to the single-threaded build and says so', async () => {
    await page.waitForURL(/\/st\/$/);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    const mode = await text(page, 'mode');
    assert.match(mode, /^1 thread · SIMD128 · single-threaded fallback/);
  });

  it('loads MNIST and trains', async () => {
    await waitForData(page);
    const trainingStart = await page.evaluate(() => performance.now());
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 5);
    const firstLoss = Number(await text(page, 'train-loss'));
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 120,
      null, { timeout: 120_000 });
    const laterLoss = Number(await text(page, 'train-loss'));
    const ips = await text(page, 'images-per-sec');
    console.log(`fallback: loss ${firstLoss} -> ${laterLoss} by step ${await step(page)}, throughput ${ips}`);
    assert.ok(laterLoss < firstLoss, `loss should fall: ${firstLoss} -> ${laterLoss}`);
    const longTasks = await page.evaluate((t0) => window.__longTasks.filter((t) => t.start >= t0), trainingStart);
    assert.ok(Math.max(0, ...longTasks.map((t) => t.duration)) <= 100, `long tasks while training: ${JSON.stringify(longTasks)}`);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=run-state]:has-text("paused")', { timeout: 10_000 });
  });

  it('fits a 360 px wide screen', async () => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    await screenshot(page, 'fallback-phone');
    assert.deepEqual(page.errors, []);
  });
});
