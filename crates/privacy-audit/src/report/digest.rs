//! [`LogDigest`]: everything the report needs from the log, gathered in one streaming pass in
//! bounded memory.
//!
//! A hospital's log grows by an entry per request, release, refusal and charge: millions over a
//! few years. The report must neither hold all of them in memory nor list millions of rows, so
//! the digest keeps, for each kind of event, exact **counts** and **summaries** of all entries
//! (releases grouped by dataset, mechanism and guarantee; refusals by dataset and reason; other
//! events by kind) and only the **latest N entries** themselves ([`ReportLimits::rows`], 200 by
//! default). The budget-over-time series keep at most about [`ReportLimits::points`] points each:
//! when a series grows past twice that, every other older point is dropped (the last is always
//! kept), so the cumulative figures at the points shown stay exact and only the steps between
//! them are merged. Sets of distinct names are capped at [`MAX_DISTINCT`] (see
//! [`LogFacts::capped`]). Memory is therefore `O(N + points + distinct names)`, whatever the
//! log's length; the trade-off is that a report of a long log lists the latest releases, not
//! every one (the log itself, and `audit prove`, remain the record of each).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::compliance::{guarantee_text, FactsBuilder, LogFacts, MAX_DISTINCT};
use crate::error::AuditError;
use crate::read::LoggedEntry;

/// How much of a long log the report shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportLimits {
    /// The most entries listed per table (the latest ones); counts cover all.
    pub rows: usize,
    /// About the most points kept per budget series (between this and twice this).
    pub points: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self { rows: 200, points: 2000 }
    }
}

/// The latest items of a stream, and how many there were in all.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest<T> {
    items: VecDeque<T>,
    cap: usize,
    /// Items seen, kept or not.
    pub total: u64,
}

impl<T> Latest<T> {
    fn new(cap: usize) -> Self {
        Self { items: VecDeque::new(), cap, total: 0 }
    }

    fn push(&mut self, item: T) {
        self.total += 1;
        if self.cap == 0 {
            return;
        }
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// The kept items, oldest first.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// How many were seen but are not kept.
    pub fn omitted(&self) -> u64 {
        self.total - self.items.len() as u64
    }
}

/// Releases of one dataset with one mechanism and guarantee.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReleaseGroup {
    /// How many.
    pub count: u64,
    /// The first one's time.
    pub first: String,
    /// The last one's time.
    pub last: String,
}

/// One point of a budget series: cumulative ε and δ at a time (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpendPoint {
    /// When.
    pub time: f64,
    /// Cumulative ε.
    pub epsilon: f64,
    /// Cumulative δ.
    pub delta: f64,
}

/// Cumulative spending of one principal (or of all), thinned to a bounded number of points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpendSeries {
    /// The points, in time order.
    pub points: Vec<SpendPoint>,
    /// Cumulative ε so far.
    pub epsilon: f64,
    /// Cumulative δ so far.
    pub delta: f64,
}

impl SpendSeries {
    fn add(&mut self, time: f64, epsilon: f64, delta: f64, max_points: usize) {
        self.epsilon += epsilon;
        self.delta += delta;
        self.points.push(SpendPoint { time, epsilon: self.epsilon, delta: self.delta });
        if self.points.len() > 2 * max_points.max(1) {
            let last = self.points.len() - 1;
            let mut index = 0;
            self.points.retain(|_| {
                let keep = index % 2 == 1 || index == last;
                index += 1;
                keep
            });
        }
    }
}

/// Spending on one dataset over time, in total and per principal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetSpend {
    /// All principals together.
    pub total: SpendSeries,
    /// Per principal (at most [`MAX_DISTINCT`]; later ones count only in the total).
    pub principals: BTreeMap<String, SpendSeries>,
}

/// Accumulates spending per dataset and principal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpendBuilder {
    datasets: BTreeMap<String, DatasetSpend>,
    max_points: usize,
}

impl SpendBuilder {
    /// A builder keeping about `max_points` points per series.
    pub fn new(max_points: usize) -> Self {
        Self { datasets: BTreeMap::new(), max_points }
    }

