//! Encryption at rest (S7.4, X6): a chunked AEAD stream with AES-256-GCM (default) or SM4-GCM.
//!
//! The format is documented in `docs/vault-format.md`. In short: an 18-byte header
//! (`DGVB`, version 1, cipher id, chunk size, 7-byte random nonce prefix, a reserved zero byte),
//! then records of
//! `chunk ciphertext ‖ 16-byte tag`. The nonce of record *i* is `prefix ‖ i (u32 BE) ‖ last`, where
//! `last` is 1 only for the final record (the STREAM construction), and the header is the
//! associated data of every record. Reordered records fail their tag (the counter is in the
//! nonce); a stream cut at a record boundary fails too (its new last record was sealed with
//! `last = 0`); a changed header fails every record.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};

/// SM4 in GCM mode with a 96-bit nonce (RFC 8998).
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// Plaintext bytes per record.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Header length in bytes.
pub const HEADER_LEN: usize = 18;
const TAG_LEN: usize = 16;
const MAGIC: &[u8; 4] = b"DGVB";
const VERSION: u8 = 1;

/// The cipher of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-256-GCM (256-bit data key).
    Aes256Gcm,
    /// SM4-GCM, GB/T 32907 in GCM mode (128-bit data key).
    Sm4Gcm,
}

impl Cipher {
    /// The id stored in the header.
    pub fn id(self) -> u8 {
        match self {
            Cipher::Aes256Gcm => 1,
            Cipher::Sm4Gcm => 2,
        }
    }

    /// The stable name (configuration, database).
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::Sm4Gcm => "sm4-gcm",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Cipher> {
        match s.trim() {
            "aes-256-gcm" => Some(Cipher::Aes256Gcm),
            "sm4-gcm" => Some(Cipher::Sm4Gcm),
            _ => None,
        }
    }

    fn from_id(id: u8) -> Option<Cipher> {
        match id {
            1 => Some(Cipher::Aes256Gcm),
            2 => Some(Cipher::Sm4Gcm),
            _ => None,
        }
    }

    /// The data key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes256Gcm => 32,
            Cipher::Sm4Gcm => 16,
        }
    }
}

/// Why a blob could not be encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Not a blob of this format, or an unknown version or cipher.
    #[error("not a Dangan blob or an unknown version: {0}")]
    BadHeader(&'static str),
    /// A record failed authentication: the blob was changed, reordered or truncated.
    #[error("record {0} failed authentication (changed, reordered or truncated)")]
    Tampered(u32),
    /// The key has the wrong length for the cipher.
    #[error("wrong key length")]
    BadKey,
    /// More records than the counter allows (256 TiB at 64 KiB per record).
    #[error("blob too large")]
    TooLarge,
    /// The random source failed.
    #[error("random source failed")]
    Random,
}

enum Engine {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

impl Engine {
    fn new(cipher: Cipher, key: &[u8]) -> Result<Engine, CryptoError> {
        if key.len() != cipher.key_len() {
            return Err(CryptoError::BadKey);
        }
        Ok(match cipher {
            Cipher::Aes256Gcm => Engine::Aes(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey)?,
            )),
            Cipher::Sm4Gcm => Engine::Sm4(Box::new(
                Sm4Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey)?,
            )),
        })
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, ()> {
        let nonce = Nonce::<U12>::try_from(&nonce[..]).map_err(|_| ())?;
        let payload = Payload { msg, aad };
        match self {
            Engine::Aes(c) => c.encrypt(&nonce, payload).map_err(|_| ()),
            Engine::Sm4(c) => c.encrypt(&nonce, payload).map_err(|_| ()),
        }
    }

    fn open(&self, nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, ()> {
        let nonce = Nonce::<U12>::try_from(&nonce[..]).map_err(|_| ())?;
        let payload = Payload { msg, aad };
        match self {
            Engine::Aes(c) => c.decrypt(&nonce, payload).map_err(|_| ()),
            Engine::Sm4(c) => c.decrypt(&nonce, payload).map_err(|_| ()),
        }
    }
}

