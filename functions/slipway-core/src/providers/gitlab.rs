//! GitLab webhooks. The GitLab-shaped push parsing here is shared with
//! Codeup, whose payloads follow GitLab's.

use super::payload::{
    changed_paths, commits, decode_body, first_str, get, is_zero_sha, opt_bool, opt_str, opt_u64,
    repo_path_of_url, req_first_str, req_str, req_u64,
};
use super::signature::{ct_eq_secret, verify_standard_webhooks};
use super::{
    AuthError, CommentEvent, EventError, Headers, MergeRequestEvent, MrAction, ParsedEvent,
    PipelineEvent, PushEvent, header,
};
use serde_json::Value;

/// `X-Gitlab-Token` equal to the secret, or — when the secret is a
/// `whsec_…` signing token and the delivery is signed — a Standard-Webhooks
/// `webhook-signature` within ±5 minutes.
pub(super) fn verify(
    headers: &Headers,
    body: &[u8],
    secret: &str,
    now_ms: u64,
) -> Result<(), AuthError> {
    let token = header(headers, "x-gitlab-token");
    let signature = header(headers, "webhook-signature");
    if let (Some(signature), true) = (signature, secret.starts_with("whsec_")) {
        return verify_standard_webhooks(
            header(headers, "webhook-id"),
            header(headers, "webhook-timestamp"),
            signature,
            body,
            secret,
            now_ms,
        );
    }
    match (token, signature) {
        (Some(token), _) if ct_eq_secret(token, secret) => Ok(()),
        (Some(_), _) => Err(AuthError::Mismatch("x-gitlab-token")),
        (None, Some(_)) => Err(AuthError::MissingHeader(
            "x-gitlab-token (webhook-signature needs a whsec_ signing token as the secret)",
        )),
        (None, None) => Err(AuthError::MissingHeader(
            "x-gitlab-token or webhook-signature",
        )),
    }
}

/// Parses a delivery by its `object_kind` (falling back to `X-Gitlab-Event`).
pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<ParsedEvent, EventError> {
    let json = decode_body(headers, body)?;
    let event_header = header(headers, "x-gitlab-event");
    let kind = opt_str(&json, "object_kind").or(match event_header {
        Some("Push Hook") => Some("push"),
        Some("Tag Push Hook") => Some("tag_push"),
        Some("Merge Request Hook") => Some("merge_request"),
        Some("Pipeline Hook") => Some("pipeline"),
        Some("Note Hook") => Some("note"),
        _ => None,
    });
    Ok(match kind {
        Some("push" | "tag_push") => ParsedEvent::Push(push(&json)?),
        Some("merge_request") => ParsedEvent::MergeRequest(merge_request(&json)?),
        Some("pipeline") => ParsedEvent::Pipeline(pipeline(&json)?),
        Some("note") => note(&json, event_header.unwrap_or("note"))?,
        other => ParsedEvent::Ignored {
            event: event_header.or(other).unwrap_or("unknown").to_owned(),
            reason: "not an event Slipway acts on".into(),
        },
    })
}

fn push(json: &Value) -> Result<PushEvent, EventError> {
    let repo = match first_str(json, &["project.path_with_namespace"]) {
        Some(path) => path.to_owned(),
        None => opt_str(json, "repository.homepage")
            .and_then(repo_path_of_url)
            .ok_or_else(|| {
                EventError::Malformed("missing field `project.path_with_namespace`".into())
            })?,
    };
    let clone_url = first_str(json, &["project.git_http_url", "repository.git_http_url"]);
    gitlab_shaped_push(json, repo, clone_url.map(str::to_owned))
}

/// A push from a GitLab-shaped payload (`ref`, `before`, `after`,
/// `user_username`/`user_name`, `commits[]`, `total_commits_count`), with
/// the repository already resolved by the caller.
pub(super) fn gitlab_shaped_push(
    json: &Value,
    repo: String,
    clone_url: Option<String>,
) -> Result<PushEvent, EventError> {
    let before = req_str(json, "before")?;
    let after = req_str(json, "after")?;
    let list = commits(json);
    let (changed_paths, mut paths_complete) = changed_paths(list, None);
    // GitLab keeps only the newest 20 commits; the total tells.
    if opt_u64(json, "total_commits_count").is_some_and(|n| n > list.len() as u64) {
        paths_complete = false;
    }
    Ok(PushEvent {
        repo,
        clone_url,
        git_ref: req_str(json, "ref")?.to_owned(),
        before: before.to_owned(),
        after: after.to_owned(),
        deleted: is_zero_sha(after),
        created: is_zero_sha(before),
        pusher: first_str(json, &["user_username", "user_name"]).map(str::to_owned),
        changed_paths,
        paths_complete,
    })
}

