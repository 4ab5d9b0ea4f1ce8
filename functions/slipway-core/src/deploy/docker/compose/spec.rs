//! Compose → Engine API: pure functions from a parsed file to the network
//! and service specs `docker stack deploy` would send.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{
    ComposeError, ComposeFile, Healthcheck, KeyValues, Port, PortLong, RestartPolicy, Scalar,
    SecretUse, Service, ServiceNetworks, StringOrList, UpdateConfig,
};
use crate::deploy::docker::engine::parse_duration_ns;

/// The label `docker stack deploy` puts on everything of a stack.
pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
/// The label holding a digest of the spec Slipway sent, so an unchanged
/// service is left alone (the Engine fills defaults into what it stores,
/// so comparing specs field by field would always find a change).
pub const SPEC_LABEL: &str = "io.slipway.stack.spec";
/// The label `docker stack deploy` records the service's image in.
const IMAGE_LABEL: &str = "com.docker.stack.image";

/// What deploying a stack needs, before any call to the Engine.
#[derive(Debug, Clone, PartialEq)]
pub struct StackPlan {
    /// The stack's name (the namespace).
    pub stack: String,
    /// Networks of the stack to create when missing: name and create body.
    pub networks: Vec<(String, Value)>,
    /// Networks that must exist already.
    pub external_networks: Vec<String>,
    /// Swarm secret names the services use.
    pub secrets: Vec<String>,
    /// Service specs by full name (`<stack>_<service>`), `SecretID`s empty.
    pub services: Vec<(String, Value)>,
    /// The full name of the app's service.
    pub app_service: String,
}