/// Fresh random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Encrypts a stream: feed plaintext with [`Encryptor::update`], end with
/// [`Encryptor::finish`]; each call returns the bytes to append to the blob. Memory stays
/// bounded by one record.
pub struct Encryptor {
    engine: Engine,
    header: [u8; HEADER_LEN],
    prefix: [u8; 7],
    counter: u32,
    pending: Vec<u8>,
    started: bool,
}

impl Encryptor {
    /// A new stream under `key` (a fresh random data key per blob).
    pub fn new(cipher: Cipher, key: &[u8]) -> Result<Encryptor, CryptoError> {
        let engine = Engine::new(cipher, key)?;
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&random_bytes(7)?);
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5] = cipher.id();
        header[6..10].copy_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
        header[10..17].copy_from_slice(&prefix);
        // header[17] is reserved (zero).
        Ok(Encryptor {
            engine,
            header,
            prefix,
            counter: 0,
            pending: Vec::with_capacity(CHUNK_SIZE * 2),
            started: false,
        })
    }

    fn record(&mut self, chunk: &[u8], last: bool) -> Result<Vec<u8>, CryptoError> {
        let n = nonce(&self.prefix, self.counter, last);
        let out = self
            .engine
            .seal(&n, &self.header, chunk)
            .map_err(|()| CryptoError::TooLarge)?;
        self.counter = self.counter.checked_add(1).ok_or(CryptoError::TooLarge)?;
        Ok(out)
    }

    /// Accepts plaintext; returns the blob bytes ready to be written.
    ///
    /// Whole records are sealed straight from `data`; only a partial record at either end is
    /// copied (into `pending`), so each byte is copied once however large the slices are.
    pub fn update(&mut self, mut data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let records = (self.pending.len() + data.len()) / CHUNK_SIZE + 1;
        let mut out = Vec::with_capacity(HEADER_LEN + data.len() + records * TAG_LEN);
        if !self.started {
            out.extend_from_slice(&self.header);
            self.started = true;
        }
        // Keep at least one byte back: the last record is only known at `finish`.
        if !self.pending.is_empty() {
            let take = (CHUNK_SIZE - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if data.is_empty() {
                return Ok(out);
            }
            let mut chunk = std::mem::take(&mut self.pending);
            out.extend_from_slice(&self.record(&chunk, false)?);
            chunk.clear();
            self.pending = chunk;
        }
        while data.len() > CHUNK_SIZE {
            out.extend_from_slice(&self.record(&data[..CHUNK_SIZE], false)?);
            data = &data[CHUNK_SIZE..];
        }
        self.pending.extend_from_slice(data);
        Ok(out)
    }

    /// Ends the stream; returns the final bytes (the last record).
    pub fn finish(mut self) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        if !self.started {
            out.extend_from_slice(&self.header);
        }
        let chunk = std::mem::take(&mut self.pending);
        out.extend_from_slice(&self.record(&chunk, true)?);
        Ok(out)
    }
}

/// Decrypts a stream produced by [`Encryptor`]; feed ciphertext in any slices.
pub struct Decryptor {
    key: Vec<u8>,
    engine: Option<Engine>,
    header: Vec<u8>,
    prefix: [u8; 7],
    counter: u32,
    pending: Vec<u8>,
}

impl Decryptor {
    /// A decryptor under the blob's data key.
    pub fn new(key: &[u8]) -> Decryptor {
        Decryptor {
            key: key.to_vec(),
            engine: None,
            header: Vec::with_capacity(HEADER_LEN),
            prefix: [0; 7],
            counter: 0,
            pending: Vec::new(),
        }
    }

