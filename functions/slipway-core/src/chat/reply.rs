//! Answers after the response: Slack's and Mattermost's `response_url`,
//! DingTalk's `sessionWebhook`, and Feishu's IM API (a reply to the
//! message, with a tenant access token from the app's id and secret).
//! Errors never contain these URLs: a `response_url` is a credential for
//! half an hour.

use serde_json::{Value, json};

use super::answer::Answer;
use super::platform::{Platform, ReplyChannel};
use crate::config::ControlPlane;
use crate::ports::{Clock, HttpClient, HttpError, HttpRequest, HttpResponse, Secrets};

/// Timeout of one reply call: Feishu's answer is delivered before the
/// response (two calls), which Feishu wants within 3 s.
pub const REPLY_TIMEOUT_MS: u64 = 1_200;
/// The Spin variable holding the Feishu app's id.
pub const FEISHU_APP_ID: &str = "feishu_app_id";
/// The Spin variable holding the Feishu app's secret.
pub const FEISHU_APP_SECRET: &str = "feishu_app_secret";

/// Why an answer was not delivered (never names the channel's URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReplyError {
    /// What happened.
    pub message: String,
    /// Whether trying again later may work (no answer, a 5xx, a 429).
    pub retryable: bool,
}

impl ReplyError {
    fn refused(message: String) -> ReplyError {
        ReplyError {
            message,
            retryable: false,
        }
    }

    fn transport(what: &str, e: &HttpError) -> ReplyError {
        let why = match e {
            HttpError::Transport(_) => "connection failed".to_owned(),
            other => other.to_string(),
        };
        ReplyError {
            message: format!("{what}: {why}"),
            retryable: !matches!(e, HttpError::Denied),
        }
    }

    fn status(what: &str, response: &HttpResponse) -> ReplyError {
        ReplyError {
            message: format!(
                "{what} answered {}: {}",
                response.status,
                response.text_snippet(200)
            ),
            retryable: response.status >= 500 || response.status == 429,
        }
    }
}

/// Sends `answer` to `channel` in `platform`'s format.
pub async fn deliver<H: HttpClient, C: Clock, S: Secrets>(
    (http, clock, secrets): (&H, &C, &S),
    config: &ControlPlane,
    platform: &dyn Platform,
    channel: &ReplyChannel,
    answer: &Answer,
) -> Result<(), ReplyError> {
    let body = platform.message(answer);
    match channel {
        ReplyChannel::None => Ok(()),
        ReplyChannel::ResponseUrl(url) => {
            let response = http
                .send(HttpRequest::new("POST", url).json(&body), REPLY_TIMEOUT_MS)
                .await
                .map_err(|e| ReplyError::transport("response_url", &e))?;
            if response.is_success() {
                Ok(())
            } else {
                Err(ReplyError::status("response_url", &response))
            }
        }
        ReplyChannel::SessionWebhook { url, expires_at_ms } => {
            if clock.now_ms() >= *expires_at_ms {
                return Err(ReplyError::refused(
                    "the DingTalk session webhook has expired".into(),
                ));
            }
            let response = http
                .send(HttpRequest::new("POST", url).json(&body), REPLY_TIMEOUT_MS)
                .await
                .map_err(|e| ReplyError::transport("sessionWebhook", &e))?;
            let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            match answer.get("errcode").and_then(Value::as_i64) {
                Some(0) if response.is_success() => Ok(()),
                _ => Err(ReplyError::status("sessionWebhook", &response)),
            }
        }
        ReplyChannel::FeishuReply { message_id } => {
            let base = config.chat.feishu_api_base();
            let token = tenant_token(http, secrets, base).await?;
            let url = format!("{base}/open-apis/im/v1/messages/{message_id}/reply");
            let request = HttpRequest::new("POST", url)
                .header("authorization", format!("Bearer {token}"))
                .json(&body);
            let response = http
                .send(request, REPLY_TIMEOUT_MS)
                .await
                .map_err(|e| ReplyError::transport("Feishu reply", &e))?;
            feishu_ok(&response, "Feishu reply")?;
            Ok(())
        }
    }
}

fn feishu_ok(response: &HttpResponse, what: &str) -> Result<Value, ReplyError> {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    match body.get("code").and_then(Value::as_i64) {
        Some(0) if response.is_success() => Ok(body),
        _ => Err(ReplyError::status(what, response)),
    }
}

/// A tenant access token for the app (`/open-apis/auth/v3/tenant_access_token/internal`).
async fn tenant_token<H: HttpClient, S: Secrets>(
    http: &H,
    secrets: &S,
    base: &str,
) -> Result<String, ReplyError> {
    let (Some(app_id), Some(app_secret)) = (
        secrets.get(FEISHU_APP_ID).await,
        secrets.get(FEISHU_APP_SECRET).await,
    ) else {
        return Err(ReplyError::refused(
            "Feishu replies need feishu_app_id and feishu_app_secret".into(),
        ));
    };
    let request = HttpRequest::new(
        "POST",
        format!("{base}/open-apis/auth/v3/tenant_access_token/internal"),
    )
    .json(&json!({ "app_id": app_id, "app_secret": app_secret }));
    let response = http
        .send(request, REPLY_TIMEOUT_MS)
        .await
        .map_err(|e| ReplyError::transport("Feishu token", &e))?;
    let body = feishu_ok(&response, "Feishu token")?;
    body.get("tenant_access_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ReplyError::refused("Feishu token: no tenant_access_token".into()))
}
