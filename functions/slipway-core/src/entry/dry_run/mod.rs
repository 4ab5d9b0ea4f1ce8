//! What Slipway would do with a webhook delivery, worked out without
//! calling anything or writing anything: whether the delivery verifies,
//! which app it maps to, whether the pipeline's triggers match and why
//! not, and per stage the build request it would send (secrets masked),
//! the deploy policies and the approvals that would apply. `slipway replay`
//! prints it; `POST /api/dry-run` answers it.

pub mod api;
mod delivery;
mod render;
mod stages;

use serde::Serialize;

pub use delivery::{Delivery, parse_delivery};
pub use stages::{MASK, RequestPlan, StageAction, StagePlan};

use super::webhook_candidate::candidate;
use crate::access::pull_requests::GitUser;
use crate::config::ControlPlane;
use crate::engine::trust::restrict;
use crate::pipeline::Pipeline;
use crate::pipeline::diff::PipelineChange;
use crate::providers::{self, ParsedEvent, Provider};

/// The webhook secret the delivery is checked with.
#[derive(Debug, Clone)]
pub enum WebhookSecret {
    /// Its value.
    Value(String),
    /// Not available, and why.
    Unavailable(String),
}

/// The plan for one delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The provider.
    pub provider: String,
    /// Whether the delivery verifies.
    pub signature: Signature,
    /// One entry per event of the delivery (a Bitbucket push may carry
    /// several ref changes).
    pub events: Vec<EventPlan>,
    /// What the pipeline file changes against the base branch's, when
    /// both were given ([`Plan::against_base`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_change: Option<ChangePlan>,
}

/// The stages a pipeline file adds, drops and changes against the base
/// branch's: what a merge request's `slipway-pipeline` status says.
#[derive(Debug, Clone, Serialize)]
pub struct ChangePlan {
    /// One line, as the commit status says it.
    pub summary: String,
    /// The stages by name.
    #[serde(flatten)]
    pub change: PipelineChange,
}

impl Plan {
    /// Adds what `pipeline` changes against `base` (the base branch's
    /// file; none: the base has no file). An invalid base file is an error.
    pub fn against_base(mut self, pipeline: &str, base: Option<&str>) -> Result<Plan, String> {
        let Ok(head) = Pipeline::parse(pipeline) else {
            // The plan's stages already say why the file is invalid.
            return Ok(self);
        };
        let change = match base {
            Some(text) => {
                let base = Pipeline::parse(text)
                    .map_err(|e| format!("the base pipeline file is invalid: {e}"))?;
                PipelineChange::between(&head, &base)
            }
            None => PipelineChange::all_added(&head),
        };
        self.pipeline_change = Some(ChangePlan {
            summary: change.summary(),
            change,
        });
        Ok(self)
    }
}

/// The signature check.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Signature {
    /// It verifies with the configured secret.
    Verified,
    /// It does not: the webhook would answer 401 and do nothing.
    Failed(String),
    /// It could not be checked (no secret at hand, or the body is not the
    /// signed bytes); the rest assumes it would verify.
    NotChecked(String),
}

/// What one event would do.
#[derive(Debug, Clone, Serialize)]
pub struct EventPlan {
    /// The event, in one line.
    pub event: String,
    /// What happens: a run starts, or why nothing does.
    pub outcome: String,
    /// The run it would start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunPlan>,
}

/// A run a delivery would start.
#[derive(Debug, Clone, Serialize)]
pub struct RunPlan {
    /// The app.
    pub app: String,
    /// Ref, commit and kind of the trigger.
    pub git_ref: String,
    /// The commit built.
    pub commit: String,
    /// `push`, `tag` or `merge_request`.
    pub kind: String,
    /// Where the change comes from (a fork, for a merge request from one).
    pub source_repo: String,
    /// Held until a trusted person comments `/ok-to-test`.
    pub held_for_ok_to_test: bool,
    /// Where the pipeline file would be read (a branch for an untrusted
    /// author: the target's, never the change's).
    pub pipeline_read_at: String,
    /// The stages, in file order.
    pub stages: Vec<StagePlan>,
}

/// The name of the secret a delivery to `provider` is checked with.
pub fn secret_name(
    config: &ControlPlane,
    provider: Provider,
    delivery: &Delivery,
) -> Option<String> {
    let events = providers::parse_all(provider, &delivery.headers, &delivery.body).ok()?;
    config.webhook_secret_for(provider, events.first().and_then(ParsedEvent::repo))
}

