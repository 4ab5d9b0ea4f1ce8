//! Reading from and reporting to the run's git provider.

use super::Deps;
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
    let api = repo_api(deps, provider).await;
    let request = providers::file_request(&api, repo, path, commit);
    let response = deps
        .http
        .send(request, timeout_ms.max(1))
        .await
        .map_err(|e| format!("cannot read {path} from {}: {e}", provider.as_str()))?;
    match providers::decode_file(&api, &response) {
        Ok(None) => Ok(PipelineFile::Missing),
        Ok(Some(bytes)) => Ok(match std::str::from_utf8(&bytes) {
            Ok(text) => match Pipeline::parse(text) {
                Ok(p) => PipelineFile::Valid(p),
                Err(e) => PipelineFile::Invalid(format!("{path}: {e}")),
            },
            Err(_) => PipelineFile::Invalid(format!("{path} is not UTF-8 text")),
        }),
        Err(e) => Err(format!("cannot read {path}: {e}")),
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
