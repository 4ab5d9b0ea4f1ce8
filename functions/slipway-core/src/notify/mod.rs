//! Chat notifications: telling a Slack channel, DingTalk group or Feishu /
//! Lark group that a run failed, was fixed or deployed.
//!
//! Each app lists its chat targets in the control-plane TOML:
//!
//! ```toml
//! [[apps.shop.notify]]
//! type = "dingtalk"                  # slack | dingtalk | feishu
//! webhook_secret = "shop_dingtalk"   # Spin variable holding the webhook URL
//! sign_secret = "shop_dingtalk_sign" # dingtalk/feishu: variable holding the signing secret
//! on = ["failure", "fixed"]          # default: failure, fixed, deploy and approval
//! ```
//!
//! The webhook URL is itself a credential (whoever has it can post), so it
//! lives in a secret like the signing secret. Neither ever appears in an
//! error or in `Debug` output of this module's types; note that the
//! [`HttpRequest`] built by [`request`] does contain them.
//!
//! [`render`] builds the platform's message body from a [`Notice`],
//! [`request`] adds the URL and signature, [`interpret`] reads the answer,
//! and [`send`] does all three over an [`HttpClient`].

pub(crate) mod dingtalk;
pub(crate) mod feishu;
pub(crate) mod format;
pub(crate) mod slack;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_io;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use url::Url;

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// One chat target of an app, as written in the app's `[[apps.<name>.notify]]`
/// tables. Holds the *names* of the secrets, never their values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    /// The chat platform (`type = "slack" | "dingtalk" | "feishu"`).
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// Name of the Spin variable holding the webhook URL.
    pub webhook_secret: String,
    /// DingTalk and Feishu: name of the Spin variable holding the robot's
    /// signing secret, if the robot has signing turned on.
    #[serde(default)]
    pub sign_secret: Option<String>,
    /// Which events are sent (default: all of them).
    #[serde(default = "NotifyOn::all")]
    pub on: Vec<NotifyOn>,
}

impl NotifyTarget {
    /// Whether this target wants notices of kind `on`.
    pub fn wants(&self, on: NotifyOn) -> bool {
        self.on.contains(&on)
    }

    /// Checks the settings: secret names must not be empty, and Slack
    /// incoming webhooks take no signing secret.
    pub fn validate(&self) -> Result<(), NotifyError> {
        let platform = self.kind;
        let config = |reason: &str| NotifyError::Config {
            platform,
            reason: reason.to_owned(),
        };
        if self.webhook_secret.trim().is_empty() {
            return Err(config("`webhook_secret` must name a Spin variable"));
        }
        match (&self.sign_secret, self.kind) {
            (Some(_), ChatKind::Slack) => Err(config(
                "Slack incoming webhooks are not signed: remove `sign_secret`",
            )),
            (Some(name), _) if name.trim().is_empty() => {
                Err(config("`sign_secret` must name a Spin variable"))
            }
            _ => Ok(()),
        }
    }
}

/// A chat platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// Slack incoming webhook.
    Slack,
    /// DingTalk custom group robot.
    Dingtalk,
    /// Feishu / Lark custom bot.
    Feishu,
}

impl ChatKind {
    /// The name used in configuration and messages (`slack`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Slack => "slack",
            ChatKind::Dingtalk => "dingtalk",
            ChatKind::Feishu => "feishu",
        }
    }
}

impl fmt::Display for ChatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of events worth a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    /// A run failed.
    Failure,
    /// The first successful run after a failed one.
    Fixed,
    /// A deployment finished.
    Deploy,
    /// A run waits for approval (with Approve/Reject buttons).
    Approval,
}

impl NotifyOn {
    /// Every kind, the default of [`NotifyTarget::on`].
    pub fn all() -> Vec<NotifyOn> {
        vec![
            NotifyOn::Failure,
            NotifyOn::Fixed,
            NotifyOn::Deploy,
            NotifyOn::Approval,
        ]
    }
}

/// A button under a notice: clicking it sends `command` to Slipway as the
/// clicking user (Slack interactivity, DingTalk `dtmd://` links, Feishu
/// card callbacks), through the same checks as a typed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAction {
    /// Button label.
    pub label: String,
    /// The command line it sends.
    pub command: String,
    /// A red button (reject) rather than the primary one.
    pub danger: bool,
}

/// One thing worth telling people. All text is plain: each platform
/// escapes it for its own markup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub on: NotifyOn,
    /// The app's name.
    pub app: String,
    /// The run's id.
    pub run_id: String,
    /// The run's number within the app.
    pub run_number: u64,
    /// One line saying what happened, e.g. `shop #42 failed at unit-test`.
    pub title: String,
    /// Details, one per line: branch, short commit, failing tests with
    /// their messages, image digest, environment, …
    pub lines: Vec<String>,
    /// Where to see the run (shown only if it is an absolute http(s) URL).
    pub link: Option<String>,
    /// Buttons, where the platform has them (the lines should say the
    /// commands too, for platforms and clients without buttons).
    #[serde(default)]
    pub actions: Vec<NoticeAction>,
}

