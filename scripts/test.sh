#!/usr/bin/env bash
# Runs every test: unit tests, then the end-to-end suite twice, once with
# Spin's instance reuse and once with a fresh instance per request (which
# catches request state kept in globals), then the README's runnable
# commands (scripts/readme-check.sh). Ends with the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-components.sh
cargo build -p slipway-host
# spin.toml gives each component exactly what config/slipway.toml needs.
target/debug/slipway manifest --check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee -a "$log"
# `--workspace --test '*'`: the end-to-end targets with the first pass's
# feature set, so nothing is compiled again.
SLIPWAY_TEST_INSTANCES=fresh cargo test --workspace --test '*' 2>&1 | tee -a "$log"
# The README's commands, against the app as scripts/up.sh serves it.
scripts/readme-check.sh
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
