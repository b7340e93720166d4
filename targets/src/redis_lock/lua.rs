//! Scripting: `EVAL`, `EVALSHA` and `SCRIPT LOAD` in Lua 5.1, as in Redis, through mlua's
//! safe API (Lua is built from source by mlua's `vendored` feature).
//!
//! ```text
//!  EVAL body n k… a… ──sha1(body)──▶ cache ──(compile on a miss)──▶ function
//!     KEYS, ARGV (globals) ──▶ xpcall(function, handler) ──▶ Lua value ──▶ reply Frame
//!                                   │ redis.call / redis.pcall
//!                                   ▼
//!                   dispatch(Ctx, args) ──▶ reply Frame ──▶ Lua value
//!                   (command's dispatcher, handed in as a ctx::Dispatch)
//! ```
//!
//! A script runs while the server's lock is held, with the wall-clock time of its start: it
//! is atomic, and no key expires halfway through it, as in Redis 7. Its writes reach the
//! append-only file as the commands it called, wrapped in `MULTI`/`EXEC`.
//!
//! # Conversions (Redis's, both ways)
//!
//! | reply | Lua | | Lua | reply |
//! |---|---|---|---|---|
//! | integer | number | | number | integer (truncated toward zero) |
//! | bulk string | string | | string | bulk string |
//! | nil bulk, nil array | `false` | | `false`, `nil` | nil bulk |
//! | array | table (1…n), converted element by element | | `true` | integer 1 |
//! | status | `{ok = text}` | | `{ok = text}` (a string) | status |
//! | error | `{err = text}` (`redis.pcall`), raised (`redis.call`) | | `{err = text}` (a string) | error |
//! | | | | `{double = x}` | bulk string of `x` (`%.17g`) |
//! | | | | other table | array of `t[1]`, `t[2]`, … up to the first `nil` |
//!
//! A number passed to `redis.call` becomes its `%.17g` text, as in Redis 7. An error that
//! escapes the script becomes `-<err> script: <sha>, on @user_script:<line>.`, exactly as
//! Redis 7.0 words it: a plain Lua error `e` becomes `ERR <e>`, an error table keeps its `err`.
//! Inside the script, `pcall` catches an error table as its `err` text (Redis 7's `pcall`).
//!
//! # The sandbox
//!
//! Scripts see the base library (without `dofile`, `loadfile`, `load`, `print`, `require`,
//! `module`, `setfenv`, `getfenv`, `newproxy`), `string`, `table`, `math`, `coroutine` and
//! `redis`, through read-only tables: assigning a global, or a field of a library, fails with
//! `Attempt to modify a readonly table`, and reading an unset global fails with `Script
//! attempted to access nonexistent global variable`, as in Redis 7. `loadstring` compiles text
//! only (binary chunks could crash the interpreter) into the same sandbox. `cjson`, `bit`,
//! `struct` and `cmsgpack` are not there.
//!
//! # Limits
//!
//! Redis lets a script run on past `lua-time-limit` (5 s), answering `BUSY` to everyone else
//! until `SCRIPT KILL`. Here a script holds the server's lock, so instead a count hook (every
//! [`HOOK_EVERY`] instructions) checks a monotonic deadline of [`TIME_LIMIT`], and past it
//! aborts the script with an error; once over time, the hook fires on every instruction, so a
//! script cannot catch the error with `pcall` and go on. Lua's heap is capped at
//! [`MEMORY_LIMIT`]; a script that allocates past it fails with `not enough memory`. Replies
//! nest at most [`MAX_REPLY_DEPTH`] deep (Redis: as deep as Lua's C stack allows, ~8000);
//! deeper, the whole reply is `ERR reached lua stack limit`, as Redis's is past its limit.
//!
//! One error cannot be located as Redis locates it: `return rawset(t, k, v)` on a read-only
//! table. `rawset` is a Lua wrapper here, and Lua 5.1 erases the caller's frame on a tail call
//! to a Lua function, so the reply lacks `script: …, on @user_script:N.` (`redis.call`, the
//! case that matters, is a C function for exactly this reason).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{
    ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState,
};
use resp::{Frame, string_to_i64};
use sha1::{Digest, Sha1};

use super::ctx::{Ctx, Dispatch, NOT_AN_INTEGER, REDIS_VERSION};
use super::g17::format_g17;

/// How long a script may run before it is aborted (Redis's `lua-time-limit`).
pub const TIME_LIMIT: Duration = Duration::from_secs(5);
/// The most memory Lua may hold (scripts, cached functions, their data).
pub const MEMORY_LIMIT: usize = 256 * 1024 * 1024;
/// How many Lua instructions run between two looks at the clock.
pub const HOOK_EVERY: u32 = 10_000;
/// How deeply nested a script's reply may be.
pub const MAX_REPLY_DEPTH: usize = 100;
/// The whole reply to a script whose result nests deeper than [`MAX_REPLY_DEPTH`].
const REPLY_TOO_DEEP: &str = "ERR reached lua stack limit";
/// The chunk name of this module's own Lua code: its stack frames are skipped when an error
/// is located, so errors point at the user's line, as Redis's do.
const INTERNAL: &str = "=faultline";

