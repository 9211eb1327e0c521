// Runs a TF.js layers or graph model with @tensorflow/tfjs on its pure-JS
// CPU backend (@tensorflow/tfjs-backend-cpu), or its WebAssembly one: the
// independent reference the Go importer's parity tests compare with
// (reference_test.go).
//
//   node tfjs_run.mjs MODEL INPUT.f32 DIMS OUTPUT.f32 [OUTPUT_NODES]
//
// OUTPUT_NODES (graph models only, comma separated) names the nodes to
// fetch; their values are written one after the other and their shapes
// printed as a JSON list of shapes.
// MODEL is a model.json with its .bin shards beside it, or nsfwjs's
// model.min.js whose shards are JS files exporting base64 strings
// (loaded through a custom IO handler, as nsfwjs's own JSONHandler does).
// INPUT.f32 holds little-endian float32 values of shape DIMS (comma
// separated, e.g. 2,224,224,3); the model's output is written to
// OUTPUT.f32 as little-endian float32 and its shape printed on stdout as
// JSON. Every package resolves from the repository's node_modules
// (npm install --ignore-scripts at the root); nothing is fetched.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-cpu');

const [model, inPath, dimsArg, outPath, outputNodes] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node tfjs_run.mjs MODEL INPUT.f32 DIMS OUTPUT.f32');
  process.exit(2);
}

// loadArtifacts returns the model artifacts of model.json or model.min.js.
function loadArtifacts(file) {
  const dir = path.dirname(file);
  let json, shard;
  if (file.endsWith('.json')) {
    json = JSON.parse(readFileSync(file, 'utf8'));
    shard = (p) => readFileSync(path.join(dir, p));
  } else {
    json = require(path.resolve(file));
    shard = (p) => {
      for (const ext of ['.min.js', '.js']) {
        const f = path.resolve(dir, p + ext);
        if (existsSync(f)) return Buffer.from(require(f), 'base64');
      }
      throw new Error(`no shard ${p}(.min).js in ${dir}`);
    };
  }
  const specs = [];
  const parts = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) parts.push(shard(p));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(parts);
  return {
    format: json.format,
    userDefinedMetadata: json.userDefinedMetadata,
    signature: json.signature,
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length),
  };
}

// TFJS_BACKEND=wasm runs on @tensorflow/tfjs-backend-wasm (XNNPACK, from
// the package's own .wasm files) instead: the same ops, many times faster.
const backend = process.env.TFJS_BACKEND || 'cpu';
if (backend === 'wasm') {
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  wasm.setWasmPaths(path.dirname(file) + path.sep);
}
if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend`);
const artifacts = loadArtifacts(model);
const graph = artifacts.format === 'graph-model' || (artifacts.modelTopology && artifacts.modelTopology.node);
const handler = { load: async () => artifacts };
const m = graph ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);

const dims = dimsArg.split(',').map(Number);
const bytes = readFileSync(inPath);
const n = dims.reduce((a, b) => a * b, 1);
if (bytes.length !== 4 * n) {
  console.error(`input has ${bytes.length} bytes, dims ${dims} need ${4 * n}`);
  process.exit(2);
}
const data = new Float32Array(n);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);

const x = tf.tensor(data, dims, 'float32');
if (outputNodes) {
  const ys = [].concat(m.execute(x, outputNodes.split(',')));
  const parts = [];
  for (const y of ys) {
    const out = await y.data();
    const buf = Buffer.alloc(4 * out.length);
    for (let i = 0; i < out.length; i++) buf.writeFloatLE(out[i], 4 * i);
    parts.push(buf);
  }
  writeFileSync(outPath, Buffer.concat(parts));
  console.log(JSON.stringify(ys.map((y) => y.shape)));
} else {
  const y = m.predict(x);
  const out = await y.data();
  const buf = Buffer.alloc(4 * out.length);
  for (let i = 0; i < out.length; i++) buf.writeFloatLE(out[i], 4 * i);
  writeFileSync(outPath, buf);
  console.log(JSON.stringify(y.shape));
}
