//! Reconciling a run: plan (pure, one compare-and-swap that also claims
//! the due side effects), carry the claims out, record their results
//! (a second swap), and go round again while something new came due.

mod apply;
mod effect;
mod effects;
mod plan;
mod statuses;

use super::{Deps, Target, Visit};

use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{RunStore, StoreError};

pub use apply::Outcome;
pub use effects::callback_token;
pub use plan::{RunSettings, plan_run};

/// Rounds of one reconcile: each round's results may make new effects due
/// (a failed trigger fails the run, which wants its status and notice).
const MAX_ROUNDS: usize = 6;

/// Reconciles run `id` until nothing is due or `deadline_ms` passes.
pub(super) async fn reconcile<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    id: &str,
    deadline_ms: u64,
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
                Ok(plan_run(r, &settings, now))
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
            break;
        }
        let mut outcomes = Vec::with_capacity(claims.len());
        for claim in claims {
            if deps.clock.now_ms() >= deadline_ms {
                outcomes.push((claim, Outcome::NotTried));
                continue;
            }
            let (outcome, more) = effects::execute(deps, &record, &claim).await;
            visit.effects += 1;
            touched.extend(more);
            outcomes.push((claim, outcome));
        }
        let now = deps.clock.now_ms();
        let recorded = runs
            .update(id, |r| {
                for (claim, outcome) in &outcomes {
                    apply::apply(r, claim, outcome, now);
                }
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            // The intents stay claimed; their leases run out and the
            // effects are carried out again by a later reconcile.
            eprintln!("run {id}: results not recorded: {e}");
            break;
        }
        if deps.clock.now_ms() >= deadline_ms {
            break;
        }
    }
    (visit, touched)
}
