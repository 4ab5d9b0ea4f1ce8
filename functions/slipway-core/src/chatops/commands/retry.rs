//! `retry run stage`: start a failed stage again as a new attempt.

use super::{Command, Ctx, Following, LocalFuture, Outcome, Scope, Spec, Usage, arg};
use crate::access::Role;
use crate::chat::Answer;
use crate::engine::retries::retry_stage;
use crate::engine::{Refusal, Target};
use crate::pipeline::StageKind;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{RunStore, parse_run_id};

/// `retry`.
pub struct Retry;

static SPEC: Spec = Spec {
    name: "retry",
    args: "run stage",
    help: "start a failed, timed-out or cancelled stage again",
    role: Some(Role::Deployer),
    confirm: false,
};

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Retry {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        let [run, _stage] = args else {
            return Err(Usage);
        };
        let (app, _) = parse_run_id(run).ok_or(Usage)?;
        Ok(Scope {
            app: Some(app.to_owned()),
            environment: None,
        })
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let (run_id, stage) = (arg(args, 0)?, arg(args, 1)?);
            let run = RunStore::new(ctx.deps.kv)
                .load(run_id)
                .await
                .map_err(|e| Refusal::Unavailable(e.to_string()))?
                .ok_or_else(|| Refusal::NotFound(format!("no run {run_id:?}")))?;
            // A deploy stage's retry deploys: the role must cover its environment.
            if let Some(StageKind::Deploy {
                environment, app, ..
            }) = run
                .pipeline
                .as_ref()
                .and_then(|p| p.stage(stage))
                .map(|s| &s.kind)
            {
                ctx.require(
                    Role::Deployer,
                    app.as_deref().unwrap_or(&run.app),
                    Some(environment),
                )?;
            }
            let attempt = retry_stage(
                ctx.deps.kv,
                ctx.deps.clock,
                run_id,
                stage,
                &ctx.actor.person,
            )
            .await?;
            Ok(Answer::public(format!(
                "{} retried {stage} of {run_id} (attempt {attempt}).",
                ctx.actor.person
            ))
            .following(Target::Run(run_id.to_owned())))
        })
    }
}
