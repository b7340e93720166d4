//! The `etcd` target's launcher: Debian's etcd (package `etcd-server`, 3.4, a Go program)
//! started the way the harness starts any node — one command line with its ports, its peers'
//! link addresses and its data folder.
//!
//! The catch is etcd's member identity. A member's ID is a hash of its peer URLs (and the
//! cluster token), and every member must compute the same IDs from its `--initial-cluster`.
//! But under the harness each node reaches each peer at an address of its own — its link
//! through the proxies — so no single list of URLs can be both the same everywhere and the
//! address each node should dial. The launcher separates the two: every member is named by a
//! *canonical* peer URL, `http://localhost.:K` for node `nK`, the same on every node (so IDs and
//! the cluster ID agree), and etcd is started with `HTTP_PROXY=socks5://…` pointing at a small
//! SOCKS5 server the launcher itself runs. etcd's peer transport honours that variable (Go's
//! `http.ProxyFromEnvironment`; `localhost.` with its final dot is not one of the names Go
//! exempts from proxying, yet it resolves, which etcd's bootstrap check needs), so every peer
//! connection goes to the launcher, which connects it to *this* node's link to node `K` (and
//! to its own peer port for `K` = itself). A partition of the link cuts exactly that pair.
//! Clients are not affected: the client URLs are plain loopback addresses, never proxied.
//!
//! The launcher therefore stays, as etcd's parent, in the process group the harness started:
//! a kill or a pause reaches both, and etcd is told to die with it (parent-death signal).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::shell::{self, ArgsError};

/// The program Debian's `etcd-server` package installs.
pub const PROGRAM: &str = "etcd";

/// The host of every canonical peer URL (see the module's documentation).
const CANONICAL_HOST: &str = "localhost.";

/// `faultline node etcd`'s command line.
#[derive(Parser, Debug, PartialEq, Eq)]
#[command(
    name = "etcd",
    about = "Runs one etcd member, its peer connections routed through the harness's links"
)]
struct Cli {
    /// This member's name (`n2`); its number is its index in the cluster.
    #[arg(long)]
    name: String,
    #[arg(long)]
    client_port: u16,
    #[arg(long)]
    peer_port: u16,
    /// The other members: `n2=127.0.0.1:LINK,…` (this node's links to their peer ports).
    #[arg(long, default_value = "")]
    peers: String,
    #[arg(long)]
    data_dir: PathBuf,
    /// etcd's heartbeat interval.
    #[arg(long, default_value_t = 50)]
    heartbeat_ms: u32,
    /// etcd's election timeout.
    #[arg(long, default_value_t = 500)]
    election_ms: u32,
    /// The etcd program.
    #[arg(long, default_value = PROGRAM)]
    etcd: String,
    /// The address to listen on (clients and peers): loopback here, a host's address when
    /// the member runs on a host of its own.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

/// One member's settings, checked.
#[derive(Debug, PartialEq, Eq)]
struct Config {
    name: String,
    index: u16,
    client_port: u16,
    peer_port: u16,
    /// (name, index, link address) of each other member.
    peers: Vec<(String, u16, SocketAddr)>,
    data_dir: PathBuf,
    heartbeat_ms: u32,
    election_ms: u32,
    etcd: String,
    host: std::net::IpAddr,
}

/// `n12` → 12.
fn index_of(name: &str) -> Option<u16> {
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
        .filter(|&i| i > 0)
}

/// The canonical peer URL of member `index`: the same on every node.
fn canonical_url(index: u16) -> String {
    format!("http://{CANONICAL_HOST}:{index}")
}

impl Config {
    fn from_args(args: Vec<String>) -> Result<Config, ArgsError> {
        let cli: Cli = shell::parse_args("etcd", args)?;
        let index = index_of(&cli.name).ok_or_else(|| {
            ArgsError::Invalid(format!(
                "--name {} must end in a positive number (n1, n2, …)",
                cli.name
            ))
        })?;
        let mut peers = Vec::new();
        for text in cli.peers.split(',').filter(|p| !p.is_empty()) {
            let bad = || ArgsError::Invalid(format!("--peers: `{text}` is not NAME=HOST:PORT"));
            let (name, addr) = text.split_once('=').ok_or_else(bad)?;
            let peer_index = index_of(name).ok_or_else(bad)?;
            let addr: SocketAddr = addr.parse().map_err(|_| bad())?;
            if peer_index == index || peers.iter().any(|(_, i, _)| *i == peer_index) {
                return Err(ArgsError::Invalid(format!(
                    "--peers: member number {peer_index} appears twice"
                )));
            }
            peers.push((name.to_string(), peer_index, addr));
        }
        Ok(Config {
            name: cli.name,
            index,
            client_port: cli.client_port,
            peer_port: cli.peer_port,
            peers,
            data_dir: cli.data_dir,
            heartbeat_ms: cli.heartbeat_ms.max(1),
            election_ms: cli.election_ms.max(cli.heartbeat_ms * 5),
            etcd: cli.etcd,
            host: cli.host,
        })
    }

