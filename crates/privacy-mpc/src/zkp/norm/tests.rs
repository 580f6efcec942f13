//! Tests of the bounded-norm proofs: completeness across chunk boundaries, soundness against
//! other statements, the wire format.

use privacy_core::SecureRng;

use super::*;

fn gens() -> PedersenGenerators {
    PedersenGenerators::standard()
}

fn l2(bits: u32, squared_norm: u64) -> NormBound {
    NormBound::L2 { coordinate_bits: bits, squared_norm }
}

#[test]
fn an_l2_proof_proves_clipping_and_refuses_other_statements() {
    let mut rng = SecureRng::seeded_for_tests_only(5);
    let values = [60i64, -80, 0, 1, -1];
    let vector = CommittedVector::commit(&gens(), &values, &mut rng).unwrap();
    let tight = l2(16, 10_000);
    // 60² + 80² + 1 + 1 = 10,002 > 10,000: refused by the prover.
    assert!(matches!(
        vector.prove(b"round-1", &gens(), &tight, &mut rng),
        Err(MpcError::EncodingRange(_))
    ));
    let loose = l2(16, 10_002);
    let proof = vector.prove(b"round-1", &gens(), &loose, &mut rng).unwrap();
    let commitments = vector.commitments();
    proof.verify(b"round-1", &gens(), &loose, commitments, &mut rng).unwrap();
    assert!(matches!(
        proof.verify(b"round-1", &gens(), &tight, commitments, &mut rng),
        Err(MpcError::ProofRejected(_))
    ));
    assert!(proof.verify(b"round-2", &gens(), &loose, commitments, &mut rng).is_err());
    let mut other = commitments.to_vec();
    other[0] = gens().commit(&Scalar::from(61u64), &Scalar::ONE);
    assert!(proof.verify(b"round-1", &gens(), &loose, &other, &mut rng).is_err());
    assert!(matches!(
        CommittedVector::commit(&gens(), &[128], &mut rng).unwrap().prove(
            b"r",
            &gens(),
            &l2(8, 1 << 20),
            &mut rng
        ),
        Err(MpcError::EncodingRange(_))
    ));
}

#[test]
fn proofs_span_several_chunks_and_survive_their_encoding() {
    // 20 coordinates in chunks of 8: two full chunks and one of 4. The default chunk of 1,024
    // works the same way (measured in `benches/`).
    let mut rng = SecureRng::seeded_for_tests_only(6);
    let values: Vec<i64> = (0..20).map(|i| (i % 17) - 8).collect();
    let norm: u64 = values.iter().map(|v| (v * v) as u64).sum();
    let vector = CommittedVector::commit(&gens(), &values, &mut rng).unwrap();
    let bound = l2(8, norm);
    let proof = vector.prove_in_chunks(b"fl-round-7/client-3", &bound, 3, &mut rng).unwrap();
    assert_eq!(proof.chunks.len(), 3);
    let bytes = proof.to_bytes();
    let commitments = commitments_from_bytes(&vector.commitments_to_bytes()).unwrap();
    let back = BoundedNormProof::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    back.verify(b"fl-round-7/client-3", &gens(), &bound, &commitments, &mut rng).unwrap();
    // Each chunk is bound to its own coordinates: swapping values across chunks fails.
    let mut swapped = commitments.clone();
    swapped.swap(1, 18);
    assert!(back.verify(b"fl-round-7/client-3", &gens(), &bound, &swapped, &mut rng).is_err());
    // Dropping the last chunk's proof is refused, not skipped.
    let mut short = back.clone();
    short.chunks.pop();
    assert!(short.verify(b"fl-round-7/client-3", &gens(), &bound, &commitments, &mut rng).is_err());
    let l_inf = NormBound::LInf { max_abs: 8 };
    let proof = vector.prove_in_chunks(b"c", &l_inf, 3, &mut rng).unwrap();
    assert_eq!(proof.chunks.len(), 6);
    let back = BoundedNormProof::from_bytes(&proof.to_bytes()).unwrap();
    back.verify(b"c", &gens(), &l_inf, &commitments, &mut rng).unwrap();
    let mut header = proof.to_bytes();
    header[5 + 4 + 12 + 4 + 14] = 11;
    assert!(matches!(BoundedNormProof::from_bytes(&header), Err(MpcError::Malformed { .. })));
}

