//! 操作 — the codes an operation-log (操作日志) entry carries, each with its one Chinese label:
//! the action (操作), the kind of record acted on (操作对象), the kind of actor and the outcome
//! (结果).
//!
//! The log stores the codes as text (they are hashed into the chain exactly as written), so the
//! sets here label what is stored; they never re-encode it. Every action the application writes
//! is a member of [`AuditAction`]: `dangan-app` checks that at each write in debug builds and by
//! a test that reads its sources, so that no action reaches the auditor's page unlabelled.

use crate::code_enum;

code_enum! {
    /// 操作 — what an operation-log entry records.
    pub enum AuditAction: "操作" {
        /// A use-case refused by the permission matrix.
        AccessDenied = ("access.denied", "越权访问被拒绝"),
        /// An action taken on an environment alert.
        AlertAction = ("alert.action", "登记告警处置"),
        /// An environment alert closed: action recorded and a reading back in range.
        AlertClose = ("alert.close", "关闭环境告警"),
        /// An environment alert raised by an out-of-range reading.
        AlertRaise = ("alert.raise", "产生环境告警"),
        /// 分配档号
        ArchiveNumberAllocate = ("archive_number.allocate", "分配档号"),
        /// A source address blocked after repeated failed sign-ins.
        AuthAddressBlocked = ("auth.address_blocked", "封锁登录来源地址"),
        /// A window clerk signs in for an insured person at the kiosk.
        AuthInsuredAssisted = ("auth.insured_assisted", "工作人员协助参保人登录"),
        /// An insured person's sign-in.
        AuthInsuredLogin = ("auth.insured_login", "参保人登录"),
        /// A staff sign-in.
        AuthLogin = ("auth.login", "工作人员登录"),
        /// 退出登录
        AuthLogout = ("auth.logout", "退出登录"),
        /// Every session of an account ended.
        AuthLogoutEverywhere = ("auth.logout_everywhere", "退出全部会话"),
        /// 修改密码
        AuthPasswordChange = ("auth.password_change", "修改密码"),
        /// A backup target set.
        BackupSet = ("backup.set", "设置备份目标"),
        /// A backup checked.
        BackupVerify = ("backup.verify", "校验备份"),
        /// An entry of the log benchmark.
        BenchAppend = ("bench.append", "性能测试写入"),
        /// An archive box (档案盒) added.
        BoxCreate = ("box.create", "新增档案盒"),
        /// An archive box moved to another place.
        BoxMove = ("box.move", "档案盒移位"),
        /// A year of the work calendar loaded.
        CalendarLoad = ("calendar.load", "载入工作日历"),
        /// The filing catalogue replaced.
        CatalogueReplace = ("catalogue.replace", "更新归档范围与保管期限表"),
        /// The daily custody check of a room (S2.3).
        CustodyCheck = ("custody.check", "库房日常检查"),
        /// The daily checklist changed.
        CustodyChecklist = ("custody.checklist", "修改检查项"),
        /// The demonstration data loaded.
        DemoLoad = ("demo.load", "载入演示数据"),
        /// Logger readings imported from a CSV export.
        EnvironmentImport = ("environment.import", "导入温湿度记录"),
        /// A data logger registered to a room.
        EnvironmentLogger = ("environment.logger", "登记温湿度记录仪"),
        /// A batch of logger readings received.
        EnvironmentReadings = ("environment.readings", "接收温湿度读数"),
        /// An item of equipment registered.
        EquipmentCreate = ("equipment.create", "登记设备"),
        /// An equipment inspection recorded.
        EquipmentInspect = ("equipment.inspect", "设备检查登记"),
        /// An item of equipment retired from service.
        EquipmentRetire = ("equipment.retire", "停用设备"),
        /// An item of equipment changed.
        EquipmentUpdate = ("equipment.update", "修改设备"),
        /// A business read.
        EventRead = ("event.read", "查看业务"),
        /// A business recorded with its materials.
        EventRecord = ("event.record", "登记业务"),
        /// A list exported to an Excel file.
        ExportXlsx = ("export.xlsx", "导出 Excel"),
        /// The four-property report of a scan read.
        FileChecks = ("file.checks", "查看四性检测结果"),
        /// Unreferenced blobs removed.
        FileGc = ("file.gc", "清理无引用的电子文件"),
        /// A scan received.
        FileIngest = ("file.ingest", "接收电子文件"),
        /// The scans of a record listed.
        FileList = ("file.list", "查看电子文件列表"),
        /// A scan opened.
        FileRead = ("file.read", "查看电子文件"),
        /// A scan's integrity checked.
        FileVerify = ("file.verify", "校验电子文件"),
        /// Every scan's integrity checked.
        FileVerifyAll = ("file.verify_all", "校验全部电子文件"),
        /// A scan withdrawn.
        FileWithdraw = ("file.withdraw", "撤回电子文件"),
        /// A handover confirmed by the receiving archivist.
        HandoverConfirm = ("handover.confirm", "确认交接"),
        /// Paper materials handed over.
        HandoverCreate = ("handover.create", "移交纸质材料"),
        /// The list of handovers read.
        HandoverList = ("handover.list", "查看交接单列表"),
        /// A handover list read.
        HandoverRead = ("handover.read", "查看交接单"),
        /// Benefit payments imported from a file.
        ImportBenefits = ("import.benefits", "导入待遇发放记录"),
        /// Contributions imported from a file.
        ImportContributions = ("import.contributions", "导入缴费记录"),
        /// Persons imported from a file.
        ImportPersons = ("import.persons", "导入参保人"),
        /// An insured person's online account opened or reset.
        InsuredAccountOpen = ("insured.account_open", "开通或重置网上查询账户"),
        /// A background job run.
        JobRun = ("job.run", "运行后台作业"),
        /// The agency keys exported.
        KeyExport = ("key.export", "导出机构密钥"),
        /// A key rotated.
        KeyRotate = ("key.rotate", "轮换密钥"),
        /// The chain head signed.
        LogAnchor = ("log.anchor", "签名锚定操作日志"),
        /// The log searched.
        LogSearch = ("log.search", "查询操作日志"),
        /// The chain verified.
        LogVerify = ("log.verify", "校验操作日志"),
        /// Damage recorded.
        MaterialDamage = ("material.damage", "登记损毁"),
        /// The list of damage and loss reports read.
        MaterialIncidentList = ("material.incident_list", "查看破损与丢失登记"),
        /// A loss recorded.
        MaterialLoss = ("material.loss", "登记丢失"),
        /// The steps after a loss recorded.
        MaterialLossSteps = ("material.loss_steps", "记录丢失处置"),
        /// A repair recorded.
        MaterialRepair = ("material.repair", "登记修复"),
        /// A correction sent back to the business system.
        OutboxDeliver = ("outbox.deliver", "回传业务系统"),
        /// The outbox read.
        OutboxRead = ("outbox.read", "查看回传队列"),
        /// A delivery retried.
        OutboxResend = ("outbox.resend", "重新回传"),
        /// The changes from the business system read.
        PersonChangesRead = ("person.changes.read", "查看参保信息变更"),
        /// A person's data corrected.
        PersonCorrect = ("person.correct", "更正档案信息"),
        /// The modification records read.
        PersonCorrectionsRead = ("person.corrections.read", "查看修改记录"),
        /// A person registered.
        PersonCreate = ("person.create", "登记参保人"),
        /// A person's archive (businesses and materials) read.
        PersonEventsRead = ("person.events.read", "查看档案材料"),
        /// A person's contributions and benefits read.
        PersonLedgerRead = ("person.ledger.read", "查看缴费与待遇记录"),
        /// A person's data read.
        PersonRead = ("person.read", "查看参保人信息"),
        /// Persons searched.
        PersonSearch = ("person.search", "查询参保人"),
        /// A place (shelf, section …) added to a room.
        PlaceCreate = ("place.create", "新增架位"),
        /// A query registered (查询登记).
        QueryRegister = ("query.register", "查询登记"),
        /// The query register searched.
        QuerySearch = ("query.search", "查看查询登记簿"),
        /// An archive room added.
        RoomCreate = ("room.create", "新增库房"),
        /// An archive room changed.
        RoomUpdate = ("room.update", "修改库房"),
        /// A stocktake closed; its result kept.
        StocktakeClose = ("stocktake.close", "完成盘点"),
        /// A volume missing at a stocktake reported lost.
        StocktakeReportLoss = ("stocktake.report_loss", "盘点缺失报失"),
        /// A volume scanned during a stocktake.
        StocktakeScan = ("stocktake.scan", "盘点扫描"),
        /// A stocktake started.
        StocktakeStart = ("stocktake.start", "开始盘点"),
        /// A supplement closed as missing.
        SupplementCloseMissing = ("supplement.close_missing", "补件结案（确认缺失）"),
        /// A contact about a supplement recorded.
        SupplementContact = ("supplement.contact", "记录补件联系"),
        /// A supplement fulfilled.
        SupplementFulfil = ("supplement.fulfil", "补件完成"),
        /// The supplement list read.
        SupplementList = ("supplement.list", "查看补件列表"),
        /// Benefit payments synchronised from the business system.
        SyncBenefits = ("sync.benefits", "同步待遇发放记录"),
        /// Contributions synchronised from the business system.
        SyncContributions = ("sync.contributions", "同步缴费记录"),
        /// Changes received from the business system.
        SyncPersonChanges = ("sync.person_changes", "接收参保信息变更"),
        /// Received changes applied.
        SyncPersonChangesApply = ("sync.person_changes.apply", "应用参保信息变更"),
        /// The task list read (工作台).
        TaskList = ("task.list", "查看待办任务"),
        /// The daily-check tasks of the working days opened by the daily job.
        TaskOpen = ("task.open", "开启待办任务"),
        /// An API token issued.
        TokenCreate = ("token.create", "签发接口令牌"),
        /// An API token revoked.
        TokenRevoke = ("token.revoke", "吊销接口令牌"),
        /// An account created.
        UserCreate = ("user.create", "创建账号"),
        /// A business account given a new password by the security officer.
        UserPasswordReset = ("user.password_reset", "重置密码"),
        /// An officer-account request made.
        UserRequest = ("user.request", "提出三员账号申请"),
        /// An officer-account request approved.
        UserRequestApprove = ("user.request_approve", "批准三员账号申请"),
        /// An officer-account request rejected.
        UserRequestReject = ("user.request_reject", "驳回三员账号申请"),
        /// A business account unlocked by the security officer.
        UserUnlock = ("user.unlock", "解锁账号"),
        /// An account changed (role, enabled).
        UserUpdate = ("user.update", "变更账号"),
        /// Volumes built.
        VolumeBuild = ("volume.build", "组卷"),
        /// A volume designated (or no longer) as an important record for the fire safe.
        VolumeDesignate = ("volume.designate", "指定重要档案"),
        /// A volume moved to another place or box.
        VolumeMove = ("volume.move", "案卷移架"),
        /// A volume's 备考表 written.
        VolumeNote = ("volume.note", "填写备考表"),
        /// A volume first placed on a shelf.
        VolumePlace = ("volume.place", "案卷上架"),
        /// A volume returned to the room.
        VolumeReturn = ("volume.return", "案卷归库"),
        /// A volume sealed.
        VolumeSeal = ("volume.seal", "封卷"),
        /// A volume taken out of the room.
        VolumeTakeOut = ("volume.take_out", "案卷出库"),
    }
}

