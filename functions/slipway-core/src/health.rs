//! The health report: identity of the build and a key-value round trip.

use serde::Serialize;

use crate::ports::KeyValue;

/// What `GET /api/health` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The application name.
    pub app: &'static str,
    /// The build version.
    pub version: &'static str,
    /// `"ok"` when every check passed, `"degraded"` otherwise.
    pub status: &'static str,
    /// The key-value round trip.
    pub key_value: KvCheck,
}

/// Result of writing, reading back and deleting a probe key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KvCheck {
    /// Whether the value read back equals the value written, and the
    /// probe was removed.
    pub ok: bool,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HealthReport {
    /// Whether the report should be served with a 200 status.
    pub fn is_healthy(&self) -> bool {
        self.key_value.ok
    }
}

/// Key under which probe `nonce` is written; health probes live under
/// `health/` and never outlive the request that made them.
pub fn probe_key(nonce: u64) -> String {
    format!("health/probe/{nonce:016x}")
}

/// Runs the checks. `nonce` must differ between concurrent requests.
pub async fn check(kv: &impl KeyValue, nonce: u64) -> HealthReport {
    let key_value = round_trip(kv, nonce).await;
    HealthReport {
        app: crate::APP_NAME,
        version: crate::VERSION,
        status: if key_value.ok { "ok" } else { "degraded" },
        key_value,
    }
}

async fn round_trip(kv: &impl KeyValue, nonce: u64) -> KvCheck {
    let key = probe_key(nonce);
    let value = nonce.to_le_bytes();
    let fail = |error: String| KvCheck {
        ok: false,
        error: Some(error),
    };
    if let Err(e) = kv.set(&key, &value).await {
        return fail(format!("set failed: {e}"));
    }
    let read = kv.get(&key).await;
    let deleted = kv.delete(&key).await;
    match (read, deleted) {
        (Err(e), _) => fail(format!("get failed: {e}")),
        (Ok(None), _) => fail("value written was not found".into()),
        (Ok(Some(v)), _) if v != value => fail("value read back differs from value written".into()),
        (Ok(Some(_)), Err(e)) => fail(format!("delete failed: {e}")),
        (Ok(Some(_)), Ok(())) => KvCheck {
            ok: true,
            error: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::KvError;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MemKv {
        map: RefCell<HashMap<String, Vec<u8>>>,
        corrupt: bool,
        fail_set: bool,
    }

    impl KeyValue for MemKv {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            let v = self.map.borrow().get(key).cloned();
            Ok(if self.corrupt {
                v.map(|_| b"x".to_vec())
            } else {
                v
            })
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
            if self.fail_set {
                return Err(KvError("disk full".into()));
            }
            self.map.borrow_mut().insert(key.into(), value.into());
            Ok(())
        }
        async fn delete(&self, key: &str) -> Result<(), KvError> {
            self.map.borrow_mut().remove(key);
            Ok(())
        }
    }

    #[test]
    fn healthy_round_trip_leaves_nothing_behind() {
        let kv = MemKv::default();
        let report = futures::executor::block_on(check(&kv, 7));
        assert!(report.is_healthy());
        assert_eq!(report.status, "ok");
        assert!(kv.map.borrow().is_empty());
    }

    #[test]
    fn mismatch_is_reported() {
        let kv = MemKv {
            corrupt: true,
            ..Default::default()
        };
        let report = futures::executor::block_on(check(&kv, 7));
        assert!(!report.is_healthy());
        assert_eq!(report.status, "degraded");
        assert!(report.key_value.error.unwrap().contains("differs"));
    }

    #[test]
    fn store_errors_are_reported() {
        let kv = MemKv {
            fail_set: true,
            ..Default::default()
        };
        let report = futures::executor::block_on(check(&kv, 1));
        assert_eq!(
            report.key_value.error.as_deref(),
            Some("set failed: key-value store: disk full")
        );
    }
}
