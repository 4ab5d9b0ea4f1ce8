//! `lock app env [reason]` and `unlock app env`: keep new deployments out
//! of an environment (a running one finishes).

use super::{Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage, app_env, arg};
use crate::access::Role;
use crate::chat::Answer;
use crate::deploy::freeze::{self, Freeze};
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// `lock`.
pub struct Lock;
/// `unlock`.
pub struct Unlock;

static LOCK: Spec = Spec {
    name: "lock",
    args: "app env [reason]",
    help: "keep new deployments out of an environment",
    role: Some(Role::Deployer),
    confirm: false,
};

static UNLOCK: Spec = Spec {
    name: "unlock",
    args: "app env",
    help: "let deployments into an environment again",
    role: Some(Role::Deployer),
    confirm: false,
};

fn known<K, H, C, S>(ctx: &Ctx<'_, K, H, C, S>, app: &str, env: &str) -> Result<(), Refusal> {
    if !ctx.deps.config.apps.contains_key(app) {
        return Err(Refusal::NotFound(format!("unknown app {app:?}")));
    }
    if !ctx.deps.config.environments.contains_key(env) {
        return Err(Refusal::NotFound(format!("unknown environment {env:?}")));
    }
    Ok(())
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Lock {
    fn spec(&self) -> &'static Spec {
        &LOCK
    }
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        if args.len() < 2 {
            Err(Usage)
        } else {
            Ok(app_env(args))
        }
    }
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let (app, env) = (arg(args, 0)?, arg(args, 1)?);
            known(ctx, app, env)?;
            let reason = args.get(2..).filter(|r| !r.is_empty()).map(|r| r.join(" "));
            let freeze = Freeze {
                by: ctx.actor.person.clone(),
                reason,
                since_ms: ctx.deps.clock.now_ms(),
            };
            let unavailable = |e: crate::cells::CellError| Refusal::Unavailable(e.to_string());
            match freeze::lock(ctx.deps.kv, app, env, freeze)
                .await
                .map_err(unavailable)?
            {
                Ok(_) => Ok(Answer::public(format!(
                    "{} locked {app} in {env}: no new deployment starts until `unlock {app} {env}`.",
                    ctx.actor.person
                )).into()),
                Err(existing) => Err(Refusal::Conflict(format!(
                    "{app} in {env} is already locked by {}",
                    existing.by
                ))),
            }
        })
    }
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Unlock {
    fn spec(&self) -> &'static Spec {
        &UNLOCK
    }
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        if args.len() == 2 {
            Ok(app_env(args))
        } else {
            Err(Usage)
        }
    }
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let (app, env) = (arg(args, 0)?, arg(args, 1)?);
            known(ctx, app, env)?;
            let lifted = freeze::unlock(ctx.deps.kv, app, env)
                .await
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
            match lifted {
                Some(f) => Ok(Answer::public(format!(
                    "{} unlocked {app} in {env} (locked by {}).",
                    ctx.actor.person, f.by
                ))
                .into()),
                None => Err(Refusal::Conflict(format!("{app} in {env} is not locked"))),
            }
        })
    }
}
