//! The trusted dealer as its own process: sites that have formed their TLS mesh each fetch
//! their preprocessing stock from it, over mutually authenticated TLS.
//!
//! A site connects to the dealer (whose certificate must name the dealer it expects) and sends
//! a [`StockRequest`]: its mesh's session identifier and roster, its party number, the ring and
//! how much material it wants. The dealer serves a group of requests once every party of one
//! roster has asked, with the same session, roster, ring and amounts, each from the party its
//! certificate names; it then draws the material ([`TrustedDealer`]) and sends each site its
//! [`DealerStock`], bound to that session and party ([`StockBinding`]). A request that does
//! not fit any group (another session, a seat claimed twice, a certificate naming someone else)
//! is refused without stopping the dealer.
//!
//! Threat model: the dealer's, stated in [`super::preprocessing`] — it follows the protocol and
//! colludes with no site. It never sees an input or an opened value (it takes no part in the
//! mesh). A site that lies about its roster can only make its own group wait until the setup
//! timeout; it cannot obtain another seat's material, because each seat is bound to the name
//! in its certificate. Memory: a request is at most a few kilobytes, and a stock at most one
//! transport message (64 MiB, [`DealRequest::check_fits`]).

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Instant;

use curve25519_dalek::Scalar;

use privacy_core::SecureRng;

use super::preprocessing::{DealRequest, DealerStock, StockBinding, TrustedDealer};
use super::{run_event, RunContext, SEMI_HONEST_WITH_DEALER};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::ring::{Ring, Z64};
use crate::transport::certs::{check_party_name, TlsIdentity};
use crate::transport::tls::{accept_until, TlsLink, TlsMesh, TlsOptions};
use crate::transport::Transport;

const REQUEST_MAGIC: &[u8; 8] = b"mpc-preq";
const REQUEST_VERSION: u8 = 1;

/// What a site asks the dealer for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockRequest {
    /// The mesh's session identifier.
    pub session: [u8; 16],
    /// The certificate names of the mesh's parties, in party order.
    pub roster: Vec<String>,
    /// The requesting party's number.
    pub party: u16,
    /// The ring tag ([`Ring::TAG`]) of the arithmetic triples.
    pub ring: u8,
    /// How much material.
    pub request: DealRequest,
}

impl StockRequest {
    /// The versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 + 32 * self.roster.len());
        w.bytes(REQUEST_MAGIC).u8(REQUEST_VERSION).u8(self.ring).bytes(&self.session);
        // Rosters hold at most u16::MAX names of at most MAX_NAME bytes (checked by from_bytes
        // and by the mesh that produced them).
        w.u16(self.party).u16(self.roster.len() as u16);
        for name in &self.roster {
            w.u8(name.len() as u8).bytes(name.as_bytes());
        }
        self.request.encode(&mut w);
        w.finish()
    }

    /// Parses [`StockRequest::to_bytes`]: 2 to 65535 valid party names, a party number among
    /// them, a known ring, amounts that fit one message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        const WHAT: &str = "stock request";
        let mut r = Reader::new(bytes, WHAT);
        if r.take(8)? != REQUEST_MAGIC {
            return Err(MpcError::Malformed { what: WHAT, reason: "magic" });
        }
        r.version(REQUEST_VERSION)?;
        let ring = r.u8()?;
        let session = r.array()?;
        let party = r.u16()?;
        let count = usize::from(r.u16()?);
        if count < 2 || usize::from(party) >= count {
            return Err(MpcError::Malformed { what: WHAT, reason: "party numbers" });
        }
        let roster = (0..count)
            .map(|_| {
                let len = usize::from(r.u8()?);
                let name = std::str::from_utf8(r.take(len)?)
                    .map_err(|_| MpcError::Malformed { what: WHAT, reason: "not utf-8" })?;
                check_party_name(name)?;
                Ok(name.to_owned())
            })
            .collect::<Result<Vec<_>, MpcError>>()?;
        let request = DealRequest::decode(&mut r)?;
        r.finish()?;
        match ring {
            Z64::TAG => request.check_fits::<Z64>()?,
            Scalar::TAG => request.check_fits::<Scalar>()?,
            _ => return Err(MpcError::Malformed { what: WHAT, reason: "unknown ring" }),
        }
        Ok(Self { session, roster, party, ring, request })
    }

    fn binding(&self) -> StockBinding {
        // Rosters hold at most u16::MAX parties (from_bytes and the mesh both check).
        StockBinding { session: self.session, party: self.party, parties: self.roster.len() as u16 }
    }
}

