//! A mutually authenticated TLS 1.3 mesh between parties in separate processes (rustls, `ring`
//! provider).
//!
//! Every pair of parties shares one TCP connection: party i connects to every party j < i and
//! accepts from every j > i, so building the mesh cannot deadlock (by induction on the party
//! number, everyone reaches its accepting phase). After the handshake the connecting party
//! sends a hello naming the session, itself and its peer; the accepting party checks that the
//! client certificate names the party the hello claims to be (see [`super::certs`] for the
//! whole authentication story) and answers with its own hello.
//!
//! Messages are framed as a 4-byte little-endian length and the payload, at most
//! [`MAX_MESSAGE_BYTES`]. Each connection has a receiving thread that decrypts and queues whole
//! frames, so a party sending a message never blocks on a peer that is itself sending.
//!
//! **Bounded memory.** A link's queue holds at most [`MAX_QUEUED_BYTES`] of received frames
//! (and always admits one frame, so a maximal message passes); when it is full the receiving
//! thread stops reading from the socket until the protocol takes a frame, and TCP flow control
//! makes the peer's writes wait (backpressure). So an authenticated peer that sends faster than
//! the protocol consumes can make a party hold at most [`MAX_QUEUED_BYTES`] plus one frame in
//! reassembly ([`MAX_MESSAGE_BYTES`]) and rustls' buffers per link, never more. A peer whose
//! writes stay blocked longer than the setup timeout gets a send error. The protocols of this
//! crate send at most one message per peer and round (PSI exchanges its chunks in lock step),
//! so an honest round never needs more than one queued frame per link and cannot stall.
//!
//! Trade-off: one thread per peer instead of an event loop; a research network has tens of
//! parties, not thousands.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use rustls_pki_types::ServerName;

use super::certs::{check_party_name, TlsIdentity};
use super::{check_peer, Transport, DEFAULT_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;

/// Timeouts of a mesh.
#[derive(Clone, Copy, Debug)]
pub struct TlsOptions {
    /// How long to wait for one protocol message.
    pub message_timeout: Duration,
    /// How long to wait for all peers to connect, and for one handshake.
    pub setup_timeout: Duration,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self { message_timeout: DEFAULT_TIMEOUT, setup_timeout: Duration::from_secs(60) }
    }
}

/// One party's place in a mesh: its name and the address it listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerEntry {
    /// The name its certificate carries.
    pub name: String,
    /// Where it accepts connections from parties with higher numbers.
    pub addr: String,
}

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(context: &str, error: impl std::fmt::Display) -> MpcError {
    MpcError::Tls(format!("{context}: {error}"))
}

fn client_config(identity: &TlsIdentity) -> Result<Arc<ClientConfig>, MpcError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(identity.roots(), crypto_provider())
        .build()
        .map_err(|e| tls_error("server verifier", e))?;
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error("client config", e))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(identity.chain(), identity.key())
        .map_err(|e| tls_error("client certificate", e))?;
    Ok(Arc::new(config))
}

fn server_config(identity: &TlsIdentity) -> Result<Arc<ServerConfig>, MpcError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(identity.roots(), crypto_provider())
        .build()
        .map_err(|e| tls_error("client verifier", e))?;
    let config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error("server config", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain(), identity.key())
        .map_err(|e| tls_error("server certificate", e))?;
    Ok(Arc::new(config))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means another thread panicked mid-operation on this connection; the
    // connection state is still memory-safe to use, and the next TLS call reports any damage.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The most bytes of received frames one link queues before it stops reading (64 MiB).
pub const MAX_QUEUED_BYTES: usize = MAX_MESSAGE_BYTES;

type Frame = Result<Vec<u8>, MpcError>;

/// The frames one link's reader thread has received and the protocol has not yet taken.
struct FrameQueue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    frames: VecDeque<Frame>,
    bytes: usize,
    /// The link was dropped: the reader stops waiting and exits.
    abandoned: bool,
    /// The reader has exited: nothing more will arrive.
    finished: bool,
}

