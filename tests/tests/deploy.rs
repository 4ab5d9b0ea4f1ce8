//! Deployments end to end: the real components in the host against a fake
//! Kubernetes API server on loopback (Swarm: tests/swarm.rs, on the fake
//! and the real Docker Engine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_tests::deploy_env::*;
use slipway_tests::pipeline_env::*;

#[test]
fn rolling_update_goes_out_and_a_stalled_one_rolls_back() {
    let w = world("gateway");
    w.k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 3);
    // The first write meets a stale resourceVersion: re-read and retried.
    w.k8s.inject_conflict(NS, "Deployment", APP);
    let (status, reply) = deploy(&w.env, "staging", json!({ "strategy": "rolling" }));
    assert_eq!(status, 202, "{reply}");
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(new_image().as_str()));
    let patches = w
        .k8s
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(&format!("/deployments/{APP}")))
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(patches, [409, 200], "retried after the conflict");
    let done = settle(&w.env, "staging");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["digest"], DIGEST);

    // A second version stalls: the deadline passes and the old image returns.
    w.k8s.stall(NS, APP);
    let (status, reply) = deploy(
        &w.env,
        "staging",
        json!({ "strategy": "rolling", "image": format!("{OLD}-bad") }),
    );
    assert_eq!(status, 202, "{reply}");
    w.k8s.exceed_deadline(NS, APP);
    let failed = settle(&w.env, "staging");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["rolled_back"], true);
    w.k8s.unstall(NS, APP);
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(new_image().as_str()));

    // Rollback after rolling: the release before the live one comes back.
    let (status, reply) = action(&w.env, "staging", "rollback");
    assert_eq!(status, 202, "{reply}");
    let rolled = settle(&w.env, "staging");
    assert_eq!(rolled["kind"], "rollback");
    assert_eq!(rolled["status"], "succeeded", "{rolled}");
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(OLD));
    let history = releases(&w.env, "staging");
    assert_eq!(history.len(), 3);
    assert!(
        history
            .iter()
            .all(|r| r["created_at_ms"].as_u64().is_some())
    );
}

#[test]
fn blue_green_switches_the_service_and_rolls_back_by_switching_back() {
    let w = world("gateway");
    w.k8s.add_deployment(
        NS,
        &format!("{APP}-blue"),
        &[("app", APP), ("slot", "blue")],
        APP,
        OLD,
        2,
    );
    w.k8s.add_deployment(
        NS,
        &format!("{APP}-green"),
        &[("app", APP), ("slot", "green")],
        APP,
        OLD,
        2,
    );
    w.k8s
        .add_service(NS, APP, &[("app", APP), ("slot", "blue")]);
    // Before blue-green, a first release to roll back to.
    let (status, reply) = deploy(
        &w.env,
        "staging",
        json!({ "strategy": "blue-green", "image": format!("{OLD}-2") }),
    );
    assert_eq!(status, 202, "{reply}");
    assert_eq!(settle(&w.env, "staging")["status"], "succeeded");
    let live_slot = w.k8s.service_selector(NS, APP).unwrap()["slot"].clone();
    assert_eq!(live_slot, "green");

    let (status, reply) = deploy(&w.env, "staging", json!({ "strategy": "blue-green" }));
    assert_eq!(status, 202, "{reply}");
    assert_eq!(
        w.k8s.service_selector(NS, APP).unwrap()["slot"],
        "green",
        "no switch before ready"
    );
    assert_eq!(settle(&w.env, "staging")["status"], "succeeded");
    assert_eq!(w.k8s.service_selector(NS, APP).unwrap()["slot"], "blue");
    assert_eq!(
        w.k8s.image(NS, &format!("{APP}-blue")).as_deref(),
        Some(new_image().as_str())
    );
    assert_eq!(
        w.k8s.image(NS, &format!("{APP}-green")).unwrap(),
        format!("{OLD}-2")
    );

    let (status, reply) = action(&w.env, "staging", "rollback");
    assert_eq!(status, 202, "{reply}");
    let rolled = settle(&w.env, "staging");
    assert_eq!(rolled["status"], "succeeded", "{rolled}");
    assert_eq!(w.k8s.service_selector(NS, APP).unwrap()["slot"], "green");
}

