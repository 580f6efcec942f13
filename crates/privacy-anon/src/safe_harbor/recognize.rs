//! Recognising what a column holds, from its name and from its values.
//!
//! Names are normalised (lower case, camelCase and punctuation split into `_`-separated words)
//! and matched against word lists per kind: `BIRTHDATE`, `date_of_birth` and `DOB` are birth
//! dates, `ZIP` and `postalCode` ZIP codes, `STATE` and `country` areas no smaller than a state
//! (which Safe Harbor lets stay). Values are classified one by one: formats that almost never
//! occur by chance (an email address, a dashed SSN, a UUID, a calendar date, a NANP telephone
//! number with separators, an MBI, a VIN with its check digit) are *strong*, and a column is of
//! that kind when half its values are; formats that codes often share by chance (five digits, a
//! Luhn-valid digit string) are *weak* and need four fifths. A column whose values are mostly
//! prose is free text, and the free-text detector finds identifiers inside it.
//!
//! When the name and the values disagree, the kind whose Safe Harbor rule is stricter wins (a
//! column named `id` holding SSNs is treated as SSNs), and both are reported as evidence.
//!
//! Trade-off: recognition is conservative. A false positive costs a column (removed or
//! coarsened, and reported with its evidence so a job file can override it); a false negative
//! would leak an identifier, and the scan of the output is there to catch what slips through.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::kinds::ColumnKind;
use crate::date_text::{is_year, DateCell};
use crate::detect::checksum;

/// Share of non-empty values a strong format needs for the column to be of its kind.
pub const STRONG_SHARE: f64 = 0.5;
/// Share a weak format needs.
pub const WEAK_SHARE: f64 = 0.8;
/// Share of prose-like values that makes a column free text.
pub const TEXT_SHARE: f64 = 0.3;

/// What one value looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueClass {
    /// A format that rarely occurs by chance.
    Strong(ColumnKind),
    /// A format that codes often share by chance.
    Weak(ColumnKind),
    /// A four-digit year.
    Year(i32),
    /// A keyed pseudonym of this crate (`v1.` and 32 hex digits).
    Pseudonym,
    /// A reversible token of this crate (`t1.` and base64url).
    Token,
    /// Only mask characters (`*`), or a redaction placeholder.
    Masked,
    /// Prose: several words.
    Text,
    /// Anything else.
    Other,
}

/// Classifies one (non-empty) value.
pub fn classify(value: &str) -> ValueClass {
    use ColumnKind as C;
    let v = value.trim();
    if v.is_empty() {
        return ValueClass::Other;
    }
    if let Some(y) = is_year(v) {
        return ValueClass::Year(y);
    }
    if is_pseudonym(v) {
        return ValueClass::Pseudonym;
    }
    if is_token(v) {
        return ValueClass::Token;
    }
    if v.bytes().all(|b| b == b'*')
        || (v.starts_with('[')
            && v.ends_with(']')
            && v.len() <= 20
            && v[1..v.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b"-+0123456789".contains(&b)))
    {
        return ValueClass::Masked;
    }
    let b = v.as_bytes();
    if !v.contains(' ') {
        if is_email(v) {
            return ValueClass::Strong(C::Email);
        }
        if is_url(v) {
            return ValueClass::Strong(C::Url);
        }
        if v.parse::<std::net::Ipv4Addr>().is_ok()
            || (v.contains(':') && v.parse::<std::net::Ipv6Addr>().is_ok() && v.len() > 2)
        {
            return ValueClass::Strong(C::IpAddress);
        }
        if is_uuid(b) {
            return ValueClass::Strong(C::UniqueIdentifier);
        }
        if checksum::mbi(v) {
            return ValueClass::Strong(C::HealthPlanNumber);
        }
        if checksum::vin(v) {
            return ValueClass::Strong(C::VehicleIdentifier);
        }
        if b.len() == 10 && b[5] == b'-' && b[..5].iter().chain(&b[6..]).all(u8::is_ascii_digit) {
            return ValueClass::Strong(C::Zip);
        }
        if b.len() == 5 && b.iter().all(u8::is_ascii_digit) {
            return ValueClass::Weak(C::Zip);
        }
    }
    if checksum::ssn(v, false) {
        return ValueClass::Strong(C::Ssn);
    }
    if is_phone(v) {
        return ValueClass::Strong(C::Telephone);
    }
    if DateCell::parse(v, false).is_some() {
        return ValueClass::Strong(C::Date);
    }
    if checksum::card_number(v) {
        return ValueClass::Weak(C::AccountNumber);
    }
    if v.split_whitespace().count() >= 4 && v.len() >= 20 {
        return ValueClass::Text;
    }
    ValueClass::Other
}