code_enum! {
    /// 结果 — the outcome written with an entry.
    pub enum LogOutcome: "操作结果" {
        /// 成功
        Ok = ("ok", "成功"),
        /// 拒绝 — refused by the permission matrix or a rule.
        Denied = ("denied", "拒绝"),
        /// 未找到
        NotFound = ("not_found", "未找到"),
        /// 无效 — the request did not make sense.
        Invalid = ("invalid", "无效"),
        /// 失败
        Failed = ("failed", "失败"),
    }
}

code_enum! {
    /// 操作人类型 — who wrote an entry.
    pub enum ActorKind: "操作人类型" {
        /// 工作人员
        User = ("user", "工作人员"),
        /// 参保人
        Insured = ("insured", "参保人"),
        /// 接口令牌 — a machine client.
        Token = ("token", "接口令牌"),
        /// 系统
        System = ("system", "系统"),
        /// 未登录 — before anyone is known.
        Anonymous = ("anonymous", "未登录"),
    }
}

code_enum! {
    /// 操作对象 — the kind of record an entry concerns.
    pub enum TargetKind: "操作对象" {
        /// 工作人员账号
        Account = ("account", "账号"),
        /// 三员账号申请
        AccountRequest = ("account_request", "三员账号申请"),
        /// A client address.
        Address = ("address", "来源地址"),
        /// 环境告警
        Alert = ("alert", "环境告警"),
        /// 档案盒
        ArchiveBox = ("archive_box", "档案盒"),
        /// 档号
        ArchiveNumber = ("archive_number", "档号"),
        /// 备份目标
        BackupTarget = ("backup_target", "备份目标"),
        /// 工作日历
        Calendar = ("calendar", "工作日历"),
        /// 归档范围
        Catalogue = ("catalogue", "归档范围"),
        /// 检查项
        Checklist = ("checklist", "检查项"),
        /// 设备
        Equipment = ("equipment", "设备"),
        /// 业务
        Event = ("event", "业务"),
        /// 电子文件
        File = ("file", "电子文件"),
        /// 交接单
        Handover = ("handover", "交接单"),
        /// 导入文件
        ImportFile = ("import_file", "导入文件"),
        /// 后台作业
        Job = ("job", "后台作业"),
        /// 密钥目录
        KeyRing = ("key_ring", "密钥"),
        /// 清单 — a list of the pages (an export).
        List = ("list", "清单"),
        /// 操作日志
        Log = ("log", "操作日志"),
        /// 主密钥
        MasterKey = ("master_key", "主密钥"),
        /// 材料
        Material = ("material", "材料"),
        /// 回传记录
        Outbox = ("outbox", "回传记录"),
        /// 参保人
        Person = ("person", "参保人"),
        /// 参保人（批量）
        Persons = ("persons", "参保人（批量）"),
        /// 架位
        Place = ("place", "架位"),
        /// 查询登记簿
        Register = ("register", "查询登记簿"),
        /// 库房
        Room = ("room", "库房"),
        /// 巡检
        ScrubRun = ("scrub_run", "巡检"),
        /// 会话
        Session = ("session", "会话"),
        /// 业务系统
        SourceSystem = ("source_system", "业务系统"),
        /// 盘点
        Stocktake = ("stocktake", "盘点"),
        /// 补件
        Supplement = ("supplement", "补件"),
        /// 待办任务
        Task = ("task", "待办任务"),
        /// 接口令牌
        Token = ("token", "接口令牌"),
        /// 功能 — the use-case an access was refused for.
        UseCase = ("use_case", "功能"),
        /// 工作人员
        User = ("user", "用户"),
        /// 电子文件库
        Vault = ("vault", "电子文件库"),
        /// 案卷
        Volume = ("volume", "案卷"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Code, label_or_code};

    fn one_chinese_label_each<C: Code>() {
        let mut labels = std::collections::HashSet::new();
        for c in C::ALL {
            assert!(!c.label().is_ascii(), "{} has no Chinese label", c.code());
            assert!(labels.insert(c.label()), "{} shares its label", c.code());
            assert_eq!(C::from_code(c.code()), Some(*c));
        }
    }

    #[test]
    fn every_action_outcome_actor_and_target_kind_has_its_own_chinese_label() {
        one_chinese_label_each::<AuditAction>();
        one_chinese_label_each::<LogOutcome>();
        one_chinese_label_each::<ActorKind>();
        one_chinese_label_each::<TargetKind>();
    }

    #[test]
    fn an_unknown_stored_code_is_shown_as_written() {
        assert_eq!(
            label_or_code::<AuditAction>("person.read"),
            "查看参保人信息"
        );
        assert_eq!(label_or_code::<AuditAction>("later.action"), "later.action");
    }
}
