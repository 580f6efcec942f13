//! Any bytes are a protocol, rendezvous or PSI message, or a typed error; parsed rendezvous
//! messages re-encode to the input, and received PSI points are decoded (refusing
//! non-canonical and identity encodings) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| privacy_mpc::fuzzing::messages(data));
