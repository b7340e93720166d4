//! Command dispatch: one request's arguments in, one reply [`Frame`] out, against the
//! [`Engine`] (keyspace + scripts) at a given wall-clock time. No I/O.
//!
//! ```text
//!  args ──lookup (case-insensitive) + arity──▶ SPEC ──▶ connection commands (CLIENT, HELLO, QUIT)
//!                                                  ├─▶ EVAL / EVALSHA / SCRIPT ──▶ lua::Scripts
//!                                                  └─▶ run(Ctx) ◀── redis.call from a script
//! ```
//!
//! Replies and error texts are Redis 7.0's, byte for byte where a client could tell
//! (`-ERR unknown command 'foo', with args beginning with: 'a' `, `-ERR wrong number of
//! arguments for 'get' command`, `-ERR syntax error`, …); the compatibility test compares them
//! with a real redis-server. Every change is also recorded as an effect for the append-only
//! file (see [`db`](super::db)): `SET … PXAT`, `PEXPIREAT`, `DEL`, `INCR`, `FLUSHALL`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use resp::{Frame, string_to_i64};

use super::ctx::{Appendonly, Ctx, NOT_AN_INTEGER, REDIS_VERSION, Stats};
use super::db::{Db, LOADING, Ttl};
use super::lua::{self, Scripts};

pub const SYNTAX_ERROR: &str = "ERR syntax error";

/// The keyspace and the scripts: what the server's one lock guards.
pub struct Engine {
    pub db: Db,
    pub scripts: Scripts,
}

/// One connection's own state.
#[derive(Debug)]
pub struct Session {
    pub id: u64,
    pub addr: String,
    pub name: Option<Bytes>,
    /// Set by `QUIT`: reply, then close.
    pub quit: bool,
}

impl Session {
    pub fn new(id: u64, addr: String) -> Session {
        Session {
            id,
            addr,
            name: None,
            quit: false,
        }
    }
}

/// How a command may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Write,
    ReadOnly,
    /// Not from a script.
    NoScript,
    Other,
}

/// A command or subcommand: its name, Redis's arity (`n`: exactly `n` arguments counting the
/// name; `-n`: at least `n`), and its flag.
#[derive(Debug)]
struct Spec {
    name: &'static str,
    arity: i32,
    flag: Flag,
    /// First key, last key (-1: the last argument), step, for `COMMAND`.
    keys: (i32, i32, i32),
    subcommands: &'static [Spec],
}

const fn spec(name: &'static str, arity: i32, flag: Flag, keys: (i32, i32, i32)) -> Spec {
    Spec {
        name,
        arity,
        flag,
        keys,
        subcommands: &[],
    }
}

const fn container(name: &'static str, flag: Flag, subcommands: &'static [Spec]) -> Spec {
    Spec {
        name,
        arity: -2,
        flag,
        keys: (0, 0, 0),
        subcommands,
    }
}

const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);

use Flag::{NoScript, Other, ReadOnly, Write};

static COMMANDS: &[Spec] = &[
    spec("get", 2, ReadOnly, ONE_KEY),
    spec("set", -3, Write, ONE_KEY),
    spec("del", -2, Write, ALL_KEYS),
    spec("incr", 2, Write, ONE_KEY),
    spec("exists", -2, ReadOnly, ALL_KEYS),
    spec("pexpire", -3, Write, ONE_KEY),
    spec("pexpireat", -3, Write, ONE_KEY),
    spec("expire", -3, Write, ONE_KEY),
    spec("pttl", 2, ReadOnly, ONE_KEY),
    spec("ttl", 2, ReadOnly, ONE_KEY),
    spec("ping", -1, Other, NO_KEYS),
    spec("echo", 2, Other, NO_KEYS),
    spec("info", -1, Other, NO_KEYS),
    spec("time", 1, Other, NO_KEYS),
    spec("dbsize", 1, ReadOnly, NO_KEYS),
    spec("flushall", -1, Write, NO_KEYS),
    spec("flushdb", -1, Write, NO_KEYS),
    spec("select", 2, Other, NO_KEYS),
    spec("eval", -3, NoScript, NO_KEYS),
    spec("evalsha", -3, NoScript, NO_KEYS),
    container(
        "script",
        NoScript,
        &[
            spec("load", 3, NoScript, NO_KEYS),
            spec("exists", -3, NoScript, NO_KEYS),
            spec("flush", -2, NoScript, NO_KEYS),
            spec("kill", 2, NoScript, NO_KEYS),
            spec("help", 2, NoScript, NO_KEYS),
        ],
    ),
    Spec {
        // COMMAND alone lists every command, so its arity is -1, not a container's -2.
        arity: -1,
        ..container(
            "command",
            Other,
            &[
                spec("count", 2, Other, NO_KEYS),
                spec("docs", -2, Other, NO_KEYS),
                spec("info", -2, Other, NO_KEYS),
                spec("list", -2, Other, NO_KEYS),
                spec("help", 2, Other, NO_KEYS),
            ],
        )
    },
    container(
        "client",
        NoScript,
        &[
            spec("setname", 3, NoScript, NO_KEYS),
            spec("getname", 2, NoScript, NO_KEYS),
            spec("id", 2, NoScript, NO_KEYS),
            spec("info", 2, NoScript, NO_KEYS),
            spec("setinfo", 4, NoScript, NO_KEYS),
            spec("help", 2, NoScript, NO_KEYS),
        ],
    ),
    container(
        "config",
        NoScript,
        &[
            spec("get", -3, NoScript, NO_KEYS),
            spec("set", -4, NoScript, NO_KEYS),
            spec("resetstat", 2, NoScript, NO_KEYS),
            spec("help", 2, NoScript, NO_KEYS),
        ],
    ),
    spec("hello", -1, NoScript, NO_KEYS),
    spec("quit", -1, NoScript, NO_KEYS),
];

