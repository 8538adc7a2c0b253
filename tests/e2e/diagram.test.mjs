// The network as a diagram on one screen: blocks drawn to the shape of each output with live
// thumbnails, built by dragging (mouse and touch) and by keyboard alone, the selected layer's
// editor and maps, receptive fields, and the one-screen layout at 1280×800 and 360×740.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, newPage, openApp, screenshot, text, waitForData } from './helpers.mjs';

const blockNames = (page) => page.$$eval('[data-testid=diagram] [data-block] .block-name', (els) => els.map((e) => e.textContent));
const shapes = (page) => page.$$eval('[data-testid=diagram] [data-block] [data-testid=block-shape]', (els) => els.map((e) => e.textContent));
/** LeNet-5 as palette layers and the fields that differ from the palette's defaults. */
const LENET = [
  ['conv2d', { out_channels: 6, kernel_size: 5, padding: 2 }], ['tanh'], ['avg_pool2d', { kernel_size: 2 }],
  ['conv2d', { out_channels: 16, kernel_size: 5, padding: 0 }], ['tanh'], ['avg_pool2d', { kernel_size: 2 }],
  ['flatten'], ['linear', { out_features: 120 }], ['tanh'], ['linear', { out_features: 84 }], ['tanh'], ['linear', { out_features: 10 }],
];
const LENET_SHAPES = ['6×28×28', '6×28×28', '6×14×14', '16×10×10', '16×10×10', '16×5×5', '400', '120', '120', '84', '84', '10'];
/** A fingerprint of a thumbnail's pixels (changes when the canvas is painted differently). */
const pixels = (page, selector) => page.$eval(selector, (c) => c.toDataURL());
const center = (box) => [box.x + box.width / 2, box.y + box.height / 2];

/** Drags with the mouse from the centre of `from` to the centre of `to`, in small steps. */
async function mouseDrag(page, from, to) {
  await page.locator(from).scrollIntoViewIfNeeded(); // the palette pane scrolls with the editor below it
  const [x0, y0] = center(await page.locator(from).boundingBox());
  const [x1, y1] = center(await page.locator(to).boundingBox());
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move(x0 + 12, y0 + 4, { steps: 3 });
  await page.mouse.move(x1, y1, { steps: 12 });
  await page.mouse.up();
}

/** Drags with one finger (Chromium's touch input, which the page receives as pointer events). */
async function touchDrag(page, from, to) {
  const cdp = await page.context().newCDPSession(page);
  const [x0, y0] = center(await page.locator(from).boundingBox());
  const [x1, y1] = center(await page.locator(to).boundingBox());
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: x0, y: y0 }] });
  for (let k = 1; k <= 12; k++) {
    const f = k / 12;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: x0 + (x1 - x0) * f, y: y0 + (y1 - y0) * f }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

/** Waits until the keyboard focus is on the element with this test id (focus moves on the next frame). */
const focused = (page, testid) => page.waitForFunction((id) => document.activeElement?.dataset.testid === id, testid, { timeout: 5_000 });

/** True when the element's box lies wholly inside the viewport. */
const inView = (page, selector) => page.$eval(selector, (e) => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
});

