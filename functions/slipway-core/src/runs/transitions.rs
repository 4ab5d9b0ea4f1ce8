//! Transitions of runs and stages. Each returns whether anything changed;
//! applying the same transition twice changes nothing the second time.

use super::{
    ImageArtifact, PendingEvent, Report, RunRecord, RunStatus, RunTrigger, StageRecord,
    StageStatus, Transition, run_id,
};
use crate::pipeline::{Event, Pipeline, StageKind};

/// Where a new run's pipeline comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineSource {
    /// Read and valid.
    Read(Pipeline),
    /// Read and invalid: the run fails with this reason.
    Invalid(String),
    /// Not read yet (the webhook answered first).
    Pending(PendingEvent),
}

impl RunTrigger {
    /// The view of the event that the pipeline's triggers check.
    pub fn event<'a>(&'a self, pending: &'a PendingEvent) -> Event<'a> {
        match self.kind.as_str() {
            "tag" => Event::Tag {
                name: self
                    .git_ref
                    .strip_prefix("refs/tags/")
                    .unwrap_or(&self.git_ref),
            },
            "merge_request" => Event::MergeRequest {
                target_branch: self.target_branch.as_deref().unwrap_or(""),
            },
            _ => Event::Branch {
                name: self
                    .git_ref
                    .strip_prefix("refs/heads/")
                    .unwrap_or(&self.git_ref),
                paths: &pending.changed_paths,
                paths_complete: pending.paths_complete,
            },
        }
    }
}

/// A transition that does not apply to the record as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The run has no such stage.
    #[error("run has no stage {0:?}")]
    UnknownStage(String),
    /// The run is not waiting for `/ok-to-test`.
    #[error("run {0} is not waiting for /ok-to-test")]
    NotHeld(String),
    /// The transition is for another attempt than the current one.
    #[error("stage {stage:?} is at attempt {current}, not {given}")]
    StaleAttempt {
        /// Stage name.
        stage: String,
        /// Its current attempt.
        current: u32,
        /// The attempt the caller named.
        given: u32,
    },
    /// Only failed, timed-out or cancelled stages can be retried.
    #[error(
        "stage {stage:?} is {status}; only failed, timed-out or cancelled stages can be retried"
    )]
    NotRetryable {
        /// Stage name.
        stage: String,
        /// Its status.
        status: String,
    },
    /// A stage cannot be retried before what it needs has succeeded.
    #[error("stage {stage:?} needs {need:?}, which has not succeeded: retry that first")]
    NeedsUnmet {
        /// Stage name.
        stage: String,
        /// The need that did not succeed.
        need: String,
    },
    /// The stage already ended (differently).
    #[error("stage {stage:?} already ended as {status}")]
    AlreadyFinished {
        /// Stage name.
        stage: String,
        /// How it ended.
        status: String,
    },
}

