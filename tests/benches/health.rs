//! Benchmark of the local host serving the real `/api/health` route.
//!
//! Prints cold start (process start to first response, without and with
//! the compile cache), requests/s with p50/p99 latency under concurrent
//! keep-alive load, and the host's peak RSS.
//!
//! Run: `cargo test --release=false -p slipway-tests --bench health` after
//! building the components (scripts/bench.sh does both). Options via env:
//! `BENCH_SECONDS` (default 5), `BENCH_CONCURRENCY` (default 32).

use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_tests::load::env_or;
use slipway_tests::{APP_TEST_VARIABLES, Host, TempDir, app_manifest};

fn cold_start(manifest: &std::path::Path) -> (Duration, Host) {
    let started = Instant::now();
    let host = Host::start(manifest, &APP_TEST_VARIABLES);
    let (status, body) = host.get("/api/health");
    assert_eq!(status, 200, "{body}");
    (started.elapsed(), host)
}

/// Drives `path` with `concurrency` keep-alive clients for `seconds`.
fn load(host: &Arc<Host>, method: &str, path: &str, concurrency: u64, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let host = host.clone();
            let (method, path) = (method.to_owned(), path.to_owned());
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let (status, _) = host.request(&method, &path, b"bench-value");
                    if status == 200 {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.join().expect("worker");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "{method} {path}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {errors} errors, {concurrency} clients, {seconds} s)",
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        latencies.len(),
    );
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let dir = TempDir::new("bench-health");
    let manifest = app_manifest(&dir);

    let _ = std::fs::remove_dir_all(dir.join(".spin/cache"));
    let (uncached, host) = cold_start(&manifest);
    drop(host);
    let (cached, host) = cold_start(&manifest);
    println!(
        "cold start to first response: {:.0} ms compiling, {:.0} ms from the compile cache",
        uncached.as_secs_f64() * 1000.0,
        cached.as_secs_f64() * 1000.0
    );

    let host = Arc::new(host);
    load(&host, "GET", "/api/health", concurrency, seconds);
    println!(
        "host peak RSS: {} MiB",
        peak_rss_kib(host.pid()).map(|k| k / 1024).unwrap_or(0)
    );
}
