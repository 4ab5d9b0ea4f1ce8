//! The HTTP side of [`super::kubernetes::FakeKubernetes`]: routing and the
//! verbs.

use serde_json::{Value, json};

use super::decode_segment;
use super::kubernetes::{Key, Kind, State, status};
use super::kubernetes_gateway::reconcile_routes;
use super::kubernetes_objects::{
    apply_defaults, bad_request, check_envelope, conflict, create_object, details, invalid,
    no_resource, not_allowed, not_found, validate,
};
use super::kubernetes_patch::{JsonPatchError, json_patch, merge_patch, strategic_merge};
use super::kubernetes_rollout::{advance, after_write, replica_sets, tick_all};
use super::server::{Request, Response};

const ALL_PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json";
const CRD_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// Answers one request.
pub fn handle(state: &mut State, req: &Request) -> Response {
    let authed = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == state.token);
    if !authed {
        return status(401, "Unauthorized", "Unauthorized", None);
    }
    tick_all(state);
    let seg: Vec<String> = req
        .raw_segments()
        .iter()
        .map(|s| decode_segment(s).unwrap_or_default())
        .collect();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let (group, version, ns, plural, rest) = match seg.as_slice() {
        ["version"] => {
            return Response::json(
                200,
                &json!({ "major": "1", "minor": "31", "gitVersion": "v1.31.0", "platform": "linux/amd64" }),
            );
        }
        ["api", "v1", "namespaces", ns, plural, rest @ ..] => ("", "v1", *ns, *plural, rest),
        ["apis", group, version, "namespaces", ns, plural, rest @ ..] => {
            (*group, *version, *ns, *plural, rest)
        }
        _ => return no_resource(),
    };
    if (group, version, plural) == ("apps", "v1", "replicasets") {
        return replica_set_request(state, req, ns, rest);
    }
    let Some(kind) = Kind::from_path(group, version, plural) else {
        return no_resource();
    };
    if !state.namespaces.contains(ns) {
        return status(
            404,
            "NotFound",
            &format!("namespaces \"{ns}\" not found"),
            Some(json!({ "name": ns, "kind": "namespaces" })),
        );
    }
    match (req.method.as_str(), rest) {
        ("GET", []) => list(state, req, kind, ns),
        ("POST", []) => {
            if !req.content_type_is("application/json") {
                return status(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                    None,
                );
            }
            match req.json() {
                Ok(obj) => match create_object(state, kind, ns, obj, false) {
                    Ok(stored) => Response::json(201, &stored),
                    Err(r) => r,
                },
                Err(e) => bad_request(&format!(
                    "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
                    kind.name()
                )),
            }
        }
        (_, []) => not_allowed(),
        ("GET", [name] | [name, "status"]) => {
            if kind == Kind::Deployment {
                let extra = state.advance_on_get;
                advance(state, ns, name, extra);
            }
            match state.objects.get(&(kind, ns.into(), (*name).into())) {
                Some(obj) => Response::json(200, obj),
                None => not_found(kind, name),
            }
        }
        ("PUT", [name]) => put(state, req, kind, ns, name),
        ("PATCH", [name]) => patch(state, req, kind, ns, name),
        ("DELETE", [name]) => delete(state, kind, ns, name),
        (_, [_] | [_, "status"]) => not_allowed(),
        _ => no_resource(),
    }
}

fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            let label = |k: &str| labels.get(k.trim()).and_then(Value::as_str);
            if let Some((k, v)) = term.split_once("!=") {
                label(k) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                label(k) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                label(k).is_none()
            } else {
                label(term).is_some()
            }
        })
}

fn list(state: &State, req: &Request, kind: Kind, ns: &str) -> Response {
    if req
        .query_param("watch")
        .is_some_and(|w| w == "1" || w == "true")
    {
        return bad_request("watch is not supported by this fake");
    }
    let selector = req.query_param("labelSelector").unwrap_or_default();
    let items: Vec<Value> = state
        .objects
        .iter()
        .filter(|((k, n, _), _)| *k == kind && n == ns)
        .filter(|(_, o)| selector_matches(&selector, &o["metadata"]["labels"]))
        .map(|(_, o)| {
            let mut o = o.clone();
            if kind.builtin()
                && let Some(m) = o.as_object_mut()
            {
                m.remove("apiVersion");
                m.remove("kind");
            }
            o
        })
        .collect();
    Response::json(
        200,
        &json!({ "apiVersion": kind.api_version(), "kind": format!("{}List", kind.name()),
                 "metadata": { "resourceVersion": state.resource_version.to_string() },
                 "items": items }),
    )
}

