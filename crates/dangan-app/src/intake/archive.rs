//! 自动归档 (S6.5) — the pension business system files a completed business event with its
//! materials' metadata and their scans in one request. The source system's business id
//! (`external_id`) makes it idempotent: a retry returns what the first request stored and writes
//! nothing. A request is all or nothing: the scans are written to the vault first (durably, but
//! unrecorded), then the event, its materials and every file are recorded in one transaction.
//! A failure anywhere leaves no record; the unrecorded blobs are orphans that `gc` removes.

use serde::Serialize;
use tokio::io::AsyncRead;

use dangan_store::events::{self as store_events, EventId};
use dangan_store::files as store_files;

use crate::administration::roles::{Actor, UseCase};
use crate::electronic::files::{FileView, StagedFile, file_name};
use crate::intake::events::{EventInput, EventView, Inserted, PreparedEvent, prepare_event};
use crate::{App, AppError, AppResult};

/// The most scans one request may carry.
pub const MAX_FILES: usize = 200;

/// What an auto-archiving request stored, or found stored.
#[derive(Debug, Clone, Serialize)]
pub struct Archived {
    /// False when the source system's business id was already archived: this is that record,
    /// and nothing was written.
    pub created: bool,
    /// The event with its materials and completeness.
    pub event: EventView,
    /// The scans of its materials.
    pub files: Vec<FileView>,
}

/// One auto-archiving request under way: the metadata was checked, scans are being staged.
pub struct AutoArchive<'a> {
    app: &'a App,
    actor: Actor,
    prepared: PreparedEvent,
    replay_of: Option<EventId>,
    staged: Vec<(usize, StagedFile)>,
}

impl App {
    /// Checks the caller may auto-archive, before the request body is read.
    pub async fn authorize_auto_archive(&self, actor: &Actor) -> AppResult<()> {
        self.authorize(actor, UseCase::AutoArchive)
            .await
            .map(|_| ())
    }

    /// Starts an auto-archiving request: checks the caller may auto-archive,
    /// checks the metadata (a source system and its business id are required), and finds out
    /// whether that business id was archived already — then [`AutoArchive::is_replay`] is true
    /// and the scans need not be sent on to [`AutoArchive::add_file`].
    pub async fn begin_auto_archive(
        &self,
        actor: &Actor,
        input: &EventInput,
    ) -> AppResult<AutoArchive<'_>> {
        self.authorize_auto_archive(actor).await?;
        if input
            .source_system
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(AppError::invalid_with(
                "source_system_required",
                Some("source_system"),
                "自动归档须注明来源系统（source_system）",
            ));
        }
        if input
            .external_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(AppError::invalid_with(
                "external_id_required",
                Some("external_id"),
                "自动归档须注明来源业务编号（external_id），重发时据此不重复归档",
            ));
        }
        let prepared = prepare_event(actor, input)?;
        let replay_of = {
            let mut tx = self.store.begin().await?;
            let found = match &prepared.external_id {
                Some(ext) => {
                    let ext = self.stored_source_key(ext);
                    store_events::find_by_external_id(&mut tx, &prepared.source_system, &ext)
                        .await?
                }
                None => None,
            };
            tx.rollback().await?;
            found.map(|e| e.id)
        };
        Ok(AutoArchive {
            app: self,
            actor: actor.clone(),
            prepared,
            replay_of,
            staged: Vec::new(),
        })
    }

    async fn archived_view(
        &self,
        tx: &mut dangan_store::Tx,
        id: EventId,
        created: bool,
    ) -> AppResult<Archived> {
        let event = crate::intake::events::view(tx, id).await?;
        let mut files = Vec::new();
        for m in &event.materials {
            for f in store_files::for_material(tx, m.id).await? {
                files.push(self.file_view(tx, f).await?);
            }
        }
        Ok(Archived {
            created,
            event,
            files,
        })
    }
}

impl AutoArchive<'_> {
    /// The business id was archived before: the answer will be that record.
    pub fn is_replay(&self) -> bool {
        self.replay_of.is_some()
    }

    /// Writes one scan of the material at `material_index` (its position in the request's
    /// `materials`) to the vault. Nothing is recorded until [`AutoArchive::finish`].
    pub async fn add_file(
        &mut self,
        material_index: usize,
        name: Option<&str>,
        body: impl AsyncRead + Unpin,
    ) -> AppResult<()> {
        let field = format!("materials[{material_index}]");
        if material_index >= self.prepared.materials.len() {
            return Err(AppError::invalid_with(
                "unknown_material_index",
                Some(&field),
                format!(
                    "文件对应的材料序号 {material_index} 不存在：本次共登记 {} 件材料（序号从0开始）",
                    self.prepared.materials.len()
                ),
            ));
        }
        if self.staged.len() >= MAX_FILES {
            return Err(AppError::invalid_with(
                "too_many_files",
                Some("files"),
                format!("一次归档最多附{MAX_FILES}个文件"),
            ));
        }
        let name = file_name(name).map_err(|e| match e {
            AppError::Invalid { code, message, .. } => AppError::Invalid {
                code,
                field: Some(field.clone()),
                message,
            },
            other => other,
        })?;
        if self.replay_of.is_some() {
            return Ok(());
        }
        let staged = self.app.stage_file(name, body).await?;
        self.staged.push((material_index, staged));
        Ok(())
    }

    /// Records the event, its materials and every staged scan in one transaction, or returns
    /// the record already archived under the same business id.
    pub async fn finish(self) -> AppResult<Archived> {
        let app = self.app;
        let mut tx = app.store.begin_write().await?;
        let inserted = app.insert_event(&mut tx, &self.actor, &self.prepared).await;
        let inserted = match inserted {
            Ok(i) => i,
            Err(AppError::Conflict {
                code: crate::intake::events::DUPLICATE_EXTERNAL_ID,
                ..
            }) => {
                // Another delivery of the same business won the race: answer with its record.
                drop(tx);
                let mut tx = app.store.begin_write().await?;
                let i = app
                    .insert_event(&mut tx, &self.actor, &self.prepared)
                    .await?;
                let Inserted::Existing(id) = i else {
                    return Err(AppError::Internal(
                        "a duplicate business id vanished".to_owned(),
                    ));
                };
                let out = app.archived_view(&mut tx, id, false).await?;
                tx.commit().await?;
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        let (event_id, created) = match inserted {
            Inserted::Existing(id) => (id, false),
            Inserted::New(id, materials) => {
                for (index, staged) in &self.staged {
                    let m = store_events::material(&mut tx, materials[*index])
                        .await?
                        .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
                    let (_, added) = app.attach_staged(&mut tx, &self.actor, &m, staged).await?;
                    if !added {
                        tracing::debug!(
                            sha256 = staged.sha256(),
                            "the same scan twice for one material, stored once"
                        );
                    }
                }
                (id, true)
            }
        };
        let out = app.archived_view(&mut tx, event_id, created).await?;
        tx.commit().await?;
        Ok(out)
    }
}
