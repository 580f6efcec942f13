//! Entry points for the fuzz targets in `fuzz/fuzz_targets/`: every parser of bytes that come
//! from another party or from a file, with the property each must keep.
//!
//! Hidden from the documentation: these are test hooks, not API. Each returns normally for any
//! input (a typed error is fine) and panics only when a property is broken, which the fuzzer
//! reports.

use curve25519_dalek::Scalar;

use crate::elgamal::threshold::{DealerMessage, DecryptionShare, KeyShare, ThresholdPublicKey};
use crate::error::MpcError;
use crate::pprl::{EncodingFile, LinkageSchema};
use crate::protocol::dealer::StockRequest;
use crate::protocol::message::parse_any;
use crate::protocol::preprocessing::{DealerStock, StockBinding};
use crate::psi::{parse_chunk, parse_hello, PsiKey, PsiMode};
use crate::ring::Z64;
use crate::sharing::{AdditiveShare, FeldmanCommitments, PedersenCommitments, ShamirShare};
use crate::transport::rendezvous::{JoinRequest, Roster};
use crate::transport::tls::MeshHello;

/// Share and commitment parsers: whatever parses re-encodes to the same bytes.
pub fn shares(data: &[u8]) {
    if let Ok(share) = ShamirShare::from_bytes(data) {
        assert_eq!(share.to_bytes(), data, "shamir share does not re-encode");
    }
    if let Ok(share) = AdditiveShare::<Z64>::from_bytes(data) {
        assert_eq!(share.to_bytes(), data, "additive share does not re-encode");
    }
    if let Ok(share) = AdditiveShare::<Scalar>::from_bytes(data) {
        assert_eq!(share.to_bytes(), data, "additive share does not re-encode");
    }
    if let Ok(commitments) = FeldmanCommitments::from_bytes(data) {
        assert_eq!(commitments.to_bytes(), data, "commitments do not re-encode");
    }
    if let Ok(commitments) = PedersenCommitments::from_bytes(data) {
        assert_eq!(commitments.to_bytes(), data, "commitments do not re-encode");
    }
}

/// Protocol, rendezvous and PSI message parsers; received PSI points go through the second
/// pass, which must refuse or accept without panicking.
pub fn messages(data: &[u8]) {
    let _ = parse_any::<Z64>(data);
    let _ = parse_any::<Scalar>(data);
    if let Ok(hello) = MeshHello::from_bytes(data) {
        assert_eq!(hello.to_bytes(), data, "mesh hello does not re-encode");
    }
    if let Ok(join) = JoinRequest::from_bytes(data) {
        assert_eq!(join.to_bytes(), data, "join request does not re-encode");
    }
    if let Ok(roster) = Roster::from_bytes(data) {
        assert_eq!(roster.to_bytes(), data, "roster does not re-encode");
    }
    let _ = parse_hello(data, PsiMode::Intersection);
    if let Ok(request) = StockRequest::from_bytes(data) {
        assert_eq!(request.to_bytes(), data, "stock request does not re-encode");
    }
    for party in 0..2 {
        let binding = fuzz_binding(party);
        if let Ok(stock) = DealerStock::<Z64>::from_bytes(data, binding) {
            assert_eq!(stock.to_bytes(binding).as_slice(), data, "stock does not re-encode");
        }
        if let Ok(stock) = DealerStock::<Scalar>::from_bytes(data, binding) {
            assert_eq!(stock.to_bytes(binding).as_slice(), data, "stock does not re-encode");
        }
    }
    let expected = data.len().saturating_sub(14) / 32;
    if let Ok(points) = parse_chunk(data, 0, expected) {
        let key = PsiKey::from_fixed_for_fuzzing();
        if let Ok(out) = key.reblind(&points) {
            assert_eq!(out.len(), points.len());
        }
    }
}

/// The seat the fuzz targets and vectors decode stocks for: session of sevens, two parties.
pub fn fuzz_binding(party: u16) -> StockBinding {
    StockBinding { session: [7; 16], party, parties: 2 }
}

/// Threshold ElGamal objects: whatever parses re-encodes to the same bytes (a parsed public
/// key has passed its consistency check, a key share its secret-to-key check).
pub fn threshold(data: &[u8]) {
    if let Ok(message) = DealerMessage::from_bytes(data) {
        assert_eq!(message.to_bytes(), data, "dealer message does not re-encode");
    }
    if let Ok(share) = DecryptionShare::from_bytes(data) {
        assert_eq!(share.to_bytes(), data, "decryption share does not re-encode");
    }
    if let Ok(key) = ThresholdPublicKey::from_bytes(data) {
        assert_eq!(key.to_bytes(), data, "threshold public key does not re-encode");
    }
    if let Ok(share) = KeyShare::from_bytes(data) {
        assert_eq!(share.to_bytes().as_slice(), data, "key share does not re-encode");
    }
}

/// The bounded-norm proof and commitment-vector parsers: what parses re-encodes exactly.
pub fn norm(data: &[u8]) {
    use crate::zkp::norm::{commitments_from_bytes, commitments_to_bytes, BoundedNormProof};
    if let Ok(proof) = BoundedNormProof::from_bytes(data) {
        assert_eq!(proof.to_bytes(), data, "norm proof does not re-encode");
    }
    if let Ok(commitments) = commitments_from_bytes(data) {
        assert_eq!(commitments_to_bytes(&commitments), data, "commitments do not re-encode");
    }
}

/// Decodes `bytes` with the crate-internal parser named `kind` (for the negative vectors of
/// `tests/vectors/`): protocol messages, mesh and rendezvous messages, PSI chunks.
pub fn decode(kind: &str, bytes: &[u8]) -> Result<(), MpcError> {
    match kind {
        "ProtocolMessageZ64" => parse_any::<Z64>(bytes).map(drop),
        "ProtocolMessageScalar" => parse_any::<Scalar>(bytes).map(drop),
        "MeshHello" => MeshHello::from_bytes(bytes).map(drop),
        "JoinRequest" => JoinRequest::from_bytes(bytes).map(drop),
        "Roster" => Roster::from_bytes(bytes).map(drop),
        "PsiChunk" => parse_chunk(bytes, 0, bytes.len().saturating_sub(14) / 32).map(drop),
        _ => Err(MpcError::InvalidInput(format!("no internal parser named {kind}"))),
    }
}

/// Linkage schema and encoding file parsers.
pub fn linkage(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = LinkageSchema::from_json(text);
    if let Ok(file) = EncodingFile::from_json(text) {
        let again = EncodingFile::from_json(&file.to_json());
        assert_eq!(again.ok().as_ref(), Some(&file), "encoding file does not round-trip");
    }
}
