//! Tests of the Paillier module, on fixed test keys (committed primes in `tests/data/`) so
//! that only the two key-generation tests pay for generating primes.

use std::cell::RefCell;
use std::sync::OnceLock;

use num_bigint::{BigInt, BigUint};
use num_traits::{One, Zero};
use privacy_core::{AuditEvent, AuditEventKind, AuditSink, CoreError, SecureRng};
use proptest::prelude::*;

use super::*;
use crate::audit::AuditContext;
use crate::error::MpcError;

fn load(hex_text: &str) -> SecretKey {
    let bytes = hex::decode(hex_text.trim()).unwrap();
    SecretKey::from_bytes(&bytes, &mut SecureRng::seeded_for_tests_only(0)).unwrap()
}

/// The 2048-bit test key.
pub(crate) fn key_a() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| load(include_str!("../../tests/data/paillier-2048-a.key.hex")))
}

/// A second 2048-bit test key.
pub(crate) fn key_b() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| load(include_str!("../../tests/data/paillier-2048-b.key.hex")))
}

fn key_3072() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| load(include_str!("../../tests/data/paillier-3072-a.key.hex")))
}

#[derive(Default)]
struct RecordingSink(RefCell<Vec<AuditEvent>>);

impl AuditSink for RecordingSink {
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
        self.0.borrow_mut().push(event.clone());
        Ok(())
    }
}

fn big(v: u64) -> BigUint {
    BigUint::from(v)
}

#[test]
fn generates_2048_bit_keys_and_audits_them_without_secrets() {
    let sink = RecordingSink::default();
    let mut rng = SecureRng::seeded_for_tests_only(10);
    let options = KeyGenOptions { size: ModulusSize::Bits2048, safe_primes: false };
    let key = SecretKey::generate(options, &mut rng, &AuditContext::new(&sink, "site-a")).unwrap();
    assert_eq!(key.public().bits(), 2048);
    assert_eq!(key.p.bits(), 1024);
    assert_eq!(key.q.bits(), 1024);
    let c = key.public().encrypt(&big(31337), &mut rng).unwrap();
    assert_eq!(key.decrypt(&c).unwrap(), big(31337));
    let events = sink.0.borrow();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditEventKind::KeyGeneration);
    assert_eq!(events[0].details["bits"], 2048);
    assert_eq!(events[0].details["public_fingerprint"], key.public().fingerprint_hex());
    let text = serde_json_text(&events[0]);
    assert!(!text.contains(&key.p.to_string()) && !text.contains(&key.public().n().to_string()));
    assert!(!format!("{key:?}").contains(&key.p.to_string()));
}

fn serde_json_text(event: &AuditEvent) -> String {
    format!("{:?}", event.details)
}

#[test]
fn generates_3072_bit_keys() {
    let mut rng = SecureRng::seeded_for_tests_only(11);
    let options = KeyGenOptions { size: ModulusSize::Bits3072, safe_primes: false };
    let sink = privacy_core::NullAuditSink;
    let key = SecretKey::generate(options, &mut rng, &AuditContext::new(&sink, "t")).unwrap();
    assert_eq!(key.public().bits(), 3072);
    let c = key.encrypt(&big(5), &mut rng).unwrap();
    assert_eq!(key.decrypt(&c).unwrap(), big(5));
}

#[test]
fn safe_prime_mode_gives_safe_primes() {
    // The mode is the same code at any size; 512 bits keeps the test fast.
    let mut rng = SecureRng::seeded_for_tests_only(12);
    let key = SecretKey::generate_with_bits(512, true, &mut rng).unwrap();
    for p in [&key.p, &key.q] {
        assert!(primes::is_probable_prime(&(p >> 1u32), 40, &mut rng), "(p-1)/2 is prime");
    }
    assert!(SecretKey::generate_with_bits(255, false, &mut rng).is_err());
}

