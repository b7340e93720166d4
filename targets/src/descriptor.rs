//! Target descriptors: a target is data. A descriptor says how to start node *i* (a command
//! template), how to know it is ready, which client protocol it speaks (the protocol picks the
//! client: a workload serves every target whose protocol it has a client for), which faults
//! it supports, and which known bugs it can switch on. Adding a target is adding a descriptor
//! to [`ALL`] (and, for a new protocol, a client in a workload). `faultline node`, `list` and
//! the runner all read this one table.
//!
//! Templates name their holes in braces: `{node}` (n1, n2, …), `{index}` (1, 2, …), `{host}`
//! (the address the node listens on: 127.0.0.1, or its host's on `--hosts` runs; a target
//! whose template has no `{host}` listens on loopback only and cannot run on hosts),
//! `{client_port}`, `{peer_port}` and `{peer_port_2}` (free loopback ports the harness picked;
//! the second peer port only for targets with two, such as ZooKeeper's quorum and election
//! ports), `{peers}` (`n2=127.0.0.1:4711,…`: the addresses of this node's links to each peer;
//! with two peer ports, `n2=127.0.0.1:4711:4712`), `{data_dir}`, `{clock_file}` (the node's
//! clock offset file, see [`crate::clock`]), `{store}` (`s1=127.0.0.1:4712,…`: the addresses
//! of this node's links to each node of its [`Store`]).

use std::process::ExitCode;

/// A node's `main`: its arguments after `faultline node <name>`, its exit code.
pub type NodeMain = fn(Vec<String>) -> ExitCode;

/// What to run.
#[derive(Clone, Copy, Debug)]
pub enum Program {
    /// A system bundled in the faultline binary: `faultline node <name> ARGS` runs `main`.
    Bundled { name: &'static str, main: NodeMain },
    /// An external program, found on the PATH, and the Debian package that brings it.
    External {
        program: &'static str,
        package: &'static str,
    },
    /// An external program that takes its settings from files: `faultline node <name> ARGS`
    /// runs `main`, which writes them into the node's data folder and then execs the program
    /// (ZooKeeper's `zoo.cfg` and `myid`). `program` is a file the package installs.
    Wrapped {
        name: &'static str,
        main: NodeMain,
        program: &'static str,
        package: &'static str,
    },
}

impl Program {
    /// What `faultline node <name>` runs, for the programs it runs.
    pub fn node(&self) -> Option<(&'static str, NodeMain)> {
        match *self {
            Program::Bundled { name, main } | Program::Wrapped { name, main, .. } => {
                Some((name, main))
            }
            Program::External { .. } => None,
        }
    }

    /// An external program that is not on the PATH: a one-line refusal naming it and the
    /// package that brings it (checked before anything starts).
    pub fn missing(&self) -> Option<String> {
        let (Program::External { program, package }
        | Program::Wrapped {
            program, package, ..
        }) = *self
        else {
            return None;
        };
        let found = if program.contains('/') {
            std::path::Path::new(program).is_file()
        } else {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
            })
        };
        (!found)
            .then(|| format!("`{program}` is not installed (on Debian: apt-get install {package})"))
    }
}

/// The client protocol a target speaks (docs/protocols/).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Key-value operations over HTTP, with leader hints (docs/protocols/http-kv.md).
    HttpKv,
    /// Batches of IDs over HTTP (docs/protocols/http-ids.md).
    HttpIds,
    /// Redis's RESP2 over TCP.
    Resp,
    /// ZooKeeper's client protocol (jute records over TCP, sessions kept alive by pings).
    Zookeeper,
    /// Bank transactions over HTTP: transfers and read-alls at a coordinator, decisions at
    /// the participants (docs/protocols/txn-http.md).
    TxnHttp,
    /// etcd's v3 API through its JSON gateway over HTTP (`/v3/kv/range`, `/v3/kv/txn`,
    /// `/v3/lease/grant`, `/v3/lock/lock`, …; keys and values in base64).
    Etcd,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::HttpKv => "http-kv",
            Protocol::HttpIds => "http-ids",
            Protocol::Resp => "resp",
            Protocol::Zookeeper => "zookeeper",
            Protocol::TxnHttp => "txn-http",
            Protocol::Etcd => "etcd-v3-json",
        }
    }
}

