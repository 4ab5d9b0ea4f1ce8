//! Adapter tests against an in-memory API server.

pub(crate) mod canary;
pub(crate) mod fake;

use futures::executor::block_on;
use serde_json::{Value, json};

use self::fake::*;
use super::*;

pub(crate) fn env() -> KubernetesEnv {
    KubernetesEnv {
        api_server: format!("{BASE}/"),
        namespace: "prod".into(),
        token_secret: "K8S_TOKEN".into(),
        container: None,
        traffic: Traffic::Gateway,
        replicas_hint: None,
    }
}

fn deployment(name: &str, labels: Value, image: &str, replicas: u64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "prod", "labels": labels.clone(), "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels.clone()},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}, {"name": "proxy", "image": "envoy:1.30"}]}}},
        "status": {}
    })
}

/// A namespace with a rolled-out `web` (stable) and blue-green objects.
pub(crate) fn world() -> FakeKube {
    let k = FakeKube::new();
    k.put(
        &format!("{DEPLOYMENTS}/web"),
        deployment("web", json!({"app": "web", "track": "stable"}), OLD, 3),
    );
    k.roll_out("web");
    k.put(
        &format!("{DEPLOYMENTS}/web-blue"),
        deployment("web-blue", json!({"app": "web", "slot": "blue"}), OLD, 3),
    );
    k.roll_out("web-blue");
    k.put(
        &format!("{SERVICES}/web"),
        json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web", "slot": "blue"}, "ports": [{"port": 80}]}}),
    );
    k
}

fn rolling_start(k: &FakeKube) -> (KubeRollout, StepOutcome) {
    block_on(start(
        k,
        &env(),
        TOKEN,
        "web",
        NEW,
        &Strategy::Rolling,
        1_000,
    ))
    .unwrap()
}

#[test]
fn rolling_bumps_the_image_and_follows_the_deployment() {
    let k = world();
    let (mut r, outcome) = rolling_start(&k);
    assert!(
        matches!(outcome, StepOutcome::InProgress { .. }),
        "{outcome:?}"
    );
    assert_eq!(k.image("web"), NEW);
    let d = k.deployment("web");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][1]["image"],
        "envoy:1.30"
    );
    let writes = k.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].path, format!("{DEPLOYMENTS}/web"));
    assert_eq!(
        writes[0].content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(
        writes[0].body,
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": NEW}]}}}})
    );
    assert_eq!(r.previous_image.as_deref(), Some(OLD));

    k.half_way("web");
    let outcome = block_on(step(&k, &env(), TOKEN, &mut r, 2_000)).unwrap();
    assert_eq!(
        outcome,
        StepOutcome::InProgress {
            message: "1 of 3 replicas updated".into(),
            traffic_percent: None
        }
    );
    k.roll_out("web");
    assert_eq!(
        block_on(step(&k, &env(), TOKEN, &mut r, 3_000)).unwrap(),
        StepOutcome::Succeeded
    );
    k.clear();
    assert_eq!(
        block_on(step(&k, &env(), TOKEN, &mut r, 4_000)).unwrap(),
        StepOutcome::Succeeded
    );
    assert!(
        k.requests.borrow().is_empty(),
        "an ended rollout asks nothing"
    );
    let promote_err = block_on(promote(&k, &env(), TOKEN, &mut r, 4_000)).unwrap_err();
    assert!(matches!(promote_err, DeployError::NotApplicable(_)));
    assert!(matches!(
        block_on(abort(&k, &env(), TOKEN, &mut r, 4_000)),
        Err(DeployError::NotApplicable(_))
    ));
}

