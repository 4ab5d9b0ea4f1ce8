use super::*;
use crate::pipeline::Pipeline;
use crate::runs::{ImageArtifact, PipelineSource, Report, RunStatus, RunTrigger};

const PIPELINE: &str = r#"
[stages.image]
kind = "build"
service = "ci"
job = "image"
[stages.approve]
kind = "approval"
approvals = 2
needs = ["image"]
[stages.production]
kind = "deploy"
environment = "production"
needs = ["approve"]
"#;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn waiting_run(required: u32, ttl_ms: u64) -> RunRecord {
    let trigger = RunTrigger {
        provider: "github".into(),
        repo: "acme/shop".into(),
        clone_url: None,
        git_ref: "refs/heads/main".into(),
        commit: "c".repeat(40),
        kind: "push".into(),
        target_branch: None,
        merge_request: None,
        pipeline_ref: None,
        actor: Some("alice".into()),
        delivery_id: None,
        source: None,
    };
    let pipeline = Pipeline::parse(PIPELINE).unwrap();
    let mut run = RunRecord::new("shop", 1, trigger, PipelineSource::Read(pipeline), 0);
    run.stage_started("image", 1, 10, None, None).unwrap();
    let report = Report {
        status: Some(StageStatus::Succeeded),
        image: Some(ImageArtifact::parse(&format!("reg/shop@{DIGEST}"))),
        ..Report::default()
    };
    run.record_report("image", 1, report, 20).unwrap();
    run.stage_started("approve", 1, 100, None, None).unwrap();
    let policy = GatePolicy {
        environment: Some("production".into()),
        required,
        ttl_ms,
    };
    assert!(run.open_gate("approve", &policy, 100));
    run
}

fn decision(by: &str, verdict: Verdict) -> Decision {
    Decision {
        verdict,
        by: by.into(),
        identity: format!("slack:T:{by}"),
        via: "slack".into(),
        at_ms: 0,
        reason: Some("looks good".into()),
        commit: String::new(),
        digest: None,
    }
}

#[test]
fn the_gate_binds_commit_digest_and_the_larger_quorum() {
    let run = waiting_run(1, 1_000);
    let gate = run.stages["approve"].approval.clone().unwrap();
    assert_eq!(gate.commit, "c".repeat(40));
    assert_eq!(gate.digest.as_deref(), Some(DIGEST));
    assert_eq!(gate.required, 2, "the pipeline's 2 beats the policy's 1");
    assert_eq!(gate.expires_at_ms, 1_100);
    assert_eq!(gate.environment.as_deref(), Some("production"));
}

#[test]
fn a_quorum_of_two_distinct_people_approves() {
    let mut run = waiting_run(2, 10_000);
    let first = run.decide("approve", None, decision("bob", Verdict::Approved), 200);
    assert_eq!(
        first,
        Ok(Decided::Counted {
            approvals: 1,
            required: 2
        })
    );
    let twice = run.decide("approve", None, decision("bob", Verdict::Approved), 210);
    assert_eq!(twice, Err(DecisionError::AlreadyDecided("bob".into())));
    let second = run.decide(
        "approve",
        Some(1),
        decision("carol", Verdict::Approved),
        300,
    );
    assert_eq!(second, Ok(Decided::Approved));
    let stage = &run.stages["approve"];
    assert_eq!(stage.status, StageStatus::Succeeded);
    assert_eq!(stage.reason.as_deref(), Some("approved by bob, carol"));
    let recorded = &stage.approval.as_ref().unwrap().decisions[1];
    assert_eq!(
        (recorded.digest.as_deref(), recorded.via.as_str()),
        (Some(DIGEST), "slack")
    );
    assert!(run.unapproved_image("production", Some(DIGEST)).is_none());
    assert!(
        run.unapproved_image("production", Some("sha256:other"))
            .is_some()
    );
    assert!(run.unapproved_image("production", None).is_some());
}

#[test]
fn a_rejection_fails_the_stage_and_cancels_what_follows() {
    let mut run = waiting_run(2, 10_000);
    let out = run.decide("approve", None, decision("bob", Verdict::Rejected), 200);
    assert_eq!(out, Ok(Decided::Rejected));
    assert_eq!(run.stages["approve"].status, StageStatus::Failed);
    assert_eq!(run.stages["production"].status, StageStatus::Cancelled);
    assert_eq!(run.status, RunStatus::Failed);
    let late = run.decide("approve", None, decision("carol", Verdict::Approved), 300);
    assert!(matches!(late, Err(DecisionError::NotWaiting { .. })));
}

#[test]
fn expired_stale_or_unknown_requests_are_refused() {
    let mut run = waiting_run(1, 500);
    let expired = run.decide("approve", None, decision("bob", Verdict::Approved), 600);
    assert_eq!(expired, Err(DecisionError::Expired("approve".into())));
    let stale = run.decide("approve", Some(2), decision("bob", Verdict::Approved), 200);
    assert!(matches!(
        stale,
        Err(DecisionError::Transition(
            TransitionError::StaleAttempt { .. }
        ))
    ));
    let unknown = run.decide("nope", None, decision("bob", Verdict::Approved), 200);
    assert!(matches!(
        unknown,
        Err(DecisionError::Transition(TransitionError::UnknownStage(_)))
    ));
    let not_gate = run.decide("image", None, decision("bob", Verdict::Approved), 200);
    assert!(matches!(not_gate, Err(DecisionError::NotWaiting { .. })));
}
