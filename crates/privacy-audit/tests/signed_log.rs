//! Signed checkpoints, group commit, recovery from a torn tail, proof bundles and bad input: the
//! second integration test of the audit log.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use privacy_audit::proof::{check_consistency, check_inclusion, LogTree};
use privacy_audit::{
    default_checkpoint_path, verify_bytes, verify_with, AuditError, AuditLog, AuditLogOptions,
    AuditSigningKey, AuditVerifyingKey, ChainProblem, SignatureCheck, VerifyOptions,
};
use privacy_core::{AuditEvent, AuditEventKind};
use tempfile::TempDir;

fn event(n: usize) -> AuditEvent {
    AuditEvent::new(AuditEventKind::Release, format!("analyst-{n}"))
        .with_dataset("icu")
        .with_detail("mechanism", "discrete_laplace")
        .with_detail("query", format!("count #{n}"))
}

struct Signed {
    _dir: TempDir,
    path: PathBuf,
    secret: PathBuf,
    public: AuditVerifyingKey,
}

impl Signed {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditSigningKey::generate().unwrap();
        let secret = dir.path().join("audit.key.pem");
        key.write(&secret).unwrap();
        let public = key.verifying_key();
        Self { path: dir.path().join("audit.jsonl"), _dir: dir, secret, public }
    }

    fn options(&self, every: u64) -> AuditLogOptions {
        let key = AuditSigningKey::read(&self.secret).unwrap();
        AuditLogOptions::default().signing_key(key).checkpoint_every(every).unwrap()
    }

    /// Appends `n` events one at a time, checkpointing every `every`, then closes.
    fn write(&self, n: usize, every: u64) {
        let log = AuditLog::open_with(&self.path, self.options(every)).unwrap();
        for i in 0..n {
            log.append(&event(i)).unwrap();
        }
        log.close().unwrap();
    }

    fn verify(&self, key: Option<AuditVerifyingKey>) -> privacy_audit::Verification {
        let options = VerifyOptions { public_key: key, ..VerifyOptions::default() };
        verify_with(&self.path, &options).unwrap()
    }

    fn checkpoints(&self) -> PathBuf {
        default_checkpoint_path(&self.path)
    }
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap().lines().map(|l| format!("{l}\n")).collect()
}

#[test]
fn checkpoints_are_signed_at_the_interval_and_on_close_and_verify() {
    let log = Signed::new();
    log.write(10, 4);
    let sizes: Vec<u64> = lines(&log.checkpoints())
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [4, 8, 10]);
    let report = log.verify(Some(log.public));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 10);
    assert_eq!(report.checkpoints.signatures, SignatureCheck::Verified);
    assert_eq!(report.checkpoints.latest_size, Some(10));
    assert_eq!(report.checkpoints.unsigned_entries, 0);
    // Closing again without new entries signs nothing new.
    drop(AuditLog::open_with(&log.path, log.options(4)).unwrap());
    assert_eq!(lines(&log.checkpoints()).len(), 3);
}

#[test]
fn a_truncated_tail_is_reported_from_the_latest_checkpoint() {
    let log = Signed::new();
    log.write(6, 100);
    let all = lines(&log.path);
    fs::write(&log.path, all[..4].concat()).unwrap();
    let report = log.verify(Some(log.public));
    assert_eq!(report.problems, [ChainProblem::Truncated { signed_size: 6, entries: 4 }]);
    // Without the key the sizes are still compared.
    let unsigned = log.verify(None);
    assert_eq!(unsigned.checkpoints.signatures, SignatureCheck::NotChecked);
    assert_eq!(unsigned.problems, [ChainProblem::Truncated { signed_size: 6, entries: 4 }]);
}

#[test]
fn a_rewritten_log_with_a_valid_chain_fails_its_checkpoint() {
    let log = Signed::new();
    log.write(5, 100);
    // Rewrite the whole log with other events: a valid chain, but not the signed one.
    let checkpoints = fs::read(log.checkpoints()).unwrap();
    fs::remove_file(&log.path).unwrap();
    let forger = AuditLog::open(&log.path).unwrap();
    for i in 0..5 {
        forger.append(&event(100 + i)).unwrap();
    }
    drop(forger);
    fs::write(log.checkpoints(), checkpoints).unwrap();
    let report = log.verify(Some(log.public));
    assert_eq!(report.problems, [ChainProblem::CheckpointMismatch { checkpoint_line: 1, size: 5 }]);
}

