#!/usr/bin/env bash
# Runs the README's commands, so the README cannot rot.
#
# Every shell block of README.md (```sh, ```bash, ```console, ```shell) must
# say what it is: ```sh runnable (run here, in order, each in its own
# `bash -euo pipefail` from the repository root; a non-zero exit fails the
# check) or ```sh not-run (the block or the text beside it says why: it
# needs the Spin CLI, or it is the Quick start, which this script and CI run
# themselves). An unmarked block fails the check, so a new command cannot
# slip in untried. A ```text output block after a runnable block is what
# that block must print on stdout, line by line; a line ending in `…` need
# only match up to there (for what differs per run).
#
# The runnable blocks talk to the app as a newcomer's first command serves
# it: this script starts `scripts/up.sh` (the Quick start's first command)
# on 127.0.0.1:3000 with a fresh key-value store, waits for
# /api/health, runs the blocks, and stops the app. The Quick start's second
# command, `scripts/test.sh`, runs this script at its end.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill -TERM -- "-$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Split the README into one file per runnable block, and refuse unmarked ones.
awk -v dir="$work" '
    /^```/ {
        if (inside) { inside = 0; if (out) close(out); out = ""; next }
        inside = 1
        lang = substr($1, 4)
        if (lang ~ /^(sh|bash|console|shell)$/) {
            if ($2 == "runnable") { n++; out = sprintf("%s/block-%02d-line-%d.sh", dir, n, NR) }
            else if ($2 != "not-run") {
                printf "README.md:%d: shell block is neither `runnable` nor `not-run`\n", NR > "/dev/stderr"
                bad = 1
            }
        }
        else if (lang == "text" && $2 == "output") {
            if (n == 0) {
                printf "README.md:%d: an output block before any runnable block\n", NR > "/dev/stderr"
                bad = 1
            } else out = sprintf("%s/block-%02d.expected", dir, n)
        }
        next
    }
    inside && out { print > out }
    END { exit bad }
' README.md

blocks=("$work"/block-*.sh)
if [ ! -e "${blocks[0]}" ]; then
    echo "README.md has no runnable block" >&2
    exit 1
fi

if curl -s -o /dev/null http://127.0.0.1:3000/; then
    echo "something already serves 127.0.0.1:3000 (scripts/up.sh?); stop it first" >&2
    exit 1
fi

echo "==> Starting the app as the Quick start does (scripts/up.sh; log in $work/up.log)"
setsid scripts/up.sh --state-dir "$work/state" > "$work/up.log" 2>&1 &
server=$!
for _ in $(seq 1 1200); do
    if curl -fs -o /dev/null http://127.0.0.1:3000/api/health; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$work/up.log" >&2
        echo "scripts/up.sh stopped before serving" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fs -o /dev/null http://127.0.0.1:3000/api/health || {
    tail -20 "$work/up.log" >&2
    echo "the app did not serve within 10 minutes" >&2
    exit 1
}

for block in "${blocks[@]}"; do
    line=${block##*-line-}
    line=${line%.sh}
    echo "==> README.md:$line"
    sed 's/^/    $ /' "$block"
    if ! bash -euo pipefail "$block" > "$work/out" 2> "$work/err"; then
        sed 's/^/    /' "$work/err" "$work/out"
        echo "README.md:$line: this block failed" >&2
        exit 1
    fi
    # What the block says on stderr (progress of builds...) is shown, not compared.
    sed 's/^/    /' "$work/err" | tail -5
    # (a curl answer may end without a newline)
    sed 's/^/    /' "$work/out" | head -40
    echo
    expected="$work/$(basename "$block" | sed 's/-line-.*//').expected"
    if [ -e "$expected" ] && ! awk '
        NR == FNR { want[FNR] = $0; wanted = FNR; next }
        {
            got = FNR
            w = want[FNR]
            if (w ~ /…$/) { w = substr(w, 1, length(w) - length("…")); ok = substr($0, 1, length(w)) == w }
            else ok = $0 == w
            if (!ok) { printf "line %d: expected %s\n         got      %s\n", FNR, want[FNR], $0; bad = 1 }
        }
        END { if (got != wanted) { printf "%d lines printed, %d shown in the README\n", got, wanted; bad = 1 }; exit bad }
    ' "$expected" "$work/out" >&2; then
        echo "README.md:$line: the block printed something else than the README shows" >&2
        exit 1
    fi
done
echo "README: ${#blocks[@]} runnable blocks passed"