/// Where the registry keeps the bridge table, for [`redis_call`].
const BRIDGE_KEY: &str = "faultline.bridge";
const BRIDGE_KEY_C: &std::ffi::CStr = c"faultline.bridge";

/// `redis.call` as a C function. It must not be a Lua function: Lua 5.1 erases the caller's
/// frame when a Lua function is tail-called (`return redis.call(...)`, the commonest line in
/// a Redis script), and then an error could not be located at the script's line as Redis's C
/// `redis.call` locates it. A tail call to a C function keeps the caller's frame.
#[allow(unsafe_code)]
fn redis_call_function(lua: &Lua) -> mlua::Result<Function> {
    use mlua::ffi;
    /// Calls `bridge.raw(...)`; raises its reply (an error table) if it failed, else returns
    /// it. Nothing here owns memory, so Lua's `longjmp` out of `lua_call` or `lua_error`
    /// passes over plain frames only.
    unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> std::ffi::c_int {
        // SAFETY: called by Lua with a valid state; the stack holds the call's arguments and
        // has room for the two values pushed here (LUA_MINSTACK is 20).
        unsafe {
            let nargs = ffi::lua_gettop(state);
            ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, BRIDGE_KEY_C.as_ptr());
            ffi::lua_getfield(state, -1, c"raw".as_ptr());
            ffi::lua_remove(state, -2);
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, nargs, 2);
            let failed = ffi::lua_toboolean(state, -1) != 0;
            ffi::lua_pop(state, 1);
            if failed {
                ffi::lua_error(state);
            }
            1
        }
    }
    // SAFETY: `redis_call` follows the lua_CFunction protocol above.
    unsafe { lua.create_c_function(redis_call) }
}

/// The Lua side of the `redis` library and the sandbox. Its arguments: the real globals, the
/// bridge table (whose `raw` is set to the command caller while a script runs), and the Rust
/// helpers. It returns the sandbox (the scripts' environment) and the runner.
const PRELUDE: &str = r#"
local G, bridge, rust = ...
local error, type, tostring, setmetatable, getmetatable, rawset, setfenv, loadstring, pcall,
      xpcall, ipairs = error, type, tostring, setmetatable, getmetatable, rawset, setfenv,
      loadstring, pcall, xpcall, ipairs

for _, name in ipairs({"dofile", "loadfile", "load", "print", "require", "module", "setfenv",
                       "getfenv", "newproxy", "package", "io", "os", "debug"}) do
  G[name] = nil
end

local readonly_tables = {}
local function readonly(t, strict)
  local proxy = {}
  local index = t
  if strict then
    index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
  end
  setmetatable(proxy, {
    __index = index,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = {},
  })
  readonly_tables[proxy] = true
  return proxy
end

local redis = {}
redis.call = rust.call
function redis.pcall(...)
  local reply = bridge.raw(...)
  return reply
end
redis.error_reply = rust.error_reply
redis.status_reply = rust.status_reply
redis.sha1hex = rust.sha1hex
redis.log = rust.log
redis.setresp = rust.setresp
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end
redis.set_repl = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = rust.version
redis.REDIS_VERSION_NUM = rust.version_num

