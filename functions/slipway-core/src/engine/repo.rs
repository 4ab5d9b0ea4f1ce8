//! Reading from and reporting to the run's git provider.

use super::Deps;
use crate::deploy::DeployError;
use crate::pipeline::Pipeline;
use crate::ports::{HttpClient, Secrets};
use crate::providers::{self, Provider, RepoApi};

/// Timeout of one call to a git provider's API.
pub const PROVIDER_CALL_TIMEOUT_MS: u64 = 10_000;

/// What reading the pipeline file found.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineFile {
    /// No file at that commit.
    Missing,
    /// A valid pipeline.
    Valid(Pipeline),
    /// An invalid file: why, with the line and column.
    Invalid(String),
}

/// The provider API client settings, with the token resolved.
pub async fn repo_api<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
) -> RepoApi {
    let settings = deps.config.provider(provider);
    let token = match &settings.token_secret {
        Some(name) => deps.secrets.get(name).await,
        None => None,
    };
    RepoApi {
        provider,
        api_base: deps.config.api_base(provider),
        token,
        organization: settings.organization,
    }
}

/// Reads `path` of `repo` at `commit` (a SHA, or a branch), giving up
/// after `timeout_ms`; `Err` is a temporary failure (no answer, or an
/// error status).
pub async fn read_pipeline<K, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    repo: &str,
    path: &str,
    commit: &str,
    timeout_ms: u64,
) -> Result<PipelineFile, String> {
    Ok(
        match read_text(deps, provider, repo, path, commit, timeout_ms).await? {
            TextFile::Missing => PipelineFile::Missing,
            TextFile::NotText => PipelineFile::Invalid(format!("{path} is not UTF-8 text")),
            TextFile::Text(text) => match Pipeline::parse(&text) {
                Ok(p) => PipelineFile::Valid(p),
                Err(e) => PipelineFile::Invalid(format!("{path}: {e}")),
            },
        },
    )
}

/// What reading a text file from a repository found.
#[derive(Debug, Clone, PartialEq)]
pub enum TextFile {
    /// No file at that commit.
    Missing,
    /// Not UTF-8.
    NotText,
    /// Its text.
    Text(String),
}

/// Reads `path` of `repo` at `commit` as text; `Err` is a temporary
/// failure (no answer, or an error status).
pub async fn read_text<K, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    repo: &str,
    path: &str,
    commit: &str,
    timeout_ms: u64,
) -> Result<TextFile, String> {
    let api = repo_api(deps, provider).await;
    let request = providers::file_request(&api, repo, path, commit);
    let response = deps
        .http
        .send(request, timeout_ms.max(1))
        .await
        .map_err(|e| format!("cannot read {path} from {}: {e}", provider.as_str()))?;
    match providers::decode_file(&api, &response) {
        Ok(None) => Ok(TextFile::Missing),
        Ok(Some(bytes)) => Ok(match String::from_utf8(bytes) {
            Ok(text) => TextFile::Text(text),
            Err(_) => TextFile::NotText,
        }),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// The Compose file of `app`'s stack at `commit`, when the app deploys as
/// a stack: a missing or invalid file is a configuration error of this
/// deployment, an unanswered read a temporary one.
pub async fn read_compose<K, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    app: &crate::config::AppConfig,
    settings: &crate::config::ComposeSettings,
    commit: Option<&str>,
) -> Result<crate::deploy::docker::compose::ComposeFile, DeployError> {
    let path = &settings.path;
    let commit = commit.ok_or_else(|| {
        DeployError::Config(format!(
            "the stack's Compose file {path} is read at the deployed commit, and this deployment has none"
        ))
    })?;
    let provider = Provider::from_path_segment(&app.provider)
        .ok_or_else(|| DeployError::Config(format!("unknown provider {:?}", app.provider)))?;
    let read = read_text(
        deps,
        provider,
        &app.repo,
        path,
        commit,
        PROVIDER_CALL_TIMEOUT_MS,
    )
    .await
    .map_err(|reason| DeployError::Unreachable {
        service: "git provider",
        reason,
    })?;
    match read {
        TextFile::Missing => Err(DeployError::Config(format!(
            "no Compose file {path} at {commit}"
        ))),
        TextFile::NotText => Err(DeployError::Config(format!("{path} is not UTF-8 text"))),
        TextFile::Text(text) => crate::deploy::docker::compose::parse(&text)
            .map_err(|e| DeployError::Config(format!("{path}: {e}"))),
    }
}

/// The full hash of `commit` (abbreviated) in `repo`: `Ok(None)` when the
/// provider has no such commit, `Err` for a temporary failure (no answer,
/// an error status) or a provider without a commit API.
pub async fn resolve_commit<K, H: HttpClient, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    repo: &str,
    commit: &str,
) -> Result<Option<String>, String> {
    let api = repo_api(deps, provider).await;
    let Some(request) = providers::commit_request(&api, repo, commit) else {
        return Err(format!(
            "{} has no API to look commit {commit} up",
            provider.as_str()
        ));
    };
    let response = deps
        .http
        .send(request, PROVIDER_CALL_TIMEOUT_MS)
        .await
        .map_err(|e| {
            format!(
                "cannot look up commit {commit} on {}: {e}",
                provider.as_str()
            )
        })?;
    providers::decode_commit(&api, &response)
        .map_err(|e| format!("cannot look up commit {commit}: {e}"))
}
