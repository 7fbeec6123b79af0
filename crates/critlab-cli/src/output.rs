//! The one way the CLI writes to standard output.
//!
//! Every command prints through [`outln!`], [`out!`] or [`stdout`] (a test fails on a bare
//! `println!`). A write that fails returns an [`OutputError`] instead of panicking, so:
//!
//! * a reader that closed the pipe (`critlab runs list | head -1`) ends the program quietly
//!   with exit status 0, as `ls | head` does ([`closed`] tells `main`);
//! * any other failure (`>/dev/full`: no space left) is an error naming standard output
//!   (exit 2).
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to standard output found the reader gone (EPIPE).
static CLOSED: AtomicBool = AtomicBool::new(false);

/// A write to standard output failed.
#[derive(Debug)]
pub struct OutputError(pub io::Error);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Whether standard output's reader has gone away; `main` then exits 0 without a message.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Records a closed pipe and names standard output in the error (writers such as the CSV
/// export only see an `io::Error`).
fn note(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CLOSED.store(true, Ordering::Relaxed);
    }
    io::Error::new(e.kind(), format!("cannot write to standard output: {e}"))
}

/// Standard output as a [`Write`] that records a closed pipe (for writers such as CSV export
/// that take any `Write`).
pub struct Stdout(io::StdoutLock<'static>);

/// Standard output, locked for this writer.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(note)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(note)
    }
}

/// Writes formatted text to standard output (what [`out!`] and [`outln!`] call).
pub fn write_fmt(args: std::fmt::Arguments<'_>) -> Result<(), OutputError> {
    io::stdout().lock().write_fmt(args).map_err(|e| OutputError(note(e)))
}

/// Flushes standard output; `main` calls it before exiting so that an error on the last,
/// buffered line is reported too.
pub fn flush() -> Result<(), OutputError> {
    io::stdout().lock().flush().map_err(|e| OutputError(note(e)))
}

/// `print!` that returns `Result<(), OutputError>` instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { crate::output::write_fmt(format_args!($($arg)*)) };
}

/// `println!` that returns `Result<(), OutputError>` instead of panicking.
macro_rules! outln {
    () => { crate::output::write_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { crate::output::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that never panics: a message that cannot be written to standard error
/// (`2>/dev/full`, a closed terminal) is dropped, and the exit status still tells.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[cfg(test)]
mod tests {
    /// Every command prints through this module: a bare `println!`/`print!`/`eprintln!` would
    /// panic on a closed pipe or a full disk.
    #[test]
    fn no_command_prints_with_println() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("output.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        let code = line.trim_start();
                        if code.starts_with("//") {
                            continue;
                        }
                        for bad in ["println!(", "print!(", "io::stdout()", "eprintln!("] {
                            let hit = code.match_indices(bad).any(|(at, _)| !code[..at].ends_with('e'));
                            if hit {
                                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                            }
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.is_empty(), "print through crate::output (outln!/out!/output::stdout()):\n{}", found.join("\n"));
    }
}
