//! The run report, as JSON and as readable text, written to serve as evidence for an Expert
//! Determination (45 CFR 164.514(b)(1)): what was done to which column, which models were asked
//! for and independently re-checked on the output, how much was suppressed, what the residual
//! re-identification risk is, and what utility is left. It holds parameters and aggregate
//! figures only, never a record or a value.

use std::fmt::Write as _;

use serde::Serialize;

use crate::encode::{AttributeKind, EncodedTable, MissingPolicy};
use crate::job::Job;
use crate::measures::{Risk, Utility};
use crate::metric::Metric;
use crate::models::PrivacyModel;
use crate::release::{Release, Transformation};
use crate::search::SearchOutcome;
use crate::verify::Verification;

/// One column of the job, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnReport {
    /// The column.
    pub name: String,
    /// Its role.
    pub kind: AttributeKind,
    /// What was done to it.
    pub treatment: String,
    /// The missing-value policy.
    pub missing_policy: MissingPolicy,
    /// How many values were missing.
    pub missing_values: usize,
    /// Levels of its hierarchy (quasi-identifiers).
    pub hierarchy_levels: Option<usize>,
}

/// The report of one anonymization run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The data file.
    pub data: String,
    /// Records in it.
    pub records: u64,
    /// Records in the population table, if one was given.
    pub population_records: Option<u64>,
    /// Every column of the job.
    pub columns: Vec<ColumnReport>,
    /// The models asked for.
    pub models: Vec<PrivacyModel>,
    /// The method used.
    pub method: String,
    /// The metric optimized.
    pub metric: Metric,
    /// The most records that could be suppressed.
    pub suppression_limit: u64,
    /// The chosen transformation.
    pub transformation: Transformation,
    /// Search statistics (full-domain methods).
    pub search: Option<SearchOutcome>,
    /// Records suppressed.
    pub suppressed: u64,
    /// Utility left.
    pub utility: Utility,
    /// Residual risk.
    pub risk: Risk,
    /// The models re-checked on the output text.
    pub verification: Verification,
    /// The output table.
    pub output: String,
}

impl Report {
    /// Assembles the report.
    #[allow(clippy::too_many_arguments)] // One call site; the parts are all different things.
    pub fn new(
        job: &Job,
        table: &EncodedTable,
        release: &Release,
        search: Option<SearchOutcome>,
        utility: Utility,
        risk: Risk,
        verification: Verification,
        limit: u64,
    ) -> Self {
        let method = match &release.transformation {
            Transformation::FullDomain { optimal: true, .. } => {
                "optimal full-domain generalization"
            }
            Transformation::FullDomain { .. } => "heuristic full-domain generalization",
            Transformation::Mondrian { .. } => "mondrian local recoding",
            Transformation::Mdav { .. } => "mdav microaggregation",
        };
        Self {
            data: job.data.path.display().to_string(),
            records: table.rows as u64,
            population_records: table.population_rows().map(|p| p as u64),
            columns: column_reports(job, table, release),
            models: job.models.clone(),
            method: method.to_owned(),
            metric: job.search.metric,
            suppression_limit: limit,
            transformation: release.transformation.clone(),
            search,
            suppressed: release.suppressed_count(),
            utility,
            risk,
            verification,
            output: job.output.path.display().to_string(),
        }
    }

