//! Rolling updates of a Swarm service through the real components, on the
//! fake Docker Engine and on the real one (same test, two targets): the
//! update goes out with an `UpdateConfig` that rolls back on failure, and
//! an update that fails is rolled back by Swarm itself.

use std::time::Instant;

use serde_json::{Value, json};
use slipway_tests::deploy_env::{APP, deploy};
use slipway_tests::fakes::FakeDocker;
use slipway_tests::pipeline_env::{Env, repo, sha};
use slipway_tests::swarm::{RealSwarm, SwarmTarget, image_of};
use slipway_tests::swarm_env::{swarm_env, wait_ended};

/// Ticks until the newest deployment has ended, within the target's patience.
fn ended(env: &Env, target: &dyn SwarmTarget) -> Value {
    wait_ended(env, target, std::time::Duration::from_millis(250))
}

fn rolling_update_then_automatic_rollback(target: &dyn SwarmTarget, first_image: &str) {
    let env = swarm_env(target);
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

/// The stack of the Compose tests.
const STACK: &str = "slipstack";
/// The swarm secret its web service reads.
const SECRET: &str = "slipway_test_api_key";

/// The stack's Compose file: `web` (the app's service, health-checked,
/// rolled back by Swarm when an update fails) and `worker`, both with
/// `MODE={mode}`.
fn compose_file(mode: &str, worker_image: &str) -> String {
    format!(
        r#"services:
  web:
    image: replaced-by-the-build:latest
    environment:
      MODE: {mode}
    ports:
      - "18080:80"
    healthcheck:
      test: ["CMD", "/bin/busybox", "test", "-f", "/healthy"]
      interval: 1s
      timeout: 1s
      retries: 2
    secrets: [api_key]
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        failure_action: rollback
        monitor: 5s
        order: start-first
  worker:
    image: {worker_image}
    environment: [MODE={mode}]
secrets:
  api_key:
    external: true
    name: {SECRET}
"#
    )
}

/// The app as stack [`STACK`] on `target`, with the Compose file at
/// commits 1 (`MODE=one`), 2 (`MODE=two`) and 3 (with a `build` key).
fn stack_env(target: &dyn SwarmTarget) -> Env {
    let config = format!(
        "[environments.swarm]\nplatform = \"docker\"\nurl = \"{}\"\napi_version = \"{}\"\n\
         [apps.{APP}.compose]\npath = \"deploy/compose.yaml\"\nservice = \"web\"\nstack = \"{STACK}\"\n",
        target.url(),
        target.api_version()
    );
    let env = Env::start_with(&config, &[]);
    let worker = target.stack_images().0;
    let files = [
        compose_file("one", &worker),
        compose_file("two", &worker),
        compose_file("three", &worker).replace("  web:\n", "  web:\n    build: .\n"),
    ];
    for (n, file) in (1..).zip(files) {
        env.git.add_commit(&repo("github"), &sha(n));
        env.git
            .add_file(&repo("github"), &sha(n), "deploy/compose.yaml", file);
    }
    env
}

fn env_of(service: &Value) -> Vec<String> {
    serde_json::from_value(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].clone())
        .unwrap_or_default()
}

/// Deploys `image` at commit `n` and waits for the end.
fn deploy_stack(env: &Env, target: &dyn SwarmTarget, image: &str, n: u32) -> Value {
    let (status, reply) = deploy(env, "swarm", json!({ "image": image, "commit": sha(n) }));
    assert_eq!(status, 202, "{reply}");
    ended(env, target)
}

