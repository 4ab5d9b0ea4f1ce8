use super::*;

#[test]
fn start_and_step_to_completion() {
    let fake = Fake::new(&format!("{BASE}/v1.47"));
    let env = env(Some("1.47"));
    let (mut rollout, outcome) = block_on(start(
        &fake,
        &env,
        Some(TOKEN),
        Some(AUTH),
        "shop",
        NEW,
        &Strategy::Rolling,
        1_000,
    ))
    .unwrap();
    let requests = fake.take_requests();
    assert_eq!(
        lines(&requests),
        [
            "GET /v1.47/services/shop",
            "POST /v1.47/services/svc1/update?version=10",
            "GET /v1.47/services/svc1",
        ]
    );
    let post = &requests[1];
    assert_eq!(post.header_value("x-registry-auth"), Some(AUTH));
    assert_eq!(
        post.header_value("authorization"),
        Some("Bearer proxy-token-s3cr3t")
    );
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    let mut expected = spec(NEW);
    let update = json!({
        "Parallelism": 2, "Delay": 10_000_000_000u64, "FailureAction": "rollback",
        "Monitor": 5_000_000_000u64, "MaxFailureRatio": 0.0, "Order": "start-first"
    });
    let mut rollback = update.clone();
    rollback["FailureAction"] = json!("pause");
    expected["UpdateConfig"] = update;
    expected["RollbackConfig"] = rollback;
    assert_eq!(
        body, expected,
        "the complete spec, with the new image and settings"
    );
    assert_eq!(
        rollout,
        SwarmRollout {
            service: "shop".into(),
            service_id: "svc1".into(),
            image: NEW.into(),
            previous_image: OLD.into(),
            version: 11,
            started_at_ms: 1_000,
            phase: SwarmPhase::Updating,
            progressive: None,
        }
    );
    assert!(
        matches!(outcome, StepOutcome::InProgress { .. }),
        "{outcome:?}"
    );

    fake.set_status("updating", "update in progress");
    let outcome = step_at(&fake, &env, &mut rollout, 2_000);
    assert_eq!(
        outcome,
        StepOutcome::InProgress {
            message: "updating: update in progress".into(),
            traffic_percent: None
        }
    );
    assert_eq!(rollout.version, 12);
    fake.set_status("completed", "update completed");
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 3_000),
        StepOutcome::Succeeded
    );
    assert_eq!(rollout.phase, SwarmPhase::Finished(StepOutcome::Succeeded));
    assert_eq!(
        lines(&fake.take_requests()),
        ["GET /v1.47/services/svc1", "GET /v1.47/services/svc1"]
    );
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 4_000),
        StepOutcome::Succeeded
    );
    assert!(
        fake.take_requests().is_empty(),
        "an ended rollout sends nothing"
    );

    let stored = serde_json::to_string(&rollout).unwrap();
    assert_eq!(
        serde_json::from_str::<SwarmRollout>(&stored).unwrap(),
        rollout
    );
}

#[test]
fn no_update_status_succeeds_after_settling() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut rollout = started(&fake, &env);
    let outcome = step_at(&fake, &env, &mut rollout, 2_000);
    assert!(
        matches!(outcome, StepOutcome::InProgress { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 6_000),
        StepOutcome::Succeeded
    );
}

#[test]
fn failure_rolls_back_automatically() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut rollout = started(&fake, &env);
    fake.set_status("updating", "update in progress");
    step_at(&fake, &env, &mut rollout, 2_000);
    fake.auto_rollback("update rolled back due to failure or early termination of task abc");
    let outcome = step_at(&fake, &env, &mut rollout, 3_000);
    let StepOutcome::InProgress { message, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.starts_with("rolling back"), "{message}");
    fake.set_status("rollback_completed", "rollback completed");
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 4_000),
        StepOutcome::Failed {
            reason: "the update was rolled back: rollback completed".into(),
            rolled_back: true
        }
    );
}

#[test]
fn paused_updates_fail_without_rollback() {
    for state in ["paused", "rollback_paused"] {
        let fake = Fake::new(BASE);
        let env = env(None);
        let mut rollout = started(&fake, &env);
        if state == "rollback_paused" {
            fake.auto_rollback("update rolled back");
        }
        fake.set_status(state, "task abc failed");
        let outcome = step_at(&fake, &env, &mut rollout, 2_000);
        assert!(
            matches!(&outcome, StepOutcome::Failed { rolled_back: false, reason } if reason.contains("task abc failed")),
            "{state}: {outcome:?}"
        );
    }
}

