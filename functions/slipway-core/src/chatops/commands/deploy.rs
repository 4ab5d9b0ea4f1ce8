//! `deploy app env image|run [strategy]`: deploy an image, or the image a
//! run built, recorded as the verified person's deployment.

use super::{Command, Ctx, Following, LocalFuture, Outcome, Scope, Spec, Usage, app_env, arg};
use crate::access::Role;
use crate::chat::Answer;
use crate::engine::deploy_requests::{self as requests, DeployRequest};
use crate::engine::{Refusal, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};
use crate::runs::{RunStore, parse_run_id};

/// `deploy`.
pub struct Deploy;

static SPEC: Spec = Spec {
    name: "deploy",
    args: "app env image|run [rolling|blue-green|canary]",
    help: "deploy an image, or the image a run built",
    role: Some(Role::Deployer),
    confirm: true,
};

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Deploy {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        match args.len() {
            3 | 4 => Ok(app_env(args)),
            _ => Err(Usage),
        }
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let (app, env, what) = (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
            let image = image_of(ctx, app, what).await?;
            let strategy =
                crate::deploy::strategy(args.get(3).copied().unwrap_or("rolling"), None, None)
                    .map_err(Refusal::BadRequest)?;
            let request = DeployRequest {
                app: app.to_owned(),
                environment: env.to_owned(),
                image,
                strategy,
                requested_by: ctx.actor.person.clone(),
                stage: None,
                override_freeze: None,
                commit: None,
            };
            let now = ctx.deps.clock.now_ms();
            let d = requests::request(ctx.deps.kv, ctx.deps.config, request, now).await?;
            Ok(Answer::public(format!(
                "{} is deploying {} to {env} as {} ({}).",
                ctx.actor.person,
                d.image,
                d.id,
                d.strategy.name()
            ))
            .following(Target::Deployment(d.id)))
        })
    }
}

/// `what` as an image: a run id of `app` stands for the newest image the
/// run reported.
async fn image_of<K: KeyValue, H, C, S>(
    ctx: &Ctx<'_, K, H, C, S>,
    app: &str,
    what: &str,
) -> Result<String, Refusal> {
    let names_run =
        parse_run_id(what).is_some_and(|(a, _)| a == app) && !what.contains(['/', ':', '@']);
    if !names_run {
        return Ok(what.to_owned());
    }
    let run = RunStore::new(ctx.deps.kv)
        .load(what)
        .await
        .map_err(|e| Refusal::Unavailable(e.to_string()))?
        .ok_or_else(|| Refusal::NotFound(format!("no run {what:?}")))?;
    run.stages
        .values()
        .filter_map(|s| s.image.as_ref().map(|i| (s.finished_at_ms, i.full())))
        .max_by_key(|(at, _)| *at)
        .map(|(_, image)| image)
        .ok_or_else(|| Refusal::Conflict(format!("run {what} reported no image")))
}
