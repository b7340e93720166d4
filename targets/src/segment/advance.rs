//! Advancing the store's maximum ID by one segment: the `http-kv` conversation with the store
//! cluster, free of I/O. The shell sends each [`Action::Send`] it is given, classifies the
//! answer as an [`Outcome`], and hands it back to [`Advance::on_outcome`], until an
//! [`Action::Done`] names the segment won.
//!
//! ```text
//!  begin ──▶ read max (null = 0) ──200──▶ cas from=max to=max+step ──200──▶ Done (max, max+step]
//!               ▲                                   │ 409 cas-mismatch
//!               └───────────────────────────────────┘  (another server won it: read again)
//!  --bug non-atomic-segment:
//!  begin ──▶ read max ──200──▶ (race window) write max+step ──200──▶ Done (max, max+step]
//! ```
//!
//! # Why the cas makes segments unique
//!
//! The store's value only moves forward, and only by a cas that compared equal: two servers
//! that read the same `max` both try `cas max → max+step`, one wins, the other gets 409 and
//! reads again. The non-atomic variant writes without comparing, so two servers that read the
//! same `max` both "win" `(max, max+step]` — Leaf's own warning about updating `max_id` outside
//! a transaction.
//!
//! # Retries
//!
//! Every new operation (each read, each cas, each write) takes the next `seq` of this server's
//! store client; a retry of the same operation repeats it. Per answer:
//!
//! | answer | meaning | next |
//! |---|---|---|
//! | 200 | done | the next phase |
//! | 409 `cas-mismatch` | definitely not done | read again (a new `seq`) |
//! | 421 `not-leader` | definitely not done | the same request to the hinted leader, else the next node |
//! | 503, connection refused | definitely not done | the same request to the next node |
//! | 504 `timeout` | unknown | the *same* request (same `seq`) to the same node |
//! | 500, a transport failure after sending | unknown | the same request to the next node |
//! | 400, an unreadable answer | a bug somewhere | [`Action::Fail`] |
//!
//! An unknown cas is retried with the same `(client, seq)` until some answer is definite.
//! raft-kv applies a `(client, seq)` once and answers every copy with the first answer, so if
//! the first attempt did apply, the retry gets its 200 — not a 409 against the value the cas
//! itself wrote — and the segment is not lost. Even a cas abandoned half-way (the server
//! stopped) is safe: it can only ever apply while the value is still `max`, claiming a segment
//! nobody uses (a gap), never one handed out by someone else.
//!
//! The first sweep over the nodes is immediate; after that each attempt that made no progress
//! waits ([`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`]), so a store that is down is polled, not
//! hammered. Any 200 or 409 resets the backoff. The node that last answered is where the next
//! advance starts.

use std::time::Duration;

use serde_json::Value;

use super::buffer::Segment;

/// The first wait, once a whole sweep over the nodes made no progress.
pub const BACKOFF_MIN: Duration = Duration::from_millis(20);
/// The longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// An operation on the store's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    /// Set the key to `to` if it holds `from` (`None`: absent, JSON `null`).
    Cas {
        from: Option<u64>,
        to: u64,
    },
    Write {
        value: u64,
    },
}

/// One request to the store: an operation and its sequence number (the client id is the
/// shell's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub op: Op,
    pub seq: u64,
}

/// What became of one attempt, in the protocol's terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// 200 `{"value": v}`.
    Value(Value),
    /// 409 `cas-mismatch`: the cas compared and failed.
    CasMismatch,
    /// 421: not the leader; nothing was proposed. The hinted leader's name, if any.
    NotLeader { leader: Option<String> },
    /// Definitely not done otherwise: 503, or a connection refused before anything was sent.
    Refused,
    /// 504: proposed, outcome not known in time (the node is likely still the leader).
    Timeout,
    /// Unknown otherwise: 500, or the connection failed or timed out after sending.
    Unknown,
    /// 400, or an answer that does not follow the protocol.
    Malformed(String),
}

/// What the shell does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Wait `after` (monotonic time), then send `request` to node `node`.
    Send {
        node: usize,
        request: Request,
        after: Duration,
    },
    /// The segment is this server's.
    Done(Segment),
    /// This advance cannot go on (the stored value is not an ID, the IDs ran out, the store
    /// does not follow the protocol): say why, wait, and [`Advance::begin`] again.
    Fail(String),
}