    /// The readable form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "anonymization report: {} ({} records)", self.data, self.records);
        let _ = writeln!(s, "method: {} (metric: {:?})", self.method, self.metric);
        let _ = writeln!(s, "\ntransformation:");
        match &self.transformation {
            Transformation::FullDomain { levels, .. } => {
                for (name, level) in levels {
                    let _ = writeln!(s, "  {name:<24} level {level}");
                }
            }
            Transformation::Mondrian { partitions } => {
                let _ = writeln!(s, "  {partitions} partitions");
            }
            Transformation::Mdav { groups } => {
                let _ = writeln!(s, "  {groups} groups");
            }
        }
        if let Some(search) = &self.search {
            let _ = writeln!(
                s,
                "  lattice {} nodes, {} evaluated, {} pruned, optimal: {}",
                search.lattice_size, search.evaluated, search.pruned, search.optimal
            );
        }
        let _ = writeln!(s, "\ncolumns:");
        for c in &self.columns {
            let _ = writeln!(
                s,
                "  {:<24} {:<18} {} (missing: {} as {:?})",
                c.name,
                format!("{:?}", c.kind),
                c.treatment,
                c.missing_values,
                c.missing_policy
            );
        }
        let _ = writeln!(s, "\nprivacy models (re-checked on the output):");
        for m in &self.verification.models {
            let verdict = if m.satisfied { "holds" } else { "VIOLATED" };
            let _ = writeln!(s, "  {:<24} {verdict} (measured {:.4})", m.model.name(), m.measured);
        }
        let _ = writeln!(
            s,
            "\nsuppressed: {} of {} records (limit {}); {} classes, smallest {}",
            self.suppressed,
            self.records,
            self.suppression_limit,
            self.risk.classes,
            self.risk.smallest_class
        );
        let u = &self.utility;
        let _ = writeln!(
            s,
            "utility: loss {:.4}, precision loss {:.4}, non-uniform entropy {:.1} bits, \
             discernibility {:.0}, average class size {:.2}",
            u.loss, u.precision_loss, u.non_uniform_entropy, u.discernibility, u.average_class_size
        );
        let r = &self.risk;
        let _ = writeln!(
            s,
            "risk: prosecutor highest {:.4}, average {:.4}, records at risk (> {}) {:.4}\n      \
             journalist highest {:.4}, average {:.4}{}; marketer {:.4}\n      \
             sample uniques {:.4}, population uniques {:.4} ({}; Zayatz {:.4}, Pitman {}; sampling fraction {})",
            r.prosecutor_highest,
            r.prosecutor_average,
            r.threshold,
            r.prosecutor_records_at_risk,
            r.journalist_highest,
            r.journalist_average,
            if r.population_table { "" } else { " (no population table: equal to prosecutor)" },
            r.marketer,
            r.sample_uniques,
            r.population_uniques,
            r.population_uniqueness_model,
            r.population_uniques_zayatz,
            r.population_uniques_pitman.map_or("not converged".to_owned(), |p| format!("{p:.4}")),
            r.sampling_fraction,
        );
        let _ = writeln!(s, "output: {}", self.output);
        s
    }
}

fn column_reports(job: &Job, table: &EncodedTable, release: &Release) -> Vec<ColumnReport> {
    job.attributes
        .iter()
        .map(|a| {
            let quasi = table.quasi.iter().find(|c| c.name == a.name);
            let sensitive = table.sensitive.iter().find(|c| c.name == a.name);
            let encoded = quasi.or(sensitive);
            let treatment = match a.kind {
                AttributeKind::Identifying => "removed".to_owned(),
                AttributeKind::QuasiIdentifying => match &release.transformation {
                    Transformation::FullDomain { levels, .. } => {
                        let level =
                            levels.iter().find(|(n, _)| n == &a.name).map_or(0, |(_, l)| *l);
                        format!("generalized to level {level}")
                    }
                    Transformation::Mondrian { .. } => "recoded per partition".to_owned(),
                    Transformation::Mdav { .. } => "replaced by the group mean".to_owned(),
                },
                AttributeKind::Sensitive => "kept, protected by the models".to_owned(),
                AttributeKind::Insensitive => "kept".to_owned(),
            };
            ColumnReport {
                name: a.name.clone(),
                kind: a.kind,
                treatment,
                missing_policy: a.missing,
                missing_values: encoded.map_or(0, |c| c.missing_count),
                hierarchy_levels: quasi.map(|c| c.hierarchy.levels()),
            }
        })
        .collect()
}
