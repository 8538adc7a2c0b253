// Issue 13: no link, file or busy machine can break the page.
// - The Content-Security-Policy is sent and met (header and meta; no violation, no request leaves
//   the origin: checked here and in every flow that uses openApp/closeApp).
// - A dead engine is restarted and training continues from the checkpoint.
// - Offline after a first visit, and threaded on a host that sends no isolation headers (the
//   service worker adds them).
// - Hostile links are refused by field, never wrapped into a model that trains.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, drawStroke, launch, newPage, openApp, policyBreaches, screenshot, serve, step, text, waitForData } from './helpers.mjs';

const waitStep = (page, n, timeout = 60_000) =>
  page.waitForFunction((k) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= k, n, { timeout });

/** Draws a rough 7 and waits for the prediction that answers it. */
async function drawSeven(page) {
  await drawStroke(page, [[0.25, 0.25], [0.75, 0.25], [0.45, 0.8]]);
  await page.waitForSelector('[data-testid=prediction][aria-busy=false]', { timeout: 30_000 });
  return text(page, 'prediction');
}

describe('content security policy', { timeout: 180_000 }, () => {
  let app;
  before(async () => { app = await openApp(); });
  after(() => closeApp(app));

  it('is sent as a header and a meta tag, strict for scripts', async () => {
    const response = await fetch(app.server.url);
    const header = response.headers.get('content-security-policy');
    console.log(`CSP header: ${header}`);
    for (const part of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'",
      "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      assert.ok(header.includes(part), `header lacks ${part}`);
    }
    assert.ok(!/unsafe-eval'|script-src[^;]*unsafe-inline/.test(header.replace("'wasm-unsafe-eval'", '')), header);
    const meta = await app.page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    assert.ok(meta.startsWith("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"), meta);
    assert.equal(await app.page.$$eval('script:not([src])', (s) => s.length), 0, 'no inline script');
  });

  it('is met while training, drawing and predicting', async () => {
    const { page } = app;
    await page.click('[data-testid=train-start]');
    await waitStep(page, 30);
    await drawSeven(page);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    assert.deepEqual(await policyBreaches(app.browser), []);
    assert.deepEqual(page.errors, []);
  });
});

describe('engine restart', { timeout: 240_000 }, () => {
  let app;
  before(async () => { app = await openApp(); });
  after(() => closeApp(app));

  it('a panicking engine is replaced and training continues from the checkpoint', async () => {
    const { page } = app;
    await page.click('[data-testid=train-start]');
    await waitStep(page, 40);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    const paused = await step(page);
    await page.waitForTimeout(1500); // the checkpoint is written right after the pause
    const started = Date.now();
    await page.evaluate(() => window.wasmBindings.test_panic_engine());
    await page.waitForSelector('[data-testid=engine-restarted]', { timeout: 30_000 });
    const banner = await text(page, 'engine-restarted');
    assert.match(banner, /the engine stopped \(.+\) and was restarted, continuing from the last checkpoint/);
    await page.waitForSelector('[data-testid=restored]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=train-resume]:not([disabled])', { timeout: 30_000 });
    console.log(`engine restart: ${Date.now() - started} ms from the panic to the restored checkpoint (${banner})`);
    await screenshot(page, 'engine-restarted');
    assert.equal(await step(page), paused, 'continues at the step the checkpoint holds');
    await page.click('[data-testid=train-resume]');
    await waitStep(page, paused + 10);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    assert.equal(await text(page, 'run-state'), 'paused');
    assert.match(await drawSeven(page), /\d/);
  });

  it('a pool thread that panics is noticed at the next ping, and the engine restarted', async () => {
    const { page } = app;
    const paused = await step(page);
    await page.waitForTimeout(1500); // the checkpoint is written right after the pause
    const started = Date.now();
    await page.evaluate(() => window.wasmBindings.test_panic_engine_thread());
    await page.waitForFunction(() => /one of its threads panicked/.test(document.querySelector('[data-testid=engine-restarted]')?.textContent ?? ''),
      null, { timeout: 30_000 });
    const banner = await text(page, 'engine-restarted');
    assert.match(banner, /one of its threads panicked: the page asked a pool thread to panic \(a test of the restart\)\) and was restarted.*restart 2/);
    await page.waitForSelector('[data-testid=train-resume]:not([disabled])', { timeout: 60_000 });
    console.log(`pool-thread panic: ${Date.now() - started} ms to a restarted engine (${banner})`);
    assert.equal(await step(page), paused, 'continues at the step the checkpoint holds');
    await page.click('[data-testid=train-resume]');
    await waitStep(page, paused + 10);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    assert.match(await text(page, 'mode'), /2 threads/);
  });
});

