//! Public keys: what an auditor outside Dangan holds to check anchors and seals.

use std::fmt;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{SM2_DIST_ID, SealAlgorithm};
use crate::{AppError, AppResult};

/// A public key that checks signatures made by the agency's keys: what an auditor outside
/// Dangan holds (`dangan audit public-key` prints them).
#[derive(Clone)]
pub enum PublicKey {
    /// Ed25519 (32 bytes).
    Ed25519(VerifyingKey),
    /// SM2 (uncompressed SEC1 point), with the standard distinguishing id.
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// Parses a public key in hex: 32 bytes are Ed25519, 65 bytes (`04…`) SM2.
    pub fn parse_hex(text: &str) -> AppResult<PublicKey> {
        let bad = || {
            AppError::invalid_with(
                "invalid_public_key",
                Some("public_key"),
                "公钥应为十六进制：Ed25519 公钥 64 位，SM2 公钥 130 位（以 04 开头）",
            )
        };
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        match bytes.len() {
            32 => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
                VerifyingKey::from_bytes(&arr)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| bad())
            }
            65 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, &bytes)
                .map(|k| PublicKey::Sm2(Box::new(k)))
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// The key id that signatures name (the same as [`KeyRing::key_id`] and the SM2 seal id).
    pub fn key_id(&self) -> String {
        match self {
            PublicKey::Ed25519(k) => hex::encode(&Sha256::digest(k.as_bytes())[..8]),
            PublicKey::Sm2(k) => format!(
                "sm2-{}",
                hex::encode(&Sha256::digest(k.to_sec1_bytes())[..8])
            ),
        }
    }

    /// The key in hex.
    pub fn to_hex(&self) -> String {
        match self {
            PublicKey::Ed25519(k) => hex::encode(k.as_bytes()),
            PublicKey::Sm2(k) => hex::encode(k.to_sec1_bytes()),
        }
    }

    /// The algorithm's name.
    pub fn algorithm(&self) -> SealAlgorithm {
        match self {
            PublicKey::Ed25519(_) => SealAlgorithm::Ed25519,
            PublicKey::Sm2(_) => SealAlgorithm::Sm2,
        }
    }

    /// Whether `signature_hex` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(signature_hex) else {
            return false;
        };
        match self {
            PublicKey::Ed25519(k) => Signature::from_slice(&bytes)
                .map(|sig| k.verify(message, &sig).is_ok())
                .unwrap_or(false),
            PublicKey::Sm2(k) => {
                use sm2::dsa::signature::Verifier as _;
                sm2::dsa::Signature::from_slice(&bytes)
                    .map(|sig| k.verify(message, &sig).is_ok())
                    .unwrap_or(false)
            }
        }
    }
}

/// Checks a signature against the key it names among `keys`.
pub fn verify_by_id(keys: &[PublicKey], key_id: &str, message: &[u8], signature_hex: &str) -> bool {
    keys.iter()
        .any(|k| k.key_id() == key_id && k.verify(message, signature_hex))
}
