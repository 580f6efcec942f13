//! Running an anonymization job end to end: read, encode, search (or recode), verify,
//! measure, write, report, and record the run in the audit log.
//!
//! Order matters for the guarantees: the output table is written only after the independent
//! verification ([`crate::verify`]) has confirmed every model on the output text, and nothing
//! appears at the output paths before the run is recorded by the audit sink. The table and the
//! report are first written to temporary files beside their destinations
//! (`.<name>.partial`); then the audit event is recorded; only then are the files renamed into
//! place (an atomic rename on one file system). If the audit sink refuses, the temporary files
//! are removed and nothing was written; if a write fails, nothing is recorded. The audit event
//! holds the job's parameters, the transformation and risk figures — never a data value.

use std::path::Path;
use std::time::{Duration, Instant};

use polars::prelude::*;
use privacy_core::{AuditEvent, AuditEventKind, AuditSink};
use privacy_dp::ReadOptions;

use crate::encode::{
    column_text, distinct_values, encode_codes, encode_column, AttributeKind, EncodedColumn,
    EncodedTable, MissingPolicy,
};
use crate::error::AnonError;
use crate::hierarchy::Hierarchy;
use crate::hierarchy_builder;
use crate::job::{BuiltHierarchy, HierarchySpec, Job, Method, AUTO_OPTIMAL_NODES};
use crate::measures::measure;
use crate::metric::MetricTables;
use crate::models::CompiledModels;
use crate::release::{full_domain, Release, SUPPRESSED_COLUMN};
use crate::report::Report;
use crate::search::{Problem, SearchOutcome};
use crate::verify::{verify, SensitiveText};

/// What a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report (also written as JSON when the job asks).
    pub report: Report,
    /// The anonymized table as written.
    pub output: DataFrame,
}

/// Runs `job`, reporting to `audit` as `principal`.
pub fn run_job(job: &Job, audit: &dyn AuditSink, principal: &str) -> Result<RunOutcome, AnonError> {
    let started = Instant::now();
    let frame = read(&job.data.path, job.data.delimiter)?;
    let population = match &job.population {
        Some(p) => Some(read(&p.path, p.delimiter)?),
        None => None,
    };
    let table = encode_job(job, &frame, population.as_ref())?;
    let limit = (job.limits.suppression * table.rows as f64).floor() as u64;
    let models = CompiledModels::compile(&job.models, &table, limit)?;
    let (release, search) = transform(job, &table, &models, limit)?;
    let quasi_text = release_text(&release);
    let verification = verify_release(job, &frame, &table, &release, &quasi_text)?;
    let sampling_fraction = job.risk.sampling_fraction.unwrap_or_else(|| {
        table.population_rows().map_or(1.0, |p| (table.rows as f64 / p.max(1) as f64).min(1.0))
    });
    let (utility, risk) = measure(&table, &release, job.risk.threshold, sampling_fraction);
    let mut output = output_frame(job, &frame, &release, quasi_text)?;
    let report = Report::new(job, &table, &release, search, utility, risk, verification, limit);
    if let Some(failed) = report.verification.models.iter().find(|m| !m.satisfied) {
        return Err(AnonError::VerificationFailed(failed.model.name().to_owned()));
    }
    let mut staged = Staged::default();
    staged.table(&mut output, &job.output.path, job.data.delimiter)?;
    if let Some(path) = &job.output.report {
        staged.report(&report, path)?;
    }
    audit.record(&audit_event(&report, job.name.as_deref(), principal, started.elapsed()))?;
    staged.publish()?;
    tracing::info!(
        rows = table.rows,
        suppressed = release.suppressed_count(),
        method = report.method.as_str(),
        "anonymization run recorded"
    );
    Ok(RunOutcome { report, output })
}