/// How a target's IDs are laid out, for the checkers that decode them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdLayout {
    /// Not IDs, or IDs with no structure to decode.
    Opaque,
    /// Snowflakes in the default layout (2020 epoch, 41/10/12 bits): a run decodes them
    /// (duplicates' fields, each worker's order).
    Snowflake,
}

/// How the harness knows a node is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// `GET path` on the client port answers 200.
    HttpGet(&'static str),
    /// The client port accepts connections.
    Tcp,
    /// Saying `say` on the client port gets an answer containing `expect` (ZooKeeper's
    /// four-letter words: `srvr` answers `Mode: leader` or `Mode: follower` once the node has
    /// joined a quorum; before that the port is open but refuses service). A node whose
    /// answer contains `leader` leads.
    Answer {
        say: &'static str,
        expect: &'static str,
        leader: &'static str,
    },
    /// etcd's `POST /v3/maintenance/status` answers, naming a leader (a member that knows of
    /// no leader answers `leader` 0). A node whose `header.member_id` is the leader leads.
    EtcdStatus,
}

/// How a target's nodes can have their wall clocks moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// They cannot (their clocks are not read, or not reachable).
    Fixed,
    /// A bundled node: told its offset file on the command line (`{clock_file}`).
    Flag,
    /// An external program: the LD_PRELOAD shim gives it the offset (dynamically linked C
    /// programs; not Go programs, which read the clock without libc).
    Shim,
    /// They cannot, for the reason given: a clock fault asked of the target is refused with it.
    Unreachable(&'static str),
}

impl Clock {
    /// Why a clock fault cannot be asked of the target, if it cannot.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Clock::Unreachable(why) => Some(why),
            _ => None,
        }
    }
}

/// A cluster a target's nodes depend on (Leaf's segment servers keep their counter in a
/// raft-kv store): started first, beside the target's own nodes, named `s1`, `s2`, …, and hurt
/// by the same nemesis.
#[derive(Clone, Copy, Debug)]
pub struct Store {
    pub descriptor: &'static Descriptor,
    pub nodes: usize,
}

/// A switch in a target's command line: a name, the extra arguments, what it does.
pub type Switch = (&'static str, &'static [&'static str], &'static str);

/// A target.
#[derive(Clone, Copy, Debug)]
pub struct Descriptor {
    pub name: &'static str,
    pub summary: &'static str,
    pub program: Program,
    pub args: &'static [&'static str],
    pub ready: Readiness,
    /// The client protocol (see docs/protocols/).
    pub protocol: Protocol,
    pub faults: &'static [&'static str],
    /// Known bugs: name, the extra arguments that switch it on, and what it does.
    pub bugs: &'static [Switch],
    /// Other settings a scenario may switch on (persistence, …).
    pub options: &'static [Switch],
    /// How many ports each node listens on for its peers, each reached through links of its
    /// own: 0 when nodes do not talk to each other, 2 for ZooKeeper (quorum and election).
    pub peer_ports: usize,
    pub clock: Clock,
    /// Scenario settings (TOML, as in a scenario file) that make a run of this target alone
    /// meaningful: `faultline run --target redlock` runs Kleppmann's scenario. A scenario file
    /// and flags override them.
    pub defaults: &'static str,
    /// The cluster this target's nodes use, if any; they reach it through links of their own,
    /// listed in the `{store}` hole.
    pub store: Option<Store>,
    /// How its IDs are laid out.
    pub id_layout: IdLayout,
}

/// The Raft key-value store.
pub const RAFT_KV: Descriptor = Descriptor {
    name: "raft-kv",
    summary: "Raft-replicated key-value store (read-index reads, pre-vote, check-quorum)",
    program: Program::Bundled {
        name: "raft-kv",
        main: crate::raft_kv::main,
    },
    args: &[
        "--id",
        "{node}",
        "--client",
        "{host}:{client_port}",
        "--peer",
        "{host}:{peer_port}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
    ],
    ready: Readiness::HttpGet("/health"),
    protocol: Protocol::HttpKv,
    faults: &["partition", "kill", "pause"],
    bugs: &[
        (
            "stale-reads",
            &["--bug", "stale-reads"],
            "a leader serves reads from its local state without confirming it is still leader (etcd #741)",
        ),
        (
            "txn-local-reads",
            &["--bug", "txn-local-reads"],
            "any node, follower or deposed leader, answers read-only transactions from its local state, outside the log",
        ),
    ],
    options: &[],
    peer_ports: 1,
    clock: Clock::Fixed,
    defaults: "",
    store: None,
    id_layout: IdLayout::Opaque,
};

