//! 可信时间戳 — RFC 3161 time-stamps on the log's anchors.
//!
//! With `--tsa-url`, each new anchor's digest is sent to a time-stamping authority
//! (`POST`, `application/timestamp-query`); the token it answers (the DER `TimeStampToken`)
//! is kept with the anchor and its witness copies. The token proves that the anchor existed at
//! the authority's time, so an insider who holds the signing key still cannot back-date a
//! rewritten log past it.
//!
//! The request and the few fields read back are DER written and read here (a handful of
//! structures; no ASN.1 library needed). Checking the authority's signature over a token is
//! delegated to OpenSSL (`openssl ts -verify`) with the authority's CA certificate; when either
//! is missing the check says `skipped` and why.

use std::path::Path;
use std::time::Duration;

/// DER of the SHA-256 `AlgorithmIdentifier` (OID 2.16.840.1.101.3.4.2.1, NULL parameters).
const SHA256_ALG: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];
/// The OID of SHA-256, as content bytes.
const SHA256_OID: [u8; 9] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A positive DER INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() {
        b.push(0);
    }
    if b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

/// A `TimeStampReq` for a SHA-256 digest, with a nonce, asking for the authority's
/// certificate in the token.
pub fn request(digest: &[u8; 32], nonce: &[u8; 8]) -> Vec<u8> {
    let mut imprint = SHA256_ALG.to_vec();
    imprint.extend(tlv(0x04, digest));
    let mut body = integer(&[1]);
    body.extend(tlv(0x30, &imprint));
    body.extend(integer(nonce));
    body.extend([0x01, 0x01, 0xff]);
    tlv(0x30, &body)
}

/// One DER element: tag, content, and the whole encoding.
#[derive(Debug, Clone, Copy)]
struct Der<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

fn read(input: &[u8]) -> Option<(Der<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((
        Der {
            tag,
            content: &rest[..len],
            whole: &input[..header + len],
        },
        &rest[len..],
    ))
}

fn children(content: &[u8]) -> Option<Vec<Der<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (d, r) = read(rest)?;
        out.push(d);
        rest = r;
    }
    Some(out)
}

/// Why a time-stamp answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsaError {
    /// The authority could not be reached or answered an HTTP error.
    #[error("时间戳服务不可用：{0}")]
    Unavailable(String),
    /// The answer is not a `TimeStampResp`.
    #[error("时间戳服务的应答格式不正确")]
    Malformed,
    /// The authority refused (PKIStatus other than granted).
    #[error("时间戳服务拒绝签发（状态 {0}）")]
    Refused(u8),
    /// The token is for another digest or another nonce.
    #[error("时间戳与锚点摘要不符")]
    Mismatch,
}

/// The fields of a token that are checked without the authority's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The time-stamped digest.
    pub digest: Vec<u8>,
    /// The authority's time (GeneralizedTime, e.g. `20261205083000Z`).
    pub gen_time: String,
    /// The nonce, as big-endian bytes without leading zeros.
    pub nonce: Option<Vec<u8>>,
}

/// Reads the token out of a `TimeStampResp`; refuses a status other than granted (0, 1).
pub fn token_of_response(resp: &[u8]) -> Result<Vec<u8>, TsaError> {
    let (outer, _) = read(resp).ok_or(TsaError::Malformed)?;
    let parts = children(outer.content).ok_or(TsaError::Malformed)?;
    let status_info = parts.first().ok_or(TsaError::Malformed)?;
    let status = children(status_info.content)
        .and_then(|c| c.first().copied())
        .filter(|d| d.tag == 0x02)
        .and_then(|d| d.content.last().copied())
        .ok_or(TsaError::Malformed)?;
    if status > 1 {
        return Err(TsaError::Refused(status));
    }
    parts
        .get(1)
        .map(|t| t.whole.to_vec())
        .ok_or(TsaError::Malformed)
}