/// A keyed pseudonym: `v<version>.` and 32 lower-case hex digits.
pub fn is_pseudonym(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let Some((version, hex)) = rest.split_once('.') else { return false };
    !version.is_empty()
        && version.len() <= 9
        && version.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 32
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A reversible token: `t<version>.` and base64url text.
pub fn is_token(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('t') else { return false };
    let Some((version, body)) = rest.split_once('.') else { return false };
    !version.is_empty()
        && version.len() <= 9
        && version.bytes().all(|b| b.is_ascii_digit())
        && body.len() >= 22
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    let tld = domain.rsplit('.').next().unwrap_or("");
    !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_url(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("ftp://"))
        && v.len() > 8
        || lower.starts_with("www.") && v.len() > 6
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A NANP telephone number written with separators or parentheses, optionally `+1`.
fn is_phone(v: &str) -> bool {
    let separated = v.bytes().any(|b| matches!(b, b'-' | b'.' | b' ' | b'(' | b')'));
    let allowed = v.bytes().all(|b| b.is_ascii_digit() || b" -.()+".contains(&b));
    if !separated || !allowed {
        return false;
    }
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    let local = match digits.len() {
        10 => &digits[..],
        11 if digits[0] == b'1' => &digits[1..],
        _ => return false,
    };
    // Group lengths must be 3-3-4 (after an optional country code), not any digit run.
    let groups: Vec<usize> =
        v.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).map(str::len).collect();
    let shape = matches!(groups.as_slice(), [3, 3, 4] | [1, 3, 3, 4]);
    shape && matches!(local[0], b'2'..=b'9') && matches!(local[3], b'2'..=b'9')
}

/// The words of a column name: lower case, split at `_ - . space` and camelCase boundaries.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The kind a column name announces, if any.
pub fn kind_from_name(name: &str) -> Option<ColumnKind> {
    use ColumnKind as C;
    let words = name_words(name);
    let joined = words.join("_");
    let flat = words.concat();
    let has = |w: &[&str]| words.iter().any(|x| w.contains(&x.as_str()));
    let is = |w: &[&str]| w.contains(&joined.as_str()) || w.contains(&flat.as_str());
    if words.is_empty() {
        return None;
    }
    // Order matters: the more specific names first (`email_address` before `address`,
    // `birthplace` before `birth`, `license_plate` before `license`, `fax` before `phone`).
    let rules: &[(bool, ColumnKind)] = &[
        (has(&["email", "mail"]) || is(&["emailaddress", "e_mail"]), C::Email),
        (has(&["fax"]), C::Fax),
        (has(&["url", "uri", "website", "homepage", "weblink"]), C::Url),
        (
            has(&["ip", "ipv4", "ipv6", "ipaddress", "ipaddr"])
                || is(&["remote_addr", "client_addr"]),
            C::IpAddress,
        ),
        (
            has(&["mac", "macaddress", "udi", "imei", "serial", "serialnumber"])
                || is(&["device_id", "deviceid", "device_identifier"]),
            C::DeviceIdentifier,
        ),
        (
            has(&["vin", "plate", "licenseplate"])
                || is(&[
                    "vehicle_id",
                    "vehicle_identifier",
                    "license_plate",
                    "licence_plate",
                    "vehicle",
                ]),
            C::VehicleIdentifier,
        ),
        (
            is(&[
                "birthplace",
                "place_of_birth",
                "birth_city",
                "city_of_birth",
                "birth_town",
                "birth_place",
            ]),
            C::Locality,
        ),
        (
            is(&[
                "birth_country",
                "country_of_birth",
                "birthcountry",
                "birth_state",
                "state_of_birth",
            ]),
            C::NotIdentifying,
        ),
        (
            has(&["dob", "birthdate", "birthday", "dateofbirth"])
                || is(&[
                    "birth_date",
                    "date_of_birth",
                    "birth_dt",
                    "born",
                    "born_on",
                    "birth",
                    "birth_year",
                    "year_of_birth",
                    "birthyear",
                ]),
            C::BirthDate,
        ),
        (
            has(&["ssn", "ssnumber"])
                || is(&["social_security", "social_security_number", "social_security_no", "sin"]),
            C::Ssn,
        ),
        (
            has(&["mrn"])
                || is(&[
                    "medical_record",
                    "medical_record_number",
                    "medical_record_no",
                    "med_rec_no",
                    "chart_number",
                    "chart_no",
                    "record_number",
                ]),
            C::MedicalRecordNumber,
        ),
        (
            has(&["mbi", "medicare", "medicaid", "subscriber", "beneficiary", "policy"])
                || is(&[
                    "member_id",
                    "member_number",
                    "memberid",
                    "insurance_id",
                    "insurance_number",
                    "health_plan_id",
                    "plan_member_id",
                ]),
            C::HealthPlanNumber,
        ),
        (
            has(&["account", "acct", "iban", "creditcard"])
                || is(&["card_number", "credit_card", "bank_account", "card_no"]),
            C::AccountNumber,
        ),
        (
            has(&["license", "licence", "drivers", "driver", "passport", "certificate", "dea"])
                || is(&["dl_number", "cert_number"]),
            C::LicenseNumber,
        ),
        (
            has(&[
                "fingerprint",
                "fingerprints",
                "voiceprint",
                "retina",
                "iris",
                "biometric",
                "biometrics",
            ]) || is(&["finger_print", "voice_print", "face_template"]),
            C::Biometric,
        ),
        (
            has(&["photo", "photograph", "picture", "headshot", "portrait", "mugshot", "selfie"])
                || is(&["face_image", "image", "face"]),
            C::Photo,
        ),
        (
            has(&["phone", "telephone", "tel", "mobile", "cellphone"]) || is(&["contact_number"]),
            C::Telephone,
        ),
        (has(&["zip", "zipcode", "postal", "postcode", "zip3", "zip5", "zip4"]), C::Zip),
        (
            has(&[
                "lat",
                "lon",
                "lng",
                "latitude",
                "longitude",
                "geocode",
                "coordinates",
                "geo",
                "geolocation",
            ]),
            C::GeoCoordinates,
        ),
        (
            has(&["state", "country", "nation", "province"]) && !has(&["address", "street"]),
            C::NotIdentifying,
        ),
        (
            has(&["address", "addr", "street", "address1", "address2", "line1", "line2"])
                || is(&["house_number"]),
            C::StreetAddress,
        ),
        (
            has(&[
                "city",
                "town",
                "county",
                "precinct",
                "municipality",
                "village",
                "borough",
                "township",
                "neighborhood",
                "neighbourhood",
                "district",
                "tract",
                "locality",
                "suburb",
            ]),
            C::Locality,
        ),
        (has(&["age"]) && !has(&["average", "stage", "dosage"]), C::Age),
        (
            has(&["date", "datetime", "timestamp", "dt", "dod"])
                || is(&[
                    "start",
                    "stop",
                    "end",
                    "admit",
                    "admitted",
                    "admission",
                    "discharge",
                    "discharged",
                    "death",
                    "deceased",
                    "died",
                    "onset",
                    "deathdate",
                    "admitdate",
                    "dischargedate",
                ]),
            C::Date,
        ),
        (person_name(&words, &joined), C::Name),
        (
            has(&["employer", "guardian", "spouse", "kin", "nextofkin"])
                || is(&["emergency_contact", "next_of_kin", "mother", "father"]),
            C::Name,
        ),
        (
            has(&[
                "note",
                "notes",
                "comment",
                "comments",
                "narrative",
                "remarks",
                "freetext",
                "transcript",
            ]) || is(&["free_text", "text", "report_text", "note_text"]),
            C::FreeText,
        ),
        (unique_code(&words, &joined), C::UniqueIdentifier),
    ];
    rules.iter().find(|(hit, _)| *hit).map(|(_, kind)| *kind)
}

// FIXME: names are recognised from the column name only; a column of patient names with an
// unhelpful name is kept. A census first/last-name frequency list would let values vote too.
fn person_name(words: &[String], joined: &str) -> bool {
    const PARTS: &[&str] = &[
        "first", "last", "given", "family", "surname", "forename", "middle", "maiden", "prefix",
        "suffix", "initials", "nickname",
    ];
    const COMPOUNDS: &[&str] = &[
        "surname",
        "forename",
        "nickname",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "middlename",
        "maidenname",
    ];
    const NOT_PERSON: &[&str] = &[
        "drug",
        "medication",
        "product",
        "facility",
        "hospital",
        "organization",
        "organisation",
        "org",
        "code",
        "file",
        "column",
        "test",
        "device",
        "brand",
        "generic",
        "display",
        "procedure",
        "condition",
        "diagnosis",
        "vaccine",
        "lab",
        "payer",
        "plan",
        "unit",
        "site",
        "department",
        "ward",
        "study",
        "field",
        "table",
        "modality",
        "body",
        "bodysite",
    ];
    if words.iter().any(|w| NOT_PERSON.contains(&w.as_str())) {
        return false;
    }
    let single = words.len() == 1 && PARTS.contains(&joined);
    let named = words.iter().any(|w| w == "name" || COMPOUNDS.contains(&w.as_str()));
    let part_name = words.len() == 2 && PARTS.contains(&words[0].as_str()) && words[1] == "name";
    single || named || part_name
}

fn unique_code(words: &[String], joined: &str) -> bool {
    let last = words.last().map(String::as_str).unwrap_or("");
    matches!(last, "id" | "uuid" | "guid" | "identifier" | "key" | "mpi" | "empi")
        || words.iter().any(|w| {
            w.ends_with("id")
                && w.len() > 2
                && matches!(
                    w.as_str(),
                    "patientid"
                        | "personid"
                        | "subjectid"
                        | "encounterid"
                        | "visitid"
                        | "recordid"
                        | "caseid"
                )
        })
        || matches!(
            joined,
            "patient" | "encounter" | "person" | "subject" | "visit" | "case_number" | "record"
        )
}

/// How the values of one column classify.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueProfile {
    /// Non-empty values.
    pub non_empty: u64,
    /// Values of each strong format.
    pub strong: BTreeMap<ColumnKind, u64>,
    /// Values of each weak format.
    pub weak: BTreeMap<ColumnKind, u64>,
    /// Four-digit years.
    pub years: u64,
    /// Keyed pseudonyms.
    pub pseudonyms: u64,
    /// Reversible tokens.
    pub tokens: u64,
    /// Masked or redacted values.
    pub masked: u64,
    /// Prose-like values.
    pub text: u64,
}

