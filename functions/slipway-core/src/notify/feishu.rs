//! Feishu / Lark custom bots (自定义机器人).
//!
//! `POST https://open.feishu.cn/open-apis/bot/v2/hook/{token}` (Lark:
//! `open.larksuite.com`) with a JSON body. When the bot has a signing
//! secret, the body also carries `"timestamp": "<unix seconds>"` and
//! `"sign": base64(HMAC-SHA256(key = "{timestamp}\n{secret}", msg = ""))`
//! (the string is the *key*, the message is empty); Feishu accepts
//! timestamps within one hour. The answer is `{"code": 0, "msg": "success"}`
//! on success and a non-zero `code` otherwise (19021: bad signature or
//! timestamp).
//!
//! Messages are rich-text `post`s: a title, one paragraph per detail line,
//! a link and a footer. `text` elements of a post are shown literally (no
//! Markdown), so user text needs no escaping beyond JSON's; `<at` is still
//! broken with a zero-width space so that no text can turn into a mention
//! (`<at user_id="all">`).

use serde_json::{Value, json};
use url::Url;

use super::format::{self, Measure};
use super::{ChatKind, Notice, NotifyError};
use crate::ports::{HttpRequest, HttpResponse};

/// Most bytes in the whole request body, signature included. Both 20 KB
/// and 30 KB circulate as Feishu's limit for custom bots (larger bodies
/// have been seen accepted); this stays under both.
pub(crate) const BODY_MAX_BYTES: usize = 20 * 1024;

/// Most characters in the post title.
pub(crate) const TITLE_MAX_CHARS: usize = 200;

const LINE_MAX_BYTES: usize = 2000;
const FOOTER_MAX_BYTES: usize = 500;
/// Room kept for `"timestamp"` and `"sign"`, added after rendering.
const SIGN_RESERVE_BYTES: usize = 128;

const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// `text` with every `<at` (any case) broken by a zero-width space.
pub(crate) fn defang(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let mut next = rest.chars();
        let at = matches!(
            (next.next(), next.next()),
            (Some('a' | 'A'), Some('t' | 'T'))
        );
        if at {
            out.push(ZERO_WIDTH_SPACE);
        }
    }
    out.push_str(rest);
    out
}

/// `text` cut to `max` bytes and defanged.
fn plain(text: &str, max: usize) -> String {
    defang(&format::escape_within(
        text,
        max,
        Measure::Bytes,
        |c, out| out.push(c),
    ))
}

fn paragraph(text: String) -> Value {
    json!([{ "tag": "text", "text": text }])
}

fn body(title: &str, content: Vec<Value>) -> Value {
    json!({
        "msg_type": "post",
        "content": { "post": { "zh_cn": { "title": title, "content": content } } },
    })
}

fn json_len(value: &Value) -> usize {
    value.to_string().len()
}

/// An interactive card with the notice's lines and buttons whose value
/// carries the command (Feishu sends a click to the app's card callback).
fn card(notice: &Notice, title: &str) -> Value {
    let text: Vec<String> = format::detail_lines(notice)
        .iter()
        .take(20)
        .map(|line| plain(line, LINE_MAX_BYTES))
        .collect();
    let buttons: Vec<Value> = notice
        .actions
        .iter()
        .map(|a| {
            json!({
                "tag": "button",
                "text": { "tag": "plain_text", "content": a.label },
                "type": if a.danger { "danger" } else { "primary" },
                "value": { "command": a.command },
            })
        })
        .collect();
    json!({
        "msg_type": "interactive",
        "card": {
            "header": { "title": { "tag": "plain_text", "content": title } },
            "elements": [
                { "tag": "div", "text": { "tag": "plain_text", "content": text.join("\n") } },
                { "tag": "action", "actions": buttons },
                { "tag": "note", "elements": [ { "tag": "plain_text", "content": plain(&format::footer(notice), FOOTER_MAX_BYTES) } ] },
            ],
        },
    })
}

/// The message body (without `timestamp` and `sign`).
pub(crate) fn render(notice: &Notice) -> Value {
    let title = defang(&format::cut_chars(
        &format::headline(notice),
        TITLE_MAX_CHARS,
    ));
    if !notice.actions.is_empty() {
        return card(notice, &title);
    }
    let mut tail = Vec::new();
    if let Some(url) = format::safe_link(notice.link.as_deref()) {
        tail.push(json!([{
            "tag": "a",
            "text": format::link_text(notice),
            "href": url.as_str(),
        }]));
    }
    tail.push(paragraph(plain(&format::footer(notice), FOOTER_MAX_BYTES)));

    let lines: Vec<Value> = format::detail_lines(notice)
        .iter()
        .map(|line| paragraph(plain(line, LINE_MAX_BYTES)))
        .collect();
    let limit = BODY_MAX_BYTES - SIGN_RESERVE_BYTES;
    let sizes: Vec<usize> = lines.iter().map(|p| json_len(p) + 1).collect();
    let base = json_len(&body(&title, tail.clone()));
    if base + sizes.iter().sum::<usize>() <= limit {
        let content = lines.into_iter().chain(tail).collect();
        return body(&title, content);
    }
    // The note is at most this long ("… and 1234567 more lines not shown").
    let note_room = json_len(&paragraph(format::more_lines(usize::MAX))) + 1;
    let mut used = base + note_room;
    let mut content = Vec::new();
    for (line, size) in lines.iter().zip(&sizes) {
        if used + size > limit {
            break;
        }
        used += size;
        content.push(line.clone());
    }
    let hidden = lines.len() - content.len();
    content.push(paragraph(format::more_lines(hidden)));
    content.extend(tail);
    body(&title, content)
}

/// `base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", msg = ""))`.
pub(crate) fn sign(secret: &str, timestamp_s: u64) -> Result<String, NotifyError> {
    let key = format!("{timestamp_s}\n{secret}");
    super::hmac_base64(ChatKind::Feishu, key.as_bytes(), b"")
}

/// The request: with a secret, `timestamp` (seconds, as a string) and
/// `sign` are added to the body.
pub(crate) fn request(
    url: Url,
    secret: Option<&str>,
    now_ms: u64,
    mut body: Value,
) -> Result<HttpRequest, NotifyError> {
    if let (Some(secret), Some(fields)) = (secret, body.as_object_mut()) {
        let timestamp = now_ms / 1000;
        fields.insert("timestamp".into(), Value::String(timestamp.to_string()));
        fields.insert("sign".into(), Value::String(sign(secret, timestamp)?));
    }
    Ok(HttpRequest::new("POST", url.as_str())
        .header("user-agent", "slipway")
        .json(&body))
}

/// Success is HTTP 200 with `code` 0 (older answers: `StatusCode` 0).
pub(crate) fn interpret(response: &HttpResponse) -> Result<(), NotifyError> {
    super::interpret_coded(
        ChatKind::Feishu,
        response,
        &["code", "StatusCode"],
        &["msg", "StatusMessage"],
    )
}
