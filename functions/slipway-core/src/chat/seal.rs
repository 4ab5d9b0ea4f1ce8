//! Reply channels kept on a record until the engine reports to them: a
//! `response_url` or session webhook lets whoever holds it post to the
//! channel, so it is stored only sealed: AES-256-CBC then HMAC-SHA256
//! (encrypt-then-MAC) under keys derived from `callback_secret`. The IV is
//! a MAC of the plaintext (deterministic, so no randomness is needed; equal
//! channels seal alike, which reveals nothing worth hiding).

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::platform::ReplyChannel;
use crate::providers::signature::{ct_eq, hmac_sha256};

/// Why a sealed channel cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not produced by this key, or altered.
    #[error("the sealed reply channel does not verify")]
    Forged,
    /// The key cannot be used.
    #[error("the sealing key cannot be used")]
    Key,
}

fn keys(secret: &str) -> Result<([u8; 32], [u8; 32]), SealError> {
    let enc =
        hmac_sha256(secret.as_bytes(), &[b"slipway-reply-seal/enc"]).map_err(|_| SealError::Key)?;
    let mac =
        hmac_sha256(secret.as_bytes(), &[b"slipway-reply-seal/mac"]).map_err(|_| SealError::Key)?;
    Ok((enc, mac))
}

/// Seals `channel` under `secret`.
pub fn seal(secret: &str, channel: &ReplyChannel) -> Result<String, SealError> {
    let (enc, mac) = keys(secret)?;
    let plain = serde_json::to_vec(channel).map_err(|_| SealError::Key)?;
    let iv_full = hmac_sha256(&mac, &[b"iv", &plain]).map_err(|_| SealError::Key)?;
    let iv = &iv_full[..16];
    let encryptor =
        cbc::Encryptor::<aes::Aes256>::new_from_slices(&enc, iv).map_err(|_| SealError::Key)?;
    let mut buffer = plain.clone();
    buffer.resize(plain.len() + 16, 0);
    let sealed = encryptor
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plain.len())
        .map_err(|_| SealError::Key)?;
    let mut out = iv.to_vec();
    out.extend_from_slice(sealed);
    let tag = hmac_sha256(&mac, &[&out]).map_err(|_| SealError::Key)?;
    out.extend_from_slice(&tag);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal`] made under the same `secret`.
pub fn unseal(secret: &str, sealed: &str) -> Result<ReplyChannel, SealError> {
    let (enc, mac) = keys(secret)?;
    let data = URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| SealError::Forged)?;
    if data.len() < 16 + 16 + 32 {
        return Err(SealError::Forged);
    }
    let (body, tag) = data.split_at(data.len() - 32);
    let expected = hmac_sha256(&mac, &[body]).map_err(|_| SealError::Key)?;
    if !ct_eq(tag, &expected) {
        return Err(SealError::Forged);
    }
    let (iv, cipher) = body.split_at(16);
    let decryptor =
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&enc, iv).map_err(|_| SealError::Key)?;
    let mut buffer = cipher.to_vec();
    let plain = decryptor
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| SealError::Forged)?;
    serde_json::from_slice(plain).map_err(|_| SealError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_channels_open_only_with_the_key_and_unaltered() {
        let channel =
            ReplyChannel::ResponseUrl("https://hooks.slack.com/commands/T1/2/secret".into());
        let sealed = seal("key", &channel).unwrap();
        assert!(!sealed.contains("hooks.slack.com"));
        assert_eq!(unseal("key", &sealed), Ok(channel));
        assert_eq!(unseal("other", &sealed), Err(SealError::Forged));
        let mut altered = sealed.into_bytes();
        altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            unseal("key", &String::from_utf8(altered).unwrap()),
            Err(SealError::Forged)
        );
    }
}
