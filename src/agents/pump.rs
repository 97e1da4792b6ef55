//! The agent's two outputs (stdout followed as a file, stderr a pipe),
//! drained at once and copied to disk as bytes arrive, secrets redacted;
//! only complete lines reach the parser.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use crate::sandbox::redact::Redactor;

/// A line longer than this is written to disk but not parsed.
pub(super) const MAX_LINE: usize = 16 * 1024 * 1024;

/// What reading an agent's stdout came to.
#[derive(Debug, Default)]
pub(super) struct Pumped {
    /// Lines over [`MAX_LINE`]: on disk, not parsed.
    pub too_long: u64,
    /// The first error writing `events.jsonl`; reading goes on regardless,
    /// so the CLI never blocks on a full pipe.
    pub write_error: Option<std::io::Error>,
}

/// Set when the supervisor stops waiting for a pipe (a process that left
/// the agent's group held it open): the reader writes nothing more.
pub(super) type Stop = std::sync::Arc<std::sync::atomic::AtomicBool>;

fn stopped(stop: &Stop) -> bool {
    stop.load(std::sync::atomic::Ordering::SeqCst)
}

/// Lines read but not yet parsed, in bytes: the reader keeps the pipe
/// empty through a burst, yet memory stays bounded when the parser falls
/// behind for long (then the reader waits, and the CLI with it).
#[derive(Default)]
pub(super) struct Backlog {
    bytes: std::sync::Mutex<usize>,
    room: std::sync::Condvar,
}

impl Backlog {
    /// At most this much waits for the parser.
    const LIMIT: usize = 16 * 1024 * 1024;

    /// Blocks until `n` more bytes fit (a longer line fits when none waits).
    pub(super) fn take(&self, n: usize) {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        while *bytes > 0 && *bytes + n > Self::LIMIT {
            bytes = self.room.wait(bytes).unwrap_or_else(|e| e.into_inner());
        }
        *bytes += n;
    }

    pub(super) fn give(&self, n: usize) {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        *bytes = bytes.saturating_sub(n);
        self.room.notify_all();
    }
}

/// How much one read takes: the CLI's stdout is a file it writes without
/// waiting (see `spool`), read on a thread of its own as fast as it grows,
/// never waiting for the disk or the async runtime.
const READ: usize = 1024 * 1024;

/// Copies `reader` to `file` as bytes arrive, line by line, secrets
/// redacted, and hands each complete line (up to [`MAX_LINE`]) to
/// `on_line`. A longer line is written in pieces as it comes and not
/// parsed. Blocking: run it on a thread of its own.
pub(super) fn pump_lines(
    mut reader: impl Read,
    file: std::fs::File,
    redactor: Redactor,
    stop: Stop,
    mut on_line: impl FnMut(&str),
) -> Pumped {
    let mut pumped = Pumped::default();
    let mut out = BufWriter::with_capacity(READ, file);
    let mut write = |bytes: &[u8], pumped: &mut Pumped| {
        if pumped.write_error.is_none()
            && let Err(e) = out.write_all(bytes)
        {
            pumped.write_error = Some(e);
        }
    };
    let mut buf = vec![0u8; READ];
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if stopped(&stop) {
            return pumped;
        }
        let mut rest = &buf[..n];
        while let Some(pos) = memchr::memchr(b'\n', rest) {
            line.extend_from_slice(&rest[..=pos]);
            overflow |= line.len() > MAX_LINE + 1;
            let clean = redactor.redact(&line);
            write(&clean, &mut pumped);
            if overflow {
                pumped.too_long += 1;
                on_line("<line too long to parse>");
            } else {
                on_line(&String::from_utf8_lossy(&clean[..clean.len() - 1]));
            }
            line.clear();
            overflow = false;
            rest = &rest[pos + 1..];
        }
        line.extend_from_slice(rest);
        if line.len() > MAX_LINE {
            overflow = true;
            let clean = redactor.redact(&line);
            write(&clean, &mut pumped);
            line.clear();
        }
    }
    if !line.is_empty() || overflow {
        let clean = redactor.redact(&line);
        write(&clean, &mut pumped);
        if overflow {
            pumped.too_long += 1;
        } else {
            on_line(&String::from_utf8_lossy(&clean));
        }
    }
    if let Err(e) = out.flush() {
        pumped.write_error.get_or_insert(e);
    }
    pumped
}