/// Reads the digest, time and nonce from a `TimeStampToken` (a CMS `SignedData` whose content
/// is the DER `TSTInfo`).
pub fn token_info(token: &[u8]) -> Result<TokenInfo, TsaError> {
    let m = || TsaError::Malformed;
    let (content_info, _) = read(token).ok_or_else(m)?;
    let ci = children(content_info.content).ok_or_else(m)?;
    let explicit = ci.get(1).filter(|d| d.tag == 0xa0).ok_or_else(m)?;
    let (signed_data, _) = read(explicit.content).ok_or_else(m)?;
    let sd = children(signed_data.content).ok_or_else(m)?;
    let encap = sd.get(2).filter(|d| d.tag == 0x30).ok_or_else(m)?;
    let ec = children(encap.content).ok_or_else(m)?;
    let econtent = ec.get(1).filter(|d| d.tag == 0xa0).ok_or_else(m)?;
    let (octets, _) = read(econtent.content).ok_or_else(m)?;
    if octets.tag != 0x04 {
        return Err(m());
    }
    let (tst, _) = read(octets.content).ok_or_else(m)?;
    let fields = children(tst.content).ok_or_else(m)?;
    let imprint = fields.get(2).filter(|d| d.tag == 0x30).ok_or_else(m)?;
    let ip = children(imprint.content).ok_or_else(m)?;
    let alg = ip.first().and_then(|a| children(a.content)).ok_or_else(m)?;
    if alg.first().map(|o| o.content) != Some(&SHA256_OID[..]) {
        return Err(TsaError::Mismatch);
    }
    let digest = ip
        .get(1)
        .filter(|d| d.tag == 0x04)
        .ok_or_else(m)?
        .content
        .to_vec();
    let gen_time = fields
        .get(4)
        .filter(|d| d.tag == 0x18)
        .map(|d| String::from_utf8_lossy(d.content).into_owned())
        .ok_or_else(m)?;
    // After genTime: accuracy (SEQUENCE), ordering (BOOLEAN), nonce (INTEGER), … in order.
    let nonce = fields[5..]
        .iter()
        .find(|d| d.tag == 0x02)
        .map(|d| d.content.iter().copied().skip_while(|b| *b == 0).collect());
    Ok(TokenInfo {
        digest,
        gen_time,
        nonce,
    })
}

/// Asks the authority at `url` to time-stamp `digest`; returns the checked token (DER).
pub async fn timestamp(url: &str, digest: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| TsaError::Unavailable(e.to_string()))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TsaError::Unavailable(e.to_string()))?;
    let resp = client
        .post(url)
        .header("content-type", "application/timestamp-query")
        .body(request(digest, &nonce))
        .send()
        .await
        .map_err(|e| TsaError::Unavailable(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(TsaError::Unavailable(format!("HTTP {}", resp.status())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| TsaError::Unavailable(e.without_url().to_string()))?;
    let token = token_of_response(&body)?;
    let info = token_info(&token)?;
    let sent: Vec<u8> = nonce.iter().copied().skip_while(|b| *b == 0).collect();
    if info.digest != digest || info.nonce.as_deref() != Some(&sent[..]) {
        return Err(TsaError::Mismatch);
    }
    Ok(token)
}

/// The outcome of checking a token's signature with OpenSSL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The authority's signature holds under the CA.
    Valid,
    /// It does not (OpenSSL's message).
    Invalid(String),
    /// It could not be checked (why).
    Skipped(String),
}

/// Checks a token's signature and certificate chain with `openssl ts -verify` against the
/// authority's CA certificate.
pub async fn verify_signature(token: &[u8], digest: &[u8], ca: &Path) -> SignatureCheck {
    let Ok(dir) = tempfile_dir() else {
        return SignatureCheck::Skipped("无法建立临时目录".to_owned());
    };
    let path = dir.join("token.der");
    if std::fs::write(&path, token).is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        return SignatureCheck::Skipped("无法写入临时文件".to_owned());
    }
    let out = tokio::process::Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-digest"])
        .arg(hex::encode(digest))
        .arg("-in")
        .arg(&path)
        .arg("-CAfile")
        .arg(ca)
        .output()
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            SignatureCheck::Skipped("未安装 openssl，无法验证时间戳签名".to_owned())
        }
        Err(e) => SignatureCheck::Skipped(format!("无法运行 openssl：{e}")),
        Ok(o) if o.status.success() => SignatureCheck::Valid,
        Ok(o) => SignatureCheck::Invalid(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
        ),
    }
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let mut name = [0u8; 8];
    getrandom::fill(&mut name).map_err(std::io::Error::other)?;
    let dir = std::env::temp_dir().join(format!("dangan-tsa-{}", hex::encode(name)));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_der_that_openssl_reads() {
        let digest = [0xab; 32];
        let req = request(&digest, &[0, 0, 0, 0, 0, 0, 0x12, 0x34]);
        let dir = tempfile_dir().unwrap();
        let path = dir.join("req.tsq");
        std::fs::write(&path, &req).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["ts", "-query", "-text", "-in"])
            .arg(&path)
            .output()
            .expect("openssl is installed");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("sha256"), "{text}");
        assert!(text.contains("0x1234"), "{text}");
        assert!(text.contains("Certificate required: yes"), "{text}");
    }

    #[test]
    fn lengths_above_127_use_the_long_form() {
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (d, rest) = read(&long).unwrap();
        assert_eq!(d.content.len(), 300);
        assert!(rest.is_empty());
    }

    #[test]
    fn a_refusal_or_garbage_is_not_a_token() {
        assert_eq!(token_of_response(b"junk"), Err(TsaError::Malformed));
        // TimeStampResp { status { 2 (rejection) } }
        let refused = tlv(0x30, &tlv(0x30, &integer(&[2])));
        assert_eq!(token_of_response(&refused), Err(TsaError::Refused(2)));
    }
}
