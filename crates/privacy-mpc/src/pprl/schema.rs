//! Linkage schemas in clkhash's format (version 3), so a team using clkhash can switch by
//! pointing medi-privacy at the schema file it already has.
//!
//! What is read, with clkhash's meaning: `clkConfig.l` (filter length in bits, after folding),
//! `clkConfig.xorFolds`, `clkConfig.kdf` (HKDF with SHA256 or SHA512, base64 `salt` and `info`,
//! `keySize`), and per feature `identifier`, `ignored`, `format` (`string` with `encoding`,
//! `case`, `minLength`, `maxLength`; `integer` with `minimum`, `maximum`; `date` with a
//! strptime `format`; `enum` with `values`) and `hashing` (`comparison`: `ngram` with `n` and
//! `positional`, `exact`, or `numeric` with `thresholdDistance`, `resolution` and
//! `fractionalPrecision`; `strategy`: `bitsPerToken` or `bitsPerFeature`; `hash`;
//! `missingValue` with `sentinel` and `replaceWith`).
//!
//! Deliberate differences, each refused with a clear [`MpcError::InvalidSchema`] rather than
//! silently changed: `hash.type = "doubleHash"` (the double-hashing scheme is broken by Kroll
//! and Steinmetzer 2015; medi-privacy always uses independently keyed HMAC hash functions, which
//! is what `blakeHash` asks for in spirit), `textPatternFormat` (`pattern`, no regex engine
//! here), and any schema version other than 3. Encodings are **not** bit-identical to
//! clkhash's: both sides of a linkage must encode with medi-privacy.
//!
//! Extensions live under the top-level key `x-medi-privacy`, which clkhash ignores:
//! `level` (`record`, the default CLK, or `field` for one filter per feature) and `balance`
//! (Schnell and Borgs 2016 balanced filters, default false).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;

use crate::error::MpcError;

/// The largest filter length accepted (2^16 bits).
pub const MAX_FILTER_BITS: usize = 1 << 16;
/// The most hash insertions a feature or token may ask for.
pub const MAX_BITS_PER_FEATURE: usize = 4096;

/// A validated linkage schema.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkageSchema {
    /// Filter length in bits, after folding.
    pub bits: usize,
    /// Number of XOR folds (each halves the filter).
    pub xor_folds: u32,
    /// Key derivation.
    pub kdf: Kdf,
    /// The columns, in file order.
    pub features: Vec<Feature>,
    /// Record-level (CLK) or field-level filters.
    pub level: EncodingLevel,
    /// Balanced filters: each filter followed by its complement, under a keyed permutation.
    pub balance: bool,
}

/// HKDF parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kdf {
    /// SHA-512 instead of SHA-256.
    pub sha512: bool,
    /// HKDF salt.
    pub salt: Vec<u8>,
    /// HKDF info.
    pub info: Vec<u8>,
    /// Bytes of each feature key.
    pub key_size: usize,
}

/// One column of the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Feature {
    /// The column's name.
    pub identifier: String,
    /// `None` for an ignored column.
    pub encoding: Option<FeatureEncoding>,
}

/// How a column is validated and hashed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureEncoding {
    /// What values must look like.
    pub format: Format,
    /// How values become tokens.
    pub comparison: Comparison,
    /// How many bits each token or the whole feature sets.
    pub strategy: Strategy,
    /// A value standing for "missing", and what to hash instead (nothing if `None`).
    pub missing: Option<(String, Option<String>)>,
}

/// Value formats.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// Text, optionally ASCII-only, of one case, with length bounds (in characters).
    Text {
        /// Only ASCII allowed.
        ascii: bool,
        /// `Some(true)` upper, `Some(false)` lower, `None` mixed.
        upper: Option<bool>,
        /// Minimum length.
        min_len: usize,
        /// Maximum length.
        max_len: Option<usize>,
    },
    /// An integer in bounds.
    Integer {
        /// Lower bound.
        min: Option<i64>,
        /// Upper bound.
        max: Option<i64>,
    },
    /// A date in a strptime pattern of `%Y`, `%y`, `%m`, `%d` and literal characters.
    Date {
        /// The pattern.
        pattern: String,
    },
    /// One of a list of values.
    Enum {
        /// The allowed values.
        values: Vec<String>,
    },
}

