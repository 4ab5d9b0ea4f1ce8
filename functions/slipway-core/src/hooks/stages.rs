//! Starting the stages of a run whose needs are met: build stages on their
//! build service, approval stages as waiting. Each start is claimed with a
//! compare-and-swap first, so concurrent requests start a stage once.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{CALLBACK_SECRET, Deps};
use crate::builders::{BuildJob, RetryPolicy, TriggerOutcome, trigger_with_retry};
use crate::pipeline::StageKind;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{RunRecord, RunStore, StageStatus, StoreError};

/// A start claim older than this is presumed abandoned.
pub const START_CLAIM_TTL_MS: u64 = 60_000;
/// Keep this much of the budget for writing results and answering.
const BUDGET_MARGIN_MS: u64 = 1_000;
/// Timeout of one trigger call.
const TRIGGER_CALL_TIMEOUT_MS: u64 = 3_000;

/// The token a build presents when it calls back for `stage` of `run` at
/// `attempt`: HMAC-SHA256 under the callback secret, hex.
pub fn callback_token(secret: &str, run: &str, stage: &str, attempt: u32) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("slipway-callback\n{run}\n{stage}\n{attempt}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Starts every ready stage of run `id`, spending at most until
/// `deadline_ms`; trigger retries that do not fit are left to the tick.
/// Returns the run as stored afterwards.
pub async fn start_ready_stages<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    id: &str,
    deadline_ms: u64,
) -> Result<RunRecord, StoreError>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let runs = RunStore::new(deps.kv);
    let mut run = runs
        .load(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
    let Some(pipeline) = run.pipeline.clone() else {
        return Ok(run);
    };
    for name in run.ready_stages() {
        let Some(stage) = pipeline.stage(&name) else {
            continue;
        };
        let attempt = run.stages.get(&name).map_or(1, |s| s.attempt);
        let now = deps.clock.now_ms();
        let (_, claimed, _) = runs
            .update(id, |r| {
                r.claim_start(&name, attempt, now, START_CLAIM_TTL_MS)
            })
            .await?;
        if !claimed {
            continue;
        }
        run = match &stage.kind {
            StageKind::Approval { .. } => {
                runs.update(id, |r| r.stage_started(&name, attempt, now, None, None))
                    .await?
                    .0
            }
            StageKind::Build {
                service,
                job,
                params,
            } => {
                start_build(
                    deps,
                    &run,
                    &name,
                    attempt,
                    service,
                    job,
                    params,
                    stage.retries,
                    deadline_ms,
                )
                .await?
            }
            StageKind::Deploy { .. } => start_deploy(deps, &run, &name, attempt).await?,
        };
    }
    Ok(run)
}

/// Ends `stage` of run `id` as failed, with `reason`.
async fn fail_stage<K: KeyValue>(
    kv: &K,
    now_ms: u64,
    id: &str,
    stage: &str,
    attempt: u32,
    reason: String,
) -> Result<RunRecord, StoreError> {
    RunStore::new(kv)
        .update(id, |r| {
            r.stage_finished(
                stage,
                attempt,
                StageStatus::Failed,
                now_ms,
                Some(reason.clone()),
            )
        })
        .await
        .map(|(r, _, _)| r)
}

