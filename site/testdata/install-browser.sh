#!/bin/sh
# install-browser.sh installs headless Chromium for the site's end-to-end
# test (site/e2e) when no Chromium is there yet: the Debian package
# chromium-headless-shell (it brings SwiftShader, WebGPU's software
# adapter). Idempotent; run as root or with sudo available.
set -eu
for b in chromium-headless-shell chromium; do
	if command -v "$b" >/dev/null 2>&1 || [ -x "/usr/lib/chromium/$b" ]; then
		echo "install-browser: $b is installed"
		exit 0
	fi
done
if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
$sudo apt-get update
$sudo apt-get install -y -o DPkg::Lock::Timeout=600 chromium-headless-shell
