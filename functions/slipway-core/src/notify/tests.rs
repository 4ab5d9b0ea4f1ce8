//! Unit tests of the notification module: signatures, requests, escaping
//! and size limits. Responses, `send` and settings are in `tests_io.rs`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::format::{self, Measure};
use super::*;

pub(super) const DING_URL: &str =
    "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123";
pub(super) const FEISHU_URL: &str =
    "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
pub(super) const SLACK_URL: &str =
    "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
pub(super) const SECRET: &str = "this is secret";

pub(super) fn notice() -> Notice {
    Notice {
        on: NotifyOn::Failure,
        app: "shop".into(),
        run_id: "r-0042".into(),
        run_number: 42,
        title: "shop #42 failed at unit-test".into(),
        lines: vec![
            "branch main".into(),
            "commit 1a2b3c4".into(),
            "cart::total: expected 3, got 4".into(),
        ],
        link: Some("https://slipway.example.com/runs/r-0042".into()),
        actions: Vec::new(),
    }
}

pub(super) fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: BTreeMap::new(),
        body: body.as_bytes().to_vec(),
    }
}

pub(super) fn body_of(request: &HttpRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

// ---- signatures -------------------------------------------------------

#[test]
fn dingtalk_signature_matches_the_reference_vector() {
    assert_eq!(
        dingtalk::sign(SECRET, 1_700_000_000_000).unwrap(),
        "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="
    );
}

#[test]
fn feishu_signature_matches_the_reference_vector() {
    assert_eq!(
        feishu::sign(SECRET, 1_700_000_000).unwrap(),
        "OfGzRzoUICBOoc8wVra1e4A1hPfbZ9zqXozA8CWVUuY="
    );
}

// ---- requests ---------------------------------------------------------

#[test]
fn dingtalk_request_appends_timestamp_and_url_encoded_sign() {
    let req = request(
        ChatKind::Dingtalk,
        DING_URL,
        Some(SECRET),
        1_700_000_000_000,
        &notice(),
    )
    .unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.url,
        format!(
            "{DING_URL}&timestamp=1700000000000&sign=sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0%3D"
        )
    );
    assert_eq!(req.header_value("content-type"), Some("application/json"));
    let body = body_of(&req);
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(body["markdown"]["title"], "❌ shop #42 failed at unit-test");
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("#### ❌ shop \\#42 failed at unit-test\n\n"),
        "{text}"
    );
    assert!(text.contains("- branch main\n- commit 1a2b3c4\n"), "{text}");
    assert!(
        text.contains("[View run \\#42](https://slipway.example.com/runs/r-0042)"),
        "{text}"
    );
    assert!(
        text.contains("###### slipway · shop · run r-0042"),
        "{text}"
    );
}

#[test]
fn dingtalk_request_without_secret_keeps_the_url_and_replaces_stale_signatures() {
    let req = request(ChatKind::Dingtalk, DING_URL, None, 5, &notice()).unwrap();
    assert_eq!(req.url, DING_URL);
    let empty = request(ChatKind::Dingtalk, DING_URL, Some(""), 5, &notice()).unwrap();
    assert_eq!(empty.url, DING_URL);

    let stale = format!("{DING_URL}&timestamp=1&sign=old");
    let req = request(
        ChatKind::Dingtalk,
        &stale,
        Some(SECRET),
        1_700_000_000_000,
        &notice(),
    )
    .unwrap();
    assert_eq!(req.url.matches("timestamp=").count(), 1);
    assert_eq!(req.url.matches("sign=").count(), 1);
    assert!(req.url.contains("access_token=0123456789abcdef0123"));
}

#[test]
fn feishu_request_signs_in_the_body_with_seconds() {
    let req = request(
        ChatKind::Feishu,
        FEISHU_URL,
        Some(SECRET),
        1_700_000_000_999,
        &notice(),
    )
    .unwrap();
    assert_eq!(req.url, FEISHU_URL);
    let body = body_of(&req);
    assert_eq!(body["timestamp"], "1700000000");
    assert_eq!(body["sign"], "OfGzRzoUICBOoc8wVra1e4A1hPfbZ9zqXozA8CWVUuY=");
    assert_eq!(body["msg_type"], "post");
    let post = &body["content"]["post"]["zh_cn"];
    assert_eq!(post["title"], "❌ shop #42 failed at unit-test");
    let content = post["content"].as_array().unwrap();
    assert_eq!(
        content[0],
        json!([{ "tag": "text", "text": "branch main" }])
    );
    assert_eq!(
        content[3],
        json!([{
            "tag": "a",
            "text": "View run #42",
            "href": "https://slipway.example.com/runs/r-0042",
        }])
    );
    assert_eq!(
        content[4],
        json!([{ "tag": "text", "text": "slipway · shop · run r-0042" }])
    );

    let unsigned = body_of(&request(ChatKind::Feishu, FEISHU_URL, None, 1, &notice()).unwrap());
    assert!(unsigned.get("timestamp").is_none() && unsigned.get("sign").is_none());
}

