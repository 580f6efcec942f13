//! Rendezvous: how n processes that know only one coordinator's address become a TLS mesh.
//!
//! The coordinator (party 0) listens. Each joining site connects over mutually authenticated
//! TLS and sends a join request: the protocol it wants to run, its name and the address where
//! it accepts mesh connections. The coordinator checks that the site's certificate names it,
//! refuses duplicates and other protocols, and once n − 1 sites have joined numbers them by
//! name (so the numbering does not depend on arrival order), then sends each the roster and a
//! random session identifier. The sites then connect to each other ([`super::tls::TlsMesh`]),
//! every mesh hello naming that session. The coordinator learns who takes part, which it must
//! anyway; it sees no protocol message between two other sites (those go over their own TLS
//! connection).

use std::net::TcpListener;
use std::time::Instant;

use rand_core::RngCore;

use privacy_core::SecureRng;

use super::certs::{check_party_name, TlsIdentity};
use super::tls::{accept_until, PeerEntry, TlsLink, TlsMesh, TlsOptions};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;

const JOIN_MAGIC: &[u8; 8] = b"mpc-join";
const ROSTER_MAGIC: &[u8; 8] = b"mpc-rost";
const VERSION: u8 = 1;
/// Longest name, address or protocol label in a rendezvous message.
const MAX_TEXT: usize = 255;

/// A join request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct JoinRequest {
    pub(crate) protocol: String,
    pub(crate) name: String,
    pub(crate) addr: String,
}

fn put_text(w: &mut Writer, text: &str) {
    // Texts are checked to be at most MAX_TEXT bytes before they are sent.
    w.u8(text.len() as u8).bytes(text.as_bytes());
}

fn get_text(r: &mut Reader<'_>) -> Result<String, MpcError> {
    let len = usize::from(r.u8()?);
    let bytes = r.take(len)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| MpcError::Malformed { what: "rendezvous message", reason: "not utf-8" })
}

fn check_text(text: &str) -> Result<(), MpcError> {
    if text.len() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(MpcError::InvalidInput("names and addresses must be short plain text".into()));
    }
    Ok(())
}

impl JoinRequest {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        w.bytes(JOIN_MAGIC).u8(VERSION);
        for text in [&self.protocol, &self.name, &self.addr] {
            put_text(&mut w, text);
        }
        w.finish()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "join request");
        if r.take(8)? != JOIN_MAGIC {
            return Err(MpcError::Malformed { what: "join request", reason: "magic" });
        }
        r.version(VERSION)?;
        let request =
            Self { protocol: get_text(&mut r)?, name: get_text(&mut r)?, addr: get_text(&mut r)? };
        r.finish()?;
        Ok(request)
    }
}

/// The roster a coordinator sends to each site.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Roster {
    pub(crate) session: [u8; 16],
    pub(crate) you: u16,
    pub(crate) entries: Vec<PeerEntry>,
}

impl Roster {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 * self.entries.len());
        w.bytes(ROSTER_MAGIC).u8(VERSION).bytes(&self.session).u16(self.you);
        // At most u16::MAX entries: checked when the roster is built.
        w.u16(self.entries.len() as u16);
        for entry in &self.entries {
            put_text(&mut w, &entry.name);
            put_text(&mut w, &entry.addr);
        }
        w.finish()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "roster");
        if r.take(8)? != ROSTER_MAGIC {
            return Err(MpcError::Malformed { what: "roster", reason: "magic" });
        }
        r.version(VERSION)?;
        let session = r.array()?;
        let you = r.u16()?;
        let count = usize::from(r.u16()?);
        if count < 2 || usize::from(you) >= count || you == 0 {
            return Err(MpcError::Malformed { what: "roster", reason: "party numbers" });
        }
        let entries = (0..count)
            .map(|_| Ok(PeerEntry { name: get_text(&mut r)?, addr: get_text(&mut r)? }))
            .collect::<Result<Vec<_>, MpcError>>()?;
        r.finish()?;
        Ok(Self { session, you, entries })
    }
}