#[test]
fn bad_signatures_wrong_keys_and_missing_checkpoints_are_reported() {
    let log = Signed::new();
    log.write(3, 100);
    let other = AuditSigningKey::generate().unwrap().verifying_key();
    let wrong = log.verify(Some(other));
    assert!(matches!(
        wrong.problems[0],
        ChainProblem::WrongKey { checkpoint_line: 1, size: 3, .. }
    ));
    assert!(matches!(wrong.problems[1], ChainProblem::Unsigned { entries: 3 }));
    assert_eq!(wrong.checkpoints.signatures, SignatureCheck::Failed);
    let text = fs::read_to_string(log.checkpoints()).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    value["time"] = "2030-01-01T00:00:00Z".into();
    fs::write(log.checkpoints(), format!("{value}\n")).unwrap();
    let forged = log.verify(Some(log.public));
    assert_eq!(forged.problems[0], ChainProblem::BadSignature { checkpoint_line: 1, size: 3 });
    fs::remove_file(log.checkpoints()).unwrap();
    let missing = log.verify(Some(log.public));
    assert_eq!(missing.problems, [ChainProblem::Unsigned { entries: 3 }]);
    assert!(!missing.checkpoints.found);
}

#[test]
fn a_torn_checkpoint_line_is_reported() {
    let log = Signed::new();
    log.write(2, 100);
    let mut file = fs::OpenOptions::new().append(true).open(log.checkpoints()).unwrap();
    file.write_all(b"{\"v\":1,\"origin\"").unwrap();
    let report = log.verify(Some(log.public));
    assert!(matches!(
        &report.problems[..],
        [ChainProblem::CheckpointMalformed { checkpoint_line: 2, .. }]
    ));
}

#[test]
fn many_threads_appending_share_group_commits_and_keep_one_chain() {
    let log = Signed::new();
    let shared = Arc::new(AuditLog::open_with(&log.path, log.options(50)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..25 {
                    seqs.push(shared.append(&event(t * 100 + i)).unwrap().seq);
                }
                let batch: Vec<_> = (0..5).map(|i| event(t * 100 + 50 + i)).collect();
                let receipts = shared.append_batch(&batch).unwrap();
                let batch_seqs: Vec<u64> = receipts.iter().map(|r| r.seq).collect();
                assert!(batch_seqs.windows(2).all(|w| w[1] == w[0] + 1), "a batch is contiguous");
                seqs.extend(batch_seqs);
                seqs
            })
        })
        .collect();
    let mut all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=240).collect::<Vec<u64>>(), "every append got its own seq");
    Arc::try_unwrap(shared).unwrap().close().unwrap();
    let report = log.verify(Some(log.public));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.entries, report.checkpoints.latest_size), (240, Some(240)));
}

#[test]
fn recovery_moves_a_torn_tail_aside_and_records_it() {
    let log = Signed::new();
    log.write(3, 100);
    let intact = fs::read(&log.path).unwrap();
    let mut torn = intact.clone();
    torn.extend_from_slice(b"{\"v\":2,\"seq\":4,\"ti");
    fs::write(&log.path, &torn).unwrap();
    assert!(matches!(
        AuditLog::open(&log.path),
        Err(AuditError::Chain(ChainProblem::TornTail { .. }))
    ));
    let moved = AuditLog::recover(&log.path, "ops", log.options(100)).unwrap().unwrap();
    assert_eq!(fs::read(&moved).unwrap(), b"{\"v\":2,\"seq\":4,\"ti");
    let report = log.verify(Some(log.public));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 4);
    let last = lines(&log.path).pop().unwrap();
    assert!(last.contains("\"kind\":\"log_maintenance\"") && last.contains("torn_sha256"));
    // An intact log needs no recovery, and other damage is refused.
    assert_eq!(AuditLog::recover(&log.path, "ops", log.options(100)).unwrap(), None);
    let mut all = lines(&log.path);
    all.remove(1);
    fs::write(&log.path, all.concat()).unwrap();
    assert!(AuditLog::recover(&log.path, "ops", log.options(100)).is_err());
}

