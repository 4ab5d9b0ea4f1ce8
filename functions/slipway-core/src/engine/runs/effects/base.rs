//! Reading a merge request's target branch's pipeline file and comparing
//! it with the run's.

use super::retry_later;
use crate::engine::Deps;
use crate::engine::repo::{self, PipelineFile};
use crate::engine::runs::apply::Outcome;
use crate::intents::Claimed;
use crate::pipeline::diff::PipelineChange;
use crate::ports::{Clock, HttpClient, Secrets};
use crate::providers::Provider;
use crate::runs::{BaseComparison, RunRecord};

/// Reads the pipeline file on the run's target branch of the base
/// repository (never the fork's) and compares the stages.
pub(super) async fn compare<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &RunRecord,
    claim: &Claimed,
) -> Outcome
where
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let not_compared =
        |reason: String| Outcome::BaseCompared(BaseComparison::NotCompared { reason });
    let (Some(provider), Some(app), Some(head), Some(base)) = (
        Provider::from_path_segment(&run.trigger.provider),
        deps.config.apps.get(&run.app),
        run.pipeline.as_ref(),
        run.trigger.target_branch.clone(),
    ) else {
        return not_compared("not a merge request of a configured app".into());
    };
    let read = repo::read_pipeline(
        deps,
        provider,
        &run.trigger.repo,
        &app.pipeline_path,
        &base,
        repo::PROVIDER_CALL_TIMEOUT_MS,
    )
    .await;
    match read {
        Ok(PipelineFile::Valid(theirs)) => Outcome::BaseCompared(BaseComparison::Compared {
            change: PipelineChange::between(head, &theirs),
            base,
        }),
        Ok(PipelineFile::Missing) => Outcome::BaseCompared(BaseComparison::NoBaseFile {
            change: PipelineChange::all_added(head),
            base,
        }),
        Ok(PipelineFile::Invalid(why)) => {
            not_compared(format!("the pipeline file on {base} is invalid: {why}"))
        }
        Err(error) => retry_later(deps.clock, claim, error),
    }
}
