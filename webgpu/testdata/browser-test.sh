#!/usr/bin/env bash
# browser-test.sh runs the webgpu package's tests compiled to js/wasm inside
# headless Chromium with WebGPU (SwiftShader's software adapter, or a real
# GPU where the machine has one). It installs what it needs, idempotently:
#
#   chromium-headless-shell  (Debian package; apt-get only when missing)
#   build/bin/wasmbrowsertest (go install, pinned to v0.11.0)
#   build/bin/chromium        (a wrapper adding --enable-unsafe-webgpu)
#
# Usage, from anywhere in the module:
#
#   webgpu/testdata/browser-test.sh [go test flags...]
#   webgpu/testdata/browser-test.sh -count=1 -run 'TestCross|TestModels'
#   webgpu/testdata/browser-test.sh -run '^$' -bench . -benchtime 3x
#
# Tests run with -v (see step 4). The wrapper passes --disable-gpu, as
# ENV.md measured: WebGPU then runs on SwiftShader, the software adapter.
# The exit status is non-zero when a test fails, the test binary exits
# non-zero, or the page reports an uncaught exception.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GO=${GO:-go}
# go.mod asks for Go 1.27: let an older go command fetch it (a go env
# file may say GOTOOLCHAIN=local).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
bin="$root/build/bin"
mkdir -p "$bin"

# 1. Chromium's headless shell (ships SwiftShader's Vulkan ICD with it).
shell=/usr/lib/chromium/chromium-headless-shell
if [ ! -x "$shell" ]; then
	if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
	$sudo apt-get update
	$sudo apt-get install -y -o DPkg::Lock::Timeout=600 chromium-headless-shell
fi

# 2. wasmbrowsertest, the `go test -exec` runner, into the project's GOBIN.
if [ ! -x "$bin/wasmbrowsertest" ] || ! "$GO" version -m "$bin/wasmbrowsertest" | grep -q 'wasmbrowsertest.*v0\.11\.0'; then
	GOBIN="$bin" GOFLAGS=-buildvcs=false "$GO" install github.com/agnivade/wasmbrowsertest@v0.11.0
fi

# 3. A `chromium` on PATH that enables WebGPU: wasmbrowsertest (chromedp)
#    finds the browser by name and cannot pass extra flags itself.
wrapper="$bin/chromium"
want=$(cat <<WRAP
#!/bin/sh
# Written by webgpu/testdata/browser-test.sh: headless Chromium with WebGPU.
exec $shell --enable-unsafe-webgpu --headless --no-sandbox --disable-gpu --disable-quic \\
	--no-first-run --disable-background-networking --disable-component-update \\
	--disable-sync --disable-dev-shm-usage "\$@"
WRAP
)
if [ ! -x "$wrapper" ] || [ "$(cat "$wrapper")" != "$want" ]; then
	printf '%s\n' "$want" >"$wrapper"
	chmod +x "$wrapper"
fi

# 4. The tests. WEBGPU_REQUIRE=1 (passed into the page's environment) turns
#    a missing adapter into a failure instead of a skip. wasmbrowsertest
#    prints the page's console and any uncaught exception; an exception
#    does not always change the exit code, so the log is scanned for one
#    as well (-v, or go test would hide a passing binary's output). The
#    "=== RUN" lines and chromedp's complaints about CDP events newer than
#    it knows are left out of what is shown.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
PATH="$bin:$PATH" GOOS=js GOARCH=wasm WEBGPU_REQUIRE=1 "$GO" test -v -exec wasmbrowsertest "$@" ./webgpu/ 2>&1 |
	tee "$log" | grep -Ev 'ERROR: could not unmarshal event|^=== (RUN|PAUSE|CONT)'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ] && grep -Eq '(^|[^[:alnum:]])Uncaught|^--- FAIL|^FAIL|target crashed|inspector detached' "$log"; then
	echo "browser-test: the page reported an error or a failed test" >&2
	status=1
fi
exit "$status"
