//! Slack: slash commands (`/slipway deploy …`) and Block Kit button clicks
//! (interactivity `payload`), both form-encoded and signed with the app's
//! signing secret (`v0`): `v0=hex(HMAC-SHA256(secret, "v0:{ts}:{raw body}"))`
//! in `X-Slack-Signature`, `X-Slack-Request-Timestamp` within 5 minutes.
//! Answers are `{"response_type", "text", "blocks"}`; later ones go to the
//! request's `response_url`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::answer::{Answer, Style};
use super::platform::{
    ChatRequest, CommandRequest, Inbound, Platform, Rejection, ReplyChannel, SecretValues,
};
use crate::access::ChatIdentity;
use crate::notify::format::{Measure, escape_within};
use crate::providers::signature::{ct_eq, hmac_sha256};

/// The Spin variable holding the signing secret.
pub const SIGNING_SECRET: &str = "slack_signing_secret";
/// How far a request's timestamp may be from now.
pub const REPLAY_WINDOW_S: u64 = 5 * 60;
/// Most characters of a section's text.
const SECTION_MAX: usize = 3000;

/// Slack.
pub struct Slack;

#[derive(Deserialize)]
struct SlashCommand {
    team_id: String,
    user_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    response_url: Option<String>,
}

#[derive(Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    team: Option<IdOnly>,
    user: IdOnly,
    #[serde(default)]
    actions: Vec<ActionClick>,
    #[serde(default)]
    response_url: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct ActionClick {
    #[serde(default)]
    value: Option<String>,
}

/// Checks Slack's `v0` signature of `body` at `now_ms`.
pub fn verify(
    headers: &crate::providers::Headers,
    body: &[u8],
    secret: &str,
    now_ms: u64,
) -> Result<(), Rejection> {
    let unauthorized = |m: &str| Rejection::Unauthorized(m.to_owned());
    let ts = headers
        .get("x-slack-request-timestamp")
        .ok_or_else(|| unauthorized("missing X-Slack-Request-Timestamp"))?;
    let seconds: u64 = ts
        .trim()
        .parse()
        .map_err(|_| unauthorized("X-Slack-Request-Timestamp is not a number"))?;
    if (now_ms / 1000).abs_diff(seconds) > REPLAY_WINDOW_S {
        return Err(unauthorized(
            "the request timestamp is more than 5 minutes from now (replayed?)",
        ));
    }
    let given = headers
        .get("x-slack-signature")
        .and_then(|s| s.trim().strip_prefix("v0="))
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| unauthorized("missing or malformed X-Slack-Signature"))?;
    let expected = hmac_sha256(
        secret.as_bytes(),
        &[b"v0:", ts.trim().as_bytes(), b":", body],
    )
    .map_err(|_| unauthorized("the signing secret cannot be used"))?;
    if !ct_eq(&given, &expected) {
        return Err(unauthorized("the signature does not match"));
    }
    Ok(())
}

fn escaped(text: &str, max: usize) -> String {
    escape_within(text, max, Measure::Chars, crate::notify::slack::escape)
}

