#!/usr/bin/env bash
# Installs what building and testing need: the wasm32-wasip2 target, and
# redis-server for the Redis key-value tests (from the distribution).
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    else
        echo "warning: redis-server is not installed; the Redis tests will fail (install it, or set SLIPWAY_SKIP_REDIS=1)" >&2
    fi
fi
