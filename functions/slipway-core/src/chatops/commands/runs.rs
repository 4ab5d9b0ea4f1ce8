//! `runs app [branch]`: the newest runs.

use super::{Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage};
use crate::access::Role;
use crate::chat::Answer;
use crate::chat::lines::{branch, run_line};
use crate::chatops::views::recent_runs;
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// Runs listed.
const LIMIT: usize = 10;
/// Runs looked at to find them.
const SCAN: u64 = 200;

/// `runs`.
pub struct Runs;

static SPEC: Spec = Spec {
    name: "runs",
    args: "app [branch]",
    help: "the newest runs of an app",
    role: Some(Role::Viewer),
    confirm: false,
};

impl<K: KeyValue, H: HttpClient, C: Clock, S: Secrets> Command<K, H, C, S> for Runs {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn scope(&self, args: &[&str]) -> Result<Scope, Usage> {
        match args {
            [app] | [app, _] => Ok(Scope {
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
            let app = super::arg(args, 0)?;
            if !ctx.deps.config.apps.contains_key(app) {
                return Err(Refusal::NotFound(format!("unknown app {app:?}")));
            }
            let wanted = args.get(1).copied();
            let runs = recent_runs(ctx.deps.kv, app, SCAN, LIMIT, |r| {
                wanted.is_none_or(|b| branch(r) == b)
            })
            .await?;
            if runs.is_empty() {
                return Ok(Answer::private(format!("{app} has no runs yet.")).into());
            }
            let lines: Vec<String> = runs.iter().map(run_line).collect();
            Ok(Answer::private(lines.join("\n")).into())
        })
    }
}
