//! The `tracing` events the log emits. Alone in its own test binary: `tracing` caches per
//! call site whether anyone listens, and tests running in parallel without a subscriber would
//! race the scoped one installed here.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use privacy_audit::AuditLog;
use privacy_core::{AuditEvent, AuditEventKind};

fn event(n: usize) -> AuditEvent {
    AuditEvent::new(AuditEventKind::Release, format!("analyst-{n}"))
        .with_dataset("icu")
        .with_detail("mechanism", "discrete_laplace")
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_recorded_event_is_traced_with_metadata_only() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let dir = tempfile::tempdir().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let log = AuditLog::open(dir.path().join("audit.jsonl")).unwrap();
        let guarantee = privacy_core::GuaranteeRecord {
            kind: "pure".into(),
            epsilon: Some("0.5".into()),
            delta: None,
            rho: None,
        };
        let release = event(1).with_guarantee(guarantee).with_detail("released_value", 4242.125);
        log.append(&release).unwrap();
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for field in [
        "medi_privacy::audit",
        "kind=\"release\"",
        "principal=analyst-1",
        "dataset=\"icu\"",
        "mechanism=\"discrete_laplace\"",
        "epsilon=\"0.5\"",
    ] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
    assert!(!text.contains("4242.125"), "a released value reached the trace");
}

/// A federated round as `privacy-fl` will record it (no emitter exists yet: the crate is a stub),
/// built here with a fake gradient vector beside it. The safeguards refuse the gradient however
/// it is named (by its key, or as a long numeric array under an innocuous key); the metadata-only
/// round is logged, traced and rendered in the report, and no gradient coordinate reaches any of
/// them.
#[test]
fn a_federated_round_is_recorded_and_reported_but_never_its_gradient() {
    use privacy_audit::compliance::ProjectDescription;
    use privacy_audit::report::digest::{LogDigest, ReportLimits};
    use privacy_audit::report::{self, ReportInputs};
    use privacy_audit::{AuditError, VerifyOptions};

    // Distinctive coordinates: 0.7310585786 is the logistic of 1, unlikely in any figure here.
    let gradient: Vec<f64> = (0..64).map(|i| 0.731_058_578_6 + f64::from(i) * 1e-10).collect();
    let round = AuditEvent::new(AuditEventKind::FederatedRound, "fl-coordinator")
        .with_dataset("icu-federation")
        .with_guarantee(privacy_core::GuaranteeRecord {
            kind: "approximate".into(),
            epsilon: Some("0.8".into()),
            delta: Some("0.00001".into()),
            rho: None,
        })
        .with_detail("round", 17u64)
        .with_detail("sites", vec!["hospital-a", "hospital-b", "hospital-c"])
        .with_detail("aggregation", "secure aggregation (additive sharing), fedavg")
        .with_detail("clipping_norm", 1.0)
        .with_detail("noise_multiplier", 1.1);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    tracing::subscriber::with_default(subscriber, || {
        let log = AuditLog::open(&path).unwrap();
        for leak in [
            round.clone().with_detail("gradient", gradient.clone()),
            round.clone().with_detail("model_gradients", gradient[..4].to_vec()),
            round.clone().with_detail("update", gradient.clone()),
        ] {
            let refused = log.append(&leak);
            assert!(matches!(refused, Err(AuditError::Forbidden { .. })), "{refused:?}");
        }
        log.append(&round).unwrap();
    });
    let traces = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(traces.contains("kind=\"federated_round\""), "{traces}");
    let verification = privacy_audit::verify_with(&path, &VerifyOptions::default()).unwrap();
    assert_eq!(verification.entries, 1, "only the metadata-only round was written");
    let inputs = ReportInputs {
        log_name: "audit.jsonl".into(),
        verification,
        log: LogDigest::read(&path, ReportLimits::default()).unwrap(),
        ledger: None,
        jobs: Vec::new(),
        project: ProjectDescription::default(),
        safe_harbor: Vec::new(),
        risks: Vec::new(),
    };
    let rendered = report::render(&inputs).unwrap();
    let federated = rendered.markdown.split("<a id=\"federated\"></a>").nth(1).unwrap();
    let federated = federated.split("<a id=").next().unwrap();
    for expected in
        ["1 round(s).", "fl-coordinator", "approximate ε = 0.8, δ = 0.00001", "round: 17"]
    {
        assert!(federated.contains(expected), "{expected} missing from {federated}");
    }
    let log = std::fs::read_to_string(&path).unwrap();
    for (what, text) in [("log", &log), ("traces", &traces), ("report", &rendered.html)] {
        assert!(!text.contains("0.7310585"), "a gradient coordinate reached the {what}");
    }
}
