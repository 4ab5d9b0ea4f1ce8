//! `POST /hooks/{provider}`: verify the delivery, normalise the event,
//! record the run exactly once, answer, and leave the rest to the engine.
//!
//! A delivery with several ref changes (a Bitbucket push of several
//! branches or tags) is handled as one event per ref, each with its own
//! claim; the answer lists each one's under `events` (202 when any run was
//! recorded).
//!
//! Replies: 202 `{"run", "number"}` when a run was recorded; 200
//! `{"ignored": reason}` when the event starts nothing; 200 with the
//! original run for a duplicate delivery; 503 while the first delivery of
//! the same event is still being recorded (within its claim's lease); 401
//! for a bad or missing signature; 400 for a malformed body; 413 over
//! 25 MiB. Nothing is written for a rejected or ignored request.
//!
//! The accepted path writes three keys: the event's claim, the app's run
//! counter and the run. It reads the pipeline file first, but only for
//! [`PIPELINE_READ_BUDGET_MS`]: the answer then says 202 or ignored, and
//! the run starts with its pipeline. A provider slower than that gets a
//! run that reads the file itself after the answer (and ends `skipped` if
//! its triggers exclude the event). Starting stages, commit statuses and
//! everything else happen after the answer ([`Handled::follow_up`]).

use serde_json::json;

use super::build_events::handle_build_event;
use super::ok_to_test::handle_comment;
use super::webhook_candidate::{Author, candidate};
use super::{Handled, Reply};
use crate::access::pull_requests::GitUser;
use crate::active::ActiveIndex;
use crate::config::AppConfig;
use crate::engine::repo::{self, PipelineFile};
use crate::engine::trust::restrict;
use crate::engine::{Deps, Target};
use crate::obs::traced::{CallContext, Traced};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::{self, Headers, ParsedEvent, Provider};
use crate::runs::{
    Begin, EventClaims, OkToTest, PipelineSource, RunRecord, RunStore, RunTrigger, event_hash,
    parse_run_id,
};

/// Largest webhook body accepted (GitHub's own cap).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// Time the webhook may wait for the pipeline file before answering
/// (GitHub waits 10 s, and counts slow answers as failures).
pub const PIPELINE_READ_BUDGET_MS: u64 = 500;

/// Handles one webhook delivery.
pub async fn handle_webhook<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    provider_name: &str,
    headers: &Headers,
    body: &[u8],
) -> Handled
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let started = deps.clock.now_ms();
    let Some(provider) = Provider::from_path_segment(provider_name) else {
        return Reply::error(404, format!("unknown provider {provider_name:?}")).into();
    };
    if body.len() > MAX_BODY_BYTES {
        return Reply::error(413, "payload larger than 25 MiB").into();
    }
    let events = match verified_events(deps, provider, headers, body, started).await {
        Ok(events) => events,
        Err(reply) => return reply.into(),
    };
    if events.len() == 1 {
        let event = events.into_iter().next().unwrap_or(ParsedEvent::Ping);
        return handle_event(deps, provider, headers, event).await;
    }
    // A push of several refs (Bitbucket): a run for each, as if each had
    // come alone; a redelivery finds each one's claim.
    let mut handled = Vec::new();
    for event in events {
        handled.push(handle_event(deps, provider, headers, event).await);
    }
    combine(handled)
}

/// One answer for the events of one delivery: 202 when any run was
/// recorded, 503 (deliver again) when any is still being recorded by
/// another delivery, else 200; each event's answer under `events`.
fn combine(handled: Vec<Handled>) -> Handled {
    let status = if handled.iter().any(|h| h.reply.status == 202) {
        202
    } else if let Some(busy) = handled.iter().find(|h| h.reply.status >= 500) {
        busy.reply.status
    } else {
        handled.iter().map(|h| h.reply.status).max().unwrap_or(200)
    };
    let first_run = handled
        .iter()
        .find(|h| h.reply.status == 202)
        .map(|h| h.reply.body.clone());
    let mut body =
        json!({ "events": handled.iter().map(|h| h.reply.body.clone()).collect::<Vec<_>>() });
    if let Some(first) = first_run {
        body["run"] = first["run"].clone();
        body["number"] = first["number"].clone();
    }
    let retry_after = handled
        .iter()
        .filter_map(|h| h.reply.body.get("retry_after_s").and_then(|v| v.as_u64()))
        .max();
    if let (true, Some(s)) = (status >= 500, retry_after) {
        body["retry_after_s"] = json!(s);
    }
    Handled {
        reply: Reply::new(status, body),
        follow_ups: handled.into_iter().flat_map(|h| h.follow_ups).collect(),
    }
}

