//! The plain inputs of the compliance documents, gathered by the caller.
//!
//! `privacy-audit` depends on no other workspace crate but `privacy-core` (an invariant of the
//! layering), so the budget ledger, the anonymizer's risk report and the Safe Harbor scanner
//! cannot be called from here. Instead the caller (the CLI) converts their results into these
//! types, which are serde-serializable so that they can also come from JSON files.

use serde::{Deserialize, Serialize};

/// One dataset's budget and every charge against it, as the ledger holds them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetBudget {
    /// The dataset.
    pub dataset: String,
    /// Total ε.
    pub total_epsilon: f64,
    /// Total δ.
    pub total_delta: f64,
    /// ε spent (committed and reserved charges).
    pub spent_epsilon: f64,
    /// δ spent.
    pub spent_delta: f64,
    /// The charges, in ledger order.
    pub charges: Vec<ChargePoint>,
}

/// One charge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChargePoint {
    /// When it was made, RFC 3339.
    pub time: String,
    /// Who was charged.
    pub principal: String,
    /// ε charged.
    pub epsilon: f64,
    /// δ charged.
    pub delta: f64,
    /// `reserved`, `committed` or `cancelled`.
    pub state: String,
    /// What it was for.
    pub description: String,
}

/// A snapshot of the budget ledger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Every dataset, sorted by name.
    pub datasets: Vec<DatasetBudget>,
}

/// What kind of protective measure a job applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MeasureKind {
    /// Differential privacy (ε, δ, mechanism).
    DifferentialPrivacy,
    /// k-anonymity.
    KAnonymity,
    /// ℓ-diversity.
    LDiversity,
    /// t-closeness.
    TCloseness,
    /// Keyed pseudonymization or tokenization.
    Pseudonymization,
    /// Generalization, masking, date shifting or top/bottom coding.
    Generalization,
    /// Record suppression.
    Suppression,
    /// A retention or deletion rule.
    Retention,
    /// Anything else.
    Other,
}

impl MeasureKind {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Self::DifferentialPrivacy => "differential privacy",
            Self::KAnonymity => "k-anonymity",
            Self::LDiversity => "l-diversity",
            Self::TCloseness => "t-closeness",
            Self::Pseudonymization => "pseudonymization",
            Self::Generalization => "generalization / masking",
            Self::Suppression => "suppression",
            Self::Retention => "retention",
            Self::Other => "other measure",
        }
    }
}

/// One protective measure and where it was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// Its kind.
    pub kind: MeasureKind,
    /// What it is, e.g. `k = 5` or `ε = 1 (discrete Laplace)`.
    pub description: String,
    /// Where it was found: a job file and key, or `audit log`.
    pub source: String,
}

/// What a job file says about a processing operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job file's name.
    pub source: String,
    /// The job's name, if it has one.
    pub name: Option<String>,
    /// The data file the job reads, as its runs name it in the log.
    #[serde(default)]
    pub data: Option<String>,
    /// Its stated purpose.
    pub purpose: Option<String>,
    /// The data categories it touches (column tags, declared categories).
    pub data_categories: Vec<String>,
    /// The measures it applies.
    pub measures: Vec<Measure>,
    /// Its retention rule.
    pub retention: Option<String>,
}

/// The 18 identifier kinds of the HIPAA Safe Harbor method, 45 CFR 164.514(b)(2)(i)(A)–(R).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafeHarborIdentifier {
    /// (A) Names.
    Names,
    /// (B) Geographic subdivisions smaller than a state (with the three-digit ZIP exception).
    GeographicSubdivisions,
    /// (C) All elements of dates (except year) directly related to an individual, and ages over
    /// 89.
    Dates,
    /// (D) Telephone numbers.
    TelephoneNumbers,
    /// (E) Fax numbers.
    FaxNumbers,
    /// (F) Email addresses.
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
    /// (O) Internet Protocol (IP) addresses.
    IpAddresses,
    /// (P) Biometric identifiers, including finger and voice prints.
    BiometricIdentifiers,
    /// (Q) Full-face photographs and any comparable images.
    FullFacePhotographs,
    /// (R) Any other unique identifying number, characteristic, or code.
    OtherUniqueIdentifiers,
}

impl SafeHarborIdentifier {
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

    /// The paragraph letter in 45 CFR 164.514(b)(2)(i).
    pub fn letter(self) -> char {
        let index = Self::ALL.iter().position(|k| *k == self).unwrap_or(17);
        // The index is below 18, so the sum stays within 'A'..='R'.
        char::from(b'A' + index as u8)
    }

    /// A short description.
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

/// One identifier kind found in a column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierFinding {
    /// The kind.
    pub kind: SafeHarborIdentifier,
    /// How many values of the column look like it.
    pub count: u64,
    /// How it was recognised (by the column's name, by its values), if known.
    pub note: Option<String>,
}

/// What the Safe Harbor scanner found in one column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnFinding {
    /// The column's name.
    pub column: String,
    /// The identifier kinds that remain in it.
    pub identifiers: Vec<IdentifierFinding>,
}

/// The Safe Harbor scan of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeHarborFindings {
    /// The table's name (its file name).
    pub table: String,
    /// Rows scanned.
    pub rows: u64,
    /// Columns with at least one finding (columns without findings may be listed empty).
    pub columns: Vec<ColumnFinding>,
}

/// The re-identification risk of one anonymized release, as the anonymizer measured it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskSummary {
    /// The job.
    pub job: String,
    /// The data file the release was made from, as the anonymizer names it (lets a report
    /// name a logged run after the job file that reads the same data).
    #[serde(default)]
    pub dataset: Option<String>,
    /// The privacy models enforced, e.g. `5-anonymity`.
    #[serde(default)]
    pub models: Vec<String>,
    /// The chosen transformation, e.g. generalization levels per quasi-identifier.
    pub transformation: Option<String>,
    /// Records in the output.
    pub records: Option<u64>,
    /// Records suppressed.
    pub suppressed: Option<u64>,
    /// Equivalence classes.
    pub classes: Option<u64>,
    /// Highest prosecutor risk of any record (1 / smallest class size).
    pub prosecutor_max: Option<f64>,
    /// Average prosecutor risk.
    pub prosecutor_avg: Option<f64>,
    /// Highest journalist risk.
    pub journalist_max: Option<f64>,
    /// Marketer risk (expected share of records re-identified).
    pub marketer: Option<f64>,
    /// Share of records unique in the sample.
    pub sample_uniques: Option<f64>,
    /// Estimated share of records unique in the population.
    pub population_uniques: Option<f64>,
}
