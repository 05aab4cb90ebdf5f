//! The auditor's page of the operation log (操作日志) on both backends: filters by Beijing
//! day, actor, exact action, person and outcome; pages of fifty in order of the chain with the
//! total, stable while new entries are written; bad filters refused in Chinese.

use dangan_app::access::persons::PersonQuery;
use dangan_app::security::audit::{LOG_PAGE_SIZE, LogQuery};
use dangan_testkit::{TestApp, on_both_backends, person_input};

#[test]
fn a_beijing_day_is_searched_from_its_midnight_which_is_four_pm_utc_the_day_before() {
    let f = LogQuery {
        from: Some("2026-12-06".into()),
        to: Some("2026-12-06".into()),
        ..LogQuery::default()
    }
    .into_filter();
    assert_eq!(f.from.as_deref(), Some("2026-12-05T16:00:00.000000Z"));
    assert_eq!(f.until.as_deref(), Some("2026-12-06T16:00:00.000000Z"));
}

on_both_backends! {
    async fn the_auditor_finds_a_persons_entries_by_action_and_beijing_day(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(3, "李四")).await.unwrap();
        let today = dangan_app::today().format("%Y-%m-%d").to_string();
        let tomorrow = dangan_app::today().succ_opt().unwrap().format("%Y-%m-%d").to_string();
        let q = LogQuery {
            person: Some(p.id.0),
            exact_action: Some("person.create".into()),
            actor_name: Some("admin".into()),
            outcome: Some("ok".into()),
            from: Some(today.clone()),
            to: Some(today.clone()),
            ..LogQuery::default()
        };
        let page = t.app.search_log_page(&t.auditor, &q, None, 1).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.entries[0].target_id, p.id.0.to_string());
        let later = LogQuery { from: Some(tomorrow), to: None, ..q.clone() };
        assert_eq!(t.app.search_log_page(&t.auditor, &later, None, 1).await.unwrap().total, 0);
        let other = LogQuery { person: Some(p.id.0 + 1), ..q };
        assert_eq!(t.app.search_log_page(&t.auditor, &other, None, 1).await.unwrap().total, 0);
    }

    async fn log_pages_hold_fifty_entries_and_do_not_shift_when_entries_are_written(db: TestDb) {
        let t = TestApp::start(db).await;
        let search = PersonQuery { name: Some("王".into()), ..PersonQuery::default() };
        for _ in 0..60 {
            t.app.search_persons(&t.admin, &search).await.unwrap();
        }
        let q = LogQuery { exact_action: Some("person.search".into()), ..LogQuery::default() };
        let first = t.app.search_log_page(&t.auditor, &q, None, 1).await.unwrap();
        assert_eq!((first.total, first.pages(), first.entries.len()), (60, 2, 50));
        let newest = first.entries[0].seq.unwrap();
        t.app.search_persons(&t.admin, &search).await.unwrap();
        let second = t.app.search_log_page(&t.auditor, &q, Some(first.upto), 2).await.unwrap();
        assert_eq!(second.total, 60, "the entry written after the first page is not counted");
        assert_eq!(second.entries.len(), 60 - usize::try_from(LOG_PAGE_SIZE).unwrap());
        assert!(second.entries[0].seq.unwrap() < first.entries[49].seq.unwrap());
        let again = t.app.search_log_page(&t.auditor, &q, None, 1).await.unwrap();
        assert_eq!(again.total, 61);
        assert!(again.entries[0].seq.unwrap() > newest);
    }

    async fn a_bad_log_filter_is_refused_in_chinese_and_names_its_field(db: TestDb) {
        let t = TestApp::start(db).await;
        for (q, field, says) in [
            (LogQuery { from: Some("2026-13-01".into()), ..LogQuery::default() }, "from", "YYYY-MM-DD"),
            (LogQuery { from: Some("2026-12-06".into()), to: Some("2026-12-05".into()), ..LogQuery::default() }, "to", "早于"),
            (LogQuery { exact_action: Some("person.steal".into()), ..LogQuery::default() }, "exact_action", "操作"),
            (LogQuery { outcome: Some("maybe".into()), ..LogQuery::default() }, "outcome", "操作结果"),
        ] {
            let e = t.app.search_log_page(&t.auditor, &q, None, 1).await.unwrap_err();
            assert_eq!((e.code(), e.field()), ("invalid_log_filter", Some(field)), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
