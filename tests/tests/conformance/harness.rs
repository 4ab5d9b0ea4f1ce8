//! The tables the conformance suite runs: one [`Provider`] per git
//! provider, each a list of [`Case`]s, each with what Slipway must do
//! ([`Expect`]); [`super::checks`] sends them and checks.
//!
//! A case is a provider's documented example payload (a file under
//! `functions/slipway-core/tests/fixtures/providers/`), bound to the test
//! app's repository by replacing the documented repository paths
//! ([`Provider::repo_paths`]) everywhere in its text, then changed at a
//! few JSON pointers ([`Case::set`]): the commits become this case's own
//! (so no two cases share an event identity), an action or an author
//! changes. It is signed as the provider signs ([`Provider::sign`]) and
//! posted to `/hooks/{provider}`.

use serde_json::Value;
use slipway_tests::fakes::webhooks::Webhook;
use slipway_tests::pipeline_env::{Env, repo, sha};

/// A git provider's table.
pub struct Provider {
    /// The `/hooks/{name}` segment and the `apps.shop-{name}` app.
    pub name: &'static str,
    /// Index used to make this provider's commits unique.
    pub index: u32,
    /// Repository paths the fixtures name (`owner/name`), all replaced by
    /// the test app's repository, in this order.
    pub repo_paths: &'static [&'static str],
    /// The fork (`forker/…`) the tables' fork cases name: every case's
    /// commits exist there too, as a fork's head does.
    pub fork: &'static str,
    /// Whether the target repository keeps a fork's request head (GitHub,
    /// Gitea and Gitee under `refs/pull/N/head`, GitLab under
    /// `refs/merge-requests/N/head`), so its API serves that commit. Where
    /// not (Bitbucket Cloud, Codeup), a fork case's commits exist only in
    /// the fork, and its run must read and report there.
    pub fork_heads_in_target: bool,
    /// Whether the provider has a commit status API (Gitee has none).
    pub commit_statuses: bool,
    /// Signs a body as the provider does, for event `event`, with `secret`.
    pub sign: fn(secret: &str, event: &str, body: &[u8]) -> Webhook,
    /// The cases, in the order they are sent (a comment that releases a
    /// held run comes after the case that made it).
    pub cases: &'static [Case],
}

/// One delivery and what Slipway must do with it.
pub struct Case {
    /// What the case is (shown in failures).
    pub name: &'static str,
    /// The documented example it starts from.
    pub fixture: Fixture,
    /// The event header's value (`X-GitHub-Event`, `X-Gitlab-Event`, …).
    pub event: &'static str,
    /// The path segment to post to, when not the provider's own
    /// (`forgejo` for Forgejo's deliveries).
    pub path: Option<&'static str>,
    /// Changes after binding the fixture: JSON pointer and new value.
    pub set: &'static [(&'static str, Val)],
    /// The answer and the run expected.
    pub expect: Expect,
}

impl Case {
    /// A case with no changes to the fixture, posted to the provider's path.
    pub const fn new(
        name: &'static str,
        fixture: Fixture,
        event: &'static str,
        expect: Expect,
    ) -> Case {
        Case {
            name,
            fixture,
            event,
            path: None,
            set: &[],
            expect,
        }
    }

    /// The same case with the fixture changed at these pointers.
    pub const fn set(mut self, set: &'static [(&'static str, Val)]) -> Case {
        self.set = set;
        self
    }

    /// The same case posted to `/hooks/{path}`.
    pub const fn via(mut self, path: &'static str) -> Case {
        self.path = Some(path);
        self
    }
}

/// A fixture file of `functions/slipway-core/tests/fixtures/providers/`.
#[derive(Clone, Copy, Debug)]
pub struct Fixture {
    /// Its path there (for messages).
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// The [`Fixture`] at this path under
/// `functions/slipway-core/tests/fixtures/providers/`, compiled in: the
/// shared build cache may hold a library built from another checkout, so
/// a path found at run time could be someone else's.
#[macro_export]
macro_rules! fixture {
    ($path:literal) => {
        $crate::harness::Fixture {
            name: $path,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../functions/slipway-core/tests/fixtures/providers/",
                $path
            )),
        }
    };
}