#[test]
fn encryption_variants_agree_with_decryption() {
    let key = key_a();
    let public = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(13);
    let m = public.n() - 1u32;
    for c in [
        public.encrypt(&m, &mut rng).unwrap(),
        key.encrypt(&m, &mut rng).unwrap(),
        public.encrypt_with_nth_power(&m, key.random_nth_power(&mut rng)).unwrap(),
    ] {
        public.check_ciphertext_value(c.value()).unwrap();
        assert_eq!(key.decrypt(&c).unwrap(), m);
    }
    let n = public.n().clone();
    assert!(matches!(public.encrypt(&n, &mut rng), Err(MpcError::EncodingRange(_))));
    // Two encryptions of one value differ (semantic security needs fresh randomness).
    let a = public.encrypt(&big(1), &mut rng).unwrap();
    let b = public.encrypt(&big(1), &mut rng).unwrap();
    assert_ne!(a, b);
}

#[test]
fn key_holder_randomness_is_an_nth_residue() {
    // z^p mod p² (CRT-combined) must be r^N for some r: its decryption is 0.
    let key = key_a();
    let mut rng = SecureRng::seeded_for_tests_only(14);
    let r_n = key.random_nth_power(&mut rng);
    let c = key.public().ciphertext_from_value(r_n).unwrap();
    assert!(key.decrypt(&c).unwrap().is_zero());
}

#[test]
fn homomorphic_operations() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(15);
    let enc = IntegerEncoding::with_default_bound(pk);
    let e = |v: i64, rng: &mut SecureRng| pk.encrypt(&enc.encode_i64(v).unwrap(), rng).unwrap();
    let d = |c: &Ciphertext| enc.decode_i64(&key.decrypt(c).unwrap()).unwrap();
    let (a, b) = (e(-40, &mut rng), e(15, &mut rng));
    assert_eq!(d(&pk.add(&a, &b).unwrap()), -25);
    assert_eq!(d(&pk.sub(&a, &b).unwrap()), -55);
    assert_eq!(d(&pk.add_plain(&a, &enc.encode_i64(-2).unwrap()).unwrap()), -42);
    assert_eq!(d(&pk.mul_scalar(&b, &big(3)).unwrap()), 45);
    assert_eq!(d(&pk.mul_scalar_signed(&b, &BigInt::from(-3)).unwrap()), -45);
    assert_eq!(d(&pk.sum([&a, &b, &b]).unwrap()), -10);
    let fresh = pk.rerandomize(&a, &mut rng).unwrap();
    assert_ne!(fresh, a);
    assert_eq!(d(&fresh), -40);
    assert!(matches!(pk.sum([]), Err(MpcError::InvalidParameter(_))));
}

#[test]
fn operands_of_another_key_are_refused() {
    let mut rng = SecureRng::seeded_for_tests_only(16);
    let (a, b) = (key_a(), key_b());
    let ca = a.public().encrypt(&big(1), &mut rng).unwrap();
    let cb = b.public().encrypt(&big(1), &mut rng).unwrap();
    assert!(matches!(a.public().add(&ca, &cb), Err(MpcError::KeyMismatch)));
    assert!(matches!(a.decrypt(&cb), Err(MpcError::KeyMismatch)));
    assert!(matches!(
        Ciphertext::from_bytes(&cb.to_bytes(), a.public()),
        Err(MpcError::KeyMismatch)
    ));
}