-- Redis 7's pcall: an error table (what redis.call raises) is caught as its message.
local function caught(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == "table" then
    local m = e.err
    if type(m) == "string" or type(m) == "number" then e = m end
  end
  return false, e
end
G.pcall = function(...) return caught(pcall(...)) end

G.rawset = function(t, k, v)
  if readonly_tables[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end

local string_meta = getmetatable("")
local string_meta_proxy = readonly(string_meta)
G.getmetatable = function(x)
  local mt = getmetatable(x)
  if mt == string_meta then return string_meta_proxy end
  return mt
end

local sandbox
G.loadstring = function(s, name)
  if type(s) == "string" and s:byte(1) == 27 then
    return nil, "binary chunks are not allowed"
  end
  local f, e = loadstring(s, name)
  if f then setfenv(f, sandbox) end
  return f, e
end

G.redis = readonly(redis)
for _, lib in ipairs({"string", "table", "math", "coroutine"}) do
  if G[lib] then G[lib] = readonly(G[lib]) end
end
sandbox = readonly(G, true)
G._G = sandbox

local function run(f, handler) return xpcall(f, handler) end
return sandbox, run
"#;

/// The script watchdog's state, shared with the count hook.
#[derive(Debug, Default)]
struct Watchdog {
    /// When the running script must stop; `None` between scripts.
    deadline: Mutex<Option<Instant>>,
    /// Set once the running script is over time: from then on every hook call fails.
    killed: AtomicBool,
}

impl Watchdog {
    fn start(&self) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + TIME_LIMIT);
        self.killed.store(false, Ordering::Relaxed);
    }

    fn stop(&self) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn over_time(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
            || self
                .deadline
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

type Hook = Box<dyn Fn(&Lua, &mlua::Debug<'_>) -> mlua::Result<VmState> + Send>;

/// The count hook: fail if the script is over time. The first time it is, it reinstalls
/// itself to run on every instruction.
fn hook(watchdog: Arc<Watchdog>) -> Hook {
    Box::new(move |lua, _| {
        if !watchdog.over_time() {
            return Ok(VmState::Continue);
        }
        if !watchdog.killed.swap(true, Ordering::Relaxed) {
            lua.set_hook(triggers(1), hook(watchdog.clone()))?;
        }
        Err(mlua::Error::runtime(killed_text()))
    })
}

fn triggers(every: u32) -> HookTriggers {
    HookTriggers {
        every_nth_instruction: Some(every),
        ..HookTriggers::default()
    }
}

fn killed_text() -> String {
    format!(
        "ERR Script killed: it ran longer than the {} ms script time limit",
        TIME_LIMIT.as_millis()
    )
}

/// The Lua state and the script cache.
pub struct Scripts {
    lua: Lua,
    /// Compiled scripts by the hex SHA1 of their body.
    cache: HashMap<String, Function>,
    /// The real globals, where `KEYS` and `ARGV` are set.
    globals: Table,
    /// The sandbox every script runs in.
    sandbox: Table,
    bridge: Table,
    run: Function,
    handler: Function,
    watchdog: Arc<Watchdog>,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts")
            .field("cached", &self.cache.len())
            .finish()
    }
}

/// The hex SHA1 of `body`: a script's name.
pub fn sha1_hex(body: &[u8]) -> String {
    let digest = Sha1::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of an error reply as a script sees it (Redis's `luaPushErrorBuff`): the first word
/// is the error code, or `ERR` is added when there is only one word; trailing CR/LF go.
fn script_error_text(text: &str) -> String {
    let (code, message) = match text.split_once(' ') {
        Some((code, message)) => (code, message),
        None => ("ERR", text),
    };
    format!("{code} {}", message.trim_matches(['\r', '\n']))
}

fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", text)?;
    Ok(table)
}

/// A command's reply, as a Lua value.
fn reply_to_lua(lua: &Lua, frame: Frame) -> mlua::Result<Value> {
    Ok(match frame {
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(data) => Value::String(lua.create_string(&data)?),
        Frame::Null | Frame::NullArray => Value::Boolean(false),
        Frame::Simple(text) => {
            let table = lua.create_table()?;
            table.raw_set("ok", text)?;
            Value::Table(table)
        }
        Frame::Error(text) => Value::Table(error_table(lua, &script_error_text(&text))?),
        Frame::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                table.raw_set(i + 1, reply_to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
    })
}

/// C's `(long long)` of a double, as x86-64 does it: out of range (and NaN) is `i64::MIN`.
fn lua_number_to_i64(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// A script's result, as a reply.
fn lua_to_reply(value: Value, depth: usize) -> mlua::Result<Frame> {
    Ok(match value {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(true) => Frame::Integer(1),
        Value::Integer(n) => Frame::Integer(n),
        Value::Number(n) => Frame::Integer(lua_number_to_i64(n)),
        Value::Table(table) => {
            if depth >= MAX_REPLY_DEPTH {
                return Err(mlua::Error::runtime(REPLY_TOO_DEEP));
            }
            if let Value::String(err) = table.raw_get::<Value>("err")? {
                return Ok(Frame::Error(err.to_string_lossy()));
            }
            if let Value::String(ok) = table.raw_get::<Value>("ok")? {
                return Ok(Frame::Simple(ok.to_string_lossy()));
            }
            match table.raw_get::<Value>("double")? {
                Value::Number(d) => return Ok(Frame::bulk(format_g17(d))),
                Value::Integer(d) => return Ok(Frame::bulk(format_g17(d as f64))),
                _ => {}
            }
            let mut items = Vec::new();
            for i in 1.. {
                let item = table.raw_get::<Value>(i)?;
                if item.is_nil() {
                    break;
                }
                items.push(lua_to_reply(item, depth + 1)?);
            }
            Frame::Array(items)
        }
        _ => Frame::Null,
    })
}

/// The arguments a script passed to `redis.call`: strings and numbers only.
fn command_args(args: MultiValue) -> Result<Vec<Bytes>, &'static str> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    args.into_iter()
        .map(|arg| match arg {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(n) => Ok(Bytes::from(n.to_string())),
            Value::Number(n) => Ok(Bytes::from(format_g17(n))),
            _ => Err("ERR Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// Where the error being handled was raised: the innermost frame of the user's code (not a
/// C function, not this module's Lua), as Redis's error handler finds it.
fn error_location(lua: &Lua) -> Option<(String, i64)> {
    for level in 1..100 {
        let frame = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            (
                source.what,
                source.source.map(|s| s.into_owned()),
                debug.current_line(),
            )
        })?;
        match frame {
            ("C", _, _) => continue,
            (_, Some(source), _) if source == INTERNAL => continue,
            (_, Some(source), Some(line)) => return Some((source, line as i64)),
            _ => return None,
        }
    }
    None
}

/// `redis.error_reply(text)`.
fn error_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    match args.len() {
        1 => match args.into_iter().next() {
            Some(Value::String(s)) => {
                let text = s.to_string_lossy();
                let text = text.strip_prefix('-').unwrap_or(&text);
                error_table(lua, &script_error_text(text))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        },
        _ => error_table(lua, "ERR wrong number or type of arguments"),
    }
}

/// `redis.status_reply(text)`.
fn status_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    match (args.len(), args.into_iter().next()) {
        (1, Some(Value::String(s))) => {
            let table = lua.create_table()?;
            table.raw_set("ok", s)?;
            Ok(table)
        }
        _ => error_table(lua, "ERR wrong number or type of arguments"),
    }
}

/// Raises an error table, as Redis's library functions do for bad arguments.
fn raise(lua: &Lua, text: &str) -> mlua::Result<MultiValue> {
    let error: Function = lua.globals().raw_get("error")?;
    error.call::<MultiValue>((error_table(lua, text)?, 0))
}

impl Scripts {
    /// A fresh Lua state with the `redis` library and the sandbox.
    pub fn new() -> Result<Scripts, String> {
        let build = || -> mlua::Result<Scripts> {
            let lua = Lua::new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH,
                LuaOptions::default(),
            )?;
            lua.set_memory_limit(MEMORY_LIMIT)?;
            let globals = lua.globals();
            let bridge = lua.create_table()?;
            let rust = lua.create_table()?;
            lua.set_named_registry_value(BRIDGE_KEY, bridge.clone())?;
            rust.raw_set("call", redis_call_function(&lua)?)?;
            rust.raw_set("error_reply", lua.create_function(error_reply)?)?;
            rust.raw_set("status_reply", lua.create_function(status_reply)?)?;
            rust.raw_set(
                "sha1hex",
                lua.create_function(|lua, args: MultiValue| {
                    if args.len() != 1 {
                        return raise(lua, "ERR wrong number of arguments");
                    }
                    let body = args
                        .into_iter()
                        .next()
                        .and_then(|v| lua.coerce_string(v).ok().flatten());
                    let hex = match &body {
                        Some(body) => sha1_hex(&body.as_bytes()),
                        None => sha1_hex(b""),
                    };
                    Ok(MultiValue::from_iter([Value::String(
                        lua.create_string(hex)?,
                    )]))
                })?,
            )?;
            rust.raw_set(
                "log",
                lua.create_function(|lua, args: MultiValue| {
                    if args.len() < 2 {
                        return raise(lua, "ERR redis.log() requires two arguments or more.");
                    }
                    match args.front() {
                        Some(Value::Integer(0..=3)) => Ok(MultiValue::new()),
                        Some(Value::Number(n)) if (0.0..=3.0).contains(n) => Ok(MultiValue::new()),
                        Some(Value::Integer(_) | Value::Number(_)) => {
                            raise(lua, "ERR Invalid debug level.")
                        }
                        _ => raise(lua, "ERR First argument must be a number (log level)."),
                    }
                })?,
            )?;
            rust.raw_set(
                "setresp",
                lua.create_function(|lua, args: MultiValue| match args.front() {
                    _ if args.len() != 1 => {
                        raise(lua, "ERR redis.setresp() requires one argument.")
                    }
                    Some(Value::Integer(2 | 3)) => Ok(MultiValue::new()),
                    _ => raise(lua, "ERR RESP version must be 2 or 3."),
                })?,
            )?;
            rust.raw_set("version", REDIS_VERSION)?;
            let version_num = REDIS_VERSION
                .split('.')
                .filter_map(|p| p.parse::<i64>().ok())
                .fold(0, |acc, p| acc * 256 + p);
            rust.raw_set("version_num", version_num)?;
            let (sandbox, run): (Table, Function) = lua
                .load(PRELUDE)
                .set_name(INTERNAL)
                .set_mode(ChunkMode::Text)
                .call((globals.clone(), bridge.clone(), rust))?;

            let watchdog = Arc::new(Watchdog::default());
            let tostring: Function = globals.raw_get("tostring")?;
            let handler_watchdog = watchdog.clone();
            let handler = lua.create_function(move |lua, error: Value| {
                let table = match error {
                    _ if handler_watchdog.killed.load(Ordering::Relaxed) => {
                        error_table(lua, &killed_text())?
                    }
                    Value::Table(table) => table,
                    other => {
                        let text = tostring.call::<mlua::String>(other)?;
                        error_table(lua, &format!("ERR {}", text.to_string_lossy()))?
                    }
                };
                if let Some((source, line)) = error_location(lua) {
                    table.raw_set("source", source)?;
                    table.raw_set("line", line)?;
                }
                Ok(table)
            })?;
            lua.set_hook(triggers(HOOK_EVERY), hook(watchdog.clone()))?;
            Ok(Scripts {
                lua,
                cache: HashMap::new(),
                globals,
                sandbox,
                bridge,
                run,
                handler,
                watchdog,
            })
        };
        build().map_err(|e| format!("cannot start Lua: {e}"))
    }

    /// Compiles `body` into the cache (`SCRIPT LOAD`); its SHA1, or the compile error reply.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Frame> {
        let sha = sha1_hex(body);
        if !self.cache.contains_key(&sha) {
            let function = self.compile(body)?;
            self.cache.insert(sha.clone(), function);
        }
        Ok(sha)
    }

    fn compile(&self, body: &[u8]) -> Result<Function, Frame> {
        self.lua
            .load(body)
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.sandbox.clone())
            .into_function()
            .map_err(|e| {
                let message = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                Frame::Error(format!(
                    "ERR Error compiling script (new function): {message}"
                ))
            })
    }

    /// Whether a script with this SHA1 is cached (`SCRIPT EXISTS`).
    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|sha| self.cache.contains_key(&sha.to_ascii_lowercase()))
    }

    /// Forgets every cached script (`SCRIPT FLUSH`).
    pub fn flush(&mut self) {
        self.cache.clear();
        let _ = self.lua.gc_collect();
    }

    /// `EVAL body numkeys key… arg…` or, with `by_sha`, `EVALSHA sha1 numkeys key… arg…`.
    /// The script's `redis.call` runs its commands through `dispatch`.
    pub fn eval_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        args: &[Bytes],
        by_sha: bool,
        dispatch: Dispatch,
    ) -> Frame {
        let Some(numkeys) = string_to_i64(&args[2]) else {
            return Frame::error(NOT_AN_INTEGER);
        };
        if numkeys > (args.len() - 3) as i64 {
            return Frame::error("ERR Number of keys can't be greater than number of args");
        }
        if numkeys < 0 {
            return Frame::error("ERR Number of keys can't be negative");
        }
        let sha = if by_sha {
            let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            if sha.len() != 40 || !self.cache.contains_key(&sha) {
                return Frame::error("NOSCRIPT No matching script. Please use EVAL.");
            }
            sha
        } else {
            match self.load(&args[1]) {
                Ok(sha) => sha,
                Err(error) => return error,
            }
        };
        let Some(function) = self.cache.get(&sha).cloned() else {
            return Frame::error("NOSCRIPT No matching script. Please use EVAL.");
        };
        let numkeys = numkeys as usize;
        let keys = &args[3..3 + numkeys];
        let argv = &args[3 + numkeys..];
        let start = ctx.db.effects_len();
        let reply = self.run(ctx, dispatch, &sha, function, keys, argv);
        ctx.db.wrap_effects_from(start);
        reply
    }

    fn run(
        &mut self,
        ctx: &mut Ctx<'_>,
        dispatch: Dispatch,
        sha: &str,
        function: Function,
        keys: &[Bytes],
        argv: &[Bytes],
    ) -> Frame {
        let outcome = self.call(ctx, dispatch, function, keys, argv);
        let killed = self.watchdog.killed.swap(false, Ordering::Relaxed);
        if killed {
            // Back from firing on every instruction.
            let _ = self
                .lua
                .set_hook(triggers(HOOK_EVERY), hook(self.watchdog.clone()));
        }
        let values = match outcome {
            Ok(values) => values,
            // The hook fired again outside the handler (in `run`'s own instructions).
            Err(_) if killed => return Frame::Error(killed_text()),
            Err(e) => {
                return Frame::Error(format!("ERR Error running script {sha}, {e}"));
            }
        };
        let mut values = values.into_iter();
        let ok = matches!(values.next(), Some(Value::Boolean(true)));
        let value = values.next().unwrap_or(Value::Nil);
        if ok {
            return lua_to_reply(value, 0).unwrap_or_else(|e| match e {
                mlua::Error::RuntimeError(text) => Frame::Error(text),
                e => Frame::Error(format!("ERR {e}")),
            });
        }
        match value {
            Value::Table(table) => {
                let message = match table.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => s.to_string_lossy(),
                    _ => "ERR unknown error".into(),
                };
                let source = table.raw_get::<Option<String>>("source").ok().flatten();
                let line = table.raw_get::<Option<i64>>("line").ok().flatten();
                match (source, line) {
                    (Some(source), Some(line)) => {
                        Frame::Error(format!("{message} script: {sha}, on {source}:{line}."))
                    }
                    _ => Frame::Error(message),
                }
            }
            // Errors the handler never saw: out of memory, or an error in the handler.
            other => {
                let text = self
                    .lua
                    .coerce_string(other)
                    .ok()
                    .flatten()
                    .map_or_else(|| "execution failure".into(), |s| s.to_string_lossy());
                Frame::Error(format!("ERR Error running script {sha}, {text}"))
            }
        }
    }

    /// Sets `KEYS` and `ARGV`, then runs `function` under `xpcall` with the command bridge in
    /// place: `(true, result)` or `(false, error table)`.
    fn call(
        &mut self,
        ctx: &mut Ctx<'_>,
        dispatch: Dispatch,
        function: Function,
        keys: &[Bytes],
        argv: &[Bytes],
    ) -> mlua::Result<MultiValue> {
        let lua = &self.lua;
        let strings = |items: &[Bytes]| -> mlua::Result<Table> {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, lua.create_string(item)?)?;
            }
            Ok(table)
        };
        self.globals.raw_set("KEYS", strings(keys)?)?;
        self.globals.raw_set("ARGV", strings(argv)?)?;
        let ctx = RefCell::new(ctx);
        let result = lua.scope(|scope| {
            let raw = scope.create_function(|lua, args: MultiValue| {
                let reply = match command_args(args) {
                    Ok(args) => {
                        let mut ctx = ctx.borrow_mut();
                        dispatch(&mut ctx, &args)
                    }
                    Err(text) => Frame::error(text),
                };
                let failed = reply.is_error();
                Ok((reply_to_lua(lua, reply)?, failed))
            })?;
            self.bridge.raw_set("raw", raw)?;
            self.watchdog.start();
            let result = self
                .run
                .call::<MultiValue>((function, self.handler.clone()));
            self.watchdog.stop();
            self.bridge.raw_set("raw", Value::Nil)?;
            result
        });
        self.globals.raw_set("KEYS", Value::Nil)?;
        self.globals.raw_set("ARGV", Value::Nil)?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The tests run scripts against the real dispatcher, so `redis.call` is tested end to end;
    // only the tests reach up to `command`.
    use crate::redis_lock::command::call_from_script;
    use crate::redis_lock::ctx::{Appendonly, Stats};
    use crate::redis_lock::db::{Db, Ttl};

    const NOW: i64 = 1_700_000_000_000;

    struct Fixture {
        scripts: Scripts,
        db: Db,
        stats: Stats,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                scripts: Scripts::new().unwrap(),
                db: Db::new(),
                stats: Stats::new("n1", 1, Appendonly::No, "/tmp".into()),
            }
        }

        fn eval(&mut self, body: &str, keys: &[&str], argv: &[&str]) -> Frame {
            let mut args = vec![
                Bytes::from_static(b"EVAL"),
                Bytes::copy_from_slice(body.as_bytes()),
                Bytes::from(keys.len().to_string()),
            ];
            args.extend(
                keys.iter()
                    .chain(argv)
                    .map(|a| Bytes::copy_from_slice(a.as_bytes())),
            );
            let mut ctx = Ctx {
                db: &mut self.db,
                stats: &self.stats,
                now: NOW,
                now_micros: NOW * 1000,
            };
            self.scripts
                .eval_command(&mut ctx, &args, false, call_from_script)
        }

        fn eval0(&mut self, body: &str) -> Frame {
            self.eval(body, &[], &[])
        }
    }

    /// The error Redis gives; line 0: one this server cannot locate (see the module docs).
    fn with_location(text: &str, body: &str, line: u32) -> Frame {
        if line == 0 {
            return Frame::error(text);
        }
        Frame::Error(format!(
            "{text} script: {}, on @user_script:{line}.",
            sha1_hex(body.as_bytes())
        ))
    }

    const UNLOCK: &str = r#"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end"#;
    const RENEW: &str = r#"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("pexpire",KEYS[1],ARGV[2]) else return 0 end"#;

    #[test]
    fn the_lock_scripts_work() {
        let mut f = Fixture::new();
        f.db.set(
            Bytes::from_static(b"lock"),
            Bytes::from_static(b"me"),
            Ttl::At(NOW + 1000),
            NOW,
        );
        assert_eq!(
            f.eval(RENEW, &["lock"], &["you", "5000"]),
            Frame::Integer(0)
        );
        assert_eq!(f.eval(RENEW, &["lock"], &["me", "5000"]), Frame::Integer(1));
        assert_eq!(f.db.get(b"lock", NOW).unwrap().expires_at, Some(NOW + 5000));
        assert_eq!(f.eval(UNLOCK, &["lock"], &["you"]), Frame::Integer(0));
        assert_eq!(f.eval(UNLOCK, &["lock"], &["me"]), Frame::Integer(1));
        assert_eq!(f.eval(UNLOCK, &["lock"], &["me"]), Frame::Integer(0));
        assert_eq!(f.eval(RENEW, &["lock"], &["me", "5000"]), Frame::Integer(0));
    }

    #[test]
    fn values_convert_as_in_redis() {
        let mut f = Fixture::new();
        let array = |items: Vec<Frame>| Frame::Array(items);
        assert_eq!(
            f.eval0(r#"return {1,2,{3,"x"},nil,5}"#),
            array(vec![
                Frame::Integer(1),
                Frame::Integer(2),
                array(vec![Frame::Integer(3), Frame::bulk("x")])
            ])
        );
        assert_eq!(f.eval0("return 3.99"), Frame::Integer(3));
        assert_eq!(f.eval0("return -3.99"), Frame::Integer(-3));
        assert_eq!(f.eval0("return 0/0"), Frame::Integer(i64::MIN));
        assert_eq!(f.eval0("return 2^63"), Frame::Integer(i64::MIN));
        assert_eq!(f.eval0("return 2^62"), Frame::Integer(1 << 62));
        assert_eq!(f.eval0("return true"), Frame::Integer(1));
        assert_eq!(f.eval0("return false"), Frame::Null);
        assert_eq!(f.eval0("return nil"), Frame::Null);
        assert_eq!(f.eval0("return"), Frame::Null);
        assert_eq!(
            f.eval0(r#"return {ok="fine"}"#),
            Frame::Simple("fine".into())
        );
        assert_eq!(
            f.eval0(r#"return {err="My Error"}"#),
            Frame::error("My Error")
        );
        assert_eq!(f.eval0(r#"return {err=5}"#), array(vec![]));
        assert_eq!(
            f.eval0(r#"return {double=0.1}"#),
            Frame::bulk("0.10000000000000001")
        );
        assert_eq!(
            f.eval0(r#"return redis.error_reply("bad")"#),
            Frame::error("ERR bad")
        );
        assert_eq!(
            f.eval0(r#"return redis.error_reply("bad thing")"#),
            Frame::error("bad thing")
        );
        assert_eq!(
            f.eval0(r#"return redis.error_reply("-x")"#),
            Frame::error("ERR x")
        );
        assert_eq!(
            f.eval0(r#"return redis.error_reply()"#),
            Frame::error("ERR wrong number or type of arguments")
        );
        assert_eq!(
            f.eval0(r#"return redis.status_reply("OKAY")"#),
            Frame::Simple("OKAY".into())
        );
        assert_eq!(
            f.eval0(r#"return {1,{ok="s"},{err="e"}}"#),
            array(vec![
                Frame::Integer(1),
                Frame::Simple("s".into()),
                Frame::error("e")
            ])
        );
        assert_eq!(
            f.eval(
                r#"return {KEYS[1], ARGV[1], ARGV[2], #KEYS}"#,
                &["k"],
                &["a1", "a2"]
            ),
            array(vec![
                Frame::bulk("k"),
                Frame::bulk("a1"),
                Frame::bulk("a2"),
                Frame::Integer(1)
            ])
        );
        assert_eq!(
            f.eval0(r#"return redis.sha1hex("")"#),
            Frame::bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
    }

    #[test]
    fn replies_convert_into_lua_as_in_redis() {
        let mut f = Fixture::new();
        assert_eq!(
            f.eval0(r#"return type(redis.call("get", "nokey"))"#),
            Frame::bulk("boolean")
        );
        assert_eq!(
            f.eval0(r#"local r = redis.call("set", "k", "v"); return type(r) .. ":" .. r.ok"#),
            Frame::bulk("table:OK")
        );
        assert_eq!(
            f.eval0(r#"local r = redis.pcall("incr", "k"); return r.err"#),
            Frame::bulk(NOT_AN_INTEGER)
        );
        assert_eq!(
            f.eval0(r#"return redis.pcall("incr", "k")"#),
            Frame::error(NOT_AN_INTEGER)
        );
        assert_eq!(
            f.eval0(r#"local ok, e = pcall(redis.call, "nosuch"); return e"#),
            Frame::bulk("ERR Unknown Redis command called from script")
        );
        assert_eq!(
            f.eval0(r#"return redis.call("set", "n", 10.5)"#),
            Frame::ok()
        );
        assert_eq!(
            f.eval0(r#"return redis.call("get", "n")"#),
            Frame::bulk("10.5")
        );
        assert_eq!(
            f.eval0(r#"redis.call("set", "n", 3); return redis.call("incr", "n")"#),
            Frame::Integer(4)
        );
        assert_eq!(
            f.eval0(r#"return redis.call("exists", "n", "k", "x")"#),
            Frame::Integer(2)
        );
        assert_eq!(
            f.eval0(r#"return redis.call("ping")"#),
            Frame::Simple("PONG".into())
        );
    }

    #[test]
    fn errors_are_located_as_in_redis() {
        let mut f = Fixture::new();
        let cases: &[(&str, &str, u32)] = &[
            (r#"return redis.call("incr", "k")"#, "", 1),
            (
                r#"return redis.call("nosuch", "k")"#,
                "ERR Unknown Redis command called from script",
                1,
            ),
            (
                r#"return redis.call("get")"#,
                "ERR Wrong number of args calling Redis command from script",
                1,
            ),
            (
                r#"return redis.call("get", {})"#,
                "ERR Lua redis lib command arguments must be strings or integers",
                1,
            ),
            (
                r#"return redis.call()"#,
                "ERR Please specify at least one argument for this redis lib call",
                1,
            ),
            (
                r#"return redis.call("eval", "return 1", 0)"#,
                "ERR This Redis command is not allowed from script",
                1,
            ),
            (
                "return x",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'x'",
                1,
            ),
            (
                "return os",
                "ERR user_script:1: Script attempted to access nonexistent global variable 'os'",
                1,
            ),
            (
                "x = 1",
                "ERR user_script:1: Attempt to modify a readonly table",
                1,
            ),
            (
                "string.rep = nil",
                "ERR user_script:1: Attempt to modify a readonly table",
                1,
            ),
            (
                "redis.call = nil",
                "ERR user_script:1: Attempt to modify a readonly table",
                1,
            ),
            (
                r#"return rawset(_G, "zz", 1)"#,
                "ERR Attempt to modify a readonly table",
                0,
            ),
            (r#"error("boom")"#, "ERR user_script:1: boom", 1),
            (r#"error({err="tbl"})"#, "tbl", 1),
            ("error(5)", "ERR user_script:1: 5", 1),
            ("error()", "ERR nil", 1),
            ("error(true)", "ERR true", 1),
            (
                "local a = {}\nlocal b = 1\nreturn redis.call(\"nosuch\")",
                "ERR Unknown Redis command called from script",
                3,
            ),
            (
                "local function f()\n error(\"deep\")\nend\nlocal x = 1\nf()",
                "ERR user_script:2: deep",
                2,
            ),
            (
                "local function f()\n  return 1 + nil\nend\nlocal x = 1\nf()",
                "ERR user_script:2: attempt to perform arithmetic on a nil value",
                2,
            ),
            (
                "local function f()\n  return redis.call(\"nosuch\")\nend\nlocal x = 1\nf()",
                "ERR Unknown Redis command called from script",
                2,
            ),
        ];
        f.eval0(r#"redis.call("set", "k", "v")"#);
        for (body, text, line) in cases {
            let text = if text.is_empty() {
                NOT_AN_INTEGER
            } else {
                text
            };
            assert_eq!(f.eval0(body), with_location(text, body, *line), "{body}");
        }
        assert_eq!(
            f.eval0("return 1 +"),
            Frame::error(
                "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
            )
        );
        // redis.pcall returns what redis.call raises.
        assert_eq!(
            f.eval0(r#"return redis.pcall("set","a", "b", "px", "0")"#),
            Frame::error("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            f.eval0(r#"return redis.pcall("set","a",true)"#),
            Frame::error("ERR Lua redis lib command arguments must be strings or integers")
        );
    }

    #[test]
    fn the_sandbox_holds_between_scripts() {
        let mut f = Fixture::new();
        assert_eq!(f.eval0("return _VERSION"), Frame::bulk("Lua 5.1"));
        assert_eq!(
            f.eval0(r#"return loadstring("return 1 + 1")()"#),
            Frame::Integer(2)
        );
        assert!(f.eval0(r#"return loadstring("zz = 1")()"#).is_error());
        assert_eq!(
            f.eval0(r#"return loadstring(string.char(27) .. "Lua")"#),
            Frame::Null
        );
        assert!(f.eval0("getmetatable('').__index = nil").is_error());
        assert_eq!(f.eval0("return ('x'):rep(3)"), Frame::bulk("xxx"));
        assert_eq!(f.eval0("return getmetatable(_G)"), Frame::Array(vec![]));
        assert!(f.eval0("setmetatable(_G, nil)").is_error());
        assert!(f.eval0("return zz").is_error());
        for name in [
            "dofile", "loadfile", "print", "require", "io", "os", "debug", "setfenv",
        ] {
            assert!(f.eval0(&format!("return {name}")).is_error(), "{name}");
        }
        // KEYS and ARGV are per script.
        f.eval(r#"return KEYS[1]"#, &["a"], &[]);
        assert_eq!(f.eval0("return #KEYS"), Frame::Integer(0));
    }

    #[test]
    fn scripts_are_cached_by_sha1() {
        let mut f = Fixture::new();
        let sha = f.scripts.load(b"return 1").unwrap();
        assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        assert!(f.scripts.exists(sha.as_bytes()));
        assert!(f.scripts.exists(sha.to_uppercase().as_bytes()));
        let mut ctx = Ctx {
            db: &mut f.db,
            stats: &f.stats,
            now: NOW,
            now_micros: NOW * 1000,
        };
        let evalsha = |sha: &str, ctx: &mut Ctx<'_>, scripts: &mut Scripts| {
            let args = [
                Bytes::from_static(b"EVALSHA"),
                Bytes::copy_from_slice(sha.as_bytes()),
                Bytes::from_static(b"0"),
            ];
            scripts.eval_command(ctx, &args, true, call_from_script)
        };
        assert_eq!(
            evalsha(&sha.to_uppercase(), &mut ctx, &mut f.scripts),
            Frame::Integer(1)
        );
        let noscript = Frame::error("NOSCRIPT No matching script. Please use EVAL.");
        assert_eq!(evalsha("abc", &mut ctx, &mut f.scripts), noscript);
        f.scripts.flush();
        assert_eq!(evalsha(&sha, &mut ctx, &mut f.scripts), noscript);
        assert!(f.scripts.load(b"return 1 +").is_err());
    }

    #[test]
    fn script_writes_are_one_transaction_in_the_effects() {
        let mut f = Fixture::new();
        f.db.record_effects(true);
        f.eval(
            r#"redis.call("set", KEYS[1], "1", "px", "100"); redis.call("incr", KEYS[1])"#,
            &["k"],
            &[],
        );
        let effects = f.db.take_effects();
        let names: Vec<&[u8]> = effects.iter().map(|c| &c[0][..]).collect();
        assert_eq!(names, vec![&b"MULTI"[..], b"SET", b"INCR", b"EXEC"]);
        assert_eq!(effects[1][4], Bytes::from((NOW + 100).to_string()));
    }

    #[test]
    fn a_runaway_script_is_stopped() {
        let mut f = Fixture::new();
        for body in [
            "while true do end",
            "while true do pcall(function() while true do end end) end",
        ] {
            let started = Instant::now();
            let reply = f.eval0(body);
            let Frame::Error(text) = reply else {
                panic!("{reply:?}")
            };
            assert!(text.starts_with("ERR Script killed"), "{text}");
            assert!(started.elapsed() < TIME_LIMIT + Duration::from_secs(5));
        }
        // The state is usable after.
        assert_eq!(f.eval0("return 1"), Frame::Integer(1));
        let reply = f.eval0("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end");
        assert!(reply.is_error(), "{reply:?}");
        assert_eq!(f.eval0("return 2"), Frame::Integer(2));
        let deep = f.eval0("local t = {}; t[1] = t; return t");
        assert_eq!(deep, Frame::error(REPLY_TOO_DEEP));
    }
}
