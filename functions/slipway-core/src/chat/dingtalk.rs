//! DingTalk outgoing robots: a user @-mentions the robot in a group and
//! DingTalk posts the message as JSON, with headers `timestamp` (ms) and
//! `sign = base64(HMAC-SHA256(appSecret, "{timestamp}\n{appSecret}"))`,
//! valid within an hour; the body is not signed, so the message id is
//! de-duplicated. The response does not reach the conversation: answers
//! are posted to the message's `sessionWebhook` (before the response, and
//! later for reports). Buttons are ActionCard links that make the
//! clicking user send the command to the robot (`dtmd://` links), so a
//! click goes through the same checks as a typed command.

use serde::Deserialize;
use serde_json::{Value, json};

use super::answer::Answer;
use super::platform::{
    ChatRequest, CommandRequest, Inbound, Platform, Rejection, ReplyChannel, SecretValues,
};
use crate::access::ChatIdentity;
use crate::providers::signature::{base64_std, ct_eq, hmac_sha256};

/// The Spin variable holding the robot's app secret.
pub const APP_SECRET: &str = "dingtalk_app_secret";
/// How far `timestamp` may be from now.
pub const WINDOW_MS: u64 = 60 * 60 * 1000;

/// DingTalk.
pub struct DingTalk;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    #[serde(default)]
    msgtype: Option<String>,
    #[serde(default)]
    text: Option<Content>,
    #[serde(default)]
    msg_id: Option<String>,
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    sender_staff_id: Option<String>,
    #[serde(default)]
    sender_corp_id: Option<String>,
    #[serde(default)]
    session_webhook: Option<String>,
    #[serde(default)]
    session_webhook_expired_time: Option<u64>,
    /// `1`: a one-to-one chat with the robot; `2`: a group.
    #[serde(default)]
    conversation_type: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content: String,
}

/// `base64(HMAC-SHA256(secret, "{timestamp_ms}\n{secret}"))`.
pub fn sign(secret: &str, timestamp_ms: &str) -> Option<String> {
    let mac = hmac_sha256(
        secret.as_bytes(),
        &[timestamp_ms.as_bytes(), b"\n", secret.as_bytes()],
    )
    .ok()?;
    Some(base64_std(&mac))
}

impl Platform for DingTalk {
    fn name(&self) -> &'static str {
        "dingtalk"
    }

    fn secret_names(&self) -> &'static [&'static str] {
        &[APP_SECRET]
    }

    fn receive(
        &self,
        request: &ChatRequest<'_>,
        secrets: &SecretValues,
        now_ms: u64,
    ) -> Result<Inbound, Rejection> {
        let unauthorized = |m: &str| Rejection::Unauthorized(m.to_owned());
        let secret = secrets.get(APP_SECRET).ok_or_else(|| {
            unauthorized("DingTalk is not configured: dingtalk_app_secret is not set")
        })?;
        let ts = request
            .headers
            .get("timestamp")
            .map(|t| t.trim())
            .ok_or_else(|| unauthorized("missing timestamp header"))?;
        let ms: u64 = ts
            .parse()
            .map_err(|_| unauthorized("timestamp is not a number"))?;
        if now_ms.abs_diff(ms) > WINDOW_MS {
            return Err(unauthorized(
                "the timestamp is more than an hour from now (replayed?)",
            ));
        }
        let given = request
            .headers
            .get("sign")
            .ok_or_else(|| unauthorized("missing sign header"))?;
        let expected =
            sign(secret, ts).ok_or_else(|| unauthorized("the app secret cannot be used"))?;
        if !ct_eq(given.trim().as_bytes(), expected.as_bytes()) {
            return Err(unauthorized("the sign does not match"));
        }
        let message: Message = serde_json::from_slice(request.body)
            .map_err(|e| Rejection::BadRequest(format!("not a DingTalk message: {e}")))?;
        if message.msgtype.as_deref().is_some_and(|t| t != "text") {
            return Ok(Inbound::Ignored("only text messages carry commands".into()));
        }
        let user = message
            .sender_staff_id
            .filter(|s| !s.is_empty())
            .or(message.sender_id)
            .ok_or_else(|| Rejection::BadRequest("the message names no sender".into()))?;
        let reply = match (
            message.session_webhook,
            message.session_webhook_expired_time,
        ) {
            (Some(url), Some(expires_at_ms))
                if url.starts_with("https://") || url.starts_with("http://") =>
            {
                ReplyChannel::SessionWebhook { url, expires_at_ms }
            }
            _ => ReplyChannel::None,
        };
        Ok(Inbound::Command(CommandRequest {
            identity: ChatIdentity {
                platform: "dingtalk".into(),
                workspace: message.sender_corp_id.unwrap_or_default(),
                user,
            },
            text: message.text.map(|t| t.content).unwrap_or_default(),
            reply,
            event_id: message.msg_id,
            private_channel: message.conversation_type.as_deref() == Some("1"),
        }))
    }

    fn respond(&self, _answer: &Answer) -> Value {
        // An outgoing robot's response is not shown in the conversation:
        // the answer goes to the session webhook before it.
        json!({})
    }

    fn answers_in_response(&self) -> bool {
        false
    }

    fn message(&self, answer: &Answer) -> Value {
        if answer.actions.is_empty() {
            return json!({ "msgtype": "text", "text": { "content": answer.text } });
        }
        let buttons: Vec<Value> = answer
            .actions
            .iter()
            .map(|a| {
                json!({
                    "title": a.label,
                    "actionURL": crate::notify::dingtalk::send_message_link(&a.command),
                })
            })
            .collect();
        let title = answer.text.lines().next().unwrap_or("Slipway");
        json!({
            "msgtype": "actionCard",
            "actionCard": {
                "title": title,
                "text": answer
                    .text
                    .lines()
                    .map(|l| crate::notify::dingtalk::escaped_line(l, 1000))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                "btnOrientation": "1",
                "btns": buttons,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_the_reference_vector() {
        assert_eq!(
            sign("this is secret", "1700000000000").as_deref(),
            Some("sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0=")
        );
    }

    #[test]
    fn signed_messages_are_read_and_stale_ones_refused() {
        let secrets: SecretValues = [(APP_SECRET, "this is secret".to_owned())].into();
        let headers: crate::providers::Headers = [
            ("timestamp".to_owned(), "1700000000000".to_owned()),
            (
                "sign".to_owned(),
                "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0=".to_owned(),
            ),
        ]
        .into();
        let body = br#"{"msgtype":"text","text":{"content":" status shop"},"msgId":"m1","senderStaffId":"s1","senderCorpId":"c1","sessionWebhook":"https://oapi.dingtalk.com/robot/sendBySession?session=x","sessionWebhookExpiredTime":1700000900000}"#;
        let req = ChatRequest {
            headers: &headers,
            body,
        };
        let Inbound::Command(c) = DingTalk.receive(&req, &secrets, 1_700_000_001_000).unwrap()
        else {
            panic!("not a command")
        };
        assert_eq!(c.identity.to_string(), "dingtalk:c1:s1");
        assert_eq!(c.text.trim(), "status shop");
        assert_eq!(c.event_id.as_deref(), Some("m1"));
        let stale = DingTalk.receive(&req, &secrets, 1_700_000_000_000 + WINDOW_MS + 1);
        assert!(matches!(stale, Err(Rejection::Unauthorized(_))));
    }
}
