//! The requests a schedule sends, each through the real entry point, and
//! what the outside world does between bursts.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::world::{SimHttp, SimKv, SimSecrets};
use super::{API_TOKEN, Answer, EVENTS, HOOK_SECRET, Request, World};
use crate::engine::{Deps, callback_token, tick as engine_tick};
use crate::entry::{callback, deploy_api, follow_up, retry, webhook};
use crate::providers::Headers;

const PUSH: &str = include_str!("../../../tests/fixtures/providers/github/push_new_branch.json");

/// Runs `body` with the world's ports.
macro_rules! with_deps {
    ($w:expr, |$deps:ident| $body:expr) => {{
        let kv = SimKv {
            mem: &$w.mem,
            dials: &$w.dials,
        };
        let http = SimHttp {
            dials: &$w.dials,
            mem: &$w.mem,
            clock: &$w.clock,
            kube: &$w.kube,
            calls: &$w.calls,
            builds: &$w.builds,
        };
        let $deps = Deps {
            kv: &kv,
            http: &http,
            clock: &$w.clock,
            secrets: &SimSecrets,
            config: &$w.config,
        };
        $body
    }};
}

/// A random request.
pub fn random(w: &World, id: u64) -> Request<'_> {
    match w.rand(100) {
        0..30 => Box::pin(push(w, w.rand(EVENTS), id)),
        30..55 => Box::pin(callback(w)),
        55..68 => Box::pin(tick(w)),
        68..75 => Box::pin(retry(w)),
        75..84 => Box::pin(deploy(w)),
        84..91 => Box::pin(operate(w, "promote")),
        91..96 => Box::pin(operate(w, "abort")),
        _ => Box::pin(operate(w, "rollback")),
    }
}

fn bearer(token: &str) -> Headers {
    Headers::from([
        ("authorization".to_owned(), format!("Bearer {token}")),
        ("content-type".to_owned(), "application/json".to_owned()),
    ])
}

/// Delivers push `event` (signed as GitHub signs), then does the work
/// after the answer.
async fn push(w: &World, event: u64, delivery: u64) {
    let mut payload: Value = serde_json::from_str(PUSH).expect("fixture");
    payload["after"] = json!(format!("{event:040x}"));
    let body = payload.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let headers = Headers::from([
        ("x-github-event".to_owned(), "push".to_owned()),
        (
            "x-github-delivery".to_owned(),
            format!("delivery-{delivery}"),
        ),
        ("x-hub-signature-256".to_owned(), signature),
        ("content-type".to_owned(), "application/json".to_owned()),
    ]);
    with_deps!(w, |deps| {
        let handled = webhook::handle_webhook(&deps, "github", &headers, body.as_bytes()).await;
        w.answers.borrow_mut().push(Answer {
            event,
            status: handled.reply.status,
            run: handled.reply.body["run"].as_str().map(str::to_owned),
        });
        follow_up(&deps, &handled).await;
    })
}

/// A build reports on a random build it was asked for (maybe again, maybe
/// for an old attempt).
async fn callback(w: &World) {
    let items: Vec<_> = w.builds.borrow().items.values().cloned().collect();
    let pick = w.rand(items.len().max(1) as u64) as usize;
    let Some((run, stage, attempt)) = items.get(pick).cloned() else {
        return tick(w).await;
    };
    let status = if w.rand(100) < 85 {
        "succeeded"
    } else {
        "failed"
    };
    let mut report = json!({ "status": status });
    if stage == "image" {
        report["artifacts"] =
            json!({ "image": format!("registry.example.com/acme/web:2.{attempt}") });
    }
    let token = callback_token("sim-callback-secret", &run, &stage, attempt);
    let body = report.to_string();
    with_deps!(w, |deps| {
        callback::handle_callback(&deps, &run, &stage, &bearer(&token), "", body.as_bytes()).await;
    })
}

/// `POST /api/tick`.
pub async fn tick(w: &World) {
    with_deps!(w, |deps| {
        engine_tick::tick(&deps, 20_000).await;
    })
}

/// Retries a random stage of a random run.
async fn retry(w: &World) {
    let run = format!("web-{}", 1 + w.rand(EVENTS + 1));
    let stage = ["unit", "image", "deploy"][w.rand(3) as usize];
    with_deps!(w, |deps| {
        retry::handle_retry(&deps, &run, stage, &bearer(API_TOKEN)).await;
    })
}

/// Asks for a canary deployment by hand.
async fn deploy(w: &World) {
    let body = json!({
        "app": "web", "environment": "prod",
        "image": format!("registry.example.com/acme/web:3.{}", w.rand(5)),
        "strategy": "canary", "steps": [50, 100],
    })
    .to_string();
    with_deps!(w, |deps| {
        deploy_api::handle(
            &deps,
            "POST",
            "/api/deploy",
            &bearer(API_TOKEN),
            body.as_bytes(),
        )
        .await;
    })
}

/// Promote, abort or rollback.
async fn operate(w: &World, action: &str) {
    let path = format!("/api/deploy/web/prod/{action}");
    with_deps!(w, |deps| {
        deploy_api::handle(&deps, "POST", &path, &bearer(API_TOKEN), b"").await;
    })
}

/// Between bursts: the cluster rolls out what it was given, and some
/// builds finish without calling back (the tick polls them).
pub fn world_moves_on(w: &World) {
    for name in ["web", "web-canary"] {
        if w.kube.has_deployment(name) && w.rand(100) < 70 {
            w.kube.roll_out(name);
        }
    }
    let pending: Vec<u64> = {
        let builds = w.builds.borrow();
        builds
            .items
            .keys()
            .filter(|i| !builds.results.contains_key(i))
            .copied()
            .collect()
    };
    for item in pending {
        if w.rand(100) < 15 {
            let result = if w.rand(100) < 80 {
                "SUCCESS"
            } else {
                "FAILURE"
            };
            w.builds.borrow_mut().results.insert(item, result);
        }
    }
}

/// Every build without a result succeeds (so polling ends each stage).
pub fn finish_every_build(w: &World) {
    let mut builds = w.builds.borrow_mut();
    let items: Vec<u64> = builds.items.keys().copied().collect();
    for item in items {
        builds.results.entry(item).or_insert("SUCCESS");
    }
}
