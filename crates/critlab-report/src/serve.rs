//! `critlab serve`: the report page over HTTP, updating while a sweep writes the store.
//!
//! Three routes and nothing else: `/` (the page), `/api/version` (a number that changes when
//! the store changed) and `/api/data` (the page's data as JSON). The store is opened
//! read-only; SQLite's `PRAGMA data_version` tells when another connection (the sweep)
//! committed, and only then is the data read again.
//!
//! The HTTP/1.1 layer is small and bounded, because anything on the machine can connect:
//! requests are parsed with `httparse` from a head of at most [`MAX_HEAD_BYTES`] bytes and
//! [`MAX_HEADERS`] headers, read within [`HEAD_TIMEOUT`] (a slow client is dropped, not
//! waited for); a request with a body is refused before any of it is read, so no client's
//! number is ever allocated; one request per connection; at most [`MAX_CONNECTIONS`]
//! connections are served at once (each on its own thread; the store is read under one lock)
//! and more are answered 503 at once. Bound to loopback, a request must carry exactly one
//! `Host` header naming a loopback address and the bound port (DNS rebinding cannot reach
//! the store). (tiny_http, used before, read a body's `Content-Length` into one allocation
//! when a request was answered unread: `Content-Length: 9223372036854775807` aborted the
//! process.)
use crate::page::{collect, data_json, render, Mode, ReportOptions};
use crate::ReportError;
use critlab_store::Store;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest request head (request line and headers) read, in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most headers a request may carry.
pub const MAX_HEADERS: usize = 64;
/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are answered 503.
pub const MAX_CONNECTIONS: usize = 32;

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind (default 127.0.0.1: only this machine can connect).
    pub bind: IpAddr,
    /// Port (0: any free port; the address actually bound is [`Server::addr`]).
    pub port: u16,
    /// How often the page asks whether the store changed, in milliseconds.
    pub poll_ms: u64,
    /// What the page shows.
    pub report: ReportOptions,
}

/// What the connections share: the store and the last page built from it.
struct State {
    store: Store,
    opts: ServeOptions,
    /// (data_version of the store when last read, generation, data JSON, page)
    cache: Option<(i64, u64, Arc<String>, Arc<String>)>,
    generation: u64,
}

/// A bound server, not yet answering.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    store_path: PathBuf,
    state: Arc<Mutex<State>>,
}

/// Opens `store` read-only and binds the address; a port in use is an error naming it.
pub fn bind(store: &Path, opts: ServeOptions) -> Result<Server, ReportError> {
    let store = Store::open_read_only(store)?;
    let want = SocketAddr::new(opts.bind, opts.port);
    let listener = TcpListener::bind(want).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("port {} is already in use on {} (stop what uses it, or choose another port with --port; --port 0 picks a free one)", opts.port, opts.bind),
            std::io::ErrorKind::AddrNotAvailable => format!("{} is not an address of this machine", opts.bind),
            std::io::ErrorKind::PermissionDenied => format!("not allowed to bind port {} (ports below 1024 need privileges)", opts.port),
            _ => e.to_string(),
        };
        ReportError::Bind { addr: want, reason }
    })?;
    let addr = listener.local_addr().map_err(|e| ReportError::Bind { addr: want, reason: e.to_string() })?;
    let store_path = store.path().to_path_buf();
    let state = Arc::new(Mutex::new(State { store, opts, cache: None, generation: 0 }));
    Ok(Server { listener, addr, store_path, state })
}

impl State {
    /// Reads the store again if another connection committed since the last read.
    fn refresh(&mut self) -> Result<(u64, Arc<String>, Arc<String>), ReportError> {
        let version: i64 = self
            .store
            .connection()
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(|e| ReportError::Serve(format!("reading the store's data_version: {e}")))?;
        if self.cache.as_ref().is_none_or(|c| c.0 != version) {
            let data = collect(&self.store, &self.opts.report)?;
            self.generation += 1;
            let mode = Mode::Live { version: self.generation.to_string(), poll_ms: self.opts.poll_ms };
            let json = Arc::new(data_json(&data, &mode));
            let page = Arc::new(render(&data, &mode));
            self.cache = Some((version, self.generation, json, page));
        }
        let c = self.cache.as_ref().expect("filled above");
        Ok((c.1, c.2.clone(), c.3.clone()))
    }
}

