//! `medi-privacy pprl encode|match`: Bloom-filter record linkage files.
//!
//! `encode` runs at each data owner: it reads a CSV file, validates each record against a
//! clkhash-compatible linkage schema, and writes one keyed Bloom-filter encoding per record
//! (`{"clks": [...]}`, as clkhash does). `match` runs at the linkage unit, which never holds
//! the secret: it links two encoding files by Dice similarity, with locality-sensitive
//! blocking, one-to-one, and writes `a,b,similarity` rows (0-based record positions).
//!
//! With `--audit-log`, each run appends one `protocol_run` entry (`pprl_encode` or
//! `pprl_match`) before its output is written: the schema's fingerprint, encoding level, filter
//! length, feature names, record and link counts, threshold and blocking. Never a record, an
//! identifier, a filter, a similarity of a pair, or anything derived from the secret (not even
//! its hash, which would let anyone holding the log test guesses of a weak secret).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use privacy_mpc::pprl::{link, Encoder, EncodingFile, LshBlocking};
use zeroize::Zeroizing;

use privacy_core::{AuditEvent, AuditEventKind, AuditSink};

use crate::mpc_common::{csv_reader, write_output, AuditArgs};

#[derive(Subcommand)]
pub(crate) enum PprlCommand {
    /// Encode a CSV file's records into Bloom filters.
    Encode {
        /// The linkage schema (clkhash's version 3 JSON format).
        #[arg(long)]
        schema: PathBuf,
        /// A file holding the secret shared by the data owners (at least 16 bytes; one
        /// trailing newline is ignored). Never give it to the linkage unit.
        #[arg(long)]
        secret_file: PathBuf,
        /// The CSV file; its header must name every feature the schema hashes.
        #[arg(long)]
        data: PathBuf,
        /// The CSV delimiter.
        #[arg(long, default_value = ",")]
        delimiter: char,
        /// Where to write the encodings (JSON); standard output by default.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Link two encoding files by Dice similarity.
    Match {
        /// The first encoding file.
        #[arg(long)]
        a: PathBuf,
        /// The second encoding file.
        #[arg(long)]
        b: PathBuf,
        /// The least similarity of a link, in (0, 1].
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
        /// Compare every pair instead of blocking.
        #[arg(long)]
        no_blocking: bool,
        /// Blocking bands (more find more pairs, at more comparisons).
        #[arg(long, default_value_t = 40)]
        lsh_bands: usize,
        /// Sampled bits per band (fewer find more pairs, at more comparisons).
        #[arg(long, default_value_t = 10)]
        lsh_bits: usize,
        /// Where to write the links (CSV); standard output by default.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

pub(crate) fn run(command: PprlCommand) -> Result<ExitCode> {
    match command {
        PprlCommand::Encode { schema, secret_file, data, delimiter, output, audit } => {
            let sink = audit.sink()?;
            let run = Run { audit: sink.as_ref(), principal: &audit.principal };
            let done = encode(&schema, &secret_file, &data, delimiter, output.as_deref(), run);
            done.map_err(|e| run.failed("pprl_encode", e))?;
        }
        PprlCommand::Match { a, b, threshold, no_blocking, lsh_bands, lsh_bits, output, audit } => {
            let blocking =
                (!no_blocking).then_some(LshBlocking { bands: lsh_bands, bits_per_band: lsh_bits });
            let sink = audit.sink()?;
            let run = Run { audit: sink.as_ref(), principal: &audit.principal };
            let done = link_files(&a, &b, threshold, blocking, output.as_deref(), run);
            done.map_err(|e| run.failed("pprl_match", e))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a linkage run is recorded, and for whom.
#[derive(Clone, Copy)]
struct Run<'a> {
    audit: &'a dyn AuditSink,
    principal: &'a str,
}

impl Run<'_> {
    /// A `protocol_run` event of `protocol`, with the common metadata.
    fn event(&self, protocol: &str, outcome: &str) -> AuditEvent {
        AuditEvent::new(AuditEventKind::ProtocolRun, self.principal)
            .with_detail("protocol", protocol)
            .with_detail("technique", "keyed bloom filters (clkhash v3 schema)")
            .with_detail("outcome", outcome)
    }

    /// Records the success event, before the output is written.
    fn record(&self, event: &AuditEvent) -> Result<()> {
        self.audit.record(event).context("the run could not be recorded in the audit log")
    }

    /// Records that `protocol` failed (only that, never the error's text, which may quote a
    /// field) and returns the error; a failure to record is added to it.
    fn failed(&self, protocol: &str, error: anyhow::Error) -> anyhow::Error {
        if error.chain().any(|c| c.to_string().contains("could not be recorded")) {
            return error;
        }
        match self.audit.record(&self.event(protocol, "failed")) {
            Ok(()) => error,
            Err(audit) => error.context(format!("and the failure could not be recorded: {audit}")),
        }
    }
}

fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut secret = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    if secret.ends_with(b"\n") {
        secret.pop();
        if secret.ends_with(b"\r") {
            secret.pop();
        }
    }
    Ok(secret)
}

fn encode(
    schema: &Path,
    secret: &Path,
    data: &Path,
    delimiter: char,
    output: Option<&Path>,
    run: Run<'_>,
) -> Result<()> {
    let schema_text = std::fs::read_to_string(schema)
        .with_context(|| format!("cannot read {}", schema.display()))?;
    let encoder = Encoder::new(&schema_text, &read_secret(secret)?)?;
    let records = read_records(&encoder, data, delimiter)?;
    let file = encoder.encode_all(&records)?;
    let event = run
        .event("pprl_encode", "completed")
        .with_detail("schema_fingerprint", file.schema.clone())
        .with_detail("level", level_name(file.level))
        .with_detail("filter_bits", file.bits as u64)
        .with_detail("features", file.features.clone())
        .with_detail("records", records.len() as u64);
    run.record(&event)?;
    write_output(output, &format!("{}\n", file.to_json()))?;
    eprintln!("medi-privacy: encoded {} records from {}", records.len(), data.display());
    Ok(())
}

/// The CSV rows, reordered to the schema's feature order (ignored features left empty).
fn read_records(encoder: &Encoder, data: &Path, delimiter: char) -> Result<Vec<Vec<String>>> {
    let mut reader = csv_reader(data, delimiter)?;
    let headers = reader.headers().context("cannot read the header row")?.clone();
    let columns: Vec<Option<usize>> = encoder
        .schema()
        .features
        .iter()
        .map(|f| {
            let found = headers.iter().position(|h| h == f.identifier);
            match (found, &f.encoding) {
                (None, Some(_)) => Err(anyhow!("the data has no column {:?}", f.identifier)),
                (found, _) => Ok(found),
            }
        })
        .collect::<Result<_>>()?;
    reader
        .records()
        .enumerate()
        .map(|(row, record)| {
            let record = record.with_context(|| format!("row {} is not valid csv", row + 2))?;
            Ok(columns
                .iter()
                .map(|c| c.and_then(|c| record.get(c)).unwrap_or_default().to_owned())
                .collect())
        })
        .collect()
}

fn link_files(
    a: &Path,
    b: &Path,
    threshold: f64,
    blocking: Option<LshBlocking>,
    output: Option<&Path>,
    run: Run<'_>,
) -> Result<()> {
    let read = |path: &Path| -> Result<EncodingFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        EncodingFile::from_json(&text)
            .with_context(|| format!("{} is not an encoding file", path.display()))
    };
    let (a, b) = (read(a)?, read(b)?);
    if !(threshold > 0.0 && threshold <= 1.0) {
        bail!("--threshold must lie in (0, 1]");
    }
    let matches = link(&a, &b, threshold, blocking)?;
    let blocking_text = match blocking {
        Some(l) => format!("lsh: {} bands of {} bits", l.bands, l.bits_per_band),
        None => "none (every pair compared)".to_owned(),
    };
    let event = run
        .event("pprl_match", "completed")
        .with_detail("schema_fingerprint", a.schema.clone())
        .with_detail("level", level_name(a.level))
        .with_detail("threshold", threshold)
        .with_detail("blocking", blocking_text)
        .with_detail("records_a", a.encodings.len() as u64)
        .with_detail("records_b", b.encodings.len() as u64)
        .with_detail("links", matches.len() as u64);
    run.record(&event)?;
    let mut text = String::from("a,b,similarity\n");
    for m in &matches {
        text.push_str(&format!("{},{},{:.4}\n", m.a, m.b, m.similarity));
    }
    write_output(output, &text)?;
    eprintln!(
        "medi-privacy: {} links between {} and {} records",
        matches.len(),
        a.encodings.len(),
        b.encodings.len()
    );
    Ok(())
}

fn level_name(level: privacy_mpc::pprl::schema::EncodingLevel) -> &'static str {
    match level {
        privacy_mpc::pprl::schema::EncodingLevel::Record => "record",
        privacy_mpc::pprl::schema::EncodingLevel::Field => "field",
    }
}
