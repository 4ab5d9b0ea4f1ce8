//! [`FakeChat`]: the chat webhooks Slipway posts notifications to — Slack
//! incoming webhooks, DingTalk custom robots and Feishu custom bots — on one
//! server.
//!
//! - `POST /slack/services/T000/B000/XXXX`: a JSON body (or a form field
//!   `payload` holding JSON) → `200 ok`. Not JSON → 400 `invalid_payload`;
//!   neither `text` nor `blocks` → 400 `no_text`; more than 50 blocks or a
//!   section text over 3000 characters → 400 `invalid_blocks`. Any other
//!   path under `/slack` → 404 `no_service`.
//! - `POST /dingtalk/robot/send?access_token=…[&timestamp=<ms>&sign=<s>]`:
//!   wrong token → `{"errcode":300001,…}`; with a secret configured, a sign
//!   that is not `base64(HMAC-SHA256(secret, "{ms}\n{secret}"))` or a
//!   timestamp more than an hour off → `{"errcode":310000,"errmsg":"sign not
//!   match, …"}`; keywords configured and none in the message → 310000
//!   `keywords not in content`; bad JSON or message → 40035; text over
//!   20000 bytes → 460101; else `{"errcode":0,"errmsg":"ok"}`. DingTalk
//!   answers HTTP 200 in every case.
//! - `POST /feishu/open-apis/bot/v2/hook/{token}`: wrong token → 19001;
//!   body not JSON → HTTP 400 9499; with a secret configured, body fields
//!   `timestamp` (seconds) and `sign` = `base64(HMAC-SHA256(key =
//!   "{ts}\n{secret}", msg = ""))` within an hour, else 19021; unknown
//!   `msg_type` or missing content → 19002; keywords missing → 19024; else
//!   `{"code":0,"msg":"success","data":{}}`.
//!
//! Accepted messages are kept in order as `(platform, body)`. Both robots
//! start with signing on and random tokens and secrets.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::{FakeHttpServer, Request, Response};
use super::webhooks::hmac_sha256;
use super::{base64, now_millis, random_chars};

/// The path of the one Slack webhook the fake serves.
pub const SLACK_PATH: &str = "/slack/services/T000/B000/XXXX";
const DINGTALK_PATH: &str = "/dingtalk/robot/send";
const FEISHU_PREFIX: &str = "/feishu/open-apis/bot/v2/hook/";
const WINDOW_MS: u64 = 60 * 60 * 1000;
const HEX: &str = "0123456789abcdef";

/// The platform a message was posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatPlatform {
    /// Slack incoming webhook.
    Slack,
    /// DingTalk custom robot.
    Dingtalk,
    /// Feishu custom bot.
    Feishu,
}

impl ChatPlatform {
    /// `slack`, `dingtalk` or `feishu`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatPlatform::Slack => "slack",
            ChatPlatform::Dingtalk => "dingtalk",
            ChatPlatform::Feishu => "feishu",
        }
    }
}

impl PartialEq<&str> for ChatPlatform {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `base64(HMAC-SHA256(key = secret, msg = "{timestamp_ms}\n{secret}"))`,
/// DingTalk's robot signature before URL-encoding.
pub fn dingtalk_sign(secret: &str, timestamp_ms: u64) -> String {
    base64(&hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    ))
}

/// `base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", msg = ""))`,
/// Feishu's custom-bot signature.
pub fn feishu_sign(secret: &str, timestamp_s: u64) -> String {
    base64(&hmac_sha256(
        format!("{timestamp_s}\n{secret}").as_bytes(),
        b"",
    ))
}

struct Config {
    dingtalk_token: String,
    dingtalk_secret: Option<String>,
    dingtalk_keywords: Vec<String>,
    feishu_token: String,
    feishu_secret: Option<String>,
    feishu_keywords: Vec<String>,
}

struct State {
    config: Mutex<Config>,
    messages: Mutex<Vec<(ChatPlatform, Value)>>,
    arrived: Condvar,
}

/// The chat fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeChat {
    server: FakeHttpServer,
    state: Arc<State>,
}