#[test]
fn overflow_is_refused_not_wrapped() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(17);
    let bound = big(1000);
    let enc = IntegerEncoding::new(pk, bound.clone()).unwrap();
    let c = pk.encrypt(&enc.encode_i64(1000).unwrap(), &mut rng).unwrap();
    let sum = pk.add(&c, &c).unwrap();
    assert!(matches!(enc.decode(&key.decrypt(&sum).unwrap()), Err(MpcError::PlaintextOverflow)));
    let neg = pk.mul_scalar_signed(&c, &BigInt::from(-2)).unwrap();
    assert!(matches!(enc.decode(&key.decrypt(&neg).unwrap()), Err(MpcError::PlaintextOverflow)));
    assert!(matches!(enc.encode_i64(1001), Err(MpcError::EncodingRange(_))));
    // The default bound: the sum of two extreme values is detected.
    let default = IntegerEncoding::with_default_bound(pk);
    let top = BigInt::from(default.max_abs().clone());
    let c = pk.encrypt(&default.encode(&top).unwrap(), &mut rng).unwrap();
    let sum = pk.add(&c, &c).unwrap();
    assert!(matches!(
        default.decode(&key.decrypt(&sum).unwrap()),
        Err(MpcError::PlaintextOverflow)
    ));
    assert!(IntegerEncoding::new(pk, pk.n() / 2u32).is_err());
}

#[test]
fn fixed_point_encodes_exactly_and_sums() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(18);
    let fp = FixedPointEncoding::new(IntegerEncoding::with_default_bound(pk), 32).unwrap();
    assert_eq!(fp.scale(1.5).unwrap(), BigInt::from(3u64 << 31));
    assert_eq!(fp.scale(-0.25).unwrap(), BigInt::from(-(1i64 << 30)));
    // 2^-34 rounds to 0 at 32 fractional bits; 3·2^-33 (1.5 units) rounds to even 2.
    assert_eq!(fp.scale(2f64.powi(-34)).unwrap(), BigInt::zero());
    assert_eq!(fp.scale(3.0 * 2f64.powi(-33)).unwrap(), BigInt::from(2));
    assert!(matches!(fp.encode(f64::NAN), Err(MpcError::EncodingRange(_))));
    let values = [36.6, -12.125, 1e-3, 98_000.5];
    let cts: Vec<_> =
        values.iter().map(|&x| pk.encrypt(&fp.encode(x).unwrap(), &mut rng).unwrap()).collect();
    let total = fp.decode(&key.decrypt(&pk.sum(&cts).unwrap()).unwrap()).unwrap();
    let exact: f64 = values.iter().map(|&x| (x * 2f64.powi(32)).round() / 2f64.powi(32)).sum();
    assert!((total - exact).abs() < 1e-9, "{total} vs {exact}");
    assert!(FixedPointEncoding::new(IntegerEncoding::with_default_bound(pk), 1023).is_err());
}

#[test]
fn packing_sums_slotwise_and_detects_overflow() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(19);
    let packing = Packing::new(pk, 32, 1000, 48).unwrap();
    assert_eq!(packing.slot_bits(), 42);
    assert_eq!(Packing::max_slots(pk, 32, 1000), 2047 / 42);
    let rows: Vec<Vec<u64>> =
        (0..10u64).map(|i| (0..48u64).map(|j| i * 1_000 + j).collect()).collect();
    let cts: Vec<_> =
        rows.iter().map(|r| pk.encrypt(&packing.pack(r).unwrap(), &mut rng).unwrap()).collect();
    let sums = packing.unpack(&key.decrypt(&pk.sum(&cts).unwrap()).unwrap(), 10).unwrap();
    for (j, &s) in sums.iter().enumerate() {
        assert_eq!(s, (0..10u128).map(|i| i * 1_000 + j as u128).sum::<u128>());
    }
    let signed = Packing::new(pk, 16, 4, 3).unwrap();
    let p1 = signed.pack_signed(&[-5, 7]).unwrap();
    let p2 = signed.pack_signed(&[-32_768, 32_767]).unwrap();
    let total = pk.add(&pk.encrypt(&p1, &mut rng).unwrap(), &pk.encrypt(&p2, &mut rng).unwrap());
    let decoded = signed.unpack_signed(&key.decrypt(&total.unwrap()).unwrap(), 2).unwrap();
    assert_eq!(decoded, vec![-32_773, 32_774, 0]);
    assert!(signed.pack_signed(&[32_768]).is_err());
    assert!(packing.pack(&[1u64 << 32]).is_err());
    // A slot larger than one summand can produce is refused.
    let wide = Packing::new(pk, 8, 4, 2).unwrap();
    assert!(matches!(wide.unpack(&big(600), 2), Err(MpcError::PlaintextOverflow)));
    assert!(Packing::new(pk, 64, u64::MAX, 17).is_err());
}

