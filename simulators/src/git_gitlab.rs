//! GitLab REST API (v4) part of [`super::git::FakeGit`]: repository files,
//! commit statuses (with GitLab's state machine), pipeline triggers and
//! pipelines.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::git_state::{GitState, GitlabJob, PipelineTrigger};
use super::server::{Request, Response};
use super::{base64, decode_segment, git_blob_sha, now_rfc3339};

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

fn grape_error(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "error": text }))
}

/// `None` without credentials, else whether they are the fake's token.
fn credentials_ok(req: &Request, token: &str) -> Option<bool> {
    if let Some(t) = req.header("private-token") {
        return Some(t == token);
    }
    if let Some(h) = req.header("authorization") {
        return Some(h.strip_prefix("Bearer ").is_some_and(|t| t.trim() == token));
    }
    req.query_param("private_token")
        .or_else(|| req.query_param("access_token"))
        .map(|t| t == token)
}

/// Parameters from the query, a form body and a JSON body, as Grape merges them.
fn params(req: &Request) -> Result<BTreeMap<String, Value>, Response> {
    let mut out: BTreeMap<String, Value> = req
        .query_params()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if req.content_type_is("application/json") && !req.body.is_empty() {
        match req.json() {
            Ok(Value::Object(map)) => out.extend(map),
            Ok(_) => {
                return Err(grape_error(
                    400,
                    "The provided content-type 'application/json' is not supported.",
                ));
            }
            Err(_) => return Err(grape_error(400, "There was a problem with the JSON body.")),
        }
    } else if req.content_type_is("application/x-www-form-urlencoded")
        || req.content_type_is("multipart/form-data")
    {
        for (k, v) in req.form_params() {
            out.insert(k, Value::String(v));
        }
    }
    Ok(out)
}

/// `key[...]`-style form fields (`variables[FOO]=bar`) plus a JSON object under `key`.
fn nested(
    params: &BTreeMap<String, Value>,
    key: &str,
) -> Result<BTreeMap<String, Value>, Response> {
    let mut out = BTreeMap::new();
    match params.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => out.extend(map.clone()),
        Some(_) => return Err(grape_error(400, &format!("{key} is invalid"))),
    }
    let prefix = format!("{key}[");
    for (k, v) in params {
        if let Some(name) = k.strip_prefix(&prefix).and_then(|r| r.strip_suffix(']')) {
            out.insert(name.to_owned(), v.clone());
        }
    }
    Ok(out)
}

/// Answers a request under `/api/v4/`.
pub(crate) fn handle(state: &mut GitState, req: &Request) -> Response {
    let seg = req.raw_segments();
    let seg = &seg[2..];
    let m = req.method.as_str();
    if seg.len() < 2 || seg[0] != "projects" {
        return grape_error(404, "404 Not Found");
    }
    let rest = &seg[2..];
    let allowed: &[&str] = match rest {
        ["repository", "files", _, "raw"] | ["repository", "files", _] => &["GET", "HEAD"],
        ["statuses", _] => &["POST"],
        ["trigger", "pipeline"] => &["POST"],
        ["pipelines", _] => &["GET", "HEAD"],
        _ => return grape_error(404, "404 Not Found"),
    };
    if !allowed.contains(&m) {
        return grape_error(405, "405 Not Allowed").with_header("allow", allowed.join(", "));
    }
    let id = decode_segment(seg[1]).unwrap_or_default();
    let project = match id.parse::<u64>() {
        Ok(n) => state.repo_by_id(n),
        Err(_) => state.repo(&id),
    }
    .map(|r| r.full_name.clone());
    if let ["trigger", "pipeline"] = rest {
        return trigger(state, req, project);
    }
    match credentials_ok(req, &state.token) {
        Some(false) => return message(401, "401 Unauthorized"),
        None => return message(404, "404 Project Not Found"),
        Some(true) => {}
    }
    let Some(full) = project else {
        return message(404, "404 Project Not Found");
    };
    match rest {
        ["repository", "files", file, "raw"] => file_raw(state, req, &full, file, true),
        ["repository", "files", file] => file_raw(state, req, &full, file, false),
        ["statuses", sha] => create_status(state, req, &full, sha),
        ["pipelines", pid] => get_pipeline(state, &full, pid),
        _ => grape_error(404, "404 Not Found"),
    }
}

