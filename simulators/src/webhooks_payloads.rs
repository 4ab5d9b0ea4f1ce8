//! Push payloads in each provider's documented shape (modelled on the
//! example payloads in the providers' webhook documentation).
//!
//! Build a [`Push`] once and render it per provider. Differences that
//! matter to a receiver, as documented:
//! - GitHub, Gitea, Gitee: `ref`, `before`, `after`, `commits[]` with
//!   `added`/`modified`/`removed`, `repository.full_name`.
//! - GitLab: `object_kind` `push` or `tag_push`, `project.path_with_namespace`,
//!   only the newest 20 `commits` (oldest first), `total_commits_count`;
//!   a deleted branch has `checkout_sha: null`.
//! - Codeup: GitLab-like but **no `project` object and no per-commit file
//!   lists**; the repository path is only in `repository.homepage`.
//! - Bitbucket: `push.changes[]` with `old`/`new` (`null` on create/delete),
//!   at most 5 commits per change (newest first, `truncated` when more) and
//!   **no file lists**.

use serde_json::{Value, json};

/// 40 zeros: the "no commit" sha of created and deleted refs.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// One commit of a push.
#[derive(Clone, Debug)]
pub struct PushCommit {
    /// Full sha.
    pub id: String,
    /// Commit message.
    pub message: String,
    /// Paths added.
    pub added: Vec<String>,
    /// Paths modified.
    pub modified: Vec<String>,
    /// Paths removed.
    pub removed: Vec<String>,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// RFC 3339 time.
    pub timestamp: String,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl PushCommit {
    /// A commit with no file changes, authored by "Dev <dev@example.com>".
    pub fn new(id: &str, message: &str) -> PushCommit {
        PushCommit {
            id: id.into(),
            message: message.into(),
            added: Vec::new(),
            modified: Vec::new(),
            removed: Vec::new(),
            author_name: "Dev".into(),
            author_email: "dev@example.com".into(),
            timestamp: "2026-01-02T03:04:05Z".into(),
        }
    }

    /// Sets the added paths.
    pub fn added(mut self, paths: &[&str]) -> PushCommit {
        self.added = strings(paths);
        self
    }

    /// Sets the modified paths.
    pub fn modified(mut self, paths: &[&str]) -> PushCommit {
        self.modified = strings(paths);
        self
    }

    /// Sets the removed paths.
    pub fn removed(mut self, paths: &[&str]) -> PushCommit {
        self.removed = strings(paths);
        self
    }
}

/// A push of `git_ref` in `repo` from `before` to `after`.
#[derive(Clone, Debug)]
pub struct Push {
    /// `"owner/name"`.
    pub repo: String,
    /// Full ref, `refs/heads/main` or `refs/tags/v1`.
    pub git_ref: String,
    /// Old sha ([`ZERO_SHA`] when the ref is created).
    pub before: String,
    /// New sha ([`ZERO_SHA`] when the ref is deleted).
    pub after: String,
    /// Commits, oldest first (the last one is the head commit).
    pub commits: Vec<PushCommit>,
    /// Who pushed (user name).
    pub pusher: String,
    /// Pusher e-mail.
    pub pusher_email: String,
    /// The repository's default branch.
    pub default_branch: String,
    /// Web base for URLs in the payload (`https://github.com`, ...).
    pub web_base: String,
    /// Numeric repository/project id.
    pub project_id: u64,
}

impl Push {
    /// A push with no commits, pusher `dev`, default branch `main`.
    pub fn new(repo: &str, git_ref: &str, before: &str, after: &str) -> Push {
        Push {
            repo: repo.into(),
            git_ref: git_ref.into(),
            before: before.into(),
            after: after.into(),
            commits: Vec::new(),
            pusher: "dev".into(),
            pusher_email: "dev@example.com".into(),
            default_branch: "main".into(),
            web_base: "https://git.example.com".into(),
            project_id: 1,
        }
    }

    /// Appends a commit (give them oldest first).
    pub fn commit(mut self, commit: PushCommit) -> Push {
        self.commits.push(commit);
        self
    }