fn lookup(table: &'static [Spec], name: &[u8]) -> Option<&'static Spec> {
    table
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = argc as i64;
    let arity = i64::from(arity);
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

/// Where a command comes from: error texts differ between clients and scripts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    Client,
    Script,
}

/// A resolved command: the command's spec, and the subcommand's if it has them.
struct Resolved {
    command: &'static Spec,
    sub: Option<&'static Spec>,
}

impl Resolved {
    /// `get`, or `script|load`: how Redis names a command in its errors.
    fn full_name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}|{}", self.command.name, sub.name),
            None => self.command.name.to_string(),
        }
    }
}

/// Finds the command `args` names and checks its arity, as Redis's `processCommand` does.
fn resolve(args: &[Bytes], caller: Caller) -> Result<Resolved, Frame> {
    let Some(command) = lookup(COMMANDS, &args[0]) else {
        return Err(match caller {
            Caller::Client => unknown_command(args),
            Caller::Script => Frame::error("ERR Unknown Redis command called from script"),
        });
    };
    let mut resolved = Resolved { command, sub: None };
    if !command.subcommands.is_empty() && args.len() >= 2 {
        match lookup(command.subcommands, &args[1]) {
            Some(sub) => resolved.sub = Some(sub),
            None => {
                return Err(Frame::Error(format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    truncated(&args[1], 128),
                    command.name.to_uppercase()
                )));
            }
        }
    }
    if caller == Caller::Script && command.flag == NoScript {
        return Err(Frame::error(
            "ERR This Redis command is not allowed from script",
        ));
    }
    let arity = resolved.sub.map_or(command.arity, |sub| sub.arity);
    if !arity_ok(arity, args.len()) {
        return Err(match caller {
            Caller::Client => wrong_arity(&resolved.full_name()),
            Caller::Script => {
                Frame::error("ERR Wrong number of args calling Redis command from script")
            }
        });
    }
    Ok(resolved)
}

/// The first `max` bytes of `arg`, as text.
fn truncated(arg: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&arg[..arg.len().min(max)]).into_owned()
}

/// `-ERR unknown command 'foo', with args beginning with: 'a' 'b' ` — Redis quotes arguments
/// until their text passes 128 bytes.
fn unknown_command(args: &[Bytes]) -> Frame {
    let mut list = String::new();
    for arg in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push_str(&format!("'{}' ", truncated(arg, room)));
    }
    Frame::Error(format!(
        "ERR unknown command '{}', with args beginning with: {list}",
        truncated(&args[0], 128)
    ))
}

