#!/usr/bin/env bash
# Fuzzes every parser of outside input (the fuzz/ crate, libFuzzer through
# cargo-fuzz): builds all targets once, then runs each for SECONDS (default
# 30) from a scratch corpus seeded with fuzz/seeds/<target>, and prints per
# target the executions and coverage. Exits non-zero if any target finds a
# crash, a timeout or an out-of-memory; the input is kept under
# fuzz/artifacts/<target>/ and its path printed.
#
#   scripts/fuzz.sh          # CI smoke run, 30 s a target
#   scripts/fuzz.sh 600      # the longer "bench" run
#
# Environment:
#   SLIPWAY_FUZZ_TARGET  cargo target dir (default /var/cache/slipway-ci/fuzz-target)
#   SLIPWAY_FUZZ_JOBS    targets run at once (default: number of CPUs, at most 2)
#   SLIPWAY_FUZZ_SANITIZER  none (default) or address
#   SLIPWAY_CARGO_LOCK   a file to flock(1) around the build, when cargo is shared
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass
# its -Z flags.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
targets=(webhook pipeline config junit callback chat)
# Large enough for the biggest webhook fixtures (~28 KiB), small enough
# that nesting stays within what the parsers are meant to take.
max_len=65536

target_dir="${SLIPWAY_FUZZ_TARGET:-/var/cache/slipway-ci/fuzz-target}"
if ! mkdir -p "$target_dir" 2>/dev/null; then
    target_dir="$PWD/fuzz/target"
fi
export CARGO_TARGET_DIR="$target_dir"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
sanitizer="${SLIPWAY_FUZZ_SANITIZER:-none}"
jobs="${SLIPWAY_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
if [ "$jobs" -gt 2 ]; then jobs=2; fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

# Release with debug assertions and overflow checks (cargo-fuzz's default
# build): an arithmetic overflow on outside input is a bug too.
build=(cargo fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer")
if [ -n "${SLIPWAY_CARGO_LOCK:-}" ]; then
    build=(flock "$SLIPWAY_CARGO_LOCK" "${build[@]}")
fi
start=$(date +%s)
"${build[@]}"
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - start)) s (sanitizer $sanitizer)"

bin_dir="$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release"
work="$(mktemp -d "${TMPDIR:-/tmp}/slipway-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p fuzz/artifacts

run() {
    local t="$1"
    local corpus="$work/corpus/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    if [ -d "fuzz/seeds/$t" ]; then
        cp fuzz/seeds/"$t"/* "$corpus"/
    fi
    local rc=0
    "$bin_dir/$t" "$corpus" \
        -max_total_time="$seconds" \
        -max_len="$max_len" \
        -timeout=20 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" \
        >"$work/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$work/$t.rc"
}

start=$(date +%s)
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    run "$t" &
    running=$((running + 1))
done
wait

failed=()
printf '%-9s %12s %8s %8s %8s %9s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
    log="$work/$t.log"
    rc="$(cat "$work/$t.rc")"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    status="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")"
    corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$status")"
    result=ok
    if [ "$rc" != 0 ]; then
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
        result="FAILED (exit $rc) ${artifact:-no artifact written}"
        failed+=("$t")
    fi
    printf '%-9s %12s %8s %8s %8s %9s  %s\n' "$t" "${execs:--}" "${rate:--}" \
        "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done
echo "fuzz: ran ${#targets[@]} targets for ${seconds} s each in $(($(date +%s) - start)) s"

for t in "${failed[@]}"; do
    echo "---- $t (last 60 lines of the libFuzzer log) ----"
    tail -n 60 "$work/$t.log"
    echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer $sanitizer $t <artifact>"
    echo "minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --fuzz-dir fuzz --sanitizer $sanitizer $t <artifact>"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
