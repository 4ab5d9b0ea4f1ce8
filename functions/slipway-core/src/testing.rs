//! In-memory implementations of the ports, for unit tests.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::ports::{Clock, KeyValue, KvError, Swap};

/// A key-value store in memory, with counters encoded like Spin's SQLite store.
#[derive(Default)]
pub struct MemKv {
    /// The data.
    pub map: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Number of writes (set, delete, increment, successful swap).
    pub writes: Cell<usize>,
}

impl MemKv {
    /// Snapshot of all keys.
    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }
}

impl KeyValue for MemKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map.borrow().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.writes.set(self.writes.get() + 1);
        self.map.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.writes.set(self.writes.get() + 1);
        self.map.borrow_mut().remove(key);
        Ok(())
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.writes.set(self.writes.get() + 1);
        let mut map = self.map.borrow_mut();
        let current = match map.get(key) {
            None => 0,
            Some(v) => i64::from_le_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| KvError("not a counter".into()))?,
            ),
        };
        let next = current + delta;
        map.insert(key.into(), next.to_le_bytes().to_vec());
        Ok(next)
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<Swap, KvError> {
        let mut map = self.map.borrow_mut();
        match map.get(key) {
            Some(v) if v == expected => {
                self.writes.set(self.writes.get() + 1);
                map.insert(key.into(), new.into());
                Ok(Swap::Swapped)
            }
            other => Ok(Swap::Conflict(other.cloned())),
        }
    }
}

/// A clock whose time moves only when slept on.
pub struct FakeClock(pub Cell<u64>);

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    async fn sleep(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}
