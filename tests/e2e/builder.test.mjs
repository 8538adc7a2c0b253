// The layer builder and the shareable link: build by mouse, keyboard and drag-and-drop, see
// live shapes, an invalid layer blocks training until fixed, presets, undo/redo, copy link →
// identical spec in a fresh page, broken links explained without breaking the page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, newPage, openApp, screenshot, text, waitForData } from './helpers.mjs';

const layerNames = (page) => page.$$eval('[data-testid^=layer-] [data-testid=layer-name]', (els) => els.map((e) => e.textContent));
const shareUrl = (page) => page.inputValue('[data-testid=share-url]');
const inner = (page, i, id) => page.textContent(`[data-testid=layer-${i}] [data-testid=${id}]`);

describe('layer builder', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('shows every layer with its live output shape, parameters and formula', async () => {
    assert.deepEqual(await layerNames(page), ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
    assert.equal(await inner(page, 0, 'layer-shape'), '→ 8×28×28');
    const title = await page.getAttribute('[data-testid=layer-0] [data-testid=layer-shape]', 'title');
    assert.match(title, /⌊\(28\+2·2−5\)\/1⌋\+1 = 28/);
    assert.match(title, /\(5·5·1\+1\)·8 = 208/);
    assert.match(await text(page, 'model-totals'), /^11274 trainable parameters/);
    assert.equal((await page.$$('.chip[data-testid^=add-]')).length, 29, 'palette has every layer kind');
    // Plain numbers get number inputs with their range; pair-capable fields take `3x5` text.
    const channels = '[data-testid=layer-0] [data-testid=field-out_channels]';
    assert.deepEqual(await page.$eval(channels, (e) => [e.type, e.min, e.max, e.step]), ['number', '1', '4096', '1']);
    assert.equal(await page.getAttribute('[data-testid=layer-0] [data-testid=field-kernel_size]', 'type'), 'text');
    assert.equal(await page.getAttribute('[data-testid=layer-0] [data-testid=field-padding_mode]', 'data-testid'), 'field-padding_mode');
    assert.equal(await page.$eval('[data-testid=layer-0] [data-testid=field-padding_mode]', (e) => e.tagName), 'SELECT');
  });

  it('adds a layer from the palette after the selected one, by mouse', async () => {
    await page.click('[data-testid=layer-5] [data-testid=layer-name]');
    await page.click('[data-testid=add-batch_norm2d]');
    assert.equal((await layerNames(page))[6], 'BatchNorm2d');
    assert.equal(await inner(page, 6, 'layer-shape'), '→ 16×7×7');
    assert.match(await text(page, 'model-totals'), /^11306 trainable parameters/);
    // The engine rebuilt the model with it.
    await page.waitForFunction(() => document.querySelector('[data-testid=model-summary]').textContent.includes('11306 trainable parameters'));
  });

  it('moves, duplicates and removes layers by keyboard', async () => {
    const focused = () => page.evaluate(() => document.activeElement?.dataset.testid);
    await page.focus('[data-testid=layer-6]');
    await page.keyboard.press('Alt+ArrowUp');
    assert.deepEqual((await layerNames(page)).slice(4, 8), ['ReLU', 'BatchNorm2d', 'MaxPool2d', 'Flatten']);
    assert.equal(await inner(page, 5, 'layer-shape'), '→ 16×14×14');
    // The focus moved with the layer: Alt+↓ then Alt+↑ again without touching it in between.
    await page.waitForFunction(() => document.activeElement?.dataset.testid === 'layer-5');
    await page.keyboard.press('Alt+ArrowDown');
    assert.deepEqual((await layerNames(page)).slice(4, 8), ['ReLU', 'MaxPool2d', 'BatchNorm2d', 'Flatten']);
    await page.waitForFunction(() => document.activeElement?.dataset.testid === 'layer-6');
    await page.keyboard.press('Alt+ArrowUp');
    assert.deepEqual((await layerNames(page)).slice(4, 8), ['ReLU', 'BatchNorm2d', 'MaxPool2d', 'Flatten']);
    await page.waitForFunction(() => document.activeElement?.dataset.testid === 'layer-5');
    assert.equal(await focused(), 'layer-5');
    await page.focus('[data-testid=layer-5]');
    await page.keyboard.press('d');
    assert.deepEqual((await layerNames(page)).slice(5, 7), ['BatchNorm2d', 'BatchNorm2d']);
    await page.focus('[data-testid=layer-6]');
    await page.keyboard.press('Delete');
    await page.focus('[data-testid=layer-5]');
    await page.keyboard.press('Delete');
    assert.deepEqual(await layerNames(page), ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
  });

  it('duplicates and removes a layer with its buttons, whose icons are drawn', async () => {
    const before = await layerNames(page);
    const icon = await page.locator('[data-testid=layer-3] [data-testid=layer-duplicate] svg').boundingBox();
    assert.ok(icon && icon.width >= 10 && icon.height >= 10, `duplicate icon box ${JSON.stringify(icon)}`);
    await page.click('[data-testid=layer-3] [data-testid=layer-duplicate]');
    assert.deepEqual(await layerNames(page), [...before.slice(0, 4), before[3], ...before.slice(4)]);
    await page.click('[data-testid=layer-4] [data-testid=layer-remove]');
    assert.deepEqual(await layerNames(page), before);
  });

  it('reorders by drag and drop, and undo/redo walk the edits', async () => {
    await page.locator('[data-testid=layer-1]').dragTo(page.locator('[data-testid=layer-2]'));
    assert.deepEqual((await layerNames(page)).slice(0, 3), ['Conv2d', 'MaxPool2d', 'ReLU']);
    await page.click('[data-testid=undo]');
    assert.deepEqual((await layerNames(page)).slice(0, 3), ['Conv2d', 'ReLU', 'MaxPool2d']);
    await page.click('[data-testid=redo]');
    assert.deepEqual((await layerNames(page)).slice(0, 3), ['Conv2d', 'MaxPool2d', 'ReLU']);
    await page.click('[data-testid=undo]');
  });

  it('an invalid layer shows its error inline and disables training until fixed', async () => {
    const kernel = '[data-testid=layer-0] [data-testid=field-kernel_size]';
    await page.fill(kernel, '40');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=layer-0].invalid');
    assert.equal(await inner(page, 0, 'layer-error'), 'field `kernel_size`: kernel 40 is larger than the padded input 32×32');
    assert.match(await text(page, 'model-totals'), /Layer 0 needs fixing/);
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true);
    // The rest of the page keeps working.
    assert.match(await text(page, 'data-status'), /MNIST ready/);
    await screenshot(page, 'builder-invalid-layer');
    await page.fill(kernel, '5');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
    assert.equal(await page.$('[data-testid=layer-0].invalid'), null);
  });

  it('loads presets', async () => {
    await page.selectOption('[data-testid=preset-select]', 'lenet-5');
    assert.equal((await layerNames(page)).length, 12);
    assert.match(await text(page, 'model-totals'), /^61706 trainable parameters/);
    await page.selectOption('[data-testid=preset-select]', 'keras-bn-cnn');
    assert.ok((await layerNames(page)).includes('BatchNorm1d'));
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
  });

  it('copy link gives a URL that restores the identical spec in a fresh page', async () => {
    await page.selectOption('[data-testid=preset-select]', 'spp-net');
    const field = '[data-testid=layer-0] [data-testid=field-out_channels]';
    await page.fill(field, '12');
    await page.press(field, 'Enter');
    await page.click('[data-testid=copy-link]');
    const link = await shareUrl(page);
    assert.match(link, /#v=1&/);
    assert.match(link, /conv2d\(out_channels=12,kernel_size=3,padding=1\)/);
    assert.equal(page.url(), link, 'the address bar follows the spec');
    const names = await layerNames(page);
    const fresh = await newPage(browser);
    await fresh.goto(link);
    await fresh.waitForSelector('[data-testid=layer-0]');
    assert.deepEqual(await layerNames(fresh), names);
    assert.equal(await shareUrl(fresh), link);
    assert.equal(await fresh.$('[data-testid=link-notice]'), null);
    await fresh.close();
  });

  it('a broken link loads what it can and lists what it ignored', async () => {
    const broken = `${server.url}#v=9&layers=conv2d(out_channels=4,kernel_size=3);warp_drive;relu;flatten;linear(out_features=10)&epochs=0&foo=1&seed=5`;
    const fresh = await newPage(browser);
    await fresh.goto(broken);
    await fresh.waitForSelector('[data-testid=link-notice]');
    const notice = await text(fresh, 'link-notice');
    assert.match(notice, /link version `9` is not 1/);
    assert.match(notice, /ignored layer 2 `warp_drive`/);
    assert.match(notice, /ignored `epochs=0`/);
    assert.match(notice, /ignored unknown key `foo`/);
    assert.deepEqual(await layerNames(fresh), ['Conv2d', 'ReLU', 'Flatten', 'Linear']);
    await waitForData(fresh);
    await screenshot(fresh, 'builder-broken-link');
    const garbage = await newPage(browser);
    await garbage.goto(`${server.url}#%%%((((&&&layers=;;;)`);
    await garbage.waitForSelector('[data-testid=layer-0]');
    assert.equal((await layerNames(garbage)).length, 8, 'unreadable layers keep the default model');
    assert.deepEqual(garbage.errors, []);
    await fresh.close();
    await garbage.close();
    assert.deepEqual(page.errors, []);
  });
});
