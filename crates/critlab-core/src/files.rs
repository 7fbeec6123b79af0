//! The files a command writes: one guard that refuses to overwrite the store, a config or an
//! input (by file identity, after following links), or an existing file of another kind, and
//! one atomic write (a temporary file beside the target, renamed over it on success).
//!
//! Every command that writes a path it was given (`report -o`, `export -o`, `--plot`,
//! `--export-init`, a study's output folder, a merge target) calls [`check_output`] before
//! it reads anything and [`write_atomic`] to write: a full disk or a killed process leaves
//! the old file or none, never half of one.
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a file: its device and inode, the same through any symlink or hard link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of what `path` names after following links; `None` when nothing is there.
    pub fn of(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().map(|m| FileId { dev: m.dev(), ino: m.ino() })
    }
}

/// Whether `a` and `b` are the same file (symlinks followed, hard links seen); false when
/// either is missing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((FileId::of(a), FileId::of(b)), (Some(x), Some(y)) if x == y)
}

/// The kinds of file critlab writes or guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An HTML page (`report`).
    Html,
    /// An SVG figure.
    Svg,
    /// A PNG figure.
    Png,
    /// A CSV (or TSV) table.
    Csv,
    /// JSON Lines.
    Jsonl,
    /// One JSON document (`--export-init`, results.json).
    Json,
    /// Apache Parquet.
    Parquet,
    /// A TOML config or sweep spec.
    Toml,
    /// Markdown.
    Markdown,
    /// An SQLite database (a critlab store).
    Sqlite,
}

impl FileKind {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Html => "HTML",
            FileKind::Svg => "SVG",
            FileKind::Png => "PNG",
            FileKind::Csv => "CSV",
            FileKind::Jsonl => "JSON Lines",
            FileKind::Json => "JSON",
            FileKind::Parquet => "Parquet",
            FileKind::Toml => "TOML",
            FileKind::Markdown => "Markdown",
            FileKind::Sqlite => "SQLite",
        }
    }

    /// The kind a file name's extension stands for, if it is one critlab knows.
    pub fn from_extension(path: &Path) -> Option<FileKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "html" | "htm" => FileKind::Html,
            "svg" => FileKind::Svg,
            "png" => FileKind::Png,
            "csv" | "tsv" => FileKind::Csv,
            "jsonl" | "ndjson" => FileKind::Jsonl,
            "json" => FileKind::Json,
            "parquet" | "pq" => FileKind::Parquet,
            "toml" => FileKind::Toml,
            "md" | "markdown" => FileKind::Markdown,
            "db" | "sqlite" | "sqlite3" => FileKind::Sqlite,
            _ => return None,
        })
    }

    /// Whether a file named with `other`'s extension may hold this kind (JSON Lines in a
    /// `.json` file is common).
    fn accepts_extension(self, other: FileKind) -> bool {
        self == other || matches!((self, other), (FileKind::Jsonl, FileKind::Json))
    }

    /// Whether this is a text table or document that cannot be recognised from its bytes.
    fn is_plain_text(self) -> bool {
        matches!(self, FileKind::Csv | FileKind::Jsonl | FileKind::Json | FileKind::Toml | FileKind::Markdown)
    }

    /// The kind of an existing file's content, where its first bytes say (magic numbers of
    /// SQLite, PNG and Parquet; the opening tag of HTML and SVG; a JSON object or array).
    pub fn sniff(path: &Path) -> Option<FileKind> {
        let mut head = [0u8; 512];
        let mut file = std::fs::File::open(path).ok()?;
        let mut n = 0;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        let head = &head[..n];
        if head.starts_with(b"SQLite format 3\0") {
            return Some(FileKind::Sqlite);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(FileKind::Png);
        }
        if head.starts_with(b"PAR1") {
            return Some(FileKind::Parquet);
        }
        let text = String::from_utf8_lossy(head).trim_start().to_ascii_lowercase();
        if text.starts_with("<!doctype html") || text.starts_with("<html") {
            Some(FileKind::Html)
        } else if text.starts_with("<svg") || text.starts_with("<?xml") {
            Some(FileKind::Svg)
        } else if text.starts_with('{') || text.starts_with('[') {
            Some(FileKind::Json)
        } else {
            None
        }
    }
}

