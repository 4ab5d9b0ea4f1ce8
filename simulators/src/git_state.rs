//! The data model behind [`super::git::FakeGit`]: repositories, refs,
//! files, and what the provider APIs record (statuses, runs, pipelines).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

/// A repository inside the fake.
pub(crate) struct Repo {
    pub full_name: String,
    pub id: u64,
    pub files: HashMap<String, BTreeMap<String, Vec<u8>>>,
    pub commits: BTreeSet<String>,
    pub branches: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub default_branch: String,
    pub workflows: BTreeMap<String, Workflow>,
    pub trigger_tokens: BTreeSet<String>,
    pub next_pipeline_iid: u64,
    /// Pull requests into this repository: number → (source repository,
    /// head commit), the head kept under `refs/pull/N/head` (GitHub,
    /// Gitea, Gitee) and `refs/merge-requests/N/head` (GitLab).
    pub pulls: BTreeMap<u64, (String, String)>,
}

/// A GitHub Actions workflow file registered in a repository.
pub(crate) struct Workflow {
    pub id: u64,
    pub inputs: Option<Vec<String>>,
    pub next_run_number: u64,
}

/// One entry of a directory listing.
pub(crate) struct DirEntry {
    pub path: String,
    pub is_dir: bool,
    pub size: usize,
}

impl Repo {
    /// The commit key a ref names: a known commit, a branch, or a tag
    /// (`refs/heads/x`, `refs/tags/x`, `heads/x` and `tags/x` also work).
    pub fn resolve(&self, reference: &str) -> Option<String> {
        if self.commits.contains(reference) {
            return Some(reference.to_owned());
        }
        if let Some(head) = self.pull_head(reference) {
            return Some(head);
        }
        let short = reference
            .strip_prefix("refs/")
            .unwrap_or(reference)
            .to_owned();
        if let Some(b) = short.strip_prefix("heads/")
            && let Some(sha) = self.branches.get(b)
        {
            return Some(sha.clone());
        }
        if let Some(t) = short.strip_prefix("tags/")
            && let Some(sha) = self.tags.get(t)
        {
            return Some(sha.clone());
        }
        self.branches
            .get(reference)
            .or_else(|| self.tags.get(reference))
            .cloned()
    }

    /// The head commit `refs/pull/N/head` (or `refs/merge-requests/N/head`) names.
    fn pull_head(&self, reference: &str) -> Option<String> {
        let short = reference.strip_prefix("refs/").unwrap_or(reference);
        let number = short
            .strip_prefix("pull/")
            .or_else(|| short.strip_prefix("merge-requests/"))?
            .strip_suffix("/head")?;
        let (_, sha) = self.pulls.get(&number.parse().ok()?)?;
        Some(sha.clone())
    }

    /// Whether `name` is a registered branch or tag (short or `refs/...` form).
    pub fn is_branch_or_tag(&self, name: &str) -> bool {
        let short = name.strip_prefix("refs/").unwrap_or(name);
        let short = short
            .strip_prefix("heads/")
            .or_else(|| short.strip_prefix("tags/"))
            .unwrap_or(short);
        self.branches.contains_key(short) || self.tags.contains_key(short)
    }

    /// The file at `path` in `commit`.
    pub fn file(&self, commit: &str, path: &str) -> Option<&Vec<u8>> {
        self.files.get(commit)?.get(path.trim_matches('/'))
    }

    /// Entries directly under directory `dir` at `commit` (`""` = root);
    /// `None` if no file lives below it.
    pub fn dir(&self, commit: &str, dir: &str) -> Option<Vec<DirEntry>> {
        let files = self.files.get(commit)?;
        let dir = dir.trim_matches('/');
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, DirEntry> = BTreeMap::new();
        for (path, bytes) in files {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (name, is_dir) = match rest.split_once('/') {
                Some((first, _)) => (first, true),
                None => (rest, false),
            };
            out.entry(name.to_owned()).or_insert_with(|| DirEntry {
                path: format!("{prefix}{name}"),
                is_dir,
                size: if is_dir { 0 } else { bytes.len() },
            });
        }
        (!out.is_empty()).then(|| out.into_values().collect())
    }

    /// The branch pointing at `sha`, if any.
    pub fn branch_of(&self, sha: &str) -> Option<String> {
        self.branches
            .iter()
            .find(|(_, s)| *s == sha)
            .map(|(b, _)| b.clone())
    }
}

