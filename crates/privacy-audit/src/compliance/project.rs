//! The project description file: what only the people running a project know, in TOML.
//!
//! Every field is optional. What is missing is shown in the generated documents as a clearly
//! marked field for a person to complete, never guessed. An example, with every field:
//!
//! ```toml
//! [controller]
//! name = "St. Example Hospital"
//! contact = "Privacy Office, 1 Example Road, privacy@example.org"
//! representative = "none (controller established in the EU)"
//! dpo = "Dr. A. Officer, dpo@example.org"
//! joint_controllers = ["Example University Medical Faculty"]
//!
//! [processing]
//! name = "ICU outcome statistics"
//! purposes = ["quality improvement of intensive care"]
//! legal_basis = "Art. 6(1)(e) and Art. 9(2)(j) GDPR"
//! data_subjects = ["adult ICU patients admitted 2015-2024"]
//! data_categories = ["health data: diagnoses, vital signs", "age", "sex"]
//! recipients = ["hospital quality board"]
//! third_country_transfers = "none"
//! retention = "extracts deleted 5 years after the project ends"
//! security_measures = ["role-based access", "encrypted disks"]
//!
//! # Per job, by the job's name (its file's stem: `adult-k5.toml` is `adult-k5`); job files
//! # themselves refuse unknown keys, so purposes and retention live here.
//! [jobs.adult-k5]
//! purpose = "public-use extract for the regional health report"
//! retention = "anonymized extract kept 10 years; working copies deleted after the run"
//!
//! [expert_determination]
//! max_prosecutor_risk = 0.09
//! max_average_risk = 0.05
//! max_marketer_risk = 0.05
//! max_sample_uniques = 0.0
//! max_population_uniques = 0.01
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AuditError;

/// The controller (GDPR Article 30(1)(a)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Name of the controller.
    pub name: Option<String>,
    /// Contact details.
    pub contact: Option<String>,
    /// The controller's representative, where Article 27 requires one.
    pub representative: Option<String>,
    /// The data protection officer.
    pub dpo: Option<String>,
    /// Joint controllers.
    #[serde(default)]
    pub joint_controllers: Vec<String>,
}

/// The processing activity (GDPR Article 30(1)(b)–(g)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processing {
    /// The activity's name.
    pub name: Option<String>,
    /// Purposes.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Legal basis (Articles 6 and 9).
    pub legal_basis: Option<String>,
    /// Categories of data subjects.
    #[serde(default)]
    pub data_subjects: Vec<String>,
    /// Categories of personal data.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Categories of recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Transfers to third countries and their safeguards.
    pub third_country_transfers: Option<String>,
    /// Time limits for erasure.
    pub retention: Option<String>,
    /// Technical and organisational security measures (Article 32(1)).
    #[serde(default)]
    pub security_measures: Vec<String>,
}

/// Thresholds of the Expert Determination summary. The defaults are common starting points
/// from the de-identification literature (a maximum risk of 0.09 is the figure El Emam's
/// guidance and the EMA's clinical-data publication policy use for public release); the expert
/// sets the values that fit the release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpertThresholds {
    /// Highest acceptable prosecutor risk of any record.
    pub max_prosecutor_risk: f64,
    /// Highest acceptable average prosecutor risk.
    pub max_average_risk: f64,
    /// Highest acceptable marketer risk.
    pub max_marketer_risk: f64,
    /// Highest acceptable share of sample-unique records.
    pub max_sample_uniques: f64,
    /// Highest acceptable estimated share of population-unique records.
    pub max_population_uniques: f64,
}

impl Default for ExpertThresholds {
    fn default() -> Self {
        Self {
            max_prosecutor_risk: 0.09,
            max_average_risk: 0.05,
            max_marketer_risk: 0.05,
            max_sample_uniques: 0.0,
            max_population_uniques: 0.01,
        }
    }
}

impl ExpertThresholds {
    fn check(&self) -> Result<(), AuditError> {
        let all = [
            self.max_prosecutor_risk,
            self.max_average_risk,
            self.max_marketer_risk,
            self.max_sample_uniques,
            self.max_population_uniques,
        ];
        if all.iter().all(|t| (0.0..=1.0).contains(t)) {
            Ok(())
        } else {
            Err(AuditError::Compliance("risk thresholds must lie in [0, 1]".into()))
        }
    }
}

/// The whole project description file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDescription {
    /// The controller.
    #[serde(default)]
    pub controller: Controller,
    /// The processing activity.
    #[serde(default)]
    pub processing: Processing,
    /// What each job is for, by job name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobPurpose>,
    /// Expert Determination thresholds.
    #[serde(default)]
    pub expert_determination: ExpertThresholds,
}

/// What one job is for and how long its output is kept: what a job file cannot say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPurpose {
    /// The job's purpose.
    pub purpose: Option<String>,
    /// Its retention rule.
    pub retention: Option<String>,
}

impl ProjectDescription {
    /// Parses a project description from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, AuditError> {
        let project: Self = toml::from_str(text).map_err(|e| {
            // The parser's message quotes the offending line; keep only its first line,
            // which names the key and position.
            let message = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
            AuditError::Compliance(format!("project description: {message}"))
        })?;
        project.expert_determination.check()?;
        Ok(project)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn the_documented_example_parses_and_mistakes_are_named() {
        let doc = include_str!("project.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        let project = ProjectDescription::from_toml(&example).unwrap();
        assert_eq!(project.controller.name.as_deref(), Some("St. Example Hospital"));
        assert_eq!(project.expert_determination, ExpertThresholds::default());
        let job = &project.jobs["adult-k5"];
        assert!(job.purpose.as_deref().is_some_and(|p| p.starts_with("public-use")));
        assert!(job.retention.is_some());
        assert!(ProjectDescription::from_toml("").unwrap().processing.purposes.is_empty());
        let typo = ProjectDescription::from_toml("[processing]\npurpose = [\"x\"]\n");
        assert!(matches!(typo, Err(AuditError::Compliance(m)) if m.contains("purpose")));
        let bad = "[expert_determination]\nmax_prosecutor_risk = 2.0\n";
        assert!(ProjectDescription::from_toml(bad).is_err());
    }
}
