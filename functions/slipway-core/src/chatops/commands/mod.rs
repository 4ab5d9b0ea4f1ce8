//! The commands, the same on every platform. Each implements [`Command`]
//! and is listed once in [`registry`]; `help` and usage errors are made
//! from the registry's [`Spec`]s, never kept by hand. [`dispatch`] checks
//! the caller's role for the command's scope before running it, and asks
//! for a `confirm <code>` first where the environment's policy wants one.

mod approve;
mod confirm;
mod deploy;
mod help;
mod lock;
mod login;
mod operate;
mod retry;
mod runs;
mod status;

use std::future::Future;
use std::pin::Pin;

use crate::access::{Actor, ChatIdentity, Role};
use crate::chat::Answer;
use crate::engine::{Deps, Refusal, Target};
use crate::ports::{Clock, HttpClient, KeyValue, Secrets};

pub use confirm::CONFIRM_TTL_MS;

/// A boxed future that need not be `Send` (components are single-threaded).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A command's answer, and the record whose progress is reported after
/// it (reconciled after the response, reported to the reply channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What the caller sees now.
    pub answer: Answer,
    /// The record the command changed.
    pub follow_up: Option<Target>,
}

impl From<Answer> for Outcome {
    fn from(answer: Answer) -> Self {
        Outcome {
            answer,
            follow_up: None,
        }
    }
}

/// `answer.following(target)`: an answer whose record is reported later.
pub trait Following {
    /// The outcome of answering `self` and following `target`.
    fn following(self, target: Target) -> Outcome;
}

impl Following for Answer {
    fn following(self, target: Target) -> Outcome {
        Outcome {
            answer: self,
            follow_up: Some(target),
        }
    }
}

/// What the registry says about a command.
#[derive(Debug)]
pub struct Spec {
    /// The word that calls it.
    pub name: &'static str,
    /// Its arguments, e.g. `app env image|run [strategy]`.
    pub args: &'static str,
    /// One line saying what it does.
    pub help: &'static str,
    /// The role it needs, checked for its scope (none: anyone).
    pub role: Option<Role>,
    /// Whether an environment with `confirm = true` asks for a second step.
    pub confirm: bool,
}

impl Spec {
    /// `name args`.
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            self.name.to_owned()
        } else {
            format!("{} {}", self.name, self.args)
        }
    }
}

/// The app and environment a command acts on, for the role check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The app (none: each app the command touches is checked by it).
    pub app: Option<String>,
    /// The environment, when the command has one.
    pub environment: Option<String>,
}

/// Who sent a command.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The identity the platform vouched for.
    pub identity: ChatIdentity,
    /// The person it maps to, if any.
    pub actor: Option<Actor>,
    /// Whether this is the second step of a confirmed command.
    pub confirmed: bool,
    /// Whether a private answer reaches only the caller.
    pub private_channel: bool,
}

/// Arguments that do not fit a command's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage;

/// What a command runs with.
pub struct Ctx<'a, K, H, C, S> {
    /// The ports and configuration.
    pub deps: &'a Deps<'a, K, H, C, S>,
    /// Who asked.
    pub caller: &'a Caller,
    /// The verified person (commands with a role always have one).
    pub actor: &'a Actor,
}

impl<K, H, C, S> Ctx<'_, K, H, C, S> {
    /// Whether the caller holds `role` for `app` (and `environment`).
    pub fn require(&self, role: Role, app: &str, environment: Option<&str>) -> Result<(), Refusal> {
        if self
            .deps
            .config
            .access
            .allows(&self.actor.person, role, app, environment)
        {
            return Ok(());
        }
        Err(Refusal::Forbidden(needs(role, app, environment)))
    }
}

fn needs(role: Role, app: &str, environment: Option<&str>) -> String {
    match environment {
        Some(env) => format!("this needs the {role} role for {app} in {env}"),
        None => format!("this needs the {role} role for {app}"),
    }
}

/// One command.
pub trait Command<K, H, C, S> {
    /// Its registry entry.
    fn spec(&self) -> &'static Spec;
    /// What the arguments act on; `Err` when they do not fit the usage.
    fn scope(&self, args: &[&str]) -> Result<Scope, Usage>;
    /// Runs it (the role for its scope is already checked).
    fn run<'a>(
        &'a self,
        ctx: &'a Ctx<'a, K, H, C, S>,
        args: &'a [&'a str],
    ) -> LocalFuture<'a, Result<Outcome, Refusal>>;
}

