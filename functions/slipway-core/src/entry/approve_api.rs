//! `POST /api/runs/{run}/stages/{stage}/approve` and `…/reject` with
//! `{"attempt"?, "reason"?}`: the web page's (and any API client's) answer
//! to an approval stage, checked like a chat command's
//! ([`crate::engine::approvals::decide`]) and recorded with the person.

use serde::Deserialize;
use serde_json::json;

use super::auth::authenticate;
use super::deploy_api::refused;
use super::{Reply, json_body, reconcile_for_answer};
use crate::engine::Deps;
use crate::engine::approvals::{Answer, decide};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::Verdict;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// The attempt the page showed (a retried stage refuses old answers).
    #[serde(default)]
    attempt: Option<u32>,
    /// Why (shown on the run).
    #[serde(default)]
    reason: Option<String>,
}

/// Answers approval stage `stage` of `run` with `verdict`.
pub async fn handle_answer<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    run: &str,
    stage: &str,
    verdict: Verdict,
    headers: &Headers,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let actor = match authenticate(deps, headers).await {
        Ok(actor) => actor,
        Err(reply) => return reply,
    };
    let parsed: AnswerBody = match json_body(body) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let answer = Answer {
        run: run.to_owned(),
        stage: stage.to_owned(),
        attempt: parsed.attempt,
        verdict,
        reason: parsed.reason.filter(|r| !r.trim().is_empty()),
    };
    let now = deps.clock.now_ms();
    if let Err(refusal) = decide(deps.kv, &deps.config.access, &actor, &answer, now).await {
        return refused(refusal);
    }
    let status = reconcile_for_answer(deps, run, stage).await;
    Reply::new(
        200,
        json!({ "run": run, "stage": stage, "verdict": verdict, "by": actor.person, "status": status }),
    )
}
