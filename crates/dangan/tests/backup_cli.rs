//! The backup commands as an operator runs them: `backup` (full, then incremental) to a local
//! target, `backup verify`, `key export`, then on a "new machine" `key import`, `restore` and
//! `verify`.

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

fn ingest_one(data: &Path, scans: &Path, n: u8) {
    let people = dangan_app::demo::generate(4, 3, &dangan_domain::catalogue::Catalogue::builtin());
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
