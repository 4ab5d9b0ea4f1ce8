//! Outbound HTTP through Spin, bounded by a timeout.

use futures::future::{Either, select};
use slipway_core::ports::{Clock, HttpClient, HttpError, HttpRequest, HttpResponse};
use spin_sdk::http::FullBody;
use spin_sdk::http::body::IncomingBodyExt;

use crate::clock::WasiClock;

/// Sends requests with `spin_sdk::http::send`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

impl HttpClient for SpinHttp {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let outbound = builder
            .body(FullBody::new(bytes::Bytes::from(request.body)))
            .map_err(|e| HttpError::Transport(format!("invalid request: {e}")))?;
        let exchange = async move {
            let response = spin_sdk::http::send(outbound).await.map_err(|e| {
                let text = format!("{e:?}");
                if text.contains("HttpRequestDenied") {
                    HttpError::Denied
                } else {
                    HttpError::Transport(text)
                }
            })?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            let body = response
                .into_body()
                .bytes()
                .await
                .map_err(|e| HttpError::Transport(format!("reading response body: {e:?}")))?;
            Ok(HttpResponse {
                status,
                headers,
                body: body.to_vec(),
            })
        };
        let timer = WasiClock.sleep(timeout_ms);
        match select(Box::pin(exchange), Box::pin(timer)).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(HttpError::Timeout(timeout_ms)),
        }
    }
}
