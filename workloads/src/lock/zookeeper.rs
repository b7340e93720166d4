//! The ZooKeeper lock recipe (ZooKeeper's "Locks" recipe, Curator's InterProcessMutex), over
//! the `zookeeper-client` crate, so one client drives Apache ZooKeeper and the bundled `zab`
//! ensemble alike.
//!
//! * **Acquire**: create an ephemeral sequential child `lock-NNNNNNNNNN` of [`LOCK_DIR`]
//!   (its data: the holding's id), list the children; hold if ours is the lowest, otherwise
//!   watch the one just below ours and list again when it goes. The fencing token is our
//!   znode's `czxid`: the zxid of the transaction that created it, which grows with every
//!   later holder's.
//! * **Belief**: the session is the lease. A client may believe it holds the lock until the
//!   session timeout after the last request the ensemble answered (the server cannot have
//!   expired the session before then), so each acquire and each renew — an `exists` on our
//!   znode, checking it is still ours — reports `validity = session timeout − round trip −
//!   drift`, as Redlock's clients do with their lease.
//! * **Release**: delete our znode. A client that loses track of its session (a request
//!   unanswered, the session expired) abandons it: the ensemble deletes its znode when the
//!   session times out.
//!
//! Each client keeps its sessions with **one server, its home node**, as Jepsen binds clients
//! to nodes (the register's clients do too): a holder whose server is cut off from the leader
//! is then cut off with it, and learns nothing the rest of the ensemble decides — the lock's
//! partition scenario. Reads (the renewal's `exists`, the children listed) are answered by that
//! server from its own copy of the tree, as ZooKeeper's are.
//!
//! Each client runs its session on **a thread of its own** (a single-threaded tokio runtime),
//! and the workload talks to it over a channel. A client pause blocks that thread: the
//! session's pings stop with everything else, as in a stop-the-world garbage-collection pause
//! — which is what lets the session expire under a holder that still believes it holds the
//! lock. (Paused in the workload's own runtime, the crate's background task would keep the
//! session alive and the pause would prove nothing.)

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use zookeeper_client::{Acls, Client, CreateMode, Error};

use super::client::{Held, Outcome};
use crate::zookeeper::{self, definite};

/// The lock's parent znode.
pub const LOCK_DIR: &str = "/faultline-lock";

/// How long an acquire waits in line before it gives up (and deletes its znode).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// A client's handle on its session thread.
#[derive(Debug)]
pub struct ZkLock {
    commands: mpsc::UnboundedSender<Command>,
}

/// What the workload asks of the session thread.
enum Command {
    Acquire {
        id: String,
        reply: oneshot::Sender<Outcome<Held>>,
    },
    Renew {
        reply: oneshot::Sender<Outcome<Duration>>,
    },
    Release {
        reply: oneshot::Sender<Outcome<Vec<String>>>,
    },
    /// Stop the world for this long.
    Pause {
        length: Duration,
        reply: oneshot::Sender<()>,
    },
}

impl ZkLock {
    /// A client whose sessions are with one server, its home node `home` (name, address),
    /// asking for sessions of `timeout`, its requests waiting at most `op_timeout` each.
    pub fn new(
        home: (String, std::net::SocketAddr),
        timeout: Duration,
        op_timeout: Duration,
    ) -> ZkLock {
        let (commands, inbox) = mpsc::unbounded_channel();
        let session = Session {
            host: home.1.to_string(),
            names: vec![home.0],
            timeout,
            op_timeout,
            client: None,
            mine: None,
        };
        // Dropping the handle closes the channel, which ends the thread.
        let spawned = std::thread::Builder::new()
            .name("zk-lock-client".into())
            .spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(session.serve(inbox));
                }
            });
        if let Err(e) = spawned {
            eprintln!("cannot start a ZooKeeper client thread: {e}");
        }
        ZkLock { commands }
    }

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command, gone: T) -> T {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(command(reply)).is_err() {
            return gone;
        }
        answer.await.unwrap_or(gone)
    }

    pub async fn acquire(&self, id: &str) -> Outcome<Held> {
        let id = id.to_string();
        self.ask(|reply| Command::Acquire { id, reply }, lost_thread())
            .await
    }

    pub async fn renew(&self) -> Outcome<Duration> {
        self.ask(|reply| Command::Renew { reply }, lost_thread())
            .await
    }

    pub async fn release(&self) -> Outcome<Vec<String>> {
        self.ask(|reply| Command::Release { reply }, lost_thread())
            .await
    }

    /// Stops this client's whole world — its session's pings included — for `length`.
    pub async fn pause(&self, length: Duration) {
        self.ask(|reply| Command::Pause { length, reply }, ()).await
    }
}

