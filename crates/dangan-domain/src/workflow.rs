//! 流转 — the codes of the work from business to shelf: handovers (交接) and their lines, tasks of
//! the posts with their deadlines, and supplements (补件) (S2, S4.3).

use crate::code_enum;
use crate::material::MaterialStatus;

code_enum! {
    /// 交接单状态 — an open list can still be changed; a confirmed one never changes.
    pub enum HandoverState: "交接单状态" {
        /// 待确认 — waiting for the organising post to check it line by line.
        Open = ("open", "待确认"),
        /// 已确认 — received, every line with its result.
        Confirmed = ("confirmed", "已确认"),
    }
}

code_enum! {
    /// 交接结果 — what the receiving post found for one line of a handover (闭环交接).
    pub enum LineResult: "交接结果" {
        /// 已收到 — received as listed (相符).
        Ok = ("ok", "已收到"),
        /// 缺失 — listed but not received.
        Missing = ("missing", "缺失"),
        /// 破损 — received damaged.
        Damaged = ("damaged", "破损"),
        /// 多出 — found on receipt but not on the list (a line the receiver adds).
        Extra = ("extra", "多出"),
    }
}

impl HandoverState {
    /// Whether the list can still be changed and confirmed.
    pub fn is_open(self) -> bool {
        self == HandoverState::Open
    }
}

impl LineResult {
    /// The results a receiver may give a listed line (多出 is a line of its own).
    pub const RECEIPTS: [LineResult; 3] =
        [LineResult::Ok, LineResult::Missing, LineResult::Damaged];

    /// The handover outcome of a line: received as listed leaves the item as it is (`None`); missing
    /// marks it 材料缺失 and damaged marks it 损毁.
    pub fn material_status(self) -> Option<MaterialStatus> {
        match self {
            LineResult::Ok | LineResult::Extra => None,
            LineResult::Missing => Some(MaterialStatus::Missing),
            LineResult::Damaged => Some(MaterialStatus::Damaged),
        }
    }

    /// Whether the receiver must say what differed (缺失 and 破损 need a note).
    pub fn needs_note(self) -> bool {
        matches!(self, LineResult::Missing | LineResult::Damaged)
    }
}

code_enum! {
    /// 岗位 — the post a task waits at.
    pub enum Post: "岗位" {
        /// 收集岗 — collects the materials at the window and hands them over.
        Collection = ("collection", "收集岗"),
        /// 整理岗 — receives, organises and files them.
        Organising = ("organising", "整理岗"),
        /// 保管岗 — keeps the archive room: daily checks, environment, equipment, stocktakes (S2.3).
        Custody = ("custody", "保管岗"),
    }
}

code_enum! {
    /// 任务类型 — the kinds of task, each with its post, its subject and its deadline setting.
    pub enum TaskKind: "任务类型" {
        /// 收集归档 — hand over a business event's materials (S2.1, 1 working day).
        Collection = ("collection", "收集移交"),
        /// 接收交接 — check a handover list line by line and confirm it (the archive post's
        /// side of S2.1: due as collection is, 1 working day after the handover).
        Receipt = ("receipt", "接收交接"),
        /// 整理归档 — check and organise a handover (S2.2, 3 working days).
        Organising = ("organising", "整理归档"),
        /// 补件 — collect a missing material (S4.3, 5 working days).
        Supplement = ("supplement", "补件"),
        /// 库房日常检查 — record a room's daily custody check (S2.3, due the same working day).
        CustodyCheck = ("custody_check", "库房日常检查"),
        /// 设备检查 — inspect an item of the room's equipment when its interval has run (S3.1).
        Inspection = ("inspection", "设备检查"),
    }
}

code_enum! {
    /// 任务对象 — what a task is about.
    pub enum SubjectKind: "任务对象" {
        /// 业务 — a business event.
        Event = ("event", "业务"),
        /// 交接单 — a handover list.
        Handover = ("handover", "交接单"),
        /// 补件 — a supplement.
        Supplement = ("supplement", "补件"),
        /// 库房 — an archive room.
        Room = ("room", "库房"),
        /// 设备 — an item of the equipment register.
        Equipment = ("equipment", "设备"),
    }
}

