//! The table the conformance suite runs: one [`Provider`] per git
//! provider, each a list of [`Case`]s, and [`run`], which sends every case
//! to one host and checks the answer and the run it made (or did not make).
//!
//! A case is a provider's documented example payload (a file under
//! `functions/slipway-core/tests/fixtures/providers/`), bound to the test
//! app's repository by replacing the documented repository paths
//! ([`Provider::repo_paths`]) everywhere in its text, then changed at a
//! few JSON pointers ([`Case::set`]): the commits become this case's own
//! (so no two cases share an event identity), an action or an author
//! changes. It is signed as the provider signs ([`Provider::sign`]) and
//! posted to `/hooks/{provider}`.

use std::collections::BTreeMap;

use serde_json::Value;
use slipway_tests::fakes::webhooks::Webhook;
use slipway_tests::pipeline_env::{Env, HOOK_SECRET, repo, sha};

/// A git provider's table.
pub struct Provider {
    /// The `/hooks/{name}` segment and the `apps.shop-{name}` app.
    pub name: &'static str,
    /// Index used to make this provider's commits unique.
    pub index: u32,
    /// Repository paths the fixtures name (`owner/name`), all replaced by
    /// the test app's repository, in this order.
    pub repo_paths: &'static [&'static str],
    /// The untrusted author's fork (`forker/…`) the tables' fork cases
    /// name: every case's commits exist there too, as a fork's head does.
    pub fork: &'static str,
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
    /// The run's `trigger.git_ref`; `None` where it is not asserted (a
    /// fork's ref, see [`held_fork`]).
    pub git_ref: Option<&'static str>,
    /// Which of the case's commits is the run's `trigger.commit`; `None`
    /// where it is not asserted (Bitbucket's abbreviated hashes are being
    /// resolved, see the case's comment).
    pub commit: Option<u32>,
    /// `trigger.kind`: `push`, `tag` or `merge_request`.
    pub kind: &'static str,
    /// Held for `/ok-to-test` (nothing runs) rather than started.
    pub held: bool,
}

/// A started (not held) run of `git_ref` at the case's commit 0.
pub const fn started(git_ref: &'static str, kind: &'static str) -> Expect {
    Expect::Run(RunExpect {
        git_ref: Some(git_ref),
        commit: Some(0),
        kind,
        held: false,
    })
}

