#!/usr/bin/env bash
# Benchmarks, in the same (dev, dependencies optimised) profile and with the
# same workspace-wide feature set as the tests, so nothing is built twice.
# Prints figures; asserts no timings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-components.sh
cargo build -p slipway-host
# The engine simulation beyond the 10,000 schedules every test run checks:
# as many as fit in BENCH_SIM_SECONDS.
SLIPWAY_SIM_SECONDS="${BENCH_SIM_SECONDS:-60}" \
    cargo test --workspace --lib soak -- --ignored --nocapture 2>&1 | grep -E '^simulation:|panicked|seed '
for bench in tests/benches/*.rs; do
    cargo test --workspace --bench "$(basename "$bench" .rs)"
done
