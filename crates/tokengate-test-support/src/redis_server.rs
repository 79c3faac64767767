//! [`RedisServer`]: a real `redis-server` process for tests, on a free loopback port with
//! its own temporary directory, stopped by PID when dropped.
//!
//! ```no_run
//! use tokengate_test_support::redis_server::{Data, RedisServer};
//!
//! let mut redis = RedisServer::start();
//! let url = redis.url(); // redis://127.0.0.1:PORT
//! assert_eq!(redis.command(&["SET", "k", "v"]).to_string(), "OK");
//! redis.save(); // write a snapshot the next restart can load
//! redis.kill(); // SIGKILL: what was not saved is lost, clients see errors
//! redis.restart(Data::Saved); // same port, the snapshot loaded
//! assert_eq!(redis.command(&["GET", "k"]).to_string(), "v");
//! redis.restart(Data::Empty); // same port, nothing kept (a restart without persistence)
//! # drop(url);
//! ```
//!
//! `redis-server` must be installed (`apt-get install redis-server`; `./scripts/test`
//! installs it when missing). Without it, [`RedisServer::start`] panics with a message
//! saying so: tests that need Redis fail, they are never skipped. `TOKENGATE_REDIS_SERVER`
//! names another binary.

// Test support panics on its own failures (a server that does not start), never on test input.
#![allow(clippy::panic)]

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What a [`RedisServer::restart`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// The last snapshot written by [`RedisServer::save`] is loaded (a restart with
    /// persistence); nothing if there was none.
    Saved,
    /// The server starts empty (a restart without persistence, or a failover to an empty
    /// replica).
    Empty,
}

/// A `redis-server` process owned by a test. See the [module docs](self).
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    binary: String,
    child: Option<Child>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl RedisServer {
    /// Starts a server on a free loopback port and returns once it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (the message says how to install it), or when
    /// it does not answer within 15 seconds.
    pub fn start() -> RedisServer {
        let binary = std::env::var("TOKENGATE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        if Command::new(&binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            panic!(
                "`{binary}` was not found: these tests need a real Redis server. Install it with \
                 `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), \
                 or run ./scripts/test, which installs it when missing"
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "tokengate-redis-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        // A free port can be taken by someone else between the probe and the start: retry.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer { port, dir: dir.clone(), binary: binary.clone(), child: None };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => {
                    last_error = e;
                    server.dir = PathBuf::new(); // keep the directory for the next attempt
                }
            }
        }
        panic!("redis-server did not start: {last_error}");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Writes a snapshot (`SAVE`) that [`RedisServer::restart`] with [`Data::Saved`] loads.
    pub fn save(&self) {
        let reply = self.command(&["SAVE"]);
        assert_eq!(reply.to_string(), "OK", "SAVE failed");
    }

    /// Kills the process (SIGKILL, by its PID) and waits for it: like a crash, what was not
    /// saved is gone, and connected clients see their connections drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server if it runs, then starts it again on the same port, with the last
    /// snapshot or empty, and returns once it answers.
    ///
    /// # Panics
    ///
    /// When the server does not come back within 15 seconds (e.g. the port was taken).
    pub fn restart(&mut self, data: Data) {
        self.kill();
        if data == Data::Empty {
            let _ = std::fs::remove_file(self.dir.join("dump.rdb"));
        }
        if let Err(e) = self.spawn() {
            panic!("redis-server did not restart on port {}: {e}", self.port);
        }
    }

    /// Sends one command and returns its reply (for tests: `XTRIM`, `FLUSHALL`,
    /// `CLIENT KILL` ...).
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or the reply cannot be read.
    pub fn command(&self, args: &[&str]) -> Reply {
        match self.try_command(args) {
            Ok(reply) => reply,
            Err(e) => panic!("redis {:?} on port {}: {e}", args.first(), self.port),
        }
    }

    /// Sends one command; `Err` when the server cannot be reached.
    pub fn try_command(&self, args: &[&str]) -> Result<Reply, String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        (&stream).write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        read_reply(&mut BufReader::new(&stream))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--dbfilename", "dump.rdb", "--logfile"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                self.kill();
                return Err(format!("it exited; its log: {}", read_log(&log)));
            }
            if self.try_command(&["PING"]).is_ok_and(|r| r == Reply::Status("PONG".into())) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!("no answer within {START_TIMEOUT:?}; its log: {}", read_log(&log)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer").field("port", &self.port).field("pid", &self.pid()).finish()
    }
}

