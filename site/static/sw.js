// sw.js: the service worker that keeps the page working offline.
//
//   the page itself (SHELL): cache-first, precached at install; a new
//     build changes VERSION (site/build writes a hash of the files), so
//     the browser installs the new worker and its fresh copies;
//   models/index.json and */manifest.json: network-first, falling back
//     to the copy of the last success;
//   chunks (models/*/*.bin): answered from any cache (the library keeps
//     verified chunks in its own cache, "webcnn-chunks-v1"), else fetched
//     and not stored here: the library stores them once verified.
const VERSION = "dev";
const SHELL_CACHE = `webcnn-shell-${VERSION}`;
const DATA_CACHE = "webcnn-data-v1";
const SHELL = ["./", "index.html", "style.css", "app.mjs", "cnn.mjs", "cnn-worker.mjs", "wasm_exec.js", "cnn.wasm", "app.wasm", "icon.svg", "app.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((p) => new Request(p, {cache: "reload"})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("webcnn-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (path.endsWith(".bin")) {
    event.respondWith(caches.match(req, {ignoreSearch: true}).then((hit) => hit ?? fetch(req)));
  } else if (path.endsWith("/manifest.json") || path.endsWith("/index.json")) {
    event.respondWith(networkFirst(req));
  } else {
    event.respondWith(cacheFirst(req));
  }
});

async function networkFirst(req) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(req, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(req, {ignoreSearch: true}) ?? await caches.match(req, {ignoreSearch: true});
    if (hit) return hit;
    throw e;
  }
}

async function cacheFirst(req) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(req, {ignoreSearch: true});
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && new URL(req.url).pathname.match(/\.(html|css|m?js|wasm|svg|webmanifest)$|\/$/)) await cache.put(req, res.clone());
  return res;
}
