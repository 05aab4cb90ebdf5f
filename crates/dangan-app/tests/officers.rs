//! 三员分立 enforced, on both backends: the three solo attacks of a security officer (a stand-in
//! administrator, a second security officer to change the first one's role, a machine token to
//! post a death record) are refused and logged as denied; an officer account changes only when
//! a second officer — neither the requester nor the target — approves the request.

use serde_json::json;

use dangan_app::administration::officers::AccountRequestInput;
use dangan_app::ids::UserId;
use dangan_app::integration::person_changes::PersonChangeBatch;
use dangan_app::security::audit::LogQuery;
use dangan_app::{Actor, AppError, Role};
use dangan_testkit::{TEST_PASSWORD, TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

async fn denied(t: &TestApp, action: &str) -> Vec<dangan_domain::audit::LogEntry> {
    t.app
        .search_log(
            &t.auditor,
            &LogQuery {
                action: Some(action.to_owned()),
                outcome: Some("denied".into()),
                limit: Some(100),
                ..LogQuery::default()
            },
        )
        .await
        .unwrap()
}

async fn user_named(
    t: &TestApp,
    name: &str,
) -> Option<dangan_app::administration::accounts::UserView> {
    t.app
        .users(&t.security)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
}

fn create(username: &str, role: &str) -> AccountRequestInput {
    AccountRequestInput {
        kind: "create".into(),
        username: Some(username.into()),
        role: role.into(),
        reason: "岗位调整".into(),
        ..AccountRequestInput::default()
    }
}

fn change(user: UserId, role: &str, disabled: bool) -> AccountRequestInput {
    AccountRequestInput {
        kind: "change".into(),
        user_id: Some(user.0),
        role: role.into(),
        disabled,
        reason: "岗位调整".into(),
        ..AccountRequestInput::default()
    }
}

on_both_backends! {
    async fn a_security_officer_alone_cannot_make_a_stand_in_administrator(db: TestDb) {
        let t = TestApp::start(db).await;
        // Straight away: refused, logged, nothing created.
        let r = t.app.add_user(&t.security, "standin", None, Role::Admin, None).await;
        assert_eq!(code_of(r), "two_officers_required");
        assert!(user_named(&t, "standin").await.is_none());
        // Through a business account of their own making, raised afterwards: refused too.
        t.app.add_user(&t.security, "helper", None, Role::Window, Some(TEST_PASSWORD)).await.unwrap();
        let helper = user_named(&t, "helper").await.unwrap().id;
        assert_eq!(code_of(t.app.set_user_role(&t.security, helper, Role::Admin, false).await), "two_officers_required");
        assert_eq!(user_named(&t, "helper").await.unwrap().role, Role::Window);
        // Through a request approved by themselves: refused.
        let req = t.app.request_account_change(&t.security, &create("standin", "admin")).await.unwrap();
        assert_eq!(req.state.code(), "pending");
        assert!(user_named(&t, "standin").await.is_none(), "a request changes nothing");
        assert_eq!(code_of(t.app.approve_account_request(&t.security, req.id).await), "own_request");
        // The auditor changes nothing; the requester may not approve; the administrator may.
        assert_eq!(code_of(t.app.approve_account_request(&t.auditor, req.id).await), "forbidden");
        assert!(user_named(&t, "standin").await.is_none());
        let done = t.app.approve_account_request(&t.admin, req.id).await.unwrap();
        let password = done.initial_password.expect("the approver gets the one-time password");
        assert_eq!((done.user.role, done.request.state.code()), (Role::Admin, "approved"));
        assert_eq!(done.request.decided_by.as_deref(), Some("admin"));
        let first = t.app.login("standin", &password, "test").await.unwrap();
        assert!(first.must_change_password);
        assert_eq!(code_of(t.app.approve_account_request(&t.admin, req.id).await), "request_decided");
        // The officers' own paths stay closed too: the administrator manages no accounts.
        assert_eq!(code_of(t.app.add_user(&t.admin, "standin2", None, Role::Admin, None).await), "forbidden");
        assert_eq!(code_of(t.app.request_account_change(&t.admin, &create("standin2", "admin")).await), "forbidden");
        // The console (`dangan user add`) acts as the system and needs no second officer.
        t.app.add_user(&Actor::system(), "console-admin", None, Role::Admin, None).await.unwrap();

        // Every refusal is in the log as denied; both steps of the approved request are logged.
        let refused = denied(&t, "user.").await;
        let by_officer: Vec<_> = refused.iter().filter(|e| e.actor_name == "secadmin").map(|e| e.action.as_str()).collect();
        assert!(by_officer.contains(&"user.create"), "{by_officer:?}");
        assert!(by_officer.contains(&"user.update"), "{by_officer:?}");
        assert!(by_officer.contains(&"user.request_approve"), "{by_officer:?}");
        let steps = t.app.search_log(&t.auditor, &LogQuery { action: Some("user.request".into()), outcome: Some("ok".into()), ..LogQuery::default() }).await.unwrap();
        let steps: Vec<(&str, &str)> = steps.iter().map(|e| (e.action.as_str(), e.actor_name.as_str())).collect();
        assert!(steps.contains(&("user.request", "secadmin")), "{steps:?}");
        assert!(steps.contains(&("user.request_approve", "admin")), "{steps:?}");
        let created = t.app.search_log(&t.auditor, &LogQuery { action: Some("user.create".into()), outcome: Some("ok".into()), ..LogQuery::default() }).await.unwrap();
        assert!(created.iter().any(|e| e.actor_name == "admin" && e.detail.contains("standin admin")));
        assert!(created.iter().all(|e| !e.detail.contains(&password)), "no password in the log");
    }

    async fn a_second_security_officer_cannot_change_the_first_ones_role_alone(db: TestDb) {
        let t = TestApp::start(db).await;
        let first = t.security.user_id().unwrap();
        // The first security officer cannot make a second one…
        let r = t.app.add_user(&t.security, "secadmin2", None, Role::SecurityOfficer, None).await;
        assert_eq!(code_of(r), "two_officers_required");
        assert_eq!(code_of(t.app.request_account_change(&t.security, &change(first, "security_officer", false)).await), "own_account");
        // …and a second one (made from the console) cannot act on the first alone.
        let second = t.actor("secadmin2", Role::SecurityOfficer).await;
        assert_eq!(code_of(t.app.set_user_role(&second, first, Role::Window, false).await), "two_officers_required");
        assert_eq!(code_of(t.app.set_user_role(&second, first, Role::SecurityOfficer, true).await), "two_officers_required");
        assert_eq!(code_of(t.app.set_user_role(&second, second.user_id().unwrap(), Role::Admin, false).await), "own_account");
        let req = t.app.request_account_change(&second, &change(first, "window", false)).await.unwrap();
        assert_eq!(code_of(t.app.approve_account_request(&second, req.id).await), "own_request");
        assert_eq!(code_of(t.app.approve_account_request(&t.security, req.id).await), "own_account");
        assert_eq!(code_of(t.app.reject_account_request(&t.security, req.id, None).await), "own_account");
        assert_eq!(user_named(&t, "secadmin").await.unwrap().role, Role::SecurityOfficer);
        assert!(t.app.users(&t.security).await.is_ok(), "the first officer is still in office");

        // A request about an account changed since is stale, and is rejected instead.
        let helper = t.actor("helper", Role::Archivist).await.user_id().unwrap();
        let up = t.app.request_account_change(&second, &change(helper, "auditor", false)).await.unwrap();
        t.app.set_user_role(&second, helper, Role::Handler, false).await.unwrap();
        assert_eq!(code_of(t.app.approve_account_request(&t.admin, up.id).await), "request_stale");
        let rejected = t.app.reject_account_request(&t.admin, up.id, Some("按现状重新申请")).await.unwrap();
        assert_eq!(rejected.state.code(), "rejected");

        // With the administrator's approval it happens, and the first officer's sessions end.
        let session = t.app.login("secadmin", TEST_PASSWORD, "test").await.unwrap().token;
        let done = t.app.approve_account_request(&t.admin, req.id).await.unwrap();
        assert_eq!((done.user.role, done.initial_password), (Role::Window, None));
        assert_eq!(code_of(t.app.authenticate(&session, "test").await), "unauthenticated");
        let now = t.app.login("secadmin", TEST_PASSWORD, "test").await.unwrap().user;
        assert_eq!(now.role, Role::Window);
        assert_eq!(code_of(t.app.users(&now).await), "forbidden");
        let pending = t.app.account_requests(&t.admin, None).await.unwrap();
        assert!(pending.is_empty(), "{pending:?}");
        let all = t.app.account_requests(&t.admin, Some("all")).await.unwrap();
        assert_eq!(all.len(), 2);

        let refused = denied(&t, "user.").await;
        let names: Vec<(&str, &str)> = refused.iter().map(|e| (e.actor_name.as_str(), e.action.as_str())).collect();
        assert!(names.contains(&("secadmin", "user.create")), "{names:?}");
        assert!(names.contains(&("secadmin2", "user.update")), "{names:?}");
        assert!(names.contains(&("secadmin2", "user.request_approve")), "{names:?}");
        assert!(names.contains(&("secadmin", "user.request_approve")), "{names:?}");
    }

    async fn a_security_officer_cannot_issue_a_sync_token_to_post_a_death_record(db: TestDb) {
        let t = TestApp::start(db).await;
        let input = person_input(31, "冯三十一");
        let p = t.app.create_person(&t.admin, &input).await.unwrap();
        let death: PersonChangeBatch = serde_json::from_value(json!({
            "source_system": "pension",
            "records": [{"source_id": "D1", "id_number": input.id_number, "kind": "death", "effective_date": "2025-01-01"}],
        })).unwrap();
        for scopes in [vec!["sync:write"], vec!["archive:write"], vec!["reference:read", "sync:write"]] {
            let scopes: Vec<String> = scopes.into_iter().map(str::to_owned).collect();
            assert_eq!(code_of(t.app.create_token(&t.security, "self-sync", &scopes).await), "machine_scope_admin_only");
        }
        // Nor anything else beyond the officer's own role.
        for scope in ["persons:write", "events:write", "files:write", "persons:search"] {
            assert_eq!(code_of(t.app.create_token(&t.security, "self-write", &[scope.to_owned()]).await), "scope_beyond_issuer", "{scope}");
        }
        assert!(t.app.tokens(&t.security).await.unwrap().is_empty(), "no token was made");
        // The officer cannot post the batch itself either.
        assert_eq!(code_of(t.app.sync_person_changes(&t.security, &death).await), "forbidden");
        t.register(&t.admin, p.id).await;
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().status.code(), "active", "nobody died");
        let refused = denied(&t, "token.create").await;
        assert_eq!(refused.len(), 7);
        assert!(refused.iter().all(|e| e.actor_name == "secadmin"));

        // What the officer may issue: read-only reference tokens. The administrator issues the
        // business system's token, and either may revoke any token.
        t.app.create_token(&t.security, "lookup", &["reference:read".into(), "catalogue:read".into()]).await.unwrap();
        let pension = t.app.create_token(&t.admin, "pension", &["sync:write".into()]).await.unwrap();
        let machine = t.app.authenticate(&pension.secret, "10.0.0.1").await.unwrap();
        assert_eq!(t.app.sync_person_changes(&machine, &death).await.unwrap().accepted, 1);
        t.app.revoke_token(&t.security, pension.token.id).await.unwrap();
        assert_eq!(code_of(t.app.authenticate(&pension.secret, "10.0.0.1").await), "unauthenticated");
    }

    async fn the_security_officer_resets_and_unlocks_business_accounts_but_not_an_officer_account_or_their_own(db: TestDb) {
        let t = TestApp::start(db).await;
        t.app.add_user(&t.security, "clerk9", None, Role::Window, Some(TEST_PASSWORD)).await.unwrap();
        let clerk = user_named(&t, "clerk9").await.unwrap().id;
        let old_session = t.app.login("clerk9", TEST_PASSWORD, "10.0.9.1").await.unwrap();
        // Five wrong passwords lock the account; the officer sees it locked and unlocks it.
        for i in 0..dangan_app::administration::accounts::FREE_ATTEMPTS {
            assert!(t.app.login("clerk9", "wrong-password-9", &format!("10.0.9.{}", i + 2)).await.is_err());
        }
        assert!(user_named(&t, "clerk9").await.unwrap().locked, "locked after repeated failures");
        assert_eq!(code_of(t.app.login("clerk9", TEST_PASSWORD, "10.0.9.20").await), "unauthenticated");
        let unlocked = t.app.unlock_user(&t.security, clerk).await.unwrap();
        assert!(!unlocked.locked && unlocked.locked_until.is_none());
        t.app.login("clerk9", TEST_PASSWORD, "10.0.9.21").await.unwrap();

        // A reset gives a generated password that must be changed, and ends every session.
        let reset = t.app.reset_user_password(&t.security, clerk).await.unwrap();
        assert_ne!(reset.initial_password, TEST_PASSWORD);
        assert_eq!(code_of(t.app.authenticate(&old_session.token, "10.0.9.1").await), "unauthenticated");
        assert_eq!(code_of(t.app.login("clerk9", TEST_PASSWORD, "10.0.9.22").await), "unauthenticated");
        let fresh = t.app.login("clerk9", &reset.initial_password, "10.0.9.23").await.unwrap();
        assert!(fresh.must_change_password, "the reset password must be changed at once");

        // Insider attempts: the officer's own account, an officer account, a stranger's role.
        let own = t.security.user_id().unwrap();
        assert_eq!(code_of(t.app.reset_user_password(&t.security, own).await), "own_account");
        let admin = t.admin.user_id().unwrap();
        assert_eq!(code_of(t.app.reset_user_password(&t.security, admin).await), "two_officers_required");
        assert_eq!(code_of(t.app.unlock_user(&t.security, admin).await), "two_officers_required");
        t.app.login("admin", TEST_PASSWORD, "10.0.9.30").await.expect("the administrator's password is unchanged");
        for other in [&t.admin, &t.auditor] {
            assert_eq!(code_of(t.app.reset_user_password(other, clerk).await), "forbidden");
            assert_eq!(code_of(t.app.unlock_user(other, clerk).await), "forbidden");
        }
        assert_eq!(code_of(t.app.reset_user_password(&t.security, UserId(999_999)).await), "user_not_found");

        // Logged: both done, the officer-account attempts as denied, never the password.
        let done = t.app.search_log(&t.auditor, &LogQuery { action: Some("user.".into()), outcome: Some("ok".into()), limit: Some(100), ..LogQuery::default() }).await.unwrap();
        let actions: Vec<&str> = done.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"user.password_reset") && actions.contains(&"user.unlock"), "{actions:?}");
        assert!(done.iter().all(|e| !e.detail.contains(&reset.initial_password)), "no password in the log");
        let refused = denied(&t, "user.").await;
        let refused: Vec<&str> = refused.iter().map(|e| e.action.as_str()).collect();
        assert!(refused.contains(&"user.password_reset") && refused.contains(&"user.unlock"), "{refused:?}");
    }
}
