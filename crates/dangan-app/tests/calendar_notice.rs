//! Loading a missing calendar year from the notice's dates gives the open tasks waiting for it
//! their due dates, in the same transaction, on both backends.

use dangan_app::administration::tasks::TaskQuery;
use dangan_testkit::{TestApp, on_both_backends};

on_both_backends! {
    async fn loading_a_missing_year_dates_the_open_tasks_waiting_for_it_and_they_become_overdue(db: TestDb) {
        let t = TestApp::start(db).await;
        // A supplement task opened in 2014, a year that does not ship: no due date.
        t.db.execute(
            "INSERT INTO tasks (kind, post, subject_kind, subject_id, title, opened_on, due_on, state, created_at) \
             VALUES ('supplement', 'collection', 'supplement', 999, '补件', '2014-12-30', NULL, 'open', '2024-01-01T00:00:00Z')",
        )
        .await;
        let open = TaskQuery { state: Some("open".into()), ..TaskQuery::default() };
        let before = t.app.tasks(&t.admin, &open).await.unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].due_on, None);
        assert!(!before[0].overdue);
        assert_eq!(before[0].due_pending.as_deref(), Some("期限待定（2014 年工作日历未载入）"));

        let preview = t
            .app
            .preview_calendar_notice(&t.admin, 2014, "2014-01-01 元旦\n2014-10-01 至 2014-10-07 国庆节", "2014-10-11 国庆节")
            .await
            .unwrap();
        assert_eq!((preview.holidays.len(), preview.workdays.len(), preview.replaces), (8, 1, false));
        let wrong = t.app.load_calendar_notice(&t.admin, 2014, "2015-01-01 元旦", "").await.unwrap_err();
        assert_eq!(wrong.code(), "invalid_calendar_notice");
        assert!(t.app.tasks(&t.admin, &open).await.unwrap()[0].due_on.is_none(), "nothing written on an error");

        t.app
            .load_calendar_notice(&t.admin, 2014, "2014-01-01 元旦\n2014-10-01 至 2014-10-07 国庆节", "2014-10-11 国庆节")
            .await
            .unwrap();
        let after = t.app.tasks(&t.admin, &open).await.unwrap();
        assert!(after[0].due_on.is_some(), "{:?}", after[0]);
        assert!(after[0].overdue);
        assert_eq!(after[0].due_pending, None);
        let years = t.app.calendar_years(&t.admin).await.unwrap();
        assert!(years.iter().any(|y| y.year == 2014 && y.days.len() == 9));
    }
}
