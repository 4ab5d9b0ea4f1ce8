//! `help` (made from the registry) and `whoami`.

use super::{Command, Ctx, LocalFuture, Outcome, Scope, Spec, Usage, registry};
use crate::chat::Answer;
use crate::engine::Refusal;
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

/// `help`.
pub struct Help;

static HELP: Spec = Spec {
    name: "help",
    args: "",
    help: "list the commands",
    role: None,
    confirm: false,
};

impl<K, H, C, S> Command<K, H, C, S> for Help
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    fn spec(&self) -> &'static Spec {
        &HELP
    }

    fn scope(&self, _args: &[&str]) -> Result<Scope, Usage> {
        Ok(Scope::default())
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a Ctx<'a, K, H, C, S>,
        _args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move { Ok(Answer::private(help_text::<K, H, C, S>()).into()) })
    }
}

/// Every command with its usage, role and help line.
pub fn help_text<K, H, C, S>() -> String
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    let mut lines = vec!["Slipway commands:".to_owned()];
    for command in registry::<K, H, C, S>() {
        let spec = command.spec();
        let role = spec.role.map(|r| format!(" ({r})")).unwrap_or_default();
        lines.push(format!("{} — {}{role}", spec.usage(), spec.help));
    }
    lines.join("\n")
}

/// `whoami`.
pub struct Whoami;

static WHOAMI: Spec = Spec {
    name: "whoami",
    args: "",
    help: "show your chat identity and the person it maps to",
    role: None,
    confirm: false,
};

impl<K, H, C, S> Command<K, H, C, S> for Whoami {
    fn spec(&self) -> &'static Spec {
        &WHOAMI
    }

    fn scope(&self, _args: &[&str]) -> Result<Scope, Usage> {
        Ok(Scope::default())
    }

    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        _args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>> {
        Box::pin(async move {
            let identity = &ctx.caller.identity;
            Ok(Answer::private(match &ctx.caller.actor {
                Some(a) => format!("You are {} ({identity}).", a.person),
                None => {
                    format!("You are {identity}, which is nobody in Slipway's [access.people] yet.")
                }
            })
            .into())
        })
    }
}
