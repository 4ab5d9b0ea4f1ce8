//! `POST /chat/{platform}`: a chat command or button click. The platform
//! verifies the request (401 and nothing written when it fails); the
//! command answers at once (Slack, Mattermost and Feishu wait 3 s at
//! most): it records its fact and hands the record to the engine, which
//! reconciles it after the response and reports where it got to through
//! the platform's reply channel. The tick finishes what that does not.
//!
//! | key | value |
//! |---|---|
//! | `chat/event/{platform}/{hash}` | counter: deliveries of one platform event (DingTalk `msgId`, Feishu `event_id`), so a redelivery acts once |

use sha2::{Digest, Sha256};

use super::{FOLLOW_UP_BUDGET_MS, Reply};
use crate::access::Actor;
use crate::chatops::answer::Answer;
use crate::chatops::commands::{Caller, dispatch};
use crate::chatops::platform::{ChatRequest, Inbound, Rejection, ReplyChannel, SecretValues};
use crate::chatops::views::{deployment_line, run_line};
use crate::chatops::{platform, reply};
use crate::deploy::records::Records;
use crate::engine::{Deps, Engine, Mode, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::providers::Headers;
use crate::runs::RunStore;

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
        match first_delivery(deps.kv, platform.name(), id).await {
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
    };
    let answer = dispatch(deps, &caller, &command.text).await;
    if !platform.answers_in_response() {
        // The response only acknowledges: deliver the answer first, while
        // the request holds the instance (work after a response may not run).
        let ports = (deps.http, deps.clock, deps.secrets);
        if let Err(e) = reply::deliver(ports, deps.config, platform, &command.reply, &answer).await
        {
            eprintln!("{} answer not delivered: {e}", platform.name());
        }
    }
    let follow_up = answer.follow_up.clone().map(|target| ChatFollowUp {
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

/// Whether this is the first delivery of the platform's event `id`.
async fn first_delivery(
    kv: &impl KeyValue,
    platform: &str,
    id: &str,
) -> Result<bool, crate::ports::KvError> {
    let hash = hex::encode(Sha256::digest(id.as_bytes()));
    let key = format!("chat/event/{platform}/{}", &hash[..32]);
    Ok(kv.increment(&key, 1).await? == 1)
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
    let Some(text) = report(deps, &follow_up.target).await else {
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

/// One line on where `target` is now.
async fn report<K: KeyValue, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    target: &Target,
) -> Option<String> {
    match target {
        Target::Run(id) => {
            let run = RunStore::new(deps.kv).load(id).await.ok()??;
            Some(run_line(&run))
        }
        Target::Deployment(id) => {
            let d = Records::new(deps.kv).load_id(id).await.ok()??;
            Some(format!("{}: {}", d.id, deployment_line(&d)))
        }
    }
}
