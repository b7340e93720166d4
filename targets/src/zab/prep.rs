//! The leader's step from a client's write to a [`Txn`] (ZooKeeper's
//! `PrepRequestProcessor`): validate the path, check existence, versions and ephemeral
//! parents, resolve a sequential name, compute the new versions — or fail with an error
//! transaction.
//!
//! The leader proposes a transaction long before it applies it, and a client may send the
//! next write at once: checks made against the tree alone would miss the writes still in
//! flight (two creates of one path would both pass, two sequential creates would get the
//! same name). So the [`Preparer`] checks against the tree *plus* the changes it has
//! proposed but not yet applied, and forgets each change once the tree has it
//! ([`Preparer::applied`]).
//!
//! ```text
//!  client write ──prepare(tree, zxid, header, request)──▶ Txn ──propose as zxid──▶ … commit
//!  tree.apply(zxid, txn) on the leader ──▶ preparer.applied(zxid)
//!  leadership lost ──▶ preparer.clear()
//! ```

use std::collections::BTreeMap;

use jute::{ErrorCode, Request, Stat, create_flags};

use super::tree::{DataTree, SYSTEM_NODES, split_path};
use super::txn::{Txn, TxnHeader, TxnOp};

/// What the checks need to know of a node, in the tree or after the pending changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View {
    version: i32,
    cversion: i32,
    num_children: i32,
    ephemeral_owner: i64,
}

impl From<Stat> for View {
    fn from(s: Stat) -> View {
        View {
            version: s.version,
            cversion: s.cversion,
            num_children: s.num_children,
            ephemeral_owner: s.ephemeral_owner,
        }
    }
}

/// The leader's record of the changes it has proposed and not yet applied.
#[derive(Clone, Debug, Default)]
pub struct Preparer {
    /// Each changed path: the zxid of its last change and the node after it (`None`: deleted).
    changes: BTreeMap<String, (i64, Option<View>)>,
    /// Sessions with a CloseSession in flight, and its zxid: their writes fail from now on.
    closing: BTreeMap<i64, i64>,
}

impl Preparer {
    pub fn new() -> Preparer {
        Preparer::default()
    }

    /// Forgets every change up to and including `zxid`, now that the tree has applied it.
    pub fn applied(&mut self, zxid: i64) {
        self.changes.retain(|_, (z, _)| *z > zxid);
        self.closing.retain(|_, z| *z > zxid);
    }

    /// Forgets everything: on losing leadership, when the proposals may never commit.
    pub fn clear(&mut self) {
        self.changes.clear();
        self.closing.clear();
    }

    /// Whether changes are in flight (a read-your-writes `sync` can wait on this).
    pub fn is_idle(&self) -> bool {
        self.changes.is_empty() && self.closing.is_empty()
    }

    fn view(&self, tree: &DataTree, path: &str) -> Option<View> {
        match self.changes.get(path) {
            Some((_, view)) => *view,
            None => tree.stat(path).map(View::from),
        }
    }

    fn change(&mut self, zxid: i64, path: &str, view: Option<View>) {
        self.changes.insert(path.to_string(), (zxid, view));
    }

    /// The transaction for `request`, to be proposed with `zxid` (the leader's next): a
    /// change, or [`TxnOp::Error`] with the code ZooKeeper would answer. `None` for requests
    /// that are not writes: the server answers those itself. The session's liveness is the
    /// caller's to check first (a [`SessionTracker`](super::sessions::SessionTracker)
    /// touch); a session whose close is in flight fails here with SESSIONEXPIRED.
    pub fn prepare(
        &mut self,
        tree: &DataTree,
        zxid: i64,
        header: TxnHeader,
        request: &Request,
    ) -> Option<Txn> {
        if !request.is_write() {
            return None;
        }
        let op = if self.closing.contains_key(&header.session) {
            Err(ErrorCode::SessionExpired)
        } else {
            match request {
                Request::Create(c) | Request::Create2(c) => self.create(
                    tree,
                    zxid,
                    header.session,
                    &c.path,
                    &c.data,
                    c.acl.is_empty(),
                    c.flags,
                ),
                Request::Delete { path, version } => self.delete(tree, zxid, path, *version),
                Request::SetData {
                    path,
                    data,
                    version,
                } => self.set_data(tree, zxid, path, data, *version),
                Request::CloseSession => Ok(self.close_session(tree, zxid, header.session)),
                _ => return None,
            }
        };
        let op = op.unwrap_or_else(|code| TxnOp::Error { code: code.code() });
        Some(Txn { header, op })
    }

