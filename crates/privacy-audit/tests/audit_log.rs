//! Integration tests of the audit log: appending and verifying, reopening, every kind of
//! tampering the verifier names, concurrent writers, and a property test that any single-byte
//! change is detected.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;

use privacy_audit::{verify, AuditError, AuditLog, ChainProblem, GENESIS_PREV};
use privacy_core::{
    AuditEvent, AuditEventKind, AuditSink, CoreError, EpsilonAmount, GuaranteeRecord,
    PrivacyGuarantee,
};
use proptest::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn event(n: usize) -> AuditEvent {
    let epsilon = EpsilonAmount::parse_decimal("0.1").unwrap();
    AuditEvent::new(AuditEventKind::Release, format!("analyst-{n}"))
        .with_dataset("icu")
        .with_guarantee(GuaranteeRecord::from(PrivacyGuarantee::pure(epsilon).unwrap()))
        .with_detail("mechanism", "laplace")
        .with_detail("query", format!("count #{n}"))
}

/// A log of `n` release events in a fresh directory.
fn log_with(n: usize) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    for i in 1..=n {
        log.append(&event(i)).unwrap();
    }
    (dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn problem(path: &Path) -> ChainProblem {
    match verify(path) {
        Err(AuditError::Chain(problem)) => problem,
        other => panic!("expected a chain problem, got {other:?}"),
    }
}

#[test]
fn appended_entries_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let receipts: Vec<_> = (1..=5).map(|i| log.append(&event(i)).unwrap()).collect();
    assert_eq!(receipts.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let report = verify(&path).unwrap();
    assert_eq!(report.entries, 5);
    assert_eq!(report.last_hash, receipts[4].hash);
    let first: Value = serde_json::from_str(&lines(&path)[0]).unwrap();
    assert_eq!(first["prev"], GENESIS_PREV);
    assert_eq!(first["seq"], 1);
}

/// Released values are arbitrary `f64`s; the verifier re-serializes what it parses, so every
/// float must survive a JSON round trip bit for bit (serde_json's `float_roundtrip`). Without
/// it, values such as these are parsed one ulp off and an untouched log fails verification.
#[test]
fn arbitrary_floats_survive_verification_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let floats = [14.077440597635416, 14.193955194821875, 0.010984182776801407, 1e-300, 5e-324];
    for (i, x) in floats.iter().enumerate() {
        let event = event(i).with_detail("released_value", *x).with_detail("ci95", vec![-x, *x]);
        log.append(&event).unwrap();
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..200 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state >> 2);
        if x.is_finite() {
            log.append(&event(i).with_detail("released_value", x)).unwrap();
        }
    }
    drop(log);
    let report = verify(&path).unwrap();
    assert!(report.entries > 100);
    AuditLog::open(&path).unwrap().append(&event(0)).unwrap();
    assert_eq!(verify(&path).unwrap().entries, report.entries + 1);
}

#[test]
fn an_empty_log_verifies_with_the_genesis_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    drop(AuditLog::open(&path).unwrap());
    let report = verify(&path).unwrap();
    assert_eq!((report.entries, report.last_hash.as_str()), (0, GENESIS_PREV));
}

#[test]
fn reopening_continues_the_chain() {
    let (_dir, path) = log_with(2);
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.append(&event(3)).unwrap().seq, 3);
    drop(log);
    let report = verify(&path).unwrap();
    assert_eq!(report.entries, 3);
    let third: Value = serde_json::from_str(&lines(&path)[2]).unwrap();
    let second: Value = serde_json::from_str(&lines(&path)[1]).unwrap();
    assert_eq!(third["prev"], second["hash"]);
}

