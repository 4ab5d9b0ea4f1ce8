//! Build stages: triggering a build and asking about a silent one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::super::apply::Outcome;
use super::retry_later;
use crate::builders::{
    BuildJob, BuildServiceConfig, BuildState, QueueState, RetryPolicy, TriggerOutcome,
    interpret_queue_item, interpret_status, queue_item_request, status_request, trigger_with_retry,
};
use crate::config::ControlPlane;
use crate::engine::{CALLBACK_SECRET, Deps};
use crate::intents::Claimed;
use crate::pipeline::StageKind;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{BuildIndex, BuildRef, Report, RunRecord, StageStatus};

/// Timeout of one call to a build service (slow services answer in
/// seconds; the intent's lease is far longer).
const BUILD_CALL_TIMEOUT_MS: u64 = 15_000;

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

/// Starts `stage`'s build. The build's parameters carry the run, stage
/// and attempt, so a build service (or the person reading it) can tell a
/// second trigger of the same attempt, the one duplicate the intent
/// protocol allows.
pub(super) async fn trigger<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
    claim: &Claimed,
) -> Outcome
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(StageKind::Build {
        service,
        job,
        params,
    }) = run
        .pipeline
        .as_ref()
        .and_then(|p| p.stage(name))
        .map(|s| &s.kind)
    else {
        return Outcome::StageFailed(format!("stage {name:?} is not a build"));
    };
    let Some(config) = deps.config.build_services.get(service) else {
        return Outcome::StageFailed(format!("unknown build service {service:?}"));
    };
    let Some(callback_secret) = deps.secrets.get(CALLBACK_SECRET).await else {
        return Outcome::StageFailed(format!("the {CALLBACK_SECRET} variable is not set"));
    };
    let secret = match config.token_secret() {
        Some(var) => match deps.secrets.get(var).await {
            Some(s) => Some(s),
            None => return Outcome::StageFailed(format!("the {var} variable is not set")),
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
        service: config,
        job,
        params,
        repo: &run.trigger.repo,
        clone_url: run.trigger.clone_url.as_deref(),
        git_ref: &run.trigger.git_ref,
        source_repo: run.trigger.source_repo(),
        source_clone_url: run.trigger.source_clone_url(),
        source_ref: run.trigger.source_ref(),
        target_branch: run.trigger.target_branch.as_deref(),
        commit: &run.trigger.commit,
        run_id: &run.id,
        stage: name,
        attempt,
        callback_url: &callback_url,
        callback_token: &token,
    };
    // One call per try: retries are the intent's, with its backoff.
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay_ms: 1_000,
        max_delay_ms: 300_000,
        call_timeout_ms: BUILD_CALL_TIMEOUT_MS,
        budget_ms: BUILD_CALL_TIMEOUT_MS,
    };
    let before = claim.tries.saturating_sub(1);
    match trigger_with_retry(
        deps.http,
        deps.clock,
        &build,
        secret.as_deref(),
        &policy,
        before,
    )
    .await
    {
        TriggerOutcome::Started {
            external_id, url, ..
        } => Outcome::Triggered { external_id, url },
        TriggerOutcome::Failed { reason, .. } => Outcome::StageFailed(reason),
        TriggerOutcome::Deferred { last_error, .. } => retry_later(deps.clock, claim, last_error),
    }
}

/// The build service `stage` of `run` runs on.
fn build_service<'c>(
    config: &'c ControlPlane,
    run: &RunRecord,
    stage: &str,
) -> Option<&'c BuildServiceConfig> {
    match &run.pipeline.as_ref()?.stage(stage)?.kind {
        StageKind::Build { service, .. } => config.build_services.get(service),
        _ => None,
    }
}

/// Indexes the build `external_id` that `stage` started, so build status
/// webhooks find it. Written after the run recorded the start (the shorter
/// the time between the trigger and that record, the smaller the window in
/// which a crash makes a second trigger); if lost, the tick polls instead.
pub async fn index_build<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
    external_id: &str,
) {
    let service = build_service(deps.config, run, name);
    let Some(service) = service else { return };
    let target = BuildRef {
        run: run.id.clone(),
        stage: name.to_owned(),
        attempt,
    };
    if let Err(e) = BuildIndex::new(deps.kv)
        .put(service.kind(), external_id, &target)
        .await
    {
        eprintln!("run {}: build index for {name} not written: {e}", run.id);
    }
}

/// Asks the build service how `stage`'s build is doing. A Jenkins queue
/// item is followed to its build first.
pub(super) async fn poll<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
) -> Outcome
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let nothing = Outcome::Polled {
        report: None,
        moved: None,
    };
    let stage = run.stages.get(name);
    let service = build_service(deps.config, run, name);
    let (Some(service), Some(mut external_id)) =
        (service, stage.and_then(|s| s.external_id.clone()))
    else {
        return nothing;
    };
    let secret = match service.status_token_secret() {
        Some(name) => deps.secrets.get(name).await,
        None => None,
    };
    let mut moved = None;
    if matches!(service, BuildServiceConfig::Jenkins(_)) && external_id.contains("/queue/item/") {
        match follow_queue(deps, service, &external_id, secret.as_deref()).await {
            Some(QueueState::Started { url, .. }) => {
                index_build(deps, run, name, attempt, &url).await;
                external_id = url.clone();
                moved = Some((url.clone(), Some(url)));
            }
            Some(QueueState::Cancelled) => {
                let report = terminal(
                    StageStatus::Cancelled,
                    Some("cancelled in the Jenkins queue".into()),
                );
                return Outcome::Polled {
                    report: Some(report),
                    moved: None,
                };
            }
            Some(QueueState::Waiting { .. }) | None => return nothing,
        }
    }
    let Ok(request) = status_request(service, &external_id, secret.as_deref()) else {
        return Outcome::Polled {
            report: None,
            moved,
        };
    };
    let state = match deps.http.send(request, BUILD_CALL_TIMEOUT_MS).await {
        Ok(response) => interpret_status(service, &response),
        Err(_) => {
            return Outcome::Polled {
                report: None,
                moved,
            };
        }
    };
    let report = match state {
        Ok(BuildState::Running) | Err(_) => None,
        Ok(BuildState::Succeeded) => Some(terminal(StageStatus::Succeeded, None)),
        Ok(BuildState::Failed(why)) => Some(terminal(StageStatus::Failed, Some(why))),
        Ok(BuildState::Cancelled) => Some(terminal(
            StageStatus::Cancelled,
            Some("cancelled on the build service".into()),
        )),
    };
    Outcome::Polled { report, moved }
}

async fn follow_queue<K, H: HttpClient, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    service: &BuildServiceConfig,
    queue_url: &str,
    secret: Option<&str>,
) -> Option<QueueState> {
    let request = queue_item_request(service, queue_url, secret).ok()?;
    let response = deps.http.send(request, BUILD_CALL_TIMEOUT_MS).await.ok()?;
    interpret_queue_item(service, &response).ok()
}

fn terminal(status: StageStatus, message: Option<String>) -> Report {
    Report {
        status: Some(status),
        message,
        ..Report::default()
    }
}
