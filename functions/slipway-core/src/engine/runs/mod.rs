//! Reconciling a run: plan (pure, one compare-and-swap that also claims
//! the due side effects), carry the claims out, record their results
//! (a second swap), and go round again while something new came due.

mod apply;
mod effect;
mod effects;
mod plan;
mod statuses;

use super::{Deps, Mode, Target, Visit};

use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::index::RunIndex;
use crate::runs::{RunStore, StoreError};

pub use apply::Outcome;
use effect::Effect;
pub use effects::callback_token;
pub use plan::{RunSettings, plan_run};

/// Whether `run` is finished with nothing left to do: no pending effect,
/// and none that planning it now would add.
pub fn settled(
    run: &crate::runs::RunRecord,
    config: &crate::config::ControlPlane,
    now_ms: u64,
) -> bool {
    let mut probe = run.clone();
    let settings = RunSettings::for_run(config, &probe);
    plan_run(&mut probe, &settings, now_ms, Mode::InRequest);
    probe.status.is_terminal() && probe.intents.is_empty()
}

/// Rounds of one reconcile: each round's results may make new effects due
/// (a failed trigger fails the run, which wants its status and notice).
const MAX_ROUNDS: usize = 6;
/// Tries to record one effect's result when the store fails.
const RECORD_TRIES: usize = 5;

/// Reconciles run `id` until nothing is due or `deadline_ms` passes.
pub(super) async fn reconcile<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    id: &str,
    deadline_ms: u64,
    mode: Mode,
) -> (Visit, Vec<Target>)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let runs = RunStore::new(deps.kv);
    let mut visit = Visit::default();
    let mut touched = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let now = deps.clock.now_ms();
        let planned = runs
            .update(id, |r| {
                let settings = RunSettings::for_run(deps.config, r);
                Ok(plan_run(r, &settings, now, mode))
            })
            .await;
        let (record, claims) = match planned {
            Ok((record, claims, _)) => (record, claims),
            Err(StoreError::NotFound(_)) => {
                visit.done = true;
                break;
            }
            Err(e) => {
                eprintln!("run {id}: {e}");
                break;
            }
        };
        if claims.is_empty() {
            visit.done = record.status.is_terminal() && record.intents.is_empty();
            // A summary lost to a crash after the run's write is put back
            // here, before the tick lets a finished run go.
            if let Err(e) = RunIndex::new(deps.kv).ensure(&record).await {
                eprintln!("run {id}: index: {e}");
            }
            break;
        }
        // Each result is recorded as soon as it is known, so a request that
        // dies repeats at most the one effect it was carrying out.
        for claim in claims {
            let outcome = if deps.clock.now_ms() >= deadline_ms {
                Outcome::NotTried
            } else {
                let (outcome, more) = effects::execute_traced(deps, &record, &claim).await;
                visit.effects += 1;
                touched.extend(more);
                outcome
            };
            // The build's id is indexed before the trigger is recorded, so
            // once the run says the stage runs, its status webhooks find it.
            if let (
                Outcome::Triggered {
                    external_id: Some(build),
                    ..
                },
                Some(Effect::Trigger { stage, attempt }),
            ) = (&outcome, Effect::parse(&claim.id))
            {
                effects::index_build(deps, &record, &stage, attempt, build).await;
            }
            let now = deps.clock.now_ms();
            // A store hiccup here would repeat an effect that happened:
            // try the record a few times before leaving it to the lease.
            let mut recorded = Err(StoreError::Contention(id.to_owned()));
            for _ in 0..RECORD_TRIES {
                recorded = runs
                    .update(id, |r| {
                        apply::apply(r, &claim, &outcome, now);
                        Ok(())
                    })
                    .await;
                if !matches!(recorded, Err(StoreError::Kv(_))) {
                    break;
                }
            }
            if let Err(e) = recorded {
                // The intent stays claimed; its lease runs out and the
                // effect is carried out again by a later reconcile.
                eprintln!("run {id}: result of {} not recorded: {e}", claim.id);
                return (visit, touched);
            }
        }
        if deps.clock.now_ms() >= deadline_ms {
            break;
        }
    }
    (visit, touched)
}