/// Tokenisers.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    /// n-grams of the value padded with a space on each side (for n ≥ 2), optionally with
    /// their 1-based position.
    Ngram {
        /// n.
        n: usize,
        /// Prefix each gram with its position.
        positional: bool,
    },
    /// The whole value as one token.
    Exact,
    /// Neighbouring values on a grid, so numbers within the threshold share tokens
    /// (Vatsalan and Christen 2016).
    Numeric {
        /// Distance below which values should match, in units of 10^-precision.
        threshold: u64,
        /// Tokens on each side of the value.
        resolution: u32,
        /// Decimal places kept.
        precision: u32,
    },
}

/// How many hash insertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// k insertions per token.
    BitsPerToken(usize),
    /// K insertions per feature, spread over its tokens: the number of bits set no longer
    /// grows with the length of the value (length normalisation).
    BitsPerFeature(usize),
}

/// Record-level or field-level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingLevel {
    /// One cryptographic long-term key (CLK) per record (Schnell, Bachteler, Reiher 2011).
    Record,
    /// One filter per feature (Schnell, Bachteler, Reiher 2009). Weaker against frequency
    /// attacks (Kuzu et al. 2011): use only with balancing and a linkage unit you trust.
    Field,
}

// ---- The file format, as clkhash writes it. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    version: u32,
    #[serde(rename = "clkConfig")]
    clk_config: RawClkConfig,
    features: Vec<RawFeature>,
    #[serde(rename = "x-medi-privacy", default)]
    extension: Option<RawExtension>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClkConfig {
    l: usize,
    kdf: RawKdf,
    #[serde(rename = "xorFolds", default)]
    xor_folds: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKdf {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    salt: Option<String>,
    #[serde(default)]
    info: Option<String>,
    #[serde(rename = "keySize", default)]
    key_size: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    balance: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    identifier: String,
    #[serde(default)]
    ignored: bool,
    #[serde(default)]
    #[allow(dead_code)] // Free text, read so that it is allowed.
    description: Option<String>,
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    hashing: Option<RawHashing>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHashing {
    comparison: serde_json::Value,
    strategy: serde_json::Value,
    #[serde(default)]
    hash: Option<serde_json::Value>,
    #[serde(rename = "missingValue", default)]
    missing_value: Option<RawMissing>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMissing {
    sentinel: String,
    #[serde(rename = "replaceWith", default)]
    replace_with: Option<String>,
}

fn invalid(reason: impl Into<String>) -> MpcError {
    MpcError::InvalidSchema(reason.into())
}

impl LinkageSchema {
    /// Parses and validates a schema (JSON text).
    pub fn from_json(text: &str) -> Result<Self, MpcError> {
        let raw: RawSchema = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a version 3 linkage schema: {e}")))?;
        if raw.version != 3 {
            return Err(invalid(
                "only version 3 schemas are supported (clkutil converts older ones)",
            ));
        }
        let bits = raw.clk_config.l;
        if bits == 0 || !bits.is_multiple_of(8) || bits > MAX_FILTER_BITS {
            return Err(invalid("clkConfig.l must be a multiple of 8 between 8 and 65536"));
        }
        if raw.clk_config.xor_folds > 8 {
            return Err(invalid("clkConfig.xorFolds must be at most 8"));
        }
        let kdf = parse_kdf(raw.clk_config.kdf)?;
        let features =
            raw.features.into_iter().map(parse_feature).collect::<Result<Vec<_>, _>>()?;
        if features.iter().all(|f| f.encoding.is_none()) {
            return Err(invalid("the schema hashes no feature"));
        }
        let mut names = std::collections::HashSet::new();
        if !features.iter().all(|f| names.insert(f.identifier.as_str())) {
            return Err(invalid("two features share an identifier"));
        }
        let (level, balance) = match raw.extension {
            None => (EncodingLevel::Record, false),
            Some(ext) => (parse_level(ext.level.as_deref())?, ext.balance),
        };
        Ok(Self { bits, xor_folds: raw.clk_config.xor_folds, kdf, features, level, balance })
    }

    /// The length of one output filter in bits (doubled by balancing).
    pub fn output_bits(&self) -> usize {
        if self.balance {
            2 * self.bits
        } else {
            self.bits
        }
    }

    /// The features that are hashed.
    pub fn hashed_features(&self) -> impl Iterator<Item = (&str, &FeatureEncoding)> {
        self.features.iter().filter_map(|f| f.encoding.as_ref().map(|e| (f.identifier.as_str(), e)))
    }
}

fn parse_level(level: Option<&str>) -> Result<EncodingLevel, MpcError> {
    match level {
        None | Some("record") => Ok(EncodingLevel::Record),
        Some("field") => Ok(EncodingLevel::Field),
        Some(_) => Err(invalid("x-medi-privacy.level must be record or field")),
    }
}

fn parse_kdf(raw: RawKdf) -> Result<Kdf, MpcError> {
    if raw.kind != "HKDF" {
        return Err(invalid("clkConfig.kdf.type must be HKDF"));
    }
    let sha512 = match raw.hash.as_deref() {
        None | Some("SHA256") => false,
        Some("SHA512") => true,
        Some(_) => return Err(invalid("clkConfig.kdf.hash must be SHA256 or SHA512")),
    };
    let decode = |field: Option<String>, name: &str| -> Result<Vec<u8>, MpcError> {
        field
            .map(|text| {
                BASE64.decode(text).map_err(|_| invalid(format!("kdf.{name} is not base64")))
            })
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let key_size = raw.key_size.unwrap_or(64);
    if !(16..=255).contains(&key_size) {
        return Err(invalid("clkConfig.kdf.keySize must be between 16 and 255"));
    }
    Ok(Kdf { sha512, salt: decode(raw.salt, "salt")?, info: decode(raw.info, "info")?, key_size })
}

fn parse_feature(raw: RawFeature) -> Result<Feature, MpcError> {
    let identifier = raw.identifier;
    if raw.ignored {
        return Ok(Feature { identifier, encoding: None });
    }
    let context = |e: MpcError| match e {
        MpcError::InvalidSchema(reason) => invalid(format!("feature {identifier:?}: {reason}")),
        other => other,
    };
    let (Some(format), Some(hashing)) = (raw.format, raw.hashing) else {
        return Err(invalid(format!("feature {identifier:?} needs a format and a hashing")));
    };
    let encoding = parse_encoding(&format, hashing).map_err(context)?;
    Ok(Feature { identifier, encoding: Some(encoding) })
}

fn parse_encoding(
    format: &serde_json::Value,
    hashing: RawHashing,
) -> Result<FeatureEncoding, MpcError> {
    if let Some(hash) = &hashing.hash {
        match hash.get("type").and_then(serde_json::Value::as_str) {
            Some("blakeHash") => {}
            Some("doubleHash") => {
                return Err(invalid(
                    "doubleHash is refused: double hashing is broken by Kroll and Steinmetzer \
                     (2015); use blakeHash (encoded here with independently keyed HMACs)",
                ))
            }
            _ => return Err(invalid("hash.type must be blakeHash")),
        }
    }
    Ok(FeatureEncoding {
        format: parse_format(format)?,
        comparison: parse_comparison(&hashing.comparison)?,
        strategy: parse_strategy(&hashing.strategy)?,
        missing: hashing.missing_value.map(|m| (m.sentinel, m.replace_with)),
    })
}

fn get_usize(value: &serde_json::Value, key: &str) -> Result<Option<usize>, MpcError> {
    match value.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| invalid(format!("{key} must be a non-negative integer"))),
    }
}

fn get_i64(value: &serde_json::Value, key: &str) -> Result<Option<i64>, MpcError> {
    value
        .get(key)
        .map(|v| v.as_i64().ok_or_else(|| invalid(format!("{key} must be an integer"))))
        .transpose()
}

fn only_keys(value: &serde_json::Value, allowed: &[&str]) -> Result<(), MpcError> {
    let object = value.as_object().ok_or_else(|| invalid("expected an object"))?;
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(invalid(format!("unknown key {key:?}"))),
        None => Ok(()),
    }
}

fn parse_format(value: &serde_json::Value) -> Result<Format, MpcError> {
    let kind = value.get("type").and_then(serde_json::Value::as_str);
    match kind {
        Some("string") if value.get("pattern").is_some() => {
            Err(invalid("pattern formats are not supported; use minLength/maxLength or enum"))
        }
        Some("string") => parse_text_format(value),
        Some("integer") => {
            only_keys(value, &["type", "minimum", "maximum", "description"])?;
            Ok(Format::Integer { min: get_i64(value, "minimum")?, max: get_i64(value, "maximum")? })
        }
        Some("date") => {
            only_keys(value, &["type", "format", "description"])?;
            let pattern = value.get("format").and_then(serde_json::Value::as_str);
            let pattern = pattern.ok_or_else(|| invalid("a date format needs a format"))?;
            check_date_pattern(pattern)?;
            Ok(Format::Date { pattern: pattern.to_owned() })
        }
        Some("enum") => {
            only_keys(value, &["type", "values", "description"])?;
            let values = value.get("values").and_then(serde_json::Value::as_array);
            let values = values.ok_or_else(|| invalid("an enum format needs values"))?;
            let values = values
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| invalid("enum values are text"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Format::Enum { values })
        }
        _ => Err(invalid("format.type must be string, integer, date or enum")),
    }
}

fn parse_text_format(value: &serde_json::Value) -> Result<Format, MpcError> {
    only_keys(value, &["type", "encoding", "case", "minLength", "maxLength", "description"])?;
    let ascii = match value.get("encoding").and_then(serde_json::Value::as_str) {
        None | Some("utf-8") => false,
        Some("ascii") => true,
        Some(_) => return Err(invalid("only utf-8 and ascii encodings are supported")),
    };
    let upper = match value.get("case").and_then(serde_json::Value::as_str) {
        None | Some("mixed") => None,
        Some("upper") => Some(true),
        Some("lower") => Some(false),
        Some(_) => return Err(invalid("case must be upper, lower or mixed")),
    };
    let min_len = get_usize(value, "minLength")?.unwrap_or(0);
    let max_len = get_usize(value, "maxLength")?;
    if max_len.is_some_and(|max| max < min_len.max(1)) {
        return Err(invalid("maxLength must be at least minLength and 1"));
    }
    Ok(Format::Text { ascii, upper, min_len, max_len })
}

fn check_date_pattern(pattern: &str) -> Result<(), MpcError> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '%' && !matches!(chars.next(), Some('Y' | 'y' | 'm' | 'd')) {
            return Err(invalid("date formats may use %Y, %y, %m and %d only"));
        }
    }
    Ok(())
}

