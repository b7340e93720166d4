//! A host's partitions: iptables rules in a chain of faultline's own.
//!
//! Every rule the agent adds lives in the chain [`CHAIN`] of the filter table, which one rule
//! at the top of `INPUT` jumps to, and every rule (the jump included) carries the comment
//! [`TAG`]. A partition on this host is the set of addresses it drops packets from; a
//! [`Request::Drop`](super::protocol::Request::Drop) replaces the whole set (flush, then one
//! `DROP` per address), so every partition shape the control machine computes — grudges,
//! one-way cuts, bridges — arrives as "this host no longer hears from these addresses", and an
//! empty set heals. Nothing outside the chain is touched except the one jump, so [`clear`]ing
//! the chain and its jump removes every trace, whoever left it (a run that was SIGKILLed leaves
//! its rules behind: the next agent clears them when it starts).
//!
//! While the agent runs under SSH, the chain starts with a `RETURN` for the SSH server's port,
//! so that dropping the control machine's address never cuts the session the agent lives on.
//!
//! IPv4 addresses go to `iptables`, IPv6 ones to `ip6tables`, each with its own chain of the
//! same name. The rules are built by pure functions ([`drop_rules`], [`clear_rules`], …) and
//! run by [`Firewall`], as root or through `sudo -n`.
//!
//! [`clear`]: Firewall::clear

use std::net::IpAddr;
use std::process::Command;

/// The chain holding every rule of faultline's.
pub const CHAIN: &str = "FAULTLINE";
/// The comment on every rule faultline adds.
pub const TAG: &str = "faultline";

/// The address family of a rule set, and the program managing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn program(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    fn of(address: &IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// The jump from `INPUT` to [`CHAIN`], as the arguments after `-I INPUT 1`, `-C INPUT` or
/// `-D INPUT`.
fn jump() -> Vec<String> {
    argv(&["-m", "comment", "--comment", TAG, "-j", CHAIN])
}

/// Checks whether the jump is in `INPUT` (exits 0 if it is).
pub fn jump_check() -> Vec<String> {
    [argv(&["-C", "INPUT"]), jump()].concat()
}

/// Creates the chain (fails if it exists: [`Firewall`] lists it first).
pub fn create_chain() -> Vec<String> {
    argv(&["-N", CHAIN])
}

/// Inserts the jump at the top of `INPUT`, before any rule that would accept the packets.
pub fn jump_insert() -> Vec<String> {
    [argv(&["-I", "INPUT", "1"]), jump()].concat()
}

/// The port of the SSH server this process's session came in on, from `SSH_CONNECTION`
/// ("client_ip client_port server_ip server_port").
pub fn ssh_port(ssh_connection: Option<&str>) -> Option<u16> {
    ssh_connection?.split_whitespace().nth(3)?.parse().ok()
}

/// The rules making the chain drop everything from `from` (the chain flushed first), sparing
/// the SSH server's port if there is one. Empty `from`: only the flush (a heal).
pub fn drop_rules(from: &[IpAddr], ssh_port: Option<u16>) -> Vec<Vec<String>> {
    let mut rules = vec![argv(&["-F", CHAIN])];
    if from.is_empty() {
        return rules;
    }
    if let Some(port) = ssh_port {
        rules.push(
            [
                argv(&["-A", CHAIN, "-p", "tcp", "--dport"]),
                vec![port.to_string()],
                argv(&["-m", "comment", "--comment", TAG, "-j", "RETURN"]),
            ]
            .concat(),
        );
    }
    for address in from {
        rules.push(
            [
                argv(&["-A", CHAIN, "-s"]),
                vec![address.to_string()],
                argv(&["-m", "comment", "--comment", TAG, "-j", "DROP"]),
            ]
            .concat(),
        );
    }
    rules
}

/// Removes one jump from `INPUT` (repeated until it fails: a killed run may have left several).
pub fn jump_delete() -> Vec<String> {
    [argv(&["-D", "INPUT"]), jump()].concat()
}

/// After every jump is gone: empties and deletes the chain.
pub fn clear_rules() -> Vec<Vec<String>> {
    vec![argv(&["-F", CHAIN]), argv(&["-X", CHAIN])]
}

/// Runs iptables and ip6tables for the agent.
#[derive(Debug)]
pub struct Firewall {
    /// What precedes the program: nothing as root, `sudo -n` otherwise.
    prefix: Vec<String>,
    ssh_port: Option<u16>,
    /// The families whose chain this agent has set up (so heals and exits know what to undo).
    set_up: Vec<Family>,
}

impl Firewall {
    /// A firewall for this process: as root, or through `sudo -n` (never a password prompt).
    pub fn new() -> Firewall {
        // /proc/self belongs to the effective user (nix's geteuid needs a feature not enabled).
        let root = std::fs::metadata("/proc/self")
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
        let prefix = if root {
            Vec::new()
        } else {
            argv(&["sudo", "-n"])
        };
        Firewall {
            prefix,
            ssh_port: ssh_port(std::env::var("SSH_CONNECTION").ok().as_deref()),
            set_up: Vec::new(),
        }
    }

