//! Approval gates: what an approval stage asked for (run, stage, attempt,
//! commit and image digest, the quorum and until when) and what people
//! answered. A decision is a fact on the run; the stage ends when the
//! quorum approves or anyone rejects.

use serde::{Deserialize, Serialize};

use super::{RunRecord, StageStatus, TransitionError};
use crate::pipeline::StageKind;

/// What an approval stage asks for, fixed when it starts waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalGate {
    /// The environment it gates, whose policy applies.
    pub environment: Option<String>,
    /// The commit being approved.
    pub commit: String,
    /// The image that will be deployed, as built by an earlier stage.
    pub image: Option<String>,
    /// Its digest: an approval holds for this artifact only.
    pub digest: Option<String>,
    /// Approvals needed.
    pub required: u32,
    /// People or groups the pipeline narrows approvers to (empty: anyone
    /// with the approver role).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// After this, the stage times out and approvals are refused.
    pub expires_at_ms: u64,
    /// Answers so far, oldest first.
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Go on.
    Approved,
    /// Stop: the stage fails.
    Rejected,
}

/// One person's answer to an approval gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Approved or rejected.
    pub verdict: Verdict,
    /// The person (a name of the access configuration).
    pub by: String,
    /// The verified identity they acted as (`slack:T…:U…`, `api-token`).
    pub identity: String,
    /// Where from: `slack`, `mattermost`, `dingtalk`, `feishu`, `api`.
    pub via: String,
    /// When.
    pub at_ms: u64,
    /// Why (optional for approvals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The commit and digest the decision was given for.
    pub commit: String,
    /// The digest (none when no earlier stage reported one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// What the policy says an approval stage needs, decided by the
/// configuration when the stage starts waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatePolicy {
    /// The environment gated.
    pub environment: Option<String>,
    /// Approvals needed.
    pub required: u32,
    /// How long the request stays open.
    pub ttl_ms: u64,
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// Not a stage of the run, stale attempt, …
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The stage is not an approval waiting for people.
    #[error("stage {stage:?} is not waiting for approval (it is {status})")]
    NotWaiting {
        /// Stage name.
        stage: String,
        /// Its status.
        status: String,
    },
    /// The request expired.
    #[error("the approval request for {0:?} has expired")]
    Expired(String),
    /// The person already answered this request.
    #[error("{0} already answered this approval request")]
    AlreadyDecided(String),
}

/// What recording a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Counted; more approvals are needed.
    Counted {
        /// Approvals so far.
        approvals: u32,
        /// Approvals needed.
        required: u32,
    },
    /// The quorum is reached: the stage succeeded.
    Approved,
    /// Rejected: the stage failed.
    Rejected,
}

