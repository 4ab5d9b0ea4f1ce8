//! `status [app]`: the latest run per branch, the live release and the
//! deployment in flight per environment, and who holds each lock.

use std::collections::BTreeSet;

use super::{Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage};
use crate::access::Role;
use crate::chat::Answer;
use crate::chat::lines::{branch, deployment_line, run_line};
use crate::chatops::views::{recent_runs, releases};
use crate::deploy::freeze;
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// Runs looked at for the latest per branch.
const SCAN: u64 = 30;
/// Apps listed by `status` without an app.
const MAX_APPS: usize = 10;

/// `status`.
pub struct Status;

static SPEC: Spec = Spec {
    name: "status",
    args: "[app]",
    help: "latest run per branch, live release and lock per environment",
    role: Some(Role::Viewer),
    confirm: false,
};

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Status {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        match args {
            [] => Ok(Scope::default()),
            [app] => Ok(Scope {
                app: Some((*app).to_owned()),
                environment: None,
            }),
            _ => Err(Usage),
        }
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let config = ctx.deps.config;
            let apps: Vec<&str> = match args.first() {
                Some(app) if config.apps.contains_key(*app) => vec![*app],
                Some(app) => return Err(Refusal::NotFound(format!("unknown app {app:?}"))),
                None => config
                    .apps
                    .keys()
                    .map(String::as_str)
                    .filter(|a| ctx.require(Role::Viewer, a, None).is_ok())
                    .take(MAX_APPS)
                    .collect(),
            };
            if apps.is_empty() {
                return Ok(Answer::private("You may not view any app.").into());
            }
            let mut lines = Vec::new();
            for app in apps {
                lines.push(format!("{app}:"));
                app_status(ctx, app, &mut lines).await?;
            }
            Ok(Answer::private(lines.join("\n")).into())
        })
    }
}

async fn app_status<K: KeyValue, H, C, S>(
    ctx: &Ctx<'_, K, H, C, S>,
    app: &str,
    lines: &mut Vec<String>,
) -> Result<(), Refusal> {
    let kv = ctx.deps.kv;
    let mut branches = BTreeSet::new();
    let latest = recent_runs(kv, app, SCAN, usize::MAX, |_| true).await?;
    for run in latest {
        if branches.insert(branch(&run).to_owned()) {
            lines.push(format!("  {}", run_line(&run)));
        }
    }
    if branches.is_empty() {
        lines.push("  no runs yet".into());
    }
    for env in ctx.deps.config.environments.keys() {
        let (live, moving) = releases(kv, app, env).await?;
        let lock = freeze::state(kv, app, env)
            .await
            .map_err(|e| Refusal::Unavailable(e.to_string()))?;
        if let Some(d) = &live {
            lines.push(format!("  live: {}", deployment_line(d)));
        }
        if let Some(d) = &moving {
            lines.push(format!("  deploying: {}", deployment_line(d)));
        }
        if let Some(f) = &lock.frozen {
            let why = f
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            lines.push(format!("  {env} locked by {}{why}", f.by));
        } else if let Some(holder) = lock.holder.as_deref().filter(|_| moving.is_none()) {
            lines.push(format!("  {env} held by {holder}"));
        }
    }
    Ok(())
}
