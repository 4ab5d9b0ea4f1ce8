//! Looking a commit up by an abbreviated hash, to learn its full hash
//! (Bitbucket Cloud's pull-request payloads carry 12 characters only).

use serde_json::Value;

use super::Provider;
use super::api::{ApiError, GITHUB_API_VERSION, RepoApi, encode_component, encode_path};
use crate::ports::{HttpRequest, HttpResponse};

/// The request that reads commit `commit` (abbreviated or full) of `repo`,
/// or `None` where Slipway knows no such API (Codeup):
///
/// - Bitbucket: `GET /repositories/{workspace}/{slug}/commit/{commit}` → `hash`;
/// - GitHub, Gitea, Gitee: `GET /repos/{owner}/{repo}/commits/{commit}` → `sha`;
/// - GitLab: `GET /projects/{id}/repository/commits/{commit}` → `id`.
pub fn commit_request(api: &RepoApi, repo: &str, commit: &str) -> Option<HttpRequest> {
    let base = api.base();
    let at = encode_component(commit);
    let url = match api.provider {
        Provider::Bitbucket => format!("{base}/repositories/{}/commit/{at}", encode_path(repo)),
        Provider::GitHub | Provider::Gitea => {
            format!("{base}/repos/{}/commits/{at}", encode_path(repo))
        }
        Provider::Gitee => {
            let mut url = format!("{base}/repos/{}/commits/{at}", encode_path(repo));
            if let Some(token) = &api.token {
                url.push_str(&format!("?access_token={}", encode_component(token)));
            }
            url
        }
        Provider::GitLab => format!(
            "{base}/projects/{}/repository/commits/{at}",
            encode_component(repo)
        ),
        Provider::Codeup => return None,
    };
    let request = HttpRequest::new("GET", url);
    let request = if api.provider == Provider::GitHub {
        request
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", GITHUB_API_VERSION)
    } else {
        request.header("accept", "application/json")
    };
    Some(api.authorize(request))
}

/// The full hash in an answer to [`commit_request`]: `Ok(Some(hash))` for
/// 2xx, `Ok(None)` for 404 (no such commit, or no access to it), else an
/// [`ApiError`] (which a caller may retry).
pub fn decode_commit(api: &RepoApi, response: &HttpResponse) -> Result<Option<String>, ApiError> {
    if response.status == 404 {
        return Ok(None);
    }
    if !response.is_success() {
        return Err(ApiError::status(api, response));
    }
    let fail = |reason: String| ApiError::Decode {
        provider: api.provider,
        reason,
    };
    let json: Value = serde_json::from_slice(&response.body)
        .map_err(|e| fail(format!("body is not JSON: {e}")))?;
    let field = match api.provider {
        Provider::Bitbucket => "hash",
        Provider::GitLab => "id",
        _ => "sha",
    };
    json.get(field)
        .and_then(Value::as_str)
        .map(|hash| Some(hash.to_owned()))
        .ok_or_else(|| fail(format!("missing field `{field}`")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const FULL: &str = "abcdef0123456789abcdef0123456789abcdef01";

    fn api(provider: Provider, base: &str) -> RepoApi {
        RepoApi {
            provider,
            api_base: base.into(),
            token: Some("tok-3cr3t".into()),
            organization: None,
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: BTreeMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn bitbucket_commit_lookup() {
        let api = api(Provider::Bitbucket, "https://api.bitbucket.org/2.0/");
        let request = commit_request(&api, "team/shop app", "abcdef012345").expect("request");
        assert_eq!(request.method, "GET");
        assert_eq!(
            request.url,
            "https://api.bitbucket.org/2.0/repositories/team/shop%20app/commit/abcdef012345"
        );
        assert_eq!(
            request.header_value("authorization"),
            Some("Bearer tok-3cr3t")
        );
        let body = format!(r#"{{"type":"commit","hash":"{FULL}","message":"x"}}"#);
        assert_eq!(
            decode_commit(&api, &response(200, &body)),
            Ok(Some(FULL.to_owned()))
        );
        let missing = r#"{"type":"error","error":{"message":"Commit not found"}}"#;
        assert_eq!(decode_commit(&api, &response(404, missing)), Ok(None));
        let e = decode_commit(&api, &response(503, "down")).expect_err("5xx");
        assert!(e.to_string().contains("HTTP 503"), "{e}");
        let e = decode_commit(&api, &response(200, "{}")).expect_err("no hash");
        assert!(e.to_string().contains("`hash`"), "{e}");
    }

    #[test]
    fn other_providers_commit_lookups() {
        let gh = api(Provider::GitHub, "https://api.github.com");
        let r = commit_request(&gh, "o/r", "abc1234").expect("github");
        assert_eq!(r.url, "https://api.github.com/repos/o/r/commits/abc1234");
        let body = format!(r#"{{"sha":"{FULL}"}}"#);
        assert_eq!(
            decode_commit(&gh, &response(200, &body)),
            Ok(Some(FULL.into()))
        );
        let gl = api(Provider::GitLab, "https://gitlab.example.com/api/v4");
        let r = commit_request(&gl, "g/sub/p", "abc1234").expect("gitlab");
        assert_eq!(
            r.url,
            "https://gitlab.example.com/api/v4/projects/g%2Fsub%2Fp/repository/commits/abc1234"
        );
        let body = format!(r#"{{"id":"{FULL}","short_id":"abcdef01"}}"#);
        assert_eq!(
            decode_commit(&gl, &response(200, &body)),
            Ok(Some(FULL.into()))
        );
        let gitee = api(Provider::Gitee, "https://gitee.com/api/v5");
        let r = commit_request(&gitee, "o/r", "abc1234").expect("gitee");
        assert!(r.url.ends_with("/commits/abc1234?access_token=tok-3cr3t"));
        let codeup = api(Provider::Codeup, "https://openapi-rdc.aliyuncs.com");
        assert!(commit_request(&codeup, "o/r", "abc1234").is_none());
    }
}
