//! Pipeline runs: the records kept in the key-value store, their statuses
//! and the transitions between them.
//!
//! Key layout (all JSON unless noted):
//!
//! | key | value |
//! |---|---|
//! | `app/{app}/runs` | counter (Spin's encoding): the last run number handed out |
//! | `run/{app}/{number}` | [`RunRecord`], changed only by compare-and-swap on its bytes; `version` inside goes up by one per change |
//! | `event/{hash}` | the event's claim: a counter holding the claim time, then JSON [`EventClaim`] linking its run ([`claims`]) |
//! | `runs-index/{app}/…` | run summaries by page and the newest run per ref ([`index`]) |
//! | `external/{service}/{id}` | which run, stage and attempt a build service's id belongs to ([`BuildIndex`]) |
//!
//! A run id is `{app}-{number}`; the number comes from an atomic increment,
//! so the run's key is new and owned by its creator.

mod approvals;
mod base_pipeline;
mod claims;
pub mod hints;
pub mod index;
mod ok_to_test;
mod outcomes;
mod retry;
mod source;
mod store;
mod transitions;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::intents::Intents;

use crate::pipeline::Pipeline;

pub use approvals::{ApprovalGate, Decided, Decision, DecisionError, GatePolicy, Verdict};
pub use base_pipeline::BaseComparison;
pub use claims::{Begin, EVENT_LEASE_MS, EventClaim, EventClaims};
pub use ok_to_test::{OK_TO_TEST_TTL_MS, OkGrant, OkToTest};
pub use outcomes::{BranchOutcome, BranchOutcomes};
pub use source::{ChangeSource, is_full_sha};
pub use store::{BuildIndex, BuildRef, RunStore, StoreError, event_hash};
pub use transitions::{PipelineSource, TransitionError};

/// Status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Created, nothing started yet.
    Queued,
    /// At least one stage started.
    Running,
    /// Every stage succeeded.
    Succeeded,
    /// A stage failed (or the pipeline file was invalid).
    Failed,
    /// Cancelled by someone.
    Cancelled,
    /// A stage ran past its timeout.
    TimedOut,
    /// The pipeline file, read after the webhook was answered, does not
    /// run for this event (no file, or its triggers exclude it).
    Skipped,
}

impl RunStatus {
    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::TimedOut | Self::Skipped
        )
    }
}

/// Status of a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// Waiting for its needs, or for its (re)start.
    Queued,
    /// Started on its service.
    Running,
    /// Done and good.
    Succeeded,
    /// Done and bad, or could not be started.
    Failed,
    /// Cancelled, or skipped because something it needs failed.
    Cancelled,
    /// Ran past its timeout.
    TimedOut,
    /// An approval stage waiting for a person.
    WaitingForApproval,
}

impl StageStatus {
    /// Whether the stage has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::TimedOut
        )
    }
}

/// What started the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTrigger {
    /// Provider name.
    pub provider: String,
    /// Repository path.
    pub repo: String,
    /// Clone URL, if the event had one.
    pub clone_url: Option<String>,
    /// Full ref (`refs/heads/main`, `refs/tags/v1`, or the MR source branch ref).
    pub git_ref: String,
    /// The commit the run builds.
    pub commit: String,
    /// `push`, `tag` or `merge_request`.
    pub kind: String,
    /// Target branch of a merge request.
    #[serde(default)]
    pub target_branch: Option<String>,
    /// Merge request number, for MR runs.
    pub merge_request: Option<u64>,
    /// Where the pipeline file is read (a branch) when not at `commit`:
    /// the target branch, for a merge request of an untrusted author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_ref: Option<String>,
    /// Who pushed.
    pub actor: Option<String>,
    /// Provider delivery id of the webhook.
    pub delivery_id: Option<String>,
    /// For a merge request from another repository (a fork): where its
    /// commit comes from. `None` for a change inside `repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ChangeSource>,
}

/// An image a stage reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageArtifact {
    /// Reference, e.g. `registry.example.com/shop`.
    pub reference: String,
    /// `sha256:…` digest.
    pub digest: Option<String>,
}

impl ImageArtifact {
    /// `name@sha256:…` into reference and digest.
    pub fn parse(image: &str) -> ImageArtifact {
        match image.split_once('@') {
            Some((reference, digest)) => ImageArtifact {
                reference: reference.to_owned(),
                digest: Some(digest.to_owned()),
            },
            None => ImageArtifact {
                reference: image.to_owned(),
                digest: None,
            },
        }
    }

    /// `reference@digest`, or the reference alone.
    pub fn full(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}@{d}", self.reference),
            None => self.reference.clone(),
        }
    }
}

