//! The control-plane configuration (`config/slipway.toml`, packaged with the
//! Spin app through `files`). It holds no secrets: wherever a secret is
//! needed, it names the Spin variable (declared `secret = true`) that holds it.
//!
//! ```toml
//! public_url = "https://slipway.example.com"   # base of callback and status links
//!
//! [providers.github]
//! api_base = "https://api.github.com"          # GitHub Enterprise: https://ghe.example.com/api/v3
//! token_secret = "github_token"                # Spin variable with an API token
//! webhook_secret = "github_webhook_secret"     # Spin variable with the webhook secret
//!
//! [apps.shop]
//! provider = "github"
//! repo = "acme/shop"
//! pipeline_path = ".slipway/pipeline.toml"     # default
//! webhook_secret = "shop_webhook_secret"       # optional, overrides the provider's
//!
//! [build_services.jenkins]
//! type = "jenkins"
//! url = "https://jenkins.example.com"
//! user = "slipway"
//! token_secret = "jenkins_token"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::builders::BuildServiceConfig;
use crate::providers::Provider;

/// The whole control-plane configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlane {
    /// Public base URL of this Slipway (no trailing slash needed).
    pub public_url: String,
    /// Git providers by name (`github`, `gitlab`, `gitee`, `codeup`,
    /// `bitbucket`, `gitea`).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Apps by name.
    #[serde(default)]
    pub apps: BTreeMap<String, AppConfig>,
    /// Build services by name.
    #[serde(default)]
    pub build_services: BTreeMap<String, BuildServiceConfig>,
    /// Environments by name (their container services).
    #[serde(default)]
    pub environments: BTreeMap<String, crate::deploy::EnvironmentConfig>,
    /// How `POST /api/tick` behaves.
    #[serde(default)]
    pub tick: TickSettings,
    /// Who may do what ([`crate::access`]).
    #[serde(default)]
    pub access: crate::access::Access,
    /// Chat platforms people send commands from ([`crate::chatops`]).
    #[serde(default)]
    pub chat: ChatSettings,
    /// The web stage view.
    #[serde(default)]
    pub web: WebSettings,
}

/// `[web]`: the stage view.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Anyone may read every app's runs and releases without signing in
    /// (an internal dashboard); acting still needs a session or token.
    #[serde(default)]
    pub public_read: bool,
}

/// `[chat]`: where Slipway answers on platforms whose answers go through
/// an API rather than the request's response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// Feishu / Lark open API base (default `https://open.feishu.cn`;
    /// Lark: `https://open.larksuite.com`).
    #[serde(default)]
    pub feishu_api_base: Option<String>,
    /// Where chat answers and notices are posted, for the outbound
    /// allow-list (Slack `response_url`s and incoming webhooks, DingTalk
    /// robots and session webhooks, Feishu, a self-hosted Mattermost).
    /// Default: Slack's, DingTalk's and the Feishu API base.
    #[serde(default)]
    pub reply_hosts: Option<Vec<String>>,
}

impl ChatSettings {
    /// `reply_hosts`, or the default.
    pub fn reply_hosts(&self) -> Vec<String> {
        self.reply_hosts.clone().unwrap_or_else(|| {
            vec![
                "https://hooks.slack.com".to_owned(),
                "https://oapi.dingtalk.com".to_owned(),
                self.feishu_api_base().to_owned(),
            ]
        })
    }

    /// The Feishu open API base, without a trailing slash.
    pub fn feishu_api_base(&self) -> &str {
        self.feishu_api_base
            .as_deref()
            .unwrap_or("https://open.feishu.cn")
            .trim_end_matches('/')
    }
}

/// `[tick]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickSettings {
    /// Ask the build service about a running build once it has run this
    /// long without a callback (default `2m`).
    #[serde(default)]
    pub poll_after: Option<String>,
    /// How long a request that claimed a side effect owns it (default
    /// `30s`): longer than one effect takes (a few calls of at most 15 s);
    /// a claim whose request died is taken over after it.
    #[serde(default)]
    pub lease: Option<String>,
}