    /// `--initial-cluster`: every member by its canonical URL, the same list on every node.
    fn initial_cluster(&self) -> String {
        let mut members: Vec<(u16, &str)> = self
            .peers
            .iter()
            .map(|(n, i, _)| (*i, n.as_str()))
            .chain(std::iter::once((self.index, self.name.as_str())))
            .collect();
        members.sort();
        members
            .iter()
            .map(|(i, n)| format!("{n}={}", canonical_url(*i)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Where a peer connection to member `index` really goes: this node's link to it, or its
    /// own peer port.
    fn routes(&self) -> BTreeMap<u16, SocketAddr> {
        let mut routes: BTreeMap<u16, SocketAddr> =
            self.peers.iter().map(|(_, i, a)| (*i, *a)).collect();
        routes.insert(self.index, SocketAddr::new(self.host, self.peer_port));
        routes
    }

    /// etcd's command line. Its data lives in `DATA_DIR/etcd`, which etcd creates itself
    /// (with the permissions it insists on); a restarted member finds its WAL there and
    /// ignores the bootstrap flags.
    fn etcd_args(&self) -> Vec<String> {
        let client = format!("http://{}", SocketAddr::new(self.host, self.client_port));
        [
            "--name",
            &self.name,
            "--data-dir",
            &self.data_dir.join("etcd").display().to_string(),
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &format!("http://{}", SocketAddr::new(self.host, self.peer_port)),
            "--initial-advertise-peer-urls",
            &canonical_url(self.index),
            "--initial-cluster",
            &self.initial_cluster(),
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "faultline",
            "--heartbeat-interval",
            &self.heartbeat_ms.to_string(),
            "--election-timeout",
            &self.election_ms.to_string(),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// The SOCKS5 server etcd's peer connections go through: `CONNECT localhost.:K` is connected
/// to `routes[K]`. Runs until the process ends.
fn serve_socks(listener: TcpListener, routes: BTreeMap<u16, SocketAddr>) {
    for stream in listener.incoming().flatten() {
        let routes = routes.clone();
        std::thread::spawn(move || {
            let _ = socks_session(stream, &routes);
        });
    }
}

/// One SOCKS5 connection (no authentication, CONNECT only), then bytes both ways.
fn socks_session(mut client: TcpStream, routes: &BTreeMap<u16, SocketAddr>) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods)?;
    client.write_all(&[5, 0])?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let skip = match request[3] {
        1 => 4,
        4 => 16,
        _ => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            len[0] as usize
        }
    };
    let mut host = vec![0u8; skip];
    client.read_exact(&mut host)?;
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    let upstream = routes
        .get(&port)
        .and_then(|addr| TcpStream::connect_timeout(addr, Duration::from_secs(1)).ok());
    let Some(upstream) = upstream.filter(|_| request[1] == 1) else {
        // "Connection refused": etcd tries again later.
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut up_r, mut client_w) = (upstream.try_clone()?, client.try_clone()?);
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Write);
    });
    let (mut client_r, mut up_w) = (client, upstream);
    let _ = std::io::copy(&mut client_r, &mut up_w);
    let _ = up_w.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
    Ok(())
}

/// Sets etcd's parent-death signal, between fork and exec: etcd dies with its launcher.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2) and
    // getppid(2), both async-signal-safe; it allocates nothing and touches no locks.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            if nix::unistd::getppid().as_raw() as u32 != parent {
                return Err(std::io::Error::other("the launcher is gone"));
            }
            Ok(())
        });
    }
}