#[test]
fn changes_made_elsewhere_end_the_rollout() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut rollout = started(&fake, &env);
    fake.spec.borrow_mut()["TaskTemplate"]["ContainerSpec"]["Image"] = json!("shop:3");
    fake.set_status("updating", "update in progress");
    let outcome = step_at(&fake, &env, &mut rollout, 2_000);
    assert!(
        matches!(&outcome, StepOutcome::Failed { rolled_back: false, reason } if reason.contains("shop:3")),
        "{outcome:?}"
    );
}

#[test]
fn abort_rolls_back_on_the_server() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut rollout = started(&fake, &env);
    fake.set_status("updating", "update in progress");
    let outcome = block_on(abort(&fake, &env, Some(TOKEN), &mut rollout, 2_000)).unwrap();
    assert_eq!(outcome, StepOutcome::Aborted);
    let requests = fake.take_requests();
    assert_eq!(
        lines(&requests),
        [
            "GET /services/svc1",
            "POST /services/svc1/update?version=12&rollback=previous"
        ]
    );
    assert_eq!(fake.image(), OLD);
    assert_eq!(rollout.phase, SwarmPhase::Finished(StepOutcome::Aborted));
    let again = block_on(abort(&fake, &env, Some(TOKEN), &mut rollout, 3_000)).unwrap();
    assert_eq!(again, StepOutcome::Aborted);
    assert!(fake.take_requests().is_empty());
}

#[test]
fn abort_after_an_automatic_rollback_sends_nothing_more() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut rollout = started(&fake, &env);
    fake.auto_rollback("update rolled back");
    let outcome = block_on(abort(&fake, &env, None, &mut rollout, 2_000)).unwrap();
    assert_eq!(outcome, StepOutcome::Aborted);
    assert_eq!(lines(&fake.take_requests()), ["GET /services/svc1"]);
    assert_eq!(fake.image(), OLD);
}

#[test]
fn rollback_of_the_deployed_release_is_server_side() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let mut current = started(&fake, &env);
    fake.set_status("completed", "update completed");
    step_at(&fake, &env, &mut current, 2_000);
    fake.take_requests();
    let (mut rollout, outcome) =
        block_on(rollback(&fake, &env, Some(TOKEN), "shop", &current, 5_000)).unwrap();
    assert_eq!(
        lines(&fake.take_requests()),
        [
            "GET /services/shop",
            "POST /services/svc1/update?version=12&rollback=previous",
            "GET /services/svc1",
        ]
    );
    assert_eq!(
        (rollout.image.as_str(), rollout.previous_image.as_str()),
        (OLD, NEW)
    );
    assert_eq!(rollout.phase, SwarmPhase::RollingBack);
    let StepOutcome::InProgress { message, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(message, "rolling back: manually requested rollback");
    fake.set_status("rollback_completed", "rollback completed");
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 6_000),
        StepOutcome::Succeeded
    );
}

#[test]
fn rollback_after_other_changes_is_a_normal_update() {
    let fake = Fake::new(BASE);
    let env = env(None);
    let current = started(&fake, &env);
    fake.spec.borrow_mut()["TaskTemplate"]["ContainerSpec"]["Image"] = json!("shop:3");
    let (mut rollout, _) = block_on(rollback(&fake, &env, None, "shop", &current, 5_000)).unwrap();
    let requests = fake.take_requests();
    assert_eq!(
        lines(&requests),
        [
            "GET /services/shop",
            "POST /services/svc1/update?version=11",
            "GET /services/svc1",
        ]
    );
    assert!(requests[1].header_value("x-registry-auth").is_none());
    assert_eq!(fake.image(), OLD);
    assert_eq!(
        (rollout.previous_image.as_str(), &rollout.phase),
        ("shop:3", &SwarmPhase::Updating)
    );
    fake.set_status("completed", "update completed");
    assert_eq!(
        step_at(&fake, &env, &mut rollout, 6_000),
        StepOutcome::Succeeded
    );
}
