#!/usr/bin/env bash
# The whole test suite. Tests find the Python peers in .venv and dcmtk on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export LIGHTBOX_PYTHON="$PWD/.venv/bin/python"
export TCP_NODELAY=1
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast
else
  cargo test --workspace --all-targets --no-fail-fast
fi
