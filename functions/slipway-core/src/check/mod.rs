//! Offline checks of Slipway's files before they are used: the
//! control-plane configuration and a pipeline file, each problem with the
//! file, line and column it is at and, where one helps, a hint. `slipway
//! check` prints them; nothing here reads the network or the store.

pub mod locate;
mod pipeline_rules;

use serde::Serialize;

use crate::config::ControlPlane;
use crate::pipeline::Pipeline;
use locate::{Locator, line_col};

pub use pipeline_rules::check_pipeline_against;

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (characters), when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at `at` (line, column) of `file`.
    pub fn new(file: &str, at: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
            message: message.into(),
            hint: None,
        }
    }

    /// The same, with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column: error: message` and the hint on its own line.
    pub fn render(&self) -> String {
        let place = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        };
        match &self.hint {
            Some(hint) => format!("{place}: error: {}\n  hint: {hint}", self.message),
            None => format!("{place}: error: {}", self.message),
        }
    }
}

/// Parses and checks the configuration `text` read from `file`.
pub fn check_config(file: &str, text: &str) -> Result<ControlPlane, Diagnostic> {
    ControlPlane::parse(text).map_err(|e| {
        let at = match e.offset {
            Some(offset) => Some(line_col(text, unknown_key_offset(text, offset, &e.message))),
            None => Locator::new(text).key(&e.path),
        };
        let diagnostic = Diagnostic::new(file, at, e.message.clone());
        match config_hint(&e.message) {
            Some(hint) => diagnostic.hint(hint),
            None => diagnostic,
        }
    })
}

/// For "unknown field `x`" the offset TOML reports may be its table's
/// (serde buffers tagged enums, losing spans): this finds the `x = …`
/// line of that table instead. Other errors keep their offset.
fn unknown_key_offset(text: &str, offset: usize, message: &str) -> usize {
    let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    else {
        return offset;
    };
    let mut at = offset;
    for (i, line) in text
        .get(offset..)
        .unwrap_or_default()
        .split_inclusive('\n')
        .enumerate()
    {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') {
            break;
        }
        if trimmed
            .strip_prefix(name)
            .is_some_and(|r| r.trim_start().starts_with('='))
        {
            return at + (line.len() - trimmed.len());
        }
        at += line.len();
    }
    offset
}

/// A hint for the configuration errors people make most.
fn config_hint(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        return Some("see the configuration reference in README.md".into());
    }
    if message.contains("unknown provider") {
        return Some("providers are github, gitlab, gitee, codeup, bitbucket and gitea".into());
    }
    None
}

/// Parses `text` (the pipeline file `file`) and, with a configuration,
/// checks what it refers to there: build services, environments, their
/// policies for `app`, and who can approve.
pub fn check_pipeline(
    file: &str,
    text: &str,
    config: Option<&ControlPlane>,
    app: Option<&str>,
) -> Vec<Diagnostic> {
    let pipeline = match Pipeline::parse(text) {
        Ok(p) => p,
        Err(e) => {
            let at = match e.line {
                Some(line) => Some((line, e.column.unwrap_or(1))),
                None => needs_of_named_stage(text, &e.message),
            };
            return vec![Diagnostic::new(file, at, e.message)];
        }
    };
    match config {
        Some(config) => check_pipeline_against(file, text, &pipeline, config, app),
        None => Vec::new(),
    }
}

/// Parses the Compose file `text` (`file`) and plans it as the stack of
/// `app` (default: the configuration's only app) the way a deploy would,
/// with the app's `[apps.<app>.compose]` service and stack names and a
/// placeholder image: every key Slipway would refuse is reported.
pub fn check_compose(
    file: &str,
    text: &str,
    config: Option<&ControlPlane>,
    app: Option<&str>,
) -> Vec<Diagnostic> {
    use crate::deploy::docker::{DockerEnv, compose, update_defaults};
    let app_name = app.or_else(|| {
        config
            .filter(|c| c.apps.len() == 1)
            .and_then(|c| c.apps.keys().next().map(String::as_str))
    });
    let settings = config
        .zip(app_name)
        .and_then(|(c, a)| c.apps.get(a))
        .and_then(|a| a.compose.clone());
    let name = app_name.unwrap_or("app");
    let service = settings.as_ref().and_then(|s| s.service.as_deref());
    let stack = settings.as_ref().and_then(|s| s.stack.as_deref());
    let env = DockerEnv {
        url: "https://docker.invalid".into(),
        api_version: None,
        token_secret: None,
        registry_auth_secret: None,
        parallelism: None,
        delay: None,
        progress_deadline: None,
    };
    let planned = compose::parse(text).and_then(|f| {
        let defaults = update_defaults(&env).unwrap_or_default();
        let image = "slipway-check.invalid/app:check";
        compose::plan(
            &f,
            stack.unwrap_or(name),
            service.unwrap_or(name),
            image,
            &defaults,
        )
    });
    match planned {
        Ok(_) => Vec::new(),
        Err(e) => {
            // The YAML parser's line, when it gave one: "(line 3)".
            let line = e
                .message
                .rsplit_once("(line ")
                .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok());
            vec![
                Diagnostic::new(file, line.map(|l| (l, 1)), e.to_string())
                    .hint("README.md lists the Compose keys Slipway deploys"),
            ]
        }
    }
}

/// Where the `needs` of the stage a DAG error names (`stage "x" …`) is.
fn needs_of_named_stage(text: &str, message: &str) -> Option<(usize, usize)> {
    let rest = message.strip_prefix("stage \"")?;
    let name = &rest[..rest.find('"')?];
    let path = ["stages", name, "needs"].map(str::to_owned);
    Locator::new(text).key(&path)
}

#[cfg(test)]
mod tests;
