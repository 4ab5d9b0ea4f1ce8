//! Deployments and environment locks in the key-value store.
//!
//! | key | value |
//! |---|---|
//! | `deploy/{app}/{env}/n` | counter: last deployment number |
//! | `deployment/{app}/{env}/{n}` | [`Deployment`] (JSON, `version` inside, compare-and-swap) — also the release history |
//! | `lock/{app}/{env}` | [`Lock`]: who holds the environment and since when |
//! | `lock/{app}/{env}/init` | counter: whoever gets 1 creates the lock record |

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use super::lock::{Lock, lock_key};
use super::platform::Rollout;
use super::{StepOutcome, Strategy};
use crate::intents::Intents;
use crate::obs::metrics;
use crate::ports::{KeyValue, KvError, Swap};

/// Most compare-and-swap rounds on one record.
const MAX_ROUNDS: usize = 64;

/// Where a deployment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentStatus {
    /// Rolling out.
    InProgress,
    /// A canary step waits for promote.
    Paused,
    /// Live.
    Succeeded,
    /// Did not go out (maybe rolled back automatically).
    Failed,
    /// Stopped by abort.
    Aborted,
}

impl DeploymentStatus {
    /// Whether it ended.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Aborted)
    }
}

/// A freeze an admin let a deployment through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeOverride {
    /// The freeze window's name.
    pub freeze: String,
    /// Who overrode it.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// The pipeline stage a deployment was asked for by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLink {
    /// Run id.
    pub run: String,
    /// Stage name.
    pub stage: String,
    /// Stage attempt.
    pub attempt: u32,
}

/// One deployment of an image to an environment (a release once it succeeded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Goes up with every stored change.
    pub version: u64,
    /// `{app}.{env}.{number}`.
    pub id: String,
    /// App name.
    pub app: String,
    /// Environment name.
    pub environment: String,
    /// Number within the app and environment.
    pub number: u64,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// Image reference as deployed (with digest when known).
    pub image: String,
    /// The digest part of `image`, if any.
    pub digest: Option<String>,
    /// How it goes out.
    pub strategy: Strategy,
    /// Who asked: `run:<id>` or the API caller.
    pub requested_by: String,
    /// The commit the image was built from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pipeline stage behind it.
    pub stage: Option<StageLink>,
    /// Where it is.
    pub status: DeploymentStatus,
    /// Latest progress or failure message.
    pub message: Option<String>,
    /// Share of traffic on the new version, when known.
    pub traffic_percent: Option<u8>,
    /// Whether a failure restored the previous version.
    pub rolled_back: bool,
    /// Platform state of the rollout.
    pub rollout: Option<Rollout>,
    /// When it was asked for.
    pub created_at_ms: u64,
    /// When it ended.
    pub finished_at_ms: Option<u64>,
    /// A rollback: the rollout of the release it rolls back from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<Rollout>,
    /// A freeze an admin let this deployment through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_override: Option<FreezeOverride>,
    /// The request talking to the platform for it now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<StepLease>,
    /// Promotes asked for (facts).
    #[serde(default)]
    pub promotions_requested: u32,
    /// Promotes carried out.
    #[serde(default)]
    pub promotions_done: u32,
    /// Whether someone asked to abort (a fact).
    #[serde(default)]
    pub abort_requested: bool,
    /// Who asked for the promote or abort last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operated_by: Option<String>,
    /// Side effects of its end not yet seen done.
    #[serde(default, skip_serializing_if = "Intents::is_empty")]
    pub intents: Intents,
    /// Side effects of its end that are done.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub done: BTreeSet<String>,
    /// Chat channels waiting for the deployment's end (sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<crate::replies::PendingReply>,
}

/// What a paused canary step waits for: its hold, or a promote.
fn paused_message(strategy: &Strategy, step: usize, traffic_percent: u8) -> String {
    let wait = match strategy {
        Strategy::Canary {
            hold_ms: Some(hold),
            ..
        } => format!(
            "held {} before the next step (promote goes on now)",
            crate::pipeline::duration::format_ms(*hold)
        ),
        _ => "waiting for promote".to_owned(),
    };
    format!("canary step {} at {traffic_percent}%: {wait}", step + 1)
}

/// The claim of one request on a deployment's platform calls: only its
/// holder steps, promotes or aborts the rollout, so two requests never
/// work on the platform at once and a result computed from an old rollout
/// state is never applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLease {
    /// Unique per claim: the record's version when it was taken.
    pub token: u64,
    /// When the holder is presumed gone.
    pub until_ms: u64,
}