fn lost_thread<T>() -> Outcome<T> {
    Outcome::Unknown {
        error: "the client's session thread is gone".into(),
    }
}

/// Our znode, while we are in line or hold the lock.
struct Mine {
    path: String,
    czxid: i64,
}

/// One client's session, on its own thread.
struct Session {
    /// `127.0.0.1:port`: the client's link to its home node.
    host: String,
    names: Vec<String>,
    timeout: Duration,
    op_timeout: Duration,
    client: Option<Client>,
    mine: Option<Mine>,
}

/// Redis's clock drift allowance, applied to the session timeout: 1% plus 2 ms.
fn drift(timeout: Duration) -> Duration {
    timeout / 100 + Duration::from_millis(2)
}

/// The sequence number a sequential znode's name ends with.
fn sequence(name: &str) -> Option<u64> {
    name.rsplit('-').next()?.parse().ok()
}

impl Session {
    async fn serve(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        while let Some(command) = inbox.recv().await {
            match command {
                Command::Acquire { id, reply } => {
                    let _ = reply.send(self.acquire(&id).await);
                }
                Command::Renew { reply } => {
                    let _ = reply.send(self.renew().await);
                }
                Command::Release { reply } => {
                    let _ = reply.send(self.release().await);
                }
                Command::Pause { length, reply } => {
                    // Block the thread, not the task: the runtime's other tasks — the
                    // session's pings — stop too.
                    std::thread::sleep(length);
                    let _ = reply.send(());
                }
            }
        }
    }

