//! Objects of [`super::kubernetes::FakeKubernetes`]: `Status` errors,
//! validation, defaulting and creation.

use serde_json::{Map, Value, json};

use super::kubernetes::{Key, Kind, State, status};
use super::kubernetes_rollout::after_write;
use super::server::Response;
use super::{now_rfc3339, random_chars, uuid_v4};

pub fn no_resource() -> Response {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

pub fn not_allowed() -> Response {
    status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

pub fn bad_request(message: &str) -> Response {
    status(400, "BadRequest", message, None)
}

pub fn details(kind: Kind, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": kind.plural() });
    if !kind.group().is_empty() {
        d["group"] = json!(kind.group());
    }
    d
}

pub fn not_found(kind: Kind, name: &str) -> Response {
    status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", kind.resource()),
        Some(details(kind, name)),
    )
}

pub fn conflict(kind: Kind, name: &str) -> Response {
    status(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            kind.resource()
        ),
        Some(details(kind, name)),
    )
}

pub fn invalid(kind: Kind, name: &str, field: &str, reason: &str, message: &str) -> Response {
    let qualified = match kind.group() {
        "" => kind.name().to_owned(),
        g => format!("{}.{g}", kind.name()),
    };
    let mut d = json!({ "name": name, "kind": kind.name(),
                        "causes": [{ "reason": reason, "message": message, "field": field }] });
    if !kind.group().is_empty() {
        d["group"] = json!(kind.group());
    }
    status(
        422,
        "Invalid",
        &format!("{qualified} \"{name}\" is invalid: {field}: {message}"),
        Some(d),
    )
}

pub fn valid_name(kind: Kind, name: &str) -> bool {
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if kind == Kind::Service {
        name.len() <= 63
            && !name.contains('.')
            && chars_ok
            && ends_ok
            && name.starts_with(|c: char| c.is_ascii_lowercase())
    } else {
        name.len() <= 253 && chars_ok && ends_ok
    }
}

/// Checks `apiVersion`/`kind`/`metadata` of a body; returns it as a map.
pub fn check_envelope(kind: Kind, ns: &str, body: Value) -> Result<Map<String, Value>, Response> {
    let unrecognized = |why: &str| {
        bad_request(&format!(
            "the object provided is unrecognized (must be of type {}): {why}",
            kind.name()
        ))
    };
    let Value::Object(obj) = body else {
        return Err(unrecognized(
            "couldn't get version/kind; json parse error: expected an object",
        ));
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let k = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version.is_empty() || k.is_empty() {
        return Err(unrecognized(
            "Object 'Kind' is missing or 'apiVersion' is missing",
        ));
    }
    if api_version != kind.api_version() {
        return Err(bad_request(&format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    if k != kind.name() {
        return Err(bad_request(&format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.name()
        )));
    }
    let Some(meta) = obj.get("metadata").and_then(Value::as_object) else {
        return Err(bad_request("metadata is required and must be an object"));
    };
    if let Some(meta_ns) = meta.get("namespace").and_then(Value::as_str)
        && !meta_ns.is_empty()
        && meta_ns != ns
    {
        return Err(bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(obj)
}

/// Kind-specific validation of a whole object (after defaulting).
pub fn validate(kind: Kind, name: &str, obj: &Value) -> Result<(), Response> {
    let bad = |field: &str, reason: &str, msg: &str| Err(invalid(kind, name, field, reason, msg));
    match kind {
        Kind::Deployment => {
            let spec = &obj["spec"];
            let Some(match_labels) = spec["selector"]["matchLabels"].as_object() else {
                return bad("spec.selector", "FieldValueRequired", "Required value");
            };
            let labels = &spec["template"]["metadata"]["labels"];
            if match_labels.is_empty() || match_labels.iter().any(|(k, v)| labels.get(k) != Some(v))
            {
                return bad(
                    "spec.template.metadata.labels",
                    "FieldValueInvalid",
                    &format!(
                        "Invalid value: {labels}: `selector` does not match template `labels`"
                    ),
                );
            }
            let containers = spec["template"]["spec"]["containers"].as_array();
            let Some(containers) = containers.filter(|c| !c.is_empty()) else {
                return bad(
                    "spec.template.spec.containers",
                    "FieldValueRequired",
                    "Required value",
                );
            };
            for (i, c) in containers.iter().enumerate() {
                for field in ["name", "image"] {
                    if c[field].as_str().is_none_or(str::is_empty) {
                        return bad(
                            &format!("spec.template.spec.containers[{i}].{field}"),
                            "FieldValueRequired",
                            "Required value",
                        );
                    }
                }
            }
            if spec["replicas"].as_i64().is_some_and(|r| r < 0) {
                return bad(
                    "spec.replicas",
                    "FieldValueInvalid",
                    "Invalid value: must be greater than or equal to 0",
                );
            }
        }
        Kind::Service => {
            let typ = obj["spec"]["type"].as_str().unwrap_or("ClusterIP");
            if typ != "ExternalName" && obj["spec"]["ports"].as_array().is_none_or(Vec::is_empty) {
                return bad("spec.ports", "FieldValueRequired", "Required value");
            }
        }
        Kind::HttpRoute | Kind::Ingress => {}
    }
    Ok(())
}

pub fn image_pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        "IfNotPresent"
    } else if !last.contains(':') || last.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

pub fn fill(target: &mut Value, key: &str, value: Value) {
    if let Some(m) = target.as_object_mut() {
        m.entry(key).or_insert(value);
    }
}

pub fn walk<'a>(mut v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    for p in path {
        v = v.get_mut(*p)?;
    }
    Some(v)
}

pub fn each<'a>(v: &'a mut Value, path: &[&str]) -> impl Iterator<Item = &'a mut Value> {
    walk(v, path)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// The API server's defaulting (idempotent; never creates a missing parent).
pub fn apply_defaults(state: &mut State, kind: Kind, obj: &mut Value) {
    match kind {
        Kind::Deployment => {
            if let Some(spec) = walk(obj, &["spec"]) {
                fill(spec, "replicas", json!(1));
                fill(spec, "revisionHistoryLimit", json!(10));
                fill(spec, "progressDeadlineSeconds", json!(600));
                fill(
                    spec,
                    "strategy",
                    json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } }),
                );
            }
            if let Some(pod) = walk(obj, &["spec", "template", "spec"]) {
                fill(pod, "restartPolicy", json!("Always"));
                fill(pod, "terminationGracePeriodSeconds", json!(30));
                fill(pod, "dnsPolicy", json!("ClusterFirst"));
                fill(pod, "schedulerName", json!("default-scheduler"));
            }
            for c in each(obj, &["spec", "template", "spec", "containers"]) {
                let policy =
                    image_pull_policy(c.get("image").and_then(Value::as_str).unwrap_or_default());
                fill(c, "imagePullPolicy", json!(policy));
                fill(c, "terminationMessagePath", json!("/dev/termination-log"));
                fill(c, "terminationMessagePolicy", json!("File"));
                for p in each(c, &["ports"]) {
                    fill(p, "protocol", json!("TCP"));
                }
            }
        }
        Kind::Service => {
            let Some(spec) = walk(obj, &["spec"]).filter(|s| s.is_object()) else {
                return;
            };
            fill(spec, "type", json!("ClusterIP"));
            fill(spec, "sessionAffinity", json!("None"));
            if spec["type"] != "ExternalName" && spec.get("clusterIP").is_none() {
                state.next_ip += 1;
                let ip = format!("10.96.{}.{}", state.next_ip / 250, state.next_ip % 250 + 1);
                spec["clusterIP"] = json!(ip);
                spec["clusterIPs"] = json!([ip]);
                spec["ipFamilies"] = json!(["IPv4"]);
                spec["ipFamilyPolicy"] = json!("SingleStack");
            }
            for p in each(spec, &["ports"]) {
                fill(p, "protocol", json!("TCP"));
                if let Some(port) = p.get("port").cloned() {
                    fill(p, "targetPort", port);
                }
            }
        }
        Kind::HttpRoute => {
            for r in each(obj, &["spec", "rules"]) {
                fill(
                    r,
                    "matches",
                    json!([{ "path": { "type": "PathPrefix", "value": "/" } }]),
                );
                for b in each(r, &["backendRefs"]) {
                    fill(b, "group", json!(""));
                    fill(b, "kind", json!("Service"));
                    fill(b, "weight", json!(1));
                }
            }
        }
        Kind::Ingress => {}
    }
}

