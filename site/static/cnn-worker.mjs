// cnn-worker.mjs: the worker in which cnn.mjs runs cnn.wasm, so that
// downloads, sha256 checks and inference never block the page. Messages:
// {id, op, args} in; {id, value} or {id, error: {code, message}} out, and
// {id, progress: [done, total]} while a load runs ({id, progress: [{step,
// steps, loss, acc}]} while a finetune does, {id, progress: [done, total]}
// after each pass of a classification run with {progress: true}).
import {startRuntime} from "./cnn.mjs";

let api = null;

// Buffers of results that can move instead of being copied.
function transferables(v) {
  if (v instanceof Float32Array || v instanceof Uint8Array) return [v.buffer];
  if (v && v.mean instanceof Float32Array) return [v.mean.buffer, v.variance.buffer];
  return [];
}

self.onmessage = async ({data: {id, op, args}}) => {
  try {
    let value = null;
    if (op === "init") {
      api ??= await startRuntime(...args);
    } else if (op === "load") {
      const [url, opts] = args;
      value = await api.load(url, {...opts, onProgress: (done, total) => self.postMessage({id, progress: [done, total]})});
    } else if (op === "finetune") {
      const [h, opts] = args;
      value = await api.finetune(h, {...opts, onStep: (s) => self.postMessage({id, progress: [s]})});
    } else if (["classify", "headClassify", "headsClassify"].includes(op) && args[2]?.progress) {
      const [h, px, {progress: _, ...opts}] = args;
      value = await api[op](h, px, {...opts, onPass: (done, total) => self.postMessage({id, progress: [done, total]})});
    } else if (typeof api?.[op] === "function") {
      value = await api[op](...args);
    } else {
      throw Object.assign(new Error(`unknown operation ${op}`), {code: "internal"});
    }
    self.postMessage({id, value}, transferables(value));
  } catch (e) {
    self.postMessage({id, error: {code: e?.code ?? "internal", message: e?.message ?? String(e)}});
  }
};
