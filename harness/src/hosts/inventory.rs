//! The inventory: `hosts.toml`, the machines a run's nodes go to, one node per host.
//!
//! ```toml
//! # Optional: source addresses of the control machine, one per client, for partitions that
//! # cut single clients off (Redlock's client split). Each must be an address of this machine
//! # that the hosts can reach.
//! [control]
//! client-addresses = ["10.77.0.101", "10.77.0.102"]
//!
//! [[host]]
//! name = "h1"                 # how logs and messages name it
//! address = "10.77.0.2"       # where nodes listen, and ssh connects
//! user = "root"               # optional: ssh's own default otherwise
//! port = 22                   # optional: 22
//! key = "/root/.ssh/id_ed25519"        # optional: ssh's agent and config otherwise
//! known-hosts = "/path/known_hosts"    # optional: ~/.ssh/known_hosts otherwise
//! dir = "/tmp/faultline"      # optional: where runs go on the host
//! ```
//!
//! No password is ever read from it: ssh authenticates with keys, its agent and its config.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Control::is_empty")]
    pub control: Control,
    #[serde(rename = "host", default)]
    pub hosts: Vec<Host>,
}

/// The control machine (where the harness and the clients run).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Control {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_addresses: Vec<IpAddr>,
}

impl Control {
    fn is_empty(&self) -> bool {
        self.client_addresses.is_empty()
    }
}

/// One machine.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Host {
    pub name: String,
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
}

fn default_port() -> u16 {
    22
}

/// Where runs go on a host unless its entry says otherwise.
pub const DEFAULT_DIR: &str = "/tmp/faultline";

fn default_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DIR)
}

impl Inventory {
    /// Parses `text`, read from `file`; errors name the file, line and what was expected.
    pub fn parse(file: &str, text: &str) -> Result<Inventory, String> {
        let inventory: Inventory =
            toml::from_str(text).map_err(|e| workloads::settings::located(file, text, &e))?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map_or(1, |i| i + 1)
        };
        if inventory.hosts.is_empty() {
            return Err(format!(
                "{file}:1:1: no hosts: expected at least one [[host]]"
            ));
        }
        for (i, h) in inventory.hosts.iter().enumerate() {
            let name = &h.name;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!(
                    "{file}:{}: host name `{name}`: expected letters, digits and `-`",
                    line_of(&format!("\"{name}\""))
                ));
            }
            if inventory.hosts[..i].iter().any(|o| o.name == h.name) {
                return Err(format!(
                    "{file}:{}: host `{name}` is listed twice",
                    line_of(&format!("\"{name}\""))
                ));
            }
            if inventory.hosts[..i].iter().any(|o| o.address == h.address) {
                return Err(format!(
                    "{file}:{}: address {} is listed twice: each node needs a host of its own",
                    line_of(&h.address.to_string()),
                    h.address
                ));
            }
            if !h.dir.is_absolute() {
                return Err(format!(
                    "{file}:{}: host `{name}`: dir must be an absolute path",
                    line_of(&h.dir.display().to_string())
                ));
            }
        }
        Ok(inventory)
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Inventory, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
        Inventory::parse(&file, &text)
    }

    /// The file's text (what `faultline hosts up` writes).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[control]
client-addresses = ["10.77.0.101"]

[[host]]
name = "h1"
address = "10.77.0.2"
user = "root"
key = "/k"

[[host]]
name = "h2"
address = "10.77.0.3"
port = 2222
"#;

    #[test]
    fn a_file_reads_with_its_defaults() {
        let inv = Inventory::parse("hosts.toml", TWO).unwrap();
        assert_eq!(inv.hosts.len(), 2);
        assert_eq!(inv.hosts[0].port, 22);
        assert_eq!(inv.hosts[1].port, 2222);
        assert_eq!(inv.hosts[1].user, None);
        assert_eq!(inv.hosts[0].dir, Path::new(DEFAULT_DIR));
        assert_eq!(inv.control.client_addresses.len(), 1);
        let again = Inventory::parse("x", &inv.to_toml()).unwrap();
        assert_eq!(again, inv);
    }

    #[test]
    fn bad_files_are_refused_with_file_and_line() {
        let cases = [
            (TWO.replace("port = 2222", "port = \"x\""), "hosts.toml:14:"),
            (
                TWO.replace("user = \"root\"", "password = \"x\""),
                "hosts.toml:8:",
            ),
            (TWO.replace("10.77.0.3", "10.77.0.2"), "listed twice"),
            (TWO.replace("\"h2\"", "\"h1\""), "listed twice"),
            (TWO.replace("10.77.0.3", "ten"), "hosts.toml:13:"),
            ("[control]\n".to_string(), "expected at least one [[host]]"),
        ];
        for (text, want) in cases {
            let err = Inventory::parse("hosts.toml", &text).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
