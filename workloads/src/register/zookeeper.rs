//! The register workload's client for ZooKeeper: one znode per key under [`REGISTER_DIR`], its
//! data the register's value in decimal.
//!
//! * **write** = `setData` (or `create`, the first time);
//! * **cas** = `getData`, then — if the value is `from` — `setData` with the version read: it
//!   applies only if nothing changed the znode in between. A value other than `from` is a
//!   definite failure (linearized at the read); a changed version is read again, within the
//!   operation's timeout;
//! * **read** = `sync`, then `getData`: ZooKeeper serves reads from the server the session is
//!   on, which may lag the leader; `sync` makes that server catch up with everything the
//!   leader committed before it, which makes the read linearizable. Without it (follower reads)
//!   a read can be stale.
//!
//! Each client keeps a session of its own with one server, its home node (Jepsen binds clients
//! to nodes): a server cut off from the quorum cannot serve it, and reads through a lagging
//! follower are what the scenario probes. Outcomes follow the history's rules: `ok` when the
//! server answered, `fail` when it refused, `info` when the answer may have been lost.

use std::time::Duration;

use checkers::history::EventType;
use serde_json::Value;
use tokio::time::Instant;
use zookeeper_client::{Acls, Client, CreateMode, Error};

use super::client::Outcome;
use super::generator::{Invocation, Op};
use crate::workload::Node;
use crate::zookeeper::{self, bounded, definite};

/// The registers' parent znode.
pub const REGISTER_DIR: &str = "/faultline-register";

/// The target option that turns the `sync` before reads off.
pub const FOLLOWER_READS: &str = "follower-reads";

/// The session timeout clients ask for.
const SESSION_TIMEOUT: Duration = Duration::from_secs(2);

/// One client's session with its home node.
pub struct ZkRegister {
    node: Node,
    op_timeout: Duration,
    /// `sync` before each read.
    sync_reads: bool,
    client: Option<Client>,
}

/// What one attempt at an operation established.
enum Attempt {
    Done(Value),
    /// Certainly not done.
    Refused(String),
    /// Perhaps done.
    Unknown(String),
}

fn from_error(e: Error) -> Attempt {
    if definite(&e) {
        Attempt::Refused(e.to_string())
    } else {
        Attempt::Unknown(e.to_string())
    }
}

/// A register's value from a znode's data (empty data: the register was never written).
fn parse(data: &[u8]) -> Result<Value, String> {
    if data.is_empty() {
        return Ok(Value::Null);
    }
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map(Value::from)
        .ok_or_else(|| format!("a register holds {data:?}, not a number"))
}

impl ZkRegister {
    pub fn new(node: Node, op_timeout: Duration, sync_reads: bool) -> ZkRegister {
        ZkRegister {
            node,
            op_timeout,
            sync_reads,
            client: None,
        }
    }

    /// Performs `inv`.
    pub async fn invoke(&mut self, inv: Invocation) -> Outcome {
        let deadline = Instant::now() + self.op_timeout;
        let attempt = match self.session().await {
            Ok(client) => self.attempt(&client, inv, deadline).await,
            // No session: nothing was sent.
            Err(error) => Attempt::Refused(error),
        };
        let (kind, value, error) = match attempt {
            Attempt::Done(v) if inv.op == Op::Read => (EventType::Ok, v, None),
            Attempt::Done(_) => (EventType::Ok, inv.op.value(), None),
            Attempt::Refused(e) => (EventType::Fail, inv.op.value(), Some(e)),
            Attempt::Unknown(e) => {
                // The session may be wedged: the next operation opens a new one.
                self.client = None;
                (EventType::Info, inv.op.value(), Some(e))
            }
        };
        Outcome {
            kind,
            value,
            error,
            node: self.node.name.clone(),
        }
    }

    async fn session(&mut self) -> Result<Client, String> {
        if let Some(client) = &self.client
            && zookeeper::alive(client)
        {
            return Ok(client.clone());
        }
        self.client = None;
        let hosts = self.node.addr.to_string();
        let client =
            zookeeper::connect(&hosts, SESSION_TIMEOUT, self.op_timeout, REGISTER_DIR).await?;
        self.client = Some(client.clone());
        Ok(client)
    }

    async fn attempt(&self, client: &Client, inv: Invocation, deadline: Instant) -> Attempt {
        let path = format!("{REGISTER_DIR}/{}", inv.key);
        let left = || deadline.saturating_duration_since(Instant::now());
        match inv.op {
            Op::Read => {
                if self.sync_reads
                    && let Err(e) = bounded(left(), client.sync(&path)).await
                {
                    return from_error(e);
                }
                match bounded(left(), client.get_data(&path)).await {
                    Ok((data, _)) => parse(&data).map_or_else(Attempt::Unknown, Attempt::Done),
                    Err(Error::NoNode) => Attempt::Done(Value::Null),
                    Err(e) => from_error(e),
                }
            }
            Op::Write(v) => {
                let data = v.to_string();
                loop {
                    match bounded(left(), client.set_data(&path, data.as_bytes(), None)).await {
                        Ok(_) => return Attempt::Done(Value::Null),
                        Err(Error::NoNode) => {}
                        Err(e) => return from_error(e),
                    }
                    let create = client.create(
                        &path,
                        data.as_bytes(),
                        &CreateMode::Persistent.with_acls(Acls::anyone_all()),
                    );
                    match bounded(left(), create).await {
                        Ok(_) => return Attempt::Done(Value::Null),
                        // Created meanwhile by another client: set it.
                        Err(Error::NodeExists) => {}
                        Err(e) => return from_error(e),
                    }
                }
            }
            Op::Cas { from, to } => loop {
                let (data, stat) = match bounded(left(), client.get_data(&path)).await {
                    Ok(read) => read,
                    Err(Error::NoNode) => return Attempt::Refused("no such register".into()),
                    Err(e) => return from_error(e),
                };
                match parse(&data) {
                    Ok(v) if v == from => {}
                    Ok(_) => return Attempt::Refused("cas-mismatch".into()),
                    Err(e) => return Attempt::Unknown(e),
                }
                let set = client.set_data(&path, to.to_string().as_bytes(), Some(stat.version));
                match bounded(left(), set).await {
                    Ok(_) => return Attempt::Done(Value::Null),
                    // Changed since the read: read again (the change may have written `from`).
                    Err(Error::BadVersion) => {}
                    Err(e) => return from_error(e),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registers_data_is_its_value_in_decimal() {
        assert_eq!(parse(b"42"), Ok(Value::from(42)));
        assert_eq!(parse(b"-7"), Ok(Value::from(-7)));
        assert_eq!(parse(b""), Ok(Value::Null));
        assert!(parse(b"x").is_err());
    }
}
