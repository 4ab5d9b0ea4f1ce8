//! Blue-green and canary on Swarm, without a proxy, through the real
//! components, on the fake Docker Engine and on the real one (same test,
//! two targets): services in endpoint mode `dnsrr` share the app's name as
//! a network alias; a blue-green switch moves the alias, a canary step sets
//! task counts; new tasks take traffic only once healthy, and a rollout
//! whose tasks never become healthy rolls back by itself, saying why.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_tests::fakes::FakeDocker;
use slipway_tests::pipeline_env::Env;
use slipway_tests::swarm::{RealSwarm, image_of};
use slipway_tests::swarm_net::{NetTarget, dnsrr_spec};

/// The app of the blue-green tests (its own services: `-blue`, `-green`).
const BG_APP: &str = "shop-gitee";
/// The app of the canary tests (`shop-bitbucket`, `shop-bitbucket-canary`).
const CANARY_APP: &str = "shop-bitbucket";

fn env_for(target: &dyn NetTarget) -> Env {
    let config = format!(
        "[environments.swarm]\nplatform = \"docker\"\nurl = \"{}\"\napi_version = \"{}\"\n\
         progress_deadline = \"{}\"\n",
        target.url(),
        target.api_version(),
        target.deadline()
    );
    Env::start_with(&config, &[])
}

fn deploy(env: &Env, app: &str, body: Value) -> (u16, Value) {
    let mut request = json!({ "app": app, "environment": "swarm" });
    if let (Some(r), Some(b)) = (request.as_object_mut(), body.as_object()) {
        r.extend(b.clone());
    }
    let response = ureq::post(&env.host.url("/api/deploy"))
        .set(
            "authorization",
            &format!("Bearer {}", slipway_tests::pipeline_env::API_TOKEN),
        )
        .set("content-type", "application/json")
        .send_string(&request.to_string());
    let (status, text) = match response {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("deploy: {e}"),
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn newest(env: &Env, app: &str) -> Value {
    let (status, v) = env.api_get(&format!("/api/apps/{app}/environments/swarm/releases"));
    assert_eq!(status, 200, "{v}");
    v["releases"][0].clone()
}

/// Ticks until the newest deployment of `app` satisfies `done`.
fn tick_until(env: &Env, app: &str, patience: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + patience;
    loop {
        env.api_post("/api/tick");
        let d = newest(env, app);
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "still not there: {d}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn ended(env: &Env, app: &str, patience: Duration) -> Value {
    tick_until(env, app, patience, |d| {
        !matches!(d["status"].as_str(), Some("in-progress" | "paused"))
    })
}

fn act(env: &Env, app: &str, what: &str) -> (u16, Value) {
    env.api_post(&format!("/api/deploy/{app}/swarm/{what}"))
}

fn aliases(target: &dyn NetTarget, service: &str) -> Value {
    target.service(service)["Spec"]["TaskTemplate"]["Networks"][0]["Aliases"].clone()
}

/// `A` resolves to exactly the tasks of `service` (real engine only).
fn resolves_to_only(target: &dyn NetTarget, network: &str, service: &str) {
    let Some(of_a) = target.resolve(network, BG_APP) else {
        return;
    };
    let of_slot = target.resolve(network, service).unwrap_or_default();
    assert!(!of_a.is_empty(), "{BG_APP} resolves to nothing");
    assert_eq!(of_a, of_slot, "{BG_APP} resolves to the tasks of {service}");
}

fn blue_green_switch_and_back(target: &dyn NetTarget) {
    let network = "slipway-bg-net";
    let (blue, green) = (format!("{BG_APP}-blue"), format!("{BG_APP}-green"));
    target.clean(&[&blue, &green], network);
    target.create_network(network);
    let (v1, v2) = target.healthy_images();
    target.create_spec(&dnsrr_spec(&blue, &v1, 2, network, Some(BG_APP)));
    let env = env_for(target);
    resolves_to_only(target, network, &blue);

    let started = Instant::now();
    let (status, reply) = deploy(&env, BG_APP, json!({"strategy": "blue-green", "image": v2}));
    assert_eq!(status, 202, "{reply}");
    let done = ended(&env, BG_APP, target.patience());
    eprintln!("blue-green switch in {:?}", started.elapsed());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(image_of(target, &green), v2);
    assert_eq!(aliases(target, &green), json!([BG_APP]));
    assert_eq!(aliases(target, &blue), Value::Null, "blue left the alias");
    assert_eq!(target.running_tasks(&green), 2);
    assert_eq!(
        target.running_tasks(&blue),
        2,
        "blue stays up for a switch back"
    );
    resolves_to_only(target, network, &green);

    let started = Instant::now();
    let (status, reply) = act(&env, BG_APP, "rollback");
    assert_eq!(status, 202, "{reply}");
    let back = ended(&env, BG_APP, target.patience());
    eprintln!("blue-green switch back in {:?}", started.elapsed());
    assert_eq!(back["status"], "succeeded", "{back}");
    assert_eq!(aliases(target, &blue), json!([BG_APP]));
    assert_eq!(aliases(target, &green), Value::Null);
    assert_eq!(image_of(target, &blue), v1, "blue kept the old version");
    resolves_to_only(target, network, &blue);

    // A new slot that never becomes healthy is put back, and traffic stays.
    let sick = target.sick_image();
    let (status, reply) = deploy(
        &env,
        BG_APP,
        json!({"strategy": "blue-green", "image": sick}),
    );
    assert_eq!(status, 202, "{reply}");
    let failed = ended(&env, BG_APP, target.patience());
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["rolled_back"], true, "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{green}: 0 of 2 tasks healthy")),
        "{failed}"
    );
    assert!(
        message.contains(&format!("traffic stays on {blue}")),
        "{failed}"
    );
    assert_eq!(aliases(target, &blue), json!([BG_APP]));
    assert_eq!(image_of(target, &green), v2, "green put back as it was");
    resolves_to_only(target, network, &blue);
    target.clean(&[&blue, &green], network);
}