    /// Adds a spend of (`epsilon`, `delta`) at `time` (RFC 3339; a spend at an unreadable time
    /// is left out of the series, as it cannot be placed).
    pub fn add(&mut self, dataset: &str, principal: &str, time: &str, epsilon: f64, delta: f64) {
        let Some(t) = unix(time) else { return };
        if !self.datasets.contains_key(dataset) && self.datasets.len() >= MAX_DISTINCT {
            return;
        }
        let d = self.datasets.entry(dataset.to_owned()).or_default();
        d.total.add(t, epsilon, delta, self.max_points);
        if d.principals.contains_key(principal) || d.principals.len() < MAX_DISTINCT {
            let p = d.principals.entry(principal.to_owned()).or_default();
            p.add(t, epsilon, delta, self.max_points);
        }
    }

    /// Makes sure `dataset` appears (with no spending yet).
    pub fn touch(&mut self, dataset: &str) {
        if self.datasets.len() < MAX_DISTINCT {
            self.datasets.entry(dataset.to_owned()).or_default();
        }
    }

    /// The series, by dataset.
    pub fn finish(self) -> BTreeMap<String, DatasetSpend> {
        self.datasets
    }
}

/// Unix seconds of an RFC 3339 time.
pub(crate) fn unix(time: &str) -> Option<f64> {
    OffsetDateTime::parse(time, &Rfc3339).ok().map(|t| t.unix_timestamp() as f64)
}

/// What the report needs from the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogDigest {
    /// Entries read.
    pub entries: u64,
    /// Complete lines that are not entries.
    pub unreadable: u64,
    /// The last entry's time.
    pub last_time: Option<String>,
    /// The facts the GDPR documents use.
    pub facts: LogFacts,
    /// The latest releases.
    pub releases: Latest<LoggedEntry>,
    /// All releases by (dataset, mechanism, guarantee); groups past [`MAX_DISTINCT`] are counted
    /// under `("(other)", "", "")`.
    pub release_groups: BTreeMap<(String, String, String), ReleaseGroup>,
    /// The latest refusals.
    pub refusals: Latest<LoggedEntry>,
    /// All refusals by (dataset, reason code).
    pub refusal_groups: BTreeMap<(String, String), u64>,
    /// The latest federated-learning rounds.
    pub federated: Latest<LoggedEntry>,
    /// The latest other events (not requests, releases, refusals, runs or rounds).
    pub others: Latest<LoggedEntry>,
    /// Every event kind and how many entries it has.
    pub kinds: BTreeMap<String, u64>,
    /// ε and δ released per dataset and principal over time (from release entries).
    pub released: BTreeMap<String, DatasetSpend>,
}

/// Builds a [`LogDigest`] one entry at a time.
#[derive(Debug)]
pub struct DigestBuilder {
    digest: LogDigest,
    facts: FactsBuilder,
    released: SpendBuilder,
}

/// Kinds with their own section; every other kind goes to "other events".
const OWN_SECTION: [&str; 5] =
    ["release", "refusal", "request", "anonymization_run", "federated_round"];

impl DigestBuilder {
    /// A builder with `limits`.
    pub fn new(limits: ReportLimits) -> Self {
        let rows = limits.rows;
        Self {
            digest: LogDigest {
                entries: 0,
                unreadable: 0,
                last_time: None,
                facts: LogFacts::default(),
                releases: Latest::new(rows),
                release_groups: BTreeMap::new(),
                refusals: Latest::new(rows),
                refusal_groups: BTreeMap::new(),
                federated: Latest::new(rows),
                others: Latest::new(rows),
                kinds: BTreeMap::new(),
                released: BTreeMap::new(),
            },
            facts: FactsBuilder::new(rows),
            released: SpendBuilder::new(limits.points),
        }
    }