pub fn wrong_arity(name: &str) -> Frame {
    Frame::Error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

fn invalid_expire(name: &str) -> Frame {
    Frame::Error(format!("ERR invalid expire time in '{name}' command"))
}

fn integer_arg(arg: &[u8]) -> Result<i64, Frame> {
    string_to_i64(arg).ok_or_else(|| Frame::error(NOT_AN_INTEGER))
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Runs one client request. The caller holds the engine (the server's lock) and passes the
/// time it read for this command: `now` in milliseconds on the clock keys expire on, and the
/// wall clock in microseconds (for `TIME`).
pub fn execute(
    engine: &mut Engine,
    stats: &Stats,
    session: &mut Session,
    args: &[Bytes],
    now: i64,
    now_micros: i64,
) -> Frame {
    let resolved = match resolve(args, Caller::Client) {
        Ok(resolved) => resolved,
        Err(reply) => return reply,
    };
    let mut ctx = Ctx {
        db: &mut engine.db,
        stats,
        now,
        now_micros,
    };
    match resolved.command.name {
        "eval" => engine
            .scripts
            .eval_command(&mut ctx, args, false, call_from_script),
        "evalsha" => engine
            .scripts
            .eval_command(&mut ctx, args, true, call_from_script),
        "script" => script(&mut engine.scripts, args, &resolved),
        "client" => client(session, args, &resolved),
        "hello" => hello(session, stats, args),
        "quit" => {
            session.quit = true;
            Frame::ok()
        }
        _ => run(&mut ctx, &resolved, args),
    }
}

/// Runs a command a script called with `redis.call` / `redis.pcall`.
pub fn call_from_script(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    match resolve(args, Caller::Script) {
        Ok(resolved) => run(ctx, &resolved, args),
        Err(reply) => reply,
    }
}

/// Replays one command from the append-only file: no expiry happens (see [`LOADING`]), and
/// an unknown command is an error, since the file holds only what this server wrote.
pub fn replay(db: &mut Db, stats: &Stats, args: &[Bytes]) -> Result<Frame, String> {
    let resolved = resolve(args, Caller::Client).map_err(|e| format!("{e:?}"))?;
    if resolved.command.flag != Write {
        return Err(format!(
            "unexpected command {:?} in the append-only file",
            resolved.command.name
        ));
    }
    let mut ctx = Ctx {
        db,
        stats,
        now: LOADING,
        now_micros: LOADING,
    };
    Ok(run(&mut ctx, &resolved, args))
}

/// Commands that a client and a script may both run.
fn run(ctx: &mut Ctx<'_>, resolved: &Resolved, args: &[Bytes]) -> Frame {
    let result = match resolved.command.name {
        "get" => Ok(get(ctx, args)),
        "set" => set(ctx, args),
        "del" => Ok(del(ctx, args)),
        "incr" => incr(ctx, args),
        "exists" => Ok(exists(ctx, args)),
        "pexpire" => expire(ctx, args, "pexpire", 1, false),
        "pexpireat" => expire(ctx, args, "pexpireat", 1, true),
        "expire" => expire(ctx, args, "expire", 1000, false),
        "pttl" => Ok(ttl(ctx, args, true)),
        "ttl" => Ok(ttl(ctx, args, false)),
        "ping" => Ok(match args.len() {
            1 => Frame::Simple("PONG".into()),
            2 => Frame::Bulk(args[1].clone()),
            _ => wrong_arity("ping"),
        }),
        "echo" => Ok(Frame::Bulk(args[1].clone())),
        "info" => Ok(info(ctx, args)),
        "time" => {
            let micros = ctx.now_micros;
            Ok(Frame::Array(vec![
                Frame::bulk(micros.div_euclid(1_000_000).to_string()),
                Frame::bulk(micros.rem_euclid(1_000_000).to_string()),
            ]))
        }
        "dbsize" => Ok(Frame::Integer(ctx.db.len() as i64)),
        "flushall" | "flushdb" => flush(ctx, args),
        "select" => select(args),
        "command" => Ok(command(args, resolved)),
        "config" => Ok(config(ctx.stats, args, resolved)),
        other => Err(Frame::Error(format!(
            "ERR command '{other}' cannot run here"
        ))),
    };
    result.unwrap_or_else(|error| error)
}

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    match ctx.db.get(&args[1], ctx.now) {
        Some(entry) => Frame::Bulk(entry.value.clone()),
        None => Frame::Null,
    }
}

/// How a `SET`'s expiry was given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpireArg {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`, with Redis 7.0's
/// option rules (`parseExtendedStringArgumentsOrReply`): an option may repeat, but options
/// that contradict each other are a syntax error.
fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Frame, Frame> {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(ExpireArg, &Bytes)> = None;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let next = args.get(j + 1);
        let kind = expire.map(|(kind, _)| kind);
        let other_expiry = |mine: ExpireArg| keepttl || kind.is_some_and(|k| k != mine);
        if is(opt, "nx") && !xx {
            nx = true;
        } else if is(opt, "xx") && !nx {
            xx = true;
        } else if is(opt, "get") {
            get = true;
        } else if is(opt, "keepttl") && kind.is_none() {
            keepttl = true;
        } else if let Some(mine) = [
            ("ex", ExpireArg::Ex),
            ("px", ExpireArg::Px),
            ("exat", ExpireArg::ExAt),
            ("pxat", ExpireArg::PxAt),
        ]
        .iter()
        .find(|(word, _)| is(opt, word))
        .map(|&(_, mine)| mine)
        .filter(|&mine| !other_expiry(mine) && next.is_some())
        {
            expire = next.map(|value| (mine, value));
            j += 1;
        } else {
            return Err(Frame::error(SYNTAX_ERROR));
        }
        j += 1;
    }
    let expires_at = match expire {
        None => None,
        Some((kind, value)) => {
            let mut ms = integer_arg(value)?;
            let seconds = matches!(kind, ExpireArg::Ex | ExpireArg::ExAt);
            if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
                return Err(invalid_expire("set"));
            }
            if seconds {
                ms *= 1000;
            }
            if matches!(kind, ExpireArg::Ex | ExpireArg::Px) {
                ms = match ms.checked_add(ctx.now) {
                    Some(at) if at > 0 => at,
                    _ => return Err(invalid_expire("set")),
                };
            }
            Some(ms)
        }
    };
    let key = &args[1];
    let old = ctx.db.get(key, ctx.now).map(|e| e.value.clone());
    let found = old.is_some();
    let previous = || old.clone().map_or(Frame::Null, Frame::Bulk);
    if (nx && found) || (xx && !found) {
        return Ok(if get { previous() } else { Frame::Null });
    }
    let ttl = match (keepttl, expires_at) {
        (true, _) => Ttl::Keep,
        (false, Some(at)) => Ttl::At(at),
        (false, None) => Ttl::Persist,
    };
    ctx.db.set(key.clone(), args[2].clone(), ttl, ctx.now);
    let mut effect = vec![Bytes::from_static(b"SET"), key.clone(), args[2].clone()];
    match ttl {
        Ttl::Keep => effect.push(Bytes::from_static(b"KEEPTTL")),
        Ttl::At(at) => {
            effect.push(Bytes::from_static(b"PXAT"));
            effect.push(Bytes::from(at.to_string()));
        }
        Ttl::Persist => {}
    }
    ctx.db.effect(effect);
    Ok(if get { previous() } else { Frame::ok() })
}

fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut removed = vec![Bytes::from_static(b"DEL")];
    for key in &args[1..] {
        if ctx.db.remove(key, ctx.now) {
            removed.push(key.clone());
        }
    }
    let count = removed.len() as i64 - 1;
    if count > 0 {
        ctx.db.effect(removed);
    }
    Frame::Integer(count)
}

fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let now = ctx.now;
    let count = args[1..]
        .iter()
        .filter(|key| ctx.db.contains(key, now))
        .count();
    Frame::Integer(count as i64)
}

fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Frame, Frame> {
    let key = &args[1];
    let current = match ctx.db.get(key, ctx.now) {
        Some(entry) => integer_arg(&entry.value)?,
        None => 0,
    };
    let next = current
        .checked_add(1)
        .ok_or_else(|| Frame::error("ERR increment or decrement would overflow"))?;
    ctx.db.set(
        key.clone(),
        Bytes::from(next.to_string()),
        Ttl::Keep,
        ctx.now,
    );
    ctx.db
        .effect(vec![Bytes::from_static(b"INCR"), key.clone()]);
    Ok(Frame::Integer(next))
}

