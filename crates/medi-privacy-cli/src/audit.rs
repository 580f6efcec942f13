//! `medi-privacy audit …`: verify the log, make the signing key, sign a checkpoint, prove one
//! entry or the consistency of two checkpoints, check such a proof, recover from a torn tail;
//! and [`open_log`], through which every command opens the audit log.
//!
//! Signing is configured by the environment rather than by flags on every command, because it
//! is the operator's setting, not the analyst's: `MEDI_PRIVACY_AUDIT_KEY` names the secret key
//! file (PKCS#8 PEM), `MEDI_PRIVACY_AUDIT_CHECKPOINT_EVERY` the checkpoint interval in entries
//! (default 1000), `MEDI_PRIVACY_AUDIT_CHECKPOINT_SECONDS` the longest time between checkpoints
//! while entries are appended (default 300; 0 for entry counts only), `MEDI_PRIVACY_AUDIT_ORIGIN`
//! the log's name in its checkpoints. A checkpoint is also signed when each command closes the
//! log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use privacy_audit::proof::{LogTree, ProofBundle};
use privacy_audit::{
    AuditLog, AuditLogOptions, AuditSigningKey, AuditVerifyingKey, Verification, VerifyOptions,
};
use privacy_core::{AuditEvent, AuditEventKind};
use serde_json::{json, Value};

