//! ClamAV — the `clamscan` process, fed a scan's decrypted bytes on its standard input. Used
//! only when `clamscan` is on the `PATH`; the four-property report says plainly when it was not.

use std::process::Stdio;

use tokio::process::{Child, ChildStdin, Command};

/// A running `clamscan` reading one stream.
pub(crate) struct ClamScan {
    child: Child,
    stdin: ChildStdin,
}

impl ClamScan {
    /// Starts `clamscan` when it is installed; `None` when it is not (or does not start).
    pub(crate) fn start() -> Option<ClamScan> {
        let installed = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|p| p.join("clamscan").is_file())
        });
        if !installed {
            return None;
        }
        let mut child = Command::new("clamscan")
            .args(["--no-summary", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        Some(ClamScan { child, stdin })
    }

    /// Where the bytes to scan are written.
    pub(crate) fn input(&mut self) -> &mut ChildStdin {
        &mut self.stdin
    }

    /// Ends the input and waits for the verdict: `Ok(())` clean, `Err` with what was found (or
    /// why the bytes could not be fed, `fed`); `None` when the process could not be waited for.
    pub(crate) async fn verdict(self, fed: Result<(), String>) -> Option<Result<(), String>> {
        drop(self.stdin);
        let out = self.child.wait_with_output().await.ok()?;
        Some(match (fed, out.status.code()) {
            (Err(e), _) => Err(format!("无法读取文件：{e}")),
            (Ok(()), Some(0)) => Ok(()),
            (Ok(()), Some(1)) => Err(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
            (Ok(()), _) => Err("扫描出错".to_owned()),
        })
    }
}
