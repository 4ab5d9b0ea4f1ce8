//! The simulated world: a key-value store that yields at every call and
//! sometimes fails, a clock the scheduler moves, and in-memory remote
//! services (git provider, Jenkins, chat, Kubernetes) that can be slow,
//! fail or answer twice. Every remote call is logged with the request
//! that made it, so the invariants can tell a repeat caused by a request
//! that died from a real duplicate.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::Value;

use super::rng::Rng;
use crate::deploy::kubernetes::tests::fake::{self, FakeKube};
use crate::ports::{
    Clock, HttpClient, HttpError, HttpRequest, HttpResponse, KeyValue, KvError, Secrets, Swap,
};
use crate::testing::MemKv;

pub const GIT: &str = "https://git.sim";
pub const JENKINS: &str = "https://jenkins.sim";
pub const CHAT: &str = "https://chat.sim/hook";
pub const PIPELINE: &str = r#"
[stages.unit]
kind = "build"
service = "ci"
job = "web/unit"
retries = 2
[stages.image]
kind = "build"
service = "ci"
job = "web/image"
needs = ["unit"]
[stages.deploy]
kind = "deploy"
environment = "prod"
strategy = "rolling"
needs = ["image"]
"#;

/// A future that is pending once: a point where another request may run.
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Lets other requests run.
pub fn yield_now() -> YieldOnce {
    YieldOnce(false)
}

/// Shared dials and logs of the world.
pub struct Dials {
    /// Drives every random choice of the world.
    pub rng: RefCell<Rng>,
    /// The request being polled (the scheduler sets it).
    pub current: Cell<u64>,
    /// Per mille: a store call fails.
    pub kv_failure: Cell<u32>,
    /// Per mille: a remote call fails (503 or no answer).
    pub remote_failure: Cell<u32>,
    /// Per mille: a remote call is slow (seconds).
    pub remote_slow: Cell<u32>,
}

impl Dials {
    /// Whether an event of `per_mille` happens.
    pub fn chance(&self, per_mille: u32) -> bool {
        self.rng.borrow_mut().below(1000) < u64::from(per_mille)
    }
}

/// A store that yields before every call and sometimes fails.
pub struct SimKv<'w> {
    pub mem: &'w MemKv,
    pub dials: &'w Dials,
}

impl SimKv<'_> {
    async fn gate(&self) -> Result<(), KvError> {
        yield_now().await;
        if self.dials.chance(self.dials.kv_failure.get()) {
            return Err(KvError("simulated store failure".into()));
        }
        Ok(())
    }
}

impl KeyValue for SimKv<'_> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.gate().await?;
        self.mem.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.gate().await?;
        self.mem.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.gate().await?;
        self.mem.delete(key).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.gate().await?;
        self.mem.increment(key, delta).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<Swap, KvError> {
        self.gate().await?;
        self.mem.compare_and_swap(key, expected, new).await
    }
}

/// The scheduler's clock.
pub struct SimClock(pub Cell<u64>);

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    async fn sleep(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
        yield_now().await;
    }
}

/// One remote call that had an effect, and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The request that made it.
    pub request: u64,
    /// What it did: `trigger {run}/{stage}/{attempt}`, `notice {record} {title}`, `status …`.
    pub what: String,
    /// Whether its answer was lost after the service acted.
    pub lost: bool,
    /// Whether the caller's claim on the effect had run out (or the
    /// effect was already done) when it called.
    pub stale: bool,
}

/// Jenkins builds as the sim knows them.
#[derive(Default)]
pub struct Builds {
    /// Queue item → (run, stage, attempt).
    pub items: BTreeMap<u64, (String, String, u32)>,
    /// Results the sim decided, by queue item (for polling).
    pub results: BTreeMap<u64, &'static str>,
}

/// The remote services.
pub struct SimHttp<'w> {
    pub dials: &'w Dials,
    pub mem: &'w MemKv,
    pub clock: &'w SimClock,
    pub kube: &'w FakeKube,
    pub calls: &'w RefCell<Vec<Call>>,
    pub builds: &'w RefCell<Builds>,
}

