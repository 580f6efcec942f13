//! An in-process network: n transports joined by channels, for tests and for simulating a
//! protocol in one process.
//!
//! It offers no confidentiality or authentication beyond the process boundary, and needs none:
//! every party lives in the same address space. Trade-off: unbounded queues, so a test never
//! deadlocks on ordering, at the price of memory for very large messages.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::{check_peer, Transport, DEFAULT_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::error::MpcError;

/// Builds the transports of an in-process network.
pub struct InProcessNetwork;

impl InProcessNetwork {
    /// One connected transport per party; hand each to its own thread.
    pub fn transports(parties: usize) -> Vec<InProcessTransport> {
        Self::transports_with_timeout(parties, DEFAULT_TIMEOUT)
    }

    /// As [`InProcessNetwork::transports`], waiting at most `timeout` for each message.
    pub fn transports_with_timeout(parties: usize, timeout: Duration) -> Vec<InProcessTransport> {
        // senders[from][to] feeds receivers[to][from].
        let mut senders: Vec<Vec<Option<Sender<Vec<u8>>>>> = vec![Vec::new(); parties];
        let mut receivers: Vec<Vec<Option<Receiver<Vec<u8>>>>> =
            (0..parties).map(|_| (0..parties).map(|_| None).collect()).collect();
        for (from, row) in senders.iter_mut().enumerate() {
            for (to, inbox) in receivers.iter_mut().enumerate() {
                if from == to {
                    row.push(None);
                    continue;
                }
                let (tx, rx) = channel();
                row.push(Some(tx));
                inbox[from] = Some(rx);
            }
        }
        senders
            .into_iter()
            .zip(receivers)
            .enumerate()
            .map(|(party, (outboxes, inboxes))| InProcessTransport {
                party,
                outboxes,
                inboxes,
                timeout,
            })
            .collect()
    }
}

/// One party's end of an [`InProcessNetwork`].
pub struct InProcessTransport {
    party: usize,
    outboxes: Vec<Option<Sender<Vec<u8>>>>,
    inboxes: Vec<Option<Receiver<Vec<u8>>>>,
    timeout: Duration,
}

impl Transport for InProcessTransport {
    fn party(&self) -> usize {
        self.party
    }

    fn parties(&self) -> usize {
        self.outboxes.len()
    }

    fn send(&mut self, to: usize, message: &[u8]) -> Result<(), MpcError> {
        check_peer(self.party, self.parties(), to)?;
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(MpcError::Transport("message exceeds the size limit".into()));
        }
        let outbox = self.outboxes[to].as_ref().ok_or(MpcError::Transport("no channel".into()))?;
        outbox.send(message.to_vec()).map_err(|_| MpcError::Transport("peer is gone".into()))
    }

    fn receive(&mut self, from: usize) -> Result<Vec<u8>, MpcError> {
        check_peer(self.party, self.parties(), from)?;
        let inbox = self.inboxes[from].as_ref().ok_or(MpcError::Transport("no channel".into()))?;
        inbox.recv_timeout(self.timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => MpcError::Timeout(from),
            RecvTimeoutError::Disconnected => MpcError::Transport("peer is gone".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::broadcast_round;

    #[test]
    fn every_party_hears_every_other() {
        let transports = InProcessNetwork::transports(4);
        let handles: Vec<_> = transports
            .into_iter()
            .map(|mut t| {
                std::thread::spawn(move || {
                    let me = t.party() as u8;
                    let got = broadcast_round(&mut t, &[me]).unwrap();
                    assert!(got[usize::from(me)].is_empty());
                    got.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != usize::from(me))
                        .all(|(i, m)| m == &[i as u8])
                })
            })
            .collect();
        assert!(handles.into_iter().all(|h| h.join().unwrap()));
    }

    #[test]
    fn bad_peers_and_silence_are_errors() {
        let mut transports =
            InProcessNetwork::transports_with_timeout(2, Duration::from_millis(10));
        let t = &mut transports[0];
        assert!(matches!(t.send(0, b"x"), Err(MpcError::Transport(_))));
        assert!(matches!(t.send(2, b"x"), Err(MpcError::Transport(_))));
        assert!(matches!(t.receive(1), Err(MpcError::Timeout(1))));
    }
}
