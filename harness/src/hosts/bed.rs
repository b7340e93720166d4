//! The local test bed: `faultline hosts up N` builds N "hosts" on this machine, `faultline
//! hosts down` removes them, so the SSH path of the harness can be exercised without real
//! machines.
//!
//! A bed is N network namespaces joined by a bridge. The bridge is the control machine's side
//! (address `.1` of a private /24, plus eight client addresses `.101`–`.108`); host `hK` is
//! namespace `fl-<tag>-hK` with address `.(K+1)` on its `eth0`, the namespace end of a veth pair
//! whose other end (`fl<tag>hK`) is a port of the bridge. Each namespace runs Debian's sshd,
//! listening on its own address, with a host key and an authorized client key generated for the
//! bed. The subnet exists only on the bridge and inside the namespaces: nothing is routed out.
//!
//! Data flows one way: `up` creates, and writes down each piece in `.faultline-bed/state.json`
//! *as soon as it exists*; `down` reads that file and removes exactly what it lists, and
//! nothing else (other beds, other tests, run beside it). The state directory also holds the
//! keys, the sshd configs, logs and pid files, and a `known_hosts` with every host's key, so
//! `hosts.toml` (written to the current directory for the rest of the harness) lets ssh keep
//! `StrictHostKeyChecking=yes`.
//!
//! Where `br_netfilter` passes bridged frames through iptables, a FORWARD policy of DROP
//! (Docker sets one) would cut hosts off from each other, so `up` inserts one rule accepting
//! traffic from the bridge to itself, records it, and `down` deletes it.
//!
//! Names and subnets derive from a tag, a short hash of the bed directory's absolute path: two
//! beds in two directories get different names, and (checked against the routing table)
//! different subnets. See [`tag`] and [`subnet_candidates`].

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::inventory::{Control, DEFAULT_DIR, Host, Inventory};

/// The bed's own folder, inside the directory `up` runs in.
pub const STATE_DIR: &str = ".faultline-bed";
/// The inventory `up` writes beside it.
pub const HOSTS_FILE: &str = "hosts.toml";
/// The first line of that inventory: `down` only removes a `hosts.toml` that starts with it.
pub const HEADER: &str = "# Written by `faultline hosts up`: a local test bed.";
/// Where sshd lives on Debian (package openssh-server).
pub const SSHD: &str = "/usr/sbin/sshd";
/// The most hosts a bed holds: `.2`–`.100`, below the client addresses.
pub const MAX_HOSTS: usize = 99;
/// How many client source addresses the bridge carries (`.101`, `.102`, …).
pub const CLIENT_ADDRESSES: u8 = 8;
/// How long `up` waits for every sshd to accept connections.
const SSHD_READY: Duration = Duration::from_secs(10);

/// Everything a bed created, in the order it was created: what `down` removes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// The bed's tag (see [`tag`]).
    pub tag: String,
    /// The /24 the bed uses, as `10.x.y.0/24`.
    pub subnet: String,
    /// How many hosts `up` was asked for.
    pub hosts: usize,
    /// The bridge, once created.
    pub bridge: Option<String>,
    /// The root-namespace ends of the veth pairs (deleting one deletes its peer).
    pub veths: Vec<String>,
    /// The namespaces.
    pub namespaces: Vec<String>,
    /// The sshd listeners' pids.
    pub sshd_pids: Vec<u32>,
    /// The iptables FORWARD rule letting hosts talk to each other across the bridge, if added
    /// (its arguments after `-I FORWARD`/`-D FORWARD`).
    pub forward_rule: Option<Vec<String>>,
}

/// What `down` did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Teardown {
    /// Pieces removed, as `kind name` (`namespace fl-1a2b3c-h1`, `sshd 4242`, …).
    pub removed: Vec<String>,
    /// Pieces the state listed that were already gone.
    pub already_gone: Vec<String>,
    /// Whether there was a bed here at all.
    pub found: bool,
}