#[test]
fn the_log_holds_exactly_the_event_fields() {
    let (_dir, path) = log_with(1);
    let entry: Value = serde_json::from_str(&lines(&path)[0]).unwrap();
    let mut keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["event", "hash", "prev", "seq", "time", "v"]);
    assert!(lines(&path)[0].starts_with("{\"v\":2,\"seq\":1,"));
    assert_eq!(entry["event"], serde_json::to_value(event(1)).unwrap());
    let back: AuditEvent = serde_json::from_value(entry["event"].clone()).unwrap();
    assert_eq!(back, event(1));
    let time = entry["time"].as_str().unwrap();
    assert!(time.contains('T') && time.ends_with('Z'), "not RFC 3339 UTC: {time}");
}

#[test]
fn an_edited_value_is_reported_at_its_line() {
    let (_dir, path) = log_with(5);
    let mut all = lines(&path);
    all[2] = all[2].replace("analyst-3", "analyst-9");
    write_lines(&path, &all);
    assert_eq!(problem(&path), ChainProblem::Edited { seq: 3, line: 3 });
}

#[test]
fn a_removed_line_is_reported_where_the_gap_is() {
    let (_dir, path) = log_with(5);
    let mut all = lines(&path);
    all.remove(1);
    write_lines(&path, &all);
    let expected = ChainProblem::Removed { expected_seq: 2, found_seq: 3, line: 2 };
    assert_eq!(problem(&path), expected);
}

#[test]
fn swapped_lines_are_reported_as_reordered() {
    let (_dir, path) = log_with(5);
    let mut all = lines(&path);
    all.swap(1, 2);
    write_lines(&path, &all);
    let expected = ChainProblem::Reordered { expected_seq: 2, found_seq: 3, line: 2 };
    assert_eq!(problem(&path), expected);
}

#[test]
fn a_duplicated_line_is_reported_as_reordered() {
    let (_dir, path) = log_with(3);
    let mut all = lines(&path);
    all.push(all[0].clone());
    write_lines(&path, &all);
    let expected = ChainProblem::Reordered { expected_seq: 4, found_seq: 1, line: 4 };
    assert_eq!(problem(&path), expected);
}

#[test]
fn a_torn_last_line_is_reported_and_the_log_is_not_reopened() {
    let (_dir, path) = log_with(4);
    let bytes = fs::read(&path).unwrap();
    let last_start = bytes[..bytes.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let cut = last_start + (bytes.len() - last_start) / 2;
    fs::write(&path, &bytes[..cut]).unwrap();
    assert_eq!(problem(&path), ChainProblem::TornTail { line: 4 });
    let refused = AuditLog::open(&path).unwrap_err();
    assert!(matches!(refused, AuditError::Chain(ChainProblem::TornTail { line: 4 })));
    // Nothing was repaired: the torn bytes are still there.
    assert_eq!(fs::read(&path).unwrap().len(), cut);
}

#[test]
fn a_missing_final_newline_is_a_torn_tail() {
    let (_dir, path) = log_with(2);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.trim_end()).unwrap();
    assert_eq!(problem(&path), ChainProblem::TornTail { line: 2 });
}

#[test]
fn garbage_is_reported_as_malformed() {
    let (_dir, path) = log_with(2);
    let mut all = lines(&path);
    all.insert(1, "not json".into());
    write_lines(&path, &all);
    assert!(matches!(problem(&path), ChainProblem::Malformed { line: 2, .. }));
    let mut all = lines(&path);
    all[1] = String::new();
    write_lines(&path, &all);
    assert!(matches!(problem(&path), ChainProblem::Malformed { line: 2, .. }));
}

#[test]
fn a_broken_log_refuses_appends_through_the_sink() {
    let (_dir, path) = log_with(3);
    let log = AuditLog::open(&path).unwrap();
    let mut all = lines(&path);
    all.pop();
    write_lines(&path, &all);
    let err = log.append(&event(4)).unwrap_err();
    assert!(matches!(err, AuditError::Shrunk { .. }), "{err}");
    let sink: &dyn AuditSink = &log;
    assert!(matches!(sink.record(&event(4)), Err(CoreError::Audit(_))));
    assert_eq!(lines(&path).len(), 2, "nothing may be appended to a damaged log");
}