fn status_name(status: StageStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl RunRecord {
    /// Opens the gate of an approval stage that just began waiting: bound
    /// to the run's commit and the image it would deploy.
    pub fn open_gate(&mut self, stage: &str, policy: &GatePolicy, now_ms: u64) -> bool {
        let Some(StageKind::Approval {
            approvers,
            approvals,
            ..
        }) = self
            .pipeline
            .as_ref()
            .and_then(|p| p.stage(stage))
            .map(|s| s.kind.clone())
        else {
            return false;
        };
        let timeout = self
            .pipeline
            .as_ref()
            .and_then(|p| p.stage(stage))
            .map_or(u64::MAX, |s| s.timeout_ms);
        let image = self.image_for(stage);
        let commit = self.trigger.commit.clone();
        let Some(record) = self.stages.get_mut(stage) else {
            return false;
        };
        if record.status != StageStatus::WaitingForApproval || record.approval.is_some() {
            return false;
        }
        let started = record.started_at_ms.unwrap_or(now_ms);
        record.approval = Some(ApprovalGate {
            environment: policy.environment.clone(),
            commit,
            image: image.as_ref().map(|i| i.full()),
            digest: image.and_then(|i| i.digest),
            required: policy.required.max(approvals),
            approvers,
            expires_at_ms: started.saturating_add(policy.ttl_ms.min(timeout)),
            decisions: Vec::new(),
        });
        true
    }

    /// Records `decision` on `stage` (at `attempt` when given): the stage
    /// succeeds once the quorum approves and fails on a rejection.
    pub fn decide(
        &mut self,
        stage: &str,
        attempt: Option<u32>,
        decision: Decision,
        now_ms: u64,
    ) -> Result<Decided, DecisionError> {
        let record = self
            .stages
            .get_mut(stage)
            .ok_or_else(|| TransitionError::UnknownStage(stage.to_owned()))?;
        if let Some(given) = attempt.filter(|a| *a != record.attempt) {
            return Err(TransitionError::StaleAttempt {
                stage: stage.to_owned(),
                current: record.attempt,
                given,
            }
            .into());
        }
        let current = record.attempt;
        let not_waiting = || DecisionError::NotWaiting {
            stage: stage.to_owned(),
            status: status_name(record.status),
        };
        if record.status != StageStatus::WaitingForApproval {
            return Err(not_waiting());
        }
        let Some(gate) = record.approval.as_mut() else {
            return Err(not_waiting());
        };
        if now_ms >= gate.expires_at_ms {
            return Err(DecisionError::Expired(stage.to_owned()));
        }
        if gate.decisions.iter().any(|d| d.by == decision.by) {
            return Err(DecisionError::AlreadyDecided(decision.by));
        }
        let verdict = decision.verdict;
        let by = decision.by.clone();
        let reason = decision.reason.clone();
        gate.decisions.push(Decision {
            commit: gate.commit.clone(),
            digest: gate.digest.clone(),
            ..decision
        });
        let approvals = gate
            .decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Approved)
            .count() as u32;
        let required = gate.required;
        let outcome = match verdict {
            Verdict::Rejected => {
                let why = match reason {
                    Some(r) => format!("rejected by {by}: {r}"),
                    None => format!("rejected by {by}"),
                };
                self.stage_finished(stage, current, StageStatus::Failed, now_ms, Some(why))?;
                Decided::Rejected
            }
            Verdict::Approved if approvals >= required => {
                let why = format!("approved by {}", self.approvers_of(stage).join(", "));
                self.stage_finished(stage, current, StageStatus::Succeeded, now_ms, Some(why))?;
                Decided::Approved
            }
            Verdict::Approved => Decided::Counted {
                approvals,
                required,
            },
        };
        Ok(outcome)
    }

    fn approvers_of(&self, stage: &str) -> Vec<String> {
        self.stages
            .get(stage)
            .and_then(|s| s.approval.as_ref())
            .map(|g| {
                g.decisions
                    .iter()
                    .filter(|d| d.verdict == Verdict::Approved)
                    .map(|d| d.by.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether an approval stage among `stage`'s ancestors was approved.
    pub fn approved_before(&self, stage: &str) -> bool {
        let Some(pipeline) = self.pipeline.as_ref() else {
            return false;
        };
        pipeline.ancestors_of(stage).into_iter().any(|name| {
            let is_approval = pipeline
                .stage(name)
                .is_some_and(|s| matches!(s.kind, StageKind::Approval { .. }));
            let granted = self
                .stages
                .get(name)
                .is_some_and(|s| s.status == StageStatus::Succeeded);
            is_approval && granted
        })
    }

    /// An approval gate of `stage`'s ancestors that approved another image
    /// than `digest`: deploying it would deploy what nobody approved.
    pub fn unapproved_image(&self, stage: &str, digest: Option<&str>) -> Option<String> {
        let pipeline = self.pipeline.as_ref()?;
        for name in pipeline.ancestors_of(stage) {
            let gate = self.stages.get(name).and_then(|s| s.approval.as_ref());
            if let Some(approved) = gate.and_then(|g| g.digest.as_deref())
                && digest != Some(approved)
            {
                return Some(format!(
                    "{name} approved {approved}, not {}",
                    digest.unwrap_or("an image without digest")
                ));
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "approvals_tests.rs"]
mod tests;