#[test]
fn pool_encrypts_once_per_value_and_refills_in_the_background() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(20);
    let pool = RandomnessPool::new(pk);
    assert!(matches!(pool.encrypt(&big(1)), Err(MpcError::PoolExhausted)));
    pool.fill_as_key_holder(key, 3, &mut rng).unwrap();
    pool.fill(1, &mut rng);
    assert_eq!(pool.len(), 4);
    let c = pool.encrypt(&big(9)).unwrap();
    assert_eq!(key.decrypt(&c).unwrap(), big(9));
    assert_eq!(key.decrypt(&pool.rerandomize(&c).unwrap()).unwrap(), big(9));
    assert_eq!(pool.len(), 2);
    assert!(pool.fill_as_key_holder(key_b(), 1, &mut rng).is_err());
    let handle = pool.spawn_refill(4, 6, &mut rng);
    let mut seen = 0;
    while seen < 10 {
        if let Ok(c) = pool.encrypt(&big(seen)) {
            assert_eq!(key.decrypt(&c).unwrap(), big(seen));
            seen += 1;
        } else {
            std::thread::yield_now();
        }
    }
    drop(handle);
}

#[test]
fn modulus_proof_accepts_honest_keys_and_binds_the_modulus() {
    let proof = ModulusProof::prove(key_a()).unwrap();
    proof.verify(key_a().public()).unwrap();
    let decoded = ModulusProof::from_bytes(&proof.to_bytes()).unwrap();
    decoded.verify(key_a().public()).unwrap();
    assert!(matches!(proof.verify(key_b().public()), Err(MpcError::ProofRejected(_))));
}

#[test]
fn modulus_proof_refuses_a_modulus_with_a_square_factor() {
    // N = p²·q passes the cheap checks but has no N-th roots for most ρ; the best a cheater
    // can do without them is to answer something else.
    let mut rng = SecureRng::seeded_for_tests_only(21);
    let p = primes::random_prime(700, &mut rng);
    let q = primes::random_prime(700, &mut rng);
    let n = &p * &p * &q;
    let public = PublicKey::from_modulus(n.clone()).unwrap();
    // The prover's attempt: exponent N⁻¹ modulo λ' = lcm(p − 1, q − 1) (N is not invertible
    // modulo φ(N) = p(p − 1)(q − 1)).
    let lambda = num_integer::Integer::lcm(&(&p - 1u32), &(&q - 1u32));
    let d = n.modinv(&lambda).unwrap();
    let roots: Vec<BigUint> =
        (0..SQUARE_FREE_ROUNDS).map(|i| big(i as u64 + 2).modpow(&d, &n)).collect();
    let writer = crate::wire::WireWriter::new(crate::wire::ObjectType::PaillierModulusProof)
        .u64(SQUARE_FREE_ROUNDS as u64);
    let bytes = roots.iter().fold(writer, |w, r| w.uint(r)).finish();
    let forged = ModulusProof::from_bytes(&bytes).unwrap();
    assert!(matches!(forged.verify(&public), Err(MpcError::ProofRejected(_))));
}

#[test]
fn received_moduli_are_checked() {
    let mut rng = SecureRng::seeded_for_tests_only(22);
    let p = primes::random_prime(1024, &mut rng);
    let bad = [
        (&p * &p, "square"),
        (key_a().public().n() * 3u32, "small factor"),
        (primes::random_prime(1000, &mut rng) * primes::random_prime(1000, &mut rng), "short"),
        (BigUint::one() << 4096u32, "long"),
    ];
    for (n, why) in bad {
        assert!(matches!(PublicKey::from_modulus(n), Err(MpcError::InvalidKey(_))), "{why}");
    }
}

