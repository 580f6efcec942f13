//! A quick, dependency-light measurement of the audit log's speed, for machines where building
//! the criterion benchmarks (which pull in polars) is too slow: synced appends one at a time, in
//! batches and from many threads; verifying a 1,000,000-entry log; inclusion proofs. The
//! criterion benchmark `benches/benches/audit.rs` measures the same operations properly.
//!
//! `cargo run --release -p privacy-audit --example audit_speed [DIR]` (DIR defaults to
//! `target/audit-speed`; it must be on the disk to be measured, not a RAM disk).

#![allow(clippy::print_stdout, clippy::unwrap_used, reason = "a measurement program")]

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use privacy_audit::compliance::ProjectDescription;
use privacy_audit::merkle::{leaf_hash, verify_inclusion, MerkleTree};
use privacy_audit::report::digest::{LogDigest, ReportLimits};
use privacy_audit::report::{self, ReportInputs};
use privacy_audit::{verify_with, AuditLog, VerifyOptions};
use privacy_core::{AuditEvent, AuditEventKind, EpsilonAmount, GuaranteeRecord, PrivacyGuarantee};

fn release(n: u64) -> AuditEvent {
    let epsilon = EpsilonAmount::from_units(100_000_000_000);
    let mut event = AuditEvent::new(AuditEventKind::Release, format!("analyst-{}", n % 7))
        .with_dataset("icu-2025")
        .with_detail("query", "mean(age, 17, 90)")
        .with_detail("mechanism", "discrete_laplace")
        .with_detail("epsilon", 0.1)
        .with_detail("noise_scale", 7.3)
        .with_detail("released_value", 38.5 + (n % 100) as f64 / 10.0)
        .with_detail("ci95", vec![36.1, 41.0]);
    event.guarantee = PrivacyGuarantee::pure(epsilon).map(GuaranteeRecord::from).ok();
    event
}

/// This process's CPU time (user + system, all threads) in seconds, from `/proc/self/stat`
/// (Linux; 0 elsewhere): on a machine shared with other work, wall time measures the share of
/// the CPU the process got as much as the code, so both are printed.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn rate(what: &str, n: u64, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    println!("{what}: {n} in {seconds:.3} s = {:.0}/s", n as f64 / seconds);
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "target/audit-speed".into());
    std::fs::create_dir_all(&dir).unwrap();
    let dir = tempfile::tempdir_in(dir).unwrap();
    let log = Arc::new(AuditLog::open(dir.path().join("a.jsonl")).unwrap());

    // The disk's floor, interleaved with ours: a raw write + fdatasync of a line of the same
    // length, against `AuditLog::append`, in alternating rounds (the disk is shared and its
    // latency drifts, so only rounds run back to back compare).
    let line_len = {
        log.append(&release(0)).unwrap();
        std::fs::metadata(log.path()).unwrap().len() as usize
    };
    let mut raw = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.path().join("raw.bin"))
        .unwrap();
    let line = vec![b'x'; line_len];
    let (mut ours, mut floor) = (0.0, 0.0);
    let rounds = 5;
    for round in 0..rounds {
        let start = Instant::now();
        for _ in 0..100 {
            raw.write_all(&line).unwrap();
            raw.sync_data().unwrap();
        }
        floor += start.elapsed().as_secs_f64();
        let start = Instant::now();
        for i in 0..100 {
            log.append(&release(round * 100 + i)).unwrap();
        }
        ours += start.elapsed().as_secs_f64();
    }
    let n = f64::from(rounds as u32) * 100.0;
    println!(
        "synced appends, one at a time: {:.3} ms each = {:.0}/s; raw write+fdatasync of a \
         {line_len}-byte line: {:.3} ms = {:.0}/s; ratio {:.2}",
        ours / n * 1e3,
        n / ours,
        floor / n * 1e3,
        n / floor,
        ours / floor
    );

    let batch: Vec<AuditEvent> = (0..1000).map(release).collect();
    let start = Instant::now();
    for _ in 0..20 {
        log.append_batch(&batch).unwrap();
    }
    rate("synced appends, batches of 1000", 20_000, start);

    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..64 {
            let log = Arc::clone(&log);
            s.spawn(move || {
                for i in 0..50 {
                    log.append(&release(t * 50 + i)).unwrap();
                }
            });
        }
    });
    rate("synced appends, 64 threads one at a time (group commit)", 3200, start);

    let path = dir.path().join("million.jsonl");
    let big = AuditLog::open(&path).unwrap();
    let batch: Vec<AuditEvent> = (0..10_000).map(release).collect();
    let start = Instant::now();
    for _ in 0..100 {
        big.append_batch(&batch).unwrap();
    }
    rate("writing the 1,000,000-entry log in batches of 10,000", 1_000_000, start);
    drop(big);
    let size = std::fs::metadata(&path).unwrap().len();
    for _ in 0..3 {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let report = verify_with(&path, &VerifyOptions::default()).unwrap();
        assert!(report.is_ok() && report.entries == 1_000_000);
        println!(
            "verify 1,000,000 entries ({} MB): {:.3} s wall, {:.2} s CPU",
            size / 1_000_000,
            start.elapsed().as_secs_f64(),
            cpu_seconds() - cpu
        );
    }

    // The report's pass over the log: the streaming digest, then rendering (latest 200 rows per
    // table, thinned series); run it under `/usr/bin/time -v` for its peak memory.
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let inputs = ReportInputs {
        log_name: "million.jsonl".into(),
        verification: verify_with(&path, &VerifyOptions::default()).unwrap(),
        log: LogDigest::read(&path, ReportLimits::default()).unwrap(),
        ledger: None,
        jobs: Vec::new(),
        project: ProjectDescription::default(),
        safe_harbor: Vec::new(),
        risks: Vec::new(),
    };
    let rendered = report::render(&inputs).unwrap();
    println!(
        "report of the 1,000,000-entry log (verify + digest + render): {:.3} s wall, {:.2} s \
         CPU, HTML {} kB",
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        rendered.html.len() / 1000
    );

    let (start, cpu) = (Instant::now(), cpu_seconds());
    let log_tree = privacy_audit::proof::LogTree::open(&path).unwrap();
    let opened = start.elapsed().as_secs_f64();
    let opened_cpu = cpu_seconds() - cpu;
    let start = Instant::now();
    for k in 0..1000u64 {
        let seq = (k * 7919) % 1_000_000 + 1;
        log_tree.inclusion(seq, 1_000_000).unwrap();
    }
    println!(
        "audit prove's path on the 1,000,000-entry log: open (verify + tree) {opened:.3} s \
         wall, {opened_cpu:.2} s CPU, then {:.1} µs per inclusion bundle",
        start.elapsed().as_secs_f64() / 1000.0 * 1e6
    );

    let tree = MerkleTree::from_leaves((0..1_000_000u64).map(|i| leaf_hash(&i.to_le_bytes())));
    let root = tree.root_at(1_000_000).unwrap();
    let start = Instant::now();
    for k in 0..10_000u64 {
        let index = (k * 7919) % 1_000_000;
        let path = tree.inclusion_proof(index, 1_000_000).unwrap();
        verify_inclusion(&tree.leaf(index).unwrap(), index, 1_000_000, &path, &root).unwrap();
    }
    println!(
        "inclusion proof in a 1,000,000-entry tree, made and checked: {:.1} µs each",
        start.elapsed().as_secs_f64() / 10_000.0 * 1e6
    );
}
