//! [`FakeChatReplies`]: where chat platforms take answers that come after
//! a command's response, on one server.
//!
//! - Slack `response_url` (`POST /slack/commands/{team}/{id}/{token}`, one
//!   per [`FakeChatReplies::slack_response_url`]): JSON only (else 400
//!   `invalid_payload`); `text` or `blocks` required (400 `no_text`);
//!   `response_type` must be `ephemeral` or `in_channel` (400
//!   `invalid_payload`); at most 5 posts per URL: the sixth gets 404
//!   `used_url`; an unknown URL 404 `expired_url`. Accepted: `200 ok`.
//! - Mattermost `response_url` (`POST /mattermost/hooks/commands/{id}`):
//!   JSON with `text`, else 400; 5 posts per URL as on Slack.
//! - DingTalk `sessionWebhook` (`POST /dingtalk/robot/sendBySession?session=…`):
//!   an unknown session → `{"errcode":300001}`; a `msgtype` other than
//!   text, markdown or actionCard → 40035; else `{"errcode":0,"errmsg":"ok"}`.
//! - Feishu open API under `/feishu`: `POST /open-apis/auth/v3/tenant_access_token/internal`
//!   with the app's id and secret → a token (wrong → code 10014);
//!   `POST /open-apis/im/v1/messages/{id}/reply` with `Authorization:
//!   Bearer <token>` (wrong → HTTP 400, code 99991663) and a body with
//!   `msg_type` and a `content` string holding JSON (else 230001).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::random_chars;
use super::server::{FakeHttpServer, Request, Response};

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Posts one `response_url` takes.
pub const RESPONSE_URL_POSTS: usize = 5;

#[derive(Default)]
struct State {
    /// URL path → accepted posts.
    accepted: HashMap<String, Vec<Value>>,
    sessions: Vec<String>,
    feishu_app: (String, String),
    feishu_token: String,
}

/// The fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeChatReplies {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeChatReplies {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

fn error(status: u16, text: &str) -> Response {
    Response::bytes(status, "text/plain", text.to_owned())
}

