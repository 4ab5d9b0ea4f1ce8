#!/usr/bin/env bash
# Builds the components and serves the app on the local host (SQLite
# key-value store in .spin/). Extra arguments go to `slipway up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A local callback secret, made once and kept in .spin/ (never printed).
mkdir -p .spin
if [ ! -s .spin/dev-callback-secret ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .spin/dev-callback-secret
fi
SPIN_VARIABLE_CALLBACK_SECRET="${SPIN_VARIABLE_CALLBACK_SECRET:-$(cat .spin/dev-callback-secret)}" \
cargo run -p slipway-host --quiet -- up --build "$@"
