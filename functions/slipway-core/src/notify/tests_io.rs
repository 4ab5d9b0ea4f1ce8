//! Unit tests of the notification module: reading answers, `send` and the
//! settings.

use std::cell::RefCell;

use super::tests::{DING_URL, FEISHU_URL, SECRET, SLACK_URL, notice, response};
use super::*;

// ---- responses --------------------------------------------------------

#[test]
fn slack_responses() {
    assert_eq!(interpret(ChatKind::Slack, &response(200, "ok")), Ok(()));
    let err = interpret(ChatKind::Slack, &response(400, "invalid_payload")).unwrap_err();
    assert_eq!(
        err,
        NotifyError::Rejected {
            platform: ChatKind::Slack,
            status: 400,
            code: None,
            reason: Some("invalid_payload".into()),
        }
    );
    assert_eq!(
        err.to_string(),
        "slack: message rejected: HTTP 400 (invalid_payload)"
    );
    let err = interpret(ChatKind::Slack, &response(404, "no_service")).unwrap_err();
    assert!(err.to_string().contains("404 (no_service)"));
    assert!(!err.is_retryable());
    let err = interpret(
        ChatKind::Slack,
        &response(503, "<html>down at /services/T/B/X</html>"),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "slack: message rejected: HTTP 503");
    assert!(err.is_retryable());
    assert_eq!(
        interpret(ChatKind::Slack, &response(200, "queued")),
        Err(NotifyError::UnexpectedResponse {
            platform: ChatKind::Slack,
            status: 200
        })
    );
}

