//! Schedules: a fixed number in every test run, many more in the soak
//! (`scripts/bench.sh`), which prints how many ran and the seed of any
//! failure.

use super::run_schedule;

/// Schedules every `cargo test` runs.
const SCHEDULES: u64 = 10_000;

fn run_many(first: u64, count: u64) -> (u64, Vec<(u64, Vec<String>)>) {
    let mut failures = Vec::new();
    let mut repeats = 0;
    for seed in first..first + count {
        let summary = run_schedule(seed);
        repeats += summary.repeats;
        if !summary.violations.is_empty() {
            failures.push((seed, summary.violations));
        }
    }
    (repeats, failures)
}

fn report(failures: &[(u64, Vec<String>)]) -> String {
    failures
        .iter()
        .take(3)
        .map(|(seed, v)| format!("seed {seed}: {}", v.join("; ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_schedule_converges_and_keeps_the_invariants() {
    let (_, failures) = run_many(1, SCHEDULES);
    assert!(
        failures.is_empty(),
        "{} of {SCHEDULES} schedules failed\n{}",
        failures.len(),
        report(&failures)
    );
}

#[test]
fn a_schedule_is_reproducible_from_its_seed() {
    assert_eq!(run_schedule(42), run_schedule(42));
    let busy = (1..200)
        .map(run_schedule)
        .find(|s| s.crashes > 0 && s.deployments > 0 && s.runs > 1);
    assert!(
        busy.is_some(),
        "schedules exercise crashes, runs and deployments"
    );
}

/// The soak: schedules from `SLIPWAY_SIM_SEED` (default 1,000,000) for
/// `SLIPWAY_SIM_SECONDS` (default 60), or `SLIPWAY_SIM_SCHEDULES` of them;
/// prints how many ran and the seeds of any failures.
#[test]
#[ignore = "soak; scripts/bench.sh runs it"]
fn soak() {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let first = var("SLIPWAY_SIM_SEED").unwrap_or(1_000_000);
    let limit = var("SLIPWAY_SIM_SCHEDULES").unwrap_or(u64::MAX);
    let seconds = var("SLIPWAY_SIM_SECONDS").unwrap_or(60);
    let started = std::time::Instant::now();
    let (mut count, mut repeats, mut crashes) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    while count < limit && started.elapsed().as_secs() < seconds {
        let summary = run_schedule(first + count);
        repeats += summary.repeats;
        crashes += summary.crashes;
        if !summary.violations.is_empty() {
            failures.push((first + count, summary.violations));
        }
        count += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulation: {count} schedules (seeds {first}..{}) in {secs:.1} s, {:.0}/s; {crashes} requests crashed, {repeats} allowed repeats; {} failed",
        first + count,
        count as f64 / secs,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", report(&failures));
}

/// One schedule, by `SLIPWAY_SIM_SEED`, with its summary (and its trace
/// with `SLIPWAY_SIM_TRACE=1`).
#[test]
#[ignore = "replays one seed on demand"]
fn replay() {
    let seed = std::env::var("SLIPWAY_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    println!("seed {seed}: {:?}", run_schedule(seed));
}
