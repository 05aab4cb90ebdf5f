//! What the tests that run `dangan serve` as a real process share.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary, on the embedded SQLite default under `data`, logging warnings only.
pub fn dangan(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
    c.env_remove("DANGAN_DATABASE_URL")
        .env("DANGAN_LOG", "warn")
        .env("DANGAN_DATA_DIR", data);
    c
}

/// Starts `serve` listening on `listen` (`127.0.0.1:0` for any port) and returns it with its
/// base URL once it listens.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned to the caller, which kills and waits for it"
)]
pub fn serve(data: &Path, listen: &str) -> (Child, String) {
    let mut child = dangan(data)
        .args(["serve", "--listen", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn dangan");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints its address");
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address").to_owned();
            return (child, format!("http://{addr}"));
        }
    }
}
