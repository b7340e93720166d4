//! Transactions over 2PC/3PC: one lane per participant over the run's time axis, each
//! transaction it voted yes on a bar from its prepare to its decision (coloured by the
//! decision), what was still in doubt when asked shaded, the coordinator's downtime shaded
//! across every lane, split decisions in red with their ids; a story in plain words of the
//! longest wait in doubt and of each split; a table of the time in doubt per participant.
//!
//! The lanes stay small however many transactions a run has: a lane's windows are merged where
//! they overlap (or come closer than a pixel), and only the transactions the story names — the
//! split ones and the longest window in doubt — are drawn one by one.
//!
//! It reads the participants' records (`checkers::txn`) from the history, and the atomicity and
//! blocking checkers' reports (`checkers::atomicity`, `checkers::blocking`).

use std::collections::BTreeMap;

use checkers::atomicity::{self, AtomicityError, ErrorKind, Status};
use checkers::blocking::{self, Downtime};
use checkers::txn::{Decision, Participant, TxnId, TxnOp, TxnRecord, Vote, participants};
use maud::{Markup, html};

use super::data::{Data, dur, secs};
use super::svg::{C, LEFT, TimeScale, WIDTH, fault_shading, time_axis};

/// Split transactions drawn and told one by one (the rest are counted).
const DRAWN: usize = 12;
/// Split transactions told in full (the others drawn are listed).
const TOLD: usize = 3;
/// Errors of other kinds listed in the table.
const LISTED: usize = 20;
/// Space above the lanes for fault labels, the coordinator's row, a lane's height.
const TOP: f64 = 16.0;
const COORD: f64 = 16.0;
const LANE: f64 = 32.0;
/// Within a lane: the commit row and the abort row, each `BAR` high.
const COMMIT_Y: f64 = 4.0;
const ABORT_Y: f64 = 17.0;
const BAR: f64 = 10.0;

/// Windows merged into one bar: `[from, to)` and how many transactions it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merged {
    pub from: u64,
    pub to: u64,
    pub txns: usize,
}

/// Merges `spans` where they overlap or lie less than `gap` apart (a pixel's worth of time),
/// counting the spans each merged bar covers.
pub fn merge(mut spans: Vec<(u64, u64)>, gap: u64) -> Vec<Merged> {
    spans.sort_unstable();
    let mut out: Vec<Merged> = Vec::new();
    for (from, to) in spans {
        let to = to.max(from);
        match out.last_mut() {
            Some(m) if from <= m.to.saturating_add(gap) => {
                m.to = m.to.max(to);
                m.txns += 1;
            }
            _ => out.push(Merged { from, to, txns: 1 }),
        }
    }
    out
}

/// One transaction at one participant, as drawn: from its yes vote to its decision (or to the
/// participant's decisions event when still in doubt).
#[derive(Clone, Copy, Debug)]
struct Bar<'a> {
    record: &'a TxnRecord,
    from: u64,
    /// When its PreCommit was logged (3PC), within `[from, to]`.
    precommitted: Option<u64>,
    to: u64,
}

/// `record`'s bar at `p`, when it voted yes and both ends are known.
fn bar<'a>(p: &Participant, record: &'a TxnRecord) -> Option<Bar<'a>> {
    if record.vote != Some(Vote::Yes) {
        return None;
    }
    let from = record.prepared.or(record.precommitted)?;
    let to = match record.decision {
        Some(_) => record.decided?,
        None => p.time,
    }
    .max(from);
    Some(Bar {
        record,
        from,
        precommitted: record.precommitted.map(|t| t.clamp(from, to)),
        to,
    })
}

/// A lane's merged windows: committed, aborted, their 3PC PreCommit parts, still in doubt.
#[derive(Default)]
struct Lane {
    commit: Vec<Merged>,
    abort: Vec<Merged>,
    commit_pc: Vec<Merged>,
    abort_pc: Vec<Merged>,
    open: Vec<Merged>,
}

