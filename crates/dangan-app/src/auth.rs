//! Sign-in and accounts: argon2id password hashes, random bearer tokens of which only the
//! SHA-256 digest is stored, and user creation.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::roles::{Actor, Role, UseCase};
use crate::{App, AppError, AppResult};
use dangan_store::users;

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    /// The bearer token; shown once, stored only as a digest.
    pub token: String,
    /// When it stops working.
    pub expires_at: chrono::DateTime<Utc>,
    /// The account still has a generated password that must be changed.
    pub must_change_password: bool,
    /// The signed-in user.
    pub user: Actor,
}

/// A user as shown to an administrator.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role code.
    pub role: Role,
}

const BAD_CREDENTIALS: &str = "用户名或密码不正确";

/// 32 random bytes as 64 hex characters.
pub(crate) fn random_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    Ok(hex::encode(bytes))
}

/// A generated password: 16 characters from an alphabet without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> AppResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    // 256 is not a multiple of 56, so the first characters are very slightly more likely;
    // 16 characters from 56 still give over 90 bits.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn token_digest(token: &str) -> String {
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

/// Hashes a password with argon2id on a blocking thread (it takes tens of milliseconds).
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the username does not exist, so that
/// a wrong username takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hs0xqU0OLHm0H2t9mH1wNH4a7H6bJ4v8XKSyJgJ3K6o";

fn actor_of(u: &users::UserRow) -> AppResult<Actor> {
    Ok(Actor {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: Role::parse(&u.role)
            .map_err(|_| AppError::Internal(format!("user {} has unknown role", u.id)))?,
    })
}

impl App {
    /// Signs a user in with username and password.
    pub async fn login(&self, username: &str, password: &str) -> AppResult<Login> {
        let mut tx = self.store.begin().await?;
        let user = users::find_by_username(&mut tx, username.trim()).await?;
        tx.rollback().await?;
        let hash = user
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
        let verified = verify_password(password.to_owned(), hash).await;
        let user = match user {
            Some(u) if verified && !u.disabled => u,
            _ => return Err(AppError::Unauthenticated(BAD_CREDENTIALS.to_owned())),
        };
        let token = random_token()?;
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.settings.session_ttl)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let expires_at = now + ttl;
        let mut tx = self.store.begin_write().await?;
        users::insert_session(&mut tx, &token_digest(&token), user.id, now, expires_at).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: user.must_change_password,
            user: actor_of(&user)?,
        })
    }

    /// The actor behind a bearer token.
    pub async fn authenticate(&self, token: &str) -> AppResult<Actor> {
        let mut tx = self.store.begin().await?;
        let user = users::user_for_session(&mut tx, &token_digest(token), Utc::now()).await?;
        tx.rollback().await?;
        match user {
            Some(u) => actor_of(&u),
            None => Err(AppError::Unauthenticated(
                "登录已失效，请重新登录".to_owned(),
            )),
        }
    }

    /// Ends the session of a token.
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let mut tx = self.store.begin_write().await?;
        users::delete_session(&mut tx, &token_digest(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the caller's own password after checking the current one; every other session
    /// of the user ends, the caller's stays.
    pub async fn change_password(
        &self,
        actor: &Actor,
        token: &str,
        current: &str,
        new: &str,
    ) -> AppResult<()> {
        check_password_policy(new)?;
        if new == current {
            return Err(AppError::invalid_with(
                "password_unchanged",
                Some("new_password"),
                "新密码不能与当前密码相同",
            ));
        }
        let mut tx = self.store.begin().await?;
        let user = users::get(&mut tx, actor.user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("登录已失效，请重新登录".to_owned()))?;
        tx.rollback().await?;
        if !verify_password(current.to_owned(), user.password_hash).await {
            return Err(AppError::invalid_with(
                "wrong_password",
                Some("current_password"),
                "当前密码不正确",
            ));
        }
        let hash = hash_password(new.to_owned()).await?;
        let mut tx = self.store.begin_write().await?;
        users::set_password(&mut tx, actor.user_id, &hash, &token_digest(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a user. With `password` absent a password is generated, returned once, and
    /// must be changed at first sign-in.
    pub async fn add_user(
        &self,
        actor: &Actor,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password: Option<&str>,
    ) -> AppResult<(UserView, Option<String>)> {
        actor.require(UseCase::ManageUsers)?;
        let username = username.trim();
        let valid_name = (2..=32).contains(&username.len())
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(AppError::invalid_with(
                "invalid_username",
                Some("username"),
                "用户名应为2至32位字母、数字、下划线、点或连字符",
            ));
        }
        let (password, generated) = match password {
            Some(p) => {
                check_password_policy(p)?;
                (p.to_owned(), None)
            }
            None => {
                let p = generate_password()?;
                (p.clone(), Some(p))
            }
        };
        let display_name = display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(username);
        let hash = hash_password(password).await?;
        let mut tx = self.store.begin_write().await?;
        users::insert(
            &mut tx,
            username,
            display_name,
            role.code(),
            &hash,
            generated.is_some(),
            Utc::now(),
        )
        .await?;
        tx.commit().await?;
        Ok((
            UserView {
                username: username.to_owned(),
                display_name: display_name.to_owned(),
                role,
            },
            generated,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn generated_passwords_meet_the_policy_often_enough_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.chars().count(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn short_or_letter_only_passwords_are_refused() {
        assert!(check_password_policy("abc123").is_err());
        assert!(check_password_policy("abcdefghijkl").is_err());
        assert!(check_password_policy("abcdefghij12").is_ok());
    }
}
