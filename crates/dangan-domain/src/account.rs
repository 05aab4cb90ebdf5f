//! 账号申请 — the codes of an officer-account request under 三员分立: one security officer
//! asks, another decides (S8.1).

use crate::code_enum;

code_enum! {
    /// 申请类型 — a new officer account, or a change of an existing account's role or state.
    pub enum AccountRequestKind: "申请类型" {
        /// 新建账号
        Create = ("create", "新建账号"),
        /// 变更账号 — the role, or disabling and enabling.
        Change = ("change", "变更账号"),
    }
}

code_enum! {
    /// 申请状态 — pending until a second officer approves or rejects it.
    pub enum AccountRequestState: "申请状态" {
        /// 待处理
        Pending = ("pending", "待处理"),
        /// 已批准 — and carried out in the same transaction.
        Approved = ("approved", "已批准"),
        /// 已驳回
        Rejected = ("rejected", "已驳回"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    #[test]
    fn every_account_request_kind_and_state_has_one_chinese_label() {
        for k in AccountRequestKind::ALL {
            assert_eq!(AccountRequestKind::from_code(k.code()), Some(*k));
            assert!(!k.label().is_ascii());
        }
        for s in AccountRequestState::ALL {
            assert_eq!(AccountRequestState::from_code(s.code()), Some(*s));
            assert!(!s.label().is_ascii());
        }
    }
}