fn lane(p: &Participant, gap: u64) -> Lane {
    let mut spans: [Vec<(u64, u64)>; 5] = Default::default();
    for b in p
        .decisions()
        .map(|d| &d.txns[..])
        .unwrap_or_default()
        .iter()
        .filter_map(|r| bar(p, r))
    {
        let (all, pc) = match b.record.decision {
            Some(Decision::Commit) => (0, 2),
            Some(Decision::Abort) => (1, 3),
            None => (4, 4),
        };
        spans[all].push((b.from, b.to));
        if let (Some(t), true) = (b.precommitted, pc != all) {
            spans[pc].push((t, b.to));
        }
    }
    let [commit, abort, commit_pc, abort_pc, open] = spans.map(|s| merge(s, gap));
    Lane {
        commit,
        abort,
        commit_pc,
        abort_pc,
        open,
    }
}

/// `n2`, `n2 and n3`, `n2, n3 and n4`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn op_words(op: &TxnOp) -> String {
    match op {
        TxnOp::Transfer(t) => format!(
            "a transfer of {} from account {} to account {}",
            t.amount, t.from, t.to
        ),
        TxnOp::Read => "a read of every account".into(),
        TxnOp::Unknown => "an operation known only from the log".into(),
    }
}

fn accounts_words(op: &TxnOp) -> String {
    match op {
        TxnOp::Transfer(t) if t.from == t.to => format!("account {}", t.from),
        TxnOp::Transfer(t) => format!("accounts {} and {}", t.from, t.to),
        TxnOp::Read => "every account they own".into(),
        TxnOp::Unknown => "its accounts".into(),
    }
}

/// The records of `txn`, with their participants, in the participants' order.
fn records_of(parts: &[Participant], txn: TxnId) -> Vec<(&Participant, &TxnRecord)> {
    parts
        .iter()
        .filter_map(|p| {
            let r = p.decisions()?.txns.iter().find(|r| r.txn == txn)?;
            Some((p, r))
        })
        .collect()
}

fn cause_words(d: &Downtime) -> &'static str {
    match d.cause.as_str() {
        "kill" => "killed",
        "pause" => "paused",
        "restart" => "killed and restarted",
        _ => "taken down",
    }
}

