//! `POST /hooks/{provider}`: verify the delivery, normalise the event,
//! read the pipeline at the pushed commit, record the run exactly once and
//! start its first stages.
//!
//! Replies: 202 `{"run", "number"}` when a run started; 200
//! `{"ignored": reason}` when the event starts nothing; 200 with the
//! original run for a duplicate delivery; 401 for a bad or missing
//! signature; 400 for a malformed body; 413 over 25 MiB. Nothing is written
//! for a rejected or ignored request.

mod feedback;
mod stages;

use serde_json::json;

use crate::config::ControlPlane;
use crate::pipeline::{Event, Pipeline};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::{self, Headers, MrAction, ParsedEvent, Provider, RepoApi};
use crate::runs::{Claim, RunRecord, RunStore, RunTrigger, event_hash};

pub use feedback::post_run_status;
pub use stages::{START_CLAIM_TTL_MS, callback_token, start_ready_stages};

/// Largest webhook body accepted (GitHub's own cap).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// Time the webhook may spend before answering (GitHub waits 10 s).
pub const WEBHOOK_BUDGET_MS: u64 = 8_000;
/// Timeout of one call to a git provider's API.
pub const PROVIDER_CALL_TIMEOUT_MS: u64 = 3_000;
/// The Spin variable holding the key that signs callback tokens.
pub const CALLBACK_SECRET: &str = "callback_secret";

/// What a handler needs from the world.
pub struct Deps<'a, K, H, C, S> {
    /// Pipeline state.
    pub kv: &'a K,
    /// Outbound HTTP.
    pub http: &'a H,
    /// Time.
    pub clock: &'a C,
    /// Secrets by variable name.
    pub secrets: &'a S,
    /// The control-plane configuration.
    pub config: &'a ControlPlane,
}

/// An HTTP reply: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body: serde_json::Value,
}

impl Reply {
    /// A reply with `status` and JSON `body`.
    pub fn new(status: u16, body: serde_json::Value) -> Reply {
        Reply { status, body }
    }

    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    /// 200 `{"ignored": reason}`: the request starts or changes nothing.
    pub fn ignored(reason: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            body: json!({ "ignored": reason.into() }),
        }
    }
}

/// An event that may start a run.
struct Candidate {
    repo: String,
    trigger: RunTrigger,
    identity: String,
    changed_paths: Vec<String>,
    paths_complete: bool,
}

impl Candidate {
    /// The view the pipeline's triggers check.
    fn event(&self) -> Event<'_> {
        let t = &self.trigger;
        match t.kind.as_str() {
            "tag" => Event::Tag {
                name: t.git_ref.strip_prefix("refs/tags/").unwrap_or(&t.git_ref),
            },
            "merge_request" => Event::MergeRequest {
                target_branch: t.target_branch.as_deref().unwrap_or(""),
            },
            _ => Event::Branch {
                name: t.git_ref.strip_prefix("refs/heads/").unwrap_or(&t.git_ref),
                paths: &self.changed_paths,
                paths_complete: self.paths_complete,
            },
        }
    }
}

