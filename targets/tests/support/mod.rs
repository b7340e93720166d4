//! What the integration tests (and the redis benchmark) share: a node serving on a thread of
//! its own, fresh temporary directories, and, per system, starting and stopping servers.
//!
//! A test crate includes it with `mod support;` (the benchmark with
//! `#[path = "../tests/support/mod.rs"] mod support;`) and uses the parts it needs; the rest is
//! dead code there, hence the `allow`.
//!
//! * [`NodeThread`]: a bundled node's `serve_on` on its own thread and tokio runtime.
//! * [`redis`]: the bundled `redis-lock` node and a real redis-server, side by side.
//! * [`raft_cluster`]: `raft-kv` nodes `n1..=nN` on loopback.
//! * [`txn_bank`]: the `2pc` and `3pc` banks on loopback.
//! * [`zab_cluster`]: `zab` ensembles on loopback, and a raw ZooKeeper-protocol client.

#![allow(dead_code)]

pub mod raft_cluster;
pub mod redis;
pub mod txn_bank;
pub mod zab_cluster;

use std::fmt::Debug;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A fresh, empty directory under the system's temporary directory, unique to this process
/// and call: `faultline-{what}-{pid}-{n}`.
pub fn temp_dir(what: &str) -> PathBuf {
    static DIRS: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "faultline-{what}-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// What a node's `serve_on` is given as its `shutdown`: completes when the node is stopped.
pub type Stopped = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A bundled node serving on its own thread and tokio runtime, until stopped. Dropped, it is
/// stopped and joined without a look at how it ended (see [`NodeThread::stop`] for that).
pub struct NodeThread<E> {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), E>>>,
}

impl<E: Debug + Send + 'static> NodeThread<E> {
    /// Runs `serve(stopped)` on a new thread, on a runtime of `workers` worker threads.
    /// `serve` runs within the runtime (so it may adopt a `std` listener).
    pub fn spawn<S, F>(workers: usize, serve: S) -> NodeThread<E>
    where
        S: FnOnce(Stopped) -> F + Send + 'static,
        F: Future<Output = Result<(), E>>,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(serve(Box::pin(async {
                let _ = stopped.await;
            })))
        });
        NodeThread {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the node and waits for its thread; it must have stopped cleanly.
    pub fn stop(&mut self) {
        if let Some(thread) = self.signal() {
            let result = thread.join().expect("the node thread does not panic");
            result.expect("the node stops cleanly");
        }
    }
}

impl<E> NodeThread<E> {
    /// Whether it has not been stopped yet.
    pub fn running(&self) -> bool {
        self.thread.is_some()
    }

    /// Whether its thread has ended (by itself, if it is still [`running`](Self::running)).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Stops the node and waits for its thread, however it ended.
    pub fn halt(&mut self) {
        if let Some(thread) = self.signal() {
            let _ = thread.join();
        }
    }

    /// Tells the node to stop; its thread, if it was running.
    fn signal(&mut self) -> Option<JoinHandle<Result<(), E>>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take()
    }
}

impl<E> Drop for NodeThread<E> {
    fn drop(&mut self) {
        self.halt();
    }
}
