//! [`FakeDocker`]: the Docker Engine API of a Swarm manager, for services.
//!
//! - Every path may carry an API-version prefix `/v1.NN` (1.24 ..= 1.47;
//!   others get Docker's 400 "client version ... is too new/old").
//! - `GET /_ping`, `GET /version` (`ApiVersion` `1.47`).
//! - `GET /services` (`?filters={"name":[..],"id":[..]}`), `GET
//!   /services/{id|name|id-prefix}` → `{ID, Version:{Index}, CreatedAt,
//!   UpdatedAt, Spec, PreviousSpec?, Endpoint, UpdateStatus?}` (the optional
//!   fields are omitted until they exist, as Docker does); unknown → 404
//!   `{"message":"service NAME not found"}`.
//! - `POST /services/{id}/update?version=N` with the complete `ServiceSpec`
//!   (`Content-Type: application/json`): a `version` other than the current
//!   `Version.Index` → 500 `rpc error: code = Unknown desc = update out of
//!   sequence`; renaming → 501; no image → 400. On success `{"Warnings":[]}`,
//!   `PreviousSpec` = old `Spec`, `UpdateStatus.State` `updating`, then
//!   `completed` after [`FakeDocker::set_update_steps`] further `GET`s. After
//!   [`FakeDocker::fail_next_update`], the update fails instead: with
//!   `Spec.UpdateConfig.FailureAction` `rollback` it goes `rollback_started`
//!   (Spec restored from PreviousSpec, which is cleared, as swarmkit does) →
//!   `rollback_completed`; with `pause` (the default) → `paused`; with
//!   `continue` → `completed`. `?rollback=previous` swaps `Spec` and
//!   `PreviousSpec` (500 if there is none) and goes `rollback_started` →
//!   `rollback_completed`. Every change, status transitions included, bumps
//!   `Version.Index` (one cluster-wide counter).
//!   An update that changes neither `TaskTemplate` nor anything else but
//!   the replicas (a scale) replaces no task: `UpdateStatus` stays as it was.
//! - `GET /tasks`, `DELETE /services/{id}`, endpoint-mode checks: see
//!   [`super::docker_tasks`].
//! - Stacks: `POST /services/create`, `GET /networks`, `GET
//!   /networks/{id}`, `POST /networks/create`, `GET /secrets` (see
//!   [`super::docker_stack`]); an update refers to existing networks and
//!   secrets only, as a create does.
//! - Anything else: 404 `{"message":"page not found"}`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::docker_list::list_services;
use super::docker_stack as stack;
use super::docker_tasks::{check_endpoint, delete_service, tasks};
use super::server::{FakeHttpServer, Request, Response};
use super::{decode_segment, now_rfc3339, random_chars};

const API_VERSION: &str = "1.47";
const MIN_API_VERSION: &str = "1.24";
const ENGINE_VERSION: &str = "27.3.1";
pub(super) const ID_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    /// `updating`; `Some(action)`: the update is failing.
    Updating(Option<&'static str>),
    RollingBack,
}

pub(super) struct Service {
    pub id: String,
    pub index: u64,
    pub created_at: String,
    pub updated_at: String,
    pub spec: Value,
    pub previous: Option<Value>,
    pub update_status: Option<Value>,
    pub phase: Option<(Phase, u32)>,
    pub failed_task: String,
}

pub(super) struct State {
    pub services: BTreeMap<String, Service>,
    /// Networks by ID (`GET /networks/{id}` bodies).
    pub networks: BTreeMap<String, Value>,
    /// Secrets by ID (`GET /secrets/{id}` bodies, no data).
    pub secrets: BTreeMap<String, Value>,
    pub fail_next: BTreeSet<String>,
    /// Images whose containers never pass their health check.
    pub unhealthy: BTreeSet<String>,
    pub steps: u32,
    pub index: u64,
}

impl State {
    pub(super) fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    /// Stores a new service with this spec; returns its ID.
    pub fn insert_service(&mut self, spec: Value) -> String {
        let id = random_chars(25, ID_CHARS);
        let now = now_rfc3339();
        let index = self.bump();
        self.services.insert(
            id.clone(),
            Service {
                id: id.clone(),
                index,
                created_at: now.clone(),
                updated_at: now,
                spec,
                previous: None,
                update_status: None,
                phase: None,
                failed_task: random_chars(25, ID_CHARS),
            },
        );
        id
    }

