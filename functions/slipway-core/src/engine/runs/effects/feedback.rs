//! Telling people: commit statuses on the provider, the branch's outcome
//! record, and chat notices.

use super::super::apply::Outcome;
use super::super::statuses::{self, desired_statuses};
use super::{delivered, retry_later};
use crate::builders::TestSummary;
use crate::engine::Deps;
use crate::engine::chat::{reply_to, send_to_target};
use crate::engine::repo::{PROVIDER_CALL_TIMEOUT_MS, repo_api};
use crate::intents::Claimed;
use crate::notify::{Notice, NotifyOn};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::{self, Provider};
use crate::runs::{BranchOutcomes, RunRecord, RunStatus, StageStatus};

/// Posts the status `context` should show now.
pub(super) async fn post_status<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    context: &str,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(status) = desired_statuses(run, deps.config.public_base())
        .into_iter()
        .find(|s| s.context == context)
    else {
        return Outcome::Posted("not wanted".into());
    };
    let key = statuses::key(&status);
    let Some(provider) = Provider::from_path_segment(&run.trigger.provider) else {
        return Outcome::Posted(key);
    };
    let api = repo_api(deps, provider).await;
    let Some(request) = providers::status_request(
        &api,
        run.trigger.commit_repo(),
        &run.trigger.commit,
        &status,
    ) else {
        // The provider has no status API (Gitee).
        return Outcome::Posted(key);
    };
    match deps.http.send(request, PROVIDER_CALL_TIMEOUT_MS).await {
        Ok(response) => match providers::interpret_status_response(&api, &response) {
            Ok(()) => Outcome::Posted(key),
            Err(e) => retry_later(deps.clock, claim, e.to_string()),
        },
        Err(e) => retry_later(deps.clock, claim, format!("commit status not sent: {e}")),
    }
}

pub(super) fn branch(run: &RunRecord) -> &str {
    let r = &run.trigger.git_ref;
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
}

/// Records the run's outcome on its branch and learns the one before.
pub(super) async fn record_outcome<K: KeyValue, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> Outcome {
    let outcome = if run.status == RunStatus::Succeeded {
        "succeeded"
    } else {
        "failed"
    };
    match BranchOutcomes::new(deps.kv)
        .record(&run.app, branch(run), run.number, outcome)
        .await
    {
        Ok(previous) => Outcome::BranchRecorded(previous),
        Err(e) => retry_later(deps.clock, claim, e.to_string()),
    }
}

/// Sends notice `on` to chat target `index` of the run's app.
pub(super) async fn notify<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    on: NotifyOn,
    index: usize,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let notice = notice(run, on, deps.config.public_base());
    delivered(
        deps.clock,
        claim,
        send_to_target(deps, &run.app, index, &notice).await,
    )
}

/// Reports the run's end to chat channel `index` a command left on it.
pub(super) async fn reply<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    index: usize,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(pending) = run.replies.get(index) else {
        return Outcome::Noticed;
    };
    let text = crate::chat::lines::run_line(run);
    delivered(deps.clock, claim, reply_to(deps, pending, text).await)
}

/// The notice for a run that ended.
fn notice(run: &RunRecord, on: NotifyOn, public_base: &str) -> Notice {
    let short = run.trigger.commit.get(..8).unwrap_or(&run.trigger.commit);
    let mut lines = vec![format!("{} @ {short}", branch(run))];
    let title = match on {
        NotifyOn::Failure => failure_title(run, &mut lines),
        NotifyOn::Fixed => format!("{} #{} passed again", run.app, run.number),
        NotifyOn::Deploy => format!("{} #{} deployed", run.app, run.number),
        NotifyOn::Approval => format!("{} #{} waits for approval", run.app, run.number),
    };
    Notice {
        on,
        app: run.app.clone(),
        run_id: run.id.clone(),
        run_number: run.number,
        title,
        lines,
        link: Some(format!("{public_base}/api/runs/{}", run.id)),
        actions: Vec::new(),
    }
}

fn failure_title(run: &RunRecord, lines: &mut Vec<String>) -> String {
    let failed = run
        .stages
        .iter()
        .find(|(_, s)| matches!(s.status, StageStatus::Failed | StageStatus::TimedOut));
    let Some((name, stage)) = failed else {
        if let Some(e) = &run.error {
            lines.push(e.clone());
        }
        return format!("{} #{} failed", run.app, run.number);
    };
    if let Some(reason) = &stage.reason {
        lines.push(reason.clone());
    }
    if let Some(tests) = stage
        .tests
        .as_ref()
        .and_then(|t| serde_json::from_value::<TestSummary>(t.clone()).ok())
    {
        lines.push(tests.line());
        for f in tests.failures.iter().take(5) {
            lines.push(format!("✗ {}: {}", f.name, f.message));
        }
    }
    format!("{} #{} failed at {name}", run.app, run.number)
}