fn read(path: &Path, delimiter: Option<char>) -> Result<DataFrame, AnonError> {
    let delimiter = delimiter
        .map(|c| {
            u8::try_from(c).ok().filter(u8::is_ascii).ok_or_else(|| AnonError::InvalidParameter {
                name: "delimiter".into(),
                reason: "must be one ASCII character".into(),
            })
        })
        .transpose()?;
    Ok(privacy_dp::read_table(path, ReadOptions { delimiter })?)
}

/// Encodes the job's quasi-identifiers, sensitive attributes and population.
pub fn encode_job(
    job: &Job,
    frame: &DataFrame,
    population: Option<&DataFrame>,
) -> Result<EncodedTable, AnonError> {
    for a in &job.attributes {
        if frame.column(&a.name).is_err() {
            return Err(AnonError::UnknownColumn(a.name.clone()));
        }
    }
    let mut quasi = Vec::new();
    let mut pop_codes = Vec::new();
    for a in job.attributes_of(AttributeKind::QuasiIdentifying) {
        let text = column_text(frame, &a.name)?;
        let pop_text = population.map(|p| column_text(p, &a.name)).transpose()?;
        let spec = a.hierarchy.as_ref().ok_or_else(|| AnonError::InvalidHierarchy {
            column: a.name.clone(),
            reason: "a quasi-identifier needs a hierarchy".into(),
        })?;
        let sources: Vec<&[Option<String>]> =
            std::iter::once(text.as_slice()).chain(pop_text.as_deref()).collect();
        let hierarchy = build_hierarchy(&a.name, spec, &sources)?;
        let pop_missing = pop_text.as_ref().map_or(0, |p| p.iter().filter(|v| v.is_none()).count());
        let mut column = encode_column(&text, hierarchy, a.missing)?;
        if pop_missing > 0 && column.missing_count == 0 {
            column.hierarchy =
                crate::encode::prepare_hierarchy(column.hierarchy, a.missing, pop_missing)?;
        }
        if let Some(p) = &pop_text {
            pop_codes.push(encode_codes(p, &column.hierarchy)?);
        }
        quasi.push(column);
    }
    let sensitive = job
        .attributes_of(AttributeKind::Sensitive)
        .map(|a| encode_sensitive(frame, &a.name, a.hierarchy.as_ref(), a.missing))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EncodedTable {
        rows: frame.height(),
        quasi,
        sensitive,
        population: population.map(|_| pop_codes),
    })
}

fn build_hierarchy(
    name: &str,
    spec: &HierarchySpec,
    sources: &[&[Option<String>]],
) -> Result<Hierarchy, AnonError> {
    match spec {
        HierarchySpec::File(path) => Hierarchy::from_csv_file(name, path),
        HierarchySpec::Built(built) => {
            let values = distinct_values(sources.iter().copied());
            match built {
                BuiltHierarchy::Intervals(spec) => {
                    hierarchy_builder::intervals(name, &values, spec)
                }
                BuiltHierarchy::Dates => hierarchy_builder::dates(name, &values),
                BuiltHierarchy::Prefix => hierarchy_builder::prefix(name, &values),
            }
        }
    }
}

fn encode_sensitive(
    frame: &DataFrame,
    name: &str,
    spec: Option<&HierarchySpec>,
    missing: MissingPolicy,
) -> Result<EncodedColumn, AnonError> {
    if missing == MissingPolicy::MatchesAnything {
        return Err(AnonError::InvalidParameter {
            name: name.to_owned(),
            reason: "`matches-anything` applies to quasi-identifiers only".into(),
        });
    }
    let text = column_text(frame, name)?;
    let hierarchy = match spec {
        Some(spec) => build_hierarchy(name, spec, &[&text])?,
        None => Hierarchy::flat(name, &distinct_values([text.as_slice()]))?,
    };
    encode_column(&text, hierarchy, missing)
}