/// How long the participants waited in doubt, in words: each span of the coordinator's
/// downtime, what it caught in doubt, and the longest window with its transaction.
pub fn blocking_story(parts: &[Participant], b: &blocking::Report) -> String {
    let mut out: Vec<String> = Vec::new();
    let bars: Vec<Bar<'_>> = parts
        .iter()
        .flat_map(|p| {
            p.decisions()
                .map(|d| &d.txns[..])
                .unwrap_or_default()
                .iter()
                .filter_map(move |r| bar(p, r))
        })
        .collect();
    for d in &b.downtime {
        let mut caught: Vec<TxnId> = bars
            .iter()
            .filter(|x| x.from <= d.from && d.from < x.to)
            .map(|x| x.record.txn)
            .collect();
        caught.sort_unstable();
        caught.dedup();
        let with = match caught.len() {
            0 => String::new(),
            1 => format!(" with transaction {} in doubt", caught[0]),
            n => format!(" with {n} transactions in doubt"),
        };
        let back = if d.ended {
            format!("until it came back at {}", secs(d.to))
        } else {
            format!(
                "and it had not come back when the participants were asked at {}",
                secs(d.to)
            )
        };
        out.push(format!(
            "At {} the coordinator {} was {}{with}; it was down for {}, {back}.",
            secs(d.from),
            d.node,
            cause_words(d),
            dur(d.to.saturating_sub(d.from))
        ));
    }
    if b.downtime_ns > 0 {
        let pct = b
            .in_doubt_during_downtime_ratio
            .filter(|r| r.is_finite())
            .map_or_else(String::new, |r| format!(" ({:.0}%)", r * 100.0));
        out.push(format!(
            "While it was down, some participant was in doubt for {} of its {}{pct}.",
            dur(b.in_doubt_during_downtime_ns),
            dur(b.downtime_ns)
        ));
    }
    if let Some(w) = &b.longest {
        let held: Vec<(&Participant, &TxnRecord)> = records_of(parts, w.txn)
            .into_iter()
            .filter(|(p, r)| bar(p, r).is_some())
            .collect();
        let op = held
            .iter()
            .map(|(_, r)| &r.op)
            .find(|op| **op != TxnOp::Unknown);
        let nodes: Vec<String> = held.iter().map(|(p, _)| p.node.clone()).collect();
        let what = op.map_or_else(String::new, |op| format!(" ({})", op_words(op)));
        let accounts = op.map_or_else(|| "its accounts".into(), accounts_words);
        let who = if nodes.len() > 1 {
            format!(
                "{} held {accounts} in doubt; {} for longest, {}",
                and_list(&nodes),
                w.node,
                dur(w.ns)
            )
        } else {
            format!("{} held {accounts} in doubt for {}", w.node, dur(w.ns))
        };
        let decision = held
            .iter()
            .find(|(p, _)| p.node == w.node)
            .and_then(|(_, r)| r.decision);
        let end = match (w.decided, decision) {
            (true, Some(Decision::Commit)) => {
                format!("until it was committed there at {}", secs(w.to))
            }
            (true, Some(Decision::Abort)) => {
                format!("until it was aborted there at {}", secs(w.to))
            }
            (true, None) => format!("until its decision at {}", secs(w.to)),
            (false, _) => format!("and was still in doubt when asked at {}", secs(w.to)),
        };
        let coordinator = b
            .downtime
            .iter()
            .find(|d| d.from < w.to && w.from < d.to)
            .map_or_else(String::new, |d| {
                if d.ended && w.to >= d.to {
                    format!(
                        ", {} after the coordinator came back at {}",
                        dur(w.to - d.to),
                        secs(d.to)
                    )
                } else if w.to < d.to {
                    " — while the coordinator was still down".to_string()
                } else {
                    String::new()
                }
            });
        out.push(format!(
            "The longest wait was transaction {}{what}: {who} from {} {end}{coordinator}.",
            w.txn,
            secs(w.from)
        ));
    }
    if out.is_empty() {
        out.push("No participant voted yes on any transaction with its times known.".into());
    }
    out.join(" ")
}

/// A split decision in words: who decided what and when, and what it did to the money.
pub fn split_story(
    parts: &[Participant],
    b: Option<&blocking::Report>,
    e: &AtomicityError,
) -> String {
    let txn = e.txn.map_or_else(|| "?".into(), |t| t.to_string());
    let at = |status: Status| -> Vec<String> {
        e.participants
            .iter()
            .filter(|s| s.status == status)
            .map(|s| match s.decided {
                Some(t) => format!("{} (at {})", s.node, secs(t)),
                None => s.node.clone(),
            })
            .collect()
    };
    let op = match (&e.op, e.txn) {
        (Some(t), _) => Some(TxnOp::Transfer(t.clone())),
        (None, Some(txn)) => records_of(parts, txn)
            .into_iter()
            .map(|(_, r)| r.op.clone())
            .find(|op| *op != TxnOp::Unknown),
        (None, None) => None,
    };
    let what = op
        .as_ref()
        .map_or_else(String::new, |op| format!(" ({})", op_words(op)));
    let mut s = format!(
        "Transaction {txn}{what} committed at {} and aborted at {}",
        and_list(&at(Status::Commit)),
        and_list(&at(Status::Abort))
    );
    let rest: Vec<String> = e
        .participants
        .iter()
        .filter(|x| !matches!(x.status, Status::Commit | Status::Abort))
        .map(|x| format!("{} {}", x.node, x.status.name()))
        .collect();
    if !rest.is_empty() {
        s.push_str(&format!(" ({})", rest.join(", ")));
    }
    // Who owns the transfer's accounts, and what each owner decided.
    let owner = |account: &str| -> Option<Status> {
        let p = parts.iter().find(|p| {
            p.decisions()
                .is_some_and(|d| d.initial.iter().any(|(a, _)| a == account))
        })?;
        e.participants
            .iter()
            .find(|x| x.node == p.node)
            .map(|x| x.status)
    };
    let money =
        e.op.as_ref()
            .and_then(|t| match (owner(&t.from), owner(&t.to)) {
                (Some(Status::Commit), Some(Status::Abort)) => Some(format!(
                    ": account {} paid {} that account {} never received — {} gone from the bank",
                    t.from, t.amount, t.to, t.amount
                )),
                (Some(Status::Abort), Some(Status::Commit)) => Some(format!(
                    ": account {} received {} that account {} never paid — {} made from nothing",
                    t.to, t.amount, t.from, t.amount
                )),
                _ => None,
            });
    s.push_str(&money.unwrap_or_else(|| match op {
        Some(TxnOp::Read) => {
            ": the participants disagree on its outcome (a read moves no money)".into()
        }
        _ => ": the participants disagree on its outcome".into(),
    }));
    s.push('.');
    // Decisions taken while the coordinator was down were taken without it.
    if let Some(b) = b {
        let decided: Vec<u64> = e.participants.iter().filter_map(|x| x.decided).collect();
        for d in &b.downtime {
            let within: Vec<&u64> = decided
                .iter()
                .filter(|t| d.from <= **t && **t < d.to)
                .collect();
            if !within.is_empty() {
                s.push_str(&format!(
                    " The coordinator {} was down from {} to {}: {} of these decisions came without it.",
                    d.node,
                    secs(d.from),
                    secs(d.to),
                    if within.len() == decided.len() { "all" } else { "some" }
                ));
            }
        }
    }
    s
}

