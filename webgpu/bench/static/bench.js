// bench.js times webcnn (Go js/wasm: WebGPU and CPU backends) against
// TF.js 4.22 (webgpu, wasm with and without SIMD, cpu backends) in this
// page, on the same input,
// and posts each cell's result to the runner (webgpu/bench) that serves
// the page. Per cell: load (fetch and decode, untimed), first run (build
// on the backend + the first inference and readback: weight upload and
// pipeline compiles), warm-up runs, then timed runs of inference +
// readback (the median is reported).
'use strict';

const logEl = document.getElementById('log');
function post(path, body) {
  return fetch(path, { method: 'POST', body: JSON.stringify(body) });
}
function log(...args) {
  const line = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  logEl.textContent += line + '\n';
  return post('/log', { line });
}
self.addEventListener('error', (e) => post('/done', { error: `uncaught: ${e.message} at ${e.filename}:${e.lineno}` }));
self.addEventListener('unhandledrejection', (e) => post('/done', { error: `unhandled rejection: ${e.reason && (e.reason.stack || e.reason)}` }));

const now = () => performance.now();

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// modelFiles fetches a manifest directory: {manifest, files: {name: Uint8Array}}.
async function modelFiles(id) {
  const raw = await bytes(`models/${id}/manifest.json`);
  const manifest = JSON.parse(new TextDecoder().decode(raw));
  const files = { 'manifest.json': raw };
  for (const c of manifest.chunks) files[c.file] = await bytes(`models/${id}/${c.file}`);
  return { manifest, files };
}

// manifestTensors decodes a manifest's f32 tensors: {name: {shape, data}}.
function manifestTensors({ manifest, files }) {
  const out = {};
  for (const e of manifest.tensors) {
    if (e.dtype !== 'f32') throw new Error(`${e.name}: dtype ${e.dtype}, want f32`);
    const c = files[manifest.chunks[e.chunk].file];
    const start = c.byteOffset + e.offset;
    out[e.name] = { shape: e.shape, data: new Float32Array(c.buffer.slice(start, start + e.length)) };
  }
  return out;
}

// umd evaluates one of nsfwjs's UMD files and returns its export.
async function umd(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  const src = await r.text();
  const module = { exports: {} };
  new Function('module', 'exports', 'define', src)(module, module.exports, undefined);
  return module.exports;
}

// nsfwjsArtifacts reads node_modules/nsfwjs's MobileNetV2 (model.min.js
// and base64 shards) into TF.js model artifacts, as nsfwjs's own loader does.
async function nsfwjsArtifacts() {
  const base = 'node_modules/nsfwjs/dist/models/mobilenet_v2/';
  const json = await umd(base + 'model.min.js');
  const specs = [];
  const parts = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const s = atob(await umd(base + p + '.min.js'));
      const b = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
      parts.push(b);
    }
    specs.push(...group.weights);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { all.set(p, off); off += p.length; }
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer };
}

// resnet18 is the zoo's ResNet-18 (torchvision's layout, NHWC, HWIO
// weights) in tf ops: conv, batch norm with running statistics, ReLU, as
// our runtime runs it.
function resnet18(x, W) {
  const bn = (y, p) => tf.batchNorm(y, W[p + '.running_mean'], W[p + '.running_var'], W[p + '.bias'], W[p + '.weight'], 1e-5);
  const conv = (y, p, stride, pad) => tf.conv2d(y, W[p + '.weight'], stride, pad);
  let y = tf.relu(bn(conv(x, 'conv1', 2, 3), 'bn1'));
  y = tf.maxPool(y, 3, 2, 1);
  for (let l = 1; l <= 4; l++) {
    for (let b = 0; b < 2; b++) {
      const p = `layer${l}.${b}`;
      const s = l > 1 && b === 0 ? 2 : 1;
      let h = tf.relu(bn(conv(y, p + '.conv1', s, 1), p + '.bn1'));
      h = bn(conv(h, p + '.conv2', 1, 1), p + '.bn2');
      const sc = W[p + '.downsample.0.weight'] ? bn(conv(y, p + '.downsample.0', s, 'valid'), p + '.downsample.1') : y;
      y = tf.relu(tf.add(h, sc));
    }
  }
  y = tf.mean(y, [1, 2]);
  return tf.add(tf.matMul(y, W['fc.weight']), W['fc.bias']);
}

