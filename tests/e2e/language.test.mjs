// English and 简体中文: the switch changes the visible text (headings, buttons, figures, layer
// errors, messages from the engine), is remembered across reloads, follows the browser's
// language on a first visit, and switching back re-translates what is already on the page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeApp, openApp, screenshot, text } from './helpers.mjs';

const CJK = /[\u4e00-\u9fff]/;
const headings = (page) => page.$$eval('h2', (els) => els.map((e) => e.textContent));
const choose = (page, tag) => page.selectOption('[data-testid=lang]', tag);

describe('language switch', { timeout: 300_000 }, () => {
  let server, browser, page;
  before(async () => ({ server, browser, page } = await openApp()));
  after(() => closeApp({ server, browser }));

  it('switches the page to Simplified Chinese and back', async () => {
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await headings(page))[0], 'Network');
    assert.equal(await text(page, 'train-start'), 'Start training');

    await choose(page, 'zh-CN');
    await page.waitForSelector('[data-testid=train-start]:has-text("开始训练")');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    const zh = await headings(page);
    assert.equal(zh[0], '网络');
    assert.ok(zh.every((h) => CJK.test(h)), `every card heading is Chinese: ${zh.join(' | ')}`);
    assert.equal(await text(page, 'data-status'), 'MNIST 已就绪：60000 张训练图像，10000 张测试图像');
    assert.match(await text(page, 'model-totals'), /^11274 个可训练参数 · 每张图像前向/);
    assert.match(await text(page, 'mode'), /个线程 · SIMD128 \+ FMA（宽松 SIMD） · 多线程构建/);
    assert.equal(await text(page, 'prediction'), '写一个数字，看看模型怎么想。');
    assert.equal(await page.getAttribute('[data-testid=chart-loss]', 'aria-label'), '损失曲线。尚未训练');
    assert.match(await page.getAttribute('[data-testid=layer-0] [data-testid=layer-name]', 'title'), /二维卷积/);
    assert.match(await page.getAttribute('[data-testid=add-conv2d]', 'title'), /^在选中层之后添加 Conv2d（二维卷积，卷积）/);

    // A layer error from the engine's shape rules, in Chinese.
    const kernel = '[data-testid=layer-0] [data-testid=field-kernel_size]';
    await page.fill(kernel, '40');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=layer-0].invalid');
    assert.equal(await page.textContent('[data-testid=layer-0] [data-testid=layer-error]'), '字段 `kernel_size`：卷积核 40 大于填充后的输入 32×32');
    assert.equal(await text(page, 'model-totals'), '训练前需要修正第 0 层。');
    await page.fill(kernel, '5');
    await page.press(kernel, 'Enter');
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');

    // A refused file: the page's message around the engine's, both translated.
    await page.setInputFiles('[data-testid=open-file]', {
      name: 'small.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a weights file at all'),
    });
    await page.waitForSelector('[data-testid=error]');
    assert.match(await text(page, 'error'), /^没有打开 small\.safetensors，模型保持不变：不是可用的 safetensors 文件：/);
    await page.locator('main').scrollIntoViewIfNeeded();
    await screenshot(page, 'language-zh');

    // Remembered across a reload.
    await page.reload();
    await page.waitForSelector('[data-testid=data-status]:has-text("MNIST 已就绪")', { timeout: 60_000 });
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.inputValue('[data-testid=lang]'), 'zh-CN');

    // Back to English: everything, including a message already shown, reads English again.
    await page.setInputFiles('[data-testid=open-file]', {
      name: 'small.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a weights file at all'),
    });
    await page.waitForSelector('[data-testid=error]:has-text("没有打开")');
    await choose(page, 'en');
    await page.waitForSelector('[data-testid=train-start]:has-text("Start training")');
    assert.equal((await headings(page))[0], 'Network');
    assert.match(await text(page, 'error'), /^small\.safetensors was not opened, the model is unchanged: not a usable safetensors file: /);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.deepEqual(page.errors, []);
  });

  it('opens in Chinese on a first visit from a Chinese browser', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
    try {
      const fresh = await context.newPage();
      await fresh.goto(server.url);
      await fresh.waitForSelector('[data-testid=data-status]:has-text("MNIST 已就绪")', { timeout: 60_000 });
      assert.equal(await fresh.getAttribute('html', 'lang'), 'zh-CN');
      assert.equal(await fresh.inputValue('[data-testid=lang]'), 'zh-CN');
      assert.equal((await headings(fresh))[1], '训练');
      // The engine's own error (from the worker, as a key and its values) reads Chinese, with
      // the nested reasons translated at every level, and follows a switch back to English.
      await fresh.goto(`${server.url}#v=1&bogus=1&w=@@@`);
      await fresh.reload();
      await fresh.waitForSelector('[data-testid=error]', { timeout: 60_000 });
      assert.match(await text(fresh, 'error'), /^链接：权重未载入，模型保持不变：链接中的权重不是有效的 base64url：/);
      assert.match(await fresh.textContent('[data-testid=link-notice]'), /已忽略未知的键 `bogus`/);
      await choose(fresh, 'en');
      await fresh.waitForSelector('[data-testid=error]:has-text("the link: weights not loaded, the model is unchanged: the weights in the link are not valid base64url")');
      assert.match(await fresh.textContent('[data-testid=link-notice]'), /ignored unknown key `bogus`/);
    } finally {
      await context.close();
    }
  });
});
