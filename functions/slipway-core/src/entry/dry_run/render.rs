//! The plan as text, for `slipway replay`.

use std::fmt::Write as _;

use super::{Plan, Signature, StageAction};
use crate::providers::ParsedEvent;

/// One line naming an event.
pub(super) fn event_label(event: &ParsedEvent) -> String {
    match event {
        ParsedEvent::Ping => "ping".into(),
        ParsedEvent::Push(p) if p.deleted => format!("deletion of {} in {}", p.git_ref, p.repo),
        ParsedEvent::Push(p) => {
            format!("push of {} to {} in {}", short(&p.after), p.git_ref, p.repo)
        }
        ParsedEvent::MergeRequest(m) => format!(
            "merge request !{} {:?} in {}: {} → {}",
            m.number, m.action, m.repo, m.source_branch, m.target_branch
        ),
        ParsedEvent::WorkflowRun(w) => {
            format!("workflow run {} ({}) in {}", w.id, w.status, w.repo)
        }
        ParsedEvent::CheckRun(c) => {
            format!("check run {} {} ({}) in {}", c.id, c.name, c.status, c.repo)
        }
        ParsedEvent::CheckSuite(c) => {
            format!(
                "check suite at {} ({}) in {}",
                short(&c.head_sha),
                c.action,
                c.repo
            )
        }
        ParsedEvent::Pipeline(p) => format!("pipeline {} ({}) in {}", p.id, p.status, p.repo),
        ParsedEvent::Comment(c) => format!("comment on !{} in {}", c.number, c.repo),
        ParsedEvent::Ignored { event, .. } => format!("{event} event"),
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

impl Plan {
    /// The plan, readable.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let signature = match &self.signature {
            Signature::Verified => "verified".to_owned(),
            Signature::Failed(why) => format!("FAILS ({why}): the webhook would answer 401"),
            Signature::NotChecked(why) => format!("not checked ({why})"),
        };
        let _ = writeln!(out, "{} delivery, signature {signature}", self.provider);
        if let Some(change) = &self.pipeline_change {
            let _ = writeln!(out, "pipeline file against the base's: {}", change.summary);
        }
        for event in &self.events {
            let _ = writeln!(out, "\n{}\n  {}", event.event, event.outcome);
            let Some(run) = &event.run else { continue };
            let _ = writeln!(
                out,
                "  app {}, {} {} at {}, from {}; pipeline read at {}",
                run.app,
                run.kind,
                run.git_ref,
                short(&run.commit),
                run.source_repo,
                run.pipeline_read_at
            );
            for stage in &run.stages {
                render_stage(&mut out, stage);
            }
        }
        out
    }
}

fn render_stage(out: &mut String, stage: &super::StagePlan) {
    let needs = if stage.needs.is_empty() {
        String::new()
    } else {
        format!(" (after {})", stage.needs.join(", "))
    };
    let _ = write!(out, "  - {}{needs}: ", stage.name);
    if let Some(why) = &stage.withheld {
        let _ = writeln!(out, "withheld: {why}");
        return;
    }
    match &stage.does {
        StageAction::Build {
            service,
            job,
            request,
        } => match request {
            Ok(r) => {
                let _ = writeln!(out, "build {job} on {service}: {} {}", r.method, r.url);
                let _ = writeln!(out, "      {}", r.body);
            }
            Err(e) => {
                let _ = writeln!(out, "build {job} on {service} would fail: {e}");
            }
        },
        StageAction::Deploy {
            app,
            environment,
            strategy,
            refused_by,
            freeze,
        } => {
            let _ = write!(out, "deploy {app} to {environment} ({strategy})");
            if refused_by.is_empty() {
                let _ = write!(out, ", admitted by its policy");
            } else {
                let _ = write!(out, ", REFUSED: {}", refused_by.join("; "));
            }
            match freeze {
                Some(f) => {
                    let _ = writeln!(out, "; frozen now: {f}");
                }
                None => out.push('\n'),
            }
        }
        StageAction::Approval {
            approvers,
            approvals,
            environment,
        } => {
            let who = if approvers.is_empty() {
                "anyone with the approver role".to_owned()
            } else {
                approvers.join(", ")
            };
            let scope = environment
                .as_deref()
                .map(|e| format!(" for {e}"))
                .unwrap_or_default();
            let _ = writeln!(out, "wait for {approvals} approval(s){scope} by {who}");
        }
    }
}
