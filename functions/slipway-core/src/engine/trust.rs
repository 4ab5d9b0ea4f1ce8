//! What a run may do, whatever its pipeline file says: a merge-request
//! run deploys only to environments the configuration opens to merge
//! requests (previews); its other deploy stages, and what depends on
//! them, are withheld from the run before it starts.

use crate::config::ControlPlane;
use crate::pipeline::{Pipeline, StageKind};
use crate::runs::RunTrigger;

/// `pipeline` as a run of `trigger` may run it.
pub fn restrict(config: &ControlPlane, trigger: &RunTrigger, mut pipeline: Pipeline) -> Pipeline {
    if trigger.kind != "merge_request" {
        return pipeline;
    }
    let closed: Vec<(String, String)> = pipeline
        .stages
        .iter()
        .filter_map(|s| match &s.kind {
            StageKind::Deploy { environment, .. }
                if !config.access.policy(environment).pull_requests =>
            {
                Some((
                    s.name.clone(),
                    format!(
                        "merge-request runs do not deploy to {environment} \
                         (access.environments.{environment}.pull_requests)"
                    ),
                ))
            }
            _ => None,
        })
        .collect();
    for (stage, reason) in closed {
        pipeline.withhold(&stage, &reason);
    }
    pipeline
}
