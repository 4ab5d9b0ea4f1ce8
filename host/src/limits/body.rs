//! A cap on request bodies, applied while they stream.
//!
//! A request that declares a `content-length` above the cap is refused
//! before any of its body is read. Other bodies are counted frame by frame:
//! the frame that would pass the cap is not delivered; the guest gets
//! `HttpRequestBodySize` instead, and the host answers 413 itself unless
//! the guest's response has already gone out.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use tokio::sync::watch;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use crate::app::HttpBody;

/// The `content-length` a request declares, when it declares more than
/// `limit` bytes.
pub fn declared_over(headers: &http::HeaderMap, limit: u64) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&length| length > limit)
}

/// Wraps `body` so that it ends with an error once more than `limit` bytes
/// have streamed through; the returned [`Overflow`] tells when that happened.
pub fn limit(body: HttpBody, limit: u64) -> (LimitedBody, Overflow) {
    let (tx, rx) = watch::channel(false);
    let body = LimitedBody {
        inner: body,
        limit,
        seen: 0,
        overflow: tx,
        ended: false,
    };
    (body, Overflow(rx))
}

/// A request body that stops at its limit.
pub struct LimitedBody {
    inner: HttpBody,
    limit: u64,
    seen: u64,
    overflow: watch::Sender<bool>,
    ended: bool,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame
            && let Some(data) = f.data_ref()
        {
            let seen = self.seen.saturating_add(data.len() as u64);
            if seen > self.limit {
                self.ended = true;
                // Let go of the connection's body: the rest is never read.
                self.inner = Empty::new().map_err(|never| match never {}).boxed_unsync();
                self.overflow.send_replace(true);
                return Poll::Ready(Some(Err(ErrorCode::HttpRequestBodySize(Some(seen)))));
            }
            self.seen = seen;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Tells whether a [`LimitedBody`] passed its limit.
pub struct Overflow(watch::Receiver<bool>);

impl Overflow {
    /// Whether the body has passed its limit.
    pub fn happened(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the body passes its limit; never, if it does not.
    pub async fn wait(&mut self) {
        if self.0.wait_for(|over| *over).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    fn chunks(sizes: &[usize]) -> HttpBody {
        let frames: Vec<Result<Frame<Bytes>, ErrorCode>> = sizes
            .iter()
            .map(|&n| Ok(Frame::data(Bytes::from(vec![b'x'; n]))))
            .collect();
        StreamBody::new(futures::stream::iter(frames)).boxed_unsync()
    }

    #[tokio::test]
    async fn a_body_within_the_limit_passes_whole() {
        let (body, overflow) = limit(chunks(&[4, 4, 2]), 10);
        let bytes = body.collect().await.expect("within limit").to_bytes();
        assert_eq!(bytes.len(), 10);
        assert!(!overflow.happened());
    }

    #[tokio::test]
    async fn the_frame_that_passes_the_limit_is_not_delivered() {
        let (mut body, mut overflow) = limit(chunks(&[4, 4, 4, 4]), 10);
        let mut delivered = 0;
        let error = loop {
            match body.frame().await {
                Some(Ok(frame)) => delivered += frame.into_data().map_or(0, |d| d.len()),
                Some(Err(e)) => break e,
                None => panic!("the body must fail"),
            }
        };
        assert_eq!(delivered, 8);
        assert!(matches!(error, ErrorCode::HttpRequestBodySize(Some(12))));
        assert!(overflow.happened());
        overflow.wait().await;
        assert!(body.frame().await.is_none());
    }

    #[test]
    fn declared_lengths_over_the_limit_are_caught() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(declared_over(&headers, 10), None);
        headers.insert(http::header::CONTENT_LENGTH, "10".parse().unwrap());
        assert_eq!(declared_over(&headers, 10), None);
        headers.insert(http::header::CONTENT_LENGTH, "11".parse().unwrap());
        assert_eq!(declared_over(&headers, 10), Some(11));
    }
}
