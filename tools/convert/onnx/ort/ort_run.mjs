// Runs one ONNX model with onnxruntime-node (CPU) on one float32 input.
//
//   node ort_run.mjs MODEL.onnx INPUT.f32 DIMS OUTPUT.f32
//   node ort_run.mjs --batch JOBS.json
//   node ort_run.mjs --time RUNS MODEL.onnx INPUT.f32 DIMS
//
// INPUT.f32 holds little-endian float32 values of shape DIMS (comma
// separated, e.g. 1,224,224,3), fed to the model's first input. The first
// output is written to OUTPUT.f32 as little-endian float32, and its dims are
// printed on stdout as JSON. onnxruntime-node resolves from the repository's
// node_modules (npm install --ignore-scripts at the root); nothing is fetched.
// With --batch, JOBS.json lists {model, input, dims, output} objects run
// in one process, and the output dims are printed as one JSON list (an
// error in a job is printed as {"error": message} in its place).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

async function run(model, inPath, dims, outPath) {
  const bytes = readFileSync(inPath);
  const n = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== 4 * n) {
    throw new Error(`input has ${bytes.length} bytes, dims ${dims} need ${4 * n}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);

  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const results = await session.run(feeds);
  const out = results[session.outputNames[0]];
  const buf = Buffer.alloc(4 * out.data.length);
  for (let i = 0; i < out.data.length; i++) buf.writeFloatLE(out.data[i], 4 * i);
  writeFileSync(outPath, buf);
  return out.dims;
}

const args = process.argv.slice(2);
if (args[0] === '--time' && args.length === 5) {
  // --time RUNS MODEL INPUT.f32 DIMS: the median milliseconds of RUNS
  // session.run calls after one untimed run, printed as JSON.
  const runs = Number(args[1]);
  const dims = args[4].split(',').map(Number);
  const bytes = readFileSync(args[3]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
  const session = await ort.InferenceSession.create(args[2], {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify(ms[Math.floor(ms.length / 2)]));
} else if (args[0] === '--batch' && args.length === 2) {
  const jobs = JSON.parse(readFileSync(args[1], 'utf8'));
  const dims = [];
  for (const j of jobs) {
    try {
      dims.push(await run(j.model, j.input, j.dims, j.output));
    } catch (e) {
      dims.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  console.log(JSON.stringify(dims));
} else {
  const [model, inPath, dimsArg, outPath] = args;
  if (!outPath) {
    console.error('usage: node ort_run.mjs MODEL.onnx INPUT.f32 DIMS OUTPUT.f32 | --batch JOBS.json');
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await run(model, inPath, dimsArg.split(',').map(Number), outPath)));
  } catch (e) {
    console.error(String(e && e.message ? e.message : e));
    process.exit(2);
  }
}
