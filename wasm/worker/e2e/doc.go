// Package e2e tests the Worker end to end: it builds it (build.sh), writes
// the demo models into build/site, starts `wrangler dev` (workerd) on
// 127.0.0.1 and checks over HTTP that its answers equal the same
// classification run natively in-process, that every error has its
// status, that a model loads once per isolate, then runs a bounded load
// test on loopback and measures the upload's gzip size. A second phase
// serves the weights from a local R2 bucket. It needs `npm install` (Node
// 22 and wrangler in node_modules) and runs only with CNN_WORKER_E2E=1:
//
//	CNN_WORKER_E2E=1 go test -v -count=1 -timeout 20m ./wasm/worker/e2e
package e2e
