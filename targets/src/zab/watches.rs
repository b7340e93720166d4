//! One-shot watches, and the reads that set them. Watches are not replicated: a client's
//! watches live on the server it is connected to, which fires them when it applies the
//! transaction that changes what they watch.
//!
//! ```text
//!  getData / exists / getChildren(2) with watch ──serve_read──▶ reply + a watch for the session
//!  tree.apply(zxid, txn).triggers ──Watches::fire──▶ [(session, WatcherEvent)] ──encode_notification──▶ clients
//!  session closed, or its connection gone ──Watches::remove_session
//!  the client dropped a watcher (RemoveWatches) ──Watches::remove
//! ```
//!
//! As in ZooKeeper's server there are two tables. Data watches (set by getData on a node, and
//! by exists whether or not the node exists) fire on NodeCreated, NodeDataChanged and
//! NodeDeleted; child watches (set by getChildren on a node) fire on NodeChildrenChanged and
//! NodeDeleted. A watch fires once and is gone; a session watching a path in both tables gets
//! one event for a delete, not two.

use std::collections::{BTreeMap, BTreeSet};

use jute::{ErrorCode, Request, Response, SetWatches, WatcherEvent, event_type, keeper_state};

use super::tree::{DataTree, Trigger};

/// The watches set through one server, by path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watches {
    data: BTreeMap<String, BTreeSet<i64>>,
    child: BTreeMap<String, BTreeSet<i64>>,
}

fn event(kind: i32, path: &str) -> WatcherEvent {
    WatcherEvent {
        kind,
        state: keeper_state::SYNC_CONNECTED,
        path: path.to_string(),
    }
}

impl Watches {
    pub fn new() -> Watches {
        Watches::default()
    }

    pub fn add_data(&mut self, session: i64, path: &str) {
        self.data
            .entry(path.to_string())
            .or_default()
            .insert(session);
    }

    pub fn add_child(&mut self, session: i64, path: &str) {
        self.child
            .entry(path.to_string())
            .or_default()
            .insert(session);
    }

