//! [`FakeJenkins`]: Jenkins' remote access API — trigger a job, poll the
//! queue item, poll the build.
//!
//! - `POST {url}/job/a/job/b/buildWithParameters?K=V` (or a form body) and
//!   `POST .../build`: HTTP Basic `user:token` required (else 401 with
//!   `WWW-Authenticate: Basic realm="Jenkins"`); unknown job → 404 HTML page;
//!   `GET` → 405 "This URL requires POST". Answers `201`, empty body,
//!   `Location: {url}/queue/item/{n}/`.
//! - `GET {url}/queue/item/{n}/api/json`: a waiting item (`why`, no
//!   `executable`) on the first poll, then `executable: {number, url}`.
//! - `GET {build url}api/json`: `building: true, result: null` until the test
//!   calls [`FakeJenkins::finish_build`]. `consoleText` and
//!   `testReport/api/json` (404 unless set) are served too.
//!
//! Every response carries `X-Jenkins: 2.462.3`. `token`, `delay`, `cause`
//! and `json` are Jenkins' own request fields, not build parameters.
//! As in Jenkins, a build gets only the parameters its job declares
//! (Jenkins drops undeclared ones since SECURITY-170): every job declares
//! [`SLIPWAY_PARAMETERS`], others are declared with
//! [`FakeJenkins::declare_params`]. [`Trigger::params`] still shows what
//! was sent.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use super::jenkins_auto::{Callback, Script};
use super::server::{FakeHttpServer, Request, Response};
use super::{decode_segment, now_millis};

/// The Jenkins version the fake claims.
pub const JENKINS_VERSION: &str = "2.462.3";

/// The parameters Slipway passes to every Jenkins build, which a job using
/// them declares.
pub const SLIPWAY_PARAMETERS: &[&str] = &[
    "SLIPWAY_RUN",
    "SLIPWAY_STAGE",
    "SLIPWAY_ATTEMPT",
    "SLIPWAY_COMMIT",
    "SLIPWAY_REF",
    "SLIPWAY_REPO",
    "SLIPWAY_SOURCE_REPO",
    "SLIPWAY_SOURCE_REF",
    "SLIPWAY_CALLBACK_URL",
    "SLIPWAY_CALLBACK_TOKEN",
];

/// What the Notification plugin needs of a build.
#[derive(Clone, Debug)]
pub struct BuildFacts {
    /// The build's parameters (declared ones only).
    pub params: BTreeMap<String, String>,
    /// `SUCCESS`, `FAILURE`, … once finished.
    pub result: Option<String>,
    /// Duration in milliseconds, once finished.
    pub duration: u64,
    /// The queue item id.
    pub queue_id: u64,
    /// The build's absolute URL (ends with `/`).
    pub full_url: String,
}

/// One accepted trigger.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// Job full name, `folder/name`.
    pub job: String,
    /// `build` or `buildWithParameters`.
    pub endpoint: String,
    /// Build parameters from the query and the form body.
    pub params: BTreeMap<String, String>,
    /// The `token` field (job "trigger builds remotely" token), if sent.
    pub token: Option<String>,
    /// The queue item id.
    pub queue_id: u64,
    /// The build number this trigger will run as.
    pub number: u64,
}

pub(crate) struct Build {
    pub(crate) job: String,
    pub(crate) number: u64,
    queue_id: u64,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) started: u64,
    pub(crate) result: Option<String>,
    pub(crate) duration: u64,
    pub(crate) console: String,
    test_report: Option<Value>,
}

pub(crate) struct State {
    user: String,
    token: String,
    pub(crate) base: String,
    jobs: BTreeMap<String, u64>,
    declared: BTreeMap<String, std::collections::BTreeSet<String>>,
    triggers: Vec<Trigger>,
    queue_polls: BTreeMap<u64, u32>,
    pub(crate) builds: Vec<Build>,
    next_queue: u64,
    /// Jobs that run by themselves ([`FakeJenkins::automate`]).
    pub(crate) scripts: BTreeMap<String, Script>,
    /// Builds of scripted jobs triggered and not yet started: `(job, number)`.
    pub(crate) to_run: Vec<(String, u64)>,
    /// Callbacks the scripted builds made.
    pub(crate) callbacks: Vec<Callback>,
}

