//! Who is calling and the staff accounts: `Role`, `Subject`, `Actor`, `UserView`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::{PersonId, TokenId, UserId};

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员 — catalogue, calendar, configuration; reads and writes archives.
    Admin,
    /// 档案管理员 — enters, organises and queries archives.
    Archivist,
    /// 业务经办 — the collection post: records business and its materials.
    Handler,
    /// 窗口人员 — answers queries; reads only.
    Window,
    /// 保管员 — the custody post: the archive room, its environment, equipment and stocktakes.
    Custodian,
    /// 安全审计员 — reads and verifies the operation log; changes nothing.
    Auditor,
    /// 安全保密员 — accounts, roles and API tokens.
    SecurityOfficer,
    /// 参保人 — an insured person, own records only.
    Insured,
    /// 业务系统 — a machine client with an API token; what it may do is its token's scopes.
    Machine,
}

impl From<dangan_app::Role> for Role {
    fn from(r: dangan_app::Role) -> Role {
        use dangan_app::Role as R;
        match r {
            R::Admin => Role::Admin,
            R::Archivist => Role::Archivist,
            R::Handler => Role::Handler,
            R::Window => Role::Window,
            R::Custodian => Role::Custodian,
            R::Auditor => Role::Auditor,
            R::SecurityOfficer => Role::SecurityOfficer,
            R::Insured => Role::Insured,
            R::Machine => Role::Machine,
        }
    }
}

/// Who a signed-in actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// A staff user.
    User(UserId),
    /// An insured person signed in with their identity number.
    Insured(PersonId),
    /// A machine client with an API token.
    Token(TokenId),
    /// The command line on the server, acting as the system.
    System,
}

impl From<dangan_app::Subject> for Subject {
    fn from(s: dangan_app::Subject) -> Subject {
        use dangan_app::Subject as S;
        match s {
            S::User(id) => Subject::User(UserId(id.0)),
            S::Insured(id) => Subject::Insured(PersonId(id.0)),
            S::Token(id) => Subject::Token(TokenId(id.0)),
            S::System => Subject::System,
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Actor {
    /// Who.
    pub subject: Subject,
    /// Sign-in name (a masked identity number for insured persons, the token name for machines).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A generated password is still in use: nothing but changing it is allowed.
    pub must_change_password: bool,
}

impl From<&dangan_app::Actor> for Actor {
    fn from(a: &dangan_app::Actor) -> Actor {
        Actor {
            subject: a.subject.into(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role.into(),
            must_change_password: a.must_change_password,
        }
    }
}

/// A staff user as shown to the security officer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Row id.
    pub id: UserId,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Locked until, after repeated failed sign-ins.
    pub locked_until: Option<DateTime<Utc>>,
    /// 已锁定 — locked now (the lock has not ended yet).
    pub locked: bool,
}

impl From<dangan_app::administration::accounts::UserView> for UserView {
    fn from(u: dangan_app::administration::accounts::UserView) -> UserView {
        UserView {
            id: UserId(u.id.0),
            username: u.username,
            display_name: u.display_name,
            role: u.role.into(),
            disabled: u.disabled,
            locked_until: u.locked_until,
            locked: u.locked,
        }
    }
}

/// 重置密码的结果 — a staff account given a new password, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The account after the reset (unlocked).
    pub user: UserView,
    /// 新初始密码 — the generated password, shown only in this answer; it must be changed at
    /// the next sign-in.
    pub initial_password: String,
}

impl From<dangan_app::administration::accounts::PasswordReset> for PasswordReset {
    fn from(r: dangan_app::administration::accounts::PasswordReset) -> PasswordReset {
        PasswordReset {
            user: r.user.into(),
            initial_password: r.initial_password,
        }
    }
}
