//! Webhook conformance, end to end: for each git provider, every event
//! kind Slipway acts on, one it ignores and the provider's ping or test
//! delivery, from the provider's documented example payloads, signed as
//! the provider signs, sent to `/hooks/{provider}` of the real host running
//! the real components; checked against the answer and the run expected.
//!
//! One table per provider (its module); [`harness`] runs a table against
//! one host. GitHub and GitLab have theirs; Gitee, Codeup, Bitbucket and
//! Gitea/Forgejo are still to be written (issue 15). A new event or provider is a row or a table. The README's
//! "What each provider's events do" describes the same behaviour.

mod github;
mod gitlab;
mod harness;

#[test]
fn github() {
    harness::run(&github::GITHUB);
}

#[test]
fn gitlab() {
    harness::run(&gitlab::GITLAB);
}