#[test]
fn blue_green_switch_and_back_on_the_fake_engine() {
    blue_green_switch_and_back(&FakeDocker::start());
}

#[test]
fn blue_green_switch_and_back_on_the_real_engine() {
    blue_green_switch_and_back(&RealSwarm::connect());
}

/// Waits until the canary's step is reached; checks the task counts.
fn at_step(env: &Env, target: &dyn NetTarget, percent: u64, stable: u64, canary: u64) {
    let canary_name = format!("{CANARY_APP}-canary");
    let d = tick_until(env, CANARY_APP, target.patience(), |d| {
        d["status"] == "paused" && d["traffic_percent"] == percent
    });
    assert_eq!(target.running_tasks(&canary_name), canary, "{d}");
    let settled = Instant::now() + target.patience();
    // Stable's surplus tasks stop within their grace period.
    while target.running_tasks(CANARY_APP) != stable {
        assert!(Instant::now() < settled, "stable tasks: {d}");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(
        target.service(&canary_name)["Spec"]["Mode"]["Replicated"]["Replicas"],
        canary
    );
}

fn canary_steps_promote_abort_and_sick(target: &dyn NetTarget) {
    let network = "slipway-canary-net";
    let canary_name = format!("{CANARY_APP}-canary");
    target.clean(&[CANARY_APP, &canary_name], network);
    target.create_network(network);
    let (v1, v2) = target.healthy_images();
    target.create_spec(&dnsrr_spec(CANARY_APP, &v1, 4, network, None));
    let env = env_for(target);
    let canary = json!({"strategy": "canary", "steps": [25, 50, 100], "image": v2});

    let (status, reply) = deploy(&env, CANARY_APP, canary.clone());
    assert_eq!(status, 202, "{reply}");
    at_step(&env, target, 25, 3, 1);
    assert_eq!(aliases(target, &canary_name), json!([CANARY_APP]));
    assert_eq!(newest(&env, CANARY_APP)["step"], 1);
    assert_eq!(act(&env, CANARY_APP, "promote").0, 200);
    at_step(&env, target, 50, 2, 2);
    assert_eq!(act(&env, CANARY_APP, "promote").0, 200);
    let done = ended(&env, CANARY_APP, target.patience());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(image_of(target, CANARY_APP), v2);
    assert_eq!(
        target.service(CANARY_APP)["Spec"]["Mode"]["Replicated"]["Replicas"],
        4
    );
    assert!(
        target
            .get("/services")
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["Spec"]["Name"] != canary_name.as_str()),
        "the canary is removed"
    );

    // A second run, aborted at 25 %: the canary goes to 0, stable back to 4.
    let back = json!({"strategy": "canary", "steps": [25, 50, 100], "image": v1});
    assert_eq!(deploy(&env, CANARY_APP, back).0, 202);
    at_step(&env, target, 25, 3, 1);
    assert_eq!(act(&env, CANARY_APP, "abort").0, 200);
    let aborted = ended(&env, CANARY_APP, target.patience());
    assert_eq!(aborted["status"], "aborted", "{aborted}");
    let message = aborted["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{canary_name} scaled to 0")),
        "{aborted}"
    );
    assert_eq!(
        target.service(&canary_name)["Spec"]["Mode"]["Replicated"]["Replicas"],
        0
    );
    assert_eq!(
        target.service(CANARY_APP)["Spec"]["Mode"]["Replicated"]["Replicas"],
        4
    );
    assert_eq!(image_of(target, CANARY_APP), v2);

    // A canary that never becomes healthy is rolled back within the deadline.
    let sick = json!({"strategy": "canary", "steps": [25, 100], "image": target.sick_image()});
    assert_eq!(deploy(&env, CANARY_APP, sick).0, 202);
    let failed = ended(&env, CANARY_APP, target.patience());
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["rolled_back"], true, "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{canary_name}: 0 of 1 tasks healthy")),
        "{failed}"
    );
    assert_eq!(
        target.service(&canary_name)["Spec"]["Mode"]["Replicated"]["Replicas"],
        0
    );
    assert_eq!(target.running_tasks(CANARY_APP), 4);
    target.clean(&[CANARY_APP, &canary_name], network);
}

#[test]
fn canary_steps_promote_and_abort_on_the_fake_engine() {
    canary_steps_promote_abort_and_sick(&FakeDocker::start());
}

#[test]
fn canary_steps_promote_and_abort_on_the_real_engine() {
    canary_steps_promote_abort_and_sick(&RealSwarm::connect());
}

/// Canary and blue-green need `dnsrr` services; a stack stays rolling-only.
#[test]
fn a_vip_service_is_refused_with_how_to_fix_it() {
    let fake = FakeDocker::start();
    fake.add_service(CANARY_APP, "registry.example.com/acme/shop:1.0.0", 2);
    let env = env_for(&fake);
    let (status, reply) = deploy(
        &env,
        CANARY_APP,
        json!({"strategy": "canary", "image": "registry.example.com/acme/shop:2.0.0"}),
    );
    assert_eq!(status, 202, "{reply}");
    let failed = ended(&env, CANARY_APP, Duration::from_secs(20));
    assert_eq!(failed["status"], "failed", "{failed}");
    let message = failed["message"].as_str().unwrap_or_default();
    assert!(message.contains("endpoint mode dnsrr"), "{failed}");
}
