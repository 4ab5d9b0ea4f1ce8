//! `/ok-to-test` comments on merge requests (Prow's convention): a trusted
//! person lets the held run of an untrusted author's request go. It binds
//! to one run, so to one head commit: the run of the commit the comment
//! names (GitLab, Codeup, Gitee and Bitbucket say which), or else the
//! newest held run of the request; older held runs of the request are
//! superseded. A comment by anyone else changes nothing.

use serde_json::json;

use super::{Handled, Reply};
use crate::access::pull_requests::GitUser;
use crate::active::ActiveIndex;
use crate::engine::{Deps, Target};
use crate::ports::{Clock, KeyValue};
use crate::providers::{CommentEvent, Provider};
use crate::runs::{OkGrant, RunRecord, RunStore, StoreError, TransitionError, run_id};

/// The command, alone on a line of the comment.
pub const OK_TO_TEST: &str = "/ok-to-test";
/// Most unfinished runs of an app looked at for a held one.
const MAX_SCAN: usize = 500;

/// Whether `body` has `/ok-to-test` on a line of its own.
pub fn says_ok_to_test(body: &str) -> bool {
    body.lines().any(|line| line.trim() == OK_TO_TEST)
}

/// Handles a verified comment on a merge request.
pub async fn handle_comment<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    provider: Provider,
    comment: &CommentEvent,
) -> Handled
where
    K: KeyValue,
    C: Clock,
{
    let Some((app_name, app)) = deps.config.app_for(provider, &comment.repo) else {
        let why = format!("no app is configured for repository {}", comment.repo);
        return Reply::ignored(why).into();
    };
    if !comment.created {
        return Reply::ignored("an edited or deleted comment").into();
    }
    if !says_ok_to_test(&comment.body) {
        return Reply::ignored("a comment without a command").into();
    }
    let user = GitUser {
        provider: provider.as_str(),
        login: &comment.author,
        association: comment.author_association.as_deref(),
    };
    let Some(trusted_as) = app.pull_requests.trusts(&deps.config.access, user) else {
        let why = format!("{} is not trusted to say {OK_TO_TEST}", comment.author);
        return Reply::ignored(why).into();
    };
    let held = match held_runs(deps, app_name, comment.number).await {
        Ok(runs) => runs,
        Err(e) => return Reply::error(503, format!("state store unavailable: {e}")).into(),
    };
    let Some(chosen) = choose(&held, comment.head_sha.as_deref()) else {
        let why = format!(
            "no run of request !{} waits for {OK_TO_TEST}",
            comment.number
        );
        return Reply::ignored(why).into();
    };
    let grant = OkGrant {
        by: comment.author.clone(),
        trusted_as,
        at_ms: deps.clock.now_ms(),
    };
    let runs = RunStore::new(deps.kv);
    match runs
        .update(&chosen.id, |r| r.grant_ok_to_test(grant.clone()))
        .await
    {
        Ok(_) => {}
        Err(StoreError::Transition(TransitionError::NotHeld(_))) => {
            return Reply::ignored(format!("run {} no longer waits", chosen.id)).into();
        }
        Err(e) => return Reply::error(503, format!("state store unavailable: {e}")).into(),
    }
    supersede_older(deps, &held, chosen).await;
    Handled::then(
        Reply::new(
            202,
            json!({ "run": chosen.id, "number": chosen.number, "ok_to_test": comment.author }),
        ),
        Target::Run(chosen.id.clone()),
    )
}

/// The held runs of request `number` of `app`, newest first.
async fn held_runs<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    app: &str,
    number: u64,
) -> Result<Vec<RunRecord>, StoreError>
where
    K: KeyValue,
{
    let runs = RunStore::new(deps.kv);
    let index = ActiveIndex::new(deps.kv).runs(app).await?;
    // Runs above the watermark are not in the index until a tick sees them.
    let newest = runs.last_number(app).await?;
    let mut numbers: Vec<u64> = index.active.keys().copied().collect();
    numbers.extend(index.watermark + 1..=newest);
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers.dedup();
    let mut held = Vec::new();
    for n in numbers.into_iter().take(MAX_SCAN) {
        if let Some(run) = runs.load(&run_id(app, n)).await?
            && run.held()
            && run.trigger.merge_request == Some(number)
        {
            held.push(run);
        }
    }
    Ok(held)
}

/// The run the comment lets go: the one at the commit it names, if it
/// names one, else the newest.
fn choose<'r>(held: &'r [RunRecord], head_sha: Option<&str>) -> Option<&'r RunRecord> {
    match head_sha.filter(|s| s.len() >= 7) {
        Some(sha) => held.iter().find(|r| {
            let commit = r.trigger.commit.to_ascii_lowercase();
            let sha = sha.to_ascii_lowercase();
            commit.starts_with(&sha) || sha.starts_with(&commit)
        }),
        None => held.first(),
    }
}

/// Held runs of the same request older than the one let go end: their
/// commits are no longer the request's head. Best effort: the tick's
/// expiry ends any this misses.
async fn supersede_older<K, H, C, S>(
    deps: &Deps<'_, K, H, C, S>,
    held: &[RunRecord],
    chosen: &RunRecord,
) where
    K: KeyValue,
    C: Clock,
{
    let runs = RunStore::new(deps.kv);
    for older in held.iter().filter(|r| r.number < chosen.number) {
        let now = deps.clock.now_ms();
        let _ = runs
            .update(&older.id, |r| {
                r.supersede_hold(&chosen.id, now);
                Ok(())
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_must_stand_on_its_own_line() {
        assert!(says_ok_to_test("/ok-to-test"));
        assert!(says_ok_to_test("Looks safe.\n  /ok-to-test  \nthanks"));
        assert!(!says_ok_to_test("please /ok-to-test this"));
        assert!(!says_ok_to_test("/ok-to-testing"));
        assert!(!says_ok_to_test(""));
    }
}
