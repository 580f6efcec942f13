//! The one error type of `privacy-mpc`.
//!
//! Every refusal is typed, so that a caller can tell a malformed message from a failed proof
//! from an overflowing sum, a forged share from a dropped connection. Messages name what was wrong (a field, a check), never a value: a
//! plaintext, a key or a share must not reach a log through an error message.

use thiserror::Error;

use privacy_core::CoreError;

/// A failure of a cryptographic primitive, a deserializer or a proof check.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MpcError {
    /// A core contract failed: the entropy source or an audit sink.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Bytes do not follow the versioned wire format (bad magic, truncated, trailing bytes,
    /// a length prefix past the end, a field longer than its limit).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The object being read.
        what: &'static str,
        /// Which rule of the format was broken.
        reason: &'static str,
    },
    /// The format version is not one this build reads.
    #[error("unsupported format version {found} for {what}")]
    UnsupportedVersion {
        /// The object being read.
        what: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// The bytes are of another object type than expected (a key where a ciphertext was due).
    #[error("expected a {expected}, found object type {found}")]
    WrongObjectType {
        /// The object expected.
        expected: &'static str,
        /// The type tag found.
        found: u8,
    },
    /// A number lies outside its valid range (e.g. a ciphertext not in (0, N²), or sharing a
    /// factor with N).
    #[error("{what} is out of range: {reason}")]
    OutOfRange {
        /// The quantity checked.
        what: &'static str,
        /// The range rule that failed.
        reason: &'static str,
    },
    /// A group element or scalar is not in canonical encoding, or is not a valid point.
    #[error("{what} is not a canonical encoding")]
    NonCanonical {
        /// The quantity checked.
        what: &'static str,
    },
    /// A key (own or received) fails a structural check: size, small factors, a square factor,
    /// primes too close, a public and secret key that do not match.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// Two operands belong to different keys or parameters.
    #[error("operands belong to different keys")]
    KeyMismatch,
    /// A value is outside what the chosen encoding can represent, so it cannot be encrypted.
    #[error("value cannot be encoded: {0}")]
    EncodingRange(&'static str),
    /// A decrypted plaintext lies outside the encoding's range: a homomorphic sum or product
    /// overflowed (or the ciphertext was not produced by this encoding). Never a silent wrap.
    #[error("plaintext overflow: the decrypted value is outside the encoding's range")]
    PlaintextOverflow,
    /// An exponential-ElGamal plaintext is outside the declared decryption range.
    #[error("the plaintext is outside the declared range of the discrete-log search")]
    DiscreteLogOutOfRange,
    /// A parameter of a primitive is invalid (zero sites, a threshold above n, a bit width
    /// bulletproofs does not support …).
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// A zero-knowledge proof did not verify.
    #[error("{0} proof did not verify")]
    ProofRejected(&'static str),
    /// The precomputed pool of Paillier randomness is empty and refilling is not allowed.
    #[error("the pool of precomputed randomness is empty")]
    PoolExhausted,
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
    /// The audit sink refused the protocol-run event.
    #[error("audit sink failure: {0}")]
    Audit(String),
}

/// The crate's result type.
pub type Result<T, E = MpcError> = std::result::Result<T, E>;
