use super::*;

#[test]
fn window_staff_may_read_but_not_write() {
    assert_eq!(grant(Role::Window, UseCase::ReadArchive), Grant::Registered);
    assert!(!allowed(Role::Window, UseCase::WritePersons));
    assert!(!allowed(Role::Window, UseCase::WriteEvents));
}

#[test]
fn the_auditor_changes_nothing_and_reads_no_personal_data() {
    for uc in [
        UseCase::WritePersons,
        UseCase::WriteEvents,
        UseCase::EditCatalogue,
        UseCase::ReadArchive,
        UseCase::SearchPersons,
        UseCase::ManageUsers,
    ] {
        assert!(!allowed(Role::Auditor, uc), "{uc:?}");
    }
    assert!(allowed(Role::Auditor, UseCase::VerifyLog));
}

#[test]
fn only_the_administrator_edits_the_catalogue_and_calendar() {
    for r in Role::ALL {
        let expected = r == Role::Admin;
        assert_eq!(allowed(r, UseCase::EditCatalogue), expected, "{r:?}");
        assert_eq!(allowed(r, UseCase::EditCalendar), expected, "{r:?}");
    }
}

#[test]
fn the_three_officers_are_separate() {
    assert!(!allowed(Role::Admin, UseCase::ReadLog));
    assert!(!allowed(Role::Admin, UseCase::ManageUsers));
    assert!(!allowed(Role::SecurityOfficer, UseCase::ReadArchive));
    assert!(!allowed(Role::SecurityOfficer, UseCase::ReadLog));
    assert!(!allowed(Role::Auditor, UseCase::ManageUsers));
}

#[test]
fn an_officer_change_takes_a_requesting_and_an_approving_officer() {
    assert!(allowed(
        Role::SecurityOfficer,
        UseCase::RequestOfficerChange
    ));
    assert!(!allowed(Role::Admin, UseCase::RequestOfficerChange));
    assert!(allowed(Role::Admin, UseCase::ApproveOfficerChange));
    assert!(allowed(
        Role::SecurityOfficer,
        UseCase::ApproveOfficerChange
    ));
    assert!(!allowed(Role::Auditor, UseCase::ApproveOfficerChange));
    for r in Role::ALL.into_iter().filter(|r| !r.is_officer()) {
        assert!(!allowed(r, UseCase::RequestOfficerChange), "{r:?}");
        assert!(!allowed(r, UseCase::ApproveOfficerChange), "{r:?}");
        assert!(!allowed(r, UseCase::ManageUsers), "{r:?}");
    }
}

#[test]
fn among_token_issuers_only_the_administrator_holds_the_machine_scopes() {
    for r in Role::ALL
        .into_iter()
        .filter(|r| allowed(*r, UseCase::ManageTokens))
    {
        for scope in crate::administration::tokens::MACHINE_SCOPES {
            let uc = UseCase::from_scope(scope).unwrap();
            assert_eq!(
                grant(r, uc) == Grant::Yes,
                r == Role::Admin,
                "{r:?} {scope}"
            );
        }
    }
    assert!(allowed(Role::SecurityOfficer, UseCase::ManageTokens));
}

#[test]
fn insured_persons_reach_only_their_own_archive() {
    for uc in UseCase::ALL {
        let g = grant(Role::Insured, uc);
        assert!(matches!(g, Grant::No | Grant::Own | Grant::Yes), "{uc:?}");
    }
    assert_eq!(grant(Role::Insured, UseCase::ReadArchive), Grant::Own);
    assert!(!allowed(Role::Insured, UseCase::SearchPersons));
}

#[test]
fn permissions_doc_matches_the_matrix() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md");
    let rendered = render_matrix_markdown();
    if std::env::var("DANGAN_WRITE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/permissions.md is out of date: run DANGAN_WRITE_DOCS=1 cargo test -p dangan-app permissions_doc"
    );
}
