//! The search for a linearization of one partition: Wing & Gong's depth-first search with
//! Lowe's memoisation, made resumable so a scheduler can interleave partitions fairly.
//!
//! The `ok` operations' calls and returns sit in one doubly-linked list in real-time order;
//! the `info` operations' calls in a second. At each configuration the candidates are the `ok`
//! calls before the first return in the list (that return belongs to an op that must be
//! linearized before anything that starts later), then the `info` calls before that same
//! return. Linearizing an op lifts its entries out of the lists (dancing links); backtracking
//! puts them back. Beyond Porcupine's algorithm:
//!
//! * **`ok` before `info`.** `info` ops are optional; the search tries the ops that must happen
//!   first, and reaches for an `info` op only when nothing else works.
//! * **Reads are forced moves.** A read-only op that is legal in the current state is
//!   linearized at once, without branching: if any linearization exists it can be rearranged
//!   to put that read first (it changes nothing, and everything that had to precede it already
//!   has), so the configuration with the read done is equivalent to the one without. On
//!   backtracking, forced moves are undone without trying alternatives.
//! * **Interchangeable `info` ops are taken in order.** Two `info` ops of the same kind (say two
//!   crashed `write 3`s) whose calls are both past can swap places in any linearization, so the
//!   second is a candidate only once the first is linearized.
//! * **Dead `info` ops leave** (rule 3 of [`super::prune`]) the candidates and the memo key.
//! * **An `info` op is taken only when it changes the state** — otherwise the configuration
//!   without it, which may still take it later, covers the one with it — **and, for models of
//!   [`Effect::Set`] ops only, only when it enables a candidate**: some candidate (`ok` or
//!   `info`) is illegal in the state before it and legal after. Why that loses nothing: in a
//!   valid linearization let `w` be an `info` op and `o` the op right after it, with `s` the
//!   state before `w` and `t ≠ s` after. If `o` is legal in `s` too, then either `o` touches
//!   another slot (they commute: move `w` after `o`), or `o` requires nothing (then it either
//!   changes nothing — move `w` after it — or sets the slot, overwriting `w`'s effect: delete
//!   `w`), or `o` requires a value, which `s` and `t` would then share in `o`'s slot —
//!   impossible, since `w` changed only that slot. An
//!   `info` op at the very end can be deleted. Moving `info` ops later and deleting them
//!   respects real-time order (an `info` op has no return that anything must follow) and ends,
//!   so every valid linearization becomes one in which each `info` op enables the op after it;
//!   that op is a candidate when `w` is tried (taking `info` ops changes no `ok` candidate), and
//!   rearranging a forced read to the front keeps the form after the same clean-up. An append
//!   is legal everywhere and does not overwrite, so a model with appends gets only the first
//!   half of the rule. On Jepsen-style registers with many crashed writes of a few values, this
//!   is the difference between trying every crashed write at every step and trying one where a
//!   read needs its value.
//! * **Lookahead** (`lookahead.rs`): a configuration in which some candidate's required value
//!   can no longer be reached is a dead end, recognised before its subtree is explored.
//! * **A compact, exact memo key.** Every `ok` op before the frontier (the first one not yet
//!   linearized) is linearized, and none after `reach[frontier]` can be; so the key is the
//!   frontier, the state, the linearized bits of that window, and for each class of
//!   interchangeable live `info` ops the last one linearized — a few words where Porcupine
//!   hashes a bitset of the whole history.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::budget::Budget;
use super::lookahead::{Exhausted, Lookahead, View};
use super::machine::{ILLEGAL, Machine};
use super::memo::Memo;
use super::model::Effect;
use super::problem::{NONE, Problem};
use super::prune::NEVER;

/// Where a search stands after a slice of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Valid,
    Invalid,
    /// The memory budget would not stretch to the next memo entry.
    OutOfMemory,
}

/// A reference to an op: an ok index, or an info index with [`INFO`] set.
pub type OpRef = u32;
pub const INFO: u32 = 1 << 31;

