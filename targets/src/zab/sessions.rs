//! The session table the leader keeps: who is connected, for how long they may stay silent,
//! and when they expire. Every request and ping of a session touches it; a session not
//! touched within its timeout expires, and the leader closes it with a CloseSession
//! transaction (which deletes its ephemerals everywhere).
//!
//! ```text
//!  ConnectRequest ──connect(req, now, last_zxid)──▶ Connect::Create → propose CreateSession, answer once applied
//!                                                   Connect::Resume → answer at once
//!                                                   Connect::Refuse → answer, close the connection
//!                                                   Connect::Behind → close without answering
//!  any request or ping ──touch(session, now)──▶ false: answer SESSIONEXPIRED
//!  timer ──expired(now)──▶ sessions to close ──Preparer::expire──▶ CloseSession txns
//!  CloseSession applied ──remove(session)
//!  new leader ──SessionTracker::adopt(tree.sessions(), now)
//! ```
//!
//! Times are logical milliseconds from the caller's clock. As in ZooKeeper, expiry is checked
//! once per tick: a session's deadline is rounded up to the next multiple of the tick, and a
//! session touched at `t` with timeout `T` expires at the first tick boundary after `t + T`.
//!
//! Session ids are ZooKeeper's: the server id in the top byte, then the low 40 bits of the
//! wall clock in milliseconds shifted into the next bits, then a counter. Passwords are
//! ZooKeeper's too in spirit: 16 bytes drawn from a generator seeded with the session id and
//! a secret the ensemble shares, so any server can check a password without it being
//! replicated.

use std::collections::BTreeMap;

use jute::{ConnectRequest, ConnectResponse};

use crate::raft::rng::Rng;

/// What to do with a connection's handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connect {
    /// A new session: propose `CreateSession { session, timeout_ms }` and answer `response`
    /// once it is applied.
    Create {
        session: i64,
        timeout_ms: i32,
        response: ConnectResponse,
    },
    /// A known session with the right password: answer `response` now.
    Resume(ConnectResponse),
    /// An unknown, expired or closing session, or a wrong password: answer `response`
    /// ([`ConnectResponse::refused`]) and close the connection, as ZooKeeper does.
    Refuse(ConnectResponse),
    /// The client has seen a zxid this server has not applied yet: close the connection
    /// without answering, so the client tries another server (ZooKeeper's "Refusing session
    /// request … client must try another server").
    Behind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tracked {
    timeout_ms: i32,
    /// The tick boundary at which the session expires unless touched.
    expires_at: u64,
    /// Being closed (by its client or by expiry): touches fail and it is not expired again.
    closing: bool,
}

/// The first session id of server `server_id` started at `wall_ms` (ZooKeeper's
/// `SessionTrackerImpl.initializeNextSessionId`).
pub fn first_session_id(server_id: u8, wall_ms: i64) -> i64 {
    // The shift left drops the clock's top 24 bits; the logical shift right makes room for
    // the server id without sign extension.
    let time = ((wall_ms << 24) as u64 >> 8) as i64;
    time | (i64::from(server_id) << 56)
}

/// The password of `session` under the ensemble's `secret`.
pub fn password(secret: u64, session: i64) -> Vec<u8> {
    let mut rng = Rng::new(secret ^ session as u64);
    let mut out = Vec::with_capacity(16);
    out.extend(rng.next_u64().to_be_bytes());
    out.extend(rng.next_u64().to_be_bytes());
    out
}

/// The leader's sessions.
#[derive(Clone, Debug)]
pub struct SessionTracker {
    secret: u64,
    tick_ms: u64,
    next_id: i64,
    sessions: BTreeMap<i64, Tracked>,
}

impl SessionTracker {
    /// The table of server `server_id`, started at `wall_ms` on the wall clock, with the
    /// ensemble's password `secret` and its tick (ZooKeeper's `tickTime`).
    pub fn new(server_id: u8, wall_ms: i64, secret: u64, tick_ms: u64) -> SessionTracker {
        SessionTracker {
            secret,
            tick_ms: tick_ms.max(1),
            next_id: first_session_id(server_id, wall_ms),
            sessions: BTreeMap::new(),
        }
    }

    /// The timeout a client asking for `requested` ms gets: ZooKeeper's default bounds,
    /// 2 to 20 ticks.
    pub fn negotiate(&self, requested: i32) -> i32 {
        let tick = i32::try_from(self.tick_ms).unwrap_or(i32::MAX);
        requested.clamp(tick.saturating_mul(2), tick.saturating_mul(20))
    }

