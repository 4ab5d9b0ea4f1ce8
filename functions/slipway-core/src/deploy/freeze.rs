//! Locking an environment by hand (`lock app env reason`): a flag on the
//! environment's lock record, so a deployment asking for the environment
//! and a person locking it are decided by the same compare-and-swap. A
//! deployment already running goes on; no new one starts until unlocked.

pub use super::lock::Freeze;
use super::lock::{Lock, lock_key};
use crate::cells::{self, CellError};
use crate::ports::KeyValue;

/// The lock record of `app` in `env` as it is (a fresh one if never used).
pub async fn state(kv: &impl KeyValue, app: &str, env: &str) -> Result<Lock, CellError> {
    Ok(cells::load(kv, &lock_key(app, env))
        .await?
        .unwrap_or_else(Lock::fresh))
}

/// Locks the environment; `Err` with the freeze already in place.
pub async fn lock(
    kv: &impl KeyValue,
    app: &str,
    env: &str,
    freeze: Freeze,
) -> Result<Result<Lock, Freeze>, CellError> {
    let (stored, refused, _) = cells::update(kv, &lock_key(app, env), Lock::fresh, |l| {
        if let Some(existing) = &l.frozen {
            return Some(existing.clone());
        }
        l.frozen = Some(freeze.clone());
        l.version += 1;
        None
    })
    .await?;
    Ok(match refused {
        Some(existing) => Err(existing),
        None => Ok(stored),
    })
}

/// Unlocks the environment; the freeze it lifted, if there was one.
pub async fn unlock(kv: &impl KeyValue, app: &str, env: &str) -> Result<Option<Freeze>, CellError> {
    let (_, lifted, _) = cells::update(kv, &lock_key(app, env), Lock::fresh, |l| {
        let lifted = l.frozen.take();
        if lifted.is_some() {
            l.version += 1;
        }
        lifted
    })
    .await?;
    Ok(lifted)
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::deploy::records::Records;
    use crate::testing::MemKv;

    #[test]
    fn a_locked_environment_refuses_new_holders_until_unlocked() {
        let kv = MemKv::default();
        let freeze = Freeze {
            by: "alice".into(),
            reason: Some("incident".into()),
            since_ms: 5,
        };
        assert!(
            block_on(lock(&kv, "shop", "prod", freeze.clone()))
                .unwrap()
                .is_ok()
        );
        let again = Freeze {
            by: "bob".into(),
            ..freeze.clone()
        };
        assert_eq!(
            block_on(lock(&kv, "shop", "prod", again)).unwrap(),
            Err(freeze.clone())
        );
        let records = Records::new(&kv);
        let refused = block_on(records.acquire("shop", "prod", "shop.prod.1", 10, 1000)).unwrap();
        assert_eq!(refused.unwrap_err().frozen, Some(freeze.clone()));
        assert_eq!(block_on(unlock(&kv, "shop", "prod")).unwrap(), Some(freeze));
        assert_eq!(block_on(unlock(&kv, "shop", "prod")).unwrap(), None);
        assert!(
            block_on(records.acquire("shop", "prod", "shop.prod.1", 10, 1000))
                .unwrap()
                .is_ok()
        );
        // A holder keeps its deployment going through a later lock.
        let late = Freeze {
            by: "carol".into(),
            reason: None,
            since_ms: 20,
        };
        assert!(block_on(lock(&kv, "shop", "prod", late)).unwrap().is_ok());
        assert!(block_on(records.renew("shop", "prod", "shop.prod.1", 30, 1000)).unwrap());
        assert!(
            block_on(records.acquire("shop", "prod", "shop.prod.1", 30, 1000))
                .unwrap()
                .is_ok()
        );
    }
}
