//! `login`: a one-time link that signs the caller in to the stage view,
//! answered only where nobody else can read it.

use super::{Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage};
use crate::chat::Answer;
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::sessions::{LOGIN_TTL_MS, SESSION_SECRET, SessionKey, Sessions};

/// `login`.
pub struct Login;

static SPEC: Spec = Spec {
    name: "login",
    args: "",
    help: "a one-time link that signs you in to the web stage view",
    role: None,
    confirm: false,
};

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Login {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        match args {
            [] => Ok(Scope::default()),
            _ => Err(Usage),
        }
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        _args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let Some(actor) = &ctx.caller.actor else {
                return Err(Refusal::Forbidden(format!(
                    "{} is nobody in Slipway's [access.people]; ask an admin to add you",
                    ctx.caller.identity
                )));
            };
            if !ctx.caller.private_channel {
                return Err(Refusal::Conflict(
                    "others would see the sign-in link here: send `login` to the bot in a direct message"
                        .into(),
                ));
            }
            let secret = ctx
                .deps
                .secrets
                .get(SESSION_SECRET)
                .await
                .unwrap_or_default();
            let key = SessionKey::from_secret(&secret).ok_or_else(|| {
                Refusal::Unavailable(format!(
                    "web sign-in is not configured (the Spin variable {SESSION_SECRET} is unset)"
                ))
            })?;
            let now = ctx.deps.clock.now_ms();
            let link = Sessions::new(ctx.deps.kv, &key)
                .issue_login(
                    &ctx.deps.config.public_url,
                    &actor.person,
                    &actor.identity,
                    now,
                )
                .await
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
            Ok(Answer::private(format!(
                "Sign in as {} (the link works once, for {} minutes): {}",
                actor.person,
                LOGIN_TTL_MS / 60_000,
                link.url
            ))
            .into())
        })
    }
}
