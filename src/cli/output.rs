//! Writing to stdout and stderr. A closed stdout (`deep-review … | head`)
//! is not an error.

use std::io::Write;

/// Writes `text` to stdout. Returns false when stdout is closed, which the
/// caller treats as a normal end.
pub fn stdout(text: &str) -> std::io::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn error_lines(message: &str, hint: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {message}");
    if !hint.is_empty() {
        let _ = writeln!(err, "hint: {hint}");
    }
}

/// A plain line on stderr (not an error).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
