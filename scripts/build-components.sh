#!/usr/bin/env bash
# Builds every WebAssembly component in the workspace (the app's functions
# and the test fixtures) for wasm32-wasip2 in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --target wasm32-wasip2 --release --workspace \
    --exclude slipway-host --exclude slipway-tests --exclude slipway-core --exclude slipway-spin \
    --exclude slipway-demo --exclude slipway-simulators