/// A reply, as [`RedisServer::command`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK` and other simple strings.
    Status(String),
    /// `-ERR ...`.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// A bulk string (`None`: nil).
    Bulk(Option<String>),
    /// An array (`None`: nil).
    Array(Option<Vec<Reply>>),
}

impl fmt::Display for Reply {
    /// Simple strings, errors, integers and bulk strings as their text; nil as `nil`;
    /// arrays as `[a, b]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) | Reply::Error(s) | Reply::Bulk(Some(s)) => f.write_str(s),
            Reply::Integer(i) => write!(f, "{i}"),
            Reply::Bulk(None) | Reply::Array(None) => f.write_str("nil"),
            Reply::Array(Some(items)) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn read_reply(reader: &mut impl BufRead) -> Result<Reply, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).ok_or("empty reply")?;
    let number = || rest.parse::<i64>().map_err(|e| format!("bad length {rest:?}: {e}"));
    Ok(match kind {
        "+" => Reply::Status(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(number()?),
        "$" => match usize::try_from(number()?) {
            Err(_) => Reply::Bulk(None),
            Ok(len) => {
                let mut buf = vec![0; len + 2];
                reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
                buf.truncate(len);
                Reply::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        },
        "*" => match usize::try_from(number()?) {
            Err(_) => Reply::Array(None),
            Ok(len) => Reply::Array(Some((0..len).map(|_| read_reply(reader)).collect::<Result<_, _>>()?)),
        },
        other => return Err(format!("unexpected reply type {other:?}")),
    })
}

fn free_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("no free loopback port: {e}"),
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default().lines().rev().take(5).collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_restarts_and_stops_by_pid() {
        let mut redis = RedisServer::start();
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        assert_eq!(redis.command(&["SET", "k", "v"]), Reply::Status("OK".into()));
        redis.save();
        redis.command(&["SET", "unsaved", "1"]);
        let port = redis.port();

        redis.kill();
        assert!(!redis.is_running());
        assert!(redis.try_command(&["PING"]).is_err(), "a killed server answers");

        redis.restart(Data::Saved);
        assert_eq!(redis.port(), port);
        assert_eq!(redis.command(&["GET", "k"]).to_string(), "v");
        assert_eq!(redis.command(&["GET", "unsaved"]), Reply::Bulk(None));

        redis.restart(Data::Empty);
        assert_eq!(redis.command(&["GET", "k"]), Reply::Bulk(None));

        let pid = redis.pid().unwrap_or_default();
        let dir = redis.dir.clone();
        drop(redis);
        assert!(!Path::new(&format!("/proc/{pid}")).exists() || !proc_is_redis(pid), "still running after drop");
        assert!(!dir.exists(), "temporary directory left behind");
    }

    fn proc_is_redis(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.contains("redis-server"))
    }

    #[test]
    fn replies_are_parsed() {
        let mut input: &[u8] = b"*3\r\n$1\r\na\r\n:7\r\n$-1\r\n";
        let reply = read_reply(&mut input).unwrap_or(Reply::Error(String::new()));
        assert_eq!(
            reply,
            Reply::Array(Some(vec![Reply::Bulk(Some("a".into())), Reply::Integer(7), Reply::Bulk(None)]))
        );
        assert_eq!(reply.to_string(), "[a, 7, nil]");
    }
}
