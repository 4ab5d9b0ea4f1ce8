//! The world of the deployment tests: the app on the host with environments
//! on a fake Kubernetes API server (`staging`, `production` with the traffic
//! router under test) and a fake Docker Engine (`swarm`), and helpers to
//! deploy, act and wait.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fakes::{FakeDocker, FakeKubernetes};
use crate::pipeline_env::{API_TOKEN, Env};

/// The app deployed.
pub const APP: &str = "shop-github";
/// Its namespace.
pub const NS: &str = "shop";
/// The image it runs before a deploy.
pub const OLD: &str = "registry.example.com/acme/shop:1.0.0";
/// The digest of the image deployed.
pub const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
/// The fake Kubernetes API server's bearer token.
pub const K8S_TOKEN: &str = "k8s-token";

/// The image deployed, by digest.
pub fn new_image() -> String {
    format!("registry.example.com/acme/shop@{DIGEST}")
}

/// The app on the host with a fake Kubernetes and a fake Docker Engine.
pub struct World {
    /// The app.
    pub env: Env,
    /// The Kubernetes API server of `staging` and `production`.
    pub k8s: FakeKubernetes,
    /// The Docker Engine of `swarm`.
    pub docker: FakeDocker,
}

/// Starts the app and the fakes; `production` splits canary traffic
/// with `traffic` (`gateway` or `ingress-nginx`).
pub fn world(traffic: &str) -> World {
    let k8s = FakeKubernetes::start(K8S_TOKEN);
    k8s.add_namespace(NS);
    k8s.set_rollout_step(Some(Duration::from_millis(20)));
    let docker = FakeDocker::start();
    let config = format!(
        r#"
[environments.staging]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
[environments.production]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
traffic = "{traffic}"
[environments.swarm]
platform = "docker"
url = "{docker}"
api_version = "1.47"
"#,
        k8s = k8s.url(),
        docker = docker.url()
    );
    let env = Env::start_with(&config, &[&format!("kubernetes_token={K8S_TOKEN}")]);
    World { env, k8s, docker }
}

/// `POST /api/deploy` of [`new_image`] to `environment`, with `strategy`
/// merged into the body.
pub fn deploy(env: &Env, environment: &str, strategy: Value) -> (u16, Value) {
    let mut body = json!({ "app": APP, "environment": environment, "image": new_image() });
    if let (Some(b), Some(s)) = (body.as_object_mut(), strategy.as_object()) {
        b.extend(s.clone());
    }
    let response = ureq::post(&env.host.url("/api/deploy"))
        .set("authorization", &format!("Bearer {API_TOKEN}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string());
    let (status, text) = match response {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("deploy: {e}"),
    };
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `POST /api/deploy/{app}/{environment}/{what}` (promote, abort, rollback).
pub fn action(env: &Env, environment: &str, what: &str) -> (u16, Value) {
    env.api_post(&format!("/api/deploy/{APP}/{environment}/{what}"))
}

/// The release history of `environment`, newest first.
pub fn releases(env: &Env, environment: &str) -> Vec<Value> {
    let (status, v) = env.api_get(&format!(
        "/api/apps/{APP}/environments/{environment}/releases"
    ));
    assert_eq!(status, 200, "{v}");
    v["releases"].as_array().unwrap().clone()
}

/// Ticks until the newest deployment to `environment` is no longer in
/// progress; returns it.
pub fn settle(env: &Env, environment: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, reply) = env.api_post("/api/tick");
        assert_eq!(status, 200, "{reply}");
        let newest = releases(env, environment).first().cloned().unwrap();
        let state = newest["status"].as_str().unwrap_or("").to_owned();
        if state != "in-progress" || Instant::now() > deadline {
            return newest;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`world`] with a 3-replica stable Deployment, `-stable` and `-canary`
/// Services, an HTTPRoute and a canary Ingress.
pub fn canary_world(traffic: &str) -> World {
    let w = world(traffic);
    w.k8s
        .add_deployment(NS, APP, &[("app", APP), ("track", "stable")], APP, OLD, 3);
    w.k8s.add_service(
        NS,
        &format!("{APP}-stable"),
        &[("app", APP), ("track", "stable")],
    );
    w.k8s.add_service(
        NS,
        &format!("{APP}-canary"),
        &[("app", APP), ("track", "canary")],
    );
    w.k8s.add_http_route(
        NS,
        APP,
        &[
            (&format!("{APP}-stable"), 100),
            (&format!("{APP}-canary"), 0),
        ],
    );
    w.k8s.add_ingress(
        NS,
        &format!("{APP}-canary"),
        &[
            ("nginx.ingress.kubernetes.io/canary", "true"),
            ("nginx.ingress.kubernetes.io/canary-weight", "0"),
        ],
        &format!("{APP}-canary"),
    );
    w
}

/// The canary's share of traffic now, as the router under test holds it.
pub fn canary_weight(w: &World, traffic: &str) -> u32 {
    if traffic == "gateway" {
        w.k8s
            .route_weights(NS, APP)
            .iter()
            .find(|(b, _)| b.ends_with("-canary"))
            .map(|(_, weight)| *weight)
            .unwrap_or(0)
    } else {
        w.k8s
            .ingress_annotation(
                NS,
                &format!("{APP}-canary"),
                "nginx.ingress.kubernetes.io/canary-weight",
            )
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Ticks until the canary waits at `weight` percent.
pub fn wait_for_weight(w: &World, traffic: &str, weight: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while canary_weight(w, traffic) != weight
        || releases(&w.env, "production")[0]["status"] != "paused"
    {
        assert!(
            Instant::now() < deadline,
            "canary never reached {weight}%: {:?}",
            releases(&w.env, "production")[0]
        );
        w.env.api_post("/api/tick");
        std::thread::sleep(Duration::from_millis(50));
    }
}
