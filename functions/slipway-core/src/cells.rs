//! JSON records changed only by compare-and-swap, created portably.
//!
//! A record is created once by whoever gets 1 from `increment` on its
//! `…/init` key (compare-and-swap on a missing key is a plain upsert on
//! Spin's default SQLite store, so it cannot create), and changed by
//! compare-and-swap on its bytes, retried with the fresh value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ports::{KeyValue, KvError, Swap};

/// Compare-and-swap rounds before a hot record counts as contended.
const ROUNDS: usize = 64;

/// A failure to read or change a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    /// The store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// The stored bytes are not the record.
    #[error("stored record {0:?} is corrupt: {1}")]
    Corrupt(String, String),
    /// Too many writers at once.
    #[error("{0:?} is changing too fast; try again")]
    Contention(String),
}

/// The record at `key`, if any.
pub async fn load<T: DeserializeOwned>(
    kv: &impl KeyValue,
    key: &str,
) -> Result<Option<T>, CellError> {
    match kv.get(key).await? {
        Some(bytes) => decode(key, &bytes).map(Some),
        None => Ok(None),
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, CellError> {
    serde_json::from_slice(bytes).map_err(|e| CellError::Corrupt(key.to_owned(), e.to_string()))
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, CellError> {
    serde_json::to_vec(value).map_err(|e| CellError::Corrupt(key.to_owned(), e.to_string()))
}

/// Applies `change` to the record at `key` (created from `initial` on first
/// use), retrying on conflicts with the fresh record; `change` must depend
/// only on the record it is given. Returns the record as stored, what
/// `change` returned, and whether anything was written.
pub async fn update<T, R>(
    kv: &impl KeyValue,
    key: &str,
    initial: impl Fn() -> T,
    mut change: impl FnMut(&mut T) -> R,
) -> Result<(T, R, bool), CellError>
where
    T: Serialize + DeserializeOwned + PartialEq + Clone,
{
    let mut raw = existing(kv, key, &initial).await?;
    for _ in 0..ROUNDS {
        let before: T = decode(key, &raw)?;
        let mut after = before.clone();
        let value = change(&mut after);
        if after == before {
            return Ok((before, value, false));
        }
        match kv
            .compare_and_swap(key, &raw, &encode(key, &after)?)
            .await?
        {
            Swap::Swapped => return Ok((after, value, true)),
            Swap::Conflict(Some(fresh)) => raw = fresh,
            Swap::Conflict(None) => raw = existing(kv, key, &initial).await?,
        }
    }
    Err(CellError::Contention(key.to_owned()))
}

/// The bytes at `key`, creating the record first if it is missing.
async fn existing<T: Serialize>(
    kv: &impl KeyValue,
    key: &str,
    initial: &impl Fn() -> T,
) -> Result<Vec<u8>, CellError> {
    if let Some(bytes) = kv.get(key).await? {
        return Ok(bytes);
    }
    let claims = kv.increment(&format!("{key}/init"), 1).await?;
    if claims > 1
        && let Some(bytes) = kv.get(key).await?
    {
        return Ok(bytes);
    }
    // First here, or the first creator died between its claim and its
    // write: the initial value is the same whoever writes it.
    let bytes = encode(key, &initial())?;
    kv.set(key, &bytes).await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::testing::MemKv;

    #[test]
    fn created_once_then_changed_in_place() {
        let kv = MemKv::default();
        let (v, (), wrote) = block_on(update(&kv, "k", || 1u32, |v| *v += 1)).unwrap();
        assert_eq!((v, wrote), (2, true));
        let (v, (), wrote) = block_on(update(&kv, "k", || 1u32, |_| {})).unwrap();
        assert_eq!((v, wrote), (2, false));
        assert_eq!(block_on(load::<u32>(&kv, "k")).unwrap(), Some(2));
    }
}