/// The faults a lock server supports.
const LOCK_FAULTS: &[&str] = &[
    "partition",
    "kill",
    "pause",
    "restart",
    "clock",
    "clock-strobe",
    "client-pause",
];

/// The bundled Redis-style lock server: independent instances (no peers).
pub const REDIS_LOCK: Descriptor = Descriptor {
    name: "redis-lock",
    summary: "Redis-style server (RESP2, SET NX PX, Lua), bundled; independent instances",
    program: Program::Bundled {
        name: "redis-lock",
        main: crate::redis_lock::main,
    },
    args: &[
        "--id",
        "{node}",
        "--bind",
        "{host}",
        "--port",
        "{client_port}",
        "--data-dir",
        "{data_dir}",
        "--clock-file",
        "{clock_file}",
    ],
    ready: Readiness::Tcp,
    protocol: Protocol::Resp,
    faults: LOCK_FAULTS,
    bugs: &[],
    options: &[
        (
            "aof-always",
            &["--appendonly", "always"],
            "append-only file, fsync before every reply (a restarted node remembers its locks)",
        ),
        (
            "monotonic-expiry",
            &["--expiry-clock", "monotonic"],
            "keys expire on the monotonic clock: a wall-clock jump moves no lease",
        ),
    ],
    peer_ports: 0,
    clock: Clock::Flag,
    defaults: SINGLE_LOCK_DEFAULTS,
    store: None,
    id_layout: IdLayout::Opaque,
};

/// A single lock server whose holders pause, whose clock jumps and which restarts.
const SINGLE_LOCK_DEFAULTS: &str = r#"
workload = "lock"
nodes = 1
concurrency = 3
nemesis = ["client-pause", "clock", "restart"]
clock-ms = 5000
client-pause-ms = 2500
interval = 2
"#;

/// Redlock over five bundled redis-lock instances: by default Kleppmann's scenario (clients
/// split A B C | C D E for the whole test, C's clock jumping forward).
pub const REDLOCK: Descriptor = Descriptor {
    name: "redlock",
    summary: "Redlock over bundled redis-lock instances; by default Kleppmann's clock-jump scenario",
    defaults: r#"
workload = "lock"
lock-algorithm = "redlock"
lock-ttl-ms = 2000
writes-per-hold = 5
nodes = 5
concurrency = 2
standing-partition = "client-split"
nemesis = ["clock"]
fault-nodes = ["n3"]
clock-ms = 5000
interval = 2
"#,
    ..REDIS_LOCK
};

/// Debian's redis-server: independent instances, clocks through the shim.
pub const REDIS_SERVER: Descriptor = Descriptor {
    name: "redis-server",
    summary: "Debian's redis-server (apt-get install redis-server); independent instances",
    program: Program::External {
        program: "redis-server",
        package: "redis-server",
    },
    args: &[
        "--port",
        "{client_port}",
        "--bind",
        "{host}",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        "{data_dir}",
        "--protected-mode",
        "no",
    ],
    ready: Readiness::Tcp,
    protocol: Protocol::Resp,
    faults: LOCK_FAULTS,
    bugs: &[],
    options: &[(
        "aof-always",
        &["--appendonly", "yes", "--appendfsync", "always"],
        "append-only file, fsync on every write",
    )],
    peer_ports: 0,
    clock: Clock::Shim,
    defaults: SINGLE_LOCK_DEFAULTS,
    store: None,
    id_layout: IdLayout::Opaque,
};

/// The faults an ID server supports.
const ID_FAULTS: &[&str] = &[
    "partition",
    "kill",
    "pause",
    "restart",
    "clock",
    "clock-strobe",
];

