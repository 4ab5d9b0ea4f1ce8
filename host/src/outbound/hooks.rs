//! The `wasi:http` send hook of a component: allow-list checks, service
//! chaining, and plain network requests.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{RequestOptions, WasiHttpHooks};

use super::allowed_hosts::AllowedHosts;
use crate::app::App;

/// Suffix of service-chaining hosts.
pub const CHAINING_SUFFIX: &str = ".spin.internal";

type Body = UnsyncBoxBody<Bytes, ErrorCode>;
type IoFuture = Box<dyn Future<Output = Result<(), ErrorCode>> + Send>;
type SendResult = wasmtime_wasi::TrappableError<ErrorCode>;

/// Outbound policy of one component instance.
pub struct OutboundHooks {
    /// The calling component's id (for messages).
    pub component: String,
    /// What it may reach.
    pub allowed: Arc<AllowedHosts>,
    /// The application, for service chaining.
    pub app: Weak<App>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<Body>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<Body>, IoFuture), SendResult>> + Send> {
        let allowed = self.allowed.clone();
        let app = self.app.clone();
        let caller = self.component.clone();
        Box::new(async move {
            let uri = request.uri();
            let scheme = uri.scheme_str().unwrap_or("http").to_owned();
            let host = uri.host().unwrap_or_default().to_ascii_lowercase();
            let port = uri.port_u16();
            if !allowed.allows(&scheme, &host, port) {
                eprintln!(
                    "outbound request from {caller:?} to {scheme}://{host}{} denied: not in allowed_outbound_hosts",
                    port.map(|p| format!(":{p}")).unwrap_or_default()
                );
                return Err(ErrorCode::HttpRequestDenied.into());
            }
            if let Some(target) = host.strip_suffix(CHAINING_SUFFIX) {
                let app = app.upgrade().ok_or(ErrorCode::HttpRequestDenied)?;
                let response = app
                    .dispatch_chained(target, request)
                    .await
                    .map_err(|e| ErrorCode::InternalError(Some(e.to_string())))?;
                let done: IoFuture = Box::new(async { Ok(()) });
                return Ok((response, done));
            }
            let (response, io) =
                wasmtime_wasi_http::p3::default_send_request(request, options).await?;
            use http_body_util::BodyExt;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}
