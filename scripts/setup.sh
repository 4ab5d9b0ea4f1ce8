#!/usr/bin/env bash
# Installs what building and testing need: the wasm32-wasip2 target, and
# from the distribution redis-server (the Redis key-value tests) and
# headless Chromium with its WebDriver (the stage view's browser tests).
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} (apt)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "warning: ${missing[*]} not installed; the Redis and browser tests need them (apt-get install ${missing[*]})" >&2
    fi
fi
