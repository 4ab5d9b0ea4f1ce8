//! Tasks and removal in [`super::docker::FakeDocker`], as the Engine shows
//! them:
//!
//! - `GET /tasks?filters={"service":[..],"desired-state":[..]}`: one task
//!   per replica of the current spec, `running` (desired `running`), its
//!   `Spec` the service's `TaskTemplate` (image, networks and aliases).
//!   While a failing update is in progress, one `failed` task more. A task
//!   of an image marked unhealthy ([`super::docker::FakeDocker::
//!   set_unhealthy_image`]) stays `starting` (a container with a failing
//!   `HEALTHCHECK` never becomes `running`), and the history shows a
//!   `failed` task per slot with the Engine's `Err` `task: non-zero exit
//!   (137): dockerexec: unhealthy container`. Tasks of a removed service
//!   are gone. An unknown service in the filter matches nothing.
//! - `DELETE /services/{id|name}` → 200 with an empty body; unknown → 404
//!   `{"message":"service X not found"}`.
//! - A spec in endpoint mode `dnsrr` that publishes a port in `ingress`
//!   mode is refused (400), by create and update alike.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::docker::{Phase, State, message};
use super::docker_list::filters;
use super::now_rfc3339;
use super::server::{Request, Response};

/// The Engine's `Err` for a task killed by a failing health check.
const UNHEALTHY: &str = "task: non-zero exit (137): dockerexec: unhealthy container";

/// One task as `GET /tasks` lists it.
struct Task {
    slot: u64,
    desired: &'static str,
    state: &'static str,
    id: String,
    err: Option<&'static str>,
}

/// `GET /tasks`.
pub fn tasks(state: &mut State, req: &Request) -> Response {
    let f = match filters(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let wanted: Option<BTreeSet<String>> = f
        .get("service")
        .map(|keys| keys.iter().filter_map(|k| state.find(k)).collect());
    let desired = f.get("desired-state");
    let now = now_rfc3339();
    let mut out = Vec::new();
    for s in state.services.values() {
        if wanted.as_ref().is_some_and(|w| !w.contains(&s.id)) {
            continue;
        }
        let replicas = s.spec["Mode"]["Replicated"]["Replicas"]
            .as_u64()
            .unwrap_or(1);
        let image = s.spec["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or_default();
        let sick = state.unhealthy.contains(image);
        let mut list: Vec<Task> = Vec::new();
        for slot in 1..=replicas {
            let id = format!("{}{slot:02}", &s.id[..23]);
            let state = if sick { "starting" } else { "running" };
            list.push(Task {
                slot,
                desired: "running",
                state,
                id,
                err: None,
            });
            if sick {
                list.push(Task {
                    slot,
                    desired: "shutdown",
                    state: "failed",
                    id: format!("{}{slot:02}", &s.failed_task[..23]),
                    err: Some(UNHEALTHY),
                });
            }
        }
        if matches!(s.phase, Some((Phase::Updating(Some(_)), _))) {
            list.push(Task {
                slot: 1,
                desired: "shutdown",
                state: "failed",
                id: s.failed_task.clone(),
                err: Some("task: non-zero exit (1)"),
            });
        }
        for t in list {
            if desired.is_some_and(|d| !d.iter().any(|x| x == t.desired)) {
                continue;
            }
            let mut status = json!({ "Timestamp": now, "State": t.state, "Message": t.state });
            if let Some(err) = t.err {
                status["Err"] = json!(err);
                status["ContainerStatus"] = json!({ "ExitCode": 137 });
            }
            out.push(json!({
                "ID": t.id, "Version": { "Index": s.index }, "CreatedAt": s.updated_at,
                "UpdatedAt": now, "Labels": {}, "Spec": s.spec["TaskTemplate"],
                "ServiceID": s.id, "Slot": t.slot, "NodeID": "node0000000000000000000001",
                "Status": status, "DesiredState": t.desired,
            }));
        }
    }
    Response::json(200, &Value::Array(out))
}

/// `DELETE /services/{id|name}`.
pub fn delete_service(state: &mut State, key: &str) -> Response {
    match state.find(key) {
        Some(id) => {
            state.services.remove(&id);
            state.bump();
            Response::bytes(200, "text/plain; charset=utf-8", "")
        }
        None => message(404, &format!("service {key} not found")),
    }
}

/// The Engine's refusal of a spec that cannot be served as it says.
pub fn check_endpoint(spec: &Value) -> Option<Response> {
    let endpoint = &spec["EndpointSpec"];
    let mode = endpoint["Mode"].as_str().unwrap_or("vip");
    if !matches!(mode, "vip" | "dnsrr") {
        return Some(message(
            400,
            &format!("rpc error: code = InvalidArgument desc = EndpointSpec: unknown mode {mode}"),
        ));
    }
    let ingress = endpoint["Ports"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["PublishMode"].as_str().unwrap_or("ingress") == "ingress");
    (mode == "dnsrr" && ingress).then(|| {
        message(
            400,
            "rpc error: code = InvalidArgument desc = EndpointSpec: port published with ingress mode can't be used with dnsrr mode",
        )
    })
}
