#!/bin/sh
# Builds the Worker into build/worker: the glue of syumai/workers for Go
# (wasm_exec.js), this directory's worker.mjs over its stock one, and
# app.wasm. Run from anywhere; extra arguments go to go build.
set -eu
cd "$(dirname "$0")/../.."
# go.mod asks for Go 1.27: let an older go command fetch it (a go env
# file may say GOTOOLCHAIN=local).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
out=build/worker
go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$out"
# GOEXPERIMENT=simd: core/cpu's wasm SIMD kernels (workerd's V8 has wasm SIMD).
GOOS=js GOARCH=wasm GOEXPERIMENT=simd go build -trimpath -ldflags='-s -w' "$@" -o "$out/app.wasm" ./wasm/worker
cp wasm/worker/worker.mjs "$out/worker.mjs"
rm -f "$out/runtime.mjs" # the stock glue's; worker.mjs does not use it
ls -l "$out/app.wasm"
