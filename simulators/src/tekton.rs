//! [`FakeTekton`]: Tekton `PipelineRun`s through the Kubernetes API.
//!
//! - `POST /apis/tekton.dev/v1/namespaces/{ns}/pipelineruns` (Bearer token,
//!   otherwise a 401 `Status`; `Content-Type: application/json`, otherwise
//!   415 — the fake does not read YAML): validates `apiVersion`, `kind`,
//!   `metadata.name`/`generateName` and `spec.pipelineRef`/`pipelineSpec`
//!   like the API server and Tekton's admission webhook; `generateName` gets 5
//!   random characters from Kubernetes' alphabet (`bcdfghjklmnpqrstvwxz2456789`);
//!   201 with the stored object (`metadata.uid`, `resourceVersion`,
//!   `creationTimestamp`, ...), 409 `AlreadyExists` for a taken name.
//! - `GET`/`PATCH` (`application/merge-patch+json`) `.../pipelineruns/{name}`;
//!   `GET .../pipelineruns` lists.
//! - Only `tekton.dev/v1` is served; namespaces must exist (`default` does,
//!   others come from [`FakeTekton::add_namespace`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::server::{FakeHttpServer, Request, Response};
use super::{decode_segment, now_rfc3339, random_chars, uuid_v4};

const GROUP: &str = "tekton.dev";

struct State {
    token: String,
    namespaces: BTreeSet<String>,
    runs: BTreeMap<(String, String), Value>,
    order: Vec<(String, String)>,
    resource_version: u64,
}

/// The Kubernetes/Tekton fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeTekton {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeTekton {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

/// A Kubernetes `Status` object answer.
pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    Response::json(code, &body)
}

fn no_resource() -> Response {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

impl FakeTekton {
    /// Starts the fake accepting `Authorization: Bearer <token>`.
    pub fn start(token: &str) -> FakeTekton {
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            namespaces: ["default".to_owned()].into(),
            runs: BTreeMap::new(),
            order: Vec::new(),
            resource_version: 1000,
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| handle(&mut shared.lock().unwrap(), req));
        FakeTekton { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// Makes namespace `ns` exist.
    pub fn add_namespace(&self, ns: &str) {
        self.state.lock().unwrap().namespaces.insert(ns.into());
    }

    /// Every created `PipelineRun` as currently stored, in creation order.
    pub fn runs(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .order
            .iter()
            .filter_map(|k| state.runs.get(k).cloned())
            .collect()
    }

    /// The `PipelineRun` `name` in `ns`.
    pub fn run(&self, ns: &str, name: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .runs
            .get(&(ns.into(), name.into()))
            .cloned()
    }

    /// Sets the run's `Succeeded` condition: `status` is `"True"`, `"False"`
    /// or `"Unknown"`; `reason` e.g. `Succeeded`, `Failed`, `Running`,
    /// `Cancelled`, `PipelineRunTimeout`.
    pub fn set_condition(&self, ns: &str, name: &str, status: &str, reason: &str, message: &str) {
        assert!(
            ["True", "False", "Unknown"].contains(&status),
            "condition status {status}"
        );
        let now = now_rfc3339();
        let mut state = self.state.lock().unwrap();
        state.resource_version += 1;
        let rv = state.resource_version.to_string();
        let run = state
            .runs
            .get_mut(&(ns.into(), name.into()))
            .expect("no such PipelineRun");
        let st = run
            .as_object_mut()
            .expect("object")
            .entry("status")
            .or_insert(json!({}));
        st["conditions"] = json!([{
            "type": "Succeeded", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now,
        }]);
        if st.get("startTime").is_none() {
            st["startTime"] = json!(now);
        }
        if status != "Unknown" {
            st["completionTime"] = json!(now);
        }
        run["metadata"]["resourceVersion"] = json!(rv);
    }

    /// Replaces the run's whole `status` object.
    pub fn set_status(&self, ns: &str, name: &str, value: Value) {
        let mut state = self.state.lock().unwrap();
        let run = state
            .runs
            .get_mut(&(ns.into(), name.into()))
            .expect("no such PipelineRun");
        run["status"] = value;
    }
}

fn handle(state: &mut State, req: &Request) -> Response {
    let authed = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == state.token);
    if !authed {
        return status(401, "Unauthorized", "Unauthorized", None);
    }
    let seg: Vec<String> = req
        .raw_segments()
        .iter()
        .map(|s| decode_segment(s).unwrap_or_default())
        .collect();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let (ns, name) = match seg.as_slice() {
        ["apis", GROUP, "v1", "namespaces", ns, "pipelineruns"] => (*ns, None),
        ["apis", GROUP, "v1", "namespaces", ns, "pipelineruns", name] => (*ns, Some(*name)),
        _ => return no_resource(),
    };
    let allowed: &[&str] = if name.is_some() {
        &["GET", "PATCH", "DELETE"]
    } else {
        &["GET", "POST"]
    };
    if !allowed.contains(&req.method.as_str()) {
        return status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        );
    }
    if !state.namespaces.contains(ns) {
        return status(
            404,
            "NotFound",
            &format!("namespaces \"{ns}\" not found"),
            Some(json!({ "name": ns, "kind": "namespaces" })),
        );
    }
    match (req.method.as_str(), name) {
        ("POST", None) => create(state, req, ns),
        ("GET", None) => {
            let items: Vec<Value> = state
                .order
                .iter()
                .filter(|(n, _)| n == ns)
                .filter_map(|k| state.runs.get(k).cloned())
                .collect();
            Response::json(
                200,
                &json!({ "apiVersion": "tekton.dev/v1", "kind": "PipelineRunList",
                         "metadata": { "resourceVersion": state.resource_version.to_string() },
                         "items": items }),
            )
        }
        (method, Some(name)) => {
            let key = (ns.to_owned(), name.to_owned());
            if !state.runs.contains_key(&key) {
                return status(
                    404,
                    "NotFound",
                    &format!("pipelineruns.{GROUP} \"{name}\" not found"),
                    Some(json!({ "name": name, "group": GROUP, "kind": "pipelineruns" })),
                );
            }
            match method {
                "GET" => Response::json(200, &state.runs[&key]),
                "DELETE" => {
                    let run = state.runs.remove(&key).expect("present");
                    state.order.retain(|k| *k != key);
                    Response::json(200, &run)
                }
                _ => patch(state, req, key),
            }
        }
        _ => no_resource(),
    }
}

