//! The backup commands as an operator runs them: `backup` (full, then incremental) to a local
//! target, `backup verify`, `key export`, then on a "new machine" `key import`, `restore` and
//! `verify`; a damaged newest set that `restore` refuses to skip silently; a data directory with
//! an unfinished restore that no command opens; a killed backup whose debris the next run
//! removes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn dangan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
    c.env_remove("DANGAN_DATABASE_URL")
        .env("DANGAN_LOG", "warn");
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Scans for the first `count` demo persons (seed 4) of `len` bytes each, ingested at once.
fn ingest_many(data: &Path, scans: &Path, count: usize, len: u32) {
    let people = dangan_app::administration::demo::generate(
        4,
        count,
        &dangan_domain::catalogue::Catalogue::builtin(),
    );
    std::fs::create_dir_all(scans).unwrap();
    use chrono::Datelike;
    for (i, p) in people.iter().enumerate() {
        let Some(enrolment) = p
            .events
            .iter()
            .find(|e| e.business_type == dangan_domain::business::BusinessType::Enrolment)
        else {
            continue;
        };
        let name = format!(
            "{}-参保登记-{}-{}.pdf",
            enrolment.date.year(),
            p.id_number,
            enrolment.materials[0].name
        );
        let mut body = b"%PDF-1.4\n<</Type /Page>>\n".to_vec();
        body.extend((0..len).map(|b| (b as u8).wrapping_mul(7).wrapping_add(i as u8)));
        std::fs::write(scans.join(name), body).unwrap();
    }
    ok(dangan()
        .args(["ingest", "--data-dir"])
        .arg(data)
        .arg(scans)
        .output()
        .unwrap());
}

fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The sets of a local target, oldest first.
fn sets_of(target: &Path) -> Vec<String> {
    let mut sets: Vec<String> = std::fs::read_dir(target.join("sets"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    sets
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// `restore` from the local target `target` into `into` with the keys of `keys`.
fn restore(target: &Path, keys: &Path, into: &Path, extra: &[&str]) -> Output {
    dangan()
        .args(["restore", "--target", "local", "--data-dir"])
        .arg(into)
        .arg("--key-dir")
        .arg(keys)
        .arg("--backup-dir")
        .arg(target)
        .args(extra)
        .output()
        .unwrap()
}

fn ingest_one(data: &Path, scans: &Path, n: u8) {
    let people = dangan_app::administration::demo::generate(
        4,
        3,
        &dangan_domain::catalogue::Catalogue::builtin(),
    );
    let p = &people[0];
    let enrolment = p
        .events
        .iter()
        .find(|e| e.business_type == dangan_domain::business::BusinessType::Enrolment)
        .unwrap();
    use chrono::Datelike;
    let name = format!(
        "{}-参保登记-{}-{}.pdf",
        enrolment.date.year(),
        p.id_number,
        enrolment.materials[0].name
    );
    std::fs::create_dir_all(scans).unwrap();
    let mut body = b"%PDF-1.4\n<</Type /Page>>\n".to_vec();
    body.extend((0..200_000u32).map(|i| (i as u8).wrapping_add(n)));
    std::fs::write(scans.join(name), body).unwrap();
    ok(dangan()
        .args(["ingest", "--data-dir"])
        .arg(data)
        .arg(scans)
        .output()
        .unwrap());
}

#[test]
fn backup_verify_export_import_restore_and_verify_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = dir.path().join("backup-disk");
    ok(dangan()
        .args(["demo-data", "--persons", "3", "--seed", "4", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap());
    ingest_one(&data, &dir.path().join("scans1"), 1);
    let backup = |extra: &[&str]| {
        let mut c = dangan();
        c.args(["backup", "--data-dir"])
            .arg(&data)
            .arg("--backup-dir")
            .arg(&target)
            .args(extra);
        c.output().unwrap()
    };
    let first = ok(backup(&[]));
    assert!(first.contains("备份目标 local：全量 备份集"), "{first}");
    ingest_one(&data, &dir.path().join("scans2"), 2);
    let second = ok(backup(&[]));
    assert!(second.contains("增量"), "{second}");
    assert!(
        second.contains("2 个对象"),
        "one new blob and the database: {second}"
    );
    let checked = ok(dangan()
        .args(["backup", "verify", "--target", "local", "--data-dir"])
        .arg(&data)
        .arg("--backup-dir")
        .arg(&target)
        .output()
        .unwrap());
    assert!(checked.contains("共 2 个备份集，0 个有问题"), "{checked}");
    let missing = dangan()
        .args(["backup", "--target", "cloud", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("没有名为 cloud 的备份目标"));

    let export = dir.path().join("keys.dgk");
    let mut cmd = dangan();
    cmd.args(["key", "export", "--out"])
        .arg(&export)
        .arg("--data-dir")
        .arg(&data);
    ok(with_stdin(cmd, "a long passphrase 2026\n"));

    // A new machine: the keys are imported, the newest set restored, and everything verifies.
    let new = dir.path().join("new");
    let mut cmd = dangan();
    cmd.args(["key", "import", "--from"])
        .arg(&export)
        .arg("--key-dir")
        .arg(new.join("keys"));
    ok(with_stdin(cmd, "a long passphrase 2026\n"));
    let restored = ok(dangan()
        .args(["restore", "--target", "local", "--data-dir"])
        .arg(&new)
        .arg("--backup-dir")
        .arg(&target)
        .output()
        .unwrap());
    assert!(restored.contains("2 个数据块"), "{restored}");
    let verified = ok(dangan()
        .args(["verify", "--data-dir"])
        .arg(&new)
        .output()
        .unwrap());
    assert!(
        verified.contains("共校验 2 个电子文件，0 个有问题"),
        "{verified}"
    );
    let log = ok(dangan()
        .args(["audit", "verify", "--data-dir"])
        .arg(&new)
        .output()
        .unwrap());
    assert!(!log.is_empty());
    // Restoring over an existing database is refused.
    let again = dangan()
        .args(["restore", "--target", "local", "--data-dir"])
        .arg(&new)
        .arg("--backup-dir")
        .arg(&target)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("已有数据库"));
}

/// Two sets (full, then incremental) of a small archive on a local target given by a relative
/// path: (data, target, sets).
fn two_sets(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<String>) {
    let data = dir.join("data");
    let target = dir.join("backup-disk");
    ok(dangan()
        .args(["demo-data", "--persons", "3", "--seed", "4", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap());
    ingest_one(&data, &dir.join("scans1"), 1);
    let backup = || {
        ok(dangan()
            .current_dir(dir)
            .args(["backup", "--data-dir"])
            .arg(&data)
            .args(["--backup-dir", "backup-disk"])
            .output()
            .unwrap())
    };
    backup();
    ingest_one(&data, &dir.join("scans2"), 2);
    std::thread::sleep(std::time::Duration::from_millis(5));
    backup();
    let sets = sets_of(&target);
    assert_eq!(sets.len(), 2, "{sets:?}");
    (data, target, sets)
}

#[test]
fn restore_without_set_refuses_a_damaged_newest_set_naming_it_and_an_older_set_needs_set() {
    let dir = tempfile::tempdir().unwrap();
    let (data, pristine, sets) = two_sets(dir.path());
    let keys = data.join("keys");
    let (full, newest) = (&sets[0], &sets[1]);
    let newest_dir = |target: &Path| target.join("sets").join(newest);
    // One copy of the target per kind of damage, each done to the newest set only.
    // (what the refusal must say, how the newest set is damaged)
    type Damage<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Damage); 3] = [
        ("清单签名无效", &|t: &Path| {
            let manifest = newest_dir(t).join("manifest.json");
            let text = std::fs::read_to_string(&manifest).unwrap();
            assert!(text.contains("\"incremental\""));
            std::fs::write(&manifest, text.replace("\"incremental\"", "\"full\"")).unwrap();
        }),
        ("缺失", &|t: &Path| {
            let blob = files_under(&newest_dir(t).join("blobs"))
                .into_iter()
                .next()
                .expect("the incremental set carries the new scan");
            std::fs::remove_file(blob).unwrap();
        }),
        ("被修改或损坏", &|t: &Path| {
            let db = std::fs::read_dir(newest_dir(t))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("database."))
                })
                .expect("the database snapshot");
            let mut bytes = std::fs::read(&db).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x01;
            std::fs::write(&db, bytes).unwrap();
        }),
    ];
    for (i, (reason, damage)) in cases.iter().enumerate() {
        let target = dir.path().join(format!("damaged-{i}"));
        dangan_testkit::copy_dir(&pristine, &target);
        damage(&target);
        let into = dir.path().join(format!("new-{i}"));
        let err = fails(restore(&target, &keys, &into, &[]));
        assert!(err.contains(newest.as_str()), "names the set: {err}");
        assert!(err.contains(reason), "says why ({reason}): {err}");
        assert!(
            err.contains("--set"),
            "says how to choose another set: {err}"
        );
        assert!(!err.contains("internal error"), "{err}");
        // Falling back is the operator's explicit choice; it says which set it restored.
        let into = dir.path().join(format!("older-{i}"));
        let restored = ok(restore(&target, &keys, &into, &["--set", full]));
        assert!(restored.contains(full.as_str()), "{restored}");
        assert!(restored.contains("1 个数据块"), "{restored}");
        assert!(
            restored.contains(&format!("目标上还有更新的备份集 {newest}，未恢复")),
            "{restored}"
        );
    }
}

#[test]
fn no_command_opens_a_data_directory_with_an_unfinished_restore_until_it_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (data, target, sets) = two_sets(dir.path());
    let keys = data.join("keys");
    // A blob of the full set changed on the target (same size): the restore writes the
    // database, then stops at that blob, leaving its marker.
    let blob = files_under(&target.join("sets").join(&sets[0]).join("blobs"))
        .into_iter()
        .next()
        .unwrap();
    let original = std::fs::read(&blob).unwrap();
    let mut bad = original.clone();
    bad[100] ^= 0x01;
    std::fs::write(&blob, &bad).unwrap();
    let new = dir.path().join("new");
    let err = fails(restore(&target, &keys, &new, &[]));
    assert!(!err.contains("internal error"), "{err}");
    assert!(new.join("restore.incomplete").exists(), "{err}");

    // serve refuses to start, saying how to resume (in Chinese and English).
    let mut child = dangan()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&new)
        .arg("--key-dir")
        .arg(&keys)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("serve started on a data directory with an unfinished restore");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let err = fails(child.wait_with_output().unwrap());
    for needed in [
        "未完成的恢复",
        "unfinished restore",
        "dangan restore",
        "--data-dir",
    ] {
        assert!(err.contains(needed), "{needed}: {err}");
    }
    assert!(
        err.contains(&sets[1]),
        "names the set being restored: {err}"
    );
    // So does every other command that opens the store there.
    let verify = fails(
        dangan()
            .args(["verify", "--data-dir"])
            .arg(&new)
            .arg("--key-dir")
            .arg(&keys)
            .output()
            .unwrap(),
    );
    assert!(verify.contains("未完成的恢复"), "{verify}");

    // The blob is repaired; the same command resumes and finishes; then the store opens.
    std::fs::write(&blob, &original).unwrap();
    let restored = ok(restore(&target, &keys, &new, &[]));
    assert!(restored.contains(&sets[1]), "{restored}");
    assert!(!new.join("restore.incomplete").exists());
    let verified = ok(dangan()
        .args(["verify", "--data-dir"])
        .arg(&new)
        .arg("--key-dir")
        .arg(&keys)
        .output()
        .unwrap());
    assert!(
        verified.contains("共校验 2 个电子文件，0 个有问题"),
        "{verified}"
    );
}

