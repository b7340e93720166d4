//! A host's latency and loss: tc's netem qdisc on the interface that carries a node's address.
//!
//! A [`Request::Shape`](super::protocol::Request::Shape) names an address on the host; the
//! agent finds the interface holding it (`ip -o addr show`), then puts a netem qdisc at its
//! root (`tc qdisc replace … netem delay Xms loss Y%`), or removes it for zero delay and loss.
//! Every interface shaped is remembered, so [`Netem::clear`] can take them all off at exit.
//! Every qdisc faultline adds carries the handle [`HANDLE`] (its tag, as the comment is the
//! firewall rules'), so an agent starting after a killed run finds and removes the leftovers
//! ([`Netem::clear_leftovers`]) without touching qdiscs anyone else set.
//!
//! Kernels without the `sch_netem` module are common in containers and minimal VMs; there the
//! shape is refused with a message saying so, instead of tc's bare "Specified qdisc kind is
//! unknown". [`available`] guesses beforehand, without touching any interface, for `Hello`.

use std::net::IpAddr;
use std::process::Command;

use super::firewall::one_line;

/// The handle of every qdisc faultline adds: its tag.
pub const HANDLE: &str = "fa17:";

/// The interfaces whose root qdisc is one of faultline's, from the output of `tc qdisc show`
/// (`qdisc netem fa17: dev eth0 root refcnt 2 limit 1000 delay 50ms`).
pub fn tagged_interfaces(tc_qdisc_show: &str) -> Vec<String> {
    tc_qdisc_show
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ours = fields.get(1) == Some(&"netem")
                && fields.get(2) == Some(&HANDLE)
                && fields.get(3) == Some(&"dev")
                && fields.contains(&"root");
            ours.then(|| fields.get(4).map(|d| d.to_string()))?
        })
        .collect()
}

/// The interface holding `address`, from the output of `ip -o addr show`
/// (`4: eth0    inet 192.0.2.2/24 brd … scope global eth0\ …`).
pub fn interface_for(ip_o_addr: &str, address: IpAddr) -> Option<String> {
    ip_o_addr.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let name = fields.get(1)?;
        let held: IpAddr = fields.get(3)?.split('/').next()?.parse().ok()?;
        // Veth and VLAN interfaces show as `eth0@if12`: the name is before the `@`.
        (held == address).then(|| name.split('@').next().unwrap_or(name).to_string())
    })
}

/// The tc arguments shaping `interface`: `loss` is a fraction (0.05 = 5 %), as everywhere in
/// faultline. Zero delay and loss removes the qdisc.
pub fn shape_args(interface: &str, latency_ms: f64, loss: f64) -> Vec<String> {
    let mut args: Vec<String> = ["qdisc"].iter().map(|s| s.to_string()).collect();
    if latency_ms <= 0.0 && loss <= 0.0 {
        args.extend(["del", "dev", interface, "root"].map(String::from));
        return args;
    }
    args.extend(
        [
            "replace", "dev", interface, "root", "handle", HANDLE, "netem",
        ]
        .map(String::from),
    );
    args.push("delay".into());
    args.push(format!("{}ms", latency_ms.max(0.0)));
    args.push("loss".into());
    args.push(format!("{}%", (loss.clamp(0.0, 1.0) * 100.0)));
    args
}

/// What a tc failure means, in one line: a refusal naming netem where the kernel lacks it.
pub fn explain(stderr: &str) -> String {
    let tc = one_line(stderr);
    if tc.contains("qdisc kind is unknown") {
        format!(
            "this host's kernel has no netem (tc: {tc}): latency and loss need the sch_netem \
             module"
        )
    } else {
        format!("tc failed: {tc}")
    }
}