/// Fetches this site's stock over the ring `R` from the dealer at `dealer_addr` (whose
/// certificate must name `dealer_name`), for the mesh `mesh`.
pub fn fetch_stock<R: Ring>(
    dealer_addr: &str,
    dealer_name: &str,
    identity: &TlsIdentity,
    mesh: &TlsMesh,
    request: DealRequest,
    options: &TlsOptions,
) -> Result<DealerStock<R>, MpcError> {
    request.check_fits::<R>()?;
    let party = u16::try_from(mesh.party())
        .map_err(|_| MpcError::InvalidInput("at most 65535 parties".into()))?;
    let ask = StockRequest {
        session: mesh.session(),
        roster: mesh.names().to_vec(),
        party,
        ring: R::TAG,
        request,
    };
    request_stock(dealer_addr, dealer_name, identity, &ask, options)
}

/// Sends `ask` to the dealer and returns the stock it answers with, checked against the
/// request's session and seat. [`fetch_stock`] builds `ask` from a mesh; this entry point is
/// for sites that keep their mesh's details themselves.
pub fn request_stock<R: Ring>(
    dealer_addr: &str,
    dealer_name: &str,
    identity: &TlsIdentity,
    ask: &StockRequest,
    options: &TlsOptions,
) -> Result<DealerStock<R>, MpcError> {
    if ask.ring != R::TAG {
        return Err(MpcError::InvalidInput("the request names another ring".into()));
    }
    let link = TlsLink::connect(dealer_addr, dealer_name, identity, options)?;
    link.send(&ask.to_bytes())?;
    let stock = zeroize::Zeroizing::new(link.receive(options.setup_timeout, 0)?);
    DealerStock::from_bytes(&stock, ask.binding())
}

/// What [`serve_stock`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealerReport {
    /// The names of the sites served, in party order.
    pub roster: Vec<String>,
    /// The material each received.
    pub request: DealRequest,
    /// Requests refused along the way.
    pub refused: usize,
}

/// Serves one group of `parties` sites on `listener` (see the module documentation), drawing
/// the material from `rng`; records one `ProtocolRun` event (`preprocessing-dealer`, the
/// dealer numbered `parties`) in `context`.
pub fn serve_stock(
    listener: &TcpListener,
    identity: &TlsIdentity,
    parties: usize,
    options: &TlsOptions,
    rng: &mut SecureRng,
    context: &RunContext<'_>,
) -> Result<DealerReport, MpcError> {
    let result = serve_group(listener, identity, parties, options, rng);
    let outcome = match &result {
        Ok(_) => "completed".to_owned(),
        Err(error) => format!("failed: {}", super::error_code(error)),
    };
    let event = run_event(
        context.principal,
        "preprocessing-dealer",
        SEMI_HONEST_WITH_DEALER,
        parties,
        parties,
        &outcome,
    );
    tracing::info!(parties, outcome = %outcome, "preprocessing dealer");
    context.audit.record(&event).map_err(|e| MpcError::Audit(e.to_string()))?;
    result
}

type Group = Vec<(u16, TlsLink)>;

fn serve_group(
    listener: &TcpListener,
    identity: &TlsIdentity,
    parties: usize,
    options: &TlsOptions,
    rng: &mut SecureRng,
) -> Result<DealerReport, MpcError> {
    if !(2..=usize::from(u16::MAX)).contains(&parties) {
        return Err(MpcError::InvalidInput("a dealer serves 2 to 65535 parties".into()));
    }
    let deadline = Instant::now() + options.setup_timeout;
    let mut groups: HashMap<(Vec<u8>, StockGroupKey), Group> = HashMap::new();
    let mut refused = 0;
    loop {
        let socket = accept_until(listener, deadline)?;
        let admitted = admit(socket, identity, parties, options);
        let (ask, link) = match admitted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "refused a stock request");
                refused += 1;
                continue;
            }
        };
        let key = (ask.session.to_vec(), StockGroupKey::of(&ask));
        let group = groups.entry(key).or_default();
        if group.iter().any(|(p, _)| *p == ask.party) {
            tracing::warn!(party = ask.party, "refused a second request for one seat");
            refused += 1;
            continue;
        }
        group.push((ask.party, link));
        if group.len() == parties {
            let group = std::mem::take(group);
            deal_to(&ask, group, rng)?;
            return Ok(DealerReport { roster: ask.roster, request: ask.request, refused });
        }
    }
}