/// The secret key that signs checkpoints, for every command that writes the log.
pub(crate) const KEY_ENV: &str = "MEDI_PRIVACY_AUDIT_KEY";
const EVERY_ENV: &str = "MEDI_PRIVACY_AUDIT_CHECKPOINT_EVERY";
const SECONDS_ENV: &str = "MEDI_PRIVACY_AUDIT_CHECKPOINT_SECONDS";
const ORIGIN_ENV: &str = "MEDI_PRIVACY_AUDIT_ORIGIN";

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify the hash chain, the Merkle roots and the signed checkpoints; report every entry
    /// that was edited, removed or reordered, a truncated tail and bad signatures.
    Verify {
        /// The audit log (JSON lines).
        #[arg(long)]
        audit_log: PathBuf,
        /// The public key (SPKI PEM) checkpoints must be signed with.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// The checkpoint file (default: the log's path with `.checkpoints` appended); give a
        /// copy kept elsewhere to check the log against it.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Make a new Ed25519 key pair for signing checkpoints; prints the public fingerprint.
    Keygen {
        /// Where to write the secret key (PKCS#8 PEM, mode 0600; never overwritten).
        #[arg(long)]
        secret_key: PathBuf,
        /// Where to write the public key (SPKI PEM).
        #[arg(long)]
        public_key: PathBuf,
        /// Record the key generation in this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
    /// Sign a checkpoint of the log as it is now.
    Checkpoint {
        /// The audit log.
        #[arg(long)]
        audit_log: PathBuf,
        /// The secret key (default: the MEDI_PRIVACY_AUDIT_KEY file).
        #[arg(long)]
        secret_key: Option<PathBuf>,
    },
    /// Print a proof that entry SEQ is in the log (by default, in the smallest signed tree that
    /// holds it), checkable without the log by `audit check-proof`.
    Prove {
        /// The audit log.
        #[arg(long)]
        audit_log: PathBuf,
        /// The entry's sequence number.
        #[arg(long)]
        seq: u64,
        /// The tree size to prove against (default: the smallest checkpointed size ≥ SEQ, else
        /// the whole log).
        #[arg(long)]
        size: Option<u64>,
        /// The checkpoint file whose signed tree heads go into the proof (default: beside the
        /// log).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print a proof that the log at size TO extends the log at size FROM.
    ProveConsistency {
        /// The audit log.
        #[arg(long)]
        audit_log: PathBuf,
        /// The earlier size.
        #[arg(long)]
        from: u64,
        /// The later size (default: the whole log).
        #[arg(long)]
        to: Option<u64>,
        /// The checkpoint file whose signed tree heads go into the proof (default: beside the
        /// log).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Check a proof printed by `audit prove` or `audit prove-consistency`.
    CheckProof {
        /// The proof (JSON).
        #[arg(long)]
        proof: PathBuf,
        /// The public key the tree heads must be signed with.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// After a crash left a torn last line: move it, unchanged, to a file beside the log and
    /// record that in the log. Refuses any other damage.
    Recover {
        /// The audit log.
        #[arg(long)]
        audit_log: PathBuf,
    },
}

/// Opens the audit log with the operator's signing settings from the environment.
pub(crate) fn open_log(path: &Path) -> Result<AuditLog> {
    AuditLog::open_with(path, log_options(None)?)
        .with_context(|| format!("cannot open the audit log {}", path.display()))
}

fn log_options(secret_key: Option<&Path>) -> Result<AuditLogOptions> {
    let mut options = AuditLogOptions::default();
    let from_env = std::env::var_os(KEY_ENV).map(PathBuf::from);
    if let Some(key_path) = secret_key.map(Path::to_owned).or(from_env) {
        let key = AuditSigningKey::read(&key_path)
            .with_context(|| format!("cannot use the signing key {}", key_path.display()))?;
        options = options.signing_key(key);
    }
    if let Ok(every) = std::env::var(EVERY_ENV) {
        let every: u64 = every.parse().map_err(|_| anyhow!("{EVERY_ENV} must be an integer"))?;
        options = options.checkpoint_every(every)?;
    }
    if let Ok(seconds) = std::env::var(SECONDS_ENV) {
        let seconds: u64 =
            seconds.parse().map_err(|_| anyhow!("{SECONDS_ENV} must be a whole number"))?;
        let interval = (seconds > 0).then(|| std::time::Duration::from_secs(seconds));
        options = options.checkpoint_interval(interval);
    }
    if let Ok(origin) = std::env::var(ORIGIN_ENV) {
        options = options.origin(origin)?;
    }
    Ok(options)
}

pub(crate) fn run(command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify { audit_log, public_key, checkpoints, json } => {
            verify(&audit_log, public_key.as_deref(), checkpoints, json)
        }
        AuditCommand::Keygen { secret_key, public_key, audit_log } => {
            keygen(&secret_key, &public_key, audit_log.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { audit_log, secret_key } => {
            let options = log_options(secret_key.as_deref())?;
            let log = AuditLog::open_with(&audit_log, options)?;
            let checkpoint = log.checkpoint_now()?;
            println!("{}", serde_json::to_string_pretty(&checkpoint)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prove { audit_log, seq, size, checkpoints } => {
            let tree = LogTree::open_with(&audit_log, checkpoints.as_deref())?;
            let size = size.or_else(|| tree.checkpointed_size(seq)).unwrap_or(tree.size());
            println!("{}", serde_json::to_string_pretty(&tree.inclusion(seq, size)?)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::ProveConsistency { audit_log, from, to, checkpoints } => {
            let tree = LogTree::open_with(&audit_log, checkpoints.as_deref())?;
            let bundle = tree.consistency(from, to.unwrap_or(tree.size()))?;
            println!("{}", serde_json::to_string_pretty(&bundle)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::CheckProof { proof, public_key } => {
            check_proof(&proof, public_key.as_deref())
        }
        AuditCommand::Recover { audit_log } => recover(&audit_log),
    }
}

fn read_public_key(path: Option<&Path>) -> Result<Option<AuditVerifyingKey>> {
    path.map(|p| AuditVerifyingKey::read(p).with_context(|| format!("cannot use {}", p.display())))
        .transpose()
}

/// `audit verify` without a key, printed as text (for the demo).
pub(crate) fn verify_and_print(path: &Path) -> Result<ExitCode> {
    verify(path, None, None, false)
}

/// `audit verify`: exit 0 when everything holds, 1 with every problem otherwise.
fn verify(
    path: &Path,
    public_key: Option<&Path>,
    checkpoints: Option<PathBuf>,
    as_json: bool,
) -> Result<ExitCode> {
    let options = VerifyOptions {
        public_key: read_public_key(public_key)?,
        checkpoints,
        ..VerifyOptions::default()
    };
    let report = privacy_audit::verify_with(path, &options)?;
    if as_json {
        println!("{}", verify_json(&report)?);
    } else {
        print!("{}", verify_text(&report));
    }
    Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The JSON of `audit verify`: `ok`, `entries`, `last_hash` and (when not ok) `problem`, the
/// first problem, as before signed checkpoints; plus `root`, `checkpoints` and `problems`.
fn verify_json(report: &Verification) -> Result<Value> {
    let mut value = json!({
        "ok": report.is_ok(),
        "entries": report.entries,
        "last_hash": report.last_hash,
        "root": report.root,
        "checkpoints": report.checkpoints,
        "problems": report.problems,
    });
    if let Some(first) = report.problems.first() {
        value["problem"] = serde_json::to_value(first)?;
    }
    Ok(value)
}

fn verify_text(report: &Verification) -> String {
    let mut out = String::new();
    match report.problems.split_first() {
        None => out.push_str(&format!(
            "ok: {} entries, hash chain intact, last hash {}\n",
            report.entries, report.last_hash
        )),
        Some((first, rest)) => {
            out.push_str(&format!("TAMPERED: {first}\n"));
            for problem in rest {
                out.push_str(&format!("  also: {problem}\n"));
            }
        }
    }
    out.push_str(&format!("merkle root {} over {} entries\n", report.root, report.entries));
    let c = &report.checkpoints;
    let latest = match (c.latest_size, &c.latest_time) {
        (Some(size), Some(time)) => format!(", latest at size {size} signed {time}"),
        _ => String::new(),
    };
    out.push_str(&format!("checkpoints: {} in {}{latest}\n", c.count, c.file));
    out.push_str(&match (&c.key, c.signatures) {
        (Some(key), privacy_audit::SignatureCheck::Verified) => {
            format!("signatures: verified with key {key}\n")
        }
        (Some(key), _) => format!("signatures: FAILED with key {key}\n"),
        (None, _) => "signatures: not checked (give --public-key)\n".to_owned(),
    });
    if c.unsigned_entries > 0 {
        out.push_str(&format!(
            "{} entries after the latest checkpoint are not yet signed\n",
            c.unsigned_entries
        ));
    }
    out
}

fn keygen(secret: &Path, public: &Path, audit_log: Option<&Path>) -> Result<()> {
    if secret.exists() || public.exists() {
        bail!("refusing to overwrite an existing key file");
    }
    let log = audit_log.map(open_log).transpose()?;
    let key = AuditSigningKey::generate()?;
    key.write(secret).with_context(|| format!("cannot write {}", secret.display()))?;
    key.verifying_key()
        .write(public)
        .with_context(|| format!("cannot write {}", public.display()))?;
    if let Some(log) = log {
        let event = AuditEvent::new(AuditEventKind::KeyGeneration, crate::principal())
            .with_detail("algorithm", "ed25519")
            .with_detail("purpose", "audit_checkpoints")
            .with_detail("key_fingerprint", key.fingerprint());
        log.append(&event)?;
    }
    println!(
        "key {} written: secret {}, public {}",
        key.fingerprint(),
        secret.display(),
        public.display()
    );
    Ok(())
}

fn check_proof(path: &Path, public_key: Option<&Path>) -> Result<ExitCode> {
    let key = read_public_key(public_key)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the proof {}", path.display()))?;
    let bundle = ProofBundle::from_json(&text)?;
    let what = bundle.claim();
    match bundle.check(key.as_ref()) {
        Ok(check) if check.signed => println!("ok: {what} (signed tree heads)"),
        Ok(_) => println!("ok: {what} (tree heads NOT signed or not checked: give --public-key)"),
        Err(error) => {
            println!("INVALID: {error}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn recover(path: &Path) -> Result<ExitCode> {
    match AuditLog::recover(path, &crate::principal(), log_options(None)?)? {
        Some(moved) => println!(
            "the torn last line was moved to {} and the recovery recorded in the log",
            moved.display()
        ),
        None => println!("nothing to recover: the log ends with a complete entry"),
    }
    Ok(ExitCode::SUCCESS)
}
