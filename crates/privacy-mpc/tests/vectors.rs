//! The Wycheproof-style vectors of `tests/data/wycheproof_style.json`: every case must decode
//! (and, for proofs, verify) exactly when it is marked valid, and fail with the named error
//! variant otherwise.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use privacy_mpc::paillier::{self, ModulusProof};
use privacy_mpc::zkp::{RangeProof, SchnorrProof};
use privacy_mpc::{elgamal, Commitment, MpcError};
use serde_json::Value;

fn variant(error: &MpcError) -> &'static str {
    match error {
        MpcError::Malformed { .. } => "Malformed",
        MpcError::UnsupportedVersion { .. } => "UnsupportedVersion",
        MpcError::WrongObjectType { .. } => "WrongObjectType",
        MpcError::OutOfRange { .. } => "OutOfRange",
        MpcError::NonCanonical { .. } => "NonCanonical",
        MpcError::InvalidKey(_) => "InvalidKey",
        MpcError::KeyMismatch => "KeyMismatch",
        MpcError::ProofRejected(_) => "ProofRejected",
        _ => "other",
    }
}

fn paillier_key() -> paillier::PublicKey {
    let hex = include_str!("data/paillier-2048-a.public.hex");
    paillier::PublicKey::from_bytes(&hex::decode(hex.trim()).unwrap()).unwrap()
}

fn check(kind: &str, bytes: &[u8], key: &paillier::PublicKey) -> Result<(), MpcError> {
    match kind {
        "PaillierPublicKey" => paillier::PublicKey::from_bytes(bytes).map(drop),
        "PaillierCiphertext" => paillier::Ciphertext::from_bytes(bytes, key).map(drop),
        "PaillierModulusProof" => ModulusProof::from_bytes(bytes)?.verify(key),
        "ElGamalPublicKey" => elgamal::PublicKey::from_bytes(bytes).map(drop),
        "ElGamalSecretKey" => elgamal::SecretKey::from_bytes(bytes).map(drop),
        "ElGamalCiphertext" => elgamal::Ciphertext::from_bytes(bytes).map(drop),
        "PedersenCommitment" => Commitment::from_bytes(bytes).map(drop),
        "SchnorrProof" => SchnorrProof::from_bytes(bytes).map(drop),
        "RangeProof" => RangeProof::from_bytes(bytes).map(drop),
        other => panic!("unknown vector group {other}"),
    }
}

#[test]
fn every_vector_gives_its_expected_result() {
    let text = include_str!("data/wycheproof_style.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let key = paillier_key();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let kind = group["type"].as_str().unwrap();
        for case in group["tests"].as_array().unwrap() {
            let id = &case["tcId"];
            let bytes = hex::decode(case["input"].as_str().unwrap()).unwrap();
            let outcome = check(kind, &bytes, &key);
            match case["result"].as_str().unwrap() {
                "valid" => assert!(outcome.is_ok(), "{kind} #{id}: {outcome:?}"),
                _ => {
                    let expected = case["flags"][0].as_str().unwrap();
                    let error = outcome.err().unwrap_or_else(|| panic!("{kind} #{id} accepted"));
                    assert_eq!(variant(&error), expected, "{kind} #{id} {}", case["comment"]);
                }
            }
            count += 1;
        }
    }
    assert_eq!(count, doc["numberOfTests"].as_u64().unwrap());
}
