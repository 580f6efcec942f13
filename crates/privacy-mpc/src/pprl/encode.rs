//! Bloom-filter encoding of records (Schnell, Bachteler, Reiher 2009 and 2011).
//!
//! Each value is validated against its feature's format, split into tokens (n-grams, the
//! exact value, or a numeric neighbourhood), and each token sets bits chosen by keyed hash
//! functions. Keys: HKDF (from the schema's `kdf`) turns the shared secret into one key per
//! feature; HMAC-SHA256 of that key and the hash function's number gives **one independent key
//! per hash function**; the j-th bit of a token is HMAC-SHA256(key_j, token) modulo the filter
//! length. Independent keys close the door the double-hashing scheme left open (Kroll and
//! Steinmetzer 2015), where knowing two hash values per token let an attacker predict all k.
//!
//! Hardening against the published frequency attacks, in order of application:
//! - **record-level CLKs** (the default): all features in one filter, so frequent first names
//!   cannot be aligned field by field (Kuzu, Kantarcioglu, Durham, Malin 2011; Niedermeyer,
//!   Steinmetzer, Kroll, Schnell 2014);
//! - **length normalisation** (`bitsPerFeature`): a feature sets K bits whatever the length of
//!   its value, spread over its tokens, so the Hamming weight no longer reveals how long a
//!   name is (the weight-based step of Christen, Ranbaduge, Vatsalan, Schnell 2018);
//! - **XOR folding** (`xorFolds`, Schnell, Borgs, Encarnação 2016): halves the filter by
//!   XOR-ing its halves, so a set bit no longer points at one token;
//! - **balancing** (`x-medi-privacy.balance`, Schnell and Borgs 2016): the filter followed by
//!   its complement, under a keyed permutation, so every filter has the same Hamming weight
//!   and bit-frequency and pattern-mining attacks (Vidanage, Ranbaduge, Christen, Schnell 2019)
//!   lose their frequency signal.
//!
//! None of this is a formal guarantee: Bloom-filter encodings are pseudonymised personal data,
//! not anonymous (Ranbaduge and Schnell 2020 survey what each hardening resists). The secret
//! must be shared only by the data owners and never with the linkage unit that matches.

use std::collections::HashMap;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use super::bits::BitVector;
use super::schema::{Comparison, EncodingLevel, FeatureEncoding, Format, LinkageSchema, Strategy};
use crate::error::MpcError;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted (16 bytes, 128 bits).
pub const MIN_SECRET_BYTES: usize = 16;
/// The most records one encoding file holds.
pub const MAX_RECORDS: usize = 50_000_000;

/// One record's encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One filter for the whole record (a CLK).
    Record(BitVector),
    /// One filter per hashed feature, in schema order.
    Field(Vec<BitVector>),
}

