// Autosave: the training checkpoint (weights, optimizer state, position) is kept in IndexedDB;
// a reload — after a pause or in the middle of training — continues from it, and a reset
// forgets it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, serve, step, text, waitForData } from './helpers.mjs';

const waitStep = (page, n) => page.waitForFunction((k) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= k, n, { timeout: 90_000 });

describe('autosave', { timeout: 300_000 }, () => {
  let server, browser, context, page;

  before(async () => {
    server = await serve();
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    await page.goto(server.url);
    await waitForData(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a reload after a pause continues from the saved step', async () => {
    await page.click('[data-testid=train-start]');
    await waitStep(page, 40);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    const paused = await step(page);
    await page.waitForTimeout(1500); // the checkpoint is written right after the pause
    await page.reload();
    await page.waitForSelector('[data-testid=data-status]:has-text("ready")', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=restored]', { timeout: 60_000 });
    assert.match(await text(page, 'restored'), new RegExp(`epoch 1 of 1, step ${paused} of 938`));
    assert.equal(await step(page), paused);
    assert.equal(await text(page, 'run-state'), 'paused');
    await page.click('[data-testid=train-resume]');
    await waitStep(page, paused + 5);
    const loss = Number(await text(page, 'train-loss'));
    assert.ok(loss < 1.0, `a restored model keeps its training (loss ${loss}), not a fresh one`);
  });

  it('a reload in the middle of training continues from the last periodic checkpoint', async () => {
    const before = await step(page);
    await page.waitForTimeout(7000);
    const now = await step(page);
    assert.ok(now > before);
    await page.reload();
    await page.waitForSelector('[data-testid=restored]', { timeout: 60_000 });
    const restored = await step(page);
    assert.ok(restored > before, `restored at step ${restored}, training had reached ${now} from ${before}`);
  });

  it('a reset forgets the checkpoint', async () => {
    await page.click('[data-testid=train-reset]');
    await page.waitForTimeout(1000);
    await page.reload();
    await waitForData(page);
    await page.waitForTimeout(1500);
    assert.equal(await page.$('[data-testid=restored]'), null);
    assert.equal(await text(page, 'step'), '–');
    assert.deepEqual(page.errors, []);
  });
});
