//! What [`super::docker::FakeDocker`] does for stacks: `POST /services/create`,
//! networks and secrets, with the Engine's refusals (a name in use, a
//! network or secret a spec refers to that does not exist).
//!
//! - `POST /services/create` (`ServiceSpec`) → 201 `{ID, Warnings: null}`;
//!   409 `name conflicts with an existing object` when the name is taken;
//!   400 without an image; 404 `network X not found` for a
//!   `TaskTemplate.Networks[].Target` that is neither a network's ID nor
//!   name; 400 for a `Secrets[].SecretID` that is not a secret's ID.
//! - `GET /networks?filters={"label":[k=v],"name":[..]}`, `GET /networks/{id|name}`
//!   (404 `network X not found`), `POST /networks/create` `{Name, Driver,
//!   Labels, Attachable, Scope}` → 201 `{Id, Warning: ""}`; 409 `network
//!   with name X already exists`; 400 without a name.
//! - `GET /secrets?filters={"name":[..]}` (prefix match, like the Engine):
//!   `[{ID, Version, Spec: {Name, Labels}}]` — never the data.

use serde_json::{Value, json};

use super::docker::{ID_CHARS, State, message};
use super::docker_list::filters;
use super::random_chars;
use super::server::{Request, Response};

/// Whether `labels` has every `key` or `key=value` of `wanted`.
pub fn has_labels(labels: &Value, wanted: Option<&Vec<String>>) -> bool {
    wanted.is_none_or(|w| {
        w.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => labels[k] == v,
            None => labels.get(l).is_some(),
        })
    })
}

/// The ID of the network with this ID or name.
pub fn find_network(state: &State, key: &str) -> Option<String> {
    if state.networks.contains_key(key) {
        return Some(key.to_owned());
    }
    state
        .networks
        .iter()
        .find(|(_, n)| n["Name"] == key)
        .map(|(id, _)| id.clone())
}

/// Refuses a spec whose networks or secrets do not exist, as the Engine does.
pub fn check_references(state: &State, spec: &Value) -> Option<Response> {
    let template = &spec["TaskTemplate"];
    for n in template["Networks"].as_array().into_iter().flatten() {
        let target = n["Target"].as_str().unwrap_or_default();
        if find_network(state, target).is_none() {
            return Some(message(404, &format!("network {target} not found")));
        }
    }
    for s in template["ContainerSpec"]["Secrets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = s["SecretID"].as_str().unwrap_or_default();
        if !state.secrets.contains_key(id) {
            return Some(message(
                400,
                &format!(
                    "rpc error: code = InvalidArgument desc = secret reference is invalid: secret {id} not found"
                ),
            ));
        }
    }
    None
}

/// `POST /services/create`.
pub fn create_service(state: &mut State, req: &Request) -> Response {
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
    let Some(name) = spec["Name"].as_str().filter(|n| !n.is_empty()) else {
        return message(
            400,
            "rpc error: code = InvalidArgument desc = name must be valid as a DNS name component",
        );
    };
    if state
        .find(name)
        .is_some_and(|id| state.services[&id].spec["Name"] == name)
    {
        return message(
            409,
            "rpc error: code = AlreadyExists desc = name conflicts with an existing object",
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
    if let Some(refused) =
        check_references(state, &spec).or_else(|| super::docker_tasks::check_endpoint(&spec))
    {
        return refused;
    }
    let id = state.insert_service(spec);
    Response::json(201, &json!({ "ID": id, "Warnings": null }))
}

/// `GET /networks`.
pub fn list_networks(state: &State, req: &Request) -> Response {
    let f = match filters(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<Value> = state
        .networks
        .values()
        .filter(|n| {
            has_labels(&n["Labels"], f.get("label"))
                && f.get("name").is_none_or(|names| {
                    names
                        .iter()
                        .any(|x| n["Name"].as_str().is_some_and(|m| m.contains(x.as_str())))
                })
        })
        .cloned()
        .collect();
    Response::json(200, &Value::Array(items))
}

/// `GET /networks/{id|name}`.
pub fn inspect_network(state: &State, key: &str) -> Response {
    match find_network(state, key) {
        Some(id) => Response::json(200, &state.networks[&id]),
        None => message(404, &format!("network {key} not found")),
    }
}

/// `POST /networks/create`.
pub fn create_network(state: &mut State, req: &Request) -> Response {
    let body = match req.json() {
        Ok(b @ Value::Object(_)) => b,
        _ => return message(400, "invalid JSON"),
    };
    let Some(name) = body["Name"].as_str().filter(|n| !n.is_empty()) else {
        return message(400, "invalid name: name is empty");
    };
    if find_network(state, name).is_some() {
        return message(409, &format!("network with name {name} already exists"));
    }
    let id = random_chars(25, ID_CHARS);
    let network = json!({
        "Name": name, "Id": id, "Scope": "swarm",
        "Driver": body["Driver"].as_str().unwrap_or("overlay"),
        "Attachable": body["Attachable"].as_bool().unwrap_or(false),
        "Labels": body.get("Labels").cloned().unwrap_or(json!({})),
    });
    state.networks.insert(id.clone(), network);
    Response::json(201, &json!({ "Id": id, "Warning": "" }))
}

/// `GET /secrets`.
pub fn list_secrets(state: &State, req: &Request) -> Response {
    let f = match filters(req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<Value> = state
        .secrets
        .values()
        .filter(|s| {
            f.get("name").is_none_or(|names| {
                names.iter().any(|x| {
                    s["Spec"]["Name"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(x.as_str()))
                })
            })
        })
        .cloned()
        .collect();
    Response::json(200, &Value::Array(items))
}
