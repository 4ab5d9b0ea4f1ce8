//! Asking for an approval: when a run reaches an approval stage, each chat
//! target of the app that wants approvals gets one message naming the run,
//! commit, author, image digest and test counts, with the commands to
//! answer and Approve/Reject buttons that send them (bound to the stage's
//! attempt).

use super::super::apply::Outcome;
use super::delivered;
use super::feedback::branch;
use crate::builders::TestSummary;
use crate::engine::Deps;
use crate::engine::chat::send_to_target;
use crate::intents::Claimed;
use crate::notify::{Notice, NoticeAction, NotifyOn};
use crate::ports::{Clock, HttpClient, Secrets};
use crate::runs::{RunRecord, StageStatus};

/// Asks chat target `target` to answer `stage` at `attempt`.
pub(super) async fn ask<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    stage: &str,
    attempt: u32,
    target: usize,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let waiting = run
        .stages
        .get(stage)
        .is_some_and(|s| s.status == StageStatus::WaitingForApproval && s.attempt == attempt);
    if !waiting {
        // Answered or timed out before the message went: nothing to ask.
        return Outcome::Noticed;
    }
    let notice = approval_notice(run, stage, attempt, deps.config.public_base());
    delivered(
        deps.clock,
        claim,
        send_to_target(deps, &run.app, target, &notice).await,
    )
}

/// The message asking for `stage`'s approval.
pub fn approval_notice(run: &RunRecord, stage: &str, attempt: u32, public_base: &str) -> Notice {
    let gate = run.stages.get(stage).and_then(|s| s.approval.as_ref());
    let short = run.trigger.commit.get(..8).unwrap_or(&run.trigger.commit);
    let author = run.trigger.actor.as_deref().unwrap_or("unknown");
    let mut lines = vec![format!("{} @ {short} by {author}", branch(run))];
    if let Some(image) = gate.and_then(|g| g.image.as_deref()) {
        lines.push(format!("image {image}"));
    }
    for (name, record) in &run.stages {
        let tests = record
            .tests
            .as_ref()
            .and_then(|t| serde_json::from_value::<TestSummary>(t.clone()).ok());
        if let Some(tests) = tests {
            lines.push(format!("{name}: {}", tests.line()));
        }
    }
    if let Some(g) = gate {
        let env = g
            .environment
            .as_deref()
            .map(|e| format!(" for {e}"))
            .unwrap_or_default();
        lines.push(format!("needs {} approval(s){env}", g.required));
    }
    let approve = format!("approve {} {stage} #{attempt}", run.id);
    let reject = format!("reject {} {stage} #{attempt}", run.id);
    lines.push(format!("answer with `{approve}` or `{reject} <reason>`"));
    Notice {
        on: NotifyOn::Approval,
        app: run.app.clone(),
        run_id: run.id.clone(),
        run_number: run.number,
        title: format!("{} #{} waits for approval at {stage}", run.app, run.number),
        lines,
        link: Some(format!("{public_base}/api/runs/{}", run.id)),
        actions: vec![
            NoticeAction {
                label: "Approve".into(),
                command: approve,
                danger: false,
            },
            NoticeAction {
                label: "Reject".into(),
                command: reject,
                danger: true,
            },
        ],
    }
}
