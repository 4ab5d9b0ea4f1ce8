//! The app with one Docker environment, `swarm`, on a [`SwarmTarget`] (the
//! fake engine or the real one), and waiting for a deployment's end: what
//! the Swarm tests and the Swarm benchmark share.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deploy_env::releases;
use crate::pipeline_env::Env;
use crate::swarm::SwarmTarget;

/// The app with one environment, `swarm`, on `target`.
pub fn swarm_env(target: &dyn SwarmTarget) -> Env {
    let config = format!(
        "[environments.swarm]\nplatform = \"docker\"\nurl = \"{}\"\napi_version = \"{}\"\n",
        target.url(),
        target.api_version()
    );
    Env::start_with(&config, &[])
}

/// Ticks every `every` until the newest deployment to `swarm` has ended,
/// within the target's patience, and returns it.
pub fn wait_ended(env: &Env, target: &dyn SwarmTarget, every: Duration) -> Value {
    let deadline = Instant::now() + target.patience();
    loop {
        env.api_post("/api/tick");
        let newest = releases(env, "swarm")[0].clone();
        if !matches!(newest["status"].as_str(), Some("in-progress" | "paused")) {
            return newest;
        }
        assert!(Instant::now() < deadline, "still going: {newest}");
        std::thread::sleep(every);
    }
}
