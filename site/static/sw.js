// sw.js: the service worker that keeps the page working offline after one
// visit, with every file downloaded once.
//
//   the page itself (SHELL): cache-first under a VERSION that site/build
//     hashes from the files. A first install keeps only the small files
//     the page has already fetched (the HTTP cache answers them: a 304,
//     no second download); app.mjs then waits until this worker controls
//     the page (clients.claim) before it asks for the runtime, so the big
//     files (cnn.wasm, app.wasm, ...) come through here once and are kept
//     as they pass. An update (another VERSION) fetches every file at
//     install, so that the new copy is whole before the old one goes;
//   models/index.json and */manifest.json: network-first, falling back
//     to the copy of the last success;
//   chunks (models/*/*.bin): answered from any cache (the library keeps
//     verified chunks in its own cache, "webcnn-chunks-v1"), else fetched
//     and not stored here: the library stores them once verified;
//   "?probe" requests (the page's online check) go to the network untouched.
const VERSION = "dev";
const SHELL_CACHE = `webcnn-shell-${VERSION}`;
const DATA_CACHE = "webcnn-data-v1";
const SHELL = ["./", "index.html", "style.css", "app.mjs", "cnn.mjs", "cnn-worker.mjs", "wasm_exec.js", "cnn.wasm", "app.wasm", "icon.svg", "app.webmanifest"];
// What the page loads before this worker can control it.
const FIRST = ["./", "style.css", "app.mjs", "cnn.mjs", "icon.svg", "app.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const update = (await caches.keys()).some((n) => n.startsWith("webcnn-shell-") && n !== SHELL_CACHE);
    const cache = await caches.open(SHELL_CACHE);
    // The default cache mode: a file fetched a moment ago is revalidated, not downloaded again.
    await cache.addAll(update ? SHELL : FIRST);
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
  if (req.method !== "GET" || url.origin !== self.location.origin || url.search === "?probe") return;
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

// pending holds the fetches of files not cached yet, so that two requests
// for one file (the page and the runtime's worker both load wasm_exec.js)
// download it once.
const pending = new Map();

async function cacheFirst(req) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(req, {ignoreSearch: true});
  if (hit) return hit;
  const url = new URL(req.url);
  const key = url.origin + url.pathname;
  if (!url.pathname.match(/\.(html|css|m?js|wasm|svg|webmanifest)$|\/$/)) return fetch(req);
  let p = pending.get(key);
  if (!p) {
    p = (async () => {
      const res = await fetch(req);
      if (res.ok) await cache.put(key, res.clone());
      return res;
    })().finally(() => pending.delete(key));
    pending.set(key, p);
    return p;
  }
  // Another request is downloading the file: answer from the cache once it is there.
  try { await p; } catch { /* fall through to the network */ }
  return (await cache.match(key)) ?? fetch(req);
}
