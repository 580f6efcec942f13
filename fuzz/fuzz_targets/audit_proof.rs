//! Any text, read as a proof bundle (`audit check-proof`), parses or gives a typed error; a
//! parsed bundle checks or gives a typed error, without a key and with the fixed test key of the
//! seeds' signed tree heads; a bundle whose heads verify as signed also checks without the key;
//! and a parsed bundle serializes to JSON that parses back to the same bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_audit::proof::ProofBundle;
use privacy_audit::AuditVerifyingKey;

/// The public key of the seeds' checkpoints (its secret key was discarded after signing them).
const SEED_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA5PIGHXNign+jFmRTOi4GtbKJEmyxN5ruvzmmcbAcN0w=
-----END PUBLIC KEY-----
";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(bundle) = ProofBundle::from_json(text) else { return };
    let key = AuditVerifyingKey::from_pem(SEED_KEY).expect("the seed key parses");
    let plain = bundle.check(None);
    if let Ok(check) = bundle.check(Some(&key)) {
        assert!(plain.is_ok(), "a key only adds checks");
        let _ = check.signed;
    }
    if let Ok(check) = &plain {
        assert!(!check.signed, "nothing is signed without a key");
    }
    let json = match &bundle {
        ProofBundle::Inclusion(b) => serde_json::to_string(b),
        ProofBundle::Consistency(b) => serde_json::to_string(b),
    }
    .expect("a bundle serializes");
    assert_eq!(ProofBundle::from_json(&json).expect("it parses back"), bundle);
});
