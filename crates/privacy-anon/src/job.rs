//! The anonymization job file (TOML): data, hierarchies, models, limits, output.
//!
//! ```toml
//! [data]
//! path = "adult.csv"            # CSV (delimiter sniffed, or `delimiter`) or Parquet
//!
//! [output]
//! path = "adult-anonymized.csv" # `.parquet` writes Parquet
//! report = "report.json"        # optional: the JSON report
//!
//! [[attributes]]
//! name = "age"
//! kind = "quasi-identifying"    # identifying | quasi-identifying | sensitive | insensitive
//! hierarchy = "hierarchies/age.csv"
//! missing = "refuse"            # refuse | own-category | matches-anything
//!
//! [[attributes]]
//! name = "zip"
//! kind = "quasi-identifying"
//! hierarchy = { type = "prefix" }   # or { type = "dates" },
//!                                   # or { type = "intervals", width = 5, factors = [2], top = 90 }
//!
//! [[models]]
//! type = "k-anonymity"
//! k = 5
//!
//! [limits]
//! suppression = 0.04            # the share of records that may be suppressed
//!
//! [search]
//! method = "auto"               # auto | optimal | heuristic | mondrian | mdav
//! metric = "loss"               # loss | precision | entropy | discernibility | aecs
//! ```
//!
//! Relative paths are relative to the job file. Columns not listed are insensitive and kept.
//! Unknown keys are errors, so a misspelt option never silently does nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::encode::{AttributeKind, MissingPolicy};
use crate::error::AnonError;
use crate::hierarchy_builder::IntervalSpec;
use crate::metric::Metric;
use crate::models::PrivacyModel;

/// A parsed job file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The table to anonymize.
    pub data: DataSpec,
    /// The population the data was drawn from (for k-map, δ-presence and journalist risk).
    #[serde(default)]
    pub population: Option<PopulationSpec>,
    /// Where to write the result.
    pub output: OutputSpec,
    /// Column roles, hierarchies and missing-value policies.
    pub attributes: Vec<AttributeSpec>,
    /// The privacy models that must hold.
    pub models: Vec<PrivacyModel>,
    /// Suppression and time limits.
    #[serde(default)]
    pub limits: Limits,
    /// Search method and metric.
    #[serde(default)]
    pub search: SearchSpec,
    /// Risk reporting options.
    #[serde(default)]
    pub risk: RiskSpec,
    /// The job's name, recorded with its run in the audit log: the file's stem when the job
    /// is read by [`Job::from_file`] (`adult-k5` for `adult-k5.toml`); not part of the TOML.
    #[serde(skip)]
    pub name: Option<String>,
}

/// The data file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// The file (CSV or Parquet).
    pub path: PathBuf,
    /// The CSV delimiter (one ASCII character); sniffed when absent.
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// The population file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// The file; it must have the quasi-identifier columns.
    pub path: PathBuf,
    /// The CSV delimiter; sniffed when absent.
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// The outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The anonymized table.
    pub path: PathBuf,
    /// The JSON report, if wanted.
    #[serde(default)]
    pub report: Option<PathBuf>,
}

/// One column's role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    /// The column name.
    pub name: String,
    /// Its role.
    pub kind: AttributeKind,
    /// Its hierarchy (required for quasi-identifiers; for a sensitive attribute only when
    /// hierarchical t-closeness needs one).
    #[serde(default)]
    pub hierarchy: Option<HierarchySpec>,
    /// What missing values mean.
    #[serde(default)]
    pub missing: MissingPolicy,
}

/// Where a hierarchy comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HierarchySpec {
    /// A CSV file.
    File(PathBuf),
    /// Built in code.
    Built(BuiltHierarchy),
}

/// A hierarchy built from the data's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BuiltHierarchy {
    /// Numeric intervals with top and bottom coding.
    Intervals(IntervalSpec),
    /// ISO dates truncated to month, then year.
    Dates,
    /// Prefix masking from the right.
    Prefix,
}

/// Limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The share of records that may be suppressed, in [0, 1].
    #[serde(default)]
    pub suppression: f64,
    /// The heuristic search's time budget, seconds.
    #[serde(default = "default_time_limit")]
    pub time_limit_seconds: f64,
}

fn default_time_limit() -> f64 {
    10.0
}

impl Default for Limits {
    fn default() -> Self {
        Self { suppression: 0.0, time_limit_seconds: default_time_limit() }
    }
}

/// How to search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Optimal when the lattice has at most [`AUTO_OPTIMAL_NODES`] nodes, else heuristic.
    #[default]
    Auto,
    /// Exactly optimal full-domain generalization.
    Optimal,
    /// Time-bounded heuristic full-domain generalization.
    Heuristic,
    /// Mondrian multidimensional local recoding.
    Mondrian,
    /// MDAV microaggregation of numeric quasi-identifiers.
    Mdav,
}

/// The lattice size up to which `auto` runs the optimal search.
pub const AUTO_OPTIMAL_NODES: u64 = 2_000_000;

/// Search options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// The method.
    #[serde(default)]
    pub method: Method,
    /// The metric to minimize.
    #[serde(default)]
    pub metric: Metric,
}

/// Risk reporting options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSpec {
    /// A record is "at risk" when its re-identification probability exceeds this.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// The share of the population that the data holds, for the population-uniqueness
    /// estimate; default: data rows / population rows, or 1 without a population.
    #[serde(default)]
    pub sampling_fraction: Option<f64>,
}