fn canary_promoted_through_every_step(traffic: &str) {
    let w = canary_world(traffic);
    let (status, reply) = deploy(
        &w.env,
        "production",
        json!({ "strategy": "canary", "steps": [10, 50, 100] }),
    );
    assert_eq!(status, 202, "{reply}");
    wait_for_weight(&w, traffic, 10);
    assert_eq!(
        w.k8s.image(NS, &format!("{APP}-canary")).as_deref(),
        Some(new_image().as_str())
    );
    assert_eq!(
        w.k8s.image(NS, APP).as_deref(),
        Some(OLD),
        "stable untouched during the canary"
    );
    assert_eq!(action(&w.env, "production", "promote").0, 200);
    wait_for_weight(&w, traffic, 50);
    assert_eq!(action(&w.env, "production", "promote").0, 200);
    let done = settle(&w.env, "production");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(new_image().as_str()));
    assert_eq!(canary_weight(&w, traffic), 0);
    assert!(!w.k8s.exists("Deployment", NS, &format!("{APP}-canary")));
}

#[test]
fn canary_with_gateway_api_weights_is_promoted_step_by_step() {
    canary_promoted_through_every_step("gateway");
}

#[test]
fn canary_with_ingress_nginx_annotations_is_promoted_step_by_step() {
    canary_promoted_through_every_step("ingress-nginx");
}

#[test]
fn canary_abort_at_each_step_returns_all_traffic_to_stable() {
    for abort_at in [10u32, 50] {
        let w = canary_world("gateway");
        let (status, reply) = deploy(
            &w.env,
            "production",
            json!({ "strategy": "canary", "steps": [10, 50, 100] }),
        );
        assert_eq!(status, 202, "{reply}");
        wait_for_weight(&w, "gateway", 10);
        if abort_at == 50 {
            assert_eq!(action(&w.env, "production", "promote").0, 200);
            wait_for_weight(&w, "gateway", 50);
        }
        let (status, reply) = action(&w.env, "production", "abort");
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["status"], "aborted");
        assert_eq!(canary_weight(&w, "gateway"), 0);
        assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(OLD));
        let replicas = w
            .k8s
            .deployment(NS, &format!("{APP}-canary"))
            .map(|d| d["spec"]["replicas"].clone());
        assert!(
            matches!(replicas, None | Some(Value::Number(_))),
            "{replicas:?}"
        );
        if let Some(Value::Number(n)) = replicas {
            assert_eq!(n.as_u64(), Some(0));
        }
        // The environment is free again.
        assert_eq!(
            deploy(&w.env, "production", json!({ "strategy": "rolling" })).0,
            202
        );
    }
}

#[test]
fn two_concurrent_deploys_to_one_environment_exactly_one_wins() {
    let w = world("gateway");
    w.k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 3);
    w.k8s.stall(NS, APP);
    let env = Arc::new(w.env);
    for round in 0..50 {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let env = env.clone();
                std::thread::spawn(move || {
                    deploy(&env, "staging", json!({ "strategy": "rolling" }))
                })
            })
            .collect();
        let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap().0).collect();
        statuses.sort();
        assert_eq!(statuses, [202, 409], "round {round}");
        let (status, reply) = action(&env, "staging", "abort");
        assert_eq!(status, 200, "round {round}: {reply}");
    }
}

#[test]
fn bad_requests_are_refused_and_write_nothing() {
    let w = world("gateway");
    w.k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 3);
    let rows = w.env.kv_rows();
    assert_eq!(deploy(&w.env, "nowhere", json!({})).0, 400);
    assert_eq!(
        deploy(&w.env, "staging", json!({ "image": "not an image" })).0,
        400
    );
    assert_eq!(deploy(&w.env, "staging", json!({ "app": "ghost" })).0, 400);
    assert_eq!(
        deploy(&w.env, "staging", json!({ "strategy": "yolo" })).0,
        400
    );
    let unauthorised = ureq::post(&w.env.host.url("/api/deploy")).send_string("{}");
    assert!(matches!(unauthorised, Err(ureq::Error::Status(401, _))));
    assert_eq!(
        action(&w.env, "staging", "promote").0,
        404,
        "nothing in progress"
    );
    assert_eq!(w.env.kv_rows(), rows);
}