/// The tag of the bed in `dir`: six hex digits of an FNV-1a hash of its absolute path.
///
/// Six digits keep interface names within the kernel's 15 characters (`fl<tag>h99` is 11)
/// while making a clash between two directories a one-in-16-million event.
pub fn tag(dir: &Path) -> String {
    format!(
        "{:06x}",
        fnv1a(dir.to_string_lossy().as_bytes()) & 0xff_ffff
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The names a bed with `tag` gives its pieces.
#[derive(Clone, Debug, PartialEq)]
pub struct Names {
    pub bridge: String,
    /// One per host: (namespace, root-side veth, namespace-side veth before it is renamed).
    pub hosts: Vec<(String, String, String)>,
}

/// The bed's names: bridge `fl-<tag>`, namespaces `fl-<tag>-hK`, veths `fl<tag>hK` (bridge
/// side) and `fl<tag>pK` (namespace side, renamed `eth0` inside it). All recognisably the
/// bed's, and unique to its directory.
pub fn names(tag: &str, n: usize) -> Names {
    Names {
        bridge: format!("fl-{tag}"),
        hosts: (1..=n)
            .map(|k| {
                (
                    format!("fl-{tag}-h{k}"),
                    format!("fl{tag}h{k}"),
                    format!("fl{tag}p{k}"),
                )
            })
            .collect(),
    }
}

/// The /24 subnets a bed with `tag` may use, in order of preference: `10.x.y.0/24` with `x`
/// in 200–249 and `y` any, both from the tag. That range keeps clear of the 10.0–10.199 ranges
/// container and cluster tools favour; `up` takes the first candidate that no route on this
/// machine overlaps (the bridges of other beds included), so two beds never share a subnet
/// unless both start within the same few milliseconds *and* their tags map to the same /24.
pub fn subnet_candidates(tag: &str) -> impl Iterator<Item = [u8; 3]> {
    let seed = u64::from_str_radix(tag, 16).unwrap_or(0);
    (0..64u64).map(move |i| {
        // splitmix64: spreads consecutive attempts over the range.
        let mut z = seed.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        [10, 200 + (z % 50) as u8, (z >> 8) as u8]
    })
}

/// Whether the `ip -o route` line `route` overlaps `10.x.y.0/24`. The default route does not
/// count: it covers everything, and the bed's own prefix route wins over it.
pub fn route_overlaps(route: &str, net: [u8; 3]) -> bool {
    let mut words = route.split_whitespace();
    let mut dest = words.next().unwrap_or("");
    // `table all` lines may start with the route's type.
    if [
        "local",
        "broadcast",
        "unicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
    ]
    .contains(&dest)
    {
        dest = words.next().unwrap_or("");
    }
    if dest == "default" {
        return false;
    }
    let (addr, len) = match dest.split_once('/') {
        Some((a, l)) => (a, l.parse::<u32>().unwrap_or(32)),
        None => (dest, 32),
    };
    let Ok(addr) = addr.parse::<Ipv4Addr>() else {
        return false;
    };
    let len = len.min(24);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let ours = u32::from(Ipv4Addr::new(net[0], net[1], net[2], 0));
    (u32::from(addr) & mask) == (ours & mask)
}

fn addr(net: [u8; 3], last: u8) -> Ipv4Addr {
    Ipv4Addr::new(net[0], net[1], net[2], last)
}

/// The absolute form of `dir`, which the tag and every path the bed writes use.
fn absolute(dir: &Path) -> Result<PathBuf, String> {
    dir.canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_DIR).join("state.json")
}

/// The state of the bed in `dir`, if one is up (or half up) there.
pub fn state(dir: &Path) -> Result<Option<State>, String> {
    let path = state_path(dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn save(dir: &Path, state: &State) -> Result<(), String> {
    let path = state_path(dir);
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    // Write then rename: a crash never leaves a half-written state that `down` cannot read.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `program args`, returning its stdout, or one line naming the command and its stderr.
fn cmd(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.split_whitespace().collect::<Vec<_>>().join(" ");
        Err(format!("`{program} {}` failed: {err}", args.join(" ")))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    cmd("ip", args)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

/// The effective uid, from /proc (no unsafe, no extra nix feature).
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Checks what a bed needs, naming the first thing missing and where to get it.
pub fn prerequisites() -> Result<(), String> {
    if euid() != Some(0) {
        return Err(
            "the test bed needs root (network namespaces, a bridge, sshd): run as root".into(),
        );
    }
    if !Path::new(SSHD).is_file() {
        return Err(format!(
            "{SSHD} is missing: install Debian's openssh-server (apt-get install openssh-server)"
        ));
    }
    for (program, package) in [
        ("ip", "iproute2"),
        ("ssh-keygen", "openssh-client"),
        ("iptables", "iptables"),
    ] {
        if !on_path(program) {
            return Err(format!(
                "`{program}` is missing: install Debian's {package} (apt-get install {package})"
            ));
        }
    }
    Ok(())
}

/// Builds a bed of `n` hosts in `dir`, writes `dir/hosts.toml` and returns its inventory.
///
/// Refuses if a bed is already up in `dir`. If any step fails, removes what it created (as
/// [`down`] does) and returns the failure.
pub fn up(dir: &Path, n: usize) -> Result<Inventory, String> {
    build_bed(dir, n, true)
}

/// The namespaces, bridge and addresses of a bed of `n` hosts in `dir`, without sshd: for
/// `faultline run --net netns`, which starts each host's agent with `ip netns exec`.
pub fn network(dir: &Path, n: usize) -> Result<Inventory, String> {
    build_bed(dir, n, false)
}

/// [`up`], with or without sshd in the namespaces.
fn build_bed(dir: &Path, n: usize, sshd: bool) -> Result<Inventory, String> {
    if n == 0 || n > MAX_HOSTS {
        return Err(format!("a bed holds 1 to {MAX_HOSTS} hosts, not {n}"));
    }
    prerequisites()?;
    let dir = absolute(dir)?;
    if let Some(s) = state(&dir)? {
        return Err(format!(
            "a bed is already up here ({} hosts); `faultline hosts down` first",
            s.hosts
        ));
    }
    let hosts_file = dir.join(HOSTS_FILE);
    if let Ok(text) = std::fs::read_to_string(&hosts_file) {
        if !text.starts_with(HEADER) {
            return Err(format!(
                "{} exists and was not written by a bed: move it away first",
                hosts_file.display()
            ));
        }
    }
    // A state folder without a state file holds nothing `down` could name (a bed that died
    // before creating anything): start it afresh, or ssh-keygen would refuse to overwrite.
    let bed = dir.join(STATE_DIR);
    let _ = std::fs::remove_dir_all(&bed);
    std::fs::create_dir_all(&bed).map_err(|e| format!("{}: {e}", bed.display()))?;
    let tag = tag(&dir);
    let routes = ip(&["-o", "-4", "route", "show", "table", "all"])?;
    let net = subnet_candidates(&tag)
        .find(|&net| !routes.lines().any(|r| route_overlaps(r, net)))
        .ok_or_else(|| format!("no free 10.x.y.0/24 subnet for the bed (tag {tag})"))?;
    let mut state = State {
        tag: tag.clone(),
        subnet: format!("{}/24", addr(net, 0)),
        hosts: n,
        ..State::default()
    };
    save(&dir, &state)?;
    match build(&dir, &mut state, net, sshd) {
        Ok(inventory) => Ok(inventory),
        Err(e) => match down(&dir) {
            Ok(_) => Err(e),
            Err(more) => Err(format!("{e}; and undoing it: {more}")),
        },
    }
}

/// The creating half of [`up`]: every piece is recorded in `state` the moment it exists.
fn build(dir: &Path, state: &mut State, net: [u8; 3], sshd: bool) -> Result<Inventory, String> {
    let n = state.hosts;
    let names = names(&state.tag, n);
    let bed = dir.join(STATE_DIR);

    // Keys first: nothing to undo if ssh-keygen fails.
    let client_key = bed.join("id_ed25519");
    if sshd {
        keygen(&client_key, &format!("faultline-bed-{}", state.tag))?;
        for k in 1..=n {
            keygen(&bed.join(format!("h{k}_host_ed25519")), &format!("h{k}"))?;
        }
    }

    // The bridge: the control machine's side of the subnet.
    let bridge = &names.bridge;
    ip(&["link", "add", bridge, "type", "bridge"])?;
    state.bridge = Some(bridge.clone());
    save(dir, state)?;
    let mut batch = format!("addr add {}/24 dev {bridge}\n", addr(net, 1));
    for c in 0..CLIENT_ADDRESSES {
        writeln!(batch, "addr add {}/24 dev {bridge}", addr(net, 101 + c)).ok();
    }
    writeln!(batch, "link set {bridge} up").ok();
    ip_batch(&batch)?;

    // Hosts talk to each other across the bridge; where br_netfilter passes bridged frames
    // through iptables and FORWARD drops by default (Docker does this), they could not.
    let rule: Vec<String> = ["-i", bridge, "-o", bridge, "-j", "ACCEPT"]
        .map(String::from)
        .to_vec();
    let mut insert = vec!["-w", "-I", "FORWARD"];
    insert.extend(rule.iter().map(String::as_str));
    cmd("iptables", &insert)?;
    state.forward_rule = Some(rule);
    save(dir, state)?;

    // The namespaces, each wired to the bridge.
    for (k, (ns, veth, peer)) in names.hosts.iter().enumerate() {
        ip(&["netns", "add", ns])?;
        state.namespaces.push(ns.clone());
        save(dir, state)?;
        ip(&[
            "link", "add", veth, "type", "veth", "peer", "name", peer, "netns", ns,
        ])?;
        state.veths.push(veth.clone());
        save(dir, state)?;
        ip(&["link", "set", veth, "master", bridge, "up"])?;
        let host = addr(net, k as u8 + 2);
        let inside = format!(
            "link set {peer} name eth0\naddr add {host}/24 dev eth0\nlink set eth0 up\nlink set lo up\n"
        );
        ip_batch_in(ns, &inside)?;
    }

    let known_hosts_path = bed.join("known_hosts");
    if sshd {
        start_sshd(dir, state, net, &names)?;
    }
    let (key, known_hosts) = match sshd {
        true => (Some(client_key), Some(known_hosts_path)),
        false => (None, None),
    };
    let inventory = Inventory {
        control: Control {
            client_addresses: (0..CLIENT_ADDRESSES)
                .map(|c| IpAddr::V4(addr(net, 101 + c)))
                .collect(),
        },
        hosts: (1..=n)
            .map(|h| Host {
                name: format!("h{h}"),
                address: IpAddr::V4(addr(net, h as u8 + 1)),
                user: Some("root".into()),
                port: 22,
                key: key.clone(),
                known_hosts: known_hosts.clone(),
                dir: PathBuf::from(DEFAULT_DIR),
            })
            .collect(),
    };
    let text = format!(
        "{HEADER}\n# `faultline hosts down`, run from this directory, removes it and the bed.\n\n{}",
        inventory.to_toml()
    );
    let hosts_file = dir.join(HOSTS_FILE);
    std::fs::write(&hosts_file, text).map_err(|e| format!("{}: {e}", hosts_file.display()))?;
    Ok(inventory)
}

/// Starts sshd in each namespace, writes the known_hosts that vouches for them, and waits
/// until every one accepts connections.
fn start_sshd(dir: &Path, state: &mut State, net: [u8; 3], names: &Names) -> Result<(), String> {
    let bed = dir.join(STATE_DIR);
    let bed_str = |name: &str| bed.join(name).to_string_lossy().into_owned();
    std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    let mut known_hosts = String::new();
    let mut pid_files = Vec::new();
    for (k, (ns, _, _)) in names.hosts.iter().enumerate() {
        let h = k + 1;
        let host = addr(net, k as u8 + 2);
        let host_key = bed_str(&format!("h{h}_host_ed25519"));
        let public = std::fs::read_to_string(format!("{host_key}.pub"))
            .map_err(|e| format!("{host_key}.pub: {e}"))?;
        let mut fields = public.split_whitespace();
        let (kind, key) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        writeln!(known_hosts, "{host} {kind} {key}").ok();
        let pid_file = bed_str(&format!("h{h}_sshd.pid"));
        let config = sshd_config(host, &host_key, &bed_str("id_ed25519.pub"), &pid_file);
        let config_path = bed_str(&format!("h{h}_sshd_config"));
        std::fs::write(&config_path, config).map_err(|e| format!("{config_path}: {e}"))?;
        let log = bed_str(&format!("h{h}_sshd.log"));
        // sshd daemonises (its own session: no terminal signal reaches it) and writes its pid.
        cmd(
            "ip",
            &["netns", "exec", ns, SSHD, "-f", &config_path, "-E", &log],
        )?;
        pid_files.push((h, pid_file, host));
    }
    let known_hosts_path = bed.join("known_hosts");
    std::fs::write(&known_hosts_path, known_hosts)
        .map_err(|e| format!("{}: {e}", known_hosts_path.display()))?;

    // Ready when every sshd has written its pid and accepts TCP on its address.
    let deadline = Instant::now() + SSHD_READY;
    for (h, pid_file, host) in pid_files {
        let pid = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            {
                break pid;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "h{h}: sshd wrote no pid file within 10 s ({pid_file})"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        state.sshd_pids.push(pid);
        save(dir, state)?;
        let target = SocketAddr::new(IpAddr::V4(host), 22);
        while TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "h{h}: sshd does not accept connections on {target} within 10 s (log: {})",
                    bed_str(&format!("h{h}_sshd.log"))
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    Ok(())
}

fn keygen(path: &Path, comment: &str) -> Result<(), String> {
    let p = path.to_string_lossy();
    cmd(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", &p],
    )
    .map(drop)
}

/// `ip -batch -`: one process for many changes (a bed of 5 would otherwise fork ~40 times).
fn ip_batch(commands: &str) -> Result<(), String> {
    ip_batch_args(&["-batch", "-"], commands)
}

fn ip_batch_in(ns: &str, commands: &str) -> Result<(), String> {
    ip_batch_args(&["-n", ns, "-batch", "-"], commands)
}

fn ip_batch_args(args: &[&str], commands: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut child = Command::new("ip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(commands.as_bytes())
            .map_err(|e| format!("ip -batch: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ip -batch: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.split_whitespace().collect::<Vec<_>>().join(" ");
        Err(format!("`ip {}` failed: {err}", args.join(" ")))
    }
}

/// One host's sshd configuration: nothing read from /etc/ssh, keys only, root allowed (the
/// harness installs and kills nodes), many sessions (the harness multiplexes over one
/// connection per host).
pub fn sshd_config(host: Ipv4Addr, host_key: &str, authorized: &str, pid_file: &str) -> String {
    format!(
        "# Written by `faultline hosts up`.\n\
         Port 22\n\
         ListenAddress {host}\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized}\n\
         PidFile {pid_file}\n\
         UsePAM no\n\
         StrictModes no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PermitRootLogin prohibit-password\n\
         UseDNS no\n\
         PrintMotd no\n\
         MaxSessions 64\n\
         MaxStartups 64\n\
         Subsystem sftp internal-sftp\n"
    )
}

/// Removes the bed in `dir`: exactly what its state file lists, then the state folder and the
/// bed's `hosts.toml`. Pieces already gone are fine; the error names any piece that could not
/// be removed (and the state file is kept, so a second `down` can retry).
pub fn down(dir: &Path) -> Result<Teardown, String> {
    let dir = absolute(dir)?;
    let mut t = Teardown::default();
    let Some(state) = state(&dir)? else {
        return Ok(t);
    };
    t.found = true;
    let mut failed: Vec<String> = Vec::new();

    // Processes first: an sshd (or a session it forked) keeps its namespace alive.
    for &pid in &state.sshd_pids {
        match kill_sshd(pid) {
            Ok(true) => t.removed.push(format!("sshd {pid}")),
            Ok(false) => t.already_gone.push(format!("sshd {pid}")),
            Err(e) => failed.push(e),
        }
    }
    // Anything else still inside the bed's namespaces (ssh sessions, nodes a run started) is
    // the bed's by construction: `ip netns pids` lists exactly the processes in that namespace.
    for ns in &state.namespaces {
        for pid in ip(&["netns", "pids", ns])
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            if kill(pid) {
                t.removed.push(format!("process {pid} in {ns}"));
            }
        }
    }
    for veth in &state.veths {
        remove(
            &mut t,
            &mut failed,
            "veth",
            veth,
            &["link", "del", veth],
            |e| e.contains("Cannot find device"),
        );
    }
    if let Some(bridge) = &state.bridge {
        remove(
            &mut t,
            &mut failed,
            "bridge",
            bridge,
            &["link", "del", bridge],
            |e| e.contains("Cannot find device"),
        );
    }
    if let Some(rule) = &state.forward_rule {
        let mut args = vec!["-w", "-D", "FORWARD"];
        args.extend(rule.iter().map(String::as_str));
        match cmd("iptables", &args) {
            Ok(_) => t.removed.push("iptables FORWARD rule".into()),
            Err(e) if e.contains("does a matching rule exist") || e.contains("Bad rule") => {
                t.already_gone.push("iptables FORWARD rule".into())
            }
            Err(e) => failed.push(e),
        }
    }
    for ns in &state.namespaces {
        remove(
            &mut t,
            &mut failed,
            "namespace",
            ns,
            &["netns", "del", ns],
            |e| e.contains("No such file"),
        );
    }
    if !failed.is_empty() {
        return Err(format!("could not remove: {}", failed.join("; ")));
    }
    let hosts_file = dir.join(HOSTS_FILE);
    if std::fs::read_to_string(&hosts_file).is_ok_and(|t| t.starts_with(HEADER)) {
        std::fs::remove_file(&hosts_file).map_err(|e| format!("{}: {e}", hosts_file.display()))?;
        t.removed.push(HOSTS_FILE.into());
    }
    let bed = dir.join(STATE_DIR);
    std::fs::remove_dir_all(&bed).map_err(|e| format!("{}: {e}", bed.display()))?;
    t.removed.push(STATE_DIR.into());
    Ok(t)
}

fn remove(
    t: &mut Teardown,
    failed: &mut Vec<String>,
    kind: &str,
    name: &str,
    args: &[&str],
    gone: impl Fn(&str) -> bool,
) {
    match ip(args) {
        Ok(_) => t.removed.push(format!("{kind} {name}")),
        Err(e) if gone(&e) => t.already_gone.push(format!("{kind} {name}")),
        Err(e) => failed.push(format!("{kind} {name} ({e})")),
    }
}

/// Kills the sshd with `pid` if that pid is still an sshd (pids are reused: never kill
/// whatever happens to hold it now). Ok(false): it was already gone.
fn kill_sshd(pid: u32) -> Result<bool, String> {
    let is_sshd = std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("sshd"));
    if !is_sshd {
        return Ok(false);
    }
    if kill(pid) {
        Ok(true)
    } else {
        Err(format!("sshd {pid} (still running after SIGKILL)"))
    }
}

/// SIGTERM, then SIGKILL after a second; true once the process is gone.
fn kill(pid: u32) -> bool {
    use nix::sys::signal::{Signal, kill as signal};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let target = Pid::from_raw(raw);
    let alive = || {
        // A zombie (already dead, not yet reaped by its parent) counts as gone.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let _ = signal(target, Signal::SIGTERM);
    for sig in [None, Some(Signal::SIGKILL)] {
        if let Some(sig) = sig {
            let _ = signal(target, sig);
        }
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            if !alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    !alive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_kernel_and_carry_the_tag() {
        let t = tag(Path::new("/tmp/some/bed"));
        assert_eq!(t.len(), 6);
        assert_eq!(t, tag(Path::new("/tmp/some/bed")));
        assert_ne!(t, tag(Path::new("/tmp/some/other")));
        let n = names(&t, MAX_HOSTS);
        assert_eq!(n.bridge, format!("fl-{t}"));
        assert_eq!(n.hosts[0].0, format!("fl-{t}-h1"));
        for (_, veth, peer) in &n.hosts {
            assert!(veth.len() <= 15 && peer.len() <= 15, "{veth} {peer}");
            assert!(veth.contains(&t));
        }
        assert!(n.bridge.len() <= 15);
    }

    #[test]
    fn subnets_are_private_and_differ_by_directory() {
        let a: Vec<_> = subnet_candidates(&tag(Path::new("/a"))).collect();
        let b: Vec<_> = subnet_candidates(&tag(Path::new("/b"))).collect();
        assert_eq!(a.len(), 64);
        assert_ne!(a[0], b[0]);
        assert!(a.iter().all(|n| n[0] == 10 && (200..250).contains(&n[1])));
        // Consecutive candidates spread out rather than stepping by one.
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn routes_that_overlap_are_seen() {
        let net = [10, 201, 7];
        assert!(route_overlaps(
            "10.201.7.0/24 dev fl-abc proto kernel scope link src 10.201.7.1",
            net
        ));
        assert!(route_overlaps("10.0.0.0/8 via 192.0.2.1 dev eth0", net));
        assert!(route_overlaps("10.201.7.9 dev tun0", net));
        assert!(route_overlaps("local 10.201.7.1 dev x table local", net));
        assert!(!route_overlaps("default via 192.0.2.1 dev eth0", net));
        assert!(!route_overlaps("10.201.8.0/24 dev eth1", net));
        assert!(!route_overlaps("192.0.2.0/24 dev eth0", net));
    }

    #[test]
    fn the_sshd_config_listens_on_its_host_only() {
        let c = sshd_config(Ipv4Addr::new(10, 200, 1, 2), "/k", "/a.pub", "/p");
        assert!(c.contains("ListenAddress 10.200.1.2\n"));
        assert!(c.contains("PasswordAuthentication no\n"));
        assert!(c.contains("MaxSessions 64\n"));
    }
}
