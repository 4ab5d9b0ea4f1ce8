//! Chat platform requests: `Platform::receive` of each platform in
//! `chat::PLATFORMS`. Input: see `slipway_fuzz::request`; the selector
//! picks the platform. Flags:
//!
//! - bit 0: sign the fuzzed request correctly (Slack `v0`, Mattermost
//!   token, DingTalk `sign`, Feishu `X-Lark-Signature`), so the parsers
//!   behind verification are reached; Slack, Mattermost and DingTalk must
//!   then not answer "unauthorized".
//! - bit 1: Feishu without a verification token configured.
//! - bit 2: Feishu without an encrypt key configured.
//! - bit 3: Feishu: encrypt the fuzzed body into `{"encrypt": …}` (with the
//!   key), so the decrypted event is fuzzed too.
#![no_main]

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use slipway_core::chat::PLATFORMS;
use slipway_core::chat::platform::{ChatRequest, Rejection, SecretValues};
use slipway_core::providers::Headers;
use slipway_fuzz::{base64, hmac_hex, hmac_sha256, request};

const SECRET: &str = "fuzz-secret";
const NOW_MS: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some(mut req) = request(data) else {
        return;
    };
    let platform = PLATFORMS[usize::from(req.selector) % PLATFORMS.len()];
    let name = platform.name();
    let sign = req.flags & 1 != 0;
    let mut secrets = SecretValues::new();
    for &secret in platform.secret_names() {
        let dropped = match secret {
            "feishu_verification_token" => req.flags & 2 != 0,
            "feishu_encrypt_key" => req.flags & 4 != 0,
            _ => false,
        };
        if !dropped {
            secrets.insert(secret, SECRET.to_owned());
        }
    }
    let encrypted;
    let mut body = req.body;
    if name == "feishu" && req.flags & 8 != 0 && secrets.contains_key("feishu_encrypt_key") {
        encrypted = serde_json::json!({ "encrypt": encrypt(body) }).to_string();
        body = encrypted.as_bytes();
    }
    if sign {
        sign_request(name, &mut req.headers, body);
    }
    let request = ChatRequest {
        headers: &req.headers,
        body,
    };
    let received = platform.receive(&request, &secrets, NOW_MS);
    if sign && matches!(name, "slack" | "mattermost" | "dingtalk") {
        assert!(
            !matches!(received, Err(Rejection::Unauthorized(_))),
            "a correctly signed {name} request was refused: {received:?}"
        );
    }
    let outcome = format!("{name} {received:?}");
    slipway_fuzz::show(&outcome);
});

fn set(headers: &mut Headers, name: &str, value: String) {
    headers.insert(name.to_owned(), value);
}

fn sign_request(platform: &str, headers: &mut Headers, body: &[u8]) {
    match platform {
        "slack" => {
            let ts = (NOW_MS / 1000).to_string();
            let mac = hmac_hex(SECRET.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]);
            set(headers, "x-slack-request-timestamp", ts);
            set(headers, "x-slack-signature", format!("v0={mac}"));
        }
        "mattermost" => set(headers, "authorization", format!("Token {SECRET}")),
        "dingtalk" => {
            let ts = NOW_MS.to_string();
            let mac = hmac_sha256(
                SECRET.as_bytes(),
                &[ts.as_bytes(), b"\n", SECRET.as_bytes()],
            );
            set(headers, "timestamp", ts);
            set(headers, "sign", base64(&mac));
        }
        "feishu" => {
            let ts = (NOW_MS / 1000).to_string();
            let nonce = "fuzz-nonce";
            let mut hasher = Sha256::new();
            hasher.update(ts.as_bytes());
            hasher.update(nonce.as_bytes());
            hasher.update(SECRET.as_bytes());
            hasher.update(body);
            set(headers, "x-lark-request-timestamp", ts);
            set(headers, "x-lark-request-nonce", nonce.to_owned());
            set(headers, "x-lark-signature", hex::encode(hasher.finalize()));
        }
        _ => {}
    }
}

/// Feishu's `encrypt` field: base64(iv ‖ AES-256-CBC(SHA-256(key), body)).
fn encrypt(plain: &[u8]) -> String {
    let key: [u8; 32] = Sha256::digest(SECRET.as_bytes()).into();
    let iv = [7u8; 16];
    let mut buffer = vec![0u8; plain.len() + 16];
    buffer[..plain.len()].copy_from_slice(plain);
    let cipher = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
        .expect("32-byte key, 16-byte iv")
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plain.len())
        .expect("room for the padding");
    let mut data = iv.to_vec();
    data.extend_from_slice(cipher);
    base64(&data)
}