/// Whether `d` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// One stage of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Current status.
    pub status: StageStatus,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Trigger calls made for the current attempt.
    #[serde(default)]
    pub trigger_calls: u32,
    /// When the build service was last asked about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at_ms: Option<u64>,
    /// A build event said the build moved on (a job of it ended, or an
    /// unauthenticated notice arrived): poll it now rather than after the
    /// poll interval. Cleared by the poll that served it ([`hints`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_requested_at_ms: Option<u64>,
    /// When it started on its service.
    pub started_at_ms: Option<u64>,
    /// When it ended.
    pub finished_at_ms: Option<u64>,
    /// The build service's id for it (queue item, run id, pipeline id, …).
    pub external_id: Option<String>,
    /// Link to it on the build service.
    pub url: Option<String>,
    /// Why it failed, or what it waits for.
    pub reason: Option<String>,
    /// Test results as reported.
    #[serde(default)]
    pub tests: Option<serde_json::Value>,
    /// Image built by this stage.
    #[serde(default)]
    pub image: Option<ImageArtifact>,
    /// Link to the logs.
    #[serde(default)]
    pub log_url: Option<String>,
    /// Build time as the build service measured it.
    #[serde(default)]
    pub build_duration_ms: Option<u64>,
    /// An approval stage's request and the answers to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalGate>,
    /// Who asked for this attempt, when it is a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_by: Option<String>,
}

/// What a build reported about a stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Terminal status, or none for a progress report.
    pub status: Option<StageStatus>,
    /// Why, or what happened.
    pub message: Option<String>,
    /// Test results (a serialized test summary).
    pub tests: Option<serde_json::Value>,
    /// The image built.
    pub image: Option<ImageArtifact>,
    /// Link to the logs.
    pub log_url: Option<String>,
    /// Link to the build.
    pub url: Option<String>,
    /// Build time.
    pub duration_ms: Option<u64>,
}

impl StageRecord {
    /// A stage that has not started.
    pub fn queued() -> Self {
        StageRecord {
            status: StageStatus::Queued,
            attempt: 1,
            trigger_calls: 0,
            last_polled_at_ms: None,
            poll_requested_at_ms: None,
            started_at_ms: None,
            finished_at_ms: None,
            external_id: None,
            url: None,
            reason: None,
            tests: None,
            image: None,
            log_url: None,
            build_duration_ms: None,
            approval: None,
            retried_by: None,
        }
    }
}

/// One recorded change of status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When, in ms since the epoch.
    pub at_ms: u64,
    /// The stage, or none for the run itself.
    pub stage: Option<String>,
    /// Attempt of the stage.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// New status (kebab-case).
    pub to: String,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Goes up by one with every stored change.
    pub version: u64,
    /// `{app}-{number}`.
    pub id: String,
    /// App name.
    pub app: String,
    /// Run number within the app.
    pub number: u64,
    /// Current status.
    pub status: RunStatus,
    /// What started it.
    pub trigger: RunTrigger,
    /// The pipeline read at the commit (none when it could not be read).
    pub pipeline: Option<Pipeline>,
    /// Why the run failed before any stage (e.g. invalid pipeline file).
    pub error: Option<String>,
    /// Stages by name.
    pub stages: BTreeMap<String, StageRecord>,
    /// Creation time.
    pub created_at_ms: u64,
    /// When it ended.
    pub finished_at_ms: Option<u64>,
    /// Every status change, oldest first.
    pub transitions: Vec<Transition>,
    /// The event this run was created for (its claim key's hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What the pipeline's triggers check, kept until the pipeline file is
    /// read (when the webhook answered before it could be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingEvent>,
    /// Side effects decided on and not yet seen done.
    #[serde(default, skip_serializing_if = "Intents::is_empty")]
    pub intents: Intents,
    /// Commit statuses as last posted: context → what was posted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub posted: BTreeMap<String, String>,
    /// Chat notices already sent (or given up on): `failure`, `fixed`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub notices: BTreeSet<String>,
    /// Once the run ended: the outcome of the branch's previous run, as
    /// the branch record said when this run was recorded in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_outcome: Option<String>,
    /// Chat channels waiting for the run's end (sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<crate::replies::PendingReply>,
    /// A merge-request run of an untrusted author: held until a trusted
    /// person says `/ok-to-test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_to_test: Option<OkToTest>,
    /// A merge-request run's pipeline file against its target branch's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_comparison: Option<BaseComparison>,
}

/// The parts of an event the pipeline's triggers look at, kept on a run
/// whose pipeline file is not read yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    /// Paths the push changed.
    pub changed_paths: Vec<String>,
    /// Whether `changed_paths` is the whole list.
    pub paths_complete: bool,
}

/// `{app}-{number}`.
pub fn run_id(app: &str, number: u64) -> String {
    format!("{app}-{number}")
}

/// Splits a run id into app and number.
pub fn parse_run_id(id: &str) -> Option<(&str, u64)> {
    let (app, number) = id.rsplit_once('-')?;
    let number = number.parse().ok()?;
    (!app.is_empty()).then_some((app, number))
}

#[cfg(test)]
mod tests;
