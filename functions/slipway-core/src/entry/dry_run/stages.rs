//! What each stage of a dry run would do: the build request it would send
//! (secrets masked), the deploy and the policies that would apply to it,
//! the approval it would wait for.

use serde::Serialize;
use serde_json::Value;

use crate::access::deploy_rules::RunOrigin;
use crate::builders::{BuildJob, trigger_request};
use crate::config::ControlPlane;
use crate::pipeline::{Pipeline, Stage, StageKind};
use crate::runs::RunTrigger;

/// What stands for every secret in a dry run's output.
pub const MASK: &str = "***";

/// One stage of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct StagePlan {
    /// Its name.
    pub name: String,
    /// Stages it waits for.
    pub needs: Vec<String>,
    /// Why the run would not run it (a merge request's closed stages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    /// What it does.
    #[serde(flatten)]
    pub does: StageAction,
}

/// What a stage does, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageAction {
    /// A build: the request Slipway would send its service.
    Build {
        /// Service name in the configuration.
        service: String,
        /// Job, workflow or pipeline.
        job: String,
        /// The trigger request, or why it cannot be made.
        request: Result<RequestPlan, String>,
    },
    /// A deploy, and what the environment's policy says of it.
    Deploy {
        /// App deployed.
        app: String,
        /// Environment.
        environment: String,
        /// Strategy.
        strategy: String,
        /// Rules that would refuse it (empty: admitted).
        refused_by: Vec<String>,
        /// A freeze in force now.
        #[serde(skip_serializing_if = "Option::is_none")]
        freeze: Option<String>,
    },
    /// An approval gate.
    Approval {
        /// People or groups named (empty: anyone with the approver role).
        approvers: Vec<String>,
        /// Approvals needed, the environment's policy included.
        approvals: u32,
        /// The environment whose policy applies.
        #[serde(skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
}

/// A request as it would be sent, secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct RequestPlan {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Body: JSON when it is, else text.
    pub body: Value,
}

/// The plan of every stage of `pipeline`, for a run of `app` from
/// `trigger`; `withheld` names the stages the run would not have, and why.
pub fn plan_stages(
    config: &ControlPlane,
    app: &str,
    trigger: &RunTrigger,
    pipeline: &Pipeline,
    withheld: &std::collections::BTreeMap<String, String>,
    now_ms: u64,
) -> Vec<StagePlan> {
    pipeline
        .stages
        .iter()
        .map(|stage| StagePlan {
            name: stage.name.clone(),
            needs: stage.needs.clone(),
            withheld: withheld.get(&stage.name).cloned(),
            does: action(config, app, trigger, pipeline, stage, now_ms),
        })
        .collect()
}

fn action(
    config: &ControlPlane,
    app: &str,
    trigger: &RunTrigger,
    pipeline: &Pipeline,
    stage: &Stage,
    now_ms: u64,
) -> StageAction {
    match &stage.kind {
        StageKind::Build {
            service,
            job,
            params,
        } => StageAction::Build {
            service: service.clone(),
            job: job.clone(),
            request: build_request(config, app, trigger, stage, service, job, params),
        },
        StageKind::Deploy {
            app: own,
            environment,
            strategy,
            ..
        } => {
            let app = own.as_deref().unwrap_or(app);
            let policy = config.access.policy(environment);
            let origin = RunOrigin {
                git_ref: &trigger.git_ref,
                merge_request: trigger.merge_request.is_some(),
                approved: approval_before(pipeline, stage),
            };
            let refused_by = [
                policy.admits_app(environment, app),
                policy.admits_run(environment, origin),
            ]
            .into_iter()
            .filter_map(Result::err)
            .map(|r| r.to_string())
            .collect();
            let mut refused_by: Vec<String> = refused_by;
            if !config.environments.contains_key(environment) {
                refused_by.push(format!("environment {environment:?} is not configured"));
            }
            StageAction::Deploy {
                app: app.to_owned(),
                environment: environment.clone(),
                strategy: strategy.clone(),
                refused_by,
                freeze: policy
                    .freeze_at(now_ms)
                    .map(|f| format!("{} ({}) until {} ms", f.name, f.reason, f.until_ms)),
            }
        }
        StageKind::Approval {
            approvers,
            approvals,
            environment,
        } => {
            let environment = environment.clone().or_else(|| gated(pipeline, stage));
            let policy = environment
                .as_deref()
                .map(|e| config.access.policy(e).approvals);
            StageAction::Approval {
                approvers: approvers.clone(),
                approvals: (*approvals).max(policy.unwrap_or(0)),
                environment,
            }
        }
    }
}

/// Whether an approval stage is among the stages `stage` needs, directly
/// or through others.
fn approval_before(pipeline: &Pipeline, stage: &Stage) -> bool {
    let mut todo: Vec<&String> = stage.needs.iter().collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(s) = pipeline.stage(name) {
            if matches!(s.kind, StageKind::Approval { .. }) {
                return true;
            }
            todo.extend(s.needs.iter());
        }
    }
    false
}

/// The environment of the first deploy stage that needs `gate`.
fn gated(pipeline: &Pipeline, gate: &Stage) -> Option<String> {
    pipeline.stages.iter().find_map(|s| match &s.kind {
        StageKind::Deploy { environment, .. } if s.needs.contains(&gate.name) => {
            Some(environment.clone())
        }
        _ => None,
    })
}

fn build_request(
    config: &ControlPlane,
    app: &str,
    trigger: &RunTrigger,
    stage: &Stage,
    service: &str,
    job: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> Result<RequestPlan, String> {
    let service_config = config
        .build_services
        .get(service)
        .ok_or_else(|| format!("build service {service:?} is not configured"))?;
    let run_id = format!("{app}-<number>");
    let callback_url = format!("{}/callbacks/{run_id}/{}", config.public_base(), stage.name);
    let job = BuildJob {
        service: service_config,
        job,
        params,
        repo: &trigger.repo,
        clone_url: trigger.clone_url.as_deref(),
        git_ref: &trigger.git_ref,
        source_repo: trigger.source_repo(),
        source_clone_url: trigger.source_clone_url(),
        source_ref: trigger.source_ref(),
        target_branch: trigger.target_branch.as_deref(),
        commit: &trigger.commit,
        run_id: &run_id,
        stage: &stage.name,
        attempt: 1,
        callback_url: &callback_url,
        callback_token: MASK,
    };
    let request = trigger_request(&job, Some(MASK)).map_err(|e| e.to_string())?;
    let form = request.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
    });
    let body = if form {
        // Jenkins takes its parameters as a form: show them as fields.
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
            .map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            })
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()))
    } else {
        serde_json::from_slice::<Value>(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()))
    };
    Ok(RequestPlan {
        method: request.method,
        url: request.url,
        body,
    })
}