describe('network diagram', { timeout: 600_000 }, () => {
  let server, browser, page;
  before(async () => {
    ({ server, browser, page } = await openApp());
    await page.setViewportSize({ width: 1280, height: 800 });
  });
  after(() => closeApp({ server, browser }));

  it('draws every layer as a block shaped like its output, with thumbnails of a probe digit', async () => {
    assert.deepEqual(await blockNames(page), ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
    assert.deepEqual(await shapes(page), ['8×28×28', '8×28×28', '8×14×14', '16×14×14', '16×14×14', '16×7×7', '784', '10']);
    // Planes to scale: a 28×28 output is drawn twice the side of a 14×14 one; more channels, more planes.
    const plane = (i) => page.$eval(`[data-testid=block-${i}] canvas.plane[data-ch="0"]`, (c) => [c.getBoundingClientRect().width, c.width, c.height]);
    const [w0, cw0, ch0] = await plane(0);
    const [w2] = await plane(2);
    assert.deepEqual([cw0, ch0], [28, 28]);
    assert.ok(Math.abs(w0 - 2 * w2) < 1.5, `28×28 plane ${w0} px, 14×14 plane ${w2} px`);
    const planes = (i) => page.$$eval(`[data-testid=block-${i}] canvas.plane`, (c) => c.length);
    assert.ok((await planes(3)) > (await planes(0)), '16 channels are drawn deeper than 8');
    assert.equal(await planes(6), 1, 'a flat vector is one bar');
    assert.equal(await text(page, 'diagram-totals'), '11.3k params · 1602.5k FLOPs per image');
    // With nothing drawn, a training image goes through the network: every thumbnail is painted.
    await page.waitForFunction(() => document.querySelector('[data-testid=output-top]').textContent !== '–');
    const painted = await page.$$eval('[data-testid=diagram] canvas[data-thumb]', (cs) => cs.map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return d.some((v, k) => k % 4 === 3 && v > 0);
    }));
    assert.ok(painted.length > 20 && painted.every(Boolean), `${painted.filter(Boolean).length}/${painted.length} thumbnails painted`);
    assert.match(await text(page, 'output-top'), /^\d · \d+%$/);
  });

  it('fits the diagram, the drawing pad with its prediction and the curves in 1280×800 without scrolling', async () => {
    for (const id of ['diagram', 'draw-canvas', 'prediction', 'chart-loss', 'chart-accuracy', 'train-start', 'preset-select', 'palette']) {
      assert.ok(await inView(page, `[data-testid=${id}]`), `${id} is in view at 1280×800`);
    }
    assert.equal(await page.evaluate(() => scrollY), 0);
    await screenshot(page, 'diagram-1280-en', { fullPage: false });
  });

  it('drags a layer from the palette into a gap, and a block to another place, with the mouse', async () => {
    await mouseDrag(page, '[data-testid=add-batch_norm2d]', '[data-testid=gap-1]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=diagram] [data-block]').length === 9);
    assert.deepEqual((await blockNames(page)).slice(0, 3), ['Conv2d', 'BatchNorm2d', 'ReLU']);
    assert.equal(await page.getAttribute('[data-testid=block-1]', 'class').then((c) => c.includes('selected')), true, 'the new block is selected');
    // Dropped on a block's right half: after it. Block 1 (BatchNorm2d) goes after block 3 (MaxPool2d).
    const box = await page.locator('[data-testid=block-3]').boundingBox();
    const [x0, y0] = center(await page.locator('[data-testid=block-1] .block-name').boundingBox());
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + 10, y0, { steps: 2 });
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2, { steps: 10 });
    assert.equal(await page.isVisible('[data-testid=drag-ghost]'), true, 'a label follows the pointer');
    await page.mouse.up();
    await page.waitForFunction(() => document.querySelector('[data-testid=block-3] .block-name').textContent === 'BatchNorm2d');
    assert.deepEqual((await blockNames(page)).slice(0, 4), ['Conv2d', 'ReLU', 'MaxPool2d', 'BatchNorm2d']);
    assert.deepEqual((await shapes(page)).slice(0, 4), ['8×28×28', '8×28×28', '8×14×14', '8×14×14']);
    // A drag released outside the diagram, or cancelled with Escape, changes nothing.
    await mouseDrag(page, '[data-testid=add-dropout]', '[data-testid=chart-loss]');
    const [cx, cy] = center(await page.locator('[data-testid=add-relu]').boundingBox());
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(...center(await page.locator('[data-testid=gap-2]').boundingBox()), { steps: 10 });
    await page.keyboard.press('Escape');
    await page.mouse.up();
    assert.equal((await blockNames(page)).length, 9);
    // Undo twice: back to the default network.
    await page.click('[data-testid=undo]');
    await page.click('[data-testid=undo]');
    assert.deepEqual(await blockNames(page), ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
  });

  it('drags a layer in and a block along by touch', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });
    const phone = await context.newPage();
    await phone.goto(server.url);
    await waitForData(phone);
    await touchDrag(phone, '[data-testid=add-dropout2d]', '[data-testid=gap-3]');
    await phone.waitForFunction(() => document.querySelectorAll('[data-testid=diagram] [data-block]').length === 9);
    assert.equal((await blockNames(phone))[3], 'Dropout2d');
    await touchDrag(phone, '[data-testid=block-3] .block-name', '[data-testid=gap-0]');
    await phone.waitForFunction(() => document.querySelector('[data-testid=block-0] .block-name').textContent === 'Dropout2d');
    assert.deepEqual((await blockNames(phone)).slice(0, 2), ['Dropout2d', 'Conv2d']);
    // A tap on a chip still adds (after the selected block).
    await phone.tap('[data-testid=add-relu]');
    await phone.waitForFunction(() => document.querySelectorAll('[data-testid=diagram] [data-block]').length === 10);
    assert.deepEqual((await blockNames(phone)).slice(0, 3), ['Dropout2d', 'ReLU', 'Conv2d']);
    await context.close();
  });

  it('builds LeNet-5 from an empty model by dragging from the palette', async () => {
    const started = Date.now();
    await page.click('[data-testid=diagram-clear]');
    assert.deepEqual(await blockNames(page), []);
    for (const [i, [type, fields]] of LENET.entries()) {
      // Always into the last gap, the one after every block so far.
      await mouseDrag(page, `[data-testid=add-${type}]`, `[data-testid=gap-${i}]`);
      await page.waitForSelector(`[data-testid=block-${i}].selected`);
      for (const [name, value] of Object.entries(fields ?? {})) {
        const input = `[data-testid=layer-panel] [data-testid=edit-${name}]`;
        await page.fill(input, String(value));
        await page.press(input, 'Enter');
        await page.waitForFunction(([sel, v]) => document.querySelector(sel)?.value === v, [input, String(value)]);
      }
    }
    assert.deepEqual(await shapes(page), LENET_SHAPES);
    assert.match(await text(page, 'model-totals'), /^61706 trainable parameters/);
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
    // Printed, not asserted: a test must not depend on this machine's speed.
    console.log(`# LeNet-5 built by dragging in ${((Date.now() - started) / 1000).toFixed(1)} s of scripted input`);
  });

  it('builds LeNet-5 from an empty model with the keyboard only', async () => {
    await page.focus('[data-testid=diagram-clear]');
    await page.keyboard.press('Enter');
    assert.deepEqual(await blockNames(page), []);
    assert.match(await text(page, 'diagram-error'), /./, 'an empty model says what is missing');
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true);
    // Each layer: Enter on its chip adds it after the selected block; Enter on the block opens
    // its fields; each value is typed and committed with Enter, Tab moves to the next field.
    for (const [i, [type, fields]] of LENET.entries()) {
      await page.focus(`[data-testid=add-${type}]`);
      await page.keyboard.press('Enter');
      await page.waitForSelector(`[data-testid=block-${i}].selected`);
      if (!fields) continue;
      await page.focus(`[data-testid=block-${i}]`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.closest('[data-testid=layer-panel]'));
      for (const [name, value] of Object.entries(fields)) {
        // Tab through the panel's fields to this one, as a keyboard user would.
        for (let guard = 0; guard < 20; guard++) {
          if (await page.evaluate((n) => document.activeElement?.dataset.testid === `edit-${n}`, name)) break;
          await page.keyboard.press('Tab');
        }
        assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), `edit-${name}`);
        await page.keyboard.press('Control+A');
        await page.keyboard.type(String(value));
        await page.keyboard.press('Enter');
        await page.waitForFunction(([n, v]) => document.querySelector(`[data-testid=layer-panel] [data-testid=edit-${n}]`)?.value === String(v), [name, value]);
        // The redrawn field gets the focus back on the next frame.
        await page.waitForFunction((n) => document.activeElement?.dataset.testid === `edit-${n}`, name);
      }
    }
    assert.deepEqual(await blockNames(page), ['Conv2d', 'Tanh', 'AvgPool2d', 'Conv2d', 'Tanh', 'AvgPool2d', 'Flatten', 'Linear', 'Tanh', 'Linear', 'Tanh', 'Linear']);
    assert.deepEqual(await shapes(page), LENET_SHAPES);
    assert.equal(await text(page, 'diagram-totals'), '61.7k params · 845.9k FLOPs per image');
    assert.match(await text(page, 'model-totals'), /^61706 trainable parameters/, 'the same model as the LeNet-5 preset');
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
    // Arrows select, Alt+arrows move, Delete removes, D duplicates.
    await page.focus('[data-testid=block-1]');
    await page.keyboard.press('ArrowRight');
    await focused(page, 'block-2');
    await page.keyboard.press('Alt+ArrowLeft');
    await page.waitForFunction(() => document.querySelector('[data-testid=block-1] .block-name').textContent === 'AvgPool2d');
    await focused(page, 'block-1'); // the moved block keeps the focus
    await page.keyboard.press('d');
    assert.equal((await blockNames(page)).length, 13);
    await focused(page, 'block-2'); // the copy
    await page.keyboard.press('Delete');
    assert.equal((await blockNames(page)).length, 12);
    await focused(page, 'block-2'); // the next block takes the focus
    await page.keyboard.press('ArrowLeft');
    await focused(page, 'block-1');
    await page.keyboard.press('Alt+ArrowRight');
    await page.waitForFunction(() => document.querySelector('[data-testid=block-2] .block-name').textContent === 'AvgPool2d');
    assert.equal(await text(page, 'diagram-totals'), '61.7k params · 845.9k FLOPs per image');
  });

  it('shows the selected layer with its formulas, maps and filters; an invalid value turns its block red', async () => {
    await page.click('[data-testid=block-0]');
    assert.equal(await text(page, 'panel-output'), '6×28×28');
    assert.equal(await text(page, 'panel-params'), '156');
    await page.waitForSelector('[data-testid=panel-maps] canvas.map');
    assert.equal(await page.$$eval('[data-testid=panel-maps] canvas.map', (c) => c.length), 6);
    assert.equal(await page.$$eval('[data-testid=panel-filters] canvas', (c) => c.length), 6);
    // Every convolution's filters, not only the first one's.
    await page.click('[data-testid=block-3] .block-name');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=panel-filters] canvas').length === 16);
    assert.match(await page.textContent('[data-testid=panel-filters]'), /^Filters of layer 3 \(Conv2d\): 16 kernels of 5×5, first input channel/);
    await page.click('[data-testid=block-0] .block-name');
    const kernel = '[data-testid=layer-panel] [data-testid=edit-kernel_size]';
    await page.fill(kernel, '40');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=block-0].invalid');
    assert.match(await text(page, 'block-error'), /kernel 40 is larger than the padded input 32×32/);
    assert.match(await text(page, 'panel-error'), /kernel 40/);
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true);
    await page.fill(kernel, '5');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
  });

  it('outlines the receptive field of a clicked unit back to the input', async () => {
    // LeNet-5: a unit of the second pooling layer (block 5, 16×5×5) sees 16×16 input pixels.
    const [x, y] = center(await page.locator('[data-testid=block-5] canvas.plane[data-ch="0"]').boundingBox());
    await page.mouse.click(x, y);
    assert.equal(await text(page, 'rf-caption').then((t) => t.replace(/\s*Close$/, '')),
      'Unit (2, 2) of layer 5 sees a 16×16 patch of the input (outlined in every block before it).');
    const regions = await page.$$eval('[data-testid=rf]', (els) => els.map((e) => e.dataset.region));
    // Input, then the output of layers 0…5: conv 5×5 pad 2, tanh, pool 2, conv 5×5, tanh, the unit.
    assert.deepEqual(regions, ['6,21,6,21', '8,19,8,19', '8,19,8,19', '4,9,4,9', '4,5,4,5', '4,5,4,5', '2,2,2,2']);
    await page.click('[data-testid=rf-clear]');
    assert.equal(await page.$('[data-testid=rf]'), null);
  });

  it('thumbnails follow the weights while training', async () => {
    const thumb = '[data-testid=block-0] canvas.plane[data-ch="0"]';
    const before = await pixels(page, thumb);
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(([sel, was]) => document.querySelector(sel).toDataURL() !== was, [thumb, before], { timeout: 60_000 });
    // More than once while the same run goes on.
    const during = await pixels(page, thumb);
    await page.waitForFunction(([sel, was]) => document.querySelector(sel).toDataURL() !== was, [thumb, during], { timeout: 60_000 });
    assert.match(await text(page, 'toolbar-position'), /^epoch 1\/\d+ · step \d+\/938 · \d+ img\/s$/);
    await page.click('[data-testid=train-pause]');
    await page.waitForSelector('[data-testid=train-resume]');
    await screenshot(page, 'diagram-training-1280-en', { fullPage: false });
  });

  it('looks right at 1280×800 and 360×740 in both languages', async () => {
    await page.selectOption('[data-testid=lang]', 'zh-CN');
    assert.equal(await text(page, 'diagram-totals'), '61.7k 个参数 · 每张图像 845.9k FLOPs');
    await screenshot(page, 'diagram-1280-zh', { fullPage: false });
    for (const lang of ['zh-CN', 'en']) {
      const small = await newPage(browser, { width: 360, height: 740 });
      await small.goto(server.url);
      await waitForData(small);
      await small.selectOption('[data-testid=lang]', lang);
      // Nothing is wider than the screen: the page does not scroll sideways.
      assert.ok(await small.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1), `${lang}: no sideways scroll`);
      await screenshot(small, `diagram-360-${lang === 'en' ? 'en' : 'zh'}`, { fullPage: false });
      await screenshot(small, `diagram-360-${lang === 'en' ? 'en' : 'zh'}-page`);
      await small.close();
    }
    await page.selectOption('[data-testid=lang]', 'en');
  });
});
