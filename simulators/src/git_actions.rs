//! GitHub Actions part of [`super::git::FakeGit`]: workflow dispatch
//! (`POST .../actions/workflows/{id}/dispatches`) and workflow runs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::git_github::{DOC_DISPATCH, DOC_RUN, error, invalid, not_found, parse_body, shown};
use super::git_state::{GitState, Repo};
use super::server::{Request, Response};
use super::{decode_segment, now_rfc3339};

fn find_workflow<'a>(
    repo: &'a Repo,
    wf: &str,
) -> Option<(&'a String, &'a super::git_state::Workflow)> {
    repo.workflows
        .iter()
        .find(|(file, w)| file.as_str() == wf || w.id.to_string() == wf)
}

pub(crate) fn dispatch(state: &mut GitState, req: &Request, full: &str, wf: &str) -> Response {
    let wf = decode_segment(wf).unwrap_or_default();
    let repo = state.repo(full).expect("checked");
    let Some((file, workflow)) = find_workflow(repo, &wf) else {
        return not_found(DOC_DISPATCH);
    };
    let body = match parse_body(req, DOC_DISPATCH) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let git_ref = match body.get("ref") {
        None => return invalid("\"ref\" wasn't supplied.", DOC_DISPATCH),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return invalid(
                &format!("For 'properties/ref', {} is not a string.", shown(other)),
                DOC_DISPATCH,
            );
        }
    };
    let inputs = match body.get("inputs") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return invalid(
                &format!(
                    "For 'properties/inputs', {} is not an object.",
                    shown(other)
                ),
                DOC_DISPATCH,
            );
        }
    };
    for (k, v) in &inputs {
        if !(v.is_string() || v.is_number() || v.is_boolean()) {
            return invalid(
                &format!("For 'properties/inputs/{k}', {} is not a string.", shown(v)),
                DOC_DISPATCH,
            );
        }
    }
    let return_details = match body.get("return_run_details") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return invalid(
                &format!(
                    "For 'properties/return_run_details', {} is not a boolean.",
                    shown(other)
                ),
                DOC_DISPATCH,
            );
        }
    };
    let unexpected: Vec<String> = match &workflow.inputs {
        Some(declared) => inputs
            .keys()
            .filter(|k| !declared.contains(k))
            .cloned()
            .collect(),
        None => inputs.keys().skip(10).cloned().collect(),
    };
    if !unexpected.is_empty() {
        let list: Vec<String> = unexpected.iter().map(|k| format!("{k:?}")).collect();
        return error(
            422,
            &format!("Unexpected inputs provided: [{}]", list.join(", ")),
            DOC_DISPATCH,
        );
    }
    if git_ref.is_empty() || !repo.is_branch_or_tag(&git_ref) {
        return error(422, &format!("No ref found for: {git_ref}"), DOC_DISPATCH);
    }
    let sha = repo.resolve(&git_ref).unwrap_or_default();
    let (file, workflow_id, repo_name, repo_id) =
        (file.clone(), workflow.id, repo.full_name.clone(), repo.id);
    let run_number = {
        let w = state
            .repo_mut(full)
            .workflows
            .get_mut(&file)
            .expect("found above");
        w.next_run_number += 1;
        w.next_run_number - 1
    };
    state.next_run_id += 1;
    let id = state.next_run_id;
    let base = state.base.clone();
    let branch = git_ref
        .trim_start_matches("refs/heads/")
        .trim_start_matches("refs/tags/");
    let api = format!("{base}/repos/{repo_name}/actions/runs/{id}");
    let html = format!("{base}/{repo_name}/actions/runs/{id}");
    let name = file.trim_end_matches(".yml").trim_end_matches(".yaml");
    let now = now_rfc3339();
    let run = json!({
        "id": id, "name": name, "node_id": format!("WFR_{id}"), "head_branch": branch,
        "head_sha": sha, "path": format!(".github/workflows/{file}"), "display_title": name,
        "run_number": run_number, "event": "workflow_dispatch", "status": "queued",
        "conclusion": Value::Null, "workflow_id": workflow_id, "url": api, "html_url": html,
        "jobs_url": format!("{api}/jobs"), "logs_url": format!("{api}/logs"),
        "cancel_url": format!("{api}/cancel"), "rerun_url": format!("{api}/rerun"),
        "workflow_url": format!("{base}/repos/{repo_name}/actions/workflows/{workflow_id}"),
        "pull_requests": [], "created_at": now, "updated_at": now, "run_started_at": now,
        "run_attempt": 1, "actor": { "login": "slipway-bot" },
        "triggering_actor": { "login": "slipway-bot" },
        "head_commit": { "id": sha },
        "repository": { "id": repo_id, "full_name": repo_name },
    });
    state.runs.insert(id, run);
    state.dispatches.push(super::git_state::Dispatch {
        repo: repo_name,
        workflow: wf,
        git_ref,
        inputs: inputs.into_iter().collect::<BTreeMap<_, _>>(),
        return_run_details: return_details,
        run_id: id,
    });
    if return_details {
        Response::json(
            200,
            &json!({ "workflow_run_id": id, "run_url": api, "html_url": html }),
        )
    } else {
        Response::empty(204)
    }
}

fn run_in_repo(run: &Value, full: &str) -> bool {
    run["repository"]["full_name"]
        .as_str()
        .is_some_and(|r| r.eq_ignore_ascii_case(full))
}

pub(crate) fn get_run(state: &GitState, full: &str, id: &str) -> Response {
    match id.parse::<u64>().ok().and_then(|id| state.runs.get(&id)) {
        Some(run) if run_in_repo(run, full) => Response::json(200, run),
        _ => not_found(DOC_RUN),
    }
}

pub(crate) fn list_runs(state: &GitState, req: &Request, full: &str, wf: &str) -> Response {
    let wf = decode_segment(wf).unwrap_or_default();
    let repo = state.repo(full).expect("checked");
    let Some((_, workflow)) = find_workflow(repo, &wf) else {
        return not_found(DOC_RUN);
    };
    let filters: Vec<(&str, Option<String>)> = ["branch", "event", "status"]
        .iter()
        .map(|f| (*f, req.query_param(f)))
        .collect();
    let runs: Vec<Value> = state
        .runs
        .values()
        .rev()
        .filter(|r| run_in_repo(r, full) && r["workflow_id"] == workflow.id)
        .filter(|r| {
            filters.iter().all(|(f, want)| match (f, want) {
                (_, None) => true,
                (&"branch", Some(b)) => r["head_branch"] == b.as_str(),
                (&"event", Some(e)) => r["event"] == e.as_str(),
                (_, Some(s)) => r["status"] == s.as_str() || r["conclusion"] == s.as_str(),
            })
        })
        .cloned()
        .collect();
    Response::json(
        200,
        &json!({ "total_count": runs.len(), "workflow_runs": runs }),
    )
}