/// How the maximum moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Read, then cas: correct.
    Cas,
    /// Read, wait `race_window`, then write: two servers can win the same segment.
    NonAtomic { race_window: Duration },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Read {
        seq: u64,
    },
    /// Moving the value from `base` (`None`: absent, read as 0) to `base + step`.
    Move {
        base: Option<u64>,
        seq: u64,
    },
}

/// One server's store client: the conversation's state, kept across advances (the next
/// `seq`, the node that answered last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advance {
    /// The store's nodes, by name (leader hints name them).
    nodes: Vec<String>,
    step: u64,
    mode: Mode,
    phase: Phase,
    /// Where the next attempt goes.
    target: usize,
    /// The last `seq` used; each new operation takes the next.
    seq: u64,
    /// Attempts since the last progress (a 200 or a 409).
    failures: u32,
}

impl Advance {
    /// A client of the store `nodes` (names, in the order to try them), moving the maximum by
    /// `step` (at least 1). `first_seq` is one more than the last `seq` already used by this
    /// client id (1 for a fresh one).
    pub fn new(nodes: Vec<String>, step: u64, mode: Mode, first_seq: u64) -> Advance {
        assert!(!nodes.is_empty(), "a store has nodes");
        assert!(step >= 1, "a segment holds at least one ID");
        Advance {
            nodes,
            step,
            mode,
            phase: Phase::Idle,
            target: 0,
            seq: first_seq.saturating_sub(1),
            failures: 0,
        }
    }

    /// Starts an advance (abandoning any unfinished one): the first read.
    pub fn begin(&mut self) -> Action {
        self.failures = 0;
        let seq = self.next_seq();
        self.phase = Phase::Read { seq };
        self.send(Duration::ZERO)
    }

    /// The answer to the last [`Action::Send`].
    pub fn on_outcome(&mut self, outcome: Outcome) -> Action {
        match outcome {
            Outcome::Value(value) => self.on_value(value),
            Outcome::CasMismatch => match self.phase {
                Phase::Move { .. } if self.mode == Mode::Cas => {
                    // Another server moved the maximum first: read it again.
                    self.failures = 0;
                    let seq = self.next_seq();
                    self.phase = Phase::Read { seq };
                    self.send(Duration::ZERO)
                }
                _ => self.fail("a cas-mismatch answer to a request that is not a cas".into()),
            },
            Outcome::NotLeader { leader } => {
                let hinted = leader
                    .as_deref()
                    .and_then(|name| self.node_named(name))
                    .filter(|&node| node != self.target);
                self.target = hinted.unwrap_or_else(|| self.after(self.target));
                self.retry()
            }
            Outcome::Refused | Outcome::Unknown => {
                self.target = self.after(self.target);
                self.retry()
            }
            Outcome::Timeout => self.retry(),
            Outcome::Malformed(why) => self.fail(why),
        }
    }

    fn on_value(&mut self, value: Value) -> Action {
        self.failures = 0;
        match self.phase {
            Phase::Read { .. } => {
                let base = match &value {
                    Value::Null => None,
                    v => match v.as_u64() {
                        Some(max) => Some(max),
                        None => {
                            return self.fail(format!(
                                "the store holds {value}, not an unsigned integer, as the maximum ID"
                            ));
                        }
                    },
                };
                if base.unwrap_or(0).checked_add(self.step).is_none() {
                    return self.fail(format!(
                        "the IDs ran out: the maximum is {value}, and another {} do not fit in 64 bits",
                        self.step
                    ));
                }
                let seq = self.next_seq();
                self.phase = Phase::Move { base, seq };
                let after = match self.mode {
                    Mode::Cas => Duration::ZERO,
                    // The bug's window between the read and the write: a slow round trip to
                    // the database, made wide enough to hit.
                    Mode::NonAtomic { race_window } => race_window,
                };
                self.send(after)
            }
            Phase::Move { base, .. } => {
                self.phase = Phase::Idle;
                let lo = base.unwrap_or(0);
                Action::Done(Segment {
                    lo,
                    hi: lo + self.step,
                })
            }
            Phase::Idle => self.fail("an answer to no request".into()),
        }
    }

    /// The same request (the same `seq`) again, to the current target, after the backoff.
    fn retry(&mut self) -> Action {
        if self.phase == Phase::Idle {
            return self.fail("an answer to no request".into());
        }
        self.failures = self.failures.saturating_add(1);
        let sweep = self.nodes.len() as u32;
        let after = if self.failures < sweep {
            Duration::ZERO
        } else {
            let doublings = (self.failures - sweep) / sweep;
            BACKOFF_MIN
                .saturating_mul(1 << doublings.min(16))
                .min(BACKOFF_MAX)
        };
        self.send(after)
    }

