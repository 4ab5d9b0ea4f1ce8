//! Following a run: ticks the engine, prints each stage as it changes (with
//! its time, tests, image and reason), the canary's weight as the cluster
//! holds it, and answers or explains the approval.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::Demo;
use crate::world::{PRODUCTION_NS, TEST_NS};

/// How often the demo ticks and looks at the run.
const POLL: Duration = Duration::from_millis(300);
/// How long a run may take in auto-approve mode.
const AUTO_LIMIT: Duration = Duration::from_secs(240);

/// What is already printed of a run.
#[derive(Default)]
struct Seen {
    transitions: usize,
    approvals: BTreeSet<String>,
    weight: u32,
}

impl Demo<'_> {
    /// Follows run `run` until it ends; its final record.
    pub(crate) fn follow(&mut self, run: &str) -> Result<Value> {
        let began = Instant::now();
        let mut seen = Seen::default();
        loop {
            self.options.check_stop()?;
            self.api.tick()?;
            let record = self.api.run(run)?;
            self.print_transitions(run, &record, &mut seen)?;
            self.print_weight(&record, &mut seen);
            if is_terminal(record["status"].as_str().unwrap_or_default()) {
                return Ok(record);
            }
            let waiting_for_person = !self.options.auto_approve && !seen.approvals.is_empty();
            if !waiting_for_person && began.elapsed() > AUTO_LIMIT {
                bail!("run {run} did not end within {} s", AUTO_LIMIT.as_secs());
            }
            std::thread::sleep(POLL);
        }
    }

    fn print_transitions(&mut self, run: &str, record: &Value, seen: &mut Seen) -> Result<()> {
        let transitions = record["transitions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for transition in transitions.iter().skip(seen.transitions) {
            let (Some(stage), Some(to)) = (transition["stage"].as_str(), transition["to"].as_str())
            else {
                continue;
            };
            let detail = self.detail(record, stage, to);
            self.stage_line(stage, to, &detail);
            if to == "waiting-for-approval" && seen.approvals.insert(stage.to_owned()) {
                self.approval(run, stage)?;
            }
        }
        seen.transitions = transitions.len();
        Ok(())
    }

    /// One line: time since the demo began, stage, status, what it did.
    pub(crate) fn stage_line(&mut self, stage: &str, status: &str, detail: &str) {
        let at = self.clock.elapsed().as_secs_f64();
        let line = format!("  [{at:5.1} s] {stage:<12} {status:<21} {detail}");
        self.say(line.trim_end());
    }

    /// What a stage that reached `to` did: its time, tests, image, the
    /// image its environment now runs, or why it failed.
    fn detail(&self, record: &Value, stage: &str, to: &str) -> String {
        let s = &record["stages"][stage];
        let mut parts = Vec::new();
        if is_terminal(to)
            && s["approval"].is_null()
            && let (Some(start), Some(end)) =
                (s["started_at_ms"].as_u64(), s["finished_at_ms"].as_u64())
        {
            parts.push(format!(
                "in {:.1} s",
                end.saturating_sub(start) as f64 / 1000.0
            ));
        }
        if let Some(line) = tests_line(&s["tests"]) {
            parts.push(line);
        }
        if let Some(image) = s["image"]["reference"].as_str() {
            let image = match s["image"]["digest"].as_str() {
                Some(digest) if !image.contains('@') => format!("{image}@{digest}"),
                _ => image.to_owned(),
            };
            parts.push(format!("image {}", short_image(&image)));
        }
        if let Some(decision) = s["approval"]["decisions"].as_array().and_then(|d| d.last()) {
            let verdict = decision["verdict"].as_str().unwrap_or("answered");
            let by = decision["by"].as_str().unwrap_or("?");
            let via = decision["via"].as_str().unwrap_or("?");
            parts.push(format!("{verdict} by {by} (via {via})"));
        }
        let deployed_to = environment_of(record, stage);
        if to == "succeeded"
            && let Some(environment) = deployed_to
        {
            let ns = if environment == "production" {
                PRODUCTION_NS
            } else {
                TEST_NS
            };
            let image = self.world.running_image(ns);
            parts.push(format!("{environment} runs {}", short_image(&image)));
        }
        if to != "succeeded"
            && s["tests"].is_null()
            && let Some(reason) = s["reason"].as_str()
        {
            parts.push(reason.to_owned());
        }
        parts.join(" · ")
    }

    fn print_weight(&mut self, record: &Value, seen: &mut Seen) {
        if record["stages"]["production"]["status"] != "running" {
            return;
        }
        let weight = self.world.canary_weight();
        if weight != seen.weight {
            seen.weight = weight;
            let detail = format!("stable {}% · canary {weight}%", 100 - weight.min(100));
            self.stage_line("production", "traffic", &detail);
        }
    }

    /// Says how to approve, or approves in auto-approve mode.
    fn approval(&mut self, run: &str, stage: &str) -> Result<()> {
        let page = self.api.url(&format!("/runs/{run}"));
        let path = format!("/api/runs/{run}/stages/{stage}/approve");
        if self.options.auto_approve {
            self.say(&format!(
                "               --auto-approve: approving {stage} as the operator"
            ));
            self.api
                .approve(run, stage, "approved by slipway-demo --auto-approve")?;
            return Ok(());
        }
        let link = self.api.login_link()?;
        self.say("");
        self.say(&format!("  Waiting for your approval. Open {page}"));
        self.say(&format!(
            "  (sign in first with this one-time link: {link})"
        ));
        self.say("  and press Approve, or run:");
        self.say(&format!(
            "    curl -fsS -X POST -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{}}' {}",
            self.api.token(),
            self.api.url(&path)
        ));
        self.say("");
        Ok(())
    }
}

/// The environment deploy stage `stage` deploys to, as the run's pipeline says.
fn environment_of<'a>(record: &'a Value, stage: &str) -> Option<&'a str> {
    let stages = record["pipeline"]["stages"].as_array()?;
    let found = stages.iter().find(|s| s["name"] == stage)?;
    found["kind"]["environment"]
        .as_str()
        .or_else(|| found["environment"].as_str())
}

/// Whether a run or stage status is final.
pub(crate) fn is_terminal(status: &str) -> bool {
    matches!(
        status,
        "succeeded" | "failed" | "cancelled" | "timed-out" | "skipped"
    )
}

/// `9 tests passed` / `2 of 12 tests failed: a (why), b (why)`.
pub(crate) fn tests_line(tests: &Value) -> Option<String> {
    let count = |key: &str| tests[key].as_u64().unwrap_or(0);
    if tests.is_null() {
        return None;
    }
    let failed = count("failed") + count("errored");
    let total = count("passed") + failed + count("skipped");
    if failed == 0 {
        return Some(format!("{} tests passed", count("passed")));
    }
    let names: Vec<String> = tests["failures"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    let name = f["name"].as_str().unwrap_or("?");
                    match f["message"].as_str() {
                        Some(m) if !m.is_empty() => format!("{name} ({m})"),
                        _ => name.to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Some(format!(
        "{failed} of {total} tests failed: {}",
        names.join(", ")
    ))
}

/// `registry/…/shop@sha256:0123456789ab…`: the digest cut to 12 digits.
pub(crate) fn short_image(image: &str) -> String {
    match image.split_once("@sha256:") {
        Some((name, digest)) => {
            let short: String = digest.chars().take(12).collect();
            format!("{name}@sha256:{short}…")
        }
        None => image.to_owned(),
    }
}
