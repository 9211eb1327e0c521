// Command app is the web page's UI (site/static/index.html), written in Go
// with honnef.co/go/js/dom/v2 and compiled to app.wasm. It consumes the
// browser library through its JS API (cnn.mjs, which app.mjs puts on
// globalThis.webcnn) exactly as any other page would: pick a model from
// models/index.json, watch its weights download, give it an image
// (dropped, pasted, picked, captured from the camera, drawn, or generated
// for the model's kind: a digit, framed as MNIST's were, or a text strip),
// turn it by 180°, and read the top-5 with the backend and the latency,
// on the CPU or WebGPU, with or without MC-dropout.
//
// The page's state is mirrored into data-* attributes (data-state on
// #status, data-index/data-prob on the bars) for the end-to-end test.
package main
