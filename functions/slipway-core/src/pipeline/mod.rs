//! The pipeline file an app keeps in its own repository
//! (`.slipway/pipeline.toml` by default): triggers and a DAG of stages.
//!
//! ```toml
//! [triggers]
//! branches = ["main", "release/*"]   # globs; default: every branch
//! tags = ["v*"]                      # default: no tags
//! paths = ["src/**", "Dockerfile"]   # run only when these change (optional)
//! ignore_paths = ["docs/**"]
//! merge_requests = true              # default: false
//!
//! [stages.unit-test]
//! kind = "build"
//! service = "jenkins"                # a build service of the control-plane config
//! job = "shop/unit-test"
//! params = { SUITE = "unit" }
//! timeout = "20m"                    # default 60m
//! retries = 2                        # default 0
//!
//! [stages.image]
//! kind = "build"
//! service = "actions"
//! job = "image.yml"
//! needs = ["unit-test"]
//!
//! [stages.deploy-test]
//! kind = "deploy"
//! environment = "test"
//! strategy = "rolling"               # rolling | blue-green | canary
//! needs = ["image"]
//!
//! [stages.approve]
//! kind = "approval"
//! approvers = ["alice", "group:release"]  # narrows the configured approver role
//! approvals = 1                      # the environment's policy may ask for more
//! needs = ["deploy-test"]
//!
//! [stages.production]
//! kind = "deploy"
//! environment = "production"
//! strategy = "canary"
//! steps = [10, 25, 50, 100]
//! needs = ["approve"]
//! ```

mod dag;
pub mod diff;
pub mod duration;
pub mod glob;
mod triggers;
mod withhold;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::position::line_col;

pub use triggers::{Event, SkipReason, Triggers};

/// Default timeout of a stage.
pub const DEFAULT_TIMEOUT_MS: u64 = 60 * 60 * 1000;
/// Default timeout of an approval stage (GitHub's cap on waiting jobs);
/// the environment's `approval_ttl` (default 24 h) usually ends it first.
pub const APPROVAL_TIMEOUT_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// Most retries a stage may ask for.
pub const MAX_RETRIES: u32 = 10;

/// A parsed, validated pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// When runs start.
    pub triggers: Triggers,
    /// The stages, in file order.
    pub stages: Vec<Stage>,
    /// Stages of the file this run does not run, with why
    /// ([`Pipeline::withhold`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<String, String>,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its name, unique in the pipeline.
    pub name: String,
    /// What it does.
    pub kind: StageKind,
    /// Stages that must succeed before it starts.
    pub needs: Vec<String>,
    /// How long it may run.
    pub timeout_ms: u64,
    /// How many times a failed start or run is retried.
    pub retries: u32,
}

/// What a stage does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageKind {
    /// Runs a job on a build service.
    Build {
        /// Build service name in the control-plane config.
        service: String,
        /// Job, workflow file or pipeline name on that service.
        job: String,
        /// Extra parameters passed to the job.
        params: BTreeMap<String, String>,
    },
    /// Deploys the image an earlier stage built.
    Deploy {
        /// App to deploy (default: the pipeline's app).
        app: Option<String>,
        /// Environment name in the control-plane config.
        environment: String,
        /// `rolling`, `blue-green` or `canary`.
        strategy: String,
        /// Canary traffic steps in percent.
        steps: Vec<u8>,
        /// How long each canary step is held before moving on (none: until promoted).
        hold_ms: Option<u64>,
    },
    /// Waits for people to approve.
    Approval {
        /// Who may approve (people or `group:<name>` of the access
        /// configuration; empty: anyone with the approver role). This only
        /// narrows the approver role the configuration grants.
        #[serde(default)]
        approvers: Vec<String>,
        /// How many approvals it needs (the environment's policy may ask
        /// for more, never fewer).
        #[serde(default = "one")]
        approvals: u32,
        /// The environment it gates (default: that of the deploy stages
        /// that need it), whose approval policy applies.
        #[serde(default)]
        environment: Option<String>,
    },
}

fn one() -> u32 {
    1
}

/// A pipeline file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(*.line, *.column))]
pub struct PipelineError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    triggers: Option<Triggers>,
    #[serde(default)]
    stages: BTreeMap<String, Spanned<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    kind: String,
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    retries: Option<u32>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    job: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    strategy: Option<String>,
    #[serde(default)]
    steps: Option<Vec<u8>>,
    #[serde(default)]
    hold: Option<String>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    approvals: Option<u32>,
}

