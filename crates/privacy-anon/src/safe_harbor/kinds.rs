//! The eighteen identifier kinds of the Safe Harbor method, the finer column kinds the
//! recogniser assigns, and the rules that can be applied to a column.

use serde::{Deserialize, Serialize};

/// The 18 identifier kinds of 45 CFR 164.514(b)(2)(i)(A)–(R).
///
/// The serde names are those of `privacy_audit::compliance::SafeHarborIdentifier`, so a finding
/// converts to the compliance report's input one to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// (A) Names.
    Names,
    /// (B) Geographic subdivisions smaller than a state (street address, city, county,
    /// precinct, ZIP code and their equivalent geocodes), except the permitted ZIP3.
    GeographicSubdivisions,
    /// (C) All elements of dates (except year) directly related to an individual, and all ages
    /// over 89 and elements of dates indicative of such age.
    Dates,
    /// (D) Telephone numbers.
    TelephoneNumbers,
    /// (E) Fax numbers.
    FaxNumbers,
    /// (F) Electronic mail addresses.
    EmailAddresses,
    /// (G) Social security numbers.
    SocialSecurityNumbers,
    /// (H) Medical record numbers.
    MedicalRecordNumbers,
    /// (I) Health plan beneficiary numbers.
    HealthPlanBeneficiaryNumbers,
    /// (J) Account numbers.
    AccountNumbers,
    /// (K) Certificate/license numbers.
    CertificateLicenseNumbers,
    /// (L) Vehicle identifiers and serial numbers, including license plate numbers.
    VehicleIdentifiers,
    /// (M) Device identifiers and serial numbers.
    DeviceIdentifiers,
    /// (N) Web Universal Resource Locators (URLs).
    Urls,
    /// (O) Internet Protocol (IP) address numbers.
    IpAddresses,
    /// (P) Biometric identifiers, including finger and voice prints.
    BiometricIdentifiers,
    /// (Q) Full face photographic images and any comparable images.
    FullFacePhotographs,
    /// (R) Any other unique identifying number, characteristic, or code.
    OtherUniqueIdentifiers,
}

impl IdentifierKind {
    /// All 18, in the regulation's order.
    pub const ALL: [Self; 18] = [
        Self::Names,
        Self::GeographicSubdivisions,
        Self::Dates,
        Self::TelephoneNumbers,
        Self::FaxNumbers,
        Self::EmailAddresses,
        Self::SocialSecurityNumbers,
        Self::MedicalRecordNumbers,
        Self::HealthPlanBeneficiaryNumbers,
        Self::AccountNumbers,
        Self::CertificateLicenseNumbers,
        Self::VehicleIdentifiers,
        Self::DeviceIdentifiers,
        Self::Urls,
        Self::IpAddresses,
        Self::BiometricIdentifiers,
        Self::FullFacePhotographs,
        Self::OtherUniqueIdentifiers,
    ];

    /// The paragraph letter in 45 CFR 164.514(b)(2)(i), `A` to `R`.
    pub fn letter(self) -> char {
        // The discriminants are 0..18 in declaration order, so the sum stays within 'A'..='R'.
        char::from(b'A' + self as u8)
    }

    /// The serde name, e.g. `social_security_numbers`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::GeographicSubdivisions => "geographic_subdivisions",
            Self::Dates => "dates",
            Self::TelephoneNumbers => "telephone_numbers",
            Self::FaxNumbers => "fax_numbers",
            Self::EmailAddresses => "email_addresses",
            Self::SocialSecurityNumbers => "social_security_numbers",
            Self::MedicalRecordNumbers => "medical_record_numbers",
            Self::HealthPlanBeneficiaryNumbers => "health_plan_beneficiary_numbers",
            Self::AccountNumbers => "account_numbers",
            Self::CertificateLicenseNumbers => "certificate_license_numbers",
            Self::VehicleIdentifiers => "vehicle_identifiers",
            Self::DeviceIdentifiers => "device_identifiers",
            Self::Urls => "urls",
            Self::IpAddresses => "ip_addresses",
            Self::BiometricIdentifiers => "biometric_identifiers",
            Self::FullFacePhotographs => "full_face_photographs",
            Self::OtherUniqueIdentifiers => "other_unique_identifiers",
        }
    }

    /// A short description, in the regulation's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::GeographicSubdivisions => "geographic subdivisions smaller than a state",
            Self::Dates => "dates (except year) and ages over 89",
            Self::TelephoneNumbers => "telephone numbers",
            Self::FaxNumbers => "fax numbers",
            Self::EmailAddresses => "email addresses",
            Self::SocialSecurityNumbers => "social security numbers",
            Self::MedicalRecordNumbers => "medical record numbers",
            Self::HealthPlanBeneficiaryNumbers => "health plan beneficiary numbers",
            Self::AccountNumbers => "account numbers",
            Self::CertificateLicenseNumbers => "certificate or license numbers",
            Self::VehicleIdentifiers => "vehicle identifiers and serial numbers",
            Self::DeviceIdentifiers => "device identifiers and serial numbers",
            Self::Urls => "web URLs",
            Self::IpAddresses => "IP addresses",
            Self::BiometricIdentifiers => "biometric identifiers",
            Self::FullFacePhotographs => "full-face photographs and comparable images",
            Self::OtherUniqueIdentifiers => "any other unique identifying number or code",
        }
    }
}