/// `PEXPIRE`, `PEXPIREAT` and `EXPIRE`, with `NX|XX|GT|LT` (Redis's `expireGenericCommand`):
/// a time already past deletes the key; the effect is always absolute (`PEXPIREAT`).
fn expire(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    name: &str,
    unit: i64,
    absolute: bool,
) -> Result<Frame, Frame> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            return Err(Frame::Error(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Frame::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Frame::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = integer_arg(&args[2])?;
    if unit != 1 {
        when = when.checked_mul(unit).ok_or_else(|| invalid_expire(name))?;
    }
    if !absolute {
        when = when
            .checked_add(ctx.now)
            .ok_or_else(|| invalid_expire(name))?;
    }
    let key = &args[1];
    let Some(entry) = ctx.db.get(key, ctx.now) else {
        return Ok(Frame::Integer(0));
    };
    let current = entry.expires_at;
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Frame::Integer(0));
    }
    if when <= ctx.now {
        ctx.db.remove(key, ctx.now);
        ctx.db.effect(vec![Bytes::from_static(b"DEL"), key.clone()]);
    } else {
        ctx.db.set_expiry(key, Some(when));
        ctx.db.effect(vec![
            Bytes::from_static(b"PEXPIREAT"),
            key.clone(),
            Bytes::from(when.to_string()),
        ]);
    }
    Ok(Frame::Integer(1))
}

fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes], millis: bool) -> Frame {
    let now = ctx.now;
    match ctx.db.get(&args[1], now) {
        None => Frame::Integer(-2),
        Some(entry) => match entry.expires_at {
            None => Frame::Integer(-1),
            Some(at) => {
                let left = at.saturating_sub(now).max(0);
                Frame::Integer(if millis { left } else { (left + 500) / 1000 })
            }
        },
    }
}

fn flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Frame, Frame> {
    match args.len() {
        1 => {}
        2 if is(&args[1], "sync") || is(&args[1], "async") => {}
        _ => return Err(Frame::error(SYNTAX_ERROR)),
    }
    ctx.db.clear();
    ctx.db.effect(vec![Bytes::from_static(b"FLUSHALL")]);
    Ok(Frame::ok())
}

/// There is one database. `SELECT 0` is accepted; any other index is out of range.
fn select(args: &[Bytes]) -> Result<Frame, Frame> {
    match integer_arg(&args[1])? {
        0 => Ok(Frame::ok()),
        _ => Err(Frame::error("ERR DB index is out of range")),
    }
}

fn script(scripts: &mut Scripts, args: &[Bytes], resolved: &Resolved) -> Frame {
    let sub = resolved.sub.map_or("", |s| s.name);
    match sub {
        "load" => match scripts.load(&args[2]) {
            Ok(sha) => Frame::bulk(sha),
            Err(error) => error,
        },
        "exists" => Frame::Array(
            args[2..]
                .iter()
                .map(|sha| Frame::Integer(i64::from(scripts.exists(sha))))
                .collect(),
        ),
        "flush" => {
            if args.len() > 3
                || (args.len() == 3 && !is(&args[2], "sync") && !is(&args[2], "async"))
            {
                return Frame::error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            }
            scripts.flush();
            Frame::ok()
        }
        // A script holds the server's lock for as long as it runs, so SCRIPT KILL can only
        // ever arrive between scripts.
        "kill" => Frame::error("NOTBUSY No scripts in execution right now."),
        _ => help(
            "SCRIPT",
            &[
                "LOAD <script>",
                "EXISTS <sha1> [<sha1> ...]",
                "FLUSH [ASYNC|SYNC]",
                "KILL",
            ],
        ),
    }
}

fn help(command: &str, lines: &[&str]) -> Frame {
    let mut out = vec![Frame::Simple(format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|l| Frame::Simple((*l).into())));
    out.push(Frame::Simple("HELP".into()));
    out.push(Frame::Simple("    Print this help.".into()));
    Frame::Array(out)
}

fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn client(session: &mut Session, args: &[Bytes], resolved: &Resolved) -> Frame {
    match resolved.sub.map_or("", |s| s.name) {
        "setname" => {
            if !valid_client_name(&args[2]) {
                return Frame::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            session.name = (!args[2].is_empty()).then(|| args[2].clone());
            Frame::ok()
        }
        "getname" => session.name.clone().map_or(Frame::Null, Frame::Bulk),
        "id" => Frame::Integer(session.id as i64),
        "info" => Frame::bulk(format!(
            "id={} addr={} name={} db=0 resp=2\n",
            session.id,
            session.addr,
            String::from_utf8_lossy(session.name.as_deref().unwrap_or_default())
        )),
        // Redis 7.2's CLIENT SETINFO, which recent client libraries send at connect.
        "setinfo" => {
            if is(&args[2], "lib-name") || is(&args[2], "lib-ver") {
                Frame::ok()
            } else {
                Frame::Error(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(&args[2])
                ))
            }
        }
        _ => help(
            "CLIENT",
            &[
                "SETNAME <name>",
                "GETNAME",
                "ID",
                "INFO",
                "SETINFO <option> <value>",
            ],
        ),
    }
}