fn respond(status: u16, body: &str, headers: &[(&str, String)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn form_value(body: &[u8], name: &str) -> String {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl SimHttp<'_> {
    fn log(&self, what: String, stale: bool) {
        self.calls.borrow_mut().push(Call {
            request: self.dials.current.get(),
            what,
            lost: false,
            stale,
        });
    }

    /// Whether no live claim covers intent `id` (or ids starting with it)
    /// of the record at `key` now.
    fn unclaimed(&self, key: &str, id: &str) -> bool {
        let now = self.clock.0.get();
        let map = self.mem.map.borrow();
        let Some(record) = map
            .get(key)
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            return true;
        };
        let Some(intents) = record["intents"].as_object() else {
            return true;
        };
        !intents.iter().any(|(k, i)| {
            k.starts_with(id) && i["lease_until_ms"].as_u64().is_some_and(|l| l > now)
        })
    }

    fn jenkins(&self, request: &HttpRequest) -> HttpResponse {
        let url = request.url.as_str();
        if url.ends_with("/buildWithParameters") {
            let run = form_value(&request.body, "SLIPWAY_RUN");
            let stage = form_value(&request.body, "SLIPWAY_STAGE");
            let attempt: u32 = form_value(&request.body, "SLIPWAY_ATTEMPT")
                .parse()
                .unwrap_or(0);
            let key = match run.rsplit_once('-') {
                Some((app, n)) => format!("run/{app}/{n}"),
                None => String::new(),
            };
            let stale = self.unclaimed(&key, &format!("trigger/{stage}/{attempt}"));
            self.log(format!("trigger {run}/{stage}/{attempt}"), stale);
            let mut builds = self.builds.borrow_mut();
            let item = builds.items.len() as u64 + 1;
            builds.items.insert(item, (run, stage, attempt));
            return respond(
                201,
                "",
                &[("location", format!("{JENKINS}/queue/item/{item}/"))],
            );
        }
        let number = |prefix: &str| {
            url.split(prefix)
                .nth(1)?
                .split('/')
                .next()?
                .parse::<u64>()
                .ok()
        };
        if let Some(item) = number("/queue/item/") {
            let body = serde_json::json!({"id": item, "executable": {"number": item,
                "url": format!("{JENKINS}/job/web/job/build/{item}/")}});
            return respond(200, &body.to_string(), &[]);
        }
        if let Some(item) = number("/job/web/job/build/") {
            let body = match self.builds.borrow().results.get(&item) {
                Some(result) => serde_json::json!({"building": false, "result": result}),
                None => serde_json::json!({"building": true, "result": null}),
            };
            return respond(200, &body.to_string(), &[]);
        }
        respond(404, &format!("no such Jenkins path {url}"), &[])
    }

    fn git(&self, request: &HttpRequest) -> HttpResponse {
        if request.url.contains("/contents/.slipway/pipeline.toml") {
            return respond(200, PIPELINE, &[]);
        }
        if request.url.contains("/statuses/") {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            self.log(
                format!("status {} {}", body["context"], body["state"]),
                false,
            );
            return respond(201, "{}", &[]);
        }
        respond(404, r#"{"message":"Not Found"}"#, &[])
    }
}

impl HttpClient for SimHttp<'_> {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        yield_now().await;
        let slow = self.dials.chance(self.dials.remote_slow.get());
        let latency = if slow { 6_000 } else { 20 };
        if latency > timeout_ms {
            self.clock.0.set(self.clock.0.get() + timeout_ms);
            return Err(HttpError::Timeout(timeout_ms));
        }
        self.clock.0.set(self.clock.0.get() + latency);
        let url = request.url.clone();
        let logged = self.calls.borrow().len();
        if url.starts_with(fake::BASE) {
            // The API server is as reliable as the store here: its own
            // fault handling is the adapter tests' business.
            return self.kube.send(request, 5_000).await;
        }
        if self.dials.chance(self.dials.remote_failure.get()) {
            if self.dials.chance(500) {
                return Err(HttpError::Transport("connection reset".into()));
            }
            return Ok(respond(503, "Service Unavailable", &[]));
        }
        let response = if url.starts_with(JENKINS) {
            self.jenkins(&request)
        } else if url.starts_with(GIT) {
            self.git(&request)
        } else if url.starts_with(CHAT) {
            self.notice(&request);
            respond(200, "ok", &[])
        } else {
            respond(404, "unknown host", &[])
        };
        // Sometimes the answer is lost after the service acted.
        if self.dials.chance(self.dials.remote_failure.get() / 2) {
            for call in self.calls.borrow_mut().iter_mut().skip(logged) {
                call.lost = true;
            }
            return Err(HttpError::Transport(
                "connection reset after the request".into(),
            ));
        }
        Ok(response)
    }
}

impl SimHttp<'_> {
    /// Logs a chat notice under the record it is about (the Slack footer
    /// names it: `run web-3` or `run web.prod.2`).
    fn notice(&self, request: &HttpRequest) {
        let text = String::from_utf8_lossy(&request.body);
        let record = text
            .split("· run ")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("?")
            .to_owned();
        let (key, intent) = match record.rsplit_once('-') {
            Some((app, n)) if !record.contains('.') => (format!("run/{app}/{n}"), "notify/"),
            _ => {
                let mut parts = record.splitn(3, '.');
                let (app, env, n) = (parts.next(), parts.next(), parts.next());
                let key = format!(
                    "deployment/{}/{}/{}",
                    app.unwrap_or(""),
                    env.unwrap_or(""),
                    n.unwrap_or("")
                );
                (key, "notify/")
            }
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let stale = self.unclaimed(&key, intent);
        self.log(format!("notice {record} {}", body["text"]), stale);
    }
}

/// Secrets of the simulated app.
pub struct SimSecrets;

impl Secrets for SimSecrets {
    async fn get(&self, name: &str) -> Option<String> {
        if name == "token_sim" {
            let hash = crate::access::tokens::TokenHash::of(super::API_TOKEN);
            return Some(hash.to_config_value());
        }
        let value = match name {
            "github_webhook_secret" => super::HOOK_SECRET,
            "callback_secret" => "sim-callback-secret",
            "K8S_TOKEN" => fake::TOKEN,
            "slack_url" => CHAT,
            _ => "sim-token",
        };
        Some(value.to_owned())
    }
}