fn key_values(
    kv: &Option<KeyValues>,
    path: &str,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut out = BTreeMap::new();
    match kv {
        None => {}
        Some(KeyValues::Map(map)) => {
            for (k, v) in map {
                let v = v.as_ref().ok_or_else(|| {
                    ComposeError::at(
                        format!("{path}.{k}"),
                        "needs a value (nothing is taken from a shell)",
                    )
                })?;
                out.insert(k.clone(), v.text());
            }
        }
        Some(KeyValues::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                let (k, v) = item.split_once('=').ok_or_else(|| {
                    ComposeError::at(
                        format!("{path}[{i}]"),
                        "needs KEY=value (nothing is taken from a shell)",
                    )
                })?;
                out.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    Ok(out)
}

fn duration(text: &Option<String>, path: &str) -> Result<Option<u64>, ComposeError> {
    text.as_deref()
        .map(|t| {
            parse_duration_ns(t).map_err(|_| {
                ComposeError::at(path, format!("{t:?} is not a duration like \"10s\""))
            })
        })
        .transpose()
}

fn words(v: &StringOrList) -> Vec<String> {
    match v {
        StringOrList::One(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        StringOrList::List(l) => l.iter().map(Scalar::text).collect(),
    }
}

/// A file mode: YAML 1.1 octal (`0440`) as Compose reads it, `0o440`, or
/// a decimal number.
fn file_mode(mode: &Scalar, path: &str) -> Result<u32, ComposeError> {
    let text = mode.text();
    let parsed = match text.strip_prefix("0o").or_else(|| text.strip_prefix('0')) {
        Some(octal) if !octal.is_empty() => u32::from_str_radix(octal, 8).ok(),
        _ => text.parse().ok(),
    };
    parsed
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| ComposeError::at(path, format!("{text:?} is not a file mode")))
}

fn one_of(value: &Option<String>, allowed: &[&str], path: &str) -> Result<(), ComposeError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ComposeError::at(
            path,
            format!("{v:?} is not one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

/// `UpdateConfig` / `RollbackConfig`: the environment's `base` with the
/// Compose file's settings over it.
fn update_config(
    base: &Value,
    c: &Option<UpdateConfig>,
    path: &str,
    rollback: bool,
) -> Result<Value, ComposeError> {
    let mut out = base.clone();
    let Some(c) = c else { return Ok(out) };
    let actions: &[&str] = if rollback {
        &["continue", "pause"]
    } else {
        &["continue", "pause", "rollback"]
    };
    one_of(
        &c.failure_action,
        actions,
        &format!("{path}.failure_action"),
    )?;
    one_of(
        &c.order,
        &["stop-first", "start-first"],
        &format!("{path}.order"),
    )?;
    if c.max_failure_ratio
        .is_some_and(|r| !(0.0..=1.0).contains(&r))
    {
        return Err(ComposeError::at(
            format!("{path}.max_failure_ratio"),
            "must be between 0 and 1",
        ));
    }
    let mut set = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            out[key] = v;
        }
    };
    set("Parallelism", c.parallelism.map(Value::from));
    set(
        "Delay",
        duration(&c.delay, &format!("{path}.delay"))?.map(Value::from),
    );
    set("FailureAction", c.failure_action.clone().map(Value::from));
    set(
        "Monitor",
        duration(&c.monitor, &format!("{path}.monitor"))?.map(Value::from),
    );
    set("MaxFailureRatio", c.max_failure_ratio.map(Value::from));
    set("Order", c.order.clone().map(Value::from));
    Ok(out)
}

fn restart_policy(r: &RestartPolicy, path: &str) -> Result<Value, ComposeError> {
    one_of(
        &r.condition,
        &["none", "on-failure", "any"],
        &format!("{path}.condition"),
    )?;
    let mut out = Map::new();
    if let Some(c) = &r.condition {
        out.insert("Condition".into(), json!(c));
    }
    if let Some(d) = duration(&r.delay, &format!("{path}.delay"))? {
        out.insert("Delay".into(), json!(d));
    }
    if let Some(m) = r.max_attempts {
        out.insert("MaxAttempts".into(), json!(m));
    }
    if let Some(w) = duration(&r.window, &format!("{path}.window"))? {
        out.insert("Window".into(), json!(w));
    }
    Ok(Value::Object(out))
}

fn healthcheck(h: &Healthcheck, path: &str) -> Result<Value, ComposeError> {
    if h.disable {
        return Ok(json!({ "Test": ["NONE"] }));
    }
    let test = match &h.test {
        None => Vec::new(),
        Some(StringOrList::One(line)) => vec!["CMD-SHELL".to_owned(), line.clone()],
        Some(list) => {
            let l = words(list);
            if !matches!(
                l.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                return Err(ComposeError::at(
                    format!("{path}.test"),
                    "must start with CMD, CMD-SHELL or NONE",
                ));
            }
            l
        }
    };
    let mut out = Map::new();
    if !test.is_empty() {
        out.insert("Test".into(), json!(test));
    }
    for (key, value, name) in [
        ("Interval", &h.interval, "interval"),
        ("Timeout", &h.timeout, "timeout"),
        ("StartPeriod", &h.start_period, "start_period"),
    ] {
        if let Some(ns) = duration(value, &format!("{path}.{name}"))? {
            out.insert(key.into(), json!(ns));
        }
    }
    if let Some(r) = h.retries {
        out.insert("Retries".into(), json!(r));
    }
    Ok(Value::Object(out))
}

fn protocol(p: &str, path: &str) -> Result<String, ComposeError> {
    match p {
        "tcp" | "udp" | "sctp" => Ok(p.to_owned()),
        other => Err(ComposeError::at(
            path,
            format!("unknown protocol {other:?}"),
        )),
    }
}

/// `"[published:]target[/protocol]"` in the long form.
fn short_port(text: &str, path: &str) -> Result<PortLong, ComposeError> {
    let bad = |why: &str| ComposeError::at(path, format!("{text:?}: {why}"));
    let (ports, proto) = match text.split_once('/') {
        Some((p, proto)) => (p, Some(proto.to_owned())),
        None => (text, None),
    };
    if ports.contains('-') {
        return Err(bad("port ranges are not supported"));
    }
    let number = |s: &str| s.parse::<u16>().map_err(|_| bad("not a port number"));
    let (published, target) = match ports.split(':').collect::<Vec<_>>().as_slice() {
        [target] => (None, number(target)?),
        [published, target] => (Some(number(published)?), number(target)?),
        _ => return Err(bad("a host address is not supported on a swarm")),
    };
    Ok(PortLong {
        target,
        published,
        protocol: proto,
        mode: None,
    })
}

fn port(p: &Port, path: &str) -> Result<Value, ComposeError> {
    let long = match p {
        Port::Short(s) => short_port(&s.text(), path)?,
        Port::Long(l) => l.clone(),
    };
    one_of(&long.mode, &["ingress", "host"], &format!("{path}.mode"))?;
    let mut out = json!({
        "Protocol": protocol(long.protocol.as_deref().unwrap_or("tcp"), &format!("{path}.protocol"))?,
        "TargetPort": long.target,
        "PublishMode": long.mode.as_deref().unwrap_or("ingress"),
    });
    if let Some(p) = long.published {
        out["PublishedPort"] = json!(p);
    }
    Ok(out)
}

/// The service's networks: compose key → aliases.
fn service_networks(s: &Service) -> BTreeMap<String, Vec<String>> {
    match &s.networks {
        None => BTreeMap::from([("default".to_owned(), Vec::new())]),
        Some(ServiceNetworks::List(l)) => l.iter().map(|n| (n.clone(), Vec::new())).collect(),
        Some(ServiceNetworks::Map(m)) => m
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    s.as_ref().map(|s| s.aliases.clone()).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// The swarm name of compose network `key`.
fn network_name(file: &ComposeFile, stack: &str, key: &str) -> String {
    match file.networks.get(key) {
        Some(Some(n)) if n.external => n.name.clone().unwrap_or_else(|| key.to_owned()),
        Some(Some(n)) => n.name.clone().unwrap_or_else(|| format!("{stack}_{key}")),
        _ => format!("{stack}_{key}"),
    }
}

fn secret_refs(file: &ComposeFile, s: &Service, path: &str) -> Result<Vec<Value>, ComposeError> {
    let mut out = Vec::new();
    for (i, use_) in s.secrets.iter().enumerate() {
        let (source, target, uid, gid, mode) = match use_ {
            SecretUse::Short(name) => (name, None, None, None, None),
            SecretUse::Long(l) => {
                let mode = l
                    .mode
                    .as_ref()
                    .map(|m| file_mode(m, &format!("{path}[{i}].mode")));
                (
                    &l.source,
                    l.target.clone(),
                    l.uid.clone(),
                    l.gid.clone(),
                    mode.transpose()?,
                )
            }
        };
        let def = file.secrets.get(source).ok_or_else(|| {
            ComposeError::at(
                format!("{path}[{i}]"),
                format!("secret {source:?} is not defined under secrets"),
            )
        })?;
        let name = def.name.clone().unwrap_or_else(|| source.clone());
        out.push(json!({
            "File": {
                "Name": target.unwrap_or_else(|| source.clone()),
                "UID": uid.unwrap_or_else(|| "0".into()),
                "GID": gid.unwrap_or_else(|| "0".into()),
                "Mode": mode.unwrap_or(0o444),
            },
            "SecretName": name,
            "SecretID": "",
        }));
    }
    Ok(out)
}

fn container_spec(
    file: &ComposeFile,
    stack: &str,
    s: &Service,
    image: &str,
    path: &str,
) -> Result<Value, ComposeError> {
    let mut labels = key_values(&s.labels, &format!("{path}.labels"))?;
    labels.insert(NAMESPACE_LABEL.into(), stack.into());
    let env: Vec<String> = key_values(&s.environment, &format!("{path}.environment"))?
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut c = json!({ "Image": image, "Labels": labels });
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            c[key] = v;
        }
    };
    put("Command", s.entrypoint.as_ref().map(|e| json!(words(e))));
    put("Args", s.command.as_ref().map(|a| json!(words(a))));
    put("Env", (!env.is_empty()).then(|| json!(env)));
    put("Dir", s.working_dir.clone().map(Value::from));
    put("User", s.user.clone().map(Value::from));
    put("Hostname", s.hostname.clone().map(Value::from));
    put(
        "StopGracePeriod",
        duration(&s.stop_grace_period, &format!("{path}.stop_grace_period"))?.map(Value::from),
    );
    if let Some(h) = &s.healthcheck {
        put(
            "Healthcheck",
            Some(healthcheck(h, &format!("{path}.healthcheck"))?),
        );
    }
    let secrets = secret_refs(file, s, &format!("{path}.secrets"))?;
    put("Secrets", (!secrets.is_empty()).then(|| json!(secrets)));
    Ok(c)
}

fn mode(s: &Service, path: &str) -> Result<Value, ComposeError> {
    let d = s.deploy.as_ref();
    match d.and_then(|d| d.mode.as_deref()) {
        None | Some("replicated") => {
            Ok(json!({ "Replicated": { "Replicas": d.and_then(|d| d.replicas).unwrap_or(1) } }))
        }
        Some("global") if d.and_then(|d| d.replicas).is_some() => Err(ComposeError::at(
            format!("{path}.deploy.replicas"),
            "a global service has no replica count",
        )),
        Some("global") => Ok(json!({ "Global": {} })),
        Some(other) => Err(ComposeError::at(
            format!("{path}.deploy.mode"),
            format!("{other:?} is not replicated or global"),
        )),
    }
}

/// The `ServiceSpec` of compose service `name`.
fn service_spec(
    file: &ComposeFile,
    stack: &str,
    name: &str,
    image: &str,
    defaults: &(Value, Value),
) -> Result<Value, ComposeError> {
    let path = format!("services.{name}");
    let s = &file.services[name];
    let deploy = s.deploy.as_ref();
    let mut labels = key_values(
        &deploy.and_then(|d| d.labels.clone()),
        &format!("{path}.deploy.labels"),
    )?;
    labels.insert(NAMESPACE_LABEL.into(), stack.into());
    labels.insert(IMAGE_LABEL.into(), image.into());
    let mut networks = Vec::new();
    for (key, aliases) in service_networks(s) {
        if key != "default" && !file.networks.contains_key(&key) {
            return Err(ComposeError::at(
                format!("{path}.networks.{key}"),
                "is not defined under networks",
            ));
        }
        let mut all = vec![name.to_owned()];
        all.extend(aliases);
        networks.push(json!({ "Target": network_name(file, stack, &key), "Aliases": all }));
    }
    let mut template = json!({
        "ContainerSpec": container_spec(file, stack, s, image, &path)?,
        "Networks": networks,
    });
    if let Some(r) = deploy.and_then(|d| d.restart_policy.as_ref()) {
        template["RestartPolicy"] = restart_policy(r, &format!("{path}.deploy.restart_policy"))?;
    }
    let ports = s
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| port(p, &format!("{path}.ports[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut spec = json!({
        "Name": format!("{stack}_{name}"),
        "Labels": labels,
        "TaskTemplate": template,
        "Mode": mode(s, &path)?,
        "UpdateConfig": update_config(&defaults.0, &deploy.and_then(|d| d.update_config.clone()), &format!("{path}.deploy.update_config"), false)?,
        "RollbackConfig": update_config(&defaults.1, &deploy.and_then(|d| d.rollback_config.clone()), &format!("{path}.deploy.rollback_config"), true)?,
        "EndpointSpec": { "Mode": "vip", "Ports": ports },
    });
    let digest = hex::encode(Sha256::digest(spec.to_string().as_bytes()));
    spec["Labels"][SPEC_LABEL] = json!(digest[..16]);
    Ok(spec)
}

fn network_specs(
    file: &ComposeFile,
    stack: &str,
) -> Result<(Vec<(String, Value)>, Vec<String>), ComposeError> {
    let mut used: Vec<String> = file
        .services
        .values()
        .flat_map(|s| service_networks(s).into_keys())
        .collect();
    used.sort();
    used.dedup();
    let (mut create, mut external) = (Vec::new(), Vec::new());
    for key in used {
        let n = file
            .networks
            .get(&key)
            .cloned()
            .flatten()
            .unwrap_or_default();
        let name = network_name(file, stack, &key);
        if n.external {
            external.push(name);
            continue;
        }
        let path = format!("networks.{key}");
        if n.driver.as_deref().is_some_and(|d| d != "overlay") {
            return Err(ComposeError::at(
                format!("{path}.driver"),
                "only overlay networks span a swarm",
            ));
        }
        let mut labels = key_values(&n.labels, &format!("{path}.labels"))?;
        labels.insert(NAMESPACE_LABEL.into(), stack.into());
        let body = json!({
            "Name": name, "Driver": "overlay", "Scope": "swarm",
            "Attachable": n.attachable.unwrap_or(false), "Labels": labels,
        });
        create.push((name, body));
    }
    Ok((create, external))
}

/// Plans stack `stack` from `file`: `app_service` runs `image` (whatever the
/// file says), every other service its own `image`; update and rollback
/// settings are `defaults` (the environment's) with the file's over them.
pub fn plan(
    file: &ComposeFile,
    stack: &str,
    app_service: &str,
    image: &str,
    defaults: &(Value, Value),
) -> Result<StackPlan, ComposeError> {
    if !file.services.contains_key(app_service) {
        return Err(ComposeError::at(
            "services",
            format!("no service {app_service:?} (the app's service) in the file"),
        ));
    }
    let mut services = Vec::new();
    for (name, s) in &file.services {
        let image = if name == app_service {
            image
        } else {
            s.image
                .as_deref()
                .ok_or_else(|| ComposeError::at(format!("services.{name}.image"), "is required"))?
        };
        let full = format!("{stack}_{name}");
        if crate::deploy::docker::engine::check_service(&full).is_err() {
            return Err(ComposeError::at(
                format!("services.{name}"),
                format!("{full:?} is not a Docker service name"),
            ));
        }
        services.push((full, service_spec(file, stack, name, image, defaults)?));
    }
    for (key, def) in &file.secrets {
        if !def.external {
            return Err(ComposeError::at(
                format!("secrets.{key}"),
                "only external secrets are supported (create it with docker secret create)",
            ));
        }
    }
    let mut secrets: Vec<String> = file
        .secrets
        .iter()
        .map(|(k, d)| d.name.clone().unwrap_or_else(|| k.clone()))
        .collect();
    secrets.sort();
    secrets.dedup();
    let (networks, external_networks) = network_specs(file, stack)?;
    Ok(StackPlan {
        stack: stack.to_owned(),
        networks,
        external_networks,
        secrets,
        services,
        app_service: format!("{stack}_{app_service}"),
    })
}