impl std::fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}) {}", self.letter(), self.label())
    }
}

/// What a column holds, finer than the 18 kinds: the rule applied depends on it (a ZIP code is
/// generalized to three digits, a city removed, a state kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnKind {
    /// A person's name or part of one (first, last, maiden name, title).
    Name,
    /// A ZIP code.
    Zip,
    /// A street address.
    StreetAddress,
    /// A city, town, county, precinct, birthplace or other area smaller than a state.
    Locality,
    /// Latitude, longitude or another geocode.
    GeoCoordinates,
    /// A date of birth.
    BirthDate,
    /// Any other date related to the individual (admission, discharge, death, event).
    Date,
    /// An age in years.
    Age,
    /// A telephone number.
    Telephone,
    /// A fax number.
    Fax,
    /// An email address.
    Email,
    /// A social security number.
    Ssn,
    /// A medical record number.
    MedicalRecordNumber,
    /// A health plan beneficiary or member number (e.g. a Medicare MBI).
    HealthPlanNumber,
    /// An account or payment card number.
    AccountNumber,
    /// A certificate or licence number (driver's licence, passport).
    LicenseNumber,
    /// A vehicle identifier or licence plate.
    VehicleIdentifier,
    /// A device identifier or serial number (UDI, IMEI).
    DeviceIdentifier,
    /// A URL.
    Url,
    /// An IP address.
    IpAddress,
    /// A biometric identifier.
    Biometric,
    /// A photograph or comparable image (or a reference to one).
    Photo,
    /// A record, patient or encounter identifier or any other unique code.
    UniqueIdentifier,
    /// Free text that may hide identifiers in prose (notes, comments).
    FreeText,
    /// Not an identifier (a state, a diagnosis code, a measurement).
    NotIdentifying,
}

impl ColumnKind {
    /// Every column kind.
    pub const ALL: [Self; 25] = [
        Self::Name,
        Self::Zip,
        Self::StreetAddress,
        Self::Locality,
        Self::GeoCoordinates,
        Self::BirthDate,
        Self::Date,
        Self::Age,
        Self::Telephone,
        Self::Fax,
        Self::Email,
        Self::Ssn,
        Self::MedicalRecordNumber,
        Self::HealthPlanNumber,
        Self::AccountNumber,
        Self::LicenseNumber,
        Self::VehicleIdentifier,
        Self::DeviceIdentifier,
        Self::Url,
        Self::IpAddress,
        Self::Biometric,
        Self::Photo,
        Self::UniqueIdentifier,
        Self::FreeText,
        Self::NotIdentifying,
    ];

    /// The Safe Harbor kind of this column kind; `None` for free text (its kinds are those of
    /// what it contains) and non-identifying columns.
    pub fn identifier(self) -> Option<IdentifierKind> {
        use IdentifierKind as K;
        Some(match self {
            Self::Name => K::Names,
            Self::Zip | Self::StreetAddress | Self::Locality | Self::GeoCoordinates => {
                K::GeographicSubdivisions
            }
            Self::BirthDate | Self::Date | Self::Age => K::Dates,
            Self::Telephone => K::TelephoneNumbers,
            Self::Fax => K::FaxNumbers,
            Self::Email => K::EmailAddresses,
            Self::Ssn => K::SocialSecurityNumbers,
            Self::MedicalRecordNumber => K::MedicalRecordNumbers,
            Self::HealthPlanNumber => K::HealthPlanBeneficiaryNumbers,
            Self::AccountNumber => K::AccountNumbers,
            Self::LicenseNumber => K::CertificateLicenseNumbers,
            Self::VehicleIdentifier => K::VehicleIdentifiers,
            Self::DeviceIdentifier => K::DeviceIdentifiers,
            Self::Url => K::Urls,
            Self::IpAddress => K::IpAddresses,
            Self::Biometric => K::BiometricIdentifiers,
            Self::Photo => K::FullFacePhotographs,
            Self::UniqueIdentifier => K::OtherUniqueIdentifiers,
            Self::FreeText | Self::NotIdentifying => return None,
        })
    }

