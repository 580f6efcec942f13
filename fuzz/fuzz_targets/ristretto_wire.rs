//! Any bytes are an ElGamal key or ciphertext, a commitment or a proof, or a typed error;
//! whatever parses re-encodes to the same bytes, and no small-order or non-canonical point is
//! accepted where a public key is due.
#![no_main]

use curve25519_dalek::traits::IsIdentity;
use libfuzzer_sys::fuzz_target;
use privacy_mpc::elgamal::{Ciphertext, PublicKey, SecretKey};
use privacy_mpc::zkp::{ChaumPedersenProof, RangeProof, SchnorrProof};
use privacy_mpc::{Commitment, MpcError};

/// Whatever `parse` accepts must encode back to the same bytes.
fn round_trip<T>(bytes: &[u8], parse: fn(&[u8]) -> Result<T, MpcError>, encode: fn(&T) -> Vec<u8>) {
    if let Ok(value) = parse(bytes) {
        assert_eq!(encode(&value), bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    match selector % 7 {
        0 => {
            if let Ok(key) = PublicKey::from_bytes(bytes) {
                assert!(!key.point().is_identity());
                assert_eq!(key.to_bytes(), bytes);
            }
        }
        1 => round_trip(bytes, SecretKey::from_bytes, SecretKey::to_bytes),
        2 => round_trip(bytes, Ciphertext::from_bytes, Ciphertext::to_bytes),
        3 => round_trip(bytes, Commitment::from_bytes, |c| c.to_bytes().to_vec()),
        4 => round_trip(bytes, SchnorrProof::from_bytes, SchnorrProof::to_bytes),
        5 => round_trip(bytes, ChaumPedersenProof::from_bytes, ChaumPedersenProof::to_bytes),
        _ => {
            let _ = RangeProof::from_bytes(bytes);
        }
    }
});
