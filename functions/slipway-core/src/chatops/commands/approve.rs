//! `approve run stage` and `reject run stage [reason]`: a decision on an
//! approval stage, through the same checks as every other path
//! ([`crate::engine::approvals`]). Buttons add the attempt they were
//! asked for (`#2`), so a click on an old message cannot answer a newer
//! request.

use super::{Command, Ctx, Following, LocalFuture, Outcome, Scope, Spec, Usage, arg};
use crate::access::Role;
use crate::chat::Answer;
use crate::engine::approvals::{self, Answer as Decision};
use crate::engine::{Refusal, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{Decided, Verdict, parse_run_id};

/// `approve`.
pub struct Approve;
/// `reject`.
pub struct Reject;

static APPROVE: Spec = Spec {
    name: "approve",
    args: "run stage",
    help: "approve a run's approval stage",
    role: Some(Role::Approver),
    confirm: false,
};

static REJECT: Spec = Spec {
    name: "reject",
    args: "run stage [reason]",
    help: "reject a run's approval stage, which fails it",
    role: Some(Role::Approver),
    confirm: false,
};

fn run_scope(args: &[&str]) -> Result<Scope, Usage> {
    let run = args.first().ok_or(Usage)?;
    let (app, _) = parse_run_id(run).ok_or(Usage)?;
    args.get(1).ok_or(Usage)?;
    Ok(Scope {
        app: Some(app.to_owned()),
        environment: None,
    })
}

/// `#2` → attempt 2.
fn attempt(word: Option<&&str>) -> Option<u32> {
    word.and_then(|w| w.strip_prefix('#'))
        .and_then(|n| n.parse().ok())
}

async fn decide<K: KeyValue, H, C: Clock, S>(
    ctx: &Ctx<'_, K, H, C, S>,
    args: &[&str],
    verdict: Verdict,
) -> Result<Outcome, Refusal> {
    let (run, stage) = (arg(args, 0)?, arg(args, 1)?);
    let attempt = attempt(args.get(2));
    let rest = &args[(2 + usize::from(attempt.is_some())).min(args.len())..];
    let reason = (!rest.is_empty()).then(|| rest.join(" "));
    let decision = Decision {
        run: run.to_owned(),
        stage: stage.to_owned(),
        attempt,
        verdict,
        reason,
    };
    let now = ctx.deps.clock.now_ms();
    let (_, decided) = approvals::decide(
        ctx.deps.kv,
        &ctx.deps.config.access,
        ctx.actor,
        &decision,
        now,
    )
    .await?;
    let person = &ctx.actor.person;
    let text = match decided {
        Decided::Counted {
            approvals,
            required,
        } => {
            format!("{person} approved {stage} of {run} ({approvals} of {required} approvals).")
        }
        Decided::Approved => format!("{person} approved {stage} of {run}: the run goes on."),
        Decided::Rejected => format!("{person} rejected {stage} of {run}: the run stops."),
    };
    Ok(Answer::public(text).following(Target::Run(run.to_owned())))
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Approve {
    fn spec(&self) -> &'static Spec {
        &APPROVE
    }
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        if args.len() > 3 || (args.len() == 3 && attempt(args.get(2)).is_none()) {
            return Err(Usage);
        }
        run_scope(args)
    }
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(decide(ctx, args, Verdict::Approved))
    }
}

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Reject {
    fn spec(&self) -> &'static Spec {
        &REJECT
    }
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        run_scope(args)
    }
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(decide(ctx, args, Verdict::Rejected))
    }
}
