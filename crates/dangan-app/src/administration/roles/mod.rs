//! Roles (角色) and the permission matrix: which role may run which use-case. Every use-case
//! calls [`crate::App::authorize`] first, which consults [`allowed`], so the API, the UI and the
//! CLI cannot diverge. `docs/permissions.md` is rendered from this matrix (and a test keeps it
//! in step).
//!
//! 三员分立: the administrator (系统管理员) runs the archive's configuration but neither manages
//! accounts nor reads the operation log; the security officer (安全保密员) manages the business
//! accounts (archivist, handler, window) and roles; the auditor (安全审计员) reads and verifies the
//! log and changes nothing. An officer account (the three roles themselves) is created, changed,
//! disabled or enabled only by two officers — a request by the security officer, an approval by
//! another officer who is neither the requester nor the target — or from the server's console
//! (`dangan user add`); see `officers.rs`. An API token carries at most what its issuer's role may
//! do, and the machine scopes are the administrator's to issue (see `tokens.rs`).

use serde::Serialize;

use crate::{AppError, AppResult};
use dangan_store::persons::PersonId;
use dangan_store::tokens::TokenId;
use dangan_store::users::UserId;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
    /// 保管员 — the custody post (保管岗): keeps the archive room, its places, environment,
    /// equipment and stocktakes (S2.3).
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

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::Admin,
        Role::Archivist,
        Role::Handler,
        Role::Window,
        Role::Custodian,
        Role::Auditor,
        Role::SecurityOfficer,
        Role::Insured,
        Role::Machine,
    ];

    /// The roles of staff accounts (the ones `user add` accepts).
    pub const STAFF: [Role; 7] = [
        Role::Admin,
        Role::Archivist,
        Role::Handler,
        Role::Window,
        Role::Custodian,
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
            Role::Custodian => "custodian",
            Role::Auditor => "auditor",
            Role::SecurityOfficer => "security_officer",
            Role::Insured => "insured",
            Role::Machine => "machine",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Archivist => "档案管理员",
            Role::Handler => "业务经办",
            Role::Window => "窗口人员",
            Role::Custodian => "保管员",
            Role::Auditor => "安全审计员",
            Role::SecurityOfficer => "安全保密员",
            Role::Insured => "参保人",
            Role::Machine => "业务系统",
        }
    }

    /// The three officers (三员): administrator, security officer, auditor.
    pub const OFFICERS: [Role; 3] = [Role::Admin, Role::SecurityOfficer, Role::Auditor];

    /// Whether this is a staff role (a person at the agency with an account).
    pub fn is_staff(self) -> bool {
        Role::STAFF.contains(&self)
    }

    /// Whether this is one of the three officers' roles: accounts with it are changed only by
    /// two officers (or the console).
    pub fn is_officer(self) -> bool {
        Role::OFFICERS.contains(&self)
    }

    /// Parses the code of a staff role.
    pub fn parse(s: &str) -> AppResult<Role> {
        Role::STAFF
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| {
                AppError::invalid_with(
                    "invalid_role",
                    Some("role"),
                    format!(
                        "角色“{}”无效：应为 admin、archivist、handler、window、custodian、auditor 或 security_officer",
                        s.trim()
                    ),
                )
            })
    }
}