    fn deadline(&self, now: u64, timeout_ms: i32) -> u64 {
        let at = now.saturating_add(u64::try_from(timeout_ms).unwrap_or(0));
        (at / self.tick_ms + 1).saturating_mul(self.tick_ms)
    }

    /// Starts tracking `session` (touched at `now`): a session created through
    /// [`SessionTracker::connect`], or one created elsewhere and learnt from the log.
    pub fn add(&mut self, session: i64, timeout_ms: i32, now: u64) {
        let expires_at = self.deadline(now, timeout_ms);
        self.sessions.insert(
            session,
            Tracked {
                timeout_ms,
                expires_at,
                closing: false,
            },
        );
    }

    /// Takes over the sessions of the tree, on becoming leader: each gets a full timeout from
    /// `now`, as ZooKeeper's new leader gives them.
    pub fn adopt(&mut self, sessions: &BTreeMap<i64, i32>, now: u64) {
        for (&session, &timeout_ms) in sessions {
            if !self.sessions.contains_key(&session) {
                self.add(session, timeout_ms, now);
            }
        }
        self.sessions.retain(|s, _| sessions.contains_key(s));
    }

    /// Answers a handshake. `last_zxid` is the last zxid this server has applied.
    pub fn connect(&mut self, request: &ConnectRequest, now: u64, last_zxid: i64) -> Connect {
        if request.last_zxid_seen > last_zxid {
            return Connect::Behind;
        }
        let timeout_ms = self.negotiate(request.timeout);
        let response = |session, passwd| ConnectResponse {
            protocol_version: 0,
            timeout: timeout_ms,
            session_id: session,
            passwd,
            read_only: request.read_only.map(|_| false),
        };
        if request.session_id == 0 {
            let session = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            self.add(session, timeout_ms, now);
            return Connect::Create {
                session,
                timeout_ms,
                response: response(session, password(self.secret, session)),
            };
        }
        let session = request.session_id;
        let live = self.sessions.get(&session).is_some_and(|t| !t.closing);
        if !live || request.passwd != password(self.secret, session) {
            return Connect::Refuse(ConnectResponse::refused(request));
        }
        // The reconnecting client's new timeout replaces the old one.
        self.add(session, timeout_ms, now);
        Connect::Resume(response(session, request.passwd.clone()))
    }

    /// Records activity of `session` at `now`; false if it is unknown or closing (answer
    /// SESSIONEXPIRED).
    pub fn touch(&mut self, session: i64, now: u64) -> bool {
        let Some(t) = self.sessions.get(&session).copied() else {
            return false;
        };
        if t.closing {
            return false;
        }
        let expires_at = self.deadline(now, t.timeout_ms);
        self.sessions.insert(session, Tracked { expires_at, ..t });
        true
    }

    /// Marks `session` closing because its client asked; false if it was not live.
    pub fn close(&mut self, session: i64) -> bool {
        match self.sessions.get_mut(&session) {
            Some(t) if !t.closing => {
                t.closing = true;
                true
            }
            _ => false,
        }
    }

    /// The sessions whose deadline has passed at `now`, in id order, marked closing so that
    /// each is returned once: propose a CloseSession for each.
    pub fn expired(&mut self, now: u64) -> Vec<i64> {
        let mut out = Vec::new();
        for (&session, t) in &mut self.sessions {
            if !t.closing && t.expires_at <= now {
                t.closing = true;
                out.push(session);
            }
        }
        out
    }

    /// Forgets `session`: its CloseSession has been applied.
    pub fn remove(&mut self, session: i64) {
        self.sessions.remove(&session);
    }

    /// Whether `session` is tracked and not closing.
    pub fn is_live(&self, session: i64) -> bool {
        self.sessions.get(&session).is_some_and(|t| !t.closing)
    }

    /// The session's negotiated timeout.
    pub fn timeout(&self, session: i64) -> Option<i32> {
        self.sessions.get(&session).map(|t| t.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: u64 = 100;

    fn tracker() -> SessionTracker {
        SessionTracker::new(3, 1_700_000_000_000, 0xfeed, TICK)
    }

    fn hello(session_id: i64, passwd: Vec<u8>, timeout: i32) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout,
            session_id,
            passwd,
            read_only: Some(false),
        }
    }

