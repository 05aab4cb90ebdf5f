//! Reading scans: opening a file (whole or a byte range) with the one access check of every
//! path that reveals a scan, the S6.1 download name, and the four-property report.

use dangan_store::events::{self, MaterialRow};
use dangan_store::files::{self, FileId, FileRow};
use dangan_store::{Tx, persons};

use super::FileView;
use crate::administration::roles::{Actor, UseCase};
use crate::electronic::four::FourPropertyReport;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// One byte range of a download (`Range: bytes=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-`
    From(u64),
    /// `bytes=a-b`
    FromTo(u64, u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a single-range `Range` header value; `None` for anything else (the caller then
    /// sends the whole file, as HTTP allows).
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        match (a.trim(), b.trim()) {
            ("", n) => n.parse().ok().map(ByteRange::Suffix),
            (a, "") => a.parse().ok().map(ByteRange::From),
            (a, b) => Some(ByteRange::FromTo(a.parse().ok()?, b.parse().ok()?)),
        }
    }

    /// The inclusive byte positions for a file of `size` bytes, or `None` when unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        if size == 0 {
            return None;
        }
        let (s, e) = match self {
            ByteRange::From(a) => (a, size - 1),
            ByteRange::FromTo(a, b) => (a, b.min(size - 1)),
            ByteRange::Suffix(0) => return None,
            ByteRange::Suffix(n) => (size.saturating_sub(n), size - 1),
        };
        (s <= e && s < size).then_some((s, e))
    }
}

/// An opened file: its view, the range being sent, and the decrypted bytes.
#[derive(Debug)]
pub struct OpenedFile {
    /// The file.
    pub view: FileView,
    /// The inclusive range being sent, when one was asked and fits.
    pub range: Option<(u64, u64)>,
    /// A range was asked that does not fit the file (HTTP 416).
    pub unsatisfiable: bool,
    /// The decrypted bytes (empty when unsatisfiable).
    pub reader: tokio::io::DuplexStream,
    /// The S6.1 name `年度-业务类型-参保人ID-材料名称.ext` with the identity number masked (the
    /// default download name: browsers keep download names in their history).
    pub s61_name_masked: String,
    /// The S6.1 name with the full identity number, for an export asked for explicitly.
    pub s61_name: String,
}

/// `年度-业务类型-参保人ID-材料名称.ext`, with characters a file name cannot hold replaced.
pub(super) fn s61_name(year: i32, business: &str, id: &str, material: &str, ext: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                    || c.is_control()
                {
                    '_'
                } else {
                    c
                }
            })
            .collect::<String>()
    };
    format!("{year}-{}-{id}-{}.{ext}", clean(business), clean(material))
}

impl App {
    /// Opens a file for reading (part of the person's archive: staff need a query
    /// registration). Returns its view and a reader of the decrypted bytes; a blob that fails
    /// authentication ends the stream with an error.
    pub async fn open_file(
        &self,
        actor: &Actor,
        id: FileId,
    ) -> AppResult<(FileView, tokio::io::DuplexStream)> {
        let opened = self.open_file_range(actor, id, None).await?;
        Ok((opened.view, opened.reader))
    }

