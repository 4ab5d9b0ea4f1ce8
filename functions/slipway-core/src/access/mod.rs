//! Who may do what: people with their chat and git identities, groups,
//! role grants per app and environment, and each environment's approval
//! and confirmation policy (`[access]` in `config/slipway.toml`). Only this
//! configuration decides trust; a pipeline file can narrow who approves,
//! never widen it.
//!
//! ```toml
//! [access.people.alice]
//! chat = ["slack:T1DC2JH3J:U2CERLKJA", "feishu:tenant-key:ou_84aad35d"]
//! git = ["github:alice"]                      # provider:login, to know the pusher
//!
//! [access.groups]
//! sre = ["alice", "bob"]
//!
//! [[access.grants]]
//! role = "deployer"                           # viewer | deployer | approver | admin
//! to = ["group:sre"]
//! apps = ["shop"]                             # default: every app
//! environments = ["production"]               # default: every environment
//!
//! [access.environments.production]
//! confirm = true           # deploy, promote and rollback from chat ask `confirm <code>`
//! approvals = 2            # quorum of approval stages gating this environment
//! self_approval = false    # may the person whose push started the run approve it
//! approval_ttl = "24h"     # how long an approval request stays open
//! apps = ["shop"]          # which apps may deploy here (globs; default: all)
//! branches = ["main"]      # runs of which branches may deploy here (globs)
//! tags = ["v*"]            # … and of which tags
//! require_approval = true  # a deploy stage needs an approval stage before it
//! pull_requests = false    # merge-request runs may deploy here (previews)
//! [[access.environments.production.freeze]]   # see [`freeze`]
//! name = "weekend"
//! start = "0 18 * * 5"
//! duration = "62h"
//! reason = "no deploys over the weekend"
//!
//! [access.tokens.release-pipeline]             # see [`tokens`]
//! owner = "ci-bot"
//! hash_secret = "token_release_pipeline"
//! ```

mod actor;
pub mod deploy_rules;
pub mod freeze;
pub mod pull_requests;
pub mod tokens;

pub use actor::Actor;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Default lifetime of an approval request.
pub const DEFAULT_APPROVAL_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Chat platforms whose identities people can have.
pub const CHAT_PLATFORMS: [&str; 4] = ["slack", "mattermost", "dingtalk", "feishu"];

/// `[access]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// People by name.
    #[serde(default)]
    pub people: BTreeMap<String, Person>,
    /// Groups by name: their members' names.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Role grants.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Per environment: approvals and confirmation.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentPolicy>,
    /// API tokens by name.
    #[serde(default)]
    pub tokens: BTreeMap<String, tokens::TokenConfig>,
}

/// One person.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Chat identities, `platform:workspace:user` (never a display name).
    #[serde(default)]
    pub chat: Vec<String>,
    /// Git identities, `provider:login`.
    #[serde(default)]
    pub git: Vec<String>,
}

/// A role, given to people or groups for some apps and environments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// People, or `group:<name>`.
    pub to: Vec<String>,
    /// Apps it covers (empty or `*`: all).
    #[serde(default)]
    pub apps: Vec<String>,
    /// Environments it covers (empty or `*`: all).
    #[serde(default)]
    pub environments: Vec<String>,
}

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// See runs, releases and locks.
    Viewer,
    /// Deploy, promote, abort, roll back, lock, unlock, retry (and view).
    Deployer,
    /// Approve and reject approval stages (and view).
    Approver,
    /// Everything.
    Admin,
}

impl Role {
    /// Whether holding `self` gives `needed`.
    pub fn gives(self, needed: Role) -> bool {
        self == needed || self == Role::Admin || needed == Role::Viewer
    }

    /// `viewer`, `deployer`, `approver` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[access.environments.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPolicy {
    /// Deploy, promote and rollback from chat need a second step.
    #[serde(default)]
    pub confirm: bool,
    /// Approvals an approval stage gating this environment needs.
    #[serde(default = "one")]
    pub approvals: u32,
    /// Whether the pusher of a run may approve it.
    #[serde(default)]
    pub self_approval: bool,
    /// How long an approval request stays open (default 24h).
    #[serde(default)]
    pub approval_ttl: Option<String>,
    /// Apps that may deploy here (globs; default: every app).
    #[serde(default)]
    pub apps: Option<Vec<String>>,
    /// Branches whose runs may deploy here (globs; default: any).
    #[serde(default)]
    pub branches: Option<Vec<String>>,
    /// Tags whose runs may deploy here (globs; default: any).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// A deploy stage needs an approval stage before it.
    #[serde(default)]
    pub require_approval: bool,
    /// Merge-request runs may deploy here (a preview environment).
    #[serde(default)]
    pub pull_requests: bool,
    /// When no new deployment starts without an admin's override.
    #[serde(default)]
    pub freeze: Vec<freeze::FreezeWindow>,
}

fn one() -> u32 {
    1
}

