// The dashboard's service worker, generated at build time by the plugin in
// vite.config.ts (which fills in the version and the list of files).
// It precaches the app shell only — index.html, the hashed assets, the
// manifest and the icons — and never touches an API answer: any request
// outside the /ui/ scope goes straight to the network, uncached.
const VERSION = "9ce49e7a30d15608";
const SHELL = ["/ui/","/ui/assets/index-DeMl8U6P.js","/ui/icon-192.png","/ui/icon-512.png","/ui/index.html","/ui/manifest.webmanifest"];
const BASE = "/ui/";
const CACHE = 'hive-shell-' + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hive-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skipWaiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(BASE)) return;
  if (req.mode === 'navigate') {
    // Network first, so a running server always gives the current page; the
    // cached shell when the server cannot be reached.
    event.respondWith(
      fetch(req).catch(() =>
        caches.open(CACHE).then((c) => c.match(BASE + 'index.html').then((r) => r || c.match(BASE))),
      ),
    );
    return;
  }
  if (!SHELL.includes(url.pathname)) return;
  event.respondWith(
    caches.open(CACHE).then((c) => c.match(req).then((hit) => hit || fetch(req))),
  );
});
