//! The `zookeeper` target's launcher: Debian's Apache ZooKeeper (package `zookeeper`, 3.8, a
//! Java program) started the way the harness starts any node — one command line with its
//! ports, its peers' link addresses and its data folder.
//!
//! ZooKeeper takes its settings from a file, not from its command line, so `faultline node
//! zookeeper ARGS` writes the node's `zoo.cfg` and `myid` into its data folder and then *execs*
//! the JVM (`QuorumPeerMain zoo.cfg`): the process the harness supervises, pauses and kills is
//! ZooKeeper itself, in the process group it started, with nothing of faultline left in it.
//!
//! Each `server.N` line names where *this* node reaches server N: its own real ports for
//! itself, its links through the harness's proxies for the others — two per peer, the quorum
//! port (followers to the leader) and the election port (fast leader election), so a partition
//! cuts both. The client port listens on loopback only, the admin server (Jetty) is off, and
//! the four-letter word `srvr` is allowed: the harness's readiness probe asks it for `Mode:`,
//! which a node answers only once it has joined a quorum.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::shell::{self, ArgsError};

/// Where Debian's packages put ZooKeeper's jar (its manifest names its other jars) and the
/// logging binding that sends its log to stderr, where the harness collects node logs.
pub const JAR: &str = "/usr/share/java/zookeeper.jar";
const LOG_BINDING: &str = "/usr/share/java/slf4j-simple.jar";

/// `faultline node zookeeper`'s command line.
#[derive(Parser, Debug, PartialEq, Eq)]
#[command(
    name = "zookeeper",
    about = "Writes zoo.cfg and myid for one ZooKeeper node, then runs it (QuorumPeerMain)"
)]
struct Cli {
    /// This node's server id (n3 is 3).
    #[arg(long)]
    myid: u32,
    #[arg(long)]
    client_port: u16,
    /// Where the leader listens for its followers.
    #[arg(long)]
    quorum_port: u16,
    /// Where fast leader election listens.
    #[arg(long)]
    election_port: u16,
    /// The other servers: `n2=127.0.0.1:QUORUM:ELECTION,…` (their links' addresses).
    #[arg(long, default_value = "")]
    peers: String,
    #[arg(long)]
    data_dir: PathBuf,
    /// ZooKeeper's tick: sessions time out between 2 and 20 ticks, followers within 5.
    #[arg(long, default_value_t = 200)]
    tick_ms: u32,
    /// The JVM.
    #[arg(long, default_value = "java")]
    java: String,
    /// The address to listen on (clients, quorum and election): loopback here, a host's
    /// address when the server runs on a host of its own.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

/// One node's settings, checked.
#[derive(Debug, PartialEq, Eq)]
struct Config {
    myid: u32,
    client_port: u16,
    quorum_port: u16,
    election_port: u16,
    /// (server id, host, quorum port, election port) of each other server.
    peers: Vec<(u32, String, u16, u16)>,
    data_dir: PathBuf,
    tick_ms: u32,
    java: String,
    host: std::net::IpAddr,
}

impl Config {
    fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("zookeeper", args)?;
        let peers = cli
            .peers
            .split(',')
            .filter(|p| !p.is_empty())
            .map(peer)
            .collect::<Result<Vec<_>, String>>()
            .map_err(ArgsError::Invalid)?;
        if cli.myid == 0 || peers.iter().any(|p| p.0 == cli.myid) {
            return Err(ArgsError::Invalid(format!(
                "--myid {} must be positive and not a peer's",
                cli.myid
            )));
        }
        Ok(Config {
            myid: cli.myid,
            client_port: cli.client_port,
            quorum_port: cli.quorum_port,
            election_port: cli.election_port,
            peers,
            data_dir: cli.data_dir,
            tick_ms: cli.tick_ms.max(1),
            java: cli.java,
            host: cli.host,
        })
    }

    /// The node's `zoo.cfg`. One node alone runs standalone (no `server.N` lines).
    fn zoo_cfg(&self) -> String {
        let mut cfg = format!(
            "# Written by faultline for server {myid}.\n\
             tickTime={tick}\n\
             initLimit=10\n\
             syncLimit=5\n\
             dataDir={dir}\n\
             clientPort={client}\n\
             clientPortAddress={host}\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=srvr,ruok,mntr\n\
             # Every client may come from one address (the harness's proxies, or its machine).\n\
             maxClientCnxns=0\n\
             # Transaction log files are preallocated in 4 MiB steps, not 64.\n\
             preAllocSize=4096\n",
            myid = self.myid,
            tick = self.tick_ms,
            dir = self.data_dir.display(),
            client = self.client_port,
            host = self.host,
        );
        if !self.peers.is_empty() {
            let me = (
                self.myid,
                self.host.to_string(),
                self.quorum_port,
                self.election_port,
            );
            let mut servers: Vec<&(u32, String, u16, u16)> =
                self.peers.iter().chain(std::iter::once(&me)).collect();
            servers.sort();
            for (id, host, quorum, election) in servers {
                cfg.push_str(&format!("server.{id}={host}:{quorum}:{election}\n"));
            }
        }
        cfg
    }