/// Handles one verified event of a delivery.
async fn handle_event<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    headers: &Headers,
    event: ParsedEvent,
) -> Handled
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    if event.is_build_status() {
        return handle_build_event(deps, &event).await;
    }
    if let ParsedEvent::Comment(comment) = &event {
        return handle_comment(deps, provider, comment).await;
    }
    let delivery_id = providers::delivery_id(provider, headers);
    let mut candidate = match candidate(provider, event, delivery_id) {
        Ok(c) => c,
        Err(reply) => return reply.into(),
    };
    let Some((app_name, app)) = deps.config.app_for(provider, &candidate.repo) else {
        return Reply::ignored(format!(
            "no app is configured for repository {}",
            candidate.repo
        ))
        .into();
    };
    let hash = event_hash(&[
        provider.as_str(),
        &candidate.repo.to_ascii_lowercase(),
        &candidate.identity,
    ]);
    // A redelivery of a recorded event: answer without reading anything.
    if let Ok(Some(claim)) = EventClaims::new(deps.kv).peek(&hash).await
        && let Ok(Some(_)) = RunStore::new(deps.kv).load(&claim.run).await
    {
        return duplicate(&claim.run).into();
    }
    let hold = candidate
        .author
        .as_ref()
        .and_then(|author| hold_untrusted(deps, app, provider, author, &mut candidate.trigger));
    // An abbreviated commit is looked up first, by the run: nothing is
    // read at it here.
    if !candidate.trigger.commit_resolved() {
        let pending = PipelineSource::Pending(candidate.pending.clone());
        return record_run(deps, app_name, &hash, candidate.trigger, pending, hold).await;
    }
    let (read_repo, read_at) = candidate.trigger.pipeline_location();
    // The one remote call of a webhook, logged like the engine's.
    let context = CallContext {
        effect: "pipeline".into(),
        service: format!("provider/{}", provider.as_str()),
        ..CallContext::default()
    };
    let traced = Traced::new(deps.http, deps.kv, deps.clock, context);
    let traced_deps = Deps {
        kv: deps.kv,
        http: &traced,
        clock: deps.clock,
        secrets: deps.secrets,
        config: deps.config,
    };
    let read = repo::read_pipeline(
        &traced_deps,
        provider,
        read_repo,
        &app.pipeline_path,
        read_at,
        PIPELINE_READ_BUDGET_MS,
    )
    .await;
    let source = match read {
        Ok(PipelineFile::Missing) => {
            return Reply::ignored(format!(
                "no pipeline file {} at {}",
                app.pipeline_path, candidate.trigger.commit
            ))
            .into();
        }
        Ok(PipelineFile::Valid(p)) => {
            if let Err(skip) = p
                .triggers
                .check(&candidate.trigger.event(&candidate.pending))
            {
                return Reply::ignored(skip.to_string()).into();
            }
            PipelineSource::Read(restrict(deps.config, &candidate.trigger, p))
        }
        Ok(PipelineFile::Invalid(why)) => PipelineSource::Invalid(why),
        // Slow or failing provider: the run reads the file after the answer.
        Err(_) => PipelineSource::Pending(candidate.pending.clone()),
    };
    record_run(deps, app_name, &hash, candidate.trigger, source, hold).await
}

/// For a merge request of an author the app does not trust: the pipeline
/// comes from the target branch, and the run is held for `/ok-to-test`.
fn hold_untrusted<K, H, C: Clock, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &AppConfig,
    provider: Provider,
    author: &Author,
    trigger: &mut RunTrigger,
) -> Option<OkToTest> {
    let trusted = author.login.as_deref().and_then(|login| {
        let user = GitUser {
            provider: provider.as_str(),
            login,
            association: author.association.as_deref(),
        };
        app.pull_requests.trusts(&deps.config.access, user)
    });
    if trusted.is_some() {
        return None;
    }
    trigger.pipeline_ref = trigger.target_branch.clone();
    Some(OkToTest {
        asked_at_ms: deps.clock.now_ms(),
        granted: None,
    })
}

