//! An in-memory API server: objects by path, resourceVersion and
//! generation bookkeeping, strategic/merge patches, Status errors.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

pub const BASE: &str = "https://k8s.example.com:6443";
pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-token";
pub const OLD: &str = "registry.example.com/acme/web:1.0";
pub const NEW: &str = "registry.example.com/acme/web:2.0";

pub const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/prod/deployments";
pub const SERVICES: &str = "/api/v1/namespaces/prod/services";
pub const ROUTES: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/prod/httproutes";
pub const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/prod/ingresses";

/// One request as seen: method, path, content type, body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Value,
}

#[derive(Default)]
pub struct FakeKube {
    pub objects: RefCell<BTreeMap<String, Value>>,
    /// 409 Conflict answers still to give to writes.
    pub conflicts: RefCell<u32>,
    /// Answer for the next request, whatever it is.
    pub fail_next: RefCell<Option<(u16, String)>>,
    pub requests: RefCell<Vec<Seen>>,
    rv: RefCell<u64>,
}

fn status(code: u16, reason: &str, message: &str) -> HttpResponse {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": reason, "code": code, "message": message});
    reply(code, &body)
}

fn reply(code: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status: code,
        body: body.to_string().into_bytes(),
        ..Default::default()
    }
}

/// RFC 7386 merge patch; with `strategic`, `containers` lists merge by name.
pub fn apply_patch(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else if strategic
            && k == "containers"
            && v.is_array()
            && t.get(k).is_some_and(Value::is_array)
        {
            let list = t.get_mut(k).and_then(Value::as_array_mut).expect("array");
            for item in v.as_array().expect("array") {
                match list.iter_mut().find(|c| c["name"] == item["name"]) {
                    Some(c) => apply_patch(c, item, true),
                    None => list.push(item.clone()),
                }
            }
        } else {
            apply_patch(t.entry(k.clone()).or_insert(Value::Null), v, strategic);
        }
    }
}

impl FakeKube {
    pub fn new() -> Self {
        Self::default()
    }

    fn next_rv(&self) -> String {
        let mut rv = self.rv.borrow_mut();
        *rv += 1;
        rv.to_string()
    }