#[derive(Clone, Copy)]
enum Cursor {
    /// Trying the ok call at this list entry.
    Main(u32),
    /// Trying the info op `j`; candidates must be called before `boundary`.
    Info { j: u32, boundary: u32 },
}

#[derive(Clone, Copy)]
struct Frame {
    op: OpRef,
    prev_state: u32,
    /// How many info ops died when this op moved the frontier.
    dead: u32,
    /// For an info op: the boundary it was tried under, to resume the scan after it.
    boundary: u32,
    forced: bool,
}

/// The furthest the search got: the linearization that covered the most `ok` ops.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// The ops linearized, in order, each with the state after it.
    pub prefix: Vec<(OpRef, u32)>,
    pub ok_count: u32,
    /// The ok op that cannot be linearized after the prefix: one whose required value the
    /// lookahead found unreachable there, or else the one whose return bounded the candidates
    /// ([`NONE`] if there was none).
    pub blocked: u32,
}

/// Search counters, for the report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Loop iterations.
    pub steps: u64,
    /// Configurations recorded in the memo.
    pub configurations: u64,
    /// Configurations reached again and skipped.
    pub revisits: u64,
    /// Reads linearized as forced moves.
    pub forced: u64,
    /// Configurations cut by the lookahead.
    pub dead_ends: u64,
}

/// Steps between looks at the cancellation flag and the clock.
const CANCEL_CHECK: u64 = 256;

/// How many ops past the candidates the lookahead examines.
const LOOKAHEAD_BEYOND: u32 = 32;

/// One partition's search.
pub struct Search {
    pub problem: Problem,
    pub machine: Machine,
    look: Lookahead,
    /// Per kind: how many of its info ops are linearized (always the first ones).
    taken: Vec<u32>,
    /// Scratch: the current candidates.
    window: Vec<u32>,
    exhausted: Exhausted,
    /// The calls and returns of ok ops not yet linearized.
    main: Links,
    /// The calls of info ops neither linearized nor dead.
    infos: Links,
    lin_ok: Vec<u64>,
    lin_info: Vec<u64>,
    lin_info_stack: Vec<u32>,
    ok_done: u32,
    state: u32,
    stack: Vec<Frame>,
    dead_log: Vec<u32>,
    cursor: Cursor,
    started: bool,
    memo: Memo,
    key: Vec<u32>,
    pub record: Record,
    low_water: usize,
    pub counters: Counters,
    reserved: usize,
    /// Every kind is an [`Effect::Set`]: an `info` op must enable a candidate (module docs).
    info_must_enable: bool,
}

