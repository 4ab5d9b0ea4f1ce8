//! Chat channels a command left on the run or deployment it changed, so
//! the engine reports the record's end there. The channel itself is stored
//! only sealed (see `chat::seal`): a `response_url` lets whoever holds it
//! post to the channel.

use serde::{Deserialize, Serialize};

/// A reply channel waiting on a record for the engine's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReply {
    /// The platform's route name.
    pub platform: String,
    /// The sealed [`ReplyChannel`].
    pub sealed: String,
    /// Whether the report is for the whole channel.
    pub public: bool,
    /// After this the channel no longer takes posts (Slack: 30 minutes).
    pub expires_at_ms: u64,
}
