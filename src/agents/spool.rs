//! The CLI's stdout as a file rather than a pipe. Writing to a regular file
//! never waits and never fails for want of a reader, so a CLI that writes a
//! large answer and exits at once loses nothing: Claude Code's native binary
//! and Gemini CLI drop whatever a pipe could not take by then, and no pipe
//! reader is fast enough on a loaded machine (a 10 MB answer arrived as its
//! first 3 MiB). The file is unlinked as soon as it is open, so nothing of
//! it outlives the run, and a [`Follow`] reads it as it grows.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Reads what the CLI wrote so far and waits (inotify) for more; reads
/// end (`Ok(0)`) once [`Finish::finish`] said the writer is gone and all
/// was read.
pub struct Follow {
    file: File,
    inotify: Option<OwnedFd>,
    wake: OwnedFd,
    done: Arc<AtomicBool>,
    /// Bytes read since the last hole was punched.
    unpunched: u64,
    offset: u64,
    punch_every: u64,
}

/// Tells the [`Follow`] that the writer is gone.
#[derive(Clone)]
pub struct Finish {
    done: Arc<AtomicBool>,
    wake: Arc<OwnedFd>,
}

impl Finish {
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        // SAFETY: a one-byte write to a pipe we own.
        unsafe {
            libc::write(self.wake.as_raw_fd(), [1u8].as_ptr().cast(), 1);
        }
    }
}

/// Disk space already read is given back every this many bytes, so a
/// long stream needs no more room than `events.jsonl` itself.
const PUNCH_EVERY: u64 = 64 << 20;

/// Creates the spool at `path` (in the agent's private area): the file
/// the CLI's stdout is, its follower, and the way to end the following.
pub fn create(path: &Path) -> std::io::Result<(File, Follow, Finish)> {
    use std::os::unix::fs::OpenOptionsExt;
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // Read and write: hole punching needs a descriptor open for writing.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let inotify = watch(path);
    // The watch is on the inode: it outlives the name.
    std::fs::remove_file(path)?;
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    let (wake_read, wake_write) = unsafe {
        if libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1]))
    };
    let done = Arc::new(AtomicBool::new(false));
    Ok((
        writer,
        Follow {
            file: reader,
            inotify,
            wake: wake_read,
            done: done.clone(),
            unpunched: 0,
            offset: 0,
            punch_every: PUNCH_EVERY,
        },
        Finish {
            done,
            wake: Arc::new(wake_write),
        },
    ))
}

/// An inotify watch for changes of `path`, or None when inotify is not to
/// be had (the per-user limit of instances reached): then the follower
/// looks again every [`POLL_MS`].
fn watch(path: &Path) -> Option<OwnedFd> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: plain system calls; the descriptor is checked and owned at
    // once, and the path is NUL-terminated.
    unsafe {
        let fd = libc::inotify_init1(libc::IN_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let fd = OwnedFd::from_raw_fd(fd);
        (libc::inotify_add_watch(fd.as_raw_fd(), c_path.as_ptr(), libc::IN_MODIFY) >= 0)
            .then_some(fd)
    }
}

/// How often a follower without inotify looks for more.
const POLL_MS: libc::c_int = 100;

impl Follow {
    /// Blocks until the file may have grown or the writer is gone.
    fn wait(&self) -> std::io::Result<()> {
        let mut fds = [
            libc::pollfd {
                fd: self.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.inotify.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let (count, timeout) = match self.inotify {
            Some(_) => (2, -1),
            None => (1, POLL_MS),
        };
        // SAFETY: valid pollfds; without inotify, a timeout.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), count, timeout) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        // The finishing side gone without a word (its end closed: POLLHUP)
        // is as good as finished; it never spins.
        if fds[0].revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            self.done.store(true, Ordering::SeqCst);
        }
        if let Some(inotify) = &self.inotify
            && fds[1].revents & libc::POLLIN != 0
        {
            // The events only say "modified": drop them.
            let mut events = [0u8; 4096];
            // SAFETY: reading into a buffer we own.
            unsafe {
                libc::read(
                    inotify.as_raw_fd(),
                    events.as_mut_ptr().cast(),
                    events.len(),
                );
            }
        }
        Ok(())
    }

    fn punch(&mut self) {
        if self.unpunched < self.punch_every {
            return;
        }
        // SAFETY: fallocate on our descriptor; failure only keeps the space.
        unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0,
                self.offset as libc::off_t,
            );
        }
        self.unpunched = 0;
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // Whether the writer was gone before this read: then a short
            // read is the end.
            let done = self.done.load(Ordering::SeqCst);
            let n = self.file.read(buf)?;
            if n > 0 {
                self.offset += n as u64;
                self.unpunched += n as u64;
                self.punch();
                return Ok(n);
            }
            if done {
                return Ok(0);
            }
            self.wait()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// What is written is read as it comes, in order, also after a wait;
    /// the end comes only after the writer is gone and all was read, and
    /// the file has no name meanwhile.
    #[test]
    fn a_follower_reads_everything_and_ends_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let (mut writer, mut follow, finish) = create(&path).unwrap();
        assert!(!path.exists(), "unlinked at once");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 7];
            loop {
                let n = follow.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                if all.ends_with(b"first\n") {
                    tx.send(()).unwrap();
                }
            }
            all
        });
        writer.write_all(b"first\n").unwrap();
        // The reader has read it and waits for more.
        rx.recv().unwrap();
        writer
            .write_all(b"second line, longer than a read\n")
            .unwrap();
        writer.write_all(b"last").unwrap();
        drop(writer);
        finish.finish();
        assert_eq!(
            reader.join().unwrap(),
            b"first\nsecond line, longer than a read\nlast"
        );
    }

    /// What was read gives its disk space back; the finishing side gone
    /// without finishing ends the reading rather than spinning.
    #[test]
    fn read_space_is_given_back_and_a_vanished_finisher_ends_the_follow() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, mut follow, finish) = create(&dir.path().join("stdout")).unwrap();
        follow.punch_every = 1 << 20;
        // Bytes no file system compresses away.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let chunk: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for _ in 0..8 {
            writer.write_all(&chunk).unwrap();
        }
        writer.sync_all().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..8 {
            assert_eq!(follow.read(&mut buf).unwrap(), 1 << 20);
        }
        // Where the first data is now: past what was read, unless the file
        // system cannot punch holes at all (then nothing is to be checked).
        let fd = follow.file.as_raw_fd();
        // SAFETY: lseek and fallocate on a descriptor we own.
        let first_data = unsafe { libc::lseek(fd, 0, libc::SEEK_DATA) };
        let probe = std::fs::File::create(dir.path().join("probe")).unwrap();
        let punching = unsafe {
            libc::fallocate(
                probe.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0,
                1,
            )
        } == 0;
        if punching {
            assert!(
                !(0..7 << 20).contains(&first_data),
                "data still at {first_data}"
            );
        }
        drop(finish);
        assert_eq!(follow.read(&mut buf).unwrap(), 0);
    }
}
