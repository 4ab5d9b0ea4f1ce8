//! HMAC helpers and constant-time comparisons shared by the providers.

use super::AuthError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Standard-Webhooks tolerance (GitLab signing tokens), in seconds.
pub(crate) const STANDARD_WEBHOOKS_WINDOW_S: u64 = 5 * 60;

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], AuthError> {
    // HMAC takes keys of any length, so this cannot fail; still no panics.
    let mut mac = HmacSha256::new_from_slice(key)
        .map_err(|_| AuthError::BadSecret("HMAC rejected the key".into()))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// Constant-time equality of two byte strings (a length difference is
/// not secret: signatures have a fixed length).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Constant-time equality of two secrets of any length: compares their
/// SHA-256 digests, so neither the content nor the length leaks.
pub(crate) fn ct_eq_secret(a: &str, b: &str) -> bool {
    let da: [u8; 32] = Sha256::digest(a.as_bytes()).into();
    let db: [u8; 32] = Sha256::digest(b.as_bytes()).into();
    bool::from(da.ct_eq(&db))
}

/// Checks a hex HMAC-SHA256 of `message` under `secret`, where `value` is
/// the header value and `prefix` the literal before the hex (`"sha256="`,
/// or `""` for Gitea's bare hex).
pub(crate) fn verify_hex(
    header: &'static str,
    value: &str,
    prefix: &str,
    secret: &str,
    message: &[u8],
) -> Result<(), AuthError> {
    let hex_part = value
        .strip_prefix(prefix)
        .ok_or_else(|| AuthError::Malformed {
            header,
            reason: format!("expected a value starting with `{prefix}`"),
        })?;
    let given = hex::decode(hex_part.trim()).map_err(|_| AuthError::Malformed {
        header,
        reason: "the signature is not hexadecimal".into(),
    })?;
    let expected = hmac_sha256(secret.as_bytes(), &[message])?;
    if ct_eq(&given, &expected) {
        Ok(())
    } else {
        Err(AuthError::Mismatch(header))
    }
}

/// Verifies a Standard-Webhooks signature: `webhook-signature` holds
/// space-separated `v1,<base64>` entries, each an HMAC-SHA256 of
/// `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded
/// part of the `whsec_…` secret; the timestamp (Unix seconds) must be within
/// ±5 minutes of `now_ms`.
pub(crate) fn verify_standard_webhooks(
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: &str,
    body: &[u8],
    secret: &str,
    now_ms: u64,
) -> Result<(), AuthError> {
    let id = id.ok_or(AuthError::MissingHeader("webhook-id"))?;
    let timestamp = timestamp.ok_or(AuthError::MissingHeader("webhook-timestamp"))?;
    let ts: u64 = timestamp.parse().map_err(|_| AuthError::Malformed {
        header: "webhook-timestamp",
        reason: "not a number of seconds".into(),
    })?;
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| AuthError::BadSecret("a signing token starts with `whsec_`".into()))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| AuthError::BadSecret("the part after `whsec_` is not base64".into()))?;
    let expected = hmac_sha256(
        &key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    )?;
    let matched = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .fold(false, |found, given| found | ct_eq(&given, &expected));
    if !matched {
        return Err(AuthError::Mismatch("webhook-signature"));
    }
    if (now_ms / 1000).abs_diff(ts) > STANDARD_WEBHOOKS_WINDOW_S {
        return Err(AuthError::OutsideWindow {
            header: "webhook-timestamp",
            window_s: STANDARD_WEBHOOKS_WINDOW_S,
        });
    }
    Ok(())
}

