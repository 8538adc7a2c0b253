// Accessibility of the whole page, in both languages: axe-core's WCAG 2 A/AA rules find no
// violation with a drawing, feature maps and an analysis on screen; every control is reached
// with Tab and shows a visible focus ring; the confusion matrix is read with the arrow keys.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { closeApp, drawStroke, openApp, text } from './helpers.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function violations(page) {
  // Evaluated through DevTools, not added as an inline <script>, which the page's CSP refuses.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

describe('accessibility', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('has no WCAG 2 A/AA violations in English and in Chinese', async () => {
    await drawStroke(page, [[0.5, 0.15], [0.5, 0.85]]);
    await page.waitForSelector('[data-testid=maps-0]');
    await page.click('[data-testid=analyse]');
    await page.waitForSelector('[data-testid=analysis-summary]', { timeout: 60_000 });
    await page.click('[data-testid=maps-0] canvas.map[data-channel="0"]');
    const english = await violations(page);
    assert.deepEqual(english, [], `English page:\n${english.join('\n')}`);
    await page.selectOption('[data-testid=lang]', 'zh-CN');
    await page.waitForSelector('[data-testid=train-start]:has-text("开始训练")');
    const chinese = await violations(page);
    assert.deepEqual(chinese, [], `Chinese page:\n${chinese.join('\n')}`);
    await page.selectOption('[data-testid=lang]', 'en');
  });

  it('reaches every control with Tab and shows where the focus is', async () => {
    const controls = await page.$$eval('button:not([disabled]), select, input:not([disabled]):not([type=file]), [tabindex="0"]',
      (els) => els.filter((e) => e.offsetParent !== null && !e.closest('[hidden]')).length);
    await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
    const seen = new Set();
    let unringed = [];
    for (let i = 0; i < controls + 40; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return null;
        const s = getComputedStyle(e);
        const ring = (s.outlineStyle !== 'none' && Number.parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
        const id = e.dataset.testid || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30) || e.tagName;
        return { key: `${id}#${[...document.querySelectorAll('*')].indexOf(e)}`, id, ring };
      });
      if (!info) continue;
      seen.add(info.key);
      if (!info.ring) unringed.push(info.id);
    }
    unringed = [...new Set(unringed)];
    assert.deepEqual(unringed, [], 'focused elements without a visible focus ring');
    assert.ok(seen.size >= controls * 0.9, `Tab reached ${seen.size} of ${controls} controls`);
    for (const id of ['train-start', 'draw-clear', 'analyse', 'download-weights', 'copy-link', 'lang']) {
      assert.ok([...seen].some((k) => k.startsWith(`${id}#`)), `${id} is reachable with Tab`);
    }
    // The confusion matrix works from the keyboard: arrows move the outlined cell, Enter opens it.
    await page.focus('[data-testid=confusion]');
    assert.match(await text(page, 'cell-cursor'), /^Cell true 0, predicted 0: \d+ images/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.match(await text(page, 'cell-cursor'), /^Cell true 1, predicted 1: \d+ images/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=gallery-title]:has-text("True 1, predicted 1:")');
    assert.deepEqual(page.errors, []);
  });
});
