//! A real headless Chromium driven over the Chrome DevTools Protocol: a few commands sent as
//! JSON over one WebSocket, the events (console messages, exceptions, network requests)
//! collected as they arrive.
//!
//! The WebSocket client is the few lines of RFC 6455 that DevTools on 127.0.0.1 needs (text
//! frames, masking, ping/pong), written here rather than taken from tungstenite: tungstenite
//! turns on features of crates burn shares (rand_core/getrandom `std`, bytes, http, sha1,
//! data-encoding), so every test build would compile the whole burn stack a second time.
//!
//! Chromium is found as `$CRITLAB_CHROMIUM`, else `chromium-headless-shell`, `chromium`,
//! `chromium-browser` or `google-chrome` on the PATH (scripts/test.sh installs Debian's
//! `chromium-headless-shell` when none is present).
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary, if one is installed.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CRITLAB_CHROMIUM").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Chromium, or `None` after saying why the browser tests are skipped. Under CI (`CI=true`) a
/// missing Chromium fails the test instead: scripts/test.sh installs it.
pub fn find_or_skip(test: &str) -> Option<PathBuf> {
    let found = find();
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!ci, "{test}: no Chromium found (CRITLAB_CHROMIUM, chromium-headless-shell, chromium); scripts/test.sh installs Debian's chromium-headless-shell");
        eprintln!(
            "SKIPPED {test}: no Chromium installed (apt-get install chromium-headless-shell, or run scripts/test.sh)"
        );
    }
    found
}

/// One browser with one page.
pub struct Browser {
    child: Child,
    page: WebSocket,
    browser: WebSocket,
    next_id: u64,
    /// Every event received so far (method, params).
    pub events: Vec<(String, Value)>,
    // removed when the browser is dropped, after the process has been stopped
    _profile: tempfile::TempDir,
}

/// A WebSocket client connection (text messages only).
pub struct WebSocket {
    stream: TcpStream,
    buf: Vec<u8>,
    message: Vec<u8>,
}

impl WebSocket {
    /// Opens `ws://host:port/path` (the opening handshake of RFC 6455 §4.1).
    pub fn connect(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| format!("{url} is not a ws:// URL"))?;
        let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut stream = TcpStream::connect(hostport).map_err(|e| format!("connecting to {hostport}: {e}"))?;
        // The key only has to be 16 bytes in base64; DevTools does not check it is random.
        let request = format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: Y3JpdGxhYi1kZXZ0b29scw==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        stream.write_all(request.as_bytes()).map_err(|e| format!("handshake with {url}: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).map_err(|e| format!("handshake with {url}: {e}"))?;
            if n == 0 {
                return Err(format!("{url} closed the connection during the handshake"));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(format!("{url} refused the WebSocket upgrade: {}", head.lines().next().unwrap_or("")));
        }
        buf.drain(..end);
        Ok(Self { stream, buf, message: Vec::new() })
    }

    fn frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), String> {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // Client frames must be masked (RFC 6455 §5.3); any key will do.
        let key = [0x37u8, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.stream.write_all(&f).map_err(|e| format!("sending a frame: {e}"))
    }

    /// Sends one text message.
    pub fn send(&mut self, text: &str) -> Result<(), String> {
        self.frame(0x1, text.as_bytes())
    }

    /// The next text message, or `None` when none arrived within `wait`.
    pub fn read(&mut self, wait: Duration) -> Result<Option<String>, String> {
        let end = Instant::now() + wait;
        loop {
            // one complete frame in the buffer?
            if self.buf.len() >= 2 {
                let (b0, b1) = (self.buf[0], self.buf[1]);
                let (mut len, mut at) = ((b1 & 0x7f) as usize, 2usize);
                if len == 126 && self.buf.len() >= 4 {
                    len = u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize;
                    at = 4;
                } else if len == 127 && self.buf.len() >= 10 {
                    len = u64::from_be_bytes(self.buf[2..10].try_into().expect("8 bytes")) as usize;
                    at = 10;
                }
                let masked = b1 & 0x80 != 0;
                let header = at + if masked { 4 } else { 0 };
                if (b1 & 0x7f) < 126 || at > 2 {
                    if self.buf.len() >= header + len {
                        let mut payload: Vec<u8> = self.buf[header..header + len].to_vec();
                        if masked {
                            let key: Vec<u8> = self.buf[at..at + 4].to_vec();
                            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
                        }
                        self.buf.drain(..header + len);
                        match b0 & 0x0f {
                            0x0 | 0x1 => {
                                self.message.extend_from_slice(&payload);
                                if b0 & 0x80 != 0 {
                                    let text = String::from_utf8(std::mem::take(&mut self.message))
                                        .map_err(|e| format!("a message is not UTF-8: {e}"))?;
                                    return Ok(Some(text));
                                }
                            }
                            0x8 => return Err("the browser closed the DevTools connection".into()),
                            0x9 => self.frame(0xA, &payload)?,
                            _ => {}
                        }
                        continue;
                    }
                }
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok();
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the browser closed the DevTools connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Ok(None)
                }
                Err(e) => return Err(format!("reading from DevTools: {e}")),
            }
        }
    }
}

