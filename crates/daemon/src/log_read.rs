//! Reading a node's log files for `dora logs`: in chunks of whole lines, from where `--tail`
//! and `--since` say, and (`--follow`) on as the file grows, across rotations.
//!
//! Memory is bounded whatever the files hold: `--tail` reads backwards in blocks of
//! [`BLOCK`] bytes counting line breaks, `--since` reads forwards a line at a time, and
//! chunks are at most [`MAX_LOG_CHUNK`] bytes. All of it is blocking file I/O, for a
//! blocking thread.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

pub use dora_message::coordinator::MAX_LOG_CHUNK;

use crate::log_file::{parse_entry, rotated_path, MAX_LOG_LINE};

/// The block size of backward and forward reads.
const BLOCK: usize = 64 * 1024;

/// How often a followed log is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// What part of a log to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only the last this many lines.
    pub tail: Option<u64>,
    /// Only lines written at or after this time.
    pub since: Option<SystemTime>,
}

/// Why reading stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The log does not exist (the node never ran here, or its folder was removed).
    #[error("no log file {0}")]
    Missing(PathBuf),
    /// Reading failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

/// A file of the log and where to start reading it.
struct Part {
    path: PathBuf,
    file: File,
    start: u64,
}

/// Sends the log at `path` (and its rotated older file) to `send` in chunks of whole lines
/// of at most [`MAX_LOG_CHUNK`] bytes, as `options` select. With `follow`, keeps sending new
/// lines while `running()` is true (checked every [`FOLLOW_POLL`]), following the file
/// across rotations. Stops early, without error, when `send` returns false.
pub fn stream_log(
    path: &Path,
    options: ReadOptions,
    follow: bool,
    running: impl Fn() -> bool,
    mut send: impl FnMut(String) -> bool,
) -> Result<(), ReadError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| ReadError::Io { path, source }
    };
    let parts = select_parts(path, options)?;
    let mut chunker = Chunker::default();
    let mut last = None;
    for part in parts {
        let Part {
            path: part_path,
            mut file,
            start,
        } = part;
        file.seek(SeekFrom::Start(start))
            .map_err(io_err(&part_path))?;
        if !chunker
            .drain(&mut file, &mut send)
            .map_err(io_err(&part_path))?
        {
            return Ok(());
        }
        last = Some((part_path, file));
    }
    if follow {
        if let Some((part_path, file)) = last {
            follow_file(&part_path, file, &mut chunker, &running, &mut send)?;
        }
    }
    if let Some(rest) = chunker.finish() {
        send(rest);
    }
    Ok(())
}

