//! Jobs of [`FakeJenkins`] that build by themselves: what a job's pipeline
//! script (`Jenkinsfile`) does when it reports to Slipway.
//!
//! A scripted job's build starts as soon as it leaves the queue, runs for
//! the [`BuildPlan::duration`] its script chose from the build's
//! parameters, and then, as the last step of its pipeline (a `post { always
//! { sh 'curl …' } }` block), posts Slipway's JSON result to
//! `$SLIPWAY_CALLBACK_URL` with `Authorization: Bearer
//! $SLIPWAY_CALLBACK_TOKEN`: the status, the raw JUnit report, the image it
//! pushed, its build and console URLs and its duration (README, "What builds
//! receive and send back"). Then the build ends with its result, so
//! `{build url}api/json` shows `building: true` until the callback was made,
//! as Jenkins does while `post` steps run. A callback refused with 5xx or not
//! answered is retried a few times, as `curl --retry` would.
//!
//! A job that does not declare the `SLIPWAY_*` parameters never sees them,
//! so its build ends without calling back (as in Jenkins).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::jenkins::{FakeJenkins, State, job_url};
use super::now_millis;

/// What one build of a scripted job does, decided from its parameters.
#[derive(Clone, Debug)]
pub struct BuildPlan {
    /// How long the build runs before it reports.
    pub duration: Duration,
    /// Whether it succeeds (`SUCCESS`) or fails (`FAILURE`).
    pub success: bool,
    /// A JUnit XML report it sends (`junit` in the callback), if it ran tests.
    pub junit: Option<String>,
    /// The image it pushed (`artifacts.image`), if it built one.
    pub image: Option<String>,
    /// The console log it leaves.
    pub console: String,
}

impl BuildPlan {
    /// A successful build of `duration` that reports nothing but its status.
    pub fn success(duration: Duration) -> BuildPlan {
        BuildPlan {
            duration,
            success: true,
            junit: None,
            image: None,
            console: String::new(),
        }
    }
}

/// A job's script: the build's parameters in, what the build does out.
pub type Script = Arc<dyn Fn(&BTreeMap<String, String>) -> BuildPlan + Send + Sync>;

/// One callback a scripted build made.
#[derive(Clone, Debug)]
pub struct Callback {
    /// The job.
    pub job: String,
    /// The build number.
    pub number: u64,
    /// Where it posted.
    pub url: String,
    /// What it posted (Slipway's JSON).
    pub body: Value,
    /// The status Slipway answered, or `None` if it never answered.
    pub status: Option<u16>,
}

impl FakeJenkins {
    /// Makes job `name` build by itself: each build runs `script` on its
    /// parameters, waits the plan's duration, calls Slipway back with the
    /// result and ends. Register the job with [`FakeJenkins::add_job`] too.
    pub fn automate(
        &self,
        name: &str,
        script: impl Fn(&BTreeMap<String, String>) -> BuildPlan + Send + Sync + 'static,
    ) {
        let name = name.trim_matches('/').to_owned();
        lock(&self.state).scripts.insert(name, Arc::new(script));
    }

    /// The callbacks scripted builds made, in order.
    pub fn callbacks(&self) -> Vec<Callback> {
        lock(&self.state).callbacks.clone()
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs build `number` of scripted `job` on its own thread.
pub(crate) fn run(state: Arc<Mutex<State>>, job: String, number: u64) {
    std::thread::spawn(move || {
        let Some((plan, params, build_url)) = start(&state, &job, number) else {
            return;
        };
        std::thread::sleep(plan.duration);
        let started = now_millis().saturating_sub(plan.duration.as_millis() as u64);
        let result = if plan.success { "SUCCESS" } else { "FAILURE" };
        if let Some(build) = find(&mut lock(&state), &job, number) {
            build.console = format!(
                "Started by remote host\n{}\nFinished: {result}\n",
                plan.console
            );
        }
        let callback = report(&job, number, &plan, &params, &build_url);
        let mut locked = lock(&state);
        if let Some(callback) = callback {
            locked.callbacks.push(callback);
        }
        if let Some(build) = find(&mut locked, &job, number) {
            build.result = Some(result.into());
            build.duration = now_millis().saturating_sub(started).max(1);
        }
    });
}

fn find<'a>(state: &'a mut State, job: &str, number: u64) -> Option<&'a mut super::jenkins::Build> {
    state
        .builds
        .iter_mut()
        .find(|b| b.job == job && b.number == number)
}

/// The build's plan, its (declared) parameters and its URL.
fn start(
    state: &Mutex<State>,
    job: &str,
    number: u64,
) -> Option<(BuildPlan, BTreeMap<String, String>, String)> {
    let mut locked = lock(state);
    let script = locked.scripts.get(job)?.clone();
    let base = locked.base.clone();
    let params = find(&mut locked, job, number)?.params.clone();
    drop(locked);
    let plan = script(&params);
    Some((plan, params, format!("{}{number}/", job_url(&base, job))))
}

/// Posts the build's result to Slipway, as the job's `post` step does.
fn report(
    job: &str,
    number: u64,
    plan: &BuildPlan,
    params: &BTreeMap<String, String>,
    build_url: &str,
) -> Option<Callback> {
    let url = params.get("SLIPWAY_CALLBACK_URL")?.clone();
    let token = params.get("SLIPWAY_CALLBACK_TOKEN")?;
    let mut body = json!({
        "status": if plan.success { "succeeded" } else { "failed" },
        "url": build_url,
        "log_url": format!("{build_url}console"),
        "duration_ms": plan.duration.as_millis() as u64,
    });
    if let Some(junit) = &plan.junit {
        body["junit"] = json!([junit]);
    }
    if let Some(image) = &plan.image {
        body["artifacts"] = json!({ "image": image });
    }
    let status = post(&url, token, &body);
    Some(Callback {
        job: job.into(),
        number,
        url,
        body,
        status,
    })
}

/// `curl --retry 5 -H "Authorization: Bearer …" --json …`: retries when
/// there is no answer or a 5xx one.
fn post(url: &str, token: &str, body: &Value) -> Option<u16> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut last = None;
    for attempt in 0..6 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        let response = agent
            .post(url)
            .set("authorization", &format!("Bearer {token}"))
            .set("content-type", "application/json")
            .send_string(&body.to_string());
        last = match response {
            Ok(r) => Some(r.status()),
            Err(ureq::Error::Status(code, _)) => Some(code),
            Err(_) => None,
        };
        if last.is_some_and(|code| code < 500) {
            break;
        }
    }
    last
}
