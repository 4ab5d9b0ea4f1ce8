//! Planning a run whose commit is abbreviated (a Bitbucket pull request):
//! the lookup comes before the pipeline file and any commit status.

use std::collections::{BTreeMap, BTreeSet};

use super::super::apply::{Outcome, apply};
use super::*;
use crate::runs::{PendingEvent, PipelineSource, RunTrigger};

const SHORT: &str = "abcdef012345";

fn settings() -> RunSettings {
    RunSettings {
        poll_after_ms: 60_000,
        post_statuses: true,
        lease_ms: 1_000,
        public_base: "https://slipway.example.com".into(),
        notify: Vec::new(),
        gates: BTreeMap::new(),
    }
}

fn bitbucket_run(commit: &str) -> RunRecord {
    let trigger = RunTrigger {
        provider: "bitbucket".into(),
        repo: "team/shop".into(),
        clone_url: None,
        git_ref: "refs/heads/feature".into(),
        commit: commit.into(),
        kind: "merge_request".into(),
        target_branch: Some("main".into()),
        merge_request: Some(3),
        pipeline_ref: None,
        actor: None,
        delivery_id: None,
        source: None,
    };
    let pending = PendingEvent {
        changed_paths: Vec::new(),
        paths_complete: false,
    };
    RunRecord::new("shop", 1, trigger, PipelineSource::Pending(pending), 0)
}

fn claimed_ids(claims: &[crate::intents::Claimed]) -> BTreeSet<String> {
    claims.iter().map(|c| c.id.clone()).collect()
}

#[test]
fn an_abbreviated_commit_is_looked_up_before_anything_else() {
    let mut run = bitbucket_run(SHORT);
    let claims = plan_run(&mut run, &settings(), 10, Mode::InRequest);
    assert_eq!(claimed_ids(&claims), BTreeSet::from(["commit".to_owned()]));
    let full = format!("{SHORT}{}", "0".repeat(28));
    apply(
        &mut run,
        &claims[0],
        &Outcome::CommitResolved(Ok(full.clone())),
        20,
    );
    assert_eq!(run.trigger.commit, full);
    let claims = plan_run(&mut run, &settings(), 30, Mode::InRequest);
    assert_eq!(
        claimed_ids(&claims),
        BTreeSet::from(["pipeline".to_owned(), "status/slipway".to_owned()]),
        "then the pipeline file and the status, at the full hash"
    );
}

#[test]
fn a_lookup_that_keeps_failing_fails_the_run_with_its_reason() {
    let mut run = bitbucket_run(SHORT);
    for round in 0..20u64 {
        let now = round * 1_000_000;
        let claims = plan_run(&mut run, &settings(), now, Mode::InRequest);
        let Some(claim) = claims.iter().find(|c| c.id == "commit") else {
            break;
        };
        let outcome = Outcome::Retry {
            at_ms: now + 1,
            error: "HTTP 503".into(),
        };
        apply(&mut run, claim, &outcome, now);
    }
    assert_eq!(run.status, RunStatus::Failed);
    let error = run.error.clone().unwrap_or_default();
    assert!(
        error.contains("cannot look up commit abcdef012345: HTTP 503"),
        "{error}"
    );
    let claims = plan_run(&mut run, &settings(), u64::MAX / 2, Mode::InRequest);
    assert!(
        claims
            .iter()
            .all(|c| c.id != "commit" && c.id != "pipeline"),
        "{claims:?}"
    );
}

#[test]
fn a_missing_commit_fails_the_run_at_once() {
    let mut run = bitbucket_run(SHORT);
    let claims = plan_run(&mut run, &settings(), 10, Mode::InRequest);
    let outcome = Outcome::CommitResolved(Err("commit abcdef012345 does not exist".into()));
    apply(&mut run, &claims[0], &outcome, 20);
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.error.as_deref(),
        Some("commit abcdef012345 does not exist")
    );
}

/// A merge-request run whose pipeline file (stages `test`, `image`) is read.
fn read_merge_request() -> RunRecord {
    let full = format!("{SHORT}{}", "0".repeat(28));
    let mut run = bitbucket_run(&full);
    let pipeline = crate::pipeline::Pipeline::parse(
        "[triggers]\nmerge_requests = true\n\
         [stages.test]\nkind = \"build\"\nservice = \"ci\"\njob = \"t\"\n\
         [stages.image]\nkind = \"build\"\nservice = \"ci\"\njob = \"i\"\n",
    )
    .expect("pipeline");
    let claims = plan_run(&mut run, &settings(), 10, Mode::InRequest);
    let read = claims.iter().find(|c| c.id == "pipeline").expect("read");
    apply(
        &mut run,
        read,
        &Outcome::PipelineRead(Ok(Some(pipeline))),
        20,
    );
    run
}

#[test]
fn a_merge_request_compares_its_pipeline_with_the_target_branch_once() {
    use crate::pipeline::diff::PipelineChange;
    let mut run = read_merge_request();
    let claims = plan_run(&mut run, &settings(), 30, Mode::InRequest);
    let compare = claims
        .iter()
        .find(|c| c.id == "base-pipeline")
        .expect("compared");
    let change = PipelineChange {
        added: vec!["image".into()],
        dropped: vec!["lint".into()],
        changed: Vec::new(),
    };
    let found = crate::runs::BaseComparison::Compared {
        base: "main".into(),
        change,
    };
    apply(&mut run, compare, &Outcome::BaseCompared(found), 40);
    let status = desired_statuses(&run, "https://slipway.example.com")
        .into_iter()
        .find(|s| s.context == "slipway-pipeline")
        .expect("a pipeline-change status");
    assert_eq!(
        status.description,
        "This change adds stage image; drops stage lint (against main)"
    );
    let claims = plan_run(&mut run, &settings(), 50, Mode::InRequest);
    let ids = claimed_ids(&claims);
    assert!(ids.contains("status/slipway-pipeline"), "{ids:?}");
    assert!(!ids.contains("base-pipeline"), "compared once: {ids:?}");
}

#[test]
fn an_unchanged_or_unreadable_base_posts_no_pipeline_status() {
    let mut run = read_merge_request();
    for round in 0..20u64 {
        let now = 30 + round * 1_000_000;
        let claims = plan_run(&mut run, &settings(), now, Mode::InRequest);
        let Some(claim) = claims.iter().find(|c| c.id == "base-pipeline") else {
            break;
        };
        let outcome = Outcome::Retry {
            at_ms: now + 1,
            error: "HTTP 502".into(),
        };
        apply(&mut run, claim, &outcome, now);
    }
    assert!(
        matches!(&run.base_comparison, Some(crate::runs::BaseComparison::NotCompared { reason }) if reason.contains("HTTP 502")),
        "{:?}",
        run.base_comparison
    );
    assert!(
        desired_statuses(&run, "https://x")
            .iter()
            .all(|s| s.context != "slipway-pipeline")
    );
    let mut unchanged = read_merge_request();
    unchanged.base_compared(crate::runs::BaseComparison::Compared {
        base: "main".into(),
        change: Default::default(),
    });
    assert!(
        desired_statuses(&unchanged, "https://x")
            .iter()
            .all(|s| s.context != "slipway-pipeline")
    );
}