    pub fn put(&self, path: &str, mut object: Value) {
        object["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.objects.borrow_mut().insert(path.to_owned(), object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.objects.borrow().get(path).cloned()
    }

    pub fn deployment(&self, name: &str) -> Value {
        self.get(&format!("{DEPLOYMENTS}/{name}"))
            .expect("deployment")
    }

    pub fn has_deployment(&self, name: &str) -> bool {
        self.get(&format!("{DEPLOYMENTS}/{name}")).is_some()
    }

    pub fn image(&self, name: &str) -> String {
        self.deployment(name)["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .expect("image")
            .to_owned()
    }

    pub fn replicas(&self, name: &str) -> u64 {
        self.deployment(name)["spec"]["replicas"]
            .as_u64()
            .expect("replicas")
    }

    fn edit_status(&self, name: &str, edit: impl FnOnce(&mut Value, u64, u64)) {
        let path = format!("{DEPLOYMENTS}/{name}");
        let mut objects = self.objects.borrow_mut();
        let d = objects.get_mut(&path).expect("deployment");
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(1);
        let replicas = d["spec"]["replicas"].as_u64().unwrap_or(1);
        edit(&mut d["status"], generation, replicas);
    }

    /// The controller finishes the rollout of `name`.
    pub fn roll_out(&self, name: &str) {
        self.edit_status(name, |s, generation, replicas| {
            *s = json!({"observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
        });
    }

    /// The controller has seen the change and is part-way.
    pub fn half_way(&self, name: &str) {
        self.edit_status(name, |s, generation, replicas| {
            *s = json!({"observedGeneration": generation, "replicas": replicas + 1,
                "updatedReplicas": 1, "availableReplicas": replicas,
                "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]});
        });
    }

    /// `name` exceeds its progress deadline.
    pub fn stall(&self, name: &str) {
        self.edit_status(name, |s, generation, replicas| {
            *s = json!({"observedGeneration": generation, "replicas": replicas + 1,
                "updatedReplicas": 1, "availableReplicas": replicas,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "message": format!("ReplicaSet \"{name}-7d9f\" has timed out progressing.")}]});
        });
    }

    pub fn writes(&self) -> Vec<Seen> {
        self.requests
            .borrow()
            .iter()
            .filter(|r| r.method != "GET")
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.requests.borrow_mut().clear();
    }

    fn handle(&self, request: &HttpRequest, path: &str) -> HttpResponse {
        if request.header_value("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return status(401, "Unauthorized", "Unauthorized");
        }
        if request.header_value("accept") != Some("application/json") {
            return status(406, "NotAcceptable", "only JSON here");
        }
        if let Some((code, body)) = self.fail_next.borrow_mut().take() {
            return HttpResponse {
                status: code,
                body: body.into_bytes(),
                ..Default::default()
            };
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let content_type = request.header_value("content-type").unwrap_or("");
        let method = request.method.as_str();
        if method == "PATCH" && *self.conflicts.borrow() > 0 {
            *self.conflicts.borrow_mut() -= 1;
            return status(
                409,
                "Conflict",
                "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
            );
        }
        let existing = self.get(path);
        match (method, existing) {
            ("GET", Some(o)) => reply(200, &o),
            ("GET" | "PATCH" | "DELETE", None) => {
                status(404, "NotFound", &format!("{path} not found"))
            }
            ("DELETE", Some(_)) => {
                self.objects.borrow_mut().remove(path);
                reply(200, &json!({"kind": "Status", "status": "Success"}))
            }
            ("PATCH", Some(mut o)) => {
                let strategic = match content_type {
                    "application/strategic-merge-patch+json" if path.contains("/httproutes/") => {
                        return status(
                            415,
                            "UnsupportedMediaType",
                            "the body of the request was in an unknown format",
                        );
                    }
                    "application/strategic-merge-patch+json" => true,
                    "application/merge-patch+json" => false,
                    _ => return status(415, "UnsupportedMediaType", "unsupported patch type"),
                };
                if let Some(rv) = body["metadata"]["resourceVersion"].as_str()
                    && o["metadata"]["resourceVersion"] != rv
                {
                    return status(409, "Conflict", "the object has been modified");
                }
                let spec_before = o["spec"].clone();
                apply_patch(&mut o, &body, strategic);
                if o["spec"] != spec_before {
                    let generation = o["metadata"]["generation"].as_u64().unwrap_or(1);
                    o["metadata"]["generation"] = json!(generation + 1);
                }
                self.put(path, o);
                reply(200, &self.get(path).expect("stored"))
            }
            ("POST", _) => {
                if content_type != "application/json" {
                    return status(415, "UnsupportedMediaType", "unsupported");
                }
                let name = body["metadata"]["name"].as_str().unwrap_or("");
                let key = format!("{path}/{name}");
                if self.get(&key).is_some() {
                    return status(409, "AlreadyExists", &format!("{name} already exists"));
                }
                let mut o = body.clone();
                o["metadata"]["generation"] = json!(1);
                o["status"] = json!({});
                self.put(&key, o);
                reply(201, &self.get(&key).expect("stored"))
            }
            _ => status(405, "MethodNotAllowed", "no"),
        }
    }
}

impl HttpClient for FakeKube {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        assert_eq!(timeout_ms, 5_000);
        let path = request
            .url
            .strip_prefix(BASE)
            .expect("API server URL")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        self.requests.borrow_mut().push(Seen {
            method: request.method.clone(),
            path: path.clone(),
            content_type: request.header_value("content-type").map(str::to_owned),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
        });
        Ok(self.handle(&request, &path))
    }
}