pub(super) fn status_name<T: serde::Serialize>(status: &T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl RunRecord {
    /// A new run: queued stages from a pipeline read at the commit, failed
    /// at once for an invalid one, or waiting for the file to be read.
    pub fn new(
        app: &str,
        number: u64,
        trigger: RunTrigger,
        pipeline: PipelineSource,
        now_ms: u64,
    ) -> RunRecord {
        let mut record = RunRecord {
            version: 1,
            id: run_id(app, number),
            app: app.to_owned(),
            number,
            status: RunStatus::Queued,
            trigger,
            pipeline: None,
            error: None,
            stages: Default::default(),
            created_at_ms: now_ms,
            finished_at_ms: None,
            transitions: Vec::new(),
            event: None,
            pending: None,
            intents: Default::default(),
            posted: Default::default(),
            notices: Default::default(),
            previous_outcome: None,
            base_comparison: None,
            replies: Vec::new(),
            ok_to_test: None,
        };
        record.log(now_ms, None, None, "queued");
        match pipeline {
            PipelineSource::Read(p) => record.use_pipeline(p),
            PipelineSource::Invalid(reason) => record.end_early(RunStatus::Failed, reason, now_ms),
            PipelineSource::Pending(event) => record.pending = Some(event),
        }
        record
    }

    /// Whether the pipeline file is still to be read.
    pub fn awaiting_pipeline(&self) -> bool {
        self.pending.is_some() && self.pipeline.is_none() && !self.status.is_terminal()
    }

    fn use_pipeline(&mut self, pipeline: Pipeline) {
        for stage in &pipeline.stages {
            self.stages
                .insert(stage.name.clone(), StageRecord::queued());
        }
        self.pipeline = Some(pipeline);
        self.pending = None;
    }

    /// The pipeline file was read after the run was created: the run goes
    /// on with it, ends `skipped` when its triggers exclude the event or
    /// there is no file, or fails for an invalid file.
    pub fn pipeline_read(&mut self, read: Result<Option<Pipeline>, String>, now_ms: u64) -> bool {
        let Some(pending) = self.pending.clone().filter(|_| self.awaiting_pipeline()) else {
            return false;
        };
        match read {
            Ok(Some(pipeline)) => {
                let event = self.trigger.event(&pending);
                match pipeline.triggers.check(&event) {
                    Ok(()) => self.use_pipeline(pipeline),
                    Err(skip) => self.end_early(RunStatus::Skipped, skip.to_string(), now_ms),
                }
            }
            Ok(None) => self.end_early(
                RunStatus::Skipped,
                "no pipeline file at this commit".into(),
                now_ms,
            ),
            Err(reason) => self.end_early(RunStatus::Failed, reason, now_ms),
        }
        true
    }

    /// Ends the run before (or without) its stages, for `reason`.
    pub(super) fn end_early(&mut self, status: RunStatus, reason: String, now_ms: u64) {
        self.error = Some(reason);
        self.status = status;
        self.pending = None;
        self.finished_at_ms = Some(now_ms);
        self.log(now_ms, None, None, &status_name(&status));
    }

    /// Logs a change of the whole run.
    pub(super) fn log_event(&mut self, at_ms: u64, to: &str) {
        self.log(at_ms, None, None, to);
    }

    pub(super) fn log(&mut self, at_ms: u64, stage: Option<&str>, attempt: Option<u32>, to: &str) {
        self.transitions.push(Transition {
            at_ms,
            stage: stage.map(str::to_owned),
            attempt,
            to: to.to_owned(),
        });
    }

    pub(super) fn stage_mut(
        &mut self,
        stage: &str,
        attempt: u32,
    ) -> Result<&mut StageRecord, TransitionError> {
        let record = self
            .stages
            .get_mut(stage)
            .ok_or_else(|| TransitionError::UnknownStage(stage.to_owned()))?;
        if record.attempt != attempt {
            return Err(TransitionError::StaleAttempt {
                stage: stage.to_owned(),
                current: record.attempt,
                given: attempt,
            });
        }
        Ok(record)
    }

    /// Queued stages whose needs have all succeeded, in pipeline order.
    pub fn ready_stages(&self) -> Vec<String> {
        let Some(pipeline) = &self.pipeline else {
            return Vec::new();
        };
        if self.status.is_terminal() {
            return Vec::new();
        }
        pipeline
            .stages
            .iter()
            .filter(|s| {
                self.stages
                    .get(&s.name)
                    .is_some_and(|r| r.status == StageStatus::Queued)
                    && s.needs.iter().all(|n| {
                        self.stages
                            .get(n)
                            .is_some_and(|r| r.status == StageStatus::Succeeded)
                    })
            })
            .map(|s| s.name.clone())
            .collect()
    }

    /// The stage started on its service (or, for approvals, began waiting).
    pub fn stage_started(
        &mut self,
        stage: &str,
        attempt: u32,
        now_ms: u64,
        external_id: Option<String>,
        url: Option<String>,
    ) -> Result<bool, TransitionError> {
        let is_approval = self
            .pipeline
            .as_ref()
            .and_then(|p| p.stage(stage))
            .is_some_and(|s| matches!(s.kind, StageKind::Approval { .. }));
        let record = self.stage_mut(stage, attempt)?;
        let target = if is_approval {
            StageStatus::WaitingForApproval
        } else {
            StageStatus::Running
        };
        match record.status {
            StageStatus::Queued => {}
            s if s == target => return Ok(false),
            s => {
                return Err(TransitionError::AlreadyFinished {
                    stage: stage.to_owned(),
                    status: status_name(&s),
                });
            }
        }
        record.status = target;
        record.started_at_ms = Some(now_ms);
        record.external_id = external_id;
        record.url = url;
        record.reason = None;
        self.log(now_ms, Some(stage), Some(attempt), &status_name(&target));
        self.refresh_status(now_ms);
        Ok(true)
    }

    /// The stage ended with `status`; stages that need it are cancelled when
    /// it did not succeed, and the run ends when nothing is left to do.
    pub fn stage_finished(
        &mut self,
        stage: &str,
        attempt: u32,
        status: StageStatus,
        now_ms: u64,
        reason: Option<String>,
    ) -> Result<bool, TransitionError> {
        let record = self.stage_mut(stage, attempt)?;
        if record.status.is_terminal() {
            if record.status == status {
                return Ok(false);
            }
            return Err(TransitionError::AlreadyFinished {
                stage: stage.to_owned(),
                status: status_name(&record.status),
            });
        }
        record.status = status;
        record.finished_at_ms = Some(now_ms);
        record.reason = reason;
        self.log(now_ms, Some(stage), Some(attempt), &status_name(&status));
        if status != StageStatus::Succeeded {
            let dependents = self.dependents_of(stage);
            for name in dependents {
                if let Some(dep) = self.stages.get_mut(&name)
                    && !dep.status.is_terminal()
                {
                    dep.status = StageStatus::Cancelled;
                    dep.finished_at_ms = Some(now_ms);
                    dep.reason = Some(format!("skipped: {stage} did not succeed"));
                    let attempt = dep.attempt;
                    self.log(now_ms, Some(&name), Some(attempt), "cancelled");
                }
            }
        }
        self.refresh_status(now_ms);
        Ok(true)
    }

    /// Records what a build reported for a running stage: links, tests and
    /// artifacts, then its end when `status` is terminal. A report for a
    /// stage that already ended is an error (the caller answers 409).
    pub fn record_report(
        &mut self,
        stage: &str,
        attempt: u32,
        report: Report,
        now_ms: u64,
    ) -> Result<bool, TransitionError> {
        let record = self.stage_mut(stage, attempt)?;
        if record.status.is_terminal() {
            return Err(TransitionError::AlreadyFinished {
                stage: stage.to_owned(),
                status: status_name(&record.status),
            });
        }
        let before = record.clone();
        if report.url.is_some() {
            record.url = report.url;
        }
        if report.log_url.is_some() {
            record.log_url = report.log_url;
        }
        if report.tests.is_some() {
            record.tests = report.tests;
        }
        if report.image.is_some() {
            record.image = report.image;
        }
        if report.duration_ms.is_some() {
            record.build_duration_ms = report.duration_ms;
        }
        let changed = *record != before;
        match report.status {
            Some(status) => {
                Ok(self.stage_finished(stage, attempt, status, now_ms, report.message)? || changed)
            }
            None => Ok(changed),
        }
    }

    /// The image the `stage` should deploy: the newest image reported by a
    /// stage it needs, directly or not (else by any earlier stage).
    pub fn image_for(&self, stage: &str) -> Option<ImageArtifact> {
        let pipeline = self.pipeline.as_ref()?;
        pipeline.stage(stage)?;
        let ancestors = pipeline.ancestors_of(stage);
        let newest = |names: &mut dyn Iterator<Item = &str>| {
            names
                .filter_map(|n| {
                    self.stages
                        .get(n)
                        .and_then(|s| s.image.clone().map(|i| (s.finished_at_ms, i)))
                })
                .max_by_key(|(at, _)| *at)
                .map(|(_, i)| i)
        };
        newest(&mut ancestors.iter().copied())
            .or_else(|| newest(&mut self.stages.keys().map(String::as_str)))
    }

    /// The build service gave the running stage a new id (e.g. a Jenkins
    /// queue item became a build).
    pub fn stage_moved(
        &mut self,
        stage: &str,
        attempt: u32,
        external_id: &str,
        url: Option<String>,
    ) -> Result<bool, TransitionError> {
        let record = self.stage_mut(stage, attempt)?;
        if record.status != StageStatus::Running
            || record.external_id.as_deref() == Some(external_id)
        {
            return Ok(false);
        }
        record.external_id = Some(external_id.to_owned());
        if url.is_some() {
            record.url = url;
        }
        Ok(true)
    }

    /// Recomputes the run's status from its stages.
    fn refresh_status(&mut self, now_ms: u64) {
        if self.status.is_terminal() {
            return;
        }
        let all_terminal = self.stages.values().all(|s| s.status.is_terminal());
        let next = if all_terminal {
            let any = |st: StageStatus| self.stages.values().any(|s| s.status == st);
            if self
                .stages
                .values()
                .all(|s| s.status == StageStatus::Succeeded)
            {
                RunStatus::Succeeded
            } else if any(StageStatus::Failed) {
                RunStatus::Failed
            } else if any(StageStatus::TimedOut) {
                RunStatus::TimedOut
            } else {
                RunStatus::Cancelled
            }
        } else if self
            .stages
            .values()
            .any(|s| s.status != StageStatus::Queued)
        {
            RunStatus::Running
        } else {
            RunStatus::Queued
        };
        if next != self.status {
            self.status = next;
            if next.is_terminal() {
                self.finished_at_ms = Some(now_ms);
            }
            self.log(now_ms, None, None, &status_name(&next));
        }
    }

    /// Run duration in ms, once it ended.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_at_ms
            .map(|f| f.saturating_sub(self.created_at_ms))
    }
}
