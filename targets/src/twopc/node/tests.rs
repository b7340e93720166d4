use super::*;
use crate::shell::{args, assert_usage_errors};

const BASE: &str = "--id n1 --port 4000 --peer-port 4001 --data-dir /tmp/d";

#[test]
fn the_descriptors_command_line_parses_and_deals_the_accounts() {
    let line = format!("2pc {BASE} --peers n2=127.0.0.1:5002,n3=127.0.0.1:5003,n4=127.0.0.1:5004");
    let config = Config::from_args(args(&line)).unwrap();
    assert_eq!((config.name.as_str(), config.id), ("n1", 1));
    assert_eq!(config.participants(), [2, 3, 4]);
    assert_eq!((config.accounts, config.total), (8, 100));
    let shards = config.shards();
    assert_eq!(shards[&2], [0, 3, 6]);
    assert_eq!(shards[&3], [1, 4, 7]);
    assert_eq!(shards[&4], [2, 5]);
    let opening = config.opening();
    assert_eq!(opening[&0], 16, "100 / 8 = 12, and the 4 left over");
    assert_eq!(opening[&7], 12);
    assert_eq!(opening.values().sum::<i64>(), 100);

    // A participant sees the same shards, and gets its own accounts' openings.
    let line = "--id n3 --port 1 --peer-port 2 --data-dir /tmp/d --accounts 5 --total 7 \
                --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002 --bug heuristic-abort";
    let config = Config::from_args(args(line)).unwrap();
    assert_eq!(config.participants(), [2, 3]);
    let p = participant_config(&config, config.my_accounts());
    assert_eq!(p.accounts, BTreeMap::from([(1, 1), (3, 1)]));
    assert_eq!(p.bug, core::Bug::HeuristicAbort);
    assert_eq!(config.opening()[&0], 3);
}

#[test]
fn bad_command_lines_are_one_line_errors() {
    assert_usage_errors(
        Config::from_args,
        &[
            BASE.to_string(),
            format!("{BASE} --peers n2=nowhere"),
            format!("{BASE} --peers n1=127.0.0.1:1"),
            format!("{BASE} --peers n2=127.0.0.1:1 --accounts 0"),
            format!("{BASE} --peers n2=127.0.0.1:1 --total -1"),
            format!("{BASE} --peers n2=127.0.0.1:1 --tick-ms 0"),
            format!("{BASE} --peers n2=127.0.0.1:1 --bug nonsense"),
            "--id n2 --port 1 --peer-port 2 --data-dir /tmp/d --peers n3=127.0.0.1:1".to_string(),
        ],
    );
}

#[test]
fn transfer_requests_are_checked_before_anything_begins() {
    use crate::txn_node::parse_transfer;
    assert_eq!(
        parse_transfer(br#"{"from":1,"to":2,"amount":3}"#),
        Ok(core::Op::Transfer {
            from: 1,
            to: 2,
            amount: 3
        })
    );
    for (body, says) in [
        (&br#"{"from":1,"to":2}"#[..], "missing field `amount`"),
        (br#"{"from":1,"to":2,"amount":"3"}"#, "expected {\"from\""),
        (br#"{"from":1,"to":2,"amount":3,"fee":1}"#, "unknown field"),
        (br#"{"from":1,"to":2,"amount":0}"#, "must be positive"),
        (br#"{"from":2,"to":2,"amount":1}"#, "to itself"),
        (b"not json", "malformed transfer request"),
    ] {
        let error = parse_transfer(body).unwrap_err();
        assert!(error.contains(says) && !error.contains('\n'), "{error}");
    }
}
