// Your own pictures: a folder with one sub-folder per class (generated BMP pictures of three
// shapes in random colours, places and sizes) is chosen on the page, decoded by the browser in
// the worker, trained on with the classes named after the folders, kept for the next visit, and
// a new picture is classified by name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bmp, closeApp, openApp, screenshot } from './helpers.mjs';

/** A seeded generator (mulberry32): the same folder every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPES = {
  disc: (dx, dy, r) => Math.hypot(dx, dy) < r,
  square: (dx, dy, r) => Math.abs(dx) < r * 0.8 && Math.abs(dy) < r * 0.8,
  cross: (dx, dy, r) => (Math.abs(dx) < r * 0.3 && Math.abs(dy) < r) || (Math.abs(dy) < r * 0.3 && Math.abs(dx) < r),
};

/** `per` pictures of each shape, 48 px, under `root/<shape>/`. */
function pictureFolder(root, per) {
  const rnd = random(7);
  for (const [name, inside] of Object.entries(SHAPES)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < per; i++) {
      const r = 14 + rnd() * 6;
      const [cx, cy] = [r + rnd() * (48 - 2 * r), r + rnd() * (48 - 2 * r)];
      const fg = [120 + rnd() * 135, 120 + rnd() * 135, 120 + rnd() * 135].map(Math.round);
      const bg = [rnd() * 60, rnd() * 60, rnd() * 60].map(Math.round);
      writeFileSync(join(root, name, `${i}.bmp`), bmp(48, (x, y) => (inside(x - cx, y - cy, r) ? fg : bg)));
    }
  }
}

/** Chooses the generated class folders (side 24) on a page that has just opened. */
async function choosePictures(page, folder) {
  await page.selectOption('[data-testid=dataset]', 'images');
  await page.waitForSelector('[data-testid=pictures-folder]', { state: 'attached' });
  await page.fill('[data-testid=pictures-side]', '24');
  await page.dispatchEvent('[data-testid=pictures-side]', 'change');
  await page.setInputFiles('[data-testid=pictures-folder]', folder);
}

describe('your own pictures', { timeout: 600_000 }, () => {
  let app;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnn-pictures-'));
    app = await openApp();
  });
  after(() => closeApp(app));

  it('trains on a folder of class folders and classifies a new picture by class name', async () => {
    const { page } = app;
    const folder = join(dir, 'shapes');
    pictureFolder(folder, 200);
    await choosePictures(page, folder);
    // 200 per class, 20 % of each held out: 480 to train on, 120 to test.
    await page.waitForSelector('[data-testid=data-status]:has-text("Your pictures ready: 480 training and 120 test images")', { timeout: 120_000 });
    await page.waitForSelector('[data-testid=block-0]:has-text("8×24×24")');
    // The classes are the folders' names, sorted; the last layer gives one score per class.
    await page.waitForSelector('[data-testid=diagram-totals]');
    const link = await page.evaluate(() => location.hash);
    assert.match(decodeURIComponent(link), /images=3x24x24&classes=cross,disc,square/);
    // Some epochs: 480 pictures are 8 steps each.
    await page.fill('[data-testid=epochs]', '10');
    await page.press('[data-testid=epochs]', 'Enter');
    await page.waitForSelector('[data-testid=train-start]:not([disabled])');
    await page.click('[data-testid=train-start]');
    await page.waitForSelector('[data-testid=run-state]:has-text("finished")', { timeout: 300_000 });
    // The last epoch's figure (one per epoch is listed).
    const accuracy = Number(await page.locator('[data-testid=test-acc]').last().getAttribute('data-accuracy'));
    console.log(`three generated shapes from class folders: test accuracy ${(accuracy * 100).toFixed(1)}%`);
    assert.ok(accuracy > 0.8, `test accuracy ${accuracy} (chance is 0.33)`);
    const square = join(dir, 'square.bmp');
    writeFileSync(square, bmp(96, (x, y) => (Math.abs(x - 50) < 26 && Math.abs(y - 44) < 26 ? [90, 200, 240] : [30, 20, 10])));
    await page.setInputFiles('[data-testid=picture-file]', square);
    await page.waitForSelector('[data-testid=prediction]:has-text("square")', { timeout: 30_000 });
    await screenshot(page, 'pictures-trained');
    await page.reload();
    await page.waitForSelector('[data-testid=data-status]:has-text("Your pictures ready: 480 training")', { timeout: 120_000 });
    assert.deepEqual(page.errors, []);
  });
});

// The camera as a picture source, with Chromium's fake camera (a moving test pattern) and the
// permission prompt answered yes: the frame taken is what the model is given and predicted.
describe('a picture from the camera', { timeout: 300_000 }, () => {
  let app;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnn-camera-'));
    app = await openApp({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  });
  after(() => closeApp(app));

  it('takes a frame, shows it as the model sees it and predicts it', async () => {
    const { page } = app;
    const folder = join(dir, 'shapes');
    pictureFolder(folder, 20);
    await choosePictures(page, folder);
    await page.waitForSelector('[data-testid=data-status]:has-text("Your pictures ready: 48 training and 12 test images")', { timeout: 120_000 });
    await page.waitForSelector('[data-testid=camera-start]');
    await page.click('[data-testid=camera-start]');
    await page.waitForSelector('[data-testid=camera-snap]');
    await page.waitForFunction(() => document.querySelector('video.camera').videoWidth > 0);
    await page.click('[data-testid=camera-snap]');
    await page.waitForSelector('[data-testid=prediction]:has-text("Prediction:")', { timeout: 30_000 });
    // The preview holds the frame at the model's size, and it is not blank.
    const painted = await page.evaluate(() => {
      const c = document.querySelector('[data-testid=picture-preview]');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
      return { w: c.width, h: c.height, sum };
    });
    assert.equal(painted.w, 24);
    assert.ok(painted.sum > 0, 'the frame is drawn');
    await page.click('[data-testid=camera-stop]');
    await page.waitForSelector('[data-testid=camera-start]');
    assert.deepEqual(page.errors, []);
  });
});
