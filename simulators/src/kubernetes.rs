//! [`FakeKubernetes`]: a Kubernetes API server for the objects a deploy bot
//! touches — `apps/v1` Deployments (with a simulated rollout and read-only
//! ReplicaSets), core `v1` Services, Gateway API `HTTPRoute`s and
//! `networking.k8s.io/v1` Ingresses.
//!
//! - Every request needs `Authorization: Bearer <token>`, otherwise a 401
//!   `Status` (`reason: Unauthorized`). Errors are `Status` objects with the
//!   API server's reasons and messages (`NotFound`, `AlreadyExists`,
//!   `Conflict`, `Invalid`, `BadRequest`, `UnsupportedMediaType`,
//!   `MethodNotAllowed`).
//! - Collection paths (`.../namespaces/{ns}/{plural}`): `GET` lists
//!   (`?labelSelector=k=v,...`), `POST` creates (201; validates `apiVersion`,
//!   `kind`, `metadata.name`, for Deployments the selector/template/containers).
//!   Object paths: `GET`, `PUT` (a stale `metadata.resourceVersion` → 409
//!   `Conflict`; `HTTPRoute` needs one at all, like every CRD), `DELETE` (200
//!   `Status` `Success`), `PATCH` with `application/merge-patch+json`,
//!   `application/json-patch+json` (a failed op, `test` included → 422
//!   `Invalid`), `application/strategic-merge-patch+json` (built-in kinds;
//!   `HTTPRoute` → 415) and `application/apply-patch+yaml` (JSON body,
//!   `?fieldManager=` required; applied as a merge without conflict
//!   detection). A patch whose result carries a `metadata.resourceVersion`
//!   other than the current one → 409. `status` cannot be written except
//!   through the fake's own simulation; `.../{name}/status` can be read.
//! - Every write bumps `metadata.resourceVersion` (one cluster-wide counter);
//!   a `spec` change bumps `metadata.generation`. Status updates of the
//!   rollout simulation bump `resourceVersion` too, as the controller's do.
//! - Rollouts: a change of a Deployment's `spec` starts one; each step (one
//!   per `GET` of that Deployment and one per elapsed
//!   [`FakeKubernetes::set_rollout_step`], default 100 ms) first catches up
//!   `status.observedGeneration`, then creates/readies new pods and retires
//!   old ones one at a time; when done, `Progressing` is `True`
//!   `NewReplicaSetAvailable`. [`FakeKubernetes::stall`] keeps a rollout from
//!   ever finishing; after the deadline (`spec.progressDeadlineSeconds` or
//!   [`FakeKubernetes::set_progress_deadline`]) or on
//!   [`FakeKubernetes::exceed_deadline`], `Progressing` turns `False`
//!   `ProgressDeadlineExceeded` (no automatic rollback, as in Kubernetes).
//!   Each distinct pod template is a ReplicaSet `{name}-{hash}` with the
//!   `deployment.kubernetes.io/revision` annotation, so `kubectl rollout
//!   undo`-style clients can find previous templates
//!   (`GET /apis/apps/v1/namespaces/{ns}/replicasets`). A Deployment with
//!   `spec.paused` is observed but not rolled out, and runs no deadline
//!   (`Progressing` `Unknown` `DeploymentPaused`).
//! - A Gateway API controller writes each HTTPRoute's `status.parents[]`
//!   (`Accepted`, and `ResolvedRefs` `False` `BackendNotFound` while a
//!   backend Service is missing) at its current generation after every
//!   write of a route or a Service.
//! - Watches are not served.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::kubernetes_api::handle;
use super::kubernetes_objects::create_object;
use super::kubernetes_rollout::{Revision, Rollout, exceed, tick_all};
use super::server::{FakeHttpServer, Response};

/// The kinds the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Deployment,
    Service,
    HttpRoute,
    Ingress,
}

