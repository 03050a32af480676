//! The FUSE server in a process of its own, driven over its standard input and output.
//!
//! Why: a server in the process that also uses the mount can deadlock. Unmapping a shared
//! mapping on the mount (SQLite's `-shm`, at every close) makes the kernel write its
//! pages back through the server while holding the process's memory-map lock; if the
//! server's allocator needs that lock at that moment (`mprotect` to grow an arena), both
//! wait for ever. So [`mount`] starts a second copy of the running executable, which
//! serves the mount and nothing else (the test binary names the hook with
//! [`serve_here!`](crate::serve_here); a benchmark's `main` calls [`serve_from_env`]).
//!
//! The protocol, one line each way: `cut 0|1`, `unmount` or `counts` in; `lazyfs: ready`,
//! `lazyfs: counts W F D` (writes, file syncs, directory syncs) out. Other output of the
//! server's process (the test harness's) is skipped. When the parent goes (its end of
//! the pipe closes), the server unmounts and exits.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::{Counts, mount_here};

/// The environment variable that makes a copy of a test binary serve a mount:
/// `backing`, `mountpoint` and `broken` (`0` or `1`), a line each.
const SERVE: &str = "GIFTPOS_LAZYFS_SERVE";
/// What the server's answers start with.
const PREFIX: &str = "lazyfs: ";

/// Names the hook a test binary serves mounts from: a `#[test]` that does nothing unless
/// this binary was started by [`mount`] to serve one. Put it once at the binary's root.
#[macro_export]
macro_rules! serve_here {
    () => {
        /// Not a test: the hook `giftpos_lazyfs::mount` starts a copy of this binary
        /// through, to serve a mount from a process of its own.
        #[test]
        fn lazyfs_serve() {
            $crate::serve_from_env();
        }
    };
}

/// A mounted filesystem that forgets, served by a process of its own.
#[derive(Debug)]
pub struct Mounted {
    server: Mutex<Server>,
    mountpoint: PathBuf,
}

#[derive(Debug)]
struct Server {
    child: Child,
    /// Closed (taken) to tell the server to end.
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
}

/// Mounts the disk `backing` (a folder; everything in it counts as durable) at
/// `mountpoint`.
pub fn mount(backing: &Path, mountpoint: &Path) -> std::io::Result<Mounted> {
    spawn(backing, mountpoint, false)
}

/// Like [`mount`], on a broken disk that acknowledges `fsync` of the root directory and
/// keeps nothing of it: a folder the terminal creates at the root is lost at every cut
/// as if it skipped that one fsync. For proving a power-cut test can fail.
pub fn mount_broken(backing: &Path, mountpoint: &Path) -> std::io::Result<Mounted> {
    spawn(backing, mountpoint, true)
}