    fn take_header(&mut self) -> Result<(), CryptoError> {
        if self.engine.is_some() || self.pending.len() < HEADER_LEN {
            return Ok(());
        }
        let h: Vec<u8> = self.pending.drain(..HEADER_LEN).collect();
        if &h[..4] != MAGIC {
            return Err(CryptoError::BadHeader("magic"));
        }
        if h[4] != VERSION {
            return Err(CryptoError::BadHeader("version"));
        }
        let cipher = Cipher::from_id(h[5]).ok_or(CryptoError::BadHeader("cipher"))?;
        if u32::from_be_bytes([h[6], h[7], h[8], h[9]]) as usize != CHUNK_SIZE {
            return Err(CryptoError::BadHeader("chunk size"));
        }
        if h[17] != 0 {
            return Err(CryptoError::BadHeader("reserved byte"));
        }
        self.prefix.copy_from_slice(&h[10..17]);
        self.engine = Some(Engine::new(cipher, &self.key)?);
        self.header = h;
        Ok(())
    }

    fn record(&mut self, rec: &[u8], last: bool) -> Result<Vec<u8>, CryptoError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or(CryptoError::BadHeader("missing"))?;
        let n = nonce(&self.prefix, self.counter, last);
        let plain = engine
            .open(&n, &self.header, rec)
            .map_err(|()| CryptoError::Tampered(self.counter))?;
        self.counter = self.counter.checked_add(1).ok_or(CryptoError::TooLarge)?;
        Ok(plain)
    }

    /// Accepts ciphertext; returns the plaintext that is certain (all but the last record).
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pending.extend_from_slice(data);
        self.take_header()?;
        let mut out = Vec::new();
        if self.engine.is_none() {
            return Ok(out);
        }
        let full = CHUNK_SIZE + TAG_LEN;
        // Records are opened where they lie; what is left moves to the front once.
        let mut pending = std::mem::take(&mut self.pending);
        let mut at = 0;
        while pending.len() - at > full {
            out.extend_from_slice(&self.record(&pending[at..at + full], false)?);
            at += full;
        }
        pending.drain(..at);
        self.pending = pending;
        Ok(out)
    }

    /// Ends the stream; returns the last record's plaintext. Fails if the stream was cut.
    pub fn finish(mut self) -> Result<Vec<u8>, CryptoError> {
        self.take_header()?;
        if self.engine.is_none() {
            return Err(CryptoError::BadHeader("too short"));
        }
        let rec = std::mem::take(&mut self.pending);
        if rec.len() < TAG_LEN {
            return Err(CryptoError::Tampered(self.counter));
        }
        self.record(&rec, true)
    }
}

/// Decrypts one record of a blob by its index, for reading a range without the records before
/// it. `header` is the blob's first [`HEADER_LEN`] bytes; `last` says whether this is the final
/// record (a wrong claim fails authentication, so a cut blob is still detected).
pub fn open_record(
    key: &[u8],
    header: &[u8],
    index: u32,
    last: bool,
    record: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut d = Decryptor::new(key);
    d.pending.extend_from_slice(header);
    d.take_header()?;
    if d.engine.is_none() {
        return Err(CryptoError::BadHeader("too short"));
    }
    d.counter = index;
    d.record(record, last)
}

/// Bytes of a full record on disk (plaintext chunk plus tag).
pub const RECORD_LEN: usize = CHUNK_SIZE + TAG_LEN;

