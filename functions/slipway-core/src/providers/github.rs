//! GitHub webhooks. The GitHub-shaped payload parsing here is shared with
//! Gitea/Forgejo, whose payloads are GitHub-compatible.

use super::payload::{
    changed_paths, commits, decode_body, first_str, get, is_zero_sha, opt_bool, opt_str, opt_u64,
    req_first_str, req_str, req_u64,
};
use super::signature::verify_hex;
use super::{
    AuthError, CommentEvent, EventError, Headers, MergeRequestEvent, MrAction, ParsedEvent,
    PushEvent, WorkflowRunEvent, header,
};
use serde_json::Value;

/// GitHub lists at most this many commits in a push payload.
const MAX_PUSH_COMMITS: usize = 2048;
/// … and at most this many files per list of one commit.
const MAX_FILES_PER_LIST: usize = 3000;

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
pub(super) fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<(), AuthError> {
    let name = "x-hub-signature-256";
    let value = header(headers, name).ok_or(AuthError::MissingHeader(name))?;
    verify_hex(name, value, "sha256=", secret, body)
}

/// Parses a delivery named by `X-GitHub-Event`.
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let event = header(headers, "x-github-event")
        .ok_or_else(|| EventError::Malformed("missing X-GitHub-Event header".into()))?;
    let json = decode_body(headers, body)?;
    parse_event(event, &json)
}

/// Dispatches a GitHub-shaped payload on its event name (shared with Gitea).
pub(super) fn parse_event(event: &str, json: &Value) -> Result<ParsedEvent, EventError> {
    Ok(match event {
        "ping" => ParsedEvent::Ping,
        "push" => ParsedEvent::Push(push(json)?),
        "pull_request" => ParsedEvent::MergeRequest(pull_request(json)?),
        "workflow_run" => ParsedEvent::WorkflowRun(workflow_run(json)?),
        "check_run" => ParsedEvent::CheckRun(super::checks::check_run(json)?),
        "check_suite" => ParsedEvent::CheckSuite(super::checks::check_suite(json)?),
        // Gitea sends PR comments as `issue_comment` too, naming them
        // `pull_request_comment` in `X-Gitea-Event-Type`.
        "issue_comment" | "pull_request_comment" => issue_comment(event, json)?,
        "create" | "delete" => ParsedEvent::Ignored {
            event: event.to_owned(),
            reason: "the matching push event carries the commit".into(),
        },
        other => ParsedEvent::Ignored {
            event: other.to_owned(),
            reason: "not an event Slipway acts on".into(),
        },
    })
}

fn push(json: &Value) -> Result<PushEvent, EventError> {
    let git_ref = req_str(json, "ref")?;
    let before = req_str(json, "before")?;
    let after = req_str(json, "after")?;
    let repo = req_str(json, "repository.full_name")?;
    let list = commits(json);
    let (changed_paths, mut paths_complete) = changed_paths(list, Some(MAX_FILES_PER_LIST));
    if list.len() >= MAX_PUSH_COMMITS {
        paths_complete = false;
    }
    // Gitea reports the real count beside a possibly shortened list.
    if opt_u64(json, "total_commits").is_some_and(|n| n > list.len() as u64) {
        paths_complete = false;
    }
    Ok(PushEvent {
        repo: repo.to_owned(),
        clone_url: opt_str(json, "repository.clone_url").map(str::to_owned),
        git_ref: git_ref.to_owned(),
        before: before.to_owned(),
        after: after.to_owned(),
        deleted: opt_bool(json, "deleted").unwrap_or_else(|| is_zero_sha(after)),
        created: opt_bool(json, "created").unwrap_or_else(|| is_zero_sha(before)),
        pusher: first_str(
            json,
            &[
                "pusher.login",
                "pusher.username",
                "pusher.name",
                "sender.login",
            ],
        )
        .map(str::to_owned),
        changed_paths,
        paths_complete,
    })
}