    /// Adds one entry.
    pub fn add(&mut self, entry: LoggedEntry) {
        self.facts.add(&entry);
        let d = &mut self.digest;
        d.entries += 1;
        d.last_time = Some(entry.time.clone());
        let kind = entry.kind().to_owned();
        if let Some(count) = d.kinds.get_mut(&kind) {
            *count += 1;
        } else if d.kinds.len() < MAX_DISTINCT {
            d.kinds.insert(kind.clone(), 1);
        }
        let dataset = entry.field("dataset").unwrap_or_default().to_owned();
        match kind.as_str() {
            "release" => {
                let number = |k| entry.detail(k).and_then(Value::as_f64).unwrap_or(0.0);
                let principal = entry.field("principal").unwrap_or_default();
                let (epsilon, delta) = (number("epsilon"), number("delta"));
                self.released.add(&dataset, principal, &entry.time, epsilon, delta);
                let mechanism = entry.detail("mechanism").and_then(Value::as_str);
                let guarantee = guarantee_text(&entry.event).unwrap_or_default();
                let mut key = (dataset, mechanism.unwrap_or_default().to_owned(), guarantee);
                if !d.release_groups.contains_key(&key) && d.release_groups.len() >= MAX_DISTINCT {
                    key = ("(other)".to_owned(), String::new(), String::new());
                }
                let group = d.release_groups.entry(key).or_default();
                group.count += 1;
                if group.first.is_empty() {
                    group.first.clone_from(&entry.time);
                }
                group.last.clone_from(&entry.time);
                d.releases.push(entry);
            }
            "refusal" => {
                let reason = entry.detail("reason_code").and_then(Value::as_str);
                let mut key = (dataset, reason.unwrap_or_default().to_owned());
                if !d.refusal_groups.contains_key(&key) && d.refusal_groups.len() >= MAX_DISTINCT {
                    key = ("(other)".to_owned(), String::new());
                }
                *d.refusal_groups.entry(key).or_default() += 1;
                d.refusals.push(entry);
            }
            "federated_round" => d.federated.push(entry),
            other if !OWN_SECTION.contains(&other) => d.others.push(entry),
            _ => {}
        }
    }

    /// The digest.
    pub fn finish(mut self, unreadable: u64) -> LogDigest {
        self.digest.unreadable = unreadable;
        self.digest.facts = self.facts.finish();
        self.digest.released = self.released.finish();
        self.digest
    }
}

impl LogDigest {
    /// Streams the log at `path` into a digest.
    pub fn read(path: impl AsRef<Path>, limits: ReportLimits) -> Result<Self, AuditError> {
        let mut builder = DigestBuilder::new(limits);
        let unreadable = crate::read::for_each_entry(path, |entry| builder.add(entry))?;
        Ok(builder.finish(unreadable))
    }

    /// A digest of entries already in memory.
    pub fn from_entries(
        entries: impl IntoIterator<Item = LoggedEntry>,
        unreadable: u64,
        limits: ReportLimits,
    ) -> Self {
        let mut builder = DigestBuilder::new(limits);
        entries.into_iter().for_each(|e| builder.add(e));
        builder.finish(unreadable)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use serde_json::json;

    use super::*;

    fn release(seq: u64, epsilon: f64) -> LoggedEntry {
        let minute = seq % 60;
        let hour = (seq / 60) % 24;
        LoggedEntry {
            seq,
            time: format!("2026-01-01T{hour:02}:{minute:02}:00Z"),
            event: json!({"kind": "release", "principal": format!("p{}", seq % 3),
                "dataset": "icu", "guarantee": {"kind": "pure", "epsilon": "0.1"},
                "details": {"epsilon": epsilon, "delta": 0.0, "mechanism": "discrete_laplace"}}),
        }
    }

    #[test]
    fn a_long_log_is_summarized_exactly_and_listed_in_part() {
        let limits = ReportLimits { rows: 5, points: 10 };
        let digest = LogDigest::from_entries((1..=1000).map(|s| release(s, 0.001)), 0, limits);
        assert_eq!(digest.entries, 1000);
        assert_eq!(digest.releases.total, 1000);
        let kept: Vec<u64> = digest.releases.items().map(|e| e.seq).collect();
        assert_eq!(kept, [996, 997, 998, 999, 1000], "the latest five are listed");
        assert_eq!(digest.releases.omitted(), 995);
        let group = &digest.release_groups
            [&("icu".into(), "discrete_laplace".into(), "pure ε = 0.1".into())];
        assert_eq!(group.count, 1000);
        let total = &digest.released["icu"].total;
        assert!(total.points.len() <= 20 && total.points.len() >= 10, "{}", total.points.len());
        let last = total.points.last().unwrap();
        assert!((last.epsilon - 1.0).abs() < 1e-9, "the cumulative figure stays exact");
        assert!(total.points.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(digest.released["icu"].principals.len(), 3);
    }
}
