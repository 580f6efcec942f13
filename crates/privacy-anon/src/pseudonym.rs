//! Keyed pseudonymization: HMAC-SHA-256 with per-column domains.
//!
//! A pseudonym is `v<key version>.` followed by the first 128 bits, in hex, of
//! `HMAC-SHA-256(K_p, len(domain) ‖ domain ‖ value)`, where `K_p` is the key ring's pseudonym
//! subkey for that version ([`crate::keyring`]), `len` a 4-byte big-endian length, and `value`
//! the cell's text with surrounding white space removed.
//!
//! Guarantees, and what they rest on:
//! - **Consistency.** The same value in the same domain under the same key version always gets
//!   the same pseudonym, in any table and any run: declare `Id` of `patients` and `PATIENT` of
//!   `conditions` as domain `patient` and the two still join.
//! - **Domain separation.** The length-prefixed domain makes the inputs of two domains
//!   disjoint, so pseudonyms of one domain say nothing about another (the same number as a
//!   patient id and as an encounter id gets unrelated pseudonyms).
//! - **No dictionary attack without the key.** HMAC-SHA-256 is a pseudorandom function when
//!   SHA-256's compression function is one (Bellare, "New Proofs for NMAC and HMAC", CRYPTO
//!   2006): without the 256-bit key, pseudonyms of guessed identifiers cannot be computed, so
//!   enumerating all SSNs or all record numbers does not invert them (unlike a plain hash).
//! - **Collisions.** Truncation to 128 bits makes two distinct values collide with probability
//!   below n²/2¹²⁹ for n values: under 10⁻²¹ for a billion.
//!
//! What it is not: anonymization. The key holder can recompute every pseudonym from the
//! identifiers, and a pseudonym is derived from the identifier, so under 45 CFR 164.514(c) it is
//! not the kind of re-identification code Safe Harbor permits (which must not be derived from
//! information about the individual); a release with pseudonyms is pseudonymized data (GDPR
//! Art. 4(5)) and needs Expert Determination under HIPAA. The deidentify report says so.
//!
//! Rotation: a new key version gives new, unlinkable pseudonyms; [`rotation_map`] lets the key
//! holder, who also holds the identifiers, map old pseudonyms to new ones.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::AnonError;
use crate::keyring::{KeyRing, Purpose};

type HmacSha256 = Hmac<Sha256>;

/// The longest domain name.
pub const MAX_DOMAIN_LEN: usize = 64;

/// Checks a domain name: 1–64 characters of `a-z 0-9 - _ .`.
pub fn check_domain(domain: &str) -> Result<(), AnonError> {
    let ok = !domain.is_empty()
        && domain.len() <= MAX_DOMAIN_LEN
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AnonError::InvalidParameter {
            name: "domain".into(),
            reason: "a domain is 1-64 characters of a-z, 0-9, `-`, `_` and `.`".into(),
        })
    }
}

/// Computes pseudonyms with one key version.
pub struct Pseudonymizer {
    version: u32,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer").field("version", &self.version).finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// With the ring's active version.
    pub fn new(ring: &KeyRing) -> Self {
        // A ring always holds at least one key (`KeyRing::parse` refuses an empty ring and
        // `generate` makes one), and the active version is the last of them, so its subkey
        // exists.
        #[allow(clippy::expect_used)]
        Self::with_version(ring, ring.active_version()).expect("the active version is in the ring")
    }

    /// With a given version of the ring.
    pub fn with_version(ring: &KeyRing, version: u32) -> Result<Self, AnonError> {
        let key = ring.subkey::<32>(version, Purpose::Pseudonym).ok_or_else(|| {
            AnonError::InvalidParameter {
                name: "key version".into(),
                reason: format!("the key ring has no version {version}"),
            }
        })?;
        Ok(Self { version, key })
    }

    /// The key version used.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The pseudonym of `value` in `domain` (the domain must pass [`check_domain`]).
    pub fn pseudonym(&self, domain: &str, value: &str) -> String {
        let tag = mac(&self.key[..], domain, value.trim());
        format!("v{}.{}", self.version, hex::encode(&tag[..16]))
    }
}

/// `HMAC-SHA-256(key, len(domain) ‖ domain ‖ value)`.
pub(crate) fn mac(key: &[u8], domain: &str, value: &str) -> [u8; 32] {
    // HMAC accepts keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(&(domain.len() as u32).to_be_bytes());
    mac.update(domain.as_bytes());
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().into()
}

/// For the key holder: the pseudonyms of `values` under version `from` and under version `to`,
/// one `(old, new)` pair per distinct value, sorted by the old pseudonym. The pairs hold no
/// identifier, so the map can be handed to whoever holds the old pseudonymized tables.
pub fn rotation_map<'a>(
    ring: &KeyRing,
    domain: &str,
    from: u32,
    to: u32,
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, AnonError> {
    check_domain(domain)?;
    let old = Pseudonymizer::with_version(ring, from)?;
    let new = Pseudonymizer::with_version(ring, to)?;
    let mut pairs: Vec<(String, String)> = values
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| (old.pseudonym(domain, v), new.pseudonym(domain, v)))
        .collect();
    pairs.sort();
    pairs.dedup();
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!(
            "medi-privacy-keyring 1\nkey 1 {}\nkey 2 {}\n",
            "11".repeat(32),
            "22".repeat(32)
        ))
        .unwrap()
    }

    #[test]
    fn consistent_separated_and_keyed() {
        let ring = ring();
        let p = Pseudonymizer::with_version(&ring, 1).unwrap();
        let a = p.pseudonym("patient", "1d604da9");
        assert_eq!(a, p.pseudonym("patient", " 1d604da9 "), "trimmed, deterministic");
        assert!(crate::safe_harbor::recognize::is_pseudonym(&a), "{a}");
        assert_ne!(a, p.pseudonym("encounter", "1d604da9"), "domains are separated");
        // The domain's length prefix: ("ab", "c…") and ("a", "bc…") differ.
        assert_ne!(p.pseudonym("ab", "c"), p.pseudonym("a", "bc"));
        let other = KeyRing::parse(&format!("medi-privacy-keyring 1\nkey 1 {}\n", "33".repeat(32)))
            .unwrap();
        assert_ne!(a, Pseudonymizer::new(&other).pseudonym("patient", "1d604da9"), "keyed");
        // A plain, unkeyed SHA-256 of the value does not reproduce it.
        use sha2::Digest;
        let plain = hex::encode(&sha2::Sha256::digest(b"1d604da9")[..16]);
        assert!(!a.ends_with(&plain));
    }

    #[test]
    fn rotation_maps_old_to_new() {
        let ring = ring();
        let map = rotation_map(&ring, "patient", 1, 2, ["x", "y", "x", ""]).unwrap();
        assert_eq!(map.len(), 2);
        let v1 = Pseudonymizer::with_version(&ring, 1).unwrap();
        let v2 = Pseudonymizer::new(&ring);
        assert_eq!(v2.version(), 2);
        assert!(map.contains(&(v1.pseudonym("patient", "x"), v2.pseudonym("patient", "x"))));
        assert!(map.iter().all(|(o, n)| o.starts_with("v1.") && n.starts_with("v2.")));
        assert!(rotation_map(&ring, "patient", 1, 3, ["x"]).is_err());
        assert!(rotation_map(&ring, "Patient!", 1, 2, ["x"]).is_err());
    }
}
