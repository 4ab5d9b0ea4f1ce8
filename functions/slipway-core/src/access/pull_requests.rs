//! Whose pull requests Slipway builds on its own (`[apps.<app>.pull_requests]`).
//! A request from anyone else runs nothing until a trusted person
//! comments `/ok-to-test`, and even then runs the pipeline of the target
//! branch, never the one in the request.
//!
//! ```toml
//! [apps.shop.pull_requests]
//! trusted = ["group:developers", "alice"]   # people of [access], by their git identities
//! trusted_associations = ["OWNER", "MEMBER", "COLLABORATOR"]   # the default
//! ```

use serde::Deserialize;

use super::Access;

/// `[apps.<app>.pull_requests]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestTrust {
    /// People and `group:<name>`s of `[access]` whose requests are trusted.
    #[serde(default)]
    pub trusted: Vec<String>,
    /// Author associations the provider reports that are trusted (GitHub
    /// and Gitea say `OWNER`, `MEMBER`, `COLLABORATOR`, …; GitLab,
    /// Gitee, Codeup and Bitbucket send none).
    #[serde(default = "default_associations")]
    pub trusted_associations: Vec<String>,
}

fn default_associations() -> Vec<String> {
    ["OWNER", "MEMBER", "COLLABORATOR"]
        .map(str::to_owned)
        .to_vec()
}

impl Default for PullRequestTrust {
    fn default() -> Self {
        PullRequestTrust {
            trusted: Vec::new(),
            trusted_associations: default_associations(),
        }
    }
}

/// Someone on a git provider, as a webhook names them.
#[derive(Debug, Clone, Copy)]
pub struct GitUser<'a> {
    /// `github`, `gitlab`, …
    pub provider: &'a str,
    /// Their login.
    pub login: &'a str,
    /// Their relation to the repository, if the provider says.
    pub association: Option<&'a str>,
}

impl PullRequestTrust {
    /// Checks that every trusted name is a person or group of `access`.
    pub fn validate(&self, access: &Access) -> Result<(), String> {
        for who in &self.trusted {
            if !access.knows(who) {
                return Err(format!(
                    "pull_requests.trusted: {who:?} is neither a person nor group:<name> of [access]"
                ));
            }
        }
        Ok(())
    }

    /// Why `user` is trusted (the person, or the association), if they are.
    pub fn trusts(&self, access: &Access, user: GitUser<'_>) -> Option<String> {
        if let Some(association) = user.association
            && self
                .trusted_associations
                .iter()
                .any(|a| a.eq_ignore_ascii_case(association))
        {
            return Some(format!("{} is {association}", user.login));
        }
        let person = access.person_for_git(user.provider, user.login)?;
        self.trusted
            .iter()
            .any(|name| access.is(person, name))
            .then(|| format!("{} is {person}, trusted", user.login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_groups_and_associations_are_trusted() {
        let access: Access = toml::from_str(
            r#"
[people.alice]
git = ["github:alice", "gitlab:alice.l"]
[people.bob]
git = ["github:bob"]
[groups]
devs = ["alice"]
"#,
        )
        .unwrap();
        let trust = PullRequestTrust {
            trusted: vec!["group:devs".into()],
            ..PullRequestTrust::default()
        };
        assert!(trust.validate(&access).is_ok());
        let user = |provider, login, association| GitUser {
            provider,
            login,
            association,
        };
        assert!(
            trust
                .trusts(&access, user("gitlab", "Alice.L", None))
                .is_some()
        );
        assert!(trust.trusts(&access, user("github", "bob", None)).is_none());
        assert!(
            trust
                .trusts(&access, user("github", "mallory", Some("MEMBER")))
                .is_some()
        );
        assert!(
            trust
                .trusts(&access, user("github", "mallory", Some("CONTRIBUTOR")))
                .is_none()
        );
        assert!(
            trust
                .trusts(&access, user("gitea", "alice", None))
                .is_none()
        );
        let strict = PullRequestTrust {
            trusted: vec![],
            trusted_associations: vec![],
        };
        assert!(
            strict
                .trusts(&access, user("github", "alice", Some("OWNER")))
                .is_none()
        );
        let bad = PullRequestTrust {
            trusted: vec!["group:nobody".into()],
            ..PullRequestTrust::default()
        };
        assert!(bad.validate(&access).is_err());
    }
}