impl Pipeline {
    /// Parses and validates a pipeline file.
    pub fn parse(text: &str) -> Result<Pipeline, PipelineError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_col(text, s.start))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            PipelineError {
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut ordered: Vec<(usize, String, RawStage)> = raw
            .stages
            .into_iter()
            .map(|(name, spanned)| (spanned.span().start, name, spanned.into_inner()))
            .collect();
        ordered.sort_by_key(|(start, _, _)| *start);
        if ordered.is_empty() {
            return Err(PipelineError {
                line: None,
                column: None,
                message: "the pipeline has no stages; add at least one [stages.<name>]".into(),
            });
        }
        let mut stages = Vec::with_capacity(ordered.len());
        for (start, name, raw) in ordered {
            let (line, column) = line_col(text, start);
            let at = |message: String| PipelineError {
                line: Some(line),
                column: Some(column),
                message: format!("stage {name:?}: {message}"),
            };
            stages.push(build_stage(&name, raw).map_err(at)?);
        }
        dag::validate(&stages).map_err(|message| PipelineError {
            line: None,
            column: None,
            message,
        })?;
        Ok(Pipeline {
            triggers: raw.triggers.unwrap_or_default(),
            stages,
            withheld: BTreeMap::new(),
        })
    }

    /// The stage called `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Stages whose needs are all in `succeeded` and that are not in
    /// `started`, in file order.
    pub fn ready_stages<'a>(
        &'a self,
        succeeded: &[&str],
        started: &[&str],
    ) -> impl Iterator<Item = &'a Stage> {
        let succeeded: Vec<String> = succeeded.iter().map(|s| s.to_string()).collect();
        let started: Vec<String> = started.iter().map(|s| s.to_string()).collect();
        self.stages.iter().filter(move |s| {
            !started.contains(&s.name) && s.needs.iter().all(|n| succeeded.contains(n))
        })
    }

    /// The environment an approval stage gates: its own `environment`, or
    /// that of the first deploy stage that needs it.
    pub fn gated_environment(&self, approval: &str) -> Option<&str> {
        let stage = self.stage(approval)?;
        if let StageKind::Approval {
            environment: Some(env),
            ..
        } = &stage.kind
        {
            return Some(env);
        }
        self.stages.iter().find_map(|s| match &s.kind {
            StageKind::Deploy { environment, .. } if s.needs.iter().any(|n| n == approval) => {
                Some(environment.as_str())
            }
            _ => None,
        })
    }

    /// Every stage `name` needs, directly or not (none for an unknown stage).
    pub fn ancestors_of(&self, name: &str) -> Vec<&str> {
        let mut ancestors: Vec<&str> = Vec::new();
        let mut frontier: Vec<&str> = self
            .stage(name)
            .map(|s| s.needs.iter().map(String::as_str).collect())
            .unwrap_or_default();
        while let Some(next) = frontier.pop() {
            if !ancestors.contains(&next) {
                ancestors.push(next);
                if let Some(s) = self.stage(next) {
                    frontier.extend(s.needs.iter().map(String::as_str));
                }
            }
        }
        ancestors
    }

    /// Every stage that depends, directly or not, on `name`.
    pub fn dependents_of(&self, name: &str) -> Vec<&str> {
        dag::dependents(&self.stages, name)
    }
}

fn build_stage(name: &str, raw: RawStage) -> Result<Stage, String> {
    if !is_stage_name(name) {
        return Err(
            "names use lowercase letters, digits, '-' and '_', start with a letter and are at most 63 characters"
                .into(),
        );
    }
    let timeout_ms = match &raw.timeout {
        Some(t) => duration::parse_ms(t)?,
        // A person answers in hours, not minutes: the approval policy's
        // time to live is what ends an unanswered approval.
        None if raw.kind == "approval" => APPROVAL_TIMEOUT_MS,
        None => DEFAULT_TIMEOUT_MS,
    };
    if timeout_ms == 0 {
        return Err("timeout must be positive".into());
    }
    let retries = raw.retries.unwrap_or(0);
    if retries > MAX_RETRIES {
        return Err(format!("retries must be at most {MAX_RETRIES}"));
    }
    let kind = match raw.kind.as_str() {
        "build" => StageKind::Build {
            service: raw.service.ok_or("a build stage needs `service`")?,
            job: raw.job.ok_or("a build stage needs `job`")?,
            params: raw
                .params
                .into_iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => Ok((k, s)),
                    toml::Value::Integer(i) => Ok((k, i.to_string())),
                    toml::Value::Boolean(b) => Ok((k, b.to_string())),
                    toml::Value::Float(f) => Ok((k, f.to_string())),
                    _ => Err(format!("param {k:?} must be a string, number or boolean")),
                })
                .collect::<Result<_, _>>()?,
        },
        "deploy" => {
            let strategy = raw.strategy.unwrap_or_else(|| "rolling".into());
            if !["rolling", "blue-green", "canary"].contains(&strategy.as_str()) {
                return Err(format!(
                    "unknown strategy {strategy:?}; use rolling, blue-green or canary"
                ));
            }
            let steps = raw.steps.unwrap_or_default();
            if strategy == "canary" {
                let increasing = steps.windows(2).all(|w| w[0] < w[1]);
                if steps.is_empty() || !increasing || steps.last() != Some(&100) {
                    return Err(
                        "canary `steps` must increase and end at 100, e.g. [10, 25, 50, 100]"
                            .into(),
                    );
                }
            }
            StageKind::Deploy {
                app: raw.app,
                environment: raw
                    .environment
                    .ok_or("a deploy stage needs `environment`")?,
                strategy,
                steps,
                hold_ms: raw.hold.as_deref().map(duration::parse_ms).transpose()?,
            }
        }
        "approval" => {
            let approvals = raw.approvals.unwrap_or(1);
            if !(1..=10).contains(&approvals) {
                return Err("`approvals` must be between 1 and 10".into());
            }
            StageKind::Approval {
                approvers: raw.approvers,
                approvals,
                environment: raw.environment,
            }
        }
        other => {
            return Err(format!(
                "unknown kind {other:?}; use build, deploy or approval"
            ));
        }
    };
    Ok(Stage {
        name: name.to_owned(),
        kind,
        needs: raw.needs,
        timeout_ms,
        retries,
    })
}

/// Whether `name` can name a stage (it appears in URLs and keys).
pub fn is_stage_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests;
