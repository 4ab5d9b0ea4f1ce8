//! Hints that a running build moved on: a GitHub check run or check suite,
//! a Tekton CloudEvent. A hint never ends a stage (a check run is one job
//! of the workflow run; a CloudEvent arrives without authentication): it
//! asks for a poll now, and the build service's authenticated API is the
//! truth. Also the adoption of a build whose id the trigger did not return
//! (GitHub's `workflow_dispatch` answers 204 without the run's id).

use super::{RunRecord, StageStatus, TransitionError};

/// Least time between two polls a hint asks for, per stage: a flood of
/// hints costs at most one build-service call per stage this often (the
/// request is kept, and served once the interval has passed).
pub const HINT_POLL_INTERVAL_MS: u64 = 3_000;

impl RunRecord {
    /// Asks for a poll of `stage`'s build at `now_ms`. Changes nothing when
    /// one is already asked for (so repeated hints write nothing), or when
    /// the stage has no build id to poll yet (`Ok(false)` both). A stage
    /// that ended, or another attempt, is an error.
    pub fn request_poll(
        &mut self,
        stage: &str,
        attempt: u32,
        now_ms: u64,
    ) -> Result<bool, TransitionError> {
        let record = self.stage_mut(stage, attempt)?;
        if record.status.is_terminal() {
            return Err(TransitionError::AlreadyFinished {
                stage: stage.to_owned(),
                status: super::transitions::status_name(&record.status),
            });
        }
        if record.status != StageStatus::Running
            || record.external_id.is_none()
            || record.poll_requested_at_ms.is_some()
        {
            return Ok(false);
        }
        record.poll_requested_at_ms = Some(now_ms);
        Ok(true)
    }

    /// A poll of `stage` at `attempt` was recorded; it serves a request
    /// made before the poll was decided on (`wanted_at_ms`). A request
    /// made while the poll was under way stays: the poll may have read the
    /// build before what the hint announced.
    pub fn poll_served(&mut self, stage: &str, attempt: u32, wanted_at_ms: u64) {
        if let Some(record) = self.stages.get_mut(stage).filter(|s| s.attempt == attempt)
            && record
                .poll_requested_at_ms
                .is_some_and(|at| at <= wanted_at_ms)
        {
            record.poll_requested_at_ms = None;
        }
    }

    /// Records `external_id` as the build of a running `stage` that has
    /// none yet (a trigger whose answer did not name its build). A stage
    /// that already has a build keeps it: `Ok(false)`.
    pub fn adopt_build(
        &mut self,
        stage: &str,
        attempt: u32,
        external_id: &str,
        url: Option<String>,
    ) -> Result<bool, TransitionError> {
        let record = self.stage_mut(stage, attempt)?;
        if record.external_id.is_some() {
            return Ok(false);
        }
        self.stage_moved(stage, attempt, external_id, url)
    }
}

/// Whether a hint's poll of a stage is due at `now_ms`: one was asked for,
/// and the last poll is [`HINT_POLL_INTERVAL_MS`] old.
pub fn hinted_poll_due(record: &super::StageRecord, now_ms: u64) -> bool {
    record.poll_requested_at_ms.is_some()
        && record
            .last_polled_at_ms
            .is_none_or(|last| now_ms >= last.saturating_add(HINT_POLL_INTERVAL_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::StageRecord;

    fn running(external_id: Option<&str>) -> StageRecord {
        StageRecord {
            status: StageStatus::Running,
            started_at_ms: Some(1),
            external_id: external_id.map(str::to_owned),
            ..StageRecord::queued()
        }
    }

    fn run_with(stage: StageRecord) -> RunRecord {
        let mut run = crate::runs::tests::sample_run();
        run.stages.clear();
        run.stages.insert("build".into(), stage);
        run
    }

    #[test]
    fn a_request_is_written_once_and_served_by_a_later_poll() {
        let mut run = run_with(running(Some("pr-abc")));
        assert_eq!(run.request_poll("build", 1, 100), Ok(true));
        assert_eq!(run.request_poll("build", 1, 200), Ok(false), "pending");
        assert!(hinted_poll_due(&run.stages["build"], 100));
        // A poll decided on before the request does not serve it.
        run.poll_served("build", 1, 50);
        assert_eq!(run.stages["build"].poll_requested_at_ms, Some(100));
        run.poll_served("build", 1, 150);
        assert_eq!(run.stages["build"].poll_requested_at_ms, None);
    }

    #[test]
    fn hinted_polls_wait_out_the_interval_after_the_last_poll() {
        let mut stage = running(Some("pr-abc"));
        stage.last_polled_at_ms = Some(10_000);
        stage.poll_requested_at_ms = Some(10_500);
        assert!(!hinted_poll_due(&stage, 12_999));
        assert!(hinted_poll_due(&stage, 13_000));
        stage.poll_requested_at_ms = None;
        assert!(!hinted_poll_due(&stage, 99_000));
    }

    #[test]
    fn nothing_to_poll_or_already_ended() {
        let mut run = run_with(running(None));
        assert_eq!(run.request_poll("build", 1, 100), Ok(false));
        assert!(run.request_poll("build", 2, 100).is_err(), "stale attempt");
        assert!(run.request_poll("other", 1, 100).is_err());
        let mut done = run_with(StageRecord {
            status: StageStatus::Succeeded,
            external_id: Some("x".into()),
            ..StageRecord::queued()
        });
        assert!(done.request_poll("build", 1, 100).is_err());
    }

    #[test]
    fn adoption_only_fills_a_missing_build_id() {
        let mut run = run_with(running(None));
        assert_eq!(
            run.adopt_build("build", 1, "https://api/runs/7", Some("web".into())),
            Ok(true)
        );
        assert_eq!(
            run.stages["build"].external_id.as_deref(),
            Some("https://api/runs/7")
        );
        assert_eq!(
            run.adopt_build("build", 1, "https://api/runs/8", None),
            Ok(false)
        );
    }
}
