//! The chat platforms Slipway takes commands from: each verifies its
//! requests as the platform documents it, turns them into an [`Inbound`]
//! and renders [`Answer`]s in its own message format. Adding a platform is
//! one file implementing [`Platform`] and one line in [`PLATFORMS`].

use std::collections::BTreeMap;

use super::answer::Answer;
use crate::access::ChatIdentity;
use crate::providers::Headers;

/// A request as received: headers and raw body bytes (signatures cover
/// the raw bytes, so nothing is parsed before verification).
pub struct ChatRequest<'a> {
    /// Header names lowercased.
    pub headers: &'a Headers,
    /// The body.
    pub body: &'a [u8],
}

/// The values of a platform's secrets (absent: not configured).
pub type SecretValues = BTreeMap<&'static str, String>;

/// What a verified request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A platform handshake (Feishu URL verification): answer this body.
    Handshake(serde_json::Value),
    /// A command typed, or a button clicked.
    Command(CommandRequest),
    /// Verified, but nothing to act on (another event type).
    Ignored(String),
}

/// A command from a verified user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    /// Who, as the platform vouches.
    pub identity: ChatIdentity,
    /// The command line, e.g. `deploy shop production shop-12`.
    pub text: String,
    /// Where later answers go.
    pub reply: ReplyChannel,
    /// The platform's id of this delivery, for platforms that redeliver.
    pub event_id: Option<String>,
    /// Whether a private answer reaches only the caller here (Slack's and
    /// Mattermost's ephemeral answers, a one-to-one chat elsewhere).
    pub private_channel: bool,
}

/// Where answers after the response go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyChannel {
    /// Nowhere: the response is the only answer.
    None,
    /// Slack's or Mattermost's `response_url` (5 posts in 30 minutes).
    ResponseUrl(String),
    /// DingTalk's `sessionWebhook`, valid until the given time.
    SessionWebhook {
        /// The URL.
        url: String,
        /// When it expires (ms).
        expires_at_ms: u64,
    },
    /// Feishu: a reply to this message through the IM API.
    FeishuReply {
        /// The message replied to.
        message_id: String,
    },
}

impl ReplyChannel {
    /// A `response_url` field: the channel when it is an http(s) URL.
    pub fn response_url(url: Option<String>) -> ReplyChannel {
        url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map_or(ReplyChannel::None, ReplyChannel::ResponseUrl)
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 401: not signed by the platform, stale, or a wrong token.
    Unauthorized(String),
    /// 400: signed, but not a request Slipway understands.
    BadRequest(String),
}

/// One chat platform.
pub trait Platform {
    /// Route segment and identity prefix: `slack`, `mattermost`, …
    fn name(&self) -> &'static str;
    /// The Spin variables it verifies requests with.
    fn secret_names(&self) -> &'static [&'static str];
    /// Verifies `request` and reads what it asks for.
    fn receive(
        &self,
        request: &ChatRequest<'_>,
        secrets: &SecretValues,
        now_ms: u64,
    ) -> Result<Inbound, Rejection>;
    /// The body of the HTTP response carrying `answer`.
    fn respond(&self, answer: &Answer) -> serde_json::Value;
    /// The body posted to the reply channel for a later `answer`.
    fn message(&self, answer: &Answer) -> serde_json::Value {
        self.respond(answer)
    }
    /// Whether the HTTP response shows the answer (false: it only
    /// acknowledges, and the answer goes to the reply channel).
    fn answers_in_response(&self) -> bool {
        true
    }
}
