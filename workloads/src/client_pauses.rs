//! Client pauses: the nemesis's stand-in for a stop-the-world garbage-collection pause in a
//! client. The nemesis posts a pause here; the next client to reach a point where a pause
//! hurts ([`crate::worker::Step::MayPause`] — for the lock workload, right after a holder's
//! validity check and before its write) takes it.

use std::sync::Mutex;

/// Pauses the nemesis has asked for, not yet taken.
#[derive(Debug, Default)]
pub struct ClientPauses {
    pending: Mutex<Vec<u64>>,
}

impl ClientPauses {
    /// Asks the next client at a pause point to stop for `ms`.
    pub fn request(&self, ms: u64) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ms);
    }

    /// The pause to take now, if one is pending.
    pub fn take(&self) -> Option<u64> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }
}
