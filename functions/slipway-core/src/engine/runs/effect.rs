//! The side effects a run can call for, and their intent ids.

use crate::notify::NotifyOn;

/// One side effect of a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Look the run's abbreviated commit up, for its full hash.
    ResolveCommit,
    /// Read the pipeline file at the run's commit.
    ReadPipeline,
    /// Read a merge request's target branch's pipeline file and compare.
    CompareBasePipeline,
    /// Start a build stage's attempt on its build service.
    Trigger {
        /// Stage name.
        stage: String,
        /// Stage attempt.
        attempt: u32,
    },
    /// Ask for the deployment of a deploy stage's attempt.
    Deploy {
        /// Stage name.
        stage: String,
        /// Stage attempt.
        attempt: u32,
    },
    /// Ask the build service how a silent build is doing.
    Poll {
        /// Stage name.
        stage: String,
        /// Stage attempt.
        attempt: u32,
    },
    /// Post a commit status.
    Status {
        /// `slipway` or `slipway/{stage}`.
        context: String,
    },
    /// Record the run's outcome on its branch (to notice "fixed").
    RecordOutcome,
    /// Ask one chat target of the app for the approval a stage waits for.
    Ask {
        /// The approval stage.
        stage: String,
        /// Its attempt.
        attempt: u32,
        /// Index of the target in the app's `notify` list.
        target: usize,
    },
    /// Report the run's end to a chat channel a command left on it.
    Reply {
        /// Index in the run's `replies`.
        index: usize,
    },
    /// Send a notice to one chat target of the app.
    Notify {
        /// Which notice.
        on: NotifyOn,
        /// Index of the target in the app's `notify` list.
        target: usize,
    },
}

fn on_name(on: NotifyOn) -> &'static str {
    match on {
        NotifyOn::Failure => "failure",
        NotifyOn::Fixed => "fixed",
        NotifyOn::Deploy => "deploy",
        NotifyOn::Approval => "approval",
    }
}

impl Effect {
    /// The intent id: `commit`, `pipeline`, `base-pipeline`,
    /// `trigger/{stage}/{attempt}`,
    /// `deploy/…`, `poll/…`, `status/{context}`, `outcome`,
    /// `notify/{on}/{target}`, `reply/{index}`, `ask/{stage}/{attempt}/{target}`.
    pub fn id(&self) -> String {
        match self {
            Effect::ResolveCommit => "commit".into(),
            Effect::ReadPipeline => "pipeline".into(),
            Effect::CompareBasePipeline => "base-pipeline".into(),
            Effect::Trigger { stage, attempt } => format!("trigger/{stage}/{attempt}"),
            Effect::Deploy { stage, attempt } => format!("deploy/{stage}/{attempt}"),
            Effect::Poll { stage, attempt } => format!("poll/{stage}/{attempt}"),
            Effect::Status { context } => format!("status/{context}"),
            Effect::RecordOutcome => "outcome".into(),
            Effect::Notify { on, target } => format!("notify/{}/{target}", on_name(*on)),
            Effect::Reply { index } => format!("reply/{index}"),
            Effect::Ask {
                stage,
                attempt,
                target,
            } => format!("ask/{stage}/{attempt}/{target}"),
        }
    }

    /// Whether carrying it out twice is harmless, or deduplicated by the
    /// other side: everything but chat notices (a chat webhook takes every
    /// post). Work after a response, which the runtime may kill at any
    /// point, carries out only these.
    pub fn may_repeat(&self) -> bool {
        !matches!(
            self,
            Effect::Notify { .. } | Effect::Reply { .. } | Effect::Ask { .. }
        )
    }

    /// The effect an intent id names.
    pub fn parse(id: &str) -> Option<Effect> {
        let (kind, rest) = id.split_once('/').unwrap_or((id, ""));
        let stage_attempt = || {
            let (stage, attempt) = rest.rsplit_once('/')?;
            Some((stage.to_owned(), attempt.parse().ok()?))
        };
        Some(match kind {
            "commit" => Effect::ResolveCommit,
            "pipeline" => Effect::ReadPipeline,
            "base-pipeline" => Effect::CompareBasePipeline,
            "outcome" => Effect::RecordOutcome,
            "trigger" => {
                let (stage, attempt) = stage_attempt()?;
                Effect::Trigger { stage, attempt }
            }
            "deploy" => {
                let (stage, attempt) = stage_attempt()?;
                Effect::Deploy { stage, attempt }
            }
            "poll" => {
                let (stage, attempt) = stage_attempt()?;
                Effect::Poll { stage, attempt }
            }
            "ask" => {
                let (rest, target) = rest.rsplit_once('/')?;
                let (stage, attempt) = rest.rsplit_once('/')?;
                Effect::Ask {
                    stage: stage.to_owned(),
                    attempt: attempt.parse().ok()?,
                    target: target.parse().ok()?,
                }
            }
            "reply" => Effect::Reply {
                index: rest.parse().ok()?,
            },
            "status" => Effect::Status {
                context: rest.to_owned(),
            },
            "notify" => {
                let (on, target) = rest.split_once('/')?;
                let on = match on {
                    "failure" => NotifyOn::Failure,
                    "fixed" => NotifyOn::Fixed,
                    _ => return None,
                };
                Effect::Notify {
                    on,
                    target: target.parse().ok()?,
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for effect in [
            Effect::ResolveCommit,
            Effect::ReadPipeline,
            Effect::CompareBasePipeline,
            Effect::Trigger {
                stage: "unit/test".into(),
                attempt: 2,
            },
            Effect::Deploy {
                stage: "prod".into(),
                attempt: 1,
            },
            Effect::Poll {
                stage: "image".into(),
                attempt: 3,
            },
            Effect::Status {
                context: "slipway/unit".into(),
            },
            Effect::RecordOutcome,
            Effect::Notify {
                on: NotifyOn::Fixed,
                target: 1,
            },
            Effect::Reply { index: 2 },
            Effect::Ask {
                stage: "approve".into(),
                attempt: 2,
                target: 0,
            },
        ] {
            assert_eq!(Effect::parse(&effect.id()), Some(effect));
        }
        assert_eq!(Effect::parse("bogus/1"), None);
    }
}
