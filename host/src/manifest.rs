//! Reading `spin.toml` (manifest version 2) into the parts this host runs.
//!
//! Only what the host needs is modelled; unknown keys are accepted so that a
//! manifest valid for real Spin is valid here too. Errors name the file and
//! the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use slipway_core::position::line_col;
use toml::Spanned;

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A parsed application manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The directory relative paths are resolved against.
    pub dir: PathBuf,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`, in file order.
    pub http_triggers: Vec<HttpTrigger>,
    /// `[component.<id>]`, by id.
    pub components: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    /// The application name.
    pub name: String,
    /// The application version.
    #[serde(default)]
    pub version: Option<String>,
    /// `[application.trigger.http]`.
    #[serde(default)]
    pub trigger: AppTriggers,
}

/// `[application.trigger]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppTriggers {
    /// `[application.trigger.http]`.
    #[serde(default)]
    pub http: Option<HttpAppSettings>,
}

/// `[application.trigger.http]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpAppSettings {
    /// Prefix for every route.
    #[serde(default)]
    pub base: Option<String>,
}

/// An application variable declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Whether start-up fails without a value.
    #[serde(default)]
    pub required: bool,
    /// The value used when no provider has one.
    #[serde(default)]
    pub default: Option<String>,
    /// Whether the value must never be shown. Parsed to check the schema;
    /// this host never prints variable values, secret or not.
    #[serde(default)]
    #[allow(dead_code)]
    pub secret: bool,
}

/// One HTTP trigger.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The route pattern, or `None` for a private trigger.
    pub route: Option<String>,
    /// The component id it runs.
    pub component: String,
}

/// One component.
#[derive(Debug, Clone)]
pub struct Component {
    /// The component id.
    pub id: String,
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    /// Key-value store labels the component may open.
    pub key_value_stores: Vec<String>,
    /// Outbound host patterns, possibly with `{{ variable }}` templates.
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables: name to template over application variables.
    pub variables: BTreeMap<String, String>,
    /// Guest environment variables.
    pub environment: BTreeMap<String, String>,
    /// The build command, if any.
    pub build: Option<BuildSettings>,
    /// Files made visible to the component.
    pub files: Vec<FileMount>,
}

/// One entry of a component's `files`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    /// A glob pattern relative to the manifest; matches appear at the same
    /// relative path under `/`.
    Pattern(String),
    /// A directory mounted at `destination`.
    Directory {
        /// Directory relative to the manifest.
        source: String,
        /// Absolute path in the guest.
        destination: String,
    },
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// Commands run in order through the shell.
    pub commands: Vec<String>,
    /// Directory to run in (absolute).
    pub workdir: PathBuf,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: Spanned<toml::Value>,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, Spanned<RawComponent>>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: Spanned<RawRoute>,
    component: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawComponent {
    source: Spanned<toml::Value>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    build: Option<RawBuild>,
    #[serde(default)]
    files: Vec<FileMount>,
}

