// Training pace: the page shows progress at most twice a second (src/web/ui/pace.rs), queueing
// the engine's Progress events in between; none may be lost: every one becomes a point of the
// curves, and the last one is what the figures show when the run ends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, recordEngineMessages } from './helpers.mjs';

describe('training pace', { timeout: 240_000 }, () => {
  it('every Progress event becomes a point of the curves, and the last one is shown', async () => {
    const app = await openApp({ initScript: recordEngineMessages });
    try {
      const { page } = app;
      await page.click('[data-testid=train-start]');
      await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 180_000 });
      const events = await page.evaluate(() => window.__engine.map(([, m]) => m.Progress).filter((p) => p?.report.steps > 0));
      assert.ok(events.length >= 5, `${events.length} Progress events`);
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid=chart-text]').dataset.points) === n, events.length, { timeout: 10_000 });
      const last = events.at(-1);
      assert.equal(last.step_in_epoch, last.steps_per_epoch);
      assert.equal((await page.textContent('[data-testid=step]')).trim(), `${last.steps_per_epoch} / ${last.steps_per_epoch}`);
    } finally { await closeApp(app); }
  });
});