/// Keeps reading `file` (the newest part, at its end) while the dataflow runs; when the log
/// rotated, finishes the old file and goes on with the new one.
fn follow_file(
    path: &Path,
    mut file: File,
    chunker: &mut Chunker,
    running: &impl Fn() -> bool,
    send: &mut impl FnMut(String) -> bool,
) -> Result<(), ReadError> {
    let io_err = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    loop {
        // Checked before the last read, so that lines written before the end are sent.
        let still_running = running();
        if !chunker.drain(&mut file, send).map_err(io_err)? {
            return Ok(());
        }
        let rotated = match (std::fs::metadata(path), file.metadata()) {
            (Ok(on_disk), Ok(ours)) => on_disk.ino() != ours.ino(),
            _ => false,
        };
        if rotated {
            file = File::open(path).map_err(io_err)?;
            continue;
        }
        if !still_running {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// The files to read (older first) and where in each to start.
fn select_parts(path: &Path, options: ReadOptions) -> Result<Vec<Part>, ReadError> {
    let mut parts = Vec::new();
    for part_path in [rotated_path(path), path.to_owned()] {
        match File::open(&part_path) {
            Ok(file) => parts.push(Part {
                path: part_path,
                file,
                start: 0,
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ReadError::Io {
                    path: part_path,
                    source,
                })
            }
        }
    }
    if !parts.iter().any(|p| p.path == path) {
        return Err(ReadError::Missing(path.to_owned()));
    }
    if let Some(since) = options.since {
        skip_before(&mut parts, since)?;
    }
    if let Some(tail) = options.tail {
        keep_tail(&mut parts, tail)?;
    }
    Ok(parts)
}

/// Moves the start of `parts` to the first line written at or after `since`.
fn skip_before(parts: &mut Vec<Part>, since: SystemTime) -> Result<(), ReadError> {
    while !parts.is_empty() {
        let more = parts.len() > 1;
        let part = &mut parts[0];
        let io_err = |source| ReadError::Io {
            path: part.path.clone(),
            source,
        };
        match first_line_since(&mut part.file, part.start, since).map_err(io_err)? {
            Some(offset) => {
                part.start = offset;
                return Ok(());
            }
            // Nothing recent enough in this file; an empty newest file still follows.
            None if more => {
                parts.remove(0);
            }
            None => {
                part.start = part
                    .file
                    .seek(SeekFrom::End(0))
                    .map_err(|source| ReadError::Io {
                        path: part.path.clone(),
                        source,
                    })?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The offset of the first line at or after `from` whose time is at or after `since`.
/// Lines not in the log format count as recent (they cannot be dated).
fn first_line_since(file: &mut File, from: u64, since: SystemTime) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::with_capacity(BLOCK, &mut *file);
    let mut offset = from;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        // A line longer than a piece and its prefix is not ours: its head is enough.
        let read = (&mut reader)
            .take((MAX_LOG_LINE + 64) as u64)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let recent = parse_entry(text.trim_end_matches('\n')).is_none_or(|e| e.time >= since);
        if recent {
            return Ok(Some(offset));
        }
        offset += read as u64;
    }
}

/// Moves the start of `parts` so that only the last `tail` lines remain.
fn keep_tail(parts: &mut Vec<Part>, tail: u64) -> Result<(), ReadError> {
    let mut wanted = tail;
    let mut keep_from = 0;
    for (index, part) in parts.iter_mut().enumerate().rev() {
        let (start, found) =
            tail_start(&mut part.file, part.start, wanted).map_err(|source| ReadError::Io {
                path: part.path.clone(),
                source,
            })?;
        part.start = start;
        keep_from = index;
        wanted -= found;
        if wanted == 0 {
            break;
        }
    }
    parts.drain(..keep_from);
    Ok(())
}

/// Reading backwards from the end of `file` down to `floor`: the offset where its last
/// `lines` lines start, and how many lines there are from there (fewer when the file has
/// fewer). A last line without a line break counts as a line.
fn tail_start(file: &mut File, floor: u64, lines: u64) -> io::Result<(u64, u64)> {
    let end = file.seek(SeekFrom::End(0))?;
    if lines == 0 || end <= floor {
        return Ok((end.max(floor), 0));
    }
    let mut block = vec![0u8; BLOCK];
    let mut pos = end;
    // The line break that ends the last line does not start a line.
    let mut skip_last = true;
    let mut found = 0;
    while pos > floor {
        let size = ((pos - floor) as usize).min(BLOCK);
        pos -= size as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut block[..size])?;
        for i in (0..size).rev() {
            if block[i] != b'\n' {
                continue;
            }
            if skip_last && pos + i as u64 == end - 1 {
                skip_last = false;
                continue;
            }
            found += 1;
            if found == lines {
                return Ok((pos + i as u64 + 1, found));
            }
        }
        skip_last = false;
    }
    // Every line down to the floor, the first one included.
    Ok((floor, found + 1))
}

/// Collects bytes into chunks of whole lines of at most [`MAX_LOG_CHUNK`] bytes.
#[derive(Default)]
struct Chunker {
    pending: Vec<u8>,
}

impl Chunker {
    /// Reads `file` to its current end, sending every chunk of whole lines (the last line
    /// of an unfinished write waits for the next call); false when `send` refused one.
    fn drain(
        &mut self,
        file: &mut File,
        send: &mut impl FnMut(String) -> bool,
    ) -> io::Result<bool> {
        let mut block = vec![0u8; BLOCK];
        loop {
            let read = match file.read(&mut block) {
                Ok(read) => read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            self.pending.extend_from_slice(&block[..read]);
            if read == 0 || self.pending.len() >= MAX_LOG_CHUNK - BLOCK {
                if let Some(chunk) = self.take_lines() {
                    if !send(chunk) {
                        return Ok(false);
                    }
                }
            }
            if read == 0 {
                return Ok(true);
            }
        }
    }

    /// The whole lines collected so far (or, when a single "line" is longer than a chunk,
    /// which a file of ours never has, its first chunk's worth).
    fn take_lines(&mut self) -> Option<String> {
        let cut = match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(end) => end + 1,
            None if self.pending.len() >= MAX_LOG_CHUNK - BLOCK => self.pending.len(),
            None => return None,
        };
        let rest = self.pending.split_off(cut);
        let chunk = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        Some(chunk)
    }

    /// What is left: whole lines, and a last line without its line break.
    fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        if self.pending.last() != Some(&b'\n') {
            self.pending.push(b'\n');
        }
        let chunk = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_file::{format_entry, Source};

    /// A log whose older file holds lines 0..50 and newer file lines 50..100, line `i`
    /// written at second `i`.
    fn rotated_log(dir: &Path) -> PathBuf {
        let path = dir.join("log_n.txt");
        let line = |i: u64| {
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i);
            format_entry(time, Source::Stdout, false, &format!("line {i}"))
        };
        std::fs::write(rotated_path(&path), (0..50).map(line).collect::<String>()).unwrap();
        std::fs::write(&path, (50..100).map(line).collect::<String>()).unwrap();
        path
    }

    fn read(path: &Path, options: ReadOptions) -> Vec<u64> {
        let mut text = String::new();
        stream_log(
            path,
            options,
            false,
            || false,
            |chunk| {
                text.push_str(&chunk);
                true
            },
        )
        .unwrap();
        text.lines()
            .map(|l| {
                parse_entry(l).unwrap().text["line ".len()..]
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn the_whole_log_is_both_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = rotated_log(dir.path());
        assert_eq!(
            read(&path, ReadOptions::default()),
            (0..100).collect::<Vec<_>>()
        );
    }

    #[test]
    fn tail_takes_the_last_lines_across_the_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = rotated_log(dir.path());
        let tail = |n| {
            read(
                &path,
                ReadOptions {
                    tail: Some(n),
                    since: None,
                },
            )
        };
        assert_eq!(tail(5), [95, 96, 97, 98, 99]);
        assert_eq!(tail(60), (40..100).collect::<Vec<_>>());
        assert_eq!(tail(1000), (0..100).collect::<Vec<_>>());
        assert!(tail(0).is_empty());
    }

    #[test]
    fn since_skips_older_lines_and_combines_with_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = rotated_log(dir.path());
        let at = |i: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i);
        let since = |t, tail| {
            read(
                &path,
                ReadOptions {
                    tail,
                    since: Some(t),
                },
            )
        };
        assert_eq!(since(at(97), None), [97, 98, 99]);
        assert_eq!(since(at(30), None), (30..100).collect::<Vec<_>>());
        assert!(since(at(200), None).is_empty());
        assert_eq!(since(at(30), Some(2)), [98, 99]);
        assert_eq!(since(at(98), Some(10)), [98, 99]);
    }

    #[test]
    fn chunks_are_whole_lines_of_at_most_a_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log_n.txt");
        let piece = "x".repeat(MAX_LOG_LINE);
        let text: String = (0..40)
            .map(|_| format_entry(SystemTime::now(), Source::Stdout, true, &piece))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let mut chunks = Vec::new();
        stream_log(
            &path,
            ReadOptions::default(),
            false,
            || false,
            |chunk| {
                chunks.push(chunk);
                true
            },
        )
        .unwrap();
        assert!(chunks.len() > 1);
        assert!(chunks
            .iter()
            .all(|c| c.len() <= MAX_LOG_CHUNK && c.ends_with('\n')));
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn a_missing_log_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = stream_log(
            &dir.path().join("log_x.txt"),
            ReadOptions::default(),
            false,
            || false,
            |_| true,
        )
        .unwrap_err();
        assert!(err.to_string().contains("log_x.txt"), "{err}");
    }
}
