//! Sends each table's cases to one host, in order, and checks every
//! answer, and the run it made (or did not make), against the case's
//! [`Expect`]: the run's trigger as `GET /api/runs/{id}` shows it, the
//! Jenkins build it started and the commit status it posted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use slipway_tests::pipeline_env::{Env, HOOK_SECRET, repo};

use super::harness::{Case, Expect, PIPELINE, Provider, RunExpect, body, commit, start};

/// Sends every case of every provider to one host and checks each;
/// panics with every failure at the end (so one pass shows them all).
pub fn run(providers: &[&Provider]) {
    let started = Instant::now();
    let env = start(providers);
    eprintln!("host up in {:?}", started.elapsed());
    let mut failures = Vec::new();
    for provider in providers {
        let at = Instant::now();
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

/// A run a case made, kept for the comment that releases it.
struct Made {
    /// The run's id.
    id: String,
    /// The case's position (whose commits the run is of).
    index: usize,
    /// What the run was expected to be.
    expect: RunExpect,
}

/// Sends every case of `provider`'s table to `env`; what failed.
fn run_table(env: &Env, provider: &Provider) -> Vec<String> {
    let mut made: BTreeMap<&str, Made> = BTreeMap::new();
    let mut failures = Vec::new();
    for (index, case) in provider.cases.iter().enumerate() {
        add_commits(env, provider, index, case);
        let hook = (provider.sign)(HOOK_SECRET, case.event, &body(provider, index, case));
        let sent = Instant::now();
        let before = recorded(env);
        let (status, reply) = env.hook(case.path.unwrap_or(provider.name), &hook);
        let check = Check {
            env,
            provider,
            status,
            reply: &reply,
        };
        let outcome = match case.expect {
            Expect::Run(expect) => check.runs(index, &[expect]).map(|ids| {
                let id = ids[0].clone();
                made.insert(case.name, Made { id, index, expect });
            }),
            Expect::Runs(list) => check.runs(index, list).map(|_| ()),
            Expect::Ignored(why) => check.ignored(why, &before),
            Expect::Releases(held) => check.releases(held, made.get(held)),
        };
        if sent.elapsed() > Duration::from_secs(2) {
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

/// Gives the case's commits, each with [`PIPELINE`], to the repositories
/// that have them: the fork always; the target too, unless the case opens
/// a request from the fork and the target keeps no fork heads.
fn add_commits(env: &Env, provider: &Provider, index: usize, case: &Case) {
    let fork_only = case.expect.fork().is_some() && !provider.fork_heads_in_target;
    for n in 0..4 {
        let id = commit(provider, index, n);
        if !fork_only {
            env.commit(provider.name, &id, PIPELINE);
        }
        env.git
            .add_file(provider.fork, &id, ".slipway/pipeline.toml", PIPELINE);
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

/// One case's answer, checked against its expectation.
struct Check<'a> {
    env: &'a Env,
    provider: &'a Provider,
    status: u16,
    reply: &'a Value,
}

impl Check<'_> {
    /// 202 and the runs in `expected` (of case `index`'s commits), in
    /// order; their ids.
    fn runs(&self, index: usize, expected: &[RunExpect]) -> Result<Vec<String>, String> {
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
            RunCheck::new(self.env, self.provider, index, id, e).result()?;
        }
        Ok(ids)
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

    /// 202 naming the `held` run (of case `name`), which is granted and now runs as its
    /// case expected, started.
    fn releases(&self, name: &str, held: Option<&Made>) -> Result<(), String> {
        let Some(held) = held else {
            return Err(format!("the case it releases made no run ({name})"));
        };
        if self.status != 202 || self.reply["run"] != held.id.as_str() {
            return Err(format!(
                "answered {} {} (expected 202 for {})",
                self.status, self.reply, held.id
            ));
        }
        let released = RunExpect {
            held: false,
            ..held.expect
        };
        let check = RunCheck::new(self.env, self.provider, held.index, &held.id, &released);
        if check.run["ok_to_test"]["granted"]["by"].is_null() {
            return Err(format!("run {} not granted: {}", held.id, check.run));
        }
        check.result()
    }
}

/// Run `id` as `GET /api/runs/{id}` shows it once it got as far as a case
/// checks: its pipeline read and, unless `held`, its build past `queued`
/// (or the run over), waited for up to 10 s. Nothing pending is not
/// enough ([`Env::run`]): between two rounds of the reconcile its webhook
/// started after answering, a run has nothing pending and a step to come.
fn settled(env: &Env, id: &str, held: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let run = env.run(id);
        let build = &run["stages"]["build"]["status"];
        let ready = build.is_string() && (held || *build != "queued");
        if ready || run["finished_at_ms"].is_u64() || Instant::now() > deadline {
            return run;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One run, as `GET /api/runs/{id}` shows it once settled, against what
/// it should be; the differences found.
struct RunCheck<'a> {
    env: &'a Env,
    provider: &'a Provider,
    id: &'a str,
    expect: &'a RunExpect,
    /// The full hash of the expected commit.
    commit: String,
    run: Value,
    wrong: Vec<String>,
}

impl<'a> RunCheck<'a> {
    fn new(
        env: &'a Env,
        provider: &'a Provider,
        index: usize,
        id: &'a str,
        expect: &'a RunExpect,
    ) -> Self {
        RunCheck {
            env,
            provider,
            id,
            expect,
            commit: commit(provider, index, expect.commit),
            run: settled(env, id, expect.held),
            wrong: Vec::new(),
        }
    }

    /// Every check; `Err` lists what is wrong, with the run.
    fn result(mut self) -> Result<(), String> {
        self.trigger();
        self.source();
        self.progress();
        if !self.expect.held {
            self.build();
            self.commit_status();
        }
        if self.wrong.is_empty() {
            return Ok(());
        }
        Err(format!(
            "run {}: {}\n{}",
            self.id,
            self.wrong.join(", "),
            self.run
        ))
    }

    /// Records a difference when `actual` is not `expected`.
    fn expect_eq(&mut self, what: &str, actual: &Value, expected: &str) {
        if actual != expected {
            self.wrong
                .push(format!("{what} {actual} (expected {expected})"));
        }
    }

    /// The trigger's ref, full commit and kind.
    fn trigger(&mut self) {
        let trigger = self.run["trigger"].clone();
        self.expect_eq("ref", &trigger["git_ref"], self.expect.git_ref);
        let commit = self.commit.clone();
        self.expect_eq("commit", &trigger["commit"], &commit);
        self.expect_eq("kind", &trigger["kind"], self.expect.kind);
    }

    /// `trigger.source`: the fork's repository, clone URL and branch, and
    /// the request's number; none for anything else.
    fn source(&mut self) {
        let trigger = self.run["trigger"].clone();
        let Some(fork) = self.expect.fork else {
            if !trigger["source"].is_null() {
                self.wrong.push(format!("source {}", trigger["source"]));
            }
            return;
        };
        let source = &trigger["source"];
        self.expect_eq("source repo", &source["repo"], self.provider.fork);
        self.expect_eq("source ref", &source["git_ref"], fork.git_ref);
        self.expect_eq("source clone URL", &source["clone_url"], fork.clone_url);
        if trigger["merge_request"] != fork.number {
            let number = &trigger["merge_request"];
            self.wrong
                .push(format!("request {number} (expected {})", fork.number));
        }
    }

    /// Held (nothing started) or started (the build running), and every
    /// side effect settled.
    fn progress(&mut self) {
        let run = &self.run;
        let held = !run["ok_to_test"].is_null() && run["ok_to_test"]["granted"].is_null();
        if held != self.expect.held {
            let expected = self.expect.held;
            self.wrong
                .push(format!("held {held} (expected {expected})"));
        }
        let build = &run["stages"]["build"]["status"];
        if self.expect.held && (run["status"] != "queued" || *build != "queued") {
            let status = &run["status"];
            self.wrong
                .push(format!("held but {status} / build {build}"));
        }
        if !self.expect.held && *build != "running" {
            self.wrong.push(format!("build {build}, not running"));
        }
        // Side effects (commit statuses, triggers) that never settle: the
        // provider refused them.
        if !run["intents"].is_null() {
            let intents = &run["intents"];
            self.wrong.push(format!("unsettled side effects {intents}"));
        }
    }

    /// The Jenkins build the run started: at the full commit, of the run's
    /// ref, from the fork's repository and branch where there is one.
    fn build(&mut self) {
        let triggers = self.env.jenkins.triggers();
        let Some((_, params)) = triggers
            .iter()
            .rev()
            .find(|(_, p)| p.get("SLIPWAY_RUN").map(String::as_str) == Some(self.id))
        else {
            self.wrong.push("no Jenkins build".to_owned());
            return;
        };
        let target = repo(self.provider.name);
        let (source_repo, source_ref) = match self.expect.fork {
            Some(fork) => (self.provider.fork, fork.git_ref),
            None => (target.as_str(), self.expect.git_ref),
        };
        let expected = [
            ("SLIPWAY_COMMIT", self.commit.as_str()),
            ("SLIPWAY_REF", self.expect.git_ref),
            ("SLIPWAY_REPO", target.as_str()),
            ("SLIPWAY_SOURCE_REPO", source_repo),
            ("SLIPWAY_SOURCE_REF", source_ref),
        ];
        for (name, value) in expected {
            let actual = params.get(name).map(String::as_str).unwrap_or_default();
            if actual != value {
                self.wrong
                    .push(format!("build {name} {actual:?} (expected {value:?})"));
            }
        }
    }

    /// A commit status at the full commit, in the repository that has it
    /// (the fork where the target keeps no fork heads, else the target)
    /// and nowhere else; none at all where the provider has no status API.
    fn commit_status(&mut self) {
        let at = match self.expect.fork {
            Some(_) if !self.provider.fork_heads_in_target => self.provider.fork.to_owned(),
            _ => repo(self.provider.name),
        };
        let posted: Vec<Value> = (self.env.git.all_statuses().into_iter())
            .filter(|s| s["sha"] == self.commit.as_str())
            .collect();
        let expected = self.provider.commit_statuses;
        let right =
            posted.is_empty() != expected && posted.iter().all(|s| s["repo"] == at.as_str());
        if !right {
            let wanted = if expected {
                "statuses in"
            } else {
                "no status:"
            };
            self.wrong.push(format!(
                "commit statuses {posted:?} (expected {wanted} {at})"
            ));
        }
    }
}
