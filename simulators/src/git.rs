//! [`FakeGit`]: one server speaking the file and commit-status APIs of GitHub,
//! GitLab, Gitee, Codeup, Bitbucket Cloud and Gitea, each under the path
//! layout of its real API, plus GitHub Actions dispatch and GitLab CI
//! triggers, so one fake serves as `api_base` for any provider:
//!
//! | provider | `api_base` | auth |
//! |---|---|---|
//! | GitHub | `url()` | `Authorization: Bearer <t>` / `token <t>`, and a `User-Agent` |
//! | GitLab | `url()/api/v4` | `PRIVATE-TOKEN: <t>` / `Authorization: Bearer <t>` |
//! | Gitee | `url()/api/v5` | `?access_token=<t>` |
//! | Codeup | `url()` (paths start `/oapi/v1/codeup/`) | `x-yunxiao-token: <t>` |
//! | Bitbucket | `url()/2.0` | `Authorization: Bearer <t>` / Basic `<user>:<t>` |
//! | Gitea | `url()/api/v1` | `Authorization: token <t>` / `Bearer <t>` / `?token=` |
//!
//! Repositories are named `"owner/name"` (case-insensitive, like the real
//! services) and are created on first mention. A file is visible only at the
//! commits it was added for; a ref (`?ref=`) may name such a commit, or a
//! branch or tag registered with [`FakeGit::add_branch`] / [`FakeGit::add_tag`].
//! Missing credentials are treated as anonymous access to a private
//! repository (404, as the real services answer); wrong ones get each
//! service's 401. Commit statuses need a known commit: one used in
//! `add_file`, `add_commit`, or as a branch/tag target.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub use super::git_state::{Dispatch, PipelineTrigger};
use super::git_state::{GitState, Workflow};
use super::server::{FakeHttpServer, Request, Response};

/// The multi-provider git fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeGit {
    server: FakeHttpServer,
    state: Arc<Mutex<GitState>>,
}