impl TickSettings {
    /// `lease` in milliseconds.
    pub fn lease_ms(&self) -> u64 {
        self.lease
            .as_deref()
            .and_then(|d| crate::pipeline::duration::parse_ms(d).ok())
            .unwrap_or(crate::intents::DEFAULT_LEASE_MS)
            .max(1_000)
    }

    /// `poll_after` in milliseconds.
    pub fn poll_after_ms(&self) -> u64 {
        self.poll_after
            .as_deref()
            .and_then(|d| crate::pipeline::duration::parse_ms(d).ok())
            .unwrap_or(120_000)
    }
}

/// How to reach one git provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// API base URL (default: the provider's public cloud API).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Spin variable holding an API token (file reads, commit statuses).
    #[serde(default)]
    pub token_secret: Option<String>,
    /// Spin variable holding the webhook secret or token.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// Codeup organisation id.
    #[serde(default)]
    pub organization: Option<String>,
}

/// One application under Slipway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Provider name (a key of `[providers]`, or a provider's default name).
    pub provider: String,
    /// Repository path, e.g. `acme/shop` or `group/sub/project`.
    pub repo: String,
    /// Where the pipeline file lives in the repository.
    #[serde(default = "default_pipeline_path")]
    pub pipeline_path: String,
    /// Spin variable with this app's webhook secret (overrides the provider's).
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// Chat notifications (`[[apps.<name>.notify]]`).
    #[serde(default)]
    pub notify: Vec<crate::notify::NotifyTarget>,
    /// Whether anyone may read its runs and releases without a token.
    #[serde(default)]
    pub public_read: bool,
    /// Whose pull requests run without a trusted person's `/ok-to-test`.
    #[serde(default)]
    pub pull_requests: crate::access::pull_requests::PullRequestTrust,
    /// `[apps.<name>.compose]`: deploy to Docker environments as a stack
    /// described by a Compose file in the repository.
    #[serde(default)]
    pub compose: Option<ComposeSettings>,
}

/// `[apps.<name>.compose]`: the app is a Swarm stack.
///
/// ```toml
/// [apps.shop.compose]
/// path = "deploy/compose.yaml"   # in the repository, read at the deployed commit
/// service = "web"                # the service that runs the built image (default: the app's name)
/// stack = "shop"                 # the stack's namespace (default: the app's name)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeSettings {
    /// Where the Compose file lives in the repository.
    pub path: String,
    /// The service whose image is the one deployed (default: the app's name).
    #[serde(default)]
    pub service: Option<String>,
    /// The stack's name (default: the app's name).
    #[serde(default)]
    pub stack: Option<String>,
}

fn default_pipeline_path() -> String {
    ".slipway/pipeline.toml".into()
}

/// A configuration that cannot be used: why, and where (a byte offset for
/// a syntax or type error, else the path of the key at fault, such as
/// `["apps", "shop", "provider"]`), so `slipway check` can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slipway.toml: {}{message}", offset_line(.offset, .text_lines))]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    /// The key at fault, outermost first (empty: the whole file).
    pub path: Vec<String>,
    /// Byte offset of a syntax or type error.
    pub offset: Option<usize>,
    /// Line of `offset`, for the message.
    text_lines: Option<usize>,
}

fn offset_line(offset: &Option<usize>, line: &Option<usize>) -> String {
    match (offset, line) {
        (Some(_), Some(line)) => format!("line {line}: "),
        _ => String::new(),
    }
}