#[test]
fn a_stalled_rolling_update_is_rolled_back() {
    let k = world();
    let (mut r, _) = rolling_start(&k);
    k.stall("web");
    match block_on(step(&k, &env(), TOKEN, &mut r, 2_000)).unwrap() {
        StepOutcome::Failed {
            reason,
            rolled_back,
        } => {
            assert!(rolled_back);
            assert!(
                reason.contains("ProgressDeadlineExceeded") || reason.contains("timed out"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(k.image("web"), OLD);
    assert!(matches!(r.phase, Phase::Ended(StepOutcome::Failed { .. })));
}

#[test]
fn rolling_abort_restores_the_previous_image() {
    let k = world();
    let (mut r, _) = rolling_start(&k);
    assert_eq!(
        block_on(abort(&k, &env(), TOKEN, &mut r, 2_000)).unwrap(),
        StepOutcome::Aborted
    );
    assert_eq!(k.image("web"), OLD);
}

#[test]
fn rolling_rollback_patches_the_previous_image_and_is_not_undone_on_stall() {
    let k = world();
    let (mut r, _) = rolling_start(&k);
    k.roll_out("web");
    block_on(step(&k, &env(), TOKEN, &mut r, 2_000)).unwrap();
    let (mut back, outcome) = block_on(rollback(&k, &env(), TOKEN, "web", &r, 3_000)).unwrap();
    assert!(matches!(outcome, StepOutcome::InProgress { .. }));
    assert_eq!(k.image("web"), OLD);
    assert_eq!(
        (back.image.as_str(), back.previous_image.as_deref()),
        (OLD, Some(NEW))
    );
    assert!(back.is_rollback);
    k.stall("web");
    let outcome = block_on(step(&k, &env(), TOKEN, &mut back, 4_000)).unwrap();
    assert!(
        matches!(
            outcome,
            StepOutcome::Failed {
                rolled_back: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(k.image("web"), OLD, "a rollback is not rolled back");
}

fn add_green(k: &FakeKube, replicas: u64) {
    k.put(
        &format!("{DEPLOYMENTS}/web-green"),
        deployment(
            "web-green",
            json!({"app": "web", "slot": "green"}),
            "registry.example.com/acme/web:0.9",
            replicas,
        ),
    );
    k.roll_out("web-green");
}

fn selector(k: &FakeKube) -> Value {
    k.get(&format!("{SERVICES}/web")).unwrap()["spec"]["selector"].clone()
}

#[test]
fn blue_green_switches_the_selector_once_the_idle_slot_is_ready() {
    let k = world();
    add_green(&k, 0);
    let (mut r, outcome) = block_on(start(
        &k,
        &env(),
        TOKEN,
        "web",
        NEW,
        &Strategy::BlueGreen,
        0,
    ))
    .unwrap();
    assert!(matches!(
        outcome,
        StepOutcome::InProgress {
            traffic_percent: Some(0),
            ..
        }
    ));
    assert_eq!(
        (k.image("web-green"), k.replicas("web-green")),
        (NEW.to_owned(), 3)
    );
    assert_eq!(r.previous_image.as_deref(), Some(OLD));
    assert_eq!(selector(&k)["slot"], "blue");
    k.roll_out("web-green");
    assert_eq!(
        block_on(step(&k, &env(), TOKEN, &mut r, 10)).unwrap(),
        StepOutcome::Succeeded
    );
    assert_eq!(selector(&k), json!({"app": "web", "slot": "green"}));
    let svc_patch = k
        .writes()
        .into_iter()
        .find(|w| w.path.starts_with(SERVICES))
        .unwrap();
    assert_eq!(
        svc_patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        svc_patch.body,
        json!({"spec": {"selector": {"app": "web", "slot": "green"}}})
    );
    assert_eq!(
        (k.image("web-blue"), k.replicas("web-blue")),
        (OLD.to_owned(), 3),
        "old slot kept"
    );

    // Rollback: blue still runs OLD and is ready, so only the selector moves.
    k.clear();
    let (back, outcome) = block_on(rollback(&k, &env(), TOKEN, "web", &r, 20)).unwrap();
    assert_eq!(outcome, StepOutcome::Succeeded);
    assert_eq!(selector(&k)["slot"], "blue");
    let writes = k.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].path.ends_with("/services/web"));
    assert_eq!(back.slots.as_ref().map(|s| s.target), Some(Slot::Blue));
    assert_eq!(
        (back.image.as_str(), back.previous_image.as_deref()),
        (OLD, Some(NEW))
    );
}

#[test]
fn blue_green_abort_restores_the_idle_slot_and_leaves_the_service() {
    let k = world();
    add_green(&k, 0);
    let (mut r, _) = block_on(start(
        &k,
        &env(),
        TOKEN,
        "web",
        NEW,
        &Strategy::BlueGreen,
        0,
    ))
    .unwrap();
    assert_eq!(
        block_on(abort(&k, &env(), TOKEN, &mut r, 5)).unwrap(),
        StepOutcome::Aborted
    );
    assert_eq!(k.image("web-green"), "registry.example.com/acme/web:0.9");
    assert_eq!(k.replicas("web-green"), 0);
    assert_eq!(selector(&k)["slot"], "blue");
    assert!(k.writes().iter().all(|w| !w.path.starts_with(SERVICES)));
}

#[test]
fn blue_green_creates_a_missing_slot_and_scales_it_to_zero_on_stall() {
    let k = world();
    let mut e = env();
    e.replicas_hint = Some(2);
    let (mut r, _) = block_on(start(&k, &e, TOKEN, "web", NEW, &Strategy::BlueGreen, 0)).unwrap();
    let green = k.deployment("web-green");
    assert_eq!(
        green["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "slot": "green"})
    );
    assert_eq!(
        green["spec"]["template"]["metadata"]["labels"]["slot"],
        "green"
    );
    assert_eq!(
        (k.image("web-green"), k.replicas("web-green")),
        (NEW.to_owned(), 2)
    );
    let post = k.writes().into_iter().find(|w| w.method == "POST").unwrap();
    assert_eq!(
        (post.path.as_str(), post.content_type.as_deref()),
        (DEPLOYMENTS, Some("application/json"))
    );
    k.stall("web-green");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 5)).unwrap();
    assert!(
        matches!(
            outcome,
            StepOutcome::Failed {
                rolled_back: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(k.replicas("web-green"), 0);
    assert_eq!(selector(&k)["slot"], "blue");
}

#[test]
fn conflicts_are_retried_after_a_fresh_read() {
    let k = world();
    *k.conflicts.borrow_mut() = 1;
    let (_, outcome) = rolling_start(&k);
    assert!(matches!(outcome, StepOutcome::InProgress { .. }));
    assert_eq!(k.image("web"), NEW);
    let seen: Vec<_> = k
        .requests
        .borrow()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(seen[..5], ["GET", "GET", "PATCH", "GET", "PATCH"]);

    let k = world();
    *k.conflicts.borrow_mut() = 99;
    match block_on(start(&k, &env(), TOKEN, "web", NEW, &Strategy::Rolling, 0)) {
        Err(DeployError::Api {
            status: 409,
            message,
            ..
        }) => {
            assert!(
                message.contains("still conflicting after 5 attempts"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(k.writes().len(), 5);
}

#[test]
fn api_errors_carry_the_status_message_but_never_the_token() {
    let k = world();
    let forbidden = json!({"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:ci:slipway\" cannot get resource"});
    *k.fail_next.borrow_mut() = Some((403, forbidden.to_string()));
    match block_on(start(&k, &env(), TOKEN, "web", NEW, &Strategy::Rolling, 0)) {
        Err(e @ DeployError::Api { status: 403, .. }) => {
            let text = e.to_string();
            assert!(text.contains("is forbidden: User"), "{text}");
            assert!(!text.contains(TOKEN));
        }
        other => panic!("{other:?}"),
    }
    *k.fail_next.borrow_mut() = Some((502, format!("bad gateway for Bearer {TOKEN}")));
    let e = block_on(start(&k, &env(), TOKEN, "web", NEW, &Strategy::Rolling, 0)).unwrap_err();
    assert!(!e.to_string().contains(TOKEN), "{e}");
    assert!(e.to_string().contains("bad gateway"), "{e}");
    let missing =
        block_on(start(&k, &env(), TOKEN, "nope", NEW, &Strategy::Rolling, 0)).unwrap_err();
    assert!(
        matches!(missing, DeployError::Api { status: 404, .. }),
        "{missing:?}"
    );
    let unauthorized = block_on(start(
        &k,
        &env(),
        "wrong",
        "web",
        NEW,
        &Strategy::Rolling,
        0,
    ))
    .unwrap_err();
    assert!(matches!(unauthorized, DeployError::Api { status: 401, .. }));
}

#[test]
fn configuration_is_checked() {
    let k = world();
    let cfg = |r: Result<(KubeRollout, StepOutcome), DeployError>| {
        matches!(r, Err(DeployError::Config(_)))
    };
    assert!(cfg(block_on(start(
        &k,
        &env(),
        TOKEN,
        "Web",
        NEW,
        &Strategy::Rolling,
        0
    ))));
    assert!(cfg(block_on(start(
        &k,
        &env(),
        TOKEN,
        "web/x",
        NEW,
        &Strategy::Rolling,
        0
    ))));
    assert!(cfg(block_on(start(
        &k,
        &env(),
        TOKEN,
        "web",
        "web",
        &Strategy::Rolling,
        0
    ))));
    let mut e = env();
    e.namespace = "../x".into();
    assert!(cfg(block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &Strategy::Rolling,
        0
    ))));
    let mut e = env();
    e.container = Some("app".into());
    assert!(cfg(block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &Strategy::Rolling,
        0
    ))));
    for steps in [vec![], vec![10, 50], vec![50, 10, 100], vec![0, 100]] {
        let s = Strategy::Canary {
            steps,
            hold_ms: None,
        };
        assert!(cfg(block_on(start(&k, &env(), TOKEN, "web", NEW, &s, 0))));
    }
    assert!(k.writes().is_empty());
}

#[test]
fn settings_and_state_round_trip_as_json() {
    let e: KubernetesEnv = serde_json::from_value(json!({"api_server": BASE, "namespace": "prod",
        "token_secret": "K8S_TOKEN", "traffic": "ingress-nginx", "replicas_hint": 2}))
    .unwrap();
    assert_eq!(e.traffic, Traffic::IngressNginx);
    let d: KubernetesEnv = serde_json::from_value(
        json!({"api_server": BASE, "namespace": "prod", "token_secret": "T"}),
    )
    .unwrap();
    assert_eq!(d.traffic, Traffic::Gateway);
    assert!(
        serde_json::from_value::<KubernetesEnv>(json!({"api_server": BASE, "namespace": "p",
            "token_secret": "T", "extra": 1}))
        .is_err()
    );
    let k = world();
    let (r, _) = rolling_start(&k);
    let back: KubeRollout = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}
