// The training dashboard: settings go into the spec (and the link), the schedule curve is drawn
// as it is edited, charts update while training, the learning rate changes mid-run, and the
// settings are locked while training runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, screenshot, step, text } from './helpers.mjs';

const pixels = (page, id) => page.$eval(`[data-testid=${id}]`, (c) => c.toDataURL());
const redraws = async (page) => Number(await page.getAttribute('[data-testid=chart-text]', 'data-redraws'));

describe('training dashboard', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('edits optimizer and schedule, and plots the schedule as it is edited', async () => {
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=chart-text]').dataset.redraws) > 0);
    const flat = await pixels(page, 'chart-lr');
    await page.selectOption('[data-testid=optimizer]', 'adam');
    await page.waitForSelector('[data-testid=opt-betas]');
    assert.equal(await page.inputValue('[data-testid=opt-lr]'), '0.05', 'the learning rate carries over');
    await page.fill('[data-testid=opt-lr]', '0.002');
    await page.press('[data-testid=opt-lr]', 'Enter');
    await page.selectOption('[data-testid=schedule]', 'cosine');
    await page.fill('[data-testid=sched-t_max]', '2');
    await page.press('[data-testid=sched-t_max]', 'Enter');
    await page.fill('[data-testid=epochs]', '2');
    await page.press('[data-testid=epochs]', 'Enter');
    await page.fill('[data-testid=warmup]', '50');
    await page.press('[data-testid=warmup]', 'Enter');
    const link = await page.inputValue('[data-testid=share-url]');
    assert.match(link, /optimizer=adam\(lr=0\.002\)/);
    assert.match(link, /schedule=\(kind=cosine\(t_max=2\),warmup_steps=50\)/);
    assert.match(link, /epochs=2/);
    await page.waitForFunction((before) => document.querySelector('[data-testid=chart-lr]').toDataURL() !== before, flat);
    await page.fill('[data-testid=label-smoothing]', '2');
    await page.press('[data-testid=label-smoothing]', 'Enter');
    await page.waitForSelector('[data-testid=error]');
    assert.match(await text(page, 'error'), /training.label_smoothing/);
    assert.equal(await page.inputValue('[data-testid=label-smoothing]'), '0', 'an out-of-range value is not taken');
    await page.click('[data-testid=error] button');
  });

  it('charts update while training, the learning rate changes mid-run, settings lock', async () => {
    const before = await pixels(page, 'chart-loss');
    const count = await redraws(page);
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 60, null, { timeout: 60_000 });
    assert.equal(await page.isDisabled('[data-testid=optimizer]'), true, 'settings are locked while training');
    assert.match(await text(page, 'chart-text'), /^step \d+: training loss \d\.\d{4}/);
    assert.notEqual(await pixels(page, 'chart-loss'), before);
    // Charts redraw at most every 500 ms, and 60 steps can take less than a second: wait for
    // several redraws while training goes on.
    await page.waitForFunction((c) => Number(document.querySelector('[data-testid=chart-text]').getAttribute('data-redraws')) > c + 3,
      count, { timeout: 10_000 });
    assert.match(await text(page, 'eta'), /^\d+:\d\d$/);
    // Warm-up then cosine: the rate follows the schedule...
    const scheduled = Number(await text(page, 'lr-now'));
    assert.ok(scheduled > 0 && scheduled <= 0.002, `lr ${scheduled}`);
    // ...until the user sets one.
    await page.fill('[data-testid=live-lr]', '0.0005');
    await page.click('[data-testid=set-lr]');
    await page.waitForFunction(() => document.querySelector('[data-testid=lr-now]').textContent === '0.0005', null, { timeout: 30_000 });
    const at = await step(page);
    await page.waitForFunction((s) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) > s + 5, at);
    assert.equal(await text(page, 'lr-now'), '0.0005');
    await screenshot(page, 'dashboard-training');
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    assert.deepEqual(page.errors, []);
  });

  it('the smoothing slider and the log scale redraw the loss chart', async () => {
    assert.equal(await text(page, 'chart-smoothing-value'), '0.60', 'TensorBoard\'s default weight');
    const redrawn = async (change) => {
      const [shown, count] = [await pixels(page, 'chart-loss'), await redraws(page)];
      await change();
      await page.waitForFunction((c) => Number(document.querySelector('[data-testid=chart-text]').dataset.redraws) > c, count);
      assert.notEqual(await pixels(page, 'chart-loss'), shown);
    };
    const slide = (v) => page.$eval('[data-testid=chart-smoothing]', (el, value) => {
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, v);
    await redrawn(() => slide('0.95'));
    assert.equal(await text(page, 'chart-smoothing-value'), '0.95');
    await redrawn(() => page.check('[data-testid=chart-log-loss]'));
    await screenshot(page, 'dashboard-log-loss');
    await redrawn(() => page.uncheck('[data-testid=chart-log-loss]'));
    await slide('0.6');
  });

  it('single step trains exactly one step and pauses again', async () => {
    const at = await step(page);
    await page.click('[data-testid=train-step]');
    await page.waitForFunction((s) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) === s + 1, at);
    await page.waitForSelector('[data-testid=train-resume]');
    assert.equal(await text(page, 'run-state'), 'paused');
    await page.click('[data-testid=train-step]');
    await page.waitForFunction((s) => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) === s + 2, at);
  });
});

describe('augmentation preview', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  const version = async () => Number(await page.getAttribute('[data-testid=aug-preview]', 'data-version'));
  const tiles = (side) => page.$$eval(`[data-testid^=aug-${side}-]`, (cs) => cs.map((c) => c.toDataURL()));

  it('shows the next training images, unchanged while augmentation is off', async () => {
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=aug-preview]').dataset.version) > 0);
    const [before, afterAug] = [await tiles('before'), await tiles('after')];
    assert.equal(before.length, 8);
    assert.deepEqual(afterAug, before);
    assert.equal(new Set(before).size, 8, 'eight different images');
  });

  it('changes the augmented images as a slider moves, and the link carries the setting', async () => {
    const before = await tiles('before');
    const v = await version();
    await page.$eval('[data-testid=aug-rotation]', (el) => { el.value = '30'; el.dispatchEvent(new Event('change', { bubbles: true })); });
    await page.waitForFunction((old) => Number(document.querySelector('[data-testid=aug-preview]').dataset.version) > old, v);
    const rotated = await tiles('after');
    assert.deepEqual(await tiles('before'), before, 'originals stay');
    assert.ok(rotated.every((t, i) => t !== before[i]), 'every image is rotated');
    assert.match(await page.inputValue('[data-testid=share-url]'), /augment=\(rotation=30(\.0)?\)/);
    const v2 = await version();
    await page.$eval('[data-testid=aug-noise]', (el) => { el.value = '0.2'; el.dispatchEvent(new Event('change', { bubbles: true })); });
    await page.waitForFunction((old) => Number(document.querySelector('[data-testid=aug-preview]').dataset.version) > old, v2);
    const noisy = await tiles('after');
    assert.ok(noisy.every((t, i) => t !== rotated[i]));
    await screenshot(page, 'augmentation-preview');
    assert.deepEqual(page.errors, []);
  });
});
