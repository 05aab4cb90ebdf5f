//! Accounts from the security officer's page: a forgotten password reset, a locked account
//! unlocked (issue 18, defect 8).

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_officer_resets_a_forgotten_password_and_unlocks_a_locked_clerk() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let clerk = t.actor("clerk7", Role::Window).await;
    let clerk_id = clerk.user_id().unwrap().0;
    // The clerk forgot the password and locked the account trying.
    for i in 0..dangan_app::administration::accounts::FREE_ATTEMPTS {
        assert!(
            t.app
                .login("clerk7", "forgotten-pass-7", &format!("10.7.0.{i}"))
                .await
                .is_err()
        );
    }
    let admin_id = t.admin.user_id().unwrap().0;
    let server = TestServer::spawn(t).await;
    let b = browser(1366, 900).await;
    let c = &b.client;
    let base = &server.base_url;

    staff_login(c, base, "secadmin").await;
    c.goto(&format!("{base}/users")).await.unwrap();
    let row = expect_text(c, "#users", "clerk7").await;
    assert!(row.contains("已锁定"), "{row}");
    screenshot(c, "30-users-locked").await;
    click(c, &format!("#unlock-{clerk_id}")).await;
    expect_text(c, "#notice", "已解锁账号 clerk7").await;
    let users = expect_text(c, "#users", "clerk7").await;
    assert!(!users.contains("已锁定"), "{users}");

    // The reset asks first, then shows the new password once.
    click(c, &format!("#reset-{clerk_id}")).await;
    c.accept_alert().await.unwrap();
    expect_text(c, "#created", "初始密码").await;
    let password = c
        .find(Locator::Css("#initial-password"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    screenshot(c, "31-users-reset").await;
    c.goto(&format!("{base}/users")).await.unwrap();
    let again = expect_text(c, "main", "用户与角色").await;
    assert!(
        !again.contains(&password),
        "the password is shown only once"
    );
    // Officer accounts offer no reset: they need a second officer.
    assert!(
        c.find(Locator::Css(&format!("#reset-{admin_id}")))
            .await
            .is_err()
    );
    logout(c).await;

    // The clerk signs in with it and must change it first.
    c.goto(&format!("{base}/")).await.unwrap();
    fill(c, "#username", "clerk7").await;
    fill(c, "#password", &password).await;
    click(c, "#login-form button").await;
    expect_text(c, "main h1", "修改密码").await;
    fill(c, "#current_password", &password).await;
    fill(c, "#new_password", "clerk-own-pass-77").await;
    click(c, "main form button").await;
    expect_text(c, "header", "clerk7").await;
}