/// Why a notification was not delivered. Never contains the webhook URL or
/// the signing secret: only the platform, HTTP status and platform error
/// code, with a fixed description of known error kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The notification settings cannot be used.
    #[error("{platform}: invalid notification settings: {reason}")]
    Config {
        /// The platform.
        platform: ChatKind,
        /// What is wrong (names variables, never shows their values).
        reason: String,
    },
    /// The webhook URL (the secret's value) is not an absolute http(s) URL.
    #[error("{platform}: the webhook URL is not an absolute http(s) URL")]
    InvalidWebhook {
        /// The platform.
        platform: ChatKind,
    },
    /// The signing secret could not be used as an HMAC key.
    #[error("{platform}: the signing secret cannot be used")]
    InvalidSecret {
        /// The platform.
        platform: ChatKind,
    },
    /// No answer (timeout, connection failure, outbound allow-list). A
    /// transport message has the URL, its tokens and the secret removed.
    #[error("{platform}: {error}")]
    Transport {
        /// The platform.
        platform: ChatKind,
        /// What went wrong.
        error: HttpError,
    },
    /// The platform refused the message.
    #[error("{platform}: message rejected: {}", rejection(*.status, *.code, .reason.as_deref()))]
    Rejected {
        /// The platform.
        platform: ChatKind,
        /// The HTTP status.
        status: u16,
        /// DingTalk `errcode` / Feishu `code`, if any.
        code: Option<i64>,
        /// Slack's error code (`no_service`, `invalid_payload`, …), or a
        /// fixed description of the error kind for DingTalk and Feishu.
        reason: Option<String>,
    },
    /// The answer is neither success nor a recognisable error.
    #[error("{platform}: unexpected response (HTTP {status})")]
    UnexpectedResponse {
        /// The platform.
        platform: ChatKind,
        /// The HTTP status.
        status: u16,
    },
}

