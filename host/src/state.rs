//! The per-instance store data: WASI, WASI HTTP and Spin capabilities.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p3::{WasiHttpCtxView, WasiHttpView};

use crate::key_value::ComponentStores;
use crate::limits::memory::MemoryLimiter;
use crate::limits::timeout::RequestClock;
use crate::outbound::hooks::OutboundHooks;
use crate::variables::host::ComponentVariables;

/// Everything one component instance can reach.
pub struct HostState {
    /// WASI CLI, clocks, random, I/O.
    pub wasi: WasiCtx,
    /// WASI HTTP context.
    pub http: WasiHttpCtx,
    /// Resources handed to the guest.
    pub table: ResourceTable,
    /// Outbound policy and service chaining.
    pub outbound: OutboundHooks,
    /// Key-value stores the component may open.
    pub kv: ComponentStores,
    /// The component's variables.
    pub variables: ComponentVariables,
    /// The instance's memory cap.
    pub memory: MemoryLimiter,
    /// The requests in flight, for the request timeout.
    pub clock: RequestClock,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.outbound,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}
