//! What the workloads' ZooKeeper clients share (the lock recipe in `lock::zookeeper`, the
//! register over znode data in `register::zookeeper`): opening a session on the `zookeeper-client`
//! crate — one client for Apache ZooKeeper and the bundled `zab` ensemble — bounding each
//! request by the operation timeout, and sorting failures into "certainly not done" and
//! "may have been done", which is what the history's `fail` and `info` mean.

use std::future::Future;
use std::time::Duration;

use zookeeper_client::{Acls, Client, CreateMode, Error, SessionState};

/// Whether a failed request certainly changed nothing: the ensemble answered with a refusal.
/// Anything else (a lost connection, a timeout, an expired or closed session) may hide a
/// request that took effect.
pub fn definite(e: &Error) -> bool {
    !matches!(
        e,
        Error::ConnectionLoss
            | Error::Timeout
            | Error::SessionExpired
            | Error::ClientClosed
            | Error::NoHosts
    )
}

/// `request`, given up as a [`Error::Timeout`] after `timeout`.
pub async fn bounded<T>(
    timeout: Duration,
    request: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(timeout, request)
        .await
        .unwrap_or(Err(Error::Timeout))
}

/// Whether `client`'s session can still serve requests (it may be reconnecting).
pub fn alive(client: &Client) -> bool {
    matches!(
        client.state(),
        SessionState::SyncConnected | SessionState::Disconnected
    )
}

/// A new session on `hosts` (`127.0.0.1:port,…`) asking for `session_timeout`, with the
/// persistent znode `dir` created if missing; one-line errors.
pub async fn connect(
    hosts: &str,
    session_timeout: Duration,
    op_timeout: Duration,
    dir: &str,
) -> Result<Client, String> {
    let connect = Client::connector()
        .with_session_timeout(session_timeout)
        .connect(hosts);
    let client = match tokio::time::timeout(session_timeout.max(op_timeout), connect).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => return Err("cannot connect: timed out".into()),
    };
    let create = client.create(
        dir,
        b"",
        &CreateMode::Persistent.with_acls(Acls::anyone_all()),
    );
    match bounded(op_timeout, create).await {
        Ok(_) | Err(Error::NodeExists) => Ok(client),
        Err(e) => Err(format!("cannot create {dir}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answered_refusal_is_definite() {
        assert!(definite(&Error::NodeExists) && definite(&Error::BadVersion));
        assert!(!definite(&Error::ConnectionLoss) && !definite(&Error::Timeout));
    }
}
