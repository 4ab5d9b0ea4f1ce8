#!/usr/bin/env bash
# Benchmarks, in the same (dev, dependencies optimised) profile as the tests,
# so nothing is built twice. Prints figures; asserts no timings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-components.sh
cargo build -p slipway-host
for bench in tests/benches/*.rs; do
    cargo test -p slipway-tests --bench "$(basename "$bench" .rs)"
done
