#!/usr/bin/env bash
# Installs what building and testing need: the wasm32-wasip2 target, and
# from the distribution redis-server (the Redis key-value tests), headless
# Chromium with its WebDriver (the stage view's browser tests), and Docker
# Engine with a static busybox (the Swarm tests run on a real engine); then
# starts that engine in Swarm mode with its API on 127.0.0.1:2375.
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)  # the README's commands use it
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} (apt)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "warning: ${missing[*]} not installed; the Redis and browser tests need them (apt-get install ${missing[*]})" >&2
    fi
fi

# The Docker Engine for the Swarm tests: the Engine API on loopback TCP
# (what the deploy component reaches; unauthenticated, so loopback only),
# in single-node Swarm mode. An engine already serving that port is used
# as it is.
docker_api=http://127.0.0.1:2375
if ! curl -fsS "$docker_api/_ping" >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && ! pgrep -x dockerd >/dev/null; then
        echo "starting dockerd (Engine API on $docker_api)" >&2
        # In its own session: stopping the script that started it (as
        # readme-check stops scripts/up.sh, by process group) must not stop it.
        setsid nohup dockerd -H unix:///var/run/docker.sock -H tcp://127.0.0.1:2375 \
            >/var/log/slipway-dockerd.log 2>&1 &
        for _ in $(seq 1 60); do
            curl -fsS "$docker_api/_ping" >/dev/null 2>&1 && break
            sleep 0.5
        done
    else
        echo "warning: dockerd is not serving $docker_api; the Swarm tests need it (or SLIPWAY_DOCKER_URL)" >&2
    fi
fi
if curl -fsS "$docker_api/_ping" >/dev/null 2>&1; then
    state=$(curl -fsS "$docker_api/v1.41/info" | grep -o '"LocalNodeState":"[a-z]*"' || true)
    if [ "$state" != '"LocalNodeState":"active"' ]; then
        DOCKER_HOST=tcp://127.0.0.1:2375 docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    fi
fi
