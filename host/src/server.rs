//! The HTTP server: accepts connections, logs one line per request, and on
//! shutdown lets in-flight requests finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use crate::app::App;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ServerBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, BoxError>;

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(handle(app, req, peer).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    println!("Shutting down: finishing in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("some requests did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

async fn handle(
    app: Arc<App>,
    request: http::Request<Incoming>,
    peer: SocketAddr,
) -> http::Response<ServerBody> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request = request.map(|b| {
        b.map_err(ErrorCode::from_hyper_request_error)
            .boxed_unsync()
    });
    let response = app.handle(request, peer).await;
    println!(
        "{method} {path} {} {:.2}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response.map(|b| {
        b.map_err(|e| -> BoxError { format!("response body failed: {e:?}").into() })
            .boxed_unsync()
    })
}
