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

use slipway_tests::load::{drive, env_or};
use slipway_tests::pipeline_env::{Env, PIPELINE, sha};

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