impl Kind {
    /// `Deployment`, `deployments`, `deploy`, `svc`, `HTTPRoute`, `ing`, ...
    /// (case-insensitive).
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Kind::Deployment,
            "service" | "services" | "svc" => Kind::Service,
            "httproute" | "httproutes" => Kind::HttpRoute,
            "ingress" | "ingresses" | "ing" => Kind::Ingress,
            _ => return None,
        })
    }

    pub(super) fn from_path(group: &str, version: &str, plural: &str) -> Option<Kind> {
        [
            Kind::Deployment,
            Kind::Service,
            Kind::HttpRoute,
            Kind::Ingress,
        ]
        .into_iter()
        .find(|k| k.group() == group && k.plural() == plural && version == "v1")
    }

    /// The `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::Service => "Service",
            Kind::HttpRoute => "HTTPRoute",
            Kind::Ingress => "Ingress",
        }
    }

    pub(super) fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::Service => "services",
            Kind::HttpRoute => "httproutes",
            Kind::Ingress => "ingresses",
        }
    }

    pub(super) fn group(self) -> &'static str {
        match self {
            Kind::Deployment => "apps",
            Kind::Service => "",
            Kind::HttpRoute => "gateway.networking.k8s.io",
            Kind::Ingress => "networking.k8s.io",
        }
    }

    /// The `apiVersion` field.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::Service => "v1",
            Kind::HttpRoute => "gateway.networking.k8s.io/v1",
            Kind::Ingress => "networking.k8s.io/v1",
        }
    }

    /// `deployments.apps`, `services`, ... as in error messages.
    pub(super) fn resource(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            g => format!("{}.{g}", self.plural()),
        }
    }

    /// Built into the API server (strategic merge patch, unconditional PUT).
    pub(super) fn builtin(self) -> bool {
        self != Kind::HttpRoute
    }
}

pub(super) type Key = (Kind, String, String);

pub(super) struct State {
    pub token: String,
    pub namespaces: BTreeSet<String>,
    pub objects: BTreeMap<Key, Value>,
    pub resource_version: u64,
    pub conflicts: BTreeMap<Key, usize>,
    pub rollouts: BTreeMap<(String, String), Rollout>,
    pub stall_next: BTreeMap<(String, String), Option<Duration>>,
    pub history: BTreeMap<(String, String), Vec<Revision>>,
    pub step: Option<Duration>,
    pub advance_on_get: bool,
    pub deadline: Option<Duration>,
    pub next_ip: u32,
}

impl State {
    pub fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }
}

/// The Kubernetes API fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeKubernetes {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeKubernetes {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

/// A Kubernetes `Status` failure answer.
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

fn kind_of(kind: &str) -> Kind {
    Kind::parse(kind).unwrap_or_else(|| panic!("FakeKubernetes does not serve kind {kind:?}"))
}

fn pairs(items: &[(&str, &str)]) -> Value {
    Value::Object(items.iter().map(|(k, v)| ((*k).into(), json!(v))).collect())
}

