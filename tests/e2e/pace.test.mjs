// Training pace: the page shows progress at most twice a second (src/web/ui/pace.rs), queueing
// the engine's Progress events in between; none may be lost: every one becomes a point of the
// curves, and the last one is what the figures show when the run ends. The charts measure their
// text on their canvases (src/web/ui/chart_canvas.rs), never through the page.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, recordEngineMessages } from './helpers.mjs';

/** Counts the elements added straight to <body> (plotters' web font code measures each label
 *  with a <span> there, forcing a layout of the whole page each time). */
function countBodyInsertions() {
  window.__bodyInsertions = 0;
  new MutationObserver((records) => {
    for (const r of records) if (r.target === document.body) window.__bodyInsertions += [...r.addedNodes].filter((n) => n.nodeType === 1).length;
  }).observe(document, { childList: true, subtree: true });
}

describe('training pace', { timeout: 240_000 }, () => {
  it('every Progress event becomes a point of the curves, and the last one is shown', async () => {
    const app = await openApp({ initScript: [recordEngineMessages, countBodyInsertions] });
    try {
      const { page } = app;
      const redrawsBefore = Number(await page.getAttribute('[data-testid=chart-text]', 'data-redraws'));
      const insertionsBefore = await page.evaluate(() => window.__bodyInsertions);
      await page.click('[data-testid=train-start]');
      await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 180_000 });
      const events = await page.evaluate(() => window.__engine.map(([, m]) => m.Progress).filter((p) => p?.report.steps > 0));
      assert.ok(events.length >= 5, `${events.length} Progress events`);
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid=chart-text]').dataset.points) === n, events.length, { timeout: 10_000 });
      const last = events.at(-1);
      assert.equal(last.step_in_epoch, last.steps_per_epoch);
      assert.equal((await page.textContent('[data-testid=step]')).trim(), `${last.steps_per_epoch} / ${last.steps_per_epoch}`);
      // The charts were redrawn while training, each time with their tick labels and legends,
      // and not one element went into <body> for it.
      const redraws = Number(await page.getAttribute('[data-testid=chart-text]', 'data-redraws')) - redrawsBefore;
      assert.ok(redraws >= 3, `${redraws} chart redraws while training`);
      assert.equal(await page.evaluate(() => window.__bodyInsertions) - insertionsBefore, 0, 'elements added to <body> while training');
    } finally { await closeApp(app); }
  });
});