/// Copies `reader` to `file` line by line, secrets redacted, returning
/// the last few KiB for messages and the write error, if writing failed
/// (reading on, so the CLI never blocks on a full pipe). Blocking.
pub(super) fn pump_tail(
    reader: impl Read,
    file: std::fs::File,
    redactor: Redactor,
    stop: Stop,
) -> (String, Option<std::io::Error>) {
    let mut write_error = None;
    const TAIL: usize = 8 * 1024;
    let mut out = BufWriter::new(file);
    let mut reader = BufReader::with_capacity(READ, reader);
    let mut tail: Vec<u8> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        // Bounded like the event stream: a stderr line without newlines is
        // written in pieces.
        let n = match (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stopped(&stop) {
            break;
        }
        let clean = redactor.redact(&line[..n]);
        if write_error.is_none()
            && let Err(e) = out.write_all(&clean)
        {
            write_error = Some(e);
        }
        tail.extend_from_slice(&clean);
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    (String::from_utf8_lossy(&tail).into_owned(), write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_holds_the_reader_until_the_parser_catches_up() {
        let backlog = std::sync::Arc::new(Backlog::default());
        backlog.take(Backlog::LIMIT - 10);
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = {
            let backlog = backlog.clone();
            std::thread::spawn(move || {
                backlog.take(20);
                tx.send(()).unwrap();
            })
        };
        // Handshake, no sleep: the reader cannot pass while the backlog is
        // full, so nothing has arrived until room is given.
        assert!(rx.try_recv().is_err());
        backlog.give(Backlog::LIMIT - 10);
        rx.recv().unwrap();
        reader.join().unwrap();
        assert_eq!(*backlog.bytes.lock().unwrap(), 20);
        // A line longer than the limit passes when nothing waits.
        backlog.give(20);
        backlog.take(Backlog::LIMIT * 2);
    }

    /// A full disk loses no line to the parser and is reported, not hidden.
    #[test]
    fn a_write_error_is_kept_and_reading_goes_on() {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let input: &[u8] = b"{\"a\":1}\n{\"b\":2}\nlast";
        let mut lines = Vec::new();
        let pumped = pump_lines(input, full, Redactor::default(), Stop::default(), |l| {
            lines.push(l.to_string())
        });
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}", "last"]);
        assert_eq!(
            pumped.write_error.map(|e| e.raw_os_error()),
            Some(Some(libc::ENOSPC))
        );
    }

    #[test]
    fn an_over_long_line_is_counted_and_kept_on_disk() {
        // Past the cap by less than one read (seen at the newline), and by
        // more (seen mid-line).
        for past in [200_000, 3 * READ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("events.jsonl");
            let file = std::fs::File::create(&path).unwrap();
            let mut input = b"{\"ok\":1}\n".to_vec();
            input.extend(std::iter::repeat_n(b'x', MAX_LINE + past));
            input.extend_from_slice(b"\n{\"after\":2}\n");
            let mut lines = Vec::new();
            let pumped = pump_lines(
                &input[..],
                file,
                Redactor::default(),
                Stop::default(),
                |l| lines.push(l.chars().take(30).collect::<String>()),
            );
            assert_eq!(pumped.too_long, 1, "{past}");
            assert!(pumped.write_error.is_none());
            assert_eq!(
                lines,
                ["{\"ok\":1}", "<line too long to parse>", "{\"after\":2}"]
            );
            assert_eq!(std::fs::metadata(&path).unwrap().len(), input.len() as u64);
        }
    }
}
