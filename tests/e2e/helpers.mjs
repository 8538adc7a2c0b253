// Shared helpers for the end-to-end tests: serve the built app, drive Debian's Chromium,
// save screenshots as artifacts.
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../www/serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DIST = resolve(here, '../../dist');
export const ARTIFACTS = resolve(here, 'artifacts');

/** Serves `root` on a free loopback port; returns { url, close }. */
export async function serve({ root = DIST, isolation = true } = {}) {
  const server = await startServer({ root, port: 0, isolation });
  const { port } = server.address();
  // Closing also drops open connections: a page (or its service worker) still holding one would
  // otherwise keep `close` waiting for ever.
  const close = () => new Promise((r) => {
    server.close(r);
    server.closeAllConnections();
  });
  return { url: `http://127.0.0.1:${port}/`, close };
}

/** A copy of dist (symlinks) whose data folder is replaced by `files` ({relative path: Buffer}). */
export function distWithData(files) {
  const root = mkdtempSync(join(tmpdir(), 'cnn-dist-'));
  for (const entry of readdirSync(DIST)) {
    if (entry !== 'data') symlinkSync(join(DIST, entry), join(root, entry));
  }
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'data', path)), { recursive: true });
    writeFileSync(join(root, 'data', path), bytes);
  }
  return root;
}

export async function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
  });
}

/**
 * A page that records from the start: main-thread long tasks, page errors, Content-Security-Policy
 * violations (`window.__csp`) and requests that leave the loopback test server (`page.offOrigin`).
 * `serviceWorkers: 'block'` opens it in a context of its own where no service worker runs.
 */
export async function newPage(browser, viewport = { width: 1280, height: 900 }, { serviceWorkers } = {}) {
  const page = serviceWorkers
    ? await (await browser.newContext({ viewport, serviceWorkers })).newPage()
    : await browser.newPage({ viewport });
  page.errors = [];
  page.offOrigin = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '127.0.0.1') page.offOrigin.push(r.url());
  });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  return page;
}

export async function screenshot(page, name, { fullPage = true } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

export const text = (page, testid) => page.textContent(`[data-testid=${testid}]`);

/** Waits for the engine to be ready and MNIST decoded. */
export async function waitForData(page) {
  await page.waitForSelector('[data-testid=data-status]:has-text("MNIST ready")', { timeout: 60_000 });
  await page.waitForSelector('[data-testid=train-start]:not([disabled])', { timeout: 30_000 });
}

/** Current step number within the epoch, from the "step / total" figure. */
export async function step(page) {
  const t = await text(page, 'step');
  return Number.parseInt(t, 10) || 0;
}

/** Draws a polyline on the drawing canvas with the mouse (coordinates as fractions of its size). */
export async function drawStroke(page, points) {
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const at = ([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];
  const pad = '[data-testid=draw-canvas]';
  const before = Number(await page.getAttribute(pad, 'data-strokes'));
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
  // The page has taken the whole stroke in (a busy page may still be on an earlier move).
  await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.strokes) > n, [pad, before]);
}

/** Serves the app, opens it in a fresh browser (with `initScript`, a function or a list of them,
 * run before the page's own scripts, if given) and waits for the data: { server, browser, page }. */
export async function openApp({ args, initScript } = {}) {
  const server = await serve();
  const browser = await launch({ args });
  const page = await newPage(browser);
  for (const script of [initScript ?? []].flat()) await page.addInitScript(script);
  await page.goto(server.url);
  await waitForData(page);
  return { server, browser, page };
}

/** The CSP violations and off-origin requests of every page still open in `browser`. */
export async function policyBreaches(browser) {
  const found = [];
  for (const context of browser?.contexts() ?? []) {
    for (const page of context.pages()) {
      const csp = await page.evaluate(() => window.__csp ?? []).catch(() => []);
      found.push(...csp.map((v) => `CSP violation on ${page.url()}: ${v}`), ...(page.offOrigin ?? []).map((u) => `request left the origin: ${u}`));
    }
  }
  return found;
}

/** Closes what `openApp` opened, after checking that no page broke the CSP or left the origin. */
export async function closeApp({ server, browser } = {}) {
  const breaches = await policyBreaches(browser);
  await browser?.close();
  await server?.close();
  if (breaches.length) throw new Error(breaches.join('\n'));
}

// Page init script making this browser one without relaxed SIMD as far as WebAssembly.validate
// tells: any module containing f32x4.relaxed_madd (0xfd 0x85 0x02) fails validation, as it would
// there (index.html's probe, and the FMA build's module with it). Self-contained: playwright
// runs its source in the page.
export function withoutRelaxedSimd() {
  const validate = WebAssembly.validate;
  const hasRelaxedMadd = (bytes) => {
    const b = new Uint8Array(bytes.buffer ?? bytes);
    for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x85 && b[i + 2] === 0x02) return true;
    return false;
  };
  WebAssembly.validate = (bytes, ...rest) => !hasRelaxedMadd(bytes) && validate(bytes, ...rest);
}

/** A 24-bit BMP (which every browser decodes) of `side`² pixels, `colour(x, y)` → [r, g, b]. */
export function bmp(side, colour) {
  const row = side * 3;
  const size = 54 + row * side;
  const b = Buffer.alloc(size);
  b.write('BM', 0);
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(side, 18);
  b.writeInt32LE(side, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * side, 34);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const [r, g, bl] = colour(x, side - 1 - y); // BMP rows run bottom-up
      b.writeUInt8(bl, 54 + y * row + x * 3);
      b.writeUInt8(g, 55 + y * row + x * 3);
      b.writeUInt8(r, 56 + y * row + x * 3);
    }
  }
  return b;
}

/** Clicks the button `testid` and saves the file it downloads into `dir`; returns its path. */
export async function saveDownload(page, testid, dir) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testid}]`)]);
  const path = join(dir, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

/** Init script (page.addInitScript): keeps the engine's Progress and Evaluated messages, as they
 * reach the page, in `window.__engine` as [ms since navigation, parsed message] pairs. The
 * worker's listener is added before the app's, whether the app uses addEventListener or onmessage. */
export function recordEngineMessages() {
  window.__engine = [];
  const seen = (e) => {
    const json = e.data?.cnn;
    if (typeof json === 'string' && /^\{"(Progress|Evaluated)"/.test(json)) window.__engine.push([performance.now(), JSON.parse(json)]);
  };
  const add = Worker.prototype.addEventListener;
  const hook = (w) => { if (!w.__recorded) { w.__recorded = true; add.call(w, 'message', seen); } };
  Worker.prototype.addEventListener = function (type, f, o) { if (type === 'message') hook(this); return add.call(this, type, f, o); };
  const set = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage').set;
  Object.defineProperty(Worker.prototype, 'onmessage', { set(f) { hook(this); set.call(this, f); }, configurable: true });
}