#[test]
fn an_l_infinity_proof_is_exact_at_its_bound() {
    let mut rng = SecureRng::seeded_for_tests_only(7);
    for max_abs in [0u64, 1, 127, 128, 40_000, (1 << 40) + 3] {
        let edge = max_abs as i64;
        let vector = CommittedVector::commit(&gens(), &[edge, -edge, 0], &mut rng).unwrap();
        let bound = NormBound::LInf { max_abs };
        let proof = vector.prove(b"c", &gens(), &bound, &mut rng).unwrap();
        proof.verify(b"c", &gens(), &bound, vector.commitments(), &mut rng).unwrap();
        let over = CommittedVector::commit(&gens(), &[edge + 1], &mut rng).unwrap();
        assert!(matches!(
            over.prove(b"c", &gens(), &bound, &mut rng),
            Err(MpcError::EncodingRange(_))
        ));
        if max_abs > 0 {
            let smaller = NormBound::LInf { max_abs: max_abs - 1 };
            assert!(proof.verify(b"c", &gens(), &smaller, vector.commitments(), &mut rng).is_err());
        }
    }
    assert_eq!(NormBound::linf_bits(127), 8);
    assert_eq!(NormBound::linf_bits(128), 16);
    assert_eq!(NormBound::linf_bits((1 << 63) - 1), 64);
}

#[test]
fn a_forged_square_is_caught() {
    // A prover that commits to a false square (the value of Q_0 is not v_0²) cannot make the
    // Σ-proofs pass, even though the bound's range proof on the false sum would.
    let mut rng = SecureRng::seeded_for_tests_only(8);
    let vector = CommittedVector::commit(&gens(), &[300, 4], &mut rng).unwrap();
    let bound = l2(16, 90_016);
    let mut proof = vector.prove(b"c", &gens(), &bound, &mut rng).unwrap();
    let squares = proof.squares.as_mut().unwrap();
    squares.points[0] -= gens().g() * Scalar::from(90_000u64);
    squares.encoded = encode_points(&squares.points);
    assert!(matches!(
        proof.verify(b"c", &gens(), &bound, vector.commitments(), &mut rng),
        Err(MpcError::ProofRejected(_))
    ));
}

#[test]
fn malformed_encodings_and_parameters_are_refused() {
    let mut rng = SecureRng::seeded_for_tests_only(9);
    let vector = CommittedVector::commit(&gens(), &[3, -4], &mut rng).unwrap();
    let proof = vector.prove(b"c", &gens(), &l2(8, 25), &mut rng).unwrap();
    let bytes = proof.to_bytes();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(BoundedNormProof::from_bytes(&trailing), Err(MpcError::Malformed { .. })));
    assert!(BoundedNormProof::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    // The header's dimension says 3 where 2 squares follow.
    let mut dimension = bytes.clone();
    let at = 5 + 4 + 12 + 4 + 13;
    assert_eq!(dimension[at], 2);
    dimension[at] = 3;
    assert!(matches!(BoundedNormProof::from_bytes(&dimension), Err(MpcError::Malformed { .. })));
    let mut kind = bytes.clone();
    kind[5 + 4 + 12 + 4] = 9;
    assert!(matches!(BoundedNormProof::from_bytes(&kind), Err(MpcError::Malformed { .. })));
    assert!(matches!(
        commitments_from_bytes(&WireWriter::new(ObjectType::CommitmentVector).field(&[]).finish()),
        Err(MpcError::Malformed { .. })
    ));
    assert!(CommittedVector::commit(&gens(), &[], &mut rng).is_err());
    let too_wide = NormBound::L2 { coordinate_bits: 12, squared_norm: 1 };
    assert!(matches!(
        vector.prove(b"c", &gens(), &too_wide, &mut rng),
        Err(MpcError::InvalidParameter(_))
    ));
    assert!(NormBound::LInf { max_abs: 1 << 63 }.check(1).is_err());
    assert!(l2(16, 1).check(MAX_DIMENSION + 1).is_err());
    assert!(l2(16, 1).check(MAX_DIMENSION).is_ok());
    assert_eq!(format!("{vector:?}"), "CommittedVector(2 coordinates)");
}
