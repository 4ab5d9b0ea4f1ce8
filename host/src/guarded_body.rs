//! A response body that keeps a guard alive until the body is dropped,
//! that is, sent or abandoned: an instance's "response done" signal, a
//! concurrency slot.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use crate::app::HttpBody;

/// `body`, holding `guard` until it is dropped.
pub fn guarded<G: Send + Unpin + 'static>(body: HttpBody, guard: G) -> HttpBody {
    Guarded {
        body,
        _guard: guard,
    }
    .boxed_unsync()
}

struct Guarded<G> {
    body: HttpBody,
    _guard: G,
}

impl<G: Unpin> Body for Guarded<G> {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
