//! Test fixture: one component whose operations exercise every host
//! capability. `/.../op/<name>` selects the operation (see `handle`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Request, StatusCode};

mod atomics {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        path: "../../wit",
        world: "slipway:platform/component-atomics",
        generate_all,
    });
}

use atomics::wasi::keyvalue::{atomics as kv_atomics, store as kv_store};

/// Counts requests seen by this instance: it shows instance reuse.
static SEEN_BY_INSTANCE: AtomicU64 = AtomicU64::new(0);

fn query(request: &Request) -> BTreeMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2F", "/").replace("%3A", ":")))
        .collect()
}

fn reply(status: StatusCode, body: impl Into<String>) -> anyhow::Result<(StatusCode, String)> {
    Ok((status, body.into()))
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let path = request.uri().path().to_owned();
    let op = path.rsplit_once("/op/").map(|(_, op)| op.to_owned());
    let q = query(&request);
    let param = |name: &str| q.get(name).cloned().unwrap_or_default();
    match op.as_deref() {
        None | Some("headers") => {
            let headers: BTreeMap<String, String> = request
                .headers()
                .iter()
                .filter(|(name, _)| name.as_str().starts_with("spin-") || name.as_str() == "host")
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let body = serde_json::json!({
                "method": request.method().as_str(),
                "uri": request.uri().to_string(),
                "headers": headers,
            });
            reply(StatusCode::OK, body.to_string())
        }
        Some("instance") => {
            let n = SEEN_BY_INSTANCE.fetch_add(1, Ordering::SeqCst) + 1;
            reply(StatusCode::OK, n.to_string())
        }
        Some("echo") => {
            let body = request
                .into_body()
                .bytes()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            reply(StatusCode::OK, String::from_utf8_lossy(&body).into_owned())
        }
        Some("kv/set") => {
            let body = request
                .into_body()
                .bytes()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let store = spin_sdk::key_value::Store::open(param("store")).await?;
            store.set(param("key"), &body).await?;
            reply(StatusCode::OK, "stored")
        }
        Some("kv/get") => {
            let store = match spin_sdk::key_value::Store::open(param("store")).await {
                Ok(s) => s,
                Err(e) => return reply(StatusCode::FORBIDDEN, format!("open failed: {e}")),
            };
            match store.get(param("key")).await? {
                Some(v) => reply(StatusCode::OK, String::from_utf8_lossy(&v).into_owned()),
                None => reply(StatusCode::NOT_FOUND, "no such key"),
            }
        }
        Some("kv/keys") => {
            let store = spin_sdk::key_value::Store::open(param("store")).await?;
            let mut keys = store.get_keys().await.collect().await?;
            keys.sort();
            reply(StatusCode::OK, keys.join("\n"))
        }
        Some("kv/incr") => {
            let bucket = kv_store::open(&param("store")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let n = kv_atomics::increment(&bucket, &param("key"), 1)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            reply(StatusCode::OK, n.to_string())
        }
        Some("kv/cas-incr") => {
            // Increment a decimal counter with compare-and-swap only; the key
            // may not exist yet. Returns the value this request wrote.
            let bucket = kv_store::open(&param("store")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let mut cas = kv_atomics::Cas::new(&bucket, &param("key"))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            for _ in 0..10_000 {
                let current = cas.current().map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let n: u64 = match current {
                    Some(v) => String::from_utf8_lossy(&v).parse()?,
                    None => 0,
                };
                match kv_atomics::swap(cas, (n + 1).to_string().as_bytes()) {
                    Ok(()) => return reply(StatusCode::OK, (n + 1).to_string()),
                    Err(kv_atomics::CasError::CasFailed(fresh)) => cas = fresh,
                    Err(kv_atomics::CasError::StoreError(e)) => anyhow::bail!("{e:?}"),
                }
            }
            reply(StatusCode::CONFLICT, "gave up after 10000 conflicts")
        }
        Some("var") => match spin_sdk::variables::get(&param("name")).await {
            Ok(v) => reply(StatusCode::OK, v),
            Err(e) => reply(StatusCode::NOT_FOUND, format!("{e}")),
        },
        Some("fetch") => {
            let outbound =
                http::Request::get(param("url")).body(spin_sdk::http::EmptyBody::new())?;
            match spin_sdk::http::send(outbound).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response
                        .into_body()
                        .bytes()
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    reply(
                        StatusCode::OK,
                        format!("{status}\n{}", String::from_utf8_lossy(&body)),
                    )
                }
                Err(e) => reply(StatusCode::BAD_GATEWAY, format!("{e:?}")),
            }
        }
        Some("file") => match std::fs::read_to_string(param("path")) {
            Ok(text) => reply(StatusCode::OK, text),
            Err(e) => reply(StatusCode::NOT_FOUND, e.to_string()),
        },
        Some("sleep") => {
            let ms: u64 = param("ms").parse().unwrap_or(0);
            spin_sdk::wasip3::clocks::monotonic_clock::wait_for(ms * 1_000_000).await;
            reply(StatusCode::OK, format!("slept {ms} ms"))
        }
        Some("log") => {
            println!("fixture-log-line {}", param("text"));
            eprintln!("fixture-err-line {}", param("text"));
            reply(StatusCode::OK, "logged")
        }
        Some("trap") => panic!("fixture asked to trap"),
        Some(other) => reply(StatusCode::NOT_FOUND, format!("unknown op {other:?}")),
    }
}
