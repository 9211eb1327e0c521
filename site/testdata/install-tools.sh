#!/bin/sh
# install-tools.sh installs what site.Build uses beyond Go when it is
# missing: Debian's brotli command (the site's text and wasm files are
# precompressed with it: Go's standard library has no brotli encoder).
# Idempotent; run as root or with sudo available.
set -eu
if command -v brotli >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
echo "install-tools: installing brotli (apt-get)"
$sudo apt-get update -qq
$sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 brotli >/dev/null
