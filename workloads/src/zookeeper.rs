//! What the workloads' ZooKeeper clients share (the lock recipe in `lock::zookeeper`, the
//! register over znode data in `register::zookeeper`): opening a session on the `zookeeper-client`
//! crate — one client for Apache ZooKeeper and the bundled `zab` ensemble — bounding each
//! request by the operation timeout, and sorting failures into "certainly not done" and
//! "may have been done", which is what the history's `fail` and `info` mean.

use std::future::Future;
use std::time::Duration;

use zookeeper_client::{Acls, Client, CreateMode, Error, SessionState};

/// Whether a failed request certainly changed nothing: the ensemble answered with a refusal.
/// Anything else may hide a request that took effect — a lost connection, a timeout, an
/// expired or closed session, and whatever the client crate reports in its own words (it says
/// "no response from connection in …" when a server stops answering mid-request: a paused
/// server can still apply the request when it wakes). So this lists the refusals, and
/// everything it does not list counts as "perhaps done".
pub fn definite(e: &Error) -> bool {
    matches!(
        e,
        Error::NoNode
            | Error::NodeExists
            | Error::BadVersion
            | Error::NotEmpty
            | Error::NoChildrenForEphemerals
            | Error::NoAuth
            | Error::AuthFailed
            | Error::InvalidAcl
            | Error::BadArguments(_)
            | Error::NotReadOnly
            | Error::SessionMoved
            | Error::QuotaExceeded
            | Error::Throttled
            | Error::Unimplemented
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
        assert!(!definite(&Error::SessionExpired));
        // The crate's own words for a server that stopped answering: perhaps done.
        assert!(!definite(&Error::UnexpectedError("no response".into())));
    }
}
