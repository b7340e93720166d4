//! The nodes' wall clocks, as the harness moves them: one offset file per node (the bundled
//! nodes are told theirs on the command line, external programs read it through the clock
//! shim), written by clock bumps, resets and the clock strobe — here, or on a node's host
//! through its agent (the [`Writer`] decides).
//!
//! Each file's last offset is also kept here, so that the injector can tell which clocks are
//! still skewed when it heals the cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

/// Writes `node`'s offset file (`ns`): true if it was written.
pub type Writer = Arc<dyn Fn(&str, &Path, i64) -> bool + Send + Sync>;

/// Every node's clock offset file.
pub struct Clocks {
    /// Each node's offset file, and the offset last written there (ms).
    files: BTreeMap<String, (PathBuf, Mutex<i64>)>,
    write: Writer,
    /// The task flipping clocks during a clock strobe.
    strobe: Mutex<Option<JoinHandle<()>>>,
}

impl Clocks {
    /// Creates an offset file of 0 for each of `nodes` in `dir`, on this machine.
    pub(super) fn create(dir: &Path, nodes: &[String]) -> Result<Clocks, String> {
        std::fs::create_dir_all(dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        let files = nodes.iter().map(|n| (n.clone(), dir.join(n))).collect();
        Clocks::with(
            files,
            Arc::new(|_, file, ns| targets::clock::write_offset(file, ns).is_ok()),
        )
    }

    /// Offset files at `files` (node → path), written by `write`, each set to 0 now.
    pub(super) fn with(files: BTreeMap<String, PathBuf>, write: Writer) -> Result<Clocks, String> {
        for (node, file) in &files {
            if !write(node, file, 0) {
                return Err(format!(
                    "cannot write the clock file of node {node} ({})",
                    file.display()
                ));
            }
        }
        Ok(Clocks {
            files: files
                .into_iter()
                .map(|(n, f)| (n, (f, Mutex::new(0))))
                .collect(),
            write,
            strobe: Mutex::new(None),
        })
    }

    /// `node`'s offset file.
    pub(super) fn file(&self, node: &str) -> Option<&Path> {
        self.files.get(node).map(|(file, _)| file.as_path())
    }

    /// Sets `node`'s clock offset; false if it has no clock file or it cannot be written.
    pub fn set(&self, node: &str, ms: i64) -> bool {
        let Some((file, current)) = self.files.get(node) else {
            return false;
        };
        let ok = (self.write)(node, file, ms.saturating_mul(1_000_000));
        if ok {
            *current.lock().unwrap_or_else(|e| e.into_inner()) = ms;
        }
        ok
    }

    /// Flips `nodes`' clocks between `+ms` and 0 every `period_ms` until [`Self::stop_strobe`].
    /// Needs a Tokio runtime: the flipping is a task of its own.
    pub fn start_strobe(&self, nodes: &[String], ms: i64, period_ms: u64) {
        self.stop_strobe();
        let files: Vec<(String, PathBuf)> = nodes
            .iter()
            .filter_map(|n| Some((n.clone(), self.file(n)?.to_path_buf())))
            .collect();
        let write = self.write.clone();
        let task = tokio::spawn(async move {
            let mut up = true;
            loop {
                for (node, file) in &files {
                    // An agent's write is a blocking round trip: off the runtime's threads.
                    let (write, node, file) = (write.clone(), node.clone(), file.clone());
                    let ns = if up { ms * 1_000_000 } else { 0 };
                    let _ = tokio::task::spawn_blocking(move || write(&node, &file, ns)).await;
                }
                up = !up;
                tokio::time::sleep(Duration::from_millis(period_ms.max(1))).await;
            }
        });
        *self.strobe.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        // Counted as skewed for the whole strobe, whichever way the clock points now.
        for n in nodes {
            if let Some((_, current)) = self.files.get(n) {
                *current.lock().unwrap_or_else(|e| e.into_inner()) = ms;
            }
        }
    }

    pub fn stop_strobe(&self) {
        if let Some(task) = self.strobe.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }

    /// The nodes whose clocks are not at offset 0 (strobed ones included).
    pub fn skewed(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, (_, ms))| *ms.lock().unwrap_or_else(|e| e.into_inner()) != 0)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_and_strobed_clocks_are_skewed_until_reset() {
        let dir = std::env::temp_dir().join(format!("clocks-{}", std::process::id()));
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        let clocks = Clocks::create(&dir, &nodes).unwrap();
        assert!(clocks.skewed().is_empty());
        assert!(clocks.set("n1", 2_000));
        assert!(!clocks.set("n9", 2_000), "no such node");
        clocks.start_strobe(&["n3".to_string()], 500, 10);
        assert_eq!(clocks.skewed(), ["n1", "n3"]);
        clocks.stop_strobe();
        assert!(clocks.set("n1", 0) && clocks.set("n3", 0));
        assert!(clocks.skewed().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