fn transform(
    job: &Job,
    table: &EncodedTable,
    models: &CompiledModels,
    limit: u64,
) -> Result<(Release, Option<SearchOutcome>), AnonError> {
    let metric = MetricTables::new(job.search.metric, table);
    let budget = Duration::from_secs_f64(job.limits.time_limit_seconds);
    match job.search.method {
        Method::Mondrian => Ok((crate::mondrian::mondrian(table, models, limit)?, None)),
        Method::Mdav => Ok((crate::mdav::mdav(table, models, job, limit)?, None)),
        method => {
            let problem = Problem::new(table, models, &metric, limit);
            let optimal = match method {
                Method::Optimal => true,
                Method::Heuristic => false,
                _ => problem.lattice_size() <= AUTO_OPTIMAL_NODES,
            };
            let outcome = if optimal { problem.optimal()? } else { problem.heuristic(budget)? };
            let (groups, class_of) =
                crate::groups::Groups::of_records(table, &outcome.levels, models.needs_histograms);
            let (_, kept) = problem.judge(&groups, &outcome.levels);
            let suppressed = (0..table.rows).map(|r| !kept[class_of[r] as usize]).collect();
            Ok((full_domain(table, &outcome.levels, suppressed, outcome.optimal), Some(outcome)))
        }
    }
}

/// The output text of every quasi-identifier, `[column][row]`.
fn release_text(release: &Release) -> Vec<Vec<String>> {
    (0..release.columns.len())
        .map(|c| (0..release.rows()).map(|r| release.text(c, r).to_owned()).collect())
        .collect()
}

fn verify_release(
    job: &Job,
    frame: &DataFrame,
    table: &EncodedTable,
    release: &Release,
    quasi_text: &[Vec<String>],
) -> Result<crate::verify::Verification, AnonError> {
    let sensitive_text: Vec<Vec<String>> = table
        .sensitive
        .iter()
        .map(|s| {
            Ok(column_text(frame, &s.name)?.into_iter().map(Option::unwrap_or_default).collect())
        })
        .collect::<Result<_, AnonError>>()?;
    let sensitive: Vec<SensitiveText<'_>> = table
        .sensitive
        .iter()
        .zip(&sensitive_text)
        .map(|(s, values)| SensitiveText {
            name: &s.name,
            values,
            hierarchy: (s.hierarchy.levels() > 1).then_some(&s.hierarchy),
        })
        .collect();
    let population: Option<Vec<Vec<String>>> = release.population_cells.as_ref().map(|pop| {
        pop.iter()
            .zip(&release.columns)
            .map(|(cells, column)| {
                cells.iter().map(|&c| column.labels[c as usize].clone()).collect()
            })
            .collect()
    });
    Ok(verify(quasi_text, &sensitive, &release.suppressed, population.as_deref(), &job.models))
}

/// The output table: identifying columns dropped, quasi-identifiers replaced, the suppression
/// flag appended.
fn output_frame(
    job: &Job,
    frame: &DataFrame,
    release: &Release,
    quasi_text: Vec<Vec<String>>,
) -> Result<DataFrame, AnonError> {
    let mut replaced = std::collections::HashMap::new();
    for (column, text) in release.columns.iter().zip(quasi_text) {
        replaced.insert(column.name.clone(), text);
    }
    let identifying: Vec<&str> =
        job.attributes_of(AttributeKind::Identifying).map(|a| a.name.as_str()).collect();
    let mut columns: Vec<Column> = Vec::new();
    for column in frame.columns() {
        let name = column.name().as_str();
        if identifying.contains(&name) || name == SUPPRESSED_COLUMN {
            continue;
        }
        match replaced.remove(name) {
            Some(text) => columns.push(Column::new(name.into(), text)),
            None => columns.push(column.clone()),
        }
    }
    columns.push(Column::new(SUPPRESSED_COLUMN.into(), release.suppressed.clone()));
    DataFrame::new(frame.height(), columns)
        .map_err(|e| AnonError::Output { path: "output".into(), reason: e.to_string() })
}