fn file_raw(state: &GitState, req: &Request, full: &str, file: &str, raw: bool) -> Response {
    let repo = state.repo(full).expect("checked");
    let path = decode_segment(file).unwrap_or_default();
    let git_ref = match req.query_param("ref").filter(|r| !r.is_empty()) {
        Some(r) => r,
        None if raw => repo.default_branch.clone(),
        None => return grape_error(400, "ref is missing"),
    };
    let Some(commit) = repo.resolve(&git_ref) else {
        return message(404, "404 Commit Not Found");
    };
    let Some(bytes) = repo.file(&commit, &path) else {
        return message(404, "404 File Not Found");
    };
    let blob = git_blob_sha(bytes);
    let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
    let meta = [
        ("x-gitlab-file-name", name.clone()),
        ("x-gitlab-file-path", path.clone()),
        ("x-gitlab-size", bytes.len().to_string()),
        ("x-gitlab-encoding", "base64".into()),
        ("x-gitlab-ref", git_ref.clone()),
        ("x-gitlab-blob-id", blob.clone()),
        ("x-gitlab-commit-id", commit.clone()),
        ("x-gitlab-last-commit-id", commit.clone()),
    ];
    let mut response = if raw {
        Response::bytes(200, "text/plain; charset=utf-8", bytes.clone())
    } else {
        Response::json(
            200,
            &json!({
                "file_name": name, "file_path": path, "size": bytes.len(), "encoding": "base64",
                "content": base64(bytes), "ref": git_ref, "blob_id": blob, "commit_id": commit,
                "last_commit_id": commit, "execute_filemode": false,
            }),
        )
    };
    for (k, v) in meta {
        response = response.with_header(k, v);
    }
    response
}

fn create_status(state: &mut GitState, req: &Request, full: &str, sha: &str) -> Response {
    let p = match params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let text = |k: &str| {
        p.get(k).and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| (!v.is_null()).then(|| v.to_string()))
        })
    };
    let Some(new_state) = text("state") else {
        return grape_error(400, "state is missing");
    };
    const STATES: [&str; 6] = [
        "pending", "running", "success", "failed", "canceled", "skipped",
    ];
    if !STATES.contains(&new_state.as_str()) {
        return grape_error(400, "state does not have a valid value");
    }
    let repo = state.repo(full).expect("checked");
    if !repo.commits.contains(sha) {
        return message(404, "404 Commit Not Found");
    }
    let repo_name = repo.full_name.clone();
    let name = text("name")
        .or_else(|| text("context"))
        .unwrap_or_else(|| "default".into());
    let git_ref = text("ref")
        .or_else(|| repo.branch_of(sha))
        .unwrap_or_else(|| repo.default_branch.clone());
    let active = state.gitlab_jobs.iter().position(|j| {
        j.repo == repo_name && j.sha == sha && j.name == name && j.git_ref == git_ref
    });
    let current = active.map(|i| state.gitlab_jobs[i].state.clone());
    let event = match new_state.as_str() {
        "pending" => "enqueue",
        "running" => "run",
        "success" => "succeed",
        "failed" => "drop",
        "canceled" => "cancel",
        _ => "skip",
    };
    let refused = match (current.as_deref(), new_state.as_str()) {
        (Some(cur @ ("pending" | "running")), "pending") => Some(cur.to_owned()),
        (Some("running"), "running" | "skipped") => Some("running".to_owned()),
        _ => None,
    };
    if let Some(from) = refused {
        return message(
            400,
            &format!(
                "Cannot transition status via :{event} from :{from} (Reason(s): Status cannot transition via \"{event}\".)"
            ),
        );
    }
    let id = match active {
        Some(i) => state.gitlab_jobs[i].id,
        None => state.next_id(),
    };
    let finished = matches!(
        new_state.as_str(),
        "success" | "failed" | "canceled" | "skipped"
    );
    match (active, finished) {
        (Some(i), true) => {
            state.gitlab_jobs.remove(i);
        }
        (Some(i), false) => state.gitlab_jobs[i].state = new_state.clone(),
        (None, false) => state.gitlab_jobs.push(GitlabJob {
            repo: repo_name.clone(),
            sha: sha.to_owned(),
            name: name.clone(),
            git_ref: git_ref.clone(),
            id,
            state: new_state.clone(),
        }),
        (None, true) => {}
    }
    let description = p.get("description").cloned().unwrap_or(Value::Null);
    let target_url = p.get("target_url").cloned().unwrap_or(Value::Null);
    let now = now_rfc3339();
    let body = json!({
        "id": id, "sha": sha, "ref": git_ref, "status": new_state, "name": name,
        "target_url": target_url, "description": description, "created_at": now,
        "started_at": if new_state == "running" { json!(now) } else { Value::Null },
        "finished_at": if finished { json!(now) } else { Value::Null },
        "allow_failure": false, "coverage": Value::Null, "pipeline_id": Value::Null,
        "author": { "id": 1, "username": "slipway-bot", "name": "Slipway", "state": "active" },
    });
    state.record_status(
        "gitlab",
        &repo_name,
        sha,
        &new_state,
        &name,
        &description,
        &target_url,
        json!({ "id": id, "name": name, "ref": git_ref }),
    );
    Response::json(201, &body)
}

