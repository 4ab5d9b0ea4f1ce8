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
