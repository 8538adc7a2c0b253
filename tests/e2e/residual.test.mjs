// Residual blocks (issue 16): a link with two blocks draws them with their skip arrows and
// bodies; the body is edited in the layer panel (a shape the identity shortcut cannot add is
// refused by name until the shortcut becomes a 1×1 convolution); the net trains on MNIST; the
// weights and the PyTorch code carry the blocks; the ResNet preset has three blocks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeApp, launch, newPage, saveDownload, screenshot, serve, text, waitForData } from './helpers.mjs';

const LINK = 'v=1&dataset=mnist&seed=42&layers=conv2d(out_channels=8,kernel_size=3,padding=1);relu;'
  + 'residual(layers=[conv2d(out_channels=8,kernel_size=3,padding=1);relu;conv2d(out_channels=8,kernel_size=3,padding=1)]);relu;'
  + 'max_pool2d(kernel_size=2);residual(layers=[conv2d(out_channels=16,kernel_size=3,stride=2,padding=1);relu],shortcut=conv1x1);relu;'
  + 'flatten;linear(out_features=10)&batch_size=64&epochs=1&optimizer=sgd(lr=0.05,momentum=0.9)';

/** Text of `selector` inside diagram block `i`. */
const inBlock = (page, i, selector) => page.textContent(`[data-testid=block-${i}] ${selector}`);

/** The safetensors header's tensor names. */
function tensorNames(path) {
  const bytes = readFileSync(path);
  const len = Number(bytes.readBigUInt64LE(0));
  return Object.keys(JSON.parse(bytes.subarray(8, 8 + len).toString())).filter((k) => k !== '__metadata__');
}

describe('residual blocks', { timeout: 600_000 }, () => {
  let app;
  before(async () => {
    const server = await serve();
    const browser = await launch();
    const page = await newPage(browser);
    await page.goto(`${server.url}#${LINK}`);
    await waitForData(page);
    app = { server, browser, page };
  });
  after(() => closeApp(app));

  it('draws each block with its skip arrow, its body and the shapes it gives', async () => {
    const { page } = app;
    assert.equal(await page.locator('[data-testid=skip-arrow]').count(), 2);
    assert.equal(await inBlock(page, 2, '[data-testid=skip-label]'), '+ input');
    assert.equal(await inBlock(page, 5, '[data-testid=skip-label]'), '+ 1×1 conv of input');
    assert.deepEqual(await page.$$eval('[data-testid=block-2] [data-testid=body-chips] li', (els) => els.map((e) => e.textContent)), ['Conv2d', 'ReLU', 'Conv2d']);
    assert.equal(await inBlock(page, 2, '[data-testid=block-shape]'), '8×28×28');
    assert.equal(await inBlock(page, 5, '[data-testid=block-shape]'), '16×7×7');
    // Parameters: two 3×3 convs of 8→8 in the first block; a 3×3 8→16 conv and the 1×1 8→16 projection in the second.
    assert.match(await inBlock(page, 2, '.block-params'), /1,?168|1\.2k/);
    assert.match(await inBlock(page, 5, '.block-params'), /1,?312|1\.3k/);
    const skip = await page.locator('[data-testid=block-5] [data-testid=skip-arrow]').boundingBox();
    const block = await page.locator('[data-testid=block-5]').boundingBox();
    assert.ok(skip.x < block.x, 'the arrow leaves from before the block');
    assert.ok(skip.x + skip.width <= block.x + block.width + 1, 'and lands on it');
    await screenshot(page, 'residual-diagram');
  });

  it('edits the body in the layer panel; the identity shortcut refuses a new shape by name', async () => {
    const { page } = app;
    await page.click('[data-testid=block-2] .block-name');
    await page.waitForSelector('[data-testid=body-editor]');
    assert.equal(await page.locator('.body-layers > li').count(), 3);
    const channels = '[data-testid=body-2] [data-testid=body-2-out_channels]';
    await page.fill(channels, '12');
    await page.press(channels, 'Enter');
    await page.waitForSelector('[data-testid=panel-error]:has-text("identity shortcut needs the body to keep the shape")');
    assert.match(await text(page, 'panel-error'), /layers|shortcut/);
    assert.ok(await page.isDisabled('[data-testid=train-start]'), 'an invalid model does not train');
    await page.selectOption('[data-testid=edit-shortcut]', 'conv1x1');
    await page.waitForSelector('[data-testid=block-2] [data-testid=skip-label]:has-text("1×1 conv")');
    assert.equal(await inBlock(page, 2, '[data-testid=block-shape]'), '12×28×28');
    assert.equal(await page.locator('[data-testid=panel-error]').count(), 0);
    // A layer added to the body, then removed again; then back to the link's block (undo).
    await page.selectOption('[data-testid=body-add]', 'BatchNorm2d');
    await page.waitForSelector('[data-testid=body-3]:has-text("BatchNorm2d")');
    assert.equal(await page.locator('.body-layers > li').count(), 4);
    await page.click('[data-testid=body-3] [data-testid=body-remove]');
    await page.waitForFunction(() => document.querySelectorAll('.body-layers > li').length === 3);
    for (let k = 0; k < 4; k += 1) await page.click('[data-testid=undo]');
    await page.waitForSelector('[data-testid=block-2] [data-testid=block-shape]:has-text("8×28×28")');
    assert.equal(await inBlock(page, 2, '[data-testid=skip-label]'), '+ input');
    assert.match(await page.evaluate(() => decodeURIComponent(window.location.hash)), /residual\(layers=\[conv2d\(out_channels=8,kernel_size=3,padding=1\);relu;conv2d/);
  });

  it('trains on MNIST, and the weights and the PyTorch code carry the blocks', async () => {
    const { page } = app;
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
    await page.click('[data-testid=train-start]');
    await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 400_000 });
    const accuracy = Number(await page.getAttribute('[data-testid=test-acc]', 'data-accuracy'));
    console.log(`residual net on MNIST, 1 epoch: test accuracy ${(accuracy * 100).toFixed(2)}%`);
    assert.ok(accuracy > 0.95, `test accuracy ${accuracy}`);
    const dir = mkdtempSync(join(tmpdir(), 'cnn-residual-'));
    const save = (id) => saveDownload(page, id, dir);
    const names = tensorNames(await save('download-weights'));
    for (const name of ['2.body.0.weight', '2.body.2.bias', '5.body.0.weight', '5.shortcut.weight', '5.shortcut.bias', '8.weight']) {
      assert.ok(names.includes(name), `${name} in ${names}`);
    }
    assert.ok(!names.some((n) => n.startsWith('2.shortcut')), 'the identity shortcut has no weights');
    const code = readFileSync(await save('download-code'), 'utf8');
    assert.match(code, /class Residual\(nn\.Module\)/);
    assert.match(code, /Residual\(\n\s+nn\.Sequential\(\n\s+nn\.Conv2d\(8, 8, kernel_size=3, padding=1\)/);
    assert.match(code, /nn\.Conv2d\(8, 16, kernel_size=1, stride=2\),/);
    assert.match(code, /nn\.Identity\(\),/);
  });

  it('the ResNet preset is three blocks on CIFAR-10', async () => {
    const { page } = app;
    await page.selectOption('[data-testid=preset-select]', 'resnet-8');
    await page.waitForSelector('[data-testid=data-drop]');
    assert.equal(await page.locator('[data-testid=skip-arrow]').count(), 3);
    assert.equal(await page.locator('[data-testid=block-7] [data-testid=block-shape]').textContent(), '64×8×8');
    assert.match(await text(page, 'diagram-totals'), /77\.9k/);
    await screenshot(page, 'resnet-8');
  });
});