/// `HELLO [2 [SETNAME name]]`: RESP2 only.
fn hello(session: &mut Session, stats: &Stats, args: &[Bytes]) -> Frame {
    if args.len() >= 2 {
        match string_to_i64(&args[1]) {
            None => {
                return Frame::error("ERR Protocol version is not an integer or out of range");
            }
            Some(2) => {}
            Some(_) => {
                return Frame::error("NOPROTO sorry, this protocol version is not supported.");
            }
        }
        let mut j = 2;
        while j < args.len() {
            if is(&args[j], "setname") && j + 1 < args.len() {
                if !valid_client_name(&args[j + 1]) {
                    return Frame::error(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    );
                }
                session.name = Some(args[j + 1].clone());
                j += 2;
            } else {
                return Frame::Error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&args[j])
                ));
            }
        }
    }
    let _ = stats;
    Frame::Array(vec![
        Frame::bulk("server"),
        Frame::bulk("redis"),
        Frame::bulk("version"),
        Frame::bulk(REDIS_VERSION),
        Frame::bulk("proto"),
        Frame::Integer(2),
        Frame::bulk("id"),
        Frame::Integer(session.id as i64),
        Frame::bulk("mode"),
        Frame::bulk("standalone"),
        Frame::bulk("role"),
        Frame::bulk("master"),
        Frame::bulk("modules"),
        Frame::Array(vec![]),
    ])
}

/// `COMMAND`, `COMMAND COUNT|INFO|LIST|DOCS`: enough for clients that ask at connect.
/// `COMMAND DOCS` has no documentation to give and answers an empty list.
fn command(args: &[Bytes], resolved: &Resolved) -> Frame {
    let all = || Frame::Array(COMMANDS.iter().map(command_info).collect());
    match resolved.sub.map_or("", |s| s.name) {
        "" => all(),
        "count" => Frame::Integer(COMMANDS.len() as i64),
        "info" if args.len() == 2 => all(),
        "info" => Frame::Array(
            args[2..]
                .iter()
                .map(|name| lookup(COMMANDS, name).map_or(Frame::NullArray, command_info))
                .collect(),
        ),
        "list" => Frame::Array(COMMANDS.iter().map(|c| Frame::bulk(c.name)).collect()),
        "docs" => Frame::Array(vec![]),
        _ => help(
            "COMMAND",
            &[
                "(no subcommand)",
                "COUNT",
                "INFO [<command-name> ...]",
                "LIST",
                "DOCS",
            ],
        ),
    }
}

fn command_info(spec: &Spec) -> Frame {
    let flag = match spec.flag {
        Write => "write",
        ReadOnly => "readonly",
        NoScript => "noscript",
        Other => "fast",
    };
    let (first, last, step) = spec.keys;
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(i64::from(spec.arity)),
        Frame::Array(vec![Frame::Simple(flag.into())]),
        Frame::Integer(i64::from(first)),
        Frame::Integer(i64::from(last)),
        Frame::Integer(i64::from(step)),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
        Frame::Array(spec.subcommands.iter().map(command_info).collect()),
    ])
}

/// `CONFIG GET pattern…` over the few parameters this server has; `CONFIG SET` changes
/// nothing.
fn config(stats: &Stats, args: &[Bytes], resolved: &Resolved) -> Frame {
    match resolved.sub.map_or("", |s| s.name) {
        "get" => {
            let params = config_params(stats);
            let mut out = Vec::new();
            for (name, value) in &params {
                if args[2..]
                    .iter()
                    .any(|pattern| glob_match(pattern, name.as_bytes()))
                {
                    out.push(Frame::bulk(name));
                    out.push(Frame::bulk(value));
                }
            }
            Frame::Array(out)
        }
        "set" => Frame::Error(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(&args[2])
        )),
        "resetstat" => Frame::ok(),
        _ => help(
            "CONFIG",
            &["GET <pattern>", "SET <directive> <value>", "RESETSTAT"],
        ),
    }
}

fn config_params(stats: &Stats) -> Vec<(&'static str, String)> {
    let (appendonly, fsync) = match stats.appendonly {
        Appendonly::No => ("no", "everysec"),
        Appendonly::Always => ("yes", "always"),
        Appendonly::Everysec => ("yes", "everysec"),
    };
    vec![
        ("save", String::new()),
        ("appendonly", appendonly.into()),
        ("appendfsync", fsync.into()),
        ("port", stats.port.to_string()),
        ("dir", stats.data_dir.clone()),
        ("databases", "1".into()),
        ("maxmemory", "0".into()),
        ("maxclients", super::ctx::MAX_CLIENTS.to_string()),
        ("proto-max-bulk-len", resp::MAX_BULK.to_string()),
        ("client-query-buffer-limit", resp::MAX_QUERY.to_string()),
        ("lua-time-limit", lua::TIME_LIMIT.as_millis().to_string()),
        (
            "busy-reply-threshold",
            lua::TIME_LIMIT.as_millis().to_string(),
        ),
    ]
}

