//! The replicated data tree: znodes with their data, [`Stat`] and children, the ephemerals
//! of each session, and the live sessions with their timeouts. Every server holds one and
//! applies the committed [`Txn`]s to it in zxid order ([`DataTree::apply`]); the same
//! transactions give the same tree everywhere, so nothing here depends on a server's own
//! clock or randomness — times and versions come in the transactions.
//!
//! Applying returns the [`Outcome`] the client is answered with and the [`Trigger`]s that
//! fire watches; watches themselves are per server (a client's watches live on the server
//! it is connected to) and kept apart, in [`watches`](super::watches).
//!
//! Like ZooKeeper's `DataTree`, the tree starts with `/zookeeper`, `/zookeeper/quota` and
//! `/zookeeper/config` (empty, all-zero Stats), which clients see when they list `/`.

use std::collections::{BTreeMap, BTreeSet};

use jute::{ErrorCode, OpCode, Response, Stat, event_type};

use super::txn::{Txn, TxnOp};

/// The nodes every tree starts with, besides `/`; none of them may be created or deleted.
pub const SYSTEM_NODES: [&str; 3] = ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    data: Vec<u8>,
    /// Every field but `data_length` and `num_children`, which are derived when read.
    stat: Stat,
    children: BTreeSet<String>,
}

impl Node {
    fn stat(&self) -> Stat {
        Stat {
            data_length: len_i32(self.data.len()),
            num_children: len_i32(self.children.len()),
            ..self.stat
        }
    }
}

/// A length as a Stat field: a frame caps data at 1 MiB and children at what fits in memory,
/// far below `i32::MAX`; saturating only keeps an impossible case from wrapping.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// The parent of a path other than `/` (`/a` → `/`, `/a/b` → `/a`), and the child's name.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let at = path.rfind('/')?;
    let parent = if at == 0 { "/" } else { &path[..at] };
    (path != "/").then_some((parent, &path[at + 1..]))
}

/// What a transaction did, for the reply to its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    SessionCreated {
        session: i64,
        timeout_ms: i32,
    },
    SessionClosed {
        session: i64,
    },
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    /// setData: the node's new Stat.
    DataSet(Stat),
    /// A `jute::ErrorCode` number.
    Error(i32),
}

impl Outcome {
    /// The reply's `err` and body, for a request of operation `op`: create and create2 both
    /// create, but only create2's reply carries the Stat.
    pub fn reply(&self, op: OpCode) -> (i32, Response) {
        match self {
            Outcome::Error(code) => (*code, Response::Empty),
            Outcome::Created { path, stat } if op == OpCode::Create2 => (
                0,
                Response::Create2 {
                    path: path.clone(),
                    stat: *stat,
                },
            ),
            Outcome::Created { path, .. } => (0, Response::Create { path: path.clone() }),
            Outcome::DataSet(stat) => (0, Response::Stat(*stat)),
            Outcome::SessionCreated { .. } | Outcome::SessionClosed { .. } | Outcome::Deleted => {
                (0, Response::Empty)
            }
        }
    }
}

/// A change that fires watches: `kind` (a `jute::event_type`) happened at `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub path: String,
    pub kind: i32,
}

/// The result of applying one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub outcome: Outcome,
    pub triggers: Vec<Trigger>,
}

