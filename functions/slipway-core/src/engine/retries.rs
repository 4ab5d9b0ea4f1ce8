//! Starting a failed stage again as a new attempt: a fact on the run,
//! with the run put back in the tick's index around it.

use super::deploy_requests::Refusal;
use crate::active::ActiveIndex;
use crate::ports::{Clock, KeyValue};
use crate::runs::{RunStore, StoreError, TransitionError, parse_run_id};

fn refused(e: TransitionError) -> Refusal {
    match e {
        TransitionError::UnknownStage(_) => Refusal::NotFound(e.to_string()),
        other => Refusal::Conflict(other.to_string()),
    }
}

/// Records a retry of `stage` of `run_id` asked for by person `by`; the
/// new attempt's number.
/// Refusals write nothing (an index entry put back for a retry refused by
/// the swap is dropped by the next tick).
pub async fn retry_stage(
    kv: &impl KeyValue,
    clock: &impl Clock,
    run_id: &str,
    stage: &str,
    by: &str,
) -> Result<u32, Refusal> {
    let runs = RunStore::new(kv);
    match runs.load(run_id).await {
        Ok(Some(mut run)) => {
            run.retry_stage(stage, by, clock.now_ms())
                .map_err(refused)?;
        }
        Ok(None) => return Err(Refusal::NotFound(format!("no run {run_id:?}"))),
        Err(e) => return Err(Refusal::Unavailable(e.to_string())),
    }
    let (app, number) =
        parse_run_id(run_id).ok_or_else(|| Refusal::NotFound(format!("no run {run_id:?}")))?;
    // The run may have finished and left the tick's index: put it back
    // first, so a retry recorded is never missed by the tick.
    ActiveIndex::new(kv)
        .reopen_run(app, number, clock.now_ms())
        .await
        .map_err(|e| Refusal::Unavailable(format!("state store unavailable: {e}")))?;
    let now = clock.now_ms();
    let attempt = match runs.update(run_id, |r| r.retry_stage(stage, by, now)).await {
        Ok((_, attempt, _)) => attempt,
        Err(StoreError::NotFound(_)) => {
            return Err(Refusal::NotFound(format!("no run {run_id:?}")));
        }
        Err(StoreError::Transition(e)) => return Err(refused(e)),
        Err(e) => return Err(Refusal::Unavailable(e.to_string())),
    };
    // And again: a tick that saw the run finished just before the fact
    // may have dropped it in between.
    let _ = ActiveIndex::new(kv)
        .reopen_run(app, number, clock.now_ms())
        .await;
    Ok(attempt)
}
