#!/usr/bin/env bash
# The embedded demo: builds the host, the components and the demo, then
# runs the real app with simulated GitHub, Jenkins and Kubernetes on
# loopback, plays a push to production (tests, image, test, approval,
# canary) and a push whose tests fail. Arguments go to `slipway-demo`
# (`--auto-approve` approves without waiting for you; `--help`).
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

step "Installing the wasm32-wasip2 target" rustup target add wasm32-wasip2
step "Building the host and the demo (slipway, slipway-demo; wasmtime, once)" \
    cargo build -p slipway-host -p slipway-demo
# One cargo invocation for every component: shared dependencies compile once.
step "Building the components (wasm32-wasip2, release)" scripts/build-components.sh

echo "==> Running the demo (built in $((SECONDS - started)) s; the host compiles each component for this machine on its first start, then caches it)"
exec target/debug/slipway-demo "$@"