const modelIds = { mobilenet_v2: 'nsfwjs-mobilenet_v2', resnet18: 'resnet18' };

// Each runtime: setup(model) (untimed: fetch, decode, backend init),
// build() and infer(x, shape) (timed), dispose().
function webcnnRuntime(backend) {
  let files;
  return {
    async setup(model) {
      files = (await modelFiles(modelIds[model])).files;
      const r = await webcnn.load(backend, files);
      files = null;
      return r.adapter;
    },
    build: () => webcnn.build(),
    infer: (x, shape) => webcnn.infer(x, shape),
    async dispose() {
      const s = await webcnn.stats();
      await webcnn.dispose();
      return s;
    },
  };
}

// useWasm makes TF.js's wasm backend the current one, built on the SIMD
// binary or the plain one (tfjs-backend-wasm.wasm): the binary is chosen
// when the backend initializes, from the WASM_HAS_SIMD_SUPPORT flag, so a
// backend initialized with the other binary is removed and its factory
// registered again (kernels are registered per backend name and set up
// again by tf.setBackend).
let wasmSIMD = null;
async function useWasm(simd) {
  const e = tf.engine();
  if (wasmSIMD !== null && wasmSIMD !== simd) {
    const { factory, priority } = e.registryFactory.wasm;
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory, priority);
  }
  tf.env().set('WASM_HAS_SIMD_SUPPORT', simd);
  if (!(await tf.setBackend('wasm'))) throw new Error(`tf.setBackend(wasm) with SIMD ${simd} failed`);
  wasmSIMD = simd;
}

// wasmBinary is the name of the last TF.js wasm binary the page fetched.
function wasmBinary() {
  const files = performance.getEntriesByType('resource').map((r) => r.name).filter((n) => /tfjs-backend-wasm[^/]*\.wasm$/.test(n));
  return files.length ? files[files.length - 1].split('/').pop() : 'none';
}

// tfjsRuntime runs TF.js on one backend: webgpu, wasm, wasm-nosimd (the
// wasm backend on its binary without SIMD) or cpu.
function tfjsRuntime(backend) {
  let model, artifacts, weights, tensors, fwd;
  return {
    async setup(m) {
      if (backend === 'wasm' || backend === 'wasm-nosimd') {
        await useWasm(backend === 'wasm');
      } else if (!(await tf.setBackend(backend))) {
        throw new Error(`tf.setBackend(${backend}) failed`);
      }
      await tf.ready();
      model = m;
      if (m === 'mobilenet_v2') artifacts = await nsfwjsArtifacts();
      else weights = manifestTensors(await modelFiles(modelIds[m]));
      let info = `${tf.getBackend()}`;
      if (backend.startsWith('wasm')) info += ` simd=${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')} threads=${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')} binary=${wasmBinary()}`;
      if (backend === 'webgpu') {
        const a = tf.backend().adapterInfo;
        if (a) info += ` ${a.vendor || ''} ${a.architecture || ''}`;
      }
      return info;
    },
    async build() {
      if (model === 'mobilenet_v2') {
        const m = await tf.loadLayersModel({ load: async () => artifacts });
        artifacts = null;
        tensors = m;
        fwd = (x) => m.predict(x);
      } else {
        const W = {};
        for (const [k, v] of Object.entries(weights)) W[k] = tf.tensor(v.data, v.shape, 'float32');
        weights = null;
        tensors = { dispose: () => Object.values(W).forEach((t) => t.dispose()) };
        fwd = (x) => resnet18(x, W);
      }
    },
    async infer(x, shape) {
      const y = tf.tidy(() => fwd(tf.tensor(x, shape, 'float32')));
      const out = await y.data();
      y.dispose();
      return out;
    },
    async dispose() {
      tensors.dispose();
      const mem = tf.memory();
      return `tf.memory: ${mem.numTensors} tensors, ${mem.numBytes} bytes`;
    },
  };
}

