use std::cell::Cell;

use futures::executor::block_on;

use super::super::Handled;
use super::super::build_events::handle_build_event;
use crate::config::ControlPlane;
use crate::engine::Deps;
use crate::pipeline::Pipeline;
use crate::providers::{CheckRunEvent, CheckSuiteEvent, ParsedEvent, WorkflowRunEvent};
use crate::runs::index::RunIndex;
use crate::runs::{
    BuildIndex, BuildRef, PipelineSource, RunRecord, RunStore, RunTrigger, StageStatus,
};
use crate::testing::{FakeClock, MemKv};

const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const API: &str = "https://gh.test";

const CONFIG: &str = r#"
public_url = "https://slipway.test"
[apps.hello]
provider = "github"
repo = "acme/hello"
[build_services.actions]
type = "github_actions"
api_base = "https://gh.test"
token_secret = "github_token"
"#;

const TWO_WORKFLOWS: &str = r#"
[stages.build]
kind = "build"
service = "actions"
job = "build.yml"
[stages.lint]
kind = "build"
service = "actions"
job = "lint.yml"
"#;

struct World {
    kv: MemKv,
    clock: FakeClock,
    config: ControlPlane,
}

impl World {
    fn new() -> World {
        World {
            kv: MemKv::default(),
            clock: FakeClock(Cell::new(1_700_000_000_000)),
            config: ControlPlane::parse(CONFIG).expect("config"),
        }
    }

    fn deps(&self) -> Deps<'_, MemKv, (), FakeClock, ()> {
        Deps {
            kv: &self.kv,
            http: &(),
            clock: &self.clock,
            secrets: &(),
            config: &self.config,
        }
    }

    /// Run `hello-{number}` on `main` at [`SHA`], its stages started with
    /// the given run ids (none: the dispatch answered 204), and indexed.
    fn run(&self, number: u64, pipeline: &str, started: &[(&str, Option<u64>)]) -> String {
        let trigger = RunTrigger {
            provider: "github".into(),
            repo: "acme/hello".into(),
            clone_url: None,
            git_ref: format!("refs/heads/branch-{number}"),
            commit: SHA.into(),
            kind: "push".into(),
            target_branch: None,
            merge_request: None,
            pipeline_ref: None,
            actor: None,
            delivery_id: None,
            source: None,
        };
        let pipeline = Pipeline::parse(pipeline).expect("pipeline");
        let mut run = RunRecord::new("hello", number, trigger, PipelineSource::Read(pipeline), 1);
        for (stage, id) in started {
            let url = id.map(|id| format!("{API}/repos/acme/hello/actions/runs/{id}"));
            run.stage_started(stage, 1, 2, url.clone(), None)
                .expect("starts");
            if let Some(url) = url {
                let target = BuildRef {
                    run: run.id.clone(),
                    stage: stage.to_string(),
                    attempt: 1,
                };
                block_on(BuildIndex::new(&self.kv).put("github_actions", &url, &target))
                    .expect("indexed");
            }
        }
        block_on(RunStore::new(&self.kv).create(&run)).expect("stored");
        block_on(RunIndex::new(&self.kv).record(&run)).expect("index");
        run.id
    }

    fn send(&self, event: ParsedEvent) -> Handled {
        block_on(handle_build_event(&self.deps(), &event))
    }

    fn stage(&self, run: &str, stage: &str) -> crate::runs::StageRecord {
        let record = block_on(RunStore::new(&self.kv).load(run))
            .unwrap()
            .unwrap();
        record.stages[stage].clone()
    }
}

fn check_run(details_url: &str) -> ParsedEvent {
    ParsedEvent::CheckRun(CheckRunEvent {
        repo: "acme/hello".into(),
        action: "completed".into(),
        id: 9_000_001,
        name: "test".into(),
        status: "completed".into(),
        head_sha: SHA.into(),
        workflow_run_id: crate::providers::checks::workflow_run_id_in(details_url),
    })
}

fn suite(sha: &str, slug: Option<&str>) -> ParsedEvent {
    ParsedEvent::CheckSuite(CheckSuiteEvent {
        repo: "acme/hello".into(),
        action: "completed".into(),
        status: Some("completed".into()),
        head_sha: sha.into(),
        head_branch: Some("branch-1".into()),
        app_slug: slug.map(str::to_owned),
    })
}

fn workflow_run(id: u64, path: &str, event: &str, status: &str) -> WorkflowRunEvent {
    WorkflowRunEvent {
        repo: "acme/hello".into(),
        action: status.into(),
        id,
        name: "build".into(),
        status: status.into(),
        conclusion: (status == "completed").then(|| "success".into()),
        head_sha: SHA.into(),
        head_branch: Some("branch-1".into()),
        html_url: format!("https://github.test/acme/hello/actions/runs/{id}"),
        run_attempt: 1,
        event: Some(event.into()),
        path: Some(path.into()),
        workflow_id: Some(161_000_001),
        url: None,
    }
}

