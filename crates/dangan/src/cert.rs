//! `dangan cert self-signed --out-dir DIR`: a certificate and key for a test or pilot set-up
//! (`serve --tls-cert DIR/cert.pem --tls-key DIR/key.pem`). Production uses a certificate from
//! the agency's CA.

use std::path::PathBuf;

use anyhow::Context;

/// Certificate subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CertCommand {
    /// Write a self-signed certificate and its key (生成自签名证书).
    SelfSigned(SelfSignedArgs),
}

/// Arguments of `cert self-signed`.
#[derive(Debug, clap::Args)]
pub struct SelfSignedArgs {
    /// Where to write `cert.pem` and `key.pem` (the key with mode 0600).
    #[arg(long)]
    out_dir: PathBuf,
    /// Host names and addresses the certificate is valid for.
    #[arg(long = "host", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned()])]
    hosts: Vec<String>,
}

/// Runs a cert subcommand.
pub fn run(cmd: CertCommand) -> anyhow::Result<()> {
    match cmd {
        CertCommand::SelfSigned(args) => self_signed(args),
    }
}

fn self_signed(args: SelfSignedArgs) -> anyhow::Result<()> {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(args.hosts.clone()).context("无法生成证书")?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("无法创建目录 {}", args.out_dir.display()))?;
    let cert_path = args.out_dir.join("cert.pem");
    let key_path = args.out_dir.join("key.pem");
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("无法写入 {}", cert_path.display()))?;
    write_private(&key_path, signing_key.serialize_pem().as_bytes())?;
    println!(
        "已生成自签名证书 {}（适用于 {}）和私钥 {}",
        cert_path.display(),
        args.hosts.join("、"),
        key_path.display()
    );
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("无法写入 {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("无法写入 {}", path.display()))
}
