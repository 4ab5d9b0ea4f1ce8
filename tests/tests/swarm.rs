//! Rolling updates of a Swarm service through the real components, on the
//! fake Docker Engine and on the real one (same test, two targets): the
//! update goes out with an `UpdateConfig` that rolls back on failure, and
//! an update that fails is rolled back by Swarm itself.

use std::time::Instant;

use serde_json::{Value, json};
use slipway_tests::deploy_env::{APP, deploy, releases};
use slipway_tests::fakes::FakeDocker;
use slipway_tests::pipeline_env::Env;
use slipway_tests::swarm::{RealSwarm, SwarmTarget, image_of};

/// The app with one environment, `swarm`, on `target`.
fn env_for(target: &dyn SwarmTarget) -> Env {
    let config = format!(
        "[environments.swarm]\nplatform = \"docker\"\nurl = \"{}\"\napi_version = \"{}\"\n",
        target.url(),
        target.api_version()
    );
    Env::start_with(&config, &[])
}

/// Ticks until the newest deployment has ended, within the target's patience.
fn ended(env: &Env, target: &dyn SwarmTarget) -> Value {
    let deadline = Instant::now() + target.patience();
    loop {
        env.api_post("/api/tick");
        let newest = releases(env, "swarm")[0].clone();
        if !matches!(newest["status"].as_str(), Some("in-progress" | "paused")) {
            return newest;
        }
        assert!(Instant::now() < deadline, "still going: {newest}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn rolling_update_then_automatic_rollback(target: &dyn SwarmTarget, first_image: &str) {
    let env = env_for(target);
    target.create_service(APP, first_image, 2);
    let good = target.good_image();
    let (status, reply) = deploy(
        &env,
        "swarm",
        json!({ "strategy": "rolling", "image": good }),
    );
    assert_eq!(status, 202, "{reply}");
    let done = ended(&env, target);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(image_of(target, APP), good);
    let service = target.service(APP);
    assert_eq!(service["Spec"]["UpdateConfig"]["FailureAction"], "rollback");
    assert_eq!(service["Spec"]["UpdateConfig"]["Order"], "start-first");
    assert_eq!(service["Spec"]["Mode"]["Replicated"]["Replicas"], 2);

    let bad = target.failing_image(APP);
    let (status, reply) = deploy(
        &env,
        "swarm",
        json!({ "strategy": "rolling", "image": bad }),
    );
    assert_eq!(status, 202, "{reply}");
    let failed = ended(&env, target);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["rolled_back"], true, "{failed}");
    assert_eq!(image_of(target, APP), good, "Swarm put the good image back");
    assert_eq!(
        deploy(&env, "swarm", json!({ "strategy": "canary" })).0,
        400,
        "no canary on Swarm"
    );
}

#[test]
fn rolling_update_and_automatic_rollback_on_the_fake_engine() {
    let fake = FakeDocker::start();
    rolling_update_then_automatic_rollback(&fake, "registry.example.com/acme/shop:1.0.0");
}

#[test]
fn rolling_update_and_automatic_rollback_on_the_real_engine() {
    let real = RealSwarm::connect();
    let first = real.first_image();
    rolling_update_then_automatic_rollback(&real, &first);
}
