//! `medi-privacy pprl encode|match`: Bloom-filter record linkage files.
//!
//! `encode` runs at each data owner: it reads a CSV file, validates each record against a
//! clkhash-compatible linkage schema, and writes one keyed Bloom-filter encoding per record
//! (`{"clks": [...]}`, as clkhash does). `match` runs at the linkage unit, which never holds
//! the secret: it links two encoding files by Dice similarity, with locality-sensitive
//! blocking, one-to-one, and writes `a,b,similarity` rows (0-based record positions).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use privacy_mpc::pprl::{link, Encoder, EncodingFile, LshBlocking};
use zeroize::Zeroizing;

use crate::mpc_common::{csv_reader, write_output};

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
    },
}

pub(crate) fn run(command: PprlCommand) -> Result<ExitCode> {
    match command {
        PprlCommand::Encode { schema, secret_file, data, delimiter, output } => {
            encode(&schema, &secret_file, &data, delimiter, output.as_deref())?;
        }
        PprlCommand::Match { a, b, threshold, no_blocking, lsh_bands, lsh_bits, output } => {
            let blocking =
                (!no_blocking).then_some(LshBlocking { bands: lsh_bands, bits_per_band: lsh_bits });
            link_files(&a, &b, threshold, blocking, output.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
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
) -> Result<()> {
    let schema_text = std::fs::read_to_string(schema)
        .with_context(|| format!("cannot read {}", schema.display()))?;
    let encoder = Encoder::new(&schema_text, &read_secret(secret)?)?;
    let records = read_records(&encoder, data, delimiter)?;
    let file = encoder.encode_all(&records)?;
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