    fn send(&self, after: Duration) -> Action {
        let request = match self.phase {
            Phase::Read { seq } => Request { op: Op::Read, seq },
            Phase::Move { base, seq } => {
                let to = base.unwrap_or(0) + self.step;
                let op = match self.mode {
                    Mode::Cas => Op::Cas { from: base, to },
                    Mode::NonAtomic { .. } => Op::Write { value: to },
                };
                Request { op, seq }
            }
            Phase::Idle => unreachable!("send is only called with a request in flight"),
        };
        Action::Send {
            node: self.target,
            request,
            after,
        }
    }

    fn fail(&mut self, why: String) -> Action {
        self.phase = Phase::Idle;
        Action::Fail(why)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn after(&self, node: usize) -> usize {
        (node + 1) % self.nodes.len()
    }

    /// The node a leader hint names: by name, or else by the number it ends in (the harness
    /// may call the store's nodes `s2` while raft-kv calls itself `n2`).
    pub fn node_named(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.nodes.iter().position(|n| n == name) {
            return Some(i);
        }
        let number = |s: &str| -> Option<u64> {
            let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            s[s.len() - digits..].parse().ok()
        };
        let wanted = number(name)?;
        let mut matching = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| number(n) == Some(wanted));
        match (matching.next(), matching.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// The node the next request goes to.
    pub fn target(&self) -> usize {
        self.target
    }

    /// The last `seq` used.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(mode: Mode) -> Advance {
        Advance::new(vec!["n1".into(), "n2".into(), "n3".into()], 10, mode, 1)
    }

    fn send(node: usize, op: Op, seq: u64) -> Action {
        Action::Send {
            node,
            request: Request { op, seq },
            after: Duration::ZERO,
        }
    }

    #[test]
    fn a_fresh_store_gives_the_first_segment() {
        let mut store = store(Mode::Cas);
        assert_eq!(store.begin(), send(0, Op::Read, 1));
        assert_eq!(
            store.on_outcome(Outcome::Value(Value::Null)),
            send(0, Op::Cas { from: None, to: 10 }, 2)
        );
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(10))),
            Action::Done(Segment { lo: 0, hi: 10 })
        );
        // The next advance carries on with the next seq.
        assert_eq!(store.begin(), send(0, Op::Read, 3));
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(30))),
            send(
                0,
                Op::Cas {
                    from: Some(30),
                    to: 40
                },
                4
            )
        );
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(40))),
            Action::Done(Segment { lo: 30, hi: 40 })
        );
    }

    #[test]
    fn a_lost_cas_reads_again_with_new_seqs() {
        let mut store = store(Mode::Cas);
        store.begin();
        store.on_outcome(Outcome::Value(json!(5)));
        assert_eq!(store.on_outcome(Outcome::CasMismatch), send(0, Op::Read, 3));
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(15))),
            send(
                0,
                Op::Cas {
                    from: Some(15),
                    to: 25
                },
                4
            )
        );
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(25))),
            Action::Done(Segment { lo: 15, hi: 25 })
        );
    }

    #[test]
    fn not_leader_follows_the_hint_with_the_same_seq() {
        let mut store = store(Mode::Cas);
        store.begin();
        store.on_outcome(Outcome::Value(json!(0)));
        let hint = |name: &str| Outcome::NotLeader {
            leader: Some(name.into()),
        };
        let cas = Op::Cas {
            from: Some(0),
            to: 10,
        };
        let mut answer = |outcome| match store.on_outcome(outcome) {
            Action::Send { node, request, .. } => (node, request),
            other => panic!("{other:?}"),
        };
        let to = |node, seq| {
            (
                node,
                Request {
                    op: cas.clone(),
                    seq,
                },
            )
        };
        assert_eq!(answer(hint("n3")), to(2, 2));
        // No hint, or a hint naming the node asked, or no node: the next node.
        assert_eq!(answer(Outcome::NotLeader { leader: None }), to(0, 2));
        assert_eq!(answer(hint("n1")), to(1, 2));
        assert_eq!(answer(hint("n9")), to(2, 2));
        assert_eq!(store.target(), 2);
    }

    #[test]
    fn an_unknown_cas_is_retried_with_the_same_seq_until_definite() {
        let mut store = store(Mode::Cas);
        store.begin();
        store.on_outcome(Outcome::Value(json!(20)));
        let cas = Op::Cas {
            from: Some(20),
            to: 30,
        };
        // 504: proposed by this node, which probably still leads: ask it again.
        assert_eq!(store.on_outcome(Outcome::Timeout), send(0, cas.clone(), 2));
        // 500 or a dropped connection after sending: ask the next node, same seq.
        assert_eq!(store.on_outcome(Outcome::Unknown), send(1, cas.clone(), 2));
        let Action::Send { node, request, .. } = store.on_outcome(Outcome::Unknown) else {
            panic!("retries")
        };
        assert_eq!((node, request), (2, Request { op: cas, seq: 2 }));
        // The first copy had applied: the store's dedup answers the retry with its 200.
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(30))),
            Action::Done(Segment { lo: 20, hi: 30 })
        );
    }

    #[test]
    fn a_store_that_is_down_is_swept_once_then_polled_with_backoff() {
        let mut store = store(Mode::Cas);
        assert_eq!(store.begin(), send(0, Op::Read, 1));
        let mut waits = Vec::new();
        let mut nodes = Vec::new();
        for _ in 0..15 {
            let Action::Send {
                node,
                request,
                after,
            } = store.on_outcome(Outcome::Refused)
            else {
                panic!("keeps trying")
            };
            assert_eq!(
                request,
                Request {
                    op: Op::Read,
                    seq: 1
                }
            );
            nodes.push(node);
            waits.push(after.as_millis());
        }
        assert_eq!(nodes[..6], [1, 2, 0, 1, 2, 0]);
        assert_eq!(
            waits,
            [0, 0, 20, 20, 20, 40, 40, 40, 80, 80, 80, 160, 160, 160, 320]
        );
        for _ in 0..10 {
            store.on_outcome(Outcome::Refused);
        }
        let Action::Send { after, .. } = store.on_outcome(Outcome::Refused) else {
            panic!()
        };
        assert_eq!(after, BACKOFF_MAX);
        // Progress resets the backoff.
        store.on_outcome(Outcome::Value(json!(0)));
        let Action::Send { after, .. } = store.on_outcome(Outcome::Refused) else {
            panic!()
        };
        assert_eq!(after, Duration::ZERO);
    }

    #[test]
    fn the_non_atomic_bug_writes_after_the_race_window() {
        let window = Duration::from_millis(30);
        let mut store = store(Mode::NonAtomic {
            race_window: window,
        });
        store.begin();
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(100))),
            Action::Send {
                node: 0,
                request: Request {
                    op: Op::Write { value: 110 },
                    seq: 2
                },
                after: window,
            }
        );
        assert_eq!(
            store.on_outcome(Outcome::Timeout),
            send(0, Op::Write { value: 110 }, 2)
        );
        assert_eq!(
            store.on_outcome(Outcome::Value(json!(110))),
            Action::Done(Segment { lo: 100, hi: 110 })
        );
    }

    #[test]
    fn values_that_are_not_ids_and_ids_that_run_out_fail_the_advance() {
        let mut store = store(Mode::Cas);
        store.begin();
        assert!(matches!(
            store.on_outcome(Outcome::Value(json!("ten"))),
            Action::Fail(_)
        ));
        store.begin();
        assert!(matches!(
            store.on_outcome(Outcome::Value(json!(-1))),
            Action::Fail(_)
        ));
        store.begin();
        assert!(matches!(
            store.on_outcome(Outcome::Value(json!(u64::MAX - 5))),
            Action::Fail(_)
        ));
        store.begin();
        assert!(matches!(
            store.on_outcome(Outcome::Malformed("400".into())),
            Action::Fail(_)
        ));
        assert!(matches!(
            store.on_outcome(Outcome::Value(json!(1))),
            Action::Fail(_)
        ));
        // A cas-mismatch to a read is not the protocol either.
        store.begin();
        assert!(matches!(
            store.on_outcome(Outcome::CasMismatch),
            Action::Fail(_)
        ));
        // And the next advance starts cleanly.
        assert!(matches!(store.begin(), Action::Send { .. }));
    }

    #[test]
    fn leader_hints_match_by_name_or_by_number() {
        let store = Advance::new(vec!["s1".into(), "s2".into(), "s3".into()], 1, Mode::Cas, 1);
        assert_eq!(store.node_named("s2"), Some(1));
        assert_eq!(store.node_named("n3"), Some(2));
        assert_eq!(store.node_named("n4"), None);
        assert_eq!(store.node_named("leader"), None);
        let store = Advance::new(vec!["a1".into(), "b1".into()], 1, Mode::Cas, 7);
        assert_eq!(store.node_named("n1"), None, "ambiguous");
        assert_eq!(store.last_seq(), 6);
    }
}
