//! What each component needs of the manifest, derived from the
//! configuration: the Spin variables it reads and the hosts it calls. The
//! `slipway-host manifest` command writes (or checks) `spin.toml` from
//! this, so every component gets exactly these and nothing else.
//!
//! Components are grouped by capability:
//! - **webhooks** (`git-hooks`): the git providers' webhook secrets;
//! - **engine** (every component that reconciles after its request:
//!   `git-hooks`, `callbacks`, `runs-api`, `deploy`, `chatops`): the
//!   callback secret, provider, build-service and platform tokens, chat
//!   notice and reply credentials, and the hosts they are used with;
//! - **api** (`runs-api`, `deploy`, `web`, and `git-hooks` for
//!   `/api/dry-run`): the API tokens' hashes;
//! - **chat** (`chatops`): the chat platforms' request-signing secrets;
//! - **sessions** (`web`, `runs-api`, `deploy`, `chatops`): the secret web
//!   sessions and sign-in links are signed with.
//!
//! `health` needs nothing.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use crate::chat::{PLATFORMS, reply};
use crate::config::ControlPlane;
use crate::deploy::platform::EnvironmentConfig;
use crate::providers::Provider;

/// The variable every engine component signs callback tokens with.
pub const CALLBACK_SECRET: &str = "callback_secret";

/// A group of needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    /// Verifying git webhooks.
    Webhooks,
    /// Reconciling runs and deployments.
    Engine,
    /// Naming API callers by their tokens.
    Api,
    /// Verifying chat requests.
    Chat,
    /// Signing and checking web sessions.
    Sessions,
}

/// Each component of `spin.toml` and its capabilities.
pub const COMPONENTS: [(&str, &[Capability]); 7] = [
    ("health", &[]),
    (
        "git-hooks",
        &[Capability::Webhooks, Capability::Engine, Capability::Api],
    ),
    ("callbacks", &[Capability::Engine]),
    (
        "runs-api",
        &[Capability::Api, Capability::Engine, Capability::Sessions],
    ),
    (
        "deploy",
        &[Capability::Api, Capability::Engine, Capability::Sessions],
    ),
    (
        "chatops",
        &[Capability::Chat, Capability::Engine, Capability::Sessions],
    ),
    ("web", &[Capability::Api, Capability::Sessions]),
];

/// What one component needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Spin variables it reads.
    pub variables: BTreeSet<String>,
    /// `allowed_outbound_hosts` entries: `scheme://host:port`.
    pub outbound: BTreeSet<String>,
}

/// Why a configured URL cannot be allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {url:?} is not an absolute http(s) URL")]
pub struct BadUrl {
    /// Where in the configuration.
    pub what: String,
    /// The URL.
    pub url: String,
}

/// The needs of every component of [`COMPONENTS`] under `config`.
pub fn needs(config: &ControlPlane) -> Result<BTreeMap<&'static str, Needs>, BadUrl> {
    let by_capability: BTreeMap<Capability, Needs> = [
        (Capability::Webhooks, webhooks(config)),
        (Capability::Engine, engine(config)?),
        (Capability::Api, api(config)),
        (Capability::Chat, chat()),
        (Capability::Sessions, sessions()),
    ]
    .into();
    Ok(COMPONENTS
        .iter()
        .map(|(component, capabilities)| {
            let mut needs = Needs::default();
            for capability in *capabilities {
                let part = &by_capability[capability];
                needs.variables.extend(part.variables.iter().cloned());
                needs.outbound.extend(part.outbound.iter().cloned());
            }
            (*component, needs)
        })
        .collect())
}

/// `scheme://host:port` of `url`, the form `allowed_outbound_hosts` takes.
pub fn origin(what: &str, url: &str) -> Result<String, BadUrl> {
    let bad = || BadUrl {
        what: what.to_owned(),
        url: url.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|_| bad())?;
    let scheme = parsed.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let host = parsed.host_str().ok_or_else(bad)?;
    let port = parsed.port_or_known_default().ok_or_else(bad)?;
    Ok(format!("{scheme}://{host}:{port}"))
}

fn webhooks(config: &ControlPlane) -> Needs {
    let mut needs = Needs::default();
    for settings in config.providers.values() {
        needs.variables.extend(settings.webhook_secret.clone());
    }
    for app in config.apps.values() {
        needs.variables.extend(app.webhook_secret.clone());
    }
    // Tekton's CloudEvents arrive at `/hooks/tekton`.
    for service in config.build_services.values() {
        if let crate::builders::BuildServiceConfig::Tekton(t) = service {
            needs.variables.extend(t.events_token_secret.clone());
        }
    }
    needs
}

fn api(config: &ControlPlane) -> Needs {
    let mut needs = Needs::default();
    for token in config.access.tokens.values() {
        needs.variables.insert(token.hash_secret.clone());
    }
    needs
}

fn chat() -> Needs {
    let mut needs = Needs::default();
    for platform in PLATFORMS.iter() {
        needs
            .variables
            .extend(platform.secret_names().iter().map(|s| s.to_string()));
    }
    needs
}

fn sessions() -> Needs {
    let mut needs = Needs::default();
    needs
        .variables
        .insert(crate::sessions::SESSION_SECRET.to_owned());
    needs
}

