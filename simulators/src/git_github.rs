//! GitHub REST API part of [`super::git::FakeGit`]: repository contents,
//! commit statuses (Actions live in `git_actions`).

use serde_json::{Value, json};

use super::git_state::GitState;
use super::server::{Request, Response};
use super::{base64_lines, decode_segment, git_blob_sha, now_rfc3339};

const DOC_ROOT: &str = "https://docs.github.com/rest";
const DOC_CONTENTS: &str = "https://docs.github.com/rest/repos/contents#get-repository-content";
const DOC_STATUS: &str = "https://docs.github.com/rest/commits/statuses#create-a-commit-status";
pub(crate) const DOC_DISPATCH: &str =
    "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event";
pub(crate) const DOC_RUN: &str =
    "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run";
const NO_USER_AGENT: &str = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n";
const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

/// A GitHub error body: `{"message", "documentation_url", "status"}`.
pub(crate) fn error(status: u16, message: &str, doc: &str) -> Response {
    Response::json(
        status,
        &json!({ "message": message, "documentation_url": doc, "status": status.to_string() }),
    )
}

pub(crate) fn not_found(doc: &str) -> Response {
    error(404, "Not Found", doc)
}

pub(crate) fn invalid(message: &str, doc: &str) -> Response {
    error(422, &format!("Invalid request.\n\n{message}"), doc)
}

/// Credentials in `Authorization`: `None` if absent, else whether they are valid.
fn credentials_ok(req: &Request, token: &str) -> Option<bool> {
    let header = req.header("authorization")?;
    let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
    let value = value.trim();
    Some(match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => value == token,
        "basic" => super::git_more::basic_password(value).is_some_and(|p| p == token),
        _ => false,
    })
}

/// Answers a request under the GitHub layout.
pub(crate) fn handle(state: &mut GitState, req: &Request) -> Response {
    if req
        .header("user-agent")
        .is_none_or(|ua| ua.trim().is_empty())
    {
        return Response::bytes(403, "text/html", NO_USER_AGENT);
    }
    if let Some(version) = req.header("x-github-api-version")
        && !API_VERSIONS.contains(&version)
    {
        return error(
            400,
            &format!(
                "Invalid API version provided: {version}. Supported versions are: {}.",
                API_VERSIONS.join(", ")
            ),
            DOC_ROOT,
        );
    }
    let authed = match credentials_ok(req, &state.token) {
        Some(false) => return error(401, "Bad credentials", DOC_ROOT),
        Some(true) => true,
        None => false,
    };
    let seg = req.raw_segments();
    if seg.len() < 4 || seg[0] != "repos" {
        return not_found(DOC_ROOT);
    }
    let (Some(owner), Some(name)) = (decode_segment(seg[1]), decode_segment(seg[2])) else {
        return not_found(DOC_ROOT);
    };
    let full = format!("{owner}/{name}");
    let m = req.method.as_str();
    let doc = match (m, &seg[3..]) {
        ("GET" | "HEAD", ["contents", ..]) => DOC_CONTENTS,
        ("POST", ["statuses", _]) => DOC_STATUS,
        ("GET", ["statuses", _] | ["commits", _, "statuses"]) => DOC_STATUS,
        ("POST", ["actions", "workflows", _, "dispatches"]) => DOC_DISPATCH,
        ("GET", ["actions", "workflows", _, "runs"] | ["actions", "runs", _]) => DOC_RUN,
        _ => return not_found(DOC_ROOT),
    };
    // Anonymous callers cannot see private repositories: GitHub says 404.
    if !authed || state.repo(&full).is_none() {
        return not_found(doc);
    }
    match (m, &seg[3..]) {
        ("GET" | "HEAD", ["contents", rest @ ..]) => contents(state, req, &full, rest),
        ("POST", ["statuses", sha]) => create_status(state, req, &full, sha),
        ("GET", ["statuses", sha] | ["commits", sha, "statuses"]) => {
            list_statuses(state, &full, sha)
        }
        ("POST", ["actions", "workflows", wf, "dispatches"]) => {
            super::git_actions::dispatch(state, req, &full, wf)
        }
        ("GET", ["actions", "workflows", wf, "runs"]) => {
            super::git_actions::list_runs(state, req, &full, wf)
        }
        ("GET", ["actions", "runs", id]) => super::git_actions::get_run(state, &full, id),
        _ => not_found(DOC_ROOT),
    }
}

fn contents(state: &GitState, req: &Request, full: &str, rest: &[&str]) -> Response {
    let repo = state.repo(full).expect("checked");
    let Some(parts) = rest
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| decode_segment(s))
        .collect::<Option<Vec<_>>>()
    else {
        return not_found(DOC_CONTENTS);
    };
    let path = parts.join("/");
    let git_ref = req
        .query_param("ref")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| repo.default_branch.clone());
    let Some(commit) = repo.resolve(&git_ref) else {
        return error(
            404,
            &format!("No commit found for the ref {git_ref}"),
            DOC_CONTENTS,
        );
    };
    let accept = req
        .header("accept")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let base = &state.base;
    let o_r = &repo.full_name;
    // A fork's pull request head is served by the target, from the fork's tree.
    let Some(repo) = state.tree_repo(repo, &commit) else {
        return error(
            404,
            &format!("No commit found for the ref {git_ref}"),
            DOC_CONTENTS,
        );
    };
    if let Some(bytes) = repo.file(&commit, &path) {
        if accept.contains("vnd.github.raw") || accept.contains("vnd.github.v3.raw") {
            return Response::bytes(
                200,
                "application/vnd.github.raw; charset=utf-8",
                bytes.clone(),
            );
        }
        let large = bytes.len() > 1_048_576;
        let mut entry = entry_json(
            base,
            o_r,
            &git_ref,
            &path,
            false,
            bytes.len(),
            &git_blob_sha(bytes),
        );
        entry["encoding"] = json!(if large { "none" } else { "base64" });
        entry["content"] = json!(if large {
            String::new()
        } else {
            base64_lines(bytes, 60)
        });
        return Response::json(200, &entry);
    }
    match repo.dir(&commit, &path) {
        Some(entries) => {
            let list: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let sha = repo
                        .file(&commit, &e.path)
                        .map(|b| git_blob_sha(b))
                        .unwrap_or_else(|| git_blob_sha(e.path.as_bytes()));
                    entry_json(base, o_r, &git_ref, &e.path, e.is_dir, e.size, &sha)
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        None => not_found(DOC_CONTENTS),
    }
}

