//! Any bytes are a Paillier key (public or secret), ciphertext or proof, or a typed error;
//! whatever parses re-encodes to the very same bytes (one encoding per object) and is in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_mpc::paillier::{Ciphertext, EncodedCiphertext, ModulusProof, PublicKey, SecretKey};
use privacy_core::SecureRng;
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
    match selector % 5 {
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
            // The command line's files: a ciphertext with its plaintext's encoding.
            if let Ok(e) = EncodedCiphertext::from_bytes(bytes, key) {
                assert_eq!(e.to_bytes(), bytes);
                assert!(e.frac_bits.is_none_or(|b| b <= 1022));
            }
        }
        2 => {
            if let Ok(proof) = ModulusProof::from_bytes(bytes) {
                assert_eq!(proof.to_bytes(), bytes);
                let _ = proof.verify(test_key());
            }
        }
        3 => {
            if let Ok(proof) = PaillierDecryptionProof::from_bytes(bytes) {
                assert_eq!(proof.to_bytes(), bytes);
            }
        }
        _ => {
            // `paillier decrypt` reads this from a file: any bytes are a key or a typed error,
            // and a key that parses decrypts what its public half encrypts.
            let mut rng = SecureRng::seeded_for_tests_only(7);
            if let Ok(key) = SecretKey::from_bytes(bytes, &mut rng) {
                assert_eq!(key.to_bytes(), bytes);
                let m = num_bigint::BigUint::from(12_345u32);
                let c = key.public().encrypt(&m, &mut rng).expect("encrypt");
                assert_eq!(key.decrypt(&c).expect("decrypt"), m);
            }
        }
    }
});