#[derive(Deserialize)]
struct RawBuild {
    command: RawCommand,
    #[serde(default)]
    workdir: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommand {
    One(String),
    Many(Vec<String>),
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses manifest text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ManifestError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ManifestError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            invalid(offset, e.message().trim().to_owned())
        })?;
        if raw.spin_manifest_version.get_ref().as_integer() != Some(2) {
            return Err(invalid(
                raw.spin_manifest_version.span().start,
                "spin_manifest_version must be 2".into(),
            ));
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::path::absolute(&dir).unwrap_or(dir);

        for (name, decl) in &raw.variables {
            if !is_variable_name(name) {
                return Err(invalid(
                    find_offset(text, name),
                    format!("variable name {name:?} must be lower_snake_case"),
                ));
            }
            if decl.required && decl.default.is_some() {
                return Err(invalid(
                    find_offset(text, name),
                    format!("variable {name:?} cannot be both required and have a default"),
                ));
            }
            if !decl.required && decl.default.is_none() {
                return Err(invalid(
                    find_offset(text, name),
                    format!("variable {name:?} needs `required = true` or a default"),
                ));
            }
        }

        let mut components = BTreeMap::new();
        for (id, spanned) in raw.component {
            let comp = spanned.into_inner();
            let source = match comp.source.get_ref() {
                toml::Value::String(s) => dir.join(s),
                _ => {
                    return Err(invalid(
                        comp.source.span().start,
                        format!(
                            "component {id:?}: only a local file `source` is supported by this host"
                        ),
                    ));
                }
            };
            for (name, template) in &comp.variables {
                crate::variables::template_refs(template).map_err(|e| {
                    invalid(
                        find_offset(text, name),
                        format!("component {id:?} variable {name:?}: {e}"),
                    )
                })?;
            }
            let build = comp.build.map(|b| BuildSettings {
                commands: match b.command {
                    RawCommand::One(c) => vec![c],
                    RawCommand::Many(cs) => cs,
                },
                workdir: b
                    .workdir
                    .map(|w| dir.join(w))
                    .unwrap_or_else(|| dir.clone()),
            });
            components.insert(
                id.clone(),
                Component {
                    id,
                    source,
                    key_value_stores: comp.key_value_stores,
                    allowed_outbound_hosts: comp.allowed_outbound_hosts,
                    variables: comp.variables,
                    environment: comp.environment,
                    build,
                    files: comp.files,
                },
            );
        }

        let mut http_triggers = Vec::new();
        for trigger in raw.trigger.http {
            let span = trigger.component.span();
            let component = match trigger.component.get_ref() {
                toml::Value::String(s) => s.clone(),
                _ => {
                    return Err(invalid(
                        span.start,
                        "trigger `component` must name a component id".into(),
                    ));
                }
            };
            if !components.contains_key(&component) {
                return Err(invalid(
                    span.start,
                    format!("trigger refers to unknown component {component:?}"),
                ));
            }
            let route = match trigger.route.get_ref() {
                RawRoute::Path(p) if p.starts_with('/') => Some(p.clone()),
                RawRoute::Path(p) => {
                    return Err(invalid(
                        trigger.route.span().start,
                        format!("route {p:?} must start with '/'"),
                    ));
                }
                RawRoute::Private { private: true } => None,
                RawRoute::Private { private: false } => {
                    return Err(invalid(
                        trigger.route.span().start,
                        "route must be a path or `{ private = true }`".into(),
                    ));
                }
            };
            http_triggers.push(HttpTrigger { route, component });
        }

        Ok(Manifest {
            dir,
            application: raw.application,
            variables: raw.variables,
            http_triggers,
            components,
        })
    }

    /// The route prefix from `[application.trigger.http] base`.
    pub fn base(&self) -> &str {
        self.application
            .trigger
            .http
            .as_ref()
            .and_then(|h| h.base.as_deref())
            .unwrap_or("/")
    }
}

/// Whether `name` is a valid Spin variable name (lower snake case).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

fn find_offset(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
token = { required = true, secret = true }
greeting = { default = "hi" }
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = { private = true }
component = "api"
[component.api]
source = "api.wasm"
key_value_stores = ["default"]
variables = { t = "{{ token }}" }
[component.api.build]
command = "cargo build"
"#;

    #[test]
    fn parses_a_valid_manifest() {
        let m = Manifest::parse(Path::new("/app/spin.toml"), GOOD).unwrap();
        assert_eq!(m.application.name, "demo");
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.http_triggers[0].route.as_deref(), Some("/api/..."));
        assert_eq!(m.http_triggers[1].route, None);
        assert_eq!(m.components["api"].source, Path::new("/app/api.wasm"));
        assert_eq!(
            m.components["api"].build.as_ref().unwrap().commands,
            ["cargo build"]
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = Manifest::parse(
            Path::new("spin.toml"),
            "spin_manifest_version = 2\n[application\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("spin.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_component_is_reported_at_its_line() {
        let text = GOOD.replace(
            "component = \"api\"\n[[trigger",
            "component = \"nope\"\n[[trigger",
        );
        let err = Manifest::parse(Path::new("spin.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("spin.toml:10:"), "{err}");
        assert!(err.contains("unknown component \"nope\""), "{err}");
    }

    #[test]
    fn variable_needs_default_or_required() {
        let text = GOOD.replace("greeting = { default = \"hi\" }", "greeting = {}");
        let err = Manifest::parse(Path::new("spin.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("needs `required = true` or a default"),
            "{err}"
        );
    }

    #[test]
    fn wrong_version_is_rejected() {
        let text = GOOD.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        let err = Manifest::parse(Path::new("spin.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("spin.toml:2:"), "{err}");
    }
}