fn spawn(backing: &Path, mountpoint: &Path, broken: bool) -> std::io::Result<Mounted> {
    if !Path::new("/dev/fuse").exists() {
        return Err(std::io::Error::other(
            "FUSE is unavailable here: no /dev/fuse (install fuse3, load the fuse module)",
        ));
    }
    let spec = format!(
        "{}\n{}\n{}",
        backing.display(),
        mountpoint.display(),
        u8::from(broken)
    );
    let mut child = Command::new(std::env::current_exe()?)
        // A test binary runs its hook alone; a benchmark's `main` serves before it
        // looks at its arguments.
        .args(["lazyfs_serve", "--nocapture", "--test-threads=1"])
        .env(SERVE, spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let (Some(to), Some(from)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(std::io::Error::other("the server's pipes were not made"));
    };
    let mut server = Server {
        child,
        to: Some(to),
        from: BufReader::new(from),
    };
    let ready = server.answer().map_err(|e| {
        std::io::Error::other(format!(
            "the lazyfs server did not mount {}: {e} (does this binary name \
             giftpos_lazyfs::serve_here!()? a benchmark: serve_from_env() first in main)",
            mountpoint.display()
        ))
    })?;
    if ready != "ready" {
        return Err(std::io::Error::other(format!(
            "the lazyfs server said {ready:?}"
        )));
    }
    Ok(Mounted {
        server: Mutex::new(server),
        mountpoint: mountpoint.to_path_buf(),
    })
}

impl Server {
    /// The server's next line of ours (its process's other output skipped).
    fn answer(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.from.read_line(&mut line)? == 0 {
                let status = self.child.wait()?;
                return Err(std::io::Error::other(format!(
                    "the server ended ({status})"
                )));
            }
            // The harness may have begun the line ("test lazyfs_serve ... ").
            if let Some(at) = line.find(PREFIX) {
                return Ok(line[at + PREFIX.len()..].trim_end().to_string());
            }
        }
    }

    fn ask(&mut self, what: &str) -> std::io::Result<Counts> {
        let to = self
            .to
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the lazyfs server was told to end"))?;
        writeln!(to, "{what}")?;
        to.flush()?;
        let said = self.answer()?;
        let n: Vec<u64> = said
            .strip_prefix("counts ")
            .map(|c| c.split(' ').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default();
        match n[..] {
            [writes, file_syncs, dir_syncs] => Ok(Counts {
                writes,
                file_syncs,
                dir_syncs,
            }),
            _ => Err(std::io::Error::other(format!(
                "the lazyfs server said {said:?} to {what:?}"
            ))),
        }
    }

    /// Asks for the last time, then waits for the server to end.
    fn last(mut self, what: &str) -> std::io::Result<Counts> {
        let counts = self.ask(what)?;
        self.to = None;
        self.child.wait()?;
        Ok(counts)
    }
}

impl Mounted {
    /// The power goes: what was not synced is lost (`tear`: the last unsynced write
    /// reached the disk up to a sector boundary), the backing folder is left as the disk
    /// would be, and the filesystem is unmounted. Every operation on it fails from the
    /// moment of the cut.
    pub fn cut(self, tear: bool) -> std::io::Result<Counts> {
        self.into_server()
            .last(if tear { "cut 1" } else { "cut 0" })
    }

    /// A clean shutdown: everything written reaches the disk, then it is unmounted.
    pub fn unmount(self) -> std::io::Result<Counts> {
        self.into_server().last("unmount")
    }

    /// What the filesystem was asked so far.
    pub fn counts(&self) -> Counts {
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        server
            .ask("counts")
            .unwrap_or_else(|e| panic!("lazyfs counts: {e}"))
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    fn into_server(self) -> Server {
        self.server.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves the mount this process was started for, then exits; returns at once in any
/// other process. A test binary calls it through [`serve_here!`](crate::serve_here), a
/// benchmark first thing in `main`.
pub fn serve_from_env() {
    let Some(spec) = std::env::var_os(SERVE) else {
        return;
    };
    let spec = spec.to_string_lossy().into_owned();
    let code = match serve(&spec) {
        Ok(()) => 0,
        Err(e) => {
            println!("{PREFIX}failed {e}");
            1
        }
    };
    std::process::exit(code);
}

fn serve(spec: &str) -> std::io::Result<()> {
    let parts: Vec<&str> = spec.split('\n').collect();
    let [backing, mountpoint, broken] = parts[..] else {
        return Err(std::io::Error::other(format!("{SERVE}: {spec:?}")));
    };
    let fs = mount_here(Path::new(backing), Path::new(mountpoint), broken == "1")?;
    say("ready")?;
    let counts = |c: Counts| format!("counts {} {} {}", c.writes, c.file_syncs, c.dir_syncs);
    let mut line = String::new();
    let stdin = std::io::stdin();
    loop {
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            // The test is gone: leave the disk as a clean shutdown would.
            fs.unmount()?;
            return Ok(());
        }
        match line.trim() {
            "counts" => say(&counts(fs.counts()))?,
            "cut 0" | "cut 1" => {
                let c = fs.cut(line.trim() == "cut 1")?;
                return say(&counts(c));
            }
            "unmount" => {
                let c = fs.unmount()?;
                return say(&counts(c));
            }
            other => say(&format!("unknown {other:?}"))?,
        }
    }
}

fn say(what: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{PREFIX}{what}")?;
    out.flush()
}

impl Drop for Server {
    fn drop(&mut self) {
        // The server unmounts when its input closes; wait for it, so the mountpoint is
        // free when the caller goes on.
        self.to = None;
        let _ = self.child.wait();
    }
}
