//! Any bytes, read as an audit log and a checkpoint file, verify to a report (never an error or
//! a panic), and a log that verifies clean reads back as exactly that many entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_audit::{verify_bytes, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    // The first 0x00 0x00 (never in a valid log) splits the log from its checkpoint file.
    let split = data.windows(2).position(|w| w == [0, 0]);
    let (log, checkpoints) = match split {
        Some(at) => (&data[..at], Some(&data[at + 2..])),
        None => (data, None),
    };
    let options = VerifyOptions::default();
    let report = verify_bytes(log, checkpoints, &options).expect("bytes never fail to read");
    let read = privacy_audit::read::read_entries_from(log).expect("bytes never fail to read");
    if report.is_ok() {
        assert_eq!(read.entries.len() as u64, report.entries);
        assert_eq!(read.unreadable, 0);
    }
});
