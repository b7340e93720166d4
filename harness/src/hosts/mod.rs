//! Running nodes on other machines, reached over SSH, with kernel-level faults (docs/hosts.md).
//!
//! A run with `--hosts hosts.toml` places each node on a host of its own ([`remote`]): the
//! harness, the clients and the history stay on this machine (the control machine); each
//! host runs `faultline agent`, which starts the node and hurts it on request.
//!
//! * [`inventory`]: `hosts.toml`, the machines a run may use.
//! * [`ssh`]: the transport, OpenSSH with one multiplexed connection per host.
//! * [`remote`]: a cluster's nodes on their hosts, each driven through its agent.
//! * [`bed`]: the local test bed, namespaces running sshd that stand in for machines.
//! * [`command`]: `faultline hosts up N` and `faultline hosts down`.
//! * [`netns`]: `--net netns`, the nodes in local namespaces reached without SSH.

pub mod bed;
pub mod command;
pub mod inventory;
pub mod netns;
pub mod remote;
pub mod ssh;

pub use remote::Remote;

use targets::descriptor::Descriptor;

use crate::net::CLIENT;
use crate::scenario::Scenario;
use inventory::Inventory;

/// Whether `scenario` (of target `d`, with client links `clients`) can run on `inventory`'s
/// hosts (on local namespaces, without one); if not, one line that says why.
pub fn fits(
    inventory: Option<&Inventory>,
    d: &Descriptor,
    scenario: &Scenario,
    clients: &[String],
) -> Result<(), String> {
    let hosts = inventory.map_or(usize::MAX, |i| i.hosts.len());
    let mut kinds = vec![d];
    let mut nodes = scenario.nodes;
    if let Some(store) = d.store {
        kinds.push(store.descriptor);
        nodes += store.nodes;
    }
    if nodes > hosts {
        return Err(format!(
            "the run has {nodes} nodes and the inventory lists {hosts} hosts: each node needs a host of its own"
        ));
    }
    if let Some(k) = kinds.iter().find(|k| !k.placeable()) {
        return Err(format!(
            "target {} listens on 127.0.0.1 only, so it cannot run on hosts yet",
            k.name
        ));
    }
    if scenario.partition_mode != "blackhole" {
        return Err(format!(
            "partition-mode {}: on hosts a partition drops packets (blackhole); reset is the proxy's",
            scenario.partition_mode
        ));
    }
    let own_links: Vec<&String> = clients.iter().filter(|c| c.as_str() != CLIENT).collect();
    let cuts_clients =
        scenario.standing_partition.is_some() || scenario.nemesis.iter().any(|f| f == "partition");
    let addresses = inventory.map_or(usize::from(bed::CLIENT_ADDRESSES), |i| {
        i.control.client_addresses.len()
    });
    if cuts_clients && own_links.len() > addresses {
        return Err(format!(
            "the {} workload's partitions cut single clients off, which on hosts needs one source address per client: \
             the run has {} clients and there are {addresses} (hosts.toml's [control] client-addresses)",
            scenario.workload,
            own_links.len()
        ));
    }
    Ok(())
}
