//! The framing of protocol messages: a version byte, a step tag, an element count, then the
//! elements.
//!
//! The version ([`MESSAGE_VERSION`]) changes with the layout, so parties running different
//! builds refuse each other's messages by name. The tag names the protocol step a message belongs to, so a message from one step is never
//! parsed as another's; the count must be what the receiver expects, so a short or long vector
//! is refused before any element is used.

use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::ring::Ring;

/// The layout version of protocol messages.
pub(crate) const MESSAGE_VERSION: u8 = 1;

/// Bytes before the first element: version, step, count.
pub(crate) const HEADER_LEN: usize = 10;

/// Step tags.
pub(crate) mod tag {
    /// Shares of the parties' inputs.
    pub(crate) const INPUT_SHARES: u8 = 1;
    /// Shares being opened.
    pub(crate) const OPEN: u8 = 2;
    /// Masked values of a Beaver multiplication.
    pub(crate) const BEAVER: u8 = 3;
    /// Masked bits of a Beaver AND.
    pub(crate) const BIT_AND: u8 = 4;
    /// XOR shares being opened.
    pub(crate) const OPEN_BITS: u8 = 5;
}

/// Encodes ring elements under a step tag.
pub(crate) fn encode<R: Ring>(step: u8, elements: &[R]) -> Vec<u8> {
    let mut w = Writer::with_capacity(HEADER_LEN + R::ENCODED_LEN * elements.len());
    w.u8(MESSAGE_VERSION).u8(step).u64(elements.len() as u64);
    for e in elements {
        e.encode(w.buffer());
    }
    w.finish()
}

/// Parses exactly `expected` ring elements under `step`.
pub(crate) fn decode<R: Ring>(step: u8, bytes: &[u8], expected: usize) -> Result<Vec<R>, MpcError> {
    let mut r = Reader::new(bytes, "protocol message");
    r.version(MESSAGE_VERSION)?;
    r.expect(step, "unexpected step")?;
    let count = r.count(R::ENCODED_LEN)?;
    if count != expected {
        return Err(MpcError::Malformed { what: "protocol message", reason: "element count" });
    }
    let elements =
        (0..count).map(|_| R::decode(r.take(R::ENCODED_LEN)?)).collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(elements)
}

/// Encodes 64-lane bit vectors under a step tag.
pub(crate) fn encode_words(step: u8, words: &[u64]) -> Vec<u8> {
    let mut w = Writer::with_capacity(HEADER_LEN + 8 * words.len());
    w.u8(MESSAGE_VERSION).u8(step).u64(words.len() as u64);
    for word in words {
        w.u64(*word);
    }
    w.finish()
}

/// Parses exactly `expected` 64-lane bit vectors under `step`.
pub(crate) fn decode_words(step: u8, bytes: &[u8], expected: usize) -> Result<Vec<u64>, MpcError> {
    let mut r = Reader::new(bytes, "protocol message");
    r.version(MESSAGE_VERSION)?;
    r.expect(step, "unexpected step")?;
    let count = r.count(8)?;
    if count != expected {
        return Err(MpcError::Malformed { what: "protocol message", reason: "element count" });
    }
    let words = (0..count).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(words)
}

/// Parses any protocol message of ring `R` (for the fuzz target and the negative vectors):
/// version, step, count, elements.
pub(crate) fn parse_any<R: Ring>(bytes: &[u8]) -> Result<(u8, Vec<R>), MpcError> {
    let step = *bytes
        .get(1)
        .ok_or(MpcError::Malformed { what: "protocol message", reason: "truncated" })?;
    let count = bytes.len().saturating_sub(HEADER_LEN) / R::ENCODED_LEN;
    Ok((step, decode(step, bytes, count)?))
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::Scalar;

    use super::*;
    use crate::ring::Z64;

    #[test]
    fn wrong_step_count_or_encoding_is_refused() {
        let bytes = encode(tag::OPEN, &[Z64(1), Z64(2)]);
        assert_eq!(decode::<Z64>(tag::OPEN, &bytes, 2).unwrap(), vec![Z64(1), Z64(2)]);
        assert!(decode::<Z64>(tag::BEAVER, &bytes, 2).is_err());
        assert!(decode::<Z64>(tag::OPEN, &bytes, 3).is_err());
        let mut scalar = encode(tag::OPEN, &[Scalar::ONE]);
        scalar[HEADER_LEN..].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            decode::<Scalar>(tag::OPEN, &scalar, 1),
            Err(MpcError::NonCanonical { .. })
        ));
        let words = encode_words(tag::BIT_AND, &[u64::MAX]);
        assert_eq!(decode_words(tag::BIT_AND, &words, 1).unwrap(), vec![u64::MAX]);
        assert!(decode_words(tag::BIT_AND, &words[..12], 1).is_err());
        assert!(parse_any::<Z64>(&[]).is_err());
        let mut newer = bytes.clone();
        newer[0] = 2;
        assert!(matches!(
            decode::<Z64>(tag::OPEN, &newer, 2),
            Err(MpcError::UnsupportedVersion { found: 2, .. })
        ));
    }
}
