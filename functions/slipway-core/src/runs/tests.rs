use super::*;
use crate::pipeline::Pipeline;
use crate::ports::{KeyValue, Swap};
use crate::testing::MemKv;
use futures::executor::block_on;

const PIPELINE: &str = r#"
[stages.unit]
kind = "build"
service = "ci"
job = "unit"
[stages.lint]
kind = "build"
service = "ci"
job = "lint"
[stages.image]
kind = "build"
service = "ci"
job = "image"
needs = ["unit", "lint"]
"#;

fn trigger() -> RunTrigger {
    RunTrigger {
        provider: "github".into(),
        repo: "acme/shop".into(),
        clone_url: None,
        git_ref: "refs/heads/main".into(),
        commit: "a".repeat(40),
        kind: "push".into(),
        target_branch: None,
        merge_request: None,
        pipeline_ref: None,
        actor: None,
        delivery_id: None,
        source: None,
    }
}

fn run() -> RunRecord {
    RunRecord::new(
        "shop",
        7,
        trigger(),
        PipelineSource::Read(Pipeline::parse(PIPELINE).unwrap()),
        1_000,
    )
}

/// A run of three build stages, for other modules' tests.
pub(super) fn sample_run() -> RunRecord {
    run()
}

#[test]
fn run_ids_round_trip() {
    assert_eq!(run_id("my-app", 12), "my-app-12");
    assert_eq!(parse_run_id("my-app-12"), Some(("my-app", 12)));
    assert_eq!(parse_run_id("nope"), None);
    assert_eq!(parse_run_id("-3"), None);
}

#[test]
fn stages_advance_and_join() {
    let mut r = run();
    assert_eq!(r.ready_stages(), ["unit", "lint"]);
    assert!(
        r.stage_started("unit", 1, 2_000, Some("q1".into()), None)
            .unwrap()
    );
    assert!(
        !r.stage_started("unit", 1, 2_001, Some("q1".into()), None)
            .unwrap(),
        "twice is a no-op"
    );
    assert_eq!(r.status, RunStatus::Running);
    assert!(r.stage_started("lint", 1, 2_000, None, None).unwrap());
    assert!(
        r.stage_finished("unit", 1, StageStatus::Succeeded, 3_000, None)
            .unwrap()
    );
    assert!(r.ready_stages().is_empty(), "image waits for lint");
    assert!(
        r.stage_finished("lint", 1, StageStatus::Succeeded, 3_500, None)
            .unwrap()
    );
    assert!(
        !r.stage_finished("lint", 1, StageStatus::Succeeded, 3_600, None)
            .unwrap()
    );
    assert_eq!(r.ready_stages(), ["image"]);
    r.stage_started("image", 1, 4_000, None, None).unwrap();
    r.stage_finished("image", 1, StageStatus::Succeeded, 5_000, None)
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.duration_ms(), Some(4_000));
    assert!(r.transitions.iter().all(|t| t.at_ms >= 1_000));
}

#[test]
fn failure_cancels_dependents_and_fails_the_run() {
    let mut r = run();
    r.stage_started("unit", 1, 2_000, None, None).unwrap();
    r.stage_started("lint", 1, 2_000, None, None).unwrap();
    r.stage_finished(
        "unit",
        1,
        StageStatus::Failed,
        3_000,
        Some("2 tests failed".into()),
    )
    .unwrap();
    assert_eq!(r.stages["image"].status, StageStatus::Cancelled);
    assert_eq!(r.status, RunStatus::Running, "lint still runs");
    r.stage_finished("lint", 1, StageStatus::Succeeded, 3_100, None)
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    let err = r
        .stage_finished("unit", 1, StageStatus::Succeeded, 4_000, None)
        .unwrap_err();
    assert!(matches!(err, TransitionError::AlreadyFinished { .. }));
    let err = r.stage_started("lint", 2, 4_000, None, None).unwrap_err();
    assert!(matches!(
        err,
        TransitionError::StaleAttempt {
            current: 1,
            given: 2,
            ..
        }
    ));
}

