//! What the person looking at a page may do there, so the page shows only
//! the buttons that would work (each action checks again when used).

use serde_json::{Value, json};

use crate::access::{Actor, Role};
use crate::config::ControlPlane;
use crate::engine::approvals::may_answer;
use crate::runs::{RunRecord, StageStatus};

/// Who reads a page: a person, or an anonymous reader of a public app.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The caller, if signed in or holding a token.
    pub actor: Option<Actor>,
}

impl Viewer {
    /// The person's name, if any.
    pub fn person(&self) -> Option<&str> {
        self.actor.as_ref().map(|a| a.person.as_str())
    }

    /// Whether the viewer has `role` for `app` (in `env`).
    pub fn allows(&self, config: &ControlPlane, role: Role, app: &str, env: Option<&str>) -> bool {
        self.person()
            .is_some_and(|p| config.access.allows(p, role, app, env))
    }

    /// The environments where the viewer may deploy, promote, abort and
    /// roll back `app`.
    pub fn operates(&self, config: &ControlPlane, app: &str) -> Vec<String> {
        config
            .environments
            .keys()
            .filter(|env| self.allows(config, Role::Deployer, app, Some(env)))
            .cloned()
            .collect()
    }

    /// The approval stages of `run` the viewer may answer now.
    pub fn approves(&self, config: &ControlPlane, run: &RunRecord) -> Vec<String> {
        let Some(actor) = &self.actor else {
            return Vec::new();
        };
        run.stages
            .iter()
            .filter(|(_, s)| s.status == StageStatus::WaitingForApproval)
            .filter(|(name, _)| may_answer(&config.access, actor, run, name).is_ok())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// `{"person", "may": {"approve", "retry", "operate"}}` for a run page.
    pub fn for_run(&self, config: &ControlPlane, run: &RunRecord) -> Value {
        json!({
            "person": self.person(),
            "may": {
                "approve": self.approves(config, run),
                "retry": self.allows(config, Role::Deployer, &run.app, None),
                "operate": self.operates(config, &run.app),
            },
        })
    }
}
