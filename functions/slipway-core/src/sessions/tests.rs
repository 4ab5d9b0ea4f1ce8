use futures::executor::block_on;

use super::*;
use crate::testing::MemKv;

fn key() -> SessionKey {
    SessionKey::from_secret("a session secret of thirty-two chars").expect("long enough")
}

fn code_of(link: &LoginLink) -> String {
    link.url
        .split_once("code=")
        .map(|(_, c)| c.to_owned())
        .expect("code in link")
}

#[test]
fn a_login_code_signs_in_once() {
    let kv = MemKv::default();
    let key = key();
    let sessions = Sessions::new(&kv, &key);
    let link =
        block_on(sessions.issue_login("https://cd.example.com/", "alice", "token:ops", 1_000))
            .expect("issued");
    assert!(link.url.starts_with("https://cd.example.com/login?code="));
    let code = code_of(&link);
    // Only the code's hash is stored.
    assert!(kv.keys().iter().all(|k| !k.contains(&code)));
    let claims = block_on(sessions.redeem(&code, 2_000)).expect("redeemed");
    assert_eq!(claims.person, "alice");
    assert_eq!(claims.expires_at_ms, 2_000 + SESSION_TTL_MS);
    assert_eq!(
        block_on(sessions.redeem(&code, 2_001)),
        Err(SessionError::UsedCode)
    );
    assert_eq!(
        block_on(sessions.redeem("guess", 2_001)),
        Err(SessionError::UnknownCode)
    );
}

#[test]
fn an_old_login_code_is_refused() {
    let kv = MemKv::default();
    let key = key();
    let sessions = Sessions::new(&kv, &key);
    let link = block_on(sessions.issue_login("http://x", "alice", "t", 0)).expect("issued");
    assert_eq!(
        block_on(sessions.redeem(&code_of(&link), LOGIN_TTL_MS)),
        Err(SessionError::ExpiredCode)
    );
}

#[test]
fn codes_and_sessions_differ_each_time() {
    let kv = MemKv::default();
    let key = key();
    let sessions = Sessions::new(&kv, &key);
    let a = block_on(sessions.issue_login("http://x", "alice", "t", 5)).expect("a");
    let b = block_on(sessions.issue_login("http://x", "alice", "t", 5)).expect("b");
    assert_ne!(a.url, b.url);
    let sa = block_on(sessions.redeem(&code_of(&a), 6)).expect("a");
    let sb = block_on(sessions.redeem(&code_of(&b), 6)).expect("b");
    assert_ne!(sa.session, sb.session);
}

#[test]
fn a_cookie_works_until_its_session_ends_or_expires() {
    let kv = MemKv::default();
    let key = key();
    let sessions = Sessions::new(&kv, &key);
    let link = block_on(sessions.issue_login("http://x", "alice", "t", 0)).expect("issued");
    let claims = block_on(sessions.redeem(&code_of(&link), 0)).expect("redeemed");
    let cookie = claims.seal(&key);
    assert_eq!(block_on(sessions.check(&cookie, 1)), Ok(claims.clone()));
    assert_eq!(
        block_on(sessions.check(&cookie, claims.expires_at_ms)),
        Err(SessionError::Cookie(CookieError::Expired))
    );
    block_on(sessions.end(&claims.session)).expect("ended");
    // The cookie is replayed after sign-out: its session is gone.
    assert_eq!(
        block_on(sessions.check(&cookie, 1)),
        Err(SessionError::Ended)
    );
}

#[test]
fn a_cookie_for_someone_else_is_forged() {
    let kv = MemKv::default();
    let key = key();
    let sessions = Sessions::new(&kv, &key);
    let link = block_on(sessions.issue_login("http://x", "alice", "t", 0)).expect("issued");
    let claims = block_on(sessions.redeem(&code_of(&link), 0)).expect("redeemed");
    // Signed with the real key but naming another person: only someone
    // holding the secret could make it, and the session record disagrees.
    let bob = Claims {
        person: "bob".into(),
        ..claims
    };
    assert_eq!(
        block_on(sessions.check(&bob.seal(&key), 1)),
        Err(SessionError::Cookie(CookieError::Forged))
    );
}
