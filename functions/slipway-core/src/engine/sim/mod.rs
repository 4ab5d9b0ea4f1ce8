//! A deterministic simulation of the engine under concurrency, crashes and
//! unreliable services.
//!
//! A schedule is a seed. It runs bursts of concurrent requests (signed
//! pushes and their redeliveries, duplicate, late and concurrent
//! callbacks, ticks, retries, deploy/promote/abort/rollback), interleaved
//! at every store and remote call, with some requests dropped mid-way (a
//! crash), store calls failing, remote services slow, failing or losing
//! their answer after acting, and time passing between bursts. Then, with
//! faults off, it lets time pass and ticks until everything settles, and
//! checks the invariants ([`invariants`]).

mod invariants;
mod requests;
mod rng;
mod world;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::config::ControlPlane;
use crate::deploy::kubernetes::tests::{canary::with_traffic, fake::FakeKube, world as kube_world};
use crate::deploy::records::DeploymentStatus;
use crate::testing::MemKv;

use self::rng::Rng;
use self::world::{Builds, Call, Dials, SimClock};

pub const HOOK_SECRET: &str = "sim-hook-secret";
pub const API_TOKEN: &str = "sim-api-token-for-the-operators";
/// Distinct push events a schedule delivers (each maybe several times).
const EVENTS: u64 = 4;
/// Bursts of concurrent requests per schedule.
const BURSTS: u32 = 14;

const CONFIG: &str = r#"
public_url = "https://slipway.sim"
[providers.github]
api_base = "https://git.sim"
token_secret = "github_token"
webhook_secret = "github_webhook_secret"
[apps.web]
provider = "github"
repo = "Codertocat/Hello-World"
[[apps.web.notify]]
type = "slack"
webhook_secret = "slack_url"
[build_services.ci]
type = "jenkins"
url = "https://jenkins.sim"
user = "slipway"
token_secret = "jenkins_token"
[environments.prod]
platform = "kubernetes"
api_server = "https://k8s.example.com:6443"
namespace = "prod"
token_secret = "K8S_TOKEN"
[access.people.sim-ops]
[[access.grants]]
role = "admin"
to = ["sim-ops"]
[access.tokens.sim]
owner = "sim-ops"
hash_secret = "token_sim"
"#;

/// What one delivered push was answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub event: u64,
    pub status: u16,
    pub run: Option<String>,
}

/// Everything a schedule touches.
pub struct World {
    pub mem: MemKv,
    pub dials: Dials,
    pub clock: SimClock,
    pub kube: FakeKube,
    pub calls: RefCell<Vec<Call>>,
    pub builds: RefCell<Builds>,
    pub config: ControlPlane,
    /// Requests dropped mid-way.
    pub crashed: RefCell<BTreeSet<u64>>,
    pub answers: RefCell<Vec<Answer>>,
    /// Every deployment status seen, by deployment id, in order.
    pub deployments_seen: RefCell<BTreeMap<String, Vec<DeploymentStatus>>>,
    pub violations: RefCell<Vec<String>>,
}

impl World {
    fn new(seed: u64) -> World {
        let kube = kube_world();
        with_traffic(&kube);
        World {
            mem: MemKv::default(),
            dials: Dials {
                rng: RefCell::new(Rng::new(seed)),
                current: Default::default(),
                kv_failure: 15.into(),
                remote_failure: 60.into(),
                remote_slow: 20.into(),
            },
            clock: SimClock(std::cell::Cell::new(1_800_000_000_000)),
            kube,
            calls: RefCell::new(Vec::new()),
            builds: RefCell::new(Builds::default()),
            config: ControlPlane::parse(CONFIG).expect("simulation config"),
            crashed: RefCell::new(BTreeSet::new()),
            answers: RefCell::new(Vec::new()),
            deployments_seen: RefCell::new(BTreeMap::new()),
            violations: RefCell::new(Vec::new()),
        }
    }

    fn rand(&self, n: u64) -> u64 {
        self.dials.rng.borrow_mut().below(n)
    }
}

