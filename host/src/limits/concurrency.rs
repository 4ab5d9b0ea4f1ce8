//! A cap on the requests one component serves at the same time.
//!
//! Each component has a semaphore. A request takes a permit without
//! waiting; when none is left the host answers 503 with `Retry-After: 1` at
//! once. The permit is held by the response body, so it is released when the
//! response has been sent (or when the request fails).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Rejection;
use crate::app::HttpBody;

/// The concurrency gate of one component.
pub struct Gate {
    component: String,
    slots: Option<(Arc<Semaphore>, usize)>,
}

/// A place in a [`Gate`]; the request holds it until it is dropped.
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Gate {
    /// A gate letting `limit` requests of `component` in at once (`None`:
    /// no limit).
    pub fn new(component: &str, limit: Option<usize>) -> Self {
        let limit = limit.map(|l| l.min(Semaphore::MAX_PERMITS));
        Gate {
            component: component.to_owned(),
            slots: limit.map(|l| (Arc::new(Semaphore::new(l)), l)),
        }
    }

    /// Takes a slot, or refuses with [`Rejection::Busy`] when all are taken.
    pub fn try_enter(&self) -> Result<Slot, Rejection> {
        let Some((semaphore, limit)) = &self.slots else {
            return Ok(Slot { _permit: None });
        };
        match semaphore.clone().try_acquire_owned() {
            Ok(permit) => Ok(Slot {
                _permit: Some(permit),
            }),
            Err(_) => Err(Rejection::Busy {
                component: self.component.clone(),
                limit: *limit,
            }),
        }
    }
}

/// Makes `response`'s body hold `slot` until the body is dropped.
pub fn hold_until_sent(response: http::Response<HttpBody>, slot: Slot) -> http::Response<HttpBody> {
    response.map(|body| crate::guarded_body::guarded(body, slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_refuses_past_its_limit_and_reopens() {
        let gate = Gate::new("c", Some(2));
        let a = gate.try_enter().expect("first");
        let _b = gate.try_enter().expect("second");
        assert!(matches!(
            gate.try_enter(),
            Err(Rejection::Busy { limit: 2, .. })
        ));
        drop(a);
        assert!(gate.try_enter().is_ok());
    }

    #[test]
    fn no_limit_never_refuses() {
        let gate = Gate::new("c", None);
        let slots: Vec<_> = (0..1000).map(|_| gate.try_enter()).collect();
        assert!(slots.iter().all(Result::is_ok));
    }
}
