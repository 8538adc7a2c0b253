// After the three Trunk builds: make every page run under a strict Content-Security-Policy and
// write the service worker that keeps the app working offline and on hosts that cannot send
// headers.
//   node www/postbuild.mjs [dist]
// - Inline scripts (the build picker, Trunk's module start-up) move to files of their own, named
//   by content hash, so the policy needs no 'unsafe-inline'; the policy goes in a meta tag (the
//   same one www/serve.mjs sends as a header, plus frame-ancestors, which only a header can set).
// - dist/sw.js is www/sw.js with the build's version (a hash of every file it serves) and the
//   list of files to cache on install: the app of every build and the default dataset.
// Idempotent: a page already processed has no inline script left.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The policy of every page (meta tag). frame-ancestors is ignored in meta, so the header adds it. */
// worker-src blob:: wasm-bindgen-rayon starts each pool thread from a blob: copy of its own
// (same-origin) helper script, and wasm-bindgen's Atomics.wait helper is a blob: worker too.
// style-src-attr 'unsafe-inline': plotters-canvas measures text with a style attribute on a
// hidden span. Scripts get neither 'unsafe-inline' nor 'unsafe-eval'.
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

/** The policy as a response header. */
export const CSP_HEADER = `${CSP}; frame-ancestors 'none'`;

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Moves inline scripts of `dir/index.html` into files and adds the CSP meta tag. */
function harden(dir) {
  const file = join(dir, 'index.html');
  if (!existsSync(file)) return;
  let html = readFileSync(file, 'utf8');
  html = html.replace(/<script([^>]*)>([\s\S]*?)<\/script>/g, (whole, attrs, body) => {
    if (/\bsrc=/.test(attrs) || !body.trim()) return whole;
    const name = `inline-${sha(body).slice(0, 16)}.js`;
    writeFileSync(join(dir, name), body);
    return `<script${attrs} src="./${name}"></script>`;
  });
  const meta = `<meta http-equiv="Content-Security-Policy" content="${CSP}">`;
  if (html.includes('http-equiv="Content-Security-Policy"')) {
    html = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, meta);
  } else {
    html = html.replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  ${meta}`);
  }
  writeFileSync(file, html);
}

/** Every file below `root`, as paths relative to it with forward slashes. */
function walk(root, dir = root) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(root, path) : [relative(root, path).split('\\').join('/')];
  });
}

function writeServiceWorker(dist) {
  const files = walk(dist).filter((f) => f !== 'sw.js').sort();
  const version = sha(files.map((f) => `${f}:${sha(readFileSync(join(dist, f)))}`).join('\n')).slice(0, 16);
  // The app of every build and the default dataset; other datasets are cached when first used.
  const precache = ['./', ...files.filter((f) => !f.startsWith('data/') || f.startsWith('data/mnist/')).map((f) => `./${f}`)];
  const template = readFileSync(join(here, 'sw.js'), 'utf8');
  const sw = template.replace("'__VERSION__'", JSON.stringify(version))
    .replace("['__PRECACHE__']", JSON.stringify(precache))
    .replace("'__CSP__'", JSON.stringify(CSP_HEADER));
  writeFileSync(join(dist, 'sw.js'), sw);
  return { version, files: precache.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dist = resolve(process.argv[2] || 'dist');
  for (const sub of ['', 'plain', 'st']) harden(join(dist, sub));
  const { version, files } = writeServiceWorker(dist);
  console.log(`postbuild: CSP in place, service worker ${version} precaches ${files} files`);
}