    /// Sets the web base used in URLs.
    pub fn web_base(mut self, base: &str) -> Push {
        self.web_base = base.trim_end_matches('/').into();
        self
    }

    /// Sets the numeric project id (GitLab `project_id`, Codeup `project_id`).
    pub fn project_id(mut self, id: u64) -> Push {
        self.project_id = id;
        self
    }

    /// Whether the ref is a tag.
    pub fn is_tag(&self) -> bool {
        self.git_ref.starts_with("refs/tags/")
    }

    fn created(&self) -> bool {
        self.before == ZERO_SHA
    }

    fn deleted(&self) -> bool {
        self.after == ZERO_SHA
    }

    fn short_ref(&self) -> &str {
        self.git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| self.git_ref.strip_prefix("refs/tags/"))
            .unwrap_or(&self.git_ref)
    }

    fn name(&self) -> &str {
        self.repo.rsplit('/').next().unwrap_or(&self.repo)
    }

    fn owner(&self) -> &str {
        self.repo.split('/').next().unwrap_or(&self.repo)
    }

    fn html(&self) -> String {
        format!("{}/{}", self.web_base, self.repo)
    }

    fn host(&self) -> &str {
        self.web_base.split("://").nth(1).unwrap_or(&self.web_base)
    }
}

/// A commit in the GitHub/Gitea/Gitee form (`author.username` as the pusher).
fn github_commit(push: &Push, c: &PushCommit, commit_path: &str) -> Value {
    let person = json!({ "name": c.author_name, "email": c.author_email, "username": push.pusher });
    json!({
        "id": c.id, "tree_id": c.id, "distinct": true, "message": c.message,
        "timestamp": c.timestamp, "url": format!("{}/{commit_path}/{}", push.html(), c.id),
        "author": person, "committer": person,
        "added": c.added, "removed": c.removed, "modified": c.modified,
    })
}

/// GitHub `push` event (send with `X-GitHub-Event: push`).
pub fn github_push(push: &Push) -> Value {
    let commits: Vec<Value> = push
        .commits
        .iter()
        .map(|c| github_commit(push, c, "commit"))
        .collect();
    let user = json!({ "name": push.owner(), "email": Value::Null, "login": push.owner(), "id": 1, "type": "User" });
    json!({
        "ref": push.git_ref, "before": push.before, "after": push.after,
        "repository": {
            "id": push.project_id, "node_id": format!("R_{}", push.project_id), "name": push.name(),
            "full_name": push.repo, "private": true, "owner": user, "html_url": push.html(),
            "description": Value::Null, "fork": false,
            "url": push.html(), "clone_url": format!("{}.git", push.html()),
            "git_url": format!("git://{}/{}.git", push.host(), push.repo),
            "ssh_url": format!("git@{}:{}.git", push.host(), push.repo),
            "default_branch": push.default_branch, "master_branch": push.default_branch,
            "visibility": "private",
        },
        "pusher": { "name": push.pusher, "email": push.pusher_email },
        "sender": { "login": push.pusher, "id": 2, "type": "User" },
        "created": push.created(), "deleted": push.deleted(), "forced": false,
        "base_ref": Value::Null,
        "compare": format!("{}/compare/{}...{}", push.html(), &push.before[..12.min(push.before.len())], &push.after[..12.min(push.after.len())]),
        "commits": commits,
        "head_commit": if push.deleted() { Value::Null } else { commits.last().cloned().unwrap_or(Value::Null) },
    })
}

fn gitlab_commits(push: &Push, with_files: bool) -> Vec<Value> {
    let skip = push.commits.len().saturating_sub(20);
    push.commits
        .iter()
        .skip(skip)
        .map(|c| {
            let mut v = json!({
                "id": c.id, "message": c.message, "title": c.message.lines().next().unwrap_or_default(),
                "timestamp": c.timestamp, "url": format!("{}/-/commit/{}", push.html(), c.id),
                "author": { "name": c.author_name, "email": c.author_email },
            });
            if with_files {
                v["added"] = json!(c.added);
                v["modified"] = json!(c.modified);
                v["removed"] = json!(c.removed);
            }
            v
        })
        .collect()
}

