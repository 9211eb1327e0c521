// Command lib is the browser library: built with GOOS=js GOARCH=wasm into
// cnn.wasm, it loads models from manifests over fetch (chunks streamed in
// parallel, verified by sha256, kept in the Cache API) and runs them on
// the CPU or WebGPU backend. site/static/cnn.mjs wraps it in a small
// Promise-based ES module, and runs it in a dedicated worker
// (cnn-worker.mjs) so that the page never blocks (see site/README.md):
//
//	import {load, ensemble} from "./cnn.mjs";
//	const model = await load("models/lenet5-mnist/manifest.json", {backend: "auto", onProgress: (d, t) => {}});
//	const top = await model.classify(canvas, {topk: 5});          // [{label, index, prob}]
//	const mc = await model.classify(canvas, {mcDropout: 20});     // + mean, variance per class
//	model.dispose();
//
// Every exported function returns a Promise and works in a goroutine
// (waiting on a Promise inside a js.FuncOf callback would deadlock); a
// failure rejects it with an Error whose code names the cause (network,
// integrity, unsupported-image, budget, device-lost, bad-input, disposed,
// internal) and the runtime serves the next call, panics included.
//
// The files without build tags (backends, classification, MC-dropout and
// ensemble statistics, pixel conversion, error kinds) compile natively and
// are tested there; the *_js.go files are the syscall/js binding.
package main
