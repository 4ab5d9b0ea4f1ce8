#!/usr/bin/env bash
# Validate the Kubernetes manifests of deploy/kubernetes (see
# scripts/check_manifests.py for what is checked). Installs its pinned
# Python packages into a venv under the CI cache once; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SLIPWAY_MANIFESTS_VENV:-/var/cache/slipway-ci/venv}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || [ ! -w "$(dirname "$venv")" ]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/slipway/venv"
fi
requirements=scripts/check-manifests.requirements.txt
stamp="$venv/.requirements.sha256"
want="$(python3 --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    started=$SECONDS
    echo "check-manifests: installing $requirements into $venv"
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-deps --require-virtualenv -r "$requirements"
    echo "$want" > "$stamp"
    echo "check-manifests: installed in $((SECONDS - started)) s"
fi
exec "$venv/bin/python" scripts/check_manifests.py "$@"