fn default_threshold() -> f64 {
    0.2
}

impl Default for RiskSpec {
    fn default() -> Self {
        Self { threshold: default_threshold(), sampling_fraction: None }
    }
}

impl Job {
    /// Parses a job from TOML text; `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<Self, AnonError> {
        let job: Self = toml::from_str(text).map_err(|e| AnonError::InvalidJob {
            path: name.to_owned(),
            reason: e.message().to_owned(),
        })?;
        job.validate(name)?;
        Ok(job)
    }

    /// Reads a job file and resolves its relative paths against the file's folder.
    pub fn from_file(path: &Path) -> Result<Self, AnonError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnonError::Io {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        let mut job = Self::parse(&text, &path.display().to_string())?;
        job.resolve(path.parent().unwrap_or(Path::new(".")));
        job.name = path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
        Ok(job)
    }

    fn validate(&self, name: &str) -> Result<(), AnonError> {
        let invalid = |reason: String| AnonError::InvalidJob { path: name.to_owned(), reason };
        if !(0.0..=1.0).contains(&self.limits.suppression) {
            return Err(invalid("limits.suppression must be in [0, 1]".into()));
        }
        if !(self.limits.time_limit_seconds.is_finite() && self.limits.time_limit_seconds > 0.0) {
            return Err(invalid("limits.time_limit_seconds must be > 0".into()));
        }
        if !(self.risk.threshold > 0.0 && self.risk.threshold <= 1.0) {
            return Err(invalid("risk.threshold must be in (0, 1]".into()));
        }
        if let Some(f) = self.risk.sampling_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err(invalid("risk.sampling_fraction must be in (0, 1]".into()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.attributes {
            if !seen.insert(a.name.as_str()) {
                return Err(invalid(format!("attribute {:?} is listed twice", a.name)));
            }
            if a.kind == AttributeKind::QuasiIdentifying && a.hierarchy.is_none() {
                return Err(invalid(format!("quasi-identifier {:?} needs a hierarchy", a.name)));
            }
        }
        for model in &self.models {
            model
                .validate()
                .map_err(|reason| invalid(format!("model {}: {reason}", model.name())))?;
        }
        for a in &self.attributes {
            if let Some(HierarchySpec::Built(BuiltHierarchy::Intervals(spec))) = &a.hierarchy {
                crate::hierarchy_builder::check_interval_spec(&a.name, spec)
                    .map_err(|e| invalid(e.to_string()))?;
            }
        }
        if !self.attributes.iter().any(|a| a.kind == AttributeKind::QuasiIdentifying) {
            return Err(invalid("at least one attribute must be quasi-identifying".into()));
        }
        Ok(())
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data.path);
        fix(&mut self.output.path);
        if let Some(r) = &mut self.output.report {
            fix(r);
        }
        if let Some(p) = &mut self.population {
            fix(&mut p.path);
        }
        for a in &mut self.attributes {
            if let Some(HierarchySpec::File(p)) = &mut a.hierarchy {
                fix(p);
            }
        }
    }

    /// The attributes of one kind, in job order.
    pub fn attributes_of(&self, kind: AttributeKind) -> impl Iterator<Item = &AttributeSpec> {
        self.attributes.iter().filter(move |a| a.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = r#"
        [data]
        path = "adult.csv"
        [output]
        path = "out.csv"
        [[attributes]]
        name = "age"
        kind = "quasi-identifying"
        hierarchy = { type = "intervals", width = 5, factors = [2], top = 90 }
        [[attributes]]
        name = "sex"
        kind = "quasi-identifying"
        hierarchy = "sex.csv"
        missing = "own-category"
        [[attributes]]
        name = "salary-class"
        kind = "sensitive"
        [[models]]
        type = "k-anonymity"
        k = 5
        [[models]]
        type = "t-closeness"
        attribute = "salary-class"
        t = 0.2
        distance = "equal"
        [limits]
        suppression = 0.04
    "#;

    #[test]
    fn parses_a_job_and_refuses_unknown_keys() {
        let job = Job::parse(JOB, "job.toml").unwrap();
        assert_eq!(job.attributes.len(), 3);
        assert_eq!(job.attributes[1].missing, MissingPolicy::OwnCategory);
        assert!(matches!(
            job.attributes[0].hierarchy,
            Some(HierarchySpec::Built(BuiltHierarchy::Intervals(_)))
        ));
        assert_eq!(job.models[0], PrivacyModel::KAnonymity { k: 5 });
        let typo = JOB.replace("suppression = 0.04", "supression = 0.04");
        assert!(matches!(Job::parse(&typo, "job.toml"), Err(AnonError::InvalidJob { .. })));
        let nan = JOB.replace("t = 0.2", "t = nan");
        assert!(Job::parse(&nan, "j").unwrap_err().to_string().contains("t-closeness"));
        let width = JOB.replace("width = 5", "width = -1");
        assert!(matches!(Job::parse(&width, "j"), Err(AnonError::InvalidJob { .. })));
        let no_hierarchy = JOB.replace("hierarchy = \"sex.csv\"", "");
        assert!(Job::parse(&no_hierarchy, "j")
            .unwrap_err()
            .to_string()
            .contains("needs a hierarchy"));
    }
}
