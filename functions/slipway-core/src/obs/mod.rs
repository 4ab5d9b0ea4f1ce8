//! Observability: structured log lines ([`log`]), counters and histograms
//! kept in the key-value store ([`metrics`]), their Prometheus text
//! exposition ([`exposition`]), and the outbound HTTP wrapper that logs
//! every remote call a side effect makes ([`traced`]).
//!
//! Components are serverless: nothing survives a request in memory, so
//! every metric is a key-value counter changed with the store's atomic
//! increment, and most are derived from record transitions the stores
//! write anyway rather than counted on every request.

pub mod exposition;
pub mod log;
pub mod metrics;
pub mod traced;