#[test]
fn keys_and_ciphertexts_round_trip_and_refuse_bad_values() {
    let key = key_a();
    let pk = key.public();
    let mut rng = SecureRng::seeded_for_tests_only(23);
    assert_eq!(PublicKey::from_bytes(&pk.to_bytes()).unwrap(), *pk);
    let again = SecretKey::from_bytes(&key.to_bytes(), &mut rng).unwrap();
    assert_eq!(again.public(), pk);
    let c = pk.encrypt(&big(77), &mut rng).unwrap();
    assert_eq!(Ciphertext::from_bytes(&c.to_bytes(), pk).unwrap(), c);
    let fp = pk.fingerprint();
    let with_value = |v: &BigUint| {
        let bytes = crate::wire::WireWriter::new(crate::wire::ObjectType::PaillierCiphertext)
            .field(&fp)
            .uint(v)
            .finish();
        Ciphertext::from_bytes(&bytes, pk)
    };
    for v in [BigUint::zero(), pk.n_squared().clone(), pk.n().clone(), key.p.clone() * 5u32] {
        assert!(matches!(with_value(&v), Err(MpcError::OutOfRange { .. })));
    }
    // A secret key whose primes are swapped for non-primes, too close, or unequal is refused.
    let writer = |a: &BigUint, b: &BigUint| {
        crate::wire::WireWriter::new(crate::wire::ObjectType::PaillierSecretKey)
            .uint(a)
            .uint(b)
            .finish()
    };
    let near = primes::random_prime(1024, &mut rng);
    let mut next = &near + 2u32;
    while !primes::is_probable_prime(&next, 40, &mut rng) {
        next += 2u32;
    }
    for (a, b) in [(&key.p, &(&key.q + 2u32)), (&near, &next), (&key.p, &(&key.q >> 1u32))] {
        let result = SecretKey::from_bytes(&writer(a, b), &mut rng);
        assert!(matches!(result, Err(MpcError::InvalidKey(_))));
    }
}

#[test]
fn decrypt_audited_records_one_event_per_batch() {
    let key = key_a();
    let sink = RecordingSink::default();
    let mut rng = SecureRng::seeded_for_tests_only(24);
    let cts: Vec<_> = (0..3).map(|v| key.encrypt(&big(v), &mut rng).unwrap()).collect();
    let plain = key.decrypt_audited(&cts, &AuditContext::new(&sink, "lab")).unwrap();
    assert_eq!(plain, vec![big(0), big(1), big(2)]);
    let events = sink.0.borrow();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditEventKind::Decryption);
    assert_eq!(events[0].details["ciphertexts"], 3);
}