describe('offline and any static host', { timeout: 240_000 }, () => {
  it('works with the network off after a first visit', async () => {
    const server = await serve();
    const browser = await launch();
    try {
      const page = await newPage(browser);
      await page.goto(server.url);
      await waitForData(page);
      // The service worker has cached the app and MNIST once it controls the page.
      await page.waitForFunction(async () => {
        const reg = await navigator.serviceWorker.ready;
        return !!navigator.serviceWorker.controller && !!reg.active && (await caches.keys()).some((k) => k.startsWith('cnn-playground-'));
      }, null, { timeout: 60_000 });
      await page.context().setOffline(true);
      await page.reload();
      await waitForData(page);
      assert.ok(await page.evaluate(() => self.crossOriginIsolated));
      await page.click('[data-testid=train-start]');
      await waitStep(page, 20);
      await page.click('[data-testid=train-pause]');
      await page.waitForSelector('[data-testid=train-resume]');
      assert.match(await drawSeven(page), /\d/);
      console.log(`offline: trained to step ${await step(page)} and predicted with the network off`);
      assert.deepEqual(page.errors, []);
      assert.deepEqual(await policyBreaches(browser), []);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it('installs the offline copy only while no training runs', async () => {
    const server = await serve();
    const browser = await launch();
    try {
      const page = await newPage(browser);
      // What the run state was when the page asked for the service worker.
      await page.addInitScript(() => {
        const register = ServiceWorkerContainer.prototype.register;
        ServiceWorkerContainer.prototype.register = function (...args) {
          window.__runAtRegister ??= document.querySelector('[data-run]')?.dataset.run ?? 'none';
          return register.apply(this, args);
        };
      });
      await page.goto(server.url);
      await waitForData(page);
      // Started before the 2 s after load at which an idle page installs it (ready is ~1.1 s here).
      await page.click('[data-testid=train-start]');
      await page.waitForSelector('[data-run=finished]', { timeout: 180_000 });
      const during = await page.evaluate(() => window.__runAtRegister ?? null);
      await page.waitForFunction(() => window.__runAtRegister !== undefined, null, { timeout: 30_000 });
      const state = await page.evaluate(() => window.__runAtRegister);
      console.log(`service worker asked for when the run was "${state}" (${during ? 'before' : 'after'} the epoch ended)`);
      assert.doesNotMatch(state, /running|pausing/);
      await page.waitForFunction(async () => !!(await navigator.serviceWorker.ready).active, null, { timeout: 60_000 });
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  it('runs the threaded build on a host without isolation headers', async () => {
    const server = await serve({ isolation: false });
    const browser = await launch();
    try {
      const page = await newPage(browser);
      await page.goto(`${server.url}#v=1&seed=5`);
      // Single-threaded first, then back at the root once the service worker controls the page.
      await page.waitForFunction(() => self.crossOriginIsolated && location.pathname === '/', null, { timeout: 60_000 });
      await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
      const mode = await text(page, 'mode');
      console.log(`static host without headers: ${mode}`);
      assert.match(mode, /^2 threads · SIMD128 \+ FMA/);
      assert.match(new URL(page.url()).hash, /seed=5/, 'the link survives the detour');
      await waitForData(page);
      assert.deepEqual(await policyBreaches(browser), []);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

describe('hostile links', { timeout: 120_000 }, () => {
  let app;
  before(async () => { app = await openApp(); });
  after(() => closeApp(app));

  it('a padding of 2^32-1 is refused by field, not wrapped into a model that trains', async () => {
    const page = await newPage(app.browser);
    await page.goto(`${app.server.url}#v=1&layers=conv2d(out_channels=8,kernel_size=3,padding=4294967295);relu;flatten;linear(out_features=10)&seed=1&seed=2`);
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    const body = await page.textContent('body');
    assert.ok(body.includes('must be at most 256, not 4294967295'), 'the padding is refused by name');
    assert.ok(!body.includes('⌊(28+2·4294967295'), 'no wrapped formula');
    await page.waitForSelector('[data-testid=link-notice]');
    assert.match(await text(page, 'link-notice'), /`seed=` given 2 times: the first one is used/);
    assert.ok(await page.$eval('[data-testid=train-start]', (b) => b.disabled), 'an invalid model cannot be trained');
    await screenshot(page, 'hostile-link');
    await page.close();
  });

  it('a model too large for the tab is refused by the memory budget before the engine sees it', async () => {
    const page = await newPage(app.browser);
    await page.goto(`${app.server.url}#v=1&layers=flatten;linear(out_features=1000000);linear(out_features=10)`);
    await page.waitForSelector('[data-testid=mode]:has-text("thread")', { timeout: 30_000 });
    await page.waitForFunction(() => document.body.textContent.includes('memory budget'), null, { timeout: 30_000 });
    assert.ok(await page.$eval('[data-testid=train-start]', (b) => b.disabled));
    assert.equal(await page.$('[data-testid=engine-restarted]'), null, 'the engine did not die');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
