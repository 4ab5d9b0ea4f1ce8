//! `promote app env`, `abort app env`, `rollback app env [to version]`:
//! facts on the environment's deployment, recorded as the verified
//! person's.

use super::{Command, Ctx, Following, LocalFuture, Outcome, Scope, Spec, Usage, app_env, arg};
use crate::access::Role;
use crate::chat::Answer;
use crate::engine::deploy_requests::{self as requests, Operation};
use crate::engine::{Refusal, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// `promote` or `abort`: a flag on the deployment in progress.
pub struct Operate {
    spec: &'static Spec,
    op: Operation,
}

/// `promote`.
pub static PROMOTE: Operate = Operate {
    spec: &PROMOTE_SPEC,
    op: Operation::Promote,
};
/// `abort`.
pub static ABORT: Operate = Operate {
    spec: &ABORT_SPEC,
    op: Operation::Abort,
};
/// `rollback`.
pub struct Rollback;

static PROMOTE_SPEC: Spec = Spec {
    name: "promote",
    args: "app env",
    help: "move a paused canary to its next step now",
    role: Some(Role::Deployer),
    confirm: true,
};

static ABORT_SPEC: Spec = Spec {
    name: "abort",
    args: "app env",
    help: "stop the deployment in progress and go back to the live version",
    role: Some(Role::Deployer),
    confirm: false,
};

static ROLLBACK: Spec = Spec {
    name: "rollback",
    args: "app env [to version]",
    help: "go back to the previous release, or to release number `version`",
    role: Some(Role::Deployer),
    confirm: true,
};

async fn operate<K: KeyValue, H, C: Clock, S>(
    ctx: &Ctx<'_, K, H, C, S>,
    args: &[&str],
    op: Operation,
) -> Result<Outcome, Refusal> {
    let (app, env) = (arg(args, 0)?, arg(args, 1)?);
    let now = ctx.deps.clock.now_ms();
    let person = &ctx.actor.person;
    let d = requests::operate(ctx.deps.kv, ctx.deps.config, app, env, op, person, now).await?;
    let verb = match op {
        Operation::Promote => "promoted",
        Operation::Abort => "aborted",
    };
    Ok(
        Answer::public(format!("{person} {verb} {} ({app} in {env}).", d.id))
            .following(Target::Deployment(d.id)),
    )
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Operate {
    fn spec(&self) -> &'static Spec {
        self.spec
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
        Box::pin(operate(ctx, args, self.op))
    }
}

/// `to 3`, `3` or `#3`.
fn version(args: &[&str]) -> Result<Option<u64>, Usage> {
    let rest = match args {
        [] => return Ok(None),
        ["to", v] | [v] => v,
        _ => return Err(Usage),
    };
    rest.trim_start_matches('#')
        .parse()
        .map(Some)
        .map_err(|_| Usage)
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Rollback {
    fn spec(&self) -> &'static Spec {
        &ROLLBACK
    }
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        if args.len() < 2 {
            return Err(Usage);
        }
        version(args.get(2..).unwrap_or_default())?;
        Ok(app_env(args))
    }
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let (app, env) = (arg(args, 0)?, arg(args, 1)?);
            let to = version(args.get(2..).unwrap_or_default())
                .map_err(|Usage| Refusal::BadRequest("the version is a release number".into()))?;
            let now = ctx.deps.clock.now_ms();
            let person = &ctx.actor.person;
            let d =
                requests::rollback(ctx.deps.kv, ctx.deps.config, app, env, to, person, now).await?;
            Ok(Answer::public(format!(
                "{person} is rolling {app} in {env} back to {} as {}.",
                d.image, d.id
            ))
            .following(Target::Deployment(d.id)))
        })
    }
}