fn replica_set_request(state: &State, req: &Request, ns: &str, rest: &[&str]) -> Response {
    if req.method != "GET" {
        return not_allowed();
    }
    let all = replica_sets(state, ns);
    match rest {
        [] => {
            let selector = req.query_param("labelSelector").unwrap_or_default();
            let items: Vec<Value> = all
                .into_iter()
                .filter(|o| selector_matches(&selector, &o["metadata"]["labels"]))
                .collect();
            Response::json(
                200,
                &json!({ "apiVersion": "apps/v1", "kind": "ReplicaSetList",
                         "metadata": { "resourceVersion": state.resource_version.to_string() },
                         "items": items }),
            )
        }
        [name] => all
            .into_iter()
            .find(|o| o["metadata"]["name"] == *name)
            .map(|o| Response::json(200, &o))
            .unwrap_or_else(|| {
                status(
                    404,
                    "NotFound",
                    &format!("replicasets.apps \"{name}\" not found"),
                    Some(json!({ "name": name, "group": "apps", "kind": "replicasets" })),
                )
            }),
        _ => no_resource(),
    }
}

fn take_conflict(state: &mut State, key: &Key) -> bool {
    match state.conflicts.get_mut(key) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

/// Stores `new` as the next version of `key` (current `old`): keeps
/// server-owned fields, validates, bumps `resourceVersion`/`generation`.
fn finish_write(state: &mut State, key: Key, old: Value, mut new: Value) -> Response {
    let (kind, ns, name) = key.clone();
    if new["metadata"]["name"] != old["metadata"]["name"] {
        return invalid(
            kind,
            &name,
            "metadata.name",
            "FieldValueInvalid",
            &format!(
                "Invalid value: {}: field is immutable",
                new["metadata"]["name"]
            ),
        );
    }
    if !new["metadata"].is_object() {
        return bad_request("metadata must be an object");
    }
    for field in [
        "uid",
        "creationTimestamp",
        "namespace",
        "generation",
        "resourceVersion",
    ] {
        match old["metadata"].get(field) {
            Some(v) => new["metadata"][field] = v.clone(),
            None => {
                new["metadata"]
                    .as_object_mut()
                    .expect("object")
                    .remove(field);
            }
        }
    }
    new["apiVersion"] = json!(kind.api_version());
    new["kind"] = json!(kind.name());
    new["status"] = old["status"].clone();
    if kind == Kind::Service && new["spec"].get("clusterIP").is_none() {
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if let Some(v) = old["spec"].get(f) {
                new["spec"][f] = v.clone();
            }
        }
    }
    apply_defaults(state, kind, &mut new);
    if let Err(r) = validate(kind, &name, &new) {
        return r;
    }
    if kind == Kind::Deployment && new["spec"]["selector"] != old["spec"]["selector"] {
        return invalid(
            kind,
            &name,
            "spec.selector",
            "FieldValueInvalid",
            &format!(
                "Invalid value: {}: field is immutable",
                new["spec"]["selector"]
            ),
        );
    }
    if new == old {
        // A no-op write changes nothing, not even the resourceVersion.
        return Response::json(200, &old);
    }
    let spec_changed = new["spec"] != old["spec"];
    let template_changed = new["spec"]["template"] != old["spec"]["template"];
    if spec_changed && let Some(g) = old["metadata"]["generation"].as_u64() {
        new["metadata"]["generation"] = json!(g + 1);
    }
    new["metadata"]["resourceVersion"] = json!(state.next_rv());
    state.objects.insert(key, new);
    if kind == Kind::Deployment {
        after_write(state, &ns, &name, spec_changed, template_changed, false);
    }
    if matches!(kind, Kind::HttpRoute | Kind::Service) {
        reconcile_routes(state, &ns);
    }
    Response::json(200, &state.objects[&(kind, ns, name)])
}