impl Default for EnvironmentPolicy {
    fn default() -> Self {
        EnvironmentPolicy {
            confirm: false,
            approvals: 1,
            self_approval: false,
            approval_ttl: None,
            apps: None,
            branches: None,
            tags: None,
            require_approval: false,
            pull_requests: false,
            freeze: Vec::new(),
        }
    }
}

impl EnvironmentPolicy {
    /// `approval_ttl` in milliseconds.
    pub fn approval_ttl_ms(&self) -> u64 {
        self.approval_ttl
            .as_deref()
            .and_then(|d| crate::pipeline::duration::parse_ms(d).ok())
            .unwrap_or(DEFAULT_APPROVAL_TTL_MS)
    }
}

/// A verified chat user: platform, workspace (team, corp, tenant) and
/// user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatIdentity {
    /// `slack`, `mattermost`, `dingtalk` or `feishu`.
    pub platform: String,
    /// Workspace, team, corporation or tenant id.
    pub workspace: String,
    /// User id on the platform.
    pub user: String,
}

impl fmt::Display for ChatIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.platform, self.workspace, self.user)
    }
}

impl Person {
    /// Whether one of the person's git identities is `provider:login`
    /// (logins compare without case, as the providers treat them).
    pub fn has_git(&self, provider: &str, login: &str) -> bool {
        let wanted = format!("{provider}:{login}");
        self.git.iter().any(|g| g.eq_ignore_ascii_case(&wanted))
    }
}

