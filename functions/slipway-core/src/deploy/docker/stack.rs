//! Deploying a stack from a Compose file the way `docker stack deploy` does,
//! level-triggered: read what the stack has (by its namespace label), create
//! what is missing, update what differs, leave the rest alone.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::compose::{NAMESPACE_LABEL, SPEC_LABEL, StackPlan};
use super::engine::{self, Engine};
use super::{DockerEnv, SwarmPhase, SwarmRollout, first_look};
use crate::deploy::{DeployError, StepOutcome, Strategy};
use crate::ports::{HttpClient, HttpRequest};

/// A service of the stack as the Engine has it.
struct Existing {
    id: String,
    version: u64,
    spec_label: Option<String>,
    image: String,
    force_update: u64,
}

pub(super) fn query(filters: &Value) -> String {
    url::form_urlencoded::byte_serialize(filters.to_string().as_bytes()).collect()
}

fn label_filter(stack: &str) -> String {
    query(&json!({ "label": [format!("{NAMESPACE_LABEL}={stack}")] }))
}

pub(super) fn unexpected(what: &str) -> DeployError {
    DeployError::Api {
        service: "docker",
        status: 200,
        message: format!("unexpected answer: {what}"),
    }
}

impl<H: HttpClient> Engine<'_, H> {
    pub(super) async fn get_json(&self, path: &str) -> Result<Value, DeployError> {
        let response = self
            .send(HttpRequest::new("GET", format!("{}{path}", self.base)))
            .await?;
        serde_json::from_slice(&response.body).map_err(|_| unexpected("not JSON"))
    }

    pub(super) async fn post_json(&self, path: &str, body: &Value) -> Result<Value, DeployError> {
        let mut request = HttpRequest::new("POST", format!("{}{path}", self.base)).json(body);
        if let Some(auth) = self.registry_auth {
            request = request.header("x-registry-auth", auth);
        }
        let response = self.send(request).await?;
        Ok(serde_json::from_slice(&response.body).unwrap_or(Value::Null))
    }

    /// The stack's services by name (`GET /services?filters={"label":…}`).
    async fn stack_services(&self, stack: &str) -> Result<BTreeMap<String, Existing>, DeployError> {
        let list = self
            .get_json(&format!("/services?filters={}", label_filter(stack)))
            .await?;
        let mut out = BTreeMap::new();
        for s in list.as_array().ok_or_else(|| unexpected("not a list"))? {
            let text = |p: &str| s.pointer(p).and_then(Value::as_str).map(str::to_owned);
            let (Some(name), Some(id)) = (text("/Spec/Name"), text("/ID")) else {
                return Err(unexpected("a service without ID or Name"));
            };
            let version = s.pointer("/Version/Index").and_then(Value::as_u64);
            out.insert(
                name,
                Existing {
                    id,
                    version: version.ok_or_else(|| unexpected("no Version.Index"))?,
                    spec_label: s
                        .pointer("/Spec/Labels")
                        .and_then(|l| l.get(SPEC_LABEL))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    image: text("/Spec/TaskTemplate/ContainerSpec/Image").unwrap_or_default(),
                    force_update: s
                        .pointer("/Spec/TaskTemplate/ForceUpdate")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                },
            );
        }
        Ok(out)
    }

    /// Creates the stack's networks that are missing; checks external ones.
    async fn ensure_networks(&self, plan: &StackPlan) -> Result<(), DeployError> {
        let list = self
            .get_json(&format!("/networks?filters={}", label_filter(&plan.stack)))
            .await?;
        let have: Vec<&str> = list
            .as_array()
            .ok_or_else(|| unexpected("not a list"))?
            .iter()
            .filter_map(|n| n.get("Name").and_then(Value::as_str))
            .collect();
        for (name, body) in &plan.networks {
            if have.contains(&name.as_str()) {
                continue;
            }
            match self.post_json("/networks/create", body).await {
                // Created meanwhile, or there without the stack's label: use it.
                Err(DeployError::Api { status: 409, .. }) | Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        for name in &plan.external_networks {
            match self
                .get_json(&format!("/networks/{}", query_segment(name)))
                .await
            {
                Err(DeployError::Api { status: 404, .. }) => {
                    return Err(DeployError::Config(format!(
                        "external network {name:?} does not exist"
                    )));
                }
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Swarm secret IDs by name (`GET /secrets?filters={"name":…}`).
    async fn secret_ids(&self, names: &[String]) -> Result<BTreeMap<String, String>, DeployError> {
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let list = self
            .get_json(&format!(
                "/secrets?filters={}",
                query(&json!({ "name": names }))
            ))
            .await?;
        let mut ids = BTreeMap::new();
        for s in list.as_array().ok_or_else(|| unexpected("not a list"))? {
            let name = s.pointer("/Spec/Name").and_then(Value::as_str);
            let id = s.get("ID").and_then(Value::as_str);
            // The name filter matches prefixes: keep exact names only.
            if let (Some(name), Some(id)) = (name, id)
                && names.iter().any(|n| n == name)
            {
                ids.insert(name.to_owned(), id.to_owned());
            }
        }
        if let Some(missing) = names.iter().find(|n| !ids.contains_key(*n)) {
            return Err(DeployError::Config(format!(
                "secret {missing:?} does not exist in the swarm (docker secret create)"
            )));
        }
        Ok(ids)
    }
}

fn query_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

/// `spec` with the `SecretID` of every secret reference filled in.
fn with_secret_ids(spec: &Value, ids: &BTreeMap<String, String>) -> Value {
    let mut spec = spec.clone();
    if let Some(list) = spec
        .pointer_mut("/TaskTemplate/ContainerSpec/Secrets")
        .and_then(Value::as_array_mut)
    {
        for s in list {
            let id = s
                .get("SecretName")
                .and_then(Value::as_str)
                .and_then(|n| ids.get(n))
                .cloned()
                .unwrap_or_default();
            s["SecretID"] = json!(id);
        }
    }
    spec
}

/// What happened to one service.
struct Applied {
    id: String,
    /// Version after our change (or as found, when unchanged).
    version: u64,
    /// The image before (empty for a new service).
    previous_image: String,
}

/// Creates or updates one service to `spec`; retries once when another
/// change got in between the read and the update.
async fn apply_service<H: HttpClient>(
    engine: &Engine<'_, H>,
    stack: &str,
    name: &str,
    spec: &Value,
    existing: Option<Existing>,
) -> Result<Applied, DeployError> {
    let wanted = spec
        .pointer(&format!("/Labels/{SPEC_LABEL}"))
        .and_then(Value::as_str);
    let Some(mut current) = existing else {
        let created = engine.post_json("/services/create", spec).await?;
        let id = created
            .get("ID")
            .and_then(Value::as_str)
            .ok_or_else(|| unexpected("no ID"))?;
        let view = engine.inspect(id).await?;
        return Ok(Applied {
            id: id.to_owned(),
            version: view.version,
            previous_image: String::new(),
        });
    };
    if current.spec_label.as_deref() == wanted && wanted.is_some() {
        return Ok(Applied {
            id: current.id,
            version: current.version,
            previous_image: current.image,
        });
    }
    for attempt in 0..2 {
        let mut spec = spec.clone();
        // Keep the force counter: lowering it is refused by nothing but
        // would make a later forced update a no-op.
        spec["TaskTemplate"]["ForceUpdate"] = json!(current.force_update);
        match engine
            .update(&current.id, current.version, &spec, false)
            .await
        {
            Ok(()) => {
                return Ok(Applied {
                    id: current.id,
                    version: current.version.saturating_add(1),
                    previous_image: current.image,
                });
            }
            Err(e) if attempt == 0 && engine::is_out_of_sequence(&e) => {
                current = engine
                    .stack_services(stack)
                    .await?
                    .remove(name)
                    .ok_or_else(|| {
                        DeployError::Config(format!("service {name} vanished during the update"))
                    })?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(DeployError::Config(format!(
        "service {name} kept changing during the update"
    )))
}

/// Deploys `plan` and follows its app service as the rollout.
///
/// Sends `GET /networks?filters={"label":["com.docker.stack.namespace=<stack>"]}`
/// and `POST /networks/create` for each missing network (overlay, labelled),
/// `GET /networks/{name}` for external ones, `GET /secrets?filters=…` to
/// resolve secret names, `GET /services?filters={"label":…}`, then for each
/// service `POST /services/create` when missing or `POST /services/{ID}/
/// update?version={Version.Index}` when its spec digest label differs (the
/// app's service last). The rollout is the app's service's, as in [`super::start`].
#[allow(clippy::too_many_arguments)]
pub async fn start(
    http: &impl HttpClient,
    env: &DockerEnv,
    token: Option<&str>,
    registry_auth: Option<&str>,
    plan: &StackPlan,
    image: &str,
    strategy: &Strategy,
    now_ms: u64,
) -> Result<(SwarmRollout, StepOutcome), DeployError> {
    super::stack_rolling_only(strategy)?;
    let engine = super::engine(http, env, token, registry_auth)?;
    engine.ensure_networks(plan).await?;
    let ids = engine.secret_ids(&plan.secrets).await?;
    let mut existing = engine.stack_services(&plan.stack).await?;
    let (app, others): (Vec<_>, Vec<_>) = plan
        .services
        .iter()
        .partition(|(n, _)| *n == plan.app_service);
    let mut app_result = None;
    for (name, spec) in others.into_iter().chain(app) {
        let spec = with_secret_ids(spec, &ids);
        let applied =
            apply_service(&engine, &plan.stack, name, &spec, existing.remove(name)).await?;
        if *name == plan.app_service {
            app_result = Some(applied);
        }
    }
    let app = app_result
        .ok_or_else(|| DeployError::Config("the app's service is not in the stack".into()))?;
    let mut rollout = SwarmRollout {
        service: plan.app_service.clone(),
        service_id: app.id,
        image: image.to_owned(),
        previous_image: app.previous_image,
        version: app.version,
        started_at_ms: now_ms,
        phase: SwarmPhase::Updating,
        progressive: None,
    };
    let outcome = first_look(&engine, &mut rollout, now_ms).await;
    Ok((rollout, outcome))
}
