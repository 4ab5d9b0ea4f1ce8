//! Running one request inside a component instance, and what the client gets
//! when that fails.

use std::time::Duration;

use tokio::sync::oneshot;
use wasmtime_wasi_http::handler::Proxy;

use crate::app::{HttpBody, text_response};
use crate::guarded_body::guarded;
use crate::limits::Rejection;
use crate::state::HostState;

/// Why a request got no response from its component.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// A limit refused the request.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The request ran past `--request-timeout` and its instance was stopped.
    #[error("request timed out after {0:?}")]
    TimedOut(Duration),
    /// The component trapped, returned an error, or is missing.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl InvokeError {
    /// Logs the failure and returns the client's response: 413 or 503 for a
    /// rejection, 500 (as Spin answers a trap) for a timeout or a failure.
    pub fn into_response(self, component: &str) -> http::Response<HttpBody> {
        match self {
            InvokeError::Rejected(rejection) => {
                eprintln!("refused a request for {component:?}: {rejection}");
                rejection.into_response()
            }
            InvokeError::TimedOut(limit) => {
                eprintln!(
                    "component {component:?}: request timed out after {limit:?} (--request-timeout); its instance was stopped"
                );
                internal_error()
            }
            InvokeError::Failed(e) => {
                eprintln!("component {component:?} failed: {e:#}");
                internal_error()
            }
        }
    }
}

fn internal_error() -> http::Response<HttpBody> {
    text_response(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error\n",
    )
}

/// Where an instance sends the response (or the failure) of one request.
pub type Reply = oneshot::Sender<anyhow::Result<http::Response<HttpBody>>>;

/// Runs one request inside an instance and keeps the instance busy until
/// the response body has been sent. The request counts as in flight on the
/// store's [`RequestClock`](crate::limits::timeout::RequestClock) until then.
pub async fn serve_in_instance(
    store: &wasmtime::component::Accessor<HostState>,
    proxy: &Proxy,
    request: http::Request<HttpBody>,
    tx: Reply,
) {
    let _in_flight = store.with(|mut s| s.data_mut().clock.start());
    let mut tx = Some(tx);
    let outcome: anyhow::Result<()> = async {
        // Only WASIp3 handlers exist: the host is built without wasi:http 0.2.
        let Proxy::P3(service) = proxy;
        let (request, request_io) = wasmtime_wasi_http::p3::Request::from_http(request);
        let response = service
            .handle(store, request)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .map_err(|e| anyhow::anyhow!("component returned an error: {e:?}"))?;
        let response = store
            .with(|mut s| response.into_http(&mut s, request_io))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let (done_tx, done_rx) = oneshot::channel::<()>();
        // The instance stays busy until the response body is sent.
        let response = response.map(|body| guarded(body, done_tx));
        if let Some(tx) = tx.take()
            && tx.send(Ok(response)).is_ok()
        {
            let _ = done_rx.await;
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        match tx.take() {
            Some(tx) => {
                let _ = tx.send(Err(e));
            }
            None => eprintln!("error while streaming a response: {e:#}"),
        }
    }
}
