// Autosave: the training checkpoint (weights, optimizer state, position) and the page state
// (spec, curves, run history) are kept in IndexedDB; a reload — after a pause or in the middle
// of training — continues from them, a reset forgets the checkpoint, and a browser without
// storage says so while the page keeps working. Also: validation curves beside the test set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, launch, newPage, openApp, screenshot, serve, step, text, waitForData } from './helpers.mjs';

const waitStep = (page, n) => page.waitForFunction((k) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= k, n, { timeout: 90_000 });

/** Steps since the run began (the step figure restarts at each epoch). */
async function runStep(page) {
  const epoch = Number.parseInt(await text(page, 'epoch'), 10) || 1;
  return (epoch - 1) * 938 + await step(page);
}

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
    // Ten epochs, so that the next test still finds the run going after the first epoch and a
    // checkpoint (an epoch takes 7 s here; a finished run leaves nothing to continue).
    await page.fill('[data-testid=epochs]', '10');
    await page.press('[data-testid=epochs]', 'Enter');
    await page.click('[data-testid=train-start]');
    await waitStep(page, 40);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    const paused = await step(page);
    await page.waitForTimeout(1500); // the checkpoint is written right after the pause
    await page.reload();
    await page.waitForSelector('[data-testid=data-status]:has-text("ready")', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=restored]', { timeout: 60_000 });
    assert.match(await text(page, 'restored'), new RegExp(`epoch 1 of 10, step ${paused} of 938`));
    assert.equal(await step(page), paused);
    assert.equal(await text(page, 'run-state'), 'paused');
    // The curves came back with the checkpoint.
    assert.match(await text(page, 'chart-text'), /^step \d+: training loss \d\.\d{4}/);
    await page.click('[data-testid=train-resume]');
    await waitStep(page, paused + 5);
    const loss = Number(await text(page, 'train-loss'));
    assert.ok(loss < 1.0, `a restored model keeps its training (loss ${loss}), not a fresh one`);
  });

  it('a reload in the middle of training continues from the last periodic checkpoint', async () => {
    const before = await runStep(page);
    // Past the end of the first epoch, and long enough for a periodic checkpoint after it.
    await page.waitForSelector('[data-testid=epoch-time]', { timeout: 120_000 });
    await page.waitForTimeout(6000);
    const now = await runStep(page);
    assert.ok(now > before);
    const shown = await page.$$eval('[data-testid=evals] li', (items) => items.map((li) => li.dataset.testid));
    await page.reload();
    await page.waitForSelector('[data-testid=restored]', { timeout: 60_000 });
    const restored = await runStep(page);
    assert.ok(restored > before, `restored at step ${restored}, training had reached ${now} from ${before}`);
    // Everything the run showed for the first epoch comes back: test figures and wall time.
    assert.deepEqual(await page.$$eval('[data-testid=evals] li', (items) => items.map((li) => li.dataset.testid)), shown);
    assert.ok(shown.includes('epoch-time') && shown.includes('test-acc'), `${shown}`);
  });

  it('a reset forgets the checkpoint', async () => {
    await page.click('[data-testid=train-reset]');
    // The notice described the restored run; Reset ends that run.
    await page.waitForSelector('[data-testid=restored]', { state: 'detached', timeout: 5_000 });
    await page.waitForTimeout(1000);
    await page.reload();
    await waitForData(page);
    await page.waitForTimeout(1500);
    assert.equal(await page.$('[data-testid=restored]'), null);
    assert.equal(await text(page, 'step'), '–');
    assert.deepEqual(page.errors, []);
  });
});

describe('storage and validation', { timeout: 300_000 }, () => {
  it('a browser without IndexedDB shows why nothing is saved, and the page keeps working', async () => {
    const server = await serve();
    const browser = await launch();
    try {
      const page = await newPage(browser);
      // As private modes of some browsers do: opening a database throws.
      await page.addInitScript(() => {
        IDBFactory.prototype.open = () => { throw new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError'); };
      });
      await page.goto(server.url);
      await waitForData(page);
      await page.waitForSelector('[data-testid=storage-error]');
      assert.match(await text(page, 'storage-error'), /Nothing saved in this browser could be read \(InvalidStateError: A mutation operation/);
      await page.fill('[data-testid=epochs]', '2');
      await page.press('[data-testid=epochs]', 'Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid=storage-error]').textContent.includes('could not be saved'));
      assert.match(await text(page, 'storage-error'), /will be lost on reload/);
      await page.click('[data-testid=train-start]');
      await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 5, null, { timeout: 60_000 });
      await screenshot(page, 'storage-error');
      assert.deepEqual(page.errors, []);
    } finally {
      await closeApp({ server, browser });
    }
  });

  it('validation figures are charted beside the test set; spec and runs come back without the link', async () => {
    const app = await openApp();
    const { page, server } = app;
    try {
      await page.fill('[data-testid=validation-split]', '0.5'); // the largest: 30,000 images to train, a short epoch
      await page.press('[data-testid=validation-split]', 'Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid=share-url]').value.includes('validation_split=0.5'));
      const before = await page.$eval('[data-testid=chart-loss]', (c) => c.toDataURL());
      await page.click('[data-testid=train-start]');
      await page.waitForSelector('[data-testid=validation-acc]', { timeout: 120_000 });
      await page.waitForSelector('[data-testid=test-acc]');
      const validation = Number(await page.getAttribute('[data-testid=validation-acc]', 'data-accuracy'));
      const test = Number(await page.getAttribute('[data-testid=test-acc]', 'data-accuracy'));
      assert.ok(validation > 0.8 && test > 0.8, `validation ${validation}, test ${test}`);
      assert.notEqual(validation, test, 'two different sets');
      await page.waitForFunction(() => /validation loss \d\.\d{4}, accuracy/.test(document.querySelector('[data-testid=chart-text]').textContent));
      assert.notEqual(await page.$eval('[data-testid=chart-loss]', (c) => c.toDataURL()), before);
      await page.waitForSelector('[data-testid=run-1]', { timeout: 60_000 });
      await screenshot(page, 'validation-curves');
      // A fresh visit without the fragment gets the saved spec and history.
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=data-status]:has-text("MNIST ready")', { timeout: 60_000 });
      await page.waitForSelector('[data-testid=run-1]');
      // The finished run's checkpoint matches the saved spec: it comes back finished.
      await page.waitForFunction(() => document.querySelector('[data-testid=run-state]').textContent === 'finished', null, { timeout: 30_000 });
      assert.equal(await page.inputValue('[data-testid=validation-split]'), '0.5');
      assert.match(await page.inputValue('[data-testid=share-url]'), /validation_split=0\.5/);
      assert.match(await text(page, 'run-1'), /test accuracy \d+\.\d\d% after epoch 1/);
      assert.deepEqual(page.errors, []);
    } finally {
      await closeApp(app);
    }
  });
});