/// GitLab `Push Hook` / `Tag Push Hook` body (see [`gitlab_event`]).
pub fn gitlab_push(push: &Push) -> Value {
    let kind = if push.is_tag() { "tag_push" } else { "push" };
    let html = push.html();
    let ssh = format!("git@{}:{}.git", push.host(), push.repo);
    let http = format!("{html}.git");
    json!({
        "object_kind": kind, "event_name": kind,
        "before": push.before, "after": push.after, "ref": push.git_ref, "ref_protected": true,
        "checkout_sha": if push.deleted() { Value::Null } else { json!(push.after) },
        "message": Value::Null, "user_id": 4, "user_name": push.pusher, "user_username": push.pusher,
        "user_email": push.pusher_email, "user_avatar": Value::Null, "project_id": push.project_id,
        "project": {
            "id": push.project_id, "name": push.name(), "description": "", "web_url": html,
            "avatar_url": Value::Null, "git_ssh_url": ssh, "git_http_url": http,
            "namespace": push.owner(), "visibility_level": 0, "path_with_namespace": push.repo,
            "default_branch": push.default_branch, "ci_config_path": Value::Null,
            "homepage": html, "url": ssh, "ssh_url": ssh, "http_url": http,
        },
        "commits": gitlab_commits(push, true),
        "total_commits_count": push.commits.len(),
        "push_options": {},
        "repository": {
            "name": push.name(), "url": ssh, "description": "", "homepage": html,
            "git_http_url": http, "git_ssh_url": ssh, "visibility_level": 0,
        },
    })
}

/// The `X-Gitlab-Event` / `Codeup-Event` value for `push`.
pub fn gitlab_event(push: &Push) -> &'static str {
    if push.is_tag() {
        "Tag Push Hook"
    } else {
        "Push Hook"
    }
}

/// Gitee `Push Hook` / `Tag Push Hook` body (`hook_name` `push_hooks` /
/// `tag_push_hooks`; `password`, `timestamp`, `sign` left empty — receivers
/// verify the `x-gitee-token` header).
pub fn gitee_push(push: &Push) -> Value {
    let commits: Vec<Value> = push
        .commits
        .iter()
        .map(|c| github_commit(push, c, "commit"))
        .collect();
    let user = json!({ "id": 2, "name": push.pusher, "email": push.pusher_email,
                       "username": push.pusher, "user_name": push.pusher, "login": push.pusher });
    let repository = json!({
        "id": push.project_id, "name": push.name(), "path": push.name(), "full_name": push.repo,
        "path_with_namespace": push.repo, "owner": { "login": push.owner(), "name": push.owner() },
        "private": true, "html_url": push.html(), "url": push.html(),
        "clone_url": format!("{}.git", push.html()), "git_http_url": format!("{}.git", push.html()),
        "ssh_url": format!("git@{}:{}.git", push.host(), push.repo),
        "git_ssh_url": format!("git@{}:{}.git", push.host(), push.repo),
        "default_branch": push.default_branch,
    });
    json!({
        "hook_name": if push.is_tag() { "tag_push_hooks" } else { "push_hooks" },
        "password": "", "hook_id": 1, "hook_url": format!("{}/hooks/1/edit", push.html()),
        "timestamp": super::now_millis().to_string(), "sign": "",
        "ref": push.git_ref, "before": push.before, "after": push.after,
        "created": push.created(), "deleted": push.deleted(),
        "compare": format!("{}/compare/{}...{}", push.html(), push.before, push.after),
        "commits": commits, "head_commit": commits.last().cloned().unwrap_or(Value::Null),
        "total_commits_count": push.commits.len(), "commits_more_than_ten": push.commits.len() > 10,
        "repository": repository, "project": repository,
        "user_id": 2, "user_name": push.pusher, "user": user, "pusher": user, "sender": user,
        "enterprise": Value::Null,
    })
}

