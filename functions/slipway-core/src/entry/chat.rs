//! `POST /chat/{platform}`: a chat command or button click. The platform
//! verifies the request (401 and nothing written when it fails); the
//! command answers at once (Slack, Mattermost and Feishu wait 3 s at
//! most): it records its fact and hands the record to the engine, which
//! reconciles it after the response and reports where it got to through
//! the platform's reply channel. The tick finishes what that does not.
//! A redelivered event (DingTalk `msgId`, Feishu `event_id`) acts once
//! ([`crate::chat_state::first_delivery`]).
//!
//! A command that changed a run or deployment keeps its reply channel on
//! that record, sealed ([`crate::chat::seal`]): the engine reports the
//! record's end there as an intent, retried by the tick, so the result
//! arrives even when the instance that answered is gone.

use super::{FOLLOW_UP_BUDGET_MS, Reply};
use crate::access::Actor;
use crate::active::ActiveIndex;
use crate::chat::Answer;
use crate::chat::lines::{deployment_line, run_line};
use crate::chat::platform::{ChatRequest, Inbound, Rejection, ReplyChannel, SecretValues};
use crate::chat::{PendingReply, platform, reply, seal};
use crate::chat_state;
use crate::chatops::commands::{Caller, dispatch};
use crate::deploy::records::Records;
use crate::engine::{Deps, Engine, Mode, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::{RunStore, parse_run_id};

/// The answer to send, and what to do after sending it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatHandled {
    /// The HTTP response.
    pub reply: Reply,
    /// Work after the response.
    pub follow_up: Option<ChatFollowUp>,
}

/// What a chat request leaves for after its response.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatFollowUp {
    /// The platform's route name.
    pub platform: &'static str,
    /// Where answers go.
    pub channel: ReplyChannel,
    /// The record to reconcile, then report on.
    pub target: Target,
    /// Whether the report is for the whole channel.
    pub public: bool,
}

impl From<Reply> for ChatHandled {
    fn from(reply: Reply) -> Self {
        ChatHandled {
            reply,
            follow_up: None,
        }
    }
}

/// Handles a request to `/chat/{name}`.
pub async fn handle_chat<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    name: &str,
    headers: &Headers,
    body: &[u8],
) -> ChatHandled
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    let Some(platform) = platform(name) else {
        return Reply::error(404, format!("unknown chat platform {name:?}")).into();
    };
    let mut secrets = SecretValues::new();
    for secret in platform.secret_names() {
        if let Some(value) = deps.secrets.get(secret).await {
            secrets.insert(secret, value);
        }
    }
    let request = ChatRequest { headers, body };
    let command = match platform.receive(&request, &secrets, deps.clock.now_ms()) {
        Err(Rejection::Unauthorized(m)) => return Reply::error(401, m).into(),
        Err(Rejection::BadRequest(m)) => return Reply::error(400, m).into(),
        Ok(Inbound::Handshake(body)) => return Reply::new(200, body).into(),
        Ok(Inbound::Ignored(why)) => return Reply::ignored(why).into(),
        Ok(Inbound::Command(command)) => command,
    };
    if let Some(id) = &command.event_id {
        match chat_state::first_delivery(deps.kv, platform.name(), id).await {
            Ok(true) => {}
            Ok(false) => return Reply::ignored("this event was delivered before").into(),
            Err(e) => return Reply::error(503, format!("state store unavailable: {e}")).into(),
        }
    }
    let actor = deps
        .config
        .access
        .person_for_chat(&command.identity)
        .map(|person| Actor {
            person: person.to_owned(),
            identity: command.identity.to_string(),
            via: platform.name().to_owned(),
        });
    let caller = Caller {
        identity: command.identity.clone(),
        actor,
        confirmed: false,
        private_channel: command.private_channel,
    };
    let outcome = dispatch(deps, &caller, &command.text).await;
    let answer = outcome.answer;
    if !platform.answers_in_response() {
        // The response only acknowledges: deliver the answer first, while
        // the request holds the instance (work after a response may not run).
        let ports = (deps.http, deps.clock, deps.secrets);
        if let Err(e) = reply::deliver(ports, deps.config, platform, &command.reply, &answer).await
        {
            eprintln!("{} answer not delivered: {e}", platform.name());
        }
    }
    if let Some(target) = &outcome.follow_up
        && command.reply != ReplyChannel::None
        && let Err(e) =
            attach_reply(deps, platform.name(), target, &command.reply, answer.public).await
    {
        eprintln!("{} report channel not kept: {e}", platform.name());
    }
    let follow_up = outcome.follow_up.map(|target| ChatFollowUp {
        platform: platform.name(),
        channel: command.reply,
        target,
        public: answer.public,
    });
    ChatHandled {
        reply: Reply::new(200, platform.respond(&answer)),
        follow_up,
    }
}

