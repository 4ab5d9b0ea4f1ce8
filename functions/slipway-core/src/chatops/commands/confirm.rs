//! The second step of commands an environment's policy guards
//! (`confirm = true`): the first step stores the command line under a
//! code bound to the caller's identity; `confirm <code>` (typed, or the
//! Confirm button) runs it once, within five minutes, checking the role
//! again. The codes are kept by [`crate::chat_state`].

use super::{Caller, Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage, arg, dispatch};
use crate::chat::{Answer, Style};
use crate::chat_state::{self, Pending};
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// How long a code stays valid.
pub const CONFIRM_TTL_MS: u64 = 5 * 60 * 1000;

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

/// Stores `command` for the caller to confirm; the answer asking for it.
pub async fn ask<K: KeyValue, H, C: Clock, S>(
    ctx: &Ctx<'_, K, H, C, S>,
    command: &str,
) -> Result<Outcome, Refusal> {
    let pending = Pending {
        identity: ctx.caller.identity.to_string(),
        command: command.trim().to_owned(),
        expires_at_ms: ctx.deps.clock.now_ms() + CONFIRM_TTL_MS,
        used: false,
    };
    let code = chat_state::park(ctx.deps.kv, &pending)
        .await
        .map_err(unavailable)?;
    Ok(Answer::private(format!(
        "`{}` needs a second step here: reply `confirm {code}` within 5 minutes.",
        pending.command
    ))
    .with_action("Confirm", format!("confirm {code}"), Style::Primary)
    .into())
}

/// `confirm`.
pub struct Confirm;

static SPEC: Spec = Spec {
    name: "confirm",
    args: "code",
    help: "run a command that asked for a second step",
    role: None,
    confirm: false,
};

impl<K, H, C, S> Command<K, H, C, S> for Confirm
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        match args {
            [code] if code.parse::<u64>().is_ok() => Ok(Scope::default()),
            _ => Err(Usage),
        }
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let code: u64 = arg(args, 0)?
                .parse()
                .map_err(|_| Refusal::BadRequest("a code is a number".into()))?;
            let kv = ctx.deps.kv;
            let pending = chat_state::parked(kv, code)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| Refusal::NotFound(format!("no confirmation {code}")))?;
            if pending.identity != ctx.caller.identity.to_string() {
                return Err(Refusal::Forbidden(format!(
                    "confirmation {code} was asked of someone else"
                )));
            }
            if pending.used || ctx.deps.clock.now_ms() >= pending.expires_at_ms {
                return Err(Refusal::Conflict(format!(
                    "confirmation {code} is used or expired; ask again"
                )));
            }
            // Single use: whoever turns `used` on runs the command.
            let won = chat_state::take(kv, code, &pending)
                .await
                .map_err(unavailable)?;
            if !won {
                return Err(Refusal::Conflict(format!("confirmation {code} is used")));
            }
            let caller = Caller {
                confirmed: true,
                ..ctx.caller.clone()
            };
            Ok(dispatch(ctx.deps, &caller, &pending.command).await)
        })
    }
}
