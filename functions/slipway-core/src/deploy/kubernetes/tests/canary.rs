//! Canary rollouts over an HTTPRoute and over an Ingress-NGINX canary.

use futures::executor::block_on;
use serde_json::{Value, json};

use super::fake::*;
use super::{env, world};
use crate::deploy::kubernetes::canary::canary_replicas;
use crate::deploy::kubernetes::*;
use crate::deploy::{DeployError, StepOutcome, Strategy};

pub(crate) fn with_traffic(k: &FakeKube) {
    for name in ["web-stable", "web-canary"] {
        k.put(
            &format!("{SERVICES}/{name}"),
            json!({"metadata": {"name": name}}),
        );
    }
    k.put(
        &format!("{ROUTES}/web"),
        json!({"metadata": {"name": "web"}, "spec": {"parentRefs": [{"name": "public-gw"}],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [{"name": "web-stable", "port": 80, "weight": 1},
                                {"name": "web-canary", "port": 80, "weight": 1}]}]}}),
    );
    k.put(
        &format!("{INGRESSES}/web-canary"),
        json!({"metadata": {"name": "web-canary", "annotations": {"kubernetes.io/ingress.class": "nginx"}}}),
    );
}

pub(crate) fn weights(k: &FakeKube) -> (u64, u64) {
    let route = k.get(&format!("{ROUTES}/web")).unwrap();
    let refs = &route["spec"]["rules"][0]["backendRefs"];
    (
        refs[0]["weight"].as_u64().unwrap(),
        refs[1]["weight"].as_u64().unwrap(),
    )
}

fn annotation(k: &FakeKube, key: &str) -> Value {
    k.get(&format!("{INGRESSES}/web-canary")).unwrap()["metadata"]["annotations"][key].clone()
}

fn canary(steps: &[u8], hold_ms: Option<u64>) -> Strategy {
    Strategy::Canary {
        steps: steps.to_vec(),
        hold_ms,
    }
}