/// A use-case as the permission matrix sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UseCase {
    /// Read reference data: divisions, business types, calendar arithmetic.
    ReadReference,
    /// Read the filing catalogue.
    ReadCatalogue,
    /// Write a new catalogue version.
    EditCatalogue,
    /// Load or replace a calendar year.
    EditCalendar,
    /// Search insured persons (lists with masked identity numbers).
    SearchPersons,
    /// Open a person's archive: the person, their events and materials. Staff need a query
    /// registration (S2.4); an insured person reaches only their own.
    ReadArchive,
    /// Register insured persons.
    WritePersons,
    /// Record business events and materials.
    WriteEvents,
    /// Allocate archive numbers.
    AllocateArchiveNumbers,
    /// Register a query (查询登记) before opening an archive.
    RegisterQuery,
    /// Read and export the query register.
    ReadQueryRegister,
    /// Open or reset an insured person's online account.
    ManageInsuredAccounts,
    /// Create business accounts (archivist, handler, window), change their roles, disable them.
    ManageUsers,
    /// Request the creation of an officer account, or a change into, out of or within an
    /// officer role (or disabling/enabling an officer): the first of two officers.
    RequestOfficerChange,
    /// Approve or reject another officer's request (neither the requester nor the target): the
    /// second of two officers.
    ApproveOfficerChange,
    /// Create and revoke API tokens (a token carries at most what the issuer's role may do).
    ManageTokens,
    /// Read the operation log.
    ReadLog,
    /// Verify and anchor the operation log.
    VerifyLog,
    /// Change one's own password, sign out (every signed-in person).
    OwnAccount,
    /// See tasks, handover lists, supplement requests and volumes.
    ReadWorkflow,
    /// Hand materials over to the archive post (collection post).
    HandOver,
    /// Confirm a handover item by item (archive post).
    ReceiveHandover,
    /// Record contacts for, fulfil and close supplement requests.
    ManageSupplements,
    /// Build, annotate and seal volumes.
    Organise,
    /// Correct a person's archived data with proof.
    CorrectData,
    /// Record damage, repairs and losses.
    RecordDamage,
    /// Ingest scans into the electronic archive.
    IngestScans,
    /// Verify the seals and digests of stored files.
    VerifyFiles,
    /// Rotate the master key.
    ManageKeys,
    /// Write backup sets (备份).
    RunBackups,
    /// See backup runs and verify a target's sets.
    ReadBackups,
    /// See the background jobs and their history (后台作业).
    ReadJobs,
    /// Run a background job now (立即运行).
    RunJobs,
    /// Receive contribution and benefit records from the business system (数据同步).
    SyncRecords,
    /// 自动归档 (S6.5): file a completed business with its scans in one request.
    AutoArchive,
    /// Send a correction to the business system's webhook again (更正回传重发).
    ResendOutbox,
    /// See the archive room: rooms, places, where volumes are, stocktakes, environment records,
    /// alerts and equipment.
    ReadRoom,
    /// Set up rooms, places, boxes, thresholds, the daily checklist and the equipment register.
    ConfigureRooms,
    /// Place, move, take out and return sealed volumes; designate important records.
    PlaceVolumes,
    /// Take stock (盘点): start, scan, close.
    TakeStock,
    /// Record the daily custody check, readings, alert actions and equipment inspections.
    RecordCustody,
    /// Send readings of temperature/humidity data loggers (machine clients and CSV imports).
    SubmitReadings,
}

impl UseCase {
    /// Every use-case, in the order of the rendered matrix.
    pub const ALL: [UseCase; 42] = [
        UseCase::ReadReference,
        UseCase::ReadCatalogue,
        UseCase::EditCatalogue,
        UseCase::EditCalendar,
        UseCase::SearchPersons,
        UseCase::ReadArchive,
        UseCase::WritePersons,
        UseCase::WriteEvents,
        UseCase::AllocateArchiveNumbers,
        UseCase::RegisterQuery,
        UseCase::ReadQueryRegister,
        UseCase::ManageInsuredAccounts,
        UseCase::ManageUsers,
        UseCase::RequestOfficerChange,
        UseCase::ApproveOfficerChange,
        UseCase::ManageTokens,
        UseCase::ReadLog,
        UseCase::VerifyLog,
        UseCase::OwnAccount,
        UseCase::ReadWorkflow,
        UseCase::HandOver,
        UseCase::ReceiveHandover,
        UseCase::ManageSupplements,
        UseCase::Organise,
        UseCase::CorrectData,
        UseCase::RecordDamage,
        UseCase::IngestScans,
        UseCase::VerifyFiles,
        UseCase::ManageKeys,
        UseCase::RunBackups,
        UseCase::ReadBackups,
        UseCase::ReadJobs,
        UseCase::RunJobs,
        UseCase::SyncRecords,
        UseCase::AutoArchive,
        UseCase::ResendOutbox,
        UseCase::ReadRoom,
        UseCase::ConfigureRooms,
        UseCase::PlaceVolumes,
        UseCase::TakeStock,
        UseCase::RecordCustody,
        UseCase::SubmitReadings,
    ];

