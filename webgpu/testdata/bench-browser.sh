#!/usr/bin/env bash
# bench-browser.sh compares the runtime with TF.js 4.22 in one headless
# Chromium (WebGPU on SwiftShader's software adapter unless -gpu is given):
# our WebGPU and CPU backends (Go js/wasm) and TF.js's webgpu, wasm (with
# and without SIMD) and cpu backends, on nsfwjs's MobileNetV2 and ResNet-18 at 224x224,
# batch 1. It installs Chromium's headless shell when it is missing (the
# npm packages come from `npm install --ignore-scripts` at the repository
# root: make deps), then runs go run ./webgpu/bench, which prints the
# table and writes build/bench-browser/results.{md,json}.
#
#   webgpu/testdata/bench-browser.sh                      (20 runs, 20 s per cell at most)
#   webgpu/testdata/bench-browser.sh -runs 50 -budget 60s
#   webgpu/testdata/bench-browser.sh -run-models mobilenet_v2 -runtimes webcnn-webgpu,tfjs-webgpu
#   webgpu/testdata/bench-browser.sh -cpu -run-models mobilenet_v2   (CPU rows only, about a minute)
#
# Flags are webgpu/bench's (go run ./webgpu/bench -h). CNN_BENCH_CPU=1 adds
# -cpu, also to `make bench-browser`.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GO=${GO:-go}
# go.mod asks for Go 1.27: let an older go command fetch it (a go env
# file may say GOTOOLCHAIN=local).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

shell=/usr/lib/chromium/chromium-headless-shell
if [ ! -x "$shell" ]; then
	if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
	$sudo apt-get update
	$sudo apt-get install -y -o DPkg::Lock::Timeout=600 chromium-headless-shell
fi
for p in @tensorflow/tfjs @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-backend-webgpu nsfwjs; do
	if [ ! -f "node_modules/$p/package.json" ]; then
		npm install --ignore-scripts --no-audit --no-fund
		break
	fi
done
extra=()
if [ "${CNN_BENCH_CPU:-}" = 1 ]; then
	extra=(-cpu)
fi
exec "$GO" run ./webgpu/bench -chromium "$shell" "${extra[@]}" "$@"
