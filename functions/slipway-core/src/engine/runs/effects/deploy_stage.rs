//! Deploy stages: asking for the deployment of the image an earlier stage
//! reported. The deployment reports back to the stage when it ends.

use super::super::apply::Outcome;
use crate::access::deploy_rules::RunOrigin;
use crate::config::ControlPlane;
use crate::deploy::records::StageLink;
use crate::engine::deploy_requests::{self as requests, DeployRequest, Refusal};
use crate::engine::{Deps, Target};
use crate::pipeline::StageKind;
use crate::ports::{Clock, KeyValue};
use crate::runs::RunRecord;

/// Time before a deploy stage waiting for a busy environment asks again.
const ENVIRONMENT_BUSY_RETRY_MS: u64 = 30_000;

/// Whether the environment's policy admits this run's deploy stage: its
/// own app only, from the branches, tags and kinds of run it allows, after
/// an approval where one is required. (The policy's app and freeze rules
/// apply to every deployment, when it is asked for.)
fn admitted(
    config: &ControlPlane,
    run: &RunRecord,
    stage: &str,
    app: Option<&str>,
    environment: &str,
) -> Result<(), String> {
    if let Some(other) = app.filter(|a| *a != run.app) {
        return Err(format!(
            "a deploy stage deploys its own app ({}), not {other:?}",
            run.app
        ));
    }
    let origin = RunOrigin {
        git_ref: &run.trigger.git_ref,
        merge_request: run.trigger.kind == "merge_request",
        approved: run.approved_before(stage),
    };
    config
        .access
        .policy(environment)
        .admits_run(environment, origin)
        .map_err(|r| r.to_string())
}

/// Asks for `stage`'s deployment. Asking twice for the same stage attempt
/// (this effect ran again after a crash) finds the first deployment.
pub(super) async fn start<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    name: &str,
    attempt: u32,
) -> (Outcome, Vec<Target>)
where
    K: KeyValue,
    C: Clock,
{
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
        return (
            Outcome::StageFailed(format!("stage {name:?} is not a deploy")),
            Vec::new(),
        );
    };
    if let Err(why) = admitted(deps.config, run, name, app.as_deref(), &environment) {
        return (Outcome::StageFailed(why), Vec::new());
    }
    let Some(image) = run.image_for(name) else {
        let why = "no earlier stage reported an image to deploy".to_owned();
        return (Outcome::StageFailed(why), Vec::new());
    };
    // An approval holds for the artifact it was asked for, nothing else.
    if let Some(why) = run.unapproved_image(name, image.digest.as_deref()) {
        return (Outcome::StageFailed(why), Vec::new());
    }
    let strategy =
        match crate::deploy::strategy(&strategy, Some(steps).filter(|s| !s.is_empty()), hold_ms) {
            Ok(s) => s,
            Err(e) => return (Outcome::StageFailed(e), Vec::new()),
        };
    let request = DeployRequest {
        app: app.unwrap_or_else(|| run.app.clone()),
        environment,
        image: image.full(),
        strategy,
        requested_by: format!("run:{}", run.id),
        stage: Some(StageLink {
            run: run.id.clone(),
            stage: name.to_owned(),
            attempt,
        }),
        override_freeze: None,
        commit: Some(run.trigger.commit.clone()),
    };
    let now = deps.clock.now_ms();
    match requests::request(deps.kv, deps.config, request, now).await {
        Ok(d) => {
            let target = Target::Deployment(d.id.clone());
            (
                Outcome::DeployStarted {
                    deployment: d.id,
                    image,
                },
                vec![target],
            )
        }
        Err(Refusal::Busy(lock)) => (
            Outcome::Retry {
                at_ms: now + ENVIRONMENT_BUSY_RETRY_MS,
                error: requests::busy_message(&lock),
            },
            Vec::new(),
        ),
        Err(Refusal::Unavailable(m)) => (
            Outcome::Retry {
                at_ms: now + 5_000,
                error: m,
            },
            Vec::new(),
        ),
        Err(
            Refusal::BadRequest(m)
            | Refusal::NotFound(m)
            | Refusal::Conflict(m)
            | Refusal::Forbidden(m),
        ) => (Outcome::StageFailed(m), Vec::new()),
    }
}
