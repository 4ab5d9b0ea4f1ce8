//! DingTalk custom group robots (自定义机器人).
//!
//! `POST {webhook}&timestamp={ms}&sign={s}` where the webhook is
//! `https://oapi.dingtalk.com/robot/send?access_token=…` and, when the robot
//! has a signing secret (`SEC…`),
//! `s = urlencode(base64(HMAC-SHA256(key = secret, msg = "{ms}\n{secret}")))`;
//! DingTalk accepts timestamps within one hour of its clock. The body is
//! `{"msgtype": "markdown", "markdown": {"title": "…", "text": "…"}}`; the
//! answer is HTTP 200 with `{"errcode": 0, "errmsg": "ok"}` on success and a
//! non-zero `errcode` otherwise (310000: bad signature, missing keyword or
//! sender IP not allowed).
//!
//! The `title` (shown in notifications and the chat list) is plain text. In
//! the Markdown `text`, user-provided text has Markdown and HTML punctuation
//! backslash-escaped and line breaks folded into spaces, so it cannot add
//! headings, links, images or HTML (`<font>`), and each detail stays one
//! list item. Mentions need the `at` field, which is never sent.

use serde_json::{Value, json};
use url::Url;

use super::format::{self, Measure};
use super::{ChatKind, Notice, NotifyError};
use crate::ports::{HttpRequest, HttpResponse};

/// Most bytes in `markdown.text`.
pub(crate) const TEXT_MAX_BYTES: usize = 20_000;

/// Most characters in `markdown.title`.
pub(crate) const TITLE_MAX_CHARS: usize = 100;

const HEADING_MAX_BYTES: usize = 1000;
const LINE_MAX_BYTES: usize = 2000;
const FOOTER_MAX_BYTES: usize = 500;
/// Room kept for the "… and N more lines" note when lines are dropped.
const NOTE_RESERVE_BYTES: usize = 100;

/// DingTalk Markdown's escape for one character of user text.
pub(crate) fn escape(c: char, out: &mut String) {
    if matches!(
        c,
        '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '<' | '>' | '|' | '~' | '&'
    ) {
        out.push('\\');
    }
    out.push(c);
}

/// `text` on one line, escaped, at most `max` bytes, and unable to start a
/// list (`- `, `+ `, `1. `) where it is placed at the start of a line.
pub(crate) fn escaped_line(text: &str, max: usize) -> String {
    // One byte is kept for the backslash that may go before a list marker.
    let mut out = format::escape_within(
        &format::one_line(text),
        max.saturating_sub(1),
        Measure::Bytes,
        escape,
    );
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
        return out;
    }
    let digits = out.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && matches!(out.as_bytes().get(digits), Some(b'.' | b')')) {
        out.insert(digits, '\\');
    }
    out
}

/// The URL as a Markdown link target: parentheses would end it.
fn link_target(url: &Url) -> String {
    url.as_str().replace('(', "%28").replace(')', "%29")
}

/// A link that makes the DingTalk client send `text` as the clicking
/// user, in the conversation the card is in (an ActionCard button).
pub(crate) fn send_message_link(text: &str) -> String {
    let content: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    format!("dtmd://dingtalkclient/sendMessage?content={content}")
}

/// The message body.
pub(crate) fn render(notice: &Notice) -> Value {
    let headline = format::headline(notice);
    let head = format!("#### {}\n\n", escaped_line(&headline, HEADING_MAX_BYTES));
    let mut tail = String::from("\n");
    if let Some(url) = format::safe_link(notice.link.as_deref()) {
        let text = escaped_line(&format::link_text(notice), 200);
        tail.push_str(&format!("[{text}]({})\n\n", link_target(&url)));
    }
    let footer = escaped_line(&format::footer(notice), FOOTER_MAX_BYTES);
    tail.push_str(&format!("###### {footer}\n"));

    let items: Vec<String> = format::detail_lines(notice)
        .iter()
        .map(|line| format!("- {}\n", escaped_line(line, LINE_MAX_BYTES)))
        .collect();
    let room = TEXT_MAX_BYTES.saturating_sub(head.len() + tail.len());
    let all: usize = items.iter().map(String::len).sum();
    let mut body = head;
    if all <= room {
        items.iter().for_each(|item| body.push_str(item));
    } else {
        let mut used = 0usize;
        let mut shown = 0usize;
        for item in &items {
            if used + item.len() > room.saturating_sub(NOTE_RESERVE_BYTES) {
                break;
            }
            used += item.len();
            shown += 1;
            body.push_str(item);
        }
        let note = escaped_line(
            &format::more_lines(items.len() - shown),
            NOTE_RESERVE_BYTES - 2,
        );
        body.push_str(&format!("\n{note}\n"));
    }
    body.push_str(&tail);

    if !notice.actions.is_empty() {
        let buttons: Vec<Value> = notice
            .actions
            .iter()
            .map(|a| {
                json!({
                    "title": format::cut_chars(&a.label, 30),
                    "actionURL": send_message_link(&a.command),
                })
            })
            .collect();
        return json!({
            "msgtype": "actionCard",
            "actionCard": {
                "title": format::cut_chars(&headline, TITLE_MAX_CHARS),
                "text": body,
                "btnOrientation": "1",
                "btns": buttons,
            },
        });
    }
    json!({
        "msgtype": "markdown",
        "markdown": {
            "title": format::cut_chars(&headline, TITLE_MAX_CHARS),
            "text": body,
        },
    })
}

/// `base64(HMAC-SHA256(key = secret, msg = "{timestamp_ms}\n{secret}"))`,
/// before URL-encoding.
pub(crate) fn sign(secret: &str, timestamp_ms: u64) -> Result<String, NotifyError> {
    let message = format!("{timestamp_ms}\n{secret}");
    super::hmac_base64(ChatKind::Dingtalk, secret.as_bytes(), message.as_bytes())
}

/// The request: with a secret, `timestamp` and `sign` are set in the query
/// (replacing any already there); the body is the message as JSON.
pub(crate) fn request(
    mut url: Url,
    secret: Option<&str>,
    now_ms: u64,
    body: &Value,
) -> Result<HttpRequest, NotifyError> {
    if let Some(secret) = secret {
        let sign = sign(secret, now_ms)?;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "timestamp" && k != "sign")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("timestamp", &now_ms.to_string())
            .append_pair("sign", &sign);
    }
    Ok(HttpRequest::new("POST", url.as_str())
        .header("user-agent", "slipway")
        .json(body))
}

/// Success is HTTP 200 with `errcode` 0.
pub(crate) fn interpret(response: &HttpResponse) -> Result<(), NotifyError> {
    super::interpret_coded(ChatKind::Dingtalk, response, &["errcode"], &["errmsg"])
}