impl Deployment {
    /// Records an adapter's outcome; returns whether the deployment ended now.
    pub fn apply(&mut self, outcome: &StepOutcome, now_ms: u64) -> bool {
        let was_final = self.status.is_final();
        if was_final {
            // Terminal states are final: a late outcome never reopens one.
            return false;
        }
        match outcome {
            StepOutcome::InProgress {
                message,
                traffic_percent,
            } => {
                self.status = DeploymentStatus::InProgress;
                self.message = Some(message.clone());
                if traffic_percent.is_some() {
                    self.traffic_percent = *traffic_percent;
                }
            }
            StepOutcome::Paused {
                step,
                traffic_percent,
            } => {
                self.status = DeploymentStatus::Paused;
                self.traffic_percent = Some(*traffic_percent);
                self.message = Some(paused_message(&self.strategy, *step, *traffic_percent));
            }
            StepOutcome::Succeeded => {
                self.status = DeploymentStatus::Succeeded;
                self.traffic_percent = Some(100);
                self.message = None;
            }
            StepOutcome::Failed {
                reason,
                rolled_back,
            } => {
                self.status = DeploymentStatus::Failed;
                self.message = Some(reason.clone());
                self.rolled_back = *rolled_back;
                if *rolled_back {
                    self.traffic_percent = Some(0);
                }
            }
            StepOutcome::Aborted => {
                self.status = DeploymentStatus::Aborted;
                self.traffic_percent = Some(0);
                let note = self.rollout.as_ref().and_then(Rollout::abort_note);
                self.message =
                    Some(note.map_or_else(|| "aborted".into(), |n| format!("aborted: {n}")));
            }
        }
        if self.status.is_final() && !was_final {
            self.finished_at_ms = Some(now_ms);
            return true;
        }
        false
    }

    /// How long it took, once it ended.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_at_ms
            .map(|f| f.saturating_sub(self.created_at_ms))
    }
}

/// Deployment storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A stored record is corrupt.
    #[error("stored record {0:?} is corrupt: {1}")]
    Corrupt(String, String),
    /// Too much contention.
    #[error("{0:?} is changing too fast; try again")]
    Contention(String),
}

/// Deployments and locks of one store.
pub struct Records<'a, K> {
    kv: &'a K,
}