/// Why an output path was refused; every variant names the flag and the path.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output is a file the command reads (the store, its config, an input).
    #[error(
        "{flag} {path} is the same file as the {role} {other}; writing it would destroy it: choose another output file"
    )]
    IsProtected {
        /// The output flag.
        flag: String,
        /// The output path.
        path: PathBuf,
        /// What the protected file is ("store", "config", "input").
        role: String,
        /// The protected path as given.
        other: PathBuf,
    },
    /// The output is a directory (or a device, socket, ...), not a file.
    #[error("{flag} {path} is {what}, not a file: give a file name")]
    NotAFile {
        /// The output flag.
        flag: String,
        /// The output path.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// The output's extension names another kind of file.
    #[error("{flag} {path} has the extension of a {ext} file but this writes {kind}: rename it (.{suggest}), or pass --force")]
    Extension {
        /// The output flag.
        flag: String,
        /// The output path.
        path: PathBuf,
        /// What the extension says.
        ext: &'static str,
        /// What would be written.
        kind: &'static str,
        /// An extension that fits.
        suggest: &'static str,
    },
    /// An existing file of another kind would be replaced.
    #[error("{flag} {path} already exists and holds {found}, not {kind}: choose another name, or pass --force to replace it")]
    OtherKind {
        /// The output flag.
        flag: String,
        /// The output path.
        path: PathBuf,
        /// What the existing file holds.
        found: String,
        /// What would be written.
        kind: &'static str,
    },
}

fn suggest(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Html => "html",
        FileKind::Svg => "svg",
        FileKind::Png => "png",
        FileKind::Csv => "csv",
        FileKind::Jsonl => "jsonl",
        FileKind::Json => "json",
        FileKind::Parquet => "parquet",
        FileKind::Toml => "toml",
        FileKind::Markdown => "md",
        FileKind::Sqlite => "db",
    }
}

/// The files a command must never write: each with its role ("store", "config", "input").
/// A store brings its SQLite companions (`-wal`, `-shm`) and its sweep lock along.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    files: Vec<(String, PathBuf, FileId)>,
}

impl Protected {
    /// Nothing protected yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Protects `path` (if it exists) under `role`.
    pub fn file(mut self, role: &str, path: &Path) -> Self {
        if let Some(id) = FileId::of(path) {
            self.files.push((role.to_string(), path.to_path_buf(), id));
        }
        self
    }

    /// Protects a store and the files SQLite and critlab keep beside it.
    pub fn store(mut self, path: &Path) -> Self {
        self = self.file("store", path);
        for suffix in ["-wal", "-shm", "-journal", ".lock"] {
            let companion = PathBuf::from(format!("{}{suffix}", path.display()));
            self = self.file("store", &companion);
        }
        self
    }

    /// The protected file `path` is, if any: (role, path as given).
    pub fn find(&self, path: &Path) -> Option<(&str, &Path)> {
        let id = FileId::of(path)?;
        self.files.iter().find(|f| f.2 == id).map(|f| (f.0.as_str(), f.1.as_path()))
    }
}

/// Checks an output path before anything is computed: refused when it is a protected file
/// (always, `force` or not), a directory or other non-file, a name whose extension stands for
/// another kind, or an existing file that holds another kind (the last two unless `force`).
/// A device such as `/dev/null` or `/dev/stdout` is accepted (it is written in place).
pub fn check_output(
    flag: &str,
    path: &Path,
    kind: FileKind,
    protected: &Protected,
    force: bool,
) -> Result<(), OutputError> {
    let flag_s = || flag.to_string();
    if let Some((role, other)) = protected.find(path) {
        return Err(OutputError::IsProtected {
            flag: flag_s(),
            path: path.to_path_buf(),
            role: role.to_string(),
            other: other.to_path_buf(),
        });
    }
    let meta = std::fs::metadata(path).ok();
    if let Some(m) = &meta {
        let ft = m.file_type();
        if ft.is_dir() {
            return Err(OutputError::NotAFile { flag: flag_s(), path: path.to_path_buf(), what: "a directory" });
        }
        if ft.is_socket() {
            return Err(OutputError::NotAFile { flag: flag_s(), path: path.to_path_buf(), what: "a socket" });
        }
        if !ft.is_file() {
            return Ok(()); // a device or a pipe: written in place
        }
    }
    if force {
        return Ok(());
    }
    if let Some(ext) = FileKind::from_extension(path) {
        if !kind.accepts_extension(ext) {
            return Err(OutputError::Extension {
                flag: flag_s(),
                path: path.to_path_buf(),
                ext: ext.name(),
                kind: kind.name(),
                suggest: suggest(kind),
            });
        }
    }
    if meta.is_some_and(|m| m.len() > 0) {
        let found = FileKind::sniff(path);
        let fits = match found {
            Some(f) => f == kind || (f == FileKind::Json && kind == FileKind::Jsonl),
            None => kind.is_plain_text(),
        };
        if !fits {
            let found = found.map_or("text of another kind".to_string(), |f| format!("{} data", f.name()));
            return Err(OutputError::OtherKind { flag: flag_s(), path: path.to_path_buf(), found, kind: kind.name() });
        }
    }
    Ok(())
}