/// The Jenkins fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeJenkins {
    server: FakeHttpServer,
    pub(crate) state: Arc<Mutex<State>>,
}

impl Deref for FakeJenkins {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

impl FakeJenkins {
    /// Starts the fake accepting HTTP Basic `user:token`.
    pub fn start(user: &str, token: &str) -> FakeJenkins {
        let state = Arc::new(Mutex::new(State {
            user: user.into(),
            token: token.into(),
            base: String::new(),
            jobs: BTreeMap::new(),
            declared: BTreeMap::new(),
            triggers: Vec::new(),
            queue_polls: BTreeMap::new(),
            builds: Vec::new(),
            next_queue: 100,
            scripts: BTreeMap::new(),
            to_run: Vec::new(),
            callbacks: Vec::new(),
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start_with_headers(
            move |req| {
                let mut locked = shared.lock().unwrap();
                let response = handle(&mut locked, req);
                let to_run = std::mem::take(&mut locked.to_run);
                drop(locked);
                for (job, number) in to_run {
                    super::jenkins_auto::run(shared.clone(), job, number);
                }
                response
            },
            vec![
                ("x-jenkins".into(), JENKINS_VERSION.into()),
                ("x-hudson".into(), "1.395".into()),
                ("x-jenkins-session".into(), "f4ke5e55".into()),
            ],
        );
        state.lock().unwrap().base = server.url();
        FakeJenkins { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// Registers job `name` (`"folder/name"` for jobs in folders); its
    /// builds are numbered from 1.
    pub fn add_job(&self, name: &str) {
        let mut state = self.state.lock().unwrap();
        let name = name.trim_matches('/');
        state.jobs.insert(name.into(), 1);
        let declared = SLIPWAY_PARAMETERS.iter().map(|p| p.to_string());
        state.declared.insert(name.into(), declared.collect());
    }

    /// Declares more parameters of job `name`.
    pub fn declare_params(&self, name: &str, params: &[&str]) {
        let mut state = self.state.lock().unwrap();
        let declared = state
            .declared
            .entry(name.trim_matches('/').into())
            .or_default();
        declared.extend(params.iter().map(|p| p.to_string()));
    }

    /// Build `number` of `job`, as the Notification plugin sees it.
    pub fn build_facts(&self, job: &str, number: u64) -> BuildFacts {
        let mut state = self.state.lock().unwrap();
        let base = state.base.clone();
        let build = find_build(&mut state, job, number);
        BuildFacts {
            params: build.params.clone(),
            result: build.result.clone(),
            duration: build.duration,
            queue_id: build.queue_id,
            full_url: format!("{}{number}/", job_url(&base, job)),
        }
    }

    /// The URL of job `name` (`{url}/job/folder/job/name/`).
    pub fn job_url(&self, name: &str) -> String {
        job_url(&self.state.lock().unwrap().base, name)
    }

    /// The accepted triggers as `(job, params)`, in order.
    pub fn triggers(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let state = self.state.lock().unwrap();
        state
            .triggers
            .iter()
            .map(|t| (t.job.clone(), t.params.clone()))
            .collect()
    }

    /// The accepted triggers with all details.
    pub fn trigger_details(&self) -> Vec<Trigger> {
        self.state.lock().unwrap().triggers.clone()
    }

    /// Ends build `number` of `job` with `result` (`SUCCESS`, `UNSTABLE`,
    /// `FAILURE`, `NOT_BUILT`, `ABORTED`).
    pub fn finish_build(&self, job: &str, number: u64, result: &str) {
        assert!(
            ["SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED"].contains(&result),
            "not a Jenkins result: {result}"
        );
        let mut state = self.state.lock().unwrap();
        let build = find_build(&mut state, job, number);
        build.result = Some(result.into());
        build.duration = now_millis().saturating_sub(build.started).max(1);
    }

    /// Sets the text `{build url}consoleText` serves.
    pub fn set_console(&self, job: &str, number: u64, text: &str) {
        find_build(&mut self.state.lock().unwrap(), job, number).console = text.into();
    }

    /// Sets the JSON `{build url}testReport/api/json` serves (404 until set).
    pub fn set_test_report(&self, job: &str, number: u64, report: Value) {
        find_build(&mut self.state.lock().unwrap(), job, number).test_report = Some(report);
    }
}

fn find_build<'a>(state: &'a mut State, job: &str, number: u64) -> &'a mut Build {
    let job = job.trim_matches('/');
    state
        .builds
        .iter_mut()
        .find(|b| b.job == job && b.number == number)
        .unwrap_or_else(|| panic!("no build {job} #{number}"))
}

pub(crate) fn job_url(base: &str, job: &str) -> String {
    let parts: Vec<String> = job.split('/').map(super::encode_component).collect();
    format!("{base}/job/{}/", parts.join("/job/"))
}

fn page(status: u16, title: &str, text: &str) -> Response {
    let body = format!(
        "<html><head><title>{title} [Jenkins]</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    Response::bytes(status, "text/html;charset=utf-8", body)
}

fn not_found() -> Response {
    page(404, "Error 404 Not Found", "Not Found")
}

fn authenticate(state: &State, req: &Request) -> Result<(), Response> {
    let challenge = |r: Response| r.with_header("www-authenticate", "Basic realm=\"Jenkins\"");
    let Some(creds) = req.header("authorization").and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    }) else {
        return Err(challenge(page(
            401,
            "Authentication required",
            "You are authenticated as: anonymous",
        )));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let (user, token) = decoded.split_once(':').unwrap_or((&decoded, ""));
    if user != state.user || token != state.token {
        return Err(challenge(page(
            401,
            "Unauthorized",
            &format!("Invalid password/token for user: {user}"),
        )));
    }
    Ok(())
}

fn handle(state: &mut State, req: &Request) -> Response {
    if let Err(r) = authenticate(state, req) {
        return r;
    }
    let seg: Vec<String> = req
        .raw_segments()
        .iter()
        .map(|s| decode_segment(s).unwrap_or_default())
        .collect();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match seg.as_slice() {
        ["crumbIssuer", "api", "json"] => {
            return Response::json(
                200,
                &json!({ "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                         "crumb": "0f4ke0crumb", "crumbRequestField": "Jenkins-Crumb" }),
            );
        }
        ["queue", "item", id, "api", "json"] | ["queue", "item", id, "api", "json", ""] => {
            return queue_item(state, id);
        }
        _ => {}
    }
    // Job paths: job/a/job/b/<rest>.
    let mut names = Vec::new();
    let mut i = 0;
    while i + 1 < seg.len() && seg[i] == "job" {
        names.push(seg[i + 1]);
        i += 2;
    }
    if names.is_empty() {
        return not_found();
    }
    let job = names.join("/");
    if !state.jobs.contains_key(&job) {
        return not_found();
    }
    let rest: Vec<&str> = seg[i..].iter().copied().filter(|s| !s.is_empty()).collect();
    match rest.as_slice() {
        [endpoint @ ("build" | "buildWithParameters")] => {
            if req.method != "POST" {
                return page(
                    405,
                    "This URL requires POST",
                    "This URL requires a form submission using the POST method.",
                )
                .with_header("allow", "POST");
            }
            trigger(state, req, &job, endpoint)
        }
        ["api", "json"] => {
            let next = state.jobs[&job];
            let url = job_url(&state.base, &job);
            Response::json(
                200,
                &json!({ "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                         "name": job.rsplit('/').next(), "fullName": job, "url": url,
                         "buildable": true, "nextBuildNumber": next, "inQueue": false }),
            )
        }
        [number, tail @ ..] => match number.parse::<u64>() {
            Ok(n) => build_page(state, &job, n, tail),
            Err(_) => not_found(),
        },
        _ => not_found(),
    }
}

fn trigger(state: &mut State, req: &Request, job: &str, endpoint: &str) -> Response {
    let mut params = BTreeMap::new();
    let mut token = None;
    let mut fields = req.query_params();
    if req.content_type_is("application/x-www-form-urlencoded") {
        fields.extend(req.form_params());
    }
    for (k, v) in fields {
        match k.as_str() {
            "token" => token = Some(v),
            "delay" | "cause" | "json" | "Submit" => {}
            _ => {
                params.insert(k, v);
            }
        }
    }
    state.next_queue += 1;
    let queue_id = state.next_queue;
    let number = {
        let next = state.jobs.get_mut(job).expect("checked");
        *next += 1;
        *next - 1
    };
    state.triggers.push(Trigger {
        job: job.into(),
        endpoint: endpoint.into(),
        params: params.clone(),
        token,
        queue_id,
        number,
    });
    let declared = state.declared.get(job).cloned().unwrap_or_default();
    params.retain(|name, _| declared.contains(name));
    if state.scripts.contains_key(job) {
        state.to_run.push((job.into(), number));
    }
    state.builds.push(Build {
        job: job.into(),
        number,
        queue_id,
        params,
        started: now_millis(),
        result: None,
        duration: 0,
        console: String::new(),
        test_report: None,
    });
    let location = format!("{}/queue/item/{queue_id}/", state.base);
    Response::empty(201).with_header("location", location)
}

fn parameters_action(params: &BTreeMap<String, String>) -> Value {
    let list: Vec<Value> = params
        .iter()
        .map(|(k, v)| json!({ "_class": "hudson.model.StringParameterValue", "name": k, "value": v }))
        .collect();
    json!({ "_class": "hudson.model.ParametersAction", "parameters": list })
}

fn queue_item(state: &mut State, id: &str) -> Response {
    let Some(build) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.builds.iter().find(|b| b.queue_id == id))
    else {
        return not_found();
    };
    let polls = state.queue_polls.entry(build.queue_id).or_insert(0);
    *polls += 1;
    let job_url = job_url(&state.base, &build.job);
    let mut item = json!({
        "id": build.queue_id, "blocked": false, "stuck": false, "inQueueSince": build.started,
        "params": build.params.iter().map(|(k, v)| format!("\n{k}={v}")).collect::<String>(),
        "task": { "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                  "name": build.job.rsplit('/').next(), "url": job_url },
        "url": format!("queue/item/{}/", build.queue_id),
        "actions": [
            parameters_action(&build.params),
            { "_class": "hudson.model.CauseAction", "causes": [{
                "_class": "hudson.model.Cause$UserIdCause",
                "shortDescription": format!("Started by user {}", state.user),
                "userId": state.user, "userName": state.user }] },
        ],
    });
    if *polls == 1 {
        item["_class"] = json!("hudson.model.Queue$WaitingItem");
        item["buildable"] = json!(false);
        item["why"] = json!("In the quiet period. Expires in 4.9 sec");
        item["timestamp"] = json!(build.started + 5000);
    } else {
        item["_class"] = json!("hudson.model.Queue$LeftItem");
        item["buildable"] = json!(false);
        item["why"] = Value::Null;
        item["cancelled"] = json!(false);
        item["executable"] = json!({
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
            "number": build.number,
            "url": format!("{job_url}{}/", build.number),
        });
    }
    Response::json(200, &item)
}

fn build_page(state: &State, job: &str, number: u64, tail: &[&str]) -> Response {
    let Some(build) = state
        .builds
        .iter()
        .find(|b| b.job == job && b.number == number)
    else {
        return not_found();
    };
    let url = format!("{}{number}/", job_url(&state.base, job));
    match tail {
        ["api", "json"] => Response::json(
            200,
            &json!({
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "actions": [parameters_action(&build.params)],
                "building": build.result.is_none(), "result": build.result,
                "number": number, "id": number.to_string(), "queueId": build.queue_id,
                "displayName": format!("#{number}"),
                "fullDisplayName": format!("{} #{number}", job.replace('/', " » ")),
                "timestamp": build.started, "duration": build.duration,
                "estimatedDuration": -1, "url": url, "keepLog": false, "description": Value::Null,
            }),
        ),
        ["consoleText"] => Response::bytes(200, "text/plain;charset=utf-8", build.console.clone()),
        ["testReport", "api", "json"] => match &build.test_report {
            Some(report) => Response::json(200, report),
            None => not_found(),
        },
        _ => not_found(),
    }
}