/// Checks the signature with the app's (or provider's) secret, then parses
/// the delivery into its events (one per ref change of a push).
async fn verified_events<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    headers: &Headers,
    body: &[u8],
    now_ms: u64,
) -> Result<Vec<ParsedEvent>, Reply> {
    // The secret may be per app, so look at the (unverified) repository
    // first; nothing is trusted or written before the signature checks out.
    let parsed = providers::parse_all(provider, headers, body);
    let repo = parsed
        .as_ref()
        .ok()
        .and_then(|events| events.first())
        .and_then(ParsedEvent::repo);
    let Some(secret_name) = deps.config.webhook_secret_for(provider, repo) else {
        return Err(Reply::error(
            401,
            format!("no webhook secret is configured for {}", provider.as_str()),
        ));
    };
    let Some(secret) = deps.secrets.get(&secret_name).await else {
        return Err(Reply::error(
            401,
            format!("webhook secret variable {secret_name:?} is not set"),
        ));
    };
    if let Err(e) = providers::verify(provider, headers, body, &secret, now_ms) {
        return Err(Reply::error(401, format!("signature check failed: {e}")));
    }
    parsed.map_err(|e| Reply::error(400, format!("malformed payload: {e}")))
}

fn unavailable(e: impl std::fmt::Display) -> Handled {
    Reply::error(503, format!("state store unavailable: {e}")).into()
}

/// Claims the event and records its run: the claim, the app's counter,
/// the run.
async fn record_run<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    hash: &str,
    trigger: RunTrigger,
    source: PipelineSource,
    hold: Option<OkToTest>,
) -> Handled
where
    K: KeyValue,
    C: Clock,
{
    let claims = EventClaims::new(deps.kv);
    let runs = RunStore::new(deps.kv);
    let now = deps.clock.now_ms();
    let new_run = |number: u64| {
        let mut record = RunRecord::new(app, number, trigger.clone(), source.clone(), now);
        record.event = Some(hash.to_owned());
        record.ok_to_test = hold.clone();
        record
    };
    let lease_ms = deps.config.tick.lease_ms();
    let token = match claims.begin(hash, now, lease_ms).await {
        Ok(Begin::Owner(token)) => token,
        Ok(Begin::Linked(claim)) => {
            // Linked but maybe never written: after the lease, write it.
            return match runs.load(&claim.run).await {
                Ok(Some(_)) => duplicate(&claim.run).into(),
                Ok(None) if now < claim.linked_at_ms + lease_ms => {
                    in_flight(claim.linked_at_ms + lease_ms, now)
                }
                Ok(None) => {
                    let Some((_, number)) = parse_run_id(&claim.run) else {
                        return unavailable("corrupt event claim");
                    };
                    if let Err(e) = runs.create_if_absent(&new_run(number)).await {
                        return unavailable(e);
                    }
                    // Its number is old: the tick may have given up waiting
                    // for it, so it goes in the index by hand.
                    if let Err(e) = ActiveIndex::new(deps.kv)
                        .reopen_run(app, number, deps.clock.now_ms())
                        .await
                    {
                        return unavailable(e);
                    }
                    accepted(&claim.run, number)
                }
                Err(e) => unavailable(e),
            };
        }
        Ok(Begin::InFlight { until_ms }) => return in_flight(until_ms, now),
        Err(e) => return unavailable(e),
    };
    let number = match runs.next_number(app).await {
        Ok(n) => n,
        Err(e) => return unavailable(e),
    };
    let record = new_run(number);
    match claims.link(hash, token, &record.id, now).await {
        Ok(Ok(())) => {}
        // Another delivery linked it first: answer for its run once that
        // exists (it may yet die before writing it).
        Ok(Err(other)) => {
            return match runs.load(&other.run).await {
                Ok(Some(_)) => duplicate(&other.run).into(),
                Ok(None) => in_flight(other.linked_at_ms + lease_ms, now),
                Err(e) => unavailable(e),
            };
        }
        Err(e) => return unavailable(e),
    }
    if let Err(e) = runs.create(&record).await {
        return unavailable(e);
    }
    accepted(&record.id, number)
}

fn accepted(run: &str, number: u64) -> Handled {
    Handled::then(
        Reply::new(202, json!({ "run": run, "number": number })),
        Target::Run(run.to_owned()),
    )
}

fn in_flight(until_ms: u64, now_ms: u64) -> Handled {
    let retry_after_s = until_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
    Reply::new(
        503,
        json!({
            "error": "the first delivery of this event is still being recorded; deliver it again later",
            "retry_after_s": retry_after_s,
        }),
    )
    .into()
}

fn duplicate(run: &str) -> Reply {
    let number = parse_run_id(run).map(|(_, n)| n);
    Reply::new(
        200,
        json!({ "run": run, "number": number, "duplicate": true }),
    )
}