/// The directory a file path lives in: its parent, or `.` for a bare file name.
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `path` atomically: `write` fills a temporary file in the same directory (so the
/// rename stays on one file system), which is flushed, synced and renamed over `path` only
/// when everything succeeded; on any error the temporary file is removed and `path` is left
/// as it was. A symlink is followed (its target is replaced, the link kept); a device or a
/// pipe (`/dev/stdout`) is written in place. Missing parent directories are created.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) => path.to_path_buf(),
    };
    if let Ok(m) = std::fs::metadata(&target) {
        if !m.file_type().is_file() && !m.file_type().is_dir() {
            let mut w = BufWriter::new(std::fs::OpenOptions::new().write(true).open(&target)?);
            write(&mut w)?;
            return w.flush();
        }
    }
    let dir = directory_of(&target).to_path_buf();
    std::fs::create_dir_all(&dir)?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.critlab-tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// [`write_atomic`] of a byte string.
pub fn write_atomic_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("critlab-files-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_store_is_refused_through_a_symlink_a_hard_link_and_its_companions() {
        let d = dir();
        let store = d.join("s.db");
        std::fs::write(&store, b"SQLite format 3\0rest").unwrap();
        std::fs::write(d.join("s.db.lock"), b"").unwrap();
        std::os::unix::fs::symlink(&store, d.join("link.html")).unwrap();
        std::fs::hard_link(&store, d.join("hard.html")).unwrap();
        let p = Protected::new().store(&store);
        for out in ["s.db", "link.html", "hard.html", "s.db.lock"] {
            let e = check_output("-o", &d.join(out), FileKind::Html, &p, true).unwrap_err();
            assert!(e.to_string().contains("same file as the store"), "{out}: {e}");
        }
        check_output("-o", &d.join("new.html"), FileKind::Html, &p, false).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn another_kind_is_refused_unless_forced() {
        let d = dir();
        let csv = d.join("t.csv");
        std::fs::write(&csv, "a,b\n1,2\n").unwrap();
        let p = Protected::new();
        let e = check_output("-o", &csv, FileKind::Html, &p, false).unwrap_err();
        assert!(e.to_string().contains("extension of a CSV file"), "{e}");
        check_output("-o", &csv, FileKind::Html, &p, true).unwrap();
        // No extension: the content decides.
        let page = d.join("page");
        std::fs::write(&page, "<!DOCTYPE html><html></html>").unwrap();
        check_output("-o", &page, FileKind::Html, &p, false).unwrap();
        let e = check_output("-o", &page, FileKind::Csv, &p, false).unwrap_err();
        assert!(e.to_string().contains("holds HTML data"), "{e}");
        let notes = d.join("notes");
        std::fs::write(&notes, "my notes").unwrap();
        assert!(check_output("-o", &notes, FileKind::Png, &p, false).is_err());
        check_output("-o", &notes, FileKind::Csv, &p, false).unwrap();
        let e = check_output("-o", &d, FileKind::Html, &p, true).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        check_output("-o", Path::new("/dev/null"), FileKind::Html, &p, false).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_debris() {
        let d = dir();
        let out = d.join("out.csv");
        std::fs::write(&out, "old\n").unwrap();
        let e = write_atomic(&out, |w| {
            w.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "the temporary file is gone");
        write_atomic_bytes(&out, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new\n");
        // Through a symlink: the target changes, the link stays.
        let link = d.join("link.csv");
        std::os::unix::fs::symlink(&out, &link).unwrap();
        write_atomic_bytes(&link, b"via link\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "via link\n");
        write_atomic_bytes(&d.join("sub/dir/x.csv"), b"x").unwrap();
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3);
        std::fs::remove_dir_all(d).unwrap();
    }
}
