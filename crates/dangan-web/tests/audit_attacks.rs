//! The operation log under attack by an insider with write access to the database (issue 13):
//! each test builds a history with anchors and witness copies, tampers with the database the way
//! an insider would, and asks `POST /api/v1/audit/verify` as the auditor. Every attack must be
//! reported, naming the first bad place. One attacker also holds the keys: the server itself
//! cannot see that rewrite, but the auditor holding only the public key and the witness copies
//! on a backup target does. On SQLite and PostgreSQL.

use std::path::PathBuf;
use std::time::Duration;

use dangan_app::security::audit::{VerifyOptions, WitnessSource, verify_offline};
use dangan_app::{KeyRing, Role, Settings, StoreConfig};
use dangan_domain::audit::GENESIS;
use dangan_testkit::insider::{chain, exec, rewrite};
use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, TestServer, on_both_backends, person_input};
use dangan_vault::Target;
use serde_json::Value;

/// A history of about twenty entries: a clerk's and the administrator's work, two anchors sent
/// to the local witness and to a backup target, and a tail after the last anchor.
struct Scene {
    server: TestServer,
    auditor: String,
    /// The sequence numbers the two anchors confirm.
    anchored: [i64; 2],
    /// The clerk whose entries the insider wants gone.
    clerk_id: String,
    /// The backup target that received the anchors (another machine's disk).
    remote: tempfile::TempDir,
}

impl Scene {
    fn app(&self) -> &TestApp {
        &self.server.test_app
    }

    fn config(&self) -> StoreConfig {
        self.app().db.config.clone()
    }

    fn local_witness(&self) -> PathBuf {
        self.app().keys_dir.path().join("log-witness")
    }

    async fn verify(&self) -> Value {
        let res = self
            .server
            .client
            .post(format!("{}/api/v1/audit/verify", self.server.base_url))
            .bearer_auth(&self.auditor)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    async fn remote_target(&self) -> Target {
        Target::local(self.remote.path()).await.unwrap()
    }
}

async fn scene(db: TestDb) -> Scene {
    let remote = tempfile::tempdir().unwrap();
    let target = Target::local(remote.path()).await.unwrap();
    let mut settings = Settings::default();
    settings.log.witness_targets = vec![("local".to_owned(), target.clone())];
    let t = TestApp::start_with(db, settings).await;
    let clerk = t.actor("clerk1", Role::Archivist).await;
    let targets = vec![("local".to_owned(), target)];
    // Work, anchor, more work, anchor, a tail: (who, person number) per stage.
    let stages = [
        vec![(&clerk, 100), (&clerk, 101), (&clerk, 102), (&t.admin, 110)],
        vec![(&clerk, 120), (&t.admin, 121)],
        vec![(&t.admin, 130)],
    ];
    let mut anchored = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        for (who, n) in stage {
            t.app
                .create_person(who, &person_input(*n, "王五"))
                .await
                .unwrap();
        }
        if i < 2 {
            let a = t
                .app
                .anchor_and_witness(&t.auditor, &targets)
                .await
                .unwrap();
            anchored.push(a.expect("anchored").seq);
        }
    }
    let clerk_id = clerk.user_id().unwrap().to_string();
    let server = TestServer::spawn(t).await;
    let auditor = server.login("auditor", TEST_PASSWORD).await;
    let s = Scene {
        server,
        auditor,
        anchored: [anchored[0], anchored[1]],
        clerk_id,
        remote,
    };
    let before = s.verify().await;
    assert_eq!(before["ok"], true, "the untouched log verifies: {before}");
    // On PostgreSQL the verification's own entry joins the chain just after it; the insider
    // starts from a log with nothing pending.
    s.app().app.seal_log().await.unwrap();
    s
}

fn problem(report: &Value) -> String {
    report["problem"].as_str().unwrap_or_default().to_owned()
}

fn assert_caught(report: &Value, first_bad: Option<i64>, words: &[&str]) {
    assert_eq!(report["ok"], false, "the attack is reported: {report}");
    if let Some(seq) = first_bad {
        assert_eq!(report["first_bad_seq"], seq, "{report}");
    }
    let p = problem(report);
    assert!(
        words.iter().any(|w| p.contains(w)),
        "the problem says what happened ({words:?}): {p}"
    );
}

