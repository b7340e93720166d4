//! `--net netns`: the nodes on this machine, each in a network namespace of its own, with
//! kernel-level partitions (each namespace's firewall) and no proxy in the way.
//!
//! A run's namespaces are a bed without sshd ([`super::bed::network`]) in the run folder's
//! `net/`, reached with `ip netns exec` instead of SSH; the same agent runs each node. The
//! network is taken down when the [`LocalNet`] is dropped. A harness killed outright cannot
//! do that, so each live network is recorded under [`RECORDS`] with the harness's pid, and
//! every `--net netns` run first takes down the networks of harnesses that are gone.

use std::path::{Path, PathBuf};

use super::bed;
use super::inventory::Inventory;

/// Where live networks are recorded: one file per network, named by the harness's pid and
/// holding the network's folder.
pub const RECORDS: &str = "/run/faultline/netns";

/// A run's namespaces, removed when dropped.
#[derive(Debug)]
pub struct LocalNet {
    dir: PathBuf,
    record: PathBuf,
    /// The namespaces, one per host, in inventory order.
    pub namespaces: Vec<String>,
}

impl LocalNet {
    /// Creates `n` namespaces in `dir` (first removing networks that outlived their harness).
    pub fn up(dir: &Path, n: usize) -> Result<(LocalNet, Inventory), String> {
        clear_leftovers();
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::create_dir_all(RECORDS).map_err(|e| format!("{RECORDS}: {e}"))?;
        let record = Path::new(RECORDS).join(format!("{}-{}", std::process::id(), bed::tag(&dir)));
        std::fs::write(&record, dir.display().to_string())
            .map_err(|e| format!("{}: {e}", record.display()))?;
        let inventory = match bed::network(&dir, n) {
            Ok(inventory) => inventory,
            Err(e) => {
                let _ = std::fs::remove_file(&record);
                return Err(format!("cannot create the run's namespaces: {e}"));
            }
        };
        let namespaces = bed::state(&dir)?.map(|s| s.namespaces).unwrap_or_default();
        Ok((
            LocalNet {
                dir,
                record,
                namespaces,
            },
            inventory,
        ))
    }
}

impl Drop for LocalNet {
    fn drop(&mut self) {
        let _ = bed::down(&self.dir);
        let _ = std::fs::remove_file(&self.record);
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
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(dir) = std::fs::read_to_string(entry.path())
            && bed::down(Path::new(dir.trim())).is_ok()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