/// One response: status, content type, body.
struct Response {
    status: u16,
    kind: &'static str,
    body: Arc<String>,
}

fn text(status: u16, body: impl Into<String>) -> Response {
    Response { status, kind: "text/plain; charset=utf-8", body: Arc::new(body.into()) }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Writes a response and closes the connection (one request per connection).
fn respond(stream: &mut TcpStream, r: &Response, head_only: bool) {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        r.status,
        reason(r.status),
        r.kind,
        r.body.len()
    );
    // A client that went away is not the server's problem.
    let _ = stream.write_all(head.as_bytes());
    if !head_only {
        let _ = stream.write_all(r.body.as_bytes());
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Closing with unread input makes the kernel reset the connection, and the client may
    // lose the answer: read (and drop) what is still coming, a bounded amount for a short time.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 8192];
    let mut drained = 0usize;
    while drained < 1 << 20 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// Reads the request head (up to the blank line) within [`HEAD_TIMEOUT`] and
/// [`MAX_HEAD_BYTES`]; `Err` carries the response to a client that broke either bound.
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Option<Response>> {
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Some(text(408, "the request head did not arrive in time\n")));
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => return Err(None),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(Some(text(408, "the request head did not arrive in time\n")))
            }
            Err(_) => return Err(None),
        }
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end + 4);
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(Some(text(431, format!("the request head is over {MAX_HEAD_BYTES} bytes\n"))));
        }
    }
}

/// Whether a `Host` value names this loopback server: a loopback name or address and the
/// bound port (`127.0.0.1:P@evil.com`, `evil.com`, another port are not).
fn host_is_loopback(host: &str, port: u16) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    if let Some(p) = given_port {
        if p.parse::<u16>().ok() != Some(port) {
            return false;
        }
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Server {
    /// The address bound (with the port the OS chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store being served.
    pub fn store_path(&self) -> PathBuf {
        self.store_path.clone()
    }

    /// Answers requests until the process is stopped.
    pub fn run(self) -> Result<(), ReportError> {
        self.run_until(|| false)
    }

    /// Answers requests until `stop` returns true (checked every 20 ms while idle).
    pub fn run_until(self, stop: impl Fn() -> bool) -> Result<(), ReportError> {
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ReportError::Serve(format!("listening on {}: {e}", self.addr)))?;
        let active = Arc::new(AtomicUsize::new(0));
        while !stop() {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                    if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                        respond(&mut stream, &text(503, "too many connections; try again\n"), false);
                        continue;
                    }
                    active.fetch_add(1, Ordering::SeqCst);
                    let (state, working, addr) = (self.state.clone(), active.clone(), self.addr);
                    let spawned = std::thread::Builder::new().name("serve".into()).spawn(move || {
                        answer(&state, &mut stream, addr);
                        working.fetch_sub(1, Ordering::SeqCst);
                    });
                    if spawned.is_err() {
                        active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                // A connection reset before it was accepted, or out of descriptors for now.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) || e.raw_os_error() == Some(EMFILE) =>
                {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(ReportError::Serve(format!("accepting a connection on {}: {e}", self.addr))),
            }
        }
        Ok(())
    }
}

/// EMFILE (too many open files) on Linux: wait for descriptors to free up.
const EMFILE: i32 = 24;

