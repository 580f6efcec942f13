//! Compliance documents built from the audit log and plain inputs: a GDPR Article 30 record of
//! processing activities, an Article 35 DPIA draft, and an HIPAA Expert Determination summary.
//!
//! What the log and the job files know is filled in, each value with where it came from; what
//! only a person can answer (necessity, proportionality, the assessment of risks, sign-off) is
//! left as a clearly marked field ([`crate::report::document::PERSON_MARK`]). The documents are
//! drafts for the privacy officer, not legal conclusions, and say so.
//!
//! The main design decision: [`LogFacts`] is extracted once from the log and shared by every
//! document, so the Article 30 record, the DPIA and the report can never disagree about what
//! the log says.

pub mod expert;
pub mod gdpr;
pub mod inputs;
pub mod project;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::read::LoggedEntry;
pub use inputs::{
    ChargePoint, ColumnFinding, DatasetBudget, IdentifierFinding, JobSummary, LedgerSnapshot,
    Measure, MeasureKind, RiskSummary, SafeHarborFindings, SafeHarborIdentifier,
};
pub use project::{ExpertThresholds, JobPurpose, ProjectDescription};

/// What the log says about one dataset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetFacts {
    /// First and last entry times.
    pub first: String,
    /// The last entry time.
    pub last: String,
    /// Entries by event kind.
    pub kinds: BTreeMap<String, u64>,
    /// Everyone who acted on it.
    pub principals: BTreeSet<String>,
    /// Noise mechanisms used by its releases.
    pub mechanisms: BTreeSet<String>,
    /// Guarantees stated by its releases, as text.
    pub guarantees: BTreeSet<String>,
    /// The total budget its `budget_created` entries state, as text.
    pub budget: Option<String>,
}

/// Everything the documents need from the log, extracted once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogFacts {
    /// Facts per dataset (events without a dataset under `""`).
    pub datasets: BTreeMap<String, DatasetFacts>,
    /// Measures the log shows (DP guarantees, anonymization models, pseudonymization, keys).
    pub measures: Vec<Measure>,
    /// Risk figures recorded by anonymization runs (the most recent [`FactsBuilder`] keeps).
    pub risks: Vec<RiskSummary>,
    /// Anonymization runs in the log, including those whose figures were not kept.
    pub anonymization_runs: u64,
    /// Everyone who appears as a principal.
    pub principals: BTreeSet<String>,
    /// Whether some set above reached [`MAX_DISTINCT`] and further distinct values were only
    /// counted, not listed.
    pub capped: bool,
}

/// The most distinct values any set of [`LogFacts`] lists (datasets, principals, mechanisms,
/// guarantees, measures): a log of millions of entries with ever-new values still gives a
/// report of bounded size.
pub const MAX_DISTINCT: usize = 1000;

impl LogFacts {
    /// Extracts the facts from `entries`, keeping every anonymization run's figures.
    pub fn from_entries(entries: &[LoggedEntry]) -> Self {
        let mut builder = FactsBuilder::new(usize::MAX);
        entries.iter().for_each(|e| builder.add(e));
        builder.finish()
    }
}

/// Gathers [`LogFacts`] one entry at a time, in bounded memory.
#[derive(Debug)]
pub struct FactsBuilder {
    facts: LogFacts,
    measures: BTreeSet<MeasureSortKey>,
    risks: std::collections::VecDeque<RiskSummary>,
    max_risks: usize,
}

/// Inserts into a set unless it holds [`MAX_DISTINCT`] values already; notes when it does.
fn insert_capped<T: Ord>(set: &mut BTreeSet<T>, value: T, capped: &mut bool) {
    if set.len() < MAX_DISTINCT || set.contains(&value) {
        set.insert(value);
    } else {
        *capped = true;
    }
}

impl FactsBuilder {
    /// A builder that keeps the figures of the `max_risks` most recent anonymization runs.
    pub fn new(max_risks: usize) -> Self {
        Self {
            facts: LogFacts::default(),
            measures: BTreeSet::new(),
            risks: std::collections::VecDeque::new(),
            max_risks,
        }
    }