impl Deref for FakeChat {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

impl FakeChat {
    /// Starts the fake with random robot tokens and signing secrets.
    pub fn start() -> FakeChat {
        let state = Arc::new(State {
            config: Mutex::new(Config {
                dingtalk_token: random_chars(64, HEX),
                dingtalk_secret: Some(format!("SEC{}", random_chars(64, HEX))),
                dingtalk_keywords: Vec::new(),
                feishu_token: super::uuid_v4(),
                feishu_secret: Some(random_chars(
                    22,
                    "abcdefghijklmnopqrstuvwxyzABCDEF0123456789",
                )),
                feishu_keywords: Vec::new(),
            }),
            messages: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        });
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| handle(&shared, req));
        FakeChat { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// The Slack incoming-webhook URL.
    pub fn slack_url(&self) -> String {
        format!("{}{SLACK_PATH}", self.url())
    }

    /// The DingTalk robot URL, `…/robot/send?access_token=<token>`.
    pub fn dingtalk_url(&self) -> String {
        let token = self.state.config.lock().unwrap().dingtalk_token.clone();
        format!("{}{DINGTALK_PATH}?access_token={token}", self.url())
    }

    /// The Feishu bot URL, `…/open-apis/bot/v2/hook/<token>`.
    pub fn feishu_url(&self) -> String {
        let token = self.state.config.lock().unwrap().feishu_token.clone();
        format!("{}{FEISHU_PREFIX}{token}", self.url())
    }

    /// The DingTalk robot's signing secret (`None`: signing off).
    pub fn dingtalk_secret(&self) -> Option<String> {
        self.state.config.lock().unwrap().dingtalk_secret.clone()
    }

    /// The Feishu bot's signing secret (`None`: signing off).
    pub fn feishu_secret(&self) -> Option<String> {
        self.state.config.lock().unwrap().feishu_secret.clone()
    }

    /// Sets (or with `None` turns off) the DingTalk signing secret.
    pub fn set_dingtalk_secret(&self, secret: Option<&str>) {
        self.state.config.lock().unwrap().dingtalk_secret = secret.map(str::to_owned);
    }

    /// Sets (or with `None` turns off) the Feishu signing secret.
    pub fn set_feishu_secret(&self, secret: Option<&str>) {
        self.state.config.lock().unwrap().feishu_secret = secret.map(str::to_owned);
    }

    /// DingTalk's keyword filter: messages must contain one of `keywords`
    /// (empty: no filter).
    pub fn set_dingtalk_keywords(&self, keywords: &[&str]) {
        self.state.config.lock().unwrap().dingtalk_keywords =
            keywords.iter().map(|k| k.to_string()).collect();
    }

    /// Feishu's keyword filter, like [`FakeChat::set_dingtalk_keywords`].
    pub fn set_feishu_keywords(&self, keywords: &[&str]) {
        self.state.config.lock().unwrap().feishu_keywords =
            keywords.iter().map(|k| k.to_string()).collect();
    }

    /// The accepted messages, in order, with their platform.
    pub fn messages(&self) -> Vec<(ChatPlatform, Value)> {
        self.state.messages.lock().unwrap().clone()
    }

    /// The bodies of the messages accepted by `platform`.
    pub fn messages_to(&self, platform: ChatPlatform) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|(p, _)| *p == platform)
            .map(|(_, body)| body)
            .collect()
    }

    /// Forgets the accepted messages.
    pub fn clear_messages(&self) {
        self.state.messages.lock().unwrap().clear();
    }

    /// Waits until at least `count` messages were accepted or `timeout`
    /// passed, and returns the messages accepted by then.
    pub fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<(ChatPlatform, Value)> {
        let deadline = Instant::now() + timeout;
        let mut messages = self.state.messages.lock().unwrap();
        loop {
            let now = Instant::now();
            if messages.len() >= count || now >= deadline {
                return messages.clone();
            }
            messages = self
                .state
                .arrived
                .wait_timeout(messages, deadline - now)
                .unwrap()
                .0;
        }
    }
}

fn accept(state: &State, platform: ChatPlatform, body: Value) {
    state.messages.lock().unwrap().push((platform, body));
    state.arrived.notify_all();
}

fn handle(state: &State, req: &Request) -> Response {
    let path = req.path.as_str();
    if path == "/slack" || path.starts_with("/slack/") {
        return slack(state, req);
    }
    if path == DINGTALK_PATH {
        return dingtalk(state, req);
    }
    if let Some(token) = path.strip_prefix(FEISHU_PREFIX) {
        return feishu(state, req, token);
    }
    Response::bytes(404, "text/plain", "not found")
}