#[test]
fn invalid_pipeline_fails_the_run_at_once() {
    let r = RunRecord::new(
        "shop",
        1,
        trigger(),
        PipelineSource::Invalid("line 3, column 1: bad".into()),
        10,
    );
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("line 3, column 1: bad"));
    assert!(r.ready_stages().is_empty());
}

#[test]
fn store_numbers_claims_and_compare_and_swap() {
    let kv = MemKv::default();
    let store = RunStore::new(&kv);
    block_on(async {
        assert_eq!(store.next_number("shop").await.unwrap(), 1);
        assert_eq!(store.next_number("shop").await.unwrap(), 2);
        let record = run();
        store.create(&record).await.unwrap();
        let (after, _, changed) = store
            .update(&record.id, |r| {
                r.stage_started("unit", 1, 2_000, None, None)
            })
            .await
            .unwrap();
        assert!(changed);
        assert_eq!(after.version, 2);
        let (again, _, changed) = store
            .update(&record.id, |r| {
                r.stage_started("unit", 1, 2_000, None, None)
            })
            .await
            .unwrap();
        assert!(!changed);
        assert_eq!(again.version, 2);
        assert_eq!(store.load(&record.id).await.unwrap().unwrap().version, 2);
        let err = store
            .update(&record.id, |r| r.stage_started("ghost", 1, 0, None, None))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Transition(TransitionError::UnknownStage(_))
        ));
    });
}

#[test]
fn a_pending_pipeline_is_read_later_and_may_skip_the_run() {
    let pending = PendingEvent {
        changed_paths: vec!["docs/readme.md".into()],
        paths_complete: true,
    };
    let mut r = RunRecord::new(
        "shop",
        1,
        trigger(),
        PipelineSource::Pending(pending.clone()),
        10,
    );
    assert!(r.awaiting_pipeline());
    assert!(r.ready_stages().is_empty());
    let only_src =
        Pipeline::parse(&format!("[triggers]\npaths = [\"src/**\"]\n{PIPELINE}")).unwrap();
    assert!(r.pipeline_read(Ok(Some(only_src)), 20));
    assert_eq!(r.status, RunStatus::Skipped);
    assert!(!r.pipeline_read(Ok(None), 30), "read once");

    let mut r = RunRecord::new("shop", 2, trigger(), PipelineSource::Pending(pending), 10);
    assert!(r.pipeline_read(Ok(Some(Pipeline::parse(PIPELINE).unwrap())), 20));
    assert_eq!(r.ready_stages(), ["unit", "lint"]);
    assert!(!r.awaiting_pipeline());
}

/// A store whose first swap loses to a concurrent writer.
struct RacingKv {
    inner: MemKv,
    raced: std::cell::Cell<bool>,
}

impl KeyValue for RacingKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::ports::KvError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::ports::KvError> {
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), crate::ports::KvError> {
        self.inner.delete(key).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<Swap, crate::ports::KvError> {
        if !self.raced.replace(true) {
            // Someone else starts `lint` first.
            let mut theirs: RunRecord =
                serde_json::from_slice(&self.inner.get(key).await?.unwrap()).unwrap();
            theirs.stage_started("lint", 1, 1_500, None, None).unwrap();
            theirs.version += 1;
            self.inner
                .set(key, &serde_json::to_vec(&theirs).unwrap())
                .await?;
        }
        self.inner.compare_and_swap(key, expected, new).await
    }
}

#[test]
fn update_retries_on_conflict_and_keeps_both_changes() {
    let kv = RacingKv {
        inner: MemKv::default(),
        raced: Default::default(),
    };
    let store = RunStore::new(&kv);
    block_on(async {
        let record = run();
        store.create(&record).await.unwrap();
        let (after, _, changed) = store
            .update(&record.id, |r| {
                r.stage_started("unit", 1, 2_000, None, None)
            })
            .await
            .unwrap();
        assert!(changed);
        assert_eq!(after.stages["lint"].status, StageStatus::Running);
        assert_eq!(after.stages["unit"].status, StageStatus::Running);
        assert_eq!(after.version, 3);
    });
}