#[test]
fn dingtalk_responses() {
    let ok = response(200, r#"{"errcode":0,"errmsg":"ok"}"#);
    assert_eq!(interpret(ChatKind::Dingtalk, &ok), Ok(()));
    let bad = response(
        200,
        r#"{"errcode":310000,"errmsg":"sign not match, more: [https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123]"}"#,
    );
    let err = interpret(ChatKind::Dingtalk, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dingtalk: message rejected: HTTP 200, code 310000 (signature or timestamp not accepted)"
    );
    assert!(!format!("{err:?}").contains("0123456789abcdef0123"));
    let keyword = response(
        200,
        r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
    );
    assert!(
        interpret(ChatKind::Dingtalk, &keyword)
            .unwrap_err()
            .to_string()
            .contains("keyword")
    );
    let ip = response(
        200,
        r#"{"errcode":310000,"errmsg":"ip 1.2.3.4 not in whitelist"}"#,
    );
    assert!(
        interpret(ChatKind::Dingtalk, &ip)
            .unwrap_err()
            .to_string()
            .contains("IP")
    );
    let gateway = interpret(ChatKind::Dingtalk, &response(502, "Bad Gateway")).unwrap_err();
    assert_eq!(gateway.to_string(), "dingtalk: message rejected: HTTP 502");
    assert!(gateway.is_retryable());
    assert!(matches!(
        interpret(ChatKind::Dingtalk, &response(200, "ok")),
        Err(NotifyError::UnexpectedResponse { status: 200, .. })
    ));
}

#[test]
fn feishu_responses() {
    let ok = response(200, r#"{"code":0,"msg":"success","data":{}}"#);
    assert_eq!(interpret(ChatKind::Feishu, &ok), Ok(()));
    let legacy = response(200, r#"{"StatusCode":0,"StatusMessage":"success"}"#);
    assert_eq!(interpret(ChatKind::Feishu, &legacy), Ok(()));
    let bad = response(
        200,
        r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
    );
    let err = interpret(ChatKind::Feishu, &bad).unwrap_err();
    assert_eq!(
        err,
        NotifyError::Rejected {
            platform: ChatKind::Feishu,
            status: 200,
            code: Some(19021),
            reason: Some("signature or timestamp not accepted".into()),
        }
    );
    let other = response(400, r#"{"code":9499,"msg":"Bad Request"}"#);
    assert_eq!(
        interpret(ChatKind::Feishu, &other).unwrap_err().to_string(),
        "feishu: message rejected: HTTP 400, code 9499"
    );
    let limited = interpret(ChatKind::Feishu, &response(429, "")).unwrap_err();
    assert!(limited.is_retryable());
}

// ---- send -------------------------------------------------------------

struct Scripted {
    answer: Result<HttpResponse, HttpError>,
    sent: RefCell<Vec<(HttpRequest, u64)>>,
}

impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        self.sent.borrow_mut().push((request, timeout_ms));
        self.answer.clone()
    }
}

fn scripted(answer: Result<HttpResponse, HttpError>) -> Scripted {
    Scripted {
        answer,
        sent: RefCell::new(Vec::new()),
    }
}

#[test]
fn send_posts_the_signed_request_and_reads_the_answer() {
    let http = scripted(Ok(response(200, r#"{"errcode":0,"errmsg":"ok"}"#)));
    let result = futures::executor::block_on(send(
        &http,
        ChatKind::Dingtalk,
        DING_URL,
        Some(SECRET),
        1_700_000_000_000,
        &notice(),
        5000,
    ));
    assert_eq!(result, Ok(()));
    let sent = http.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, 5000);
    assert!(
        sent[0]
            .0
            .url
            .ends_with("sign=sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0%3D")
    );
}

#[test]
fn transport_errors_do_not_repeat_the_url_or_the_secret() {
    let secret = "SECabcdef0123456789";
    let signed = request(ChatKind::Dingtalk, DING_URL, Some(secret), 7, &notice())
        .unwrap()
        .url;
    let message =
        format!("error sending to {signed}: refused (token 0123456789abcdef0123, key {secret})");
    let http = scripted(Err(HttpError::Transport(message)));
    let err = futures::executor::block_on(send(
        &http,
        ChatKind::Dingtalk,
        DING_URL,
        Some(secret),
        7,
        &notice(),
        1000,
    ))
    .unwrap_err();
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains("0123456789abcdef0123"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("refused"), "{shown}");
    assert!(err.is_retryable());

    let slack_path = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
    let http = scripted(Err(HttpError::Transport(format!(
        "POST {slack_path}: reset"
    ))));
    let err = futures::executor::block_on(send(
        &http,
        ChatKind::Slack,
        SLACK_URL,
        None,
        7,
        &notice(),
        1000,
    ))
    .unwrap_err();
    assert!(
        !format!("{err:?}").contains("XXXXXXXXXXXXXXXXXXXXXXXX"),
        "{err:?}"
    );

    let http = scripted(Err(HttpError::Timeout(1000)));
    let err = futures::executor::block_on(send(
        &http,
        ChatKind::Feishu,
        FEISHU_URL,
        None,
        7,
        &notice(),
        1000,
    ))
    .unwrap_err();
    assert_eq!(err.to_string(), "feishu: timed out after 1000 ms");
}

// ---- settings ---------------------------------------------------------

#[derive(Deserialize)]
struct Settings {
    notify: Vec<NotifyTarget>,
}

#[test]
fn targets_deserialize_with_defaults() {
    let settings: Settings = toml::from_str(
        r#"
        [[notify]]
        type = "slack"
        webhook_secret = "shop_slack_webhook"

        [[notify]]
        type = "dingtalk"
        webhook_secret = "shop_dingtalk"
        sign_secret = "shop_dingtalk_sign"
        on = ["failure", "fixed"]
        "#,
    )
    .unwrap();
    let [slack, ding] = settings.notify.as_slice() else {
        panic!("two targets")
    };
    assert_eq!(slack.kind, ChatKind::Slack);
    assert_eq!(slack.on, NotifyOn::all());
    assert_eq!(slack.sign_secret, None);
    assert_eq!(ding.kind, ChatKind::Dingtalk);
    assert_eq!(ding.sign_secret.as_deref(), Some("shop_dingtalk_sign"));
    assert!(ding.wants(NotifyOn::Fixed) && !ding.wants(NotifyOn::Deploy));
    assert_eq!(slack.validate(), Ok(()));
    assert_eq!(ding.validate(), Ok(()));
}

#[test]
fn targets_reject_unknown_types_fields_and_bad_combinations() {
    let parse = |text: &str| toml::from_str::<Settings>(text);
    assert!(parse("[[notify]]\ntype = \"teams\"\nwebhook_secret = \"x\"").is_err());
    assert!(parse("[[notify]]\ntype = \"slack\"\nwebhook_secret = \"x\"\nurl = \"y\"").is_err());
    assert!(
        parse("[[notify]]\ntype = \"slack\"\nwebhook_secret = \"x\"\non = [\"always\"]").is_err()
    );
    let signed_slack =
        parse("[[notify]]\ntype = \"slack\"\nwebhook_secret = \"x\"\nsign_secret = \"y\"").unwrap();
    assert!(matches!(
        signed_slack.notify[0].validate(),
        Err(NotifyError::Config {
            platform: ChatKind::Slack,
            ..
        })
    ));
    let blank = parse("[[notify]]\ntype = \"feishu\"\nwebhook_secret = \" \"").unwrap();
    assert!(blank.notify[0].validate().is_err());
}
