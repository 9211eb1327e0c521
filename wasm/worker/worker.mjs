// The Worker's glue, copied beside the outputs of workers-assets-gen
// (wasm_exec.js) and go build (app.wasm) by build.sh. Unlike the stock
// glue of syumai/workers, which starts a Go instance per request (the
// weights would load every time), it starts one per isolate: Go registers
// its handler with workers.ServeNonBlock and calls workers.Ready(), then
// every request is a call into the same instance, whose models stay built.
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
// handleRequest, wasmMemory lets /healthz report the linear memory's size.
const context = { env: undefined, ctx: undefined, binding: {}, wasmMemory: undefined };
let started; // Promise of the ready instance; undefined before or after one

function start(env) {
  const go = new Go();
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const instance = new WebAssembly.Instance(mod, {
    ...go.importObject,
    workers: { ready: () => ready() },
  });
  context.env = env;
  context.binding = {};
  context.wasmMemory = instance.exports.mem;
  // Go exits only on a fatal error: the next request starts a new one.
  const exited = go.run(instance, context).finally(() => {
    started = undefined;
  });
  return Promise.race([
    isReady,
    exited.then(() => {
      throw new Error("the Go program exited before it was ready");
    }),
  ]);
}

function jsonError(status, error) {
  return new Response(JSON.stringify({ error, status }) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

export default {
  async fetch(req, env, ctx) {
    try {
      if (started === undefined) {
        started = start(env);
      }
      await started;
      context.ctx = ctx;
      return await context.binding.handleRequest(req);
    } catch (e) {
      return jsonError(500, `worker: ${e}`);
    }
  },
};
