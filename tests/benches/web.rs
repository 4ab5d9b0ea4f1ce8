//! Benchmark: the stage view's reads with 100 unfinished runs among 1,000
//! and among 100,000 finished ones, on the real components. The overview
//! (`GET /api/apps` and `GET /api/waiting`) and the app page
//! (`GET /api/apps/{app}/runs`, unfiltered and filtered) read the per-app
//! indexes, not the history, so the times should be close (ratio near 1).
//!
//! Run: `scripts/bench.sh`; `BENCH_WEB_REQUESTS` (default 200 per page).

use std::time::Instant;

use slipway_tests::load::env_or;
use slipway_tests::pipeline_env::{API_TOKEN, Env};
use slipway_tests::seed::seed;

const APP: &str = "shop-github";
const ACTIVE: u64 = 100;

/// The pages measured: what each asks the server for.
const PAGES: [(&str, &[&str]); 3] = [
    ("overview", &["/api/apps", "/api/waiting"]),
    ("app page", &["/api/apps/shop-github/runs?limit=25"]),
    (
        "app page, branch filter",
        &["/api/apps/shop-github/runs?limit=25&branch=main"],
    ),
];

/// p50 and p99 of `times` (ms).
fn percentiles(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99))
}

/// Milliseconds to load `page` (its requests one after another), `n` times.
fn measure(env: &Env, requests: &[&str], n: u64) -> Vec<f64> {
    let agent = ureq::AgentBuilder::new().build();
    (0..n)
        .map(|_| {
            let t = Instant::now();
            for path in requests {
                let response = agent
                    .get(&env.host.url(path))
                    .set("authorization", &format!("Bearer {API_TOKEN}"))
                    .call()
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                let body = response.into_string().expect("body");
                assert!(body.starts_with('{'), "{path}: {body}");
            }
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn main() {
    let n = env_or("BENCH_WEB_REQUESTS", 200);
    let mut p50s: Vec<Vec<f64>> = Vec::new();
    for finished in [1_000u64, 100_000] {
        let env = Env::start("");
        let seeding = Instant::now();
        seed(&env, APP, finished, ACTIVE);
        println!(
            "stage view, {ACTIVE} active among {finished:>6} finished runs (seeded in {:.1} s):",
            seeding.elapsed().as_secs_f64()
        );
        let mut row = Vec::new();
        for (page, requests) in PAGES {
            measure(&env, requests, 5);
            let (p50, p99) = percentiles(measure(&env, requests, n));
            println!("  {page:<24} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  ({n} loads)");
            row.push(p50);
        }
        p50s.push(row);
    }
    for (i, (page, _)) in PAGES.iter().enumerate() {
        println!(
            "stage view p50 ratio, 100,000 / 1,000 finished runs, {page}: {:.2}",
            p50s[1][i] / p50s[0][i]
        );
    }
}