/// Commit 1 creates the stack: both services with the namespace label,
/// replicas, environment, the published port, the secret and the network.
fn stack_created(env: &Env, target: &dyn SwarmTarget, image: &str) {
    let web = format!("{STACK}_web");
    let started = Instant::now();
    let done = deploy_stack(env, target, image, 1);
    eprintln!("stack created in {:?}", started.elapsed());
    assert_eq!(done["status"], "succeeded", "{done}");
    let services = target.stack_services(STACK);
    let names: Vec<&String> = services.keys().collect();
    assert_eq!(names, [&web, &format!("{STACK}_worker")]);
    for s in services.values() {
        assert_eq!(s["Spec"]["Labels"]["com.docker.stack.namespace"], STACK);
    }
    let (w, worker) = (&services[&web], &services[&format!("{STACK}_worker")]);
    assert_eq!(w["Spec"]["Mode"]["Replicated"]["Replicas"], 2);
    assert_eq!(worker["Spec"]["Mode"]["Replicated"]["Replicas"], 1);
    assert_eq!(env_of(w), ["MODE=one"]);
    let port = &w["Spec"]["EndpointSpec"]["Ports"][0];
    assert_eq!(
        (&port["PublishedPort"], &port["TargetPort"]),
        (&json!(18080), &json!(80))
    );
    let secret = &w["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"][0];
    assert_eq!(secret["SecretName"], SECRET);
    assert_eq!(image_of(target, &web), image);
    let network = target.get(&format!("/networks/{STACK}_default"));
    assert_eq!(network["Labels"]["com.docker.stack.namespace"], STACK);
}

/// Commit 2 with a new image rolls both services forward; the same again
/// changes nothing.
fn stack_updated(env: &Env, target: &dyn SwarmTarget, image: &str) {
    let web = format!("{STACK}_web");
    let started = Instant::now();
    let done = deploy_stack(env, target, image, 2);
    eprintln!("rolling update of the stack in {:?}", started.elapsed());
    assert_eq!(done["status"], "succeeded", "{done}");
    let w = target.service(&web);
    assert_eq!(
        image_of(target, &web),
        image,
        "the app's service runs the new image"
    );
    assert_eq!(w["UpdateStatus"]["State"], "completed", "{w}");
    assert_eq!(env_of(&w), ["MODE=two"]);
    let worker = target.service(&format!("{STACK}_worker"));
    assert_eq!(env_of(&worker), ["MODE=two"]);
    // Level-triggered: the same commit and image again changes nothing.
    let done = deploy_stack(env, target, image, 2);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(target.service(&web)["Version"], w["Version"]);
}

/// An image whose health check fails is rolled back by Swarm, and the
/// deployment says so.
fn stack_rolled_back(env: &Env, target: &dyn SwarmTarget, healthy: &str) {
    let web = format!("{STACK}_web");
    let started = Instant::now();
    let sick = target.unhealthy_image(&web);
    let failed = deploy_stack(env, target, &sick, 2);
    eprintln!("failed health check rolled back in {:?}", started.elapsed());
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["rolled_back"], true, "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(message.contains("rolled back"), "{failed}");
    let w = target.service(&web);
    assert_eq!(w["UpdateStatus"]["State"], "rollback_completed", "{w}");
    assert_eq!(
        image_of(target, &web),
        healthy,
        "Swarm put the healthy image back"
    );
}

fn compose_stack_then_rolling_update_then_health_rollback(target: &dyn SwarmTarget) {
    target.remove_stack(STACK);
    target.create_secret(SECRET);
    let env = stack_env(target);
    let (v1, v2) = target.stack_images();
    let (status, reply) = deploy(&env, "swarm", json!({ "image": v1 }));
    assert_eq!(status, 400, "a stack needs the commit: {reply}");
    // A key Slipway does not deploy fails the deployment before any call.
    let refused = deploy_stack(&env, target, &v1, 3);
    assert_eq!(refused["status"], "failed", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("services.web.build: not supported"),
        "{refused}"
    );
    assert!(target.stack_services(STACK).is_empty());

    stack_created(&env, target, &v1);
    stack_updated(&env, target, &v2);
    stack_rolled_back(&env, target, &v2);
    target.remove_stack(STACK);
}

#[test]
fn compose_stack_on_the_fake_engine() {
    let fake = FakeDocker::start();
    compose_stack_then_rolling_update_then_health_rollback(&fake);
}

#[test]
fn compose_stack_on_the_real_engine() {
    let real = RealSwarm::connect();
    compose_stack_then_rolling_update_then_health_rollback(&real);
}
