//! Setup errors with the real node binary: a port already in use is a one-line error naming
//! the node and quoting its log, and nothing is left running.

use std::path::PathBuf;
use std::time::Duration;

use faultline::net::{CLIENT, LinkState, Mode};
use faultline::run::cluster::{Cluster, Place, Setup};
use faultline::run::store::RunDir;
use targets::descriptor::{Descriptor, RAFT_KV};

#[tokio::test]
async fn a_port_already_in_use_names_the_node_and_quotes_its_log() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // The raft-kv descriptor, with the client port fixed to one that is taken.
    let args: Vec<&'static str> = RAFT_KV
        .args
        .iter()
        .map(|a| -> &'static str {
            if *a == "{host}:{client_port}" {
                Box::leak(format!("127.0.0.1:{port}").into_boxed_str())
            } else {
                a
            }
        })
        .collect();
    let descriptor: &'static Descriptor = Box::leak(Box::new(Descriptor {
        args: Box::leak(args.into_boxed_slice()),
        ..RAFT_KV
    }));
    let root = std::env::temp_dir().join(format!("faultline-port-{}", std::process::id()));
    let dir = RunDir::create(&root, "t").unwrap();
    let err = Cluster::start(Setup {
        descriptor,
        nodes: 1,
        bugs: &[],
        cut: Mode::Blackhole,
        link: LinkState::default(),
        dir: &dir,
        options: &[],
        workload_args: &[],
        clients: &[CLIENT.to_string()],
        ready_timeout: Duration::from_secs(10),
        proxied: true,
        faultline: PathBuf::from(env!("CARGO_BIN_EXE_faultline")),
        place: Place::Here,
        fetch_data: false,
    })
    .await
    .unwrap_err();
    assert!(err.starts_with("node n1 exited while starting"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("in use"), "{err}");
    assert!(!err.contains('\n'));
    let alive = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains(&root.display().to_string()))
        })
        .count();
    assert_eq!(alive, 0);
    std::fs::remove_dir_all(root).unwrap();
}
