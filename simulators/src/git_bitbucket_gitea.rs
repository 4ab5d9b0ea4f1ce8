//! Bitbucket Cloud and Gitea parts of [`super::git::FakeGit`].

use serde_json::{Value, json};

use super::git_more::{basic_password, decoded_path, repo_name};
use super::git_state::GitState;
use super::server::{Request, Response};
use super::{base64, decode_segment, git_blob_sha, now_rfc3339};

// ---------------------------------------------------------------- Bitbucket

fn bb_error(status: u16, text: &str) -> Response {
    Response::json(
        status,
        &json!({ "type": "error", "error": { "message": text } }),
    )
}

fn bb_field_error(field: &str, text: &str) -> Response {
    Response::json(
        400,
        &json!({ "type": "error",
                 "error": { "message": format!("{field}: {text}"), "fields": { field: [text] } } }),
    )
}

const BB_NO_ACCESS: &str = "You may not have access to this repository or it no longer exists in this workspace. If you think this repository exists and you have access, make sure you are authenticated.";

/// Answers a request under `/2.0/` (Bitbucket Cloud).
pub(crate) fn bitbucket(state: &mut GitState, req: &Request) -> Response {
    let seg = req.raw_segments();
    let m = req.method.as_str();
    enum Route<'a> {
        Src(&'a str, &'a [&'a str]),
        Status(&'a str),
        Commit(&'a str),
    }
    let route = match &seg[1..] {
        ["repositories", _, _, "src", commit, rest @ ..] => Route::Src(commit, rest),
        ["repositories", _, _, "commit", commit] | ["repositories", _, _, "commit", commit, ""] => {
            Route::Commit(commit)
        }
        ["repositories", _, _, "commit", sha, "statuses", "build"]
        | ["repositories", _, _, "commit", sha, "statuses", "build", ""] => Route::Status(sha),
        _ => return bb_error(404, "Resource not found"),
    };
    let allowed = match route {
        Route::Src(..) | Route::Commit(_) => ["GET", "HEAD"].contains(&m),
        Route::Status(_) => m == "POST",
    };
    if !allowed {
        return bb_error(405, "Method not allowed");
    }
    let creds = req.header("authorization").map(|h| {
        let (scheme, value) = h.split_once(' ').unwrap_or((h, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" => value.trim() == state.token,
            "basic" => basic_password(value).is_some_and(|p| p == state.token),
            _ => false,
        }
    });
    match creds {
        Some(false) => {
            return bb_error(
                401,
                "Token is invalid, expired, or not supported for this endpoint.",
            );
        }
        None => return bb_error(404, BB_NO_ACCESS),
        Some(true) => {}
    }
    let Some(repo) = repo_name(&seg[2..4]).and_then(|n| state.repo(&n)) else {
        return bb_error(404, BB_NO_ACCESS);
    };
    match route {
        Route::Commit(commit) => {
            let reference = decode_segment(commit).unwrap_or_default();
            match bb_commit(repo, &reference) {
                Some(full) => {
                    let api = format!(
                        "{}/2.0/repositories/{}/commit/{full}",
                        state.base, repo.full_name
                    );
                    Response::json(
                        200,
                        &json!({ "type": "commit", "hash": full, "message": "fake commit\n",
                                 "date": now_rfc3339(), "parents": [],
                                 "repository": { "type": "repository", "full_name": repo.full_name },
                                 "links": { "self": { "href": api } } }),
                    )
                }
                None => bb_error(404, &format!("Commit not found: {reference}")),
            }
        }
        Route::Src(commit, rest) => {
            let reference = decode_segment(commit).unwrap_or_default();
            // Bitbucket resolves an abbreviated hash in a `src` read as it
            // does any revision (CI systems that read the pipeline file at
            // a pull request's 12-character hash rely on it), so this
            // does too; commit statuses are stricter (see below).
            let Some(commit) = repo
                .resolve(&reference)
                .or_else(|| bb_commit(repo, &reference))
            else {
                return bb_error(404, "Commit not found");
            };
            let path = decoded_path(rest).unwrap_or_default();
            if let Some(bytes) = repo.file(&commit, &path) {
                return Response::bytes(200, "text/plain", bytes.clone());
            }
            match repo.dir(&commit, &path) {
                Some(entries) => {
                    let values: Vec<Value> = entries
                        .iter()
                        .map(|e| {
                            json!({ "path": e.path, "type": if e.is_dir { "commit_directory" } else { "commit_file" },
                                    "size": e.size, "commit": { "type": "commit", "hash": commit } })
                        })
                        .collect();
                    Response::json(200, &json!({ "pagelen": 500, "page": 1, "values": values }))
                }
                None => bb_error(404, &format!("No such file or directory: {path}")),
            }
        }
        Route::Status(sha) => bitbucket_status(state, req, sha),
    }
}

/// The full hash of the one known commit `reference` names: the whole
/// hash, or an abbreviation of at least 7 characters that no other commit
/// shares (an ambiguous one is not found, as Git would not resolve it).
fn bb_commit(repo: &super::git_state::Repo, reference: &str) -> Option<String> {
    if reference.len() < 7 || !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let lower = reference.to_ascii_lowercase();
    let mut found = repo
        .commits
        .iter()
        .filter(|c| c.to_ascii_lowercase().starts_with(&lower));
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}

fn bitbucket_status(state: &mut GitState, req: &Request, sha: &str) -> Response {
    let seg = req.raw_segments();
    let full = repo_name(&seg[2..4]).unwrap_or_default();
    let body = match req.json() {
        Ok(Value::Object(map)) => map,
        _ => {
            return Response::json(
                400,
                &json!({ "type": "error", "error": { "message": "Bad request", "detail": "Malformed JSON" } }),
            );
        }
    };
    for field in ["state", "key", "url"] {
        if body
            .get(field)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        {
            return bb_field_error(field, "This field is required.");
        }
    }
    let st = body["state"].as_str().unwrap_or_default().to_owned();
    if !["INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"].contains(&st.as_str()) {
        return bb_field_error(
            "state",
            &format!("Select a valid choice. {st} is not one of the available choices."),
        );
    }
    let url_ok = body["url"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        });
    if !url_ok {
        return bb_field_error("url", "Enter a valid URL.");
    }
    let repo = state.repo(&full).expect("checked");
    // Only a full hash: a status is kept under the hash it was posted at,
    // and the pull request shows those of its full head hash; Slipway must
    // never post at the 12-character abbreviation of a pull-request payload.
    if !repo.commits.contains(sha) {
        return bb_error(404, &format!("Commit not found: {sha}"));
    }
    let full = repo.full_name.clone();
    let key = body["key"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body["key"].to_string());
    let id_key = (full.to_ascii_lowercase(), sha.to_owned(), key.clone());
    let now = now_rfc3339();
    let created_on = state
        .bitbucket
        .get(&id_key)
        .map(|s| s["created_on"].clone())
        .unwrap_or_else(|| json!(now));
    let description = body.get("description").cloned().unwrap_or(json!(""));
    let target_url = body["url"].clone();
    let name = body.get("name").cloned().unwrap_or(Value::Null);
    let refname = body.get("refname").cloned().unwrap_or(Value::Null);
    let api = format!("{}/2.0/repositories/{full}/commit/{sha}", state.base);
    let status = json!({
        "type": "build", "key": key, "state": st, "name": name, "description": description,
        "url": target_url, "refname": refname, "created_on": created_on, "updated_on": now,
        "uuid": format!("{{{}}}", super::uuid_v4()),
        "commit": { "type": "commit", "hash": sha },
        "repository": { "type": "repository", "full_name": full },
        "links": { "self": { "href": format!("{api}/statuses/build/{key}") },
                   "commit": { "href": api } },
    });
    state.bitbucket.insert(id_key, status.clone());
    state.record_status(
        "bitbucket",
        &full,
        sha,
        &st,
        &key,
        &description,
        &target_url,
        json!({ "name": name, "ref": refname }),
    );
    Response::json(201, &status)
}

// ---------------------------------------------------------------- Gitea

fn gitea_error(state: &GitState, status: u16, text: &str) -> Response {
    Response::json(
        status,
        &json!({ "message": text, "url": format!("{}/api/swagger", state.base) }),
    )
}

fn gitea_not_found(state: &GitState, errors: Value) -> Response {
    Response::json(
        404,
        &json!({ "errors": errors, "message": "The target couldn't be found.",
                 "url": format!("{}/api/swagger", state.base) }),
    )
}

/// Answers a request under `/api/v1/` (Gitea / Forgejo).
pub(crate) fn gitea(state: &mut GitState, req: &Request) -> Response {
    let seg = req.raw_segments();
    let m = req.method.as_str();
    let (kind, rest) = match &seg[2..] {
        [
            "repos",
            _,
            _,
            kind @ ("raw" | "contents" | "statuses"),
            rest @ ..,
        ] if !rest.is_empty() => (*kind, rest),
        _ => return gitea_not_found(state, Value::Null),
    };
    let allowed = if kind == "statuses" {
        ["GET", "POST"].contains(&m)
    } else {
        ["GET", "HEAD"].contains(&m)
    };
    if !allowed {
        return Response::empty(405);
    }
    let header_token = req.header("authorization").map(|h| {
        let (scheme, value) = h.split_once(' ').unwrap_or((h, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "token" | "bearer" => value.trim().to_owned(),
            "basic" => basic_password(value).unwrap_or_default(),
            _ => String::new(),
        }
    });
    let token = header_token
        .or_else(|| req.query_param("token"))
        .or_else(|| req.query_param("access_token"));
    match token {
        Some(t) if t != state.token => {
            return gitea_error(state, 401, "invalid username, password or token");
        }
        None => return gitea_not_found(state, Value::Null),
        Some(_) => {}
    }
    let Some(full) = repo_name(&seg[3..5])
        .and_then(|n| state.repo(&n))
        .map(|r| r.full_name.clone())
    else {
        return gitea_not_found(state, Value::Null);
    };
    if kind == "statuses" {
        return gitea_status(state, req, &full, rest[0]);
    }
    let repo = state.repo(&full).expect("checked");
    let mut path = decoded_path(rest).unwrap_or_default();
    let git_ref = match req.query_param("ref").filter(|r| !r.is_empty()) {
        Some(r) => r,
        // Legacy form: the ref leads the path (`raw/{ref}/{path}`).
        None => match path
            .split_once('/')
            .filter(|(first, _)| repo.resolve(first).is_some())
        {
            Some((first, tail)) => {
                let first = first.to_owned();
                path = tail.to_owned();
                first
            }
            None => repo.default_branch.clone(),
        },
    };
    let Some(commit) = repo.resolve(&git_ref) else {
        return gitea_not_found(state, json!([format!("ref \"{git_ref}\" not found")]));
    };
    let Some(bytes) = repo.file(&commit, &path) else {
        return gitea_not_found(
            state,
            json!([format!("object does not exist [id: , rel_path: {path}]")]),
        );
    };
    if kind == "raw" {
        return Response::bytes(200, "text/plain; charset=utf-8", bytes.clone());
    }
    let name = path.rsplit('/').next().unwrap_or(&path);
    Response::json(
        200,
        &json!({
            "name": name, "path": path, "sha": git_blob_sha(bytes), "last_commit_sha": commit,
            "type": "file", "size": bytes.len(), "encoding": "base64", "content": base64(bytes),
            "url": format!("{}/api/v1/repos/{full}/contents/{path}?ref={git_ref}", state.base),
        }),
    )
}

fn gitea_status(state: &mut GitState, req: &Request, full: &str, sha: &str) -> Response {
    if req.method == "GET" {
        let list: Vec<Value> = state
            .statuses
            .iter()
            .rev()
            .filter(|s| s["provider"] == "gitea" && s["sha"] == sha && s["repo"] == full)
            .map(|s| {
                json!({ "id": s["id"], "status": s["state"], "context": s["context"],
                             "description": s["description"], "target_url": s["target_url"] })
            })
            .collect();
        return Response::json(200, &Value::Array(list));
    }
    let body = match req.json() {
        Ok(Value::Object(map)) => map,
        _ => return gitea_error(state, 422, "invalid JSON body"),
    };
    let st = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if ![
        "pending", "success", "error", "failure", "warning", "skipped",
    ]
    .contains(&st.as_str())
    {
        return gitea_error(state, 400, &format!("invalid state {st:?}"));
    }
    if !state.repo(full).expect("checked").commits.contains(sha) {
        return gitea_not_found(
            state,
            json!([format!("object does not exist [id: {sha}, rel_path: ]")]),
        );
    }
    let context = body
        .get("context")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    let description = body.get("description").cloned().unwrap_or(json!(""));
    let target_url = body.get("target_url").cloned().unwrap_or(json!(""));
    let id = state.next_id();
    let now = now_rfc3339();
    state.record_status(
        "gitea",
        full,
        sha,
        &st,
        &context,
        &description,
        &target_url,
        json!({ "id": id }),
    );
    Response::json(
        201,
        &json!({
            "id": id, "status": st, "target_url": target_url, "description": description,
            "url": format!("{}/api/v1/repos/{full}/statuses/{sha}", state.base), "context": context,
            "creator": { "id": 1, "login": "slipway-bot" }, "created_at": now, "updated_at": now,
        }),
    )
}
