//! A node's log on disk: its format, and the writer that keeps it size-capped.
//!
//! # Format
//!
//! `out/<uuid>/log_<node>.txt` beside the dataflow file holds one line per piece of output:
//!
//! ```text
//! 2026-12-04T19:00:00.123456Z stdout hello
//! 2026-12-04T19:00:00.123502Z stderr+ the first 64 KiB of a longer line…
//! 2026-12-04T19:00:00.123502Z stderr …and its end
//! 2026-12-04T19:00:01.000017Z dora dropped 3 message(s) on input `tick`: …
//! ```
//!
//! that is `<time> <source>[+] <text>`: the time the daemon read the piece (RFC 3339, UTC,
//! microseconds), where it came from (`stdout`, `stderr`, or `dora` for what dora says about
//! the node), a `+` when the node's line goes on in the next piece (it was longer than
//! [`MAX_LOG_LINE`] bytes), a space, and the text without its line break. Lines are in time
//! order, which is what `dora logs --since` relies on.
//!
//! # Size
//!
//! A log file holds at most [`LOG_FILE_CAP`] bytes (32 MiB). When the next line would pass
//! that, the file is renamed `log_<node>.txt.1` (replacing an older one) and a new
//! `log_<node>.txt` is started, so a node's log takes at most 64 MiB and the newest lines
//! are always kept.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    time::SystemTime,
};

pub use dora_message::coordinator::MAX_LOG_LINE;

/// The largest log file (32 MiB); one older file of the same size is kept beside it.
pub const LOG_FILE_CAP: u64 = 32 * 1024 * 1024;

/// Where a line of a node's log came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The node's standard output.
    Stdout,
    /// The node's standard error.
    Stderr,
    /// dora, about the node (killed, dropped messages, ...).
    Dora,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Stdout => "stdout",
            Source::Stderr => "stderr",
            Source::Dora => "dora",
        }
    }
}

/// One parsed line of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// When the daemon read it.
    pub time: SystemTime,
    /// Where it came from.
    pub source: Source,
    /// The node's line goes on in the next entry.
    pub continued: bool,
    /// The text, without its line break.
    pub text: &'a str,
}

/// One line of the log format (with its line break).
pub fn format_entry(time: SystemTime, source: Source, continued: bool, text: &str) -> String {
    let mut line = String::with_capacity(text.len() + 40);
    line.push_str(&humantime::format_rfc3339_micros(time).to_string());
    line.push(' ');
    line.push_str(source.as_str());
    if continued {
        line.push('+');
    }
    line.push(' ');
    line.push_str(text);
    line.push('\n');
    line
}

/// Parses one line of a log file (without its line break); `None` when it is not in the
/// format (a file written by something else, or a line cut by a crash).
pub fn parse_entry(line: &str) -> Option<Entry<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let time = humantime::parse_rfc3339(time).ok()?;
    let (source, text) = rest.split_once(' ')?;
    let (source, continued) = match source.strip_suffix('+') {
        Some(source) => (source, true),
        None => (source, false),
    };
    let source = match source {
        "stdout" => Source::Stdout,
        "stderr" => Source::Stderr,
        "dora" => Source::Dora,
        _ => return None,
    };
    Some(Entry {
        time,
        source,
        continued,
        text,
    })
}

/// The older file of a log: `log_<node>.txt.1`.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// Writes a node's log file, rotating it at its cap.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    len: u64,
    cap: u64,
}

impl LogWriter {
    /// Creates (or truncates) the log file at `path`, capped at [`LOG_FILE_CAP`].
    pub fn create(path: &Path) -> io::Result<Self> {
        Self::with_cap(path, LOG_FILE_CAP)
    }

    /// [`LogWriter::create`] with another cap (tests).
    pub fn with_cap(path: &Path, cap: u64) -> io::Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            file: File::create(path)?,
            len: 0,
            cap,
        })
    }

    /// Appends one entry stamped with the current time, first rotating the file when the
    /// entry would take it past its cap.
    pub fn write(&mut self, source: Source, continued: bool, text: &str) -> io::Result<()> {
        let line = format_entry(SystemTime::now(), source, continued, text);
        if self.len > 0 && self.len + line.len() as u64 > self.cap {
            self.rotate()?;
        }
        // One write per line, so that a reader following the file sees whole lines.
        self.file.write_all(line.as_bytes())?;
        self.len += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        std::fs::rename(&self.path, rotated_path(&self.path))?;
        self.file = File::create(&self.path)?;
        self.len = 0;
        Ok(())
    }
}

/// Cuts a node's output into pieces of at most `cap` bytes: whole lines, and the pieces of
/// lines longer than `cap` (cut at a character boundary when the text is UTF-8). It never
/// holds more than `cap` bytes.
#[derive(Debug)]
pub struct LineSplitter {
    piece: Vec<u8>,
    cap: usize,
}

/// A piece of output: its text, and whether the line goes on in the next piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text, without its line break (invalid UTF-8 replaced).
    pub text: String,
    /// The line goes on in the next piece.
    pub continued: bool,
}