/// Key of deployment `number`.
pub fn deployment_key(app: &str, env: &str, number: u64) -> String {
    format!("deployment/{app}/{env}/{number}")
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, RecordError> {
    serde_json::from_slice(bytes).map_err(|e| RecordError::Corrupt(key.to_owned(), e.to_string()))
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, RecordError> {
    serde_json::to_vec(value).map_err(|e| RecordError::Corrupt(key.to_owned(), e.to_string()))
}

impl<'a, K: KeyValue> Records<'a, K> {
    /// Records in `kv`.
    pub fn new(kv: &'a K) -> Self {
        Records { kv }
    }

    /// The lock record, created on first use (claimed by increment).
    async fn lock_record(&self, app: &str, env: &str) -> Result<Vec<u8>, RecordError> {
        let key = lock_key(app, env);
        for _ in 0..MAX_ROUNDS {
            if let Some(bytes) = self.kv.get(&key).await? {
                return Ok(bytes);
            }
            if self.kv.increment(&format!("{key}/init"), 1).await? == 1 {
                self.kv.set(&key, &encode(&key, &Lock::fresh())?).await?;
            }
        }
        Err(RecordError::Contention(key))
    }

    /// The lock of the environment, if a deployment holds it or a person
    /// locked it.
    pub async fn holder(
        &self,
        app: &str,
        env: &str,
        now_ms: u64,
    ) -> Result<Option<Lock>, RecordError> {
        let key = lock_key(app, env);
        let Some(bytes) = self.kv.get(&key).await? else {
            return Ok(None);
        };
        let lock: Lock = decode(&key, &bytes)?;
        let held = lock.holder.is_some() && lock.expires_at_ms.is_none_or(|e| e > now_ms);
        // A locked environment is taken too, holder or not.
        Ok((held || lock.frozen.is_some()).then_some(lock))
    }

    /// Takes the environment for `holder` for `ttl_ms` (renewed by
    /// [`Records::renew`]); `Err(lock)` names who has it.
    pub async fn acquire(
        &self,
        app: &str,
        env: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Result<(), Lock>, RecordError> {
        let key = lock_key(app, env);
        let mut raw = self.lock_record(app, env).await?;
        for _ in 0..MAX_ROUNDS {
            let lock: Lock = decode(&key, &raw)?;
            let live = lock.holder.is_some() && lock.expires_at_ms.is_none_or(|e| e > now_ms);
            let mine = lock.holder.as_deref() == Some(holder);
            if !mine && (live || lock.frozen.is_some()) {
                return Ok(Err(lock));
            }
            let next = Lock {
                version: lock.version + 1,
                holder: Some(holder.to_owned()),
                since_ms: Some(now_ms),
                expires_at_ms: Some(now_ms + ttl_ms),
                frozen: lock.frozen.clone(),
            };
            match self
                .kv
                .compare_and_swap(&key, &raw, &encode(&key, &next)?)
                .await?
            {
                Swap::Swapped => return Ok(Ok(())),
                Swap::Conflict(Some(fresh)) => raw = fresh,
                Swap::Conflict(None) => raw = self.lock_record(app, env).await?,
            }
        }
        Err(RecordError::Contention(key))
    }

    /// Extends `holder`'s lock; false when it no longer holds it.
    pub async fn renew(
        &self,
        app: &str,
        env: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<bool, RecordError> {
        self.change_lock(app, env, holder, |l| {
            l.expires_at_ms = Some(now_ms + ttl_ms)
        })
        .await
    }

    /// Frees the environment if `holder` has it.
    pub async fn release(&self, app: &str, env: &str, holder: &str) -> Result<bool, RecordError> {
        self.change_lock(app, env, holder, |l| {
            l.holder = None;
            l.since_ms = None;
            l.expires_at_ms = None;
        })
        .await
    }

    async fn change_lock(
        &self,
        app: &str,
        env: &str,
        holder: &str,
        change: impl Fn(&mut Lock),
    ) -> Result<bool, RecordError> {
        let key = lock_key(app, env);
        let Some(mut raw) = self.kv.get(&key).await? else {
            return Ok(false);
        };
        for _ in 0..MAX_ROUNDS {
            let mut lock: Lock = decode(&key, &raw)?;
            if lock.holder.as_deref() != Some(holder) {
                return Ok(false);
            }
            change(&mut lock);
            lock.version += 1;
            match self
                .kv
                .compare_and_swap(&key, &raw, &encode(&key, &lock)?)
                .await?
            {
                Swap::Swapped => return Ok(true),
                Swap::Conflict(Some(fresh)) => raw = fresh,
                Swap::Conflict(None) => return Ok(false),
            }
        }
        Err(RecordError::Contention(key))
    }

    /// Hands out the next deployment number.
    pub async fn next_number(&self, app: &str, env: &str) -> Result<u64, RecordError> {
        Ok(self
            .kv
            .increment(&format!("deploy/{app}/{env}/n"), 1)
            .await?
            .max(0) as u64)
    }

    /// The last deployment number handed out (0: none).
    pub async fn last_number(&self, app: &str, env: &str) -> Result<u64, RecordError> {
        let key = format!("deploy/{app}/{env}/n");
        if self.kv.get(&key).await?.is_none() {
            return Ok(0);
        }
        Ok(self.kv.increment(&key, 0).await?.max(0) as u64)
    }

    /// Stores a new deployment (its number was just handed out).
    pub async fn create(&self, d: &Deployment) -> Result<(), RecordError> {
        let key = deployment_key(&d.app, &d.environment, d.number);
        self.kv.set(&key, &encode(&key, d)?).await?;
        metrics::apply(self.kv, &metrics::deployment_changes(None, d)).await;
        Ok(())
    }

    /// Deployment `number`.
    pub async fn load(
        &self,
        app: &str,
        env: &str,
        number: u64,
    ) -> Result<Option<Deployment>, RecordError> {
        let key = deployment_key(app, env, number);
        match self.kv.get(&key).await? {
            Some(bytes) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The deployment with id `{app}.{env}.{n}`.
    pub async fn load_id(&self, id: &str) -> Result<Option<Deployment>, RecordError> {
        let mut parts = id.rsplitn(3, '.');
        let (Some(n), Some(env), Some(app)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        match n.parse() {
            Ok(n) => self.load(app, env, n).await,
            Err(_) => Ok(None),
        }
    }

    /// Applies `change` with compare-and-swap; returns the stored record
    /// and what `change` returned.
    pub async fn update<T>(
        &self,
        d: &Deployment,
        mut change: impl FnMut(&mut Deployment) -> T,
    ) -> Result<(Deployment, T), RecordError> {
        let key = deployment_key(&d.app, &d.environment, d.number);
        let mut raw = self
            .kv
            .get(&key)
            .await?
            .ok_or_else(|| RecordError::Corrupt(key.clone(), "missing".into()))?;
        for _ in 0..MAX_ROUNDS {
            let before: Deployment = decode(&key, &raw)?;
            let mut after = before.clone();
            let value = change(&mut after);
            if after == before {
                return Ok((before, value));
            }
            after.version = before.version + 1;
            match self
                .kv
                .compare_and_swap(&key, &raw, &encode(&key, &after)?)
                .await?
            {
                Swap::Swapped => {
                    // Counted once: only this swap made this transition.
                    let changes = metrics::deployment_changes(Some(&before), &after);
                    metrics::apply(self.kv, &changes).await;
                    return Ok((after, value));
                }
                Swap::Conflict(Some(fresh)) => raw = fresh,
                Swap::Conflict(None) => {
                    return Err(RecordError::Corrupt(key, "deleted while updating".into()));
                }
            }
        }
        Err(RecordError::Contention(key))
    }

    /// The newest `limit` deployments, newest first.
    pub async fn history(
        &self,
        app: &str,
        env: &str,
        limit: u64,
    ) -> Result<Vec<Deployment>, RecordError> {
        let last = self.last_number(app, env).await?;
        let mut out = Vec::new();
        let mut n = last;
        while n >= 1 && (out.len() as u64) < limit {
            if let Some(d) = self.load(app, env, n).await? {
                out.push(d);
            }
            n -= 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
