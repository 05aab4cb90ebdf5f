//! 个人档案 — a person's archive with the status of every material, derived in one place: where
//! its paper is (awaiting handover, on an open handover list, received, missing), its scans and
//! their four-property check (四性检测) failures, and its volume. One logged read in one
//! transaction, so the page that shows it never re-derives a status nor mistakes a failed
//! lookup for "no scans".

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::material::{Carrier, MaterialStatus};
use dangan_domain::volume::VolumeState;
use dangan_domain::workflow::HandoverState;
use dangan_store::events::{self, MaterialId};
use dangan_store::files;
use dangan_store::handovers::{self, HandoverId};
use dangan_store::persons::{self, PersonId};
use dangan_store::volumes::{self, VolumeId};

use crate::access::persons::{PersonView, person_not_found, view as person_view};
use crate::administration::roles::Actor;
use crate::electronic::files::FileView;
use crate::intake::events::{EventView, MaterialView};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// 纸质状态 — where the paper of a material is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "handover_id", rename_all = "snake_case")]
pub enum PaperState {
    /// 无纸质 — an electronic-only material.
    NoPaper,
    /// 待移交 — paper the collection post still has to hand over (on no list).
    AwaitingHandover,
    /// 移交中 — on a handover list the archive post has not confirmed yet.
    OnOpenHandover(HandoverId),
    /// 已移交 — on a confirmed list, yet not recorded as received (e.g. found damaged and
    /// then recorded lost).
    HandedOver(HandoverId),
    /// 已接收 — the archive post has it.
    Received,
    /// 材料缺失 — not received; a supplement request (补件) follows it.
    Missing,
}

impl PaperState {
    /// Derives the paper state from the material and the handover list it is on, if any.
    pub fn of(
        carrier: Carrier,
        status: MaterialStatus,
        received_on: Option<NaiveDate>,
        list: Option<(HandoverId, HandoverState)>,
    ) -> PaperState {
        if !carrier.has_paper() {
            return PaperState::NoPaper;
        }
        if status == MaterialStatus::Missing {
            return PaperState::Missing;
        }
        if received_on.is_some() {
            return PaperState::Received;
        }
        match list {
            None => PaperState::AwaitingHandover,
            Some((h, HandoverState::Open)) => PaperState::OnOpenHandover(h),
            Some((h, HandoverState::Confirmed)) => PaperState::HandedOver(h),
        }
    }

    /// The Chinese label shown beside the material.
    pub fn label(self) -> &'static str {
        match self {
            PaperState::NoPaper => "无纸质",
            PaperState::AwaitingHandover => "待移交",
            PaperState::OnOpenHandover(_) => "移交中",
            PaperState::HandedOver(_) => "已移交",
            PaperState::Received => "已接收",
            PaperState::Missing => "材料缺失",
        }
    }

    /// The handover list the paper is on, while that list is open.
    pub fn open_handover(self) -> Option<HandoverId> {
        match self {
            PaperState::OnOpenHandover(h) => Some(h),
            _ => None,
        }
    }
}

/// The volume a material is filed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeRef {
    /// The volume.
    pub id: VolumeId,
    /// 档号, once sealed.
    pub archive_number: Option<String>,
    /// Sealed (封卷): its materials no longer change.
    pub sealed: bool,
}

/// A material of the archive with its status.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveMaterial {
    /// The material as recorded.
    pub material: MaterialView,
    /// Where its paper is.
    pub paper: PaperState,
    /// Its scans.
    pub files: Vec<FileView>,
    /// How many of its scans failed the four-property check at ingest.
    pub failed_scans: usize,
    /// The volume it is filed in, once organised.
    pub volume: Option<VolumeRef>,
}

/// A business event of the archive with its materials' statuses.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveEvent {
    /// The event with its completeness (its `materials` are the same as below, without status).
    pub event: EventView,
    /// Its materials with their statuses, in the order recorded.
    pub materials: Vec<ArchiveMaterial>,
}

impl ArchiveEvent {
    /// Paper of this event still to be handed over (on no list): the 移交 action applies.
    pub fn awaiting_handover(&self) -> bool {
        self.materials
            .iter()
            .any(|m| m.paper == PaperState::AwaitingHandover)
    }