/// Starts the SOCKS server and etcd, and waits for etcd; returns its exit code.
fn launch(config: &Config) -> Result<ExitCode, String> {
    shell::create_data_dir(&config.data_dir).map_err(|e| e.0)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot listen for etcd's peer connections: {e}"))?;
    let socks = listener
        .local_addr()
        .map_err(|e| format!("cannot listen for etcd's peer connections: {e}"))?;
    let routes = config.routes();
    std::thread::spawn(move || serve_socks(listener, routes));
    let mut command = std::process::Command::new(&config.etcd);
    command
        .args(config.etcd_args())
        .env("HTTP_PROXY", format!("socks5://{socks}"))
        .env_remove("http_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY");
    die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "`{}` is not installed (on Debian: apt-get install etcd-server)",
                config.etcd
            )
        } else {
            format!("cannot run {}: {e}", config.etcd)
        }
    })?;
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for {}: {e}", config.etcd))?;
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// `faultline node etcd ARGS…`: runs one etcd member and its peer router until etcd exits
/// (its exit code is then etcd's); 0 after `--help`, 3 on a usage error or if it cannot start.
pub fn main(args: Vec<String>) -> ExitCode {
    match Config::from_args(args) {
        Ok(config) => match launch(&config) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("etcd: {error}");
                ExitCode::from(3)
            }
        },
        Err(ArgsError::Info(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(ArgsError::Invalid(message)) => {
            eprintln!("etcd: {message}");
            ExitCode::from(3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{args, assert_usage_errors};

    #[test]
    fn every_member_names_the_cluster_alike_and_routes_to_its_own_links() {
        let config = Config::from_args(args(
            "--name n2 --client-port 7000 --peer-port 7001 \
             --peers n1=127.0.0.1:9001,n3=127.0.0.1:9003 --data-dir /tmp/e2",
        ))
        .unwrap();
        let cluster = "n1=http://localhost.:1,n2=http://localhost.:2,n3=http://localhost.:3";
        assert_eq!(config.initial_cluster(), cluster);
        let other = Config::from_args(args(
            "--name n3 --client-port 8000 --peer-port 8001 \
             --peers n2=127.0.0.1:9102,n1=127.0.0.1:9101 --data-dir /tmp/e3",
        ))
        .unwrap();
        assert_eq!(other.initial_cluster(), cluster);
        let routes = config.routes();
        assert_eq!(routes[&1], "127.0.0.1:9001".parse().unwrap());
        assert_eq!(routes[&2], "127.0.0.1:7001".parse().unwrap());
        assert_eq!(routes[&3], "127.0.0.1:9003".parse().unwrap());
        let etcd = config.etcd_args();
        for pair in [
            ["--initial-advertise-peer-urls", "http://localhost.:2"],
            ["--listen-peer-urls", "http://127.0.0.1:7001"],
            ["--listen-client-urls", "http://127.0.0.1:7000"],
            ["--data-dir", "/tmp/e2/etcd"],
        ] {
            assert!(etcd.windows(2).any(|w| w == pair), "{pair:?} in {etcd:?}");
        }
    }

    #[test]
    fn the_socks_router_connects_a_member_number_to_its_route() {
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let routes = BTreeMap::from([(2, target.local_addr().unwrap())]);
        let socks = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = socks.local_addr().unwrap();
        std::thread::spawn(move || serve_socks(socks, routes));
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&[5, 1, 0]).unwrap();
        let mut reply = [0u8; 2];
        c.read_exact(&mut reply).unwrap();
        assert_eq!(reply, [5, 0]);
        let mut req = vec![5, 1, 0, 3, 10];
        req.extend_from_slice(b"localhost.");
        req.extend_from_slice(&2u16.to_be_bytes());
        c.write_all(&req).unwrap();
        let mut reply = [0u8; 10];
        c.read_exact(&mut reply).unwrap();
        assert_eq!(reply[1], 0);
        c.write_all(b"ping").unwrap();
        let (mut server, _) = target.accept().unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        // Member 3 has no route: refused.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&[5, 1, 0]).unwrap();
        c.read_exact(&mut [0u8; 2]).unwrap();
        let mut req = vec![5, 1, 0, 3, 10];
        req.extend_from_slice(b"localhost.");
        req.extend_from_slice(&3u16.to_be_bytes());
        c.write_all(&req).unwrap();
        let mut reply = [0u8; 10];
        c.read_exact(&mut reply).unwrap();
        assert_eq!(reply[1], 5);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        let base = "--client-port 1 --peer-port 2 --data-dir /d";
        assert_usage_errors(
            Config::from_args,
            &[
                format!("--name x {base}"),
                format!("--name n1 {base} --peers n2=nowhere"),
                format!("--name n1 {base} --peers n1=127.0.0.1:4"),
                format!("--name n1 {base} --peers n2=127.0.0.1:4,n2=127.0.0.1:5"),
                "--name n1".to_string(),
            ],
        );
    }
}
