//! Sign-in under attack (issue 13 §4), on both backends: parallel guessing against the lock-out,
//! name enumeration, an address that keeps failing, what the log keeps of a failed sign-in,
//! exact identity-number searches against the mask, and sessions left unused.

use std::time::{Duration, Instant};

use dangan_app::access::persons::PersonQuery;
use dangan_app::administration::accounts::BasisInput;
use dangan_app::security::audit::LogQuery;
use dangan_app::{AppError, Role, Settings};
use dangan_testkit::{TEST_PASSWORD, TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

/// Settings in which only the account lock-out limits guessing: no per-address limit, and room
/// for every parallel attempt at the password check.
fn lock_out_only() -> Settings {
    Settings {
        sign_in_failures_per_address: 0,
        sign_in_concurrency: 1000,
        ..Settings::default()
    }
}

/// The log entries of one action with one outcome.
async fn log_of(t: &TestApp, action: &str, outcome: &str) -> Vec<dangan_domain::audit::LogEntry> {
    t.app
        .search_log(
            &t.auditor,
            &LogQuery {
                action: Some(action.to_owned()),
                outcome: Some(outcome.to_owned()),
                limit: Some(500),
                ..LogQuery::default()
            },
        )
        .await
        .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

on_both_backends! {
    async fn sixty_parallel_wrong_passwords_get_at_most_five_guesses_checked(db: TestDb) {
        let t = TestApp::start_with(db, lock_out_only()).await;
        t.actor("archivist1", Role::Archivist).await;
        let guesses = (0..60).map(|i| {
            let app = std::sync::Arc::clone(&t.app);
            tokio::spawn(async move {
                app.login("archivist1", &format!("guess-{i:04}-pass"), &format!("10.9.0.{i}")).await
            })
        });
        for answer in futures_util::future::join_all(guesses).await {
            assert_eq!(code_of(answer.unwrap()), "unauthenticated");
        }
        let checked = log_of(&t, "auth.login", "failed").await;
        let checked: Vec<_> = checked.iter().filter(|e| e.actor_name == "archivist1").collect();
        assert!(checked.iter().all(|e| e.detail == "wrong password"));
        assert!(
            (1..=5).contains(&checked.len()),
            "{} of 60 parallel guesses were checked against the password",
            checked.len()
        );
        let locked = log_of(&t, "auth.login", "denied").await;
        assert_eq!(checked.len() + locked.iter().filter(|e| e.detail == "locked").count(), 60);
        // The lock holds for the right password too.
        assert_eq!(code_of(t.app.login("archivist1", TEST_PASSWORD, "10.9.1.1").await), "unauthenticated");
    }

    async fn sixty_parallel_wrong_insured_passwords_get_at_most_five_guesses_checked(db: TestDb) {
        let t = TestApp::start_with(db, lock_out_only()).await;
        let input = person_input(7, "钱七");
        let p = t.app.create_person(&t.admin, &input).await.unwrap();
        let window = t.actor("window1", Role::Window).await;
        let card = BasisInput { basis: "card".to_owned(), id_number: Some(input.id_number.clone()) };
        let opened = t.app.open_insured_account(&window, p.id, &card).await.unwrap();
        let guesses = (0..60).map(|i| {
            let app = std::sync::Arc::clone(&t.app);
            let id = input.id_number.clone();
            tokio::spawn(async move {
                app.login_insured(&id, &format!("guess-{i:04}-pass"), &format!("10.8.0.{i}")).await
            })
        });
        for answer in futures_util::future::join_all(guesses).await {
            assert_eq!(code_of(answer.unwrap()), "unauthenticated");
        }
        let checked = log_of(&t, "auth.insured_login", "failed").await;
        assert!(checked.iter().all(|e| e.detail == "wrong password"));
        assert!(
            (1..=5).contains(&checked.len()),
            "{} of 60 parallel guesses were checked against the password",
            checked.len()
        );
        assert_eq!(
            code_of(t.app.login_insured(&input.id_number, &opened.initial_password, "10.8.1.1").await),
            "unauthenticated",
            "locked for the right password too"
        );
    }

    async fn unknown_names_wrong_passwords_and_locked_accounts_answer_alike_and_as_slowly(db: TestDb) {
        let t = TestApp::start_with(db, lock_out_only()).await;
        t.actor("handler1", Role::Handler).await;
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(t.app.login("handler1", "wrong-pass-123", "10.7.0.1").await.unwrap_err());
        }
        // Unknown and locked in turn, so that a load spike on this shared machine falls on both.
        let (mut unknown, mut locked) = (Vec::new(), Vec::new());
        for i in 0..7 {
            let started = Instant::now();
            answers.push(t.app.login(&format!("nobody{i}"), "some-pass-123", "10.7.0.1").await.unwrap_err());
            unknown.push(started.elapsed());
            let started = Instant::now();
            answers.push(t.app.login("handler1", TEST_PASSWORD, "10.7.0.1").await.unwrap_err());
            locked.push(started.elapsed());
        }
        let first = (answers[0].code(), answers[0].to_string());
        for a in &answers {
            assert_eq!((a.code(), a.to_string()), first, "every failure answers alike");
        }
        // A locked account costs a password check too: no fast path tells it apart.
        let (unknown, locked) = (median(unknown), median(locked));
        assert!(
            locked * 2 >= unknown,
            "locked {locked:?} against unknown {unknown:?}"
        );
        let denied = log_of(&t, "auth.login", "denied").await;
        assert_eq!(denied.iter().filter(|e| e.detail == "locked").count(), 7, "the auditor still sees the lock");
    }

    async fn an_address_that_keeps_failing_is_paused_and_an_officer_is_locked_for_minutes_not_an_hour(db: TestDb) {
        let t = TestApp::start(db).await;
        // Ten failures from one address: five checked, then the officer's lock.
        for _ in 0..10 {
            assert_eq!(code_of(t.app.login("auditor", "wrong-pass-123", "203.0.113.5").await), "unauthenticated");
        }
        let err = t.app.login("auditor", TEST_PASSWORD, "203.0.113.5").await.unwrap_err();
        assert_eq!(err.code(), "too_many_sign_ins");
        let wait = err.retry_after().expect("a retry-after");
        assert!((800..=900).contains(&wait), "{wait}");
        assert!(err.to_string().contains("分钟后再试"), "{err}");
        // Refused at the door: nothing is checked or counted against the account any more.
        for _ in 0..20 {
            assert_eq!(code_of(t.app.login("auditor", "wrong-pass-123", "203.0.113.5").await), "too_many_sign_ins");
            assert_eq!(code_of(t.app.login_insured("11010519491231002X", "x-pass-123", "203.0.113.5").await), "too_many_sign_ins");
        }
        let checked = log_of(&t, "auth.login", "failed").await;
        assert_eq!(checked.iter().filter(|e| e.actor_name == "auditor").count(), 5);
        let blocked = log_of(&t, "auth.address_blocked", "denied").await;
        assert_eq!(blocked.len(), 1, "logged once, not per refusal");
        assert_eq!(blocked[0].source, "203.0.113.5");
        // The officer's lock is the first one: a minute.
        let users = t.app.users(&t.security).await.unwrap();
        let auditor = users.iter().find(|u| u.username == "auditor").unwrap();
        let lock = auditor.locked_until.expect("locked") - chrono::Utc::now();
        assert!(lock <= chrono::Duration::seconds(60), "{lock}");
        // Another address is not paused, though the account is still locked.
        assert_eq!(code_of(t.app.login("auditor", TEST_PASSWORD, "198.51.100.7").await), "unauthenticated");
    }

    async fn a_failed_sign_in_names_the_account_only_when_it_exists(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("window1", Role::Window).await;
        // A password typed into the name field.
        let typed = "Geheim-Passwort-2026";
        assert_eq!(code_of(t.app.login(typed, "window1", "10.6.0.1").await), "unauthenticated");
        assert_eq!(code_of(t.app.login("window1", "wrong-pass-123", "10.6.0.1").await), "unauthenticated");
        let failed = log_of(&t, "auth.login", "failed").await;
        assert_eq!(failed.len(), 2);
        let everything = format!("{failed:?}");
        assert!(!everything.contains(typed), "{everything}");
        let unknown = failed.iter().find(|e| e.detail == "unknown user").unwrap();
        assert_eq!(unknown.actor_name, dangan_app::administration::accounts::UNKNOWN_ACCOUNT);
        assert_eq!(unknown.target_id, "");
        let known = failed.iter().find(|e| e.detail == "wrong password").unwrap();
        assert_eq!(known.actor_name, "window1");
        // The insured sign-in too: a number with no account is not written down.
        let nobody = dangan_testkit::id_number("110105", chrono::NaiveDate::from_ymd_opt(1960, 5, 4).unwrap(), 17);
        assert_eq!(code_of(t.app.login_insured(&nobody, "x-pass-1234", "10.6.0.1").await), "unauthenticated");
        let failed = log_of(&t, "auth.insured_login", "failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].actor_name, dangan_app::administration::accounts::UNKNOWN_ACCOUNT);
        assert!(!format!("{failed:?}").contains(&nobody[..6]));
    }

    async fn the_masked_number_and_the_search_limit_leave_a_number_unrecoverable(db: TestDb) {
        let t = TestApp::start(db).await;
        let target = person_input(11, "孙十一");
        t.app.create_person(&t.admin, &target).await.unwrap();
        let clerk = t.actor("window1", Role::Window).await;
        // What a list shows: the division and the check character, nothing of the birth date
        // or the sequence number.
        let listed = t
            .app
            .search_persons(&clerk, &PersonQuery { name: Some("孙".into()), ..PersonQuery::default() })
            .await
            .unwrap();
        let masked = &listed.items[0].id_number_masked;
        assert_eq!(masked.len(), 18);
        assert_eq!(&masked[..6], &target.id_number[..6]);
        assert_eq!(&masked[6..17], "***********");
        assert_eq!(masked.chars().last(), target.id_number.chars().last());
        // Trying candidates by exact search: 30 in ten minutes, then refused.
        let settings = t.app.settings().clone();
        assert_eq!(settings.exact_searches, 30);
        let mut refused = None;
        for seq in 0..settings.exact_searches + 1 {
            let candidate = dangan_testkit::id_number("110105", chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap(), 500 + seq);
            let q = PersonQuery { id_number: Some(candidate), ..PersonQuery::default() };
            match t.app.search_persons(&clerk, &q).await {
                Ok(_) => assert!(seq < settings.exact_searches, "search {} allowed", seq + 1),
                Err(e) => {
                    refused = Some((seq, e));
                    break;
                }
            }
        }
        let (seq, err) = refused.expect("the 31st exact search is refused");
        assert_eq!(seq, 30);
        assert_eq!(err.code(), "too_many_exact_searches");
        assert!(err.retry_after().is_some_and(|s| (1..=600).contains(&s)));
        // Another clerk has a window of their own; searches by name are not limited.
        let other = t.actor("window2", Role::Window).await;
        let q = PersonQuery { id_number: Some(target.id_number.clone()), ..PersonQuery::default() };
        assert_eq!(t.app.search_persons(&other, &q).await.unwrap().total, 1);
        assert!(t.app.search_persons(&clerk, &PersonQuery { name: Some("孙".into()), ..PersonQuery::default() }).await.is_ok());
        // Every search is logged, masked; the refusal too.
        let denied = log_of(&t, "person.search", "denied").await;
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].actor_name, "window1");
        let all = log_of(&t, "person.search", "ok").await;
        assert!(all.len() >= 31);
        assert!(!format!("{all:?}{denied:?}").contains(&target.id_number[6..17]));
    }

    async fn an_unused_staff_session_ends_after_the_idle_time(db: TestDb) {
        let settings = Settings { session_idle: Duration::from_secs(2), ..Settings::default() };
        let t = TestApp::start_with(db, settings).await;
        let login = t.app.login("admin", TEST_PASSWORD, "10.5.0.1").await.unwrap();
        // Used every second: it stays.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(900)).await;
            t.app.authenticate(&login.token, "10.5.0.1").await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(2600)).await;
        let err = t.app.authenticate(&login.token, "10.5.0.1").await.unwrap_err();
        assert_eq!(err.code(), "unauthenticated");
        assert!(err.to_string().contains("长时间未操作"), "{err}");
        // Ended for good, not only refused once.
        let err = t.app.authenticate(&login.token, "10.5.0.1").await.unwrap_err();
        assert!(!err.to_string().contains("长时间未操作"), "{err}");
    }

    async fn a_kiosk_session_ends_after_the_kiosk_idle_time_and_a_web_session_does_not(db: TestDb) {
        let settings = Settings { kiosk_idle_seconds: 1, ..Settings::default() };
        let t = TestApp::start_with(db, settings).await;
        let input = person_input(12, "周十二");
        let p = t.app.create_person(&t.admin, &input).await.unwrap();
        let window = t.actor("window1", Role::Window).await;
        let card = BasisInput { basis: "card".to_owned(), id_number: Some(input.id_number.clone()) };
        let opened = t.app.open_insured_account(&window, p.id, &card).await.unwrap();
        let first = t.app.login_insured(&input.id_number, &opened.initial_password, "k").await.unwrap();
        t.app.change_password(&first.user, &first.token, &opened.initial_password, "kiosk-pass-2026").await.unwrap();
        let kiosk = t.app.login_insured_kiosk(&input.id_number, "kiosk-pass-2026", "k").await.unwrap();
        let web = t.app.login_insured(&input.id_number, "kiosk-pass-2026", "k").await.unwrap();
        let assisted = t.app.assisted_insured_login(&window, &input.id_number, "card", "k").await.unwrap();
        t.app.authenticate(&kiosk.token, "k").await.unwrap();
        t.app.authenticate(&assisted.token, "k").await.unwrap();
        // 1 s of kiosk idle time plus the grace of 10 s.
        tokio::time::sleep(Duration::from_secs(12)).await;
        assert_eq!(code_of(t.app.authenticate(&kiosk.token, "k").await), "unauthenticated");
        assert_eq!(code_of(t.app.authenticate(&assisted.token, "k").await), "unauthenticated");
        assert!(t.app.authenticate(&web.token, "k").await.is_ok());
    }
}