#[test]
fn a_push_goes_through_tests_and_an_image_to_a_canary_in_production() {
    let w = canary_world("gateway");
    let pipeline = r#"
[stages.unit-test]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"
needs = ["unit-test"]
[stages.production]
kind = "deploy"
environment = "production"
strategy = "canary"
steps = [25, 100]
hold = "100ms"
needs = ["image"]
"#;
    let commit = sha(0x900);
    w.env.commit("github", &commit, pipeline);
    let (status, reply) = w.env.hook("github", &w.env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    let junit = include_bytes!("../fixtures/junit/TEST-com.acme.shop.CartTest-passing.xml");
    let token = w.env.callback_token(&run, "unit-test", 1);
    assert_eq!(
        w.env
            .callback(&run, "unit-test", &token, "application/xml", junit)
            .0,
        200
    );
    let image = json!({ "status": "succeeded", "artifacts": { "image": new_image() } }).to_string();
    let token = w.env.callback_token(&run, "image", 1);
    assert_eq!(
        w.env
            .callback(&run, "image", &token, "application/json", image.as_bytes())
            .0,
        200
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        w.env.api_post("/api/tick");
        let record = w.env.run(&run);
        if record["status"] != "running" || Instant::now() > deadline {
            break record;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["stages"]["production"]["status"], "succeeded");
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(new_image().as_str()));
    let release = releases(&w.env, "production")[0].clone();
    assert_eq!(release["run"], run.as_str());
    assert_eq!(release["strategy"], "canary");
    assert_eq!(release["digest"], DIGEST);
}

#[test]
fn pipeline_deploy_stages_run_rolling_then_blue_green_to_done() {
    let w = world("gateway");
    w.k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 2);
    w.k8s.add_deployment(
        NS,
        &format!("{APP}-blue"),
        &[("app", APP), ("slot", "blue")],
        APP,
        OLD,
        2,
    );
    w.k8s.add_deployment(
        NS,
        &format!("{APP}-green"),
        &[("app", APP), ("slot", "green")],
        APP,
        OLD,
        2,
    );
    w.k8s
        .add_service(NS, APP, &[("app", APP), ("slot", "blue")]);
    let pipeline = r#"
[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"
[stages.staging]
kind = "deploy"
environment = "staging"
strategy = "rolling"
needs = ["image"]
[stages.production]
kind = "deploy"
environment = "production"
strategy = "blue-green"
needs = ["staging"]
"#;
    let commit = sha(0x910);
    w.env.commit("github", &commit, pipeline);
    let (status, reply) = w.env.hook("github", &w.env.push("github", "main", &commit));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    let image = json!({ "status": "succeeded", "artifacts": { "image": new_image() } }).to_string();
    let token = w.env.callback_token(&run, "image", 1);
    assert_eq!(
        w.env
            .callback(&run, "image", &token, "application/json", image.as_bytes())
            .0,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        w.env.api_post("/api/tick");
        let record = w.env.run(&run);
        if record["status"] != "running" || Instant::now() > deadline {
            break record;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(w.k8s.image(NS, APP).as_deref(), Some(new_image().as_str()));
    assert_eq!(w.k8s.service_selector(NS, APP).unwrap()["slot"], "green");
    assert_eq!(
        w.k8s.image(NS, &format!("{APP}-green")).as_deref(),
        Some(new_image().as_str())
    );
    assert_eq!(releases(&w.env, "staging")[0]["strategy"], "rolling");
    assert_eq!(releases(&w.env, "production")[0]["strategy"], "blue-green");
}