/// A value a case puts into its fixture.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// A string.
    Str(&'static str),
    /// This case's `n`th commit (40 hex digits).
    Commit(u32),
    /// The `n`th commit of the named earlier case (a comment naming the
    /// head of the request that case opened).
    CommitOf(&'static str, u32),
    /// The first 12 hex digits of [`Val::CommitOf`].
    ShortOf(&'static str, u32),
    /// The first 12 hex digits of this case's `n`th commit (Bitbucket's
    /// abbreviated hashes).
    Short(u32),
    /// 40 zeros: the "no commit" of a created or deleted ref.
    Zero,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(u64),
    /// JSON `null`.
    Null,
    /// A copy of the (already changed) value at this pointer.
    CopyOf(&'static str),
    /// Remove the key.
    Remove,
}

/// A run a case must create.
#[derive(Clone, Copy, Debug)]
pub struct RunExpect {
    /// The run's `trigger.git_ref`, and the build's `SLIPWAY_REF`.
    pub git_ref: &'static str,
    /// Which of the case's commits is the run's `trigger.commit` and the
    /// build's `SLIPWAY_COMMIT`: always the full 40 digits, also where the
    /// payload abbreviates it (Bitbucket's pull requests).
    pub commit: u32,
    /// `trigger.kind`: `push`, `tag` or `merge_request`.
    pub kind: &'static str,
    /// The request's fork, `trigger.source`; `None`: no `source` recorded
    /// (a push, or a request within the repository).
    pub fork: Option<ForkSource>,
    /// Held for `/ok-to-test` (nothing runs) rather than started.
    pub held: bool,
}

/// Where a merge request from the provider's fork ([`Provider::fork`])
/// comes from, as its run records it.
#[derive(Clone, Copy, Debug)]
pub struct ForkSource {
    /// The request's number, `trigger.merge_request`.
    pub number: u64,
    /// `trigger.source.git_ref` and the build's `SLIPWAY_SOURCE_REF`: the
    /// source branch in the fork.
    pub git_ref: &'static str,
    /// `trigger.source.clone_url`.
    pub clone_url: &'static str,
}

/// A started (not held) run of `git_ref` at the case's commit 0.
pub const fn started(git_ref: &'static str, kind: &'static str) -> Expect {
    Expect::Run(RunExpect {
        git_ref,
        commit: 0,
        kind,
        fork: None,
        held: false,
    })
}

/// A merge request run of `git_ref` at the case's commit 0, from `fork`;
/// `held` for `/ok-to-test` or started.
pub const fn from_fork(git_ref: &'static str, fork: ForkSource, held: bool) -> Expect {
    Expect::Run(RunExpect {
        git_ref,
        commit: 0,
        kind: "merge_request",
        fork: Some(fork),
        held,
    })
}

/// What the host must answer, and do.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// 202 and one run.
    Run(RunExpect),
    /// 202 and one run per ref change, in order.
    Runs(&'static [RunExpect]),
    /// 200 `{"ignored": …}` whose reason contains this text, and no run,
    /// no event claim and no run counter written.
    Ignored(&'static str),
    /// 202: the held run of the named earlier case is let go and its build
    /// starts, as that case's [`RunExpect`] says (at its full commit).
    Releases(&'static str),
}

impl Expect {
    /// The fork of a request this case opens, if it does.
    pub fn fork(&self) -> Option<ForkSource> {
        match self {
            Expect::Run(run) => run.fork,
            _ => None,
        }
    }
}

/// The pipeline every commit of the suite carries: every branch and tag,
/// and merge requests, run one Jenkins stage.
pub const PIPELINE: &str = r#"
[triggers]
branches = ["**"]
tags = ["**"]
merge_requests = true

[stages.build]
kind = "build"
service = "jenkins"
job = "shop/unit-test"
"#;

/// The person the suite trusts: the authors of the providers' documented
/// examples (`Codertocat` is also GitHub's `OWNER`). Everyone else, like
/// the suite's `forker`, is untrusted.
pub const TRUST: &str = r#"
[access.people.maintainer]
git = ["github:Codertocat", "gitlab:root", "gitee:robot", "codeup:codeup", "bitbucket:emmap1", "gitea:gitea", "gitea:forgejo", "gitea:Codertocat"]
"#;

/// Branches the fixtures target, pointed at a commit with [`PIPELINE`]:
/// a held run reads its pipeline there.
const TARGET_BRANCHES: [&str; 3] = ["main", "master", "develop"];

/// Starts one host for all `providers`, with the suite's trust
/// configuration: starting a host (compiling the components) takes
/// seconds, a case milliseconds.
pub fn start(providers: &[&Provider]) -> Env {
    let mut config = TRUST.to_owned();
    for p in providers {
        config += &format!(
            "[apps.shop-{}.pull_requests]\ntrusted = [\"maintainer\"]\n",
            p.name
        );
    }
    let env = Env::start(&config);
    for p in providers {
        let base = sha(p.index << 24);
        env.commit(p.name, &base, PIPELINE);
        for branch in TARGET_BRANCHES {
            env.git.add_branch(&repo(p.name), branch, &base);
        }
    }
    env
}

/// The `n`th commit of case `case` of `provider`: distinct in its first
/// 12 digits too (Bitbucket abbreviates to those).
pub fn commit(provider: &Provider, case: usize, n: u32) -> String {
    let id = (provider.index << 24) | ((case as u32 + 1) << 8) | n;
    format!(
        "{id:08x}{}",
        "c0ffee".repeat(6).get(..32).unwrap_or_default()
    )
}

/// The fixture of `case`, bound to the test repository and changed as the
/// case says, serialized as it is sent.
pub fn body(provider: &Provider, index: usize, case: &Case) -> Vec<u8> {
    let mut text = case.fixture.text.to_owned();
    for documented in provider.repo_paths {
        text = text.replace(documented, &repo(provider.name));
    }
    let mut json: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case.fixture.name));
    for (pointer, val) in case.set {
        let value = match *val {
            Val::Str(s) => Value::from(s),
            Val::Commit(n) => Value::from(commit(provider, index, n)),
            Val::CommitOf(name, n) => Value::from(commit(provider, case_index(provider, name), n)),
            Val::ShortOf(name, n) => {
                Value::from(commit(provider, case_index(provider, name), n)[..12].to_owned())
            }
            Val::Short(n) => Value::from(commit(provider, index, n)[..12].to_owned()),
            Val::Zero => Value::from("0".repeat(40)),
            Val::Bool(b) => Value::from(b),
            Val::Num(n) => Value::from(n),
            Val::Null => Value::Null,
            Val::CopyOf(from) => json
                .pointer(from)
                .unwrap_or_else(|| panic!("{}: no {from}", case.name))
                .clone(),
            Val::Remove => {
                remove(&mut json, pointer);
                continue;
            }
        };
        set(&mut json, pointer, value, case.name);
    }
    serde_json::to_vec(&json).expect("serializes")
}

/// The position of the case named `name` in `provider`'s table.
pub fn case_index(provider: &Provider, name: &str) -> usize {
    provider
        .cases
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("{}: no case {name:?}", provider.name))
}

/// Splits `/a/b/c` into the parent pointer `/a/b` and the key `c`.
fn split(pointer: &str) -> (&str, &str) {
    pointer.rsplit_once('/').expect("a JSON pointer")
}

/// Sets `pointer` to `value`; the parent must exist (a new key of an
/// object, or one past the end of an array, is added).
fn set(json: &mut Value, pointer: &str, value: Value, case: &str) {
    let (parent, key) = split(pointer);
    match json.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), value);
        }
        Some(Value::Array(list)) => {
            let i: usize = key.parse().expect("an array index");
            if i == list.len() {
                list.push(value);
            } else {
                list[i] = value;
            }
        }
        _ => panic!("{case}: {parent} is not an object or array in the fixture"),
    }
}

fn remove(json: &mut Value, pointer: &str) {
    let (parent, key) = split(pointer);
    if let Some(Value::Object(map)) = json.pointer_mut(parent) {
        map.remove(key);
    }
}