/// Every command, in the order `help` lists them.
pub fn registry<K, H, C, S>() -> [&'static dyn Command<K, H, C, S>; 15]
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    [
        &help::Help,
        &status::Status,
        &runs::Runs,
        &deploy::Deploy,
        &operate::PROMOTE,
        &operate::ABORT,
        &operate::Rollback,
        &approve::Approve,
        &approve::Reject,
        &lock::Lock,
        &lock::Unlock,
        &retry::Retry,
        &confirm::Confirm,
        &help::Whoami,
        &login::Login,
    ]
}

/// Argument `i` (the scope already checked the count; this never panics).
pub(crate) fn arg<'a>(args: &[&'a str], i: usize) -> Result<&'a str, Refusal> {
    args.get(i)
        .copied()
        .ok_or_else(|| Refusal::BadRequest(format!("argument {} is missing", i + 1)))
}

/// The scope of `app env …` commands.
pub(crate) fn app_env(args: &[&str]) -> Scope {
    Scope {
        app: args.first().map(|a| (*a).to_owned()),
        environment: args.get(1).map(|e| (*e).to_owned()),
    }
}

/// Refusal text for people.
pub fn refusal_text(r: &Refusal) -> String {
    match r {
        Refusal::Forbidden(m) => format!("Not allowed: {m}."),
        Refusal::BadRequest(m) | Refusal::NotFound(m) | Refusal::Conflict(m) => {
            format!("Cannot do that: {m}.")
        }
        Refusal::Busy(lock) => format!(
            "Cannot do that: {}.",
            crate::engine::deploy_requests::busy_message(lock)
        ),
        Refusal::Unavailable(m) => format!("Slipway's store is unavailable, try again: {m}"),
    }
}

/// Runs the command line `text` for `caller`.
pub fn dispatch<'a, K, H, C, S>(
    deps: &'a Deps<'a, K, H, C, S>,
    caller: &'a Caller,
    text: &'a str,
) -> LocalFuture<'a, Outcome>
where
    K: KeyValue + 'static,
    H: HttpClient + 'static,
    C: Clock + 'static,
    S: Secrets + 'static,
{
    Box::pin(async move {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (name, args) = match words.split_first() {
            Some((name, args)) => (name.trim_start_matches('/'), args),
            None => ("help", &[][..]),
        };
        let Some(command) = registry::<K, H, C, S>()
            .into_iter()
            .find(|c| c.spec().name.eq_ignore_ascii_case(name))
        else {
            return Answer::private(format!(
                "Unknown command {name:?}. Try `help` for the list."
            ))
            .into();
        };
        let spec = command.spec();
        let Ok(scope) = command.scope(args) else {
            return Answer::private(format!("Usage: {}", spec.usage())).into();
        };
        let Some(role) = spec.role else {
            // No role: the command runs for anyone the platform vouched for.
            let actor = caller.actor.clone().unwrap_or_else(|| Actor {
                person: String::new(),
                identity: caller.identity.to_string(),
                via: caller.identity.platform.clone(),
            });
            let ctx = Ctx {
                deps,
                caller,
                actor: &actor,
            };
            return command
                .run(&ctx, args)
                .await
                .unwrap_or_else(|r| Answer::private(refusal_text(&r)).into());
        };
        let Some(actor) = &caller.actor else {
            return Answer::private(format!(
                "Slipway does not know you: ask an admin to add \"{}\" to a person's `chat` \
                 in [access.people].",
                caller.identity
            ))
            .into();
        };
        let ctx = Ctx {
            deps,
            caller,
            actor,
        };
        if let Some(app) = &scope.app
            && let Err(r) = ctx.require(role, app, scope.environment.as_deref())
        {
            return Answer::private(refusal_text(&r)).into();
        }
        let confirm_first = spec.confirm
            && !caller.confirmed
            && scope
                .environment
                .as_deref()
                .is_some_and(|e| deps.config.access.policy(e).confirm);
        if confirm_first {
            return confirm::ask(&ctx, text)
                .await
                .unwrap_or_else(|r| Answer::private(refusal_text(&r)).into());
        }
        command
            .run(&ctx, args)
            .await
            .unwrap_or_else(|r| Answer::private(refusal_text(&r)).into())
    })
}
