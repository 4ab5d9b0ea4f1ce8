//! Request timeouts inside guest code, by epoch interruption.
//!
//! A ticker thread advances the engine's epoch every [`TICK`]. Every store
//! gets an epoch-deadline callback that runs after each tick of guest
//! execution: it yields to the async runtime (so a busy guest never holds a
//! runtime thread for long) and traps the guest when the store has been busy
//! for longer than the request timeout.
//!
//! One store (one instance) may serve several requests at once, so "busy
//! for" is measured per store, from the start of its oldest in-flight
//! request; with none in flight (instantiation, or guest work left running
//! after the last response), from when it last went idle. A trap ends the
//! instance: every request it is serving fails with a 500, and it is never
//! reused. Guests that are waiting (on I/O or timers) rather than running
//! are timed out by the instance pool itself (`HandlerState::request_timeout`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// How often the epoch advances: the precision of the timeout, and how long
/// guest code runs between two yields to the async runtime.
pub const TICK: Duration = Duration::from_millis(10);

/// Starts the thread that advances `engine`'s epoch every [`TICK`]; it ends
/// when the engine is dropped.
pub fn start_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                let Some(engine) = weak.upgrade() else { break };
                engine.increment_epoch();
            }
        })
        .map(drop)
}

/// A guest ran past the request timeout.
#[derive(Debug, thiserror::Error)]
#[error("request timed out: the instance was busy for {busy:?} (limit {limit:?})")]
pub struct TimedOut {
    /// How long the store had been busy.
    pub busy: Duration,
    /// `--request-timeout`.
    pub limit: Duration,
}

/// When each request a store serves started, and since when the store has
/// had none. Cheap to clone; clones share the same state.
#[derive(Clone)]
pub struct RequestClock(Arc<Mutex<ClockState>>);

struct ClockState {
    next_id: u64,
    in_flight: BTreeSet<(Instant, u64)>,
    idle_since: Instant,
}

impl Default for RequestClock {
    fn default() -> Self {
        RequestClock(Arc::new(Mutex::new(ClockState {
            next_id: 0,
            in_flight: BTreeSet::new(),
            idle_since: Instant::now(),
        })))
    }
}

impl RequestClock {
    fn lock(&self) -> MutexGuard<'_, ClockState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that a request started now; it ends when the guard drops.
    pub fn start(&self) -> InFlight {
        let mut state = self.lock();
        let key = (Instant::now(), state.next_id);
        state.next_id += 1;
        state.in_flight.insert(key);
        InFlight {
            clock: self.clone(),
            key,
        }
    }

    /// How long the store has been busy: since its oldest in-flight request
    /// started, or, with none, since it last went idle.
    pub fn busy_for(&self) -> Duration {
        let state = self.lock();
        let since = state
            .in_flight
            .first()
            .map_or(state.idle_since, |(started, _)| *started);
        since.elapsed()
    }
}

/// One request in flight in a store; dropping it ends the request.
pub struct InFlight {
    clock: RequestClock,
    key: (Instant, u64),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        state.in_flight.remove(&self.key);
        if state.in_flight.is_empty() {
            state.idle_since = Instant::now();
        }
    }
}

/// Installs the epoch-deadline callback on `store`. `clock_of` finds the
/// store's [`RequestClock`] in its data; `limit` `None` only yields.
pub fn arm<T: 'static>(
    store: &mut Store<T>,
    limit: Option<Duration>,
    clock_of: fn(&T) -> &RequestClock,
) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |ctx| on_deadline(clock_of(ctx.data()), limit));
}

fn on_deadline(clock: &RequestClock, limit: Option<Duration>) -> wasmtime::Result<UpdateDeadline> {
    if let Some(limit) = limit {
        let busy = clock.busy_for();
        if busy > limit {
            return Err(wasmtime::Error::from(Trap::Interrupt).context(TimedOut { busy, limit }));
        }
    }
    Ok(UpdateDeadline::Yield(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_follows_the_oldest_request_then_idleness() {
        let clock = RequestClock::default();
        let first = clock.start();
        std::thread::sleep(Duration::from_millis(30));
        let second = clock.start();
        assert!(clock.busy_for() >= Duration::from_millis(30));
        drop(first);
        assert!(clock.busy_for() < Duration::from_millis(30));
        drop(second);
        assert!(clock.busy_for() < Duration::from_millis(30));
    }

    #[test]
    fn a_busy_store_traps_only_past_the_limit() {
        let clock = RequestClock::default();
        let _request = clock.start();
        assert!(matches!(
            on_deadline(&clock, Some(Duration::from_secs(60))),
            Ok(UpdateDeadline::Yield(1))
        ));
        assert!(on_deadline(&clock, None).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        let error = on_deadline(&clock, Some(Duration::from_millis(1)))
            .err()
            .expect("past the limit");
        assert!(error.downcast_ref::<TimedOut>().is_some(), "{error:?}");
    }
}
