//! Audit log speed: synced appends one at a time (beside the disk's floor, a raw `write` +
//! `fdatasync` of a line of the same length), group-committed batches and many threads
//! appending at once; verifying a 1,000,000-entry log (on every core and on one); the report's
//! streaming pass and rendering over it; `audit prove`'s path (verify and build the tree) and
//! making and checking an inclusion proof in a tree of 1,000,000 entries.
//!
//! The log lives in `target/` (the project's own disk), not in a RAM-backed temporary folder,
//! so every `fsync` is a real one. Run with `cargo bench -p medi-privacy-benches --bench audit`;
//! figures and the exact commands are in `benches/RESULTS-audit.md`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use privacy_audit::compliance::ProjectDescription;
use privacy_audit::merkle::{leaf_hash, verify_inclusion, MerkleTree};
use privacy_audit::proof::LogTree;
use privacy_audit::report::digest::{LogDigest, ReportLimits};
use privacy_audit::report::{self, ReportInputs};
use privacy_audit::{verify_with, AuditLog, VerifyOptions};
use privacy_core::{AuditEvent, AuditEventKind, EpsilonAmount, GuaranteeRecord, PrivacyGuarantee};

/// A release event of realistic size (about 400 bytes once chained).
fn release(n: u64) -> AuditEvent {
    let epsilon = EpsilonAmount::from_units(100_000_000_000);
    let guarantee = PrivacyGuarantee::pure(epsilon).map(GuaranteeRecord::from).ok();
    let mut event = AuditEvent::new(AuditEventKind::Release, format!("analyst-{}", n % 7))
        .with_dataset("icu-2025")
        .with_detail("query", "mean(age, 17, 90)")
        .with_detail("mechanism", "discrete_laplace")
        .with_detail("epsilon", 0.1)
        .with_detail("noise_scale", 7.3)
        .with_detail("released_value", 38.5 + (n % 100) as f64 / 10.0)
        .with_detail("ci95", vec![36.1, 41.0]);
    event.guarantee = guarantee;
    event
}

fn scratch() -> tempfile::TempDir {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-audit");
    std::fs::create_dir_all(&target).expect("target is writable");
    tempfile::tempdir_in(target).expect("target is writable")
}

fn appends(c: &mut Criterion) {
    let dir = scratch();
    let log = Arc::new(AuditLog::open(dir.path().join("appends.jsonl")).expect("opens"));
    log.append(&release(0)).expect("appends");
    let mut group = c.benchmark_group("audit_append_synced");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    // The log holds one entry now: its length is the length of a line.
    let line = std::fs::metadata(log.path()).map_or(400, |m| m.len() as usize);
    let mut raw = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.path().join("raw.bin"))
        .expect("opens");
    let bytes = vec![b'x'; line];
    // The floor: what the disk allows one writer syncing each line.
    group.bench_function("raw_write_fdatasync_floor", |b| {
        b.iter(|| {
            raw.write_all(&bytes).expect("writes");
            raw.sync_data().expect("syncs");
        })
    });
    group.bench_function("one_at_a_time", |b| b.iter(|| log.append(&release(1)).expect("appends")));
    for batch in [100u64, 1000] {
        let events: Vec<AuditEvent> = (0..batch).map(release).collect();
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::new("batch", batch), &events, |b, events| {
            b.iter(|| log.append_batch(events).expect("appends"))
        });
    }
    // 64 threads each appending one event at a time: group commit shares the syncs.
    let threads = 64u64;
    group.throughput(Throughput::Elements(threads * 10));
    group.bench_function("64_threads_x10_group_commit", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for t in 0..threads {
                    let log = Arc::clone(&log);
                    s.spawn(move || {
                        for i in 0..10 {
                            log.append(&release(t * 10 + i)).expect("appends");
                        }
                    });
                }
            })
        })
    });
    group.finish();
}

fn verify_million(c: &mut Criterion) {
    let dir = scratch();
    let path = dir.path().join("million.jsonl");
    {
        let log = AuditLog::open(&path).expect("opens");
        let events: Vec<AuditEvent> = (0..10_000).map(release).collect();
        for _ in 0..100 {
            log.append_batch(&events).expect("appends");
        }
    }
    let mut group = c.benchmark_group("audit_verify");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("1000000_entries", |b| {
        b.iter(|| {
            let report = verify_with(&path, &VerifyOptions::default()).expect("reads");
            assert!(report.is_ok() && report.entries == 1_000_000);
        })
    });
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
    group.bench_function("1000000_entries_one_thread", |b| {
        b.iter(|| {
            let report =
                one_core.install(|| verify_with(&path, &VerifyOptions::default())).expect("reads");
            assert!(report.is_ok() && report.entries == 1_000_000);
        })
    });
    group.finish();

    let mut group = c.benchmark_group("audit_report_1000000");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("digest_and_render", |b| {
        b.iter(|| {
            let inputs = ReportInputs {
                log_name: "million.jsonl".into(),
                verification: verify_with(&path, &VerifyOptions::default()).expect("reads"),
                log: LogDigest::read(&path, ReportLimits::default()).expect("reads"),
                ledger: None,
                jobs: Vec::new(),
                project: ProjectDescription::default(),
                safe_harbor: Vec::new(),
                risks: Vec::new(),
            };
            report::render(&inputs).expect("renders").html.len()
        })
    });
    group.bench_function("audit_prove_open_log_tree", |b| {
        b.iter(|| LogTree::open(&path).expect("opens").size())
    });
    let tree = LogTree::open(&path).expect("opens");
    let mut seq = 0u64;
    group.bench_function("audit_prove_inclusion_bundle", |b| {
        b.iter(|| {
            seq = (seq + 7919) % 1_000_000 + 1;
            tree.inclusion(seq, 1_000_000).expect("in range")
        })
    });
    group.finish();
}

fn inclusion_proof(c: &mut Criterion) {
    let tree = MerkleTree::from_leaves((0..1_000_000u64).map(|i| leaf_hash(&i.to_le_bytes())));
    let root = tree.root_at(tree.size()).expect("in range");
    let mut group = c.benchmark_group("audit_inclusion_proof_1000000");
    let mut index = 0u64;
    group.bench_function("make", |b| {
        b.iter(|| {
            index = (index + 7919) % 1_000_000;
            tree.inclusion_proof(index, 1_000_000).expect("in range")
        })
    });
    let path = tree.inclusion_proof(123_456, 1_000_000).expect("in range");
    let leaf = tree.leaf(123_456).expect("in range");
    group.bench_function("check", |b| {
        b.iter(|| verify_inclusion(&leaf, 123_456, 1_000_000, &path, &root).expect("holds"))
    });
    group.finish();
}

criterion_group!(benches, appends, verify_million, inclusion_proof);
criterion_main!(benches);
