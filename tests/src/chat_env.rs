//! The real app with chat configured: people with roles, an approval
//! pipeline, a fake Kubernetes, the chat reply fakes, and signed requests
//! as each platform sends them. What the chat end-to-end tests share.

use std::time::{Duration, Instant};

use crate::fakes::FakeKubernetes;
use crate::fakes::chat::FakeChat;
use crate::fakes::chat_replies::FakeChatReplies;
use crate::fakes::webhooks::hmac_sha256_hex;
use crate::fakes::{base64, encode_component, now_millis};
use crate::pipeline_env::Env;
use serde_json::{Value, json};

pub const APP: &str = "shop-github";
pub const NS: &str = "shop";
pub const OLD: &str = "registry.example.com/acme/shop:1.0.0";
pub const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
pub const SLACK_SECRET: &str = "slack-signing-secret";
pub const MM_TOKEN: &str = "mattermost-command-token";
pub const DINGTALK_SECRET: &str = "dingtalk-app-secret";
pub const FEISHU_TOKEN: &str = "feishu-verification-token";
pub const FEISHU_KEY: &str = "feishu-encrypt-key";
pub const COMMANDS: [&str; 15] = [
    "help", "status", "runs", "deploy", "promote", "abort", "rollback", "approve", "reject",
    "lock", "unlock", "retry", "confirm", "whoami", "login",
];

pub const APPROVAL_PIPELINE: &str = r#"
[stages.image]
kind = "build"
service = "jenkins"
job = "shop/image"

[stages.approve]
kind = "approval"
needs = ["image"]

[stages.production]
kind = "deploy"
environment = "production"
needs = ["approve"]
"#;

pub struct World {
    pub env: Env,
    pub k8s: FakeKubernetes,
    pub replies: FakeChatReplies,
    pub chat: FakeChat,
}

/// alice pushes (`github:dev`) and deploys; bob and carol approve; dave
/// only views. Production needs two approvals and confirmed deploys.
pub fn world() -> World {
    let k8s = FakeKubernetes::start("k8s-token");
    k8s.add_namespace(NS);
    k8s.set_rollout_step(Some(Duration::from_millis(20)));
    k8s.add_deployment(NS, APP, &[("app", APP)], APP, OLD, 2);
    let replies = FakeChatReplies::start("cli_app", "feishu-app-secret");
    let chat = FakeChat::start();
    let config = format!(
        r#"
[[apps.shop-github.notify]]
type = "slack"
webhook_secret = "slack_webhook_url"
on = ["approval"]
[environments.staging]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
[environments.production]
platform = "kubernetes"
api_server = "{k8s}"
namespace = "{NS}"
token_secret = "kubernetes_token"
[chat]
feishu_api_base = "{feishu}"
reply_hosts = ["{feishu}", "{replies}", "{chat}"]
[access.people.alice]
chat = ["slack:T1:UALICE"]
git = ["github:dev"]
[access.people.bob]
chat = ["slack:T1:UBOB", "mattermost:team1:ubob", "dingtalk:corp1:staffbob", "feishu:tk1:ou_bob"]
[access.people.carol]
chat = ["slack:T1:UCAROL"]
[access.people.dave]
chat = ["slack:T1:UDAVE"]
[access.groups]
approvers = ["bob", "carol"]
[[access.grants]]
role = "deployer"
to = ["alice"]
[[access.grants]]
role = "approver"
to = ["group:approvers", "alice"]
[[access.grants]]
role = "viewer"
to = ["dave"]
[access.environments.production]
approvals = 2
confirm = true
"#,
        k8s = k8s.url(),
        feishu = replies.feishu_api_base(),
        replies = replies.url(),
        chat = chat.url(),
    );
    let env = Env::start_with(
        &config,
        &[
            "kubernetes_token=k8s-token",
            &format!("slack_signing_secret={SLACK_SECRET}"),
            &format!("mattermost_command_token={MM_TOKEN}"),
            &format!("dingtalk_app_secret={DINGTALK_SECRET}"),
            &format!("feishu_verification_token={FEISHU_TOKEN}"),
            &format!("feishu_encrypt_key={FEISHU_KEY}"),
            "feishu_app_id=cli_app",
            "feishu_app_secret=feishu-app-secret",
            &format!("slack_webhook_url={}", chat.slack_url()),
        ],
    );
    World {
        env,
        k8s,
        replies,
        chat,
    }
}

pub fn post(
    env: &Env,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, Value, Duration) {
    let started = Instant::now();
    let mut request = ureq::post(&env.host.url(path));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let (status, text) = match request.send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{path}: {e}"),
    };
    let took = started.elapsed();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        took,
    )
}

pub fn form(fields: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    pairs.join("&")
}

