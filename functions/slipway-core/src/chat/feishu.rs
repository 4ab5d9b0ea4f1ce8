//! Feishu / Lark: events posted to the app's request URL. With an Encrypt
//! Key the body is `{"encrypt": base64(iv ‖ AES-256-CBC(SHA-256(key),
//! json))}` and signed: `X-Lark-Signature = hex(SHA-256(timestamp ‖ nonce
//! ‖ key ‖ raw body))`; the URL-verification challenge is checked by its
//! verification token (inside the JSON), as Feishu's SDK does. Without an
//! Encrypt Key, the verification token authenticates every request.
//! Commands come as `im.message.receive_v1` (a user messages the bot) and
//! button clicks as `card.action.trigger`; the response is only an
//! acknowledgement (Feishu wants it within 3 s), so answers go through the
//! IM API as replies to the message.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::answer::{Answer, Style};
use super::platform::{
    ChatRequest, CommandRequest, Inbound, Platform, Rejection, ReplyChannel, SecretValues,
};
use crate::access::ChatIdentity;
use crate::providers::signature::{ct_eq, ct_eq_secret};

/// The Spin variable holding the verification token.
pub const VERIFICATION_TOKEN: &str = "feishu_verification_token";
/// The Spin variable holding the Encrypt Key.
pub const ENCRYPT_KEY: &str = "feishu_encrypt_key";

/// Feishu / Lark.
pub struct Feishu;

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// Decrypts an `encrypt` field with the Encrypt Key.
pub fn decrypt(encrypt_key: &str, encrypted: &str) -> Result<Vec<u8>, String> {
    let data = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| "`encrypt` is not base64".to_owned())?;
    if data.len() < 32 || data.len() % 16 != 0 {
        return Err("`encrypt` has the wrong length".into());
    }
    let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
    let (iv, rest) = data.split_at(16);
    let mut buffer = rest.to_vec();
    let decryptor = Aes256CbcDec::new_from_slices(&key, iv).map_err(|e| e.to_string())?;
    let plain = decryptor
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| "`encrypt` does not decrypt with the Encrypt Key".to_owned())?;
    Ok(plain.to_vec())
}

/// `hex(SHA-256(timestamp ‖ nonce ‖ key ‖ body))`.
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(timestamp.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(encrypt_key.as_bytes());
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn check_signature(request: &ChatRequest<'_>, key: &str) -> Result<(), Rejection> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.trim())
            .ok_or_else(|| Rejection::Unauthorized(format!("missing {name}")))
    };
    let ts = header("x-lark-request-timestamp")?;
    let nonce = header("x-lark-request-nonce")?;
    let given = header("x-lark-signature")?;
    let expected = signature(ts, nonce, key, request.body);
    if !ct_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        return Err(Rejection::Unauthorized(
            "X-Lark-Signature does not match".into(),
        ));
    }
    Ok(())
}

fn token_of(event: &Value) -> Option<&str> {
    event
        .get("token")
        .or_else(|| event.pointer("/header/token"))
        .and_then(Value::as_str)
}

