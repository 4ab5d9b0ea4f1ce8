//! The runs' key-value layout and its concurrency-safe operations.

use sha2::{Digest, Sha256};

use super::{RunRecord, TransitionError, parse_run_id};
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

/// Result of claiming an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the event and creates its run.
    Owner,
    /// Someone claimed it before; the run they created, if linked yet.
    Duplicate(Option<String>),
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
        self.kv.set(&key, &bytes).await?;
        Ok(())
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
                Swap::Swapped => return Ok((after, value, true)),
                Swap::Conflict(Some(fresh)) => current = fresh,
                Swap::Conflict(None) => return Err(StoreError::NotFound(id.to_owned())),
            }
        }
        Err(StoreError::Contention(id.to_owned()))
    }

    /// The run created for event `hash`, if any.
    pub async fn event_run(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .kv
            .get(&format!("event/{hash}/run"))
            .await?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Claims event `hash` in one atomic step.
    pub async fn claim_event(&self, hash: &str) -> Result<Claim, StoreError> {
        let n = self.kv.increment(&format!("event/{hash}"), 1).await?;
        if n == 1 {
            Ok(Claim::Owner)
        } else {
            Ok(Claim::Duplicate(self.event_run(hash).await?))
        }
    }

    /// Records that event `hash` created run `id`.
    pub async fn link_event(&self, hash: &str, id: &str) -> Result<(), StoreError> {
        self.kv
            .set(&format!("event/{hash}/run"), id.as_bytes())
            .await?;
        Ok(())
    }
}
