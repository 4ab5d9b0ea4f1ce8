#!/usr/bin/env bash
# Runs every test: unit tests, then the end-to-end suite twice, once with
# Spin's instance reuse and once with a fresh instance per request (which
# catches request state kept in globals).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-components.sh
cargo build -p slipway-host
cargo test --workspace
SLIPWAY_TEST_INSTANCES=fresh cargo test -p slipway-tests