const runtimes = {
  'webcnn-webgpu': () => webcnnRuntime('webgpu'),
  'webcnn-cpu': () => webcnnRuntime('cpu'),
  'tfjs-webgpu': () => tfjsRuntime('webgpu'),
  'tfjs-wasm': () => tfjsRuntime('wasm'),
  'tfjs-wasm-nosimd': () => tfjsRuntime('wasm-nosimd'),
  'tfjs-cpu': () => tfjsRuntime('cpu'),
};

// image returns the benchmark's input: a smooth RGB pattern in 0..1
// (quantized as an 8-bit image would be), NHWC, batch 1.
function image(size) {
  const x = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let i = 0; i < size; i++) {
      const fx = i / (size - 1), fy = y / (size - 1);
      const v = [0.5 + 0.5 * Math.sin(fx * 12 + fy * 3), 0.5 + 0.5 * Math.sin(fy * 9 - fx * 4), 0.5 + 0.5 * Math.cos((fx + fy) * 7)];
      for (let c = 0; c < 3; c++) x[3 * (y * size + i) + c] = Math.round(v[c] * 255) / 255;
    }
  }
  return x;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function cell(cfg, rtName, model, x, shape) {
  const rt = runtimes[rtName]();
  const res = { runtime: rtName, model };
  let t = now();
  res.info = await rt.setup(model);
  res.setup_ms = now() - t;
  gpuMem.reset();
  const live0 = gpuMem.live;
  t = now();
  await rt.build();
  res.gpu_weights_bytes = gpuMem.live - live0;
  let out = await rt.infer(x, shape);
  res.first_ms = now() - t;
  const live1 = gpuMem.live;
  // Warm-up: cfg.warmup runs, fewer when they would take a third of the budget.
  const budget = cfg.budget_ms;
  t = now();
  for (let i = 0; i < cfg.warmup && now() - t < budget / 3; i++) await rt.infer(x, shape);
  const times = [];
  const start = now();
  for (let i = 0; i < cfg.runs; i++) {
    const t0 = now();
    out = await rt.infer(x, shape);
    const d = now() - t0;
    times.push(d);
    if (times.length >= 3 && now() - start + d > budget) break;
  }
  res.times_ms = times;
  res.median_ms = median(times);
  res.min_ms = Math.min(...times);
  res.gpu_peak_bytes = gpuMem.peak - live0;
  // Live GPU memory added per run after the first (a leak when not ~0).
  res.gpu_growth_bytes = (gpuMem.live - live1) / Math.max(1, times.length + cfg.warmup);
  res.output = Array.from(out);
  res.after = await rt.dispose();
  return res;
}

async function main() {
  const cfg = await (await fetch('config.json')).json();
  tf.wasm.setWasmPaths(new URL('node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href);
  const go = new Go();
  const ready = new Promise((resolve) => { self.webcnnReady = resolve; });
  const { instance } = await WebAssembly.instantiateStreaming(fetch('webcnn.wasm'), go.importObject);
  go.run(instance);
  await ready;
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  const info = adapter && adapter.info;
  await post('/env', {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    adapter: info ? { vendor: info.vendor, architecture: info.architecture, description: info.description, device: info.device, fallback: info.isFallbackAdapter } : null,
    tfjs: tf.version.tfjs,
  });
  for (const model of cfg.models) {
    const size = 224;
    const x = image(size);
    for (const rt of cfg.runtimes) {
      await log(`${model} ${rt} ...`);
      try {
        const r = await cell(cfg, rt, model, x, [1, size, size, 3]);
        await log(`${model} ${rt}: first ${r.first_ms.toFixed(0)} ms, median ${r.median_ms.toFixed(1)} ms of ${r.times_ms.length} (${r.info})`);
        await post('/result', r);
      } catch (e) {
        await log(`${model} ${rt}: ERROR ${e && (e.stack || e)}`);
        await post('/result', { runtime: rt, model, error: String(e && (e.message || e)) });
      }
    }
  }
  await post('/done', {});
}

main().catch((e) => post('/done', { error: String(e && (e.stack || e)) }));
