//! Wall-clock time and sleeping through WASI.

use std::time::{SystemTime, UNIX_EPOCH};

use slipway_core::ports::Clock;

/// The host's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasiClock;

impl Clock for WasiClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    async fn sleep(&self, ms: u64) {
        spin_sdk::wasip3::clocks::monotonic_clock::wait_for(ms.saturating_mul(1_000_000)).await;
    }
}