/// Whether `name` can be a Spin variable name (lowercase letters, digits
/// and `_`, starting with a letter).
pub fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Access {
    /// Checks names, identities and durations.
    pub fn validate(&self, environments: &[&str]) -> Result<(), String> {
        for (name, person) in &self.people {
            for id in &person.chat {
                let parts: Vec<&str> = id.split(':').collect();
                let ok = parts.len() == 3
                    && CHAT_PLATFORMS.contains(&parts[0])
                    && parts.iter().all(|p| !p.is_empty());
                if !ok {
                    return Err(format!(
                        "access.people.{name}: chat identity {id:?} is not platform:workspace:user \
                         (platforms: {})",
                        CHAT_PLATFORMS.join(", ")
                    ));
                }
            }
            if let Some(bad) = person.git.iter().find(|g| !g.contains(':')) {
                return Err(format!(
                    "access.people.{name}: git identity {bad:?} is not provider:login"
                ));
            }
        }
        for (group, members) in &self.groups {
            if let Some(m) = members.iter().find(|m| !self.people.contains_key(*m)) {
                return Err(format!("access.groups.{group}: unknown person {m:?}"));
            }
        }
        for (i, grant) in self.grants.iter().enumerate() {
            for who in &grant.to {
                if !self.knows(who) {
                    return Err(format!(
                        "access.grants[{i}]: {who:?} is neither a person nor group:<name>"
                    ));
                }
            }
        }
        for (name, token) in &self.tokens {
            if !self.people.contains_key(&token.owner) {
                return Err(format!(
                    "access.tokens.{name}.owner: unknown person {:?}",
                    token.owner
                ));
            }
            if !is_variable_name(&token.hash_secret) {
                return Err(format!(
                    "access.tokens.{name}.hash_secret: {:?} is not a Spin variable name",
                    token.hash_secret
                ));
            }
        }
        for (env, policy) in &self.environments {
            if !environments.contains(&env.as_str()) {
                return Err(format!("access.environments.{env}: unknown environment"));
            }
            if policy.approvals == 0 {
                return Err(format!(
                    "access.environments.{env}: approvals must be at least 1"
                ));
            }
            if let Some(ttl) = &policy.approval_ttl {
                crate::pipeline::duration::parse_ms(ttl)
                    .map_err(|e| format!("access.environments.{env}.approval_ttl: {e}"))?;
            }
            for (i, window) in policy.freeze.iter().enumerate() {
                window
                    .validate()
                    .map_err(|e| format!("access.environments.{env}.freeze[{i}]: {e}"))?;
            }
        }
        Ok(())
    }

    /// The person a chat identity belongs to.
    pub fn person_for_chat(&self, id: &ChatIdentity) -> Option<&str> {
        let wanted = id.to_string();
        self.people
            .iter()
            .find(|(_, p)| p.chat.contains(&wanted))
            .map(|(name, _)| name.as_str())
    }

    /// The person whose git identity is `provider:login` (logins compare
    /// without case, as the providers treat them).
    pub fn person_for_git(&self, provider: &str, login: &str) -> Option<&str> {
        self.people
            .iter()
            .find(|(_, p)| p.has_git(provider, login))
            .map(|(name, _)| name.as_str())
    }

    /// Whether `person` is `provider:login` on git (the pusher of a run).
    pub fn is_git_identity(&self, person: &str, provider: &str, login: &str) -> bool {
        self.people
            .get(person)
            .is_some_and(|p| p.has_git(provider, login))
    }

    /// Whether `who` names a person or, as `group:<name>`, a group.
    pub fn knows(&self, who: &str) -> bool {
        match who.strip_prefix("group:") {
            Some(g) => self.groups.contains_key(g),
            None => self.people.contains_key(who),
        }
    }

    /// Whether `person` is `name` or in the group `group:<name>`.
    pub fn is(&self, person: &str, name: &str) -> bool {
        match name.strip_prefix("group:") {
            Some(group) => self
                .groups
                .get(group)
                .is_some_and(|members| members.iter().any(|m| m == person)),
            None => name == person,
        }
    }

    /// Whether `person` is an admin of every app in every environment:
    /// who may change the configuration itself.
    pub fn administers_everything(&self, person: &str) -> bool {
        let all = |list: &[String]| list.is_empty() || list.iter().any(|x| x == "*");
        self.grants.iter().any(|g| {
            g.role == Role::Admin
                && g.to.iter().any(|who| self.is(person, who))
                && all(&g.apps)
                && all(&g.environments)
        })
    }

    /// Whether `person` holds `role` (or one that gives it) for `app`, and
    /// `environment` when the action has one.
    pub fn allows(&self, person: &str, role: Role, app: &str, environment: Option<&str>) -> bool {
        let covers = |list: &[String], item: &str| {
            list.is_empty() || list.iter().any(|x| x == "*" || x == item)
        };
        self.grants.iter().any(|g| {
            g.role.gives(role)
                && g.to.iter().any(|who| self.is(person, who))
                && covers(&g.apps, app)
                && environment.is_none_or(|env| covers(&g.environments, env))
        })
    }

    /// The policy of `environment` (defaults when not configured).
    pub fn policy(&self, environment: &str) -> EnvironmentPolicy {
        self.environments
            .get(environment)
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        toml::from_str(
            r#"
[people.alice]
chat = ["slack:T1:UA"]
git = ["github:alice"]
[people.bob]
chat = ["mattermost:team:ub"]
[people.carol]
[groups]
sre = ["alice"]
[[grants]]
role = "deployer"
to = ["group:sre"]
apps = ["shop"]
environments = ["production"]
[[grants]]
role = "approver"
to = ["bob"]
[[grants]]
role = "admin"
to = ["carol"]
apps = ["billing"]
[environments.production]
confirm = true
approvals = 2
approval_ttl = "2h"
"#,
        )
        .unwrap()
    }

    #[test]
    fn roles_follow_grants_scopes_and_groups() {
        let a = access();
        assert!(a.allows("alice", Role::Deployer, "shop", Some("production")));
        assert!(a.allows("alice", Role::Viewer, "shop", None));
        assert!(!a.allows("alice", Role::Deployer, "shop", Some("test")));
        assert!(!a.allows("alice", Role::Deployer, "billing", Some("production")));
        assert!(!a.allows("alice", Role::Approver, "shop", Some("production")));
        assert!(a.allows("bob", Role::Approver, "anything", Some("production")));
        assert!(!a.allows("bob", Role::Deployer, "shop", None));
        assert!(a.allows("carol", Role::Deployer, "billing", Some("x")));
        assert!(!a.allows("carol", Role::Viewer, "shop", None));
        assert!(!a.allows("mallory", Role::Viewer, "shop", None));
    }

    #[test]
    fn identities_map_to_people() {
        let a = access();
        let id = |p: &str, w: &str, u: &str| ChatIdentity {
            platform: p.into(),
            workspace: w.into(),
            user: u.into(),
        };
        assert_eq!(a.person_for_chat(&id("slack", "T1", "UA")), Some("alice"));
        assert_eq!(a.person_for_chat(&id("slack", "T2", "UA")), None);
        assert_eq!(
            a.person_for_chat(&id("mattermost", "team", "ub")),
            Some("bob")
        );
        assert!(a.is_git_identity("alice", "github", "Alice"));
        assert!(!a.is_git_identity("alice", "gitlab", "alice"));
    }

    #[test]
    fn policies_and_validation() {
        let a = access();
        let p = a.policy("production");
        assert!(p.confirm);
        assert_eq!(p.approvals, 2);
        assert_eq!(p.approval_ttl_ms(), 2 * 3600 * 1000);
        assert_eq!(a.policy("test").approvals, 1);
        assert_eq!(a.policy("test").approval_ttl_ms(), DEFAULT_APPROVAL_TTL_MS);
        assert!(a.validate(&["production"]).is_ok());
        let err = a.validate(&["test"]).unwrap_err();
        assert!(err.contains("unknown environment"), "{err}");
        let mut bad = access();
        bad.people.get_mut("bob").unwrap().chat = vec!["bob".into()];
        assert!(
            bad.validate(&["production"])
                .unwrap_err()
                .contains("platform:workspace:user")
        );
        let mut bad = access();
        bad.grants[0].to = vec!["group:nobody".into()];
        assert!(bad.validate(&["production"]).is_err());
    }
}