impl FrameQueue {
    fn new() -> Self {
        Self { state: Mutex::new(QueueState::default()), changed: Condvar::new() }
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, QueueState>) -> MutexGuard<'a, QueueState> {
        // A poisoned queue only means a panicking thread held it; its fields stay consistent
        // because every update is a single push, pop or flag assignment.
        self.changed.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a frame, waiting while the queue is full (backpressure); false once the link has
    /// been dropped, when the reader should stop.
    fn push(&self, frame: Frame) -> bool {
        let len = frame.as_ref().map_or(0, Vec::len);
        let mut state = lock(&self.state);
        while !state.abandoned && !state.frames.is_empty() && state.bytes + len > MAX_QUEUED_BYTES {
            state = self.wait(state);
        }
        if state.abandoned {
            return false;
        }
        state.bytes += len;
        state.frames.push_back(frame);
        self.changed.notify_all();
        true
    }

    /// The next frame, `None` after `timeout`; a closed link whose frames are all taken gives
    /// an error at once.
    fn pop(&self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.state);
        loop {
            if let Some(frame) = state.frames.pop_front() {
                state.bytes -= frame.as_ref().map_or(0, Vec::len);
                self.changed.notify_all();
                return Some(frame);
            }
            if state.finished {
                return Some(Err(MpcError::Transport("the connection closed".into())));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let (guard, _) = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state = guard;
        }
    }

    fn set(&self, update: impl FnOnce(&mut QueueState)) {
        update(&mut lock(&self.state));
        self.changed.notify_all();
    }

    #[cfg(test)]
    fn queued_bytes(&self) -> usize {
        lock(&self.state).bytes
    }
}

struct Shared {
    conn: Mutex<Connection>,
    writer: Mutex<TcpStream>,
}

/// One authenticated connection to one peer.
pub(crate) struct TlsLink {
    shared: Arc<Shared>,
    incoming: Arc<FrameQueue>,
    socket: TcpStream,
    reader: Option<JoinHandle<()>>,
}

impl TlsLink {
    /// Connects to `addr` and requires its certificate to name `peer_name`.
    pub(crate) fn connect(
        addr: &str,
        peer_name: &str,
        identity: &TlsIdentity,
        options: &TlsOptions,
    ) -> Result<Self, MpcError> {
        let server_name = check_party_name(peer_name)?;
        let socket = connect_tcp(addr, options.setup_timeout)?;
        let conn = ClientConnection::new(client_config(identity)?, server_name)
            .map_err(|e| tls_error("client connection", e))?;
        Self::handshake(socket, conn.into(), options)
    }

    /// Accepts one connection; the client certificate must chain to the network CA (its
    /// name is checked by the caller against the hello, with [`TlsLink::check_peer_name`]).
    pub(crate) fn accept(
        socket: TcpStream,
        identity: &TlsIdentity,
        options: &TlsOptions,
    ) -> Result<Self, MpcError> {
        let conn = ServerConnection::new(server_config(identity)?)
            .map_err(|e| tls_error("server connection", e))?;
        Self::handshake(socket, conn.into(), options)
    }