impl ConfigError {
    /// A problem with the key at `path`.
    pub fn at(path: &[&str], message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            path: path.iter().map(|p| p.to_string()).collect(),
            offset: None,
            text_lines: None,
        }
    }

    /// A problem whose message starts with a dotted key path
    /// (`access.environments.prod: …`), as the access rules report them.
    fn dotted(message: String) -> Self {
        let path = message
            .split_once(": ")
            .map(|(head, _)| head)
            .filter(|head| !head.contains(' '))
            .map(|head| head.split('.').map(str::to_owned).collect())
            .unwrap_or_default();
        ConfigError {
            message,
            path,
            offset: None,
            text_lines: None,
        }
    }
}

/// The public API of a provider when no `api_base` is configured.
pub fn default_api_base(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub => "https://api.github.com",
        Provider::GitLab => "https://gitlab.com/api/v4",
        Provider::Gitee => "https://gitee.com/api/v5",
        Provider::Codeup => "https://openapi-rdc.aliyuncs.com",
        Provider::Bitbucket => "https://api.bitbucket.org/2.0",
        Provider::Gitea => "https://gitea.com/api/v1",
    }
}

impl ControlPlane {
    /// Parses and checks the configuration text.
    pub fn parse(text: &str) -> Result<ControlPlane, ConfigError> {
        let config: ControlPlane = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start.min(text.len()));
            ConfigError {
                message: e.message().trim().to_owned(),
                path: Vec::new(),
                offset,
                text_lines: offset.map(|o| text[..o].matches('\n').count() + 1),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The checks beyond the file's shape.
    fn validate(&self) -> Result<(), ConfigError> {
        for name in self.providers.keys() {
            if Provider::from_path_segment(name).is_none() {
                return Err(ConfigError::at(
                    &["providers", name],
                    format!("unknown provider {name:?}"),
                ));
            }
        }
        for (name, app) in &self.apps {
            self.validate_app(name, app)?;
        }
        if let Some(d) = &self.tick.poll_after {
            crate::pipeline::duration::parse_ms(d).map_err(|e| {
                ConfigError::at(&["tick", "poll_after"], format!("tick.poll_after: {e}"))
            })?;
        }
        for (name, service) in &self.build_services {
            service.validate().map_err(|e| {
                ConfigError::at(
                    &["build_services", name],
                    format!("build service {name:?}: {e}"),
                )
            })?;
        }
        let environments: Vec<&str> = self.environments.keys().map(String::as_str).collect();
        self.access
            .validate(&environments)
            .map_err(ConfigError::dotted)?;
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::at(
                &["public_url"],
                "public_url must start with http:// or https://",
            ));
        }
        Ok(())
    }

    fn validate_app(&self, name: &str, app: &AppConfig) -> Result<(), ConfigError> {
        if Provider::from_path_segment(&app.provider).is_none() {
            return Err(ConfigError::at(
                &["apps", name, "provider"],
                format!("app {name:?}: unknown provider {:?}", app.provider),
            ));
        }
        if app.repo.trim_matches('/').is_empty() {
            return Err(ConfigError::at(
                &["apps", name, "repo"],
                format!("app {name:?}: repo is empty"),
            ));
        }
        app.pull_requests.validate(&self.access).map_err(|e| {
            ConfigError::at(
                &["apps", name, "pull_requests"],
                format!("app {name:?}: {e}"),
            )
        })?;
        for (i, target) in app.notify.iter().enumerate() {
            let index = i.to_string();
            target.validate().map_err(|e| {
                ConfigError::at(
                    &["apps", name, "notify", &index],
                    format!("app {name:?}: {e}"),
                )
            })?;
        }
        if let Some(c) = &app.compose {
            let stack = c.stack.as_deref().unwrap_or(name);
            let named = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            };
            let bad = if c.path.trim_matches('/').is_empty() {
                Some(("path", "is empty".to_owned()))
            } else if !named(stack) {
                Some(("stack", format!("{stack:?} is not a stack name")))
            } else if !named(c.service.as_deref().unwrap_or(name)) {
                Some(("service", "is not a service name".to_owned()))
            } else {
                None
            };
            if let Some((key, why)) = bad {
                return Err(ConfigError::at(
                    &["apps", name, "compose", key],
                    format!("app {name:?}: compose.{key} {why}"),
                ));
            }
        }
        Ok(())
    }

    /// The app whose repository is `repo` on `provider` (case-insensitive).
    pub fn app_for(&self, provider: Provider, repo: &str) -> Option<(&str, &AppConfig)> {
        let repo = repo.trim_matches('/');
        self.apps.iter().find_map(|(name, app)| {
            let same_provider = Provider::from_path_segment(&app.provider) == Some(provider);
            (same_provider && app.repo.trim_matches('/').eq_ignore_ascii_case(repo))
                .then_some((name.as_str(), app))
        })
    }

    /// Settings of `provider` (defaults when not configured).
    pub fn provider(&self, provider: Provider) -> ProviderSettings {
        self.providers
            .iter()
            .find(|(name, _)| Provider::from_path_segment(name) == Some(provider))
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    /// The provider's API base URL.
    pub fn api_base(&self, provider: Provider) -> String {
        self.provider(provider)
            .api_base
            .unwrap_or_else(|| default_api_base(provider).to_owned())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The Spin variable holding the webhook secret for `app`.
    pub fn webhook_secret_name(&self, provider: Provider, app: &AppConfig) -> Option<String> {
        app.webhook_secret
            .clone()
            .or_else(|| self.provider(provider).webhook_secret)
    }

    /// The Spin variable holding the secret a delivery from `provider`
    /// about `repo` is checked with: its app's, else the provider's. The
    /// repository is read from the unverified payload only to pick the
    /// secret; nothing is trusted before the signature checks out.
    pub fn webhook_secret_for(&self, provider: Provider, repo: Option<&str>) -> Option<String> {
        match repo.and_then(|r| self.app_for(provider, r)) {
            Some((_, app)) => self.webhook_secret_name(provider, app),
            None => self.provider(provider).webhook_secret,
        }
    }

    /// `public_url` without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
public_url = "https://slipway.example.com/"
[providers.github]
api_base = "http://127.0.0.1:9000/"
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[providers.gitlab]
webhook_secret = "gitlab_webhook_secret"
[apps.shop]
provider = "github"
repo = "Acme/Shop"
[apps.billing]
provider = "gitlab"
repo = "acme/platform/billing"
webhook_secret = "billing_secret"
"#;

    #[test]
    fn finds_apps_and_provider_settings() {
        let c = ControlPlane::parse(EXAMPLE).unwrap();
        let (name, app) = c.app_for(Provider::GitHub, "acme/shop").unwrap();
        assert_eq!(name, "shop");
        assert_eq!(app.pipeline_path, ".slipway/pipeline.toml");
        assert!(c.app_for(Provider::GitLab, "acme/shop").is_none());
        assert_eq!(c.api_base(Provider::GitHub), "http://127.0.0.1:9000");
        assert_eq!(c.api_base(Provider::Gitee), "https://gitee.com/api/v5");
        assert_eq!(c.public_base(), "https://slipway.example.com");
        let (_, billing) = c
            .app_for(Provider::GitLab, "acme/platform/billing")
            .unwrap();
        assert_eq!(
            c.webhook_secret_name(Provider::GitLab, billing).as_deref(),
            Some("billing_secret")
        );
        assert_eq!(
            c.webhook_secret_name(Provider::GitHub, app).as_deref(),
            Some("github_webhook_secret")
        );
    }

    #[test]
    fn rejects_unknown_keys_and_providers() {
        assert!(ControlPlane::parse("public_url = \"https://x\"\ncolour = 1\n").is_err());
        let err = ControlPlane::parse(
            "public_url = \"https://x\"\n[apps.a]\nprovider = \"svn\"\nrepo = \"a/b\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown provider \"svn\""),
            "{err}"
        );
        assert!(ControlPlane::parse("public_url = \"ftp://x\"\n").is_err());
    }
}
