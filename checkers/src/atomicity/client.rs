//! The clients' transfers, as the atomicity checker reads them: the transfer asked, how it
//! ended, and the transaction its completion names (spec: `ok`/`fail` with `"txn": "1.7"`).

use crate::error::{InputError, excerpt};
use crate::history::{History, Operation, Outcome};
use crate::txn::{Transfer, TxnId};

/// One client transfer.
pub(super) struct ClientTransfer<'o> {
    pub op: &'o Operation,
    pub transfer: Transfer,
    /// The transaction the completion names; `None` when it names none (refused before one
    /// began, or unknown).
    pub txn: Option<TxnId>,
}

/// Every `transfer` among `ops` (other operations are not the atomicity checker's), in
/// invocation order. Fails, naming the line, on a transfer that is not `{from, to, amount}`
/// and on a `txn` that is not an id `a.b`.
pub(super) fn transfers<'o>(
    history: &History,
    ops: &'o [Operation],
) -> Result<Vec<ClientTransfer<'o>>, InputError> {
    let mut out = Vec::new();
    for op in ops.iter().filter(|o| &*o.f == "transfer") {
        let asked = op.invocation(history);
        let Some(transfer) = crate::txn::read_transfer(&asked.value) else {
            return Err(InputError::new(
                &history.source,
                asked.line as usize,
                format!(
                    "atomicity checker: process {}: expected a transfer's value to be {{from, to, amount}}, found {}",
                    op.process,
                    excerpt(&asked.value.to_string())
                ),
            ));
        };
        let txn = match (op.outcome, op.completion(history)) {
            (Outcome::Ok | Outcome::Fail, Some(done)) => match done.value.get("txn") {
                None | Some(crate::value::Value::Nil) => None,
                Some(v) => Some(v.as_str().and_then(TxnId::parse).ok_or_else(|| {
                    InputError::new(
                        &history.source,
                        done.line as usize,
                        format!(
                            "atomicity checker: process {}: expected the transfer's txn to be an id \"incarnation.seq\", found {}",
                            op.process,
                            excerpt(&v.to_string())
                        ),
                    )
                })?),
            },
            _ => None,
        };
        out.push(ClientTransfer { op, transfer, txn });
    }
    Ok(out)
}
