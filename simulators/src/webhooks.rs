//! Webhook deliveries as each provider sends them: the headers (event name,
//! delivery id, secret or signature) for a given secret and body, so tests
//! can post them to the host. Push payloads are in
//! [`super::webhooks_payloads`].
//!
//! | provider | function | authenticating header |
//! |---|---|---|
//! | GitHub | [`github`] | `x-hub-signature-256: sha256=<hex HMAC-SHA256(body)>` (+ legacy `x-hub-signature: sha1=`) |
//! | GitLab | [`gitlab`], [`gitlab_signed`] | `x-gitlab-token: <secret>`; optional Standard-Webhooks `webhook-signature` |
//! | Gitee | [`gitee_password`], [`gitee_signed`] | `x-gitee-token`: password, or base64 HMAC-SHA256(`"{ts}\n{secret}"`) |
//! | Codeup | [`codeup`] | `x-codeup-token: <secret>` |
//! | Bitbucket | [`bitbucket`] | `x-hub-signature: sha256=<hex HMAC-SHA256(body)>` |
//! | Gitea | [`gitea`] | `x-gitea-signature: <hex HMAC-SHA256(body)>` (+ GitHub/Gogs aliases) |
//!
//! An empty secret means "no secret configured": the providers then send no
//! signature (Gitea sends empty signature headers).

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::{base64, now_millis, uuid_v4};

/// A webhook delivery: headers (lowercase names) and the raw body.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Headers as the provider sends them, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The raw body the signature covers.
    pub body: Vec<u8>,
}

