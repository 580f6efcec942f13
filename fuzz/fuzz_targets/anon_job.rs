//! Any text is an anonymization job or a typed error (never a panic); a parsed job serializes
//! to TOML that parses back to the same job.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(job) = privacy_anon::Job::parse(text, "fuzz.toml") {
        let again = toml::to_string(&job).expect("a parsed job serializes");
        assert_eq!(privacy_anon::Job::parse(&again, "again.toml").expect("re-parses"), job);
    }
});
