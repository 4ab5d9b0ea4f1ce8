//! Helpers shared by the fuzz targets: the request input format and the
//! signatures the targets compute so that fuzzed bodies get past
//! verification.
//!
//! Request targets (`webhook`, `chat`) read their input as
//!
//! ```text
//! <selector byte> <flags byte> <header lines "name: value\n">* "\n" <body>
//! ```
//!
//! The header block ends at the first empty line (so input that starts
//! with an empty line has no headers); without an empty line, there are
//! no headers and everything after the two bytes is the body. Header names
//! are lowercased, as the host does.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use slipway_core::providers::Headers;

/// A request split out of fuzz input.
pub struct Request<'a> {
    /// Picks the provider or platform (taken modulo their number).
    pub selector: u8,
    /// Target-specific switches (signing mode, configured secrets, …).
    pub flags: u8,
    /// Lowercased header names.
    pub headers: Headers,
    /// The raw body.
    pub body: &'a [u8],
}

/// Splits `data` into a [`Request`]; `None` when it is shorter than the
/// two leading bytes.
pub fn request(data: &[u8]) -> Option<Request<'_>> {
    let (&selector, rest) = data.split_first()?;
    let (&flags, rest) = rest.split_first()?;
    let mut headers = Headers::new();
    let body = match rest.strip_prefix(b"\n") {
        // An empty first line: no headers.
        Some(body) => body,
        None => match find(rest, b"\n\n") {
            Some(end) => {
                for line in rest[..end].split(|&b| b == b'\n') {
                    let line = String::from_utf8_lossy(line);
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                    }
                }
                &rest[end + 2..]
            }
            None => rest,
        },
    };
    Some(Request {
        selector,
        flags,
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lowercase hex HMAC-SHA256.
pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Text input for the file parsers: the bytes when they are UTF-8.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Prints `outcome` when `SLIPWAY_FUZZ_SHOW` is set: run a target on seed
/// files (`SLIPWAY_FUZZ_SHOW=1 <target binary> <files>`) to see what they
/// reach.
pub fn show(outcome: &dyn std::fmt::Debug) {
    static SHOW: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("SLIPWAY_FUZZ_SHOW").is_some());
    if *SHOW {
        eprintln!("{outcome:?}");
    }
}