    fn create(t: &mut SessionTracker, now: u64) -> (i64, Vec<u8>) {
        match t.connect(&hello(0, vec![], 1000), now, 0) {
            Connect::Create {
                session,
                timeout_ms,
                response,
            } => {
                assert_eq!(
                    (timeout_ms, response.timeout, response.session_id),
                    (1000, 1000, session)
                );
                (session, response.passwd)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_carry_the_server_id_and_count_up() {
        let mut t = tracker();
        let (a, pa) = create(&mut t, 0);
        let (b, pb) = create(&mut t, 0);
        assert_eq!(a >> 56, 3);
        assert_eq!(b, a + 1);
        assert_eq!(a, first_session_id(3, 1_700_000_000_000));
        assert_eq!(pa.len(), 16);
        assert_ne!(pa, pb);
        // Deterministic: any server with the secret computes the same password.
        assert_eq!(password(0xfeed, a), pa);
        assert_ne!(password(0xbeef, a), pa);
        // Server ids above 127 make negative ids, as in ZooKeeper.
        assert!(first_session_id(200, 1) < 0);
    }

    #[test]
    fn timeouts_are_clamped_to_2_to_20_ticks() {
        let t = tracker();
        assert_eq!(t.negotiate(1), 200);
        assert_eq!(t.negotiate(1000), 1000);
        assert_eq!(t.negotiate(60_000), 2000);
    }

    #[test]
    fn sessions_expire_at_the_tick_after_their_timeout_unless_touched() {
        let mut t = tracker();
        let (s, _) = create(&mut t, 50); // deadline: 1050 rounded up to 1100
        assert!(t.expired(1099).is_empty());
        assert!(t.touch(s, 1000)); // deadline: 2000 → next tick is 2100
        assert!(t.expired(2099).is_empty());
        assert_eq!(t.expired(2100), [s]);
        // Once: it is closing now, and touches fail.
        assert!(t.expired(5000).is_empty());
        assert!(!t.touch(s, 2101));
        assert!(!t.is_live(s));
        t.remove(s);
        assert_eq!(t.timeout(s), None);
    }

    #[test]
    fn reconnects_need_the_password_and_a_live_session() {
        let mut t = tracker();
        let (s, passwd) = create(&mut t, 0);
        match t.connect(&hello(s, passwd.clone(), 3000), 10, 0) {
            Connect::Resume(r) => assert_eq!(
                (r.session_id, r.timeout, r.passwd.clone()),
                (s, 2000, passwd.clone())
            ),
            other => panic!("{other:?}"),
        }
        let mut wrong = passwd.clone();
        wrong[0] ^= 1;
        let refused = t.connect(&hello(s, wrong.clone(), 3000), 10, 0);
        assert_eq!(
            refused,
            Connect::Refuse(ConnectResponse::refused(&hello(s, wrong, 3000)))
        );
        let Connect::Refuse(r) = refused else {
            unreachable!()
        };
        assert_eq!((r.session_id, r.timeout, r.passwd), (0, 0, vec![0; 16]));
        // Unknown and closing sessions are refused too.
        assert!(matches!(
            t.connect(&hello(s + 100, passwd.clone(), 3000), 10, 0),
            Connect::Refuse(_)
        ));
        assert!(t.close(s));
        assert!(!t.close(s));
        assert!(matches!(
            t.connect(&hello(s, passwd, 3000), 10, 0),
            Connect::Refuse(_)
        ));
    }

    #[test]
    fn a_client_ahead_of_the_server_is_sent_elsewhere() {
        let mut t = tracker();
        let mut ahead = hello(0, vec![], 1000);
        ahead.last_zxid_seen = 10;
        assert_eq!(t.connect(&ahead, 0, 9), Connect::Behind);
        assert!(matches!(t.connect(&ahead, 0, 10), Connect::Create { .. }));
    }

    #[test]
    fn a_new_leader_adopts_the_trees_sessions() {
        let mut t = tracker();
        let (mine, _) = create(&mut t, 0);
        let sessions = BTreeMap::from([(7, 1000), (8, 400)]);
        t.adopt(&sessions, 1000);
        assert!(!t.is_live(mine));
        assert!(t.is_live(7) && t.is_live(8));
        assert_eq!(t.expired(1499), Vec::<i64>::new());
        assert_eq!(t.expired(1500), [8]);
        assert_eq!(t.expired(2100), [7]);
    }
}
