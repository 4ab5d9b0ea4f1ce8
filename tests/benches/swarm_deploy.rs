//! Benchmark: a rolling update of 4 replicas on the real Docker Engine in
//! Swarm mode, from `POST /api/deploy` until Swarm reports the update
//! completed and until Slipway's deployment says succeeded, beside the
//! engine's own time for the same update by `docker service update` (the
//! floor), in one run.
//!
//! Both use the update Slipway sends: parallelism 1, no delay, start-first,
//! monitor 5 s, roll back on failure. The images alternate between two
//! local tags, so every round is a real update.
//!
//! Run: `scripts/bench.sh` (or `cargo test -p slipway-tests --bench
//! swarm_deploy` after building the components, with the engine that
//! `scripts/setup.sh` starts). `BENCH_SWARM_ROUNDS` (default 3) sets the
//! rounds of each.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_tests::deploy_env::{APP, deploy};
use slipway_tests::load::env_or;
use slipway_tests::swarm::{RealSwarm, SwarmTarget};
use slipway_tests::swarm_env::swarm_env;

const REPLICAS: u64 = 4;
/// How often the benchmark looks at the engine, and ticks Slipway.
const POLL: Duration = Duration::from_millis(100);

/// `UpdateStatus.StartedAt` and `.State` of the service.
fn update_status(target: &dyn SwarmTarget) -> (String, String) {
    let s = target.service(APP);
    let field = |f: &str| s["UpdateStatus"][f].as_str().unwrap_or_default().to_owned();
    (field("StartedAt"), field("State"))
}

/// Waits until an update started after `before` (a `StartedAt`) is
/// `completed`; panics on any other end.
fn wait_completed(target: &dyn SwarmTarget, before: &str, mut each_poll: impl FnMut()) {
    let deadline = Instant::now() + target.patience();
    loop {
        let (started, state) = update_status(target);
        if started != before {
            match state.as_str() {
                "completed" => return,
                "updating" => {}
                other => panic!("the update ended {other}: {}", target.service(APP)),
            }
        }
        assert!(Instant::now() < deadline, "the update did not complete");
        each_poll();
        std::thread::sleep(POLL);
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn print(what: &str, times: &[Duration]) {
    let all: Vec<String> = times
        .iter()
        .map(|t| format!("{:.2}", t.as_secs_f64()))
        .collect();
    println!(
        "{what:<62} median {:>6.2} s  (rounds: {} s)",
        median(times.to_vec()).as_secs_f64(),
        all.join(", ")
    );
}

fn main() {
    let rounds = env_or("BENCH_SWARM_ROUNDS", 3) as usize;
    let real = RealSwarm::connect();
    let images = [real.good_image(), real.first_image()];
    real.create_service(APP, &images[1], REPLICAS);
    let env = swarm_env(&real);

    let (mut engine_done, mut slipway_done) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let image = &images[round % 2];
        let before = update_status(&real).0;
        let started = Instant::now();
        let (status, reply) = deploy(
            &env,
            "swarm",
            json!({ "strategy": "rolling", "image": image }),
        );
        assert_eq!(status, 202, "{reply}");
        wait_completed(&real, &before, || {
            env.api_post("/api/tick");
        });
        engine_done.push(started.elapsed());
        loop {
            env.api_post("/api/tick");
            let newest: Value = slipway_tests::deploy_env::releases(&env, "swarm")[0].clone();
            match newest["status"].as_str() {
                Some("succeeded") => break,
                Some("in-progress") => std::thread::sleep(POLL),
                _ => panic!("the deployment ended otherwise: {newest}"),
            }
        }
        slipway_done.push(started.elapsed());
    }

    let mut floor = Vec::new();
    for round in 0..rounds {
        let image = &images[(rounds + round) % 2];
        let before = update_status(&real).0;
        let started = Instant::now();
        let status = Command::new("docker")
            .args(["service", "update", "--detach", "--quiet", "--image", image])
            .args(["--update-parallelism", "1", "--update-delay", "0s"])
            .args(["--update-order", "start-first", "--update-monitor", "5s"])
            .args(["--update-failure-action", "rollback", APP])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("docker service update");
        assert!(status.success(), "docker service update failed");
        wait_completed(&real, &before, || {});
        floor.push(started.elapsed());
    }

    println!("rolling update of {REPLICAS} replicas on the real engine ({rounds} rounds each):");
    print(
        "docker service update -> Swarm: update completed (floor)",
        &floor,
    );
    print("POST /api/deploy -> Swarm: update completed", &engine_done);
    print(
        &format!(
            "POST /api/deploy -> Slipway: succeeded (ticked every {} ms)",
            POLL.as_millis()
        ),
        &slipway_done,
    );
}
