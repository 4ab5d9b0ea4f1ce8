//! Simulators (fakes) of the remote services Slipway talks to, shared by the
//! end-to-end tests and the demo.
//!
//! Every fake is a real HTTP server on `127.0.0.1:<random port>` (see
//! [`server::FakeHttpServer`]) that follows the real service's contract —
//! paths, methods, status codes, authentication and error bodies — closely
//! enough that code written against the real service works against the fake
//! unchanged, and strictly enough that code that would fail against the real
//! service fails here too.
//!
//! - [`git::FakeGit`]: the file and commit-status APIs of GitHub, GitLab,
//!   Gitee, Codeup, Bitbucket Cloud and Gitea on one server, plus GitHub
//!   Actions workflow dispatch and GitLab CI pipeline triggers.
//! - [`jenkins::FakeJenkins`]: Jenkins' remote access API (trigger, queue, build);
//!   with [`jenkins::FakeJenkins::automate`], jobs that build by themselves and
//!   call Slipway back, as a job's pipeline script does.
//! - [`tekton::FakeTekton`]: Tekton `PipelineRun`s through the Kubernetes API.
//! - [`http_builder::FakeHttpBuilder`]: a generic "POST /build" build service.
//! - [`webhooks`]: signed webhook headers and push payloads as each provider sends them.
//!
//! Each fake dereferences to its [`server::FakeHttpServer`], so `url()`,
//! `requests()`, `wait_for(..)`, `set_down(..)`, `fail_next(..)` and
//! `delay(..)` are available on all of them.

pub mod chat;
pub mod chat_replies;
pub mod docker;
mod docker_list;
mod docker_stack;
mod docker_tasks;
pub mod git;
mod git_actions;
mod git_bitbucket_gitea;
mod git_github;
mod git_gitlab;
mod git_more;
mod git_state;
mod http;
pub mod http_builder;
pub mod jenkins;
pub mod jenkins_auto;
pub mod jenkins_notification;
pub mod kubernetes;
mod kubernetes_api;
mod kubernetes_gateway;
mod kubernetes_objects;
mod kubernetes_patch;
mod kubernetes_rollout;
pub mod server;
pub mod tekton;
pub mod webhooks;
pub mod webhooks_payloads;
pub mod webhooks_pull_requests;

#[cfg(test)]
mod tests_builders;
#[cfg(test)]
mod tests_docker;
#[cfg(test)]
mod tests_git;
#[cfg(test)]
mod tests_git_forks;
#[cfg(test)]
mod tests_github;
#[cfg(test)]
mod tests_jenkins_auto;
#[cfg(test)]
mod tests_kubernetes;
#[cfg(test)]
mod tests_support;

pub use docker::FakeDocker;
pub use git::FakeGit;
pub use http_builder::FakeHttpBuilder;
pub use jenkins::FakeJenkins;
pub use kubernetes::FakeKubernetes;
pub use server::{FakeHttpServer, Request, Response};
pub use tekton::FakeTekton;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// 64 pseudo-random bits (not cryptographic; different on every call).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// A random version-4 UUID in its usual lowercase hyphenated form.
pub fn uuid_v4() -> String {
    let hi = random_u64();
    let lo = random_u64();
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let h = format!("{hi:016x}{lo:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `n` random characters from `alphabet`.
pub fn random_chars(n: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    (0..n)
        .map(|_| chars[(random_u64() % chars.len() as u64) as usize])
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `time` as RFC 3339 UTC with second precision (`2026-01-02T03:04:05Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as an HTTP date (`Tue, 02 Jan 2026 03:04:05 GMT`).
pub fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (y, mo, d, h, mi, s) = civil(secs);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(secs / 86_400 % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} GMT")
}

/// Percent-decodes one path segment; `None` if it is not UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Percent-encodes everything but unreserved characters (`/` too).
pub fn encode_component(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// Standard base64.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 broken into lines of `width` characters, each ending in
/// `\n` (GitHub's contents API format).
pub fn base64_lines(bytes: &[u8], width: usize) -> String {
    let flat = base64(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / width + 1);
    for chunk in flat.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The git blob id of `bytes` (`sha1("blob <len>\0" + bytes)`).
pub fn git_blob_sha(bytes: &[u8]) -> String {
    use sha1::Digest;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hex::encode(hasher.finalize())
}

/// Whether `text` is a full 40-hex commit id.
pub fn is_full_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}
