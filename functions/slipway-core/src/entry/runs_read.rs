//! `GET /api/runs/{run}`: a run with its stages, attempts, timings, build
//! links, test results, artifacts and approvals, for a viewer of its app
//! (or anyone, when the app is public), with what the viewer may do on
//! it (`viewer`) and an `ETag`, so a page following a run polls cheaply
//! (`If-None-Match` → 304).

use serde_json::json;
use sha2::Digest;

use super::Reply;
use super::auth::may_read;
use super::web::Viewer;
use crate::engine::Deps;
use crate::ports::{Clock, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{RunRecord, RunStore, parse_run_id};

/// The run's entity tag: its version, and what the viewer may do (which
/// changes with the configuration, not the run).
fn etag(run: &RunRecord, may: &serde_json::Value) -> String {
    let digest = sha2::Sha256::digest(may.to_string().as_bytes());
    format!("\"{}-{}\"", run.version, hex::encode(&digest[..6]))
}

/// Whether an `If-None-Match` value names `tag` (or is `*`).
fn matches_tag(header: &str, tag: &str) -> bool {
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

/// Answers with the run `run_id`.
pub async fn handle_get_run<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    headers: &Headers,
) -> Reply
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let no_run = || Reply::error(404, format!("no run {run_id:?}"));
    // The app comes from the id, so who may not read it cannot learn
    // whether the run exists.
    let Some((app, _)) = parse_run_id(run_id) else {
        return no_run();
    };
    let viewer = match may_read(deps, headers, app).await {
        Ok(actor) => Viewer { actor },
        Err(reply) => return reply,
    };
    match RunStore::new(deps.kv).load(run_id).await {
        Ok(Some(record)) => {
            let may = viewer.for_run(deps.config, &record);
            let tag = etag(&record, &may);
            if headers
                .get("if-none-match")
                .is_some_and(|v| matches_tag(v, &tag))
            {
                return Reply::new(304, json!(null)).with_header("etag", tag);
            }
            match serde_json::to_value(&record) {
                Ok(mut body) => {
                    body["viewer"] = may;
                    Reply::new(200, body)
                        .with_header("etag", tag)
                        .with_header("cache-control", "no-cache")
                }
                Err(e) => Reply::error(500, e.to_string()),
            }
        }
        Ok(None) => no_run(),
        Err(e) => Reply::new(503, json!({ "error": e.to_string() })),
    }
}
