//! The runs' key-value layout and its concurrency-safe operations.

use sha2::{Digest, Sha256};

use super::index::RunIndex;
use super::{RunRecord, TransitionError, parse_run_id};
use crate::obs::metrics;
use crate::ports::{KeyValue, KvError, Swap};

/// Most compare-and-swap rounds before giving up on a hot record.
const MAX_CAS_ROUNDS: usize = 64;

/// A run store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A stored record is not valid JSON for its type.
    #[error("stored run {0:?} is corrupt: {1}")]
    Corrupt(String, String),
    /// No such run.
    #[error("no run {0:?}")]
    NotFound(String),
    /// The change does not apply.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Too many concurrent writers.
    #[error("run {0:?} is changing too fast; try again")]
    Contention(String),
}

impl From<crate::cells::CellError> for StoreError {
    fn from(e: crate::cells::CellError) -> Self {
        use crate::cells::CellError;
        match e {
            CellError::Kv(e) => StoreError::Kv(e),
            CellError::Corrupt(key, why) => StoreError::Corrupt(key, why),
            CellError::Contention(key) => StoreError::Contention(key),
        }
    }
}

/// The identity of an event, hashed for use in a key: the same push under
/// two delivery ids has one identity.
pub fn event_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// Runs in a key-value store.
pub struct RunStore<'a, K> {
    kv: &'a K,
}

fn run_key(id: &str) -> Option<String> {
    let (app, number) = parse_run_id(id)?;
    Some(format!("run/{app}/{number}"))
}

impl<'a, K: KeyValue> RunStore<'a, K> {
    /// Runs stored in `kv`.
    pub fn new(kv: &'a K) -> Self {
        RunStore { kv }
    }

    /// Hands out the next run number of `app` (atomic).
    pub async fn next_number(&self, app: &str) -> Result<u64, StoreError> {
        let n = self.kv.increment(&format!("app/{app}/runs"), 1).await?;
        Ok(n.max(0) as u64)
    }

    /// Stores a new run (its key is new: the number was just handed out).
    pub async fn create(&self, record: &RunRecord) -> Result<(), StoreError> {
        let key = run_key(&record.id).ok_or_else(|| StoreError::NotFound(record.id.clone()))?;
        let bytes = serde_json::to_vec(record)
            .map_err(|e| StoreError::Corrupt(record.id.clone(), e.to_string()))?;
        // Not indexed here: the webhook's fast path writes only its claim,
        // the counter and the run. The reconcile that follows (or the
        // tick's adoption) indexes it.
        self.kv.set(&key, &bytes).await?;
        metrics::apply(self.kv, &metrics::run_changes(None, record)).await;
        Ok(())
    }

    /// Keeps the run's summary in the app's index. A failure here loses
    /// nothing: the run's next reconcile repairs the index.
    async fn index(&self, record: &RunRecord) {
        if let Err(e) = RunIndex::new(self.kv).record(record).await {
            eprintln!("run {}: index not updated: {e}", record.id);
        }
    }

    /// The run `id`, if it exists.
    pub async fn load(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let Some(key) = run_key(id) else {
            return Ok(None);
        };
        match self.kv.get(&key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(id.to_owned(), e.to_string())),
        }
    }

    /// Applies `change` to run `id` with compare-and-swap, retrying on
    /// conflicts with the fresh record. `change` must be a pure function of
    /// the record it is given. Returns the record as stored and whether
    /// this call changed it.
    pub async fn update<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut RunRecord) -> Result<T, TransitionError>,
    ) -> Result<(RunRecord, T, bool), StoreError> {
        let key = run_key(id).ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let mut current = self
            .kv
            .get(&key)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        for _ in 0..MAX_CAS_ROUNDS {
            let before: RunRecord = serde_json::from_slice(&current)
                .map_err(|e| StoreError::Corrupt(id.to_owned(), e.to_string()))?;
            let mut after = before.clone();
            let value = change(&mut after)?;
            if after == before {
                return Ok((before, value, false));
            }
            after.version = before.version + 1;
            let bytes = serde_json::to_vec(&after)
                .map_err(|e| StoreError::Corrupt(id.to_owned(), e.to_string()))?;
            match self.kv.compare_and_swap(&key, &current, &bytes).await? {
                Swap::Swapped => {
                    self.index(&after).await;
                    // Counted once: only this swap made this transition.
                    let changes = metrics::run_changes(Some(&before), &after);
                    metrics::apply(self.kv, &changes).await;
                    return Ok((after, value, true));
                }
                Swap::Conflict(Some(fresh)) => current = fresh,
                Swap::Conflict(None) => return Err(StoreError::NotFound(id.to_owned())),
            }
        }
        Err(StoreError::Contention(id.to_owned()))
    }

    /// Writes `record` unless its key already holds a run: for a request
    /// that took over an event whose owner linked the run and died before
    /// writing it.
    pub async fn create_if_absent(&self, record: &RunRecord) -> Result<bool, StoreError> {
        if self.load(&record.id).await?.is_some() {
            return Ok(false);
        }
        self.create(record).await?;
        Ok(true)
    }

    /// The last run number handed out for `app` (0: none).
    pub async fn last_number(&self, app: &str) -> Result<u64, StoreError> {
        let key = format!("app/{app}/runs");
        if self.kv.get(&key).await?.is_none() {
            return Ok(0);
        }
        Ok(self.kv.increment(&key, 0).await?.max(0) as u64)
    }
}

/// Where a build service's id for a build points: the stage it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRef {
    /// Run id.
    pub run: String,
    /// Stage name.
    pub stage: String,
    /// Stage attempt.
    pub attempt: u32,
}

/// The index from build-service ids to stages (`external/{service}/{id}`),
/// so build status webhooks find their stage.
pub struct BuildIndex<'a, K> {
    kv: &'a K,
}

impl<'a, K: KeyValue> BuildIndex<'a, K> {
    /// The index in `kv`.
    pub fn new(kv: &'a K) -> Self {
        BuildIndex { kv }
    }

    /// The key of `external_id` on a service of `kind`.
    pub fn key(kind: &str, external_id: &str) -> String {
        match kind {
            // The API URL of the run ends in its numeric id, which webhooks carry.
            "github_actions" => format!(
                "external/github_actions/{}",
                external_id
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(external_id)
            ),
            "gitlab_ci" => format!("external/gitlab_ci/{external_id}"),
            _ => format!(
                "external/{kind}/{}",
                hex::encode(&Sha256::digest(external_id.as_bytes())[..16])
            ),
        }
    }

    /// Records that `external_id` on a `kind` service runs `target`.
    pub async fn put(
        &self,
        kind: &str,
        external_id: &str,
        target: &BuildRef,
    ) -> Result<(), StoreError> {
        let entry = format!("{}\n{}\n{}", target.run, target.stage, target.attempt);
        self.kv
            .set(&Self::key(kind, external_id), entry.as_bytes())
            .await?;
        Ok(())
    }

    /// The stage `external_id` on a `kind` service runs, if indexed.
    pub async fn get(&self, kind: &str, external_id: &str) -> Result<Option<BuildRef>, StoreError> {
        let Some(bytes) = self.kv.get(&Self::key(kind, external_id)).await? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut parts = text.splitn(3, '\n');
        let (Some(run), Some(stage), Some(attempt)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        Ok(attempt.parse().ok().map(|attempt| BuildRef {
            run: run.to_owned(),
            stage: stage.to_owned(),
            attempt,
        }))
    }
}