    fn handshake(
        mut socket: TcpStream,
        mut conn: Connection,
        options: &TlsOptions,
    ) -> Result<Self, MpcError> {
        let io = |e: std::io::Error| MpcError::Tls(format!("handshake failed: {e}"));
        socket.set_nodelay(true).map_err(io)?;
        socket.set_read_timeout(Some(options.setup_timeout)).map_err(io)?;
        socket.set_write_timeout(Some(options.setup_timeout)).map_err(io)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut socket).map_err(io)?;
        }
        // Flush what the handshake left (the client's Finished, the server's tickets).
        while conn.wants_write() {
            conn.write_tls(&mut socket).map_err(io)?;
        }
        socket.set_read_timeout(None).map_err(io)?;
        // The handshake may have read application data that arrived with its last flight:
        // take it out now, or it would wait in rustls until more bytes arrive.
        let mut early = Vec::new();
        let state = conn.process_new_packets().map_err(|e| tls_error("bad record", e))?;
        if state.plaintext_bytes_to_read() > 0 {
            early.resize(state.plaintext_bytes_to_read(), 0);
            conn.reader().read_exact(&mut early).map_err(io)?;
        }
        let reader_socket = socket.try_clone().map_err(io)?;
        let writer_socket = socket.try_clone().map_err(io)?;
        let shared = Arc::new(Shared { conn: Mutex::new(conn), writer: Mutex::new(writer_socket) });
        let incoming = Arc::new(FrameQueue::new());
        let queue = Arc::clone(&incoming);
        let thread_shared = Arc::clone(&shared);
        let reader = std::thread::Builder::new()
            .name("mpc-tls-reader".into())
            .spawn(move || {
                read_loop(&thread_shared, reader_socket, &queue, early);
                queue.set(|state| state.finished = true);
            })
            .map_err(|e| MpcError::Transport(format!("cannot start a reader thread: {e}")))?;
        Ok(Self { shared, incoming, socket, reader: Some(reader) })
    }

    /// Checks that the peer's certificate names `name`.
    pub(crate) fn check_peer_name(&self, name: &str) -> Result<(), MpcError> {
        let expected = check_party_name(name)?;
        let conn = lock(&self.shared.conn);
        let cert = conn
            .peer_certificates()
            .and_then(|certs| certs.first())
            .ok_or_else(|| MpcError::Tls("the peer presented no certificate".into()))?;
        let end_entity = webpki::EndEntityCert::try_from(cert)
            .map_err(|e| tls_error("unreadable peer certificate", e))?;
        let ServerName::DnsName(_) = &expected else {
            return Err(MpcError::Tls("party names must be dns names".into()));
        };
        end_entity
            .verify_is_valid_for_subject_name(&expected)
            .map_err(|_| MpcError::Tls("the peer's certificate names another party".into()))
    }

    pub(crate) fn send(&self, payload: &[u8]) -> Result<(), MpcError> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(MpcError::Transport("message exceeds the size limit".into()));
        }
        let io = |e: std::io::Error| MpcError::Transport(format!("send failed: {e}"));
        let mut socket = lock(&self.shared.writer);
        // The length fits in u32: it is at most MAX_MESSAGE_BYTES.
        let header = (payload.len() as u32).to_le_bytes();
        let mut out = Vec::with_capacity(payload.len() + payload.len() / 512 + 64);
        for piece in std::iter::once(&header[..]).chain(payload.chunks(16 * 1024)) {
            let mut conn = lock(&self.shared.conn);
            conn.writer().write_all(piece).map_err(io)?;
            while conn.wants_write() {
                conn.write_tls(&mut out).map_err(io)?;
            }
        }
        socket.write_all(&out).map_err(io)
    }

    pub(crate) fn receive(&self, timeout: Duration, peer: usize) -> Result<Vec<u8>, MpcError> {
        self.incoming.pop(timeout).unwrap_or(Err(MpcError::Timeout(peer)))
    }
}

impl Drop for TlsLink {
    fn drop(&mut self) {
        // Wake a reader waiting for room in the queue: nobody will take frames any more.
        self.incoming.set(|state| state.abandoned = true);
        {
            let mut socket = lock(&self.shared.writer);
            let mut out = Vec::new();
            let mut conn = lock(&self.shared.conn);
            conn.send_close_notify();
            while conn.wants_write() && conn.write_tls(&mut out).is_ok() {}
            drop(conn);
            // Best effort: the peer may already be gone, which is no error of ours.
            let _ = socket.write_all(&out);
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn connect_tcp(addr: &str, timeout: Duration) -> Result<TcpStream, MpcError> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| MpcError::InvalidInput("a peer address must be ip:port".into()))?;
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(socket) => return Ok(socket),
            // The peer may not be listening yet: retry until the setup deadline.
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(MpcError::Transport(format!("cannot connect to {addr}: {e}"))),
        }
    }
}

