//! Foreign text encodings of agencies' exports: GB18030 (which includes GBK) beside UTF-8. The
//! import decides which encoding a file has and splits it into records; this decodes.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Whether the whole file is UTF-8 (read in 1 MiB pieces; a character split between pieces is
/// carried over). About a second per GB; run once per import, not on resume.
pub(crate) fn is_utf8(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0;
    loop {
        let n = f.read(&mut buf[carry..])?;
        if n == 0 {
            return Ok(carry == 0);
        }
        let len = carry + n;
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..len, 0);
                carry = len - valid;
            }
            Err(_) => return Ok(false),
        }
    }
}

/// Decodes GB18030 bytes; `None` when they are not valid GB18030.
pub(crate) fn decode_gb18030(bytes: &[u8]) -> Option<String> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
}
