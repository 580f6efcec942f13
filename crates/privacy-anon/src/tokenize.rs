//! Reversible tokenization, for the privileged re-identification case (feature
//! `reversible-tokens`).
//!
//! A token is `t<key version>.` followed by the base64url (no padding) of
//! `AES-SIV-256(K_t; associated data = domain; plaintext = value)`, where `K_t` is the key
//! ring's 512-bit token subkey ([`crate::keyring`]). AES-SIV (RFC 5297) is a deterministic
//! authenticated encryption: the same value in the same domain always gives the same token, so
//! tokens still join across tables like pseudonyms do, and only the key opens them.
//!
//! Guarantees (RFC 5297 §1.3, Rogaway–Shrimpton, EUROCRYPT 2006): without the key a token
//! reveals nothing about the value except its length and whether two tokens of one domain are
//! equal (determinism is the price of joinability); a token altered in any bit, or presented
//! with another domain, fails to decrypt ([`AnonError::BadToken`]) instead of yielding a wrong
//! value.
//!
//! **Risks — why this is behind a feature.** Tokens are encrypted identifiers, not
//! de-identified data: whoever holds the key file turns every token back into the identifier,
//! so a tokenized table is personal data under GDPR and not de-identified under HIPAA. Token
//! length leaks value length (pad values first if lengths are telling). Enable the feature
//! only for the service that must re-identify (e.g. to contact a patient for a trial), keep the
//! key file off the analysts' machines, and record every detokenization in the audit log.

use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::AnonError;
use crate::keyring::{KeyRing, Purpose};
use crate::pseudonym::check_domain;

/// The longest value tokenized, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Tokenizes with the ring's active version and detokenizes with any version of the ring.
pub struct Tokenizer<'a> {
    ring: &'a KeyRing,
}

impl std::fmt::Debug for Tokenizer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("version", &self.ring.active_version())
            .finish_non_exhaustive()
    }
}

impl<'a> Tokenizer<'a> {
    /// Over a key ring.
    pub fn new(ring: &'a KeyRing) -> Result<Self, AnonError> {
        Ok(Self { ring })
    }

    fn cipher(&self, version: u32) -> Option<Aes256Siv> {
        let key = self.ring.subkey::<64>(version, Purpose::Token)?;
        Aes256Siv::new_from_slice(&key[..]).ok()
    }

    /// The token of `value` (trimmed) in `domain`.
    pub fn tokenize(&self, domain: &str, value: &str) -> Result<String, AnonError> {
        check_domain(domain)?;
        let value = value.trim();
        if value.len() > MAX_VALUE_BYTES {
            return Err(AnonError::InvalidParameter {
                name: "value".into(),
                reason: format!("longer than {MAX_VALUE_BYTES} bytes"),
            });
        }
        let version = self.ring.active_version();
        let fail = || AnonError::InvalidParameter {
            name: "key".into(),
            reason: "no token key for the active version".into(),
        };
        let mut cipher = self.cipher(version).ok_or_else(fail)?;
        let sealed = cipher.encrypt([domain.as_bytes()], value.as_bytes()).map_err(|_| fail())?;
        Ok(format!("t{version}.{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The value of a token of `column` in `domain`; any change to the token, the domain or
    /// the key is [`AnonError::BadToken`].
    pub fn detokenize(&self, column: &str, domain: &str, token: &str) -> Result<String, AnonError> {
        let bad = || AnonError::BadToken { column: column.to_owned() };
        check_domain(domain)?;
        let rest = token.trim().strip_prefix('t').ok_or_else(bad)?;
        let (version, body) = rest.split_once('.').ok_or_else(bad)?;
        let version: u32 = version.parse().map_err(|_| bad())?;
        if body.len() > 2 * MAX_VALUE_BYTES {
            return Err(bad());
        }
        let sealed = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        let mut cipher = self.cipher(version).ok_or_else(bad)?;
        let plain = cipher.decrypt([domain.as_bytes()], &sealed).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(hex: &str) -> KeyRing {
        KeyRing::parse(&format!("medi-privacy-keyring 1\nkey 1 {}\n", hex.repeat(32))).unwrap()
    }

    #[test]
    fn round_trip_determinism_and_authentication() {
        let keys = ring("5a");
        let t = Tokenizer::new(&keys).unwrap();
        let token = t.tokenize("patient", "999-76-6866").unwrap();
        assert!(crate::safe_harbor::recognize::is_token(&token), "{token}");
        assert!(!token.contains("6866"));
        assert_eq!(token, t.tokenize("patient", " 999-76-6866").unwrap(), "deterministic");
        assert_ne!(token, t.tokenize("encounter", "999-76-6866").unwrap(), "domain-bound");
        assert_eq!(t.detokenize("c", "patient", &token).unwrap(), "999-76-6866");
        assert!(matches!(t.detokenize("c", "encounter", &token), Err(AnonError::BadToken { .. })));
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(t.detokenize("c", "patient", &altered).is_err(), "tampering is detected");
        let other = ring("6b");
        assert!(
            Tokenizer::new(&other).unwrap().detokenize("c", "patient", &token).is_err(),
            "only the key opens it"
        );
        for junk in ["", "t", "t1.", "x1.abc", "t9.AAAA", "t1.!!!!"] {
            assert!(t.detokenize("c", "patient", junk).is_err(), "{junk}");
        }
    }
}
