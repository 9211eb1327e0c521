#!/bin/sh
# Builds the Worker into build/worker: the glue of syumai/workers for Go
# (wasm_exec.js), this directory's worker.mjs over its stock one, and
# app.wasm. Run from anywhere; extra arguments go to go build.
set -eu
cd "$(dirname "$0")/../.."
out=build/worker
go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$out"
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' "$@" -o "$out/app.wasm" ./wasm/worker
cp wasm/worker/worker.mjs "$out/worker.mjs"
rm -f "$out/runtime.mjs" # the stock glue's; worker.mjs does not use it
ls -l "$out/app.wasm"