/// Writes `frame` as Parquet (by extension) or CSV with `delimiter` (default `,`).
pub fn write_table(
    frame: &mut DataFrame,
    path: &Path,
    delimiter: Option<char>,
) -> Result<(), AnonError> {
    write_table_as(frame, path, path, delimiter)
}

/// Writes `frame` to `path` in the format that `format_of`'s extension names.
fn write_table_as(
    frame: &mut DataFrame,
    path: &Path,
    format_of: &Path,
    delimiter: Option<char>,
) -> Result<(), AnonError> {
    let fail = |reason: String| AnonError::Output { path: format_of.display().to_string(), reason };
    let file = std::fs::File::create(path).map_err(|e| fail(e.kind().to_string()))?;
    let parquet = format_of.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if parquet {
        ParquetWriter::new(file).finish(frame).map(|_| ()).map_err(|e| fail(e.to_string()))
    } else {
        let separator = delimiter.and_then(|c| u8::try_from(c).ok()).unwrap_or(b',');
        CsvWriter::new(file)
            .with_separator(separator)
            .finish(frame)
            .map_err(|e| fail(e.to_string()))
    }
}

/// Files written under temporary names, renamed into place by [`Staged::publish`] and removed
/// if dropped before it.
#[derive(Default)]
struct Staged {
    files: Vec<(std::path::PathBuf, std::path::PathBuf)>,
}

impl Staged {
    fn temporary(path: &Path) -> std::path::PathBuf {
        let name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy());
        path.with_file_name(format!(".{name}.partial"))
    }

    fn table(
        &mut self,
        frame: &mut DataFrame,
        path: &Path,
        delimiter: Option<char>,
    ) -> Result<(), AnonError> {
        let temp = Self::temporary(path);
        self.files.push((temp.clone(), path.to_owned()));
        write_table_as(frame, &temp, path, delimiter)
    }

    fn report(&mut self, report: &Report, path: &Path) -> Result<(), AnonError> {
        let temp = Self::temporary(path);
        self.files.push((temp.clone(), path.to_owned()));
        write_report(report, &temp, path)
    }

    fn publish(mut self) -> Result<(), AnonError> {
        for (temp, path) in std::mem::take(&mut self.files) {
            std::fs::rename(&temp, &path).map_err(|e| AnonError::Output {
                path: path.display().to_string(),
                reason: format!(
                    "the run was recorded but the file could not be moved into place: {}",
                    e.kind()
                ),
            })?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            // Best effort: a leftover temporary file is named as such and never the output.
            let _ = std::fs::remove_file(temp);
        }
    }
}

fn write_report(report: &Report, path: &Path, shown: &Path) -> Result<(), AnonError> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| AnonError::Output {
        path: shown.display().to_string(),
        reason: e.to_string(),
    })?;
    std::fs::write(path, json).map_err(|e| AnonError::Output {
        path: shown.display().to_string(),
        reason: e.kind().to_string(),
    })
}

fn audit_event(
    report: &Report,
    job: Option<&str>,
    principal: &str,
    elapsed: Duration,
) -> AuditEvent {
    let event = AuditEvent::new(AuditEventKind::AnonymizationRun, principal);
    let event = match job {
        Some(name) => event.with_detail("job", name),
        None => event,
    };
    event
        .with_dataset(report.data.clone())
        .with_detail("method", report.method.clone())
        .with_detail("models", serde_json::to_value(&report.models).unwrap_or_default())
        .with_detail(
            "transformation",
            serde_json::to_value(&report.transformation).unwrap_or_default(),
        )
        .with_detail("records", report.records)
        .with_detail("suppressed", report.suppressed)
        .with_detail("suppression_limit", report.suppression_limit)
        .with_detail("risk", serde_json::to_value(&report.risk).unwrap_or_default())
        .with_detail("loss", report.utility.loss)
        .with_detail("verified", report.verification.models.iter().all(|m| m.satisfied))
        .with_detail("elapsed_ms", elapsed.as_millis() as u64)
}