fn engine(config: &ControlPlane) -> Result<Needs, BadUrl> {
    let mut needs = Needs::default();
    let vars = &mut needs.variables;
    vars.insert(CALLBACK_SECRET.into());
    vars.insert(reply::FEISHU_APP_ID.into());
    vars.insert(reply::FEISHU_APP_SECRET.into());
    let hosts = &mut needs.outbound;
    // Every provider an app uses, configured or on its public API.
    let mut providers: Vec<Provider> = config
        .providers
        .keys()
        .map(String::as_str)
        .chain(config.apps.values().map(|a| a.provider.as_str()))
        .filter_map(Provider::from_path_segment)
        .collect();
    providers.sort_by_key(|p| p.as_str());
    providers.dedup();
    for provider in providers {
        vars.extend(config.provider(provider).token_secret);
        let what = format!("providers.{provider}.api_base");
        hosts.insert(origin(&what, &config.api_base(provider))?);
    }
    for (name, service) in &config.build_services {
        vars.extend(service.token_secret().map(str::to_owned));
        vars.extend(service.status_token_secret().map(str::to_owned));
        hosts.insert(origin(
            &format!("build_services.{name}"),
            service.base_url(),
        )?);
    }
    for (name, environment) in &config.environments {
        let what = format!("environments.{name}");
        match environment {
            EnvironmentConfig::Kubernetes(k) => {
                vars.insert(k.token_secret.clone());
                hosts.insert(origin(&what, &k.api_server)?);
            }
            EnvironmentConfig::Docker(d) => {
                vars.extend(d.token_secret.clone());
                vars.extend(d.registry_auth_secret.clone());
                hosts.insert(origin(&what, &d.url)?);
            }
        }
    }
    for app in config.apps.values() {
        for target in &app.notify {
            vars.insert(target.webhook_secret.clone());
            vars.extend(target.sign_secret.clone());
        }
    }
    for url in config.chat.reply_hosts() {
        hosts.insert(origin("chat.reply_hosts", &url)?);
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
public_url = "https://slipway.example.com"
[providers.github]
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[apps.shop]
provider = "github"
repo = "acme/shop"
[apps.billing]
provider = "gitlab"
repo = "acme/billing"
webhook_secret = "billing_hook"
[[apps.shop.notify]]
type = "dingtalk"
webhook_secret = "dingtalk_url"
sign_secret = "dingtalk_sign"
[build_services.jenkins]
type = "jenkins"
url = "http://jenkins.ci.svc.cluster.local:8080/jenkins"
user = "slipway"
token_secret = "jenkins_token"
[environments.production]
platform = "kubernetes"
api_server = "https://10.0.0.1:6443"
namespace = "shop"
token_secret = "kubernetes_token"
[environments.swarm]
platform = "docker"
url = "https://swarm.example.com:2376"
[access.people.ops]
[access.tokens.ops]
owner = "ops"
hash_secret = "token_ops"
"#;

    #[test]
    fn each_component_gets_only_what_its_capabilities_use() {
        let config = ControlPlane::parse(CONFIG).unwrap();
        let needs = needs(&config).unwrap();
        assert_eq!(needs["health"], Needs::default());
        let hooks = &needs["git-hooks"];
        assert!(hooks.variables.contains("github_webhook_secret"));
        assert!(hooks.variables.contains("billing_hook"));
        // API token hashes, for `/api/dry-run`; no chat secrets.
        assert!(hooks.variables.contains("token_ops"));
        assert!(!hooks.variables.contains("slack_signing_secret"));
        let callbacks = &needs["callbacks"];
        assert!(!callbacks.variables.contains("github_webhook_secret"));
        for var in [
            "callback_secret",
            "github_token",
            "jenkins_token",
            "kubernetes_token",
            "dingtalk_url",
            "dingtalk_sign",
        ] {
            assert!(callbacks.variables.contains(var), "{var}");
        }
        assert!(needs["deploy"].variables.contains("token_ops"));
        assert!(needs["chatops"].variables.contains("slack_signing_secret"));
        assert!(!needs["chatops"].variables.contains("token_ops"));
        let hosts: Vec<&str> = callbacks.outbound.iter().map(String::as_str).collect();
        for host in [
            "https://api.github.com:443",
            "https://gitlab.com:443",
            "http://jenkins.ci.svc.cluster.local:8080",
            "https://10.0.0.1:6443",
            "https://swarm.example.com:2376",
            "https://hooks.slack.com:443",
            "https://oapi.dingtalk.com:443",
            "https://open.feishu.cn:443",
        ] {
            assert!(hosts.contains(&host), "{host} not in {hosts:?}");
        }
        assert_eq!(hosts.len(), 8, "{hosts:?}");
    }

    #[test]
    fn origins_fill_in_default_ports_and_refuse_other_schemes() {
        assert_eq!(
            origin("x", "https://a.example/path").unwrap(),
            "https://a.example:443"
        );
        assert_eq!(
            origin("x", "http://127.0.0.1:9000/").unwrap(),
            "http://127.0.0.1:9000"
        );
        assert!(origin("x", "tcp://docker:2375").is_err());
        assert!(origin("x", "not a url").is_err());
    }
}
