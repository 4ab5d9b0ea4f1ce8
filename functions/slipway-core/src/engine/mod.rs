//! The engine: one level-triggered reconciler for runs and deployments.
//!
//! Entry points verify their input and record a *fact* on a record with
//! one compare-and-swap (push accepted, stage result reported, retry
//! asked, promote asked, …), then ask the engine to [`Engine::reconcile`]
//! that record. Reconciling looks only at the record: it derives what is
//! due (stages to start, builds to poll, timeouts, deployment steps,
//! statuses and notices to send), records each side effect as an
//! [intent](crate::intents) in the same swap that claims it, carries the
//! claimed effects out, and records their results with a second swap.
//! Running it twice, concurrently, or after a crash at any point converges
//! on the same state; the tick ([`tick`]) reconciles every unfinished
//! record through the [active index](crate::active) so nothing is left
//! behind.
//!
//! Layers: entry points (`hooks`, `progress`, `deploy::api`) → this engine
//! → stores (`runs`, `deploy::records`, `active`) → ports. The engine's
//! run and deployment halves never call each other: each returns the
//! records its effects touched, and [`Engine::reconcile`] works through
//! them as a queue.

pub mod approvals;
mod chat;
pub mod deploy_policy;
pub mod deploy_requests;
mod deployments;
pub mod repo;
pub mod retries;
mod runs;
#[cfg(test)]
mod sim;
pub mod tick;
pub mod trust;

use std::collections::VecDeque;

use crate::config::ControlPlane;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

pub use deploy_requests::Refusal;
pub use runs::{RunSettings, callback_token, plan_run, settled};

/// The Spin variable holding the key that signs callback tokens.
pub const CALLBACK_SECRET: &str = "callback_secret";
/// Most records one [`Engine::reconcile`] call works through.
const MAX_TARGETS: usize = 32;

/// What the engine and the entry points need from the world.
pub struct Deps<'a, K, H, C, S> {
    /// Pipeline state.
    pub kv: &'a K,
    /// Outbound HTTP.
    pub http: &'a H,
    /// Time.
    pub clock: &'a C,
    /// Secrets by variable name.
    pub secrets: &'a S,
    /// The control-plane configuration.
    pub config: &'a ControlPlane,
}

/// A record the engine reconciles.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A run, by id.
    Run(String),
    /// A deployment, by id.
    Deployment(String),
}

impl Target {
    /// `run:{id}` or `deployment:{id}` (the tick's cursor).
    pub fn key(&self) -> String {
        match self {
            Target::Run(id) => format!("run:{id}"),
            Target::Deployment(id) => format!("deployment:{id}"),
        }
    }
}

/// Where a reconcile runs, which decides the side effects it may take on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inside a request, before its answer: the runtime lets it finish.
    InRequest,
    /// After the response: the runtime may drop the instance at any point
    /// (Spin 4 keeps it about 1 s idle; with one request per instance, not
    /// at all). Only effects that may repeat are taken on; the rest wait
    /// for a reconcile in a request (the tick, the API).
    AfterResponse,
}

/// What reconciling one record found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Effects carried out.
    pub effects: u32,
    /// Whether the record is finished with nothing pending.
    pub done: bool,
}

/// The engine over a set of ports.
pub struct Engine<'d, 'a, K, H, C, S> {
    deps: &'d Deps<'a, K, H, C, S>,
}

impl<'d, 'a, K, H, C, S> Engine<'d, 'a, K, H, C, S>
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    /// The engine over `deps`.
    pub fn new(deps: &'d Deps<'a, K, H, C, S>) -> Self {
        Engine { deps }
    }

    /// Reconciles `target` and every record its effects touched, until
    /// nothing is due or `deadline_ms` passes (what is left stays recorded
    /// as intents for the next reconcile). Returns what the first target
    /// looked like at the end.
    pub async fn reconcile(&self, target: Target, deadline_ms: u64) -> Visit {
        self.reconcile_in(target, deadline_ms, Mode::InRequest)
            .await
    }

    /// [`Engine::reconcile`], in `mode`.
    pub async fn reconcile_in(&self, target: Target, deadline_ms: u64, mode: Mode) -> Visit {
        let mut queue = VecDeque::from([target]);
        let mut first = None;
        let mut handled = 0;
        while let Some(next) = queue.pop_front() {
            if handled == MAX_TARGETS {
                break;
            }
            handled += 1;
            let (visit, touched) = match &next {
                Target::Run(id) => runs::reconcile(self.deps, id, deadline_ms, mode).await,
                Target::Deployment(id) => {
                    deployments::reconcile(self.deps, id, deadline_ms, mode).await
                }
            };
            first.get_or_insert(visit);
            for t in touched {
                if !queue.contains(&t) {
                    queue.push_back(t);
                }
            }
            if self.deps.clock.now_ms() >= deadline_ms {
                break;
            }
        }
        first.unwrap_or_default()
    }
}