/// A GitHub Actions `workflow_dispatch` the fake accepted.
#[derive(Clone, Debug)]
pub struct Dispatch {
    /// `"owner/name"`.
    pub repo: String,
    /// The workflow as addressed in the path (file name or id).
    pub workflow: String,
    /// `ref` from the body.
    pub git_ref: String,
    /// `inputs` from the body (empty if absent).
    pub inputs: BTreeMap<String, Value>,
    /// Whether `return_run_details` was `true`.
    pub return_run_details: bool,
    /// The run the dispatch created.
    pub run_id: u64,
}

/// A GitLab CI pipeline trigger the fake accepted.
#[derive(Clone, Debug)]
pub struct PipelineTrigger {
    /// `"owner/name"`.
    pub repo: String,
    /// `ref` as sent.
    pub git_ref: String,
    /// The commit the ref resolved to.
    pub sha: String,
    /// `variables` (form `variables[K]=V` or JSON object).
    pub variables: BTreeMap<String, String>,
    /// `inputs`, if any (JSON object or form `inputs[K]=V`).
    pub inputs: BTreeMap<String, Value>,
    /// The created pipeline's id.
    pub pipeline_id: u64,
}

/// A GitLab commit status that is still pending or running (GitLab reuses
/// it for the next post with the same sha, name and ref).
pub(crate) struct GitlabJob {
    pub repo: String,
    pub sha: String,
    pub name: String,
    pub git_ref: String,
    pub id: u64,
    pub state: String,
}

/// Everything the fake knows; shared by the handler and the test.
pub(crate) struct GitState {
    pub token: String,
    pub base: String,
    pub repos: BTreeMap<String, Repo>,
    pub statuses: Vec<Value>,
    pub next_id: u64,
    pub next_project_id: u64,
    pub runs: BTreeMap<u64, Value>,
    pub dispatches: Vec<Dispatch>,
    pub next_run_id: u64,
    pub gitlab_jobs: Vec<GitlabJob>,
    pub pipelines: BTreeMap<u64, Value>,
    pub triggers: Vec<PipelineTrigger>,
    pub next_pipeline_id: u64,
    pub bitbucket: BTreeMap<(String, String, String), Value>,
}

impl GitState {
    /// The repository named `name` (case-insensitive).
    pub fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos.get(&name.to_ascii_lowercase())
    }

    /// The repository named `name`, created if absent.
    pub fn repo_mut(&mut self, name: &str) -> &mut Repo {
        assert!(
            name.split('/').count() >= 2 && !name.starts_with('/') && !name.ends_with('/'),
            "repository names are \"owner/name\", got {name:?}"
        );
        let key = name.to_ascii_lowercase();
        if !self.repos.contains_key(&key) {
            self.next_project_id += 1;
            self.repos.insert(
                key.clone(),
                Repo {
                    full_name: name.to_owned(),
                    id: self.next_project_id,
                    files: HashMap::new(),
                    commits: BTreeSet::new(),
                    branches: BTreeMap::new(),
                    tags: BTreeMap::new(),
                    default_branch: "main".into(),
                    workflows: BTreeMap::new(),
                    trigger_tokens: BTreeSet::new(),
                    next_pipeline_iid: 0,
                    pulls: BTreeMap::new(),
                },
            );
        }
        self.repos.get_mut(&key).expect("just inserted")
    }

    /// The repository whose tree commit `commit` of `repo` is: `repo`, or
    /// for the head of a pull request from a fork, the fork, if the fork
    /// has that commit (GitHub fetches the head into the target under
    /// `refs/pull/N/head`; the fork's files exist only at the fork's
    /// commits).
    pub fn tree_repo<'a>(&'a self, repo: &'a Repo, commit: &str) -> Option<&'a Repo> {
        if repo.files.contains_key(commit) {
            return Some(repo);
        }
        match repo.pulls.values().find(|(_, head)| head == commit) {
            Some((source, _)) => self.repo(source).filter(|r| r.commits.contains(commit)),
            None => Some(repo),
        }
    }

    /// The repository with numeric id `id`.
    pub fn repo_by_id(&self, id: u64) -> Option<&Repo> {
        self.repos.values().find(|r| r.id == id)
    }

    /// A fresh id for statuses and other objects.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Records a commit status in the normalised form the test reads.
    #[allow(clippy::too_many_arguments)]
    pub fn record_status(
        &mut self,
        provider: &str,
        repo: &str,
        sha: &str,
        state: &str,
        context: &str,
        description: &Value,
        target_url: &Value,
        extra: Value,
    ) {
        let mut entry = json!({
            "provider": provider,
            "repo": repo,
            "sha": sha,
            "state": state,
            "context": context,
            "description": description,
            "target_url": target_url,
        });
        if let (Some(map), Value::Object(more)) = (entry.as_object_mut(), extra) {
            map.extend(more);
        }
        self.statuses.push(entry);
    }
}
