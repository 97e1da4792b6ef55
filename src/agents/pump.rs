//! The agent's two pipes, drained at once and copied to disk as bytes
//! arrive, secrets redacted; only complete lines reach the parser.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

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

/// Copies `reader` to `file` line by line as bytes arrive, secrets
/// redacted, and hands each complete line (up to [`MAX_LINE`]) to
/// `on_line`. A longer line is written in pieces as it comes and not
/// parsed.
pub(super) async fn pump_lines(
    reader: impl AsyncRead + Unpin,
    mut file: tokio::fs::File,
    redactor: Redactor,
    mut on_line: impl FnMut(&str),
) -> Pumped {
    let mut pumped = Pumped::default();
    let write = async |file: &mut tokio::fs::File, bytes: &[u8], pumped: &mut Pumped| {
        if pumped.write_error.is_none()
            && let Err(e) = file.write_all(bytes).await
        {
            pumped.write_error = Some(e);
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&rest[..=pos]);
            let clean = redactor.redact(&line);
            write(&mut file, &clean, &mut pumped).await;
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
            write(&mut file, &clean, &mut pumped).await;
            line.clear();
        }
        let n = chunk.len();
        reader.consume(n);
    }
    if !line.is_empty() || overflow {
        let clean = redactor.redact(&line);
        write(&mut file, &clean, &mut pumped).await;
        if overflow {
            pumped.too_long += 1;
        } else {
            on_line(&String::from_utf8_lossy(&clean));
        }
    }
    if let Err(e) = file.flush().await {
        pumped.write_error.get_or_insert(e);
    }
    pumped
}

/// Copies `reader` to `file` line by line, secrets redacted, returning
/// the last few KiB for messages and the write error, if writing failed
/// (reading on, so the CLI never blocks on a full pipe).
pub(super) async fn pump_tail(
    reader: impl AsyncRead + Unpin,
    mut file: tokio::fs::File,
    redactor: Redactor,
) -> (String, Option<std::io::Error>) {
    let mut write_error = None;
    const TAIL: usize = 8 * 1024;
    let mut reader = BufReader::new(reader);
    let mut tail: Vec<u8> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        // Bounded like the event stream: a stderr line without newlines is
        // written in pieces.
        let n = match (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let clean = redactor.redact(&line[..n]);
        if write_error.is_none()
            && let Err(e) = file.write_all(&clean).await
        {
            write_error = Some(e);
        }
        tail.extend_from_slice(&clean);
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    if let Err(e) = file.flush().await {
        write_error.get_or_insert(e);
    }
    (String::from_utf8_lossy(&tail).into_owned(), write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk loses no line to the parser and is reported, not hidden.
    #[tokio::test]
    async fn a_write_error_is_kept_and_reading_goes_on() {
        let full = tokio::fs::File::options()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        let input: &[u8] = b"{\"a\":1}\n{\"b\":2}\nlast";
        let mut lines = Vec::new();
        let pumped = pump_lines(input, full, Redactor::default(), |l| {
            lines.push(l.to_string())
        })
        .await;
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}", "last"]);
        assert_eq!(
            pumped.write_error.map(|e| e.raw_os_error()),
            Some(Some(libc::ENOSPC))
        );
    }

    #[tokio::test]
    async fn an_over_long_line_is_counted_and_kept_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let file = tokio::fs::File::create(&path).await.unwrap();
        let mut input = b"{\"ok\":1}\n".to_vec();
        // Past the cap by more than one read, so the cap is seen mid-line.
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 200_000));
        input.extend_from_slice(b"\n{\"after\":2}\n");
        let mut lines = Vec::new();
        let pumped = pump_lines(&input[..], file, Redactor::default(), |l| {
            lines.push(l.chars().take(30).collect::<String>())
        })
        .await;
        assert_eq!(pumped.too_long, 1);
        assert!(pumped.write_error.is_none());
        assert_eq!(
            lines,
            ["{\"ok\":1}", "<line too long to parse>", "{\"after\":2}"]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), input.len() as u64);
    }
}
