// The page picks one of three builds by what the browser has: threads + relaxed-SIMD FMA at the
// root (this Chromium), threads without relaxed SIMD in plain/ (a browser that cannot validate
// relaxed SIMD, simulated here), and the single-threaded st/ (no isolation, fallback.test.mjs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, serve, step, text, waitForData, withoutRelaxedSimd } from './helpers.mjs';

describe('build selection', { timeout: 180_000 }, () => {
  let server, browser;

  before(async () => {
    server = await serve();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('uses the FMA build where relaxed SIMD validates', async () => {
    const page = await newPage(browser);
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    assert.equal(new URL(page.url()).pathname, '/');
    assert.match(await text(page, 'mode'), /^\d+ threads · SIMD128 \+ FMA \(relaxed SIMD\) · threaded build$/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('switches to the threaded build without relaxed SIMD where it does not validate, and trains', async () => {
    const page = await newPage(browser);
    // A browser without relaxed SIMD, as far as validation tells.
    await page.addInitScript(withoutRelaxedSimd);
    await page.goto(`${server.url}#v=1&seed=3`);
    await page.waitForURL(/\/plain\/(#.*)?$/);
    assert.match(new URL(page.url()).hash, /seed=3/, 'the link survives the switch');
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    const mode = await text(page, 'mode');
    assert.match(mode, /^\d+ threads · SIMD128 · threaded build$/, mode);
    assert.ok(Number.parseInt(mode, 10) >= 2, mode);
    await waitForData(page);
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 5);
    const [firstLoss, firstStep] = [Number(await text(page, 'train-loss')), await step(page)];
    // Progress is shown at most twice a second, so the first figures may already be past step 60.
    await page.waitForFunction((after) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= after,
      Math.max(60, firstStep + 50), { timeout: 60_000 });
    const laterLoss = Number(await text(page, 'train-loss'));
    console.log(`plain build: loss ${firstLoss} -> ${laterLoss} by step ${await step(page)}, ${await text(page, 'images-per-sec')}`);
    assert.ok(laterLoss < firstLoss, `loss should fall: ${firstLoss} -> ${laterLoss}`);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=run-state]:has-text("paused")', { timeout: 10_000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