    /// The JVM's command line: a small heap and the serial collector, since three JVMs share
    /// two cores with the harness; log lines on stderr.
    fn java_args(&self, cfg: &Path) -> Vec<String> {
        [
            "-Xms64m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp",
            &format!("{JAR}:{LOG_BINDING}"),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            &cfg.display().to_string(),
        ]
        .map(String::from)
        .to_vec()
    }
}

/// `n2=127.0.0.1:4711:4712` → (2, "127.0.0.1", 4711, 4712).
fn peer(text: &str) -> Result<(u32, String, u16, u16), String> {
    let bad = || format!("--peers: `{text}` is not NAME=HOST:QUORUM_PORT:ELECTION_PORT");
    let (name, addr) = text.split_once('=').ok_or_else(bad)?;
    let id = name
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse::<u32>()
        .map_err(|_| bad())?;
    let mut parts = addr.rsplitn(3, ':');
    let election = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let quorum = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    Ok((id, host.to_string(), quorum, election))
}

/// Writes the node's files and execs the JVM; returns only if that fails.
fn launch(config: &Config) -> Result<std::convert::Infallible, String> {
    shell::create_data_dir(&config.data_dir).map_err(|e| e.0)?;
    let cfg = config.data_dir.join("zoo.cfg");
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(cfg.clone(), config.zoo_cfg())?;
    write(config.data_dir.join("myid"), format!("{}\n", config.myid))?;
    if !Path::new(JAR).is_file() {
        return Err(format!(
            "{JAR} is missing (on Debian: apt-get install zookeeper)"
        ));
    }
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new(&config.java)
        .args(config.java_args(&cfg))
        .exec();
    Err(format!("cannot run {}: {error}", config.java))
}

/// `faultline node zookeeper ARGS…`: becomes the ZooKeeper server (exit codes are then the
/// JVM's); 0 after `--help`, 3 on a usage error or if it cannot start.
pub fn main(args: Vec<String>) -> ExitCode {
    match Config::from_args(args) {
        Ok(config) => {
            let Err(error) = launch(&config);
            eprintln!("zookeeper: {error}");
            ExitCode::from(3)
        }
        Err(ArgsError::Info(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(ArgsError::Invalid(message)) => {
            eprintln!("zookeeper: {message}");
            ExitCode::from(3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    #[test]
    fn zoo_cfg_names_this_nodes_real_ports_and_its_links_to_the_others() {
        let config = Config::from_args(args(
            "--myid 2 --client-port 7000 --quorum-port 7001 --election-port 7002 \
             --peers n1=127.0.0.1:9001:9002,n3=127.0.0.1:9003:9004 --data-dir /tmp/zk2",
        ))
        .unwrap();
        let cfg = config.zoo_cfg();
        let servers: Vec<&str> = cfg.lines().filter(|l| l.starts_with("server.")).collect();
        assert_eq!(
            servers,
            [
                "server.1=127.0.0.1:9001:9002",
                "server.2=127.0.0.1:7001:7002",
                "server.3=127.0.0.1:9003:9004"
            ]
        );
        for line in [
            "tickTime=200",
            "dataDir=/tmp/zk2",
            "clientPort=7000",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} in {cfg}");
        }
        let java = config.java_args(Path::new("/tmp/zk2/zoo.cfg"));
        assert_eq!(
            java[java.len() - 2..],
            [
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                "/tmp/zk2/zoo.cfg"
            ]
        );
    }

    #[test]
    fn a_lone_node_runs_standalone() {
        let config = Config::from_args(args(
            "--myid 1 --client-port 7000 --quorum-port 7001 --election-port 7002 --data-dir /d",
        ))
        .unwrap();
        assert!(!config.zoo_cfg().contains("server."));
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        let base = "--client-port 1 --quorum-port 2 --election-port 3 --data-dir /d";
        assert_usage_errors(
            Config::from_args,
            &[
                format!("--myid 1 {base} --peers n2=127.0.0.1:4"),
                format!("--myid 2 {base} --peers n2=127.0.0.1:4:5"),
                format!("--myid 0 {base}"),
                "--myid 1".to_string(),
            ],
        );
        assert_eq!(
            Config::from_args(args(&format!("--myid 1 {base} --peers n2=x"))).unwrap_err(),
            ArgsError::Invalid("--peers: `n2=x` is not NAME=HOST:QUORUM_PORT:ELECTION_PORT".into())
        );
    }
}