impl Webhook {
    fn new(body: &[u8]) -> Webhook {
        Webhook {
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    fn add(mut self, name: &str, value: impl Into<String>) -> Webhook {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name` to `value`, replacing any existing value.
    pub fn with_header(self, name: &str, value: &str) -> Webhook {
        self.without_header(name)
            .add(&name.to_ascii_lowercase(), value)
    }

    /// Removes header `name`.
    pub fn without_header(mut self, name: &str) -> Webhook {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    /// Replaces the body (the headers, signatures included, stay as they are).
    pub fn with_body(mut self, body: &[u8]) -> Webhook {
        self.body = body.to_vec();
        self
    }

    /// POSTs the delivery to `url` and returns status and body, whatever the status.
    pub fn post(&self, url: &str) -> (u16, String) {
        self.try_post(url)
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Like [`Webhook::post`], with a transport error (refused, reset) as
    /// an error instead of a panic.
    pub fn try_post(&self, url: &str) -> Result<(u16, String), String> {
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(60))
            .build();
        let mut request = agent.post(url);
        for (k, v) in &self.headers {
            request = request.set(k, v);
        }
        match request.send_bytes(&self.body) {
            Ok(r) => Ok((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex HMAC-SHA256.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha256(key, message))
}

/// Lowercase hex HMAC-SHA1 (GitHub's legacy `x-hub-signature`).
pub fn hmac_sha1_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// GitHub: `event` is the `X-GitHub-Event` value (`push`, `pull_request`, `ping`, ...).
pub fn github(secret: &str, event: &str, body: &[u8]) -> Webhook {
    let mut hook = Webhook::new(body)
        .add("user-agent", "GitHub-Hookshot/3f1a2b4")
        .add("x-github-event", event)
        .add("x-github-delivery", uuid_v4())
        .add("x-github-hook-id", "4242")
        .add("x-github-hook-installation-target-type", "repository")
        .add("x-github-hook-installation-target-id", "7777");
    if !secret.is_empty() {
        hook = hook
            .add(
                "x-hub-signature",
                format!("sha1={}", hmac_sha1_hex(secret.as_bytes(), body)),
            )
            .add(
                "x-hub-signature-256",
                format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body)),
            );
    }
    hook
}

/// GitLab: `event` is the `X-Gitlab-Event` value (`Push Hook`, `Tag Push Hook`,
/// `Merge Request Hook`, `Pipeline Hook`, ...); the secret travels in clear in
/// `x-gitlab-token`. `idempotency-key` equals `x-gitlab-event-uuid` here.
pub fn gitlab(secret: &str, event: &str, body: &[u8]) -> Webhook {
    let event_uuid = uuid_v4();
    let mut hook = Webhook::new(body)
        .add("user-agent", "GitLab/17.5.0")
        .add("x-gitlab-event", event)
        .add("x-gitlab-instance", "https://gitlab.example.com")
        .add("x-gitlab-webhook-uuid", uuid_v4())
        .add("x-gitlab-event-uuid", event_uuid.clone())
        .add("idempotency-key", event_uuid);
    if !secret.is_empty() {
        hook = hook.add("x-gitlab-token", secret);
    }
    hook
}

/// The Standard-Webhooks signature GitLab's signing tokens produce:
/// `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` with the key being
/// the base64-decoded part of `signing_token` after `whsec_`.
pub fn standard_webhooks_signature(
    signing_token: &str,
    id: &str,
    timestamp: u64,
    body: &[u8],
) -> String {
    use base64::Engine as _;
    let key_text = signing_token
        .strip_prefix("whsec_")
        .unwrap_or(signing_token);
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_text)
        .expect("signing token is whsec_<base64>");
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", base64(&hmac_sha256(&key, &message)))
}

/// GitLab with a signing token as well: adds `webhook-id` (= idempotency
/// key), `webhook-timestamp` (now, Unix seconds) and `webhook-signature`.
pub fn gitlab_signed(secret: &str, signing_token: &str, event: &str, body: &[u8]) -> Webhook {
    let hook = gitlab(secret, event, body);
    let id = hook
        .header("idempotency-key")
        .unwrap_or_default()
        .to_owned();
    let ts = now_millis() / 1000;
    let signature = standard_webhooks_signature(signing_token, &id, ts, body);
    hook.add("webhook-id", id)
        .add("webhook-timestamp", ts.to_string())
        .add("webhook-signature", signature)
}

/// Gitee's signature: base64 HMAC-SHA256 of `"{timestamp_ms}\n{secret}"` keyed by `secret`.
pub fn gitee_sign(secret: &str, timestamp_ms: u64) -> String {
    base64(&hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    ))
}

fn gitee(token: &str, timestamp: u64, event: &str, body: &[u8]) -> Webhook {
    Webhook::new(body)
        .add("user-agent", "git-oschina-hook")
        .add("x-gitee-event", event)
        .add("x-gitee-token", token)
        .add("x-gitee-timestamp", timestamp.to_string())
}

/// Gitee in password mode: `x-gitee-token` is the password in clear.
/// `event`: `Push Hook`, `Tag Push Hook`, `Merge Request Hook`, ...
pub fn gitee_password(password: &str, event: &str, body: &[u8]) -> Webhook {
    gitee(password, now_millis(), event, body)
}

/// Gitee in signature mode, timestamped now (see [`gitee_sign`]).
pub fn gitee_signed(secret: &str, event: &str, body: &[u8]) -> Webhook {
    gitee_signed_at(secret, now_millis(), event, body)
}

/// Gitee in signature mode with an explicit timestamp (ms), e.g. an expired one.
pub fn gitee_signed_at(secret: &str, timestamp_ms: u64, event: &str, body: &[u8]) -> Webhook {
    gitee(&gitee_sign(secret, timestamp_ms), timestamp_ms, event, body)
}

/// Codeup: the secret in clear in `x-codeup-token`; the event in
/// `codeup-event` as the docs print it (`Push Hook`, `Tag Push Hook`,
/// `Merge Request Hook`, `Note Hook`).
pub fn codeup(secret: &str, event: &str, body: &[u8]) -> Webhook {
    let mut hook = Webhook::new(body).add("codeup-event", event);
    if !secret.is_empty() {
        hook = hook.add("x-codeup-token", secret);
    }
    hook
}

/// Bitbucket Cloud: `event_key` is the `X-Event-Key` value (`repo:push`,
/// `pullrequest:created`, ...).
pub fn bitbucket(secret: &str, event_key: &str, body: &[u8]) -> Webhook {
    let mut hook = Webhook::new(body)
        .add("user-agent", "Bitbucket-Webhooks/2.0")
        .add("x-event-key", event_key)
        .add("x-request-uuid", uuid_v4())
        .add("x-hook-uuid", uuid_v4())
        .add("x-attempt-number", "1");
    if !secret.is_empty() {
        hook = hook.add(
            "x-hub-signature",
            format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body)),
        );
    }
    hook
}

/// Gitea: `event` is the `X-Gitea-Event` value (`push`, `create`,
/// `pull_request`, ...). Sends the Gitea, Gogs and GitHub header sets.
pub fn gitea(secret: &str, event: &str, body: &[u8]) -> Webhook {
    let delivery = uuid_v4();
    let (hex256, hex1) = if secret.is_empty() {
        (String::new(), String::new())
    } else {
        (
            hmac_sha256_hex(secret.as_bytes(), body),
            hmac_sha1_hex(secret.as_bytes(), body),
        )
    };
    let prefixed = |p: &str, h: &str| {
        if h.is_empty() {
            String::new()
        } else {
            format!("{p}{h}")
        }
    };
    Webhook::new(body)
        .add("user-agent", "Go-http-client/1.1")
        .add("x-gitea-delivery", delivery.clone())
        .add("x-gitea-event", event)
        .add("x-gitea-event-type", event)
        .add("x-gitea-signature", hex256.clone())
        .add("x-gogs-delivery", delivery.clone())
        .add("x-gogs-event", event)
        .add("x-gogs-event-type", event)
        .add("x-gogs-signature", hex256.clone())
        .add("x-github-delivery", delivery)
        .add("x-github-event", event)
        .add("x-github-event-type", event)
        .add("x-hub-signature", prefixed("sha1=", &hex1))
        .add("x-hub-signature-256", prefixed("sha256=", &hex256))
}
