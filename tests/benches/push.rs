//! Benchmark: a signed GitHub push end to end — signature, dedupe, the
//! pipeline file fetched from a loopback fake, run creation, and the build
//! trigger to a loopback fake Jenkins — side by side with `/api/health` as
//! the floor, in one run.
//!
//! Run: `scripts/bench.sh` (or `cargo test -p slipway-tests --bench push`
//! after building the components). `BENCH_SECONDS` (default 5) and
//! `BENCH_CONCURRENCY` (default 16) tune it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use slipway_tests::pipeline_env::{Env, PIPELINE, sha};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `work` from `clients` threads for `seconds`; prints the figures and
/// returns how many calls succeeded.
fn drive(
    label: &str,
    clients: u64,
    seconds: u64,
    work: impl Fn() -> bool + Send + Sync + 'static,
) -> usize {
    let work = Arc::new(work);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if work() {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().expect("client thread");
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{label:<28} {:>7.0} requests/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} ok, {errors} errors, {clients} clients, {seconds} s)",
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.len()
    );
    all.len()
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let clients = env_or("BENCH_CONCURRENCY", 16);
    let env = Arc::new(Env::start(""));
    // Enough distinct commits for every push of the run to start a new run.
    let commits = 20_000u32;
    for i in 0..commits {
        env.commit("github", &sha(0x100000 + i), PIPELINE);
    }
    let health = env.clone();
    drive("GET /api/health (floor)", clients, seconds, move || {
        health.host.get("/api/health").0 == 200
    });
    let next = Arc::new(AtomicU32::new(0));
    let pushes = env.clone();
    let rows_before = env.kv_rows();
    let accepted = drive("POST /hooks/github (push)", clients, seconds, move || {
        let i = next.fetch_add(1, Ordering::Relaxed) % commits;
        let webhook = pushes.push("github", "main", &sha(0x100000 + i));
        pushes.hook("github", &webhook).0 == 202
    });
    // Let the work after each answer finish (the tick takes what the
    // runtime cut short), then count what the pushes left in the store.
    for _ in 0..20 {
        if env.tick()["active"].as_u64() == Some(0) || env.jenkins.triggers().len() >= accepted {
            break;
        }
    }
    println!(
        "build triggers received by the fake Jenkins: {} for {accepted} accepted pushes",
        env.jenkins.triggers().len()
    );
    println!(
        "key-value keys per accepted push: 3 before the answer (event claim, run counter, run: \
         the webhook unit test asserts it), {:.2} rows in all once its work is done",
        (env.kv_rows() - rows_before) as f64 / accepted.max(1) as f64
    );
}