pub fn initial_status(kind: Kind) -> Value {
    match kind {
        Kind::Service | Kind::Ingress => json!({ "loadBalancer": {} }),
        _ => json!({}),
    }
}

/// `POST`: validates, defaults and stores `body` (`ready`: a Deployment
/// is rolled out at once).
pub fn create_object(
    state: &mut State,
    kind: Kind,
    ns: &str,
    body: Value,
    ready: bool,
) -> Result<Value, Response> {
    let mut obj = check_envelope(kind, ns, body)?;
    let meta = obj["metadata"].as_object().expect("checked");
    let given = meta
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let name = match (given, generate) {
        (Some(n), _) => n.to_owned(),
        (None, Some(prefix)) => {
            format!("{prefix}{}", random_chars(5, "bcdfghjklmnpqrstvwxz2456789"))
        }
        (None, None) => {
            return Err(invalid(
                kind,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            ));
        }
    };
    if !valid_name(kind, &name) {
        let what = if kind == Kind::Service {
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        return Err(invalid(
            kind,
            &name,
            "metadata.name",
            "FieldValueInvalid",
            &format!("Invalid value: \"{name}\": {what}"),
        ));
    }
    let key: Key = (kind, ns.to_owned(), name.clone());
    if state.objects.contains_key(&key) {
        return Err(status(
            409,
            "AlreadyExists",
            &format!("{} \"{name}\" already exists", kind.resource()),
            Some(details(kind, &name)),
        ));
    }
    let mut value = Value::Object(std::mem::take(&mut obj));
    value["status"] = initial_status(kind);
    apply_defaults(state, kind, &mut value);
    validate(kind, &name, &value)?;
    let rv = state.next_rv();
    let meta = value["metadata"].as_object_mut().expect("checked");
    meta.remove("resourceVersion");
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!(ns));
    meta.insert("uid".into(), json!(uuid_v4()));
    meta.insert("resourceVersion".into(), json!(rv));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    if kind != Kind::Service {
        meta.insert("generation".into(), json!(1));
    }
    state.objects.insert(key, value);
    if kind == Kind::Deployment {
        after_write(state, ns, &name, true, true, ready);
    }
    if matches!(kind, Kind::HttpRoute | Kind::Service) {
        super::kubernetes_gateway::reconcile_routes(state, ns);
    }
    Ok(state.objects[&(kind, ns.to_owned(), name)].clone())
}