/// Redis's `stringmatchlen` without character classes: `*`, `?`, `\x`, case-insensitive.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], text) || (!text.is_empty() && glob_match(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &text[1..]),
        (Some(b'\\'), Some(&t)) if pattern.len() > 1 => {
            pattern[1] == t && glob_match(&pattern[2..], &text[1..])
        }
        (Some(&p), Some(&t)) => p.eq_ignore_ascii_case(&t) && glob_match(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// `INFO [section…]`: Server, Clients, Persistence, Stats and Keyspace, with the fields
/// clients and operators look at.
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let stats = ctx.stats;
    let wanted = |section: &str| {
        args.len() == 1
            || args[1..]
                .iter()
                .any(|a| is(a, section) || is(a, "all") || is(a, "default") || is(a, "everything"))
    };
    let mut out = String::new();
    let mut section = |name: &str, lines: Vec<String>| {
        if wanted(&name.to_lowercase()) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            out.push_str(&format!("# {name}\r\n"));
            for line in lines {
                out.push_str(&line);
                out.push_str("\r\n");
            }
        }
    };
    let uptime = stats.started.elapsed().as_secs();
    section(
        "Server",
        vec![
            format!("redis_version:{REDIS_VERSION}"),
            "redis_mode:standalone".into(),
            format!("os:{} {}", std::env::consts::OS, std::env::consts::ARCH),
            "arch_bits:64".into(),
            format!("process_id:{}", std::process::id()),
            format!("tcp_port:{}", stats.port),
            format!("server_time_usec:{}", ctx.now_micros),
            format!("uptime_in_seconds:{uptime}"),
            format!("uptime_in_days:{}", uptime / 86_400),
            "executable:faultline node redis-lock".into(),
            format!("faultline_node:{}", stats.name),
        ],
    );
    section(
        "Clients",
        vec![
            format!(
                "connected_clients:{}",
                stats.connected_clients.load(Ordering::Relaxed)
            ),
            format!("maxclients:{}", super::ctx::MAX_CLIENTS),
        ],
    );
    let aof = stats.appendonly != Appendonly::No;
    section(
        "Persistence",
        vec![
            "loading:0".into(),
            format!("aof_enabled:{}", u8::from(aof)),
            "aof_last_write_status:ok".into(),
            "rdb_bgsave_in_progress:0".into(),
        ],
    );
    section(
        "Stats",
        vec![
            format!(
                "total_connections_received:{}",
                stats.total_connections.load(Ordering::Relaxed)
            ),
            format!(
                "total_commands_processed:{}",
                stats.total_commands.load(Ordering::Relaxed)
            ),
            format!("expired_keys:{}", ctx.db.expired_total()),
        ],
    );
    let keyspace = if ctx.db.is_empty() {
        vec![]
    } else {
        vec![format!(
            "db0:keys={},expires={},avg_ttl=0",
            ctx.db.len(),
            ctx.db.expires()
        )]
    };
    section("Keyspace", keyspace);
    Frame::bulk(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> (Engine, Stats, Session) {
        let engine = Engine {
            db: Db::new(),
            scripts: Scripts::new().unwrap(),
        };
        let stats = Stats::new("n1", 6379, Appendonly::No, "/tmp".into());
        (engine, stats, Session::new(1, "127.0.0.1:1".into()))
    }

    const NOW: i64 = 1_700_000_000_000;

    fn run_at(
        (engine, stats, session): &mut (Engine, Stats, Session),
        now: i64,
        line: &str,
    ) -> Frame {
        let args: Vec<Bytes> = resp::split_args(line.as_bytes()).unwrap();
        execute(engine, stats, session, &args, now, now * 1000)
    }

    fn int(n: i64) -> Frame {
        Frame::Integer(n)
    }

    fn err(text: &str) -> Frame {
        Frame::error(text)
    }

    #[test]
    fn strings_set_get_del_exists_incr() {
        let mut e = engine();
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        assert_eq!(r(&mut e, "SET k v"), Frame::ok());
        assert_eq!(r(&mut e, "get k"), Frame::bulk("v"));
        assert_eq!(r(&mut e, "GET nope"), Frame::Null);
        assert_eq!(r(&mut e, "SET k w NX"), Frame::Null);
        assert_eq!(r(&mut e, "SET other w XX"), Frame::Null);
        assert_eq!(r(&mut e, "SET k w XX GET"), Frame::bulk("v"));
        assert_eq!(r(&mut e, "SET fresh w NX GET"), Frame::Null);
        assert_eq!(r(&mut e, "EXISTS k k fresh nope"), int(3));
        assert_eq!(r(&mut e, "DEL k k fresh nope"), int(2));
        assert_eq!(r(&mut e, "INCR n"), int(1));
        assert_eq!(r(&mut e, "INCR n"), int(2));
        assert_eq!(r(&mut e, "SET n 9223372036854775807"), Frame::ok());
        assert_eq!(
            r(&mut e, "INCR n"),
            err("ERR increment or decrement would overflow")
        );
        for bad in ["abc", "01", "-0", "+1", "' 1'", "1.5"] {
            r(&mut e, &format!("SET n {bad}"));
            assert_eq!(r(&mut e, "INCR n"), err(NOT_AN_INTEGER), "{bad}");
        }
        assert_eq!(r(&mut e, "DBSIZE"), int(1));
        assert_eq!(r(&mut e, "FLUSHALL"), Frame::ok());
        assert_eq!(r(&mut e, "DBSIZE"), int(0));
    }

    #[test]
    fn set_options_follow_redis_rules() {
        let mut e = engine();
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        assert_eq!(r(&mut e, "SET k v NX XX"), err(SYNTAX_ERROR));
        assert_eq!(r(&mut e, "SET k v NX NX"), Frame::ok());
        assert_eq!(r(&mut e, "SET k v PX 10 PX 10"), Frame::ok());
        assert_eq!(r(&mut e, "SET k v PX 10 EX 10"), err(SYNTAX_ERROR));
        assert_eq!(r(&mut e, "SET k v PX"), err(SYNTAX_ERROR));
        assert_eq!(r(&mut e, "SET k v KEEPTTL PX 5"), err(SYNTAX_ERROR));
        assert_eq!(r(&mut e, "SET k v bogus"), err(SYNTAX_ERROR));
        let invalid = err("ERR invalid expire time in 'set' command");
        for bad in [
            "PX 0",
            "PX -1",
            "EX 0",
            "EXAT 0",
            "EX 9223372036854775",
            "PX 9223372036854775806",
        ] {
            assert_eq!(r(&mut e, &format!("SET k v {bad}")), invalid, "{bad}");
        }
        assert_eq!(r(&mut e, "SET k v PX 1.5"), err(NOT_AN_INTEGER));
        assert_eq!(
            r(&mut e, "SET k"),
            err("ERR wrong number of arguments for 'set' command")
        );
        assert_eq!(r(&mut e, "SET k v PX 10000"), Frame::ok());
        assert_eq!(r(&mut e, "PTTL k"), int(10_000));
        assert_eq!(r(&mut e, "SET k v2 KEEPTTL"), Frame::ok());
        assert_eq!(r(&mut e, "PTTL k"), int(10_000));
        assert_eq!(r(&mut e, "SET k v3"), Frame::ok());
        assert_eq!(r(&mut e, "PTTL k"), int(-1));
        assert_eq!(r(&mut e, "SET k v EX 10"), Frame::ok());
        assert_eq!(r(&mut e, "TTL k"), int(10));
        assert_eq!(
            r(&mut e, &format!("SET k v PXAT {}", NOW + 500)),
            Frame::ok()
        );
        assert_eq!(r(&mut e, "PTTL k"), int(500));
        assert_eq!(r(&mut e, "PTTL nope"), int(-2));
    }

    #[test]
    fn keys_expire_by_the_clock_passed_in() {
        let mut e = engine();
        assert_eq!(run_at(&mut e, NOW, "SET lock me NX PX 10000"), Frame::ok());
        assert_eq!(run_at(&mut e, NOW + 10_000, "GET lock"), Frame::bulk("me"));
        assert_eq!(run_at(&mut e, NOW + 10_000, "PTTL lock"), int(0));
        assert_eq!(run_at(&mut e, NOW + 10_001, "GET lock"), Frame::Null);
        assert_eq!(
            run_at(&mut e, NOW + 10_001, "SET lock you NX PX 10000"),
            Frame::ok()
        );
    }

    #[test]
    fn pexpire_and_its_options() {
        let mut e = engine();
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        assert_eq!(r(&mut e, "PEXPIRE nope 100"), int(0));
        r(&mut e, "SET k v");
        assert_eq!(r(&mut e, "PEXPIRE k 100000 XX"), int(0));
        assert_eq!(r(&mut e, "PEXPIRE k 100000 GT"), int(0));
        assert_eq!(r(&mut e, "PEXPIRE k 100000 NX"), int(1));
        assert_eq!(r(&mut e, "PEXPIRE k 100000 LT"), int(0));
        assert_eq!(r(&mut e, "PEXPIRE k 1000000 GT"), int(1));
        assert_eq!(r(&mut e, "PEXPIRE k 5000 lt"), int(1));
        assert_eq!(r(&mut e, "PTTL k"), int(5000));
        assert_eq!(
            r(&mut e, "PEXPIRE k 1 NX XX"),
            err("ERR NX and XX, GT or LT options at the same time are not compatible")
        );
        assert_eq!(
            r(&mut e, "PEXPIRE k 1 GT LT"),
            err("ERR GT and LT options at the same time are not compatible")
        );
        assert_eq!(
            r(&mut e, "PEXPIRE k 1 foo"),
            err("ERR Unsupported option foo")
        );
        assert_eq!(r(&mut e, "PEXPIRE k abc"), err(NOT_AN_INTEGER));
        assert_eq!(
            r(&mut e, "PEXPIRE k 9223372036854775807"),
            err("ERR invalid expire time in 'pexpire' command")
        );
        assert_eq!(
            r(&mut e, "PEXPIRE k"),
            err("ERR wrong number of arguments for 'pexpire' command")
        );
        assert_eq!(r(&mut e, "PEXPIRE k -5"), int(1));
        assert_eq!(r(&mut e, "EXISTS k"), int(0));
        r(&mut e, "SET k v");
        assert_eq!(r(&mut e, "EXPIRE k 100"), int(1));
        assert_eq!(r(&mut e, "PTTL k"), int(100_000));
        assert_eq!(r(&mut e, &format!("PEXPIREAT k {}", NOW + 7)), int(1));
        assert_eq!(r(&mut e, "PTTL k"), int(7));
    }

    #[test]
    fn errors_are_formatted_as_redis_formats_them() {
        let mut e = engine();
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        assert_eq!(
            r(&mut e, "foo a b c"),
            err("ERR unknown command 'foo', with args beginning with: 'a' 'b' 'c' ")
        );
        assert_eq!(
            r(&mut e, "FOO"),
            err("ERR unknown command 'FOO', with args beginning with: ")
        );
        let long = "x".repeat(200);
        let Frame::Error(text) = r(&mut e, &format!("nope {long} {long}")) else {
            panic!()
        };
        assert_eq!(
            text,
            format!(
                "ERR unknown command 'nope', with args beginning with: '{}' ",
                "x".repeat(128)
            )
        );
        for (line, name) in [
            ("GET", "get"),
            ("get a b", "get"),
            ("DEL", "del"),
            ("EXISTS", "exists"),
            ("INCR a b", "incr"),
            ("PTTL", "pttl"),
            ("PING a b", "ping"),
            ("EVAL", "eval"),
            ("EVAL x", "eval"),
            ("SCRIPT", "script"),
            ("SCRIPT LOAD", "script|load"),
            ("CONFIG GET", "config|get"),
            ("CLIENT", "client"),
        ] {
            assert_eq!(
                r(&mut e, line),
                Frame::Error(format!(
                    "ERR wrong number of arguments for '{name}' command"
                )),
                "{line}"
            );
        }
        assert_eq!(
            r(&mut e, "SCRIPT foo"),
            err("ERR unknown subcommand 'foo'. Try SCRIPT HELP.")
        );
        assert_eq!(
            r(&mut e, "client foo"),
            err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")
        );
        assert_eq!(r(&mut e, "SELECT 0"), Frame::ok());
        assert_eq!(r(&mut e, "SELECT 1"), err("ERR DB index is out of range"));
        assert_eq!(r(&mut e, "SELECT x"), err(NOT_AN_INTEGER));
        assert_eq!(r(&mut e, "FLUSHDB x"), err(SYNTAX_ERROR));
    }

    #[test]
    fn housekeeping_commands_answer_harmlessly() {
        let mut e = engine();
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        assert_eq!(r(&mut e, "PING"), Frame::Simple("PONG".into()));
        assert_eq!(r(&mut e, "PING hi"), Frame::bulk("hi"));
        assert_eq!(r(&mut e, "ECHO hi"), Frame::bulk("hi"));
        assert_eq!(
            r(&mut e, "CONFIG GET save"),
            Frame::Array(vec![Frame::bulk("save"), Frame::bulk("")])
        );
        assert_eq!(
            r(&mut e, "CONFIG GET appendonly"),
            Frame::Array(vec![Frame::bulk("appendonly"), Frame::bulk("no")])
        );
        assert_eq!(r(&mut e, "CONFIG GET nosuch"), Frame::Array(vec![]));
        let Frame::Array(all) = r(&mut e, "CONFIG GET *") else {
            panic!()
        };
        assert!(all.len() >= 10);
        assert_eq!(r(&mut e, "COMMAND DOCS"), Frame::Array(vec![]));
        assert_eq!(r(&mut e, "COMMAND COUNT"), int(COMMANDS.len() as i64));
        let Frame::Array(commands) = r(&mut e, "COMMAND") else {
            panic!()
        };
        assert_eq!(commands.len(), COMMANDS.len());
        let Frame::Array(info) = r(&mut e, "COMMAND INFO get nosuch") else {
            panic!()
        };
        assert_eq!(info[1], Frame::NullArray);
        assert_eq!(r(&mut e, "CLIENT SETNAME worker-1"), Frame::ok());
        assert_eq!(r(&mut e, "CLIENT GETNAME"), Frame::bulk("worker-1"));
        assert_eq!(
            r(&mut e, "CLIENT SETNAME 'a b'"),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(r(&mut e, "CLIENT SETINFO lib-name redis-py"), Frame::ok());
        assert_eq!(r(&mut e, "CLIENT ID"), int(1));
        let Frame::Array(hello) = r(&mut e, "HELLO 2") else {
            panic!()
        };
        assert_eq!(hello.len(), 14);
        assert!(r(&mut e, "HELLO 3").is_error());
        let Frame::Bulk(info) = r(&mut e, "INFO") else {
            panic!()
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        assert!(info.starts_with("# Server\r\nredis_version:"), "{info}");
        assert!(info.contains("# Keyspace"));
        let Frame::Bulk(server) = r(&mut e, "INFO server") else {
            panic!()
        };
        assert!(!String::from_utf8_lossy(&server).contains("# Clients"));
        assert_eq!(r(&mut e, "INFO nosuch"), Frame::bulk(""));
        let Frame::Array(time) = r(&mut e, "TIME") else {
            panic!()
        };
        assert_eq!(time[0], Frame::bulk((NOW / 1000).to_string()));
        assert_eq!(r(&mut e, "QUIT"), Frame::ok());
        assert!(e.2.quit);
    }

    #[test]
    fn effects_are_absolute_and_replay_to_the_same_state() {
        let mut e = engine();
        e.0.db.record_effects(true);
        let r = |e: &mut _, line: &str| run_at(e, NOW, line);
        r(&mut e, "SET a 1 PX 5000");
        r(&mut e, "SET b 2");
        r(&mut e, "SET b 3 KEEPTTL");
        r(&mut e, "SET c 2 NX");
        r(&mut e, "INCR a");
        r(&mut e, "PEXPIRE b 700");
        r(&mut e, "PEXPIRE c -1");
        r(&mut e, "DEL nope b");
        let effects = e.0.db.take_effects();
        let text: Vec<String> = effects
            .iter()
            .map(|c| {
                c.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            text,
            vec![
                format!("SET a 1 PXAT {}", NOW + 5000),
                "SET b 2".into(),
                "SET b 3 KEEPTTL".into(),
                "SET c 2".into(),
                "INCR a".into(),
                format!("PEXPIREAT b {}", NOW + 700),
                "DEL c".into(),
                "DEL b".into(),
            ]
        );
        let mut replayed = Db::new();
        for command in &effects {
            replay(&mut replayed, &e.1, command).unwrap();
        }
        let a = replayed.get(b"a", NOW).unwrap().clone();
        assert_eq!(a.value, Bytes::from_static(b"2"));
        assert_eq!(a.expires_at, Some(NOW + 5000));
        assert_eq!(replayed.len(), 1);
        assert!(replay(&mut replayed, &e.1, &[Bytes::from_static(b"GET")]).is_err());
        assert!(replay(&mut replayed, &e.1, &[Bytes::from_static(b"nosuch")]).is_err());
    }

    #[test]
    fn glob_patterns_match_like_redis() {
        assert!(glob_match(b"*", b"save"));
        assert!(glob_match(b"app*", b"appendonly"));
        assert!(glob_match(b"SAVE", b"save"));
        assert!(glob_match(b"s?ve", b"save"));
        assert!(!glob_match(b"s?ve", b"sve"));
        assert!(!glob_match(b"app", b"appendonly"));
    }
}