    /// The service's ID: exact ID, then exact name, then unique ID prefix.
    pub fn find(&self, key: &str) -> Option<String> {
        if self.services.contains_key(key) {
            return Some(key.to_owned());
        }
        if let Some(s) = self.services.values().find(|s| s.spec["Name"] == key) {
            return Some(s.id.clone());
        }
        let matches: Vec<&String> = self
            .services
            .keys()
            .filter(|id| !key.is_empty() && id.starts_with(key))
            .collect();
        (matches.len() == 1).then(|| matches[0].clone())
    }
}

/// The Docker Engine fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeDocker {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeDocker {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

pub(super) fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

fn update_config() -> Value {
    json!({ "Parallelism": 1, "FailureAction": "pause", "Monitor": 5_000_000_000u64,
            "MaxFailureRatio": 0, "Order": "stop-first" })
}

impl FakeDocker {
    /// Starts the fake (no services; updates take 2 `GET`s to finish).
    pub fn start() -> FakeDocker {
        let state = Arc::new(Mutex::new(State {
            services: BTreeMap::new(),
            networks: BTreeMap::new(),
            secrets: BTreeMap::new(),
            fail_next: BTreeSet::new(),
            unhealthy: BTreeSet::new(),
            steps: 2,
            index: 100,
        }));
        let shared = state.clone();
        let headers = vec![
            ("api-version".to_owned(), API_VERSION.to_owned()),
            ("docker-experimental".to_owned(), "false".to_owned()),
            ("ostype".to_owned(), "linux".to_owned()),
            (
                "server".to_owned(),
                format!("Docker/{ENGINE_VERSION} (linux)"),
            ),
        ];
        let server = FakeHttpServer::start_with_headers(
            move |req| handle(&mut shared.lock().unwrap(), req),
            headers,
        );
        FakeDocker { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// A replicated service `name` running `image` with `replicas` tasks
    /// and Docker CLI default update/rollback configs (`FailureAction`
    /// `pause`); returns its ID.
    pub fn add_service(&self, name: &str, image: &str, replicas: u64) -> String {
        self.add_service_spec(json!({
            "Name": name,
            "Labels": {},
            "TaskTemplate": {
                "ContainerSpec": { "Image": image, "Init": false, "StopGracePeriod": 10_000_000_000u64,
                                   "DNSConfig": {}, "Isolation": "default" },
                "Resources": { "Limits": {}, "Reservations": {} },
                "RestartPolicy": { "Condition": "any", "Delay": 5_000_000_000u64, "MaxAttempts": 0 },
                "Placement": {},
                "ForceUpdate": 0,
                "Runtime": "container",
            },
            "Mode": { "Replicated": { "Replicas": replicas } },
            "UpdateConfig": update_config(),
            "RollbackConfig": update_config(),
            "EndpointSpec": { "Mode": "vip" },
        }))
    }

    /// A service with this complete `ServiceSpec` (`Name` required);
    /// returns its ID.
    pub fn add_service_spec(&self, spec: Value) -> String {
        let name = spec["Name"].as_str().expect("spec Name").to_owned();
        let mut state = self.state.lock().unwrap();
        assert!(state.find(&name).is_none(), "service {name} exists");
        state.insert_service(spec)
    }

    /// A swarm secret `name` (its data is never shown); returns its ID.
    pub fn add_secret(&self, name: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let id = random_chars(25, ID_CHARS);
        let index = state.bump();
        let now = now_rfc3339();
        state.secrets.insert(
            id.clone(),
            json!({ "ID": id, "Version": { "Index": index }, "CreatedAt": now, "UpdatedAt": now,
                    "Spec": { "Name": name, "Labels": {} } }),
        );
        id
    }

    /// The network with this name or ID, as `GET /networks/{name}` shows it.
    pub fn network(&self, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let id = super::docker_stack::find_network(&state, name)?;
        Some(state.networks[&id].clone())
    }

    /// The service as `GET /services/{name}` shows it (without advancing
    /// an update).
    pub fn service(&self, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let id = state.find(name)?;
        Some(render(&state.services[&id]))
    }

    /// `Spec.TaskTemplate.ContainerSpec.Image` of the service.
    pub fn image(&self, name: &str) -> Option<String> {
        let s = self.service(name)?;
        s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .map(str::to_owned)
    }

    /// `UpdateStatus.State` of the service, if it has one.
    pub fn update_state(&self, name: &str) -> Option<String> {
        let s = self.service(name)?;
        s["UpdateStatus"]["State"].as_str().map(str::to_owned)
    }

    /// The next update of service `name` fails (see the module docs).
    pub fn fail_next_update(&self, name: &str) {
        self.state.lock().unwrap().fail_next.insert(name.into());
    }

    /// Tasks of `image` never pass their health check (they stay
    /// `starting`, and their predecessors fail as the Engine shows it).
    pub fn set_unhealthy_image(&self, image: &str) {
        self.state.lock().unwrap().unhealthy.insert(image.into());
    }

    /// How many `GET`s each update/rollback phase lasts (at least 1).
    pub fn set_update_steps(&self, steps: u32) {
        self.state.lock().unwrap().steps = steps.max(1);
    }
}

pub(super) fn render(s: &Service) -> Value {
    let mut out = json!({
        "ID": s.id,
        "Version": { "Index": s.index },
        "CreatedAt": s.created_at,
        "UpdatedAt": s.updated_at,
        "Spec": s.spec,
        "Endpoint": { "Spec": { "Mode": s.spec["EndpointSpec"]["Mode"].as_str().unwrap_or("vip") } },
    });
    // Only a service behind a virtual IP has one; dnsrr resolves to tasks.
    if out["Endpoint"]["Spec"]["Mode"] == "vip" {
        out["Endpoint"]["VirtualIPs"] =
            json!([{ "NetworkID": "ingressnetworkid00000000000", "Addr": "10.0.0.5/24" }]);
    }
    if let Some(p) = &s.previous {
        out["PreviousSpec"] = p.clone();
    }
    if let Some(u) = &s.update_status {
        out["UpdateStatus"] = u.clone();
    }
    out
}

fn set_status(state: &mut State, id: &str, st: &str, message: &str, done: bool) {
    let index = state.bump();
    let s = state.services.get_mut(id).expect("service");
    let now = now_rfc3339();
    let started = s
        .update_status
        .as_ref()
        .and_then(|u| u.get("StartedAt").cloned())
        .unwrap_or(json!(now));
    let mut u = json!({ "State": st, "StartedAt": started, "Message": message });
    if done {
        u["CompletedAt"] = json!(now);
    }
    s.update_status = Some(u);
    s.index = index;
    s.updated_at = now;
}

/// One `GET`'s worth of progress of service `id`'s update.
fn advance(state: &mut State, id: &str) {
    let steps = state.steps;
    let s = state.services.get_mut(id).expect("service");
    let Some((phase, remaining)) = s.phase else {
        return;
    };
    if remaining > 1 {
        s.phase = Some((phase, remaining - 1));
        return;
    }
    s.phase = None;
    let task = s.failed_task.clone();
    match phase {
        Phase::Updating(None) | Phase::Updating(Some("continue")) => {
            set_status(state, id, "completed", "update completed", true);
        }
        Phase::Updating(Some("rollback")) => {
            let s = state.services.get_mut(id).expect("service");
            if let Some(previous) = s.previous.take() {
                s.spec = previous;
            }
            s.phase = Some((Phase::RollingBack, steps));
            let text =
                format!("update rolled back due to failure or early termination of task {task}");
            set_status(state, id, "rollback_started", &text, false);
        }
        Phase::Updating(Some(_)) => {
            let text = format!("update paused due to failure or early termination of task {task}");
            set_status(state, id, "paused", &text, false);
        }
        Phase::RollingBack => {
            set_status(state, id, "rollback_completed", "rollback completed", true);
        }
    }
}

fn handle(state: &mut State, req: &Request) -> Response {
    let segs: Vec<String> = req
        .raw_segments()
        .iter()
        .map(|s| decode_segment(s).unwrap_or_default())
        .collect();
    let mut segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let Some(v) = segs.first().and_then(|s| s.strip_prefix('v'))
        && let Some((major, minor)) = v.split_once('.')
        && major == "1"
        && let Ok(minor) = minor.parse::<u32>()
    {
        if minor > 47 {
            return message(
                400,
                &format!(
                    "client version 1.{minor} is too new. Maximum supported API version is {API_VERSION}"
                ),
            );
        }
        if minor < 24 {
            return message(
                400,
                &format!(
                    "client version 1.{minor} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ),
            );
        }
        segs.remove(0);
    }
    match (req.method.as_str(), segs.as_slice()) {
        ("GET" | "HEAD", ["_ping"]) => Response::bytes(200, "text/plain; charset=utf-8", "OK"),
        ("GET", ["version"]) => Response::json(
            200,
            &json!({
                "Platform": { "Name": "Docker Engine - Community" },
                "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                "GitCommit": "41ca978", "GoVersion": "go1.22.7", "Os": "linux", "Arch": "amd64",
                "KernelVersion": "6.8.0", "BuildTime": "2024-09-20T11:41:11.000000000+00:00",
            }),
        ),
        ("GET", ["services"]) => list_services(state, req),
        ("GET", ["services", key]) => match state.find(key) {
            Some(id) => {
                advance(state, &id);
                Response::json(200, &render(&state.services[&id]))
            }
            None => message(404, &format!("service {key} not found")),
        },
        ("POST", ["services", "create"]) => stack::create_service(state, req),
        ("POST", ["services", key, "update"]) => update(state, req, key),
        ("DELETE", ["services", key]) => delete_service(state, key),
        ("GET", ["networks"]) => stack::list_networks(state, req),
        ("POST", ["networks", "create"]) => stack::create_network(state, req),
        ("GET", ["networks", key]) => stack::inspect_network(state, key),
        ("GET", ["secrets"]) => stack::list_secrets(state, req),
        ("GET", ["tasks"]) => tasks(state, req),
        _ => message(404, "page not found"),
    }
}

/// Whether `new` differs from `old` in nothing but the replicas.
fn scale_only(old: &Value, new: &Value) -> bool {
    let mut a = old.clone();
    let mut b = new.clone();
    a["Mode"] = Value::Null;
    b["Mode"] = Value::Null;
    a == b && old != new
}

fn update(state: &mut State, req: &Request, key: &str) -> Response {
    let Some(id) = state.find(key) else {
        return message(404, &format!("service {key} not found"));
    };
    if !req.body.is_empty() && !req.content_type_is("application/json") {
        let ct = req.header("content-type").unwrap_or_default();
        return message(
            400,
            &format!("unsupported Content-Type header ({ct}): must be 'application/json'"),
        );
    }
    let raw = req.query_param("version").unwrap_or_default();
    let Ok(version) = raw.parse::<u64>() else {
        return message(
            400,
            &format!(
                "invalid service version '{raw}': strconv.ParseUint: parsing \"{raw}\": invalid syntax"
            ),
        );
    };
    let rollback = req.query_param("rollback").unwrap_or_default();
    if !rollback.is_empty() && rollback != "previous" {
        return message(400, &format!("unsupported value for rollback: {rollback}"));
    }
    let current = state.services[&id].index;
    if rollback == "previous" {
        if state.services[&id].previous.is_none() {
            return message(500, "service does not have a previous spec");
        }
        if version != current {
            return message(
                500,
                "rpc error: code = Unknown desc = update out of sequence",
            );
        }
        let steps = state.steps;
        let s = state.services.get_mut(&id).expect("service");
        let previous = s.previous.take().expect("checked");
        s.previous = Some(std::mem::replace(&mut s.spec, previous));
        s.phase = Some((Phase::RollingBack, steps));
        s.update_status = None;
        set_status(
            state,
            &id,
            "rollback_started",
            "manually requested rollback",
            false,
        );
        return Response::json(200, &json!({ "Warnings": [] }));
    }
    let spec = match req.json() {
        Ok(spec @ Value::Object(_)) => spec,
        Ok(_) => {
            return message(
                400,
                "json: cannot unmarshal into Go value of type swarm.ServiceSpec",
            );
        }
        Err(e) => return message(400, &e.to_string()),
    };
    if version != current {
        return message(
            500,
            "rpc error: code = Unknown desc = update out of sequence",
        );
    }
    let name = state.services[&id].spec["Name"].clone();
    if spec["Name"] != name {
        return message(
            501,
            "rpc error: code = Unimplemented desc = renaming services is not supported",
        );
    }
    if spec["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return message(
            400,
            "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided",
        );
    }
    if let Some(refused) = stack::check_references(state, &spec).or_else(|| check_endpoint(&spec)) {
        return refused;
    }
    if scale_only(&state.services[&id].spec, &spec) {
        let index = state.bump();
        let s = state.services.get_mut(&id).expect("service");
        s.previous = Some(std::mem::replace(&mut s.spec, spec));
        s.index = index;
        s.updated_at = now_rfc3339();
        return Response::json(200, &json!({ "Warnings": [] }));
    }
    let fail =
        state.fail_next.remove(name.as_str().unwrap_or_default()) || state.fail_next.remove(&id);
    let action = match spec["UpdateConfig"]["FailureAction"].as_str() {
        Some("rollback") => "rollback",
        Some("continue") => "continue",
        _ => "pause",
    };
    let steps = state.steps;
    let s = state.services.get_mut(&id).expect("service");
    s.previous = Some(std::mem::replace(&mut s.spec, spec));
    s.phase = Some((Phase::Updating(fail.then_some(action)), steps));
    s.failed_task = random_chars(25, ID_CHARS);
    s.update_status = None;
    set_status(state, &id, "updating", "update in progress", false);
    Response::json(200, &json!({ "Warnings": [] }))
}
