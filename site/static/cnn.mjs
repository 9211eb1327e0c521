// cnn.mjs: the webcnn browser library, a Go CNN runtime compiled to
// WebAssembly (wasm/lib) behind a small Promise API.
//
//   import {load} from "./cnn.mjs";
//   const model = await load("models/lenet5-mnist/manifest.json", {onProgress: (done, total) => {}});
//   const top5 = await model.classify(canvas, {topk: 5});   // [{label, index, prob}]
//
// Types: cnn.d.ts. Errors reject with an Error whose `code` names the
// cause: "network", "integrity", "manifest", "unsupported-image",
// "budget", "device-lost", "bad-input", "disposed" or "internal".

let runtime = null; // Promise of the API object: the Go side's, or a proxy to it in a worker

// Pictures larger than this (either side) are scaled down in the browser
// before their pixels cross into Go, whatever they are (ImageData, a
// canvas, an <img>, a Blob, a video frame...): every model's input is far
// smaller. The runtime refuses more than 4 Mpixels (MaxPixels) outright.
const MAX_SIDE = 1024;

// cnn.wasm runs core/cpu's wasm SIMD kernels (about twice as fast on the
// CPU); an engine without wasm SIMD gets cnn-scalar.wasm, the same library
// without them. The probe is the smallest module that uses SIMD
// (i32.const 0, i8x16.splat, i8x16.popcnt), as wasm-feature-detect's.
const SIMD = typeof WebAssembly === "object" && WebAssembly.validate(new Uint8Array(
  [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));

/**
 * Starts the runtime once: wasm_exec.js and cnn.wasm (cnn-scalar.wasm
 * where wasm SIMD is missing; beside this module by default), in a dedicated worker (cnn-worker.mjs) so that loading and
 * inference never block the page, or in the calling thread with
 * {worker: false} (or where there are no module workers).
 */
export function init({wasmURL = new URL(SIMD ? "cnn.wasm" : "cnn-scalar.wasm", import.meta.url), execURL = new URL("wasm_exec.js", import.meta.url),
  workerURL = new URL("cnn-worker.mjs", import.meta.url), worker = typeof Worker !== "undefined" && typeof document !== "undefined"} = {}) {
  runtime ??= (worker ? startWorker(String(workerURL), String(wasmURL), String(execURL)) : startRuntime(String(wasmURL), String(execURL)))
    .catch((e) => {
      runtime = null; // let a later call try again (e.g. back online)
      throw e.code ? e : fail("network", `cannot start the runtime (${wasmURL}): ${e.message ?? e}`);
    });
  return runtime;
}

/** Runs cnn.wasm in this thread and resolves to its API (cnn-worker.mjs uses it too). */
export async function startRuntime(wasmURL, execURL) {
  if (!globalThis.Go) await import(execURL); // a classic script that defines globalThis.Go
  const go = new globalThis.Go();
  const ready = new Promise((resolve) => { globalThis.__webcnnReady = resolve; });
  let inst;
  try {
    inst = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
  } catch (e) {
    // A server that does not say application/wasm: compile from bytes.
    const res = await fetch(wasmURL);
    if (!res.ok) throw fail("network", `${wasmURL} answered HTTP ${res.status}`);
    inst = await WebAssembly.instantiate(await res.arrayBuffer(), go.importObject);
  }
  go.run(inst.instance).finally(() => { runtime = null; });
  const api = await ready;
  delete globalThis.__webcnnReady;
  const mem = inst.instance.exports.mem;
  api.memoryBytes = () => mem.buffer.byteLength;
  return api;
}

// startWorker runs cnn.wasm in a module worker and returns a proxy with the
// same methods as the Go side's API: each call is a message, each answer
// settles its Promise, load's progress comes as messages too.
async function startWorker(workerURL, wasmURL, execURL) {
  const w = new Worker(workerURL, {type: "module", name: "webcnn"});
  const pending = new Map();
  let next = 0, started = false;
  const lost = (message) => {
    // Before it answered, the worker most likely could not be fetched.
    for (const p of pending.values()) p.reject(fail(started ? "internal" : "network", message));
    pending.clear();
    runtime = null; // the next call starts a new worker (models loaded before are gone)
    w.terminate();
  };
  w.onmessage = ({data}) => {
    const p = pending.get(data.id);
    if (!p) return;
    if (data.progress) { p.onProgress?.(...data.progress); return; }
    pending.delete(data.id);
    if (data.error) p.reject(fail(data.error.code, data.error.message));
    else p.resolve(data.value);
  };
  w.onerror = (e) => { e.preventDefault?.(); lost(`the runtime's worker failed: ${e.message || "it could not start (offline?)"}`); };
  w.onmessageerror = () => lost("the runtime's worker sent an unreadable message");
  const call = (op, args, {transfer = [], onProgress} = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, {resolve, reject, onProgress});
    w.postMessage({id, op, args}, transfer);
  });
  const owned = (px) => (px.owned ? [(px.rgba ?? px.bytes).buffer] : []);
  const strip = ({owned: _, ...px}) => px;
  await call("init", [wasmURL, execURL]);
  started = true;
  return {
    load: (url, {onProgress, ...opts}) => call("load", [url, opts], {onProgress}),
    classify: (h, px, opts) => call("classify", [h, strip(px), passes(opts)], {transfer: owned(px), onProgress: opts?.onPass}),
    ensemble: (hs, px, opts) => call("ensemble", [hs, strip(px), opts], {transfer: owned(px)}),
    predict: (h, x, opts) => call("predict", [h, x, opts]),
    dispose: (h) => call("dispose", [h]),
    clearCache: () => call("clearCache", []),
    memoryBytes: () => call("memoryBytes", []),
    finetune: (h, {onStep, images, ...opts}) => call("finetune", [h, {...opts, images: images.map(strip)}], {onProgress: onStep, transfer: images.flatMap(owned)}),
    headClassify: (h, px, opts) => call("headClassify", [h, strip(px), passes(opts)], {transfer: owned(px), onProgress: opts?.onPass}),
    headsClassify: (hs, px, opts) => call("headsClassify", [hs, strip(px), passes(opts)], {transfer: owned(px), onProgress: opts?.onPass}),
    abort: (n) => call("abort", [n]),
    finetunePlan: (h, opts) => call("finetunePlan", [h, opts]),
    headSave: (h) => call("headSave", [h]),
    headLoad: (h, bytes) => call("headLoad", [h, bytes]),
    headDispose: (h) => call("headDispose", [h]),
  };
}

