//! 备份校验 — checks every set of a target without restoring (`dangan backup verify`): its
//! signature, every object's presence, size and SHA-256, the database snapshot's authenticated
//! decryption, and that each chain reaches its full set.

use std::collections::HashSet;

use dangan_vault::{Target, VaultError};

use super::sets::{self, SetState};
use super::{DatabaseEntry, Manifest, ObjectEntry, SetCheck, remote, snapshot};
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppResult};

impl App {
    /// Checks every set of a target without restoring: signature, every object's presence,
    /// size and SHA-256, the database snapshot's authenticated decryption (its data key unwrapped
    /// with the master key the manifest names), and that each chain reaches its full set.
    pub async fn verify_backups(&self, actor: &Actor, target: &Target) -> AppResult<Vec<SetCheck>> {
        self.authorize(actor, UseCase::ReadBackups).await?;
        let names = sets::set_names(target).await.map_err(remote)?;
        let mut good = Vec::new();
        let mut checks = Vec::new();
        for set in &names {
            let (check, signed) = self.check_set(target, set).await?;
            checks.push(check);
            good.extend(signed);
        }
        check_chains(&mut checks, &good);
        let failed = checks.iter().filter(|c| c.complete && !c.ok).count();
        let outcome = if failed == 0 {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        self.log(
            actor,
            &Op::new("backup.verify", "backup_target", "")
                .detail(format!("{} sets, {failed} failed", checks.len())),
            outcome,
        )
        .await?;
        Ok(checks)
    }

    /// Checks one set on its own (its chain is checked after): the check, and the manifest of a
    /// signed set.
    async fn check_set(
        &self,
        target: &Target,
        set: &str,
    ) -> AppResult<(SetCheck, Option<Manifest>)> {
        let m = match sets::read_set(target, set, &self.keys)
            .await
            .map_err(remote)?
        {
            SetState::Incomplete => {
                let check = SetCheck {
                    set: set.to_owned(),
                    complete: false,
                    ok: false,
                    problems: vec!["未完成的备份集（没有清单），不会用于恢复".to_owned()],
                };
                return Ok((check, None));
            }
            SetState::Damaged(p) => {
                let check = SetCheck {
                    set: set.to_owned(),
                    complete: true,
                    ok: false,
                    problems: vec![p],
                };
                return Ok((check, None));
            }
            SetState::Signed(m) => *m,
        };
        let mut problems = Vec::new();
        if let Some(p) = self.check_snapshot(target, &m.database).await {
            problems.push(p);
        }
        for o in m.blobs.iter().map(|b| &b.object) {
            if let Some(p) = check_object(target, o, None).await {
                problems.push(p);
            }
        }
        let check = SetCheck {
            set: set.to_owned(),
            complete: true,
            ok: problems.is_empty(),
            problems,
        };
        Ok((check, Some(m)))
    }

    /// What is wrong with a set's database snapshot, if anything: read through once, its digest
    /// checked and, when encrypted, every record authenticated.
    async fn check_snapshot(&self, target: &Target, db: &DatabaseEntry) -> Option<String> {
        match &db.encryption {
            None => check_object(target, &db.object, None).await,
            Some(enc) => match snapshot::data_key(enc, &self.keys) {
                Err(p) => Some(p.describe()),
                Ok(key) => check_object(target, &db.object, Some(&key)).await,
            },
        }
    }
}

/// Chains: a set is only as good as every set it builds on. Marks each complete set whose
/// chain is broken, or passes through a set with problems, as not ok.
fn check_chains(checks: &mut [SetCheck], good: &[Manifest]) {
    let ok_sets: HashSet<String> = checks
        .iter()
        .filter(|c| c.ok)
        .map(|c| c.set.clone())
        .collect();
    for c in checks.iter_mut().filter(|c| c.complete) {
        match sets::chain(good, &c.set) {
            Ok(links) => {
                for l in links.iter().skip(1) {
                    if !ok_sets.contains(&l.set) {
                        c.ok = false;
                        c.problems.push(format!("所依赖的备份集 {} 有问题", l.set));
                    }
                }
            }
            Err(p) => {
                c.ok = false;
                c.problems.push(p);
            }
        }
    }
}

/// What is wrong with one object of a set, if anything: present, of its size and SHA-256, and
/// decrypting under `data_key` when given.
async fn check_object(target: &Target, o: &ObjectEntry, data_key: Option<&[u8]>) -> Option<String> {
    match target.read_through(&o.key, data_key, None).await {
        Ok(d) if d.size == o.size && d.sha256 == o.sha256 => None,
        Ok(_) => Some(format!("对象 {} 的摘要或大小不符（被修改或损坏）", o.key)),
        Err(VaultError::Missing(_)) => Some(format!("对象 {} 缺失", o.key)),
        Err(VaultError::Crypto(_)) => {
            Some(format!("对象 {} 无法通过认证解密（被修改或损坏）", o.key))
        }
        Err(e) => Some(format!("对象 {} 无法读取：{e}", o.key)),
    }
}
