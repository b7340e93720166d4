//! The protected resource: the storage a lock holder writes to (Kleppmann's example). It lives
//! in the harness, and counts the writes it accepts; with fencing on, it rejects a token lower
//! than the highest it has accepted.

use std::sync::Mutex;

/// What the resource did with a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Accepted, as the `order`-th accepted write.
    Accepted { order: u64 },
    /// Refused: its token is older than one already accepted.
    Stale,
}

#[derive(Debug, Default)]
struct State {
    highest: Option<i64>,
    accepted: u64,
}

/// A resource, shared by every client.
#[derive(Debug, Default)]
pub struct Resource {
    fencing: bool,
    state: Mutex<State>,
}

impl Resource {
    pub fn new(fencing: bool) -> Resource {
        Resource {
            fencing,
            state: Mutex::new(State::default()),
        }
    }

    /// One write carrying `token` (writes without a token cannot be fenced, and are accepted).
    pub fn write(&self, token: Option<i64>) -> Write {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.fencing
            && let (Some(t), Some(h)) = (token, s.highest)
            && t < h
        {
            return Write::Stale;
        }
        if let Some(t) = token {
            s.highest = Some(s.highest.map_or(t, |h| h.max(t)));
        }
        s.accepted += 1;
        Write::Accepted { order: s.accepted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fencing_rejects_an_older_token_and_counts_what_it_accepts() {
        let r = Resource::new(true);
        assert_eq!(r.write(Some(33)), Write::Accepted { order: 1 });
        assert_eq!(r.write(Some(34)), Write::Accepted { order: 2 });
        assert_eq!(r.write(Some(33)), Write::Stale);
        assert_eq!(r.write(Some(34)), Write::Accepted { order: 3 });
        let open = Resource::new(false);
        assert_eq!(open.write(Some(34)), Write::Accepted { order: 1 });
        assert_eq!(open.write(Some(33)), Write::Accepted { order: 2 });
        assert_eq!(open.write(None), Write::Accepted { order: 3 });
    }
}