    /// The Chinese description used in the rendered matrix.
    pub fn label(self) -> &'static str {
        match self {
            UseCase::ReadReference => "查看参考数据（行政区划、业务类型、工作日计算）",
            UseCase::ReadCatalogue => "查看归档范围",
            UseCase::EditCatalogue => "修改归档范围",
            UseCase::EditCalendar => "载入工作日历",
            UseCase::SearchPersons => "检索参保人（号码脱敏）",
            UseCase::ReadArchive => "查阅参保人档案",
            UseCase::WritePersons => "登记参保人",
            UseCase::WriteEvents => "登记业务与材料",
            UseCase::AllocateArchiveNumbers => "分配档号",
            UseCase::RegisterQuery => "查询登记",
            UseCase::ReadQueryRegister => "查看、导出查询登记簿",
            UseCase::ManageInsuredAccounts => "开通、重置参保人网上账户",
            UseCase::ManageUsers => "管理业务人员账号与角色（档案管理员、业务经办、窗口人员）",
            UseCase::RequestOfficerChange => "申请新建或调整三员账号（须另一名三员批准）",
            UseCase::ApproveOfficerChange => "批准或驳回三员账号申请（非申请人、非当事人）",
            UseCase::ManageTokens => "管理接口令牌（不超出签发人本身的权限）",
            UseCase::ReadLog => "查看操作日志",
            UseCase::VerifyLog => "校验、锚定操作日志",
            UseCase::OwnAccount => "修改本人密码、退出登录",
            UseCase::ReadWorkflow => "查看任务、交接单、补件和案卷",
            UseCase::HandOver => "移交档案材料（收集岗）",
            UseCase::ReceiveHandover => "接收并逐项确认交接单（档案岗）",
            UseCase::ManageSupplements => "补件联系、补件登记、材料缺失结案",
            UseCase::Organise => "组卷、封卷、编制档号",
            UseCase::CorrectData => "凭证明材料更正档案信息",
            UseCase::RecordDamage => "登记损毁、修复和丢失",
            UseCase::IngestScans => "扫描件入库",
            UseCase::VerifyFiles => "校验电子文件的数字摘要与电子印章",
            UseCase::ManageKeys => "轮换主密钥",
            UseCase::RunBackups => "执行备份",
            UseCase::ReadBackups => "查看备份状态、校验备份",
            UseCase::ReadJobs => "查看后台作业及其历史",
            UseCase::RunJobs => "立即运行后台作业",
            UseCase::SyncRecords => "同步缴费明细与待遇发放",
            UseCase::ResendOutbox => "重新发送更正至业务系统",
            UseCase::AutoArchive => "自动归档（业务连同扫描件一次归档）",
            UseCase::ReadRoom => "查看库房、存放位置、盘点、温湿度与设备记录",
            UseCase::ConfigureRooms => "设置库房、架位、档案盒、温湿度阈值、检查项和设备台账",
            UseCase::PlaceVolumes => "案卷上架、移架、出库、归库，指定重要档案",
            UseCase::TakeStock => "库房盘点",
            UseCase::RecordCustody => "库房日常检查、告警处置、设备检查登记",
            UseCase::SubmitReadings => "上传温湿度记录仪读数",
        }
    }

    /// The scope code of an API token that grants this use-case, if tokens may have it.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            UseCase::ReadReference => Some("reference:read"),
            UseCase::ReadCatalogue => Some("catalogue:read"),
            UseCase::SearchPersons => Some("persons:search"),
            UseCase::WritePersons => Some("persons:write"),
            UseCase::WriteEvents => Some("events:write"),
            UseCase::SyncRecords => Some("sync:write"),
            UseCase::IngestScans => Some("files:write"),
            UseCase::AutoArchive => Some("archive:write"),
            UseCase::SubmitReadings => Some("environment:write"),
            _ => None,
        }
    }

    /// The use-case a scope code grants.
    pub fn from_scope(scope: &str) -> Option<UseCase> {
        UseCase::ALL.into_iter().find(|u| u.scope() == Some(scope))
    }
}

