//! Certificates for a research network: who may join a protocol, and how parties recognise
//! each other.
//!
//! **How parties authenticate each other.** A network has one certificate authority (CA),
//! held by whoever admits sites (the coordinating centre). Each site gets a certificate whose
//! subject alternative name is the site's name (`hospital-a`), signed by the network CA, and a
//! private key that never leaves the site. Every TLS connection is mutually authenticated
//! (TLS 1.3, rustls with the `ring` provider): the connecting side checks that the listening
//! side's certificate chains to the network CA *and* names the party it meant to reach; the
//! listening side requires a client certificate chaining to the same CA and checks that it
//! names the party the connecting side claims to be. A certificate from any other CA, or one
//! naming another site, is refused during the handshake or right after it, before any protocol
//! message is read.
//!
//! [`NetworkCa`] issues such certificates with `rcgen` (ECDSA P-256) for pilots and tests;
//! production networks can use certificates from their own PKI through
//! [`TlsIdentity::from_pem_files`]. Trade-off: TLS key generation draws from `ring`'s OS-backed
//! generator rather than [`privacy_core::SecureRng`]; both are OS-seeded CSPRNGs, and the TLS
//! library needs its own for handshakes anyway.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use zeroize::Zeroizing;

use crate::error::MpcError;

/// A network certificate authority, for pilots and tests.
// FIXME: no revocation and no persisted CA key (a new site means a new network); production
// networks should issue from their PKI and pass PEM files to `TlsIdentity::from_pem_files`.
pub struct NetworkCa {
    params: CertificateParams,
    key: KeyPair,
    cert_pem: String,
}

/// A site's certificate and key in PEM, as [`NetworkCa::issue`] returns them.
pub struct IssuedCertificate {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The private key (PEM). Secret: store it readable by the site only.
    pub key_pem: Zeroizing<String>,
}

impl NetworkCa {
    /// A new CA named `network` (its common name).
    pub fn generate(network: &str) -> Result<Self, MpcError> {
        let tls = |e: rcgen::Error| MpcError::Tls(format!("cannot create the network ca: {e}"));
        let key = KeyPair::generate().map_err(tls)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.distinguished_name.push(DnType::CommonName, network);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert_pem = params.self_signed(&key).map_err(tls)?.pem();
        Ok(Self { params, key, cert_pem })
    }

    /// The CA certificate (PEM) every site trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A certificate naming the site `name` (a DNS-style name such as `hospital-a`), usable
    /// both to listen and to connect.
    pub fn issue(&self, name: &str) -> Result<IssuedCertificate, MpcError> {
        check_party_name(name)?;
        let tls = |e: rcgen::Error| MpcError::Tls(format!("cannot issue a certificate: {e}"));
        let key = KeyPair::generate().map_err(tls)?;
        let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(tls)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(tls)?;
        Ok(IssuedCertificate { cert_pem: cert.pem(), key_pem: Zeroizing::new(key.serialize_pem()) })
    }

    /// An identity for `name`, issued and loaded in memory (for tests and simulations).
    pub fn identity(&self, name: &str) -> Result<TlsIdentity, MpcError> {
        let issued = self.issue(name)?;
        TlsIdentity::from_pem(name, &issued.cert_pem, &issued.key_pem, &self.cert_pem)
    }
}

/// Refuses names that cannot appear in a certificate as a DNS name.
pub(crate) fn check_party_name(name: &str) -> Result<ServerName<'static>, MpcError> {
    match ServerName::try_from(name.to_owned()) {
        Ok(server_name @ ServerName::DnsName(_)) => Ok(server_name),
        _ => Err(MpcError::InvalidInput(
            "a party name must be a DNS-style name such as hospital-a".into(),
        )),
    }
}

/// What one party presents and trusts: its name, certificate chain and key, and the network
/// CA. `Debug` never shows the key.
#[derive(Clone)]
pub struct TlsIdentity {
    name: String,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    roots: Arc<RootCertStore>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("name", &self.name).finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Loads an identity from PEM text: the site's certificate chain, its private key and the
    /// network CA certificate(s).
    pub fn from_pem(name: &str, chain: &str, key: &str, ca: &str) -> Result<Self, MpcError> {
        check_party_name(name)?;
        let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| MpcError::Tls("the certificate file is not valid pem".into()))?;
        if chain.is_empty() {
            return Err(MpcError::Tls("the certificate file holds no certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|_| MpcError::Tls("the key file holds no valid private key".into()))?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            let cert = cert.map_err(|_| MpcError::Tls("the ca file is not valid pem".into()))?;
            roots.add(cert).map_err(|e| MpcError::Tls(format!("unusable ca certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(MpcError::Tls("the ca file holds no certificate".into()));
        }
        Ok(Self { name: name.to_owned(), chain, key: Arc::new(key), roots: Arc::new(roots) })
    }

    /// Loads an identity from PEM files.
    pub fn from_pem_files(
        name: &str,
        cert: &Path,
        key: &Path,
        ca: &Path,
    ) -> Result<Self, MpcError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|e| MpcError::Tls(format!("cannot read {}: {e}", path.display())))
        };
        Self::from_pem(name, &read(cert)?, &read(key)?, &read(ca)?)
    }

    /// This party's name, as its certificate states it.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.clone()
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    pub(crate) fn roots(&self) -> Arc<RootCertStore> {
        Arc::clone(&self.roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_identities_load_and_bad_pem_is_refused() {
        let ca = NetworkCa::generate("test network").unwrap();
        let issued = ca.issue("hospital-a").unwrap();
        let id =
            TlsIdentity::from_pem("hospital-a", &issued.cert_pem, &issued.key_pem, ca.cert_pem());
        let id = id.unwrap();
        assert_eq!(id.name(), "hospital-a");
        assert!(!format!("{id:?}").contains("PRIVATE"));
        assert!(matches!(
            TlsIdentity::from_pem("hospital-a", "not pem", &issued.key_pem, ca.cert_pem()),
            Err(MpcError::Tls(_))
        ));
        assert!(matches!(
            TlsIdentity::from_pem("hospital-a", &issued.cert_pem, "", ca.cert_pem()),
            Err(MpcError::Tls(_))
        ));
        assert!(matches!(ca.issue("not a name!"), Err(MpcError::InvalidInput(_))));
    }
}
