//! Landlock through its three system calls.
//!
//! The ruleset is built in the parent (opening paths allocates), and the
//! child only calls `prctl` and `landlock_restrict_self` between fork and
//! exec, both async-signal-safe: a multi-threaded parent may not allocate
//! there.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

pub mod fs {
    pub const EXECUTE: u64 = 1 << 0;
    pub const WRITE_FILE: u64 = 1 << 1;
    pub const READ_FILE: u64 = 1 << 2;
    pub const READ_DIR: u64 = 1 << 3;
    pub const REMOVE_DIR: u64 = 1 << 4;
    pub const REMOVE_FILE: u64 = 1 << 5;
    pub const MAKE_CHAR: u64 = 1 << 6;
    pub const MAKE_DIR: u64 = 1 << 7;
    pub const MAKE_REG: u64 = 1 << 8;
    pub const MAKE_SOCK: u64 = 1 << 9;
    pub const MAKE_FIFO: u64 = 1 << 10;
    pub const MAKE_BLOCK: u64 = 1 << 11;
    pub const MAKE_SYM: u64 = 1 << 12;
    /// ABI 2: renames and links across directories.
    pub const REFER: u64 = 1 << 13;
    /// ABI 3.
    pub const TRUNCATE: u64 = 1 << 14;
    /// ABI 5: ioctl on devices opened after the restriction.
    pub const IOCTL_DEV: u64 = 1 << 15;

    /// Rights that apply to a regular file (a rule on a file may hold no
    /// other).
    pub const FILE_ONLY: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV;
}

pub mod net {
    pub const BIND_TCP: u64 = 1 << 0;
    pub const CONNECT_TCP: u64 = 1 << 1;
}

pub mod scope {
    pub const ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
    pub const SIGNAL: u64 = 1 << 1;
}

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;
const RULE_NET_PORT: libc::c_int = 2;

/// The Landlock ABI version the kernel offers, or why there is none.
pub fn abi() -> Result<u32, std::io::Error> {
    // SAFETY: the documented version query: no attribute, size 0.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(v as u32)
    }
}

/// Every filesystem right the given ABI knows.
pub fn fs_rights(abi: u32) -> u64 {
    let mut all = (1 << 13) - 1;
    if abi >= 2 {
        all |= fs::REFER;
    }
    if abi >= 3 {
        all |= fs::TRUNCATE;
    }
    if abi >= 5 {
        all |= fs::IOCTL_DEV;
    }
    all
}

/// A ruleset being filled, then enforced in a child.
#[derive(Debug)]
pub struct Ruleset {
    fd: OwnedFd,
    handled_fs: u64,
}

impl Ruleset {
    pub fn new(handled_fs: u64, handled_net: u64, scoped: u64) -> std::io::Result<Ruleset> {
        let attr = RulesetAttr {
            handled_access_fs: handled_fs,
            handled_access_net: handled_net,
            scoped,
        };
        // SAFETY: a valid attribute of the size given.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                std::mem::size_of::<RulesetAttr>(),
                0u32,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(Ruleset { fd, handled_fs })
    }

    /// Allows `access` beneath `path` (on the file itself for a file).
    /// A path that does not exist is skipped.
    pub fn allow_path(&mut self, path: &Path, access: u64) -> std::io::Result<bool> {
        let file = match std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
        let mut allowed = access & self.handled_fs;
        if !is_dir {
            allowed &= fs::FILE_ONLY;
        }
        if allowed == 0 {
            return Ok(false);
        }
        let attr = PathBeneathAttr {
            allowed_access: allowed,
            parent_fd: file.as_raw_fd(),
        };
        // The fd outlives the call.
        self.add_rule(RULE_PATH_BENEATH, &attr)?;
        Ok(true)
    }

    pub fn allow_port(&mut self, port: u16, access: u64) -> std::io::Result<()> {
        let attr = NetPortAttr {
            allowed_access: access,
            port: u64::from(port),
        };
        self.add_rule(RULE_NET_PORT, &attr)
    }

    /// `attr` must be the attribute struct of `rule_type`.
    fn add_rule<T>(&self, rule_type: libc::c_int, attr: &T) -> std::io::Result<()> {
        // SAFETY: a valid attribute for this rule type, alive for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.fd.as_raw_fd(),
                rule_type,
                attr as *const T,
                0u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The descriptor the child enforces with [`restrict_self`].
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// Enforces the ruleset on the calling process and everything it starts.
/// Called between fork and exec: system calls only, no allocation.
///
/// Capabilities go first: Landlock does not stop a process from reading
/// another's `/proc/PID/environ` (deep-review's own, with its tokens), so
/// deep-review makes itself non-dumpable ([`protect_self`]) and an agent
/// started by root keeps no `CAP_SYS_PTRACE` (nor any other capability)
/// to read it anyway.
pub fn restrict_self(ruleset_fd: i32) -> std::io::Result<()> {
    // SAFETY: plain system calls with integer arguments.
    unsafe {
        // Fails without CAP_SETPCAP (not root): then there is nothing to drop.
        for cap in 0..64 {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, ruleset_fd, 0u32) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Keeps processes of the same user (agents) from reading deep-review's
/// memory and `/proc/PID/environ`, where its GitHub token is.
pub fn protect_self() {
    // SAFETY: a plain system call with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

use std::os::unix::fs::OpenOptionsExt;