/// Handles one webhook delivery.
pub async fn handle_webhook<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    provider_name: &str,
    headers: &Headers,
    body: &[u8],
) -> Reply
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let started = deps.clock.now_ms();
    let Some(provider) = Provider::from_path_segment(provider_name) else {
        return Reply::error(404, format!("unknown provider {provider_name:?}"));
    };
    if body.len() > MAX_BODY_BYTES {
        return Reply::error(413, "payload larger than 25 MiB");
    }
    // The secret may be per app, so look at the (unverified) repository
    // first; nothing is trusted or written before the signature checks out.
    let parsed = providers::parse(provider, headers, body);
    let repo = match &parsed {
        Ok(ParsedEvent::Push(p)) => Some(p.repo.as_str()),
        Ok(ParsedEvent::MergeRequest(m)) => Some(m.repo.as_str()),
        Ok(ParsedEvent::WorkflowRun(w)) => Some(w.repo.as_str()),
        Ok(ParsedEvent::Pipeline(p)) => Some(p.repo.as_str()),
        _ => None,
    };
    let app_config = repo.and_then(|r| deps.config.app_for(provider, r));
    let secret_name = match app_config {
        Some((_, app)) => deps.config.webhook_secret_name(provider, app),
        None => deps.config.provider(provider).webhook_secret,
    };
    let Some(secret_name) = secret_name else {
        return Reply::error(
            401,
            format!("no webhook secret is configured for {}", provider.as_str()),
        );
    };
    let Some(secret) = deps.secrets.get(&secret_name).await else {
        return Reply::error(
            401,
            format!("webhook secret variable {secret_name:?} is not set"),
        );
    };
    if let Err(e) = providers::verify(provider, headers, body, &secret, started) {
        return Reply::error(401, format!("signature check failed: {e}"));
    }
    let event = match parsed {
        Ok(event) => event,
        Err(e) => return Reply::error(400, format!("malformed payload: {e}")),
    };
    if matches!(
        event,
        ParsedEvent::WorkflowRun(_) | ParsedEvent::Pipeline(_)
    ) {
        return crate::progress::handle_build_event(deps, &event).await;
    }
    let delivery_id = providers::delivery_id(provider, headers);
    let candidate = match candidate(provider, event, delivery_id) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let Some((app_name, app)) = deps.config.app_for(provider, &candidate.repo) else {
        return Reply::ignored(format!(
            "no app is configured for repository {}",
            candidate.repo
        ));
    };
    let runs = RunStore::new(deps.kv);
    let hash = event_hash(&[
        provider.as_str(),
        &candidate.repo.to_ascii_lowercase(),
        &candidate.identity,
    ]);
    match runs.event_run(&hash).await {
        Ok(Some(run)) => return duplicate(&run),
        Ok(None) => {}
        Err(e) => return Reply::error(503, format!("state store unavailable: {e}")),
    }

    // Read the pipeline at the pushed commit.
    let api = repo_api(deps, provider).await;
    let request = providers::file_request(
        &api,
        &candidate.repo,
        &app.pipeline_path,
        &candidate.trigger.commit,
    );
    let file = match deps.http.send(request, PROVIDER_CALL_TIMEOUT_MS).await {
        Ok(response) => providers::decode_file(&api, &response),
        Err(e) => {
            return Reply::error(
                502,
                format!(
                    "cannot read {} from {}: {e}",
                    app.pipeline_path,
                    provider.as_str()
                ),
            );
        }
    };
    let pipeline = match file {
        Ok(Some(bytes)) => match std::str::from_utf8(&bytes) {
            Ok(text) => Pipeline::parse(text).map_err(|e| format!("{}: {e}", app.pipeline_path)),
            Err(_) => Err(format!("{} is not UTF-8 text", app.pipeline_path)),
        },
        Ok(None) => {
            return Reply::ignored(format!(
                "no pipeline file {} at {}",
                app.pipeline_path, candidate.trigger.commit
            ));
        }
        Err(e) => {
            return Reply::error(502, format!("cannot read {}: {e}", app.pipeline_path));
        }
    };
    if let Ok(p) = &pipeline
        && let Err(skip) = p.triggers.check(&candidate.event())
    {
        return Reply::ignored(skip.to_string());
    }

    // Claim the event (one atomic step), then record the run.
    match runs.claim_event(&hash).await {
        Ok(Claim::Owner) => {}
        Ok(Claim::Duplicate(Some(run))) => return duplicate(&run),
        Ok(Claim::Duplicate(None)) => {
            return Reply {
                status: 200,
                body: json!({ "duplicate": true, "run": null, "note": "the first delivery of this event is still being processed" }),
            };
        }
        Err(e) => return Reply::error(503, format!("state store unavailable: {e}")),
    }
    let number = match runs.next_number(app_name).await {
        Ok(n) => n,
        Err(e) => return Reply::error(503, format!("state store unavailable: {e}")),
    };
    let record = RunRecord::new(
        app_name,
        number,
        candidate.trigger,
        pipeline,
        deps.clock.now_ms(),
    );
    if let Err(e) = runs.create(&record).await {
        return Reply::error(503, format!("state store unavailable: {e}"));
    }
    let _ = runs.link_event(&hash, &record.id).await;

    feedback::post_run_status(deps, &api, &record).await;
    let deadline = started + WEBHOOK_BUDGET_MS;
    let record = stages::start_ready_stages(deps, &record.id, deadline)
        .await
        .unwrap_or(record);
    if record.status.is_terminal() {
        feedback::post_run_status(deps, &api, &record).await;
    }
    Reply {
        status: 202,
        body: json!({ "run": record.id, "number": record.number, "status": record.status }),
    }
}