#[test]
fn slack_request_posts_text_and_blocks_unsigned() {
    let req = request(ChatKind::Slack, SLACK_URL, Some("ignored"), 1, &notice()).unwrap();
    assert_eq!(req.url, SLACK_URL);
    assert_eq!(req.method, "POST");
    let body = body_of(&req);
    assert_eq!(body["text"], "❌ shop #42 failed at unit-test");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[0]["text"]["text"],
        "*❌ shop #42 failed at unit-test*"
    );
    assert_eq!(
        blocks[1]["text"]["text"],
        "• branch main\n• commit 1a2b3c4\n• cart::total: expected 3, got 4"
    );
    let context = &blocks[2]["elements"];
    assert_eq!(
        context[0]["text"],
        "<https://slipway.example.com/runs/r-0042|View run #42>"
    );
    assert_eq!(context[1]["text"], "slipway · shop · run r-0042");
}

#[test]
fn bad_webhook_urls_are_refused_without_showing_them() {
    for url in [
        "",
        "not a url",
        "ftp://host/secret-token-123",
        "mailto:x@secret.example",
    ] {
        for kind in [ChatKind::Slack, ChatKind::Dingtalk, ChatKind::Feishu] {
            let err = request(kind, url, None, 1, &notice()).unwrap_err();
            assert_eq!(err, NotifyError::InvalidWebhook { platform: kind });
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }
}

// ---- escaping ---------------------------------------------------------

#[test]
fn slack_escapes_control_characters_so_no_mention_or_link_forms() {
    let mut n = notice();
    n.title = "<!channel> & <@U123|boss>".into();
    n.lines = vec!["see <https://evil.example|here> & run".into()];
    n.link = Some("https://slipway.example.com/runs?a=1&b=<x>|y".into());
    let body = render(ChatKind::Slack, &n);
    assert_eq!(body["text"], "❌ &lt;!channel&gt; &amp; &lt;@U123|boss&gt;");
    assert_eq!(
        body["blocks"][1]["text"]["text"],
        "• see &lt;https://evil.example|here&gt; &amp; run"
    );
    let link = body["blocks"][2]["elements"][0]["text"].as_str().unwrap();
    assert_eq!(
        link,
        "<https://slipway.example.com/runs?a=1&amp;b=%3Cx%3E%7Cy|View run #42>"
    );
}

#[test]
fn dingtalk_escapes_markdown_and_html() {
    let mut n = notice();
    n.title = "# big <font color=red>x</font>".into();
    n.lines = vec![
        "[click](javascript:alert(1)) ![img](http://x/y.png)".into(),
        "- not a nested list".into(),
        "12. not a numbered list".into(),
        "multi\nline\r\nmessage".into(),
        "*bold* _it_ `code` ~s~ a|b \\ &amp;".into(),
    ];
    let body = render(ChatKind::Dingtalk, &n);
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("#### ❌ \\# big \\<font color=red\\>x\\</font\\>\n\n"),
        "{text}"
    );
    assert!(text.contains("- \\[click\\](javascript:alert(1)) !\\[img\\](http://x/y.png)\n"));
    assert!(text.contains("- \\- not a nested list\n"), "{text}");
    assert!(text.contains("- 12\\. not a numbered list\n"), "{text}");
    assert!(text.contains("- multi line message\n"), "{text}");
    assert!(
        text.contains("- \\*bold\\* \\_it\\_ \\`code\\` \\~s\\~ a\\|b \\\\ \\&amp;\n"),
        "{text}"
    );
    // The plain-text title is not escaped.
    assert_eq!(
        body["markdown"]["title"],
        "❌ # big <font color=red>x</font>"
    );
}

#[test]
fn feishu_breaks_at_mentions_and_drops_unsafe_links() {
    let mut n = notice();
    n.title = "<at user_id=\"all\">everyone</at>".into();
    n.lines = vec!["<AT user_id=\"ou_1\"></at> <b>ok</b>".into()];
    n.link = Some("javascript:alert(1)".into());
    let body = render(ChatKind::Feishu, &n);
    let post = &body["content"]["post"]["zh_cn"];
    assert_eq!(
        post["title"],
        "❌ <\u{200B}at user_id=\"all\">everyone</at>"
    );
    assert_eq!(
        post["content"][0][0]["text"],
        "<\u{200B}AT user_id=\"ou_1\"></at> <b>ok</b>"
    );
    let content = post["content"].as_array().unwrap();
    assert_eq!(content.len(), 2, "no link paragraph: {content:?}");
    assert!(!body.to_string().contains("javascript"));
}

#[test]
fn unsafe_links_are_left_out_everywhere() {
    for link in [
        "javascript:alert(1)",
        "/runs/1",
        "data:text/html,x",
        "https://",
    ] {
        let mut n = notice();
        n.link = Some(link.into());
        for kind in [ChatKind::Slack, ChatKind::Dingtalk, ChatKind::Feishu] {
            let body = render(kind, &n).to_string();
            assert!(!body.contains("View run"), "{kind} {link}: {body}");
        }
    }
    assert!(format::safe_link(Some(&format!("https://x.example/{}", "a".repeat(2100)))).is_none());
}

