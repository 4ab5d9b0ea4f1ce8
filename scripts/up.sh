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
# The operator's API token, made once; only its hash reaches the app.
if [ ! -s .spin/dev-operator-token ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .spin/dev-operator-token
    chmod 600 .spin/dev-operator-token
fi
echo "API token: .spin/dev-operator-token (curl -H \"Authorization: Bearer \$(cat .spin/dev-operator-token)\" ...)"
SPIN_VARIABLE_TOKEN_OPERATOR="${SPIN_VARIABLE_TOKEN_OPERATOR:-sha256:$(tr -d '\n' < .spin/dev-operator-token | sha256sum | cut -d' ' -f1)}" \
SPIN_VARIABLE_CALLBACK_SECRET="${SPIN_VARIABLE_CALLBACK_SECRET:-$(cat .spin/dev-callback-secret)}" \
cargo run -p slipway-host --quiet -- up --build "$@"