#[test]
fn a_3072_bit_key_round_trips() {
    let key = key_3072();
    let mut rng = SecureRng::seeded_for_tests_only(25);
    let c = key.public().encrypt(&big(12), &mut rng).unwrap();
    let c = key.public().add(&c, &key.encrypt(&big(30), &mut rng).unwrap()).unwrap();
    assert_eq!(key.decrypt(&c).unwrap(), big(42));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Dec(Enc(a) ⊕ Enc(b)) = a + b, Dec(k ⊗ Enc(a)) = k·a, over the exact integers.
    #[test]
    fn homomorphism_laws_hold_over_the_integers(
        a in any::<i64>(), b in any::<i64>(), k in any::<i32>(), seed in any::<u64>()
    ) {
        let key = key_a();
        let pk = key.public();
        let enc = IntegerEncoding::with_default_bound(pk);
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let ca = pk.encrypt(&enc.encode_i64(a).unwrap(), &mut rng).unwrap();
        let cb = key.encrypt(&enc.encode_i64(b).unwrap(), &mut rng).unwrap();
        let dec = |c: &Ciphertext| enc.decode(&key.decrypt(c).unwrap()).unwrap();
        prop_assert_eq!(dec(&pk.add(&ca, &cb).unwrap()), BigInt::from(a) + BigInt::from(b));
        prop_assert_eq!(dec(&pk.sub(&ca, &cb).unwrap()), BigInt::from(a) - BigInt::from(b));
        let scaled = pk.mul_scalar_signed(&ca, &BigInt::from(k)).unwrap();
        prop_assert_eq!(dec(&scaled), BigInt::from(a) * BigInt::from(k));
        let plain = pk.add_plain(&ca, &enc.encode_i64(b).unwrap()).unwrap();
        prop_assert_eq!(dec(&plain), BigInt::from(a) + BigInt::from(b));
    }

    /// Fixed-point encoding is exact on values representable at the scale, and the packing
    /// round trip is the identity.
    #[test]
    fn encodings_round_trip(
        units in any::<i64>(), frac in 0u32..60, values in proptest::collection::vec(any::<u32>(), 1..40)
    ) {
        let pk = key_a().public();
        let fp = FixedPointEncoding::new(IntegerEncoding::with_default_bound(pk), frac).unwrap();
        let x = units as f64 * 2f64.powi(-(frac as i32));
        let m = fp.encode(x).unwrap();
        prop_assert_eq!(fp.decode(&m).unwrap(), x);
        let packing = Packing::new(pk, 32, 1, values.len()).unwrap();
        let values: Vec<u64> = values.into_iter().map(u64::from).collect();
        let unpacked = packing.unpack(&packing.pack(&values).unwrap(), 1).unwrap();
        prop_assert_eq!(unpacked, values.iter().map(|&v| u128::from(v)).collect::<Vec<_>>());
    }
}

#[test]
fn encoded_ciphertexts_round_trip_and_refuse_bad_tags_and_other_keys() {
    let mut rng = SecureRng::seeded_for_tests_only(31);
    let pk = key_a().public();
    for frac_bits in [None, Some(0), Some(16), Some(1022)] {
        let ciphertext = pk.encrypt(&big(42), &mut rng).unwrap();
        let encoded = EncodedCiphertext { frac_bits, ciphertext };
        let bytes = encoded.to_bytes();
        assert_eq!(EncodedCiphertext::from_bytes(&bytes, pk).unwrap(), encoded);
        // Under another key: the inner ciphertext's fingerprint is refused.
        let other = EncodedCiphertext::from_bytes(&bytes, key_b().public());
        assert!(matches!(other, Err(MpcError::KeyMismatch)), "{other:?}");
        // A plain ciphertext is not an encoded one, and the other way round.
        let plain = encoded.ciphertext.to_bytes();
        assert!(EncodedCiphertext::from_bytes(&plain, pk).is_err());
        assert!(Ciphertext::from_bytes(&bytes, pk).is_err());
        // Any truncation is an error.
        for cut in [0, 5, 13, bytes.len() - 1] {
            assert!(EncodedCiphertext::from_bytes(&bytes[..cut], pk).is_err());
        }
    }
    // Tag 1024 would declare 1023 fractional bits, beyond what FixedPointEncoding accepts.
    let ciphertext = pk.encrypt(&big(1), &mut rng).unwrap();
    let mut bytes = EncodedCiphertext { frac_bits: Some(1022), ciphertext }.to_bytes();
    let tag_at = 5 + 4; // header, then the 8-byte field's length prefix
    bytes[tag_at..tag_at + 8].copy_from_slice(&1024u64.to_be_bytes());
    assert!(matches!(
        EncodedCiphertext::from_bytes(&bytes, pk),
        Err(MpcError::Malformed { reason: "unknown plaintext encoding", .. })
    ));
}
