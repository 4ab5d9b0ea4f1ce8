//! Who acts: a person of the configuration and the identity they proved
//! (a chat account, an API token, a web session).

/// Someone acting on Slipway, verified: a person of the configuration and
/// the identity they proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person's name in `[access.people]` (or the API token's owner).
    pub person: String,
    /// The identity verified (`slack:T…:U…`, `api-token`).
    pub identity: String,
    /// Where from: `slack`, `mattermost`, `dingtalk`, `feishu`, `api`.
    pub via: String,
}

impl Actor {
    /// A person signed in on the web page, in session `session`.
    pub fn web_session(person: &str, session: &str) -> Actor {
        let short: String = session.chars().take(8).collect();
        Actor {
            person: person.to_owned(),
            identity: format!("session:{short}"),
            via: "web".into(),
        }
    }

    /// The owner of the API token `name`.
    pub fn api_token(name: &str, owner: &str) -> Actor {
        Actor {
            person: owner.to_owned(),
            identity: format!("token:{name}"),
            via: "api".into(),
        }
    }
}