    /// As [`App::open_file`], for one byte range (an HTTP `Range` request). A range that does
    /// not fit the file gives `unsatisfiable` and an empty reader.
    pub async fn open_file_range(
        &self,
        actor: &Actor,
        id: FileId,
        requested: Option<ByteRange>,
    ) -> AppResult<OpenedFile> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("file.read", "file", id);
        let (mut tx, (f, m, e)) = self.file_for_reading(actor, g, id, &op).await?;
        let blob = files::blob(&mut tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let person = persons::get(&mut tx, e.person_id)
            .await?
            .ok_or_else(|| AppError::Internal("person vanished".to_owned()))?;
        let business = e
            .business_type
            .name()
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let ext = f
            .original_name
            .rsplit_once('.')
            .map(|(_, x)| x.to_ascii_lowercase())
            .filter(|x| x.len() <= 5 && x.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "bin".to_owned());
        let year = chrono::Datelike::year(&e.business_date);
        let masked = person.id_number.masked();
        let s61_name_masked = s61_name(year, &business, &masked, &m.name, &ext);
        let s61_full = s61_name(year, &business, person.id_number.as_str(), &m.name, &ext);
        let view = self.file_view(&mut tx, f).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        let wrapped =
            hex::decode(&blob.wrapped_key).map_err(|e| AppError::Internal(e.to_string()))?;
        let vault = self.vault()?.clone();
        let master = self
            .keys
            .master_key_by_id(&blob.master_key_id)
            .ok_or_else(|| {
                AppError::Internal(format!("master key {} not available", blob.master_key_id))
            })?;
        let (mut writer, reader) = tokio::io::duplex(256 * 1024);
        let sha = blob.sha256.clone();
        let size = u64::try_from(view.size).unwrap_or(0);
        let range = requested.and_then(|r| r.resolve(size));
        let unsatisfiable = requested.is_some() && range.is_none();
        if unsatisfiable {
            drop(writer);
            return Ok(OpenedFile {
                view,
                range,
                unsatisfiable,
                reader,
                s61_name_masked,
                s61_name: s61_full,
            });
        }
        tokio::spawn(async move {
            let result = match range {
                Some((start, end)) => {
                    vault
                        .read_range(&sha, &wrapped, &master, start, end, &mut writer)
                        .await
                }
                None => vault
                    .read_to(&sha, &wrapped, &master, false, &mut writer)
                    .await
                    .map(|_| ()),
            };
            match result {
                Ok(()) => {}
                // Leaving a scan page early aborts the image download: not a fault.
                Err(e) if e.is_reader_gone() => {
                    tracing::debug!(blob = %sha, "the client stopped reading a blob");
                }
                Err(e) => tracing::error!(error = %e, blob = %sha, "blob failed while streaming"),
            }
        });
        Ok(OpenedFile {
            view,
            range,
            unsatisfiable,
            reader,
            s61_name_masked,
            s61_name: s61_full,
        })
    }

    /// Opens the file `id` for reading by `actor` under `g`, with its material and event: the
    /// one access check of every path that reveals a scan (a query registration for staff, own
    /// records for insured persons). A missing file or a refusal is logged and returned as the
    /// error; otherwise the read transaction, which the caller ends with [`App::end_read`],
    /// comes back.
    pub(super) async fn file_for_reading(
        &self,
        actor: &Actor,
        g: crate::administration::roles::Grant,
        id: FileId,
        op: &Op,
    ) -> AppResult<(Tx, (FileRow, MaterialRow, events::EventRow))> {
        let mut tx = self.begin_read().await?;
        let Some(f) = files::get(&mut tx, id).await? else {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    op.clone(),
                    AppError::not_found("file_not_found", "未找到该电子文件"),
                )
                .await);
        };
        let m = events::material(&mut tx, f.material_id)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        let e = events::get(&mut tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, g, e.person_id).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op.clone(), refusal).await);
        }
        Ok((tx, (f, m, e)))
    }

    /// The four-property report of a file: it describes the person's scan (its metadata, dates,
    /// format), so reading it is a read of the archive — registration checked, logged.
    pub async fn file_checks(&self, actor: &Actor, id: FileId) -> AppResult<FourPropertyReport> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("file.checks", "file", id);
        let (mut tx, _) = self.file_for_reading(actor, g, id, &op).await?;
        let raw = files::checks(&mut tx, id).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        let raw =
            raw.ok_or_else(|| AppError::not_found("no_checks", "该文件入库时尚未进行四性检测"))?;
        serde_json::from_str(&raw)
            .map_err(|_| AppError::not_found("no_checks", "该文件入库时尚未进行四性检测"))
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn range_headers_resolve_against_the_size() {
        assert_eq!(
            ByteRange::parse("bytes=0-99").unwrap().resolve(1000),
            Some((0, 99))
        );
        assert_eq!(
            ByteRange::parse("bytes=900-").unwrap().resolve(1000),
            Some((900, 999))
        );
        assert_eq!(
            ByteRange::parse("bytes=-100").unwrap().resolve(1000),
            Some((900, 999))
        );
        assert_eq!(
            ByteRange::parse("bytes=990-5000").unwrap().resolve(1000),
            Some((990, 999))
        );
        assert_eq!(ByteRange::parse("bytes=1000-").unwrap().resolve(1000), None);
        assert_eq!(ByteRange::parse("bytes=5-1").unwrap().resolve(1000), None);
        assert_eq!(ByteRange::parse("bytes=0-1,5-6"), None);
        assert_eq!(ByteRange::parse("items=0-1"), None);
    }
}
