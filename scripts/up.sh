#!/usr/bin/env bash
# Builds the components and serves the app on the local host (SQLite
# key-value store in .spin/). Extra arguments go to `slipway up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run -p slipway-host --quiet -- up --build "$@"
