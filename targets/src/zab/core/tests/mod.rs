//! Tests of the ZAB core: one module per phase of the protocol (`election`, `discovery`,
//! `synchronization`, `broadcast`), one for what clients see (`client`), one for the bug
//! switches (`bugs`) and one of long randomized runs (`random`); each test is named after the
//! property or the scenario it shows. Most run whole ensembles on the in-memory [`network`],
//! which checks ZAB's properties ([`invariants`], whose own tests show each check rejects what
//! it must) after every event of every test; a few drive one node by hand to pin down a rule.

mod invariants;
mod network;

mod broadcast;
mod bugs;
mod client;
mod discovery;
mod election;
mod random;
mod synchronization;

use crate::zab::core::{Body, Config, Link, Message, NodeId, Packet, Persisted, Zab};

/// A node with no network around it, for tests that feed it messages by hand.
fn lone(id: NodeId, n: u64, disk: Persisted) -> Zab {
    Zab::new(network::config(id, n, 0), disk).expect("a valid start")
}

/// A packet on link `link` of epoch `epoch`.
fn packet(from: NodeId, to: NodeId, link: u64, epoch: u64, packet: Packet) -> Message {
    Message {
        from,
        to,
        body: Body::Link(Link {
            id: link,
            epoch,
            packet,
        }),
    }
}

/// The packets in `messages`, with their addressees.
fn packets(messages: &[Message]) -> Vec<(NodeId, &Link)> {
    messages
        .iter()
        .filter_map(|m| match &m.body {
            Body::Link(link) => Some((m.to, link)),
            Body::Notification(_) => None,
        })
        .collect()
}

/// A configuration for `n` nodes with a bug switch flipped.
fn with_bug(bug: crate::zab::core::Bug) -> impl Fn(&mut Config) {
    move |config| config.bug = bug
}
