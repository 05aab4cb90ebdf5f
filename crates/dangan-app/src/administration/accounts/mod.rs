//! 账户 — one account subsystem for two kinds of account ([`AccountKind`]): staff accounts
//! (signed in by username, managed by the security officer) and insured persons' online accounts
//! (signed in by identity number, opened by a clerk, S8.1). Both have argon2id password hashes,
//! random bearer tokens of which only the SHA-256 is stored, lock-out with back-off after
//! repeated failures, forced change of generated passwords, and sign-out here or everywhere.
//! What differs between the two kinds is in [`AccountKind`] and the account's holder; the
//! sign-in, the sessions and the password change are written once.
//!
//! A sign-in withstands guessing and flooding (issue 13 §4; the policy is written down in
//! `docs/ARCHITECTURE.md`, Authentication):
//! - an address with too many recent failures is refused before anything is looked up
//!   (`Settings::sign_in_failures_per_address`, 429);
//! - at most `Settings::sign_in_concurrency` sign-ins wait for the password check (429 past it),
//!   which runs on a few dedicated threads (`adapters/hashing.rs`);
//! - each attempt on an existing account is *reserved* in the database before the password is
//!   checked — one conditional `UPDATE` that raises the failure counter unless the account is
//!   locked — so parallel guesses cannot all read the same counter: at most [`FREE_ATTEMPTS`]
//!   guesses are checked before the lock holds, and a success resets the counter;
//! - an unknown name, a wrong password, a disabled and a locked account all answer alike and
//!   all cost one argon2id verification;
//! - the log names the account only when it exists (a "username" that is no account may be a
//!   password typed into the wrong field).
//!
//! Tokens carry a prefix that says what they are: `dgs_` a staff session, `dgp_` an insured
//! person's session, `dgt_` a machine client's API token.
//!
//! Files: `passwords.rs` (policy, generation, hashing, token digests), `lockout.rs` (the
//! account lock and the per-address throttle of sign-ins), `throttle.rs` (the in-memory
//! counters), `sign_in.rs` (signing in, for both kinds), `sessions.rs` (a token to its actor,
//! idle limits, sign-out, password change), `staff.rs` (staff accounts managed by the security
//! officer), `insured.rs` (insured persons' accounts opened by a clerk on a recorded basis),
//! `tables.rs` (where each kind is stored, behind one set of calls).

mod insured;
mod lockout;
mod passwords;
mod sessions;
mod sign_in;
mod staff;
mod tables;
pub(crate) mod throttle;

pub use insured::{Basis, BasisInput, OpenedAccount};
pub use lockout::FREE_ATTEMPTS;
pub(crate) use passwords::{TOKEN_PREFIX, random_token, token_digest};
pub use passwords::{check_password_policy, generate_password, hash_password};
pub use sign_in::Login;
pub use staff::{PasswordReset, UserView};
pub(crate) use staff::{check_display_name, check_username, user_view};

use dangan_store::persons::PersonId;
use dangan_store::users::UserId;

use crate::administration::roles::Subject;

/// The name logged for a sign-in with a name that is no account: what was typed may be a
/// password typed into the wrong field, so it is never written down.
pub const UNKNOWN_ACCOUNT: &str = "（不存在的账号）";

/// The two kinds of account, and what differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// 工作人员 — a staff account, signed in by username.
    Staff,
    /// 参保人 — an insured person's online account, signed in by identity number.
    Insured,
}

impl AccountKind {
    /// The kind of the session behind a bearer token, by its prefix.
    fn of_token(token: &str) -> Option<AccountKind> {
        [AccountKind::Staff, AccountKind::Insured]
            .into_iter()
            .find(|k| token.starts_with(k.token_prefix()))
    }

    /// The prefix of this kind's session tokens.
    fn token_prefix(self) -> &'static str {
        match self {
            AccountKind::Staff => "dgs_",
            AccountKind::Insured => "dgp_",
        }
    }

    /// The one answer to a failed sign-in, whatever the reason (unknown name, wrong password,
    /// disabled or locked account): a different answer would tell a guesser which names exist
    /// and which accounts are locked.
    fn bad_credentials(self) -> &'static str {
        match self {
            AccountKind::Staff => {
                "用户名或密码不正确。连续多次登录失败后账号将被临时锁定，请稍后再试"
            }
            AccountKind::Insured => {
                "公民身份号码或密码不正确。连续多次登录失败后账号将被临时锁定，请稍后再试"
            }
        }
    }

    /// The log action and object kind of a sign-in, and the detail of one with no account.
    fn sign_in_log(self) -> (&'static str, &'static str, &'static str) {
        match self {
            AccountKind::Staff => ("auth.login", "user", "unknown user"),
            AccountKind::Insured => ("auth.insured_login", "person", "no account"),
        }
    }
}

/// One account of either kind, by its row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountId {
    Staff(UserId),
    Insured(PersonId),
}

impl AccountId {
    /// The account an actor signed in with (none for API tokens and the console).
    fn of(subject: Subject) -> Option<AccountId> {
        match subject {
            Subject::User(id) => Some(AccountId::Staff(id)),
            Subject::Insured(id) => Some(AccountId::Insured(id)),
            Subject::Token(_) | Subject::System => None,
        }
    }
}
