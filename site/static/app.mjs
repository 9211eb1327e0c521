// app.mjs starts the page: the service worker (offline use), the library
// (cnn.mjs, whose exports the Go UI finds on globalThis.webcnn) and the UI
// itself (app.wasm, built from site/app).
import * as cnn from "./cnn.mjs";

globalThis.webcnn = cnn;

// On a first visit, wait (a few seconds at most) until the service worker
// controls the page: the runtime, the models' list and the chunks then
// pass through it and are kept for offline use as they download, once.
async function serviceWorker() {
  const sw = navigator.serviceWorker;
  if (!sw) return;
  try {
    await sw.register("./sw.js");
  } catch (e) {
    console.warn("webcnn: no service worker:", e);
    return;
  }
  if (sw.controller) return;
  await new Promise((resolve) => {
    sw.addEventListener("controllerchange", resolve, {once: true});
    setTimeout(resolve, 8000);
  });
}

function fatal(msg) {
  const s = document.getElementById("status");
  s.dataset.state = "error";
  s.textContent = msg;
}

await serviceWorker();
cnn.init().catch((e) => fatal(`The runtime did not start: ${e.message}`)); // download both wasm files at once

try {
  if (!globalThis.Go) await import("./wasm_exec.js");
  const go = new globalThis.Go();
  let inst;
  try {
    inst = await WebAssembly.instantiateStreaming(fetch("app.wasm"), go.importObject);
  } catch {
    inst = await WebAssembly.instantiate(await (await fetch("app.wasm")).arrayBuffer(), go.importObject);
  }
  go.run(inst.instance);
} catch (e) {
  fatal(`The page did not start: ${e.message}`);
}