fn put(state: &mut State, req: &Request, kind: Kind, ns: &str, name: &str) -> Response {
    let key: Key = (kind, ns.to_owned(), name.to_owned());
    let Some(old) = state.objects.get(&key).cloned() else {
        return not_found(kind, name);
    };
    if !req.content_type_is("application/json") {
        return status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            None,
        );
    }
    let body = match req.json() {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("json parse error: {e}")),
    };
    let obj = match check_envelope(kind, ns, body) {
        Ok(o) => Value::Object(o),
        Err(r) => return r,
    };
    let body_name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if body_name != name {
        return bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        ));
    }
    if take_conflict(state, &key) {
        return conflict(kind, name);
    }
    match obj["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() && Some(rv) != old["metadata"]["resourceVersion"].as_str() => {
            return conflict(kind, name);
        }
        Some(rv) if !rv.is_empty() => {}
        _ if !kind.builtin() => {
            return invalid(
                kind,
                name,
                "metadata.resourceVersion",
                "FieldValueInvalid",
                "Invalid value: 0x0: must be specified for an update",
            );
        }
        _ => {}
    }
    finish_write(state, key, old, obj)
}

fn patch(state: &mut State, req: &Request, kind: Kind, ns: &str, name: &str) -> Response {
    let key: Key = (kind, ns.to_owned(), name.to_owned());
    let media = req
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let accepted = if kind.builtin() {
        ALL_PATCH_TYPES
    } else {
        CRD_PATCH_TYPES
    };
    let strategic = media == "application/strategic-merge-patch+json";
    let known = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ]
    .contains(&media.as_str())
        || (strategic && kind.builtin());
    if !known {
        return status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}"
            ),
            None,
        );
    }
    let body: Value = match req.json() {
        Ok(b) => b,
        Err(e) if media == "application/apply-patch+yaml" => {
            return bad_request(&format!(
                "error decoding YAML: this fake reads JSON only: {e}"
            ));
        }
        Err(e) => return bad_request(&format!("error decoding patch: {e}")),
    };
    if media == "application/apply-patch+yaml" {
        if req.query_param("fieldManager").is_none_or(|f| f.is_empty()) {
            return status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                None,
            );
        }
        if !state.objects.contains_key(&key) {
            return match create_object(state, kind, ns, body, false) {
                Ok(stored) => Response::json(201, &stored),
                Err(r) => r,
            };
        }
    }
    let Some(old) = state.objects.get(&key).cloned() else {
        return not_found(kind, name);
    };
    if take_conflict(state, &key) {
        return conflict(kind, name);
    }
    let mut new = old.clone();
    match media.as_str() {
        "application/json-patch+json" => match json_patch(&mut new, &body) {
            Ok(()) => {}
            Err(JsonPatchError::Bad(m)) => return bad_request(&m),
            Err(JsonPatchError::Failed(m)) => {
                return status(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                    Some(
                        json!({ "causes": [{ "reason": "UnexpectedServerResponse", "message": m }] }),
                    ),
                );
            }
        },
        "application/merge-patch+json" => {
            if !body.is_object() {
                return bad_request("error decoding patch: a merge patch must be a JSON object");
            }
            merge_patch(&mut new, &body);
        }
        _ => {
            if !body.is_object() {
                return bad_request("error decoding patch: the patch must be a JSON object");
            }
            let result = if kind.builtin() {
                strategic_merge(&mut new, &body)
            } else {
                merge_patch(&mut new, &body);
                Ok(())
            };
            if let Err(m) = result {
                return bad_request(&m);
            }
        }
    }
    let sent_rv = new["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !sent_rv.is_empty() && Some(sent_rv) != old["metadata"]["resourceVersion"].as_str() {
        return conflict(kind, name);
    }
    finish_write(state, key, old, new)
}

fn delete(state: &mut State, kind: Kind, ns: &str, name: &str) -> Response {
    let key: Key = (kind, ns.to_owned(), name.to_owned());
    let Some(obj) = state.objects.remove(&key) else {
        return not_found(kind, name);
    };
    if kind == Kind::Deployment {
        let k = (ns.to_owned(), name.to_owned());
        state.rollouts.remove(&k);
        state.history.remove(&k);
    }
    if kind == Kind::Service {
        reconcile_routes(state, ns);
    }
    state.next_rv();
    let mut d = details(kind, name);
    d["uid"] = obj["metadata"]["uid"].clone();
    Response::json(
        200,
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d }),
    )
}
