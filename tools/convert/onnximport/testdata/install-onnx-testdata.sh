#!/bin/sh
# install-onnx-testdata.sh installs ONNX's backend test suite for the
# importer's conformance test (TestONNXSuite): Debian's libonnx-testdata
# (ONNX 1.12's test data under /usr/share/libonnx-testdata/data) when it
# is not there yet. Idempotent; run as root or with sudo available.
set -eu
if [ -d /usr/share/libonnx-testdata/data/node ]; then
	echo "install-onnx-testdata: libonnx-testdata is installed"
	exit 0
fi
if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
$sudo apt-get update
$sudo apt-get install -y -o DPkg::Lock::Timeout=600 libonnx-testdata
