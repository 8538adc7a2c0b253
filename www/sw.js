// The app's service worker (www/postbuild.mjs fills in the version and the file list).
// - Offline: the app of every build and the MNIST files are cached on install, other datasets
//   when first fetched; every same-origin GET is answered from the cache first. The cache is
//   named by build, and a new build's worker deletes the old caches when it takes over.
// - Isolation on any static host: every response it serves carries the cross-origin isolation
//   headers (and the page's CSP), so the threaded build runs where the host cannot send them.
const VERSION = '__VERSION__';
const PRECACHE = ['__PRECACHE__'];
const CACHE = `cnn-playground-${VERSION}`;
const CSP = '__CSP__';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('cnn-playground-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// A page loaded before this worker was active asks to be taken over (see the build picker).
self.addEventListener('message', (event) => {
  if (event.data === 'claim') event.waitUntil(self.clients.claim());
});

/** The response with the isolation headers added (opaque responses cannot be changed). */
function isolated(response) {
  if (response.type === 'opaque' || response.type === 'opaqueredirect') return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  if ((headers.get('Content-Type') || '').startsWith('text/html')) headers.set('Content-Security-Policy', CSP);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Cache keys of a request: a page is stored as its folder's index.html, without query or hash. */
function keys(request) {
  const url = new URL(request.url);
  if (request.mode !== 'navigate') return [request];
  const path = url.origin + url.pathname;
  return path.endsWith('/') ? [path, `${path}index.html`] : [path];
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    for (const key of keys(request)) {
      const hit = await cache.match(key);
      if (hit) return isolated(hit);
    }
    const response = await fetch(request);
    // A dataset not cached on install (Fashion-MNIST) is kept once fetched; not awaited, so the
    // page reads the download as it arrives.
    if (response.ok && request.mode !== 'navigate' && new URL(request.url).pathname.includes('/data/')) {
      event.waitUntil(cache.put(request, response.clone()));
    }
    return isolated(response);
  })());
});
