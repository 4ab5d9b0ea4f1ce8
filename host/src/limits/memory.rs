//! A cap on the linear memory of one instance.
//!
//! The cap is on the sum of every linear memory in the store (a component
//! instance usually has one large memory and a few small ones). A refused
//! `memory.grow` returns -1 to the guest, as the WebAssembly spec says a
//! failed grow does; a Rust guest then aborts on its failed allocation, which
//! traps the instance, and its request is answered with a 500.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

/// The [`ResourceLimiter`] of one store.
pub struct MemoryLimiter {
    component: Arc<str>,
    max: Option<usize>,
    total: usize,
    last_grant: usize,
}

impl MemoryLimiter {
    /// A limiter for an instance of `component`; `max` `None` is unlimited.
    pub fn new(component: Arc<str>, max: Option<usize>) -> Self {
        MemoryLimiter {
            component,
            max,
            total: 0,
            last_grant: 0,
        }
    }

    /// Bytes of linear memory granted so far.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.total
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grant = desired.saturating_sub(current);
        let wanted = self.total.saturating_add(grant);
        if let Some(max) = self.max
            && wanted > max
        {
            eprintln!(
                "component {:?}: memory limit reached: growing to {} MiB would exceed --max-instance-memory ({} MiB)",
                self.component,
                wanted >> 20,
                max >> 20
            );
            return Ok(false);
        }
        self.total = wanted;
        self.last_grant = grant;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.total = self.total.saturating_sub(self.last_grant);
        self.last_grant = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables are bounded by the pooling allocator's configuration.
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_memory_of_the_instance_against_one_cap() {
        let mut limiter = MemoryLimiter::new("c".into(), Some(100));
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        assert!(limiter.memory_growing(0, 30, None).unwrap());
        assert!(!limiter.memory_growing(30, 41, None).unwrap());
        assert!(limiter.memory_growing(60, 70, None).unwrap());
        assert_eq!(limiter.total(), 100);
        limiter
            .memory_grow_failed(wasmtime::format_err!("no"))
            .unwrap();
        assert_eq!(limiter.total(), 90);
    }

    #[test]
    fn no_cap_grants_everything() {
        let mut limiter = MemoryLimiter::new("c".into(), None);
        assert!(limiter.memory_growing(0, usize::MAX, None).unwrap());
    }
}
