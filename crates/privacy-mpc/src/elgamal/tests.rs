//! Tests of exponential ElGamal and its threshold variant.

use std::sync::OnceLock;

use curve25519_dalek::scalar::Scalar;
use privacy_core::{NullAuditSink, SecureRng};
use proptest::prelude::*;

use super::threshold::{deal, finish_keygen, verify_share, Dealing, ThresholdParams};
use super::*;
use crate::audit::AuditContext;

/// A 2^16 table: enough for every range in these tests, built once.
fn table() -> &'static DiscreteLogTable {
    static TABLE: OnceLock<DiscreteLogTable> = OnceLock::new();
    TABLE.get_or_init(|| DiscreteLogTable::new(16).unwrap())
}

fn keypair(seed: u64) -> (SecretKey, PublicKey) {
    let sink = NullAuditSink;
    SecretKey::generate(&mut SecureRng::seeded_for_tests_only(seed), &AuditContext::new(&sink, "t"))
        .unwrap()
}

#[test]
fn decrypts_sums_over_signed_ranges_and_refuses_out_of_range() {
    let (sk, pk) = keypair(1);
    let mut rng = SecureRng::seeded_for_tests_only(2);
    let values = [-70_000i64, 5, 12_345, 0, -1];
    let total: Ciphertext = values.iter().map(|&v| pk.encrypt(v, &mut rng)).sum();
    let lo = -(1i64 << 31);
    assert_eq!(sk.decrypt(&total, table(), lo, 32).unwrap(), values.iter().sum::<i64>());
    // A 24-bit range at 0 does not contain a negative sum.
    assert!(matches!(sk.decrypt(&total, table(), 0, 24), Err(MpcError::DiscreteLogOutOfRange)));
    let doubled = pk.encrypt(21, &mut rng).mul_scalar(2);
    assert_eq!(sk.decrypt(&doubled, table(), 0, 8).unwrap(), 42);
    let difference = pk.encrypt(10, &mut rng) - pk.encrypt(12, &mut rng);
    assert_eq!(sk.decrypt(&difference, table(), -8, 4).unwrap(), -2);
    let fresh = pk.rerandomize(&doubled, &mut rng);
    assert_ne!(fresh, doubled);
    assert_eq!(sk.decrypt(&fresh, table(), 0, 8).unwrap(), 42);
    assert!(matches!(
        table().solve(&sk.decrypt_point(&fresh), 0, 49),
        Err(MpcError::InvalidParameter(_))
    ));
    assert!(DiscreteLogTable::new(25).is_err());
}

#[test]
fn range_edges_are_exact() {
    let (sk, pk) = keypair(3);
    let mut rng = SecureRng::seeded_for_tests_only(4);
    for (m, lo, bits) in [(0, 0, 20), ((1 << 20) - 1, 0, 20), (-5, -5, 3), (2, -5, 3)] {
        assert_eq!(sk.decrypt(&pk.encrypt(m, &mut rng), table(), lo, bits).unwrap(), m);
    }
    assert!(sk.decrypt(&pk.encrypt(1 << 20, &mut rng), table(), 0, 20).is_err());
    assert!(sk.decrypt(&pk.encrypt(3, &mut rng), table(), -5, 3).is_err());
}

#[test]
fn batch_decryption_is_audited_once() {
    use privacy_core::{AuditEvent, AuditEventKind, AuditSink, CoreError};
    use std::cell::RefCell;
    struct Sink(RefCell<Vec<AuditEvent>>);
    impl AuditSink for Sink {
        fn record(&self, e: &AuditEvent) -> Result<(), CoreError> {
            self.0.borrow_mut().push(e.clone());
            Ok(())
        }
    }
    let sink = Sink(RefCell::new(Vec::new()));
    let audit = AuditContext::new(&sink, "hospital-a");
    let mut rng = SecureRng::seeded_for_tests_only(5);
    let (sk, pk) = SecretKey::generate(&mut rng, &audit).unwrap();
    let cts: Vec<_> = (0..4).map(|v| pk.encrypt(v, &mut rng)).collect();
    assert_eq!(sk.decrypt_batch_audited(&cts, table(), (0, 8), &audit).unwrap(), vec![0, 1, 2, 3]);
    let kinds: Vec<_> = sink.0.borrow().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![AuditEventKind::KeyGeneration, AuditEventKind::Decryption]);
    assert_eq!(sink.0.borrow()[0].details["public_fingerprint"], pk.fingerprint_hex());
}