    /// The open handover lists its paper is on, each once, in order.
    pub fn open_handovers(&self) -> Vec<HandoverId> {
        let mut out: Vec<HandoverId> = Vec::new();
        for h in self
            .materials
            .iter()
            .filter_map(|m| m.paper.open_handover())
        {
            if !out.contains(&h) {
                out.push(h);
            }
        }
        out
    }
}

/// A person's archive: the person and every event, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct PersonArchive {
    /// The person.
    pub person: PersonView,
    /// The events, oldest first.
    pub events: Vec<ArchiveEvent>,
    /// When it was read.
    pub read_at: DateTime<Utc>,
}

impl App {
    /// A person's archive with the status of every material: one read of the archive (the
    /// query registration checked once, one log entry), all of it in one transaction. A scan,
    /// a list or a volume that cannot be read is an error, never an empty status.
    pub async fn person_archive(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> AppResult<PersonArchive> {
        let op = Op::new("person.events.read", "person", person);
        let mut tx = self.begin_archive_read(actor, person, &op).await?;
        let row = persons::get(&mut tx, person)
            .await?
            .ok_or_else(person_not_found)?;
        let lists: BTreeMap<MaterialId, (HandoverId, HandoverState)> =
            handovers::of_persons_materials(&mut tx, person)
                .await?
                .into_iter()
                .map(|l| (l.material_id, (l.handover_id, l.state)))
                .collect();
        let volumes: BTreeMap<i64, VolumeRef> = volumes::of_person(&mut tx, person)
            .await?
            .into_iter()
            .map(|v| {
                (
                    v.id.0,
                    VolumeRef {
                        id: v.id,
                        archive_number: v.archive_number,
                        sealed: v.state == VolumeState::Sealed,
                    },
                )
            })
            .collect();
        let mut out = Vec::new();
        let mut scans = 0;
        for e in events::list_for_person(&mut tx, person).await? {
            let event = crate::intake::events::load_event(&mut tx, e).await?;
            let mut materials = Vec::with_capacity(event.materials.len());
            for m in &event.materials {
                let mut files_of = Vec::new();
                for f in files::for_material(&mut tx, m.id).await? {
                    files_of.push(self.file_view(&mut tx, f).await?);
                }
                scans += files_of.len();
                let volume = match m.volume_id {
                    Some(v) => Some(volumes.get(&v).cloned().ok_or_else(|| {
                        AppError::Internal(format!("volume {v} of material {} vanished", m.id))
                    })?),
                    None => None,
                };
                materials.push(ArchiveMaterial {
                    paper: PaperState::of(
                        m.carrier,
                        m.status,
                        m.received_on,
                        lists.get(&m.id).copied(),
                    ),
                    failed_scans: files_of
                        .iter()
                        .filter(|f| f.four_properties_passed == Some(false))
                        .count(),
                    files: files_of,
                    volume,
                    material: m.clone(),
                });
            }
            out.push(ArchiveEvent { event, materials });
        }
        let op = op.detail(format!("archive: {} events, {scans} files", out.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(PersonArchive {
            person: person_view(row),
            events: out,
            read_at: Utc::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Option<NaiveDate> = NaiveDate::from_ymd_opt(2024, 5, 6);

    #[test]
    fn paper_is_awaiting_handover_until_it_is_on_a_list_and_received_once_confirmed() {
        let h = HandoverId(7);
        let of = |carrier, status, received, list| PaperState::of(carrier, status, received, list);
        use Carrier::*;
        use MaterialStatus::*;
        assert_eq!(of(Electronic, Normal, DAY, None), PaperState::NoPaper);
        assert_eq!(of(Paper, Normal, None, None), PaperState::AwaitingHandover);
        assert_eq!(
            of(Both, Normal, None, Some((h, HandoverState::Open))),
            PaperState::OnOpenHandover(h)
        );
        assert_eq!(
            of(Paper, Normal, DAY, Some((h, HandoverState::Confirmed))),
            PaperState::Received
        );
        assert_eq!(
            of(Paper, Missing, None, Some((h, HandoverState::Confirmed))),
            PaperState::Missing
        );
        assert_eq!(
            of(Paper, Lost, None, Some((h, HandoverState::Confirmed))),
            PaperState::HandedOver(h)
        );
    }
}
