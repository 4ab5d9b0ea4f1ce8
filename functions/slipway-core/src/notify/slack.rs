//! Slack incoming webhooks.
//!
//! `POST {webhook}` with a JSON body `{"text": "…", "blocks": […]}`; Slack
//! answers `200 ok`, or a non-2xx status with a plain-text error code such as
//! `invalid_payload`, `no_text`, `invalid_blocks` or (404) `no_service`.
//! Incoming webhooks are not signed: the URL is the credential.
//!
//! Text is `mrkdwn`. User-provided text is escaped as Slack asks — `&`, `<`
//! and `>` become `&amp;`, `&lt;` and `&gt;` — so it cannot form links or
//! mentions (`<!channel>`, `<@U…>`). Emphasis characters (`*`, `_`, `~`,
//! `` ` ``) have no escape in `mrkdwn` and are left as they are.

use serde_json::{Value, json};
use url::Url;

use super::format::{self, Measure};
use super::{ChatKind, Notice, NotifyError};
use crate::ports::{HttpRequest, HttpResponse};

/// Most characters in the text of one section block.
pub(crate) const SECTION_MAX_CHARS: usize = 3000;

/// Most characters in the top-level `text` (the notification fallback).
pub(crate) const FALLBACK_MAX_CHARS: usize = 3000;

/// Most section blocks used for detail lines (Slack allows 50 blocks).
pub(crate) const MAX_DETAIL_SECTIONS: usize = 10;

const BULLET: &str = "• ";

/// Slack's escape for one character of user text.
pub(crate) fn escape(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

fn escaped(text: &str, max: usize) -> String {
    format::escape_within(text, max, Measure::Chars, escape)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn context(texts: Vec<String>) -> Value {
    let elements: Vec<Value> = texts
        .into_iter()
        .map(|text| json!({ "type": "mrkdwn", "text": text }))
        .collect();
    json!({ "type": "context", "elements": elements })
}

/// `<url|text>`, with the characters that would end the link encoded.
fn link(url: &Url, text: &str) -> String {
    let target = url
        .as_str()
        .replace('&', "&amp;")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C");
    format!("<{target}|{}>", escaped(text, 200))
}

/// The message body.
pub(crate) fn render(notice: &Notice) -> Value {
    let headline = format::headline(notice);
    let mut blocks = vec![section(format!(
        "*{}*",
        escaped(&headline, SECTION_MAX_CHARS - 2)
    ))];

    let lines = format::detail_lines(notice);
    let mut sections: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut shown = 0usize;
    for line in &lines {
        let item = format!(
            "{BULLET}{}",
            escaped(line, SECTION_MAX_CHARS - chars(BULLET))
        );
        if !current.is_empty() && chars(&current) + 1 + chars(&item) > SECTION_MAX_CHARS {
            if sections.len() + 1 >= MAX_DETAIL_SECTIONS {
                break;
            }
            sections.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&item);
        shown += 1;
    }
    if !current.is_empty() {
        sections.push(current);
    }
    blocks.extend(sections.into_iter().map(section));
    if shown < lines.len() {
        blocks.push(context(vec![format!(
            "_{}_",
            escaped(&format::more_lines(lines.len() - shown), 200)
        )]));
    }

    if !notice.actions.is_empty() {
        let buttons: Vec<Value> = notice
            .actions
            .iter()
            .take(5)
            .enumerate()
            .map(|(i, a)| {
                json!({
                    "type": "button",
                    "action_id": format!("slipway-{i}"),
                    "text": { "type": "plain_text", "text": format::cut_chars(&a.label, 75) },
                    "style": if a.danger { "danger" } else { "primary" },
                    "value": format::cut_chars(&a.command, 2000),
                })
            })
            .collect();
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    let mut footer = Vec::new();
    if let Some(url) = format::safe_link(notice.link.as_deref()) {
        footer.push(link(&url, &format::link_text(notice)));
    }
    footer.push(escaped(&format::footer(notice), 1000));
    blocks.push(context(footer));

    json!({
        "text": escaped(&headline, FALLBACK_MAX_CHARS),
        "blocks": blocks,
    })
}

/// The request: the body as JSON to the webhook URL, unchanged.
pub(crate) fn request(url: Url, body: &Value) -> HttpRequest {
    HttpRequest::new("POST", url.as_str())
        .header("user-agent", "slipway")
        .json(body)
}

/// Slack's error codes are short lowercase words; anything else in a body
/// (an HTML error page from a proxy, …) is not repeated.
fn error_code(response: &HttpResponse) -> Option<String> {
    let text = String::from_utf8_lossy(&response.body);
    let text = text.trim();
    let code_like = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    code_like.then(|| text.to_owned())
}

/// `200 ok` is success; an error status is a rejection with Slack's error
/// code; any other 2xx answer is unexpected.
pub(crate) fn interpret(response: &HttpResponse) -> Result<(), NotifyError> {
    let platform = ChatKind::Slack;
    let body = String::from_utf8_lossy(&response.body);
    if response.status == 200 && body.trim() == "ok" {
        return Ok(());
    }
    if response.is_success() {
        return Err(NotifyError::UnexpectedResponse {
            platform,
            status: response.status,
        });
    }
    Err(NotifyError::Rejected {
        platform,
        status: response.status,
        code: None,
        reason: error_code(response),
    })
}