/// The replicated state of a `zab` server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTree {
    nodes: BTreeMap<String, Node>,
    /// Each session's ephemeral nodes.
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    /// Live sessions and their negotiated timeouts: what a new leader rebuilds its session
    /// table from.
    sessions: BTreeMap<i64, i32>,
    last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    pub fn new() -> DataTree {
        let empty = Node {
            data: Vec::new(),
            stat: Stat::default(),
            children: BTreeSet::new(),
        };
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_string(), empty.clone());
        for path in SYSTEM_NODES {
            nodes.insert(path.to_string(), empty.clone());
            if let Some((parent, name)) = split_path(path) {
                if let Some(p) = nodes.get_mut(parent) {
                    p.children.insert(name.to_string());
                }
            }
        }
        DataTree {
            nodes,
            ephemerals: BTreeMap::new(),
            sessions: BTreeMap::new(),
            last_zxid: 0,
        }
    }

    /// The zxid of the last transaction applied (0 before any): what replies and pings carry.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(Node::stat)
    }

    pub fn data(&self, path: &str) -> Option<(&[u8], Stat)> {
        self.nodes.get(path).map(|n| (&n.data[..], n.stat()))
    }

    /// The names of a node's children, in byte order (ZooKeeper gives no order).
    pub fn children(&self, path: &str) -> Option<(Vec<String>, Stat)> {
        self.nodes
            .get(path)
            .map(|n| (n.children.iter().cloned().collect(), n.stat()))
    }

    /// The ephemeral nodes `session` owns.
    pub fn ephemerals(&self, session: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Live sessions and their timeouts in milliseconds.
    pub fn sessions(&self) -> &BTreeMap<i64, i32> {
        &self.sessions
    }

    /// Applies the transaction `zxid`. A transaction the leader prepared never fails here but
    /// with its own [`TxnOp::Error`]; one that does not fit the tree anyway (a create whose
    /// parent is gone, say) changes nothing and is answered with the error ZooKeeper's
    /// `DataTree` would raise, the same on every replica.
    pub fn apply(&mut self, zxid: i64, txn: &Txn) -> Applied {
        self.last_zxid = self.last_zxid.max(zxid);
        let mut triggers = Vec::new();
        let time = txn.header.time_ms;
        let outcome = match &txn.op {
            TxnOp::CreateSession {
                session,
                timeout_ms,
            } => {
                self.sessions.insert(*session, *timeout_ms);
                Outcome::SessionCreated {
                    session: *session,
                    timeout_ms: *timeout_ms,
                }
            }
            TxnOp::CloseSession { session } => {
                // In reverse byte order, the same on every replica (ZooKeeper walks a hash
                // set). Ephemerals have no children, so each delete succeeds.
                let paths = self.ephemerals.remove(session).unwrap_or_default();
                for path in paths.iter().rev() {
                    let _ = self.delete(path, zxid, &mut triggers);
                }
                self.sessions.remove(session);
                Outcome::SessionClosed { session: *session }
            }
            TxnOp::Create {
                path,
                data,
                ephemeral_owner,
                parent_cversion,
            } => self
                .create(
                    path,
                    data,
                    *ephemeral_owner,
                    *parent_cversion,
                    zxid,
                    time,
                    &mut triggers,
                )
                .map_or_else(error, |stat| Outcome::Created {
                    path: path.clone(),
                    stat,
                }),
            TxnOp::Delete { path } => self
                .delete(path, zxid, &mut triggers)
                .map_or_else(error, |()| Outcome::Deleted),
            TxnOp::SetData {
                path,
                data,
                version,
            } => match self.nodes.get_mut(path) {
                None => error(ErrorCode::NoNode),
                Some(node) => {
                    node.data.clone_from(data);
                    node.stat.version = *version;
                    node.stat.mzxid = zxid;
                    node.stat.mtime = time;
                    triggers.push(Trigger {
                        path: path.clone(),
                        kind: event_type::NODE_DATA_CHANGED,
                    });
                    Outcome::DataSet(node.stat())
                }
            },
            TxnOp::Error { code } => Outcome::Error(*code),
        };
        Applied { outcome, triggers }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: &[u8],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<Stat, ErrorCode> {
        let (parent_path, name) = split_path(path).ok_or(ErrorCode::BadArguments)?;
        if self.nodes.contains_key(path) {
            return Err(ErrorCode::NodeExists);
        }
        // An ephemeral whose session closed between prepare and apply would outlive it.
        if owner != 0 && !self.sessions.contains_key(&owner) {
            return Err(ErrorCode::SessionExpired);
        }
        let parent = self.nodes.get_mut(parent_path).ok_or(ErrorCode::NoNode)?;
        if parent.stat.ephemeral_owner != 0 {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        parent.children.insert(name.to_string());
        if parent_cversion > parent.stat.cversion {
            parent.stat.cversion = parent_cversion;
            parent.stat.pzxid = zxid;
        }
        let stat = Stat {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            ephemeral_owner: owner,
            pzxid: zxid,
            ..Stat::default()
        };
        let node = Node {
            data: data.to_vec(),
            stat,
            children: BTreeSet::new(),
        };
        let stat = node.stat();
        self.nodes.insert(path.to_string(), node);
        if owner != 0 {
            self.ephemerals
                .entry(owner)
                .or_default()
                .insert(path.to_string());
        }
        triggers.push(Trigger {
            path: path.to_string(),
            kind: event_type::NODE_CREATED,
        });
        triggers.push(Trigger {
            path: parent_path.to_string(),
            kind: event_type::NODE_CHILDREN_CHANGED,
        });
        Ok(stat)
    }

    fn delete(
        &mut self,
        path: &str,
        zxid: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<(), ErrorCode> {
        let (parent_path, name) = split_path(path).ok_or(ErrorCode::BadArguments)?;
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        // The leader checks this; a tree never keeps children whose parent is gone.
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        let owner = node.stat.ephemeral_owner;
        self.nodes.remove(path);
        if let Some(parent) = self.nodes.get_mut(parent_path) {
            parent.children.remove(name);
            // Deleting does not change cversion (only creates do), only pzxid.
            parent.stat.pzxid = parent.stat.pzxid.max(zxid);
        }
        if owner != 0 {
            if let Some(paths) = self.ephemerals.get_mut(&owner) {
                paths.remove(path);
                if paths.is_empty() {
                    self.ephemerals.remove(&owner);
                }
            }
        }
        triggers.push(Trigger {
            path: path.to_string(),
            kind: event_type::NODE_DELETED,
        });
        triggers.push(Trigger {
            path: parent_path.to_string(),
            kind: event_type::NODE_CHILDREN_CHANGED,
        });
        Ok(())
    }
}

fn error(code: ErrorCode) -> Outcome {
    Outcome::Error(code.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::txn::TxnHeader;

    fn txn(time_ms: i64, op: TxnOp) -> Txn {
        Txn {
            header: TxnHeader {
                session: 1,
                xid: 1,
                time_ms,
            },
            op,
        }
    }

    fn create(path: &str, owner: i64, parent_cversion: i32) -> TxnOp {
        TxnOp::Create {
            path: path.into(),
            data: b"d".to_vec(),
            ephemeral_owner: owner,
            parent_cversion,
        }
    }

    #[test]
    fn starts_with_zookeepers_system_nodes() {
        let tree = DataTree::new();
        assert_eq!(tree.children("/").unwrap().0, ["zookeeper"]);
        assert_eq!(tree.children("/zookeeper").unwrap().0, ["config", "quota"]);
        assert_eq!(tree.stat("/").unwrap().num_children, 1);
        assert_eq!(tree.stat("/").unwrap().cversion, 0);
    }

    #[test]
    fn create_sets_stats_and_the_parents_cversion_and_pzxid() {
        let mut tree = DataTree::new();
        let applied = tree.apply(5, &txn(100, create("/a", 0, 1)));
        let stat = tree.stat("/a").unwrap();
        assert_eq!(
            applied.outcome,
            Outcome::Created {
                path: "/a".into(),
                stat
            }
        );
        assert_eq!(
            (stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime),
            (5, 5, 5, 100, 100)
        );
        assert_eq!(
            (
                stat.version,
                stat.cversion,
                stat.data_length,
                stat.num_children
            ),
            (0, 0, 1, 0)
        );
        let root = tree.stat("/").unwrap();
        assert_eq!((root.cversion, root.pzxid, root.num_children), (1, 5, 2));
        assert_eq!(
            applied.triggers,
            [
                Trigger {
                    path: "/a".into(),
                    kind: event_type::NODE_CREATED
                },
                Trigger {
                    path: "/".into(),
                    kind: event_type::NODE_CHILDREN_CHANGED
                },
            ]
        );
        assert_eq!(
            tree.apply(6, &txn(100, create("/a", 0, 2))).outcome,
            error(ErrorCode::NodeExists)
        );
        assert_eq!(
            tree.apply(7, &txn(100, create("/x/y", 0, 1))).outcome,
            error(ErrorCode::NoNode)
        );
        assert_eq!(tree.last_zxid(), 7);
    }

    #[test]
    fn set_data_and_delete() {
        let mut tree = DataTree::new();
        tree.apply(1, &txn(10, create("/a", 0, 1)));
        let set = TxnOp::SetData {
            path: "/a".into(),
            data: b"xyz".to_vec(),
            version: 1,
        };
        let Outcome::DataSet(stat) = tree.apply(2, &txn(20, set)).outcome else {
            panic!()
        };
        assert_eq!(
            (
                stat.version,
                stat.mzxid,
                stat.mtime,
                stat.data_length,
                stat.czxid
            ),
            (1, 2, 20, 3, 1)
        );
        assert_eq!(tree.data("/a").unwrap().0, b"xyz");
        let deleted = tree.apply(3, &txn(30, TxnOp::Delete { path: "/a".into() }));
        assert_eq!(deleted.outcome, Outcome::Deleted);
        assert_eq!(tree.stat("/a"), None);
        let root = tree.stat("/").unwrap();
        // Deleting moves pzxid, not cversion: the next sequential name never repeats.
        assert_eq!((root.cversion, root.pzxid, root.num_children), (1, 3, 1));
        assert_eq!(
            tree.apply(4, &txn(40, TxnOp::Delete { path: "/a".into() }))
                .outcome,
            error(ErrorCode::NoNode)
        );
    }

    #[test]
    fn ephemerals_go_with_their_session_and_have_no_children() {
        let mut tree = DataTree::new();
        tree.apply(
            1,
            &txn(
                0,
                TxnOp::CreateSession {
                    session: 9,
                    timeout_ms: 4000,
                },
            ),
        );
        tree.apply(2, &txn(0, create("/e", 9, 1)));
        tree.apply(3, &txn(0, create("/p", 0, 2)));
        tree.apply(4, &txn(0, create("/p/e", 9, 1)));
        assert_eq!(tree.ephemerals(9).collect::<Vec<_>>(), ["/e", "/p/e"]);
        assert_eq!(tree.stat("/e").unwrap().ephemeral_owner, 9);
        assert_eq!(
            tree.apply(5, &txn(0, create("/e/c", 0, 1))).outcome,
            error(ErrorCode::NoChildrenForEphemerals)
        );
        let closed = tree.apply(6, &txn(0, TxnOp::CloseSession { session: 9 }));
        assert_eq!(closed.outcome, Outcome::SessionClosed { session: 9 });
        assert_eq!((tree.stat("/e"), tree.stat("/p/e")), (None, None));
        assert!(tree.stat("/p").is_some());
        assert_eq!(tree.ephemerals(9).count(), 0);
        assert!(tree.sessions().is_empty());
        let deleted: Vec<_> = closed
            .triggers
            .iter()
            .filter(|t| t.kind == event_type::NODE_DELETED)
            .map(|t| t.path.as_str())
            .collect();
        assert_eq!(deleted, ["/p/e", "/e"]);
        // An ephemeral of a session that is gone is refused, on every replica alike.
        assert_eq!(
            tree.apply(7, &txn(0, create("/late", 9, 3))).outcome,
            error(ErrorCode::SessionExpired)
        );
    }

    #[test]
    fn outcomes_become_replies_for_their_op() {
        let stat = Stat {
            czxid: 3,
            ..Stat::default()
        };
        let created = Outcome::Created {
            path: "/a".into(),
            stat,
        };
        assert_eq!(
            created.reply(OpCode::Create),
            (0, Response::Create { path: "/a".into() })
        );
        assert_eq!(
            created.reply(OpCode::Create2),
            (
                0,
                Response::Create2 {
                    path: "/a".into(),
                    stat
                }
            )
        );
        assert_eq!(
            Outcome::Error(-101).reply(OpCode::Delete),
            (-101, Response::Empty)
        );
        assert_eq!(
            Outcome::DataSet(stat).reply(OpCode::SetData),
            (0, Response::Stat(stat))
        );
    }

    #[test]
    fn split_path_names_parent_and_child() {
        assert_eq!(split_path("/a"), Some(("/", "a")));
        assert_eq!(split_path("/a/b"), Some(("/a", "b")));
        assert_eq!(split_path("/"), None);
        assert_eq!(split_path("a"), None);
    }
}
