//! Retrying a stage: a new attempt of a failed, timed-out or cancelled
//! stage, the stages it held back queued again, and the run reopened.

use super::transitions::{TransitionError, status_name};
use super::{RunRecord, RunStatus, StageRecord, StageStatus};

impl RunRecord {
    /// Starts a new attempt of a failed, timed-out or cancelled stage: it
    /// and the stages it held back are queued again, and the run reopens.
    pub fn retry_stage(
        &mut self,
        stage: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<u32, TransitionError> {
        let record = self
            .stages
            .get_mut(stage)
            .ok_or_else(|| TransitionError::UnknownStage(stage.to_owned()))?;
        if !matches!(
            record.status,
            StageStatus::Failed | StageStatus::TimedOut | StageStatus::Cancelled
        ) {
            return Err(TransitionError::NotRetryable {
                stage: stage.to_owned(),
                status: status_name(&record.status),
            });
        }
        // A stage whose needs did not all succeed could never start again.
        let blocked = self
            .pipeline
            .as_ref()
            .and_then(|p| p.stage(stage))
            .map(|s| s.needs.clone())
            .unwrap_or_default()
            .into_iter()
            .find(|n| {
                self.stages
                    .get(n)
                    .is_some_and(|s| s.status != StageStatus::Succeeded)
            });
        if let Some(need) = blocked {
            return Err(TransitionError::NeedsUnmet {
                stage: stage.to_owned(),
                need,
            });
        }
        let Some(record) = self.stages.get_mut(stage) else {
            return Err(TransitionError::UnknownStage(stage.to_owned()));
        };
        let attempt = record.attempt + 1;
        *record = StageRecord {
            attempt,
            retried_by: Some(by.to_owned()),
            ..StageRecord::queued()
        };
        self.log(now_ms, Some(stage), Some(attempt), "queued");
        let dependents = self.dependents_of(stage);
        for name in dependents {
            if let Some(dep) = self.stages.get_mut(&name)
                && dep.status == StageStatus::Cancelled
            {
                let attempt = dep.attempt;
                *dep = StageRecord {
                    attempt,
                    ..StageRecord::queued()
                };
                self.log(now_ms, Some(&name), Some(attempt), "queued");
            }
        }
        if self.status.is_terminal() {
            // A reopened run ends anew: its notices and branch outcome too.
            self.status = RunStatus::Running;
            self.finished_at_ms = None;
            self.notices.clear();
            self.previous_outcome = None;
            self.log(now_ms, None, None, "running");
        }
        Ok(attempt)
    }

    /// Names of the stages that need `stage`, directly or not.
    pub(super) fn dependents_of(&self, stage: &str) -> Vec<String> {
        self.pipeline
            .as_ref()
            .map(|p| {
                p.dependents_of(stage)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