#[test]
fn clean_and_one_line_normalise_text() {
    assert_eq!(format::clean("a\r\nb\rc\u{7}d  \n"), "a\nb\ncd");
    assert_eq!(format::one_line(" a\n\n  b\tc \r\n"), "a b c");
    assert_eq!(format::one_line("x \n y"), "x y");
}

// ---- truncation -------------------------------------------------------

#[test]
fn escape_within_never_cuts_an_escape_and_marks_cuts() {
    let slack = |t: &str, max| format::escape_within(t, max, Measure::Chars, slack::escape);
    assert_eq!(slack("a&b", 7), "a&amp;b");
    assert_eq!(slack("a&b", 6), "a…");
    assert_eq!(slack("&&&&", 12), "&amp;&amp;…");
    assert_eq!(slack("abc", 0), "");
    let bytes = format::escape_within("日本語", 7, Measure::Bytes, |c, o| o.push(c));
    assert_eq!(bytes, "日…");
}

#[test]
fn slack_sections_stay_within_3000_chars_and_10_sections() {
    let mut n = notice();
    n.title = "&".repeat(4000);
    n.lines = (0..100)
        .map(|i| format!("test {i}: {}", "<".repeat(1500)))
        .collect();
    let body = render(ChatKind::Slack, &n);
    let blocks = body["blocks"].as_array().unwrap();
    let sections: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(sections.len(), 1 + slack::MAX_DETAIL_SECTIONS);
    for text in &sections {
        assert!(
            text.chars().count() <= slack::SECTION_MAX_CHARS,
            "{}",
            text.len()
        );
        assert!(
            !text.contains("&l…") && !text.contains("&a…"),
            "cut inside an entity"
        );
    }
    assert!(sections[0].ends_with("…*"));
    assert!(body["text"].as_str().unwrap().chars().count() <= slack::FALLBACK_MAX_CHARS);
    let note = blocks[blocks.len() - 2]["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(note.contains("more lines not shown"), "{note}");
    assert!(blocks.len() <= 50);
}

#[test]
fn dingtalk_text_stays_within_20000_bytes() {
    let mut n = notice();
    n.lines = (0..100)
        .map(|i| format!("失败 {i} {}", "测*".repeat(800)))
        .collect();
    let body = render(ChatKind::Dingtalk, &n);
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.len() <= dingtalk::TEXT_MAX_BYTES, "{}", text.len());
    assert!(text.contains("more lines not shown"));
    assert!(text.ends_with("###### slipway · shop · run r-0042\n"));
    assert!(
        body["markdown"]["title"].as_str().unwrap().chars().count() <= dingtalk::TITLE_MAX_CHARS
    );

    // Lines that fit are all shown, without a note.
    let small = render(ChatKind::Dingtalk, &notice());
    assert!(!small.to_string().contains("more line"));
}

#[test]
fn feishu_body_stays_within_its_limit_signature_included() {
    let mut n = notice();
    n.lines = (0..200)
        .map(|i| format!("第{i}行 \"{}\"", "é\\".repeat(700)))
        .collect();
    let req = request(
        ChatKind::Feishu,
        FEISHU_URL,
        Some(SECRET),
        1_700_000_000_000,
        &n,
    )
    .unwrap();
    assert!(
        req.body.len() <= feishu::BODY_MAX_BYTES,
        "{}",
        req.body.len()
    );
    let body = body_of(&req);
    let content = body["content"]["post"]["zh_cn"]["content"]
        .as_array()
        .unwrap();
    let texts: Vec<&str> = content
        .iter()
        .filter_map(|p| p[0]["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("more lines not shown")));
    assert_eq!(texts.last(), Some(&"slipway · shop · run r-0042"));
}

#[test]
fn approval_buttons_render_on_every_platform() {
    let mut n = notice();
    n.on = NotifyOn::Approval;
    n.actions = vec![
        NoticeAction {
            label: "Approve".into(),
            command: "approve shop-42 approve #1".into(),
            danger: false,
        },
        NoticeAction {
            label: "Reject".into(),
            command: "reject shop-42 approve #1".into(),
            danger: true,
        },
    ];
    let slack = render(ChatKind::Slack, &n);
    let actions = slack["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    assert_eq!(actions["elements"][1]["style"], "danger");
    assert_eq!(
        actions["elements"][0]["value"],
        "approve shop-42 approve #1"
    );
    let ding = render(ChatKind::Dingtalk, &n);
    assert_eq!(ding["msgtype"], "actionCard");
    assert_eq!(
        ding["actionCard"]["btns"][0]["actionURL"],
        "dtmd://dingtalkclient/sendMessage?content=approve+shop-42+approve+%231"
    );
    let feishu = render(ChatKind::Feishu, &n);
    assert_eq!(feishu["msg_type"], "interactive");
    let buttons = &feishu["card"]["elements"][1]["actions"];
    assert_eq!(buttons[1]["value"]["command"], "reject shop-42 approve #1");
    assert_eq!(buttons[1]["type"], "danger");
}