    /// The transaction that ends `session` for an expiry (not a client's request): xid 0, as
    /// ZooKeeper's own close requests have.
    pub fn expire(&mut self, tree: &DataTree, zxid: i64, session: i64, time_ms: i64) -> Txn {
        let op = self.close_session(tree, zxid, session);
        Txn {
            header: TxnHeader {
                session,
                xid: 0,
                time_ms,
            },
            op,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        tree: &DataTree,
        zxid: i64,
        session: i64,
        path: &str,
        data: &[u8],
        no_acl: bool,
        flags: i32,
    ) -> Result<TxnOp, ErrorCode> {
        // Only the plain modes: containers and TTL nodes have their own ops, unimplemented.
        if !(0..=3).contains(&flags) {
            return Err(ErrorCode::BadArguments);
        }
        let sequential = flags & create_flags::SEQUENTIAL != 0;
        // A sequential path may end in '/': the suffix makes it a name.
        let checked = if sequential {
            format!("{path}1")
        } else {
            path.to_string()
        };
        validate_path(&checked)?;
        let (parent_path, _) = split_path(path).ok_or(ErrorCode::BadArguments)?;
        if is_system(path) {
            return Err(ErrorCode::BadArguments);
        }
        if no_acl {
            return Err(ErrorCode::InvalidAcl);
        }
        let parent = self.view(tree, parent_path).ok_or(ErrorCode::NoNode)?;
        let path = if sequential {
            format!("{path}{:010}", parent.cversion)
        } else {
            path.to_string()
        };
        validate_path(&path)?;
        if self.view(tree, &path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if parent.ephemeral_owner != 0 {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let parent_cversion = parent.cversion.wrapping_add(1);
        let owner = if flags & create_flags::EPHEMERAL != 0 {
            session
        } else {
            0
        };
        self.change(
            zxid,
            parent_path,
            Some(View {
                cversion: parent_cversion,
                num_children: parent.num_children + 1,
                ..parent
            }),
        );
        self.change(
            zxid,
            &path,
            Some(View {
                version: 0,
                cversion: 0,
                num_children: 0,
                ephemeral_owner: owner,
            }),
        );
        Ok(TxnOp::Create {
            path,
            data: data.to_vec(),
            ephemeral_owner: owner,
            parent_cversion,
        })
    }

    fn delete(
        &mut self,
        tree: &DataTree,
        zxid: i64,
        path: &str,
        version: i32,
    ) -> Result<TxnOp, ErrorCode> {
        validate_path(path)?;
        let (parent_path, _) = split_path(path).ok_or(ErrorCode::BadArguments)?;
        if is_system(path) {
            return Err(ErrorCode::BadArguments);
        }
        let parent = self.view(tree, parent_path).ok_or(ErrorCode::NoNode)?;
        let node = self.view(tree, path).ok_or(ErrorCode::NoNode)?;
        check_version(node.version, version)?;
        if node.num_children > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.change(
            zxid,
            parent_path,
            Some(View {
                num_children: parent.num_children - 1,
                ..parent
            }),
        );
        self.change(zxid, path, None);
        Ok(TxnOp::Delete {
            path: path.to_string(),
        })
    }

    fn set_data(
        &mut self,
        tree: &DataTree,
        zxid: i64,
        path: &str,
        data: &[u8],
        version: i32,
    ) -> Result<TxnOp, ErrorCode> {
        validate_path(path)?;
        let node = self.view(tree, path).ok_or(ErrorCode::NoNode)?;
        check_version(node.version, version)?;
        let version = node.version.wrapping_add(1);
        self.change(zxid, path, Some(View { version, ..node }));
        Ok(TxnOp::SetData {
            path: path.to_string(),
            data: data.to_vec(),
            version,
        })
    }

    /// Marks the session's ephemerals — in the tree and in flight — deleted, so that another
    /// session may create those paths right behind the close.
    fn close_session(&mut self, tree: &DataTree, zxid: i64, session: i64) -> TxnOp {
        let mut doomed: Vec<String> = tree.ephemerals(session).map(str::to_string).collect();
        doomed.extend(
            self.changes
                .iter()
                .filter(|(_, (_, view))| view.is_some_and(|v| v.ephemeral_owner == session))
                .map(|(path, _)| path.clone()),
        );
        doomed.sort();
        doomed.dedup();
        for path in doomed {
            if self
                .view(tree, &path)
                .is_none_or(|v| v.ephemeral_owner != session)
            {
                continue;
            }
            if let Some((parent_path, _)) = split_path(&path) {
                if let Some(parent) = self.view(tree, parent_path) {
                    self.change(
                        zxid,
                        parent_path,
                        Some(View {
                            num_children: parent.num_children - 1,
                            ..parent
                        }),
                    );
                }
            }
            self.change(zxid, &path, None);
        }
        self.closing.insert(session, zxid);
        TxnOp::CloseSession { session }
    }
}

/// ZooKeeper's `checkAndIncVersion`: -1 matches any version.
fn check_version(current: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected == -1 || expected == current {
        Ok(())
    } else {
        Err(ErrorCode::BadVersion)
    }
}

fn is_system(path: &str) -> bool {
    path == "/" || SYSTEM_NODES.contains(&path)
}

/// ZooKeeper's `PathUtils.validatePath`: absolute, no empty, `.` or `..` component, no
/// trailing `/` (but for `/` itself), no NUL or control characters, nothing from the ranges
/// ZooKeeper forbids. BADARGUMENTS otherwise.
pub fn validate_path(path: &str) -> Result<(), ErrorCode> {
    let bad = Err(ErrorCode::BadArguments);
    if !path.starts_with('/') {
        return bad;
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad;
    }
    for name in path[1..].split('/') {
        if name.is_empty() || name == "." || name == ".." {
            return bad;
        }
    }
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}');
    if path.chars().any(forbidden) {
        bad
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use jute::{Acl, CreateRequest};
    use proptest::prelude::*;

    use super::*;

    fn header(session: i64) -> TxnHeader {
        TxnHeader {
            session,
            xid: 1,
            time_ms: 1000,
        }
    }

    fn create(path: &str, flags: i32) -> Request {
        Request::Create(CreateRequest {
            path: path.into(),
            data: b"v".to_vec(),
            acl: vec![Acl::open()],
            flags,
        })
    }

    /// Prepares, proposes as the next zxid and — unless `hold` — applies at once.
    struct Leader {
        tree: DataTree,
        prep: Preparer,
        zxid: i64,
        pending: Vec<(i64, Txn)>,
        /// Every proposal, applied or not.
        log: Vec<(i64, Txn)>,
    }

    impl Leader {
        fn new() -> Leader {
            let mut leader = Leader {
                tree: DataTree::new(),
                prep: Preparer::new(),
                zxid: 0,
                pending: Vec::new(),
                log: Vec::new(),
            };
            leader.propose(Txn {
                header: header(7),
                op: TxnOp::CreateSession {
                    session: 7,
                    timeout_ms: 4000,
                },
            });
            leader.commit_all();
            leader
        }

        fn propose(&mut self, txn: Txn) -> TxnOp {
            self.zxid += 1;
            self.pending.push((self.zxid, txn.clone()));
            self.log.push((self.zxid, txn.clone()));
            txn.op
        }

        fn prepare(&mut self, session: i64, request: &Request) -> TxnOp {
            let txn = self
                .prep
                .prepare(&self.tree, self.zxid + 1, header(session), request)
                .unwrap();
            self.propose(txn)
        }

        fn commit_all(&mut self) {
            for (zxid, txn) in std::mem::take(&mut self.pending) {
                self.tree.apply(zxid, &txn);
                self.prep.applied(zxid);
            }
        }
    }

    fn err(code: ErrorCode) -> TxnOp {
        TxnOp::Error { code: code.code() }
    }

    #[test]
    fn sequential_names_count_the_parents_creates_even_in_flight() {
        let mut l = Leader::new();
        l.prepare(7, &create("/q", 0));
        // Three sequential creates before anything is applied: three different names.
        let names: Vec<String> = (0..3)
            .map(
                |_| match l.prepare(7, &create("/q/n-", create_flags::SEQUENTIAL)) {
                    TxnOp::Create { path, .. } => path,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(
            names,
            ["/q/n-0000000000", "/q/n-0000000001", "/q/n-0000000002"]
        );
        l.commit_all();
        assert_eq!(l.tree.stat("/q").unwrap().cversion, 3);
        // Deletes do not rewind the counter.
        l.prepare(
            7,
            &Request::Delete {
                path: "/q/n-0000000002".into(),
                version: -1,
            },
        );
        l.commit_all();
        assert!(
            matches!(l.prepare(7, &create("/q/", create_flags::SEQUENTIAL)), TxnOp::Create { path, .. } if path == "/q/0000000003")
        );
        assert_eq!(
            l.prepare(7, &create("/q/", 0)),
            err(ErrorCode::BadArguments)
        );
    }

    #[test]
    fn existence_and_versions_see_writes_in_flight() {
        let mut l = Leader::new();
        assert!(matches!(
            l.prepare(7, &create("/a", 0)),
            TxnOp::Create { .. }
        ));
        assert_eq!(l.prepare(7, &create("/a", 0)), err(ErrorCode::NodeExists));
        let set = |version| Request::SetData {
            path: "/a".into(),
            data: vec![],
            version,
        };
        assert_eq!(
            l.prepare(7, &set(0)),
            TxnOp::SetData {
                path: "/a".into(),
                data: vec![],
                version: 1
            }
        );
        assert_eq!(l.prepare(7, &set(0)), err(ErrorCode::BadVersion));
        assert_eq!(
            l.prepare(7, &set(1)),
            TxnOp::SetData {
                path: "/a".into(),
                data: vec![],
                version: 2
            }
        );
        assert_eq!(
            l.prepare(7, &set(-1)),
            TxnOp::SetData {
                path: "/a".into(),
                data: vec![],
                version: 3
            }
        );
        l.prepare(7, &create("/a/b", 0));
        assert_eq!(
            l.prepare(
                7,
                &Request::Delete {
                    path: "/a".into(),
                    version: -1
                }
            ),
            err(ErrorCode::NotEmpty)
        );
        l.commit_all();
        assert!(l.prep.is_idle());
        assert_eq!(l.tree.stat("/a").unwrap().version, 3);
        assert_eq!(
            l.prepare(
                7,
                &Request::Delete {
                    path: "/a/b".into(),
                    version: 5
                }
            ),
            err(ErrorCode::BadVersion)
        );
        assert_eq!(
            l.prepare(
                7,
                &Request::Delete {
                    path: "/a/b".into(),
                    version: 0
                }
            ),
            TxnOp::Delete {
                path: "/a/b".into()
            }
        );
        assert_eq!(
            l.prepare(
                7,
                &Request::Delete {
                    path: "/a/b".into(),
                    version: -1
                }
            ),
            err(ErrorCode::NoNode)
        );
        assert_eq!(
            l.prepare(7, &set(-1).clone()),
            TxnOp::SetData {
                path: "/a".into(),
                data: vec![],
                version: 4
            }
        );
    }

    #[test]
    fn checks_in_zookeepers_order() {
        let mut l = Leader::new();
        assert_eq!(l.prepare(7, &create("a", 0)), err(ErrorCode::BadArguments));
        assert_eq!(
            l.prepare(7, &create("/a//b", 0)),
            err(ErrorCode::BadArguments)
        );
        assert_eq!(
            l.prepare(7, &create("/zookeeper", 0)),
            err(ErrorCode::BadArguments)
        );
        assert_eq!(l.prepare(7, &create("/a", 4)), err(ErrorCode::BadArguments));
        let no_acl = Request::Create(CreateRequest {
            path: "/a".into(),
            data: vec![],
            acl: vec![],
            flags: 0,
        });
        assert_eq!(l.prepare(7, &no_acl), err(ErrorCode::InvalidAcl));
        assert_eq!(l.prepare(7, &create("/x/y", 0)), err(ErrorCode::NoNode));
        l.prepare(7, &create("/e", create_flags::EPHEMERAL));
        assert_eq!(
            l.prepare(7, &create("/e/c", 0)),
            err(ErrorCode::NoChildrenForEphemerals)
        );
        assert_eq!(
            l.prepare(
                7,
                &Request::Delete {
                    path: "/".into(),
                    version: -1
                }
            ),
            err(ErrorCode::BadArguments)
        );
        assert_eq!(
            l.prepare(
                7,
                &Request::SetData {
                    path: "/nope".into(),
                    data: vec![],
                    version: -1
                }
            ),
            err(ErrorCode::NoNode)
        );
        assert_eq!(
            l.prep.prepare(
                &l.tree,
                99,
                header(7),
                &Request::GetData {
                    path: "/".into(),
                    watch: false
                }
            ),
            None
        );
    }

    #[test]
    fn a_close_in_flight_frees_the_sessions_ephemerals_and_stops_its_writes() {
        let mut l = Leader::new();
        l.propose(Txn {
            header: header(8),
            op: TxnOp::CreateSession {
                session: 8,
                timeout_ms: 4000,
            },
        });
        l.commit_all();
        l.prepare(7, &create("/lock", create_flags::EPHEMERAL));
        l.commit_all();
        l.prepare(7, &create("/lock2", create_flags::EPHEMERAL));
        assert_eq!(
            l.prepare(7, &Request::CloseSession),
            TxnOp::CloseSession { session: 7 }
        );
        assert_eq!(
            l.prepare(7, &create("/x", 0)),
            err(ErrorCode::SessionExpired)
        );
        // Another session takes the lock right behind the close, before it is applied.
        assert!(matches!(
            l.prepare(8, &create("/lock", create_flags::EPHEMERAL)),
            TxnOp::Create { .. }
        ));
        assert!(matches!(
            l.prepare(8, &create("/lock2", create_flags::EPHEMERAL)),
            TxnOp::Create { .. }
        ));
        l.commit_all();
        assert_eq!(l.tree.stat("/lock").unwrap().ephemeral_owner, 8);
        assert_eq!(l.tree.stat("/lock2").unwrap().ephemeral_owner, 8);
        assert_eq!(l.tree.stat("/").unwrap().num_children, 3);
        assert!(l.prep.is_idle());
        let expiry = l.prep.expire(&l.tree, 50, 8, 0);
        assert_eq!(expiry.op, TxnOp::CloseSession { session: 8 });
        assert_eq!(expiry.header.session, 8);
    }

    /// A client write, drawn from a small space of paths so that they collide.
    fn write() -> impl Strategy<Value = (i64, Request)> {
        let path = prop_oneof![
            Just("/a"),
            Just("/b"),
            Just("/a/x"),
            Just("/a/y"),
            Just("/b/x")
        ];
        let version = prop_oneof![Just(-1), 0..3];
        let request = prop_oneof![
            (path.clone(), 0..4).prop_map(|(p, flags)| create(p, flags)),
            (path.clone(), version.clone()).prop_map(|(p, version)| Request::Delete {
                path: p.into(),
                version
            }),
            (path, version, any::<u8>()).prop_map(|(p, version, b)| Request::SetData {
                path: p.into(),
                data: vec![b],
                version
            }),
            Just(Request::CloseSession),
        ];
        (7..10i64, request)
    }

    proptest! {
        /// A leader that applies its proposals late still never proposes a transaction the
        /// tree refuses, and replaying the log from its bytes on another tree gives the same
        /// tree.
        #[test]
        fn replicas_applying_the_same_log_are_identical(
            writes in proptest::collection::vec((write(), any::<bool>()), 0..40),
        ) {
            let mut l = Leader::new();
            for session in [8, 9] {
                l.propose(Txn { header: header(session), op: TxnOp::CreateSession { session, timeout_ms: 4000 } });
            }
            l.commit_all();
            for ((session, request), commit) in writes {
                // A closed session's client would be told SESSIONEXPIRED before prepare.
                if !l.tree.sessions().contains_key(&session) && !l.pending.iter().any(|(_, t)| t.op == (TxnOp::CreateSession { session, timeout_ms: 4000 })) {
                    continue;
                }
                l.prepare(session, &request);
                if commit {
                    for (zxid, txn) in std::mem::take(&mut l.pending) {
                        let applied = l.tree.apply(zxid, &txn);
                        if txn.is_change() {
                            prop_assert!(!matches!(applied.outcome, crate::zab::tree::Outcome::Error(_)), "{txn:?} failed: {:?}", applied.outcome);
                        }
                        l.prep.applied(zxid);
                    }
                }
            }
            l.commit_all();
            let mut replica = DataTree::new();
            for (zxid, txn) in &l.log {
                replica.apply(*zxid, &Txn::from_bytes(&txn.to_bytes()).unwrap());
            }
            prop_assert_eq!(&replica, &l.tree);
            prop_assert!(l.prep.is_idle());
        }
    }

    #[test]
    fn paths_are_validated_like_zookeeper() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/..a", "/zookeeper/x"] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/a/..",
            "/a\u{0}",
            "/\u{1}",
            "/\u{f000}",
        ] {
            assert_eq!(validate_path(bad), Err(ErrorCode::BadArguments), "{bad:?}");
        }
    }
}
