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