type Request<'w> = Pin<Box<dyn Future<Output = ()> + 'w>>;

struct Task<'w> {
    id: u64,
    request: Request<'w>,
    crash_after: Option<u32>,
    polls: u32,
}

/// Polls `tasks` in a random order until each is done or crashed.
fn run_burst<'w>(w: &'w World, mut tasks: Vec<Task<'w>>) {
    let mut cx = Context::from_waker(Waker::noop());
    while !tasks.is_empty() {
        let i = w.rand(tasks.len() as u64) as usize;
        w.dials.current.set(tasks[i].id);
        let ready = matches!(tasks[i].request.as_mut().poll(&mut cx), Poll::Ready(()));
        tasks[i].polls += 1;
        if ready {
            tasks.swap_remove(i);
        } else if tasks[i].crash_after == Some(tasks[i].polls) {
            w.crashed.borrow_mut().insert(tasks[i].id);
            tasks.swap_remove(i);
        }
        invariants::observe_deployments(w);
        w.clock.0.set(w.clock.0.get() + w.rand(20));
    }
}

/// The outcome of one schedule.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Requests made.
    pub requests: u64,
    /// Requests dropped mid-way.
    pub crashes: u64,
    /// Runs created.
    pub runs: u64,
    /// Deployments created.
    pub deployments: u64,
    /// Remote calls repeated because a request died, stalled past its
    /// lease or lost the answer (the documented at-least-once window).
    pub repeats: u64,
    /// What broke, if anything.
    pub violations: Vec<String>,
}

/// Runs the schedule of `seed` and checks the invariants.
pub fn run_schedule(seed: u64) -> Summary {
    let w = World::new(seed);
    let mut next_id = 0;
    for _ in 0..BURSTS {
        let mut tasks = Vec::new();
        for _ in 0..=w.rand(4) {
            next_id += 1;
            let crash_after = (w.rand(100) < 12).then(|| 1 + w.rand(40) as u32);
            tasks.push(Task {
                id: next_id,
                request: requests::random(&w, next_id),
                crash_after,
                polls: 0,
            });
        }
        run_burst(&w, tasks);
        // Quiet time between bursts: builds finish, clusters roll out.
        requests::world_moves_on(&w);
        w.clock.0.set(w.clock.0.get() + w.rand(90_000));
    }
    settle(&w, &mut next_id);
    let mut summary = invariants::check(&w);
    if std::env::var("SLIPWAY_SIM_TRACE").is_ok() {
        trace(&w);
    }
    summary.requests = next_id;
    summary.crashes = w.crashed.borrow().len() as u64;
    summary
}

/// Prints the records and remote calls of a schedule (to read one that
/// failed: `SLIPWAY_SIM_TRACE=1 SLIPWAY_SIM_SEED=n cargo test -p
/// slipway-core replay -- --ignored --nocapture`).
fn trace(w: &World) {
    for (k, v) in w.mem.map.borrow().iter() {
        if k.starts_with("active/") || k.starts_with("run/") || k.starts_with("deployment/") {
            println!("{k} = {}", String::from_utf8_lossy(v));
        }
    }
    for call in w.calls.borrow().iter() {
        println!(
            "{call:?} crashed={}",
            w.crashed.borrow().contains(&call.request)
        );
    }
}

/// Faults off: builds finish, the cluster rolls out, time passes and the
/// tick runs until nothing is left to do.
fn settle(w: &World, next_id: &mut u64) {
    w.dials.kv_failure.set(0);
    w.dials.remote_failure.set(0);
    w.dials.remote_slow.set(0);
    for _ in 0..8 {
        requests::world_moves_on(w);
        requests::finish_every_build(w);
        w.clock.0.set(w.clock.0.get() + 5 * 60 * 1000);
        *next_id += 1;
        run_burst(
            w,
            vec![Task {
                id: *next_id,
                request: Box::pin(requests::tick(w)),
                crash_after: None,
                polls: 0,
            }],
        );
    }
}

#[cfg(test)]
mod tests;
