//! Every action the application writes to the operation log (操作日志) has its Chinese label in
//! `dangan_domain::operation::AuditAction`: the sources are read for action codes, so that an
//! action added without a label fails here even when no test writes it.

use std::path::Path;

use dangan_domain::code::Code;
use dangan_domain::operation::AuditAction;

/// String literals of the form `word.word` in the sources that are not actions: file names and
/// job kinds.
const NOT_ACTIONS: &[&str] = &[
    "abcd.tmp",
    "custody.tasks",
    "dangan.db",
    "database.pgdump",
    "database.sqlite",
    "jobs.prune",
    "k.der",
    "person_changes.apply",
    "req.tsq",
    "restore.incomplete",
    "token.der",
];

/// The `"a.b"`, `"a.b_c.d"` … literals of a source text.
fn dotted_literals(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .map(str::to_owned)
        .collect()
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

#[test]
fn every_action_the_application_logs_has_a_chinese_label() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut seen = 0;
    let mut unlabelled = Vec::new();
    for (path, text) in &files {
        for literal in dotted_literals(text) {
            if NOT_ACTIONS.contains(&literal.as_str()) {
                continue;
            }
            seen += 1;
            if AuditAction::from_code(&literal).is_none() {
                unlabelled.push(format!("{literal} ({path})"));
            }
        }
    }
    assert!(seen > 50, "the sources were read: {seen} action codes");
    assert!(
        unlabelled.is_empty(),
        "actions without a Chinese label (add them to dangan_domain::operation::AuditAction, \
         or to NOT_ACTIONS here if they are no action): {unlabelled:#?}"
    );
}

#[test]
fn the_literal_scan_finds_actions_and_skips_other_text() {
    let found = dotted_literals(r#"Op::new("person.events.read", "person", id); "文件.pdf" "a.B""#);
    assert_eq!(found, ["person.events.read"]);
}