/// Independent ID servers whose clocks jump backwards: what snowflake fears.
const ID_DEFAULTS: &str = r#"
workload = "unique-ids"
nodes = 3
concurrency = 6
rate = 600
batch-size = 10
nemesis = ["clock"]
clock-ms = -2000
interval = 2
"#;

/// The bundled snowflake ID server: one worker per node, worker id from the node's index.
pub const SNOWFLAKE: Descriptor = Descriptor {
    name: "snowflake",
    summary: "snowflake ID servers, bundled: 41-bit ms, 10-bit worker, 12-bit sequence",
    program: Program::Bundled {
        name: "snowflake",
        main: crate::snowflake::main,
    },
    args: &[
        "--id",
        "{node}",
        "--worker",
        "{index}",
        "--port",
        "{client_port}",
        "--data-dir",
        "{data_dir}",
        "--clock-file",
        "{clock_file}",
    ],
    ready: Readiness::HttpGet("/health"),
    protocol: Protocol::HttpIds,
    faults: ID_FAULTS,
    bugs: &[
        (
            "no-clock-guard",
            &["--bug", "no-clock-guard"],
            "no guard against a clock that moved backwards: timestamps are reused and IDs repeat",
        ),
        (
            "no-high-water",
            &["--bug", "no-high-water"],
            "no high-water mark on disk: a node restarted with its clock behind reuses timestamps",
        ),
    ],
    options: &[],
    peer_ports: 0,
    clock: Clock::Flag,
    defaults: ID_DEFAULTS,
    store: None,
    id_layout: IdLayout::Snowflake,
};

/// The bundled UUID server (version 4 by default; `--option v7` for version 7).
pub const UUID: Descriptor = Descriptor {
    name: "uuid",
    summary: "UUID servers, bundled: random (v4) or time-ordered (v7) 128-bit IDs",
    program: Program::Bundled {
        name: "uuid",
        main: crate::uuid_ids::main,
    },
    args: &[
        "--id",
        "{node}",
        "--port",
        "{client_port}",
        "--data-dir",
        "{data_dir}",
        "--clock-file",
        "{clock_file}",
    ],
    bugs: &[(
        "time-seeded-rng",
        &["--bug", "time-seeded-rng"],
        "the random generator is seeded from the clock's second: nodes started together collide",
    )],
    id_layout: IdLayout::Opaque,
    options: &[(
        "v7",
        &["--version", "7"],
        "version 7: 48 bits of wall-clock milliseconds, then random bits",
    )],
    ..SNOWFLAKE
};

/// Leaf's segment mode: ID servers that take ranges of IDs from a raft-kv store, killed and cut
/// off from it, and the store's own nodes killed and partitioned.
const SEGMENT_DEFAULTS: &str = r#"
workload = "unique-ids"
nodes = 3
concurrency = 6
rate = 300
batch-size = 5
nemesis = ["kill", "partition"]
interval = 2
"#;

/// The bundled Leaf-style segment ID server over a three-node raft-kv store.
pub const SEGMENT: Descriptor = Descriptor {
    name: "segment",
    summary: "Leaf-style segment ID servers (double buffer), their counter in a 3-node raft-kv store",
    program: Program::Bundled {
        name: "segment",
        main: crate::segment::main,
    },
    args: &[
        "--id",
        "{node}",
        "--worker",
        "{index}",
        "--port",
        "{client_port}",
        "--data-dir",
        "{data_dir}",
        "--store",
        "{store}",
        "--step",
        "100",
    ],
    faults: &["partition", "kill", "pause", "restart"],
    bugs: &[(
        "non-atomic-segment",
        &["--bug", "non-atomic-segment"],
        "a segment is taken by a read and then a write, not a compare-and-set: two servers can get the same one",
    )],
    options: &[
        (
            "no-double-buffer",
            &["--no-double-buffer"],
            "fetch the next segment only when the current one runs out, inside the request",
        ),
        (
            "step-1000",
            &["--step", "1000"],
            "ranges of 1000 IDs, Leaf's usual size (the default 100 crosses more boundaries)",
        ),
    ],
    clock: Clock::Fixed,
    defaults: SEGMENT_DEFAULTS,
    store: Some(Store {
        descriptor: &RAFT_KV,
        nodes: 3,
    }),
    id_layout: IdLayout::Opaque,
    ..SNOWFLAKE
};

