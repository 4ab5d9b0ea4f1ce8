//! Compose → Engine API: pure functions from a parsed file to the network
//! and service specs `docker stack deploy` would send.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fields::{
    duration, healthcheck, key_values, one_of, port, restart_policy, secret_refs, words,
};
use super::{ComposeError, ComposeFile, Service, ServiceNetworks, UpdateConfig};

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

/// Networks to create (name, create body) and external ones (names).
type Networks = (Vec<(String, Value)>, Vec<String>);

fn network_specs(file: &ComposeFile, stack: &str) -> Result<Networks, ComposeError> {
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