/// How a role may run a use-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Not at all.
    No,
    /// Yes.
    Yes,
    /// Only with a query registration for the person (staff opening an archive).
    Registered,
    /// Only for the actor's own records (insured persons).
    Own,
    /// Only if the API token carries the scope.
    Scope,
}

/// The matrix.
pub fn grant(role: Role, use_case: UseCase) -> Grant {
    use Grant::*;
    use Role::*;
    use UseCase as U;
    match (role, use_case) {
        (Machine, uc) => {
            if uc.scope().is_some() {
                Scope
            } else {
                No
            }
        }
        (Insured, U::ReadArchive) => Own,
        (Insured, U::ReadReference | U::OwnAccount) => Yes,
        (Insured, _) => No,
        (_, U::OwnAccount | U::ReadReference | U::ReadCatalogue) => Yes,
        (Admin, U::EditCatalogue | U::EditCalendar) => Yes,
        (Admin | Archivist | Handler | Window, U::SearchPersons | U::RegisterQuery) => Yes,
        (Admin | Archivist | Handler | Window, U::ReadArchive) => Registered,
        (Admin | Archivist | Handler, U::WritePersons | U::WriteEvents) => Yes,
        (Admin | Archivist, U::AllocateArchiveNumbers) => Yes,
        (Archivist | Handler | Window, U::ManageInsuredAccounts) => Yes,
        (Admin | Archivist | Auditor, U::ReadQueryRegister) => Yes,
        (SecurityOfficer, U::ManageUsers | U::RequestOfficerChange | U::ManageKeys) => Yes,
        (Admin | SecurityOfficer, U::ApproveOfficerChange | U::ManageTokens) => Yes,
        (Admin | Archivist | Handler | Window, U::ReadWorkflow) => Yes,
        (Admin | Archivist | Handler, U::HandOver | U::ManageSupplements) => Yes,
        (
            Admin | Archivist,
            U::ReceiveHandover | U::Organise | U::CorrectData | U::RecordDamage | U::IngestScans,
        ) => Yes,
        (Admin | Archivist | Auditor, U::VerifyFiles) => Yes,
        (Auditor, U::ReadLog | U::VerifyLog) => Yes,
        (Admin, U::RunBackups) => Yes,
        (Admin | Auditor, U::ReadBackups | U::ReadJobs) => Yes,
        (Admin, U::RunJobs) => Yes,
        (Admin, U::SyncRecords) => Yes,
        (Admin, U::ResendOutbox) => Yes,
        (Admin | Archivist, U::AutoArchive) => Yes,
        (Custodian, U::ReadWorkflow) => Yes,
        (Admin | Archivist | Custodian, U::ReadRoom | U::PlaceVolumes | U::TakeStock) => Yes,
        (Admin | Archivist | Custodian, U::RecordCustody) => Yes,
        (Admin | Custodian, U::ConfigureRooms | U::SubmitReadings) => Yes,
        _ => No,
    }
}

/// Whether `role` may run `use_case` at all (a `Registered`, `Own` or `Scope` grant still has
/// its condition checked by the use-case).
pub fn allowed(role: Role, use_case: UseCase) -> bool {
    grant(role, use_case) != Grant::No
}