fn parse_comparison(value: &serde_json::Value) -> Result<Comparison, MpcError> {
    match value.get("type").and_then(serde_json::Value::as_str) {
        Some("ngram") => {
            only_keys(value, &["type", "n", "positional"])?;
            let n = get_usize(value, "n")?.ok_or_else(|| invalid("ngram needs n"))?;
            if !(1..=16).contains(&n) {
                return Err(invalid("ngram n must be between 1 and 16"));
            }
            let positional = value.get("positional").is_some_and(|p| p.as_bool() == Some(true));
            Ok(Comparison::Ngram { n, positional })
        }
        Some("exact") => {
            only_keys(value, &["type"])?;
            Ok(Comparison::Exact)
        }
        Some("numeric") => parse_numeric(value),
        _ => Err(invalid("comparison.type must be ngram, exact or numeric")),
    }
}

fn parse_numeric(value: &serde_json::Value) -> Result<Comparison, MpcError> {
    let keys = ["type", "thresholdDistance", "resolution", "fractionalPrecision"];
    only_keys(value, &[&keys[..], &["fractional_precision"]].concat())?;
    // Both spellings of the precision key are in circulation; accept either.
    let precision = match get_usize(value, "fractionalPrecision")? {
        Some(p) => p,
        None => get_usize(value, "fractional_precision")?.unwrap_or(0),
    };
    let resolution =
        get_usize(value, "resolution")?.ok_or_else(|| invalid("numeric needs resolution"))?;
    let threshold = value.get("thresholdDistance").and_then(serde_json::Value::as_f64);
    let threshold = threshold.ok_or_else(|| invalid("numeric needs thresholdDistance"))?;
    if precision > 6 || !(1..=64).contains(&resolution) || !(threshold > 0.0 && threshold < 1e12) {
        return Err(invalid(
            "numeric needs 0 < thresholdDistance < 1e12, 1..64 resolution, precision <= 6",
        ));
    }
    // Both are checked above to be small: the conversions are exact or rounded to the grid.
    let scaled = (threshold * 10f64.powi(precision as i32)).round() as u64;
    if scaled < resolution as u64 {
        return Err(invalid("thresholdDistance is finer than resolution at this precision"));
    }
    Ok(Comparison::Numeric {
        threshold: scaled,
        resolution: resolution as u32,
        precision: precision as u32,
    })
}

