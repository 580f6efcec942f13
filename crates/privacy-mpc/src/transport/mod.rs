//! How parties talk: the [`Transport`] trait, an in-process network for tests and a mutually
//! authenticated TLS mesh for real processes.
//!
//! A transport delivers whole messages between numbered parties 0..n, in order per pair, with
//! the sender authenticated. Protocols are written against the trait only, so the same code runs
//! between threads of one test ([`memory::InProcessNetwork`]) and between hospitals
//! ([`tls::TlsMesh`]). Messages are opaque bytes; every protocol parses what it receives with a
//! strict reader.
//!
//! Trade-off: the trait is blocking. A protocol round is "send to everyone, then receive from
//! everyone"; each TLS connection has its own receiving thread and a queue bounded in bytes
//! ([`tls::MAX_QUEUED_BYTES`], with backpressure beyond it), so sending one message per peer
//! never waits for the peer to read, no round can deadlock on full socket buffers, and no
//! peer can make a party buffer without limit. The in-process network's queues are unbounded:
//! all of its parties share one address space and one owner.

pub mod certs;
pub mod memory;
pub mod rendezvous;
pub mod tls;

use std::time::Duration;

use crate::error::MpcError;

pub use certs::{NetworkCa, TlsIdentity};
pub use memory::InProcessNetwork;
pub use tls::{PeerEntry, TlsMesh, TlsOptions};

/// The largest message any transport accepts (64 MiB); larger payloads are split by the
/// protocol that sends them.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How long a party waits for a message by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Authenticated, ordered message delivery between numbered parties.
pub trait Transport: Send {
    /// This party's number, 0..n.
    fn party(&self) -> usize;
    /// The number of parties n.
    fn parties(&self) -> usize;
    /// Sends one message to party `to` (never to itself).
    fn send(&mut self, to: usize, message: &[u8]) -> Result<(), MpcError>;
    /// Receives the next message from party `from`, waiting at most the transport's timeout.
    fn receive(&mut self, from: usize) -> Result<Vec<u8>, MpcError>;
}

/// Every party other than this one.
pub fn others(transport: &dyn Transport) -> impl Iterator<Item = usize> {
    let me = transport.party();
    (0..transport.parties()).filter(move |p| *p != me)
}

/// Sends `message` to every other party and receives one message from each; the result has an
/// empty slot at this party's own index.
pub fn broadcast_round(
    transport: &mut dyn Transport,
    message: &[u8],
) -> Result<Vec<Vec<u8>>, MpcError> {
    for to in others(transport).collect::<Vec<_>>() {
        transport.send(to, message)?;
    }
    receive_from_all(transport)
}

/// Sends `messages[j]` to every other party j and receives one message from each; the result
/// has an empty slot at this party's own index.
pub fn exchange_round(
    transport: &mut dyn Transport,
    messages: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, MpcError> {
    if messages.len() != transport.parties() {
        return Err(MpcError::InvalidInput("one message per party is needed".into()));
    }
    for to in others(transport).collect::<Vec<_>>() {
        transport.send(to, &messages[to])?;
    }
    receive_from_all(transport)
}

fn receive_from_all(transport: &mut dyn Transport) -> Result<Vec<Vec<u8>>, MpcError> {
    let mut received = vec![Vec::new(); transport.parties()];
    for from in others(transport).collect::<Vec<_>>() {
        received[from] = transport.receive(from)?;
    }
    Ok(received)
}

/// Checks a destination or source party number.
pub(crate) fn check_peer(me: usize, parties: usize, peer: usize) -> Result<(), MpcError> {
    if peer >= parties || peer == me {
        return Err(MpcError::Transport(format!("no peer {peer} among {parties} parties")));
    }
    Ok(())
}
