#!/usr/bin/env bash
# Installs everything Tailor needs on a fresh Debian machine with Swift 6 (run as root, or with
# sudo available): system packages, Python packages, and the tailor Python package itself.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

# System packages: OpenBLAS for GEMM, pkg-config for C toolflows, Python headers, valgrind (the C
# consumers are checked under memcheck).
need=()
for p in libopenblas-dev pkg-config python3-dev valgrind; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift 6) is required to build libtailor" >&2; exit 1; }

# Python packages. torch is pinned to the CPU build: an unpinned torch pulls the CUDA build.
# hls4ml is the peer the resource model is checked against (it writes HLS projects without Vivado);
# qonnx is hls4ml's documented ONNX pre-processing, used to check that exports are accepted.
# ruff is `make lint`'s Python linter, pinned: a new release adds rules to the groups ruff.toml selects.
PY=${PYTHON:-python3}
$PY -m pip install -q --disable-pip-version-check \
    "numpy>=1.24" "torch==2.13.0+cpu" safetensors tqdm matplotlib pytest onnx onnxruntime mlxtend \
    "hls4ml==1.3.0" "qonnx==1.0.0" nbclient ipykernel nbformat "ruff==0.17.6" 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
$PY -c "import torch" 2>/dev/null || { echo "setup: torch==2.13.0+cpu did not install" >&2; exit 1; }

# The library and the Python package that bundles it.
make lib   # swift build -c release, plus the libtailor.so.N link named after the SONAME
$PY -m pip install -q --disable-pip-version-check ./python 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
$PY -c "import tailor; print('tailor', tailor.__version__, 'ready')"
