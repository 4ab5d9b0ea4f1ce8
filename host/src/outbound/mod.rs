//! Outbound HTTP: the allow-list and the `wasi:http` hooks that enforce it
//! and route `*.spin.internal` requests to components in-process.

pub mod allowed_hosts;
pub mod hooks;
