//! `--net netns`: the nodes on this machine, each in a network namespace of its own, with
//! kernel-level partitions (each namespace's firewall) and no proxy in the way.
//!
//! A run's namespaces are a bed without sshd ([`super::bed::network`]), reached with
//! `ip netns exec` instead of SSH; the same agent runs each node. The bed's state lives under
//! [`RECORDS`], in a folder named by the harness's pid — not in the run folder, which its user
//! may delete — and the network is taken down when the [`LocalNet`] is dropped. A harness
//! killed outright cannot do that, so every `--net netns` run first takes down the networks
//! whose harness is gone (and any that could not be taken down before).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::bed;
use super::inventory::Inventory;

/// Where live networks keep their state: one folder each, `<harness pid>-<n>`.
pub const RECORDS: &str = "/run/faultline/netns";

/// A run's namespaces, removed when dropped.
#[derive(Debug)]
pub struct LocalNet {
    dir: PathBuf,
    /// The namespaces, one per host, in inventory order.
    pub namespaces: Vec<String>,
}

impl LocalNet {
    /// Creates `n` namespaces (first removing networks that outlived their harness).
    pub fn up(n: usize) -> Result<(LocalNet, Inventory), String> {
        clear_leftovers();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = Path::new(RECORDS).join(format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let inventory = match bed::network(&dir, n) {
            Ok(inventory) => inventory,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!("cannot create the run's namespaces: {e}"));
            }
        };
        let namespaces = bed::state(&dir)?.map(|s| s.namespaces).unwrap_or_default();
        Ok((LocalNet { dir, namespaces }, inventory))
    }
}

impl Drop for LocalNet {
    fn drop(&mut self) {
        take_down(&self.dir);
    }
}

/// Takes the network in `dir` down and, if that worked, forgets it; a network that could not
/// be taken down stays recorded for the next run to try again.
fn take_down(dir: &Path) {
    match bed::down(dir) {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Err(e) => eprintln!("faultline: the namespaces in {} stay: {e}", dir.display()),
    }
}

/// Takes down the networks whose harness is gone.
fn clear_leftovers() {
    let Ok(entries) = std::fs::read_dir(RECORDS) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            take_down(&entry.path());
        }
    }
}