/// Encodes records under one schema and one secret.
// FIXME: encoding time depends on the length of each value (a timing side channel on the data
// owner's own machine); a fixed token budget per feature would make it constant.
pub struct Encoder {
    schema: LinkageSchema,
    fingerprint: String,
    /// Per hashed feature: its column and its pre-keyed hash functions.
    features: Vec<(usize, Vec<HmacSha256>)>,
    permutation: Option<Vec<u32>>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// The SHA-256 of a schema's canonical JSON (keys sorted), naming it in encoding files.
pub fn schema_fingerprint(schema_json: &str) -> Result<String, MpcError> {
    let value: serde_json::Value = serde_json::from_str(schema_json)
        .map_err(|e| MpcError::InvalidSchema(format!("not json: {e}")))?;
    let canonical = serde_json::to_string(&value)
        .map_err(|e| MpcError::InvalidSchema(format!("cannot canonicalise: {e}")))?;
    Ok(hex::encode(Sha256::digest(canonical.as_bytes())))
}

impl Encoder {
    /// An encoder for `schema_json` with the shared `secret` (at least 16 bytes).
    pub fn new(schema_json: &str, secret: &[u8]) -> Result<Self, MpcError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(MpcError::InvalidInput(
                "the linkage secret must hold at least 16 bytes".into(),
            ));
        }
        let schema = LinkageSchema::from_json(schema_json)?;
        let fingerprint = schema_fingerprint(schema_json)?;
        let mut features = Vec::new();
        for (column, feature) in schema.features.iter().enumerate() {
            let Some(encoding) = &feature.encoding else { continue };
            let key =
                derive(&schema, secret, format!("feature/{}", feature.identifier).as_bytes())?;
            let count = match encoding.strategy {
                Strategy::BitsPerToken(k) | Strategy::BitsPerFeature(k) => k,
            };
            features.push((column, hash_functions(&key, count)?));
        }
        let permutation = if schema.balance {
            let key = derive(&schema, secret, b"balance-permutation")?;
            Some(keyed_permutation(&key, 2 * schema.bits)?)
        } else {
            None
        };
        Ok(Self { schema, fingerprint, features, permutation })
    }

    /// The schema in use.
    pub fn schema(&self) -> &LinkageSchema {
        &self.schema
    }

    /// The schema's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encodes one record: one value per schema feature (ignored ones included), in order.
    /// `index` only names the record in errors.
    pub fn encode(&self, index: usize, values: &[&str]) -> Result<Encoding, MpcError> {
        if values.len() != self.schema.features.len() {
            return Err(MpcError::InvalidRecord {
                record: index,
                reason: format!(
                    "{} values for {} features",
                    values.len(),
                    self.schema.features.len()
                ),
            });
        }
        let raw_bits = self.schema.bits << self.schema.xor_folds;
        let mut filters = Vec::with_capacity(self.features.len());
        let mut record = BitVector::zeros(raw_bits);
        for (column, hashers) in &self.features {
            let feature = &self.schema.features[*column];
            let Some(encoding) = feature.encoding.as_ref() else { continue };
            let tokens =
                tokens_of(encoding, values[*column]).map_err(|reason| MpcError::InvalidRecord {
                    record: index,
                    reason: format!("feature {:?}: {reason}", feature.identifier),
                })?;
            let target = match self.schema.level {
                EncodingLevel::Record => &mut record,
                EncodingLevel::Field => {
                    filters.push(BitVector::zeros(raw_bits));
                    filters.last_mut().unwrap_or(&mut record)
                }
            };
            insert(target, &tokens, encoding.strategy, hashers);
        }
        Ok(match self.schema.level {
            EncodingLevel::Record => Encoding::Record(self.harden(&record)),
            EncodingLevel::Field => {
                Encoding::Field(filters.iter().map(|f| self.harden(f)).collect())
            }
        })
    }

    fn harden(&self, filter: &BitVector) -> BitVector {
        let mut out = filter.clone();
        for _ in 0..self.schema.xor_folds {
            out = out.fold();
        }
        match &self.permutation {
            Some(permutation) => out.balanced(permutation),
            None => out,
        }
    }

    /// Encodes every record into an encoding file.
    pub fn encode_all(&self, records: &[Vec<String>]) -> Result<EncodingFile, MpcError> {
        if records.len() > MAX_RECORDS {
            return Err(MpcError::InvalidInput("too many records for one encoding file".into()));
        }
        let encodings = records
            .iter()
            .enumerate()
            .map(|(i, r)| self.encode(i, &r.iter().map(String::as_str).collect::<Vec<_>>()))
            .collect::<Result<Vec<_>, _>>()?;
        let names = self.schema.hashed_features().map(|(name, _)| name.to_owned()).collect();
        Ok(EncodingFile {
            level: self.schema.level,
            bits: self.schema.output_bits(),
            schema: self.fingerprint.clone(),
            features: names,
            encodings,
        })
    }
}

/// HKDF-Expand of the secret under the schema's salt and info, then `label`.
fn derive(
    schema: &LinkageSchema,
    secret: &[u8],
    label: &[u8],
) -> Result<Zeroizing<Vec<u8>>, MpcError> {
    let mut info = schema.kdf.info.clone();
    info.extend_from_slice(b"/medi-privacy/pprl/v1/");
    info.extend_from_slice(label);
    let mut key = Zeroizing::new(vec![0u8; schema.kdf.key_size]);
    let salt = Some(schema.kdf.salt.as_slice()).filter(|s| !s.is_empty());
    let result = if schema.kdf.sha512 {
        Hkdf::<Sha512>::new(salt, secret).expand(&info, &mut key)
    } else {
        Hkdf::<Sha256>::new(salt, secret).expand(&info, &mut key)
    };
    result.map_err(|_| MpcError::InvalidSchema("kdf.keySize is too large for hkdf".into()))?;
    Ok(key)
}

