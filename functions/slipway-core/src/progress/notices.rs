//! Chat notifications at the end of a run: on failure, and on the first
//! success after a failure of the same branch. Each is claimed once per run
//! (an atomic increment), so retries and repeated callbacks never send it
//! twice.

use crate::builders::TestSummary;
use crate::hooks::Deps;
use crate::notify::{self, Notice, NotifyOn};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{RunRecord, RunStatus, StageStatus};

/// Timeout of one chat webhook call.
const CHAT_TIMEOUT_MS: u64 = 3_000;

fn branch(run: &RunRecord) -> &str {
    let r = &run.trigger.git_ref;
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
}

/// Builds the notice for a run that just ended, if it is worth one.
fn notice(run: &RunRecord, on: NotifyOn, public_base: &str) -> Notice {
    let short = run.trigger.commit.get(..8).unwrap_or(&run.trigger.commit);
    let mut lines = vec![format!("{} @ {short}", branch(run))];
    let title = match on {
        NotifyOn::Failure => {
            let failed = run
                .stages
                .iter()
                .find(|(_, s)| matches!(s.status, StageStatus::Failed | StageStatus::TimedOut));
            match failed {
                Some((name, stage)) => {
                    if let Some(reason) = &stage.reason {
                        lines.push(reason.clone());
                    }
                    if let Some(tests) = stage
                        .tests
                        .as_ref()
                        .and_then(|t| serde_json::from_value::<TestSummary>(t.clone()).ok())
                    {
                        lines.push(crate::progress::result::test_line(&tests));
                        for f in tests.failures.iter().take(5) {
                            lines.push(format!("✗ {}: {}", f.name, f.message));
                        }
                    }
                    format!("{} #{} failed at {name}", run.app, run.number)
                }
                None => {
                    if let Some(e) = &run.error {
                        lines.push(e.clone());
                    }
                    format!("{} #{} failed", run.app, run.number)
                }
            }
        }
        NotifyOn::Fixed => format!("{} #{} passed again", run.app, run.number),
        NotifyOn::Deploy => format!("{} #{} deployed", run.app, run.number),
    };
    Notice {
        on,
        app: run.app.clone(),
        run_id: run.id.clone(),
        run_number: run.number,
        title,
        lines,
        link: Some(format!("{public_base}/api/runs/{}", run.id)),
    }
}

/// Sends the notifications a run's end calls for (once each).
pub async fn notify_run_end<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, run: &RunRecord)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if !run.status.is_terminal() {
        return;
    }
    let outcome_key = format!("app/{}/outcome/{}", run.app, branch(run));
    let previous = deps.kv.get(&outcome_key).await.ok().flatten();
    let succeeded = run.status == RunStatus::Succeeded;
    let _ = deps
        .kv
        .set(
            &outcome_key,
            if succeeded { b"succeeded" } else { b"failed" },
        )
        .await;
    let on = match run.status {
        RunStatus::Failed | RunStatus::TimedOut => NotifyOn::Failure,
        RunStatus::Succeeded if previous.as_deref() == Some(b"failed".as_slice()) => {
            NotifyOn::Fixed
        }
        _ => return,
    };
    send_notice(deps, &run.app, &notice(run, on, deps.config.public_base())).await;
}

/// Sends `notice` to every chat target of `app` that wants it, once.
pub async fn send_notice<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, app: &str, notice: &Notice)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(config) = deps.config.apps.get(app) else {
        return;
    };
    let targets: Vec<_> = config
        .notify
        .iter()
        .filter(|t| t.wants(notice.on))
        .collect();
    if targets.is_empty() {
        return;
    }
    let claim = format!("notified/{}/{:?}", notice.run_id, notice.on).to_ascii_lowercase();
    match deps.kv.increment(&claim, 1).await {
        Ok(1) => {}
        _ => return,
    }
    for target in targets {
        let Some(url) = deps.secrets.get(&target.webhook_secret).await else {
            eprintln!(
                "{} notification skipped: {} is not set",
                target.kind, target.webhook_secret
            );
            continue;
        };
        let sign = match &target.sign_secret {
            Some(name) => deps.secrets.get(name).await,
            None => None,
        };
        let now = deps.clock.now_ms();
        if let Err(e) = notify::send(
            deps.http,
            target.kind,
            &url,
            sign.as_deref(),
            now,
            notice,
            CHAT_TIMEOUT_MS,
        )
        .await
        {
            eprintln!(
                "{} notification for {} failed: {e}",
                target.kind, notice.run_id
            );
        }
    }
}
