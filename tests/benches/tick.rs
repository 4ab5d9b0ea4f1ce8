//! Benchmark: `POST /api/tick` with 100 unfinished runs among 1,000 and
//! among 100,000 finished ones, on the real components. The tick walks
//! the active index, not the history, so the two times should be close
//! (the ratio near 1).
//!
//! The store is seeded directly (Spin's SQLite layout) with runs as the
//! app writes them. Run: `scripts/bench.sh`; `BENCH_TICKS` (default 20).

use std::time::Instant;

use slipway_tests::pipeline_env::Env;
use slipway_tests::seed::seed;

const APP: &str = "shop-github";
const ACTIVE: u64 = 100;

fn main() {
    let ticks: usize = std::env::var("BENCH_TICKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut means = Vec::new();
    for finished in [1_000u64, 100_000] {
        let env = Env::start("");
        let seeding = Instant::now();
        seed(&env, APP, finished, ACTIVE);
        let seeded_in = seeding.elapsed();
        let warm = env.tick();
        assert_eq!(warm["active"].as_u64(), Some(ACTIVE), "{warm}");
        let mut times: Vec<f64> = (0..ticks)
            .map(|_| {
                let t = Instant::now();
                let report = env.tick();
                assert_eq!(report["more"], false, "{report}");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        means.push(mean);
        println!(
            "tick, {ACTIVE} active among {finished:>6} finished runs: mean {mean:>7.1} ms  p50 {:>7.1} ms  max {:>7.1} ms  ({ticks} ticks; seeded in {:.1} s)",
            times[times.len() / 2],
            times[times.len() - 1],
            seeded_in.as_secs_f64()
        );
    }
    println!(
        "tick time ratio, 100,000 / 1,000 finished runs: {:.2}",
        means[1] / means[0]
    );
}
