//! What the secure-computation commands share: TLS identity options, the audit sink, reading
//! one CSV column, and the listening announcement.
//!
//! Every networked command authenticates with a certificate of the research network (see
//! `medi-privacy certs init` and `privacy_mpc::transport::certs` for how parties recognise each
//! other) and reports the protocol run to `--audit-log` when given.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use privacy_core::{AuditSink, NullAuditSink};
use privacy_mpc::transport::{TlsIdentity, TlsOptions};

/// Who this party is on the network.
#[derive(Args, Clone)]
pub(crate) struct TlsArgs {
    /// This party's name, as its certificate states it (e.g. hospital-a).
    #[arg(long)]
    pub(crate) name: String,
    /// This party's certificate (PEM).
    #[arg(long)]
    pub(crate) cert: PathBuf,
    /// This party's private key (PEM).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The network's CA certificate (PEM).
    #[arg(long)]
    pub(crate) ca: PathBuf,
    /// Seconds to wait for the other parties to connect.
    #[arg(long, default_value_t = 300)]
    pub(crate) setup_timeout: u64,
    /// Seconds to wait for one protocol message.
    #[arg(long, default_value_t = 300)]
    pub(crate) message_timeout: u64,
}

impl TlsArgs {
    pub(crate) fn identity(&self) -> Result<TlsIdentity> {
        TlsIdentity::from_pem_files(&self.name, &self.cert, &self.key, &self.ca)
            .context("cannot load this party's tls identity")
    }

    pub(crate) fn options(&self) -> TlsOptions {
        TlsOptions {
            message_timeout: Duration::from_secs(self.message_timeout),
            setup_timeout: Duration::from_secs(self.setup_timeout),
        }
    }
}

/// Which column of which CSV file.
#[derive(Args, Clone)]
pub(crate) struct ColumnArgs {
    /// The CSV file (with a header row).
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// The column to use.
    #[arg(long)]
    pub(crate) column: String,
    /// The CSV delimiter (one ASCII character).
    #[arg(long, default_value = ",")]
    pub(crate) delimiter: char,
}

/// The audit log and principal.
#[derive(Args, Clone)]
pub(crate) struct AuditArgs {
    /// Append the protocol run (metadata only) to this audit log.
    #[arg(long)]
    pub(crate) audit_log: Option<PathBuf>,
    /// Who runs the protocol here (recorded in the audit log).
    #[arg(long, env = "USER", default_value = "analyst")]
    pub(crate) principal: String,
}

impl AuditArgs {
    pub(crate) fn sink(&self) -> Result<Box<dyn AuditSink>> {
        Ok(match &self.audit_log {
            // Through the CLI's one opener, so checkpoints are signed with the operator's key.
            Some(path) => Box::new(crate::audit::open_log(path)?),
            None => Box::new(NullAuditSink),
        })
    }
}

/// Opens a CSV reader with the given delimiter, trimming headers and values.
pub(crate) fn csv_reader(path: &Path, delimiter: char) -> Result<csv::Reader<std::fs::File>> {
    let delimiter = u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| anyhow!("the delimiter must be one ASCII character"))?;
    // Values are trimmed: "a, b" files are common, and surrounding blanks never carry meaning
    // for identifiers, numbers or the linkage fields.
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// The values of one column, in row order.
pub(crate) fn read_column(args: &ColumnArgs) -> Result<Vec<String>> {
    let mut reader = csv_reader(&args.data, args.delimiter)?;
    let headers = reader.headers().context("cannot read the header row")?.clone();
    let index = headers
        .iter()
        .position(|h| h == args.column)
        .ok_or_else(|| anyhow!("no column named {:?} in {}", args.column, args.data.display()))?;
    let mut values = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {} is not valid csv", row + 2))?;
        let value = record
            .get(index)
            .ok_or_else(|| anyhow!("row {} has no value for {:?}", row + 2, args.column))?;
        values.push(value.to_owned());
    }
    Ok(values)
}

/// Binds a listener and announces its address on standard error, so a caller that asked for
/// port 0 learns the port.
pub(crate) fn listen(addr: &str) -> Result<TcpListener> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let mut stderr = std::io::stderr();
    writeln!(stderr, "medi-privacy: listening on {local}")?;
    stderr.flush()?;
    Ok(listener)
}

/// Writes `text` to `path`, or to standard output.
pub(crate) fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(())
        }
    }
}
