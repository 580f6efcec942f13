//! Any text is a deidentify job or a typed error (never a panic); a parsed job serializes to
//! TOML that parses back to the same job.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_anon::safe_harbor::DeidJob;

fuzz_target!(|text: &str| {
    if let Ok(job) = DeidJob::parse(text, "fuzz.toml") {
        let again = toml::to_string(&job).expect("a parsed job serializes");
        assert_eq!(DeidJob::parse(&again, "again.toml").expect("re-parses"), job);
    }
});