fn call_on(
    ws: &mut WebSocket,
    id: u64,
    method: &str,
    params: Value,
    events: &mut Vec<(String, Value)>,
    timeout: Duration,
) -> Result<Value, String> {
    ws.send(&json!({ "id": id, "method": method, "params": params }).to_string())
        .map_err(|e| format!("{method}: {e}"))?;
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        let Some(text) = ws.read(Duration::from_millis(200)).map_err(|e| format!("{method}: {e}"))? else { continue };
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{method}: bad message: {e}"))?;
        if v["id"].as_u64() == Some(id) {
            if let Some(err) = v.get("error") {
                return Err(format!("{method}: {err}"));
            }
            return Ok(v["result"].clone());
        }
        if let Some(m) = v["method"].as_str() {
            events.push((m.to_string(), v["params"].clone()));
        }
    }
    Err(format!("{method}: no answer within {timeout:?}"))
}

impl Browser {
    /// Starts headless Chromium with a fresh profile and opens a blank page with the runtime,
    /// log and network domains enabled.
    pub fn launch(bin: &Path) -> Result<Self, String> {
        let profile = tempfile::Builder::new()
            .prefix("critlab-chromium")
            .tempdir()
            .map_err(|e| format!("profile folder: {e}"))?;
        let child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
                "--allow-file-access-from-files",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // its own process group, so that Drop can end every Chromium process at once
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        // Chromium writes the port it chose and the browser's WebSocket path to DevToolsActivePort.
        let file = profile.path().join("DevToolsActivePort");
        let end = Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break format!("ws://127.0.0.1:{port}{path}");
                }
            }
            if Instant::now() > end {
                return Err(format!("{} did not open its DevTools port within 30 s", bin.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut browser = WebSocket::connect(&url)?;
        let mut events = Vec::new();
        let target = call_on(
            &mut browser,
            1,
            "Target.createTarget",
            json!({ "url": "about:blank" }),
            &mut events,
            Duration::from_secs(20),
        )?;
        let id = target["targetId"].as_str().ok_or("Target.createTarget gave no targetId")?.to_string();
        let port_part = url.trim_start_matches("ws://").split('/').next().unwrap_or_default().to_string();
        let page = WebSocket::connect(&format!("ws://{port_part}/devtools/page/{id}"))?;
        let mut b = Browser { child, page, browser, next_id: 10, events, _profile: profile };
        for domain in ["Runtime.enable", "Log.enable", "Network.enable", "Page.enable"] {
            b.call(domain, json!({}))?;
        }
        Ok(b)
    }

    /// Sends one command and waits for its result (collecting events meanwhile).
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        call_on(&mut self.page, self.next_id, method, params, &mut self.events, Duration::from_secs(30))
    }

    /// Evaluates a JavaScript expression in the page (promises awaited) and returns its value.
    pub fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r =
            self.call("Runtime.evaluate", json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }))?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!("{expr}: {ex}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Evaluates `expr` until it is `true`; the time it took, or an error after `timeout`.
    /// An evaluation that fails (the document is being replaced during a navigation) counts
    /// as not yet.
    pub fn wait_for(&mut self, expr: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let last = match self.eval(expr) {
                Ok(v) if v == json!(true) => return Ok(start.elapsed()),
                Ok(v) => format!("last value {v}"),
                Err(e) => format!("last error {e}"),
            };
            if start.elapsed() > timeout {
                return Err(format!("`{expr}` not true within {timeout:?} ({last})"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Opens `url` (without waiting for it to load).
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        self.call("Page.navigate", json!({ "url": url })).map(|_| ())
    }

    /// Error messages seen: console.error calls, uncaught exceptions and error log entries.
    pub fn console_errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(m, p)| match m.as_str() {
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                    Some(format!("console.{}: {}", p["type"], p["args"]))
                }
                "Runtime.exceptionThrown" => Some(format!("exception: {}", p["exceptionDetails"])),
                "Log.entryAdded" if p["entry"]["level"] == "error" => Some(format!("log: {}", p["entry"])),
                _ => None,
            })
            .collect()
    }

    /// Every URL the page requested.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|(m, _)| m == "Network.requestWillBeSent")
            .filter_map(|(_, p)| p["request"]["url"].as_str().map(String::from))
            .collect()
    }

    /// Sends a real mouse-wheel event at (x, y) in the viewport.
    pub fn wheel(&mut self, x: f64, y: f64, delta_y: f64) -> Result<(), String> {
        self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": x, "y": y }))?;
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": delta_y }),
        )
        .map(|_| ())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Browser.close ends Chromium with all its processes. Killing the child alone is not
        // enough: Debian's launcher is a shell script that does not exec the browser.
        let _ =
            call_on(&mut self.browser, 999_999, "Browser.close", json!({}), &mut Vec::new(), Duration::from_secs(5));
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (the launcher, the browser, its helpers) is killed.
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}