on_both_backends! {
    async fn an_edited_entry_is_named(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &["UPDATE operation_log SET detail = detail || ' ' WHERE seq = 3".to_owned()]).await;
        assert_caught(&s.verify().await, Some(3), &["篡改"]);
    }

    async fn an_entry_edited_with_its_public_hashes_recomputed_fails_its_macs(db: TestDb) {
        let s = scene(db).await;
        let victim = s.anchored[1] + 1;
        exec(&s.config(), &[format!("UPDATE operation_log SET outcome = 'denied' WHERE seq = {victim}")]).await;
        // Recompute every public hash from there on, as the insider's tool would.
        rewrite(&s.config(), |_| true, None).await;
        let report = s.verify().await;
        assert_caught(&report, Some(victim), &["校验码"]);
    }

    async fn a_deleted_entry_is_named(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &["DELETE FROM operation_log WHERE seq = 4".to_owned()]).await;
        assert_caught(&s.verify().await, Some(4), &["缺失", "不衔接"]);
    }

    async fn two_swapped_entries_are_named(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &[
            "UPDATE operation_log SET seq = -3 WHERE seq = 3".to_owned(),
            "UPDATE operation_log SET seq = 3 WHERE seq = 4".to_owned(),
            "UPDATE operation_log SET seq = 4 WHERE seq = -3".to_owned(),
        ]).await;
        assert_caught(&s.verify().await, Some(3), &["不衔接"]);
    }

    async fn a_truncated_log_is_caught_by_the_anchor_beyond_its_end(db: TestDb) {
        let s = scene(db).await;
        let keep = s.anchored[0] + 1;
        exec(&s.config(), &[
            format!("DELETE FROM operation_log WHERE seq > {keep}"),
            format!("UPDATE operation_log_head SET seq = {keep}, hash = (SELECT hash FROM operation_log WHERE seq = {keep})"),
        ]).await;
        assert_caught(&s.verify().await, Some(keep + 1), &["截断"]);
    }

    async fn a_truncated_log_with_its_anchors_deleted_is_caught_by_the_witnesses(db: TestDb) {
        let s = scene(db).await;
        let keep = s.anchored[0];
        exec(&s.config(), &[
            format!("DELETE FROM operation_log WHERE seq > {keep}"),
            format!("UPDATE operation_log_head SET seq = {keep}, hash = (SELECT hash FROM operation_log WHERE seq = {keep})"),
            "DELETE FROM log_anchors WHERE n = 2".to_owned(),
        ]).await;
        let report = s.verify().await;
        assert_caught(&report, Some(keep + 1), &["截断"]);
        assert!(report["checks"].as_array().unwrap().iter().any(|c| c["status"] == "failed" && c["detail"].as_str().unwrap().contains("不存在")), "{report}");
        // Without the local witness, the backup target still holds the anchor.
        std::fs::remove_dir_all(s.local_witness()).unwrap();
        assert_caught(&s.verify().await, None, &["截断"]);
    }

    async fn deleted_anchors_and_witnesses_leave_entries_unanchored_past_the_interval(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &["DELETE FROM log_anchors".to_owned()]).await;
        std::fs::remove_dir_all(s.local_witness()).unwrap();
        std::fs::remove_dir_all(s.remote.path().join("anchors")).unwrap();
        // Checked two intervals later, nothing covers the log any more.
        let later = s
            .app()
            .app
            .verify_log_with(
                &s.app().auditor,
                VerifyOptions {
                    now: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
                    ..VerifyOptions::default()
                },
            )
            .await
            .unwrap();
        assert!(!later.ok);
        assert_eq!(later.first_bad_seq, Some(1), "{later:?}");
        assert!(later.problem.unwrap().contains("没有签名锚点"));
    }

    async fn the_full_rewrite_is_caught_with_or_without_anchors_and_witnesses(db: TestDb) {
        // The attack: every entry of one clerk deleted, the chain renumbered and
        // re-hashed, the head row rewritten — then, in turn, the anchors and the witnesses
        // deleted too. Without the log key the rewritten chain cannot carry valid MACs.
        let s = scene(db).await;
        let clerk = s.clerk_id.clone();
        let bad = chain(&s.config())
            .await
            .iter()
            .find(|e| e.actor_kind == "user" && e.actor_id == clerk)
            .and_then(|e| e.seq)
            .expect("the clerk has entries");
        rewrite(&s.config(), |e| !(e.actor_kind == "user" && e.actor_id == clerk), None).await;
        let report = s.verify().await;
        assert_caught(&report, Some(bad), &["校验码"]);
        exec(&s.config(), &["DELETE FROM log_anchors".to_owned()]).await;
        assert_caught(&s.verify().await, Some(bad), &["校验码"]);
        std::fs::remove_dir_all(s.local_witness()).unwrap();
        std::fs::remove_dir_all(s.remote.path().join("anchors")).unwrap();
        assert_caught(&s.verify().await, Some(bad), &["校验码"]);
    }

    async fn a_forged_anchor_is_refused(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &[format!(
            "INSERT INTO log_anchors (n, seq, hash, signed_at, chain, prev, legacy_until, key_id, signature) SELECT 3, seq, hash, '2026-12-05T00:00:00.000000Z', 'hmac-sha256', '{GENESIS}', 0, 'deadbeefdeadbeef', '00' FROM operation_log WHERE seq = 5"
        )]).await;
        assert_caught(&s.verify().await, None, &["签名无效", "不衔接"]);
    }

    async fn an_entry_slipped_in_without_the_key_is_refused_and_never_sealed(db: TestDb) {
        let s = scene(db).await;
        exec(&s.config(), &["INSERT INTO operation_log (at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac) VALUES ('2026-12-05T01:00:00.000000Z', 'user', '1', 'admin', 'admin', '10.0.0.1', 'person.read', 'person', '1', '', 'ok', 'ab')".to_owned()]).await;
        let report = s.verify().await;
        assert_caught(&report, None, &["伪造"]);
        assert_eq!(report["pending"], 1, "the forged entry stays out of the chain: {report}");
    }

    async fn a_rewrite_by_someone_holding_the_keys_is_caught_offline_by_the_backup_targets_copies(db: TestDb) {
        let s = scene(db).await;
        let keys = KeyRing::load_or_create(s.app().keys_dir.path()).unwrap();
        let key = keys.log_chain_key(dangan_domain::audit::ChainAlgorithm::HmacSha256);
        let clerk = s.clerk_id.clone();
        rewrite(&s.config(), |e| !(e.actor_kind == "user" && e.actor_id == clerk), Some(&key)).await;
        exec(&s.config(), &["DELETE FROM log_anchors".to_owned()]).await;
        std::fs::remove_dir_all(s.local_witness()).unwrap();
        // The insider signs the rewritten log anew with the agency's key.
        s.app().app.anchor_log(&s.app().auditor).await.unwrap().expect("re-anchored");
        // The server, holding the same keys, cannot tell — but the copies on the backup target
        // were written before the rewrite, and the auditor with only the public key checks them.
        let public = keys.public_keys();
        let remote = WitnessSource {
            name: "备份目标 local".to_owned(),
            target: s.remote_target().await,
            prefix: "anchors/".to_owned(),
            newest: None,
        };
        let offline = verify_offline(&s.config(), &public, Some(Duration::from_secs(600)), vec![remote], None)
            .await
            .unwrap();
        assert!(!offline.ok, "{offline:?}");
        assert!(offline.first_bad_seq.unwrap() <= s.anchored[0], "{offline:?}");
        assert!(offline.problem.clone().unwrap().contains("不符"), "{offline:?}");
        let macs = offline.checks.iter().find(|c| c.name.contains("HMAC")).unwrap();
        assert_eq!(macs.status, dangan_app::security::audit::CheckStatus::Skipped, "the offline auditor has no log key, and says so");
        // Without the witness copies, the offline auditor sees a consistent log: the copies are
        // what make the rewrite visible.
        let blind = verify_offline(&s.config(), &public, Some(Duration::from_secs(600)), vec![], None).await.unwrap();
        assert!(blind.ok, "{blind:?}");
    }
}
