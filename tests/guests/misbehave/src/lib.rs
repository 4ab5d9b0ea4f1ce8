//! Test guest for the host's defences: each route misbehaves in one way.
//!
//! - `/ok`: answers `ok`.
//! - `/spin`: loops on the CPU forever, never awaiting.
//! - `/alloc?mb=N`: allocates and touches N MiB, answers `allocated N MiB`.
//! - `/echo-len`: reads the whole body as it streams and answers its length;
//!   prints what it read (or after how many bytes the body failed) to stdout.
//! - `/sleep?ms=N`: awaits a timer for N ms, answers `slept N ms`.

use futures::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Request, StatusCode};

fn param(request: &Request, name: &str) -> u64 {
    request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Never returns and never yields to the host.
fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates `mb` MiB and writes every page, so the memory is really used.
fn allocate(mb: u64) -> u64 {
    let len = usize::try_from(mb).unwrap_or(usize::MAX / 2) * 1024 * 1024;
    let mut block = vec![0u8; len];
    for i in (0..len).step_by(4096) {
        block[i] = 1;
    }
    std::hint::black_box(&block)
        .iter()
        .step_by(4096)
        .map(|b| u64::from(*b))
        .sum()
}

/// Reads the body chunk by chunk; returns the length or the error with the
/// count read before it.
async fn body_len(request: Request) -> Result<u64, (u64, String)> {
    let mut stream = request.into_body().stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => total += bytes.len() as u64,
            Err(e) => return Err((total, format!("{e:?}"))),
        }
    }
    Ok(total)
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let path = request.uri().path().to_owned();
    match path.as_str() {
        "/ok" => Ok((StatusCode::OK, "ok".to_owned())),
        "/spin" => spin_forever(),
        "/alloc" => {
            let mb = param(&request, "mb");
            let pages = allocate(mb);
            Ok((
                StatusCode::OK,
                format!("allocated {mb} MiB ({pages} pages)"),
            ))
        }
        "/echo-len" => match body_len(request).await {
            Ok(n) => {
                println!("echo-len read {n} bytes");
                Ok((StatusCode::OK, n.to_string()))
            }
            Err((n, e)) => {
                println!("echo-len body failed after {n} bytes: {e}");
                Ok((
                    StatusCode::BAD_REQUEST,
                    format!("body failed after {n} bytes"),
                ))
            }
        },
        "/sleep" => {
            let ms = param(&request, "ms");
            spin_sdk::wasip3::clocks::monotonic_clock::wait_for(ms * 1_000_000).await;
            Ok((StatusCode::OK, format!("slept {ms} ms")))
        }
        other => Ok((StatusCode::NOT_FOUND, format!("no route {other}"))),
    }
}
