//! What an environment admits, by its policy in the configuration: which
//! apps, runs of which branches and tags, whether a run of a merge request
//! may deploy at all, whether an approval must come first, and whether a
//! freeze is on. A pipeline file can add stages and approvers, never lift
//! one of these.

use std::fmt;

use super::EnvironmentPolicy;
use super::freeze::FreezeWindow;
use crate::pipeline::glob;

/// A deployment the policy refuses: the rule, as a configuration path,
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `access.environments.<env>.<key>`.
    pub rule: String,
    /// What the deployment does that the rule forbids.
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (refused by {})", self.message, self.rule)
    }
}

/// Where the artifact of a deployment by a run comes from.
#[derive(Debug, Clone, Copy)]
pub struct RunOrigin<'a> {
    /// The run's ref: `refs/heads/…` or `refs/tags/…`.
    pub git_ref: &'a str,
    /// A merge-request run.
    pub merge_request: bool,
    /// An approval stage before the deploy stage was granted.
    pub approved: bool,
}

/// A freeze in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFreeze {
    /// The window's name.
    pub name: String,
    /// Its reason.
    pub reason: String,
    /// When this occurrence ends.
    pub until_ms: u64,
}

impl EnvironmentPolicy {
    /// Whether `app` may deploy to `env` at all.
    pub fn admits_app(&self, env: &str, app: &str) -> Result<(), Refused> {
        match &self.apps {
            Some(globs) if !glob::any_matches(globs, app) => Err(Refused {
                rule: format!("access.environments.{env}.apps"),
                message: format!("app {app:?} may not deploy to {env}"),
            }),
            _ => Ok(()),
        }
    }

    /// Whether a run from `origin` may deploy to `env`.
    pub fn admits_run(&self, env: &str, origin: RunOrigin<'_>) -> Result<(), Refused> {
        let refuse = |key: &str, message: String| Refused {
            rule: format!("access.environments.{env}.{key}"),
            message,
        };
        if origin.merge_request && !self.pull_requests {
            return Err(refuse(
                "pull_requests",
                format!("merge-request runs do not deploy to {env}"),
            ));
        }
        if !origin.merge_request {
            if let Some(branch) = origin.git_ref.strip_prefix("refs/heads/")
                && let Some(globs) = &self.branches
                && !glob::any_matches(globs, branch)
            {
                return Err(refuse(
                    "branches",
                    format!("branch {branch:?} may not deploy to {env}"),
                ));
            }
            if let Some(tag) = origin.git_ref.strip_prefix("refs/tags/")
                && let Some(globs) = &self.tags
                && !glob::any_matches(globs, tag)
            {
                return Err(refuse(
                    "tags",
                    format!("tag {tag:?} may not deploy to {env}"),
                ));
            }
        }
        if self.require_approval && !origin.approved {
            return Err(refuse(
                "require_approval",
                format!("a deploy to {env} needs an approved approval stage before it"),
            ));
        }
        Ok(())
    }

    /// The freeze in force at `now_ms`, if any (the one lasting longest).
    pub fn freeze_at(&self, now_ms: u64) -> Option<ActiveFreeze> {
        self.freeze
            .iter()
            .filter_map(|w: &FreezeWindow| {
                w.active_at(now_ms).map(|until_ms| ActiveFreeze {
                    name: w.name.clone(),
                    reason: w.reason.clone(),
                    until_ms,
                })
            })
            .max_by_key(|f| f.until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EnvironmentPolicy {
        toml::from_str(
            r#"
apps = ["shop", "web-*"]
branches = ["main", "release/*"]
tags = ["v*"]
require_approval = true
[[freeze]]
name = "peak"
from = "2026-11-27T00:00:00Z"
until = "2026-11-30T00:00:00Z"
reason = "Black Friday"
"#,
        )
        .unwrap()
    }

    fn origin(git_ref: &str) -> RunOrigin<'_> {
        RunOrigin {
            git_ref,
            merge_request: false,
            approved: true,
        }
    }

    #[test]
    fn apps_branches_and_tags_are_globs() {
        let p = policy();
        assert!(p.admits_app("prod", "web-eu").is_ok());
        let refused = p.admits_app("prod", "billing").unwrap_err();
        assert_eq!(refused.rule, "access.environments.prod.apps");
        assert!(p.admits_run("prod", origin("refs/heads/main")).is_ok());
        assert!(
            p.admits_run("prod", origin("refs/heads/release/1.2"))
                .is_ok()
        );
        assert!(p.admits_run("prod", origin("refs/tags/v1.2.0")).is_ok());
        let branch = p
            .admits_run("prod", origin("refs/heads/feature/x"))
            .unwrap_err();
        assert_eq!(branch.rule, "access.environments.prod.branches");
        assert!(branch.to_string().contains("feature/x"), "{branch}");
        let tag = p
            .admits_run("prod", origin("refs/tags/nightly"))
            .unwrap_err();
        assert_eq!(tag.rule, "access.environments.prod.tags");
    }

    #[test]
    fn merge_requests_deploy_only_to_preview_environments() {
        let mut p = EnvironmentPolicy::default();
        let mr = RunOrigin {
            git_ref: "refs/heads/feature",
            merge_request: true,
            approved: false,
        };
        let refused = p.admits_run("preview", mr).unwrap_err();
        assert_eq!(refused.rule, "access.environments.preview.pull_requests");
        p.pull_requests = true;
        p.branches = Some(vec!["main".into()]);
        assert!(p.admits_run("preview", mr).is_ok());
    }

    #[test]
    fn approval_and_freeze() {
        let p = policy();
        let unapproved = RunOrigin {
            approved: false,
            ..origin("refs/heads/main")
        };
        let refused = p.admits_run("prod", unapproved).unwrap_err();
        assert_eq!(refused.rule, "access.environments.prod.require_approval");
        let friday = 1_795_802_400_000;
        let freeze = p.freeze_at(friday).unwrap();
        assert_eq!(freeze.name, "peak");
        assert_eq!(freeze.reason, "Black Friday");
        assert_eq!(p.freeze_at(freeze.until_ms), None);
    }
}