fn text(status: u16, body: &str) -> Response {
    Response::bytes(status, "text/html", body.to_owned())
}

fn slack(state: &State, req: &Request) -> Response {
    if req.path != SLACK_PATH {
        return text(404, "no_service");
    }
    if req.method != "POST" {
        return text(405, "invalid_method").with_header("allow", "POST");
    }
    let parsed = if req.content_type_is("application/x-www-form-urlencoded") {
        let payload = req.form_params().into_iter().find(|(k, _)| k == "payload");
        payload.and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
    } else {
        req.json().ok()
    };
    let Some(body @ Value::Object(_)) = parsed else {
        return text(400, "invalid_payload");
    };
    let has_text = body["text"].as_str().is_some_and(|t| !t.trim().is_empty());
    let blocks = body["blocks"].as_array();
    if !has_text && blocks.is_none_or(|b| b.is_empty()) {
        return text(400, "no_text");
    }
    if blocks.is_some_and(|b| b.len() > 50 || !b.iter().all(valid_block)) {
        return text(400, "invalid_blocks");
    }
    accept(state, ChatPlatform::Slack, body);
    text(200, "ok")
}

fn valid_block(block: &Value) -> bool {
    let short = |v: &Value| {
        v["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 3000)
    };
    match block["type"].as_str() {
        Some("section") => short(&block["text"]) || block["fields"].is_array(),
        Some("context") => block["elements"]
            .as_array()
            .is_some_and(|e| !e.is_empty() && e.len() <= 10 && e.iter().all(short)),
        Some(_) => true,
        None => false,
    }
}

fn ding(errcode: i64, errmsg: &str) -> Response {
    Response::json(200, &json!({ "errcode": errcode, "errmsg": errmsg }))
}

fn dingtalk(state: &State, req: &Request) -> Response {
    if req.method != "POST" {
        return Response::bytes(405, "text/plain", "method not allowed");
    }
    let config = state.config.lock().unwrap();
    if req.query_param("access_token").as_deref() != Some(config.dingtalk_token.as_str()) {
        return ding(300001, "token is not exist");
    }
    if let Some(secret) = &config.dingtalk_secret {
        let timestamp = req
            .query_param("timestamp")
            .and_then(|t| t.parse::<u64>().ok());
        let fresh = timestamp.is_some_and(|t| now_millis().abs_diff(t) <= WINDOW_MS);
        let signed = timestamp.is_some_and(|t| {
            req.query_param("sign").as_deref() == Some(dingtalk_sign(secret, t).as_str())
        });
        if !(fresh && signed) {
            return ding(
                310000,
                "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
            );
        }
    }
    let Ok(body @ Value::Object(_)) = req.json() else {
        return ding(40035, "缺少参数 json");
    };
    let content = match body["msgtype"].as_str() {
        Some("text") => body["text"]["content"].as_str().map(str::to_owned),
        Some("markdown") => match (
            body["markdown"]["title"].as_str(),
            body["markdown"]["text"].as_str(),
        ) {
            (Some(title), Some(text)) if !text.is_empty() => Some(format!("{title}\n{text}")),
            _ => None,
        },
        Some("link" | "actionCard" | "feedCard") => Some(body.to_string()),
        _ => None,
    };
    let Some(content) = content else {
        return ding(40035, "缺少参数 msgtype or its content");
    };
    let text = body["markdown"]["text"].as_str();
    if text
        .or(body["text"]["content"].as_str())
        .is_some_and(|t| t.len() > 20_000)
    {
        return ding(460101, "message too long, exceed 20000 bytes");
    }
    let keywords = &config.dingtalk_keywords;
    if !keywords.is_empty() && !keywords.iter().any(|k| content.contains(k.as_str())) {
        return ding(
            310000,
            "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
        );
    }
    drop(config);
    accept(state, ChatPlatform::Dingtalk, body);
    ding(0, "ok")
}

fn lark(status: u16, code: i64, msg: &str) -> Response {
    Response::json(status, &json!({ "code": code, "msg": msg, "data": {} }))
}

fn feishu(state: &State, req: &Request, token: &str) -> Response {
    if req.method != "POST" {
        return lark(405, 9499, "Method Not Allowed");
    }
    let config = state.config.lock().unwrap();
    if token != config.feishu_token {
        return lark(
            200,
            19001,
            "param invalid: incoming webhook access token invalid",
        );
    }
    let Ok(body @ Value::Object(_)) = req.json() else {
        return lark(400, 9499, "Bad Request");
    };
    if let Some(secret) = &config.feishu_secret {
        let timestamp = match &body["timestamp"] {
            Value::String(s) => s.parse::<u64>().ok(),
            other => other.as_u64(),
        };
        let fresh =
            timestamp.is_some_and(|t| (now_millis() / 1000).abs_diff(t) <= WINDOW_MS / 1000);
        let signed = timestamp
            .is_some_and(|t| body["sign"].as_str() == Some(feishu_sign(secret, t).as_str()));
        if !(fresh && signed) {
            return lark(
                200,
                19021,
                "sign match fail or timestamp is not within one hour from current time",
            );
        }
    }
    let content = &body["content"];
    let valid = match body["msg_type"].as_str() {
        Some("text") => content["text"].as_str().is_some_and(|t| !t.is_empty()),
        Some("post") => content["post"]
            .as_object()
            .is_some_and(|locales| locales.values().any(|l| l["content"].is_array())),
        Some("interactive") => body["card"].is_object() || content.is_object(),
        Some("image" | "share_chat") => content.is_object(),
        _ => false,
    };
    if !valid {
        return lark(200, 19002, "params error, msg_type need");
    }
    let keywords = &config.feishu_keywords;
    let shown = format!("{}{}", content, body["card"]);
    if !keywords.is_empty() && !keywords.iter().any(|k| shown.contains(k.as_str())) {
        return lark(200, 19024, "Key Words Not Found");
    }
    drop(config);
    accept(state, ChatPlatform::Feishu, body);
    lark(200, 0, "success")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::super::tests_support::call;
    use super::*;

    /// Posts `body` (JSON unless it is a string) and returns status and body text.
    fn post(url: &str, body: &Value) -> (u16, String) {
        let raw = body
            .as_str()
            .map_or_else(|| body.to_string(), str::to_owned);
        let reply = call(
            "POST",
            url,
            &[("content-type", "application/json")],
            raw.as_bytes(),
        );
        (reply.status, reply.text())
    }

    /// The `errcode` (DingTalk) or `code` (Feishu) of a JSON answer.
    fn code(url: &str, body: &Value) -> i64 {
        let answer: Value = serde_json::from_str(&post(url, body).1).unwrap();
        answer["errcode"]
            .as_i64()
            .or(answer["code"].as_i64())
            .unwrap()
    }

    fn markdown() -> Value {
        json!({ "msgtype": "markdown", "markdown": { "title": "t", "text": "#### slipway" } })
    }

    fn signed_dingtalk_url(chat: &FakeChat, ts: u64) -> String {
        let sign = dingtalk_sign(&chat.dingtalk_secret().unwrap(), ts);
        let sign: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
        format!("{}&timestamp={ts}&sign={sign}", chat.dingtalk_url())
    }

    #[test]
    fn signatures_match_the_reference_vectors() {
        let ding = dingtalk_sign("this is secret", 1_700_000_000_000);
        assert_eq!(ding, "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0=");
        let lark = feishu_sign("this is secret", 1_700_000_000);
        assert_eq!(lark, "OfGzRzoUICBOoc8wVra1e4A1hPfbZ9zqXozA8CWVUuY=");
    }

    #[test]
    fn slack_webhook_contract() {
        let chat = FakeChat::start();
        let url = chat.slack_url();
        let long = json!({ "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "x".repeat(3001) } }] });
        let other = format!("{}/slack/services/T1/B1/nope", chat.url());
        assert_eq!(
            post(&url, &json!({ "text": "hi", "blocks": [] })),
            (200, "ok".into())
        );
        assert_eq!(
            post(&url, &json!("{not json")),
            (400, "invalid_payload".into())
        );
        assert_eq!(post(&url, &json!({ "text": " " })), (400, "no_text".into()));
        assert_eq!(post(&url, &long), (400, "invalid_blocks".into()));
        assert_eq!(
            post(&other, &json!({ "text": "x" })),
            (404, "no_service".into())
        );
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let via_form = call(
            "POST",
            &url,
            &form,
            b"payload=%7B%22text%22%3A%22form%22%7D",
        );
        assert_eq!(via_form.status, 200);
        let messages = chat.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].0, "slack");
        assert_eq!(messages[1].1["text"], "form");
    }

    #[test]
    fn dingtalk_checks_token_signature_window_and_keywords() {
        let chat = FakeChat::start();
        let now = now_millis();
        let ok = post(&signed_dingtalk_url(&chat, now), &markdown());
        assert_eq!(
            ok,
            (200, json!({ "errcode": 0, "errmsg": "ok" }).to_string())
        );
        let (_, unsigned) = post(&chat.dingtalk_url(), &markdown());
        assert!(unsigned.contains("sign not match"), "{unsigned}");
        let stale = signed_dingtalk_url(&chat, now - 2 * WINDOW_MS);
        let tampered = signed_dingtalk_url(&chat, now).replace("sign=", "sign=A");
        let wrong_token = format!("{}{DINGTALK_PATH}?access_token=nope", chat.url());
        assert_eq!(code(&stale, &markdown()), 310000);
        assert_eq!(code(&tampered, &markdown()), 310000);
        assert_eq!(code(&wrong_token, &markdown()), 300001);

        chat.set_dingtalk_secret(None);
        let url = chat.dingtalk_url();
        chat.set_dingtalk_keywords(&["deploy"]);
        assert_eq!(code(&url, &markdown()), 310000);
        chat.set_dingtalk_keywords(&["slipway"]);
        assert_eq!(code(&url, &markdown()), 0);
        assert_eq!(code(&url, &json!({ "text": { "content": "x" } })), 40035);
        let long = json!({ "msgtype": "text", "text": { "content": "slipway".repeat(3000) } });
        assert_eq!(code(&url, &long), 460101);
        assert_eq!(
            chat.messages_to(ChatPlatform::Dingtalk),
            vec![markdown(), markdown()]
        );
    }

    #[test]
    fn feishu_checks_token_and_body_signature() {
        let chat = FakeChat::start();
        let (url, secret) = (chat.feishu_url(), chat.feishu_secret().unwrap());
        let ts = now_millis() / 1000;
        let signed = |ts: u64, sign: &str| json!({ "timestamp": ts.to_string(), "sign": sign, "msg_type": "text", "content": { "text": "slipway" } });
        let ok = post(&url, &signed(ts, &feishu_sign(&secret, ts)));
        assert_eq!(
            ok,
            (
                200,
                json!({ "code": 0, "msg": "success", "data": {} }).to_string()
            )
        );
        let old = ts - 7200;
        assert_eq!(code(&url, &signed(ts, "AAAA")), 19021);
        assert_eq!(code(&url, &signed(old, &feishu_sign(&secret, old))), 19021);
        let wrong = format!("{}{FEISHU_PREFIX}nope", chat.url());
        assert_eq!(code(&wrong, &signed(ts, "x")), 19001);
        let (status, garbage) = post(&url, &json!("nope"));
        assert_eq!(status, 400, "{garbage}");

        chat.set_feishu_secret(None);
        let rich = json!({ "msg_type": "post", "content": { "post": { "zh_cn": { "title": "t", "content": [[{ "tag": "text", "text": "x" }]] } } } });
        assert_eq!(code(&url, &rich), 0);
        chat.set_feishu_keywords(&["slipway"]);
        assert_eq!(code(&url, &rich), 19024);
        assert_eq!(code(&url, &json!({ "msg_type": "video" })), 19002);
        assert_eq!(chat.messages_to(ChatPlatform::Feishu).len(), 2);
    }

    #[test]
    fn wait_for_messages_sees_later_arrivals() {
        let chat = FakeChat::start();
        let url = chat.slack_url();
        let poster = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            post(&url, &json!({ "text": "late" }));
        });
        let messages = chat.wait_for_messages(1, Duration::from_secs(10));
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].1["text"], "late");
        poster.join().unwrap();
        assert_eq!(
            chat.wait_for_messages(2, Duration::from_millis(50)).len(),
            1
        );
        chat.clear_messages();
        assert!(chat.messages().is_empty());
    }
}