/// A circular doubly-linked list of `n` nodes whose head (sentinel) is node `n`, from which
/// nodes are lifted and into which they are put back in reverse order (dancing links: a lifted
/// node remembers its neighbours).
struct Links {
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl Links {
    fn ring(n: u32) -> Links {
        Links {
            next: (0..=n).map(|k| (k + 1) % (n + 1)).collect(),
            prev: (0..=n).map(|k| (k + n) % (n + 1)).collect(),
        }
    }

    #[inline]
    fn next(&self, e: u32) -> u32 {
        self.next[e as usize]
    }

    #[inline]
    fn prev(&self, e: u32) -> u32 {
        self.prev[e as usize]
    }

    fn lift(&mut self, e: u32) {
        let (p, n) = (self.prev(e), self.next(e));
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn unlift(&mut self, e: u32) {
        let (p, n) = (self.prev(e), self.next(e));
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }
}

#[inline]
fn bit(set: &[u64], i: u32) -> bool {
    set[(i >> 6) as usize] >> (i & 63) & 1 != 0
}

#[inline]
fn flip(set: &mut [u64], i: u32) {
    set[(i >> 6) as usize] ^= 1 << (i & 63);
}

impl Search {
    pub fn new(problem: Problem, machine: Machine) -> Search {
        let main = Links::ring(problem.entries.len() as u32);
        let infos = Links::ring(problem.info.len() as u32);
        let look = Lookahead::new(&problem, &machine);
        let exhausted = look.exhausted(problem.ok.len());
        let info_must_enable = machine
            .kinds
            .iter()
            .all(|k| matches!(k.effect, Effect::Set { .. }));
        Search {
            info_must_enable,
            lin_ok: vec![0; problem.ok.len().div_ceil(64) + 1],
            lin_info: vec![0; problem.info.len().div_ceil(64) + 1],
            state: machine.init,
            taken: vec![0; look.facts.len()],
            look,
            window: Vec::new(),
            exhausted,
            main,
            infos,
            lin_info_stack: Vec::new(),
            ok_done: 0,
            stack: Vec::new(),
            dead_log: Vec::new(),
            cursor: Cursor::Main(0),
            started: false,
            memo: Memo::default(),
            key: Vec::new(),
            record: Record {
                blocked: NONE,
                ..Record::default()
            },
            low_water: 0,
            counters: Counters::default(),
            reserved: 0,
            problem,
            machine,
        }
    }

    fn head(&self) -> u32 {
        self.problem.entries.len() as u32
    }

    fn info_head(&self) -> u32 {
        self.problem.info.len() as u32
    }

    /// The first ok op not yet linearized (the number of ok ops if all are).
    fn frontier(&self) -> u32 {
        let first = self.main.next(self.head());
        if first == self.head() {
            self.problem.ok.len() as u32
        } else {
            // The first entry is always a call: an op's call precedes its return.
            self.problem.entries[first as usize].op
        }
    }

    fn all_done(&self) -> bool {
        self.main.next(self.head()) == self.head()
    }

    /// Linearizes `op`, leaving the state at `next_state`.
    fn push(&mut self, op: OpRef, next_state: u32, forced: bool, boundary: u32) {
        let mut frame = Frame {
            op,
            prev_state: self.state,
            dead: 0,
            boundary,
            forced,
        };
        if op & INFO == 0 {
            let before = self.frontier();
            self.main.lift(self.problem.call_entry[op as usize]);
            self.main.lift(self.problem.ret_entry[op as usize]);
            flip(&mut self.lin_ok, op);
            self.ok_done += 1;
            let lin_ok = &self.lin_ok;
            self.exhausted.update(op, true, &|i| bit(lin_ok, i));
            if op == before {
                let after = self.frontier();
                let from = self.problem.horizon_start[before as usize] as usize;
                let to = self.problem.horizon_start[after as usize] as usize;
                for h in from..to {
                    let j = self.problem.by_horizon[h];
                    if !bit(&self.lin_info, j) {
                        self.infos.lift(j);
                        self.dead_log.push(j);
                        frame.dead += 1;
                    }
                }
            }
        } else {
            let j = op & !INFO;
            self.infos.lift(j);
            flip(&mut self.lin_info, j);
            self.lin_info_stack.push(j);
            self.taken[self.problem.info[j as usize].kind as usize] += 1;
        }
        self.state = next_state;
        self.stack.push(frame);
    }

    /// Undoes the top frame.
    fn pop(&mut self) -> Option<Frame> {
        let frame = self.stack.pop()?;
        for _ in 0..frame.dead {
            let j = self.dead_log.pop().unwrap_or(NONE);
            self.infos.unlift(j);
        }
        if frame.op & INFO == 0 {
            let i = frame.op;
            self.main.unlift(self.problem.ret_entry[i as usize]);
            self.main.unlift(self.problem.call_entry[i as usize]);
            flip(&mut self.lin_ok, i);
            self.ok_done -= 1;
            let lin_ok = &self.lin_ok;
            self.exhausted.update(i, false, &|i| bit(lin_ok, i));
        } else {
            let j = frame.op & !INFO;
            self.taken[self.problem.info[j as usize].kind as usize] -= 1;
            self.lin_info_stack.pop();
            flip(&mut self.lin_info, j);
            self.infos.unlift(j);
        }
        self.state = frame.prev_state;
        self.low_water = self.low_water.min(self.stack.len());
        Some(frame)
    }

    /// Linearizes every read that is legal now (forced moves, see the module docs).
    fn sweep(&mut self) {
        let head = self.head();
        let mut e = self.main.next(head);
        while e != head {
            let entry = self.problem.entries[e as usize];
            if !entry.is_call {
                break;
            }
            let i = entry.op;
            let kind = self.problem.ok[i as usize].kind;
            if self.look.facts[kind as usize].read_only
                && self.machine.step(self.state, kind) != ILLEGAL
            {
                let before = self.main.prev(e);
                self.push(i, self.state, true, 0);
                self.counters.forced += 1;
                e = self.main.next(before);
            } else {
                e = self.main.next(e);
            }
        }
    }

    /// Whether taking the `info` op `j` now, leaving the state at `next`, can begin a
    /// linearization of the form the module docs describe: it changes the state, and (when
    /// [`Self::info_must_enable`]) some candidate is illegal now and legal after it.
    fn worth_taking(&mut self, j: u32, next: u32, boundary: u32) -> bool {
        let now = self.state;
        if next == now {
            return false;
        }
        if !self.info_must_enable {
            return true;
        }
        let machine = &mut self.machine;
        let mut enabled =
            |kind: u32| machine.step(now, kind) == ILLEGAL && machine.step(next, kind) != ILLEGAL;
        let head = self.problem.entries.len() as u32;
        let mut e = self.main.next(head);
        while e != head {
            let entry = self.problem.entries[e as usize];
            if !entry.is_call {
                break;
            }
            if enabled(self.problem.ok[entry.op as usize].kind) {
                return true;
            }
            e = self.main.next(e);
        }
        let head = self.problem.info.len() as u32;
        let mut k = self.infos.next(head);
        while k != head && self.problem.info[k as usize].call <= boundary {
            if k != j && enabled(self.problem.info[k as usize].kind) {
                return true;
            }
            k = self.infos.next(k);
        }
        false
    }

    /// Undoes the last branch: its forced moves, then the branch itself.
    fn pop_branch(&mut self) {
        while let Some(frame) = self.pop() {
            if !frame.forced {
                return;
            }
        }
    }

    /// Backtracks to the next untried candidate; false when there is none (invalid).
    fn backtrack(&mut self) -> bool {
        while let Some(frame) = self.pop() {
            if frame.forced {
                continue;
            }
            self.cursor = if frame.op & INFO == 0 {
                Cursor::Main(self.main.next(self.problem.call_entry[frame.op as usize]))
            } else {
                let j = frame.op & !INFO;
                Cursor::Info {
                    j: self.infos.next(j),
                    boundary: frame.boundary,
                }
            };
            return true;
        }
        false
    }

    /// Encodes the current configuration into `self.key` (see the module docs).
    fn encode(&mut self) {
        let f = self.frontier();
        self.key.clear();
        self.key.push(f);
        self.key.push(self.state);
        let n = self.problem.ok.len() as u32;
        if f < n {
            let lo = f + 1;
            let hi = self.problem.reach[f as usize];
            // The highest linearized op in (f, hi].
            let mut top = None;
            if hi >= lo {
                let mut w = hi >> 6;
                loop {
                    let mut word = self.lin_ok[w as usize];
                    if w == hi >> 6 && (hi & 63) != 63 {
                        word &= (1u64 << ((hi & 63) + 1)) - 1;
                    }
                    if word != 0 {
                        let t = (w << 6) + 63 - word.leading_zeros();
                        if t >= lo {
                            top = Some(t);
                        }
                        break;
                    }
                    if w == lo >> 6 {
                        break;
                    }
                    w -= 1;
                }
            }
            match top {
                None => self.key.push(0),
                Some(top) => {
                    let words = (top - lo) / 32 + 1;
                    self.key.push(words);
                    for k in 0..words {
                        let start = lo + 32 * k;
                        let (w, s) = ((start >> 6) as usize, start & 63);
                        let mut chunk = self.lin_ok[w] >> s;
                        if s > 32 {
                            chunk |= self.lin_ok[w + 1] << (64 - s);
                        }
                        let mut chunk = chunk as u32;
                        if k == words - 1 {
                            let keep = top - start + 1;
                            if keep < 32 {
                                chunk &= (1u32 << keep) - 1;
                            }
                        }
                        self.key.push(chunk);
                    }
                }
            }
        }
        // Linearized members of a class are always its first ones, so the last of them stands
        // for all.
        let start = self.key.len();
        for &j in &self.lin_info_stack {
            let info = self.problem.info[j as usize];
            let alive = info.horizon == NEVER || info.horizon >= f;
            let last = info.class_next == NONE || !bit(&self.lin_info, info.class_next);
            if alive && last {
                self.key.push(j);
            }
        }
        self.key[start..].sort_unstable();
    }

    /// An op whose required value can no longer be reached, if there is one (see
    /// `lookahead.rs`).
    fn lookahead(&mut self) -> Option<u32> {
        let head = self.head();
        self.window.clear();
        let mut e = self.main.next(head);
        while self.problem.entries[e as usize].is_call {
            self.window.push(self.problem.entries[e as usize].op);
            e = self.main.next(e);
        }
        // Pending ops beyond the candidates (some past them may be linearized already).
        let last = self.window.iter().copied().max().unwrap_or(0);
        let n = self.problem.ok.len() as u32;
        let lin_ok = &self.lin_ok;
        self.window
            .extend((last + 1..n.min(last + 1 + LOOKAHEAD_BEYOND)).filter(|&i| !bit(lin_ok, i)));
        let view = View {
            problem: &self.problem,
            machine: &self.machine,
            state: self.state,
            frontier: self.frontier(),
            window: &self.window,
            linearized: &|i| bit(lin_ok, i),
            taken: &self.taken,
        };
        self.look.unreachable(&view, &self.exhausted)
    }

    /// Called on reaching a new configuration: keeps the record of the deepest one.
    /// `culprit` is the op the lookahead found unreachable, if that is why this configuration
    /// is a dead end; otherwise the op that must come next is blamed.
    fn note_progress(&mut self, culprit: Option<u32>) {
        if self.ok_done <= self.record.ok_count && !self.record.prefix.is_empty() {
            return;
        }
        let keep = self.low_water.min(self.record.prefix.len());
        self.record.prefix.truncate(keep);
        for k in keep..self.stack.len() {
            let after = self
                .stack
                .get(k + 1)
                .map_or(self.state, |next| next.prev_state);
            self.record.prefix.push((self.stack[k].op, after));
        }
        self.low_water = self.stack.len();
        self.record.ok_count = self.ok_done;
        if let Some(op) = culprit {
            self.record.blocked = op;
            return;
        }
        let head = self.head();
        let mut e = self.main.next(head);
        self.record.blocked = NONE;
        while e != head {
            let entry = self.problem.entries[e as usize];
            if !entry.is_call {
                self.record.blocked = entry.op;
                break;
            }
            e = self.main.next(e);
        }
    }

    /// After a branch: record the configuration, or undo the branch if it was seen before.
    /// Returns false when the configuration was a revisit.
    fn arrive(&mut self, budget: &Budget) -> Result<bool, Status> {
        if let Some(culprit) = self.lookahead() {
            self.note_progress(Some(culprit));
            self.counters.dead_ends += 1;
            self.pop_branch();
            return Ok(false);
        }
        self.encode();
        if !self.memo.insert(&self.key) {
            self.counters.revisits += 1;
            self.pop_branch();
            return Ok(false);
        }
        self.counters.configurations += 1;
        self.reserve(budget)?;
        self.note_progress(None);
        Ok(true)
    }

    fn bytes(&self) -> usize {
        self.memo.bytes()
            + self.machine.bytes()
            + self.stack.capacity() * std::mem::size_of::<Frame>()
            + self.record.prefix.capacity() * 8
    }

    fn reserve(&mut self, budget: &Budget) -> Result<(), Status> {
        let need = self.bytes();
        if need > self.reserved {
            let more = need - self.reserved + (4 << 20);
            if !budget.reserve(more) {
                return Err(Status::OutOfMemory);
            }
            self.reserved += more;
        }
        Ok(())
    }

    /// Gives back this search's memory reservation (call when it is finished).
    pub fn release(&mut self, budget: &Budget) {
        budget.release(self.reserved);
        self.reserved = 0;
        self.memo = Memo::default();
    }

    /// Configurations in the memo.
    pub fn memo_len(&self) -> usize {
        self.memo.len()
    }

    /// Runs for at most `fuel` steps, until `until`, or until `cancelled` is set.
    pub fn run(
        &mut self,
        fuel: u64,
        until: Instant,
        budget: &Budget,
        cancelled: &AtomicBool,
    ) -> Status {
        if !self.started {
            self.started = true;
            self.sweep();
            if self.all_done() {
                return Status::Valid;
            }
            if let Some(culprit) = self.lookahead() {
                self.note_progress(Some(culprit));
                return Status::Invalid;
            }
            self.note_progress(None);
            self.cursor = Cursor::Main(self.main.next(self.head()));
        }
        for step in 0..fuel {
            if step % CANCEL_CHECK == 0
                && step > 0
                && (cancelled.load(Ordering::Relaxed) || Instant::now() >= until)
            {
                return Status::Running;
            }
            self.counters.steps += 1;
            match self.cursor {
                Cursor::Main(e) => {
                    let entry = self.problem.entries[e as usize];
                    if !entry.is_call {
                        self.cursor = Cursor::Info {
                            j: self.infos.next(self.info_head()),
                            boundary: entry.pos,
                        };
                        continue;
                    }
                    let i = entry.op;
                    let next_state = self
                        .machine
                        .step(self.state, self.problem.ok[i as usize].kind);
                    if next_state == ILLEGAL {
                        self.cursor = Cursor::Main(self.main.next(e));
                        continue;
                    }
                    self.push(i, next_state, false, 0);
                    self.sweep();
                    if self.all_done() {
                        return Status::Valid;
                    }
                    match self.arrive(budget) {
                        Err(status) => return status,
                        Ok(true) => self.cursor = Cursor::Main(self.main.next(self.head())),
                        Ok(false) => {
                            self.cursor =
                                Cursor::Main(self.main.next(self.problem.call_entry[i as usize]));
                        }
                    }
                }
                Cursor::Info { j, boundary } => {
                    if j == self.info_head() || self.problem.info[j as usize].call > boundary {
                        if !self.backtrack() {
                            return Status::Invalid;
                        }
                        continue;
                    }
                    let info = self.problem.info[j as usize];
                    let twin_pending =
                        info.class_prev != NONE && !bit(&self.lin_info, info.class_prev);
                    let next_state = if twin_pending {
                        ILLEGAL
                    } else {
                        self.machine.step(self.state, info.kind)
                    };
                    if next_state == ILLEGAL || !self.worth_taking(j, next_state, boundary) {
                        self.cursor = Cursor::Info {
                            j: self.infos.next(j),
                            boundary,
                        };
                        continue;
                    }
                    self.push(j | INFO, next_state, false, boundary);
                    self.sweep();
                    if self.all_done() {
                        return Status::Valid;
                    }
                    match self.arrive(budget) {
                        Err(status) => return status,
                        Ok(true) => self.cursor = Cursor::Main(self.main.next(self.head())),
                        Ok(false) => {
                            self.cursor = Cursor::Info {
                                j: self.infos.next(j),
                                boundary,
                            };
                        }
                    }
                }
            }
        }
        Status::Running
    }
}