    /// How many watches are set, of both kinds.
    pub fn len(&self) -> usize {
        self.data
            .values()
            .chain(self.child.values())
            .map(BTreeSet::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.child.is_empty()
    }

    /// Drops every watch of `session`: it closed, expired, or its connection went away.
    pub fn remove_session(&mut self, session: i64) {
        for table in [&mut self.data, &mut self.child] {
            table.retain(|_, sessions| {
                sessions.remove(&session);
                !sessions.is_empty()
            });
        }
    }

    /// Removes `session`'s watch on `path` of `kind` (ZooKeeper's `WatcherType`: 1 children,
    /// 2 data, 3 any) — what a client asks with RemoveWatches when it drops a watcher that has
    /// not fired. Whether there was one to remove (ZooKeeper answers NOWATCHER if not).
    pub fn remove(&mut self, session: i64, path: &str, kind: i32) -> bool {
        let mut removed = false;
        let tables = [(1, &mut self.child), (2, &mut self.data)];
        for (table_kind, table) in tables {
            if kind != table_kind && kind != 3 {
                continue;
            }
            if let Some(sessions) = table.get_mut(path) {
                removed |= sessions.remove(&session);
                if sessions.is_empty() {
                    table.remove(path);
                }
            }
        }
        removed
    }

    /// Fires the watches a transaction's triggers reach and removes them: the notifications to
    /// send, each to its session, in trigger order and then by session.
    pub fn fire(&mut self, triggers: &[Trigger]) -> Vec<(i64, WatcherEvent)> {
        let mut out = Vec::new();
        for t in triggers {
            let mut sessions = BTreeSet::new();
            if matches!(
                t.kind,
                event_type::NODE_CREATED | event_type::NODE_DATA_CHANGED | event_type::NODE_DELETED
            ) {
                sessions.extend(self.data.remove(&t.path).unwrap_or_default());
            }
            if matches!(
                t.kind,
                event_type::NODE_CHILDREN_CHANGED | event_type::NODE_DELETED
            ) {
                sessions.extend(self.child.remove(&t.path).unwrap_or_default());
            }
            out.extend(sessions.into_iter().map(|s| (s, event(t.kind, &t.path))));
        }
        out
    }

    /// Re-registers the watches a client had on its previous server (`SetWatches` on
    /// reconnect), as ZooKeeper's `DataTree.setWatches` does: a watch whose node changed after
    /// `relative_zxid` (the last zxid the client saw) fires at once — those events are
    /// returned — and the others are set. Persistent watches are not supported and ignored.
    pub fn restore(&mut self, tree: &DataTree, session: i64, w: &SetWatches) -> Vec<WatcherEvent> {
        let mut fired = Vec::new();
        for path in &w.data {
            match tree.stat(path) {
                None => fired.push(event(event_type::NODE_DELETED, path)),
                Some(s) if s.mzxid > w.relative_zxid => {
                    fired.push(event(event_type::NODE_DATA_CHANGED, path))
                }
                Some(_) => self.add_data(session, path),
            }
        }
        for path in &w.exist {
            match tree.stat(path) {
                Some(_) => fired.push(event(event_type::NODE_CREATED, path)),
                None => self.add_data(session, path),
            }
        }
        for path in &w.child {
            match tree.stat(path) {
                None => fired.push(event(event_type::NODE_DELETED, path)),
                Some(s) if s.pzxid > w.relative_zxid => {
                    fired.push(event(event_type::NODE_CHILDREN_CHANGED, path))
                }
                Some(_) => self.add_child(session, path),
            }
        }
        fired
    }
}

/// Answers a read from the local tree, setting the watch it asks for: the reply's `err` and
/// body. `None` for requests that are not reads of the tree (writes, ping, sync, …). As in
/// ZooKeeper, exists sets its watch even when the node is missing (to fire on its creation);
/// getData and getChildren set none on a missing node.
pub fn serve_read(
    tree: &DataTree,
    watches: &mut Watches,
    session: i64,
    request: &Request,
) -> Option<(i32, Response)> {
    let no_node = (ErrorCode::NoNode.code(), Response::Empty);
    Some(match request {
        Request::Exists { path, watch } => {
            if *watch {
                watches.add_data(session, path);
            }
            tree.stat(path)
                .map_or(no_node, |stat| (0, Response::Stat(stat)))
        }
        Request::GetData { path, watch } => match tree.data(path) {
            None => no_node,
            Some((data, stat)) => {
                if *watch {
                    watches.add_data(session, path);
                }
                (
                    0,
                    Response::GetData {
                        data: data.to_vec(),
                        stat,
                    },
                )
            }
        },
        Request::GetChildren { path, watch } | Request::GetChildren2 { path, watch } => {
            match tree.children(path) {
                None => no_node,
                Some((children, stat)) => {
                    if *watch {
                        watches.add_child(session, path);
                    }
                    if matches!(request, Request::GetChildren2 { .. }) {
                        (0, Response::GetChildren2 { children, stat })
                    } else {
                        (0, Response::GetChildren { children })
                    }
                }
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::txn::{Txn, TxnHeader, TxnOp};

    fn apply(tree: &mut DataTree, zxid: i64, op: TxnOp) -> Vec<Trigger> {
        tree.apply(
            zxid,
            &Txn {
                header: TxnHeader {
                    session: 1,
                    xid: 0,
                    time_ms: 0,
                },
                op,
            },
        )
        .triggers
    }

    fn create(path: &str, cv: i32) -> TxnOp {
        TxnOp::Create {
            path: path.into(),
            data: vec![],
            ephemeral_owner: 0,
            parent_cversion: cv,
        }
    }

    fn read(tree: &DataTree, w: &mut Watches, session: i64, request: Request) -> i32 {
        serve_read(tree, w, session, &request).unwrap().0
    }

    #[test]
    fn watches_fire_once_each_to_their_session() {
        let mut tree = DataTree::new();
        let mut w = Watches::new();
        // An exists watch on a missing node fires on its creation; getData on it sets nothing.
        assert_eq!(
            read(
                &tree,
                &mut w,
                1,
                Request::Exists {
                    path: "/a".into(),
                    watch: true
                }
            ),
            -101
        );
        assert_eq!(
            read(
                &tree,
                &mut w,
                2,
                Request::GetData {
                    path: "/a".into(),
                    watch: true
                }
            ),
            -101
        );
        assert_eq!(
            read(
                &tree,
                &mut w,
                3,
                Request::GetChildren {
                    path: "/".into(),
                    watch: true
                }
            ),
            0
        );
        assert_eq!(w.len(), 2);
        let fired = w.fire(&apply(&mut tree, 1, create("/a", 1)));
        assert_eq!(
            fired,
            [
                (1, event(event_type::NODE_CREATED, "/a")),
                (3, event(event_type::NODE_CHILDREN_CHANGED, "/"))
            ]
        );
        assert!(w.is_empty());
        // Fired watches are gone: the next change notifies no one.
        assert!(w.fire(&apply(&mut tree, 2, create("/b", 2))).is_empty());
    }

    #[test]
    fn set_data_and_delete_fire_data_and_child_watches_once_per_session() {
        let mut tree = DataTree::new();
        apply(&mut tree, 1, create("/a", 1));
        let mut w = Watches::new();
        read(
            &tree,
            &mut w,
            1,
            Request::GetData {
                path: "/a".into(),
                watch: true,
            },
        );
        let set = TxnOp::SetData {
            path: "/a".into(),
            data: b"x".to_vec(),
            version: 1,
        };
        assert_eq!(
            w.fire(&apply(&mut tree, 2, set)),
            [(1, event(event_type::NODE_DATA_CHANGED, "/a"))]
        );
        read(
            &tree,
            &mut w,
            1,
            Request::GetData {
                path: "/a".into(),
                watch: true,
            },
        );
        read(
            &tree,
            &mut w,
            1,
            Request::GetChildren2 {
                path: "/a".into(),
                watch: true,
            },
        );
        read(
            &tree,
            &mut w,
            2,
            Request::Exists {
                path: "/a".into(),
                watch: true,
            },
        );
        read(
            &tree,
            &mut w,
            2,
            Request::GetChildren {
                path: "/".into(),
                watch: true,
            },
        );
        let fired = w.fire(&apply(&mut tree, 3, TxnOp::Delete { path: "/a".into() }));
        assert_eq!(
            fired,
            [
                (1, event(event_type::NODE_DELETED, "/a")),
                (2, event(event_type::NODE_DELETED, "/a")),
                (2, event(event_type::NODE_CHILDREN_CHANGED, "/")),
            ]
        );
        assert!(w.is_empty());
    }

    #[test]
    fn a_closed_sessions_watches_are_dropped() {
        let tree = DataTree::new();
        let mut w = Watches::new();
        read(
            &tree,
            &mut w,
            1,
            Request::Exists {
                path: "/a".into(),
                watch: true,
            },
        );
        read(
            &tree,
            &mut w,
            2,
            Request::Exists {
                path: "/a".into(),
                watch: true,
            },
        );
        read(
            &tree,
            &mut w,
            1,
            Request::GetChildren {
                path: "/".into(),
                watch: true,
            },
        );
        w.remove_session(1);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w.fire(&[Trigger {
                path: "/a".into(),
                kind: event_type::NODE_CREATED
            }]),
            [(2, event(event_type::NODE_CREATED, "/a"))]
        );
    }

    #[test]
    fn removed_watches_are_gone_by_kind() {
        let mut w = Watches::new();
        w.add_data(1, "/a");
        w.add_child(1, "/a");
        w.add_data(2, "/a");
        assert!(!w.remove(1, "/b", 3), "no watch there");
        assert!(w.remove(1, "/a", 2));
        assert!(!w.remove(1, "/a", 2), "removed already");
        assert_eq!(w.len(), 2);
        assert!(w.remove(1, "/a", 3));
        assert_eq!(w.len(), 1);
        assert!(w.remove(2, "/a", 3));
        assert!(w.is_empty());
    }

    #[test]
    fn restored_watches_fire_for_what_changed_since_the_clients_zxid() {
        let mut tree = DataTree::new();
        apply(&mut tree, 1, create("/old", 1));
        apply(&mut tree, 5, create("/new", 2));
        let mut w = Watches::new();
        let fired = w.restore(
            &tree,
            9,
            &SetWatches {
                relative_zxid: 3,
                data: vec!["/old".into(), "/new".into(), "/gone".into()],
                exist: vec!["/new".into(), "/never".into()],
                child: vec!["/old".into(), "/".into()],
                persistent: None,
            },
        );
        assert_eq!(
            fired,
            [
                event(event_type::NODE_DATA_CHANGED, "/new"),
                event(event_type::NODE_DELETED, "/gone"),
                event(event_type::NODE_CREATED, "/new"),
                event(event_type::NODE_CHILDREN_CHANGED, "/"),
            ]
        );
        // Set: data on /old, exists on /never, children of /old.
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn reads_answer_like_zookeeper() {
        let mut tree = DataTree::new();
        apply(&mut tree, 1, create("/a", 1));
        let mut w = Watches::new();
        let (err, response) = serve_read(
            &tree,
            &mut w,
            1,
            &Request::GetChildren2 {
                path: "/".into(),
                watch: false,
            },
        )
        .unwrap();
        assert_eq!(err, 0);
        let Response::GetChildren2 { children, stat } = response else {
            panic!()
        };
        assert_eq!(
            (children, stat.num_children),
            (vec!["a".to_string(), "zookeeper".to_string()], 2)
        );
        assert_eq!(serve_read(&tree, &mut w, 1, &Request::Ping), None);
        assert!(w.is_empty());
    }
}
