//! `critlab serve`: the report page over HTTP, updating while a sweep writes the store.
//!
//! tiny_http (a small synchronous HTTP/1.1 server: four dependencies, no async runtime) serves
//! three routes and nothing else: `/` (the page), `/api/version` (a number that changes when
//! the store changed) and `/api/data` (the page's data as JSON). The store is opened read-only;
//! SQLite's `PRAGMA data_version` tells when another connection (the sweep) committed, and only
//! then is the data read again. Requests are answered one at a time.
use crate::page::{collect, data_json, render, Mode, ReportOptions};
use crate::ReportError;
use critlab_store::Store;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

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

/// A bound server, not yet answering.
pub struct Server {
    http: tiny_http::Server,
    addr: SocketAddr,
    store: Store,
    opts: ServeOptions,
    /// (data_version of the store when last read, generation, data JSON, page)
    cache: Option<(i64, u64, String, String)>,
    generation: u64,
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
    let http = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| ReportError::Bind { addr, reason: e.to_string() })?;
    Ok(Server { http, addr, store, opts, cache: None, generation: 0 })
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("static header names and ASCII values are valid")
}

impl Server {
    /// The address bound (with the port the OS chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store being served.
    pub fn store_path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    /// Reads the store again if another connection committed since the last read.
    fn refresh(&mut self) -> Result<(u64, &str, &str), ReportError> {
        let version: i64 = self
            .store
            .connection()
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(|e| ReportError::Serve(format!("reading the store's data_version: {e}")))?;
        if self.cache.as_ref().is_none_or(|c| c.0 != version) {
            let data = collect(&self.store, &self.opts.report)?;
            self.generation += 1;
            let mode = Mode::Live { version: self.generation.to_string(), poll_ms: self.opts.poll_ms };
            self.cache = Some((version, self.generation, data_json(&data, &mode), render(&data, &mode)));
        }
        let c = self.cache.as_ref().expect("filled above");
        Ok((c.1, &c.2, &c.3))
    }

    fn host_allowed(&self, req: &tiny_http::Request) -> bool {
        // Bound to loopback, answer only requests addressed to loopback names (a web page
        // elsewhere cannot reach the store through DNS rebinding).
        if !self.addr.ip().is_loopback() {
            return true;
        }
        let Some(host) = req.headers().iter().find(|h| h.field.equiv("Host")) else { return true };
        let host = host.value.as_str();
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        matches!(name, "127.0.0.1" | "localhost" | "[::1]") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Answers one request.
    fn answer(&mut self, req: tiny_http::Request) {
        let text = |status: u16, body: String| {
            tiny_http::Response::from_string(body)
                .with_status_code(status)
                .with_header(header("Content-Type", "text/plain; charset=utf-8"))
        };
        let response = if !self.host_allowed(&req) {
            text(403, "critlab serve answers only requests addressed to this machine's loopback address\n".into())
        } else if *req.method() != tiny_http::Method::Get && *req.method() != tiny_http::Method::Head {
            text(405, format!("critlab serve is read-only: {} is not allowed\n", req.method()))
        } else {
            let path = req.url().split('?').next().unwrap_or("").to_string();
            match path.as_str() {
                "/" | "/index.html" | "/api/version" | "/api/data" => match self.refresh() {
                    Ok((generation, json, page)) => {
                        let (body, kind) = match path.as_str() {
                            "/api/version" => (format!("{{\"version\":\"{generation}\"}}"), "application/json"),
                            "/api/data" => (json.to_string(), "application/json"),
                            _ => (page.to_string(), "text/html; charset=utf-8"),
                        };
                        tiny_http::Response::from_string(body).with_header(header("Content-Type", kind))
                    }
                    Err(e) => text(500, format!("cannot read the store: {e}\n")),
                },
                _ => text(404, format!("no such page: {path} (critlab serve has /, /api/version and /api/data)\n")),
            }
        };
        let response = response
            .with_header(header("Cache-Control", "no-store"))
            .with_header(header("X-Content-Type-Options", "nosniff"));
        // A client that went away is not the server's problem.
        let _ = req.respond(response);
    }

    /// Answers requests until the process is stopped.
    pub fn run(mut self) -> Result<(), ReportError> {
        loop {
            match self.http.recv() {
                Ok(req) => self.answer(req),
                Err(e) => return Err(ReportError::Serve(format!("accepting a connection on {}: {e}", self.addr))),
            }
        }
    }

    /// Answers requests until `stop` returns true (checked every 100 ms); for tests.
    pub fn run_until(mut self, stop: impl Fn() -> bool) -> Result<(), ReportError> {
        while !stop() {
            match self.http.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(Some(req)) => self.answer(req),
                Ok(None) => {}
                Err(e) => return Err(ReportError::Serve(format!("accepting a connection on {}: {e}", self.addr))),
            }
        }
        Ok(())
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
}