#[allow(clippy::too_many_arguments)]
async fn start_build<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
    service_name: &str,
    job: &str,
    params: &std::collections::BTreeMap<String, String>,
    retries: u32,
    deadline_ms: u64,
) -> Result<RunRecord, StoreError>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let runs = RunStore::new(deps.kv);
    let fail =
        |reason: String| fail_stage(deps.kv, deps.clock.now_ms(), &run.id, name, attempt, reason);
    let Some(service) = deps.config.build_services.get(service_name) else {
        return fail(format!("unknown build service {service_name:?}")).await;
    };
    let Some(callback_secret) = deps.secrets.get(CALLBACK_SECRET).await else {
        return fail(format!("the {CALLBACK_SECRET} variable is not set")).await;
    };
    let secret = match service.token_secret() {
        Some(var) => match deps.secrets.get(var).await {
            Some(s) => Some(s),
            None => return fail(format!("the {var} variable is not set")).await,
        },
        None => None,
    };
    let token = callback_token(&callback_secret, &run.id, name, attempt);
    let callback_url = format!(
        "{}/callbacks/{}/{}",
        deps.config.public_base(),
        run.id,
        name
    );
    let build = BuildJob {
        service,
        job,
        params,
        repo: &run.trigger.repo,
        clone_url: run.trigger.clone_url.as_deref(),
        git_ref: &run.trigger.git_ref,
        commit: &run.trigger.commit,
        run_id: &run.id,
        stage: name,
        attempt,
        callback_url: &callback_url,
        callback_token: &token,
    };
    let now = deps.clock.now_ms();
    let policy = RetryPolicy {
        max_attempts: retries + 1,
        base_delay_ms: 200,
        max_delay_ms: 60_000,
        call_timeout_ms: TRIGGER_CALL_TIMEOUT_MS,
        budget_ms: deadline_ms
            .saturating_sub(now)
            .saturating_sub(BUDGET_MARGIN_MS),
    };
    let calls_made = run.stages.get(name).map_or(0, |s| s.trigger_calls);
    let outcome = trigger_with_retry(
        deps.http,
        deps.clock,
        &build,
        secret.as_deref(),
        &policy,
        calls_made,
    )
    .await;
    let now = deps.clock.now_ms();
    let (record, _, _) = match outcome {
        TriggerOutcome::Started {
            external_id, url, ..
        } => {
            if let Some(id) = &external_id {
                let key = crate::progress::external_key(service.kind(), id);
                let entry = format!("{}\n{name}\n{attempt}", run.id);
                let _ = deps.kv.set(&key, entry.as_bytes()).await;
            }
            runs.update(&run.id, |r| {
                r.stage_started(name, attempt, now, external_id.clone(), url.clone())
            })
            .await?
        }
        TriggerOutcome::Failed { reason, .. } => {
            runs.update(&run.id, |r| {
                r.stage_finished(
                    name,
                    attempt,
                    StageStatus::Failed,
                    now,
                    Some(reason.clone()),
                )
            })
            .await?
        }
        TriggerOutcome::Deferred {
            attempts,
            next_attempt_at_ms,
            last_error,
        } => {
            runs.update(&run.id, |r| {
                r.stage_trigger_deferred(name, attempt, attempts, next_attempt_at_ms, &last_error)
            })
            .await?
        }
    };
    Ok(record)
}

/// Time before a deploy stage waiting for a busy environment tries again.
const ENVIRONMENT_BUSY_RETRY_MS: u64 = 30_000;

/// Starts a deploy stage with the image an earlier stage reported: asks
/// for a deployment holding the stage's identity, which reports back when
/// it ends. A busy environment defers the stage to a later tick.
async fn start_deploy<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
) -> Result<RunRecord, StoreError>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    use crate::deploy::records::StageLink;
    use crate::deploy::service::{self, DeployRequest, Refusal};

    let runs = RunStore::new(deps.kv);
    let now = deps.clock.now_ms();
    let fail = |reason: String| fail_stage(deps.kv, now, &run.id, name, attempt, reason);
    let Some(StageKind::Deploy {
        app,
        environment,
        strategy,
        steps,
        hold_ms,
    }) = run
        .pipeline
        .as_ref()
        .and_then(|p| p.stage(name))
        .map(|s| s.kind.clone())
    else {
        return Ok(run.clone());
    };
    let Some(image) = run.image_for(name) else {
        return fail("no earlier stage reported an image to deploy".into()).await;
    };
    let strategy = match crate::deploy::api::strategy(
        &strategy,
        Some(steps).filter(|s| !s.is_empty()),
        hold_ms,
    ) {
        Ok(s) => s,
        Err(e) => return fail(e).await,
    };
    let reference = match &image.digest {
        Some(d) => format!("{}@{d}", image.reference),
        None => image.reference.clone(),
    };
    // Mark the stage as started first, so the deployment's report finds it.
    let (mut record, _, _) = runs
        .update(&run.id, |r| {
            let started = r.stage_started(name, attempt, now, None, None)?;
            if let Some(stage) = r.stages.get_mut(name) {
                stage.image = Some(image.clone());
            }
            Ok(started)
        })
        .await?;
    let request = DeployRequest {
        app: app.unwrap_or_else(|| run.app.clone()),
        environment,
        image: reference,
        strategy,
        requested_by: format!("run:{}", run.id),
        stage: Some(StageLink {
            run: run.id.clone(),
            stage: name.to_owned(),
            attempt,
        }),
    };
    let reason = match service::request(deps, request).await {
        Ok(deployment) => {
            if let Ok((r, _, _)) = runs
                .update(&run.id, |r| {
                    r.stage_moved(name, attempt, &deployment.id, None)
                })
                .await
            {
                record = r;
            }
            return Ok(runs.load(&run.id).await?.unwrap_or(record));
        }
        Err(Refusal::Busy(lock)) => {
            let holder = lock.holder.unwrap_or_default();
            let (r, _, _) = runs
                .update(&run.id, |r| {
                    r.stage_requeued(
                        name,
                        attempt,
                        now + ENVIRONMENT_BUSY_RETRY_MS,
                        &format!("environment busy: {holder} holds it"),
                    )
                })
                .await?;
            return Ok(r);
        }
        Err(
            Refusal::BadRequest(m)
            | Refusal::NotFound(m)
            | Refusal::Conflict(m)
            | Refusal::Unavailable(m),
        ) => m,
    };
    fail(reason).await
}