    /// Runs one command of `family`'s program; an error names it and quotes its stderr.
    fn run(&self, family: Family, args: &[String]) -> Result<(), String> {
        let mut line: Vec<String> = self.prefix.clone();
        line.push(family.program().to_string());
        // Waits for the xtables lock rather than failing when another program holds it.
        line.push("-w".to_string());
        line.extend(args.iter().cloned());
        let output = Command::new(&line[0])
            .args(&line[1..])
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", line.join(" ")))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "`{}` failed ({}): {}",
            line.join(" "),
            output.status,
            one_line(&stderr)
        ))
    }

    /// Whether this agent can manage IPv4 rules (`iptables -w -L INPUT -n` works).
    pub fn works(&self) -> bool {
        self.run(Family::V4, &argv(&["-L", "INPUT", "-n"])).is_ok()
    }

    /// Makes sure the chain exists and `INPUT` jumps to it.
    fn set_up(&mut self, family: Family) -> Result<(), String> {
        if self.run(family, &argv(&["-L", CHAIN, "-n"])).is_err() {
            self.run(family, &create_chain())?;
        }
        if self.run(family, &jump_check()).is_err() {
            self.run(family, &jump_insert())?;
        }
        if !self.set_up.contains(&family) {
            self.set_up.push(family);
        }
        Ok(())
    }

    /// Drops every packet from `from` (replacing the last set); empty heals.
    pub fn drop_from(&mut self, from: &[IpAddr]) -> Result<(), String> {
        for family in [Family::V4, Family::V6] {
            let addresses: Vec<IpAddr> = from
                .iter()
                .filter(|a| Family::of(a) == family)
                .copied()
                .collect();
            if addresses.is_empty() && !self.set_up.contains(&family) {
                // Nothing to drop and nothing of ours to heal in this family.
                continue;
            }
            self.set_up(family)?;
            for rule in drop_rules(&addresses, self.ssh_port) {
                self.run(family, &rule)?;
            }
        }
        Ok(())
    }

    /// Removes every jump to the chain, and the chain, in both families: what this agent
    /// added, and whatever a killed run left. Quiet where there is nothing to remove (or no
    /// ip6tables); an error only if the chain stays.
    pub fn clear(&mut self) -> Result<(), String> {
        let mut errors = Vec::new();
        for family in [Family::V4, Family::V6] {
            // Bounded, in case a deletion "succeeds" without removing anything.
            for _ in 0..64 {
                if self.run(family, &jump_delete()).is_err() {
                    break;
                }
            }
            if self.run(family, &argv(&["-L", CHAIN, "-n"])).is_err() {
                continue;
            }
            for rule in clear_rules() {
                if let Err(e) = self.run(family, &rule) {
                    errors.push(e);
                }
            }
        }
        self.set_up.clear();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

impl Default for Firewall {
    fn default() -> Firewall {
        Firewall::new()
    }
}

/// A command's stderr as one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(rule: &[String]) -> String {
        rule.join(" ")
    }

    #[test]
    fn a_drop_flushes_then_spares_ssh_then_drops_each_address_tagged() {
        let from: Vec<IpAddr> = vec!["10.0.0.5".parse().unwrap(), "10.0.0.6".parse().unwrap()];
        let rules: Vec<String> = drop_rules(&from, Some(22))
            .iter()
            .map(|r| line(r))
            .collect();
        assert_eq!(
            rules,
            vec![
                "-F FAULTLINE",
                "-A FAULTLINE -p tcp --dport 22 -m comment --comment faultline -j RETURN",
                "-A FAULTLINE -s 10.0.0.5 -m comment --comment faultline -j DROP",
                "-A FAULTLINE -s 10.0.0.6 -m comment --comment faultline -j DROP",
            ]
        );
        let rules = drop_rules(&from[..1], None);
        assert_eq!(rules.len(), 2, "no SSH exemption outside SSH");
    }

    #[test]
    fn an_empty_drop_only_flushes() {
        assert_eq!(drop_rules(&[], Some(22)), vec![argv(&["-F", CHAIN])]);
    }

    #[test]
    fn the_jump_is_tagged_and_first() {
        assert_eq!(
            line(&jump_insert()),
            "-I INPUT 1 -m comment --comment faultline -j FAULTLINE"
        );
        assert_eq!(
            line(&jump_delete()),
            "-D INPUT -m comment --comment faultline -j FAULTLINE"
        );
        assert_eq!(
            line(&jump_check()),
            "-C INPUT -m comment --comment faultline -j FAULTLINE"
        );
        let clear: Vec<String> = clear_rules().iter().map(|r| line(r)).collect();
        assert_eq!(clear, vec!["-F FAULTLINE", "-X FAULTLINE"]);
    }

    #[test]
    fn the_ssh_port_comes_from_ssh_connection() {
        assert_eq!(ssh_port(Some("192.0.2.1 51234 192.0.2.2 2222")), Some(2222));
        assert_eq!(ssh_port(Some("garbage")), None);
        assert_eq!(ssh_port(None), None);
    }
}