/// Codeup `Push Hook` / `Tag Push Hook` body (documented shape: no
/// `project`, commits without file lists).
pub fn codeup_push(push: &Push) -> Value {
    let html = push.html();
    let ssh = format!("git@{}:{}.git", push.host(), push.repo);
    json!({
        "object_kind": if push.is_tag() { "tag_push" } else { "push" },
        "before": push.before, "after": push.after, "ref": push.git_ref,
        "user_id": 4, "user_name": push.pusher, "user_email": push.pusher_email,
        "project_id": push.project_id,
        "repository": {
            "name": push.name(), "url": ssh, "description": "", "homepage": html,
            "git_http_url": format!("{html}.git"), "git_ssh_url": ssh, "visibility_level": 0,
        },
        "commits": gitlab_commits(push, false)
            .into_iter()
            .map(|mut c| {
                if let Some(m) = c.as_object_mut() {
                    m.remove("title");
                    m["url"] = json!(format!("{html}/commits/{}", m["id"].as_str().unwrap_or_default()));
                }
                c
            })
            .collect::<Vec<_>>(),
        "total_commits_count": push.commits.len(),
    })
}

/// Bitbucket Cloud `repo:push` body (send with `X-Event-Key: repo:push`).
pub fn bitbucket_push(push: &Push) -> Value {
    let html = push.html();
    let kind = if push.is_tag() { "tag" } else { "branch" };
    let commit = |c: &PushCommit| {
        json!({
            "type": "commit", "hash": c.id, "message": c.message, "date": c.timestamp,
            "author": { "type": "author", "raw": format!("{} <{}>", c.author_name, c.author_email) },
            "links": { "html": { "href": format!("{html}/commits/{}", c.id) } },
        })
    };
    let side = |sha: &str| {
        if sha == ZERO_SHA {
            return Value::Null;
        }
        let target = push
            .commits
            .iter()
            .find(|c| c.id == sha)
            .map(commit)
            .unwrap_or_else(|| json!({ "type": "commit", "hash": sha }));
        json!({ "type": kind, "name": push.short_ref(), "target": target,
                "links": { "html": { "href": format!("{html}/branch/{}", push.short_ref()) } } })
    };
    let newest: Vec<Value> = push.commits.iter().rev().take(5).map(commit).collect();
    json!({
        "push": { "changes": [{
            "old": side(&push.before), "new": side(&push.after),
            "created": push.created(), "closed": push.deleted(), "forced": false,
            "truncated": push.commits.len() > 5, "commits": newest,
            "links": { "html": { "href": format!("{html}/branches/compare/{}..{}", push.after, push.before) } },
        }] },
        "repository": {
            "type": "repository", "full_name": push.repo, "name": push.name(),
            "uuid": format!("{{{}}}", super::uuid_v4()), "is_private": true,
            "links": { "html": { "href": html } },
            "workspace": { "type": "workspace", "slug": push.owner(), "name": push.owner() },
            "owner": { "type": "team", "username": push.owner(), "display_name": push.owner() },
        },
        "actor": { "type": "user", "display_name": push.pusher, "nickname": push.pusher,
                   "account_id": "557058:f4ke", "uuid": "{00000000-0000-4000-8000-000000000001}" },
    })
}

/// Gitea `push` event (send with `X-Gitea-Event: push`).
pub fn gitea_push(push: &Push) -> Value {
    let commits: Vec<Value> = push
        .commits
        .iter()
        .map(|c| {
            let mut v = github_commit(push, c, "commit");
            v["verification"] = Value::Null;
            v
        })
        .collect();
    let user = json!({ "id": 2, "login": push.pusher, "full_name": push.pusher,
                       "email": push.pusher_email, "username": push.pusher });
    json!({
        "ref": push.git_ref, "before": push.before, "after": push.after,
        "compare_url": format!("{}/compare/{}...{}", push.html(), push.before, push.after),
        "commits": commits, "total_commits": push.commits.len(),
        "head_commit": commits.last().cloned().unwrap_or(Value::Null),
        "repository": {
            "id": push.project_id, "owner": { "id": 1, "login": push.owner(), "username": push.owner() },
            "name": push.name(), "full_name": push.repo, "description": "", "empty": false,
            "private": true, "fork": false, "mirror": false, "html_url": push.html(),
            "ssh_url": format!("git@{}:{}.git", push.host(), push.repo),
            "clone_url": format!("{}.git", push.html()), "default_branch": push.default_branch,
        },
        "pusher": user, "sender": user,
    })
}
