// The main user flow on the cross-origin isolated (threaded) page: the engine starts with a
// thread pool, MNIST loads, one epoch trains to >= 97% test accuracy without blocking the UI,
// pause/resume works, and a drawn digit is classified.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { drawStroke, launch, newPage, screenshot, serve, step, text, waitForData } from './helpers.mjs';

describe('threaded page', { timeout: 300_000 }, () => {
  let server, browser, page;

  before(async () => {
    server = await serve();
    browser = await launch();
    page = await newPage(browser);
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('is cross-origin isolated and runs the engine on more than one thread', async () => {
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    const mode = await text(page, 'mode');
    const threads = Number.parseInt(mode, 10);
    assert.ok(threads >= 2, `expected a thread pool, got "${mode}"`);
    assert.match(mode, /SIMD128/);
    assert.match(mode, /threaded build/);
    assert.equal(new URL(page.url()).pathname, '/');
  });

  it('downloads and decodes MNIST with a progress bar', async () => {
    await waitForData(page);
    assert.equal(await text(page, 'data-status'), 'MNIST ready: 60000 training and 10000 test images');
    assert.equal(await page.getAttribute('[data-testid=data-progress]', 'aria-valuenow'), '100');
    assert.match(await text(page, 'model-summary'), /11274 trainable parameters/);
  });

  it('pauses and resumes training', async () => {
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 20);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=run-state]:has-text("paused")', { timeout: 5_000 });
    const paused = await step(page);
    await page.waitForTimeout(1_000);
    assert.equal(await step(page), paused, 'no steps while paused');
    await page.click('[data-testid=train-resume]');
    await page.waitForFunction((s) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) > s, paused);
    assert.equal(await text(page, 'run-state'), 'running');
  });

  it('finishes one epoch at >= 97% test accuracy, UI free of long tasks', async () => {
    const trainingStart = await page.evaluate(() => performance.now());
    const throughput = [];
    const poll = setInterval(async () => {
      const t = await text(page, 'images-per-sec').catch(() => '');
      const v = Number.parseInt(t, 10);
      if (v > 0) throughput.push(v);
    }, 1_000);
    await page.waitForSelector('[data-testid=test-acc]', { timeout: 240_000 });
    clearInterval(poll);
    const accuracy = Number(await page.getAttribute('[data-testid=test-acc]', 'data-accuracy'));
    const longTasks = await page.evaluate((t0) => window.__longTasks.filter((t) => t.start >= t0), trainingStart);
    throughput.sort((a, b) => a - b);
    console.log(`threaded: test accuracy ${(accuracy * 100).toFixed(2)}%, ` +
      `throughput median ${throughput[throughput.length >> 1]} img/s (min ${throughput[0]}, max ${throughput.at(-1)}), ` +
      `long tasks during training: ${longTasks.length} (max ${Math.max(0, ...longTasks.map((t) => t.duration)).toFixed(0)} ms)`);
    assert.ok(accuracy >= 0.97, `test accuracy ${accuracy}`);
    const worst = Math.max(0, ...longTasks.map((t) => t.duration));
    assert.ok(worst <= 100, `main-thread long task of ${worst} ms while training`);
    await page.waitForSelector('[data-testid=run-state]:has-text("finished")');
    assert.equal(await page.getAttribute('[data-testid=train-progress]', 'aria-valuenow'), '100.0');
    await screenshot(page, 'threaded-after-epoch');
  });

  it('classifies a drawn digit and shows the 28x28 input', async () => {
    // A vertical stroke: a "1".
    await drawStroke(page, [[0.5, 0.15], [0.5, 0.85]]);
    await page.waitForSelector('[data-testid=prediction]:has-text("Prediction:")');
    const probs = await page.$$eval('[data-testid^=prob-]', (els) => els.map((e) => Number(e.dataset.prob)));
    assert.equal(probs.length, 10);
    const sum = probs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 0.01, `probabilities sum to ${sum}`);
    assert.equal(await text(page, 'prediction'), 'Prediction: 1');
    const ink = await page.$eval('[data-testid=input-preview]', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 0) lit++;
      return lit;
    });
    assert.ok(ink > 10 && ink < 200, `preprocessed input has ${ink} lit pixels`);
    await screenshot(page, 'threaded-drawing');

    // Touch and pen go through the same pointer-event path: draw a "7" with touch events.
    await page.click('[data-testid=draw-clear]');
    assert.match(await text(page, 'prediction'), /Draw a digit/);
    await page.$eval('[data-testid=draw-canvas]', (canvas) => {
      const r = canvas.getBoundingClientRect();
      const pts = [[0.2, 0.2], [0.8, 0.2], [0.7, 0.4], [0.55, 0.65], [0.45, 0.85]];
      const fire = (type, [fx, fy]) => canvas.dispatchEvent(new PointerEvent(type, {
        pointerId: 7, pointerType: 'touch', isPrimary: true, bubbles: true, cancelable: true,
        clientX: r.left + fx * r.width, clientY: r.top + fy * r.height,
      }));
      fire('pointerdown', pts[0]);
      for (const p of pts.slice(1)) fire('pointermove', p);
      fire('pointerup', pts.at(-1));
    });
    await page.waitForSelector('[data-testid=prediction]:has-text("Prediction:")');
    assert.equal(await text(page, 'prediction'), 'Prediction: 7');
    assert.deepEqual(page.errors, []);
  });

  it('benchmarks this device from the Benchmark card', async () => {
    await page.click('[data-testid=bench-run]');
    assert.equal(await page.isDisabled('[data-testid=train-reset]'), false);
    await page.waitForSelector('[data-testid=bench-status]:has-text("done")', { timeout: 120_000 });
    const results = JSON.parse(await text(page, 'bench-json'));
    assert.deepEqual(results.map((r) => r.name), ['reference', 'lenet-5', 'pytorch-mnist-cnn']);
    for (const r of results) {
      assert.ok(r.threads >= 2, `${r.name} ran on ${r.threads} threads`);
      assert.ok(r.train_img_s.every((v) => v > 0) && r.infer_img_s.every((v) => v > 0), JSON.stringify(r));
      assert.ok(r.layers.length > 0 && r.memory_bytes > 0);
    }
    const rows = await page.$$('[data-testid=bench-table] tbody tr');
    assert.equal(rows.length, 3);
    console.log(`in-app benchmark: ${results.map((r) => `${r.name} train ${Math.round(r.train_img_s[1])} img/s, infer ${Math.round(r.infer_img_s[1])} img/s`).join('; ')}`);
    await screenshot(page, 'threaded-benchmark');
  });
});
