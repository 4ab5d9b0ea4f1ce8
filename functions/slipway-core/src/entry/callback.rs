//! `POST /callbacks/{run}/{stage}`: a build reports its result. The
//! caller proves itself with the stage's callback token, as
//! `Authorization: Bearer {token}` or, for senders that cannot set headers
//! (Jenkins' Notification plugin posts to a configured URL and nothing
//! more), as `?token={token}` in the URL. Either way the token is bound to
//! the run, the stage and the attempt, and compared in constant time. The
//! report is recorded on the run (one compare-and-swap), then the run is
//! reconciled (next stages, statuses, notices) before the answer, within
//! [`FOLLOW_UP_BUDGET_MS`]: a build service waits for its callback, and
//! work inside a request is not cut short by the runtime.

use serde_json::json;

use super::auth::{bearer, same};
use super::{FOLLOW_UP_BUDGET_MS, Reply, result};
use crate::engine::{CALLBACK_SECRET, Deps, Engine, Target, callback_token};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{Report, RunStore, StoreError, TransitionError};

/// Highest attempt a callback token is checked against.
const MAX_ATTEMPT: u32 = 64;

/// Handles one callback. 401 for a wrong token, 409 for an old attempt or
/// a stage that already ended, 400 for a malformed body; nothing is written
/// for any of them.
pub async fn handle_callback<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    stage: &str,
    headers: &Headers,
    query: &str,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let recorded = match handle(deps, run_id, stage, headers, query, body).await {
        Ok(reply) => reply,
        Err(reply) => return reply,
    };
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    Engine::new(deps)
        .reconcile(Target::Run(run_id.to_owned()), deadline)
        .await;
    match RunStore::new(deps.kv).load(run_id).await {
        Ok(Some(record)) => {
            let status = record.stages.get(stage).map(|s| s.status);
            let mut body = recorded.body;
            body["status"] = json!(status);
            body["run_status"] = json!(record.status);
            Reply::new(recorded.status, body)
        }
        _ => recorded,
    }
}

/// The `token` query parameter, if any; 400 when the query is malformed or
/// names the token twice (which one would count is ambiguous).
fn query_token(query: &str) -> Result<Option<String>, Reply> {
    if query.is_empty() {
        return Ok(None);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| Reply::error(400, format!("malformed query: {e}")))?;
    let mut tokens = pairs.into_iter().filter(|(k, _)| k == "token");
    let first = tokens.next().map(|(_, v)| v);
    if tokens.next().is_some() {
        return Err(Reply::error(400, "`token` is given more than once"));
    }
    Ok(first)
}

/// The callback; `Ok` when it was recorded (the run then wants a reconcile).
async fn handle<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run_id: &str,
    stage: &str,
    headers: &Headers,
    query: &str,
    body: &[u8],
) -> Result<Reply, Reply>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let from_query = query_token(query)?;
    let Some(token) = bearer(headers).map(str::to_owned).or(from_query) else {
        return Err(Reply::error(
            401,
            "missing callback token (Authorization: Bearer, or ?token= in the URL)",
        ));
    };
    let token = token.as_str();
    let Some(secret) = deps.secrets.get(CALLBACK_SECRET).await else {
        return Err(Reply::error(
            500,
            "callbacks are not configured (callback_secret is not set)",
        ));
    };
    let Some(attempt) =
        (1..=MAX_ATTEMPT).find(|a| same(token, &callback_token(&secret, run_id, stage, *a)))
    else {
        return Err(Reply::error(
            401,
            "the token does not match this run and stage",
        ));
    };
    let runs = RunStore::new(deps.kv);
    let run = match runs.load(run_id).await {
        Ok(Some(run)) => run,
        Ok(None) => return Err(Reply::error(404, format!("no run {run_id:?}"))),
        Err(e) => return Err(Reply::error(503, e.to_string())),
    };
    let Some(current) = run.stages.get(stage) else {
        return Err(Reply::error(
            404,
            format!("run {run_id} has no stage {stage:?}"),
        ));
    };
    if current.attempt != attempt {
        return Err(Reply::error(
            409,
            format!(
                "callback for attempt {attempt}, but stage {stage} is at attempt {}",
                current.attempt
            ),
        ));
    }
    let content_type = headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or("");
    let parsed = match result::parse(content_type, body) {
        Ok(r) => r,
        Err(e) => return Err(Reply::error(400, format!("malformed result: {e}"))),
    };
    if current.status.is_terminal() {
        // A sender that reports the end twice (Jenkins' Notification plugin
        // posts COMPLETED, then FINALIZED) or retries a delivery whose answer
        // it lost is told it was recorded; a different outcome is a conflict.
        if parsed.status == Some(current.status) {
            return Err(Reply::new(
                200,
                json!({ "run": run_id, "stage": stage, "attempt": attempt, "status": current.status, "duplicate": true }),
            ));
        }
        return Err(Reply::error(409, format!("stage {stage} already ended")));
    }
    let report = Report {
        status: parsed.status,
        message: parsed.message.clone().or_else(|| {
            parsed
                .test_line()
                .filter(|_| parsed.status == Some(crate::runs::StageStatus::Failed))
        }),
        tests: parsed
            .tests
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok()),
        image: parsed.image.clone(),
        log_url: parsed.log_url.clone(),
        url: parsed.url.clone(),
        duration_ms: parsed.duration_ms,
    };
    let now = deps.clock.now_ms();
    match runs
        .update(run_id, |r| {
            r.record_report(stage, attempt, report.clone(), now)
        })
        .await
    {
        Ok((record, _, _)) => {
            let status = record.stages.get(stage).map(|s| s.status);
            Ok(Reply::new(
                200,
                json!({ "run": run_id, "stage": stage, "attempt": attempt, "status": status, "run_status": record.status }),
            ))
        }
        Err(StoreError::Transition(TransitionError::AlreadyFinished { .. })) => {
            Err(Reply::error(409, format!("stage {stage} already ended")))
        }
        Err(StoreError::Transition(e @ TransitionError::StaleAttempt { .. })) => {
            Err(Reply::error(409, e.to_string()))
        }
        Err(e) => Err(Reply::error(503, e.to_string())),
    }
}
