// Package e2e tests the Worker end to end: it writes the default models
// into build/site (go run ./wasm/worker -demo), builds a test Worker
// (build.sh -tags workercrash), starts `wrangler dev` (workerd) on
// 127.0.0.1 and checks over HTTP that its answers equal the same requests
// run natively in-process, that every error has its status, that a model
// loads once per isolate, then soaks it (20,000 requests, 16 at a time, a
// forced crash halfway, memory bounded; CNN_SOAK_REQUESTS=N for fewer),
// measures CPU time per model and, with the production build, the
// upload's size and weights served from a local R2 bucket. It needs `npm install` (Node
// 22 and wrangler in node_modules) and runs only with CNN_WORKER_E2E=1:
//
//	CNN_WORKER_E2E=1 go test -v -count=1 -timeout 45m ./wasm/worker/e2e
package e2e
