//! Mattermost custom slash commands: form-encoded, authenticated by the
//! command's token in `Authorization: Token <token>` (compared in constant
//! time; Mattermost signs nothing and sends no timestamp). Answers are
//! Slack-compatible JSON; later ones go to `response_url`. Mattermost
//! buttons need an integration URL per message, so answers spell out the
//! command a button would send.

use serde::Deserialize;
use serde_json::{Value, json};

use super::answer::Answer;
use super::platform::{
    ChatRequest, CommandRequest, Inbound, Platform, Rejection, ReplyChannel, SecretValues,
};
use crate::access::ChatIdentity;
use crate::providers::signature::ct_eq_secret;

/// The Spin variable holding the slash command's token.
pub const COMMAND_TOKEN: &str = "mattermost_command_token";
/// Mattermost's longest post.
const POST_MAX: usize = 16_383;

/// Mattermost.
pub struct Mattermost;

#[derive(Deserialize)]
struct SlashCommand {
    team_id: String,
    user_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    response_url: Option<String>,
}

/// The answer's text with its buttons written out as commands.
pub(crate) fn text_with_commands(answer: &Answer, prefix: &str) -> String {
    let mut text = answer.text.clone();
    for a in &answer.actions {
        text.push_str(&format!("\n{}: `{prefix}{}`", a.label, a.command));
    }
    text
}

impl Platform for Mattermost {
    fn name(&self) -> &'static str {
        "mattermost"
    }

    fn secret_names(&self) -> &'static [&'static str] {
        &[COMMAND_TOKEN]
    }

    fn receive(
        &self,
        request: &ChatRequest<'_>,
        secrets: &SecretValues,
        _now_ms: u64,
    ) -> Result<Inbound, Rejection> {
        let expected = secrets.get(COMMAND_TOKEN).ok_or_else(|| {
            Rejection::Unauthorized(format!(
                "Mattermost is not configured: {COMMAND_TOKEN} is not set"
            ))
        })?;
        let given = request
            .headers
            .get("authorization")
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("token"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| Rejection::Unauthorized("missing `Authorization: Token …`".into()))?;
        if !ct_eq_secret(given, expected) {
            return Err(Rejection::Unauthorized("wrong command token".into()));
        }
        let slash: SlashCommand = serde_urlencoded::from_bytes(request.body)
            .map_err(|e| Rejection::BadRequest(format!("not a slash command: {e}")))?;
        let reply = ReplyChannel::response_url(slash.response_url);
        Ok(Inbound::Command(CommandRequest {
            identity: ChatIdentity {
                platform: "mattermost".into(),
                workspace: slash.team_id,
                user: slash.user_id,
            },
            text: slash.text,
            reply,
            event_id: None,
            private_channel: true,
        }))
    }

    fn respond(&self, answer: &Answer) -> Value {
        let text: String = text_with_commands(answer, "/slipway ")
            .chars()
            .take(POST_MAX)
            .collect();
        let kind = if answer.public {
            "in_channel"
        } else {
            "ephemeral"
        };
        json!({ "response_type": kind, "text": text, "skip_slack_parsing": true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_checked_and_fields_read() {
        let body = b"channel_id=c1&team_id=t1&user_id=u1&text=status+shop&response_url=https%3A%2F%2Fmm.example.com%2Fhooks%2Fcommands%2Fabc&token=tok";
        let secrets: SecretValues = [(COMMAND_TOKEN, "tok".to_owned())].into();
        let ok: crate::providers::Headers =
            [("authorization".to_owned(), "Token tok".to_owned())].into();
        let Inbound::Command(c) = Mattermost
            .receive(&ChatRequest { headers: &ok, body }, &secrets, 0)
            .unwrap()
        else {
            panic!("not a command")
        };
        assert_eq!(c.identity.to_string(), "mattermost:t1:u1");
        assert_eq!(c.text, "status shop");
        let wrong: crate::providers::Headers =
            [("authorization".to_owned(), "Token nope".to_owned())].into();
        assert!(matches!(
            Mattermost.receive(
                &ChatRequest {
                    headers: &wrong,
                    body
                },
                &secrets,
                0
            ),
            Err(Rejection::Unauthorized(_))
        ));
    }
}
