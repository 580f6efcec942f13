//! The HIPAA Expert Determination summary (45 CFR 164.514(b)(1)): each anonymized release's
//! re-identification risk figures set against configurable thresholds.
//!
//! Under the Expert Determination method a qualified person determines that the risk of
//! identifying an individual is very small, and documents the methods and results. This module
//! prepares that documentation from the anonymizer's measurements; it does not make the
//! determination. A figure that was not measured is reported as such and never counts as a
//! pass.

use serde::Serialize;

use super::inputs::RiskSummary;
use super::project::ExpertThresholds;
use crate::report::document::{Block, Field, Section, Table};
use crate::report::probability;

/// One risk figure against its threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Criterion {
    /// What is measured.
    pub name: &'static str,
    /// The figure, if it was measured.
    pub figure: Option<f64>,
    /// The highest acceptable value.
    pub threshold: f64,
}

impl Criterion {
    /// `Some(true)` within the threshold, `Some(false)` above it, `None` when not measured.
    pub fn passed(&self) -> Option<bool> {
        self.figure.map(|f| f <= self.threshold)
    }
}

/// The assessment of one release.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    /// The job that produced the release.
    pub job: String,
    /// Every criterion.
    pub criteria: Vec<Criterion>,
}

impl Assessment {
    /// Whether every criterion was measured and is within its threshold.
    pub fn all_within(&self) -> bool {
        self.criteria.iter().all(|c| c.passed() == Some(true))
    }
}

/// Sets one release's risk figures against the thresholds.
pub fn assess(risk: &RiskSummary, thresholds: &ExpertThresholds) -> Assessment {
    let criterion = |name, figure, threshold| Criterion { name, figure, threshold };
    Assessment {
        job: risk.job.clone(),
        criteria: vec![
            criterion(
                "highest prosecutor risk",
                risk.prosecutor_max,
                thresholds.max_prosecutor_risk,
            ),
            criterion("average prosecutor risk", risk.prosecutor_avg, thresholds.max_average_risk),
            criterion("marketer risk", risk.marketer, thresholds.max_marketer_risk),
            criterion("sample uniques", risk.sample_uniques, thresholds.max_sample_uniques),
            criterion(
                "population uniques (estimated)",
                risk.population_uniques,
                thresholds.max_population_uniques,
            ),
        ],
    }
}

/// The report section: one table per release, the conclusion, and the expert's fields.
pub fn section(risks: &[RiskSummary], thresholds: &ExpertThresholds) -> Section {
    let mut section = Section::new("expert-determination", "HIPAA Expert Determination summary", 2);
    section.text(
        "Re-identification risk of each anonymized release against the thresholds set for this \
         project. This is evidence for a qualified expert under 45 CFR 164.514(b)(1), not a \
         determination: the expert also weighs the recipients, the release conditions and other \
         data available to them.",
    );
    if risks.is_empty() {
        section.text("No anonymization run with risk figures is recorded.");
    }
    for risk in risks {
        let assessment = assess(risk, thresholds);
        let mut table = Table::new(&["criterion", "measured", "threshold", "result"]);
        for c in &assessment.criteria {
            let result = match c.passed() {
                Some(true) => "within",
                Some(false) => "ABOVE",
                None => "not measured",
            };
            let figure = c.figure.map_or_else(|| "—".to_owned(), probability);
            table.rows.push(vec![c.name.into(), figure, probability(c.threshold), result.into()]);
        }
        let verdict = if assessment.all_within() {
            "every criterion was measured and is within its threshold"
        } else {
            "at least one criterion is above its threshold or was not measured"
        };
        section.push(Block::Text(format!("Release of job {:?}: {verdict}.", risk.job)));
        section.push(Block::Table(table));
    }
    section.push(Block::Fields(vec![
        Field::person("Expert", "name, qualifications and experience of the expert"),
        Field::person("Methods", "statistical methods applied and why they fit this release"),
        Field::person(
            "Anticipated recipients",
            "who receives the data and what other information they can reasonably use",
        ),
        Field::person("Determination", "the expert's conclusion, date and signature"),
    ]));
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_figure_never_passes_and_thresholds_apply() {
        let risk = RiskSummary {
            job: "k5".into(),
            prosecutor_max: Some(0.05),
            prosecutor_avg: Some(0.2),
            marketer: Some(0.01),
            sample_uniques: Some(0.0),
            population_uniques: None,
            ..RiskSummary::default()
        };
        let assessment = assess(&risk, &ExpertThresholds::default());
        let passed: Vec<Option<bool>> = assessment.criteria.iter().map(Criterion::passed).collect();
        assert_eq!(passed, [Some(true), Some(false), Some(true), Some(true), None]);
        assert!(!assessment.all_within());
        let lenient = ExpertThresholds { max_average_risk: 0.5, ..ExpertThresholds::default() };
        let complete = RiskSummary { population_uniques: Some(0.0), ..risk };
        assert!(assess(&complete, &lenient).all_within());
    }
}