/// Receives TLS records, decrypts them and queues whole frames until the connection ends or
/// the link is dropped.
fn read_loop(shared: &Shared, mut socket: TcpStream, queue: &FrameQueue, early: Vec<u8>) {
    let mut net = vec![0u8; 64 * 1024];
    let mut plain = early;
    match deliver_frames(&mut plain, queue) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return fail(queue, e),
    }
    loop {
        let n = match socket.read(&mut net) {
            Ok(0) => return close(queue, "the connection closed"),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return close(queue, "the connection failed"),
        };
        let closed = match decrypt(shared, &net[..n], &mut plain) {
            Ok(closed) => closed,
            Err(e) => return fail(queue, e),
        };
        match deliver_frames(&mut plain, queue) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return fail(queue, e),
        }
        if closed {
            return close(queue, "the peer closed the connection");
        }
    }
}

fn close(queue: &FrameQueue, why: &str) {
    fail(queue, MpcError::Transport(why.into()));
}

/// Queues the error that ends the link (dropped if the link itself is gone).
fn fail(queue: &FrameQueue, error: MpcError) {
    queue.push(Err(error));
}

/// Feeds received bytes to rustls and appends the plaintext; true once the peer closed.
fn decrypt(shared: &Shared, mut bytes: &[u8], plain: &mut Vec<u8>) -> Result<bool, MpcError> {
    let mut conn = lock(&shared.conn);
    let mut closed = false;
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes).map_err(|e| MpcError::Transport(format!("receive: {e}")))?;
        let state = conn.process_new_packets().map_err(|e| tls_error("bad record", e))?;
        let available = state.plaintext_bytes_to_read();
        if available > 0 {
            let start = plain.len();
            plain.resize(start + available, 0);
            conn.reader()
                .read_exact(&mut plain[start..])
                .map_err(|e| MpcError::Transport(format!("receive: {e}")))?;
        }
        closed |= state.peer_has_closed();
    }
    Ok(closed)
}

/// Moves every whole frame of `plain` to the queue; false once the link has been dropped.
fn deliver_frames(plain: &mut Vec<u8>, queue: &FrameQueue) -> Result<bool, MpcError> {
    let mut start = 0;
    while plain.len() - start >= 4 {
        let mut header = [0u8; 4];
        header.copy_from_slice(&plain[start..start + 4]);
        let len = u32::from_le_bytes(header) as usize;
        if len > MAX_MESSAGE_BYTES {
            return Err(MpcError::Malformed { what: "frame", reason: "exceeds the size limit" });
        }
        if plain.len() - start - 4 < len {
            break;
        }
        let frame = plain[start + 4..start + 4 + len].to_vec();
        start += 4 + len;
        if !queue.push(Ok(frame)) {
            return Ok(false);
        }
    }
    plain.drain(..start);
    Ok(true)
}

const MESH_HELLO: &[u8; 8] = b"mpc-mesh";
const MESH_VERSION: u8 = 1;

/// The hello a connecting party sends and the accepting party answers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MeshHello {
    pub(crate) session: [u8; 16],
    pub(crate) parties: u16,
    pub(crate) from: u16,
    pub(crate) to: u16,
}

impl MeshHello {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(32);
        w.bytes(MESH_HELLO).u8(MESH_VERSION).bytes(&self.session);
        w.u16(self.parties).u16(self.from).u16(self.to);
        w.finish()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "mesh hello");
        if r.take(8)? != MESH_HELLO {
            return Err(MpcError::Malformed { what: "mesh hello", reason: "magic" });
        }
        r.version(MESH_VERSION)?;
        let hello = Self { session: r.array()?, parties: r.u16()?, from: r.u16()?, to: r.u16()? };
        r.finish()?;
        Ok(hello)
    }
}

/// A party's end of a TLS mesh.
pub struct TlsMesh {
    session: [u8; 16],
    party: usize,
    links: Vec<Option<TlsLink>>,
    names: Vec<String>,
    timeout: Duration,
}