#[test]
fn a_finished_job_asks_for_a_poll_of_its_workflow_runs_stage() {
    let world = World::new();
    let run = world.run(1, TWO_WORKFLOWS, &[("build", Some(42)), ("lint", Some(43))]);
    let handled = world.send(check_run(
        "https://github.test/acme/hello/actions/runs/42/job/7",
    ));
    assert_eq!(handled.reply.status, 202, "{:?}", handled.reply);
    assert_eq!(handled.reply.body["stage"], "build");
    let build = world.stage(&run, "build");
    assert_eq!(build.status, StageStatus::Running, "a job is not the run");
    assert!(build.poll_requested_at_ms.is_some());
    assert!(world.stage(&run, "lint").poll_requested_at_ms.is_none());
    for url in [
        "https://octocoders.io",
        "https://github.test/a/b/actions/runs/99/job/1",
    ] {
        let reply = world.send(check_run(url)).reply;
        assert_eq!(reply.status, 200);
        assert!(reply.body["ignored"].is_string(), "{reply:?}");
    }
}

#[test]
fn a_completed_actions_suite_asks_for_polls_at_its_commit() {
    let world = World::new();
    let run = world.run(1, TWO_WORKFLOWS, &[("build", Some(42)), ("lint", None)]);
    let handled = world.send(suite(SHA, Some("github-actions")));
    assert_eq!(handled.reply.status, 202, "{:?}", handled.reply);
    assert!(world.stage(&run, "build").poll_requested_at_ms.is_some());
    assert!(
        world.stage(&run, "lint").poll_requested_at_ms.is_none(),
        "no id to poll"
    );
    let writes = world.kv.writes.get();
    for event in [
        suite(&"b".repeat(40), Some("github-actions")),
        suite(SHA, Some("octocoders-linter")),
    ] {
        assert!(world.send(event).reply.body["ignored"].is_string());
    }
    assert_eq!(world.kv.writes.get(), writes);
}

#[test]
fn a_dispatched_run_without_an_id_is_adopted_by_its_one_stage() {
    let world = World::new();
    let run = world.run(1, TWO_WORKFLOWS, &[("build", None), ("lint", None)]);
    let event = workflow_run(
        77,
        ".github/workflows/build.yml",
        "workflow_dispatch",
        "completed",
    );
    let handled = world.send(ParsedEvent::WorkflowRun(event.clone()));
    assert_eq!(handled.reply.status, 200, "{:?}", handled.reply);
    assert_eq!(handled.reply.body["adopted"], true);
    let build = world.stage(&run, "build");
    assert_eq!(build.status, StageStatus::Succeeded);
    assert_eq!(
        build.external_id.as_deref(),
        Some("https://gh.test/repos/acme/hello/actions/runs/77")
    );
    let indexed = block_on(BuildIndex::new(&world.kv).get("github_actions", "77")).unwrap();
    assert_eq!(indexed.map(|t| t.stage), Some("build".into()));
    assert_eq!(world.stage(&run, "lint").status, StageStatus::Running);
    // The redelivery finds it through the index: already recorded.
    let again = world.send(ParsedEvent::WorkflowRun(event));
    assert!(again.reply.body["ignored"].is_string(), "{:?}", again.reply);
}

#[test]
fn a_run_in_progress_is_adopted_and_polled_later() {
    let world = World::new();
    let run = world.run(1, TWO_WORKFLOWS, &[("build", None)]);
    let event = workflow_run(
        78,
        ".github/workflows/build.yml",
        "workflow_dispatch",
        "in_progress",
    );
    let reply = world.send(ParsedEvent::WorkflowRun(event)).reply;
    assert_eq!(reply.body["adopted"], true, "{reply:?}");
    let build = world.stage(&run, "build");
    assert_eq!(build.status, StageStatus::Running);
    assert!(build.external_id.is_some());
}

#[test]
fn ambiguous_or_unmatched_runs_are_ignored_writing_nothing() {
    let world = World::new();
    world.run(1, TWO_WORKFLOWS, &[("build", None)]);
    world.run(2, TWO_WORKFLOWS, &[("build", None)]);
    let writes = world.kv.writes.get();
    let cases = [
        // Both runs' `build` dispatched build.yml at this commit (no branch
        // given to tell them apart).
        (
            None,
            ".github/workflows/build.yml",
            "workflow_dispatch",
            "2 stages",
        ),
        (
            Some("branch-1"),
            ".github/workflows/deploy.yml",
            "workflow_dispatch",
            "no stage",
        ),
        (
            Some("branch-1"),
            ".github/workflows/build.yml",
            "push",
            "no stage",
        ),
    ];
    for (branch, path, trigger, why) in cases {
        let mut event = workflow_run(79, path, trigger, "completed");
        event.head_branch = branch.map(str::to_owned);
        let reply = world.send(ParsedEvent::WorkflowRun(event)).reply;
        assert_eq!(reply.status, 200);
        let ignored = reply.body["ignored"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(ignored.starts_with(why), "{path} {trigger}: {ignored}");
    }
    assert_eq!(world.kv.writes.get(), writes);
}

#[test]
fn a_numeric_job_matches_the_workflow_id() {
    let world = World::new();
    let pipeline = "[stages.build]\nkind = \"build\"\nservice = \"actions\"\njob = \"161000001\"\n";
    let run = world.run(1, pipeline, &[("build", None)]);
    let event = workflow_run(
        80,
        ".github/workflows/any.yml",
        "workflow_dispatch",
        "completed",
    );
    assert_eq!(
        world.send(ParsedEvent::WorkflowRun(event)).reply.body["adopted"],
        true
    );
    assert_eq!(world.stage(&run, "build").status, StageStatus::Succeeded);
}