    /// A live session, connecting a new one if there is none (or it ended).
    async fn client(&mut self) -> Result<Client, String> {
        if let Some(client) = &self.client
            && zookeeper::alive(client)
        {
            return Ok(client.clone());
        }
        self.client = None;
        let client =
            zookeeper::connect(&self.host, self.timeout, self.op_timeout, LOCK_DIR).await?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Gives the session up: whatever it holds goes when the ensemble expires it (or at once,
    /// if the close reaches it).
    fn abandon(&mut self) {
        self.client = None;
        self.mine = None;
    }

    /// `request`, bounded by the operation timeout.
    async fn request<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        zookeeper::bounded(self.op_timeout, request).await
    }

    /// The validity a request sent at `asked` and answered now leaves the holder.
    fn validity(&self, client: &Client, asked: Instant) -> Duration {
        let timeout = client.session_timeout();
        timeout.saturating_sub(asked.elapsed() + drift(timeout))
    }

    async fn acquire(&mut self, id: &str) -> Outcome<Held> {
        let client = match self.client().await {
            Ok(client) => client,
            Err(error) => {
                self.abandon();
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error,
                };
            }
        };
        let prefix = format!("{LOCK_DIR}/lock-");
        let create = client.create(
            &prefix,
            id.as_bytes(),
            &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
        );
        match self.request(create).await {
            Ok((stat, seq)) => {
                self.mine = Some(Mine {
                    path: format!("{LOCK_DIR}/lock-{seq}"),
                    czxid: stat.czxid,
                });
            }
            Err(e) if definite(&e) => {
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error: e.to_string(),
                };
            }
            Err(e) => {
                self.abandon();
                return Outcome::Unknown {
                    error: e.to_string(),
                };
            }
        }
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            let Some(mine) = &self.mine else {
                return lost_thread();
            };
            let (path, czxid) = (mine.path.clone(), mine.czxid);
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            let asked = Instant::now();
            let children = match self.request(client.list_children(LOCK_DIR)).await {
                Ok(children) => children,
                Err(e) => {
                    self.abandon();
                    return Outcome::Unknown {
                        error: e.to_string(),
                    };
                }
            };
            let mut line: Vec<(u64, String)> = children
                .into_iter()
                .filter_map(|c| Some((sequence(&c)?, c)))
                .collect();
            line.sort();
            let Some(place) = line.iter().position(|(_, c)| *c == name) else {
                // Our znode is gone: the session expired while we waited.
                self.abandon();
                return Outcome::Denied {
                    nodes: Vec::new(),
                    error: "the session expired while waiting".into(),
                };
            };
            if place == 0 {
                return Outcome::Done(Held {
                    token: Some(czxid),
                    validity: self.validity(&client, asked),
                    nodes: self.names.clone(),
                });
            }
            let before = format!("{LOCK_DIR}/{}", line[place - 1].1);
            let watcher = match self.request(client.check_and_watch_stat(&before)).await {
                Ok((None, _)) => continue,
                Ok((Some(_), watcher)) => watcher,
                Err(e) => {
                    self.abandon();
                    return Outcome::Unknown {
                        error: e.to_string(),
                    };
                }
            };
            if tokio::time::timeout_at(deadline, watcher.changed())
                .await
                .is_err()
            {
                return self.give_up(&client, &path).await;
            }
        }
    }

    /// Leaves the line after waiting too long.
    async fn give_up(&mut self, client: &Client, path: &str) -> Outcome<Held> {
        self.mine = None;
        match self.request(client.delete(path, None)).await {
            Ok(()) | Err(Error::NoNode) => Outcome::Denied {
                nodes: Vec::new(),
                error: format!("still waiting in line after {} s", MAX_WAIT.as_secs()),
            },
            Err(e) => {
                self.abandon();
                Outcome::Unknown {
                    error: e.to_string(),
                }
            }
        }
    }

    /// Confirms our znode is still there, and still ours.
    async fn renew(&mut self) -> Outcome<Duration> {
        let (Some(client), Some(mine)) = (self.client.clone(), &self.mine) else {
            return Outcome::Denied {
                nodes: Vec::new(),
                error: "the lock was lost".into(),
            };
        };
        let path = mine.path.clone();
        let asked = Instant::now();
        match self.request(client.check_stat(&path)).await {
            Ok(Some(stat)) if stat.ephemeral_owner == client.session_id().0 => {
                Outcome::Done(self.validity(&client, asked))
            }
            Ok(_) => {
                self.mine = None;
                Outcome::Denied {
                    nodes: Vec::new(),
                    error: "the lock was lost".into(),
                }
            }
            Err(e) => {
                self.abandon();
                Outcome::Unknown {
                    error: e.to_string(),
                }
            }
        }
    }

    async fn release(&mut self) -> Outcome<Vec<String>> {
        let (Some(client), Some(mine)) = (self.client.clone(), self.mine.take()) else {
            // Nothing to delete: the session that held it is gone.
            return Outcome::Done(Vec::new());
        };
        match self.request(client.delete(&mine.path, None)).await {
            Ok(()) | Err(Error::NoNode) => Outcome::Done(self.names.clone()),
            Err(e) => {
                self.abandon();
                Outcome::Unknown {
                    error: e.to_string(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_ordered_by_sequence_number() {
        assert_eq!(sequence("lock-0000000012"), Some(12));
        assert_eq!(sequence("lock-2147483648"), Some(2_147_483_648));
        assert_eq!(sequence("lock"), None);
    }
}
