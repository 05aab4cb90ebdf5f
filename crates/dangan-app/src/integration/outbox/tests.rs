use super::*;

#[test]
fn the_back_off_doubles_from_its_base_and_stops_at_an_hour() {
    let base = Duration::from_secs(30);
    let waits: Vec<u64> = (1..=9).map(|n| backoff(base, n).as_secs()).collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    assert_eq!(backoff(base, 1_000_000), MAX_BACKOFF);
    assert_eq!(backoff(Duration::ZERO, 7), Duration::ZERO);
    assert_eq!(backoff(Duration::from_secs(7200), 1), MAX_BACKOFF);
}

#[test]
fn hmac_sha256_matches_rfc_4231_and_the_header_names_its_mac() {
    // RFC 4231 test case 2.
    assert_eq!(
        mac_hex(
            Mac::HmacSha256,
            b"Jefe",
            &[b"what do ya want ", b"for nothing?"]
        ),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let sha = signature(Mac::HmacSha256, b"k", 1_700_000_000, b"{}");
    let sm3 = signature(Mac::HmacSm3, b"k", 1_700_000_000, b"{}");
    assert!(
        sha.starts_with("hmac-sha256=") && sha.len() == 12 + 64,
        "{sha}"
    );
    assert!(sm3.starts_with("hmac-sm3=") && sm3.len() == 9 + 64, "{sm3}");
    assert_ne!(
        signature(Mac::HmacSha256, b"k", 1_700_000_001, b"{}"),
        sha,
        "the timestamp is signed"
    );
}

#[test]
fn macs_are_read_by_their_codes_only() {
    assert_eq!(Mac::parse("hmac-sm3"), Some(Mac::HmacSm3));
    assert_eq!(Mac::parse(" HMAC-SHA256 "), Some(Mac::HmacSha256));
    assert_eq!(Mac::parse("sha256"), None);
    let s = format!("{:?}", WebhookSettings::new("http://x", "top-secret"));
    assert!(!s.contains("top-secret"), "{s}");
}