/// Who a signed-in actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl Subject {
    /// The kind and id as written to the operation log.
    pub fn log_parts(self) -> (&'static str, String) {
        match self {
            Subject::User(id) => ("user", id.to_string()),
            Subject::Insured(id) => ("insured", id.to_string()),
            Subject::Token(id) => ("token", id.to_string()),
            Subject::System => ("system", String::new()),
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, Serialize)]
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
    /// The scopes of an API token (empty for people).
    #[serde(skip)]
    pub scopes: Vec<UseCase>,
    /// Where the request came from (client address), or `cli`.
    #[serde(skip)]
    pub source: String,
}

impl Actor {
    /// The actor of command-line maintenance (`dangan user add`, `dangan demo-data`): someone
    /// with shell access to the server, acting as the system. It may do everything.
    pub fn system() -> Actor {
        Actor {
            subject: Subject::System,
            username: "system".to_owned(),
            display_name: "系统".to_owned(),
            role: Role::Admin,
            must_change_password: false,
            scopes: Vec::new(),
            source: "cli".to_owned(),
        }
    }

    /// This actor seen from another address.
    pub fn from_source(mut self, source: impl Into<String>) -> Actor {
        self.source = source.into();
        self
    }

    /// The staff user id, if the actor is a staff user.
    pub fn user_id(&self) -> Option<UserId> {
        match self.subject {
            Subject::User(id) => Some(id),
            _ => None,
        }
    }
}

/// The permission matrix as Markdown (`docs/permissions.md`).
pub fn render_matrix_markdown() -> String {
    let mut out = String::from(
        "# Permission matrix (权限矩阵)\n\n\
         Rendered from `crates/dangan-app/src/roles.rs` by the test \
         `permissions_doc_matches_the_matrix` (run it with `DANGAN_WRITE_DOCS=1` to rewrite this file).\n\
         Every use-case checks this matrix in the app layer, so the API, the UI and the CLI agree.\n\n\
         ✔ allowed · ✘ denied · 登记 only after a query registration for that person (谁查询、谁登记) · \
         本人 own records only · 令牌 only with the API token's scope\n\n| 用例 |",
    );
    for r in Role::ALL {
        out.push_str(&format!(" {} `{}` |", r.label(), r.code()));
    }
    out.push_str("\n|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for uc in UseCase::ALL {
        out.push_str(&format!("| {} |", uc.label()));
        for r in Role::ALL {
            let cell = match grant(r, uc) {
                Grant::No => "✘".to_owned(),
                Grant::Yes => "✔".to_owned(),
                Grant::Registered => "登记".to_owned(),
                Grant::Own => "本人".to_owned(),
                Grant::Scope => format!("令牌 `{}`", uc.scope().unwrap_or("")),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str(
        "\nNotes:\n\n\
         - 三员分立: the administrator neither manages accounts nor reads the operation log; the \
         security officer manages the business accounts but reads no archive; the auditor reads and \
         verifies the log and changes nothing.\n\
         - Two officers for an officer account (双人审批): creating an administrator, security officer \
         or auditor account, changing any account into or out of those roles, or disabling, enabling \
         or unlocking one is a request by the security officer (`POST /api/v1/users/requests`) that \
         takes effect only when another officer approves it — the administrator or another security \
         officer, never the requester and never the target of the request. The approver receives the \
         generated one-time password of a created account. No officer changes their own account or \
         another officer's alone; only the server's console (`dangan user add`) acts without a second \
         officer. Both steps and every refusal are in the operation log.\n\
         - API tokens: a token carries only scopes whose use-case the issuer's own role is granted \
         (✔); the machine scopes `sync:write` and `archive:write` are issued by the administrator \
         only. The security officer issues read-only tokens (`reference:read`, `catalogue:read`) and \
         may revoke any token (incident response); the administrator may too.\n\
         - An insured person who asks for someone else's record gets 404 (the record is not \
         revealed to exist), and the attempt is written to the operation log.\n\
         - While an account still has a generated password, only 修改本人密码 is allowed.\n",
    );
    out
}

#[cfg(test)]
mod tests;
