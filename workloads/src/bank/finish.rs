//! The bank after healing: wait for the participants to settle (no transaction left in
//! doubt, or a time limit), read every balance once more (the final read, retried until it
//! commits), then record what each participant decided — one `decisions` event per
//! participant, process `harness`, its times placed on the history's clock — for the
//! atomicity and blocking checkers (docs/workloads/bank.md has the event's shape).

use std::time::Duration;

use checkers::history::{EventType, Name, Process};
use serde_json::{Value, json};
use targets::twopc::api::{Decisions, TxnReport};
use tokio::time::{Instant, sleep};

use super::client::{Op, TxnHttp};
use crate::history::{Record, value};
use crate::worker::{self, Client, Completion, Context, Invocation, Step};
use crate::workload::Node;

/// How long the participants get to resolve what is still in doubt after healing.
const SETTLE: Duration = Duration::from_secs(15);
/// Final read attempts (each aborted one waits a little and tries again).
const FINAL_READS: u32 = 50;
const RETRY: Duration = Duration::from_millis(100);
/// How long one participant may take to say its decisions.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the bank's end: settle, final read (as processes from `first_process`), decisions.
pub(super) async fn run(
    client: TxnHttp,
    participants: Vec<Node>,
    first_process: u64,
    ctx: Context,
) {
    let http = crate::http_client();
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        let mut settled = true;
        for p in &participants {
            settled &= ask(&http, p)
                .await
                .is_ok_and(|d| !d.txns.iter().any(in_doubt));
        }
        if settled {
            break;
        }
        sleep(RETRY * 2).await;
    }
    let reader = FinalRead {
        client,
        left: FINAL_READS,
        done: false,
        retry: false,
    };
    let never = Instant::now() + Duration::from_secs(86_400 * 365);
    worker::drive_all(vec![reader], first_process, &ctx, never).await;
    for p in &participants {
        let asked = ask(&http, p).await;
        let now = ctx.history.now();
        let (kind, v, error) = match asked {
            Ok(decisions) => (EventType::Info, placed(&decisions, now), None),
            Err(why) => (EventType::Info, Value::Null, Some(why)),
        };
        ctx.history.record(Record {
            process: Process::Named(Name::from("harness")),
            kind,
            f: "decisions",
            key: None,
            value: value(v),
            node: Some(p.name.clone()),
            error,
        });
    }
}

/// Whether a participant is still in doubt about a transaction.
fn in_doubt(t: &TxnReport) -> bool {
    t.vote.as_deref() == Some("yes") && t.decision.is_none()
}

/// A participant's decisions.
async fn ask(http: &reqwest::Client, p: &Node) -> Result<Decisions, String> {
    let response = http
        .get(format!("http://{}/decisions", p.addr))
        .timeout(ASK_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            format!(
                "no decisions from {}: {}",
                p.name,
                crate::register::client::short(&e)
            )
        })?;
    if !response.status().is_success() {
        return Err(format!(
            "no decisions from {}: {}",
            p.name,
            response.status()
        ));
    }
    response
        .json()
        .await
        .map_err(|e| format!("unreadable decisions from {}: {e}", p.name))
}

/// The decisions event's value: ages become times on the history's clock (`now`, ns, is when
/// the answer came).
fn placed(d: &Decisions, now: u64) -> Value {
    let at = |ago_us: Option<u64>| ago_us.map(|us| now.saturating_sub(us.saturating_mul(1000)));
    let txns: Vec<Value> = d
        .txns
        .iter()
        .map(|t| {
            json!({
                "txn": t.txn,
                "op": t.op,
                "vote": t.vote,
                "prepared": at(t.prepared_ago_us),
                "precommitted": at(t.precommitted_ago_us),
                "decision": t.decision,
                "decided": at(t.decided_ago_us),
            })
        })
        .collect();
    json!({
        "coordinator": d.coordinator,
        "initial": d.initial,
        "balances": d.balances,
        "refused-on-locks": d.refused_on_locks,
        "txns": txns,
    })
}

/// The final read: a read-all, again until one commits or the attempts run out.
struct FinalRead {
    client: TxnHttp,
    left: u32,
    done: bool,
    /// The last attempt aborted: wait before the next.
    retry: bool,
}

impl Client for FinalRead {
    type Op = Op;

    fn next(&mut self, _process: u64, _until: Instant) -> Step<Op> {
        if self.done || self.left == 0 {
            return Step::Done;
        }
        if std::mem::take(&mut self.retry) {
            return Step::Sleep(RETRY);
        }
        self.left -= 1;
        Step::Invoke(Op::Read)
    }

    fn invocation(&self, op: &Op) -> Invocation {
        Invocation {
            f: op.f(),
            key: None,
            value: value(op.value()),
        }
    }

    async fn invoke(&mut self, _process: u64, op: Op) -> Completion {
        let completion = self.client.perform(&op).await;
        self.done = completion.kind == EventType::Ok;
        self.retry = !self.done;
        completion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_become_times_on_the_history_clock() {
        let d = Decisions {
            coordinator: "n1".into(),
            initial: [("1".to_string(), 10)].into(),
            balances: [("1".to_string(), 7)].into(),
            refused_on_locks: 2,
            txns: vec![TxnReport {
                txn: "1.3".into(),
                op: json!({"from": 1, "to": 2, "amount": 3}),
                vote: Some("yes".into()),
                prepared_ago_us: Some(5_000),
                precommitted_ago_us: Some(3_000),
                decision: Some("commit".into()),
                decided_ago_us: Some(1_000),
            }],
        };
        let v = placed(&d, 10_000_000);
        assert_eq!(v["txns"][0]["prepared"], 5_000_000);
        assert_eq!(v["txns"][0]["precommitted"], 7_000_000);
        assert_eq!(v["txns"][0]["decided"], 9_000_000);
        assert_eq!(v["refused-on-locks"], 2);
        assert_eq!(v["initial"]["1"], 10);
        assert!(!in_doubt(&d.txns[0]));
    }
}
