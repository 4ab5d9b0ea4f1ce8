//! Kubernetes canaries that carry their traffic, end to end through the
//! real components against the fake API server: the canary's replicas
//! follow the weight, a weight the gateway does not accept fails the step,
//! and a paused Deployment fails instead of waiting for ever.

use serde_json::json;
use slipway_tests::deploy_env::*;

/// Ticks until the newest deployment to `environment` has ended.
fn until_ended(w: &World, environment: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        w.env.api_post("/api/tick");
        let newest = releases(&w.env, environment)[0].clone();
        let ended = !matches!(newest["status"].as_str(), Some("in-progress" | "paused"));
        if ended || std::time::Instant::now() > deadline {
            return newest;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn replicas(w: &World, name: &str) -> u64 {
    w.k8s.deployment(NS, name).unwrap()["spec"]["replicas"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_canary_runs_its_share_of_the_stable_replicas_at_each_step() {
    let w = canary_world("gateway");
    let canary = format!("{APP}-canary");
    let (status, reply) = deploy(
        &w.env,
        "production",
        json!({ "strategy": "canary", "steps": [10, 50, 100] }),
    );
    assert_eq!(status, 202, "{reply}");
    wait_for_weight(&w, "gateway", 10);
    assert_eq!(
        (replicas(&w, &canary), replicas(&w, APP)),
        (1, 3),
        "10% of 3"
    );
    assert_eq!(action(&w.env, "production", "promote").0, 200);
    wait_for_weight(&w, "gateway", 50);
    assert_eq!(
        (replicas(&w, &canary), replicas(&w, APP)),
        (2, 3),
        "50% of 3"
    );
    let available = w.k8s.deployment(NS, &canary).unwrap()["status"]["availableReplicas"].clone();
    assert_eq!(available, 2, "traffic moved only once both were available");
    assert_eq!(action(&w.env, "production", "promote").0, 200);
    let done = settle(&w.env, "production");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(replicas(&w, APP), 3, "stable was never scaled down");
    assert!(!w.k8s.exists("Deployment", NS, &canary));
}

#[test]
fn a_weight_the_gateway_does_not_accept_fails_the_step_with_its_message() {
    let w = world("gateway");
    w.k8s
        .add_deployment(NS, APP, &[("app", APP), ("track", "stable")], APP, OLD, 2);
    w.k8s.add_service(
        NS,
        &format!("{APP}-stable"),
        &[("app", APP), ("track", "stable")],
    );
    // No `-canary` Service: the gateway cannot resolve the canary backend.
    w.k8s.add_http_route(
        NS,
        APP,
        &[
            (&format!("{APP}-stable"), 100),
            (&format!("{APP}-canary"), 0),
        ],
    );
    let (status, reply) = deploy(
        &w.env,
        "production",
        json!({ "strategy": "canary", "steps": [25, 100] }),
    );
    assert_eq!(status, 202, "{reply}");
    // The step is paused at 25% until the tick finds the gateway's refusal.
    let failed = until_ended(&w, "production");
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed.to_string();
    assert!(
        reason.contains(
            "ResolvedRefs False (BackendNotFound): Service \\\"shop-github-canary\\\" not found"
        ),
        "{failed}"
    );
    let weights = w.k8s.route_weights(NS, APP);
    assert!(
        weights
            .iter()
            .all(|(name, weight)| name.ends_with("-stable") == (*weight == 100)),
        "{weights:?}"
    );
    assert_eq!(replicas(&w, &format!("{APP}-canary")), 0);
}

#[test]
fn a_paused_deployment_fails_the_update_and_says_how_to_resume_it() {
    let w = world("gateway");
    w.k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 2);
    w.k8s.pause(NS, APP);
    let (status, reply) = deploy(&w.env, "staging", json!({ "strategy": "rolling" }));
    assert_eq!(status, 202, "{reply}");
    let failed = settle(&w.env, "staging");
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed.to_string();
    assert!(
        reason.contains("paused")
            && reason.contains("kubectl rollout resume deployment/shop-github"),
        "{failed}"
    );
}
