//! Reading a target's sets: what state a set is in (cut short, damaged, or signed by the
//! agency's key and readable by this version), and the chain of sets an incremental builds on.

use std::collections::BTreeMap;

use dangan_vault::{Target, VaultError};

use super::{FORMAT, FORMAT_PLAIN_SNAPSHOT, Manifest};
use crate::security::keyring::KeyRing;

/// The key of a set's manifest.
pub(super) fn manifest_key(set: &str) -> String {
    format!("sets/{set}/manifest.json")
}

/// The key of a set's manifest signature.
pub(super) fn signature_key(set: &str) -> String {
    format!("sets/{set}/manifest.sig")
}

/// A set as read from its target.
pub(super) enum SetState {
    /// No `manifest.json`: the run was cut short (or is still writing). Never used.
    Incomplete,
    /// A manifest that cannot be trusted or read; why, in Chinese.
    Damaged(String),
    /// Signed by the agency's key, of a format this version reads.
    Signed(Box<Manifest>),
}

/// The sets of a target, oldest first (their ids sort by time).
pub(super) async fn set_names(target: &Target) -> Result<Vec<String>, VaultError> {
    let mut names = target.list_dirs("sets").await?;
    names.retain(|n| !n.starts_with('.'));
    Ok(names)
}

/// Reads a set's manifest and checks its signature and format.
pub(super) async fn read_set(
    target: &Target,
    set: &str,
    keys: &KeyRing,
) -> Result<SetState, VaultError> {
    let bytes = match target.get(&manifest_key(set)).await {
        Ok(b) => b,
        Err(VaultError::Missing(_)) => return Ok(SetState::Incomplete),
        Err(e) => return Err(e),
    };
    let sig = match target.get(&signature_key(set)).await {
        Ok(s) => String::from_utf8_lossy(&s).trim().to_owned(),
        Err(VaultError::Missing(_)) => return Ok(SetState::Damaged("缺少清单签名".to_owned())),
        Err(e) => return Err(e),
    };
    if !keys.verify(&bytes, &sig) {
        return Ok(SetState::Damaged(
            "清单签名无效（清单被修改，或不是本机构密钥所签）".to_owned(),
        ));
    }
    Ok(match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(m) if m.set != set => SetState::Damaged("清单中的编号与备份集不符".to_owned()),
        Ok(m) => match (m.format.as_str(), m.database.encryption.is_some()) {
            (FORMAT, true) | (FORMAT_PLAIN_SNAPSHOT, false) => SetState::Signed(Box::new(m)),
            (FORMAT | FORMAT_PLAIN_SNAPSHOT, _) => {
                SetState::Damaged("清单与其格式不符（数据库快照的加密信息）".to_owned())
            }
            (other, _) => SetState::Damaged(format!(
                "清单格式 {other} 不是本版本能读取的（可能来自更新的版本）"
            )),
        },
        Err(e) => SetState::Damaged(format!("清单无法读取：{e}")),
    })
}

/// Every set of a target that is signed and readable, oldest first.
pub(super) async fn signed_sets(
    target: &Target,
    keys: &KeyRing,
) -> Result<Vec<Manifest>, VaultError> {
    let mut out = Vec::new();
    for set in set_names(target).await? {
        if let SetState::Signed(m) = read_set(target, &set, keys).await? {
            out.push(*m);
        }
    }
    Ok(out)
}

/// The chain of `set` among `sets`: itself, then its previous sets back to the full one,
/// newest first; or why it is broken.
pub(super) fn chain<'a>(sets: &'a [Manifest], set: &str) -> Result<Vec<&'a Manifest>, String> {
    let by_id: BTreeMap<&str, &Manifest> = sets.iter().map(|m| (m.set.as_str(), m)).collect();
    let mut out = Vec::new();
    let mut at = set.to_owned();
    loop {
        let Some(m) = by_id.get(at.as_str()) else {
            return Err(format!("备份集 {at} 不存在或不完整，链条断开"));
        };
        out.push(*m);
        match (&m.kind[..], &m.previous) {
            ("full", _) => return Ok(out),
            (_, Some(p)) => at = p.clone(),
            (_, None) => return Err(format!("增量备份集 {at} 没有上一备份集")),
        }
        if out.len() > 10_000 {
            return Err("备份链过长或成环".to_owned());
        }
    }
}
