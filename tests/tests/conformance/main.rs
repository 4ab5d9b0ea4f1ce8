//! Webhook conformance, end to end: for each git provider, every event
//! kind Slipway acts on, one it ignores and the provider's ping or test
//! delivery, from the provider's documented example payloads, signed as
//! the provider signs, sent to `/hooks/{provider}` of the real host running
//! the real components; checked against the answer and the run expected.
//!
//! One table per provider (its module), of the cases [`harness`] defines;
//! [`checks`] runs every table against one host, shared by all tables. A new event or provider is a row or a table. The README's
//! "What each provider's events do" describes the same behaviour.

mod bitbucket;
mod checks;
mod codeup;
mod gitea;
mod gitee;
mod github;
mod gitlab;
mod harness;

/// Every table against one host (a host per provider would spend most of
/// the suite's time compiling the components again).
#[test]
fn every_provider_event_does_what_its_table_says() {
    checks::run(&[
        &github::GITHUB,
        &gitlab::GITLAB,
        &gitee::GITEE,
        &codeup::CODEUP,
        &bitbucket::BITBUCKET,
        &gitea::GITEA,
    ]);
}
