//! Pull-request and comment payloads in GitHub's and GitLab's documented
//! shapes (modelled on the `pull_request`, `issue_comment`, `Merge Request
//! Hook` and `Note Hook` examples of their webhook documentation).

use serde_json::{Value, json};

/// One pull request: who opened it, from where, at which head.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// Target repository, `owner/name`.
    pub repo: String,
    /// Source repository (a fork's, or `repo`).
    pub source_repo: String,
    /// Number.
    pub number: u64,
    /// Source branch.
    pub head_ref: String,
    /// Head commit.
    pub head_sha: String,
    /// Target branch.
    pub base_ref: String,
    /// Author's login.
    pub author: String,
    /// GitHub's `author_association` of the author.
    pub association: String,
}

impl PullRequest {
    /// A request from `author`'s fork of `repo`.
    pub fn from_fork(repo: &str, number: u64, author: &str, head_sha: &str) -> PullRequest {
        let name = repo.rsplit('/').next().unwrap_or(repo);
        PullRequest {
            repo: repo.to_owned(),
            source_repo: format!("{author}/{name}"),
            number,
            head_ref: "patch-1".into(),
            head_sha: head_sha.to_owned(),
            base_ref: "main".into(),
            author: author.to_owned(),
            association: "CONTRIBUTOR".into(),
        }
    }

    /// The same request at a new head.
    pub fn pushed(&self, head_sha: &str) -> PullRequest {
        PullRequest {
            head_sha: head_sha.to_owned(),
            ..self.clone()
        }
    }
}

fn github_user(login: &str) -> Value {
    json!({ "login": login, "id": login.len() as u64 * 1000 + 7, "type": "User", "site_admin": false })
}

fn github_repo(full_name: &str) -> Value {
    let owner = full_name.split('/').next().unwrap_or_default();
    json!({
        "id": 1296269, "full_name": full_name, "name": full_name.rsplit('/').next(),
        "owner": github_user(owner), "private": false, "fork": false,
        "clone_url": format!("https://github.com/{full_name}.git"),
        "default_branch": "main",
    })
}

/// GitHub `pull_request` body with `action` (`opened`, `synchronize`, …).
pub fn github_pull_request(pr: &PullRequest, action: &str) -> Value {
    json!({
        "action": action,
        "number": pr.number,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{}/pulls/{}", pr.repo, pr.number),
            "html_url": format!("https://github.com/{}/pull/{}", pr.repo, pr.number),
            "number": pr.number, "state": "open", "locked": false, "title": "Update the README",
            "user": github_user(&pr.author),
            "author_association": pr.association,
            "draft": false, "merged": false,
            "head": { "label": format!("{}:{}", pr.author, pr.head_ref), "ref": pr.head_ref,
                      "sha": pr.head_sha, "user": github_user(&pr.author),
                      "repo": github_repo(&pr.source_repo) },
            "base": { "label": "octo:main", "ref": pr.base_ref,
                      "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                      "repo": github_repo(&pr.repo) },
        },
        "repository": github_repo(&pr.repo),
        "sender": github_user(&pr.author),
    })
}

/// GitHub `issue_comment` body: `login` comments `body` on the request.
pub fn github_comment(pr: &PullRequest, login: &str, association: &str, body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {
            "number": pr.number, "title": "Update the README", "state": "open",
            "user": github_user(&pr.author),
            "pull_request": {
                "url": format!("https://api.github.com/repos/{}/pulls/{}", pr.repo, pr.number),
                "html_url": format!("https://github.com/{}/pull/{}", pr.repo, pr.number),
            },
        },
        "comment": {
            "id": 1362302, "body": body, "user": github_user(login),
            "author_association": association,
            "created_at": "2026-11-27T10:00:00Z",
        },
        "repository": github_repo(&pr.repo),
        "sender": github_user(login),
    })
}

/// GitLab `Note Hook` body: `username` comments `body` on the request,
/// whose head the payload names.
pub fn gitlab_note(pr: &PullRequest, username: &str, body: &str) -> Value {
    json!({
        "object_kind": "note", "event_type": "note",
        "user": { "id": 1, "name": username, "username": username },
        "project_id": 5,
        "project": { "id": 5, "path_with_namespace": pr.repo, "default_branch": "main" },
        "object_attributes": {
            "id": 1244, "note": body, "noteable_type": "MergeRequest", "action": "create",
            "author_id": 1, "created_at": "2026-11-27 10:00:00 UTC",
        },
        "merge_request": {
            "id": 7, "iid": pr.number, "source_branch": pr.head_ref, "target_branch": pr.base_ref,
            "state": "opened", "last_commit": { "id": pr.head_sha, "message": "change" },
        },
    })
}

/// GitLab `Merge Request Hook` body, the event caused by `username`. An
/// `update` carries `oldrev`, as GitLab sends it when commits were pushed.
pub fn gitlab_merge_request(pr: &PullRequest, action: &str, username: &str) -> Value {
    let mut body = json!({
        "object_kind": "merge_request", "event_type": "merge_request",
        "user": { "id": 1, "name": username, "username": username },
        "project": { "id": 5, "path_with_namespace": pr.repo, "default_branch": "main" },
        "object_attributes": {
            "id": 99, "iid": pr.number, "action": action, "state": "opened",
            "source_branch": pr.head_ref, "target_branch": pr.base_ref,
            "source": { "path_with_namespace": pr.source_repo },
            "target": { "path_with_namespace": pr.repo },
            "last_commit": { "id": pr.head_sha, "message": "change" },
            "url": format!("https://gitlab.com/{}/-/merge_requests/{}", pr.repo, pr.number),
            "draft": false, "work_in_progress": false,
        },
    });
    if action == "update" {
        body["object_attributes"]["oldrev"] = json!("0123456789abcdef0123456789abcdef01234567");
    }
    body
}