impl FakeKubernetes {
    /// Starts the fake accepting `Authorization: Bearer <token>`; namespace
    /// `default` exists.
    pub fn start(token: &str) -> FakeKubernetes {
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            namespaces: ["default".to_owned()].into(),
            objects: BTreeMap::new(),
            resource_version: 1000,
            conflicts: BTreeMap::new(),
            rollouts: BTreeMap::new(),
            stall_next: BTreeMap::new(),
            history: BTreeMap::new(),
            step: Some(Duration::from_millis(100)),
            advance_on_get: true,
            deadline: None,
            next_ip: 10,
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| handle(&mut shared.lock().unwrap(), req));
        FakeKubernetes { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// Makes namespace `ns` exist.
    pub fn add_namespace(&self, ns: &str) {
        self.state.lock().unwrap().namespaces.insert(ns.into());
    }

    /// Creates any served object (`apiVersion`/`kind`/`metadata.name` set)
    /// in `ns` as a `POST` would, and returns it as stored. Panics if the
    /// API would refuse it. A Deployment created this way is already rolled out.
    pub fn add_object(&self, ns: &str, object: Value) -> Value {
        let mut state = self.state.lock().unwrap();
        state.namespaces.insert(ns.into());
        let kind = object["kind"]
            .as_str()
            .and_then(Kind::parse)
            .expect("object kind");
        create_object(&mut state, kind, ns, object, true)
            .unwrap_or_else(|r| panic!("add_object refused: {}", String::from_utf8_lossy(&r.body)))
    }

    /// Creates a ready Deployment `name` in `ns`: pods labelled
    /// `labels` (also the selector), one container `container` running
    /// `image`, `replicas` replicas all available.
    pub fn add_deployment(
        &self,
        ns: &str,
        name: &str,
        labels: &[(&str, &str)],
        container: &str,
        image: &str,
        replicas: u32,
    ) -> Value {
        let labels = pairs(labels);
        self.add_object(
            ns,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": { "name": name, "labels": labels },
                "spec": {
                    "replicas": replicas,
                    "selector": { "matchLabels": labels },
                    "template": {
                        "metadata": { "labels": labels },
                        "spec": { "containers": [{
                            "name": container, "image": image,
                            "ports": [{ "containerPort": 8080, "protocol": "TCP" }],
                        }] },
                    },
                },
            }),
        )
    }

    /// A `ClusterIP` Service `name` (port 80 → 8080) selecting `selector`.
    pub fn add_service(&self, ns: &str, name: &str, selector: &[(&str, &str)]) -> Value {
        self.add_object(
            ns,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": { "name": name },
                "spec": {
                    "selector": pairs(selector),
                    "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }],
                },
            }),
        )
    }

    /// An `HTTPRoute` `name` on gateway `gateway` with one rule (`PathPrefix
    /// /`) splitting traffic over `backends` (Service name, weight; port 80),
    /// with `Accepted`/`ResolvedRefs` parent status.
    pub fn add_http_route(&self, ns: &str, name: &str, backends: &[(&str, u32)]) -> Value {
        let refs: Vec<Value> = backends
            .iter()
            .map(|(b, w)| json!({ "group": "", "kind": "Service", "name": b, "port": 80, "weight": w }))
            .collect();
        self.add_object(
            ns,
            json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": { "name": name },
                "spec": {
                    "parentRefs": [{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gateway" }],
                    "rules": [{
                        "matches": [{ "path": { "type": "PathPrefix", "value": "/" } }],
                        "backendRefs": refs,
                    }],
                },
            }),
        );
        let now = super::now_rfc3339();
        let mut state = self.state.lock().unwrap();
        let obj = state
            .objects
            .get_mut(&(Kind::HttpRoute, ns.into(), name.into()))
            .expect("just created");
        obj["status"] = json!({ "parents": [{
            "parentRef": { "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gateway" },
            "controllerName": "example.net/gateway-controller",
            "conditions": [
                { "type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "observedGeneration": 1, "lastTransitionTime": now },
                { "type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "", "observedGeneration": 1, "lastTransitionTime": now },
            ],
        }] });
        obj.clone()
    }

    /// An Ingress `name` with `annotations`, routing `/` to Service
    /// `backend` port 80 (host `app.example.com`, class `nginx`).
    pub fn add_ingress(
        &self,
        ns: &str,
        name: &str,
        annotations: &[(&str, &str)],
        backend: &str,
    ) -> Value {
        self.add_object(
            ns,
            json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": { "name": name, "annotations": pairs(annotations) },
                "spec": {
                    "ingressClassName": "nginx",
                    "rules": [{ "host": "app.example.com", "http": { "paths": [{
                        "path": "/", "pathType": "Prefix",
                        "backend": { "service": { "name": backend, "port": { "number": 80 } } },
                    }] } }],
                },
            }),
        )
    }

    /// Any stored object (after applying due rollout steps).
    pub fn object(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        tick_all(&mut state);
        state
            .objects
            .get(&(kind_of(kind), ns.into(), name.into()))
            .cloned()
    }

    /// Whether the object exists.
    pub fn exists(&self, kind: &str, ns: &str, name: &str) -> bool {
        self.object(kind, ns, name).is_some()
    }

    /// The Deployment as stored.
    pub fn deployment(&self, ns: &str, name: &str) -> Option<Value> {
        self.object("Deployment", ns, name)
    }

    /// The image of the Deployment's first container.
    pub fn image(&self, ns: &str, name: &str) -> Option<String> {
        let d = self.deployment(ns, name)?;
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .map(str::to_owned)
    }

    /// The Service's `spec.selector`.
    pub fn service_selector(&self, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
        let s = self.object("Service", ns, name)?;
        Some(
            s["spec"]["selector"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// `(backend name, weight)` of every `backendRef` of every rule of the
    /// HTTPRoute, in order (a missing weight is 1, its default); empty if
    /// the route does not exist.
    pub fn route_weights(&self, ns: &str, name: &str) -> Vec<(String, u32)> {
        let Some(route) = self.object("HTTPRoute", ns, name) else {
            return Vec::new();
        };
        let rules = route["spec"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rules
            .iter()
            .flat_map(|r| r["backendRefs"].as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["name"].as_str().unwrap_or_default().to_owned(),
                    b.get("weight").and_then(Value::as_u64).unwrap_or(1) as u32,
                )
            })
            .collect()
    }

    /// One annotation of the Ingress.
    pub fn ingress_annotation(&self, ns: &str, name: &str, key: &str) -> Option<String> {
        let ing = self.object("Ingress", ns, name)?;
        ing["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_owned)
    }

    /// Whether the Deployment's rollout is complete by `kubectl rollout
    /// status` rules.
    pub fn rollout_complete(&self, ns: &str, name: &str) -> bool {
        let Some(d) = self.deployment(ns, name) else {
            return false;
        };
        let st = &d["status"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let desired = d["spec"]["replicas"].as_u64().unwrap_or(1);
        n(&d["metadata"]["generation"]) <= n(&st["observedGeneration"])
            && n(&st["updatedReplicas"]) >= desired
            && n(&st["replicas"]) <= n(&st["updatedReplicas"])
            && n(&st["availableReplicas"]) >= n(&st["updatedReplicas"])
    }

    /// The Deployment's current rollout (or, if none is running, its next
    /// one) never finishes: one new pod is created and never becomes ready.
    pub fn stall(&self, ns: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        let key = (ns.to_owned(), name.to_owned());
        match state.rollouts.get_mut(&key) {
            Some(r) if !r.done => r.stalled = true,
            _ => {
                state.stall_next.entry(key).or_insert(None);
            }
        }
    }

    /// `kubectl rollout pause deployment/{name}`: sets `spec.paused` (a
    /// spec change: generation and resourceVersion move on).
    pub fn pause(&self, ns: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        let rv = state.next_rv();
        let key = (Kind::Deployment, ns.to_owned(), name.to_owned());
        let d = state.objects.get_mut(&key).expect("deployment");
        d["spec"]["paused"] = json!(true);
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
        d["metadata"]["generation"] = json!(generation);
        d["metadata"]["resourceVersion"] = json!(rv);
    }

    /// Lets a stalled rollout continue (and cancels a pending stall).
    pub fn unstall(&self, ns: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        let key = (ns.to_owned(), name.to_owned());
        state.stall_next.remove(&key);
        if let Some(r) = state.rollouts.get_mut(&key) {
            r.stalled = false;
        }
    }

    /// Sets `Progressing` `False` `ProgressDeadlineExceeded` on the
    /// Deployment's unfinished rollout now (and stalls it).
    pub fn exceed_deadline(&self, ns: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        exceed(&mut state, ns, name);
    }

    /// Time per automatic rollout step (`None`: only `GET`s advance).
    pub fn set_rollout_step(&self, step: Option<Duration>) {
        self.state.lock().unwrap().step = step;
    }

    /// Whether each `GET` of a Deployment advances its rollout by a step
    /// (default `true`).
    pub fn set_advance_on_get(&self, advance: bool) {
        self.state.lock().unwrap().advance_on_get = advance;
    }

    /// The progress deadline of every rollout, instead of each
    /// Deployment's `spec.progressDeadlineSeconds`.
    pub fn set_progress_deadline(&self, deadline: Duration) {
        self.state.lock().unwrap().deadline = Some(deadline);
    }

    /// The next write (`PUT` or `PATCH`) of that object fails with
    /// 409 `Conflict`, as if someone else had just modified it.
    pub fn inject_conflict(&self, ns: &str, kind: &str, name: &str) {
        let key = (kind_of(kind), ns.to_owned(), name.to_owned());
        *self.state.lock().unwrap().conflicts.entry(key).or_insert(0) += 1;
    }
}
