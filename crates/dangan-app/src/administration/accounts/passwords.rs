//! Passwords and tokens of accounts: the policy, generated passwords, argon2id hashing on the
//! hashing threads, random bearer tokens and the digest under which they are stored.

use sha2::{Digest, Sha256};

use crate::adapters::hashing;
use crate::{AppError, AppResult};

/// The prefix of machine clients' API tokens.
pub(crate) const TOKEN_PREFIX: &str = "dgt_";

/// A hash of a random password, verified against when the account does not exist, so that a
/// wrong username takes as long as a wrong password.
pub(super) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hs0xqU0OLHm0H2t9mH1wNH4a7H6bJ4v8XKSyJgJ3K6o";

/// A random token with a prefix: 32 random bytes in hex.
pub(crate) fn random_token(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// A generated password: 16 characters from an alphabet without look-alikes (0/O, 1/l/I), at
/// least one letter and one digit.
pub fn generate_password() -> AppResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::Internal(format!("random source: {e}")))?;
        // 256 is not a multiple of 56, so some characters are very slightly more likely;
        // 16 characters from 56 still give over 90 bits.
        let p: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        if check_password_policy(&p).is_ok() {
            return Ok(p);
        }
    }
}

/// SHA-256 of a token, as stored.
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The password policy: 10–128 characters with at least one letter and one digit.
pub fn check_password_policy(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    let ok = (10..=128).contains(&n)
        && password.chars().any(|c| c.is_ascii_alphabetic())
        && password.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_with(
            "weak_password",
            Some("password"),
            "密码不符合要求：长度应为10至128位，且同时包含字母和数字",
        ))
    }
}

/// Hashes a password with argon2id on one of the hashing threads (it takes tens of
/// milliseconds and 19 MiB).
pub async fn hash_password(password: String) -> AppResult<String> {
    hashing::hash(password).await
}

/// Checks a password against its hash on one of the hashing threads.
pub(super) async fn verify_password(password: String, hash: String) -> bool {
    hashing::verify(password, hash).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn generated_passwords_meet_the_policy_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.chars().count(), 16);
        assert!(check_password_policy(&a).is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn short_or_letter_only_passwords_are_refused() {
        assert!(check_password_policy("abc123").is_err());
        assert!(check_password_policy("abcdefghijkl").is_err());
        assert!(check_password_policy("abcdefghij12").is_ok());
    }
}