/// key_j = HMAC(feature key, "hash-function" ‖ j), each ready to hash tokens.
fn hash_functions(feature_key: &[u8], count: usize) -> Result<Vec<HmacSha256>, MpcError> {
    let key_error = |_| MpcError::InvalidInput("unusable hmac key".into());
    let base = HmacSha256::new_from_slice(feature_key).map_err(key_error)?;
    (0..count)
        .map(|j| {
            let mut mac = base.clone();
            mac.update(b"hash-function");
            // j < MAX_BITS_PER_FEATURE fits in u32.
            mac.update(&(j as u32).to_le_bytes());
            let key: Zeroizing<[u8; 32]> = Zeroizing::new(mac.finalize().into_bytes().into());
            HmacSha256::new_from_slice(&key[..]).map_err(key_error)
        })
        .collect()
}

/// A permutation of 0..n: indices sorted by HMAC(key, index).
fn keyed_permutation(key: &[u8], n: usize) -> Result<Vec<u32>, MpcError> {
    let base = HmacSha256::new_from_slice(key)
        .map_err(|_| MpcError::InvalidInput("unusable hmac key".into()))?;
    // n <= 2 * MAX_FILTER_BITS fits in u32.
    let mut keyed: Vec<([u8; 32], u32)> = (0..n as u32)
        .map(|i| {
            let mut mac = base.clone();
            mac.update(&i.to_le_bytes());
            (mac.finalize().into_bytes().into(), i)
        })
        .collect();
    keyed.sort_unstable();
    Ok(keyed.into_iter().map(|(_, i)| i).collect())
}

/// Sets each token's bits: k per token, or K per feature spread over the tokens.
fn insert(filter: &mut BitVector, tokens: &[String], strategy: Strategy, hashers: &[HmacSha256]) {
    if tokens.is_empty() {
        return;
    }
    let length = filter.len() as u64;
    for (i, token) in tokens.iter().enumerate() {
        let k = match strategy {
            Strategy::BitsPerToken(k) => k,
            Strategy::BitsPerFeature(total) => {
                total / tokens.len() + usize::from(i < total % tokens.len())
            }
        };
        for hasher in &hashers[..k] {
            let mut mac = hasher.clone();
            mac.update(token.as_bytes());
            let digest = mac.finalize().into_bytes();
            let mut word = [0u8; 8];
            word.copy_from_slice(&digest[..8]);
            // The remainder is below the filter length, a usize.
            filter.set((u64::from_le_bytes(word) % length) as usize);
        }
    }
}

/// Validates a value and splits it into tokens; the error names the problem, never the value.
fn tokens_of(encoding: &FeatureEncoding, value: &str) -> Result<Vec<String>, String> {
    let value = match &encoding.missing {
        Some((sentinel, replacement)) if value == sentinel => match replacement {
            Some(replacement) => return tokenize(&encoding.comparison, replacement),
            None => return Ok(Vec::new()),
        },
        _ => value,
    };
    let canonical = validate(&encoding.format, value)?;
    tokenize(&encoding.comparison, &canonical)
}

fn validate(format: &Format, value: &str) -> Result<String, String> {
    match format {
        Format::Text { ascii, upper, min_len, max_len } => {
            if *ascii && !value.is_ascii() {
                return Err("not ascii".into());
            }
            let wrong_case = match upper {
                Some(true) => value.to_uppercase() != value,
                Some(false) => value.to_lowercase() != value,
                None => false,
            };
            if wrong_case {
                return Err("wrong letter case".into());
            }
            let len = value.chars().count();
            if len < *min_len || max_len.is_some_and(|max| len > max) {
                return Err("length out of bounds".into());
            }
            Ok(value.to_owned())
        }
        Format::Integer { min, max } => {
            let v: i64 = value.parse().map_err(|_| "not an integer".to_owned())?;
            if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                return Err("integer out of bounds".into());
            }
            Ok(v.to_string())
        }
        Format::Date { pattern } => check_date(pattern, value).map(|()| value.to_owned()),
        Format::Enum { values } => {
            if values.iter().any(|v| v == value) {
                Ok(value.to_owned())
            } else {
                Err("not one of the enum values".into())
            }
        }
    }
}