/// The register workload's option, for either ZooKeeper: reads without `sync`.
const FOLLOWER_READS: Switch = (
    "follower-reads",
    &[],
    "register clients read without a sync first: from whichever server their session is on",
);

/// Debian's Apache ZooKeeper 3.8: an ensemble, each node's `zoo.cfg` written by its launcher,
/// its quorum and election ports both behind the proxies.
pub const ZOOKEEPER: Descriptor = Descriptor {
    name: "zookeeper",
    summary: "Debian's Apache ZooKeeper 3.8 (apt-get install zookeeper); a Java ensemble",
    program: Program::Wrapped {
        name: "zookeeper",
        main: crate::zookeeper::main,
        program: crate::zookeeper::JAR,
        package: "zookeeper",
    },
    args: &[
        "--myid",
        "{index}",
        "--client-port",
        "{client_port}",
        "--quorum-port",
        "{peer_port}",
        "--election-port",
        "{peer_port_2}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
        "--host",
        "{host}",
    ],
    ready: Readiness::Answer {
        say: "srvr",
        expect: "Mode: ",
        leader: "Mode: leader",
    },
    protocol: Protocol::Zookeeper,
    faults: &["partition", "kill", "pause", "restart", "client-pause"],
    bugs: &[],
    options: &[FOLLOWER_READS],
    peer_ports: 2,
    clock: Clock::Fixed,
    defaults: ZOOKEEPER_DEFAULTS,
    store: None,
    id_layout: IdLayout::Opaque,
};

/// The ZooKeeper lock recipe, its holders paused past their session timeout.
const ZOOKEEPER_DEFAULTS: &str = r#"
workload = "lock"
lock-algorithm = "zookeeper"
lock-ttl-ms = 1000
nodes = 3
concurrency = 3
nemesis = ["client-pause"]
client-pause-ms = 2500
interval = 2
"#;

/// Debian's etcd 3.4: each member started by its launcher, which routes its peer connections
/// through the harness's links (see [`crate::etcd`]).
pub const ETCD: Descriptor = Descriptor {
    name: "etcd",
    summary: "Debian's etcd 3.4 (apt-get install etcd-server); a Go Raft cluster, v3 JSON API",
    program: Program::Wrapped {
        name: "etcd",
        main: crate::etcd::main,
        program: crate::etcd::PROGRAM,
        package: "etcd-server",
    },
    args: &[
        "--name",
        "{node}",
        "--client-port",
        "{client_port}",
        "--peer-port",
        "{peer_port}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
        "--host",
        "{host}",
    ],
    ready: Readiness::EtcdStatus,
    protocol: Protocol::Etcd,
    faults: &["partition", "kill", "pause", "restart", "client-pause"],
    bugs: &[],
    options: &[(
        "serializable",
        &[],
        "register reads are serializable (`serializable: true`): served from the member's local state, without a read index",
    )],
    peer_ports: 1,
    clock: Clock::Unreachable(
        "etcd is a Go program: Go reads the clock through the vDSO, not libc, so the LD_PRELOAD clock shim cannot move it",
    ),
    defaults: ETCD_DEFAULTS,
    store: None,
    id_layout: IdLayout::Opaque,
};

/// Registers on etcd under partitions, kills and pauses.
const ETCD_DEFAULTS: &str = r#"
workload = "register"
nodes = 3
concurrency = 6
nemesis = ["partition", "kill", "pause"]
interval = 2
"#;