    /// Adds one entry.
    pub fn add(&mut self, entry: &LoggedEntry) {
        let facts = &mut self.facts;
        let dataset = entry.field("dataset").unwrap_or_default().to_owned();
        let principal = entry.field("principal").unwrap_or_default().to_owned();
        if !facts.datasets.contains_key(&dataset) && facts.datasets.len() >= MAX_DISTINCT {
            facts.capped = true;
            return;
        }
        let capped = &mut facts.capped;
        let d = facts.datasets.entry(dataset.clone()).or_default();
        if d.first.is_empty() {
            d.first = entry.time.clone();
        }
        d.last.clone_from(&entry.time);
        if let Some(count) = d.kinds.get_mut(entry.kind()) {
            *count += 1;
        } else if d.kinds.len() < MAX_DISTINCT {
            d.kinds.insert(entry.kind().to_owned(), 1);
        }
        insert_capped(&mut d.principals, principal.clone(), capped);
        insert_capped(&mut facts.principals, principal, capped);
        if let Some(m) = entry.detail("mechanism").and_then(Value::as_str) {
            insert_capped(&mut d.mechanisms, m.to_owned(), capped);
        }
        if let Some(g) = guarantee_text(&entry.event) {
            insert_capped(&mut d.guarantees, g, capped);
        }
        if entry.kind() == "budget_created" {
            let text = |k| entry.detail(k).map(value_text).unwrap_or_default();
            d.budget = Some(format!("ε = {}, δ = {}", text("epsilon"), text("delta")));
        }
        let mut found = BTreeSet::new();
        log_measures(entry, &dataset, &mut found);
        for measure in found {
            insert_capped(&mut self.measures, measure, &mut facts.capped);
        }
        if entry.kind() == "anonymization_run" {
            facts.anonymization_runs += 1;
            if self.max_risks > 0 {
                if self.risks.len() == self.max_risks {
                    self.risks.pop_front();
                }
                self.risks.push_back(risk_from_event(entry));
            }
        }
    }

    /// The facts gathered.
    pub fn finish(self) -> LogFacts {
        let mut facts = self.facts;
        facts.measures = self.measures.into_iter().map(|key| key.0).collect();
        facts.risks = self.risks.into_iter().collect();
        facts
    }
}

/// Measures visible in one entry, deduplicated by the caller's set.
fn log_measures(entry: &LoggedEntry, dataset: &str, out: &mut BTreeSet<MeasureSortKey>) {
    let source = format!("audit log, dataset {dataset:?}");
    let mut add = |kind: MeasureKind, description: String| {
        out.insert(MeasureSortKey(Measure { kind, description, source: source.clone() }));
    };
    match entry.kind() {
        "release" => {
            if let Some(g) = guarantee_text(&entry.event) {
                let mechanism = entry.detail("mechanism").and_then(Value::as_str).unwrap_or("?");
                add(MeasureKind::DifferentialPrivacy, format!("{g} per release ({mechanism})"));
            }
        }
        "budget_created" => {
            let text = |k| entry.detail(k).map(value_text).unwrap_or_default();
            let budget = format!("total budget ε = {}, δ = {}", text("epsilon"), text("delta"));
            add(MeasureKind::DifferentialPrivacy, budget);
        }
        "anonymization_run" => {
            for (key, kind) in [
                ("k", MeasureKind::KAnonymity),
                ("l", MeasureKind::LDiversity),
                ("t", MeasureKind::TCloseness),
            ] {
                if let Some(v) = find(&entry.event["details"], &[key]) {
                    add(kind, format!("{key} = {}", value_text(v)));
                }
            }
            if let Some(models) = find(&entry.event["details"], &["models"]) {
                add(MeasureKind::Other, format!("privacy models: {}", value_text(models)));
            }
        }
        "deidentification" => {
            let profile = find(&entry.event["details"], &["profile"]).map(value_text);
            let text = format!("de-identification profile {}", profile.unwrap_or("?".into()));
            add(MeasureKind::Pseudonymization, text);
        }
        "key_generation" => {
            let algorithm = entry.detail("algorithm").map(value_text).unwrap_or_default();
            let purpose = entry.detail("purpose").map(value_text).unwrap_or_default();
            add(MeasureKind::Other, format!("{algorithm} key generated for {purpose}"));
        }
        _ => {}
    }
}

