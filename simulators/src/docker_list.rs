//! Listing endpoints of [`super::docker::FakeDocker`]: `GET /services`
//! (`name`, `id` and `label` filters) and
//! `GET /tasks`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::docker::{Phase, State, message, render};
use super::now_rfc3339;
use super::server::{Request, Response};

/// `filters` as `{key: [values]}` (also accepts the legacy `{key: {value: true}}`).
pub(super) fn filters(req: &Request) -> Result<BTreeMap<String, Vec<String>>, Response> {
    let Some(raw) = req.query_param("filters").filter(|f| !f.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&raw) else {
        return Err(message(400, "invalid filter"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                Value::Object(o) => o.keys().cloned().collect(),
                _ => Vec::new(),
            };
            (k, values)
        })
        .collect())
}

pub fn list_services(state: &State, req: &Request) -> Response {
    let f = match filters(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<Value> = state
        .services
        .values()
        .filter(|s| {
            f.get("name").is_none_or(|names| {
                names.iter().any(|n| {
                    s.spec["Name"]
                        .as_str()
                        .is_some_and(|x| x.starts_with(n.as_str()))
                })
            }) && f
                .get("id")
                .is_none_or(|ids| ids.iter().any(|i| s.id.starts_with(i.as_str())))
                && super::docker_stack::has_labels(&s.spec["Labels"], f.get("label"))
        })
        .map(render)
        .collect();
    Response::json(200, &Value::Array(items))
}

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
        let mut tasks: Vec<(u64, &str, &str, String)> = (1..=replicas)
            .map(|slot| {
                (
                    slot,
                    "running",
                    "running",
                    format!("{}{slot:02}", &s.id[..23]),
                )
            })
            .collect();
        if matches!(s.phase, Some((Phase::Updating(Some(_)), _))) {
            tasks.push((1, "shutdown", "failed", s.failed_task.clone()));
        }
        for (slot, want, st, tid) in tasks {
            if desired.is_some_and(|d| !d.iter().any(|x| x == want)) {
                continue;
            }
            let mut status = json!({ "Timestamp": now, "State": st, "Message": st });
            if st == "failed" {
                status["Err"] = json!("task: non-zero exit (1)");
                status["ContainerStatus"] = json!({ "ExitCode": 1 });
            }
            out.push(json!({
                "ID": tid, "Version": { "Index": s.index }, "CreatedAt": s.updated_at,
                "UpdatedAt": now, "Labels": {}, "Spec": s.spec["TaskTemplate"],
                "ServiceID": s.id, "Slot": slot, "NodeID": "node0000000000000000000001",
                "Status": status, "DesiredState": want,
            }));
        }
    }
    Response::json(200, &Value::Array(out))
}