impl TlsMesh {
    /// Builds the mesh for party `me` of `roster`: connects to every lower-numbered party and
    /// accepts every higher-numbered one on `listener` (which may be `None` for the last
    /// party). `connected` holds links already established (by a rendezvous), keyed by party.
    pub(crate) fn establish(
        session: [u8; 16],
        me: usize,
        roster: &[PeerEntry],
        listener: Option<&TcpListener>,
        identity: &TlsIdentity,
        options: &TlsOptions,
        connected: Vec<(usize, TlsLink)>,
    ) -> Result<Self, MpcError> {
        let parties = u16::try_from(roster.len())
            .map_err(|_| MpcError::InvalidInput("at most 65535 parties".into()))?;
        let mut links: Vec<Option<TlsLink>> = (0..roster.len()).map(|_| None).collect();
        for (peer, link) in connected {
            check_peer(me, roster.len(), peer)?;
            links[peer] = Some(link);
        }
        let to_connect: Vec<usize> = (0..me).filter(|p| links[*p].is_none()).collect();
        for peer in to_connect {
            let entry = &roster[peer];
            let link = TlsLink::connect(&entry.addr, &entry.name, identity, options)?;
            // me and peer are below roster.len() <= u16::MAX.
            let hello = MeshHello { session, parties, from: me as u16, to: peer as u16 };
            link.send(&hello.to_bytes())?;
            let answer = MeshHello::from_bytes(&link.receive(options.setup_timeout, peer)?)?;
            let expected = MeshHello { session, parties, from: peer as u16, to: me as u16 };
            if answer != expected {
                return Err(MpcError::ProtocolMismatch("mesh hello answer"));
            }
            links[peer] = Some(link);
        }
        accept_higher(session, me, roster, listener, identity, options, &mut links)?;
        let names = roster.iter().map(|e| e.name.clone()).collect();
        tracing::debug!(party = me, parties = roster.len(), "tls mesh established");
        Ok(Self { session, party: me, links, names, timeout: options.message_timeout })
    }

    /// The random identifier of this mesh, the same at every party (chosen at rendezvous).
    pub fn session(&self) -> [u8; 16] {
        self.session
    }

    /// The certificate names of all parties, in party order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The certificate name of party `peer`.
    pub fn peer_name(&self, peer: usize) -> Option<&str> {
        self.names.get(peer).map(String::as_str)
    }

    fn link(&self, peer: usize) -> Result<&TlsLink, MpcError> {
        check_peer(self.party, self.links.len(), peer)?;
        self.links[peer].as_ref().ok_or_else(|| MpcError::Transport("no link to that peer".into()))
    }
}

fn accept_higher(
    session: [u8; 16],
    me: usize,
    roster: &[PeerEntry],
    listener: Option<&TcpListener>,
    identity: &TlsIdentity,
    options: &TlsOptions,
    links: &mut [Option<TlsLink>],
) -> Result<(), MpcError> {
    let missing = |links: &[Option<TlsLink>]| (me + 1..roster.len()).any(|p| links[p].is_none());
    if !missing(links) {
        return Ok(());
    }
    let listener = listener.ok_or_else(|| MpcError::InvalidInput("a listener is needed".into()))?;
    let deadline = Instant::now() + options.setup_timeout;
    while missing(links) {
        let socket = accept_until(listener, deadline)?;
        let link = match TlsLink::accept(socket, identity, options) {
            Ok(link) => link,
            Err(error) => {
                // A stranger or a failed handshake does not stop the mesh: keep waiting.
                tracing::warn!(%error, "refused a mesh connection");
                continue;
            }
        };
        let hello = MeshHello::from_bytes(&link.receive(options.setup_timeout, me)?)?;
        let from = usize::from(hello.from);
        let valid = hello.session == session
            && usize::from(hello.parties) == roster.len()
            && usize::from(hello.to) == me
            && from > me
            && from < roster.len()
            && links[from].is_none();
        if !valid {
            tracing::warn!(party = me, "refused a mesh hello for another session or slot");
            continue;
        }
        if let Err(error) = link.check_peer_name(&roster[from].name) {
            tracing::warn!(party = me, claimed = from, %error, "refused a mesh peer");
            continue;
        }
        let answer = MeshHello { session, parties: hello.parties, from: hello.to, to: hello.from };
        link.send(&answer.to_bytes())?;
        links[from] = Some(link);
    }
    Ok(())
}