impl Deref for FakeGit {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

impl FakeGit {
    /// Starts the fake; `token` is the one credential every provider accepts.
    pub fn start(token: &str) -> FakeGit {
        let state = Arc::new(Mutex::new(GitState {
            token: token.to_owned(),
            base: String::new(),
            repos: BTreeMap::new(),
            statuses: Vec::new(),
            next_id: 0,
            next_project_id: 0,
            runs: BTreeMap::new(),
            dispatches: Vec::new(),
            next_run_id: 9_000_000_000,
            gitlab_jobs: Vec::new(),
            pipelines: BTreeMap::new(),
            triggers: Vec::new(),
            next_pipeline_id: 1_000_000,
            bitbucket: BTreeMap::new(),
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| route(&shared, req));
        state.lock().unwrap().base = server.url();
        FakeGit { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// The `api_base` to configure for `provider` (`github`, `gitlab`,
    /// `gitee`, `codeup`, `bitbucket`, `gitea`).
    pub fn api_base(&self, provider: &str) -> String {
        let url = self.server.url();
        match provider {
            "github" | "codeup" => url,
            "gitlab" => format!("{url}/api/v4"),
            "gitee" => format!("{url}/api/v5"),
            "bitbucket" => format!("{url}/2.0"),
            "gitea" => format!("{url}/api/v1"),
            other => panic!("unknown provider {other:?}"),
        }
    }

    /// Adds `path` with `contents` to `repo` at `commit` (which becomes a
    /// known commit). Several calls build up one commit's tree.
    pub fn add_file(&self, repo: &str, commit: &str, path: &str, contents: impl AsRef<[u8]>) {
        let mut state = self.state.lock().unwrap();
        let r = state.repo_mut(repo);
        r.commits.insert(commit.to_owned());
        r.files.entry(commit.to_owned()).or_default().insert(
            path.trim_matches('/').to_owned(),
            contents.as_ref().to_vec(),
        );
    }

    /// Registers `sha` as an existing commit of `repo` (with no files).
    pub fn add_commit(&self, repo: &str, sha: &str) {
        self.state
            .lock()
            .unwrap()
            .repo_mut(repo)
            .commits
            .insert(sha.to_owned());
    }

    /// Points branch `name` of `repo` at `sha` (a known commit from then on).
    pub fn add_branch(&self, repo: &str, name: &str, sha: &str) {
        let mut state = self.state.lock().unwrap();
        let r = state.repo_mut(repo);
        r.commits.insert(sha.to_owned());
        r.branches.insert(name.to_owned(), sha.to_owned());
    }

    /// Points tag `name` of `repo` at `sha`.
    pub fn add_tag(&self, repo: &str, name: &str, sha: &str) {
        let mut state = self.state.lock().unwrap();
        let r = state.repo_mut(repo);
        r.commits.insert(sha.to_owned());
        r.tags.insert(name.to_owned(), sha.to_owned());
    }

    /// Opens pull request `number` into `repo` from `source_repo` at
    /// `head_sha`: the target then knows the head as a commit and under
    /// `refs/pull/N/head` (`refs/merge-requests/N/head`), as GitHub,
    /// GitLab, Gitea and Gitee keep it, and the GitHub contents API of
    /// the target serves the fork's files at it, if the fork has that
    /// commit. (Bitbucket Cloud keeps no such ref: do not use this there.)
    pub fn add_pull_request(&self, repo: &str, number: u64, source_repo: &str, head_sha: &str) {
        let mut state = self.state.lock().unwrap();
        let r = state.repo_mut(repo);
        r.commits.insert(head_sha.to_owned());
        r.pulls
            .insert(number, (source_repo.to_owned(), head_sha.to_owned()));
    }

    /// Sets the default branch (used when a file request has no `ref`;
    /// `main` unless set).
    pub fn set_default_branch(&self, repo: &str, name: &str) {
        self.state.lock().unwrap().repo_mut(repo).default_branch = name.to_owned();
    }

    /// The numeric project/repository id of `repo` (GitLab, Codeup).
    pub fn project_id(&self, repo: &str) -> u64 {
        self.state.lock().unwrap().repo_mut(repo).id
    }

    /// Commit statuses posted for `repo` at `sha`, in arrival order,
    /// normalised: `provider`, `repo`, `sha`, `state` (as the provider
    /// spells it), `context` (GitHub/Gitea/Codeup `context`, GitLab `name`,
    /// Bitbucket `key`), `description`, `target_url`, plus `name`/`ref`
    /// where the provider has them, and `id`.
    pub fn statuses(&self, repo: &str, sha: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .statuses
            .iter()
            .filter(|s| {
                s["repo"]
                    .as_str()
                    .is_some_and(|r| r.eq_ignore_ascii_case(repo))
                    && s["sha"] == sha
            })
            .cloned()
            .collect()
    }

    /// Every commit status posted, in arrival order.
    pub fn all_statuses(&self) -> Vec<Value> {
        self.state.lock().unwrap().statuses.clone()
    }

    /// Registers a GitHub Actions workflow file (e.g. `build.yml`) that
    /// accepts any inputs (at most 10).
    pub fn add_workflow(&self, repo: &str, file: &str) {
        self.add_workflow_with(repo, file, None);
    }

    /// Registers a workflow that declares exactly `inputs`; dispatches with
    /// other inputs get 422 `Unexpected inputs provided`.
    pub fn add_workflow_inputs(&self, repo: &str, file: &str, inputs: &[&str]) {
        self.add_workflow_with(
            repo,
            file,
            Some(inputs.iter().map(|s| s.to_string()).collect()),
        );
    }

    fn add_workflow_with(&self, repo: &str, file: &str, inputs: Option<Vec<String>>) {
        let mut state = self.state.lock().unwrap();
        let id = 161_000_000 + state.next_id();
        state.repo_mut(repo).workflows.insert(
            file.to_owned(),
            Workflow {
                id,
                inputs,
                next_run_number: 1,
            },
        );
    }

    /// The workflow dispatches accepted so far.
    pub fn dispatches(&self) -> Vec<Dispatch> {
        self.state.lock().unwrap().dispatches.clone()
    }

    /// The GitHub Actions run `run_id` as `GET .../actions/runs/{id}` shows it.
    pub fn run(&self, run_id: u64) -> Option<Value> {
        self.state.lock().unwrap().runs.get(&run_id).cloned()
    }

    /// Sets a run's `status` (`queued`, `in_progress`, `completed`, ...) and
    /// `conclusion` (`success`, `failure`, ... or `None`).
    pub fn set_run_status(&self, run_id: u64, status: &str, conclusion: Option<&str>) {
        let mut state = self.state.lock().unwrap();
        let run = state.runs.get_mut(&run_id).expect("no such run");
        run["status"] = json!(status);
        run["conclusion"] = json!(conclusion);
        run["updated_at"] = json!(super::now_rfc3339());
    }

    /// Registers a GitLab pipeline trigger token (`glptt-...`) for `repo`.
    pub fn add_trigger_token(&self, repo: &str, token: &str) {
        self.state
            .lock()
            .unwrap()
            .repo_mut(repo)
            .trigger_tokens
            .insert(token.to_owned());
    }

    /// The GitLab pipeline triggers accepted so far.
    pub fn pipeline_triggers(&self) -> Vec<PipelineTrigger> {
        self.state.lock().unwrap().triggers.clone()
    }

    /// A GitLab pipeline as `GET /projects/:id/pipelines/:id` shows it.
    pub fn pipeline(&self, pipeline_id: u64) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .pipelines
            .get(&pipeline_id)
            .cloned()
    }

    /// Sets a GitLab pipeline's `status` (`created`, `pending`, `running`,
    /// `success`, `failed`, `canceled`, `skipped`, `manual`, ...).
    pub fn set_pipeline_status(&self, pipeline_id: u64, status: &str) {
        const KNOWN: [&str; 11] = [
            "created",
            "waiting_for_resource",
            "preparing",
            "pending",
            "running",
            "success",
            "failed",
            "canceled",
            "skipped",
            "manual",
            "scheduled",
        ];
        assert!(
            KNOWN.contains(&status),
            "not a GitLab pipeline status: {status}"
        );
        let mut state = self.state.lock().unwrap();
        let p = state
            .pipelines
            .get_mut(&pipeline_id)
            .expect("no such pipeline");
        p["status"] = json!(status);
        p["updated_at"] = json!(super::now_rfc3339());
        if matches!(status, "success" | "failed" | "canceled" | "skipped") {
            p["finished_at"] = json!(super::now_rfc3339());
        }
        if status == "running" {
            p["started_at"] = json!(super::now_rfc3339());
        }
    }
}

fn route(state: &Arc<Mutex<GitState>>, req: &Request) -> Response {
    let mut state = state.lock().unwrap();
    let path = req.path.as_str();
    if path.starts_with("/api/v4/") {
        super::git_gitlab::handle(&mut state, req)
    } else if path.starts_with("/api/v5/") {
        super::git_more::gitee(&mut state, req)
    } else if path.starts_with("/api/v1/") {
        super::git_bitbucket_gitea::gitea(&mut state, req)
    } else if path.starts_with("/oapi/v1/codeup/") {
        super::git_more::codeup(&mut state, req)
    } else if path.starts_with("/2.0/") {
        super::git_bitbucket_gitea::bitbucket(&mut state, req)
    } else {
        super::git_github::handle(&mut state, req)
    }
}
