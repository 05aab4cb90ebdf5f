//! Benchmark of backups (prints figures; not a timed test).
//!
//! A corpus of scans (default 1 GiB: 512 files of 2 MiB, random bytes, so nothing compresses)
//! is ingested into a vault on SQLite; then a full backup set is written to a local target
//! directory and timed, 10 % more scans are ingested and an incremental set is timed. In the
//! same run, on the same machine, `restic backup` of the same scans (plaintext files in a
//! folder) into a new local repository: first the whole corpus, then again after the same 10 %
//! were added. MB/s counts the scans' bytes in each step.
//!
//! `cargo bench -p dangan-app --bench backup`. Needs `restic` (Debian package `restic`).
//! Environment: `DANGAN_BENCH_BACKUP_MB` (default 1024).

use std::path::Path;
use std::time::Instant;

use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_testkit::{TestApp, TestDb, person_input};
use dangan_vault::Target;

fn scan(i: usize, size: usize) -> Vec<u8> {
    let mut seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..size - 8).map(|_| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as u8
    }));
    b
}

fn restic(repo: &Path, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = std::process::Command::new("restic")
        .arg("--repo")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", "bench-password")
        .env("RESTIC_CACHE_DIR", repo.with_extension("cache"))
        .output()
        .expect("restic is installed (apt-get install restic)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let total_mb: usize = std::env::var("DANGAN_BENCH_BACKUP_MB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1024);
        let size = 2 << 20;
        let n = total_mb / 2;
        let extra = n / 10;
        let work = tempfile::tempdir().unwrap();
        let corpus = work.path().join("corpus");
        std::fs::create_dir_all(&corpus).unwrap();

        let t = TestApp::start(TestDb::sqlite().await).await;
        let p = t.app.create_person(&t.admin, &person_input(1, "张三")).await.unwrap();
        let input = EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: "2024-05-06".into(),
            materials: vec![MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 2,
                ..MaterialInput::default()
            }],
            ..EventInput::default()
        };
        let m = t.app.record_event(&t.admin, &input).await.unwrap().event.materials[0].id;
        let add = |from: usize, to: usize| {
            let (app, admin, corpus) = (&t.app, &t.admin, corpus.clone());
            async move {
                for i in from..to {
                    let data = scan(i, size);
                    std::fs::write(corpus.join(format!("scan-{i:05}.png")), &data).unwrap();
                    app.ingest_file(admin, m, Some("scan.png"), &data[..]).await.unwrap();
                }
            }
        };
        add(0, n).await;
        let mb = |files: usize| (files * size) as f64 / (1 << 20) as f64;

        let target = Target::local(&work.path().join("dangan-target")).await.unwrap();
        let start = Instant::now();
        let full = t.app.backup(&t.admin, "local", &target, true, 8, |_, _| {}).await.unwrap();
        let full_s = start.elapsed().as_secs_f64();
        let repo = work.path().join("restic-repo");
        restic(&repo, &["init"]);
        let corpus_arg = corpus.to_str().unwrap();
        let restic_full_s = restic(&repo, &["backup", "--quiet", corpus_arg]);

        add(n, n + extra).await;
        let start = Instant::now();
        let incr = t.app.backup(&t.admin, "local", &target, false, 8, |_, _| {}).await.unwrap();
        let incr_s = start.elapsed().as_secs_f64();
        let restic_incr_s = restic(&repo, &["backup", "--quiet", corpus_arg]);

        println!(
            "backup full  {:>6.0} MB ({} objects): Dangan {:>7.1} MB/s ({:.2} s) | restic {:>7.1} MB/s ({:.2} s) | Dangan/restic {:.2}x",
            mb(n),
            full.objects,
            mb(n) / full_s,
            full_s,
            mb(n) / restic_full_s,
            restic_full_s,
            restic_full_s / full_s
        );
        println!(
            "backup incr  {:>6.0} MB new of {:.0} MB ({} objects): Dangan {:>7.1} MB/s ({:.2} s) | restic {:>7.1} MB/s ({:.2} s) | Dangan/restic {:.2}x",
            mb(extra),
            mb(n + extra),
            incr.objects,
            mb(extra) / incr_s,
            incr_s,
            mb(extra) / restic_incr_s,
            restic_incr_s,
            restic_incr_s / incr_s
        );
    });
}