/// What every request of one group must share besides the session.
#[derive(Clone, PartialEq, Eq, Hash)]
struct StockGroupKey {
    roster: Vec<String>,
    ring: u8,
    request: DealRequest,
}

impl StockGroupKey {
    fn of(ask: &StockRequest) -> Self {
        Self { roster: ask.roster.clone(), ring: ask.ring, request: ask.request }
    }
}

/// Handshake, request, certificate name.
fn admit(
    socket: std::net::TcpStream,
    identity: &TlsIdentity,
    parties: usize,
    options: &TlsOptions,
) -> Result<(StockRequest, TlsLink), MpcError> {
    let link = TlsLink::accept(socket, identity, options)?;
    let ask = StockRequest::from_bytes(&link.receive(options.setup_timeout, 0)?)?;
    if ask.roster.len() != parties {
        return Err(MpcError::ProtocolMismatch("the site's mesh has another number of parties"));
    }
    link.check_peer_name(&ask.roster[usize::from(ask.party)])?;
    Ok((ask, link))
}

fn deal_to(ask: &StockRequest, group: Group, rng: &mut SecureRng) -> Result<(), MpcError> {
    let parties = ask.roster.len();
    let dealer = TrustedDealer::new(parties)?;
    let stocks: Vec<zeroize::Zeroizing<Vec<u8>>> = match ask.ring {
        Z64::TAG => encode_all(dealer.deal::<Z64>(ask.request, rng), ask),
        _ => encode_all(dealer.deal::<Scalar>(ask.request, rng), ask),
    };
    for (party, link) in group {
        link.send(&stocks[usize::from(party)])?;
    }
    Ok(())
}

fn encode_all<R: Ring>(
    stocks: Vec<DealerStock<R>>,
    ask: &StockRequest,
) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
    stocks
        .iter()
        .enumerate()
        .map(|(party, stock)| {
            // party < parties <= u16::MAX.
            let binding = StockBinding { party: party as u16, ..ask.binding() };
            stock.to_bytes(binding)
        })
        .collect()
}

/// The binding of a stock dealt for this party of `mesh` (to check stock bytes obtained
/// otherwise with [`DealerStock::from_bytes`]).
pub fn binding_of(mesh: &TlsMesh) -> Result<StockBinding, MpcError> {
    let party = u16::try_from(mesh.party())
        .map_err(|_| MpcError::InvalidInput("at most 65535 parties".into()))?;
    let parties = u16::try_from(mesh.parties())
        .map_err(|_| MpcError::InvalidInput("at most 65535 parties".into()))?;
    Ok(StockBinding { session: mesh.session(), party, parties })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_refuse_bad_rosters() {
        let ask = StockRequest {
            session: [3; 16],
            roster: vec!["hospital-a".into(), "hospital-b".into()],
            party: 1,
            ring: Z64::TAG,
            request: DealRequest { triples: 2, ..DealRequest::default() },
        };
        let bytes = ask.to_bytes();
        assert_eq!(StockRequest::from_bytes(&bytes).unwrap(), ask);
        let mut seat = bytes.clone();
        seat[26] = 2; // party 2 of 2
        assert!(StockRequest::from_bytes(&seat).is_err());
        let mut ring = bytes.clone();
        ring[9] = 7;
        assert!(StockRequest::from_bytes(&ring).is_err());
        let huge = StockRequest {
            request: DealRequest { triples: 1 << 30, ..DealRequest::default() },
            ..ask.clone()
        };
        assert!(matches!(
            StockRequest::from_bytes(&huge.to_bytes()),
            Err(MpcError::InvalidInput(_))
        ));
        let bad_name = StockRequest { roster: vec!["a b".into(), "c".into()], ..ask };
        assert!(StockRequest::from_bytes(&bad_name.to_bytes()).is_err());
    }
}
