//! `POST /api/tick`: called every minute by any scheduler. Retries build
//! triggers that are due, asks build services about running stages whose
//! callback is overdue, and times out stages past their timeout.

use serde_json::json;

use super::retry::authorized;
use crate::builders::{
    BuildServiceConfig, BuildState, QueueState, interpret_queue_item, interpret_status,
    queue_item_request, status_request,
};
use crate::hooks::{Deps, Reply, start_ready_stages};
use crate::pipeline::StageKind;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{Report, RunRecord, RunStore, StageStatus};

/// How many of each app's newest runs a tick looks at.
pub const TICK_WINDOW: u64 = 50;
/// Timeout of one status call to a build service.
const POLL_TIMEOUT_MS: u64 = 3_000;

/// What one tick did.
#[derive(Debug, Default)]
struct TickSummary {
    runs_checked: u64,
    polled: u64,
    completed: u64,
    timed_out: u64,
    started: u64,
}

/// Handles a tick.
pub async fn handle_tick<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, headers: &Headers) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if let Err(reply) = authorized(deps.secrets, headers).await {
        return reply;
    }
    let mut summary = TickSummary::default();
    let runs = RunStore::new(deps.kv);
    for app in deps.config.apps.keys() {
        let latest = match deps.kv.get(&format!("app/{app}/runs")).await {
            Ok(Some(_)) => deps
                .kv
                .increment(&format!("app/{app}/runs"), 0)
                .await
                .unwrap_or(0),
            _ => 0,
        };
        let latest = latest.max(0) as u64;
        for number in latest.saturating_sub(TICK_WINDOW - 1).max(1)..=latest {
            let id = crate::runs::run_id(app, number);
            let Ok(Some(run)) = runs.load(&id).await else {
                continue;
            };
            if run.status.is_terminal() {
                continue;
            }
            summary.runs_checked += 1;
            tick_run(deps, &run, &mut summary).await;
        }
    }
    let deployments = crate::deploy::service::tick(deps).await;
    Reply {
        status: 200,
        body: json!({
            "deployments": deployments,
            "runs_checked": summary.runs_checked,
            "polled": summary.polled,
            "completed": summary.completed,
            "timed_out": summary.timed_out,
            "started": summary.started,
        }),
    }
}

async fn tick_run<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    summary: &mut TickSummary,
) where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(pipeline) = &run.pipeline else {
        return;
    };
    let now = deps.clock.now_ms();
    for stage in &pipeline.stages {
        let Some(record) = run.stages.get(&stage.name) else {
            continue;
        };
        if !matches!(
            record.status,
            StageStatus::Running | StageStatus::WaitingForApproval
        ) {
            continue;
        }
        let Some(started) = record.started_at_ms else {
            continue;
        };
        let elapsed = now.saturating_sub(started);
        let report = if elapsed > stage.timeout_ms {
            summary.timed_out += 1;
            Some(Report {
                status: Some(StageStatus::TimedOut),
                message: Some(format!("no result within {} s", stage.timeout_ms / 1000)),
                ..Report::default()
            })
        } else if elapsed >= deps.config.tick.poll_after_ms()
            && let StageKind::Build { service, .. } = &stage.kind
            && let Some(external_id) = &record.external_id
        {
            summary.polled += 1;
            poll(deps, run, &stage.name, record.attempt, service, external_id).await
        } else {
            None
        };
        if let Some(report) = report
            && let Ok((_, true)) =
                super::report_and_advance(deps, &run.id, &stage.name, record.attempt, report).await
        {
            summary.completed += 1;
        }
    }
    // Trigger retries that have come due.
    let due = run.stages.values().any(|s| {
        s.status == StageStatus::Queued && s.next_trigger_at_ms.is_some_and(|at| at <= now)
    });
    if due
        && let Ok(after) = start_ready_stages(deps, &run.id, now + super::FOLLOW_UP_BUDGET_MS).await
    {
        summary.started += after
            .stages
            .iter()
            .filter(|(n, s)| {
                s.status != StageStatus::Queued
                    && run
                        .stages
                        .get(*n)
                        .is_some_and(|b| b.status == StageStatus::Queued)
            })
            .count() as u64;
    }
}

/// Asks the build service how the build is doing. A Jenkins queue item is
/// followed to its build first, and the stage remembers the build.
async fn poll<K: KeyValue, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    stage: &str,
    attempt: u32,
    service_name: &str,
    external_id: &str,
) -> Option<Report> {
    let service = deps.config.build_services.get(service_name)?;
    let secret = match service.status_token_secret() {
        Some(name) => deps.secrets.get(name).await,
        None => None,
    };
    let mut external_id = external_id.to_owned();
    if matches!(service, BuildServiceConfig::Jenkins(_)) && external_id.contains("/queue/item/") {
        let request = queue_item_request(service, &external_id, secret.as_deref()).ok()?;
        let response = deps.http.send(request, POLL_TIMEOUT_MS).await.ok()?;
        match interpret_queue_item(service, &response).ok()? {
            QueueState::Waiting { .. } => return None,
            QueueState::Cancelled => {
                return Some(Report {
                    status: Some(StageStatus::Cancelled),
                    message: Some("cancelled in the Jenkins queue".into()),
                    ..Report::default()
                });
            }
            QueueState::Started { url, .. } => {
                let _ = RunStore::new(deps.kv)
                    .update(&run.id, |r| {
                        r.stage_moved(stage, attempt, &url, Some(url.clone()))
                    })
                    .await;
                external_id = url;
            }
        }
    }
    let request = status_request(service, &external_id, secret.as_deref()).ok()?;
    let response = deps.http.send(request, POLL_TIMEOUT_MS).await.ok()?;
    let state = match interpret_status(service, &response) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("polling {service_name}: {e}");
            return None;
        }
    };
    let (status, message) = match state {
        BuildState::Running => return None,
        BuildState::Succeeded => (StageStatus::Succeeded, None),
        BuildState::Failed(why) => (StageStatus::Failed, Some(why)),
        BuildState::Cancelled => (
            StageStatus::Cancelled,
            Some("cancelled on the build service".into()),
        ),
    };
    Some(Report {
        status: Some(status),
        message,
        ..Report::default()
    })
}
