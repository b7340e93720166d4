//! The bank workload's settings, generator and workers. Each worker, paced, draws a read-all
//! (`read-fraction` of the time; half, Jepsen's mix, by default) or a transfer between two
//! accounts owned by different participants (account `a` belongs to the `a mod P`-th of the P
//! participants, as the nodes deal them), of 1 to `max-transfer`.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use targets::descriptor::Protocol;
use tokio::time::Instant;

use super::client::{Op, TxnHttp};
use super::finish;
use crate::pacer::Pacer;
use crate::settings::Settings;
use crate::worker::{self, Client, Completion, Invocation, Step};
use crate::workload::{Links, Run, Running, TypedWorkload};

/// The bank workload.
pub struct Bank;

/// Its scenario fields (Jepsen's names where Jepsen has them).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", default)]
pub struct BankSettings {
    /// How many accounts.
    pub accounts: u32,
    /// The money in the bank, shared out over the accounts at the start.
    pub total_amount: i64,
    /// The largest transfer.
    pub max_transfer: i64,
    /// Transfers may overdraw an account (the target is told so, and the checker).
    pub allow_negative: bool,
    /// The share of operations that are reads (Jepsen's mix is half). A read-all locks every
    /// account, so fewer reads let more transfers through at once.
    pub read_fraction: f64,
}

impl Default for BankSettings {
    fn default() -> Self {
        BankSettings {
            accounts: 8,
            total_amount: 100,
            max_transfer: 5,
            allow_negative: false,
            read_fraction: 0.5,
        }
    }
}

impl Settings for BankSettings {
    fn check(&self, _protocol: Protocol) -> Result<(), String> {
        if self.accounts < 2 {
            return Err("accounts must be at least 2 (a transfer needs two)".into());
        }
        if self.total_amount < 0 || self.max_transfer < 1 {
            return Err("total-amount must be at least 0 and max-transfer at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.read_fraction) {
            return Err("read-fraction must be between 0 and 1".into());
        }
        Ok(())
    }
}

impl TypedWorkload for Bank {
    type Settings = BankSettings;
    const NAME: &'static str = "bank";
    const SUMMARY: &'static str = "transfers between accounts on different participants and read-alls; the total conserved, decisions atomic";
    const PROTOCOLS: &'static [Protocol] = &[Protocol::TxnHttp];
    const LINKS: Links = Links::Shared;
    const CHECKERS: &'static [checkers::compose::Checker] = super::CHECKERS;
    /// A transaction the protocol aborted (a participant's no vote, a lock held by another
    /// transaction) — the coordinator's definite answer, as a serialization failure is.
    const ANSWERS: &'static [&'static str] = &["aborted"];

    fn node_args(&self, settings: &BankSettings) -> Vec<String> {
        let mut args = vec![
            "--accounts".to_string(),
            settings.accounts.to_string(),
            "--total".to_string(),
            settings.total_amount.to_string(),
        ];
        if settings.allow_negative {
            args.push("--allow-negative".into());
        }
        args
    }

    fn run(&self, settings: BankSettings, run: Run) -> Running {
        let nodes = run.shared_nodes();
        // The protocol's coordinator is n1; everyone else is a participant.
        let Some(coordinator) = nodes.iter().find(|n| n.name == "n1").cloned() else {
            return Box::pin(async { None });
        };
        let participants: Vec<_> = nodes.into_iter().filter(|n| n.name != "n1").collect();
        let shards = participants.len().max(1) as u32;
        let client = TxnHttp::new(coordinator, run.op_timeout);
        let draws = Arc::new(Draws {
            accounts: settings.accounts,
            shards,
            max_transfer: settings.max_transfer,
            read_fraction: settings.read_fraction,
        });
        let pace = run.pace();
        let workers = (0..run.concurrency)
            .map(|index| Teller {
                client: client.clone(),
                draws: draws.clone(),
                pacer: Pacer::new(run.seed, index, pace),
                rng: ChaCha8Rng::seed_from_u64(
                    run.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ),
            })
            .collect();
        Box::pin(async move {
            let fresh = worker::drive_all(workers, 0, &run.ctx, run.until).await;
            let finish: crate::workload::Finish =
                Box::pin(finish::run(client, participants, fresh, run.ctx));
            Some(finish)
        })
    }
}

/// What every worker draws from.
struct Draws {
    accounts: u32,
    /// How many participants the accounts are dealt to.
    shards: u32,
    max_transfer: i64,
    read_fraction: f64,
}

impl Draws {
    /// A read (`read_fraction` of the time), or a transfer between accounts of different
    /// participants (of different accounts, when there is one participant).
    fn op(&self, rng: &mut impl Rng) -> Op {
        if rng.random_bool(self.read_fraction) {
            return Op::Read;
        }
        let from = rng.random_range(0..self.accounts);
        let others: Vec<u32> = (0..self.accounts)
            .filter(|&a| a != from && (self.shards == 1 || a % self.shards != from % self.shards))
            .collect();
        let to = others[rng.random_range(0..others.len())];
        Op::Transfer {
            from,
            to,
            amount: rng.random_range(1..=self.max_transfer),
        }
    }
}

/// One worker: paced transfers and reads.
struct Teller {
    client: TxnHttp,
    draws: Arc<Draws>,
    pacer: Pacer,
    rng: ChaCha8Rng,
}

impl Client for Teller {
    type Op = Op;

    fn next(&mut self, _process: u64, until: Instant) -> Step<Op> {
        let (draws, rng) = (&self.draws, &mut self.rng);
        self.pacer.step(until, || draws.op(rng))
    }

    fn invocation(&self, op: &Op) -> Invocation {
        Invocation {
            f: op.f(),
            key: None,
            value: crate::history::value(op.value()),
        }
    }

    async fn invoke(&mut self, _process: u64, op: Op) -> Completion {
        self.client.perform(&op).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_cross_participants_and_reads_are_half_the_mix() {
        let draws = Draws {
            accounts: 8,
            shards: 3,
            max_transfer: 5,
            read_fraction: 0.5,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ops: Vec<Op> = (0..1000).map(|_| draws.op(&mut rng)).collect();
        let reads = ops.iter().filter(|o| **o == Op::Read).count();
        assert!((400..600).contains(&reads), "{reads}");
        for op in ops {
            if let Op::Transfer { from, to, amount } = op {
                assert!(from < 8 && to < 8 && from % 3 != to % 3, "{from} → {to}");
                assert!((1..=5).contains(&amount));
            }
        }
        let one = Draws { shards: 1, ..draws };
        for _ in 0..100 {
            if let Op::Transfer { from, to, .. } = one.op(&mut rng) {
                assert_ne!(from, to);
            }
        }
    }

    #[test]
    fn settings_are_checked_and_become_node_flags() {
        let bad = BankSettings {
            accounts: 1,
            ..BankSettings::default()
        };
        assert!(bad.check(Protocol::TxnHttp).is_err());
        let bad = BankSettings {
            max_transfer: 0,
            ..BankSettings::default()
        };
        assert!(bad.check(Protocol::TxnHttp).is_err());
        let bad = BankSettings {
            read_fraction: 1.5,
            ..BankSettings::default()
        };
        assert!(bad.check(Protocol::TxnHttp).is_err());
        let s = BankSettings {
            allow_negative: true,
            ..BankSettings::default()
        };
        assert_eq!(
            Bank.node_args(&s),
            ["--accounts", "8", "--total", "100", "--allow-negative"]
        );
    }
}