impl NotifyError {
    /// Whether trying again later may succeed: timeouts and connection
    /// failures, HTTP 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Transport { error, .. } => !matches!(error, HttpError::Denied),
            NotifyError::Rejected { status, .. }
            | NotifyError::UnexpectedResponse { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

fn rejection(status: u16, code: Option<i64>, reason: Option<&str>) -> String {
    let mut text = format!("HTTP {status}");
    if let Some(code) = code {
        text.push_str(&format!(", code {code}"));
    }
    if let Some(reason) = reason {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

/// The platform's message body for `notice` (without signature fields).
///
/// Slack: `text` (fallback) and `blocks` of `mrkdwn` sections, sections at
/// most 3000 characters, at most 10 of them for details. DingTalk:
/// `markdown` with `text` at most 20 000 bytes. Feishu: a `post` whose
/// serialized body, signature included, stays within 20 KiB. Detail lines
/// that do not fit are replaced by a "… and N more lines not shown" note.
pub fn render(kind: ChatKind, notice: &Notice) -> Value {
    match kind {
        ChatKind::Slack => slack::render(notice),
        ChatKind::Dingtalk => dingtalk::render(notice),
        ChatKind::Feishu => feishu::render(notice),
    }
}

/// The request that posts `notice` to `webhook_url`, signed with
/// `sign_secret` (DingTalk: `timestamp` and `sign` query parameters;
/// Feishu: `timestamp` and `sign` body fields; Slack: ignored, its webhooks
/// are not signed). An empty secret counts as none. `now_ms` is the current
/// time in milliseconds since the Unix epoch.
pub fn request(
    kind: ChatKind,
    webhook_url: &str,
    sign_secret: Option<&str>,
    now_ms: u64,
    notice: &Notice,
) -> Result<HttpRequest, NotifyError> {
    let url = parse_webhook(kind, webhook_url)?;
    let secret = sign_secret.filter(|s| !s.is_empty());
    let body = render(kind, notice);
    match kind {
        ChatKind::Slack => Ok(slack::request(url, &body)),
        ChatKind::Dingtalk => dingtalk::request(url, secret, now_ms, &body),
        ChatKind::Feishu => feishu::request(url, secret, now_ms, body),
    }
}

/// Whether the platform accepted the message: Slack wants `200 ok`,
/// DingTalk a 200 with `errcode` 0, Feishu a 200 with `code` 0.
pub fn interpret(kind: ChatKind, response: &HttpResponse) -> Result<(), NotifyError> {
    match kind {
        ChatKind::Slack => slack::interpret(response),
        ChatKind::Dingtalk => dingtalk::interpret(response),
        ChatKind::Feishu => feishu::interpret(response),
    }
}

/// Builds the [`request`], sends it with `http` (giving up after
/// `timeout_ms`) and [`interpret`]s the answer.
pub async fn send(
    http: &impl HttpClient,
    kind: ChatKind,
    webhook_url: &str,
    sign_secret: Option<&str>,
    now_ms: u64,
    notice: &Notice,
    timeout_ms: u64,
) -> Result<(), NotifyError> {
    let request = request(kind, webhook_url, sign_secret, now_ms, notice)?;
    let sent_url = request.url.clone();
    let response = http.send(request, timeout_ms).await.map_err(|error| {
        let secrets = sensitive_parts(&[webhook_url, &sent_url], sign_secret);
        NotifyError::Transport {
            platform: kind,
            error: redact_http(error, &secrets),
        }
    })?;
    interpret(kind, &response)
}

fn parse_webhook(platform: ChatKind, webhook_url: &str) -> Result<Url, NotifyError> {
    let url =
        Url::parse(webhook_url.trim()).map_err(|_| NotifyError::InvalidWebhook { platform })?;
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(url)
    } else {
        Err(NotifyError::InvalidWebhook { platform })
    }
}

/// Base64 of HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_base64(
    platform: ChatKind,
    key: &[u8],
    message: &[u8],
) -> Result<String, NotifyError> {
    // HMAC takes keys of any length, so this cannot fail; still no panics.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).map_err(|_| NotifyError::InvalidSecret { platform })?;
    mac.update(message);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// DingTalk and Feishu: a JSON body with a numeric code (first of
/// `code_fields` present) and a message (first of `message_fields`).
pub(crate) fn interpret_coded(
    platform: ChatKind,
    response: &HttpResponse,
    code_fields: &[&str],
    message_fields: &[&str],
) -> Result<(), NotifyError> {
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    let field = |names: &[&str]| {
        let json = json.as_ref()?;
        names.iter().find_map(|name| json.get(*name)).cloned()
    };
    let code = field(code_fields).and_then(|c| c.as_i64());
    let message = field(message_fields)
        .and_then(|m| m.as_str().map(str::to_owned))
        .unwrap_or_default();
    let status = response.status;
    match code {
        Some(0) if status == 200 => Ok(()),
        Some(0) if response.is_success() => {
            Err(NotifyError::UnexpectedResponse { platform, status })
        }
        Some(0) | None if !response.is_success() => Err(NotifyError::Rejected {
            platform,
            status,
            code: None,
            reason: None,
        }),
        Some(0) | None => Err(NotifyError::UnexpectedResponse { platform, status }),
        Some(code) => Err(NotifyError::Rejected {
            platform,
            status,
            code: Some(code),
            reason: hint(&message).map(str::to_owned),
        }),
    }
}

/// A fixed description of a DingTalk/Feishu error message, so the message
/// itself (which may quote request details) is never repeated.
pub(crate) fn hint(message: &str) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |word: &str| words.contains(&word);
    if lower.contains("keyword") || lower.contains("key words") {
        Some("a required keyword is missing from the message")
    } else if has("sign") || lower.contains("signature") || has("timestamp") {
        Some("signature or timestamp not accepted")
    } else if has("ip") || has("whitelist") {
        Some("sender IP address not allowed")
    } else if lower.contains("too fast")
        || lower.contains("frequency")
        || lower.contains("rate limit")
    {
        Some("rate limited")
    } else if has("token") {
        Some("webhook token not valid")
    } else {
        None
    }
}

/// Everything in `urls` and `secret` that must not be repeated: the URLs,
/// their paths and queries, long path segments and query values (raw and
/// decoded), and the secret. Longest first.
fn sensitive_parts(urls: &[&str], secret: Option<&str>) -> Vec<String> {
    const MIN_TOKEN: usize = 12;
    let mut parts: Vec<String> = Vec::new();
    for url in urls.iter().filter_map(|u| Url::parse(u.trim()).ok()) {
        parts.push(url.as_str().to_owned());
        parts.push(url.path().to_owned());
        let query = url.query().unwrap_or_default();
        parts.push(query.to_owned());
        for segment in url.path().split('/') {
            parts.push(segment.to_owned());
        }
        for pair in query.split('&') {
            let value = pair.split_once('=').map_or(pair, |(_, v)| v);
            parts.push(value.to_owned());
        }
        for (_, value) in url.query_pairs() {
            parts.push(value.into_owned());
        }
    }
    parts.retain(|p| p.len() >= MIN_TOKEN);
    parts.extend(urls.iter().map(|u| u.trim().to_owned()));
    parts.extend(secret.map(str::to_owned));
    parts.retain(|p| !p.is_empty());
    parts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    parts.dedup();
    parts
}

fn redact_http(error: HttpError, secrets: &[String]) -> HttpError {
    match error {
        HttpError::Transport(message) => {
            let redacted = secrets.iter().fold(message, |m, secret| {
                m.replace(secret.as_str(), "[redacted]")
            });
            HttpError::Transport(redacted)
        }
        other => other,
    }
}
