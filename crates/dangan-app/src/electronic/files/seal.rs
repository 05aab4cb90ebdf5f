//! The seal (封签): the canonical manifest of a file's S6.2 metadata, digests, size, format and
//! ingest time, signed with the agency's key; re-issued when the archive number is assigned.

use std::collections::BTreeMap;

use chrono::Utc;
use sha2::{Digest, Sha256};

use dangan_store::events::{self};
use dangan_store::files::{self, FileRow};
use dangan_store::{Tx, persons};

use super::vault_missing;
use crate::{App, AppError, AppResult};

/// What a manifest states beyond the file's rows.
pub(super) struct Issue<'a> {
    /// 档案编号, empty until the volume is sealed.
    pub(super) archive_number: &'a str,
    /// Version 2 (covers identification and the chain) rather than version 1.
    pub(super) v2: bool,
    /// SHA-256 (hex) of the manifest this one replaces.
    pub(super) previous: Option<&'a str>,
}

impl App {
    /// The canonical manifest of a file: keys sorted, no whitespace. Version 2 (every manifest
    /// issued since issue 16) also covers the identification results (`original_name`, `dpi`,
    /// `pages`, `pdfa`, `archival`, `flags`) and, when it replaces an earlier manifest, that
    /// manifest's SHA-256 (`previous`). Version 1 (`issue.v2 == false`) is only recomputed to
    /// verify scans sealed before.
    pub(super) async fn manifest(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        issue: &Issue<'_>,
    ) -> AppResult<String> {
        let m = events::material(tx, f.material_id)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        let e = events::get(tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        let p = persons::get(tx, e.person_id)
            .await?
            .ok_or_else(|| AppError::Internal("person vanished".to_owned()))?;
        let blob = files::blob(tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let mut map = BTreeMap::new();
        map.insert("archive_number", issue.archive_number.to_owned());
        map.insert("file_id", f.id.to_string());
        map.insert("material_id", f.material_id.to_string());
        map.insert("person_id_number", p.id_number.as_str().to_owned());
        map.insert("material_name", m.name);
        map.insert("formation_date", m.formation_date.to_string());
        map.insert("scan_date", f.scan_date.to_string());
        map.insert("scanned_by", f.scanned_by.clone());
        map.insert("sha256", f.sha256.clone());
        // Without SM3 (the SHA-256 profile) the key is left out, so that a scan stored before the
        // profile existed keeps the manifest its seal covers.
        if let Some(sm3) = blob.sm3() {
            map.insert("sm3", sm3.to_owned());
        }
        map.insert("size", blob.size.to_string());
        map.insert("format", f.format.clone());
        map.insert("ingested_at", crate::security::audit::stamp(f.created_at));
        if issue.v2 {
            let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            map.insert("manifest_version", "2".to_owned());
            map.insert("original_name", f.original_name.clone());
            map.insert("dpi", opt(f.dpi));
            map.insert("pages", opt(f.pages));
            map.insert("pdfa", f.pdfa.clone().unwrap_or_default());
            map.insert("archival", f.archival.to_string());
            map.insert("flags", f.flags.clone());
            if let Some(previous) = issue.previous {
                map.insert("previous", previous.to_owned());
            }
            if let Some(original) = f.preservation_of {
                map.insert("preservation_of", original.to_string());
            }
        }
        serde_json::to_string(&map).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Issues a new sealed manifest for a file whose archive number is now fixed (its volume
    /// was sealed): the current manifest and seal go to its history, and the new one names the
    /// digest of the one it replaces. The blob is unchanged.
    pub(crate) async fn reissue_manifest(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        archive_number: &str,
    ) -> AppResult<()> {
        let settings = self.settings.vault.as_ref().ok_or_else(vault_missing)?;
        let previous = hex::encode(Sha256::digest(f.manifest.as_bytes()));
        let issue = Issue {
            archive_number,
            v2: true,
            previous: Some(&previous),
        };
        let manifest = self.manifest(tx, f, &issue).await?;
        let (seal_key_id, seal) = self.keys.seal(settings.seal, manifest.as_bytes());
        files::reissue(tx, f, &manifest, &seal, &seal_key_id, Utc::now()).await?;
        Ok(())
    }

    /// Checks the chain of manifests a file had before its current one: each is sealed, and each
    /// newer one names the digest of the one it replaced. Returns the problems found.
    pub(super) async fn check_history(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        previous: Option<&str>,
    ) -> AppResult<Vec<String>> {
        let history = files::manifest_history(tx, f.id).await?;
        let mut problems = Vec::new();
        let mut expected = previous.map(str::to_owned);
        for (i, old) in history.iter().enumerate().rev() {
            let n = i + 1;
            let digest = hex::encode(Sha256::digest(old.manifest.as_bytes()));
            if expected.as_deref() != Some(digest.as_str()) {
                problems.push(format!("封存清单的历史版本 {n} 与后一版本所记摘要不符"));
            }
            if !self
                .keys
                .verify_seal(&old.seal_key_id, old.manifest.as_bytes(), &old.seal)
            {
                problems.push(format!("封存清单的历史版本 {n} 电子印章无效"));
            }
            expected = serde_json::from_str::<BTreeMap<String, String>>(&old.manifest)
                .ok()
                .and_then(|m| m.get("previous").cloned());
        }
        if expected.is_some() {
            problems.push("封存清单记有上一版本，但历史版本缺失".to_owned());
        }
        Ok(problems)
    }
}