/// Most report channels kept on one record.
const MAX_REPLIES: usize = 10;
/// How long a Slack or Mattermost `response_url` takes posts.
const RESPONSE_URL_TTL_MS: u64 = 30 * 60 * 1000;
/// How long a Feishu message is worth a reply about the command.
const FEISHU_REPLY_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Keeps `channel` (sealed) on the record `target` names, so the engine
/// reports the record's end there even when no instance outlives this
/// request; the record goes back into the tick's index for it.
async fn attach_reply<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    platform: &str,
    target: &Target,
    channel: &ReplyChannel,
    public: bool,
) -> Result<(), String>
where
    K: KeyValue,
    C: Clock,
    S: Secrets,
{
    let key = deps
        .secrets
        .get(crate::engine::CALLBACK_SECRET)
        .await
        .ok_or("callback_secret is not set")?;
    let now = deps.clock.now_ms();
    let expires_at_ms = match channel {
        ReplyChannel::SessionWebhook { expires_at_ms, .. } => *expires_at_ms,
        ReplyChannel::FeishuReply { .. } => now + FEISHU_REPLY_TTL_MS,
        _ => now + RESPONSE_URL_TTL_MS,
    };
    let pending = PendingReply {
        platform: platform.to_owned(),
        sealed: seal::seal(&key, channel).map_err(|e| e.to_string())?,
        public,
        expires_at_ms,
    };
    let add = |replies: &mut Vec<PendingReply>| {
        if replies.len() < MAX_REPLIES && !replies.contains(&pending) {
            replies.push(pending.clone());
        }
    };
    let index = ActiveIndex::new(deps.kv);
    match target {
        Target::Run(id) => {
            RunStore::new(deps.kv)
                .update(id, |r| {
                    add(&mut r.replies);
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            if let Some((app, number)) = parse_run_id(id) {
                index
                    .reopen_run(app, number, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Target::Deployment(id) => {
            let records = Records::new(deps.kv);
            let d = records
                .load_id(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the deployment is gone")?;
            records
                .update(&d, |d| add(&mut d.replies))
                .await
                .map_err(|e| e.to_string())?;
            index
                .set_deployment(id, true)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// After the response, while the runtime keeps the instance: the record
/// reconciled, and where it got to posted to the reply channel (best
/// effort: the tick finishes the work either way).
pub async fn chat_follow_up<K, H, C, S>(deps: &Deps<'_, K, H, C, S>, follow_up: &ChatFollowUp)
where
    K: KeyValue,
    H: HttpClient,
    C: Clock,
    S: Secrets,
{
    let Some(platform) = platform(follow_up.platform) else {
        return;
    };
    let deadline = deps.clock.now_ms() + FOLLOW_UP_BUDGET_MS;
    Engine::new(deps)
        .reconcile_in(follow_up.target.clone(), deadline, Mode::AfterResponse)
        .await;
    // A record that ended is reported by the engine (durably); this post
    // only shows progress.
    let Some(text) = progress(deps, &follow_up.target).await else {
        return;
    };
    let answer = Answer {
        text,
        public: follow_up.public,
        ..Answer::default()
    };
    let ports = (deps.http, deps.clock, deps.secrets);
    if let Err(e) = reply::deliver(ports, deps.config, platform, &follow_up.channel, &answer).await
    {
        eprintln!("{} progress not delivered: {e}", follow_up.platform);
    }
}

/// One line on where `target` is now, unless it has ended.
async fn progress<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    target: &Target,
) -> Option<String> {
    match target {
        Target::Run(id) => {
            let run = RunStore::new(deps.kv).load(id).await.ok()??;
            (!run.status.is_terminal()).then(|| run_line(&run))
        }
        Target::Deployment(id) => {
            let d = Records::new(deps.kv).load_id(id).await.ok()??;
            (!d.status.is_final()).then(|| format!("{}: {}", d.id, deployment_line(&d)))
        }
    }
}