/// Measures ordered by kind, then text, so documents list them deterministically.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MeasureSortKey(Measure);

impl PartialOrd for MeasureSortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MeasureSortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |m: &Measure| (m.kind, m.description.clone(), m.source.clone());
        key(&self.0).cmp(&key(&other.0))
    }
}

/// `pure ε = 0.5`, `approximate ε = 1, δ = 1e-6`, `zcdp ρ = 0.1`, from an event's guarantee.
pub fn guarantee_text(event: &Value) -> Option<String> {
    let g = event.get("guarantee")?;
    let kind = g.get("kind")?.as_str()?;
    let parts: Vec<String> = [("epsilon", "ε"), ("delta", "δ"), ("rho", "ρ")]
        .iter()
        .filter_map(|(key, sym)| g.get(*key).map(|v| format!("{sym} = {}", value_text(v))))
        .collect();
    Some(format!("{kind} {}", parts.join(", ")))
}

/// A JSON value as short text: strings bare, arrays joined, everything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The first value under any of `keys`, searched depth-first through objects.
pub fn find<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let map = value.as_object()?;
    for key in keys {
        if let Some(found) = map.get(*key) {
            return Some(found);
        }
    }
    map.values().find_map(|v| find(v, keys))
}

fn risk_from_event(entry: &LoggedEntry) -> RiskSummary {
    let details = &entry.event["details"];
    let job = details.get("job").and_then(Value::as_str).map(str::to_owned);
    let mut risk = RiskSummary::from_anonymizer_json(details, job.unwrap_or_default());
    risk.dataset = entry.field("dataset").map(str::to_owned);
    risk.job = match (risk.job.is_empty(), &risk.dataset) {
        // Named by the run itself (`job` detail): the job and the entry, as a matched run is.
        (false, _) => format!("{}, entry {}", risk.job, entry.seq),
        (true, Some(data)) => format!("entry {} ({data})", entry.seq),
        (true, None) => format!("entry {}", entry.seq),
    };
    risk
}

/// A privacy model or transformation as `privacy_anon` serializes it (`{"type": "k-anonymity",
/// "k": 5}`, `{"method": "full-domain", "levels": [["age", 2]], "optimal": true}`) as short
/// text: `k-anonymity (k = 5)`, `full-domain (levels = age 2, optimal = true)`.
pub fn tagged_text(value: &Value) -> String {
    let Some(map) = value.as_object() else { return value_text(value) };
    let tag = ["type", "method"].iter().find_map(|t| map.get(*t).and_then(Value::as_str));
    let rest: Vec<String> = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "method"))
        .map(|(k, v)| {
            let text = match v {
                Value::Array(items) => {
                    items.iter().map(value_text).map(|t| t.replace(", ", " ")).collect::<Vec<_>>()
                }
                other => vec![value_text(other)],
            };
            format!("{k} = {}", text.join(", "))
        })
        .collect();
    match (tag, rest.is_empty()) {
        (Some(tag), true) => tag.to_owned(),
        (Some(tag), false) => format!("{tag} ({})", rest.join(", ")),
        (None, _) => rest.join(", "),
    }
}

