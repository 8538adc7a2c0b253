// Comparing variants: two configurations queued (SGD, then Adam) train one after the other
// with the same seed, join the run history and the charts with what differs, and the two runs
// together give an ensemble accuracy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, screenshot, text } from './helpers.mjs';

describe('compare runs', { timeout: 400_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('trains a queue of variants one after the other, then evaluates their ensemble', async () => {
    await page.fill('[data-testid=epochs]', '1');
    await page.press('[data-testid=epochs]', 'Enter');
    await page.click('[data-testid=queue-add]');
    await page.selectOption('[data-testid=optimizer]', 'adam');
    await page.fill('[data-testid=opt-lr]', '0.001');
    await page.press('[data-testid=opt-lr]', 'Enter');
    await page.click('[data-testid=queue-add]');
    const queued = await page.$$eval('[data-testid=queued]', (els) => els.map((e) => e.textContent.trim()));
    assert.equal(queued.length, 2);
    assert.match(queued[0], /^as queued first/);
    assert.match(queued[1], /optimizer/, `the second variant says what it changes: ${queued[1]}`);
    assert.equal(await text(page, 'queue-run'), 'Train the queue (2)');
    await page.click('[data-testid=queue-run]');
    // The first variant is current again (SGD) and trains without a click on Start.
    await page.waitForSelector('[data-testid=run-state]:has-text("running")', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=run-2]', { timeout: 300_000 });
    await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 60_000 });
    assert.equal(await page.$$eval('[data-testid=queued]', (els) => els.length), 0, 'the queue is used up');
    assert.equal(await page.inputValue('[data-testid=optimizer]'), 'adam', 'the last variant is current');
    const accuracy = async (id) => Number((await text(page, `run-${id}`)).match(/test accuracy (\d+\.\d\d)%/)[1]);
    const [a1, a2] = [await accuracy(1), await accuracy(2)];
    assert.ok(a1 > 90 && a2 > 90, `one epoch each: ${a1}%, ${a2}%`);
    assert.match(await page.textContent('[data-testid=run-1] [data-testid=run-diff]'), /optimizer/, 'run 1 (SGD) differs from the current Adam spec');
    assert.equal(await page.textContent('[data-testid=run-2] [data-testid=run-diff]'), 'same spec as now');
    // The ensemble of both.
    await page.check('[data-testid=run-1] [data-testid=run-ensemble]');
    await page.check('[data-testid=run-2] [data-testid=run-ensemble]');
    await page.click('[data-testid=ensemble-run]');
    await page.waitForSelector('[data-testid=ensemble-result]:has-text("Ensemble of runs 1, 2")', { timeout: 60_000 });
    const m = (await text(page, 'ensemble-result')).match(/^Ensemble of runs 1, 2: (\d+\.\d\d)% on the test set \(each alone: run 1: (\d+\.\d\d)%, run 2: (\d+\.\d\d)%\)\.$/);
    assert.ok(m, await text(page, 'ensemble-result'));
    const [ens, m1, m2] = m.slice(1).map(Number);
    assert.deepEqual([m1, m2], [a1, a2], 'each member alone is the run as it ended');
    assert.ok(ens >= Math.min(m1, m2), `ensemble ${ens}% vs ${m1}% and ${m2}%`);
    console.log(`# ensemble ${ens}% (SGD ${m1}%, Adam ${m2}%)`);
    await page.locator('#panel-runs').scrollIntoViewIfNeeded();
    await screenshot(page, 'compare-runs');
    // After a reload the engine no longer holds the weights: the page says so.
    await page.reload();
    await page.waitForSelector('[data-testid=data-status]:has-text("MNIST ready")', { timeout: 60_000 });
    await page.check('[data-testid=run-1] [data-testid=run-ensemble]');
    await page.click('[data-testid=ensemble-run]');
    await page.waitForSelector('[data-testid=ensemble-result]:has-text("trained before the page was reloaded")');
  });
});
