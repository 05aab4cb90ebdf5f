//! The data on the server's disk: created for the service account alone, a looser directory
//! said at start, and a full disk answered with `507 storage_full` — the server staying up and
//! working again as soon as space returns (issue 14, items 3 and 6).

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use common::{dangan, serve};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn run_ok(args: &[&str], data: &Path) -> String {
    let out = dangan(data).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

#[test]
fn a_fresh_data_directory_is_for_the_service_account_alone_and_a_loosened_one_is_warned_about() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    // `dangan verify` opens the vault too. The test runner's own umask (usually 022) is what
    // the binary must not rely on.
    run_ok(&["verify"], &data);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("dangan.db")), 0o600);
    for f in ["dangan.db-wal", "dangan.db-shm"] {
        if data.join(f).exists() {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
    }
    for d in ["keys", "vault", "vault/blobs", "vault/tmp"] {
        assert_eq!(mode(&data.join(d)), 0o700, "{d}");
    }
    for entry in std::fs::read_dir(data.join("keys")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    let quiet = run_ok(&["migrate"], &data);
    assert!(!quiet.contains("警告"), "{quiet}");

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("dangan.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let warned = run_ok(&["migrate"], &data);
    assert!(
        warned.contains("权限为 0755") && warned.contains(&format!("chmod 700 {}", data.display())),
        "{warned}"
    );
    assert!(warned.contains("权限为 0644"), "{warned}");
}

/// A small file system of its own (tmpfs, mounted by the test, which runs as root on the build
/// machines), unmounted when the test ends.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it (needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_in_chinese_and_the_server_works_again_when_space_returns() {
    let disk = SmallDisk::mount(48);
    let data = disk.path().join("data");
    let mut add = dangan(&data)
        .args([
            "user",
            "add",
            "--username",
            "clerk1",
            "--role",
            "archivist",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"clerk-pass-2026\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let (child, base) = serve(&data, "127.0.0.1:0");
    let _server = KillOnDrop(child);
    let c = reqwest::Client::new();
    let url = |p: &str| format!("{base}{p}");
    let login: Value = c
        .post(url("/api/v1/auth/login"))
        .json(&json!({"username": "clerk1", "password": "clerk-pass-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let person = |n: u32| {
        json!({
            "id_number": dangan_testkit::id_number("430321", chrono::NaiveDate::from_ymd_opt(1960, 3, 1).unwrap(), n),
            "name": "张三",
            "division_code": "430321",
        })
    };
    let create = |n: u32| {
        c.post(url("/api/v1/persons"))
            .bearer_auth(&token)
            .json(&person(n))
            .send()
    };
    assert_eq!(create(1).await.unwrap().status(), 201);
    let event = json!({
        "id_number": person(1)["id_number"],
        "business_type": "参保登记",
        "business_date": "2024-05-06",
        "materials": [{"material_code": "enrolment_form", "pages": 2}]
    });
    let recorded: Value = c
        .post(url("/api/v1/events"))
        .bearer_auth(&token)
        .json(&event)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let material = recorded["event"]["materials"][0]["id"].as_i64().unwrap();

    let filler = disk.fill();
    let res = create(2).await.unwrap();
    assert_eq!(res.status(), 507);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("存储空间已满") && message.contains("不是您的操作问题"),
        "{message}"
    );
    let upload = c
        .post(url(&format!("/api/v1/materials/{material}/files")))
        .bearer_auth(&token)
        .header("x-file-name", "scan.png")
        .body(dangan_testkit::png_scan(4 * 1024 * 1024, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        upload.status(),
        507,
        "a scan that does not fit is refused the same way"
    );
    let health = c.get(url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server stays up");

    std::fs::remove_file(filler).unwrap();
    // Every pooled connection that met the full disk works again.
    for n in 3..12 {
        assert_eq!(create(n).await.unwrap().status(), 201, "person {n}");
    }
    let upload = c
        .post(url(&format!("/api/v1/materials/{material}/files")))
        .bearer_auth(&token)
        .header("x-file-name", "scan.png")
        .body(dangan_testkit::png_scan(1024 * 1024, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
}

/// The server, stopped however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