/// The bundled ZooKeeper-like system: ZAB and ZooKeeper's client protocol, so that the
/// workloads' ZooKeeper clients run against it unchanged.
pub const ZAB: Descriptor = Descriptor {
    name: "zab",
    summary: "ZooKeeper-like ensemble (ZAB, ZooKeeper's client protocol), bundled",
    program: Program::Bundled {
        name: "zab",
        main: crate::zab::node::main,
    },
    args: &[
        "--id",
        "{node}",
        "--client-port",
        "{client_port}",
        "--peer-port",
        "{peer_port}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
    ],
    bugs: &[
        (
            "broadcast-before-sync",
            &["--bug", "broadcast-before-sync"],
            "a new leader commits and broadcasts once a quorum acknowledged its epoch, before a quorum took its history",
        ),
        (
            "accept-older-epoch",
            &["--bug", "accept-older-epoch"],
            "followers acknowledge proposals and pings from a leader of an epoch older than the one they accepted: a deposed leader keeps leading and committing beside the new one (split brain)",
        ),
    ],
    options: &[
        FOLLOWER_READS,
        (
            "long-sync-limit",
            &["--tick-ms", "100"],
            "servers give up on a silent leader or quorum after 1-2 s, not 0.1-0.2 s (ZooKeeper's syncLimit x tickTime: 1 s in the zookeeper target, 10 s in ZooKeeper's sample zoo.cfg); a server cut off serves its local reads that long",
        ),
    ],
    peer_ports: 1,
    // The rest as Apache ZooKeeper: the same readiness word, protocol, faults and the lock
    // scenario as defaults.
    ..ZOOKEEPER
};

/// The bundled two-phase-commit bank: coordinator `n1`, participants `n2`, `n3`, … each
/// owning a shard of the accounts.
pub const TWOPC: Descriptor = Descriptor {
    name: "2pc",
    summary: "two-phase commit bank (presumed abort, group commit): coordinator n1, participants n2.., bundled",
    program: Program::Bundled {
        name: "2pc",
        main: crate::txn_node::main::<crate::twopc::node::TwoPc>,
    },
    args: &[
        "--id",
        "{node}",
        "--port",
        "{client_port}",
        "--peer-port",
        "{peer_port}",
        "--peers",
        "{peers}",
        "--data-dir",
        "{data_dir}",
    ],
    ready: Readiness::HttpGet("/health"),
    protocol: Protocol::TxnHttp,
    // No clock: every timeout is counted in ticks of the monotonic clock, and no node reads
    // the wall clock, so moving it would change nothing — refused rather than pretended.
    faults: &["partition", "kill", "pause", "restart"],
    bugs: &[(
        "heuristic-abort",
        &["--bug", "heuristic-abort"],
        "a participant in doubt for 1 s aborts on its own, as XA's heuristic decisions do, whatever the coordinator decided",
    )],
    options: &[(
        "slow-decisions",
        &["--vote-delay-ms", "300"],
        "the coordinator holds every vote 300 ms before counting it, so participants sit prepared and in doubt that long and a fault lands in the window",
    )],
    peer_ports: 1,
    clock: Clock::Fixed,
    defaults: TWOPC_DEFAULTS,
    store: None,
    id_layout: IdLayout::Opaque,
};

/// The bank over 2PC, its coordinator killed while participants are in doubt.
const TWOPC_DEFAULTS: &str = r#"
workload = "bank"
nodes = 4
concurrency = 8
options = ["slow-decisions"]
nemesis = ["kill"]
fault-nodes = ["n1"]
interval = 3
"#;

/// The bundled three-phase-commit bank: the same bank, command line and client protocol as
/// [`TWOPC`], over 3PC — participants that decide by termination when the coordinator is
/// gone, and may decide differently under a partition.
pub const THREEPC: Descriptor = Descriptor {
    name: "3pc",
    summary: "three-phase commit bank (Skeen, with termination): coordinator n1, participants n2.., bundled",
    program: Program::Bundled {
        name: "3pc",
        main: crate::txn_node::main::<crate::threepc::node::ThreePc>,
    },
    // No bug switch: losing atomicity under a partition is 3PC's own weakness.
    bugs: &[],
    options: &[(
        "slow-decisions",
        &["--vote-delay-ms", "300"],
        "the coordinator holds every vote 300 ms before counting it, so participants sit uncertain that long and a fault lands in the window",
    )],
    defaults: THREEPC_DEFAULTS,
    // The rest as 2PC's: arguments, readiness, protocol, faults (no clock), peer ports.
    ..TWOPC
};

/// The bank over 3PC, its coordinator killed while participants are uncertain: they decide
/// by termination, without it.
const THREEPC_DEFAULTS: &str = r#"
workload = "bank"
nodes = 4
concurrency = 8
options = ["slow-decisions"]
nemesis = ["kill"]
fault-nodes = ["n1"]
interval = 3
"#;