/// The lanes: the coordinator's row, then one lane per participant.
fn lanes(
    data: &Data<'_>,
    parts: &[Participant],
    b: Option<&blocking::Report>,
    named: &BTreeMap<TxnId, &'static str>,
) -> Markup {
    let t1 = parts
        .iter()
        .map(|p| p.time)
        .max()
        .unwrap_or(0)
        .max(data.end);
    let scale = TimeScale::new(0, t1);
    let gap = (t1 as f64 / (scale.x1 - scale.x0)).ceil() as u64;
    let bottom = TOP + COORD + parts.len() as f64 * LANE;
    let height = bottom + 26.0;
    let down: &[Downtime] = b.map(|b| &b.downtime[..]).unwrap_or_default();
    let coordinators = b.map(|b| b.coordinators.join(" ")).unwrap_or_default();
    let rect = |class: &'static str, m: &Merged, y: f64, what: String| {
        let (a, z) = (scale.x(m.from), scale.x(m.to));
        html! {
            rect class=(class) x=(C(a)) y=(C(y)) width=(C((z - a).max(1.0))) height=(BAR) {
                title { (what) }
            }
        }
    };
    let words = |node: &str, m: &Merged, what: &str| {
        format!(
            "{node}: {} {what}, in doubt {} – {} ({})",
            if m.txns == 1 {
                "1 transaction".to_string()
            } else {
                format!("{} transactions", m.txns)
            },
            secs(m.from),
            secs(m.to),
            dur(m.to - m.from)
        )
    };
    html! {
        svg class="chart lanes" viewBox=(format!("0 0 {WIDTH} {}", height.ceil())) width=(WIDTH) height=(C(height)) {
            (fault_shading(data, &scale, 0.0, bottom, true))
            (time_axis(&scale, TOP, bottom + 2.0))
            text class="rowlabel" x=(C(LEFT - 4.0)) y=(C(TOP + 11.0)) text-anchor="end" { "coord. " (coordinators) }
            @for d in down {
                @let (a, z) = (scale.x(d.from), scale.x(d.to));
                rect class="downbg" x=(C(a)) y=(C(TOP)) width=(C((z - a).max(1.0))) height=(C(bottom - TOP)) {}
                rect class="down" x=(C(a)) y=(C(TOP + 3.0)) width=(C((z - a).max(1.0))) height=(C(COORD - 6.0)) {
                    title { "coordinator " (d.node) " " (cause_words(d)) ": down from " (secs(d.from)) " to " (secs(d.to)) " (" (dur(d.to.saturating_sub(d.from))) ")" @if !d.ended { ", not back when asked" } }
                }
            }
            @for (i, p) in parts.iter().enumerate() {
                @let y = TOP + COORD + i as f64 * LANE;
                g transform=(format!("translate(0,{})", C(y).0)) {
                    line class="lanesep" x1=(C(LEFT)) x2=(C(scale.x1)) y1="0" y2="0" {}
                    text class="rowlabel" x=(C(LEFT - 4.0)) y=(C(COMMIT_Y + 9.0)) text-anchor="end" { (p.node) }
                    @if p.decisions().is_none() {
                        text class="flabel" x=(C(LEFT + 4.0)) y=(C(ABORT_Y + 8.0)) { "unreachable: its decisions cannot be seen" }
                    } @else {
                        @let l = lane(p, gap);
                        @for m in &l.commit { (rect("t-commit", m, COMMIT_Y, words(&p.node, m, "committed"))) }
                        @for m in &l.commit_pc { (rect("t-commit pc", m, COMMIT_Y, words(&p.node, m, "committed after PreCommit"))) }
                        @for m in &l.abort { (rect("t-abort", m, ABORT_Y, words(&p.node, m, "aborted"))) }
                        @for m in &l.abort_pc { (rect("t-abort pc", m, ABORT_Y, words(&p.node, m, "aborted after PreCommit"))) }
                        @for m in &l.open {
                            @let (a, z) = (scale.x(m.from), scale.x(m.to));
                            rect class="t-open" x=(C(a)) y=(C(COMMIT_Y - 2.0)) width=(C((z - a).max(1.0))) height=(C(ABORT_Y + BAR - COMMIT_Y + 4.0)) {
                                title { (words(&p.node, m, "still in doubt when asked")) }
                            }
                        }
                        @let (marks, labels) = marks(p, named, &scale);
                        @for m in &marks {
                            @if let Some(z) = m.to {
                                rect class=(m.class) x=(C(m.x)) y=(C(m.y - 1.0)) width=(C((z - m.x).max(2.0))) height=(C(BAR + 2.0)) {
                                    title { (m.tell) }
                                }
                            } @else {
                                line class=(format!("tick {}", m.class)) x1=(C(m.x)) x2=(C(m.x)) y1=(C(COMMIT_Y - 2.0)) y2=(C(ABORT_Y + BAR + 2.0)) {
                                    title { (m.tell) }
                                }
                            }
                        }
                        @for l in &labels {
                            text class=(format!("tlabel {}", l.class)) x=(C(l.x)) y=(C(l.y + 8.0)) {
                                (l.txns[0])
                                @if l.txns.len() > 1 { " +" (l.txns.len() - 1) }
                                title { (l.txns.iter().map(TxnId::to_string).collect::<Vec<_>>().join(" ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A transaction drawn alone in a lane: a bar from `x` to `to`, or a tick at `x` when it has
/// no window (it decided without voting yes).
struct Mark {
    class: &'static str,
    y: f64,
    x: f64,
    to: Option<f64>,
    tell: String,
}

/// Ids written after the bars they name, those too close together as one label after the
/// last of them: `1.60 +6`.
struct Label {
    class: &'static str,
    y: f64,
    x: f64,
    txns: Vec<TxnId>,
}

/// The marks of the transactions in `named` in `p`'s lane, and their labels.
fn marks(
    p: &Participant,
    named: &BTreeMap<TxnId, &'static str>,
    scale: &TimeScale,
) -> (Vec<Mark>, Vec<Label>) {
    let mut marks: Vec<(TxnId, Mark)> = Vec::new();
    for r in p
        .decisions()
        .map(|d| &d.txns[..])
        .unwrap_or_default()
        .iter()
        .filter(|r| named.contains_key(&r.txn))
    {
        let mut tell = format!("txn {} at {}: {}", r.txn, p.node, op_words(&r.op));
        if let Some(t) = r.prepared {
            tell.push_str(&format!(", prepared at {}", secs(t)));
        }
        if let Some(t) = r.precommitted {
            tell.push_str(&format!(", precommitted at {}", secs(t)));
        }
        tell.push_str(&match (r.decision, r.decided) {
            (Some(Decision::Commit), Some(t)) => format!(", committed at {}", secs(t)),
            (Some(Decision::Abort), Some(t)) => format!(", aborted at {}", secs(t)),
            (Some(_), None) => ", decided (time unknown)".to_string(),
            (None, _) => ", still in doubt when asked".to_string(),
        });
        let y = if r.decision == Some(Decision::Abort) {
            ABORT_Y
        } else {
            COMMIT_Y
        };
        let (x, to) = match (bar(p, r), r.decided) {
            (Some(b), _) => (scale.x(b.from), Some(scale.x(b.to))),
            (None, Some(t)) => (scale.x(t), None),
            (None, None) => continue,
        };
        let class = named[&r.txn];
        marks.push((
            r.txn,
            Mark {
                class,
                y,
                x,
                to,
                tell,
            },
        ));
    }
    // Labels row by row, left to right after each mark's end; one too close to the last
    // joins it.
    let end = |m: &Mark| m.to.unwrap_or(m.x) + 3.0;
    marks.sort_by(|a, b| {
        (a.1.y, end(&a.1))
            .partial_cmp(&(b.1.y, end(&b.1)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut labels: Vec<Label> = Vec::new();
    for (txn, m) in &marks {
        let x = end(m);
        match labels.last_mut() {
            Some(l) if l.y == m.y && x < l.x + 6.0 * (l.txns[0].to_string().len() + 3) as f64 => {
                l.txns.push(*txn);
                l.x = l.x.max(x);
                // A split outranks the longest window: the label takes its colour.
                if m.class == "split" {
                    l.class = "split";
                }
            }
            _ => labels.push(Label {
                class: m.class,
                y: m.y,
                x,
                txns: vec![*txn],
            }),
        }
    }
    (marks.into_iter().map(|(_, m)| m).collect(), labels)
}

fn pct(r: Option<f64>) -> String {
    r.filter(|r| r.is_finite())
        .map_or_else(|| "—".into(), |r| format!("{:.0}%", r * 100.0))
}

/// The per-participant table and the downtime totals.
fn table(b: &blocking::Report) -> Markup {
    html! {
        table class="ops" {
            thead { tr { th { "participant" } th { "in doubt (union)" } th { "windows" } th { "still in doubt when asked" } th { "untimed" } th { "refused on locks" } th { "restarts" } } }
            tbody {
                @for p in &b.participants {
                    tr {
                        td { (p.node) }
                        @if p.reachable {
                            td { (dur(p.in_doubt_ns)) } td { (p.windows) } td { (p.undecided) } td { (p.untimed) } td { (p.refused_on_locks) } td { (p.restarts) }
                        } @else {
                            td class="info" colspan="6" { "unreachable" }
                        }
                    }
                }
            }
        }
        table class="kv" {
            tr { td { "coordinator" } td { (b.coordinators.join(", ")) } }
            tr { td { "in doubt, any participant" } td { (dur(b.in_doubt_ns)) } }
            @if b.downtime.is_empty() {
                tr { td { "coordinator down" } td { "never (no kill, pause or restart of it)" } }
            } @else {
                tr { td { "coordinator down" } td { (dur(b.downtime_ns)) " in " (b.downtime.len()) (if b.downtime.len() == 1 { " span" } else { " spans" }) } }
                tr { td { "in doubt while it was down" } td { (dur(b.in_doubt_during_downtime_ns)) " (" (pct(b.in_doubt_during_downtime_ratio)) " of the downtime)" } }
            }
            tr { td { "prepares refused on locks" } td { (b.refused_on_locks) } }
        }
    }
}

/// The section: `None` from both checkers, or a history without decisions, draws nothing.
pub fn render(
    data: &Data<'_>,
    a: Option<&atomicity::Report>,
    b: Option<&blocking::Report>,
) -> Markup {
    let Ok(parts) = participants(data.history) else {
        return html! { p class="note" { "The participants' decisions could not be read: no transactions section." } };
    };
    if parts.is_empty() || (a.is_none() && b.is_none()) {
        return html! {};
    }
    let mut splits: Vec<&AtomicityError> = a
        .map(|a| &a.errors[..])
        .unwrap_or_default()
        .iter()
        .filter(|e| e.kind == ErrorKind::SplitDecision && e.txn.is_some())
        .collect();
    // Splits of transfers first: they move money.
    splits.sort_by_key(|e| e.op.is_none());
    let mut named: BTreeMap<TxnId, &'static str> = BTreeMap::new();
    if let Some(w) = b.and_then(|b| b.longest.as_ref()) {
        named.insert(w.txn, "longest");
    }
    for e in splits.iter().take(DRAWN) {
        if let Some(t) = e.txn {
            named.insert(t, "split");
        }
    }
    let others: Vec<&AtomicityError> = a
        .map(|a| &a.errors[..])
        .unwrap_or_default()
        .iter()
        .filter(|e| e.kind != ErrorKind::SplitDecision)
        .take(LISTED)
        .collect();
    html! {
        div class="anomaly txn" id="transactions" {
            h3 { "Transactions" }
            @if let Some(a) = a {
                @let c = &a.counts;
                p {
                    "Atomicity: " b { (a.valid.word()) } " — " (c.txns) " transactions: " (c.committed) " committed, " (c.aborted) " aborted, "
                    (c.split) " split, " (c.undecided) " undecided; " (a.error_counts.total()) " errors."
                    @if let Some(why) = &a.unknown_because { " Unknown: " (why) "." }
                }
            }
            div class="legend" {
                span { i class="sw t-commit" {} "in doubt, then committed (prepared → decided)" }
                span { i class="sw t-abort" {} "in doubt, then aborted" }
                span { i class="sw t-pc" {} "after PreCommit (3PC)" }
                span { i class="sw t-open" {} "still in doubt when asked" }
                span { i class="sw down" {} "coordinator down" }
                span { i class="sw split" {} "split decision" }
                span { i class="sw longest" {} "longest window in doubt" }
            }
            p class="note" { "One lane per participant: commits on its upper row, aborts on its lower; overlapping windows are merged into one bar (hover for how many), only the transactions named below are drawn alone." }
            (lanes(data, &parts, b, &named))
            @if let Some(b) = b {
                // Blocking is 2PC's known cost, not an error: told in a calmer box.
                p class="story calm" { (blocking_story(&parts, b)) }
            }
            @for e in splits.iter().take(TOLD) {
                p class="story" { (split_story(&parts, b, e)) }
            }
            @if splits.len() > TOLD {
                p class="story" {
                    "Also split: "
                    (splits.iter().skip(TOLD).take(DRAWN - TOLD).filter_map(|e| e.txn).map(|t| t.to_string()).collect::<Vec<_>>().join(", "))
                    " (drawn in red above)."
                }
            }
            @if splits.len() > DRAWN || a.is_some_and(|a| a.error_counts.split_decision > splits.len()) {
                p class="note" { (a.map_or(splits.len(), |a| a.error_counts.split_decision)) " split decisions in all; the first " (DRAWN) " are drawn and told." }
            }
            @if !others.is_empty() {
                table class="ops" {
                    thead { tr { th { "error" } th { "txn" } th { "what" } } }
                    tbody {
                        @for e in &others {
                            tr { td { (e.kind.name()) } td { (e.txn.map(|t| t.to_string()).unwrap_or_default()) } td { (e.description) } }
                        }
                    }
                }
            }
            @if let Some(b) = b {
                h3 { "Time in doubt" }
                (table(b))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::history::{History, read_jsonl};

    fn history(text: &str) -> History {
        read_jsonl("txn.jsonl", text).unwrap()
    }

    fn section(h: &History) -> String {
        let d = Data::new(h).unwrap();
        let a = atomicity::check(h, &d.ops).unwrap();
        let b = blocking::check(h).unwrap();
        render(&d, a.as_ref(), b.as_ref()).into_string()
    }

    #[test]
    fn merging_counts_and_joins_what_overlaps_or_nearly_touches() {
        let m = merge(vec![(10, 20), (0, 5), (15, 30), (31, 40), (100, 90)], 1);
        assert_eq!(
            m,
            [
                Merged {
                    from: 0,
                    to: 5,
                    txns: 1
                },
                Merged {
                    from: 10,
                    to: 40,
                    txns: 3
                },
                Merged {
                    from: 100,
                    to: 100,
                    txns: 1
                },
            ]
        );
    }

    #[test]
    fn a_split_decision_is_drawn_in_red_and_told() {
        let h = history(include_str!(
            "../../../checkers/tests/histories/txn/split-decision.jsonl"
        ));
        let html = section(&h);
        assert_eq!(html.matches(r#"<rect class="split""#).count(), 2, "{html}");
        assert_eq!(html.matches(r#"<text class="tlabel split""#).count(), 2);
        assert_eq!(html.matches(">1.3<title>1.3</title></text>").count(), 2);
        let story = "Transaction 1.3 (a transfer of 1 from account 0 to account 3) committed at n2 (at 0.009 s) and aborted at n3 (at 0.009 s): account 0 paid 1 that account 3 never received — 1 gone from the bank.";
        assert!(html.contains(story), "{html}");
        assert!(html.contains("At 0.005 s the coordinator n1 was killed; it was down for 3.1 ms, until it came back at 0.008 s."), "{html}");
        assert!(!html.contains("NaN"));
        assert!(html.len() < 20_000, "{} bytes", html.len());
        insta::assert_snapshot!("txn_split_decision", html);
    }

    #[test]
    fn a_valid_history_tells_the_longest_wait() {
        let h = history(include_str!(
            "../../../checkers/tests/histories/txn/valid.jsonl"
        ));
        let html = section(&h);
        assert!(!html.contains(r#"class="split""#));
        assert!(html.contains(r#"<rect class="longest""#));
        assert!(html.contains("The longest wait was transaction 1.3 (a transfer of 1 from account 0 to account 3): n2 and n3 held accounts 0 and 3 in doubt; n3 for longest, 3.2 ms from 0.005 s until it was aborted there at 0.009 s, 500 µs after the coordinator came back at 0.008 s."), "{html}");
        assert!(!html.contains("NaN"));
        assert!(html.len() < 20_000, "{} bytes", html.len());
        insta::assert_snapshot!("txn_valid", html);
    }

    #[test]
    fn a_precommit_is_drawn_as_a_second_tone() {
        let text = include_str!("../../../checkers/tests/histories/txn/valid.jsonl").replace(
            r#""prepared":5300000,"precommitted":null"#,
            r#""prepared":5300000,"precommitted":7000000"#,
        );
        let html = section(&history(&text));
        assert_eq!(
            html.matches(r#"<rect class="t-abort pc""#).count(),
            1,
            "{html}"
        );
        assert!(html.contains("precommitted at 0.007 s"), "{html}");
    }

    #[test]
    fn thousands_of_transactions_stay_a_small_drawing() {
        // One participant, 5000 overlapping transactions a millisecond apart, all committed.
        let txns: Vec<String> = (0..5000u64)
            .map(|i| {
                format!(
                    r#"{{"txn":"1.{i}","op":{{"from":0,"to":1,"amount":1}},"vote":"yes","prepared":{},"precommitted":null,"decision":"commit","decided":{}}}"#,
                    1_000_000 * i + 1,
                    1_000_000 * i + 3_000_000
                )
            })
            .collect();
        let text = format!(
            "{}\n{}\n",
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}"#,
            format_args!(
                r#"{{"index":1,"time":6000000000,"process":"harness","type":"info","f":"decisions","node":"n2","value":{{"coordinator":"n1","initial":{{"0":10,"1":10}},"balances":{{"0":10,"1":10}},"txns":[{}]}}}}"#,
                txns.join(",")
            )
        );
        let html = section(&history(&text));
        assert!(html.matches("<rect").count() < 50, "{html}");
    }
}
