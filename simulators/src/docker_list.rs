//! Listing endpoints of [`super::docker::FakeDocker`]: `GET /services`
//! (`name`, `id` and `label` filters); `GET /tasks` is in
//! [`super::docker_tasks`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::docker::{State, message, render};
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