/// Every target faultline knows.
pub const ALL: &[Descriptor] = &[
    RAFT_KV,
    REDIS_LOCK,
    REDLOCK,
    REDIS_SERVER,
    SNOWFLAKE,
    UUID,
    SEGMENT,
    ZOOKEEPER,
    ETCD,
    ZAB,
    TWOPC,
    THREEPC,
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Descriptor> {
    ALL.iter().find(|d| d.name == name)
}

/// The bundled system `faultline node <name>` runs: its `main`.
pub fn bundled(name: &str) -> Option<NodeMain> {
    ALL.iter().find_map(|d| match d.program.node() {
        Some((n, main)) if n == name => Some(main),
        _ => None,
    })
}

/// The names `faultline node` knows, each once.
pub fn bundled_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Vec::new();
    for d in ALL {
        if let Some((name, _)) = d.program.node()
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

impl Descriptor {
    /// The arguments for one node, holes filled from `holes` (name, value).
    pub fn args_for(&self, holes: &[(&str, String)]) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                holes.iter().fold(a.to_string(), |acc, (name, value)| {
                    acc.replace(&format!("{{{name}}}"), value)
                })
            })
            .collect()
    }

    /// Whether its nodes can listen on an address other than loopback (run on hosts):
    /// whether its template has a `{host}` hole.
    pub fn placeable(&self) -> bool {
        self.args.iter().any(|a| a.contains("{host}"))
    }

    /// The extra arguments that switch on `bug`.
    pub fn bug_args(&self, bug: &str) -> Option<&'static [&'static str]> {
        self.bugs.iter().find(|b| b.0 == bug).map(|b| b.1)
    }

    /// The extra arguments that switch on `option`.
    pub fn option_args(&self, option: &str) -> Option<&'static [&'static str]> {
        self.options.iter().find(|o| o.0 == option).map(|o| o.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_every_hole() {
        let d = find("raft-kv").unwrap();
        let args = d.args_for(&[
            ("node", "n2".into()),
            ("host", "127.0.0.1".into()),
            ("client_port", "4000".into()),
            ("peer_port", "4001".into()),
            ("peers", "n1=127.0.0.1:5000".into()),
            ("data_dir", "/tmp/d".into()),
        ]);
        assert!(args.iter().all(|a| !a.contains('{')), "{args:?}");
        assert!(args.contains(&"127.0.0.1:4001".to_string()));
        // Listening where it is told (on hosts too), or on loopback only.
        let placeable: Vec<&str> = ALL
            .iter()
            .filter(|d| d.placeable())
            .map(|d| d.name)
            .collect();
        assert_eq!(
            placeable,
            [
                "raft-kv",
                "redis-lock",
                "redlock",
                "redis-server",
                "zookeeper",
                "etcd"
            ]
        );
        assert_eq!(
            d.bug_args("stale-reads"),
            Some(&["--bug", "stale-reads"][..])
        );
        assert!(d.bug_args("nope").is_none());

        let zab = find("zab").unwrap();
        let args = zab.args_for(&[
            ("node", "n2".into()),
            ("client_port", "4000".into()),
            ("peer_port", "4001".into()),
            ("peers", "n1=127.0.0.1:5000".into()),
            ("data_dir", "/tmp/d".into()),
        ]);
        crate::zab::node::Config::from_args(args).expect("the template makes a command line");
        assert_eq!(
            zab.bug_args("accept-older-epoch"),
            Some(&["--bug", "accept-older-epoch"][..])
        );
    }

    #[test]
    fn bundled_systems_are_found_by_their_node_name_and_external_ones_on_the_path() {
        assert_eq!(
            bundled_names(),
            [
                "raft-kv",
                "redis-lock",
                "snowflake",
                "uuid",
                "segment",
                "zookeeper",
                "etcd",
                "zab",
                "2pc",
                "3pc"
            ]
        );
        assert!(bundled("redis-lock").is_some() && bundled("redis-server").is_none());
        let sh = Program::External {
            program: "sh",
            package: "dash",
        };
        assert_eq!(sh.missing(), None);
        let nope = Program::External {
            program: "faultline-no-such-program",
            package: "nothing",
        };
        assert_eq!(
            nope.missing().as_deref(),
            Some(
                "`faultline-no-such-program` is not installed (on Debian: apt-get install nothing)"
            )
        );
    }
}
