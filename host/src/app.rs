//! A loaded application: its routes and one instance pool per component,
//! and the dispatch of a request to the component that serves it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Result as WasmResult};
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi::{DirPerms, FilePerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::handler::{HandlerState, ProxyHandler, ProxyPre, StoreBundle};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use crate::dispatch::{InvokeError, serve_in_instance};
use crate::key_value::ComponentStores;
use crate::limits::concurrency::{Gate, hold_until_sent};
use crate::limits::memory::MemoryLimiter;
use crate::limits::timeout::RequestClock;
use crate::limits::{HostLimits, Rejection, body};
use crate::outbound::allowed_hosts::AllowedHosts;
use crate::outbound::hooks::OutboundHooks;
use crate::routes::{RouteMatch, RouteTable};
use crate::state::HostState;
use crate::variables::host::ComponentVariables;

/// A request or response body as WASI HTTP produces and consumes it.
pub type HttpBody = UnsyncBoxBody<Bytes, ErrorCode>;

/// Spin's instance reuse settings for WASIp3 components.
#[derive(Debug, Clone, Copy)]
pub struct InstanceSettings {
    /// Requests served by one instance before it is dropped.
    pub max_reuse: usize,
    /// Requests one instance serves at the same time.
    pub max_concurrent: usize,
    /// How long an idle instance is kept.
    pub idle_timeout: Duration,
}

/// Everything needed to create stores for one component.
pub struct ComponentSetup {
    /// The component id.
    pub id: String,
    /// Its compiled code.
    pub component: Component,
    /// Guest environment variables.
    pub env: Vec<(String, String)>,
    /// Its key-value access.
    pub kv: ComponentStores,
    /// Its rendered variables.
    pub variables: ComponentVariables,
    /// Its outbound allow-list.
    pub allowed: Arc<AllowedHosts>,
    /// Where its stdout goes.
    pub stdout: OutputFile,
    /// Where its stderr goes.
    pub stderr: OutputFile,
    /// Directories it sees (Spin `files`), read-only.
    pub mounts: Vec<crate::files::Mount>,
}

/// The [`HandlerState`] of one component's instance pool.
pub struct ComponentPool {
    engine: Engine,
    setup: ComponentSetup,
    app: Weak<App>,
    settings: InstanceSettings,
    limits: HostLimits,
    gate: Gate,
}

impl HandlerState for ComponentPool {
    type StoreData = HostState;

    fn new_store(&self, _req_id: Option<u64>) -> WasmResult<StoreBundle<HostState>> {
        let setup = &self.setup;
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(&setup.env)
            .stdout(setup.stdout.clone())
            .stderr(setup.stderr.clone());
        for mount in &setup.mounts {
            wasi.preopened_dir(&mount.host, &mount.guest, DirPerms::READ, FilePerms::READ)?;
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: Default::default(),
            outbound: OutboundHooks {
                component: setup.id.clone(),
                allowed: setup.allowed.clone(),
                app: self.app.clone(),
            },
            kv: setup.kv.clone(),
            variables: setup.variables.clone(),
            memory: MemoryLimiter::new(setup.id.as_str().into(), self.limits.max_instance_memory),
            clock: RequestClock::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        crate::limits::timeout::arm(&mut store, self.limits.request_timeout, |s| &s.clock);
        Ok(StoreBundle {
            store,
            write_profile: Box::new(|_| {}),
        })
    }

    fn request_timeout(&self) -> Duration {
        self.limits.request_timeout.unwrap_or(Duration::MAX)
    }

    fn idle_instance_timeout(&self) -> Duration {
        self.settings.idle_timeout
    }

    fn max_instance_reuse_count(&self) -> usize {
        self.settings.max_reuse
    }

    fn max_instance_concurrent_reuse_count(&self) -> usize {
        self.settings.max_concurrent
    }

    fn handle_worker_error(&self, error: wasmtime::Error) {
        eprintln!("component {:?}: instance failed: {error:?}", self.setup.id);
    }
}

/// Name, version and route prefix of an application.
#[derive(Debug, Clone)]
pub struct AppIdentity {
    /// `[application] name`.
    pub name: String,
    /// `[application] version`.
    pub version: String,
    /// Route prefix.
    pub base: String,
}

/// A running application.
pub struct App {
    /// `[application] name`.
    pub name: String,
    /// `[application] version`.
    pub version: String,
    /// Route prefix.
    pub base: String,
    /// The HTTP routes.
    pub routes: RouteTable,
    handlers: HashMap<String, ProxyHandler<ComponentPool>>,
    limits: HostLimits,
}

impl App {
    /// Pre-instantiates every component and builds the instance pools.
    pub fn new(
        identity: AppIdentity,
        routes: RouteTable,
        engine: &Engine,
        linker: &Linker<HostState>,
        components: Vec<ComponentSetup>,
        settings: InstanceSettings,
        limits: HostLimits,
    ) -> anyhow::Result<Arc<App>> {
        let mut pres = Vec::new();
        for setup in components {
            let pre = linker.instantiate_pre(&setup.component).map_err(|e| {
                anyhow::anyhow!(
                    "component {:?} imports something this host does not provide: {e}",
                    setup.id
                )
            })?;
            let service = ServicePre::new(pre).map_err(|e| {
                anyhow::anyhow!(
                    "component {:?} does not export wasi:http/handler@0.3.0-rc-2026-03-15: {e}",
                    setup.id
                )
            })?;
            pres.push((setup, service));
        }
        Ok(Arc::new_cyclic(|app| {
            let handlers = pres
                .into_iter()
                .map(|(setup, service)| {
                    let id = setup.id.clone();
                    let pool = ComponentPool {
                        engine: engine.clone(),
                        gate: Gate::new(&setup.id, limits.max_concurrent_requests),
                        setup,
                        app: app.clone(),
                        settings,
                        limits,
                    };
                    (id, ProxyHandler::new(pool, ProxyPre::P3(service)))
                })
                .collect();
            App {
                name: identity.name,
                version: identity.version,
                base: identity.base,
                routes,
                handlers,
                limits,
            }
        }))
    }

    /// Serves one request from a client.
    pub async fn handle(
        &self,
        request: http::Request<HttpBody>,
        client: SocketAddr,
    ) -> http::Response<HttpBody> {
        let path = request.uri().path().to_owned();
        if let Some(response) = self.well_known(&path) {
            return response;
        }
        let Some(route) = self.routes.route(&path) else {
            return text_response(http::StatusCode::NOT_FOUND, "Not Found\n");
        };
        match self.invoke_for_client(request, &route, client).await {
            Ok(response) => response,
            Err(e) => e.into_response(&route.component),
        }
    }

    /// [`Self::invoke`] with the request body limit: a declared length over
    /// it is refused at once, and a body that streams past it ends the
    /// request with 413 unless the component has already answered. (Chained
    /// requests come from a guest, bounded by its own memory, and are not
    /// limited.)
    async fn invoke_for_client(
        &self,
        request: http::Request<HttpBody>,
        route: &RouteMatch,
        client: SocketAddr,
    ) -> Result<http::Response<HttpBody>, InvokeError> {
        let Some(limit) = self.limits.max_request_body else {
            return self.invoke(request, route, client, false).await;
        };
        if body::declared_over(request.headers(), limit).is_some() {
            return Err(Rejection::BodyTooLarge { limit }.into());
        }
        let (parts, incoming) = request.into_parts();
        let (limited, mut overflow) = body::limit(incoming, limit);
        let request = http::Request::from_parts(parts, limited.boxed_unsync());
        tokio::select! {
            result = self.invoke(request, route, client, false) => {
                if overflow.happened() {
                    Err(Rejection::BodyTooLarge { limit }.into())
                } else {
                    result
                }
            }
            () = overflow.wait() => Err(Rejection::BodyTooLarge { limit }.into()),
        }
    }

    /// Serves a `http://<component>.spin.internal/...` request in-process.
    pub async fn dispatch_chained(
        &self,
        component: &str,
        request: http::Request<HttpBody>,
    ) -> anyhow::Result<http::Response<HttpBody>> {
        let path = request.uri().path().to_owned();
        let route = self
            .routes
            .route_for_component(component, &path)
            .with_context(|| {
                format!("service chaining: no component {component:?} with a route")
            })?;
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        match self.invoke(request, &route, local, true).await {
            Ok(response) => Ok(response),
            // A busy component answers its caller as it would answer a client.
            Err(InvokeError::Rejected(rejection)) => Ok(rejection.into_response()),
            Err(e) => Err(e.into()),
        }
    }

    fn well_known(&self, path: &str) -> Option<http::Response<HttpBody>> {
        match path {
            "/.well-known/spin/health" => Some(text_response(http::StatusCode::OK, "OK")),
            "/.well-known/spin/info" => {
                let body = serde_json::json!({
                    "application": self.name,
                    "version": self.version,
                    "host": concat!("slipway-host ", env!("CARGO_PKG_VERSION")),
                });
                Some(text_response(http::StatusCode::OK, &body.to_string()))
            }
            p if p.starts_with("/.well-known/spin/") => {
                Some(text_response(http::StatusCode::NOT_FOUND, "Not Found\n"))
            }
            _ => None,
        }
    }

    async fn invoke(
        &self,
        mut request: http::Request<HttpBody>,
        route: &RouteMatch,
        client: SocketAddr,
        chained: bool,
    ) -> Result<http::Response<HttpBody>, InvokeError> {
        let handler = self
            .handlers
            .get(&route.component)
            .with_context(|| format!("no component {:?}", route.component))?
            .clone();
        let slot = handler.state().gate.try_enter()?;
        let uri = request.uri().clone();
        crate::spin_headers::apply(
            request.headers_mut(),
            &uri,
            &self.base,
            route,
            client,
            chained,
        );
        make_uri_absolute(&mut request);
        let (tx, rx) = oneshot::channel();
        let fresh = handler.state().max_instance_reuse_count() == 1;
        let req_id = handler.next_req_id();
        let started = Instant::now();
        handler.spawn(
            fresh.then_some(req_id),
            Box::new(move |store, proxy| Box::pin(serve_in_instance(store, proxy, request, tx))),
        );
        let failure = match rx.await {
            Ok(Ok(response)) => return Ok(hold_until_sent(response, slot)),
            Ok(Err(e)) => e,
            Err(_) => anyhow::anyhow!("the component instance ended before answering"),
        };
        match self.limits.request_timeout {
            Some(limit) if started.elapsed() >= limit => Err(InvokeError::TimedOut(limit)),
            _ => Err(failure.into()),
        }
    }
}

/// Guests see an absolute URI, as Spin gives them.
fn make_uri_absolute(request: &mut http::Request<HttpBody>) {
    let uri = request.uri();
    if uri.authority().is_some() {
        return;
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if let Ok(absolute) = format!("http://{host}{pq}").parse() {
        *request.uri_mut() = absolute;
    }
}

/// A plain-text response from the host itself.
pub fn text_response(status: http::StatusCode, text: &str) -> http::Response<HttpBody> {
    let mut response = http::Response::new(
        Full::new(Bytes::from(text.to_owned()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}
