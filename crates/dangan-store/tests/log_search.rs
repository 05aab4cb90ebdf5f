//! The auditor's search of the operation log (操作日志) on both backends: filters by time,
//! actor, exact action, person and outcome, and pages in order of the chain up to a fixed
//! sequence number, with the total.

use dangan_domain::audit::{ChainAlgorithm, ChainKey, EntryContent};
use dangan_store::Store;
use dangan_store::audit::{self, Link, LogFilter};
use dangan_testkit::{TestDb, on_both_backends};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.config).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

fn entry(at: &str, actor: &str, action: &str, person: i64, outcome: &str) -> EntryContent {
    EntryContent {
        at: at.to_owned(),
        actor_kind: "user".into(),
        actor_id: "1".into(),
        actor_name: actor.into(),
        role: "admin".into(),
        source: "127.0.0.1".into(),
        action: action.into(),
        target_kind: "person".into(),
        target_id: person.to_string(),
        detail: String::new(),
        outcome: outcome.into(),
    }
}

/// Writes the entries and links them into the chain (PostgreSQL links after commit, as the
/// sealer does).
async fn write(store: &Store, key: &ChainKey, entries: &[EntryContent]) {
    let mut tx = store.begin_write().await.unwrap();
    audit::append(&mut tx, entries, key).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    let (mut seq, mut prev) = audit::head_for_update(&mut tx).await.unwrap();
    let mut links = Vec::new();
    for e in audit::sealable(&mut tx, 10_000).await.unwrap() {
        seq += 1;
        let (hash, mac) = key.link(seq, &e.fields(), &e.entry_mac, &prev);
        links.push(Link {
            id: e.id,
            seq,
            prev_hash: prev.clone(),
            hash: hash.clone(),
            mac,
        });
        prev = hash;
    }
    audit::seal(&mut tx, &links).await.unwrap();
    tx.commit().await.unwrap();
}

on_both_backends! {
    async fn the_log_is_filtered_by_instant_range_actor_action_person_and_outcome(db: TestDb) {
        let store = open(&db).await;
        let key = ChainKey::new(ChainAlgorithm::HmacSha256, [3; 32]);
        write(&store, &key, &[
            // 2026-12-05 23:59:59 in Beijing.
            entry("2026-12-05T15:59:59.000000Z", "admin", "person.read", 7, "ok"),
            // 2026-12-06 07:30 in Beijing: the day before in UTC.
            entry("2026-12-05T23:30:00.000000Z", "window1", "person.read", 7, "denied"),
            entry("2026-12-06T08:00:00.000000Z", "window1", "person.read_more", 8, "ok"),
            // 2026-12-07 00:00 in Beijing.
            entry("2026-12-06T16:00:00.000000Z", "admin", "file.verify_all", 7, "ok"),
        ]).await;
        let mut tx = store.begin().await.unwrap();
        let (upto, _) = audit::head(&mut tx).await.unwrap();
        let day = LogFilter {
            from: Some("2026-12-05T16:00:00.000000Z".into()),
            until: Some("2026-12-06T16:00:00.000000Z".into()),
            ..LogFilter::default()
        };
        let (found, total) = audit::page_in_chain(&mut tx, &day, upto, 0, 50).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(found.iter().map(|e| e.at.as_str()).collect::<Vec<_>>(),
            ["2026-12-06T08:00:00.000000Z", "2026-12-05T23:30:00.000000Z"], "newest first");
        let exact = LogFilter { action: Some("person.read".into()), ..LogFilter::default() };
        assert_eq!(audit::page_in_chain(&mut tx, &exact, upto, 0, 50).await.unwrap().1, 2,
            "an exact action is not a prefix");
        let by = LogFilter {
            actor_name: Some("window1".into()),
            person: Some(7),
            outcome: Some("denied".into()),
            ..LogFilter::default()
        };
        let (found, total) = audit::page_in_chain(&mut tx, &by, upto, 0, 50).await.unwrap();
        assert_eq!((total, found[0].at.as_str()), (1, "2026-12-05T23:30:00.000000Z"));
        let person = LogFilter { person: Some(7), ..LogFilter::default() };
        assert_eq!(audit::page_in_chain(&mut tx, &person, upto, 0, 50).await.unwrap().1, 3);
        tx.rollback().await.unwrap();
    }

    async fn pages_follow_the_chain_and_entries_written_later_do_not_shift_them(db: TestDb) {
        let store = open(&db).await;
        let key = ChainKey::new(ChainAlgorithm::HmacSha256, [3; 32]);
        let first: Vec<EntryContent> = (0..120)
            .map(|i| entry(&format!("2026-12-06T01:{:02}:{:02}.000000Z", i / 60, i % 60), "admin", "person.read", i, "ok"))
            .collect();
        write(&store, &key, &first).await;
        let mut tx = store.begin().await.unwrap();
        let (upto, _) = audit::head(&mut tx).await.unwrap();
        tx.rollback().await.unwrap();
        write(&store, &key, &[entry("2026-12-06T02:00:00.000000Z", "admin", "person.read", 1, "ok")]).await;
        let mut tx = store.begin().await.unwrap();
        let all = LogFilter::default();
        let (p1, total) = audit::page_in_chain(&mut tx, &all, upto, 0, 50).await.unwrap();
        let (p3, _) = audit::page_in_chain(&mut tx, &all, upto, 100, 50).await.unwrap();
        assert_eq!(total, upto, "the later entry is not counted");
        assert_eq!(p1.len(), 50);
        assert_eq!(p1[0].seq, Some(upto));
        assert_eq!(p3.len(), usize::try_from(upto - 100).unwrap());
        assert_eq!(p3.last().unwrap().seq, Some(1));
        let seqs: Vec<i64> = p1.iter().filter_map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "in order of the chain: {seqs:?}");
        tx.rollback().await.unwrap();
    }
}