impl TaskKind {
    /// The post that does it.
    pub fn post(self) -> Post {
        match self {
            TaskKind::Collection | TaskKind::Supplement => Post::Collection,
            TaskKind::Receipt | TaskKind::Organising => Post::Organising,
            TaskKind::CustodyCheck | TaskKind::Inspection => Post::Custody,
        }
    }

    /// What it is about.
    pub fn subject(self) -> SubjectKind {
        match self {
            TaskKind::Collection => SubjectKind::Event,
            TaskKind::Receipt | TaskKind::Organising => SubjectKind::Handover,
            TaskKind::Supplement => SubjectKind::Supplement,
            TaskKind::CustodyCheck => SubjectKind::Room,
            TaskKind::Inspection => SubjectKind::Equipment,
        }
    }
}

code_enum! {
    /// 任务状态 — open until the use-case that finishes the work closes it.
    pub enum TaskState: "任务状态" {
        /// 待办
        Open = ("open", "待办"),
        /// 已办结
        Done = ("done", "已办结"),
    }
}

code_enum! {
    /// 任务筛选 — the task list's state filter: overdue is open and past its due date.
    pub enum TaskFilter: "任务状态" {
        /// 待办
        Open = ("open", "待办"),
        /// 已超期 — open and past its due date.
        Overdue = ("overdue", "已超期"),
        /// 已办结
        Done = ("done", "已办结"),
    }
}

code_enum! {
    /// 补件状态 — a supplement is open until the material arrives or is declared missing.
    pub enum SupplementState: "补件状态" {
        /// 待补件
        Open = ("open", "待补件"),
        /// 已补齐 — the material was received and filed.
        Supplemented = ("supplemented", "已补齐"),
        /// 确认缺失 — it cannot be had; the explanation is filed instead (S4.3).
        Missing = ("missing", "确认缺失"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    fn labels_are_chinese<C: Code>() {
        for c in C::ALL {
            assert_eq!(C::from_code(c.code()), Some(*c));
            assert!(!c.label().is_ascii(), "{c:?}");
        }
    }

    #[test]
    fn every_workflow_code_has_one_chinese_label() {
        labels_are_chinese::<HandoverState>();
        labels_are_chinese::<LineResult>();
        labels_are_chinese::<Post>();
        labels_are_chinese::<TaskKind>();
        labels_are_chinese::<SubjectKind>();
        labels_are_chinese::<TaskState>();
        labels_are_chinese::<TaskFilter>();
        labels_are_chinese::<SupplementState>();
    }

    #[test]
    fn a_line_received_as_listed_keeps_the_item_and_a_difference_marks_it_and_needs_a_note() {
        assert_eq!(LineResult::Ok.material_status(), None);
        assert_eq!(
            LineResult::Missing.material_status(),
            Some(MaterialStatus::Missing)
        );
        assert_eq!(
            LineResult::Damaged.material_status(),
            Some(MaterialStatus::Damaged)
        );
        assert!(!LineResult::Ok.needs_note());
        assert!(LineResult::Damaged.needs_note() && LineResult::Missing.needs_note());
    }

    #[test]
    fn the_window_post_collects_and_supplements_and_the_organising_post_receives() {
        assert_eq!(TaskKind::Collection.post(), Post::Collection);
        assert_eq!(TaskKind::Supplement.post(), Post::Collection);
        assert_eq!(TaskKind::Organising.post(), Post::Organising);
        assert_eq!(TaskKind::Organising.subject(), SubjectKind::Handover);
        assert_eq!(TaskKind::Receipt.post(), Post::Organising);
        assert_eq!(TaskKind::Receipt.subject(), SubjectKind::Handover);
    }
}

code_enum! {
    /// 损毁与丢失 — the kind of an incident report of a material.
    pub enum IncidentKind: "登记类别" {
        /// 破损 — a damage report, repaired in house or outside.
        Damage = ("damage", "破损"),
        /// 丢失 — a loss report with its emergency steps.
        Loss = ("loss", "丢失"),
    }
}

code_enum! {
    /// 处置状态 — whether an incident report is still being dealt with: a damage report until
    /// its repair is recorded, a loss report until all three emergency steps are done.
    pub enum IncidentState: "处置状态" {
        /// 处置中 — not repaired yet, or emergency steps outstanding.
        Open = ("open", "处置中"),
        /// 已处置 — repaired, or every emergency step done.
        Closed = ("closed", "已处置"),
    }
}