fn parse_strategy(value: &serde_json::Value) -> Result<Strategy, MpcError> {
    let per_token = get_usize(value, "bitsPerToken")?;
    let per_feature = get_usize(value, "bitsPerFeature")?;
    let strategy = match (per_token, per_feature) {
        (Some(k), None) => Strategy::BitsPerToken(k),
        (None, Some(k)) => Strategy::BitsPerFeature(k),
        _ => return Err(invalid("strategy must give exactly one of bitsPerToken, bitsPerFeature")),
    };
    let (Strategy::BitsPerToken(k) | Strategy::BitsPerFeature(k)) = strategy;
    if !(1..=MAX_BITS_PER_FEATURE).contains(&k) {
        return Err(invalid("bits per token or feature must be between 1 and 4096"));
    }
    Ok(strategy)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SCHEMA: &str = r#"{
      "version": 3,
      "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256",
        "salt": "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA==",
        "info": "c2NoZW1hX2V4YW1wbGU=", "keySize": 64}},
      "features": [
        {"identifier": "rec_id", "ignored": true},
        {"identifier": "given_name", "format": {"type": "string", "encoding": "utf-8", "maxLength": 64},
         "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerFeature": 200},
                     "hash": {"type": "blakeHash"}}},
        {"identifier": "postcode", "format": {"type": "integer", "minimum": 50, "maximum": 9999},
         "hashing": {"comparison": {"type": "ngram", "n": 1, "positional": true},
                     "strategy": {"bitsPerToken": 20}, "missingValue": {"sentinel": ""}}}
      ]
    }"#;

    #[test]
    fn a_clkhash_v3_schema_parses() {
        let schema = LinkageSchema::from_json(SCHEMA).unwrap();
        assert_eq!(schema.bits, 1024);
        assert_eq!(schema.hashed_features().count(), 2);
        assert_eq!(schema.kdf.info, b"schema_example");
        assert_eq!(schema.level, EncodingLevel::Record);
    }

    #[test]
    fn double_hashing_and_bad_parameters_are_refused() {
        let double = SCHEMA.replace("blakeHash", "doubleHash");
        let err = LinkageSchema::from_json(&double).unwrap_err().to_string();
        assert!(err.contains("Kroll"), "{err}");
        for (from, to) in [
            ("\"l\": 1024", "\"l\": 1001"),
            ("\"version\": 3", "\"version\": 2"),
            ("\"n\": 2", "\"n\": 0"),
            ("{\"bitsPerFeature\": 200}", "{\"bitsPerFeature\": 200, \"bitsPerToken\": 3}"),
            ("\"maxLength\": 64", "\"pattern\": \"[a-z]+\""),
            ("\"hash\": \"SHA256\"", "\"hash\": \"MD5\""),
        ] {
            let schema = SCHEMA.replace(from, to);
            assert!(
                matches!(LinkageSchema::from_json(&schema), Err(MpcError::InvalidSchema(_))),
                "{to} accepted"
            );
        }
        assert!(LinkageSchema::from_json("{").is_err());
    }
}