/// A merge request run of the case's commit held for `/ok-to-test`,
/// whose ref is not asserted: a fork's source repository and ref are
/// reworked as this suite was finished (issue 15, forks), and `refs/heads/<source branch>` of
/// the target repository is not where a fork's commit lives.
pub const fn held_fork(commit: Option<u32>) -> Expect {
    Expect::Run(RunExpect {
        git_ref: None,
        commit,
        kind: "merge_request",
        held: true,
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
    /// 202: the held run of the named earlier case is let go and starts.
    Releases(&'static str),
    /// Not sent: what is right is described; the work that makes Slipway
    /// do it is someone else's (issue 15) and is asserted once it lands.
    Pending(&'static str),
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
fn commit(provider: &Provider, case: usize, n: u32) -> String {
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
fn case_index(provider: &Provider, name: &str) -> usize {
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

/// What an ignored or rejected delivery must leave as it was: the event
/// claims, the runs and the run counters (follow-up work of earlier runs
/// may still change their records, never add these).
fn recorded(env: &Env) -> Vec<String> {
    env.kv_keys()
        .into_iter()
        .filter(|k| k.starts_with("event/") || k.starts_with("run/") || k.ends_with("/runs"))
        .collect()
}

/// Sends every case of every provider to one host and checks each;
/// panics with every failure at the end (so one pass shows them all).
pub fn run(providers: &[&Provider]) {
    let started = std::time::Instant::now();
    let env = start(providers);
    eprintln!("host up in {:?}", started.elapsed());
    let mut failures = Vec::new();
    for provider in providers {
        let at = std::time::Instant::now();
        failures.extend(run_table(&env, provider));
        eprintln!(
            "{}: {} cases in {:?}",
            provider.name,
            provider.cases.len(),
            at.elapsed()
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Sends every case of `provider`'s table to `env`; what failed.
fn run_table(env: &Env, provider: &Provider) -> Vec<String> {
    let mut runs: BTreeMap<&str, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for (index, case) in provider.cases.iter().enumerate() {
        if let Expect::Pending(why) = case.expect {
            eprintln!("{}: {}: not sent: {why}", provider.name, case.name);
            continue;
        }
        for n in 0..4 {
            let id = commit(provider, index, n);
            env.commit(provider.name, &id, PIPELINE);
            env.git
                .add_file(provider.fork, &id, ".slipway/pipeline.toml", PIPELINE);
        }
        let hook = (provider.sign)(HOOK_SECRET, case.event, &body(provider, index, case));
        let sent = std::time::Instant::now();
        let before = recorded(env);
        let (status, reply) = env.hook(case.path.unwrap_or(provider.name), &hook);
        let check = Check {
            env,
            provider,
            index,
            case,
            status,
            reply: &reply,
        };
        let outcome = match case.expect {
            Expect::Run(e) => check.runs(&[e]).map(|ids| {
                runs.insert(case.name, ids[0].clone());
            }),
            Expect::Runs(list) => check.runs(list).map(|_| ()),
            Expect::Ignored(why) => check.ignored(why, &before),
            Expect::Releases(held) => check.releases(runs.get(held).map(String::as_str)),
            Expect::Pending(_) => Ok(()),
        };
        if sent.elapsed() > std::time::Duration::from_secs(2) {
            // A run whose side effects never settle is waited out (20 s).
            eprintln!(
                "{}: {}: slow, {:?}",
                provider.name,
                case.name,
                sent.elapsed()
            );
        }
        if let Err(e) = outcome {
            failures.push(format!("{}: {}: {e}", provider.name, case.name));
        }
    }
    failures
}

/// One case's answer, checked against its expectation.
struct Check<'a> {
    env: &'a Env,
    provider: &'a Provider,
    index: usize,
    case: &'a Case,
    status: u16,
    reply: &'a Value,
}

impl Check<'_> {
    /// 202 and the runs in `expected`, in order; their ids.
    fn runs(&self, expected: &[RunExpect]) -> Result<Vec<String>, String> {
        if self.status != 202 {
            return Err(format!("answered {} {}", self.status, self.reply));
        }
        let ids: Vec<String> = match self.reply["events"].as_array() {
            Some(events) => events
                .iter()
                .filter_map(|e| e["run"].as_str().map(str::to_owned))
                .collect(),
            None => self.reply["run"]
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .collect(),
        };
        if ids.len() != expected.len() {
            return Err(format!(
                "{} runs, not {}: {}",
                ids.len(),
                expected.len(),
                self.reply
            ));
        }
        for (id, e) in ids.iter().zip(expected) {
            self.run_is(id, e)?;
        }
        Ok(ids)
    }

    fn run_is(&self, id: &str, e: &RunExpect) -> Result<(), String> {
        let run = self.env.run(id);
        let trigger = &run["trigger"];
        let mut wrong = Vec::new();
        if let Some(git_ref) = e.git_ref
            && trigger["git_ref"] != git_ref
        {
            wrong.push(format!("ref {} (expected {git_ref})", trigger["git_ref"]));
        }
        if let Some(n) = e.commit {
            let commit = commit(self.provider, self.index, n);
            if trigger["commit"] != commit.as_str() {
                wrong.push(format!("commit {} (expected {commit})", trigger["commit"]));
            }
        }
        if trigger["kind"] != e.kind {
            wrong.push(format!("kind {} (expected {})", trigger["kind"], e.kind));
        }
        let held = !run["ok_to_test"].is_null() && run["ok_to_test"]["granted"].is_null();
        if held != e.held {
            wrong.push(format!("held {held} (expected {})", e.held));
        }
        // A held run starts nothing; a started one has its build running.
        let build = &run["stages"]["build"]["status"];
        if e.held && (run["status"] != "queued" || *build != "queued") {
            wrong.push(format!("held but {} / build {build}", run["status"]));
        }
        if !e.held && *build != "running" {
            wrong.push(format!("build {build}, not running"));
        }
        // Side effects (commit statuses, triggers) that never settle: the
        // provider refused them.
        if !run["intents"].is_null() {
            wrong.push(format!("unsettled side effects {}", run["intents"]));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("run {id}: {}\n{run}", wrong.join(", ")))
        }
    }

    fn ignored(&self, why: &str, before: &[String]) -> Result<(), String> {
        let reason = self.reply["ignored"].as_str().unwrap_or_default();
        if self.status != 200 || !reason.contains(why) {
            return Err(format!(
                "answered {} {} (expected 200 ignored: …{why}…)",
                self.status, self.reply
            ));
        }
        let after = recorded(self.env);
        if after != before {
            return Err(format!("the store changed: {before:?} → {after:?}"));
        }
        Ok(())
    }

    fn releases(&self, held: Option<&str>) -> Result<(), String> {
        let Some(held) = held else {
            return Err(format!(
                "the case it releases made no run ({})",
                self.case.name
            ));
        };
        if self.status != 202 || self.reply["run"] != held {
            return Err(format!(
                "answered {} {} (expected 202 for {held})",
                self.status, self.reply
            ));
        }
        let run = self.env.run(held);
        if run["ok_to_test"]["granted"]["by"].is_null() {
            return Err(format!("run {held} not granted: {run}"));
        }
        if run["stages"]["build"]["status"] != "running" {
            return Err(format!(
                "run {held} released but its build is not running: {run}"
            ));
        }
        Ok(())
    }
}