impl Platform for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn secret_names(&self) -> &'static [&'static str] {
        &[SIGNING_SECRET]
    }

    fn receive(
        &self,
        request: &ChatRequest<'_>,
        secrets: &SecretValues,
        now_ms: u64,
    ) -> Result<Inbound, Rejection> {
        let secret = secrets.get(SIGNING_SECRET).ok_or_else(|| {
            Rejection::Unauthorized(format!(
                "Slack is not configured: {SIGNING_SECRET} is not set"
            ))
        })?;
        verify(request.headers, request.body, secret, now_ms)?;
        let bad = |e: String| Rejection::BadRequest(e);
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body)
            .map_err(|e| bad(format!("the body is not form-encoded: {e}")))?;
        if let Some((_, payload)) = form.iter().find(|(k, _)| k == "payload") {
            let click: Interaction =
                serde_json::from_str(payload).map_err(|e| bad(format!("payload: {e}")))?;
            if click.kind != "block_actions" {
                return Ok(Inbound::Ignored(format!("interaction {:?}", click.kind)));
            }
            let Some(command) = click.actions.into_iter().find_map(|a| a.value) else {
                return Err(bad("the click carries no action value".into()));
            };
            return Ok(Inbound::Command(CommandRequest {
                identity: ChatIdentity {
                    platform: "slack".into(),
                    workspace: click.team.map(|t| t.id).unwrap_or_default(),
                    user: click.user.id,
                },
                text: command,
                reply: ReplyChannel::response_url(click.response_url),
                event_id: None,
                private_channel: true,
            }));
        }
        let slash: SlashCommand = serde_urlencoded::from_bytes(request.body)
            .map_err(|e| bad(format!("not a slash command: {e}")))?;
        Ok(Inbound::Command(CommandRequest {
            identity: ChatIdentity {
                platform: "slack".into(),
                workspace: slash.team_id,
                user: slash.user_id,
            },
            text: slash.text,
            reply: ReplyChannel::response_url(slash.response_url),
            event_id: None,
            private_channel: true,
        }))
    }

    fn respond(&self, answer: &Answer) -> Value {
        let kind = if answer.public {
            "in_channel"
        } else {
            "ephemeral"
        };
        let text = escaped(&answer.text, SECTION_MAX);
        if answer.actions.is_empty() {
            return json!({ "response_type": kind, "text": text });
        }
        let buttons: Vec<Value> = answer
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let style = match a.style {
                    Style::Primary => "primary",
                    Style::Danger => "danger",
                };
                json!({
                    "type": "button",
                    "action_id": format!("slipway-{i}"),
                    "text": { "type": "plain_text", "text": a.label },
                    "style": style,
                    "value": a.command,
                })
            })
            .collect();
        json!({
            "response_type": kind,
            "text": text,
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn", "text": text } },
                { "type": "actions", "elements": buttons },
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's documented example request.
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: u64 = 1_531_420_618;
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(ts: u64, sig: &str) -> crate::providers::Headers {
        [
            ("x-slack-request-timestamp".to_owned(), ts.to_string()),
            ("x-slack-signature".to_owned(), sig.to_owned()),
        ]
        .into()
    }

    fn secrets() -> SecretValues {
        [(SIGNING_SECRET, SECRET.to_owned())].into()
    }

    #[test]
    fn slacks_documented_request_verifies_and_parses() {
        let h = headers(TS, SIGNATURE);
        let req = ChatRequest {
            headers: &h,
            body: BODY.as_bytes(),
        };
        let Inbound::Command(c) = Slack
            .receive(&req, &secrets(), TS * 1000 + 299_000)
            .unwrap()
        else {
            panic!("not a command");
        };
        assert_eq!(c.identity.to_string(), "slack:T1DC2JH3J:U2CERLKJA");
        assert_eq!(c.text, "");
        assert_eq!(
            c.reply,
            ReplyChannel::ResponseUrl(
                "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                    .into()
            )
        );
    }

    #[test]
    fn stale_tampered_or_unsigned_requests_are_unauthorized() {
        let h = headers(TS, SIGNATURE);
        let req = ChatRequest {
            headers: &h,
            body: BODY.as_bytes(),
        };
        let stale = Slack.receive(&req, &secrets(), (TS + 301) * 1000);
        assert!(matches!(stale, Err(Rejection::Unauthorized(m)) if m.contains("5 minutes")));
        let tampered = BODY.replace("text=", "text=deploy");
        let req = ChatRequest {
            headers: &h,
            body: tampered.as_bytes(),
        };
        assert!(matches!(
            Slack.receive(&req, &secrets(), TS * 1000),
            Err(Rejection::Unauthorized(_))
        ));
        let none = crate::providers::Headers::new();
        let req = ChatRequest {
            headers: &none,
            body: BODY.as_bytes(),
        };
        assert!(matches!(
            Slack.receive(&req, &secrets(), TS * 1000),
            Err(Rejection::Unauthorized(_))
        ));
        let req = ChatRequest {
            headers: &h,
            body: BODY.as_bytes(),
        };
        assert!(matches!(
            Slack.receive(&req, &SecretValues::new(), TS * 1000),
            Err(Rejection::Unauthorized(_))
        ));
    }

    #[test]
    fn buttons_render_as_block_kit_actions() {
        let answer = Answer::public("approve <shop-3>?").with_action(
            "Approve",
            "approve shop-3 approve 1".into(),
            Style::Primary,
        );
        let body = Slack.respond(&answer);
        assert_eq!(body["response_type"], "in_channel");
        assert_eq!(body["blocks"][0]["text"]["text"], "approve &lt;shop-3&gt;?");
        assert_eq!(
            body["blocks"][1]["elements"][0]["value"],
            "approve shop-3 approve 1"
        );
        assert_eq!(
            Slack.respond(&Answer::private("x"))["response_type"],
            "ephemeral"
        );
    }
}
