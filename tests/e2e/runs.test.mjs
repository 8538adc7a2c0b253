// Run history: a run is kept with its spec and curves, survives a reload (IndexedDB), is
// overlaid on the charts, and says what differs from the current spec.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, screenshot, text } from './helpers.mjs';

describe('run history', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('keeps a trained run, compares its spec, overlays it and survives a reload', async () => {
    assert.ok(await page.$('[data-testid=runs-empty]'));
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid=step]').textContent, 10) >= 30, null, { timeout: 60_000 });
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    await page.click('[data-testid=train-reset]');
    await page.waitForSelector('[data-testid=run-1]');
    assert.match(await text(page, 'run-1'), /run 1: training loss \d\.\d{4} at step \d+/);
    assert.equal(await text(page, 'run-diff'), 'same spec as now');
    await page.fill('[data-testid=epochs]', '3');
    await page.press('[data-testid=epochs]', 'Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid=run-diff]').textContent.includes('epochs: 1 → 3'));
    // The earlier run is drawn; hiding it changes the chart.
    await page.waitForTimeout(300);
    const shown = await page.$eval('[data-testid=chart-loss]', (c) => c.toDataURL());
    await page.click('[data-testid=run-shown]');
    await page.waitForFunction((s) => document.querySelector('[data-testid=chart-loss]').toDataURL() !== s, shown);
    await page.click('[data-testid=run-shown]');
    await screenshot(page, 'run-history');
    await page.reload();
    await page.waitForSelector('[data-testid=run-1]');
    assert.match(await text(page, 'run-diff'), /epochs: 1 → 3/, 'the link kept the spec and storage kept the run');
    await page.click('[data-testid=runs-clear]');
    await page.waitForSelector('[data-testid=runs-empty]');
    assert.deepEqual(page.errors, []);
  });
});