#[test]
fn a_killed_backup_leaves_nothing_that_outlives_the_next_successful_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = dir.path().join("backup-disk");
    ok(dangan()
        .args(["demo-data", "--persons", "40", "--seed", "4", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap());
    ingest_many(&data, &dir.path().join("scans"), 40, 1_000_000);
    let backup = || {
        let mut c = dangan();
        c.args(["backup", "--data-dir"])
            .arg(&data)
            .arg("--backup-dir")
            .arg(&target);
        c
    };
    // SIGKILL as soon as the set has its first blob: the set is cut short on the target.
    let mut child = backup()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let copied = sets_of(&target)
            .iter()
            .any(|s| !files_under(&target.join("sets").join(s).join("blobs")).is_empty());
        if copied {
            child.kill().unwrap();
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before it could be killed"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(120));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.wait().unwrap();
    let cut = sets_of(&target);
    assert_eq!(cut.len(), 1);
    assert!(
        !target
            .join("sets")
            .join(&cut[0])
            .join("manifest.json")
            .exists(),
        "the backup was killed before it finished"
    );

    // A run killed while it took the snapshot leaves it in the spool, as this one.
    let spool = data.join("vault").join("tmp");
    std::fs::write(
        spool.join(format!("backup-local-{}.database.sqlite.tmp", cut[0])),
        b"SQLite format 3\0",
    )
    .unwrap();

    // The next run finishes, and what the killed one left is gone: its set, the target's
    // temporaries, and the plaintext snapshot in the data directory.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let out = ok(backup().output().unwrap());
    assert!(out.contains("全量"), "{out}");
    assert!(
        out.contains(&format!("删除上次中断留下的未完成备份集 {}", cut[0])),
        "{out}"
    );
    let sets = sets_of(&target);
    assert_eq!(sets.len(), 1, "only the new set: {sets:?}");
    assert_ne!(sets[0], cut[0]);
    assert!(
        target
            .join("sets")
            .join(&sets[0])
            .join("manifest.json")
            .exists()
    );
    let left: Vec<_> = files_under(&target)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".incoming"))
        .collect();
    assert!(left.is_empty(), "temporaries left on the target: {left:?}");
    let plain: Vec<_> = files_under(&spool);
    assert!(
        plain.is_empty(),
        "snapshots left in the data directory: {plain:?}"
    );
    let checked = ok(dangan()
        .args(["backup", "verify", "--target", "local", "--data-dir"])
        .arg(&data)
        .arg("--backup-dir")
        .arg(&target)
        .output()
        .unwrap());
    assert!(checked.contains("共 1 个备份集，0 个有问题"), "{checked}");
}