/// The text of a message without the bot mentions (`@_user_1`).
fn command_text(content: &str) -> String {
    let text = serde_json::from_str::<Value>(content)
        .ok()
        .and_then(|v| v.get("text").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    text.split_whitespace()
        .filter(|w| !w.starts_with("@_user_") && *w != "@_all")
        .collect::<Vec<_>>()
        .join(" ")
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn read_event(event: &Value) -> Result<Inbound, Rejection> {
    let bad = |m: &str| Rejection::BadRequest(m.to_owned());
    let tenant = str_at(event, "/header/tenant_key")
        .unwrap_or_default()
        .to_owned();
    let event_id = str_at(event, "/header/event_id").map(str::to_owned);
    match str_at(event, "/header/event_type") {
        Some("im.message.receive_v1") => {
            let user = str_at(event, "/event/sender/sender_id/open_id")
                .ok_or_else(|| bad("the message names no sender open_id"))?;
            let message_id = str_at(event, "/event/message/message_id")
                .ok_or_else(|| bad("the message has no message_id"))?;
            if str_at(event, "/event/message/message_type") != Some("text") {
                return Ok(Inbound::Ignored("only text messages carry commands".into()));
            }
            Ok(Inbound::Command(CommandRequest {
                identity: ChatIdentity {
                    platform: "feishu".into(),
                    workspace: tenant,
                    user: user.to_owned(),
                },
                text: command_text(str_at(event, "/event/message/content").unwrap_or("{}")),
                reply: ReplyChannel::FeishuReply {
                    message_id: message_id.to_owned(),
                },
                event_id,
                private_channel: str_at(event, "/event/message/chat_type") == Some("p2p"),
            }))
        }
        Some("card.action.trigger") => {
            let user = str_at(event, "/event/operator/open_id")
                .ok_or_else(|| bad("the click names no operator open_id"))?;
            let command = str_at(event, "/event/action/value/command")
                .ok_or_else(|| bad("the click carries no command"))?;
            let reply =
                str_at(event, "/event/context/open_message_id").map_or(ReplyChannel::None, |m| {
                    ReplyChannel::FeishuReply {
                        message_id: m.to_owned(),
                    }
                });
            Ok(Inbound::Command(CommandRequest {
                identity: ChatIdentity {
                    platform: "feishu".into(),
                    workspace: tenant,
                    user: user.to_owned(),
                },
                text: command.to_owned(),
                reply,
                event_id,
                // A card's chat type is not in the click: take it as shared.
                private_channel: false,
            }))
        }
        other => Ok(Inbound::Ignored(format!(
            "event {:?} carries no command",
            other.unwrap_or("(v1 or unknown)")
        ))),
    }
}

impl Platform for Feishu {
    fn name(&self) -> &'static str {
        "feishu"
    }

    fn secret_names(&self) -> &'static [&'static str] {
        &[VERIFICATION_TOKEN, ENCRYPT_KEY]
    }

    fn receive(
        &self,
        request: &ChatRequest<'_>,
        secrets: &SecretValues,
        _now_ms: u64,
    ) -> Result<Inbound, Rejection> {
        let token = secrets.get(VERIFICATION_TOKEN);
        let key = secrets.get(ENCRYPT_KEY);
        if token.is_none() && key.is_none() {
            return Err(Rejection::Unauthorized(
                "Feishu is not configured: set feishu_verification_token or feishu_encrypt_key"
                    .into(),
            ));
        }
        let outer: Value = serde_json::from_slice(request.body)
            .map_err(|e| Rejection::BadRequest(format!("the body is not JSON: {e}")))?;
        let event: Value = match outer.get("encrypt").and_then(Value::as_str) {
            Some(encrypted) => {
                let key = key.ok_or_else(|| {
                    Rejection::Unauthorized(
                        "an encrypted event, but feishu_encrypt_key is not set".into(),
                    )
                })?;
                let plain = decrypt(key, encrypted).map_err(Rejection::Unauthorized)?;
                serde_json::from_slice(&plain).map_err(|e| {
                    Rejection::BadRequest(format!("the decrypted event is not JSON: {e}"))
                })?
            }
            None => outer,
        };
        let token_ok = |given: Option<&str>| match token {
            Some(expected) => given.is_some_and(|g| ct_eq_secret(g, expected)),
            None => true,
        };
        if event.get("type").and_then(Value::as_str) == Some("url_verification") {
            if token.is_none() || !token_ok(token_of(&event)) {
                return Err(Rejection::Unauthorized(
                    "wrong or missing verification token".into(),
                ));
            }
            let challenge = event.get("challenge").cloned().unwrap_or(Value::Null);
            return Ok(Inbound::Handshake(json!({ "challenge": challenge })));
        }
        match key {
            Some(key) => check_signature(request, key)?,
            None if !token_ok(token_of(&event)) => {
                return Err(Rejection::Unauthorized(
                    "wrong or missing verification token".into(),
                ));
            }
            None => {}
        }
        if !token_ok(token_of(&event)) {
            return Err(Rejection::Unauthorized(
                "wrong or missing verification token".into(),
            ));
        }
        read_event(&event)
    }

    fn respond(&self, answer: &Answer) -> Value {
        // Card clicks show this as a toast; message events ignore it.
        let first = answer.text.lines().next().unwrap_or_default();
        json!({ "toast": { "type": "info", "content": first } })
    }

    fn message(&self, answer: &Answer) -> Value {
        if answer.actions.is_empty() {
            let content = json!({ "text": answer.text }).to_string();
            return json!({ "msg_type": "text", "content": content });
        }
        let buttons: Vec<Value> = answer
            .actions
            .iter()
            .map(|a| {
                let kind = match a.style {
                    Style::Primary => "primary",
                    Style::Danger => "danger",
                };
                json!({
                    "tag": "button",
                    "text": { "tag": "plain_text", "content": a.label },
                    "type": kind,
                    "value": { "command": a.command },
                })
            })
            .collect();
        let card = json!({
            "elements": [
                { "tag": "div", "text": { "tag": "plain_text", "content": answer.text } },
                { "tag": "action", "actions": buttons },
            ]
        });
        json!({ "msg_type": "interactive", "content": card.to_string() })
    }

    fn answers_in_response(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockEncryptMut;

    use super::*;

    fn encrypt(key: &str, plain: &[u8]) -> String {
        let k: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let iv = [7u8; 16];
        let enc = cbc::Encryptor::<aes::Aes256>::new_from_slices(&k, &iv).unwrap();
        let mut buffer = plain.to_vec();
        buffer.resize(plain.len() + 16, 0);
        let sealed = enc
            .encrypt_padded_mut::<Pkcs7>(&mut buffer, plain.len())
            .unwrap();
        let mut out = iv.to_vec();
        out.extend_from_slice(sealed);
        STANDARD.encode(out)
    }

    #[test]
    fn signature_matches_the_reference_vector() {
        assert_eq!(
            signature("1700000000", "nonce123", "encryptkey", br#"{"a":1}"#),
            "e6a2b1a1b00eae9e77e08a8ed9d7a3e3cbeaca98702b93f264b15fb49bf9be5e"
        );
    }

    #[test]
    fn encrypted_challenge_and_signed_message() {
        let secrets: SecretValues = [
            (VERIFICATION_TOKEN, "vt".to_owned()),
            (ENCRYPT_KEY, "ek".to_owned()),
        ]
        .into();
        let none = crate::providers::Headers::new();
        let challenge = json!({ "encrypt": encrypt("ek", br#"{"challenge":"c-1","token":"vt","type":"url_verification"}"#) }).to_string();
        let got = Feishu.receive(
            &ChatRequest {
                headers: &none,
                body: challenge.as_bytes(),
            },
            &secrets,
            0,
        );
        assert_eq!(got, Ok(Inbound::Handshake(json!({ "challenge": "c-1" }))));
        let wrong = json!({ "encrypt": encrypt("ek", br#"{"challenge":"c","token":"nope","type":"url_verification"}"#) }).to_string();
        assert!(matches!(
            Feishu.receive(
                &ChatRequest {
                    headers: &none,
                    body: wrong.as_bytes()
                },
                &secrets,
                0
            ),
            Err(Rejection::Unauthorized(_))
        ));
        let event = json!({
            "schema": "2.0",
            "header": { "event_id": "e1", "event_type": "im.message.receive_v1", "token": "vt", "tenant_key": "tk" },
            "event": {
                "sender": { "sender_id": { "open_id": "ou_1" } },
                "message": { "message_id": "om_1", "message_type": "text", "content": "{\"text\":\"@_user_1 status shop\"}" }
            }
        });
        let body = json!({ "encrypt": encrypt("ek", event.to_string().as_bytes()) }).to_string();
        let sig = signature("1700000000", "n", "ek", body.as_bytes());
        let headers: crate::providers::Headers = [
            (
                "x-lark-request-timestamp".to_owned(),
                "1700000000".to_owned(),
            ),
            ("x-lark-request-nonce".to_owned(), "n".to_owned()),
            ("x-lark-signature".to_owned(), sig),
        ]
        .into();
        let Ok(Inbound::Command(c)) = Feishu.receive(
            &ChatRequest {
                headers: &headers,
                body: body.as_bytes(),
            },
            &secrets,
            0,
        ) else {
            panic!("not a command")
        };
        assert_eq!(c.identity.to_string(), "feishu:tk:ou_1");
        assert_eq!(c.text, "status shop");
        assert_eq!(
            c.reply,
            ReplyChannel::FeishuReply {
                message_id: "om_1".into()
            }
        );
        assert!(matches!(
            Feishu.receive(
                &ChatRequest {
                    headers: &none,
                    body: body.as_bytes()
                },
                &secrets,
                0
            ),
            Err(Rejection::Unauthorized(_))
        ));
    }
}