#[test]
fn a_writer_verifies_what_another_appended() {
    let (_dir, path) = log_with(2);
    let first = AuditLog::open(&path).unwrap();
    let second = AuditLog::open(&path).unwrap();
    second.append(&event(3)).unwrap();
    let mut all = lines(&path);
    all[2] = all[2].replace("analyst-3", "analyst-7");
    write_lines(&path, &all);
    let err = first.append(&event(4)).unwrap_err();
    assert!(matches!(err, AuditError::Chain(ChainProblem::Edited { seq: 3, line: 3 })), "{err}");
}

#[test]
fn two_handles_interleaving_appends_keep_one_chain() {
    let (_dir, path) = log_with(0);
    let first = AuditLog::open(&path).unwrap();
    let second = AuditLog::open(&path).unwrap();
    let mut seqs = Vec::new();
    for i in 0..6 {
        let log = if i % 3 == 0 { &first } else { &second };
        seqs.push(log.append(&event(i)).unwrap().seq);
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(verify(&path).unwrap().entries, 6);
}

#[test]
fn concurrent_writers_with_their_own_handles_keep_one_chain() {
    let (_dir, path) = log_with(0);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            thread::spawn(move || {
                let log = AuditLog::open(&path).unwrap();
                for i in 0..10 {
                    log.append(&event(w * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(verify(&path).unwrap().entries, 40);
}

/// A small log whose events need escapes (quotes, a control character, non-ASCII text), so the
/// property below also reaches escape sequences.
fn base_log() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.append(&event(1)).unwrap();
        let tricky = AuditEvent::new(AuditEventKind::Refusal, "Zoë \"ops\"")
            .with_detail("reason", "budget\u{1f} exceeded\t")
            .with_detail("limits", serde_json::json!([1.5, -2, null, true]));
        log.append(&tricky).unwrap();
        log.append(&AuditEvent::new(AuditEventKind::BudgetCreated, "admin")).unwrap();
        fs::read(&path).unwrap()
    })
}

proptest! {
    #[test]
    fn any_single_byte_change_is_detected(
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let base = base_log();
        // Every byte but the newlines, which delimit lines rather than belong to their JSON.
        let positions: Vec<usize> = (0..base.len()).filter(|&i| base[i] != b'\n').collect();
        let at = positions[position.index(positions.len())];
        prop_assume!(base[at] != byte);
        let mut changed = base.to_vec();
        changed[at] = byte;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        fs::write(&path, &changed).unwrap();
        let result = verify(&path);
        prop_assert!(matches!(result, Err(AuditError::Chain(_))), "undetected: {:?}", result);
    }
}

#[test]
fn devices_and_endless_lines_are_refused_without_reading_them_whole() {
    assert!(matches!(verify("/dev/zero"), Err(AuditError::NotARegularFile)));
    assert!(matches!(AuditLog::open("/dev/null"), Err(AuditError::NotARegularFile)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::write(&path, vec![b'x'; privacy_audit::MAX_LINE_BYTES + 10]).unwrap();
    assert!(matches!(problem(&path), ChainProblem::Malformed { line: 1, .. }));
    // Within the safeguards' string limit, but too many of them for one line.
    let chunk = "q".repeat(privacy_audit::safeguard::MAX_STRING_CHARS);
    let mut huge = event(1);
    for i in 0..300 {
        huge = huge.with_detail(&format!("query_{i}"), chunk.as_str());
    }
    let (_dir, path) = log_with(1);
    let log = AuditLog::open(&path).unwrap();
    assert!(matches!(log.append(&huge), Err(AuditError::EntryTooLarge(_))));
    let refused = event(1).with_detail("query", "q".repeat(privacy_audit::MAX_LINE_BYTES));
    assert!(matches!(log.append(&refused), Err(AuditError::Forbidden { .. })));
    assert_eq!(verify(&path).unwrap().entries, 1, "nothing was written");
}