impl ValueProfile {
    /// Classifies every value of a column.
    pub fn of<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut p = Self::default();
        for v in values.into_iter().flatten() {
            if v.trim().is_empty() {
                continue;
            }
            p.non_empty += 1;
            match classify(v) {
                ValueClass::Strong(k) => *p.strong.entry(k).or_default() += 1,
                ValueClass::Weak(k) => *p.weak.entry(k).or_default() += 1,
                ValueClass::Year(_) => p.years += 1,
                ValueClass::Pseudonym => p.pseudonyms += 1,
                ValueClass::Token => p.tokens += 1,
                ValueClass::Masked => p.masked += 1,
                ValueClass::Text => p.text += 1,
                ValueClass::Other => {}
            }
        }
        p
    }

    /// The kind the values announce, with how many values support it.
    pub fn kind(&self) -> Option<(ColumnKind, u64)> {
        let n = self.non_empty.max(1) as f64;
        let best = |m: &BTreeMap<ColumnKind, u64>| {
            m.iter().max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k))).map(|(k, c)| (*k, *c))
        };
        if let Some((k, c)) = best(&self.strong).filter(|(_, c)| *c as f64 >= STRONG_SHARE * n) {
            return Some((k, c));
        }
        if let Some((k, c)) = best(&self.weak).filter(|(_, c)| *c as f64 >= WEAK_SHARE * n) {
            return Some((k, c));
        }
        if self.text as f64 >= TEXT_SHARE * n && self.text > 0 {
            return Some((ColumnKind::FreeText, self.text));
        }
        best(&self.strong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnKind as C;

    #[test]
    fn names_of_synthea_and_common_exports() {
        let cases = [
            ("Id", C::UniqueIdentifier),
            ("PATIENT", C::UniqueIdentifier),
            ("ENCOUNTER", C::UniqueIdentifier),
            ("patient_id", C::UniqueIdentifier),
            ("BIRTHDATE", C::BirthDate),
            ("dateOfBirth", C::BirthDate),
            ("DOB", C::BirthDate),
            ("DEATHDATE", C::Date),
            ("START", C::Date),
            ("admission_date", C::Date),
            ("SSN", C::Ssn),
            ("DRIVERS", C::LicenseNumber),
            ("PASSPORT", C::LicenseNumber),
            ("PREFIX", C::Name),
            ("FIRST", C::Name),
            ("LAST", C::Name),
            ("MAIDEN", C::Name),
            ("patientName", C::Name),
            ("BIRTHPLACE", C::Locality),
            ("ADDRESS", C::StreetAddress),
            ("CITY", C::Locality),
            ("COUNTY", C::Locality),
            ("STATE", C::NotIdentifying),
            ("ZIP", C::Zip),
            ("postalCode", C::Zip),
            ("LAT", C::GeoCoordinates),
            ("LON", C::GeoCoordinates),
            ("email_address", C::Email),
            ("home_phone", C::Telephone),
            ("fax_number", C::Fax),
            ("MRN", C::MedicalRecordNumber),
            ("member_id", C::HealthPlanNumber),
            ("account_number", C::AccountNumber),
            ("license_plate", C::VehicleIdentifier),
            ("UDI", C::DeviceIdentifier),
            ("website", C::Url),
            ("ip_address", C::IpAddress),
            ("fingerprint", C::Biometric),
            ("photo", C::Photo),
            ("age", C::Age),
            ("notes", C::FreeText),
        ];
        for (name, kind) in cases {
            assert_eq!(kind_from_name(name), Some(kind), "{name}");
        }
        for name in [
            "GENDER",
            "RACE",
            "CODE",
            "DESCRIPTION",
            "HEALTHCARE_EXPENSES",
            "drug_name",
            "stage",
            "BASE_COST",
            "MODALITY_CODE",
            "BODYSITE_DESCRIPTION",
        ] {
            assert_eq!(kind_from_name(name), None, "{name}");
        }
    }

    #[test]
    fn values_classify() {
        assert_eq!(classify("999-76-6866"), ValueClass::Strong(C::Ssn));
        assert_eq!(classify("(617) 555-0142"), ValueClass::Strong(C::Telephone));
        assert_eq!(classify("617-555-0142"), ValueClass::Strong(C::Telephone));
        assert_eq!(classify("a@b.org"), ValueClass::Strong(C::Email));
        assert_eq!(
            classify("1d604da9-9a81-4ba9-80c2-de3375d59b40"),
            ValueClass::Strong(C::UniqueIdentifier)
        );
        assert_eq!(classify("2001-07-04T08:42:44Z"), ValueClass::Strong(C::Date));
        assert_eq!(classify("10.0.0.1"), ValueClass::Strong(C::IpAddress));
        assert_eq!(classify("02138"), ValueClass::Weak(C::Zip));
        assert_eq!(classify("1989"), ValueClass::Year(1989));
        assert_eq!(classify("****"), ValueClass::Masked);
        assert_eq!(classify("[SSN]"), ValueClass::Masked);
        assert_eq!(classify(&format!("v1.{}", "ab".repeat(16))), ValueClass::Pseudonym);
        assert_eq!(classify("444814009"), ValueClass::Other);
        assert_eq!(classify("1.2.840.10008.5.1.4.1.1.1.1"), ValueClass::Other);
        assert_eq!(classify("140.52"), ValueClass::Other);
        assert_eq!(classify("Viral sinusitis (disorder)"), ValueClass::Other);
    }

    #[test]
    fn a_column_of_ssns_named_x_is_ssns() {
        let values = ["123-45-6789", "234-56-7890", "", "345-67-8901"];
        let p = ValueProfile::of(values.iter().map(|v| Some(*v)));
        assert_eq!(p.non_empty, 3);
        assert_eq!(p.kind(), Some((C::Ssn, 3)));
        let codes = ["444814009", "40055000", "10509002"];
        assert_eq!(ValueProfile::of(codes.iter().map(|v| Some(*v))).kind(), None);
    }
}