/// Answers one connection's request.
fn answer(state: &Mutex<State>, stream: &mut TcpStream, addr: SocketAddr) {
    let head = match read_head(stream) {
        Ok(h) => h,
        Err(Some(r)) => return respond(stream, &r, false),
        Err(None) => return,
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let response = match req.parse(&head) {
        Ok(httparse::Status::Complete(_)) => route(state, &req, addr),
        Ok(httparse::Status::Partial) => text(400, "incomplete request\n"),
        Err(httparse::Error::TooManyHeaders) => text(431, format!("more than {MAX_HEADERS} headers\n")),
        Err(e) => text(400, format!("malformed request: {e}\n")),
    };
    let head_only = req.method == Some("HEAD");
    respond(stream, &response, head_only);
}

/// The response to a parsed request.
fn route(state: &Mutex<State>, req: &httparse::Request<'_, '_>, addr: SocketAddr) -> Response {
    fn named<'h, 'b>(
        headers: &'h [httparse::Header<'b>],
        name: &'static str,
    ) -> impl Iterator<Item = &'h httparse::Header<'b>> {
        headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name))
    }
    let header = |name: &'static str| named(req.headers, name);
    if addr.ip().is_loopback() {
        let hosts: Vec<&[u8]> = header("Host").map(|h| h.value).collect();
        let ok = match hosts.as_slice() {
            [one] => std::str::from_utf8(one).is_ok_and(|h| host_is_loopback(h.trim(), addr.port())),
            _ => false,
        };
        if !ok {
            return text(
                403,
                "critlab serve answers only requests with one Host header naming this machine's loopback address and port\n",
            );
        }
    }
    // No route takes a body: refuse one before reading any of it (its length is never
    // allocated).
    let has_body = header("Transfer-Encoding").next().is_some()
        || header("Content-Length").any(|h| std::str::from_utf8(h.value).map_or(true, |v| v.trim() != "0"));
    if has_body {
        return text(413, "critlab serve takes no request body\n");
    }
    let method = req.method.unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return text(405, format!("critlab serve is read-only: {method} is not allowed\n"));
    }
    let path = req.path.unwrap_or("").split('?').next().unwrap_or("");
    match path {
        "/" | "/index.html" | "/api/version" | "/api/data" => {
            let refreshed = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).refresh();
            match refreshed {
                Ok((generation, json, page)) => match path {
                    "/api/version" => Response {
                        status: 200,
                        kind: "application/json",
                        body: Arc::new(format!("{{\"version\":\"{generation}\"}}")),
                    },
                    "/api/data" => Response { status: 200, kind: "application/json", body: json },
                    _ => Response { status: 200, kind: "text/html; charset=utf-8", body: page },
                },
                Err(e) => text(500, format!("cannot read the store: {e}\n")),
            }
        }
        _ => text(404, format!("no such page: {path} (critlab serve has /, /api/version and /api/data)\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::RunSpec;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpStream};

    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, out.split_once("\r\n\r\n").map(|p| p.1.to_string()).unwrap_or_default())
    }

    #[test]
    fn serves_its_routes_only_sees_new_runs_and_refuses_a_taken_port() {
        let dir = std::env::temp_dir().join(format!("critlab-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.db");
        let writer = Store::open(&path).unwrap();
        writer.create_run(&RunSpec::default(), Some("sw"), "test").unwrap();
        let opts = ServeOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            poll_ms: 500,
            report: ReportOptions::default(),
        };
        let server = bind(&path, opts.clone()).unwrap();
        let addr = server.addr();
        let taken = bind(&path, ServeOptions { port: addr.port(), ..opts }).err().unwrap().to_string();
        assert!(taken.contains(&addr.port().to_string()) && taken.contains("already in use"), "{taken}");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || server.run_until(|| flag.load(std::sync::atomic::Ordering::SeqCst)));
        let (status, page) = get(addr, "/");
        assert_eq!(status, 200);
        assert!(page.contains("<html") && page.contains("\"live\""));
        let (_, v1) = get(addr, "/api/version");
        assert_eq!(get(addr, "/api/version").1, v1, "the version changes only when the store does");
        writer.create_run(&RunSpec { seed: 1, ..RunSpec::default() }, Some("sw"), "test").unwrap();
        let (_, v2) = get(addr, "/api/version");
        assert_ne!(v1, v2);
        let (_, data) = get(addr, "/api/data");
        let data: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["runs"].as_array().unwrap().len(), 2);
        for bad in ["/../s.db", "/s.db", "/api", "/etc/passwd"] {
            assert_eq!(get(addr, bad).0, 404, "{bad}");
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        handle.join().unwrap().unwrap();
        std::fs::remove_dir_all(dir).ok();
    }

    /// Sends raw bytes and reads the status code of the answer (0 when there was none).
    fn raw(addr: SocketAddr, bytes: &[u8]) -> u16 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let out = String::from_utf8_lossy(&out);
        out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }

    /// Issue 26: one request with `Content-Length: 9223372036854775807` aborted the process;
    /// the Host check let through no Host, a second Host and `127.0.0.1:P@evil.com`. Hostile
    /// requests, slow clients and a bounded load on 127.0.0.1: the server answers each one
    /// and keeps serving the page.
    #[test]
    fn hostile_requests_slow_clients_and_load_leave_the_server_answering() {
        let dir = tempfile_dir("hostile");
        let path = dir.join("s.db");
        Store::open(&path).unwrap().create_run(&RunSpec::default(), Some("sw"), "test").unwrap();
        let opts = ServeOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            poll_ms: 500,
            report: ReportOptions::default(),
        };
        let server = bind(&path, opts).unwrap();
        let addr = server.addr();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || server.run_until(|| flag.load(std::sync::atomic::Ordering::SeqCst)));
        let host = format!("Host: {addr}\r\n");
        let cases: Vec<(String, u16)> = vec![
            (format!("GET / HTTP/1.1\r\n{host}Content-Length: 9223372036854775807\r\n\r\n"), 413),
            (format!("POST / HTTP/1.1\r\n{host}Content-Length: 18446744073709551615\r\n\r\n"), 413),
            (format!("GET / HTTP/1.1\r\n{host}Content-Length: 99999999999999999999999999\r\n\r\n"), 413),
            (format!("GET / HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n"), 413),
            ("GET / HTTP/1.1\r\n\r\n".into(), 403),
            (format!("GET / HTTP/1.1\r\n{host}Host: evil.com\r\n\r\n"), 403),
            (format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}@evil.com\r\n\r\n", addr.port()), 403),
            ("GET / HTTP/1.1\r\nHost: evil.com\r\n\r\n".into(), 403),
            (format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", addr.port().wrapping_add(1)), 403),
            (format!("GET / HTTP/1.1\r\nHost: localhost:{}\r\n\r\n", addr.port()), 200),
            (format!("GET /api/version HTTP/1.1\r\n{host}\r\n"), 200),
            (format!("DELETE / HTTP/1.1\r\n{host}\r\n"), 405),
            (format!("GET / HTTP/1.1\r\n{host}X-Big: {}\r\n\r\n", "a".repeat(100_000)), 431),
            (format!("GET / HTTP/1.1\r\n{host}{}\r\n", "X-A: b\r\n".repeat(100)), 431),
            ("\x00\x01garbage\r\n\r\n".into(), 400),
        ];
        for (req, want) in &cases {
            assert_eq!(raw(addr, req.as_bytes()), *want, "{:.120}", req);
        }
        // Slow clients: connections that send half a head and wait hold no one else up.
        let slow: Vec<TcpStream> = (0..8)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: 127").unwrap();
                s
            })
            .collect();
        let started = std::time::Instant::now();
        assert_eq!(raw(addr, format!("GET /api/version HTTP/1.1\r\n{host}\r\n").as_bytes()), 200);
        assert!(started.elapsed() < HEAD_TIMEOUT, "a slow client held up another one");
        // A bounded load: 8 threads x 25 requests each, every one answered.
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let host = host.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .filter(|_| raw(addr, format!("GET /api/data HTTP/1.1\r\n{host}\r\n").as_bytes()) == 200)
                        .count()
                })
            })
            .collect();
        let answered: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(answered, 200);
        drop(slow);
        assert_eq!(raw(addr, format!("GET / HTTP/1.1\r\n{host}\r\n").as_bytes()), 200);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        handle.join().unwrap().unwrap();
        std::fs::remove_dir_all(dir).ok();
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("critlab-serve-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
