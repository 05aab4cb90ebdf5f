use super::*;

#[test]
fn public_keys_check_the_rings_signatures_under_the_same_key_ids() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(dir.path()).unwrap();
    for alg in [SealAlgorithm::Ed25519, SealAlgorithm::Sm2] {
        let (id, sig) = ring.seal(alg, b"anchor");
        let public = PublicKey::parse_hex(&ring.seal_public_key_hex(alg)).unwrap();
        assert_eq!(public.key_id(), id);
        assert!(verify_by_id(
            std::slice::from_ref(&public),
            &id,
            b"anchor",
            &sig
        ));
        assert!(!verify_by_id(&[public], &id, b"anchor2", &sig));
    }
    assert_eq!(
        PublicKey::parse_hex("abcd").unwrap_err().code(),
        "invalid_public_key"
    );
}

#[test]
fn the_log_chain_set_up_is_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(dir.path()).unwrap();
    assert_eq!(ring.log_chain_config().unwrap(), None);
    let first = LogChainConfig {
        algorithm: dangan_domain::audit::ChainAlgorithm::HmacSm3,
        legacy_until: 7,
    };
    assert_eq!(ring.begin_log_chain(first).unwrap(), first);
    let second = LogChainConfig {
        algorithm: dangan_domain::audit::ChainAlgorithm::HmacSha256,
        legacy_until: 0,
    };
    assert_eq!(
        ring.begin_log_chain(second).unwrap(),
        first,
        "never replaced"
    );
    assert_eq!(ring.log_chain_config().unwrap(), Some(first));
}

#[test]
fn keys_are_created_once_and_reloaded_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let a = KeyRing::load_or_create(dir.path()).unwrap();
    let b = KeyRing::load_or_create(dir.path()).unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.pii_hmac("x"), b.pii_hmac("x"));
    let sig = a.sign(b"head");
    assert!(b.verify(b"head", &sig));
    assert!(!b.verify(b"head2", &sig));
    assert!(!format!("{a:?}").contains(&hex::encode(a.pii_key)));
}

#[cfg(unix)]
#[test]
fn key_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    KeyRing::load_or_create(&dir.path().join("keys")).unwrap();
    let mode = std::fs::metadata(dir.path().join("keys").join(SIGNING_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn sm2_and_ed25519_seals_verify_under_their_own_key_ids_only() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(dir.path()).unwrap();
    let manifest = br#"{"archive_number":"2024-A-001","sha256":"ab"}"#;
    let (sm2_id, sm2_sig) = ring.seal(SealAlgorithm::Sm2, manifest);
    let (ed_id, ed_sig) = ring.seal(SealAlgorithm::Ed25519, manifest);
    assert!(sm2_id.starts_with("sm2-") && sm2_id != ed_id);
    assert_eq!(sm2_sig.len(), 128, "r||s, 64 bytes");
    assert!(ring.verify_seal(&sm2_id, manifest, &sm2_sig));
    assert!(ring.verify_seal(&ed_id, manifest, &ed_sig));
    assert!(!ring.verify_seal(&sm2_id, b"{}", &sm2_sig));
    assert!(!ring.verify_seal(&ed_id, manifest, &sm2_sig));
    assert!(!ring.verify_seal("unknown", manifest, &ed_sig));
    // The key is kept: the next process seals with the same key id.
    let again = KeyRing::load_or_create(dir.path()).unwrap();
    assert!(again.verify_seal(&sm2_id, manifest, &sm2_sig));
}

#[test]
fn an_sm2_seal_is_a_standard_signature_that_openssl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(dir.path()).unwrap();
    let manifest = "{\"material_name\":\"参保登记表\",\"sha256\":\"00\"}";
    let (_, sig_hex) = ring.seal(SealAlgorithm::Sm2, manifest.as_bytes());
    let sig = sm2::dsa::Signature::from_slice(&hex::decode(sig_hex).unwrap()).unwrap();
    let der = sig.to_der();
    // SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301).
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a811ccf5501822d034200").unwrap();
    spki.extend_from_slice(&hex::decode(ring.seal_public_key_hex(SealAlgorithm::Sm2)).unwrap());
    let work = tempfile::tempdir().unwrap();
    let (msg, sigf, key) = (
        work.path().join("m"),
        work.path().join("s"),
        work.path().join("k.der"),
    );
    std::fs::write(&msg, manifest).unwrap();
    std::fs::write(&sigf, der.as_bytes()).unwrap();
    std::fs::write(&key, &spki).unwrap();
    let run = |m: &Path| {
        std::process::Command::new("openssl")
            .args([
                "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-rawin", "-digest", "sm3",
            ])
            .args(["-pkeyopt", "distid:1234567812345678", "-inkey"])
            .arg(&key)
            .arg("-in")
            .arg(m)
            .arg("-sigfile")
            .arg(&sigf)
            .output()
            .expect("openssl is installed")
    };
    let out = run(&msg);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&msg, manifest.replace("参保", "伪造")).unwrap();
    assert!(
        !run(&msg).status.success(),
        "a changed manifest fails in OpenSSL too"
    );
}

#[test]
fn exported_keys_import_elsewhere_only_with_the_passphrase_and_never_over_keys() {
    let a = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(a.path()).unwrap();
    assert_eq!(ring.export("short").unwrap_err().code(), "weak_passphrase");
    let file = ring.export("correct horse battery").unwrap();
    assert!(
        !String::from_utf8_lossy(&file).contains(&hex::encode(ring.master_key())),
        "no key in clear"
    );
    let b = tempfile::tempdir().unwrap();
    let target = b.path().join("keys");
    assert_eq!(
        KeyRing::import(&file, "wrong horse battery", &target)
            .unwrap_err()
            .code(),
        "wrong_passphrase"
    );
    let back = KeyRing::import(&file, "correct horse battery", &target).unwrap();
    assert_eq!(back.master_key(), ring.master_key());
    assert_eq!(back.key_id(), ring.key_id());
    let (id, sig) = ring.seal(SealAlgorithm::Sm2, b"m");
    assert!(back.verify_seal(&id, b"m", &sig));
    assert_eq!(
        KeyRing::import(&file, "correct horse battery", &target)
            .unwrap_err()
            .code(),
        "keys_exist"
    );
    assert_eq!(
        KeyRing::load_existing(b.path()).unwrap_err().code(),
        "keys_missing"
    );
}
