//! Tests of the zero-knowledge proofs: completeness, and that a proof for one statement
//! (or context) fails for another.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT as G;
use curve25519_dalek::scalar::Scalar;
use num_bigint::BigUint;
use privacy_core::SecureRng;

use super::*;
use crate::commit::PedersenGenerators;
use crate::error::MpcError;
use crate::group::hash_to_group;

#[test]
fn schnorr_binds_key_base_and_context() {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    let x = Scalar::from(99u64);
    let y = G * x;
    let proof = SchnorrProof::prove(b"ctx", &G, &x, &mut rng);
    proof.verify(b"ctx", &G, &y).unwrap();
    assert!(matches!(proof.verify(b"ctx", &G, &(y + G)), Err(MpcError::ProofRejected(_))));
    assert!(proof.verify(b"other", &G, &y).is_err());
    let h = hash_to_group(b"h");
    assert!(proof.verify(b"ctx", &h, &(h * x)).is_err());
    assert_eq!(SchnorrProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    let mut bad = proof.to_bytes();
    let n = bad.len();
    bad[n - 1] = 0xff;
    assert!(matches!(SchnorrProof::from_bytes(&bad), Err(MpcError::NonCanonical { .. })));
}

#[test]
fn chaum_pedersen_binds_every_point() {
    let mut rng = SecureRng::seeded_for_tests_only(2);
    let x = Scalar::from(1234u64);
    let h = hash_to_group(b"h");
    let st = DlogEquality { g: G, a: G * x, h, b: h * x };
    let proof = ChaumPedersenProof::prove(b"c", &st, &x, &mut rng);
    proof.verify(b"c", &st).unwrap();
    for other in [
        DlogEquality { b: h * (x + Scalar::ONE), ..st },
        DlogEquality { a: G * (x + Scalar::ONE), ..st },
        DlogEquality { g: h, a: h * x, h: G, b: G * x },
    ] {
        assert!(matches!(proof.verify(b"c", &other), Err(MpcError::ProofRejected(_))));
    }
    assert!(proof.verify(b"d", &st).is_err());
    assert_eq!(ChaumPedersenProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    // A proof of a false statement made with the witness of the first half fails.
    let false_st = DlogEquality { b: h * Scalar::from(7u64), ..st };
    let lie = ChaumPedersenProof::prove(b"c", &false_st, &x, &mut rng);
    assert!(lie.verify(b"c", &false_st).is_err());
}

#[test]
fn paillier_decryption_proof_binds_plaintext_ciphertext_and_key() {
    let key = crate::paillier::tests::key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(3);
    let c = pk.encrypt(&BigUint::from(4242u32), &mut rng).unwrap();
    let (m, proof) = PaillierDecryptionProof::prove(key, &c, &mut rng).unwrap();
    assert_eq!(m, BigUint::from(4242u32));
    proof.verify(pk, &c, &m).unwrap();
    let back = PaillierDecryptionProof::from_bytes(&proof.to_bytes()).unwrap();
    back.verify(pk, &c, &m).unwrap();
    assert!(matches!(
        proof.verify(pk, &c, &BigUint::from(4243u32)),
        Err(MpcError::ProofRejected(_))
    ));
    let c2 = pk.encrypt(&m, &mut rng).unwrap();
    assert!(proof.verify(pk, &c2, &m).is_err());
    let other = crate::paillier::tests::key_b().public();
    assert!(proof.verify(other, &c, &m).is_err());
}

#[test]
fn range_proofs_accept_in_range_and_bind_commitments_and_context() {
    let mut rng = SecureRng::seeded_for_tests_only(4);
    let gens = PedersenGenerators::standard();
    let values = [0u64, 255, 17];
    let blindings: Vec<Scalar> = values.iter().map(|_| Scalar::random(&mut rng)).collect();
    let commitments: Vec<_> =
        values.iter().zip(&blindings).map(|(&v, r)| gens.commit(&Scalar::from(v), r)).collect();
    let proof = RangeProof::prove(b"ctx", &gens, &values, &blindings, 8, &mut rng).unwrap();
    proof.verify(b"ctx", &gens, &commitments, 8, &mut rng).unwrap();
    let back = RangeProof::from_bytes(&proof.to_bytes()).unwrap();
    back.verify(b"ctx", &gens, &commitments, 8, &mut rng).unwrap();
    assert!(matches!(
        proof.verify(b"other", &gens, &commitments, 8, &mut rng),
        Err(MpcError::ProofRejected(_))
    ));
    let mut swapped = commitments.clone();
    swapped[2] = gens.commit(&Scalar::from(18u64), &blindings[2]);
    assert!(proof.verify(b"ctx", &gens, &swapped, 8, &mut rng).is_err());
    assert!(proof.verify(b"ctx", &gens, &commitments, 16, &mut rng).is_err());
    assert!(matches!(
        RangeProof::prove(b"ctx", &gens, &[256], &blindings[..1], 8, &mut rng),
        Err(MpcError::EncodingRange(_))
    ));
    assert!(RangeProof::prove(b"ctx", &gens, &[1], &blindings[..1], 12, &mut rng).is_err());
}