/// Runs the coordinator's side for `parties` parties (itself included) of `protocol`; returns
/// the coordinator's end of the mesh (it is party 0).
pub fn coordinate(
    listener: &TcpListener,
    identity: &TlsIdentity,
    protocol: &str,
    parties: usize,
    options: &TlsOptions,
    rng: &mut SecureRng,
) -> Result<TlsMesh, MpcError> {
    if !(2..=usize::from(u16::MAX)).contains(&parties) {
        return Err(MpcError::InvalidInput("a protocol needs 2 to 65535 parties".into()));
    }
    check_text(protocol)?;
    let deadline = Instant::now() + options.setup_timeout;
    let mut joined: Vec<(JoinRequest, TlsLink)> = Vec::new();
    while joined.len() + 1 < parties {
        let socket = accept_until(listener, deadline)?;
        match admit(socket, identity, protocol, &joined, options) {
            Ok(entry) => joined.push(entry),
            Err(error) => tracing::warn!(%error, "refused a site at rendezvous"),
        }
    }
    joined.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut session = [0u8; 16];
    rng.fill_bytes(&mut session);
    let mut entries = vec![PeerEntry { name: identity.name().to_owned(), addr: String::new() }];
    entries.extend(
        joined.iter().map(|(j, _)| PeerEntry { name: j.name.clone(), addr: j.addr.clone() }),
    );
    let mut connected = Vec::with_capacity(joined.len());
    for (index, (_, link)) in joined.into_iter().enumerate() {
        // index + 1 < parties <= u16::MAX.
        let you = (index + 1) as u16;
        link.send(&Roster { session, you, entries: entries.clone() }.to_bytes())?;
        connected.push((index + 1, link));
    }
    tracing::info!(protocol, parties, "rendezvous complete");
    TlsMesh::establish(session, 0, &entries, None, identity, options, connected)
}

/// Accepts one site: handshake, join request, certificate name, duplicates, protocol.
fn admit(
    socket: std::net::TcpStream,
    identity: &TlsIdentity,
    protocol: &str,
    joined: &[(JoinRequest, TlsLink)],
    options: &TlsOptions,
) -> Result<(JoinRequest, TlsLink), MpcError> {
    let link = TlsLink::accept(socket, identity, options)?;
    let request = JoinRequest::from_bytes(&link.receive(options.setup_timeout, 0)?)?;
    if request.protocol != protocol {
        return Err(MpcError::ProtocolMismatch("the site wants another protocol"));
    }
    check_party_name(&request.name)?;
    check_text(&request.addr)?;
    link.check_peer_name(&request.name)?;
    if request.name == identity.name() || joined.iter().any(|(j, _)| j.name == request.name) {
        return Err(MpcError::InvalidInput("a site with that name has already joined".into()));
    }
    Ok((request, link))
}

/// Runs a site's side: joins the coordinator at `coordinator_addr` (whose certificate must
/// name `coordinator_name`), accepting mesh connections from higher-numbered sites on
/// `listener`, which it advertises as `advertise` (the address other sites can reach).
pub fn join(
    coordinator_addr: &str,
    coordinator_name: &str,
    listener: Option<&TcpListener>,
    advertise: &str,
    identity: &TlsIdentity,
    protocol: &str,
    options: &TlsOptions,
) -> Result<TlsMesh, MpcError> {
    check_text(protocol)?;
    check_text(advertise)?;
    let link = TlsLink::connect(coordinator_addr, coordinator_name, identity, options)?;
    let request = JoinRequest {
        protocol: protocol.to_owned(),
        name: identity.name().to_owned(),
        addr: advertise.to_owned(),
    };
    link.send(&request.to_bytes())?;
    let roster = Roster::from_bytes(&link.receive(options.setup_timeout, 0)?)?;
    if roster.entries[0].name != coordinator_name {
        return Err(MpcError::ProtocolMismatch("the roster names another coordinator"));
    }
    let me = usize::from(roster.you);
    if roster.entries[me].name != identity.name() {
        return Err(MpcError::ProtocolMismatch("the roster gives this site another name"));
    }
    TlsMesh::establish(
        roster.session,
        me,
        &roster.entries,
        listener,
        identity,
        options,
        vec![(0, link)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_refuse_bad_numbers() {
        let join = JoinRequest { protocol: "p".into(), name: "a".into(), addr: "1.2.3.4:5".into() };
        assert_eq!(JoinRequest::from_bytes(&join.to_bytes()).unwrap(), join);
        let entries = vec![
            PeerEntry { name: "c".into(), addr: String::new() },
            PeerEntry { name: "a".into(), addr: "x".into() },
        ];
        let roster = Roster { session: [1; 16], you: 1, entries };
        assert_eq!(Roster::from_bytes(&roster.to_bytes()).unwrap(), roster);
        let mut bad = roster.to_bytes();
        bad[25] = 0; // you = 0
        assert!(Roster::from_bytes(&bad).is_err());
        let mut truncated = join.to_bytes();
        truncated.pop();
        assert!(JoinRequest::from_bytes(&truncated).is_err());
    }
}