impl FakeChatReplies {
    /// Starts the fake; the Feishu app is `app_id` / `app_secret`.
    pub fn start(app_id: &str, app_secret: &str) -> FakeChatReplies {
        let state = Arc::new(Mutex::new(State {
            feishu_app: (app_id.to_owned(), app_secret.to_owned()),
            feishu_token: format!("t-{}", random_chars(24, ALNUM)),
            ..State::default()
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| handle(&shared, req));
        FakeChatReplies { server, state }
    }

    /// A new Slack `response_url`.
    pub fn slack_response_url(&self) -> String {
        let path = format!(
            "/slack/commands/T1/{}/{}",
            random_chars(12, "0123456789"),
            random_chars(24, ALNUM)
        );
        self.state
            .lock()
            .unwrap()
            .accepted
            .insert(path.clone(), Vec::new());
        format!("{}{path}", self.server.url())
    }

    /// A new Mattermost `response_url`.
    pub fn mattermost_response_url(&self) -> String {
        let path = format!("/mattermost/hooks/commands/{}", random_chars(26, ALNUM));
        self.state
            .lock()
            .unwrap()
            .accepted
            .insert(path.clone(), Vec::new());
        format!("{}{path}", self.server.url())
    }

    /// A new DingTalk `sessionWebhook`.
    pub fn dingtalk_session(&self) -> String {
        let session = random_chars(32, ALNUM);
        let mut state = self.state.lock().unwrap();
        state.sessions.push(session.clone());
        let path = format!("/dingtalk/robot/sendBySession?session={session}");
        state
            .accepted
            .insert(format!("dingtalk:{session}"), Vec::new());
        format!("{}{path}", self.server.url())
    }

    /// The Feishu open API base.
    pub fn feishu_api_base(&self) -> String {
        format!("{}/feishu", self.server.url())
    }

    /// Posts accepted at `url` (a response URL, a session webhook, or a
    /// Feishu message id), oldest first.
    pub fn posts(&self, url: &str) -> Vec<Value> {
        let key = key_of(&self.server.url(), url);
        self.state
            .lock()
            .unwrap()
            .accepted
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `url` has `count` accepted posts; returns them.
    pub fn wait_posts(&self, url: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let posts = self.posts(url);
            if posts.len() >= count || Instant::now() >= deadline {
                return posts;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn key_of(base: &str, url: &str) -> String {
    let path = url.strip_prefix(base).unwrap_or(url);
    match path.split_once("?session=") {
        Some((_, session)) => format!("dingtalk:{session}"),
        None if !path.starts_with('/') => format!("feishu:{path}"),
        None => path.to_owned(),
    }
}

fn handle(state: &Mutex<State>, req: &Request) -> Response {
    if req.method != "POST" {
        return error(405, "method_not_allowed");
    }
    if req.path.starts_with("/slack/") || req.path.starts_with("/mattermost/") {
        return response_url(state, req);
    }
    if req.path == "/dingtalk/robot/sendBySession" {
        return session_webhook(state, req);
    }
    if let Some(rest) = req.path.strip_prefix("/feishu") {
        return feishu(state, req, rest);
    }
    error(404, "not_found")
}

fn response_url(state: &Mutex<State>, req: &Request) -> Response {
    let slack = req.path.starts_with("/slack/");
    let mut state = state.lock().unwrap();
    let Some(posts) = state.accepted.get_mut(&req.path) else {
        return error(404, "expired_url");
    };
    let Ok(body) = req.json() else {
        return error(400, "invalid_payload");
    };
    if body.get("text").is_none() && body.get("blocks").is_none() {
        return error(400, "no_text");
    }
    let kind = body.get("response_type").and_then(Value::as_str);
    if kind.is_some_and(|k| k != "ephemeral" && k != "in_channel") {
        return error(400, "invalid_payload");
    }
    if posts.len() >= RESPONSE_URL_POSTS {
        return error(404, if slack { "used_url" } else { "too many posts" });
    }
    posts.push(body);
    Response::bytes(200, "text/plain", "ok".to_owned())
}

fn session_webhook(state: &Mutex<State>, req: &Request) -> Response {
    let session = req.query_param("session").unwrap_or_default();
    let mut state = state.lock().unwrap();
    if !state.sessions.contains(&session) {
        return Response::json(
            200,
            &json!({ "errcode": 300001, "errmsg": "session invalid" }),
        );
    }
    let Ok(body) = req.json() else {
        return Response::json(200, &json!({ "errcode": 40035, "errmsg": "invalid json" }));
    };
    let kind = body.get("msgtype").and_then(Value::as_str).unwrap_or("");
    if !["text", "markdown", "actionCard"].contains(&kind) || body.get(kind).is_none() {
        return Response::json(
            200,
            &json!({ "errcode": 40035, "errmsg": "missing or bad msgtype" }),
        );
    }
    if let Some(posts) = state.accepted.get_mut(&format!("dingtalk:{session}")) {
        posts.push(body);
    }
    Response::json(200, &json!({ "errcode": 0, "errmsg": "ok" }))
}

fn feishu(state: &Mutex<State>, req: &Request, path: &str) -> Response {
    let mut state = state.lock().unwrap();
    let body = req.json().unwrap_or(Value::Null);
    if path == "/open-apis/auth/v3/tenant_access_token/internal" {
        let (id, secret) = &state.feishu_app;
        if body["app_id"] != *id.as_str() || body["app_secret"] != *secret.as_str() {
            return Response::json(200, &json!({ "code": 10014, "msg": "app secret invalid" }));
        }
        return Response::json(
            200,
            &json!({ "code": 0, "msg": "ok", "tenant_access_token": state.feishu_token, "expire": 7200 }),
        );
    }
    let Some(message_id) = path
        .strip_prefix("/open-apis/im/v1/messages/")
        .and_then(|p| p.strip_suffix("/reply"))
    else {
        return Response::json(404, &json!({ "code": 404, "msg": "not found" }));
    };
    if req.header("authorization") != Some(&format!("Bearer {}", state.feishu_token)) {
        return Response::json(
            400,
            &json!({ "code": 99991663, "msg": "Invalid access token for authorization" }),
        );
    }
    let content_ok = body["content"]
        .as_str()
        .is_some_and(|c| serde_json::from_str::<Value>(c).is_ok());
    if body["msg_type"].as_str().is_none() || !content_ok {
        return Response::json(
            400,
            &json!({ "code": 230001, "msg": "invalid message content" }),
        );
    }
    state
        .accepted
        .entry(format!("feishu:{message_id}"))
        .or_default()
        .push(body);
    Response::json(
        200,
        &json!({ "code": 0, "msg": "success", "data": { "message_id": format!("om_r{}", random_chars(8, ALNUM)) } }),
    )
}
