//! Any text is a site's TLS identity (party name, certificate chain, private key and network CA,
//! as `psi`, `secure-sum` and the protocol sites read them from PEM files) or a typed error,
//! never a panic. The input is split on NUL bytes into the four files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privacy_mpc::transport::TlsIdentity;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\0');
    let name = parts.next().unwrap_or("");
    let chain = parts.next().unwrap_or("");
    let key = parts.next().unwrap_or("");
    let ca = parts.next().unwrap_or("");
    if let Ok(identity) = TlsIdentity::from_pem(name, chain, key, ca) {
        assert_eq!(identity.name(), name);
    }
});
