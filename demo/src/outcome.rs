//! The demo's two pushes and what it says of each: a good change promoted
//! to production by canary, then a change whose unit tests fail and that
//! deploys nothing.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use slipway_simulators::webhooks;
use slipway_simulators::webhooks_payloads::{Push, PushCommit, github_push};

use crate::Demo;
use crate::follow::{short_image, tests_line};
use crate::world::{APP, PRODUCTION_NS, REPO, TEST_NS, digest_of, new_commit};

/// What the demo checked of one push; `problems` empty when it ended as
/// it should.
struct Checked {
    summary: String,
    problems: Vec<String>,
}

impl Demo<'_> {
    /// Plays both pushes and prints their outcomes; whether both ended as
    /// they should.
    pub(crate) fn play(&mut self) -> Result<bool> {
        let pipeline_path = self.options.root.join("demo/sample/pipeline.toml");
        let pipeline = std::fs::read_to_string(&pipeline_path)
            .with_context(|| format!("reading {}", pipeline_path.display()))?;
        self.say(&format!(
            "==> The stage view: {}/ (sign in with {})",
            self.api.url(""),
            self.api.login_link()?
        ));

        let good = new_commit();
        self.clock = Instant::now();
        let run = self.push(&good, &pipeline, "Show the basket total on the cart page")?;
        let record = self.follow(&run)?;
        let first = self.check_promoted(&run, &good, &record)?;
        self.print_outcome(1, &good, &first);

        let bad = self.world.failing_commit.clone();
        let run = self.push(&bad, &pipeline, "Round prices per item")?;
        let record = self.follow(&run)?;
        let second = self.check_stopped(&run, &good, &bad, &record);
        self.print_outcome(2, &bad, &second);

        let problems: Vec<String> = [first.problems, second.problems].concat();
        let took = self.started.elapsed().as_secs_f64();
        self.say("");
        if problems.is_empty() {
            self.say(&format!(
                "Demo result: OK in {took:.0} s: push 1 went through tests, image, test and approval to a canary promoted in production; push 2 failed its unit tests and deployed nothing"
            ));
        } else {
            self.say(&format!(
                "Demo result: FAILED in {took:.0} s: {}",
                problems.join("; ")
            ));
        }
        Ok(problems.is_empty())
    }

    /// Commits `pipeline` at `commit`, plays GitHub's signed push webhook
    /// of it to `main`, and returns the run it started.
    fn push(&mut self, commit: &str, pipeline: &str, message: &str) -> Result<String> {
        self.world.commit(commit, pipeline);
        let push = Push::new(REPO, "refs/heads/main", &parent(), commit)
            .commit(PushCommit::new(commit, message).modified(&["src/cart.rs"]))
            .web_base(&self.world.git.url());
        let body = github_push(&push).to_string();
        let hook = webhooks::github(crate::app::WEBHOOK_SECRET, "push", body.as_bytes());
        let (status, answer) = hook
            .try_post(&self.api.url("/hooks/github"))
            .map_err(anyhow::Error::msg)?;
        let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
        if status != 202 {
            bail!("the push webhook got {status}: {answer}");
        }
        let run = answer["run"]
            .as_str()
            .context("no run in the webhook's answer")?
            .to_owned();
        self.say("");
        self.say(&format!(
            "==> git push: {} \"{message}\" to main of {REPO}: signed webhook answered 202, run {run}",
            short_commit(commit)
        ));
        self.say(&format!(
            "    follow it: {}",
            self.api.url(&format!("/runs/{run}"))
        ));
        Ok(run)
    }

    fn check_promoted(&mut self, run: &str, commit: &str, record: &Value) -> Result<Checked> {
        let image = format!("registry.example.com/acme/shop@{}", digest_of(commit));
        let mut problems = Vec::new();
        let status = record["status"].as_str().unwrap_or("?");
        if status != "succeeded" {
            problems.push(format!("run {run} {status}, not succeeded"));
        }
        let release = self
            .api
            .newest_release(APP, "production")?
            .unwrap_or_default();
        let canary = release["strategy"] == "canary" && release["status"] == "succeeded";
        let production = self.world.running_image(PRODUCTION_NS);
        if !canary || production != image || self.world.canary_weight() != 0 {
            problems.push(format!(
                "production was not promoted: release {release}, runs {production}"
            ));
        }
        if self.world.running_image(TEST_NS) != image {
            problems.push("test does not run the new image".into());
        }
        let summary = format!(
            "run {run} {status}: canary promoted, production runs {} on every replica, all traffic on it (test too)",
            short_image(&production)
        );
        Ok(Checked { summary, problems })
    }

    fn check_stopped(&mut self, run: &str, good: &str, bad: &str, record: &Value) -> Checked {
        let mut problems = Vec::new();
        let status = record["status"].as_str().unwrap_or("?");
        let unit = &record["stages"]["unit-test"];
        if status != "failed" || unit["status"] != "failed" {
            problems.push(format!("run {run} {status}, not failed at unit-test"));
        }
        let tests = tests_line(&unit["tests"]).unwrap_or_else(|| "no test report".into());
        if !tests.contains("failed:") {
            problems.push(format!("no failing test came back: {tests}"));
        }
        let built = self.world.jenkins.triggers().iter().any(|(job, params)| {
            job == "shop/image" && params.get("SLIPWAY_COMMIT").map(String::as_str) == Some(bad)
        });
        let before = format!("registry.example.com/acme/shop@{}", digest_of(good));
        let production = self.world.running_image(PRODUCTION_NS);
        if built || production != before || self.world.running_image(TEST_NS) != before {
            problems.push("the failing change was built or deployed".into());
        }
        let summary = format!(
            "run {run} {status} at unit-test: {tests}; nothing deployed, production still runs {}",
            short_image(&production)
        );
        Checked { summary, problems }
    }

    fn print_outcome(&mut self, n: u32, commit: &str, checked: &Checked) {
        self.say(&format!(
            "Outcome of push {n} ({}): {}",
            short_commit(commit),
            checked.summary
        ));
        if let Some((state, description)) = self.world.last_status(commit) {
            self.say(&format!(
                "    commit status on GitHub: {state}: {description}"
            ));
        }
    }

    /// Keeps the app and the simulators up until stopped.
    pub(crate) fn stay(&mut self) -> Result<()> {
        self.say(&format!(
            "The stage view stays up at {}/ (sign in with {}). Ctrl-C to stop.",
            self.api.url(""),
            self.api.login_link()?
        ));
        let mut last_tick = Instant::now();
        loop {
            if self.options.check_stop().is_err() {
                return Ok(());
            }
            if last_tick.elapsed() > Duration::from_secs(10) {
                let _ = self.api.tick();
                last_tick = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The first 7 characters of a commit id, as git shows it.
fn short_commit(commit: &str) -> String {
    commit.chars().take(7).collect()
}

/// The commit before the pushed one (any: the app reads the new one).
fn parent() -> String {
    new_commit()
}

#[cfg(test)]
mod tests {
    use crate::follow::{short_image, tests_line};
    use serde_json::json;

    #[test]
    fn a_test_line_names_the_failures_and_their_messages() {
        let tests = json!({ "passed": 9, "failed": 2, "skipped": 1, "failures": [
            { "name": "a.B.c", "message": "expected 1" }, { "name": "a.B.d", "message": "" }] });
        assert_eq!(
            tests_line(&tests).as_deref(),
            Some("2 of 12 tests failed: a.B.c (expected 1), a.B.d")
        );
        assert_eq!(
            tests_line(&json!({ "passed": 3 })).as_deref(),
            Some("3 tests passed")
        );
        assert_eq!(tests_line(&json!(null)), None);
    }

    #[test]
    fn an_image_by_digest_is_shortened() {
        let image = format!("r/shop@sha256:{}", "ab".repeat(32));
        assert_eq!(short_image(&image), "r/shop@sha256:abababababab…");
        assert_eq!(short_image("r/shop:1.0.0"), "r/shop:1.0.0");
    }
}