fn check_date(pattern: &str, value: &str) -> Result<(), String> {
    let bad = || "does not match the date format".to_owned();
    let mut rest = value;
    let mut fields: HashMap<char, u32> = HashMap::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            rest = rest.strip_prefix(c).ok_or_else(bad)?;
            continue;
        }
        let field = chars.next().ok_or_else(bad)?;
        let width = if field == 'Y' { 4 } else { 2 };
        let digits =
            rest.get(..width).filter(|d| d.bytes().all(|b| b.is_ascii_digit())).ok_or_else(bad)?;
        fields.insert(field, digits.parse().map_err(|_| bad())?);
        rest = &rest[width..];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    let month = fields.get(&'m').copied();
    if month.is_some_and(|m| !(1..=12).contains(&m)) {
        return Err("month out of range".into());
    }
    let year = fields.get(&'Y').copied();
    match fields.get(&'d') {
        Some(&d) if d < 1 || d > days_in_month(year, month) => Err("day out of range".into()),
        _ => Ok(()),
    }
}

fn days_in_month(year: Option<u32>, month: Option<u32>) -> u32 {
    match month {
        Some(4 | 6 | 9 | 11) => 30,
        Some(2) => match year {
            Some(y) if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            Some(_) => 28,
            None => 29,
        },
        _ => 31,
    }
}

fn tokenize(comparison: &Comparison, value: &str) -> Result<Vec<String>, String> {
    Ok(match comparison {
        Comparison::Exact => vec![value.to_owned()],
        Comparison::Ngram { n, positional } => {
            let mut chars: Vec<char> = value.chars().collect();
            if *n >= 2 {
                chars.insert(0, ' ');
                chars.push(' ');
            }
            chars
                .windows(*n)
                .enumerate()
                .map(|(i, gram)| {
                    let gram: String = gram.iter().collect();
                    if *positional {
                        format!("{} {gram}", i + 1)
                    } else {
                        gram
                    }
                })
                .collect()
        }
        Comparison::Numeric { threshold, resolution, precision } => {
            numeric_tokens(value, *threshold, *resolution, *precision)?
        }
    })
}

/// The grid points around a number (Vatsalan and Christen 2016): values within the threshold
/// share most of their tokens.
fn numeric_tokens(
    value: &str,
    threshold: u64,
    resolution: u32,
    precision: u32,
) -> Result<Vec<String>, String> {
    let number: f64 = value.trim().parse().map_err(|_| "not a number".to_owned())?;
    let scaled = number * 10f64.powi(precision as i32);
    if !scaled.is_finite() || scaled.abs() > 1e30 {
        return Err("number out of range".into());
    }
    // |scaled| <= 1e30 < 2^127, so the conversion is in range.
    let scaled = scaled.round() as i128;
    let step = i128::from(threshold / u64::from(resolution));
    let base = scaled.div_euclid(step) * step;
    let r = i128::from(resolution);
    Ok((-r..=r).map(|i| (base + i * step).to_string()).collect())
}

/// An encoding file: the filters of every record, with what is needed to refuse a mismatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodingFile {
    /// Record-level or field-level.
    pub level: EncodingLevel,
    /// Bits per filter.
    pub bits: usize,
    /// The schema's fingerprint.
    pub schema: String,
    /// The hashed features, in order.
    pub features: Vec<String>,
    /// One encoding per record, in input order.
    pub encodings: Vec<Encoding>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMeta {
    version: u32,
    level: String,
    bits: usize,
    schema: String,
    features: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fbfs: Option<Vec<Vec<String>>>,
    #[serde(rename = "x-medi-privacy")]
    meta: FileMeta,
}