/// Whether the kernel seems to have netem: the module loaded, built in, or installed.
/// A guess for `Hello`; a shape request finds out for certain.
pub fn available() -> bool {
    if std::path::Path::new("/sys/module/sch_netem").exists() {
        return true;
    }
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let modules = format!("/lib/modules/{}", release.trim());
    if std::fs::read_to_string(format!("{modules}/modules.builtin"))
        .is_ok_and(|b| b.contains("sch_netem.ko"))
    {
        return true;
    }
    std::fs::read_to_string(format!("{modules}/modules.dep"))
        .is_ok_and(|d| d.contains("sch_netem.ko"))
}

/// The interfaces this agent has shaped.
#[derive(Debug, Default)]
pub struct Netem {
    shaped: Vec<String>,
}

fn run(program: &str, args: &[String]) -> Result<String, (String, String)> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| (format!("cannot run `{program}`: {e}"), String::new()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err((
            format!("`{program} {}` failed ({})", args.join(" "), output.status),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }
}

impl Netem {
    /// Shapes the interface holding `address`.
    pub fn shape(&mut self, address: IpAddr, latency_ms: f64, loss: f64) -> Result<(), String> {
        let addresses = run("ip", &["-o".into(), "addr".into(), "show".into()])
            .map_err(|(what, err)| format!("{what}: {}", one_line(&err)))?;
        let interface = interface_for(&addresses, address)
            .ok_or_else(|| format!("no interface on this host holds {address}"))?;
        let args = shape_args(&interface, latency_ms, loss);
        let removing = args[1] == "del";
        match run("tc", &args) {
            Ok(_) => {}
            // Removing a qdisc that is not there is what a heal of an unshaped link does.
            Err(_) if removing => {}
            Err((_, stderr)) => return Err(explain(&stderr)),
        }
        self.shaped.retain(|i| *i != interface);
        if !removing {
            self.shaped.push(interface);
        }
        Ok(())
    }

    /// Removes faultline's qdiscs left by a run that was killed (quiet where there is no tc).
    pub fn clear_leftovers(&mut self) {
        if let Ok(shown) = run("tc", &["qdisc".into(), "show".into()]) {
            for interface in tagged_interfaces(&shown) {
                let _ = run("tc", &shape_args(&interface, 0.0, 0.0));
            }
        }
    }

    /// Removes every qdisc this agent added.
    pub fn clear(&mut self) {
        for interface in std::mem::take(&mut self.shaped) {
            let _ = run("tc", &shape_args(&interface, 0.0, 0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &str = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
4: eth0@if9    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n\
4: eth0@if9    inet6 fd00::2/64 scope global nodad \\       valid_lft forever\n";

    #[test]
    fn the_interface_is_the_one_holding_the_address() {
        assert_eq!(
            interface_for(IP, "192.0.2.2".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            interface_for(IP, "fd00::2".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            interface_for(IP, "127.0.0.1".parse().unwrap()).as_deref(),
            Some("lo")
        );
        assert_eq!(interface_for(IP, "10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn shapes_are_netem_and_zero_removes() {
        assert_eq!(
            shape_args("eth0", 50.0, 0.05).join(" "),
            "qdisc replace dev eth0 root handle fa17: netem delay 50ms loss 5%"
        );
        assert_eq!(
            shape_args("eth0", 0.0, 0.0).join(" "),
            "qdisc del dev eth0 root"
        );
    }

    #[test]
    fn leftovers_are_found_by_their_handle() {
        let shown = "qdisc noqueue 0: dev lo root refcnt 2\n\
qdisc netem fa17: dev eth0 root refcnt 2 limit 1000 delay 50ms\n\
qdisc netem 8001: dev eth1 root refcnt 2 limit 1000 delay 5ms\n";
        assert_eq!(tagged_interfaces(shown), vec!["eth0".to_string()]);
    }

    #[test]
    fn a_kernel_without_netem_is_refused_clearly() {
        let e = explain("Error: Specified qdisc kind is unknown.\n");
        assert!(e.contains("no netem"), "{e}");
        assert!(e.contains("sch_netem"), "{e}");
    }
}
