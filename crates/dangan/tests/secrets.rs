//! No key material in the source tree (issue 14, item 4): a test run once left four of the
//! agency's private keys committed under `crates/dangan/dangan-data/keys/`. Every file git
//! tracks (or, outside a git checkout, every file of the tree but `target/`) is checked.

use std::path::{Path, PathBuf};

/// Why a file looks like key material, if it does.
fn looks_like_a_key(path: &Path, bytes: &[u8]) -> Option<&'static str> {
    let name = path.to_string_lossy();
    if name.ends_with(".key") || name.contains("/keys/") || name.contains("dangan-data/") {
        return Some("named like a key file or a data directory");
    }
    let text = String::from_utf8_lossy(bytes);
    // The PEM armour, written in two pieces so that this file does not match itself.
    let armour = ["PRIVATE", " KEY-----"].concat();
    if text
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.ends_with(&armour))
    {
        return Some("a PEM private key");
    }
    let t = text.trim();
    // Dangan's key files: 32 random bytes as 64 hex characters, nothing else.
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("64 hex characters alone, like Dangan's key files");
    }
    None
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let git = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    match git {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .collect(),
        // Not a git checkout (an unpacked release): the whole tree but build output.
        _ => {
            let mut out = Vec::new();
            let mut stack = vec![root.to_owned()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                    let path = entry.path();
                    let name = entry.file_name();
                    if name == "target" || name == ".git" {
                        continue;
                    }
                    if path.is_dir() {
                        stack.push(path);
                    } else {
                        out.push(path);
                    }
                }
            }
            out
        }
    }
}

#[test]
fn no_file_in_the_source_tree_looks_like_key_material() {
    let root = workspace();
    let files = tracked_files(&root);
    assert!(files.len() > 50, "the tree was read: {} files", files.len());
    let found: Vec<String> = files
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            looks_like_a_key(p, &bytes).map(|why| format!("{}: {why}", p.display()))
        })
        .collect();
    assert!(
        found.is_empty(),
        "key material in the source tree:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_recognises_the_keys_dangan_writes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dangan_app::KeyRing::load_or_create(&dir.path().join("keys")).unwrap();
    drop(keys);
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .flatten()
    {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "key") {
            let bytes = std::fs::read(&path).unwrap();
            // Moved out of a key directory and renamed, the contents alone still give it away.
            assert!(
                looks_like_a_key(Path::new("crates/x/fixture.txt"), &bytes).is_some(),
                "{}",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 4, "{seen} key files checked");
    assert!(looks_like_a_key(Path::new("src/lib.rs"), b"fn main() {}").is_none());
    let pem = ["-----BEGIN EC ", "PRIVATE KEY-----\nMHcCAQEE\n"].concat();
    assert!(looks_like_a_key(Path::new("certs/tls.txt"), pem.as_bytes()).is_some());
}