impl EncodingFile {
    /// JSON: `{"clks": [base64, ...]}` as clkhash writes it (or `fbfs` for field-level
    /// filters), with the level, length, schema fingerprint and features under
    /// `x-medi-privacy`.
    pub fn to_json(&self) -> String {
        let b64 = |v: &BitVector| v.to_base64();
        let (clks, fbfs) = match self.level {
            EncodingLevel::Record => (
                Some(
                    self.encodings
                        .iter()
                        .map(|e| match e {
                            Encoding::Record(v) => b64(v),
                            Encoding::Field(_) => String::new(),
                        })
                        .collect(),
                ),
                None,
            ),
            EncodingLevel::Field => (
                None,
                Some(
                    self.encodings
                        .iter()
                        .map(|e| match e {
                            Encoding::Field(vs) => vs.iter().map(b64).collect(),
                            Encoding::Record(v) => vec![b64(v)],
                        })
                        .collect(),
                ),
            ),
        };
        let meta = FileMeta {
            version: 1,
            level: match self.level {
                EncodingLevel::Record => "record".into(),
                EncodingLevel::Field => "field".into(),
            },
            bits: self.bits,
            schema: self.schema.clone(),
            features: self.features.clone(),
        };
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(&RawFile { clks, fbfs, meta }).unwrap_or_default()
    }