// passes replaces a long run's onPass callback (which cannot cross into
// the worker) by a flag: the worker sends each pass as a progress message.
function passes({onPass, ...opts} = {}) {
  return onPass ? {...opts, progress: true} : opts;
}

// longRun runs go(options) with an AbortSignal's abort wired to the
// runtime: the run gets a number and abort(number) stops it at its next
// pass, rejecting with code "aborted".
let runs = 0;
async function longRun(api, {signal, ...opts}, go) {
  if (signal == null) return go(opts);
  if (signal.aborted) throw fail("aborted", "the run was aborted before it started");
  const n = ++runs;
  const stop = () => { Promise.resolve(api.abort(n)).catch(() => {}); }; // a Promise in the worker, undefined in this thread
  signal.addEventListener("abort", stop, {once: true});
  try { return await go({...opts, abort: n}); } finally { signal.removeEventListener("abort", stop); }
}

function fail(code, message) {
  const e = new Error(message);
  e.name = "WebCNNError";
  e.code = code;
  return e;
}

const handles = new WeakMap(); // Model -> handle of the Go side
const registry = new FinalizationRegistry(({api, handle}) => { api.dispose(handle).catch(() => {}); });

/** A model loaded on one backend. */
export class Model {
  #api;
  #info;
  #stats;
  constructor(api, r) {
    this.#api = api;
    this.#info = r.info;
    this.#stats = {chunks: r.chunks, cachedChunks: r.cachedChunks, requests: r.requests, ms: r.ms};
    handles.set(this, r.handle);
    registry.register(this, {api, handle: r.handle}, this); // a safety net for a forgotten dispose()
  }
  /** "cpu" or "webgpu": the backend that runs the model. */
  get backend() { return this.#info.backend; }
  /** Why the backend is not the one asked for, or which GPU adapter runs it. */
  get backendNote() { return this.#info.backendNote; }
  get id() { return this.#info.id; }
  get labels() { return this.#info.labels; }
  get inputShape() { return this.#info.input.shape; }
  /** How the last load went: chunks, cachedChunks, requests, ms. */
  get loadStats() { return {...this.#stats}; }
  /** Parameters, MACs, layers, sizes in bytes, input and classes. */
  summary() { return structuredClone(this.#info); }
  /**
   * The top-k classes of an image; with mcDropout: M, the mean and variance
   * over M dropout masks (onPass(done, total) after each pass; an
   * AbortSignal as signal stops the run, which rejects with code "aborted").
   */
  async classify(image, options = {}) {
    const px = await toPixels(image);
    return longRun(this.#api, options, (o) => this.#api.classify(handles.get(this) ?? -1, px, o));
  }
  /**
   * Runs raw tensors: input is a Float32Array (the one input, NHWC, of
   * inputShape) or {NAME: {data: Float32Array, shape}} with every graph
   * input by name in the source framework's layout (NCHW for ONNX), at
   * any size the model takes. Resolves to {NAME: {data, shape, layout,
   * kind}}: every output in the source's layout (with mcDropout, data is
   * the mean and variance beside it).
   */
  async predict(input, options = {}) {
    return this.#api.predict(handles.get(this) ?? -1, input, options);
  }
  /**
   * Trains a new head (dropout, then Linear) on this model's frozen
   * features of the images: labels[i] names image i's class (2 or more
   * classes). onStep({step, steps, loss, acc}) reports every AdamW step.
   */
  async finetune({images, labels, classes, epochs = 40, lr = 0.01, augment = true, onStep, ...rest} = {}) {
    if (!Array.isArray(images) || !Array.isArray(labels)) throw fail("bad-input", "finetune takes {images: [...], labels: [...]}");
    const px = [];
    for (const im of images) px.push(await toPixels(im));
    const r = await this.#api.finetune(handles.get(this) ?? -1, {images: px, labels: labels.map(String), classes: classes?.map(String),
      epochs, lr, augment, onStep, ...rest});
    return new FineTuned(this.#api, this, r);
  }
  /**
   * What finetune will hold in memory, before it starts: with unfreeze: k
   * (the backbone's last k blocks trained too; summary().trainableBlocks
   * says how many can), examples (images, augmented copies counted) and
   * classes. Resolves to {blocks, maxBlocks, at, features,
   * trainableParams, bytes, parts}.
   */
  async finetunePlan({unfreeze = 0, examples, classes = 2} = {}) {
    return this.#api.finetunePlan(handles.get(this) ?? -1, {unfreeze, examples, classes});
  }
  /** Frees the model's memory (GPU buffers on WebGPU); later calls reject with code "disposed". */
  async dispose() {
    const h = handles.get(this);
    if (h === undefined) return;
    handles.delete(this);
    registry.unregister(this);
    await this.#api.dispose(h);
  }
}

const heads = new WeakMap(); // FineTuned -> handle of the Go side
const headRegistry = new FinalizationRegistry(({api, handle}) => { api.headDispose(handle).catch(() => {}); });

/** A head trained by model.finetune (or loaded from its file) on a model's frozen features. */
export class FineTuned {
  #api;
  #info;
  constructor(api, model, r) {
    this.#api = api;
    this.#info = r;
    this.model = model;
    heads.set(this, r.handle);
    headRegistry.register(this, {api, handle: r.handle}, this);
  }
  /** The new classes, in the head's order. */
  get labels() { return [...this.#info.labels]; }
  /** How training went: examples, loss, acc, ms (absent for a loaded head); features, cut, dropout. */
  get stats() { const {handle: _, ...s} = this.#info; return structuredClone(s); }
  /** The top-k of the new classes; with mcDropout: M, the mean and variance over M dropout masks of the head (onPass, signal: as Model.classify). */
  async classify(image, options = {}) {
    const px = await toPixels(image);
    return longRun(this.#api, options, (o) => this.#api.headClassify(heads.get(this) ?? -1, px, o));
  }
  /** The head as a file: a delta manifest (JSON, its one chunk inlined) that names the backbone by id and manifest URL. */
  async save() {
    const b = await this.#api.headSave(heads.get(this) ?? -1);
    return new Blob([b], {type: "application/json"});
  }
  /** Loads a saved head onto its backbone model (the model it names, loaded already). */
  static async load(delta, model) {
    const api = await init();
    const bytes = delta instanceof Blob ? new Uint8Array(await delta.arrayBuffer()) :
      delta instanceof ArrayBuffer ? new Uint8Array(delta) : ArrayBuffer.isView(delta) ? new Uint8Array(delta.buffer, delta.byteOffset, delta.byteLength).slice() :
      typeof delta === "string" ? new TextEncoder().encode(delta) : null;
    if (!bytes) throw fail("bad-input", "load a fine-tuned head from a Blob, an ArrayBuffer, a Uint8Array or its JSON text");
    if (!(model instanceof Model)) throw fail("bad-input", "a fine-tuned head loads onto its backbone: pass the loaded Model");
    const r = await api.headLoad(handles.get(model) ?? -1, bytes);
    return new FineTuned(api, model, r);
  }
  /** Frees the head. */
  async dispose() {
    const h = heads.get(this);
    if (h === undefined) return;
    heads.delete(this);
    headRegistry.unregister(this);
    await this.#api.headDispose(h);
  }
}

/**
 * Loads a model from its manifest: chunks streamed in parallel with
 * progress, verified by sha256, cached in the Cache API (a second load
 * requests none; an interrupted load fetches only what it lacks).
 * load(deltaBlob, backboneModel) loads a fine-tuned head instead
 * (FineTuned.load).
 */
export async function load(manifestURL, options = {}) {
  if (options instanceof Model) return FineTuned.load(manifestURL, options);
  return loadModel(manifestURL, options);
}

async function loadModel(manifestURL, {backend = "auto", onProgress, memoryBudget = 0, parallel = 6, cache = true} = {}) {
  const api = await init();
  const url = new URL(manifestURL, globalThis.document?.baseURI ?? globalThis.location?.href).href;
  const r = await api.load(url, {backend, onProgress, memoryBudget, parallel, cache});
  return new Model(api, r);
}

/**
 * An ensemble: classify runs every member and combines their probabilities
 * (mean, variance). Members are models, or fine-tuned heads of the same
 * classes (then with mcDropout: M each head runs M dropout masks, and the
 * mean and variance are over all heads and masks; onPass and signal as
 * Model.classify).
 */
export function ensemble(models) {
  const members = [...models];
  const ofHeads = members.length > 0 && members.every((m) => m instanceof FineTuned);
  if (!ofHeads && members.some((m) => m instanceof FineTuned)) throw fail("bad-input", "an ensemble holds models or fine-tuned heads, not both");
  return {
    models: members,
    async classify(image, options = {}) {
      const api = await init();
      const px = await toPixels(image);
      if (ofHeads) return longRun(api, options, (o) => api.headsClassify(members.map((h) => heads.get(h) ?? -1), px, o));
      return api.ensemble(members.map((m) => handles.get(m) ?? -1), px, options);
    },
  };
}

/**
 * The bytes of WebAssembly memory the runtime holds: it grows with the
 * largest model and picture seen and is never given back to the browser.
 */
export async function memoryBytes() {
  return (await init()).memoryBytes();
}

/** Deletes the cached chunks and manifests. */
export async function clearCache() {
  return (await init()).clearCache();
}

// toPixels turns any supported image into {rgba, width, height} (one
// bulk copy into Go follows), or {bytes, reason} for an encoded picture
// the browser cannot decode (Go's decoders try it and name the failure).
async function toPixels(image) {
  const g = globalThis;
  if (image == null) throw fail("unsupported-image", "no image given");
  if (g.ImageData && image instanceof ImageData) {
    if (Math.max(image.width, image.height) <= MAX_SIDE) return {rgba: image.data, width: image.width, height: image.height};
    // Scaled down as every other picture is (an 8000x8000 ImageData would
    // otherwise cross into Go as 256 MB of bytes and 768 MB of floats).
    const bitmap = await createImageBitmap(image, {premultiplyAlpha: "none", colorSpaceConversion: "none"});
    try { return draw(bitmap, bitmap.width, bitmap.height); } finally { bitmap.close(); }
  }
  if (image instanceof ArrayBuffer || ArrayBuffer.isView(image)) {
    image = new Blob([image]);
  }
  if (g.Blob && image instanceof Blob) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(image, {premultiplyAlpha: "none", colorSpaceConversion: "none"});
    } catch (e) {
      return {bytes: new Uint8Array(await image.arrayBuffer()), reason: e.message ?? String(e), owned: true};
    }
    try { return draw(bitmap, bitmap.width, bitmap.height); } finally { bitmap.close(); }
  }
  if (g.HTMLImageElement && image instanceof HTMLImageElement) {
    try { await image.decode(); } catch (e) {
      throw fail("unsupported-image", `the image ${image.currentSrc || image.src} cannot be decoded: ${e.message ?? e}`);
    }
    return draw(image, image.naturalWidth, image.naturalHeight);
  }
  if (g.HTMLVideoElement && image instanceof HTMLVideoElement) {
    if (!image.videoWidth) throw fail("unsupported-image", "the video has no frame yet");
    return draw(image, image.videoWidth, image.videoHeight);
  }
  if (g.VideoFrame && image instanceof VideoFrame) return draw(image, image.displayWidth, image.displayHeight);
  if ((g.HTMLCanvasElement && image instanceof HTMLCanvasElement) || (g.OffscreenCanvas && image instanceof OffscreenCanvas) ||
      (g.ImageBitmap && image instanceof ImageBitmap)) {
    return draw(image, image.width, image.height);
  }
  throw fail("unsupported-image", `cannot classify a ${image?.constructor?.name ?? typeof image}: pass ImageData, an <img>, a <canvas>, an ImageBitmap, a <video>, a Blob or the bytes of an image file`);
}

// draw renders src at most MAX_SIDE pixels on a side and reads its RGBA.
function draw(src, w, h) {
  if (!w || !h) throw fail("unsupported-image", "the image is empty (0 pixels)");
  const s = Math.min(1, MAX_SIDE / Math.max(w, h));
  const cw = Math.max(1, Math.round(w * s)), ch = Math.max(1, Math.round(h * s));
  const c = globalThis.OffscreenCanvas ? new OffscreenCanvas(cw, ch) : Object.assign(document.createElement("canvas"), {width: cw, height: ch});
  const ctx = c.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(src, 0, 0, cw, ch);
  return {rgba: ctx.getImageData(0, 0, cw, ch).data, width: cw, height: ch, owned: true};
}