impl LineSplitter {
    /// A splitter into pieces of at most `cap` bytes (at least 4, so that every character
    /// fits).
    pub fn new(cap: usize) -> Self {
        Self {
            piece: Vec::new(),
            cap: cap.max(4),
        }
    }

    /// Takes bytes from the front of `available`; returns how many it took and the piece
    /// completed by them, if any. Call again with the rest until everything was taken.
    pub fn feed(&mut self, available: &[u8]) -> (usize, Option<Piece>) {
        let room = self.cap - self.piece.len();
        let window = &available[..available.len().min(room + 1)];
        if let Some(end) = window.iter().position(|&b| b == b'\n') {
            if end <= room {
                self.piece.extend_from_slice(&available[..end]);
                return (end + 1, Some(self.take(false)));
            }
        }
        let taken = available.len().min(room);
        self.piece.extend_from_slice(&available[..taken]);
        // A full piece is cut only once the next byte is known not to end the line.
        if self.piece.len() < self.cap || taken == available.len() {
            return (taken, None);
        }
        // Full without a line break: cut, keeping an unfinished character for the next piece.
        let cut = match std::str::from_utf8(&self.piece) {
            Err(err) if err.error_len().is_none() && err.valid_up_to() > 0 => err.valid_up_to(),
            _ => self.piece.len(),
        };
        let rest = self.piece.split_off(cut);
        let piece = self.take(true);
        self.piece = rest;
        (taken, Some(piece))
    }

    /// The last piece, when the output ended without a line break.
    pub fn finish(&mut self) -> Option<Piece> {
        (!self.piece.is_empty()).then(|| self.take(false))
    }

    fn take(&mut self, continued: bool) -> Piece {
        let mut text = String::from_utf8_lossy(&self.piece).into_owned();
        self.piece.clear();
        if !continued && text.ends_with('\r') {
            text.pop();
        }
        Piece { text, continued }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn split(cap: usize, input: &[u8], step: usize) -> Vec<Piece> {
        let mut splitter = LineSplitter::new(cap);
        let mut pieces = Vec::new();
        for chunk in input.chunks(step) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let (taken, piece) = splitter.feed(rest);
                rest = &rest[taken..];
                pieces.extend(piece);
            }
        }
        pieces.extend(splitter.finish());
        pieces
    }

    fn piece(text: &str, continued: bool) -> Piece {
        Piece {
            text: text.into(),
            continued,
        }
    }

    #[test]
    fn lines_up_to_the_cap_stay_whole() {
        for step in [1, 3, 100] {
            assert_eq!(
                split(4, b"ab\nabcd\n\nx\r\nend", step),
                [
                    piece("ab", false),
                    piece("abcd", false),
                    piece("", false),
                    piece("x", false),
                    piece("end", false)
                ]
            );
        }
    }

    #[test]
    fn a_long_line_is_split_into_continued_pieces() {
        for step in [1, 5, 100] {
            assert_eq!(
                split(4, b"abcdefghij\nk\n", step),
                [
                    piece("abcd", true),
                    piece("efgh", true),
                    piece("ij", false),
                    piece("k", false)
                ]
            );
        }
        // Exactly the cap, then its line break: no empty continuation.
        assert_eq!(
            split(4, b"abcdefgh\n", 100),
            [piece("abcd", true), piece("efgh", false)]
        );
    }

    #[test]
    fn pieces_never_cut_a_character() {
        let text = "aé€😀bc\n";
        let pieces = split(4, text.as_bytes(), 2);
        assert!(
            pieces.iter().all(|p| !p.text.contains('\u{fffd}')),
            "{pieces:?}"
        );
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, "aé€😀bc");
        assert!(pieces.iter().all(|p| p.text.len() <= 4));
    }

    #[test]
    fn entries_round_trip() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        for (source, continued, text) in [
            (Source::Stdout, false, "hello world"),
            (Source::Stderr, true, " leading space "),
            (Source::Dora, false, ""),
        ] {
            let line = format_entry(time, source, continued, text);
            let entry = parse_entry(line.trim_end_matches('\n')).expect("parses");
            assert_eq!(
                entry,
                Entry {
                    time,
                    source,
                    continued,
                    text
                }
            );
        }
        assert_eq!(parse_entry("not a log line"), None);
    }

    #[test]
    fn the_file_rotates_at_its_cap_keeping_one_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log_n.txt");
        let mut writer = LogWriter::with_cap(&path, 200).unwrap();
        for i in 0..20 {
            writer
                .write(Source::Stdout, false, &format!("line {i}"))
                .unwrap();
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let older = std::fs::read_to_string(rotated_path(&path)).unwrap();
        assert!(current.len() <= 200 && older.len() <= 200);
        assert!(current.ends_with("line 19\n"), "{current}");
        let first_current = parse_entry(current.lines().next().unwrap()).unwrap();
        let last_older = parse_entry(older.lines().last().unwrap()).unwrap();
        let n = |e: &Entry| e.text["line ".len()..].parse::<u32>().unwrap();
        assert_eq!(n(&last_older) + 1, n(&first_current));
    }
}