    /// Parses [`EncodingFile::to_json`], refusing unknown keys, a level without its list,
    /// filters of the wrong length, bad base64 and more than [`MAX_RECORDS`] records.
    pub fn from_json(text: &str) -> Result<Self, MpcError> {
        let malformed = |reason| MpcError::Malformed { what: "encoding file", reason };
        let raw: RawFile =
            serde_json::from_str(text).map_err(|_| malformed("not an encoding file"))?;
        let meta = raw.meta;
        if meta.version != 1
            || meta.bits == 0
            || !meta.bits.is_multiple_of(8)
            || meta.bits > 2 * super::schema::MAX_FILTER_BITS
        {
            return Err(malformed("version or filter length"));
        }
        let encodings = match (meta.level.as_str(), raw.clks, raw.fbfs) {
            ("record", Some(clks), None) => {
                check_count(clks.len())?;
                clks.iter()
                    .map(|t| BitVector::from_base64(t, meta.bits).map(Encoding::Record))
                    .collect::<Result<Vec<_>, _>>()?
            }
            ("field", None, Some(fbfs)) => {
                check_count(fbfs.len())?;
                fbfs.iter()
                    .map(|fields| {
                        if fields.len() != meta.features.len() {
                            return Err(malformed("field count"));
                        }
                        fields
                            .iter()
                            .map(|t| BitVector::from_base64(t, meta.bits))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Encoding::Field)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => return Err(malformed("level and filter list disagree")),
        };
        let level =
            if meta.level == "record" { EncodingLevel::Record } else { EncodingLevel::Field };
        Ok(Self { level, bits: meta.bits, schema: meta.schema, features: meta.features, encodings })
    }
}

fn check_count(count: usize) -> Result<(), MpcError> {
    if count > MAX_RECORDS {
        return Err(MpcError::Malformed { what: "encoding file", reason: "too many records" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pprl::bits::dice;

    const SECRET: &[u8] = b"a shared secret of at least 16 bytes";

    fn schema(extension: &str, strategy: &str) -> String {
        format!(
            r#"{{"version": 3, "clkConfig": {{"l": 1024, "kdf": {{"type": "HKDF"}}}},
              "features": [
                {{"identifier": "id", "ignored": true}},
                {{"identifier": "name", "format": {{"type": "string", "maxLength": 40}},
                  "hashing": {{"comparison": {{"type": "ngram", "n": 2}}, "strategy": {strategy}}}}},
                {{"identifier": "dob", "format": {{"type": "date", "format": "%Y-%m-%d"}},
                  "hashing": {{"comparison": {{"type": "ngram", "n": 1, "positional": true}},
                               "strategy": {{"bitsPerToken": 10}},
                               "missingValue": {{"sentinel": ""}}}}}}
              ]{extension}}}"#
        )
    }

    fn clk(encoder: &Encoder, name: &str, dob: &str) -> BitVector {
        match encoder.encode(0, &["x", name, dob]).unwrap() {
            Encoding::Record(v) => v,
            Encoding::Field(_) => panic!("record level expected"),
        }
    }

    #[test]
    fn similar_records_are_similar_and_different_secrets_are_not() {
        let s = schema("", r#"{"bitsPerToken": 20}"#);
        let encoder = Encoder::new(&s, SECRET).unwrap();
        let a = clk(&encoder, "katharina", "1970-01-31");
        let b = clk(&encoder, "katarina", "1970-01-31");
        let c = clk(&encoder, "bob", "1999-12-01");
        assert!(dice(&a, &b) > 0.8, "{}", dice(&a, &b));
        assert!(dice(&a, &c) < 0.5, "{}", dice(&a, &c));
        assert_eq!(a, clk(&encoder, "katharina", "1970-01-31"), "not deterministic");
        let other = Encoder::new(&s, b"another secret of 16+ bytes").unwrap();
        assert!(dice(&a, &clk(&other, "katharina", "1970-01-31")) < 0.5);
    }

    #[test]
    fn length_normalisation_and_balancing_fix_the_weight() {
        let s = schema(r#", "x-medi-privacy": {"balance": true}"#, r#"{"bitsPerFeature": 60}"#);
        let encoder = Encoder::new(&s, SECRET).unwrap();
        let short = clk(&encoder, "al", "");
        let long = clk(&encoder, "maximiliana-josephina", "");
        assert_eq!(short.len(), 2048);
        assert_eq!(short.count_ones(), 1024);
        assert_eq!(long.count_ones(), 1024);
        let unbalanced = Encoder::new(&schema("", r#"{"bitsPerFeature": 60}"#), SECRET).unwrap();
        // At most 60 bits per feature whatever the length (collisions only lower it).
        assert!(clk(&unbalanced, "maximiliana-josephina", "").count_ones() <= 60);
    }

    #[test]
    fn invalid_values_are_refused_without_showing_them() {
        let encoder = Encoder::new(&schema("", r#"{"bitsPerToken": 5}"#), SECRET).unwrap();
        for dob in ["1970-02-30", "70-01-01", "1970-13-01", "1970-01-01x"] {
            let err = encoder.encode(3, &["x", "ann", dob]).unwrap_err();
            assert!(matches!(err, MpcError::InvalidRecord { record: 3, .. }), "{dob}");
            assert!(!err.to_string().contains(dob));
        }
        assert!(encoder.encode(0, &["x", "ann", "2000-02-29"]).is_ok());
        assert!(encoder.encode(0, &["x", "ann"]).is_err());
        assert!(matches!(Encoder::new(&schema("", "{}"), SECRET), Err(MpcError::InvalidSchema(_))));
        assert!(matches!(
            Encoder::new(&schema("", r#"{"bitsPerToken": 5}"#), b"short"),
            Err(MpcError::InvalidInput(_))
        ));
    }

    #[test]
    fn files_round_trip_and_refuse_tampering() {
        let s = schema(r#", "x-medi-privacy": {"level": "field"}"#, r#"{"bitsPerToken": 5}"#);
        let encoder = Encoder::new(&s, SECRET).unwrap();
        let records = vec![vec!["1".into(), "ann".into(), "1980-05-05".into()]];
        let file = encoder.encode_all(&records).unwrap();
        let json = file.to_json();
        assert_eq!(EncodingFile::from_json(&json).unwrap(), file);
        let broken = json.replace("\"bits\":1024", "\"bits\":512");
        assert!(EncodingFile::from_json(&broken).is_err());
        assert!(EncodingFile::from_json("{\"clks\": []}").is_err());
    }

    #[test]
    fn numeric_tokens_overlap_for_close_values() {
        let near = numeric_tokens("101", 10, 5, 0).unwrap();
        let close = numeric_tokens("104", 10, 5, 0).unwrap();
        let far = numeric_tokens("500", 10, 5, 0).unwrap();
        let shared = |a: &[String], b: &[String]| a.iter().filter(|t| b.contains(t)).count();
        assert!(shared(&near, &close) >= 9);
        assert_eq!(shared(&near, &far), 0);
        assert!(numeric_tokens("abc", 10, 5, 0).is_err());
    }
}