#[test]
fn decryption_proofs_bind_the_plaintext_and_ciphertext() {
    let (sk, pk) = keypair(6);
    let (_, other) = keypair(7);
    let mut rng = SecureRng::seeded_for_tests_only(8);
    let c = pk.encrypt(17, &mut rng);
    let proof = sk.prove_decryption(&c, 17, &mut rng);
    pk.verify_decryption(&c, 17, &proof).unwrap();
    assert!(matches!(pk.verify_decryption(&c, 18, &proof), Err(MpcError::ProofRejected(_))));
    let c2 = pk.encrypt(17, &mut rng);
    assert!(pk.verify_decryption(&c2, 17, &proof).is_err());
    assert!(other.verify_decryption(&c, 17, &proof).is_err());
}

#[test]
fn keys_and_ciphertexts_round_trip_and_refuse_bad_encodings() {
    let (sk, pk) = keypair(9);
    let mut rng = SecureRng::seeded_for_tests_only(10);
    assert_eq!(PublicKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
    let back = SecretKey::from_bytes(&sk.to_bytes()).unwrap();
    assert_eq!(back.public_key().unwrap(), pk);
    let c = pk.encrypt(3, &mut rng);
    assert_eq!(Ciphertext::from_bytes(&c.to_bytes()).unwrap(), c);
    let identity = crate::wire::WireWriter::new(crate::wire::ObjectType::ElGamalPublicKey)
        .field(&[0; 32])
        .finish();
    assert!(matches!(PublicKey::from_bytes(&identity), Err(MpcError::OutOfRange { .. })));
    let zero = crate::wire::WireWriter::new(crate::wire::ObjectType::ElGamalSecretKey)
        .field(&[0; 32])
        .finish();
    assert!(matches!(SecretKey::from_bytes(&zero), Err(MpcError::InvalidKey(_))));
    let mut bad = c.to_bytes();
    let last = bad.len() - 1;
    bad[last] = 0xff;
    assert!(matches!(Ciphertext::from_bytes(&bad), Err(MpcError::NonCanonical { .. })));
    assert_eq!(format!("{sk:?}"), "ElGamalSecretKey { .. }");
}

fn run_dkg(params: ThresholdParams, session: &[u8], seed: u64) -> Vec<super::threshold::KeyShare> {
    let mut rng = SecureRng::seeded_for_tests_only(seed);
    let dealings: Vec<Dealing> =
        (1..=params.sites()).map(|i| deal(params, i, session, &mut rng).unwrap()).collect();
    let messages: Vec<_> = dealings.iter().map(|d| d.message.clone()).collect();
    let sink = NullAuditSink;
    (1..=params.sites())
        .map(|j| {
            let shares: Vec<Scalar> = dealings.iter().map(|d| d.shares[j as usize - 1]).collect();
            finish_keygen(params, j, session, &messages, &shares, &AuditContext::new(&sink, "s"))
                .unwrap()
        })
        .collect()
}

#[test]
fn threshold_decryption_needs_t_valid_shares() {
    let params = ThresholdParams::new(3, 5).unwrap();
    let sites = run_dkg(params, b"tally-2026", 11);
    let joint = sites[0].public().clone();
    assert!(sites.iter().all(|s| s.public() == &joint));
    let mut rng = SecureRng::seeded_for_tests_only(12);
    let tally: Ciphertext =
        [120i64, 87, 301].iter().map(|&v| joint.joint().encrypt(v, &mut rng)).sum();
    let sink = NullAuditSink;
    let audit = AuditContext::new(&sink, "s");
    let shares: Vec<_> =
        sites.iter().map(|s| s.decryption_share(&tally, &mut rng, &audit).unwrap()).collect();
    for subset in [[0usize, 1, 2], [4, 2, 0], [1, 3, 4]] {
        let chosen: Vec<_> = subset.iter().map(|&i| shares[i].clone()).collect();
        let point = joint.combine(&tally, &chosen).unwrap();
        assert_eq!(table().solve(&point, 0, 16).unwrap(), 508);
    }
    assert!(matches!(joint.combine(&tally, &shares[..2]), Err(MpcError::InvalidParameter(_))));
    let mut forged = shares[1].clone();
    forged.point += curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    assert!(matches!(
        joint.combine(&tally, &[shares[0].clone(), forged, shares[2].clone()]),
        Err(MpcError::ProofRejected(_))
    ));
    let twice = [shares[0].clone(), shares[0].clone(), shares[2].clone()];
    assert!(joint.combine(&tally, &twice).is_err());
}

#[test]
fn dkg_refuses_bad_shares_and_replayed_proofs() {
    let params = ThresholdParams::new(2, 3).unwrap();
    let mut rng = SecureRng::seeded_for_tests_only(13);
    let dealing = deal(params, 1, b"s1", &mut rng).unwrap();
    verify_share(params, b"s1", &dealing.message, 2, &dealing.shares[1]).unwrap();
    let wrong = dealing.shares[1] + Scalar::ONE;
    assert!(matches!(
        verify_share(params, b"s1", &dealing.message, 2, &wrong),
        Err(MpcError::ProofRejected(_))
    ));
    // The proof of knowledge is bound to the session.
    assert!(verify_share(params, b"s2", &dealing.message, 2, &dealing.shares[1]).is_err());
    assert!(ThresholdParams::new(4, 3).is_err());
    assert!(ThresholdParams::new(0, 3).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Dec(Enc(a) + Enc(b)) = a + b and Dec(k·Enc(a)) = k·a over the exact integers.
    #[test]
    fn homomorphism_laws(a in -(1i64 << 14)..(1i64 << 14), b in -(1i64 << 14)..(1i64 << 14), k in -3i64..4, seed in any::<u64>()) {
        static KEYS: OnceLock<(SecretKey, PublicKey)> = OnceLock::new();
        let (sk, pk) = KEYS.get_or_init(|| keypair(14));
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let (ca, cb) = (pk.encrypt(a, &mut rng), pk.encrypt(b, &mut rng));
        let lo = -(1i64 << 16);
        prop_assert_eq!(sk.decrypt(&(ca + cb), table(), lo, 17).unwrap(), a + b);
        prop_assert_eq!(sk.decrypt(&ca.mul_scalar(k), table(), lo, 17).unwrap(), k * a);
    }
}

#[test]
fn threshold_objects_round_trip_and_refuse_damage() {
    use super::threshold::{DealerMessage, DecryptionShare, KeyShare, ThresholdPublicKey};
    let params = ThresholdParams::new(2, 4).unwrap();
    let sites = run_dkg(params, b"wire", 21);
    let mut rng = SecureRng::seeded_for_tests_only(22);
    let dealing = deal(params, 3, b"wire", &mut rng).unwrap();
    let message = DealerMessage::from_bytes(&dealing.message.to_bytes()).unwrap();
    assert_eq!(message, dealing.message);
    let public = sites[1].public();
    let bytes = public.to_bytes();
    assert_eq!(&ThresholdPublicKey::from_bytes(&bytes).unwrap(), public);
    // Move one verification key off the polynomial: the consistency check refuses it.
    let mut moved = bytes.clone();
    let last = moved.len() - 32;
    moved[last..]
        .copy_from_slice(curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.as_bytes());
    assert!(matches!(ThresholdPublicKey::from_bytes(&moved), Err(MpcError::InvalidKey(_))));
    let key = sites[2].to_bytes();
    let back = KeyShare::from_bytes(&key).unwrap();
    assert_eq!((back.index(), back.public()), (3, public));
    // Another site's secret under this index is refused.
    let mut swapped = key.to_vec();
    let secret_at = 5 + 4 + 4 + 4;
    swapped[secret_at..secret_at + 32]
        .copy_from_slice(&sites[0].to_bytes()[secret_at..secret_at + 32]);
    assert!(matches!(KeyShare::from_bytes(&swapped), Err(MpcError::InvalidKey(_))));
    let c = public.joint().encrypt(9, &mut rng);
    let sink = NullAuditSink;
    let share = back.decryption_share(&c, &mut rng, &AuditContext::new(&sink, "s")).unwrap();
    let parsed = DecryptionShare::from_bytes(&share.to_bytes()).unwrap();
    assert_eq!(parsed, share);
    public.verify_share(&c, &parsed).unwrap();
    let other = public.joint().encrypt(9, &mut rng);
    assert!(matches!(public.verify_share(&other, &parsed), Err(MpcError::ProofRejected(_))));
    let mut zero = share.to_bytes();
    zero[5 + 4..5 + 8].copy_from_slice(&0u32.to_be_bytes());
    assert!(matches!(DecryptionShare::from_bytes(&zero), Err(MpcError::InvalidShareId)));
}

#[test]
fn batch_decryption_matches_one_by_one_and_refuses_out_of_range() {
    let (sk, pk) = keypair(23);
    let mut rng = SecureRng::seeded_for_tests_only(24);
    let sink = NullAuditSink;
    let audit = AuditContext::new(&sink, "s");
    let values: Vec<i64> = (0..300).map(|i| (i * 37) % 255 - 127).collect();
    let cts: Vec<Ciphertext> = values.iter().map(|v| pk.encrypt(*v, &mut rng)).collect();
    assert_eq!(sk.decrypt_batch_audited(&cts, table(), (-128, 8), &audit).unwrap(), values);
    // A 24-bit range: 2^8 giant steps for each of the 300 ciphertexts, walked together.
    assert_eq!(
        sk.decrypt_batch_audited(&cts[..5], table(), (-(1 << 23), 24), &audit).unwrap(),
        values[..5]
    );
    let mut with_outlier = cts.clone();
    with_outlier.push(pk.encrypt(500, &mut rng));
    assert!(matches!(
        sk.decrypt_batch_audited(&with_outlier, table(), (-128, 8), &audit),
        Err(MpcError::DiscreteLogOutOfRange)
    ));
}