fn duplicate(run: &str) -> Reply {
    let number = crate::runs::parse_run_id(run).map(|(_, n)| n);
    Reply {
        status: 200,
        body: json!({ "run": run, "number": number, "duplicate": true }),
    }
}

/// The provider API client settings, with the token resolved.
pub async fn repo_api<K, H, C, S: Secrets>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
) -> RepoApi {
    let settings = deps.config.provider(provider);
    let token = match &settings.token_secret {
        Some(name) => deps.secrets.get(name).await,
        None => None,
    };
    RepoApi {
        provider,
        api_base: deps.config.api_base(provider),
        token,
        organization: settings.organization,
    }
}

/// Turns a parsed event into a run candidate, or the reply for an event
/// that starts nothing.
fn candidate(
    provider: Provider,
    event: ParsedEvent,
    delivery_id: Option<String>,
) -> Result<Candidate, Reply> {
    match event {
        ParsedEvent::Ping => Err(Reply::ignored("ping")),
        ParsedEvent::Ignored { event, reason } => Err(Reply::ignored(format!("{event}: {reason}"))),
        ParsedEvent::WorkflowRun(_) | ParsedEvent::Pipeline(_) => {
            Err(Reply::ignored("build status events do not start runs"))
        }
        ParsedEvent::Push(push) => {
            if push.deleted {
                let what = if push.tag().is_some() {
                    "tag"
                } else {
                    "branch"
                };
                return Err(Reply::ignored(format!(
                    "{what} deletion ({})",
                    push.git_ref
                )));
            }
            let kind = if push.tag().is_some() { "tag" } else { "push" };
            let identity = format!("{kind}|{}|{}", push.git_ref, push.after);
            Ok(Candidate {
                repo: push.repo.clone(),
                identity,
                changed_paths: push.changed_paths,
                paths_complete: push.paths_complete,
                trigger: RunTrigger {
                    provider: provider.as_str().to_owned(),
                    repo: push.repo,
                    clone_url: push.clone_url,
                    git_ref: push.git_ref,
                    commit: push.after,
                    kind: kind.to_owned(),
                    target_branch: None,
                    merge_request: None,
                    actor: push.pusher,
                    delivery_id,
                },
            })
        }
        ParsedEvent::MergeRequest(mr) => {
            match &mr.action {
                MrAction::Opened | MrAction::Updated | MrAction::Reopened => {}
                MrAction::Closed => return Err(Reply::ignored("merge request closed")),
                MrAction::Merged => {
                    return Err(Reply::ignored(
                        "merge request merged (the push to the target branch starts its run)",
                    ));
                }
                MrAction::Other(a) => {
                    return Err(Reply::ignored(format!("merge request action {a:?}")));
                }
            }
            let identity = format!("mr|{}|{}", mr.number, mr.head_sha);
            Ok(Candidate {
                repo: mr.repo.clone(),
                identity,
                changed_paths: Vec::new(),
                paths_complete: false,
                trigger: RunTrigger {
                    provider: provider.as_str().to_owned(),
                    repo: mr.repo,
                    clone_url: None,
                    git_ref: format!("refs/heads/{}", mr.source_branch),
                    commit: mr.head_sha,
                    kind: "merge_request".to_owned(),
                    target_branch: Some(mr.target_branch),
                    merge_request: Some(mr.number),
                    actor: None,
                    delivery_id,
                },
            })
        }
    }
}

#[cfg(test)]
mod tests;