/// Wraps a data key under the master key (AES-256-GCM, random nonce): `nonce ‖ ciphertext ‖ tag`.
pub fn wrap_key(master: &[u8; 32], data_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let engine = Engine::new(Cipher::Aes256Gcm, master)?;
    let mut n = [0u8; 12];
    n.copy_from_slice(&random_bytes(12)?);
    let ct = engine
        .seal(&n, b"dangan-key-wrap-v1", data_key)
        .map_err(|()| CryptoError::BadKey)?;
    let mut out = n.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Unwraps a data key; fails if the wrapped key or the master key is wrong.
pub fn unwrap_key(master: &[u8; 32], wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if wrapped.len() < 12 + TAG_LEN {
        return Err(CryptoError::BadKey);
    }
    let engine = Engine::new(Cipher::Aes256Gcm, master)?;
    let mut n = [0u8; 12];
    n.copy_from_slice(&wrapped[..12]);
    engine
        .open(&n, b"dangan-key-wrap-v1", &wrapped[12..])
        .map_err(|()| CryptoError::BadKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encrypt(cipher: Cipher, key: &[u8], data: &[u8], step: usize) -> Vec<u8> {
        let mut e = Encryptor::new(cipher, key).unwrap();
        let mut out = Vec::new();
        for part in data.chunks(step.max(1)) {
            out.extend(e.update(part).unwrap());
        }
        out.extend(e.finish().unwrap());
        out
    }

    fn decrypt(key: &[u8], blob: &[u8], step: usize) -> Result<Vec<u8>, CryptoError> {
        let mut d = Decryptor::new(key);
        let mut out = Vec::new();
        for part in blob.chunks(step.max(1)) {
            out.extend(d.update(part)?);
        }
        out.extend(d.finish()?);
        Ok(out)
    }

    #[test]
    fn sm4_gcm_matches_the_rfc_8998_test_vector() {
        // RFC 8998 Appendix A.1.
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let iv = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let pt = hex::decode("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA").unwrap();
        let engine = Engine::new(Cipher::Sm4Gcm, &key).unwrap();
        let mut n = [0u8; 12];
        n.copy_from_slice(&iv);
        let out = engine.seal(&n, &aad, &pt).unwrap();
        let (ct, tag) = out.split_at(out.len() - 16);
        assert_eq!(
            hex::encode_upper(ct),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        );
        assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
    }

    #[test]
    fn both_ciphers_round_trip_empty_small_and_multi_chunk_data() {
        for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
            let key = random_bytes(cipher.key_len()).unwrap();
            for len in [
                0,
                1,
                CHUNK_SIZE - 1,
                CHUNK_SIZE,
                CHUNK_SIZE + 1,
                3 * CHUNK_SIZE + 17,
            ] {
                let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                let blob = encrypt(cipher, &key, &data, 10_000);
                assert_eq!(
                    decrypt(&key, &blob, 7_777).unwrap(),
                    data,
                    "{cipher:?} {len}"
                );
            }
        }
    }

    #[test]
    fn a_flipped_byte_a_swapped_record_or_a_cut_stream_is_detected() {
        let key = random_bytes(32).unwrap();
        let data = vec![7u8; 3 * CHUNK_SIZE + 5];
        let blob = encrypt(Cipher::Aes256Gcm, &key, &data, CHUNK_SIZE);
        let mut flipped = blob.clone();
        flipped[HEADER_LEN + 100] ^= 1;
        assert!(matches!(
            decrypt(&key, &flipped, 4096),
            Err(CryptoError::Tampered(0))
        ));
        let rec = CHUNK_SIZE + TAG_LEN;
        let mut swapped = blob[..HEADER_LEN].to_vec();
        swapped.extend_from_slice(&blob[HEADER_LEN + rec..HEADER_LEN + 2 * rec]);
        swapped.extend_from_slice(&blob[HEADER_LEN..HEADER_LEN + rec]);
        swapped.extend_from_slice(&blob[HEADER_LEN + 2 * rec..]);
        assert!(matches!(
            decrypt(&key, &swapped, 4096),
            Err(CryptoError::Tampered(0))
        ));
        let cut = &blob[..HEADER_LEN + 2 * rec];
        assert!(matches!(
            decrypt(&key, cut, 4096),
            Err(CryptoError::Tampered(1))
        ));
        let mut header = blob.clone();
        header[12] ^= 1;
        assert!(decrypt(&key, &header, 4096).is_err());
        let other = random_bytes(32).unwrap();
        assert!(decrypt(&other, &blob, 4096).is_err());
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_master_key() {
        let master = [9u8; 32];
        let data_key = random_bytes(32).unwrap();
        let wrapped = wrap_key(&master, &data_key).unwrap();
        assert_eq!(unwrap_key(&master, &wrapped).unwrap(), data_key);
        assert!(unwrap_key(&[8u8; 32], &wrapped).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_data_in_any_slicing_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200_000), step in 1usize..100_000) {
            let key = random_bytes(16).unwrap();
            let blob = encrypt(Cipher::Sm4Gcm, &key, &data, step);
            prop_assert_eq!(decrypt(&key, &blob, step / 2 + 1).unwrap(), data);
        }
    }
}
