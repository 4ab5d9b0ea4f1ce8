//! The Gateway API controller of [`super::kubernetes::FakeKubernetes`]: after
//! each write of an `HTTPRoute` (or of a Service one may point at), every
//! route of the namespace gets `status.parents[]`, one per `parentRef`,
//! with `Accepted` and `ResolvedRefs` conditions at the route's current
//! generation. `ResolvedRefs` is `False` (`BackendNotFound`) while a
//! `backendRef` names a Service that does not exist, as real gateway
//! controllers report it.

use serde_json::{Value, json};

use super::kubernetes::{Kind, State};
use super::now_rfc3339;

/// The controller's name in each parent status.
pub const CONTROLLER: &str = "gateway.slipway.test/fake-controller";

/// Writes the status of every HTTPRoute in `ns`.
pub fn reconcile_routes(state: &mut State, ns: &str) {
    let routes: Vec<_> = state
        .objects
        .keys()
        .filter(|(kind, n, _)| *kind == Kind::HttpRoute && n == ns)
        .cloned()
        .collect();
    for key in routes {
        let route = &state.objects[&key];
        let missing = missing_backends(state, ns, route);
        let status = route_status(route, &missing);
        if let Some(route) = state.objects.get_mut(&key) {
            route["status"] = status;
        }
    }
}

/// Services the route's rules name that do not exist.
fn missing_backends(state: &State, ns: &str, route: &Value) -> Vec<String> {
    let rules = route["spec"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rules
        .iter()
        .flat_map(|r| r["backendRefs"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["kind"].as_str().is_none_or(|k| k == "Service"))
        .filter_map(|b| b["name"].as_str().map(str::to_owned))
        .filter(|name| {
            !state
                .objects
                .contains_key(&(Kind::Service, ns.to_owned(), name.clone()))
        })
        .collect()
}

fn route_status(route: &Value, missing: &[String]) -> Value {
    let generation = route["metadata"]["generation"].clone();
    let now = now_rfc3339();
    let condition = |kind: &str, ok: bool, reason: &str, message: String| {
        json!({"type": kind, "status": if ok { "True" } else { "False" }, "reason": reason,
            "message": message, "observedGeneration": generation, "lastTransitionTime": now})
    };
    let resolved = match missing.first() {
        None => condition(
            "ResolvedRefs",
            true,
            "ResolvedRefs",
            "Resolved all the Object references for the Route".into(),
        ),
        Some(name) => condition(
            "ResolvedRefs",
            false,
            "BackendNotFound",
            format!("Service \"{name}\" not found"),
        ),
    };
    let parents: Vec<Value> = route["spec"]["parentRefs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|parent| {
            json!({"parentRef": parent, "controllerName": CONTROLLER, "conditions": [
                condition("Accepted", true, "Accepted", "Route is accepted".into()),
                resolved.clone(),
            ]})
        })
        .collect();
    json!({ "parents": parents })
}
