#!/usr/bin/env bash
# Builds the components and serves the app on the local host (SQLite
# key-value store in .spin/), saying what it does and how long each step
# took. Extra arguments go to `slipway up`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

# `step "what" command...`: runs the command under a heading, then says
# how long it took; stops the script if it fails.
step() {
    local what=$1 began=$SECONDS
    shift
    echo "==> $what"
    "$@"
    echo "    $what: done in $((SECONDS - began)) s"
}

step "Installing the wasm32-wasip2 target and test services" scripts/setup.sh
step "Building the host (slipway; wasmtime, once)" cargo build -p slipway-host
# One cargo invocation for every component: shared dependencies compile once.
step "Building the components (wasm32-wasip2, release)" scripts/build-components.sh
step "Checking spin.toml against config/slipway.toml" target/debug/slipway manifest --check

# A local callback secret, web session secret and the operator's API token,
# made once and kept in .spin/ (never printed); only the token's hash
# reaches the app.
mkdir -p .spin
for secret in dev-callback-secret dev-session-secret; do
    if [ ! -s ".spin/$secret" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > ".spin/$secret"
        chmod 600 ".spin/$secret"
    fi
done
if [ ! -s .spin/dev-operator-token ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .spin/dev-operator-token
    chmod 600 .spin/dev-operator-token
fi
export SPIN_VARIABLE_TOKEN_OPERATOR="${SPIN_VARIABLE_TOKEN_OPERATOR:-sha256:$(tr -d '\n' < .spin/dev-operator-token | sha256sum | cut -d' ' -f1)}"
export SPIN_VARIABLE_CALLBACK_SECRET="${SPIN_VARIABLE_CALLBACK_SECRET:-$(cat .spin/dev-callback-secret)}"
export SPIN_VARIABLE_SESSION_SECRET="${SPIN_VARIABLE_SESSION_SECRET:-$(cat .spin/dev-session-secret)}"

echo "==> Serving (built in $((SECONDS - started)) s; the host compiles each component for this machine on its first start, then caches it in .spin/cache)"
echo "    When it says Ready, try:"
echo "      curl http://127.0.0.1:3000/api/health"
echo "      open http://127.0.0.1:3000/ and sign in with the link from:"
echo "      curl -X POST -H \"Authorization: Bearer \$(cat .spin/dev-operator-token)\" http://127.0.0.1:3000/api/login-links"
echo "      curl -X POST -H \"Authorization: Bearer \$(cat .spin/dev-operator-token)\" http://127.0.0.1:3000/api/tick"
echo "    Then point a git provider's webhook at http://<this host>:3000/hooks/<provider> (README: Configuring Slipway)."
exec target/debug/slipway up "$@"
