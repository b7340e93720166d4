//! `faultline list`: the targets, workloads and nemeses this binary knows.

use std::fmt::Write as _;

use checkers::compose::Checker;
use nemesis::{FaultKind, Shape};
use targets::descriptor;
use workloads::registry;

use crate::run::runner::workloads_of;

/// The listing, as printed.
pub fn render() -> String {
    let mut out = String::from("targets:\n");
    for d in descriptor::ALL {
        let _ = writeln!(out, "  {:<12} {}", d.name, d.summary);
        let _ = writeln!(
            out,
            "  {:<12} workloads: {}; faults: {}; protocol: {}",
            "",
            workloads_of(d).join(", "),
            d.faults.join(", "),
            d.protocol.name()
        );
        if let Some(why) = d.clock.refusal() {
            let _ = writeln!(out, "  {:<12} no clock faults: {why}", "");
        }
        for (bug, _, what) in d.bugs {
            let _ = writeln!(out, "  {:<12} --bug {bug}: {what}", "");
        }
        for (option, _, what) in d.options {
            let _ = writeln!(out, "  {:<12} --option {option}: {what}", "");
        }
    }
    out.push_str("workloads:\n");
    for w in registry::ALL {
        let _ = writeln!(out, "  {:<12} {}", w.name(), w.summary());
        let _ = writeln!(
            out,
            "  {:<12} settings: {}; checked by: {}",
            "",
            w.fields().join(", "),
            w.checkers()
                .iter()
                .map(|c| checker_words(*c))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push_str("nemeses:\n");
    for kind in FaultKind::ALL {
        let what = match kind {
            FaultKind::Partition => {
                let shapes: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
                format!("cut links through the proxies ({})", shapes.join(", "))
            }
            FaultKind::Kill => "SIGKILL a minority of nodes, restart them on their data".into(),
            FaultKind::Pause => "SIGSTOP a minority of nodes, then SIGCONT".into(),
            FaultKind::Restart => "SIGKILL nodes and start them again at once".into(),
            FaultKind::Clock => "jump nodes' wall clocks (clock-ms), then reset them".into(),
            FaultKind::ClockStrobe => "flip nodes' wall clocks back and forth, then reset".into(),
            FaultKind::ClientPause => {
                "stop a lock holder between its validity check and its write (a GC pause)".into()
            }
        };
        let _ = writeln!(out, "  {:<12} {what}", kind.name());
    }
    out
}

/// `linearizable (cas-register)`, `mutex (information only)`.
fn checker_words(c: Checker) -> String {
    let mut s = c.name().to_string();
    if let Checker::Linearizable(model) = c {
        s.push_str(&format!(" ({model})"));
    }
    if c.informational() {
        s.push_str(" (information only)");
    }
    s
}