fn merge_request(json: &Value) -> Result<MergeRequestEvent, EventError> {
    let action = match req_str(json, "object_attributes.action")? {
        "open" => MrAction::Opened,
        "reopen" => MrAction::Reopened,
        "close" => MrAction::Closed,
        "merge" => MrAction::Merged,
        // `oldrev` is present only when the update pushed new code.
        "update" if get(json, "object_attributes.oldrev").is_some() => MrAction::Updated,
        other => MrAction::Other(other.to_owned()),
    };
    let repo = match first_str(
        json,
        &[
            "project.path_with_namespace",
            "object_attributes.target.path_with_namespace",
        ],
    ) {
        Some(r) => r,
        None => {
            return Err(EventError::Malformed(
                "missing field `project.path_with_namespace`".into(),
            ));
        }
    };
    Ok(MergeRequestEvent {
        repo: repo.to_owned(),
        number: req_u64(json, "object_attributes.iid")?,
        action,
        source_branch: req_str(json, "object_attributes.source_branch")?.to_owned(),
        target_branch: req_str(json, "object_attributes.target_branch")?.to_owned(),
        head_sha: req_str(json, "object_attributes.last_commit.id")?.to_owned(),
        source_repo: opt_str(json, "object_attributes.source.path_with_namespace")
            .unwrap_or(repo)
            .to_owned(),
        source_clone_url: opt_str(json, "object_attributes.source.git_http_url").map(str::to_owned),
        url: opt_str(json, "object_attributes.url").map(str::to_owned),
        draft: opt_bool(json, "object_attributes.draft").unwrap_or(false)
            || opt_bool(json, "object_attributes.work_in_progress").unwrap_or(false),
        // The hook names the author only by `author_id`; `user` is who
        // caused this event (the author when it is opened, the pusher on an
        // update). GitLab sends no access level in webhooks.
        author: opt_str(json, "user.username").map(str::to_owned),
        author_association: None,
    })
}

/// The [`ParsedEvent::Ignored`] for a GitLab-shaped Note Hook that is not
/// about a merge request (a comment on a commit, issue or snippet, or one
/// without `noteable_type`); `None` for a merge request comment. Shared
/// with Codeup.
pub(super) fn non_merge_request_note(json: &Value, event: &str) -> Option<ParsedEvent> {
    let reason = match opt_str(json, "object_attributes.noteable_type") {
        Some("MergeRequest") => return None,
        Some(other) => format!("a comment on a {other}, not on a merge request"),
        None => "a comment without `object_attributes.noteable_type`".to_owned(),
    };
    Some(ParsedEvent::Ignored {
        event: event.to_owned(),
        reason,
    })
}

/// A merge request comment from a GitLab-shaped Note Hook, with the
/// repository and author already resolved by the caller: the request is
/// `merge_request.iid`, the text `object_attributes.note`, the head
/// `merge_request.last_commit.id`; it is new when `object_attributes.action`
/// is `create` or absent (GitLab before 16.11 sends none, and no edits).
pub(super) fn merge_request_note(
    json: &Value,
    repo: String,
    author: &str,
) -> Result<CommentEvent, EventError> {
    Ok(CommentEvent {
        repo,
        number: req_u64(json, "merge_request.iid")?,
        body: req_str(json, "object_attributes.note")?.to_owned(),
        author: author.to_owned(),
        author_association: None,
        head_sha: opt_str(json, "merge_request.last_commit.id").map(str::to_owned),
        created: matches!(
            opt_str(json, "object_attributes.action"),
            None | Some("create")
        ),
    })
}

fn note(json: &Value, event: &str) -> Result<ParsedEvent, EventError> {
    if let Some(ignored) = non_merge_request_note(json, event) {
        return Ok(ignored);
    }
    let repo = req_first_str(
        json,
        &[
            "project.path_with_namespace",
            "merge_request.target.path_with_namespace",
        ],
    )?;
    // In a Note Hook `user` is the comment's author.
    let author = req_str(json, "user.username")?;
    Ok(ParsedEvent::Comment(merge_request_note(
        json,
        repo.to_owned(),
        author,
    )?))
}

fn pipeline(json: &Value) -> Result<PipelineEvent, EventError> {
    let status = req_str(json, "object_attributes.status")?;
    let short_ref = req_str(json, "object_attributes.ref")?;
    let git_ref = if short_ref.starts_with("refs/") {
        short_ref.to_owned()
    } else if opt_bool(json, "object_attributes.tag").unwrap_or(false) {
        format!("refs/tags/{short_ref}")
    } else {
        format!("refs/heads/{short_ref}")
    };
    Ok(PipelineEvent {
        repo: req_str(json, "project.path_with_namespace")?.to_owned(),
        id: req_u64(json, "object_attributes.id")?,
        status: status.to_owned(),
        sha: req_str(json, "object_attributes.sha")?.to_owned(),
        git_ref,
        url: opt_str(json, "object_attributes.url").map(str::to_owned),
        duration: opt_u64(json, "object_attributes.duration"),
        finished: matches!(status, "success" | "failed" | "canceled" | "skipped"),
    })
}

#[cfg(test)]
#[path = "gitlab_tests.rs"]
mod tests;