fn pull_request(json: &Value) -> Result<MergeRequestEvent, EventError> {
    let action = req_str(json, "action")?;
    let merged = opt_bool(json, "pull_request.merged").unwrap_or(false);
    let action = match action {
        "opened" => MrAction::Opened,
        // GitHub says `synchronize`, Gitea `synchronized`.
        "synchronize" | "synchronized" => MrAction::Updated,
        "reopened" => MrAction::Reopened,
        "closed" if merged => MrAction::Merged,
        "closed" => MrAction::Closed,
        other => MrAction::Other(other.to_owned()),
    };
    let number = match req_u64(json, "number") {
        Ok(n) => n,
        Err(_) => req_u64(json, "pull_request.number")?,
    };
    let repo = req_first_str(
        json,
        &["repository.full_name", "pull_request.base.repo.full_name"],
    )?;
    Ok(MergeRequestEvent {
        repo: repo.to_owned(),
        number,
        action,
        source_branch: req_str(json, "pull_request.head.ref")?.to_owned(),
        target_branch: req_str(json, "pull_request.base.ref")?.to_owned(),
        head_sha: req_str(json, "pull_request.head.sha")?.to_owned(),
        // `head.repo` is null when the fork was deleted.
        source_repo: opt_str(json, "pull_request.head.repo.full_name")
            .unwrap_or(repo)
            .to_owned(),
        source_clone_url: opt_str(json, "pull_request.head.repo.clone_url").map(str::to_owned),
        url: opt_str(json, "pull_request.html_url").map(str::to_owned),
        draft: opt_bool(json, "pull_request.draft").unwrap_or(false),
        author: opt_str(json, "pull_request.user.login").map(str::to_owned),
        // GitHub only: Gitea's pull request has no `author_association`.
        author_association: opt_str(json, "pull_request.author_association").map(str::to_owned),
    })
}

/// A comment on an issue or a pull request (GitHub and Gitea share the
/// shape). Only pull request comments become [`ParsedEvent::Comment`]: GitHub
/// marks them with a non-null `issue.pull_request`, Gitea with `is_pull`.
fn issue_comment(event: &str, json: &Value) -> Result<ParsedEvent, EventError> {
    let on_pull = event == "pull_request_comment"
        || opt_bool(json, "is_pull").unwrap_or(false)
        || get(json, "issue.pull_request").is_some();
    if !on_pull {
        return Ok(ParsedEvent::Ignored {
            event: event.to_owned(),
            reason: "a comment on an issue, not on a pull request".into(),
        });
    }
    Ok(ParsedEvent::Comment(CommentEvent {
        repo: req_str(json, "repository.full_name")?.to_owned(),
        number: req_u64(json, "issue.number")?,
        body: req_str(json, "comment.body")?.to_owned(),
        author: req_str(json, "comment.user.login")?.to_owned(),
        author_association: opt_str(json, "comment.author_association").map(str::to_owned),
        // GitHub's payload names no commit; Gitea's may carry the whole
        // pull request beside the issue.
        head_sha: opt_str(json, "pull_request.head.sha").map(str::to_owned),
        created: opt_str(json, "action") == Some("created"),
    }))
}

fn workflow_run(json: &Value) -> Result<WorkflowRunEvent, EventError> {
    Ok(WorkflowRunEvent {
        repo: req_str(json, "repository.full_name")?.to_owned(),
        action: req_str(json, "action")?.to_owned(),
        id: req_u64(json, "workflow_run.id")?,
        name: first_str(json, &["workflow_run.name", "workflow.name"])
            .unwrap_or_default()
            .to_owned(),
        status: req_str(json, "workflow_run.status")?.to_owned(),
        conclusion: opt_str(json, "workflow_run.conclusion").map(str::to_owned),
        head_sha: req_str(json, "workflow_run.head_sha")?.to_owned(),
        head_branch: opt_str(json, "workflow_run.head_branch").map(str::to_owned),
        html_url: req_str(json, "workflow_run.html_url")?.to_owned(),
        run_attempt: opt_u64(json, "workflow_run.run_attempt").unwrap_or(1),
        event: opt_str(json, "workflow_run.event").map(str::to_owned),
        path: opt_str(json, "workflow_run.path").map(str::to_owned),
        workflow_id: opt_u64(json, "workflow_run.workflow_id"),
        url: opt_str(json, "workflow_run.url").map(str::to_owned),
    })
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