#[test]
fn proof_bundles_verify_offline_with_the_public_key() {
    let log = Signed::new();
    log.write(13, 5);
    let tree = LogTree::open(&log.path).unwrap();
    assert_eq!(tree.size(), 13);
    let size = tree.checkpointed_size(7).unwrap();
    assert_eq!(size, 10);
    let bundle = tree.inclusion(7, size).unwrap();
    let json = serde_json::to_string(&bundle).unwrap();
    let bundle: privacy_audit::proof::InclusionBundle = serde_json::from_str(&json).unwrap();
    assert!(check_inclusion(&bundle, Some(&log.public)).unwrap().signed);
    let mut forged = bundle.clone();
    forged.entry = forged.entry.replace("analyst-6", "analyst-9");
    assert!(check_inclusion(&forged, Some(&log.public)).is_err());
    let consistency = tree.consistency(5, 13).unwrap();
    assert!(check_consistency(&consistency, Some(&log.public)).unwrap().signed);
    let other = AuditSigningKey::generate().unwrap().verifying_key();
    assert!(check_consistency(&consistency, Some(&other)).is_err());
    let mut bent = consistency;
    bent.proof.swap(0, 1);
    assert!(check_consistency(&bent, None).is_err());
}

#[test]
fn bad_input_gives_problems_or_typed_errors_never_a_panic() {
    let options = VerifyOptions::default();
    let empty = verify_bytes(b"", None, &options).unwrap();
    assert!(empty.is_ok() && empty.entries == 0);
    for junk in [&b"\xff\xfe\n"[..], b"{}\n", b"[]\n", b"{\"v\":3,\"x\":1}\n", b"\n\n", b"null\n"] {
        let report = verify_bytes(junk, Some(junk), &options).unwrap();
        assert!(!report.is_ok(), "{junk:?} passed");
    }
    let unknown = verify_bytes(b"{\"v\":3,\"seq\":1}\n", None, &options).unwrap();
    assert_eq!(unknown.problems, [ChainProblem::UnknownVersion { line: 1, version: 3 }]);
    let dir = tempfile::tempdir().unwrap();
    let missing = verify_with(dir.path().join("none.jsonl"), &options);
    assert!(matches!(missing, Err(AuditError::Io(_))));
    assert!(matches!(
        AuditVerifyingKey::read(dir.path().join("none.pem")),
        Err(AuditError::Key(_))
    ));
    assert!(matches!(
        AuditLogOptions::default().origin("two\nlines"),
        Err(AuditError::InvalidOption(_))
    ));
}

/// A signed log of a few entries and its checkpoint file, as bytes.
fn signed_bytes() -> &'static (Vec<u8>, Vec<u8>) {
    static BYTES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let log = Signed::new();
        log.write(5, 2);
        (fs::read(&log.path).unwrap(), fs::read(log.checkpoints()).unwrap())
    })
}

proptest::proptest! {
    /// What the fuzz target `audit_verify` checks, on random edits of a real signed log: the
    /// verifier always returns a report, and a clean report means every line reads back.
    #[test]
    fn any_edit_of_log_or_checkpoints_gives_a_report_never_a_panic(
        at in proptest::prelude::any::<proptest::sample::Index>(),
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        in_checkpoints in proptest::prelude::any::<bool>(),
        cut in proptest::prelude::any::<bool>(),
    ) {
        let (mut log, mut checkpoints) = signed_bytes().clone();
        let target = if in_checkpoints { &mut checkpoints } else { &mut log };
        let at = at.index(target.len());
        if cut {
            target.truncate(at);
        } else {
            target.splice(at..(at + bytes.len()).min(target.len()), bytes.iter().copied());
        }
        let report = verify_bytes(&log, Some(&checkpoints), &VerifyOptions::default()).unwrap();
        let read = privacy_audit::read::read_entries_from(log.as_slice()).unwrap();
        if report.is_ok() {
            proptest::prop_assert_eq!(read.entries.len() as u64, report.entries);
        }
        if !in_checkpoints && log != signed_bytes().0 {
            // Any change to the log itself, a cut included, is detected: the latest checkpoint
            // covers every entry.
            proptest::prop_assert!(!report.is_ok());
        }
    }
}
