//! Git provider webhooks: `verify`, `parse_all` and `delivery_id` on any
//! request. Input: see `slipway_fuzz::request`; the selector picks the
//! provider from `Provider::ALL`, and flag bit 0 replaces the signature
//! headers with a correct signature of the fuzzed body, so the success path
//! of `verify` is exercised (and must succeed). Flag bit 1 picks the other
//! scheme where a provider has two: GitLab's Standard-Webhooks signature
//! with a `whsec_` secret, Gitee's timestamp signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_core::providers::{Headers, Provider, delivery_id, parse_all, verify};
use slipway_fuzz::{base64, hmac_hex, hmac_sha256, request};

const SECRET: &str = "fuzz-secret";
/// `whsec_` + base64("fuzz-signing-key").
const WHSEC: &str = "whsec_ZnV6ei1zaWduaW5nLWtleQ==";
const WHSEC_KEY: &[u8] = b"fuzz-signing-key";
const NOW_MS: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some(mut req) = request(data) else {
        return;
    };
    let provider = Provider::ALL[usize::from(req.selector) % Provider::ALL.len()];
    let sign = req.flags & 1 != 0;
    let alternative = req.flags & 2 != 0;
    let secret = if provider == Provider::GitLab && alternative {
        WHSEC
    } else {
        SECRET
    };
    if sign {
        sign_request(provider, alternative, &mut req.headers, req.body);
    }
    let verified = verify(provider, &req.headers, req.body, secret, NOW_MS);
    if sign {
        assert_eq!(verified, Ok(()), "a correctly signed {provider} delivery");
    }
    let id = delivery_id(provider, &req.headers);
    let events = parse_all(provider, &req.headers, req.body);
    if let Ok(events) = &events {
        assert!(!events.is_empty(), "parse_all returned no event");
    }
    // Formatting the outcome must not panic either.
    let outcome = format!("{provider} {verified:?} {id:?} {events:?}");
    slipway_fuzz::show(&outcome);
});

fn set(headers: &mut Headers, name: &str, value: String) {
    headers.insert(name.to_owned(), value);
}

fn sign_request(provider: Provider, alternative: bool, headers: &mut Headers, body: &[u8]) {
    match provider {
        Provider::GitHub => set(
            headers,
            "x-hub-signature-256",
            format!("sha256={}", hmac_hex(SECRET.as_bytes(), &[body])),
        ),
        Provider::GitLab if alternative => {
            let ts = (NOW_MS / 1000).to_string();
            let id = "msg_fuzz";
            let mac = hmac_sha256(WHSEC_KEY, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
            set(headers, "webhook-id", id.to_owned());
            set(headers, "webhook-timestamp", ts);
            set(headers, "webhook-signature", format!("v1,{}", base64(&mac)));
        }
        Provider::GitLab => set(headers, "x-gitlab-token", SECRET.to_owned()),
        Provider::Gitee if alternative => {
            let ts = NOW_MS.to_string();
            let mac = hmac_sha256(
                SECRET.as_bytes(),
                &[ts.as_bytes(), b"\n", SECRET.as_bytes()],
            );
            set(headers, "x-gitee-timestamp", ts);
            set(headers, "x-gitee-token", base64(&mac));
        }
        Provider::Gitee => set(headers, "x-gitee-token", SECRET.to_owned()),
        Provider::Codeup => set(headers, "x-codeup-token", SECRET.to_owned()),
        Provider::Bitbucket => set(
            headers,
            "x-hub-signature",
            format!("sha256={}", hmac_hex(SECRET.as_bytes(), &[body])),
        ),
        Provider::Gitea => {
            // Gitea signs the JSON, i.e. the `payload` field of a form body.
            let form = match headers.get("content-type").map(|v| v.trim()) {
                Some(ct) if !ct.is_empty() => ct
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded"),
                _ => body.starts_with(b"payload="),
            };
            let payload = form
                .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).ok())
                .flatten()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == "payload"))
                .map(|(_, v)| v.into_bytes());
            let signed = payload.as_deref().unwrap_or(body);
            // The forgejo header would be read only without the gitea one.
            headers.remove("x-forgejo-signature");
            set(
                headers,
                "x-gitea-signature",
                hmac_hex(SECRET.as_bytes(), &[signed]),
            );
        }
    }
}
