// The Worker's glue, copied beside the outputs of workers-assets-gen
// (wasm_exec.js) and go build (app.wasm) by build.sh. It starts one Go
// instance per isolate (the stock glue of syumai/workers starts one per
// request, which would reload the weights every time) and replaces it at
// the start of the next request when it has exited. Every request crosses
// into Go once: context.binding.handle(request, done) with the body read
// here (up to MAX_BODY_BYTES) as one Uint8Array, and done receives
// {status, headers, body: Uint8Array}, so every Response has a
// Content-Length and no per-request callback or stream stays behind in
// the Go instance (serve_js.go).
import "./wasm_exec.js";
import mod from "./app.wasm";

// wasm_exec.js of syumai/workers calls this around JS calls that may throw.
globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (e) {
    return { error: e };
  }
};

// What Go reads as globalThis.context: env holds the bindings and vars
// (one object for every request of an isolate), binding receives Go's
// handle, wasmMemory and stats feed /healthz. stats outlive instances.
const stats = { instance: 0, restarts: 0, max_wasm_memory_bytes: 0, last_exit: "" };
const context = { env: undefined, binding: {}, wasmMemory: undefined, stats };
let go; // the running Go instance, or one that has exited
const pending = new Map(); // request number -> reject, while Go holds it
let nextRequest = 0;

// start runs a new Go instance until its main has registered handle. It
// is synchronous: the Go program runs until it first blocks, so no
// promise of one request is left for another to settle.
function start(env) {
  const g = new Go();
  // Go exits only on a fatal error (an escaped panic, out of memory): the
  // requests it held fail now, the next request starts a new instance.
  g.exit = (code) => {
    stats.last_exit = `code ${code} at ${new Date().toISOString()}`;
    const err = new Error(`the Go instance exited (code ${code}); the next request starts a new one`);
    for (const reject of pending.values()) reject(err);
    pending.clear();
  };
  const instance = new WebAssembly.Instance(mod, g.importObject);
  context.env = env;
  context.binding = {};
  context.wasmMemory = instance.exports.mem;
  go = g;
  stats.instance++;
  g.run(instance, context).catch(() => {});
  if (g.exited || typeof context.binding.handle !== "function") {
    throw new Error("the Go program exited before it was ready");
  }
}

function jsonError(status, error) {
  return new Response(JSON.stringify({ error, status }) + "\n", {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

// readBody keeps at most limit bytes of the request's body: a longer one
// is read to its end and dropped (cancelling it would cut the connection
// before the client reads the 413), and its length reported as overLimit.
async function readBody(req, limit) {
  if (req.body === null) return { body: null };
  const declared = Number(req.headers.get("content-length"));
  const reader = req.body.getReader();
  let parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (parts !== null) parts.push(value);
    if (n > limit || declared > limit) parts = null;
  }
  if (parts === null) return { body: null, overLimit: Math.max(n, declared || 0) };
  const body = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    body.set(p, off);
    off += p.byteLength;
  }
  return { body };
}

export default {
  async fetch(req, env) {
    const t0 = performance.now();
    try {
      if (go === undefined || go.exited) {
        if (go !== undefined) stats.restarts++;
        start(env);
      }
      const limit = Number(env.MAX_BODY_BYTES) || 4194304;
      const { body, overLimit } = await readBody(req, limit);
      const jreq = { method: req.method, url: req.url, headers: [...req.headers], body, overLimit };
      const id = nextRequest++;
      const res = await new Promise((resolve, reject) => {
        pending.set(id, reject);
        context.binding.handle(jreq, (r) => {
          pending.delete(id);
          resolve(r);
        });
      });
      const mem = context.wasmMemory.buffer.byteLength;
      if (mem > stats.max_wasm_memory_bytes) stats.max_wasm_memory_bytes = mem;
      const headers = new Headers(res.headers);
      headers.set("server-timing", `worker;dur=${(performance.now() - t0).toFixed(2)}`);
      const noBody = req.method === "HEAD" || res.status === 204 || res.status === 304;
      return new Response(noBody ? null : res.body, { status: res.status, headers });
    } catch (e) {
      return jsonError(500, `worker: ${e.message || e}`);
    }
  },
};
