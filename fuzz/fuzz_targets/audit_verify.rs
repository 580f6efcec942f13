//! Any bytes, read as an audit log and a checkpoint file, verify to a report (never an error or
//! a panic), without a public key and with the fixed test key whose checkpoints the seed
//! `signed_log_and_checkpoints` carries, so the signature and key paths are fuzzed too. A log
//! that verifies clean reads back as exactly that many entries, and a report that is clean with
//! the key is clean without it (a key only adds checks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_audit::{verify_bytes, AuditVerifyingKey, SignatureCheck, VerifyOptions};

/// The public key of the seed's checkpoints (its secret key was discarded after signing them).
const SEED_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA5PIGHXNign+jFmRTOi4GtbKJEmyxN5ruvzmmcbAcN0w=
-----END PUBLIC KEY-----
";

fuzz_target!(|data: &[u8]| {
    // The first 0x00 0x00 (never in a valid log) splits the log from its checkpoint file.
    let split = data.windows(2).position(|w| w == [0, 0]);
    let (log, checkpoints) = match split {
        Some(at) => (&data[..at], Some(&data[at + 2..])),
        None => (data, None),
    };
    let plain = verify_bytes(log, checkpoints, &VerifyOptions::default())
        .expect("bytes never fail to read");
    let key = AuditVerifyingKey::from_pem(SEED_KEY).expect("the seed key parses");
    let keyed = VerifyOptions { public_key: Some(key), ..VerifyOptions::default() };
    let signed = verify_bytes(log, checkpoints, &keyed).expect("bytes never fail to read");
    let read = privacy_audit::read::read_entries_from(log).expect("bytes never fail to read");
    if plain.is_ok() {
        assert_eq!(read.entries.len() as u64, plain.entries);
        assert_eq!(read.unreadable, 0);
    }
    if signed.is_ok() {
        assert!(plain.is_ok(), "a key only adds checks");
        assert_eq!(signed.checkpoints.signatures, SignatureCheck::Verified);
        assert_eq!(signed.entries, plain.entries);
    }
});