fn entry_json(
    base: &str,
    repo: &str,
    git_ref: &str,
    path: &str,
    dir: bool,
    size: usize,
    sha: &str,
) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    let url = format!("{base}/repos/{repo}/contents/{path}?ref={git_ref}");
    let kind = if dir { "tree" } else { "blob" };
    let git_url = format!(
        "{base}/repos/{repo}/git/{}s/{sha}",
        if dir { "tree" } else { "blob" }
    );
    let html_url = format!("{base}/{repo}/{kind}/{git_ref}/{path}");
    json!({
        "type": if dir { "dir" } else { "file" },
        "name": name,
        "path": path,
        "sha": sha,
        "size": size,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": if dir { Value::Null } else { json!(format!("{base}/raw/{repo}/{git_ref}/{path}")) },
        "_links": { "self": url, "git": git_url, "html": html_url },
    })
}

/// `"x"`, `5`, `true`, `[...]` as GitHub's schema errors print them.
pub(crate) fn shown(v: &Value) -> String {
    v.to_string()
}

pub(crate) fn parse_body(
    req: &Request,
    doc: &str,
) -> Result<serde_json::Map<String, Value>, Response> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(serde_json::Map::new());
    }
    match req.json() {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(invalid(
            &format!(
                "Invalid input: `{}` is not of type `object`.",
                shown(&other)
            ),
            doc,
        )),
        Err(_) => Err(error(400, "Problems parsing JSON", doc)),
    }
}

fn create_status(state: &mut GitState, req: &Request, full: &str, sha: &str) -> Response {
    let body = match parse_body(req, DOC_STATUS) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(state_value) = body.get("state") else {
        return invalid("\"state\" wasn't supplied.", DOC_STATUS);
    };
    const STATES: [&str; 4] = ["error", "failure", "pending", "success"];
    let Some(st) = state_value.as_str().filter(|s| STATES.contains(s)) else {
        return invalid(
            &format!(
                "For 'properties/state', {} is not one of [\"error\", \"failure\", \"pending\", \"success\"].",
                shown(state_value)
            ),
            DOC_STATUS,
        );
    };
    for field in ["target_url", "description", "context"] {
        if let Some(v) = body.get(field)
            && !(v.is_string() || v.is_null())
        {
            return invalid(
                &format!(
                    "For 'properties/{field}', {} is not a string or null.",
                    shown(v)
                ),
                DOC_STATUS,
            );
        }
    }
    let description = body.get("description").cloned().unwrap_or(Value::Null);
    if description
        .as_str()
        .is_some_and(|d| d.chars().count() > 140)
    {
        return Response::json(
            422,
            &json!({
                "message": "Validation Failed",
                "errors": [{ "resource": "Status", "code": "custom", "field": "description",
                             "message": "description is too long (maximum is 140 characters)" }],
                "documentation_url": DOC_STATUS, "status": "422",
            }),
        );
    }
    let repo = state.repo(full).expect("checked");
    if !repo.commits.contains(sha) {
        return error(422, &format!("No commit found for SHA: {sha}"), DOC_STATUS);
    }
    let repo_name = repo.full_name.clone();
    let context = body
        .get("context")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    let target_url = body.get("target_url").cloned().unwrap_or(Value::Null);
    let id = state.next_id();
    let now = now_rfc3339();
    let url = format!("{}/repos/{repo_name}/statuses/{sha}", state.base);
    let created = json!({
        "url": url, "id": id, "node_id": format!("SC_{id}"), "state": st,
        "description": description, "target_url": target_url, "context": context,
        "created_at": now, "updated_at": now, "avatar_url": Value::Null,
        "creator": { "login": "slipway-bot", "id": 1, "type": "Bot" },
    });
    state.record_status(
        "github",
        &repo_name,
        sha,
        st,
        &context,
        &description,
        &target_url,
        json!({ "id": id }),
    );
    Response::json(201, &created).with_header("location", url)
}

fn list_statuses(state: &GitState, full: &str, reference: &str) -> Response {
    let repo = state.repo(full).expect("checked");
    let sha = repo
        .resolve(reference)
        .unwrap_or_else(|| reference.to_owned());
    let list: Vec<Value> = state
        .statuses
        .iter()
        .rev()
        .filter(|s| s["provider"] == "github" && s["sha"] == sha.as_str())
        .filter(|s| {
            s["repo"]
                .as_str()
                .is_some_and(|r| r.eq_ignore_ascii_case(full))
        })
        .map(|s| {
            json!({ "id": s["id"], "state": s["state"], "context": s["context"],
                    "description": s["description"], "target_url": s["target_url"] })
        })
        .collect();
    Response::json(200, &Value::Array(list))
}