/// Accepts one TCP connection before `deadline`.
pub(crate) fn accept_until(
    listener: &TcpListener,
    deadline: Instant,
) -> Result<TcpStream, MpcError> {
    let io = |e: std::io::Error| MpcError::Transport(format!("accept failed: {e}"));
    listener.set_nonblocking(true).map_err(io)?;
    loop {
        match listener.accept() {
            Ok((socket, _)) => {
                socket.set_nonblocking(false).map_err(io)?;
                return Ok(socket);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(MpcError::Transport("peers did not connect in time".into()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(io(e)),
        }
    }
}

impl Transport for TlsMesh {
    fn party(&self) -> usize {
        self.party
    }

    fn parties(&self) -> usize {
        self.links.len()
    }

    fn send(&mut self, to: usize, message: &[u8]) -> Result<(), MpcError> {
        self.link(to)?.send(message)
    }

    fn receive(&mut self, from: usize) -> Result<Vec<u8>, MpcError> {
        self.link(from)?.receive(self.timeout, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_refuses_garbage() {
        let hello = MeshHello { session: [7; 16], parties: 3, from: 2, to: 1 };
        assert_eq!(MeshHello::from_bytes(&hello.to_bytes()).unwrap(), hello);
        let mut bytes = hello.to_bytes();
        bytes[0] ^= 1;
        assert!(MeshHello::from_bytes(&bytes).is_err());
        assert!(MeshHello::from_bytes(&hello.to_bytes()[..20]).is_err());
    }

    #[test]
    fn frames_split_across_reads_are_reassembled() {
        let queue = FrameQueue::new();
        let now = Duration::ZERO;
        let mut plain = vec![3, 0, 0, 0, 1, 2];
        assert!(deliver_frames(&mut plain, &queue).unwrap());
        assert!(queue.pop(now).is_none());
        plain.extend_from_slice(&[3, 0, 0, 0, 0]);
        assert!(deliver_frames(&mut plain, &queue).unwrap());
        assert_eq!(queue.pop(now).unwrap().unwrap(), vec![1, 2, 3]);
        assert_eq!(queue.pop(now).unwrap().unwrap(), Vec::<u8>::new());
        let mut huge = (u32::MAX).to_le_bytes().to_vec();
        assert!(deliver_frames(&mut huge, &queue).is_err());
        queue.set(|state| state.finished = true);
        assert!(matches!(queue.pop(now), Some(Err(MpcError::Transport(_)))));
    }

    #[test]
    fn a_full_queue_holds_the_reader_until_a_frame_is_taken() {
        let queue = Arc::new(FrameQueue::new());
        let big = MAX_QUEUED_BYTES / 2 + 1;
        assert!(queue.push(Ok(vec![0; big])));
        let (sent, done) = std::sync::mpsc::channel();
        let writer = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                let admitted = queue.push(Ok(vec![1; big]));
                sent.send(()).unwrap();
                admitted
            })
        };
        // The second frame does not fit beside the first: the writer waits.
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err());
        assert_eq!(queue.queued_bytes(), big);
        assert_eq!(queue.pop(Duration::ZERO).unwrap().unwrap().len(), big);
        assert!(writer.join().unwrap());
        assert_eq!(queue.queued_bytes(), big);
        // A dropped link releases a waiting reader, which then stops.
        let blocked = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(Ok(vec![2; big])))
        };
        queue.set(|state| state.abandoned = true);
        assert!(!blocked.join().unwrap());
    }
}
