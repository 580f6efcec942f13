//! Any bytes are a Paillier key, ciphertext or proof, or a typed error; whatever parses
//! re-encodes to the very same bytes (one encoding per object) and is in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_mpc::paillier::{Ciphertext, ModulusProof, PublicKey};
use privacy_mpc::zkp::PaillierDecryptionProof;

fn test_key() -> &'static PublicKey {
    static KEY: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let hex = include_str!("../../crates/privacy-mpc/tests/data/paillier-2048-a.public.hex");
        PublicKey::from_bytes(&hex::decode(hex.trim()).expect("hex")).expect("test key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(key) = PublicKey::from_bytes(bytes) {
                assert_eq!(key.to_bytes(), bytes);
            }
        }
        1 => {
            let key = test_key();
            if let Ok(c) = Ciphertext::from_bytes(bytes, key) {
                assert_eq!(c.to_bytes(), bytes);
                key.check_ciphertext_value(c.value()).expect("parsed ciphertexts are in range");
            }
        }
        2 => {
            if let Ok(proof) = ModulusProof::from_bytes(bytes) {
                assert_eq!(proof.to_bytes(), bytes);
                let _ = proof.verify(test_key());
            }
        }
        _ => {
            if let Ok(proof) = PaillierDecryptionProof::from_bytes(bytes) {
                assert_eq!(proof.to_bytes(), bytes);
            }
        }
    }
});