/// Works out the plan. `pipeline` is the pipeline file's text as it would
/// be read (none: the stages are not shown).
pub fn dry_run(
    config: &ControlPlane,
    provider: Provider,
    delivery: &Delivery,
    secret: &WebhookSecret,
    pipeline: Option<&str>,
    now_ms: u64,
) -> Plan {
    let signature = check_signature(provider, delivery, secret, now_ms);
    let events = match providers::parse_all(provider, &delivery.headers, &delivery.body) {
        Ok(events) => events
            .into_iter()
            .map(|e| event_plan(config, provider, delivery, e, pipeline, now_ms))
            .collect(),
        Err(e) => vec![EventPlan {
            event: "malformed payload".into(),
            outcome: format!("400: {e}"),
            run: None,
        }],
    };
    Plan {
        provider: provider.as_str().to_owned(),
        signature,
        events,
        pipeline_change: None,
    }
}

fn check_signature(
    provider: Provider,
    delivery: &Delivery,
    secret: &WebhookSecret,
    now_ms: u64,
) -> Signature {
    let secret = match secret {
        WebhookSecret::Value(secret) => secret,
        WebhookSecret::Unavailable(why) => return Signature::NotChecked(why.clone()),
    };
    match providers::verify(provider, &delivery.headers, &delivery.body, secret, now_ms) {
        Ok(()) => Signature::Verified,
        Err(_) if delivery.reserialized => Signature::NotChecked(
            "the provider's API gives the payload back re-serialized, not as it was signed".into(),
        ),
        Err(e) => Signature::Failed(e.to_string()),
    }
}

fn event_plan(
    config: &ControlPlane,
    provider: Provider,
    delivery: &Delivery,
    event: ParsedEvent,
    pipeline: Option<&str>,
    now_ms: u64,
) -> EventPlan {
    let label = render::event_label(&event);
    let ignored = |outcome: String| EventPlan {
        event: label.clone(),
        outcome,
        run: None,
    };
    match &event {
        ParsedEvent::WorkflowRun(_) | ParsedEvent::Pipeline(_) => {
            return ignored(
                "would complete the stage whose build it reports, if one waits for it".into(),
            );
        }
        ParsedEvent::Comment(c) => {
            return ignored(format!(
                "a comment by {}: `/ok-to-test` from a trusted person releases the change's held run",
                c.author
            ));
        }
        _ => {}
    }
    let delivery_id = providers::delivery_id(provider, &delivery.headers);
    let mut candidate = match candidate(provider, event, delivery_id) {
        Ok(c) => c,
        Err(reply) => {
            let why = reply.body["ignored"]
                .as_str()
                .unwrap_or("ignored")
                .to_owned();
            return ignored(format!("ignored: {why}"));
        }
    };
    let Some((app_name, app)) = config.app_for(provider, &candidate.repo) else {
        return ignored(format!(
            "ignored: no app is configured for repository {}",
            candidate.repo
        ));
    };
    let trusted = candidate.author.as_ref().is_none_or(|author| {
        author.login.as_deref().is_some_and(|login| {
            let user = GitUser {
                provider: provider.as_str(),
                login,
                association: author.association.as_deref(),
            };
            app.pull_requests.trusts(&config.access, user).is_some()
        })
    });
    if !trusted {
        candidate.trigger.pipeline_ref = candidate.trigger.target_branch.clone();
    }
    let trigger = &candidate.trigger;
    let mut run = RunPlan {
        app: app_name.to_owned(),
        git_ref: trigger.git_ref.clone(),
        commit: trigger.commit.clone(),
        kind: trigger.kind.clone(),
        source_repo: trigger.source_repo().to_owned(),
        held_for_ok_to_test: !trusted,
        pipeline_read_at: trigger
            .pipeline_ref
            .clone()
            .unwrap_or_else(|| trigger.commit.clone()),
        stages: Vec::new(),
    };
    let Some(text) = pipeline else {
        return EventPlan {
            event: label,
            outcome: "would start a run (give the pipeline file to see its stages)".into(),
            run: Some(run),
        };
    };
    let parsed = match Pipeline::parse(text) {
        Ok(p) => p,
        Err(e) => {
            return EventPlan {
                event: label,
                outcome: format!(
                    "would start a run that fails at once: invalid pipeline file: {e}"
                ),
                run: Some(run),
            };
        }
    };
    if let Err(skip) = parsed.triggers.check(&trigger.event(&candidate.pending)) {
        return ignored(format!("ignored: {skip}"));
    }
    // Every stage is shown; those the configuration keeps from this run
    // (a merge request's deploys) say why.
    let withheld = restrict(config, trigger, parsed.clone()).withheld;
    run.stages = stages::plan_stages(config, app_name, trigger, &parsed, &withheld, now_ms);
    let outcome = if run.held_for_ok_to_test {
        "would start a run held for /ok-to-test (the author is not trusted)".to_owned()
    } else {
        "would start a run".to_owned()
    };
    EventPlan {
        event: label,
        outcome,
        run: Some(run),
    }
}