impl RiskSummary {
    /// Reads a risk summary from `privacy_anon`'s output: the details of an
    /// `anonymization_run` audit event, or the JSON report an anonymization job writes (both
    /// carry `models`, `transformation`, `records`, `suppressed` and a `risk` object with
    /// `classes`, `prosecutor_highest`, `prosecutor_average`, `journalist_highest`, `marketer`,
    /// `sample_uniques` and `population_uniques_zayatz`). This summary's own field names are
    /// accepted too, at the top level or under `risk`, so a summary written by hand (or by
    /// another tool) in this crate's shape reads back unchanged. A figure that is absent stays
    /// `None`: it is reported as not measured, never as zero.
    pub fn from_anonymizer_json(value: &Value, job: impl Into<String>) -> Self {
        let risk = value.get("risk").filter(|r| r.is_object());
        let pick = |names: &[&str]| {
            names.iter().find_map(|n| risk.and_then(|r| r.get(*n)).or_else(|| value.get(*n)))
        };
        let number = |names: &[&str]| pick(names).and_then(Value::as_f64);
        let count = |names: &[&str]| pick(names).and_then(Value::as_u64);
        let models = match value.get("models") {
            Some(Value::Array(items)) => items.iter().map(tagged_text).collect(),
            Some(other) => vec![tagged_text(other)],
            None => Vec::new(),
        };
        RiskSummary {
            job: job.into(),
            dataset: value.get("dataset").and_then(Value::as_str).map(str::to_owned),
            models,
            transformation: value.get("transformation").map(tagged_text),
            records: value.get("records").and_then(Value::as_u64),
            suppressed: value.get("suppressed").and_then(Value::as_u64),
            classes: count(&["classes"]),
            prosecutor_max: number(&["prosecutor_highest", "prosecutor_max"]),
            prosecutor_avg: number(&["prosecutor_average", "prosecutor_avg"]),
            journalist_max: number(&["journalist_highest", "journalist_max"]),
            marketer: number(&["marketer"]),
            sample_uniques: number(&["sample_uniques"]),
            population_uniques: number(&["population_uniques_zayatz", "population_uniques"]),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use serde_json::json;

    use super::*;

    fn entry(seq: u64, event: Value) -> LoggedEntry {
        LoggedEntry { seq, time: format!("2026-01-0{seq}T00:00:00Z"), event }
    }

    #[test]
    fn facts_gather_datasets_measures_and_risks() {
        let entries = vec![
            entry(
                1,
                json!({"kind": "budget_created", "principal": "admin", "dataset": "icu",
                "details": {"epsilon": "1", "delta": "0"}}),
            ),
            entry(
                2,
                json!({"kind": "release", "principal": "ana", "dataset": "icu",
                "guarantee": {"kind": "pure", "epsilon": "0.5"},
                "details": {"mechanism": "discrete_laplace"}}),
            ),
            entry(
                3,
                json!({"kind": "anonymization_run", "principal": "ana", "dataset": "icu",
                "details": {"job": "adult-k5", "models": [{"type": "k-anonymity", "k": 5}],
                    "records": 100,
                    "transformation": {"method": "full-domain", "levels": [["age", 2]],
                        "optimal": true},
                    "risk": {"prosecutor_highest": 0.2, "prosecutor_average": 0.05,
                        "marketer": 0.05, "sample_uniques": 0.0,
                        "population_uniques_zayatz": 0.0, "classes": 20}}}),
            ),
        ];
        let facts = LogFacts::from_entries(&entries);
        let icu = &facts.datasets["icu"];
        assert_eq!(icu.kinds["release"], 1);
        assert_eq!(icu.budget.as_deref(), Some("ε = 1, δ = 0"));
        assert!(icu.guarantees.contains("pure ε = 0.5"));
        assert_eq!(facts.risks[0].job, "adult-k5, entry 3");
        assert_eq!(facts.risks[0].prosecutor_max, Some(0.2));
        assert_eq!(facts.risks[0].records, Some(100));
        assert_eq!(facts.risks[0].classes, Some(20));
        assert_eq!(facts.risks[0].population_uniques, Some(0.0));
        assert_eq!(facts.risks[0].models, ["k-anonymity (k = 5)"]);
        assert_eq!(
            facts.risks[0].transformation.as_deref(),
            Some("full-domain (levels = age 2, optimal = true)")
        );
        assert_eq!(facts.risks[0].dataset.as_deref(), Some("icu"));
        let kinds: Vec<MeasureKind> = facts.measures.iter().map(|m| m.kind).collect();
        assert!(kinds.contains(&MeasureKind::DifferentialPrivacy));
        assert!(kinds.contains(&MeasureKind::Other));
    }
}
