//! The free-text detector on arbitrary text: no panic; spans in order, non-overlapping, on
//! character boundaries; redaction replaces exactly the spans.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_anon::detect::Detector;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let detector = Detector::global();
    let spans = detector.find(&text);
    let mut at = 0;
    for s in &spans {
        assert!(at <= s.start && s.start < s.end && s.end <= text.len());
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        at = s.end;
    }
    let (redacted, kinds) = detector.redact(&text);
    assert_eq!(kinds.len(), spans.len());
    if spans.is_empty() {
        assert_eq!(redacted, text);
    }
});
