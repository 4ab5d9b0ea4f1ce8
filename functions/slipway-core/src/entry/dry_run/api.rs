//! `POST /api/dry-run`: the same plan as `slipway replay`, for a UI or a
//! pre-merge check. The body is `{"provider", "headers": {name: value},
//! "body": "<the delivery's body as sent>", "pipeline": "<pipeline file>",
//! "base_pipeline": "<the target branch's pipeline file>"}` (with both
//! files, the plan says which stages the change adds, drops and changes);
//! the signature is checked with the app's configured webhook secret. The
//! caller needs a token (or session) with the viewer role for each app the
//! delivery maps to. Nothing is called and nothing is written.

use serde::Deserialize;
use serde_json::json;

use super::{Delivery, WebhookSecret, dry_run, secret_name};
use crate::access::Role;
use crate::engine::Deps;
use crate::entry::Reply;
use crate::entry::auth::{Need, authenticate, permit};
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::{Headers, Provider};

/// Largest request accepted (a webhook body and a pipeline file).
pub const MAX_DRY_RUN_BYTES: usize = 26 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRunRequest {
    provider: String,
    #[serde(default)]
    headers: Headers,
    body: String,
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    base_pipeline: Option<String>,
}

/// Answers the plan (200), or 400/401/403 writing nothing but a failed
/// authentication's count.
pub async fn handle_dry_run<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    headers: &Headers,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let actor = match authenticate(deps, headers).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    let request: DryRunRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return Reply::error(400, format!("malformed request: {e}")),
    };
    let Some(provider) = Provider::from_path_segment(&request.provider) else {
        return Reply::error(400, format!("unknown provider {:?}", request.provider));
    };
    let delivery = Delivery {
        provider: Some(request.provider.clone()),
        headers: request
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body: request.body.into_bytes(),
        reserialized: false,
    };
    let secret = match secret_name(deps.config, provider, &delivery) {
        None => WebhookSecret::Unavailable(format!(
            "no webhook secret is configured for {}: the webhook would answer 401",
            request.provider
        )),
        Some(name) => match deps.secrets.get(&name).await {
            Some(value) if !value.is_empty() => WebhookSecret::Value(value),
            _ => WebhookSecret::Unavailable(format!("the variable {name} is not set")),
        },
    };
    let plan = dry_run(
        deps.config,
        provider,
        &delivery,
        &secret,
        request.pipeline.as_deref(),
        deps.clock.now_ms(),
    );
    let plan = match (&request.pipeline, &request.base_pipeline) {
        (Some(head), Some(base)) => match plan.against_base(head, Some(base)) {
            Ok(plan) => plan,
            Err(why) => return Reply::error(400, why),
        },
        _ => plan,
    };
    for run in plan.events.iter().filter_map(|e| e.run.as_ref()) {
        let need = Need {
            role: Role::Viewer,
            app: &run.app,
            environment: None,
        };
        if let Err(reply) = permit(&deps.config.access, &actor, need) {
            return reply;
        }
    }
    Reply::new(200, json!(plan))
}