#[test]
fn canary_with_holds_walks_the_steps_then_updates_stable() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, outcome) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[10, 50, 100], Some(1_000)),
        0,
    ))
    .unwrap();
    assert!(
        matches!(
            outcome,
            StepOutcome::InProgress {
                traffic_percent: Some(0),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(weights(&k), (100, 0));
    let c = k.deployment("web-canary");
    assert_eq!(
        c["metadata"]["labels"],
        json!({"app": "web", "track": "canary"})
    );
    assert_eq!(
        c["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "track": "canary"})
    );
    assert_eq!(
        (k.image("web-canary"), k.replicas("web-canary")),
        (NEW.to_owned(), 1)
    );
    assert_eq!(k.image("web"), OLD);
    let route_patch = k
        .writes()
        .into_iter()
        .find(|w| w.path.starts_with(ROUTES))
        .unwrap();
    assert_eq!(
        route_patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert!(route_patch.body["metadata"]["resourceVersion"].is_string());
    assert_eq!(
        route_patch.body["spec"]["rules"][0]["matches"][0]["path"]["value"],
        "/"
    );

    k.roll_out("web-canary");
    let s = |r: &mut KubeRollout, t| block_on(step(&k, &e, TOKEN, r, t)).unwrap();
    assert_eq!(
        s(&mut r, 10),
        StepOutcome::Paused {
            step: 0,
            traffic_percent: 10
        }
    );
    assert_eq!(weights(&k), (90, 10));
    assert_eq!(
        s(&mut r, 900),
        StepOutcome::Paused {
            step: 0,
            traffic_percent: 10
        }
    );
    assert_eq!(k.replicas("web-canary"), 1, "10% of 3 replicas");
    // 50% of 3 replicas: the canary scales to 2 before its traffic moves.
    let outcome = s(&mut r, 1_010);
    assert!(
        matches!(&outcome, StepOutcome::InProgress { traffic_percent: Some(10), message }
            if message.contains("1 of 2 replicas available before 50%")),
        "{outcome:?}"
    );
    assert_eq!((weights(&k), k.replicas("web-canary")), ((90, 10), 2));
    k.roll_out("web-canary");
    assert_eq!(
        s(&mut r, 1_020),
        StepOutcome::Paused {
            step: 1,
            traffic_percent: 50
        }
    );
    assert_eq!(weights(&k), (50, 50));
    let outcome = s(&mut r, 2_020);
    assert!(
        matches!(
            outcome,
            StepOutcome::InProgress {
                traffic_percent: Some(50),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        k.replicas("web-canary"),
        3,
        "all of stable's replicas at 100%"
    );
    assert_eq!(k.replicas("web"), 3, "stable is not scaled down");
    k.roll_out("web-canary");
    let outcome = s(&mut r, 2_030);
    assert!(
        matches!(
            outcome,
            StepOutcome::InProgress {
                traffic_percent: Some(100),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(weights(&k), (0, 100));
    assert_eq!(k.image("web"), NEW);
    assert!(matches!(
        s(&mut r, 2_040),
        StepOutcome::InProgress {
            traffic_percent: Some(100),
            ..
        }
    ));
    k.roll_out("web");
    assert_eq!(s(&mut r, 2_050), StepOutcome::Succeeded);
    assert_eq!(weights(&k), (100, 0));
    assert!(!k.has_deployment("web-canary"));
    assert!(k.writes().iter().all(|w| !(w.path.starts_with(ROUTES)
        && w.content_type.as_deref() == Some("application/strategic-merge-patch+json"))));
}

#[test]
fn canary_without_hold_waits_for_promote_over_ingress_nginx() {
    let k = world();
    with_traffic(&k);
    let mut e = env();
    e.traffic = Traffic::IngressNginx;
    let (mut r, _) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[25, 100], None),
        0,
    ))
    .unwrap();
    assert_eq!(annotation(&k, "nginx.ingress.kubernetes.io/canary"), "true");
    assert_eq!(
        annotation(&k, "nginx.ingress.kubernetes.io/canary-weight"),
        "0"
    );
    assert_eq!(annotation(&k, "kubernetes.io/ingress.class"), "nginx");
    assert!(matches!(
        block_on(promote(&k, &e, TOKEN, &mut r, 1)),
        Err(DeployError::NotApplicable(_))
    ));
    k.roll_out("web-canary");
    assert_eq!(
        block_on(step(&k, &e, TOKEN, &mut r, 5)).unwrap(),
        StepOutcome::Paused {
            step: 0,
            traffic_percent: 25
        }
    );
    assert_eq!(
        annotation(&k, "nginx.ingress.kubernetes.io/canary-weight"),
        "25"
    );
    assert_eq!(
        block_on(step(&k, &e, TOKEN, &mut r, 999_999)).unwrap(),
        StepOutcome::Paused {
            step: 0,
            traffic_percent: 25
        }
    );
    let outcome = block_on(promote(&k, &e, TOKEN, &mut r, 1_000_000)).unwrap();
    assert!(matches!(
        outcome,
        StepOutcome::InProgress {
            traffic_percent: Some(25),
            ..
        }
    ));
    k.roll_out("web-canary");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 1_000_000)).unwrap();
    assert!(matches!(
        outcome,
        StepOutcome::InProgress {
            traffic_percent: Some(100),
            ..
        }
    ));
    assert_eq!(
        annotation(&k, "nginx.ingress.kubernetes.io/canary-weight"),
        "100"
    );
    k.roll_out("web");
    assert_eq!(
        block_on(step(&k, &e, TOKEN, &mut r, 1_000_001)).unwrap(),
        StepOutcome::Succeeded
    );
    assert_eq!(
        annotation(&k, "nginx.ingress.kubernetes.io/canary-weight"),
        "0"
    );
    assert!(!k.has_deployment("web-canary"));
    let ingress_patch = k
        .writes()
        .into_iter()
        .find(|w| w.path.starts_with(INGRESSES))
        .unwrap();
    assert_eq!(
        ingress_patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert!(k.writes().iter().all(|w| !w.path.starts_with(ROUTES)));
}

#[test]
fn abort_at_every_stage_returns_everything_to_stable() {
    // 0: warming up, 1: step 0, 2: step 1, 3: stable being updated.
    for stage in 0..4 {
        let k = world();
        with_traffic(&k);
        let e = env();
        let (mut r, _) = block_on(start(
            &k,
            &e,
            TOKEN,
            "web",
            NEW,
            &canary(&[10, 50, 100], None),
            0,
        ))
        .unwrap();
        if stage > 0 {
            k.roll_out("web-canary");
            block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
        }
        for _ in 1..stage {
            block_on(promote(&k, &e, TOKEN, &mut r, 2)).unwrap();
            k.roll_out("web-canary");
            block_on(step(&k, &e, TOKEN, &mut r, 2)).unwrap();
        }
        if stage == 3 {
            assert_eq!(k.image("web"), NEW);
        }
        assert_eq!(
            block_on(abort(&k, &e, TOKEN, &mut r, 3)).unwrap(),
            StepOutcome::Aborted,
            "stage {stage}"
        );
        assert_eq!(weights(&k), (100, 0), "stage {stage}");
        assert_eq!(k.replicas("web-canary"), 0, "stage {stage}");
        assert_eq!(k.image("web"), OLD, "stage {stage}");
        assert_eq!(r.phase, Phase::Ended(StepOutcome::Aborted));
    }
}

#[test]
fn an_unhealthy_canary_is_not_advanced_when_the_hold_ends() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, _) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[10, 100], Some(100)),
        0,
    ))
    .unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    k.half_way("web-canary");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 500)).unwrap();
    assert!(
        matches!(
            outcome,
            StepOutcome::InProgress {
                traffic_percent: Some(10),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(weights(&k), (90, 10));
    k.roll_out("web-canary");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 600)).unwrap();
    assert!(
        matches!(&outcome, StepOutcome::InProgress { traffic_percent: Some(10), message }
            if message.contains("before 100%")),
        "{outcome:?}"
    );
    k.roll_out("web-canary");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 700)).unwrap();
    assert!(
        matches!(
            outcome,
            StepOutcome::InProgress {
                traffic_percent: Some(100),
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_stalled_canary_fails_back_to_stable() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, _) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[20, 100], None),
        0,
    ))
    .unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    assert_eq!(weights(&k), (80, 20));
    k.stall("web-canary");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 2)).unwrap();
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
    assert_eq!(weights(&k), (100, 0));
    assert_eq!(k.replicas("web-canary"), 0);
}

