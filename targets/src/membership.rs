//! What a consensus core's timing and membership must satisfy before a node starts: the Raft
//! core ([`crate::raft`]) and the ZAB core ([`crate::zab::core`]) check their configurations
//! here, each wrapping the one-line reason in its own start error.

/// Checks that node `id` can run among `voters`, electing after `election_ticks` (a range)
/// of silence and sending heartbeats every `heartbeat_ticks`: it is a voter, no voter is
/// listed twice, the range is non-empty and above 0, and heartbeats come well inside it.
pub(crate) fn check(
    id: u64,
    voters: &[u64],
    election_ticks: (u32, u32),
    heartbeat_ticks: u32,
) -> Result<(), String> {
    let (min, max) = election_ticks;
    if !voters.contains(&id) {
        return Err(format!("node {id} is not among the voters {voters:?}"));
    }
    let mut sorted = voters.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != voters.len() {
        return Err(format!("voters {voters:?} repeat a node"));
    }
    if min == 0 || min > max {
        return Err(format!(
            "election ticks {min}..={max} must be a non-empty range above 0"
        ));
    }
    if heartbeat_ticks == 0 || heartbeat_ticks >= min {
        return Err(format!(
            "heartbeat every {heartbeat_ticks} ticks must be more than 0 and below the election minimum {min}"
        ));
    }
    Ok(())
}
