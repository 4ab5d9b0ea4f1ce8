//! What chat commands keep in the key-value store besides the records they
//! change: deliveries already seen (platforms that redeliver) and commands
//! waiting for their confirmation.
//!
//! | key | value |
//! |---|---|
//! | `chat/event/{platform}/{hash}` | counter: deliveries of one platform event (DingTalk `msgId`, Feishu `event_id`) |
//! | `chat/confirm/n` | counter handing out confirmation codes |
//! | `chat/confirm/{code}` | [`Pending`] |

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cells::{self, CellError};
use crate::ports::KeyValue;

/// A command waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Only this identity may confirm.
    pub identity: String,
    /// The command line to run.
    pub command: String,
    /// Until when.
    pub expires_at_ms: u64,
    /// Confirmed already.
    pub used: bool,
}

fn confirm_key(code: u64) -> String {
    format!("chat/confirm/{code}")
}

/// Whether this is the first delivery of `platform`'s event `id`.
pub async fn first_delivery(
    kv: &impl KeyValue,
    platform: &str,
    id: &str,
) -> Result<bool, CellError> {
    let hash = hex::encode(Sha256::digest(id.as_bytes()));
    let key = format!("chat/event/{platform}/{}", &hash[..32]);
    Ok(kv.increment(&key, 1).await? == 1)
}

/// Stores `pending` under a new code; the code.
pub async fn park(kv: &impl KeyValue, pending: &Pending) -> Result<u64, CellError> {
    let code = kv.increment("chat/confirm/n", 1).await?.max(0) as u64;
    let key = confirm_key(code);
    let bytes =
        serde_json::to_vec(pending).map_err(|e| CellError::Corrupt(key.clone(), e.to_string()))?;
    // The code's key is new: the counter just handed it out.
    kv.set(&key, &bytes).await?;
    Ok(code)
}

/// The command parked under `code`, if any.
pub async fn parked(kv: &impl KeyValue, code: u64) -> Result<Option<Pending>, CellError> {
    cells::load(kv, &confirm_key(code)).await
}

/// Marks `code` used; whether this call was the one that did.
pub async fn take(kv: &impl KeyValue, code: u64, seen: &Pending) -> Result<bool, CellError> {
    let (_, won, _) = cells::update(
        kv,
        &confirm_key(code),
        || seen.clone(),
        |p| {
            let first = !p.used;
            p.used = true;
            first
        },
    )
    .await?;
    Ok(won)
}
