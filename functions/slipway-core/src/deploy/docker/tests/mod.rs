use std::cell::RefCell;

use futures::executor::block_on;
use serde_json::{Value, json};

use super::engine::parse_duration_ns;
use super::*;
use crate::ports::{HttpError, HttpRequest, HttpResponse};

const BASE: &str = "https://swarm.example.com:2376";
const OLD: &str = "registry.example.com/acme/shop:1.0";
const NEW: &str = "registry.example.com/acme/shop:2.0";
const TOKEN: &str = "proxy-token-s3cr3t";
const AUTH: &str = "eyJ1c2VybmFtZSI6ImJvdCIsInBhc3N3b3JkIjoiaHVudGVyMiJ9";
const OUT_OF_SEQUENCE: &str = "rpc error: code = Unknown desc = update out of sequence";

/// An Engine holding one service named `shop` with ID `svc1`.
struct Fake {
    prefix: String,
    version: RefCell<u64>,
    spec: RefCell<Value>,
    previous: RefCell<Option<Value>>,
    status: RefCell<Option<Value>>,
    stale_posts: RefCell<u32>,
    down: RefCell<bool>,
    requests: RefCell<Vec<HttpRequest>>,
}

fn spec(image: &str) -> Value {
    json!({
        "Name": "shop",
        "Labels": {"team": "web"},
        "TaskTemplate": {
            "ContainerSpec": {"Image": image, "Env": ["PORT=8080"]},
            "ForceUpdate": 0
        },
        "Mode": {"Replicated": {"Replicas": 3}},
        "EndpointSpec": {"Ports": [{"TargetPort": 8080, "PublishedPort": 80}]}
    })
}

fn reply(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        body: body.to_string().into_bytes(),
        ..Default::default()
    }
}

impl Fake {
    fn new(prefix: &str) -> Self {
        Fake {
            prefix: prefix.to_owned(),
            version: RefCell::new(10),
            spec: RefCell::new(spec(OLD)),
            previous: RefCell::new(None),
            status: RefCell::new(None),
            stale_posts: RefCell::new(0),
            down: RefCell::new(false),
            requests: RefCell::new(Vec::new()),
        }
    }

    /// The orchestrator records an update state.
    fn set_status(&self, state: &str, message: &str) {
        *self.status.borrow_mut() = Some(json!({"State": state, "Message": message}));
        *self.version.borrow_mut() += 1;
    }

    /// The orchestrator rolls the service back by itself.
    fn auto_rollback(&self, message: &str) {
        let previous = self.previous.borrow_mut().take();
        if let Some(p) = previous {
            let current = self.spec.replace(p);
            *self.previous.borrow_mut() = Some(current);
        }
        self.set_status("rollback_started", message);
    }

    fn image(&self) -> String {
        self.spec.borrow()["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn take_requests(&self) -> Vec<HttpRequest> {
        self.requests.take()
    }

    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let Some(rest) = request.url.strip_prefix(&self.prefix) else {
            return reply(404, json!({"message": "page not found"}));
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["services", s]) if *s == "shop" || *s == "svc1" => {
                let mut body = json!({
                    "ID": "svc1",
                    "Version": {"Index": *self.version.borrow()},
                    "Spec": self.spec.borrow().clone(),
                    "Endpoint": {},
                });
                if let Some(p) = self.previous.borrow().clone() {
                    body["PreviousSpec"] = p;
                }
                if let Some(s) = self.status.borrow().clone() {
                    body["UpdateStatus"] = s;
                }
                reply(200, body)
            }
            ("POST", ["services", "svc1", "update"]) => self.update(request, query),
            (_, ["services", s, ..]) => {
                reply(404, json!({"message": format!("service {s} not found")}))
            }
            _ => reply(404, json!({"message": "page not found"})),
        }
    }

    fn update(&self, request: &HttpRequest, query: &str) -> HttpResponse {
        assert_eq!(
            request.header_value("content-type"),
            Some("application/json")
        );
        let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let version: u64 = param("version").unwrap().parse().unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        if *self.stale_posts.borrow() > 0 {
            *self.stale_posts.borrow_mut() -= 1;
            *self.version.borrow_mut() += 1;
            return reply(500, json!({ "message": OUT_OF_SEQUENCE }));
        }
        if version != *self.version.borrow() {
            return reply(500, json!({ "message": OUT_OF_SEQUENCE }));
        }
        if param("rollback") == Some("previous") {
            let Some(previous) = self.previous.borrow_mut().take() else {
                return reply(
                    400,
                    json!({"message": "service svc1 does not have a previous spec"}),
                );
            };
            let current = self.spec.replace(previous);
            *self.previous.borrow_mut() = Some(current);
            *self.status.borrow_mut() = Some(json!({
                "State": "rollback_started", "Message": "manually requested rollback"
            }));
        } else {
            let current = self.spec.replace(body);
            *self.previous.borrow_mut() = Some(current);
            *self.status.borrow_mut() = None;
        }
        *self.version.borrow_mut() += 1;
        reply(200, json!({"Warnings": null}))
    }
}

impl HttpClient for Fake {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        assert_eq!(timeout_ms, 5_000);
        self.requests.borrow_mut().push(request.clone());
        if *self.down.borrow() {
            return Err(HttpError::Transport("connection refused".into()));
        }
        Ok(self.handle(&request))
    }
}

fn env(api_version: Option<&str>) -> DockerEnv {
    DockerEnv {
        url: format!("{BASE}/"),
        api_version: api_version.map(str::to_owned),
        token_secret: Some("SWARM_TOKEN".into()),
        registry_auth_secret: Some("SWARM_REGISTRY_AUTH".into()),
        parallelism: Some(2),
        delay: Some("10s".into()),
        progress_deadline: None,
    }
}

fn lines(requests: &[HttpRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.trim_start_matches(BASE)))
        .collect()
}

fn started(fake: &Fake, env: &DockerEnv) -> SwarmRollout {
    let (rollout, _) = block_on(start(
        fake,
        env,
        Some(TOKEN),
        Some(AUTH),
        "shop",
        NEW,
        &Strategy::Rolling,
        1_000,
    ))
    .unwrap();
    fake.take_requests();
    rollout
}

fn step_at(fake: &Fake, env: &DockerEnv, rollout: &mut SwarmRollout, now_ms: u64) -> StepOutcome {
    block_on(step(fake, env, Some(TOKEN), rollout, now_ms)).unwrap()
}

mod rollout;
mod settings;
