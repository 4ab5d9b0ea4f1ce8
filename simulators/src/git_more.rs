//! Gitee and Codeup parts of [`super::git::FakeGit`].
//!
//! Error bodies follow what each service is documented or reported to send;
//! where no primary source was found (Gitee's 401/404 texts, Codeup's error
//! envelope and status-create status code, Gitea's invalid-state answer) the
//! fake picks the closest documented shape.

use base64::Engine as _;
use serde_json::{Value, json};

use super::git_state::GitState;
use super::server::{Request, Response};
use super::{base64, decode_segment, git_blob_sha, now_rfc3339};

/// The password of HTTP Basic credentials `b64(user:password)`.
pub(crate) fn basic_password(encoded: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':').map(|(_, p)| p.to_owned())
}

pub(crate) fn decoded_path(parts: &[&str]) -> Option<String> {
    let parts = parts
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| decode_segment(s))
        .collect::<Option<Vec<_>>>()?;
    Some(parts.join("/"))
}

pub(crate) fn repo_name(seg: &[&str]) -> Option<String> {
    Some(format!(
        "{}/{}",
        decode_segment(seg[0])?,
        decode_segment(seg[1])?
    ))
}

// ---------------------------------------------------------------- Gitee

fn gitee_message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

/// Answers a request under `/api/v5/` (Gitee).
pub(crate) fn gitee(state: &mut GitState, req: &Request) -> Response {
    let seg = req.raw_segments();
    let seg = &seg[2..];
    let (kind, rest) = match seg {
        ["repos", _, _, kind @ ("raw" | "contents"), rest @ ..] => (*kind, rest),
        _ => return gitee_message(404, "404 Not Found"),
    };
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Response::json(405, &json!({ "error": "405 Not Allowed" }))
            .with_header("allow", "GET, HEAD");
    }
    let token = req.query_param("access_token");
    match token {
        Some(t) if t != state.token => {
            return gitee_message(401, "401 Unauthorized: Access token does not exist");
        }
        None => return gitee_message(404, "Not Found Project"),
        Some(_) => {}
    }
    let Some(repo) = repo_name(&seg[1..3]).and_then(|n| state.repo(&n)) else {
        return gitee_message(404, "Not Found Project");
    };
    let path = decoded_path(rest).unwrap_or_default();
    let git_ref = req
        .query_param("ref")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| repo.default_branch.clone());
    let commit = repo.resolve(&git_ref);
    let file = commit.as_deref().and_then(|c| repo.file(c, &path));
    match (kind, file) {
        ("raw", Some(bytes)) => Response::bytes(200, "text/plain; charset=utf-8", bytes.clone()),
        ("raw", None) => gitee_message(404, "404 Not Found"),
        (_, Some(bytes)) => {
            let name = path.rsplit('/').next().unwrap_or(&path);
            let url = format!(
                "{}/api/v5/repos/{}/contents/{path}",
                state.base, repo.full_name
            );
            Response::json(
                200,
                &json!({
                    "type": "file", "encoding": "base64", "size": bytes.len(), "name": name,
                    "path": path, "content": base64(bytes), "sha": git_blob_sha(bytes), "url": url,
                    "html_url": format!("{}/{}/blob/{git_ref}/{path}", state.base, repo.full_name),
                    "download_url": format!("{}/{}/raw/{git_ref}/{path}", state.base, repo.full_name),
                    "_links": { "self": url },
                }),
            )
        }
        // Gitee answers a missing path on the contents API with an empty list.
        (_, None) => Response::json(200, &json!([])),
    }
}

// ---------------------------------------------------------------- Codeup

fn codeup_error(status: u16, code: &str, text: &str) -> Response {
    Response::json(
        status,
        &json!({ "errorCode": code, "errorMessage": text, "requestId": super::uuid_v4() }),
    )
}

/// Answers a request under `/oapi/v1/codeup/` (Codeup / Yunxiao OpenAPI).
pub(crate) fn codeup(state: &mut GitState, req: &Request) -> Response {
    let seg = req.raw_segments();
    let m = req.method.as_str();
    let route = match (&seg[3..], m) {
        (["organizations", org, "repositories", repo, "files", file], "GET" | "HEAD") => {
            (org, repo, Some(*file), None)
        }
        (
            [
                "organizations",
                org,
                "repositories",
                repo,
                "commits",
                sha,
                "statuses",
            ],
            "POST",
        ) => (org, repo, None, Some(*sha)),
        _ => {
            return codeup_error(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            );
        }
    };
    let (org, repo_seg, file, sha) = route;
    match req.header("x-yunxiao-token") {
        None => return codeup_error(401, "Unauthorized", "Unauthorized"),
        Some(t) if t != state.token => {
            return codeup_error(401, "InvalidTokenError", "Token is invalid");
        }
        Some(_) => {}
    }
    let org = decode_segment(org).unwrap_or_default();
    let repo_id = decode_segment(repo_seg).unwrap_or_default();
    let repo = match repo_id.parse::<u64>() {
        Ok(n) => state.repo_by_id(n),
        Err(_) => state.repo(&repo_id),
    };
    let Some(repo) = repo.filter(|r| {
        r.full_name
            .split('/')
            .next()
            .is_some_and(|owner| owner.eq_ignore_ascii_case(&org))
    }) else {
        return codeup_error(404, "NotFound", "Repository not found");
    };
    if let Some(file) = file {
        let path = decode_segment(file).unwrap_or_default();
        let Some(git_ref) = req.query_param("ref").filter(|r| !r.is_empty()) else {
            return codeup_error(400, "BadRequest", "ref is required");
        };
        let Some(commit) = repo.resolve(&git_ref) else {
            return codeup_error(404, "NotFound", "Ref not found");
        };
        let Some(bytes) = repo.file(&commit, &path) else {
            return codeup_error(404, "NotFound", "File not found");
        };
        let name = path.rsplit('/').next().unwrap_or(&path);
        return Response::json(
            200,
            &json!({
                "content": base64(bytes), "encoding": "base64", "fileName": name, "filePath": path,
                "ref": git_ref, "size": bytes.len(), "blobId": git_blob_sha(bytes),
                "commitId": commit, "lastCommitId": commit,
            }),
        );
    }
    let sha = sha.unwrap_or_default().to_owned();
    let Ok(Value::Object(body)) = req.json() else {
        return codeup_error(400, "BadRequest", "Bad Request");
    };
    let st = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !["error", "failure", "pending", "success"].contains(&st.as_str()) {
        return codeup_error(
            400,
            "BadRequest",
            "state must be one of error, failure, pending, success",
        );
    }
    if !repo.commits.contains(&sha) {
        return codeup_error(404, "NotFound", "Commit not found");
    }
    let full = repo.full_name.clone();
    let context = body
        .get("context")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    let description = body.get("description").cloned().unwrap_or(Value::Null);
    let target_url = body.get("targetUrl").cloned().unwrap_or(Value::Null);
    let id = state.next_id();
    let now = now_rfc3339();
    state.record_status(
        "codeup",
        &full,
        &sha,
        &st,
        &context,
        &description,
        &target_url,
        json!({ "id": id }),
    );
    Response::json(
        200,
        &json!({
            "id": id, "sha": sha, "state": st, "context": context, "description": description,
            "targetUrl": target_url, "createdAt": now, "updatedAt": now,
            "creator": { "id": "1", "name": "slipway-bot", "username": "slipway-bot" },
        }),
    )
}
