//! Roles (角色) and the permission matrix: which role may run which use-case. Every use-case
//! calls [`Actor::require`] first, so the API, the UI and the CLI cannot diverge.

use serde::Serialize;

use crate::{AppError, AppResult};
use dangan_store::users::UserId;

/// A staff role. 三员分立: the administrator, the security officer and the auditor are
/// separate roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员 — users, catalogue, calendar, configuration.
    Admin,
    /// 档案管理员 — enters, organises and queries archives.
    Archivist,
    /// 业务经办 — the collection post: records business and its materials.
    Handler,
    /// 窗口人员 — answers queries; reads only.
    Window,
    /// 安全审计员 — reads and verifies the operation log; changes nothing.
    Auditor,
    /// 安全保密员 — users' roles and keys.
    SecurityOfficer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Archivist,
        Role::Handler,
        Role::Window,
        Role::Auditor,
        Role::SecurityOfficer,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Archivist => "archivist",
            Role::Handler => "handler",
            Role::Window => "window",
            Role::Auditor => "auditor",
            Role::SecurityOfficer => "security_officer",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Archivist => "档案管理员",
            Role::Handler => "业务经办",
            Role::Window => "窗口人员",
            Role::Auditor => "安全审计员",
            Role::SecurityOfficer => "安全保密员",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> AppResult<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim()).ok_or_else(|| {
            AppError::invalid_with(
                "invalid_role",
                Some("role"),
                format!(
                    "角色“{}”无效：应为 admin、archivist、handler、window、auditor 或 security_officer",
                    s.trim()
                ),
            )
        })
    }
}

/// A use-case as the permission matrix sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseCase {
    /// Read reference data: divisions, business types, calendar arithmetic.
    ReadReference,
    /// Read the filing catalogue.
    ReadCatalogue,
    /// Write a new catalogue version.
    EditCatalogue,
    /// Load or replace a calendar year.
    EditCalendar,
    /// Search and read insured persons.
    ReadPersons,
    /// Register insured persons.
    WritePersons,
    /// Read business events and materials.
    ReadEvents,
    /// Record business events and materials.
    WriteEvents,
    /// Allocate archive numbers.
    AllocateArchiveNumbers,
    /// Create users.
    ManageUsers,
}

/// The matrix: whether `role` may run `use_case`.
pub fn allowed(role: Role, use_case: UseCase) -> bool {
    use Role::*;
    use UseCase::*;
    match use_case {
        ReadReference | ReadCatalogue => true,
        EditCatalogue | EditCalendar => role == Admin,
        ReadPersons | ReadEvents => matches!(role, Admin | Archivist | Handler | Window),
        WritePersons | WriteEvents => matches!(role, Admin | Archivist | Handler),
        AllocateArchiveNumbers => matches!(role, Admin | Archivist),
        ManageUsers => matches!(role, Admin | SecurityOfficer),
    }
}

/// Who is calling: a signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// The user's id.
    pub user_id: UserId,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
}

impl Actor {
    /// Fails with [`AppError::Forbidden`] unless the matrix allows the use-case.
    pub fn require(&self, use_case: UseCase) -> AppResult<()> {
        if allowed(self.role, use_case) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The actor used by command-line maintenance (`dangan user add`, `dangan demo-data`):
    /// someone with shell access to the server, acting as the system.
    pub fn system() -> Actor {
        Actor {
            user_id: UserId(0),
            username: "system".to_owned(),
            display_name: "系统".to_owned(),
            role: Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_staff_may_read_but_not_write() {
        assert!(allowed(Role::Window, UseCase::ReadPersons));
        assert!(!allowed(Role::Window, UseCase::WritePersons));
        assert!(!allowed(Role::Window, UseCase::WriteEvents));
    }

    #[test]
    fn the_auditor_changes_nothing_and_reads_no_personal_data() {
        for uc in [
            UseCase::WritePersons,
            UseCase::WriteEvents,
            UseCase::EditCatalogue,
            UseCase::ReadPersons,
            UseCase::ManageUsers,
        ] {
            assert!(!allowed(Role::Auditor, uc), "{uc:?}");
        }
    }

    #[test]
    fn only_the_administrator_edits_the_catalogue_and_calendar() {
        for r in Role::ALL {
            assert_eq!(allowed(r, UseCase::EditCatalogue), r == Role::Admin);
            assert_eq!(allowed(r, UseCase::EditCalendar), r == Role::Admin);
        }
    }
}