#[test]
fn a_stalled_stable_update_is_rolled_back() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, _) = block_on(start(&k, &e, TOKEN, "web", NEW, &canary(&[100], None), 0)).unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    assert_eq!((weights(&k), k.image("web")), ((0, 100), NEW.to_owned()));
    k.stall("web");
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 2)).unwrap();
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
    assert_eq!((weights(&k), k.image("web")), ((100, 0), OLD.to_owned()));
    // A rolled-out canary release rolls back like a rolling update.
    let (_, outcome) = block_on(rollback(&k, &e, TOKEN, "web", &r, 3)).unwrap();
    assert!(matches!(
        outcome,
        StepOutcome::Succeeded | StepOutcome::InProgress { .. }
    ));
}

#[test]
fn route_conflicts_are_retried_and_missing_backends_are_reported() {
    let k = world();
    with_traffic(&k);
    let e = env();
    *k.conflicts.borrow_mut() = 1;
    block_on(start(&k, &e, TOKEN, "web", NEW, &canary(&[100], None), 0)).unwrap();
    assert_eq!(weights(&k), (100, 0));

    let k = world();
    with_traffic(&k);
    k.put(
        &format!("{ROUTES}/web"),
        json!({"metadata": {"name": "web"}, "spec": {"rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}),
    );
    let err = block_on(start(&k, &e, TOKEN, "web", NEW, &canary(&[100], None), 0)).unwrap_err();
    assert!(
        matches!(&err, DeployError::Config(m) if m.contains("web-stable")),
        "{err:?}"
    );
    assert!(
        !k.has_deployment("web-canary"),
        "nothing created before traffic is known to work"
    );
}

/// Gateway status `conditions` for parent `public-gw` at `generation`.
fn route_status(k: &FakeKube, generation: u64, resolved: (&str, &str, &str)) {
    let path = format!("{ROUTES}/web");
    let mut route = k.get(&path).unwrap();
    route["status"] = json!({"parents": [{"parentRef": {"name": "public-gw"},
        "controllerName": "example.net/gateway-controller",
        "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "observedGeneration": generation},
            {"type": "ResolvedRefs", "status": resolved.0, "reason": resolved.1, "message": resolved.2, "observedGeneration": generation}]}]});
    k.objects.borrow_mut().insert(path, route);
}

fn route_generation(k: &FakeKube) -> u64 {
    k.get(&format!("{ROUTES}/web")).unwrap()["metadata"]["generation"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_weight_the_gateway_refuses_fails_the_step_with_its_message() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, _) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[10, 50, 100], Some(100)),
        0,
    ))
    .unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    assert_eq!(weights(&k), (90, 10));
    // The controller has not looked at the new weights yet: the hold ends
    // but the step waits.
    let generation = route_generation(&k);
    route_status(&k, generation - 1, ("True", "ResolvedRefs", ""));
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 500)).unwrap();
    assert!(
        matches!(&outcome, StepOutcome::InProgress { traffic_percent: Some(10), message }
            if message.contains("waiting for the gateway")),
        "{outcome:?}"
    );
    // It reports the backend it cannot resolve: the step fails, traffic
    // goes back to stable and the canary to zero.
    route_status(
        &k,
        generation,
        (
            "False",
            "BackendNotFound",
            "backend web-canary port 80 not found",
        ),
    );
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 600)).unwrap();
    match outcome {
        StepOutcome::Failed { reason, rolled_back: true } => assert!(
            reason.contains("gateway public-gw: ResolvedRefs False (BackendNotFound): backend web-canary port 80 not found"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (weights(&k), k.replicas("web-canary"), k.image("web")),
        ((100, 0), 0, OLD.to_owned())
    );
}

#[test]
fn an_accepted_weight_lets_the_hold_advance() {
    let k = world();
    with_traffic(&k);
    let e = env();
    let (mut r, _) = block_on(start(
        &k,
        &e,
        TOKEN,
        "web",
        NEW,
        &canary(&[10, 100], Some(100)),
        0,
    ))
    .unwrap();
    k.roll_out("web-canary");
    block_on(step(&k, &e, TOKEN, &mut r, 1)).unwrap();
    route_status(&k, route_generation(&k), ("True", "ResolvedRefs", ""));
    let outcome = block_on(step(&k, &e, TOKEN, &mut r, 500)).unwrap();
    assert!(
        matches!(&outcome, StepOutcome::InProgress { message, .. } if message.contains("before 100%")),
        "{outcome:?}"
    );
}

#[test]
fn canary_replicas_follow_the_weight() {
    let cases = [
        (1, 3, 1),
        (10, 3, 1),
        (34, 3, 2),
        (50, 4, 2),
        (51, 4, 3),
        (100, 3, 3),
        (100, 0, 1),
    ];
    for (percent, stable, wanted) in cases {
        assert_eq!(
            canary_replicas(percent, stable),
            wanted,
            "{percent}% of {stable}"
        );
    }
}
