//! Entry points for the fuzz targets in `fuzz/fuzz_targets/`: every parser of bytes that come
//! from another party or from a file, with the property each must keep.
//!
//! Hidden from the documentation: these are test hooks, not API. Each returns normally for any
//! input (a typed error is fine) and panics only when a property is broken, which the fuzzer
//! reports.

use curve25519_dalek::Scalar;

use crate::pprl::{EncodingFile, LinkageSchema};
use crate::protocol::message::parse_any;
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
    let expected = data.len().saturating_sub(14) / 32;
    if let Ok(points) = parse_chunk(data, 0, expected) {
        let key = PsiKey::from_fixed_for_fuzzing();
        if let Ok(out) = key.reblind(&points) {
            assert_eq!(out.len(), points.len());
        }
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
