//! The one error type of `privacy-mpc`.
//!
//! Every parser of bytes received from another party, every protocol step and every input check
//! reports through [`MpcError`]. Messages are lower-case, carry no trailing period and never
//! contain a share, a secret, an identifier or any other data value: only what kind of input
//! was wrong and where.

use thiserror::Error;

/// Everything that can go wrong in secret sharing, protocols, PSI and record linkage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MpcError {
    /// A sharing was asked for with a threshold or party count that cannot work
    /// (threshold 0, threshold above the party count, or too many parties).
    #[error("invalid sharing parameters: {0}")]
    InvalidSharingParameters(&'static str),
    /// Fewer shares than the threshold were given to a reconstruction.
    #[error("too few shares: {given} given, {needed} needed")]
    TooFewShares {
        /// Shares given.
        given: usize,
        /// Shares needed (the threshold).
        needed: usize,
    },
    /// Two shares carry the same identifier.
    #[error("duplicate share identifier")]
    DuplicateShare,
    /// A share identifier is zero (the secret sits at zero) or out of range.
    #[error("invalid share identifier")]
    InvalidShareId,
    /// Shares come from different dealings, thresholds or secret lengths.
    #[error("shares do not belong to one dealing: {0}")]
    MismatchedShares(&'static str),
    /// More shares than the threshold were given and they do not lie on one polynomial:
    /// at least one share was altered or corrupted.
    #[error("shares are inconsistent: at least one was altered")]
    InconsistentShares,
    /// A share failed verification against the dealer's commitments (Feldman or Pedersen).
    #[error("share does not match the dealer's commitments")]
    ShareVerificationFailed,
    /// A message or file is malformed: wrong length, tag, version or framing.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scalar encoding is not reduced modulo the group order.
    #[error("non-canonical scalar in {0}")]
    NonCanonicalScalar(&'static str),
    /// A point encoding is not a canonical Ristretto255 encoding.
    #[error("invalid or non-canonical group element in {0}")]
    InvalidPoint(&'static str),
    /// A point is the identity, which no honest party ever sends here (it would reveal or
    /// cancel what it multiplies).
    #[error("identity group element in {0}")]
    IdentityPoint(&'static str),
    /// A value does not fit the ring or range a protocol declares.
    #[error("{what} is out of range: {reason}")]
    OutOfRange {
        /// The quantity checked.
        what: &'static str,
        /// The range rule that failed.
        reason: &'static str,
    },
    /// The transport failed: a connection closed, a peer is unknown, or I/O failed.
    #[error("transport failure: {0}")]
    Transport(String),
    /// A peer did not answer in time.
    #[error("timed out waiting for party {0}")]
    Timeout(usize),
    /// TLS setup or authentication failed (bad certificate, wrong peer name, bad key file).
    #[error("tls failure: {0}")]
    Tls(String),
    /// The parties disagree on the protocol, its mode or its parameters.
    #[error("parties disagree on the protocol: {0}")]
    ProtocolMismatch(&'static str),
    /// The preprocessing source (dealer) ran out of correlated randomness.
    #[error("preprocessing exhausted: {0}")]
    PreprocessingExhausted(&'static str),
    /// A record-linkage schema is invalid or uses a feature that is not supported.
    #[error("invalid linkage schema: {0}")]
    InvalidSchema(String),
    /// A record does not match the linkage schema (wrong field count or a value outside its
    /// declared format). Carries the record's position, never its content.
    #[error("record {record} does not match the schema: {reason}")]
    InvalidRecord {
        /// Zero-based record index.
        record: usize,
        /// What is wrong.
        reason: String,
    },
    /// An input set or parameter is unusable (empty where a value is needed, and similar).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The operating system's entropy source failed.
    #[error("randomness unavailable: {0}")]
    Entropy(String),
    /// The audit sink refused the protocol-run event.
    #[error("audit sink failure: {0}")]
    Audit(String),
}

impl From<privacy_core::CoreError> for MpcError {
    fn from(error: privacy_core::CoreError) -> Self {
        match error {
            privacy_core::CoreError::Entropy(reason) => Self::Entropy(reason),
            other => Self::Audit(other.to_string()),
        }
    }
}