/// A slash command from `user`, signed at `ts` (seconds).
pub fn slack_at(
    env: &Env,
    user: &str,
    text: &str,
    response_url: &str,
    ts: u64,
) -> (u16, Value, Duration) {
    let body = form(&[
        ("token", "legacy"),
        ("team_id", "T1"),
        ("user_id", user),
        ("command", "/slipway"),
        ("text", text),
        ("response_url", response_url),
    ]);
    let sig = hmac_sha256_hex(
        SLACK_SECRET.as_bytes(),
        format!("v0:{ts}:{body}").as_bytes(),
    );
    let headers = [
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("x-slack-request-timestamp", ts.to_string()),
        ("x-slack-signature", format!("v0={sig}")),
    ];
    post(env, "/chat/slack", &headers, &body)
}

/// A click on a Block Kit button whose value is `command`, by `user`.
pub fn slack_click(w: &World, user: &str, command: &str) -> (Value, String) {
    let url = w.replies.slack_response_url();
    let payload = json!({
        "type": "block_actions",
        "team": { "id": "T1", "domain": "acme" },
        "user": { "id": user },
        "actions": [{ "action_id": "slipway-0", "type": "button", "value": command }],
        "response_url": url,
    });
    let body = form(&[("payload", &payload.to_string())]);
    let ts = now_millis() / 1000;
    let sig = hmac_sha256_hex(
        SLACK_SECRET.as_bytes(),
        format!("v0:{ts}:{body}").as_bytes(),
    );
    let headers = [
        ("x-slack-request-timestamp", ts.to_string()),
        ("x-slack-signature", format!("v0={sig}")),
    ];
    let (status, answer, took) = post(&w.env, "/chat/slack", &headers, &body);
    assert_eq!(status, 200, "{answer}");
    assert!(took < Duration::from_secs(3));
    (answer, url)
}

pub fn slack(w: &World, user: &str, text: &str) -> (Value, String) {
    let url = w.replies.slack_response_url();
    let (status, body, took) = slack_at(&w.env, user, text, &url, now_millis() / 1000);
    assert_eq!(status, 200, "{text}: {body}");
    assert!(took < Duration::from_secs(3), "{text} took {took:?}");
    (body, url)
}

pub fn text_of(answer: &Value) -> String {
    answer["text"].as_str().unwrap_or_default().to_owned()
}

pub fn run_waiting_for_approval(w: &World, sha: &str) -> String {
    w.env.commit("github", sha, APPROVAL_PIPELINE);
    let (status, reply) = w.env.hook("github", &w.env.push("github", "main", sha));
    assert_eq!(status, 202, "{reply}");
    let run = reply["run"].as_str().unwrap().to_owned();
    let record = w.env.run(&run);
    assert_eq!(record["stages"]["image"]["status"], "running", "{record}");
    let result = json!({
        "status": "succeeded",
        "artifacts": { "image": format!("registry.example.com/acme/shop@{DIGEST}") },
    });
    let token = w.env.callback_token(&run, "image", 1);
    let (status, reply) = w.env.callback(
        &run,
        "image",
        &token,
        "application/json",
        result.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    let record = w.env.run(&run);
    assert_eq!(
        record["stages"]["approve"]["status"], "waiting-for-approval",
        "{record}"
    );
    run
}

/// `{"encrypt": base64(iv ‖ AES-256-CBC(SHA-256(key), json))}`, as Feishu
/// sends events when an Encrypt Key is set.
pub fn feishu_sealed(event: &Value) -> String {
    use aes::cipher::block_padding::Pkcs7;
    use aes::cipher::{BlockEncryptMut, KeyIvInit};
    use sha2::Digest;
    let key: [u8; 32] = sha2::Sha256::digest(FEISHU_KEY.as_bytes()).into();
    let iv: [u8; 16] = *b"0123456789abcdef";
    let plain = event.to_string().into_bytes();
    let mut buffer = plain.clone();
    buffer.resize(plain.len() + 16, 0);
    let sealed = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
        .unwrap()
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plain.len())
        .unwrap()
        .to_vec();
    json!({ "encrypt": base64(&[iv.to_vec(), sealed].concat()) }).to_string()
}

/// Feishu's signature headers for `body`.
pub fn feishu_signed(body: &str) -> Vec<(&'static str, String)> {
    use sha2::Digest;
    let ts = (now_millis() / 1000).to_string();
    let nonce = "n0nce".to_owned();
    let digest = sha2::Sha256::digest(format!("{ts}{nonce}{FEISHU_KEY}{body}").as_bytes());
    vec![
        ("x-lark-request-timestamp", ts),
        ("x-lark-request-nonce", nonce),
        ("x-lark-signature", hex::encode(digest)),
    ]
}

/// Ticks until `url` has a post containing `what` and `word`; its text.
pub fn wait_for_post(w: &World, url: &str, what: &str, word: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let posts = w.replies.posts(url);
        if let Some(post) = posts
            .iter()
            .map(text_of)
            .find(|t| t.contains(what) && t.contains(word))
        {
            return post;
        }
        assert!(
            Instant::now() < deadline,
            "no {word:?} post about {what}: {posts:?}\n{:?}",
            w.env.host.stderr()
        );
        w.env.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
}