    /// The kebab-case name used in job files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Zip => "zip",
            Self::StreetAddress => "street-address",
            Self::Locality => "locality",
            Self::GeoCoordinates => "geo-coordinates",
            Self::BirthDate => "birth-date",
            Self::Date => "date",
            Self::Age => "age",
            Self::Telephone => "telephone",
            Self::Fax => "fax",
            Self::Email => "email",
            Self::Ssn => "ssn",
            Self::MedicalRecordNumber => "medical-record-number",
            Self::HealthPlanNumber => "health-plan-number",
            Self::AccountNumber => "account-number",
            Self::LicenseNumber => "license-number",
            Self::VehicleIdentifier => "vehicle-identifier",
            Self::DeviceIdentifier => "device-identifier",
            Self::Url => "url",
            Self::IpAddress => "ip-address",
            Self::Biometric => "biometric",
            Self::Photo => "photo",
            Self::UniqueIdentifier => "unique-identifier",
            Self::FreeText => "free-text",
            Self::NotIdentifying => "not-identifying",
        }
    }

    /// The Safe Harbor profile's rule for this kind (45 CFR 164.514(b)(2)(i) and HHS's 2012
    /// guidance, §3): generalize what the regulation lets stay in a coarser form (ZIP3, the
    /// year, ages up to 89), redact identifiers inside free text, keep what is not an
    /// identifier, and remove everything else. Identifier codes become keyed pseudonyms
    /// instead of being removed when a key is given ([`Rule::Pseudonymize`]).
    pub fn safe_harbor_rule(self, keyed: bool) -> Rule {
        match self {
            Self::Zip | Self::BirthDate | Self::Date | Self::Age => Rule::Generalize,
            Self::FreeText => Rule::Redact,
            Self::NotIdentifying => Rule::Keep,
            Self::UniqueIdentifier | Self::MedicalRecordNumber if keyed => Rule::Pseudonymize,
            _ => Rule::Remove,
        }
    }
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is done to a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The column is dropped.
    Remove,
    /// The column is coarsened to what Safe Harbor permits: ZIP → three digits (restricted
    /// prefixes → `000`), dates → year, ages over 89 and birth years implying them → `90+`.
    Generalize,
    /// The column is kept as it is.
    Keep,
    /// Each value is replaced by its keyed HMAC-SHA-256 pseudonym in the column's domain.
    Pseudonymize,
    /// Each value is replaced by a reversible AES-SIV token (feature `reversible-tokens`).
    Tokenize,
    /// Each date is moved by the patient's keyed offset, keeping intervals within a patient.
    Shift,
    /// Each value's characters are replaced by `*`, except optionally the first or last few.
    Mask,
    /// Identifiers found inside free text are replaced by `[KIND]` placeholders.
    Redact,
    /// Numbers below or above a bound are replaced by a `<=bound` or `bound+` category.
    TopBottomCode,
}

impl Rule {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::Generalize => "generalize",
            Self::Keep => "keep",
            Self::Pseudonymize => "pseudonymize",
            Self::Tokenize => "tokenize",
            Self::Shift => "shift",
            Self::Mask => "mask",
            Self::Redact => "redact",
            Self::TopBottomCode => "top-bottom-code",
        }
    }

    /// How strongly the rule protects, for choosing between two recognised kinds of one
    /// column: the stricter rule wins.
    pub(crate) fn strictness(self) -> u8 {
        match self {
            Self::Remove => 6,
            Self::Redact | Self::Mask => 5,
            Self::Generalize | Self::TopBottomCode => 4,
            Self::Pseudonymize | Self::Tokenize => 3,
            Self::Shift => 2,
            Self::Keep => 0,
        }
    }

    /// Whether the rule needs the key file.
    pub fn needs_key(self) -> bool {
        matches!(self, Self::Pseudonymize | Self::Tokenize | Self::Shift)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_names_follow_the_regulation() {
        let letters: String = IdentifierKind::ALL.iter().map(|k| k.letter()).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQR");
        for k in IdentifierKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        for k in ColumnKind::ALL {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
        // Every one of the 18 kinds is reachable from a column kind.
        for k in IdentifierKind::ALL {
            assert!(ColumnKind::ALL.iter().any(|c| c.identifier() == Some(k)), "{k}");
        }
    }
}