/// Decodes `%XX` escapes (and nothing else: a `+` stays a `+`, as base64
/// needs). Returns `None` when an escape is invalid or the result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 (with padding) of `bytes`.
pub(crate) fn base64_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SW_TS: &str = "1614265330";
    const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const SW_NOW_MS: u64 = 1_614_265_330_000;

    #[test]
    fn github_documented_vector() {
        let mac = hmac_sha256(b"It's a Secret to Everybody", &[b"Hello, World!"]).expect("mac");
        assert_eq!(
            hex::encode(mac),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn hmac_parts_are_concatenated() {
        let whole = hmac_sha256(b"k", &[b"ab.cd"]).expect("mac");
        let parts = hmac_sha256(b"k", &[b"ab", b".", b"cd"]).expect("mac");
        assert_eq!(whole, parts);
    }

    #[test]
    fn constant_time_comparisons() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq_secret("s3cret", "s3cret"));
        assert!(!ct_eq_secret("s3cret", "s3cret "));
    }

    #[test]
    fn verify_hex_reports_malformed_values() {
        let err = verify_hex("x-hub-signature-256", "sha1=00", "sha256=", "k", b"")
            .expect_err("wrong prefix");
        assert!(matches!(err, AuthError::Malformed { .. }), "{err}");
        let err = verify_hex("x-hub-signature-256", "sha256=zz", "sha256=", "k", b"")
            .expect_err("not hex");
        assert!(matches!(err, AuthError::Malformed { .. }), "{err}");
    }

    #[test]
    fn standard_webhooks_published_vector() {
        verify_standard_webhooks(
            Some(SW_ID),
            Some(SW_TS),
            SW_SIG,
            SW_BODY,
            SW_SECRET,
            SW_NOW_MS,
        )
        .expect("published vector verifies");
        // Several entries: any match is enough.
        let many = format!("v1,bm90IGl0 {SW_SIG}");
        verify_standard_webhooks(
            Some(SW_ID),
            Some(SW_TS),
            &many,
            SW_BODY,
            SW_SECRET,
            SW_NOW_MS,
        )
        .expect("second entry matches");
    }

    #[test]
    fn standard_webhooks_rejections() {
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify_standard_webhooks(
                Some(SW_ID),
                Some(SW_TS),
                SW_SIG,
                tampered,
                SW_SECRET,
                SW_NOW_MS
            ),
            Err(AuthError::Mismatch("webhook-signature"))
        );
        let wrong = "whsec_dGhpcyBpcyBub3QgdGhlIHJpZ2h0IGtleQ==";
        assert_eq!(
            verify_standard_webhooks(Some(SW_ID), Some(SW_TS), SW_SIG, SW_BODY, wrong, SW_NOW_MS),
            Err(AuthError::Mismatch("webhook-signature"))
        );
        let late = SW_NOW_MS + (STANDARD_WEBHOOKS_WINDOW_S + 1) * 1000;
        assert!(matches!(
            verify_standard_webhooks(Some(SW_ID), Some(SW_TS), SW_SIG, SW_BODY, SW_SECRET, late),
            Err(AuthError::OutsideWindow { .. })
        ));
        let in_window = SW_NOW_MS + STANDARD_WEBHOOKS_WINDOW_S * 1000;
        assert!(
            verify_standard_webhooks(
                Some(SW_ID),
                Some(SW_TS),
                SW_SIG,
                SW_BODY,
                SW_SECRET,
                in_window
            )
            .is_ok()
        );
        assert_eq!(
            verify_standard_webhooks(None, Some(SW_TS), SW_SIG, SW_BODY, SW_SECRET, SW_NOW_MS),
            Err(AuthError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            verify_standard_webhooks(Some(SW_ID), None, SW_SIG, SW_BODY, SW_SECRET, SW_NOW_MS),
            Err(AuthError::MissingHeader("webhook-timestamp"))
        );
        assert!(matches!(
            verify_standard_webhooks(
                Some(SW_ID),
                Some("soon"),
                SW_SIG,
                SW_BODY,
                SW_SECRET,
                SW_NOW_MS
            ),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            verify_standard_webhooks(
                Some(SW_ID),
                Some(SW_TS),
                SW_SIG,
                SW_BODY,
                "whsec_***",
                SW_NOW_MS
            ),
            Err(AuthError::BadSecret(_))
        ));
    }

    #[test]
    fn percent_decoding_keeps_plus() {
        assert_eq!(percent_decode("a%2Bb%3D%3D+").as_deref(), Some("a+b==+"));
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("cut%2"), None);
    }
}
