// Missing or corrupt dataset files give a visible message naming the file; the page stays up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, distWithData, launch, newPage, screenshot, serve, text, waitForData } from './helpers.mjs';

const real = (name) => readFileSync(join(DIST, 'data', 'mnist', name));

async function openWith(browser, files) {
  const server = await serve({ root: distWithData(files) });
  const page = await newPage(browser);
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
  return { server, page };
}

describe('dataset errors', { timeout: 120_000 }, () => {
  let browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser?.close(); });

  it('a missing file is reported by name and the page keeps working', async () => {
    const { server, page } = await openWith(browser, {
      'mnist/train-images.idx.gz': real('train-images.idx.gz'),
      'mnist/test-images.idx.gz': real('test-images.idx.gz'),
      'mnist/test-labels.idx.gz': real('test-labels.idx.gz'),
    });
    assert.match(await text(page, 'error'), /could not download .*\/data\/mnist\/train-labels\.idx\.gz: HTTP 404/);
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true, 'training needs data');
    assert.match(await text(page, 'mode'), /threads/);
    assert.equal(await text(page, 'data-status'), 'MNIST could not be loaded.');
    await screenshot(page, 'data-missing');
    await server.close();
  });

  it('retry loads the data once it is there', async () => {
    const files = {
      'mnist/train-images.idx.gz': real('train-images.idx.gz'),
      'mnist/test-images.idx.gz': real('test-images.idx.gz'),
      'mnist/test-labels.idx.gz': real('test-labels.idx.gz'),
    };
    const root = distWithData(files);
    const server = await serve({ root });
    const page = await newPage(browser);
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=data-retry]', { timeout: 60_000 });
    writeFileSync(join(root, 'data', 'mnist', 'train-labels.idx.gz'), real('train-labels.idx.gz'));
    await page.click('[data-testid=data-retry]');
    await waitForData(page);
    assert.equal(await page.isVisible('[data-testid=error]'), false);
    await server.close();
  });

  it('a corrupt file is reported by name with what is wrong', async () => {
    const { server, page } = await openWith(browser, {
      'mnist/train-images.idx.gz': real('train-images.idx.gz'),
      'mnist/train-labels.idx.gz': Buffer.from('<!DOCTYPE html><html>not data</html>'),
      'mnist/test-images.idx.gz': real('test-images.idx.gz'),
      'mnist/test-labels.idx.gz': real('test-labels.idx.gz'),
    });
    assert.match(await text(page, 'error'), /train-labels\.idx\.gz: not an IDX file/);
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true);
    await server.close();
  });

  it('a corrupt gzip file is reported by name (the browser inflates, the engine explains)', async () => {
    const gz = real('test-labels.idx.gz');
    const corrupt = Buffer.concat([gz.subarray(0, 12), Buffer.alloc(64, 0xff), gz.subarray(76)]);
    const { server, page } = await openWith(browser, {
      'mnist/train-images.idx.gz': real('train-images.idx.gz'),
      'mnist/train-labels.idx.gz': real('train-labels.idx.gz'),
      'mnist/test-images.idx.gz': real('test-images.idx.gz'),
      'mnist/test-labels.idx.gz': corrupt,
    });
    assert.match(await text(page, 'error'), /test-labels\.idx\.gz: corrupt gzip data/);
    assert.equal(await page.isDisabled('[data-testid=train-start]'), true);
    await server.close();
  });

  it('a truncated file is reported with the missing size', async () => {
    const { server, page } = await openWith(browser, {
      'mnist/train-images.idx.gz': real('train-images.idx.gz'),
      'mnist/train-labels.idx.gz': real('train-labels.idx.gz'),
      'mnist/test-images.idx.gz': real('test-images.idx.gz'),
      'mnist/test-labels.idx.gz': Buffer.from([0, 0, 8, 1, 0, 0, 0x27, 0x10, 1, 2, 3]),
    });
    assert.match(await text(page, 'error'), /test-labels\.idx\.gz: truncated: expected 10008 bytes, found 11/);
    await server.close();
  });
});