fn trigger(state: &mut GitState, req: &Request, project: Option<String>) -> Response {
    let p = match params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let token = p
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !p.contains_key("token") {
        return grape_error(400, "token is missing");
    }
    let Some(git_ref) = p.get("ref").and_then(Value::as_str).map(str::to_owned) else {
        return grape_error(400, "ref is missing");
    };
    let (vars, inputs) = match (nested(&p, "variables"), nested(&p, "inputs")) {
        (Ok(v), Ok(i)) => (v, i),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let mut variables = BTreeMap::new();
    for (k, v) in vars {
        match v {
            Value::String(s) => variables.insert(k, s),
            Value::Number(_) | Value::Bool(_) => variables.insert(k, v.to_string()),
            _ => return grape_error(400, "variables is invalid"),
        };
    }
    let Some(full) = project else {
        return message(404, "404 Project Not Found");
    };
    let repo = state.repo(&full).expect("exists");
    if !repo.trigger_tokens.contains(&token) {
        return message(404, "404 Not Found");
    }
    if !repo.is_branch_or_tag(&git_ref) {
        return Response::json(
            400,
            &json!({ "message": { "base": ["Reference not found"] } }),
        );
    }
    let sha = repo.resolve(&git_ref).unwrap_or_default();
    let is_tag = repo
        .tags
        .contains_key(git_ref.trim_start_matches("refs/tags/"));
    let (repo_name, project_id) = (repo.full_name.clone(), repo.id);
    let iid = {
        let r = state.repo_mut(&full);
        r.next_pipeline_iid += 1;
        r.next_pipeline_iid
    };
    state.next_pipeline_id += 1;
    let id = state.next_pipeline_id;
    let now = now_rfc3339();
    let pipeline = json!({
        "id": id, "iid": iid, "project_id": project_id, "sha": sha, "ref": git_ref,
        "status": "created", "source": "trigger", "created_at": now, "updated_at": now,
        "web_url": format!("{}/{repo_name}/-/pipelines/{id}", state.base),
        "before_sha": "0000000000000000000000000000000000000000", "tag": is_tag,
        "yaml_errors": Value::Null, "started_at": Value::Null, "finished_at": Value::Null,
        "committed_at": Value::Null, "duration": Value::Null, "queued_duration": Value::Null,
        "coverage": Value::Null,
        "user": { "id": 1, "username": "slipway-bot", "name": "Slipway" },
        "detailed_status": { "icon": "status_created", "text": "Created", "label": "created",
                             "group": "created", "tooltip": "created" },
    });
    state.pipelines.insert(id, pipeline.clone());
    state.triggers.push(PipelineTrigger {
        repo: repo_name,
        git_ref,
        sha,
        variables,
        inputs,
        pipeline_id: id,
    });
    Response::json(201, &pipeline)
}

fn get_pipeline(state: &GitState, full: &str, pid: &str) -> Response {
    let repo = state.repo(full).expect("checked");
    match pid
        .parse::<u64>()
        .ok()
        .and_then(|id| state.pipelines.get(&id))
    {
        Some(p) if p["project_id"] == repo.id => Response::json(200, p),
        _ => message(404, "404 Not found"),
    }
}
