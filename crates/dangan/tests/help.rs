//! What a newcomer reads first: `dangan --help` lists every subcommand with a line in English and
//! Chinese, and `--data-dir` says what lives in the data directory.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(args)
        .arg("--help")
        .env_remove("DANGAN_DATA_DIR")
        .output()
        .expect("run dangan");
    assert!(out.status.success(), "dangan {args:?} --help failed");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The subcommands listed under `Commands:` with their descriptions.
fn listed(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let l = l.trim_start();
            let (name, about) = l.split_once(' ')?;
            Some((name.to_owned(), about.trim().to_owned()))
        })
        .collect()
}

fn chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn dangan_help_lists_every_subcommand_with_an_english_and_chinese_line() {
    let top = help(&[]);
    assert!(
        top.starts_with("Dangan (档案) — 城乡居民基本养老保险档案管理系统"),
        "{top}"
    );
    let names: Vec<String> = listed(&top).into_iter().map(|(n, _)| n).collect();
    for name in [
        "serve",
        "migrate",
        "user",
        "demo-data",
        "ingest",
        "import",
        "verify",
        "gc",
        "key",
        "cert",
        "audit",
        "backup",
        "restore",
        "simulate",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from:\n{top}"
        );
    }
    // Every listed subcommand, and every one below it, has its line in both languages.
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        for (name, about) in listed(&text) {
            if name == "help" {
                continue;
            }
            seen += 1;
            assert!(
                chinese(&about) && about.chars().any(|c| c.is_ascii_alphabetic()),
                "`dangan {} {name}`: {about:?}",
                path.join(" ")
            );
            let mut next = path.clone();
            next.push(name);
            todo.push(next);
        }
    }
    assert!(seen >= 24, "{seen} subcommands listed");
}

#[test]
fn the_data_dir_help_says_what_lives_in_the_data_directory() {
    for args in [&["serve"][..], &["migrate"], &["backup"]] {
        let text = help(args);
        let at = text.find("--data-dir").expect("--data-dir documented");
        let entry = &text[at..text[at..].find("\n      --").map_or(text.len(), |e| at + e)];
        for part in [
            "dangan.db",
            "vault/blobs",
            "vault/tmp",
            "keys/",
            "--key-dir",
            "数据目录",
        ] {
            assert!(entry.contains(part), "{part} in {entry}");
        }
    }
}