fn bad_request(message: &str) -> Response {
    status(400, "BadRequest", message, None)
}

fn create(state: &mut State, req: &Request, ns: &str) -> Response {
    if !req.content_type_is("application/json") {
        return status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            None,
        );
    }
    let mut obj = match req.json() {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return bad_request(
                "the object provided is unrecognized (must be of type PipelineRun): couldn't get version/kind; json parse error: expected an object",
            );
        }
        Err(e) => {
            return bad_request(&format!(
                "the object provided is unrecognized (must be of type PipelineRun): couldn't get version/kind; json parse error: {e}"
            ));
        }
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if api_version.is_empty() || kind.is_empty() {
        return bad_request(
            "the object provided is unrecognized (must be of type PipelineRun): Object 'Kind' is missing or 'apiVersion' is missing",
        );
    }
    if api_version != "tekton.dev/v1" {
        return bad_request(&format!(
            "the API version in the data ({api_version}) does not match the expected API version (tekton.dev/v1)"
        ));
    }
    if kind != "PipelineRun" {
        return bad_request(&format!(
            "the object provided is unrecognized (must be of type PipelineRun): no kind \"{kind}\" is registered for version \"tekton.dev/v1\""
        ));
    }
    let meta = obj.entry("metadata").or_insert(json!({}));
    if !meta.is_object() {
        return bad_request("metadata must be an object");
    }
    if let Some(meta_ns) = meta.get("namespace").and_then(Value::as_str)
        && meta_ns != ns
    {
        return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
            None,
        );
    }
    let given = meta
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let name = match (given, generate) {
        (Some(n), _) => n,
        (None, Some(prefix)) => {
            format!("{prefix}{}", random_chars(5, "bcdfghjklmnpqrstvwxz2456789"))
        }
        (None, None) => {
            return invalid(
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            );
        }
    };
    let valid_name = name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        return invalid(
            &name,
            "metadata.name",
            "FieldValueInvalid",
            &format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        );
    }
    let spec = obj.get("spec").and_then(Value::as_object);
    let has_ref = spec.is_some_and(|s| s.get("pipelineRef").is_some_and(|r| !r.is_null()));
    let has_spec = spec.is_some_and(|s| s.get("pipelineSpec").is_some_and(|r| !r.is_null()));
    let webhook = "admission webhook \"validation.webhook.pipeline.tekton.dev\" denied the request: validation failed: ";
    match (has_ref, has_spec) {
        (false, false) => {
            return bad_request(&format!(
                "{webhook}expected exactly one, got neither: spec.pipelineRef, spec.pipelineSpec"
            ));
        }
        (true, true) => {
            return bad_request(&format!(
                "{webhook}expected exactly one, got both: spec.pipelineRef, spec.pipelineSpec"
            ));
        }
        _ => {}
    }
    if has_ref {
        let pref = &spec.expect("checked")["pipelineRef"];
        let named = pref
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !named && pref.get("resolver").is_none() {
            return bad_request(&format!("{webhook}missing field(s): spec.pipelineRef.name"));
        }
    }
    let key = (ns.to_owned(), name.clone());
    if state.runs.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("pipelineruns.{GROUP} \"{name}\" already exists"),
            Some(json!({ "name": name, "group": GROUP, "kind": "pipelineruns" })),
        );
    }
    state.resource_version += 1;
    let meta = obj
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("object");
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!(ns));
    meta.insert("uid".into(), json!(uuid_v4()));
    meta.insert(
        "resourceVersion".into(),
        json!(state.resource_version.to_string()),
    );
    meta.insert("generation".into(), json!(1));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    // Tekton's defaulting webhook fills the pipeline timeout.
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        let timeouts = spec.entry("timeouts").or_insert(json!({}));
        if timeouts.get("pipeline").is_none() {
            timeouts["pipeline"] = json!("1h0m0s");
        }
    }
    let stored = Value::Object(obj);
    state.runs.insert(key.clone(), stored.clone());
    state.order.push(key);
    Response::json(201, &stored)
}

fn invalid(name: &str, field: &str, reason: &str, message: &str) -> Response {
    status(
        422,
        "Invalid",
        &format!("PipelineRun.{GROUP} \"{name}\" is invalid: {field}: {message}"),
        Some(json!({ "name": name, "group": GROUP, "kind": "PipelineRun",
                     "causes": [{ "reason": reason, "message": message, "field": field }] })),
    )
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patch(state: &mut State, req: &Request, key: (String, String)) -> Response {
    if !req.content_type_is("application/merge-patch+json") {
        return status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            None,
        );
    }
    let Ok(patch @ Value::Object(_)) = req.json() else {
        return bad_request("error decoding patch: invalid JSON");
    };
    let mut cleaned: Map<String, Value> = patch.as_object().cloned().unwrap_or_default();
    cleaned.remove("status");
    state.resource_version += 1;
    let rv = state.resource_version.to_string();
    let run = state.runs.get_mut(&key).expect("checked");
    merge(run, &Value::Object(cleaned));
    run["metadata"]["resourceVersion"] = json!(rv);
    Response::json(200, run)
}
