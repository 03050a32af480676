//! A filesystem that forgets (test-only, never shipped): a FUSE filesystem whose state
//! lives in memory the way a page cache does, beside what has reached "the disk" — a
//! backing folder. `fsync` of a file makes its data durable; `fsync` of a directory
//! makes its entries (creates, renames, unlinks) durable. [`Mounted::cut`] is the power
//! going: every write and directory change not synced is dropped (the last unsynced
//! write optionally torn at a sector boundary), the backing folder holds exactly what a
//! disk would, and every further operation fails until it is mounted again.
//!
//! The same failure Jepsen's LazyFS simulates; here it drives `tests/crash/main.rs`'s
//! power-cut test. Needs `/dev/fuse` and the right to mount (root).
//!
//! The FUSE server runs in a process of its own ([`remote`]): a server in the process
//! that also uses the mount deadlocks when that process unmaps a shared mapping on it
//! (SQLite's `-shm`: the kernel writes it back through the server, holding the memory
//! map lock the server's allocator then waits for). A test binary that mounts serves
//! from a second copy of itself: it names the hook once with [`serve_here!`].

mod model;
mod remote;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

pub use model::Counts;
use model::{Fs, Meta, Node, Res};

/// Nothing is cached by the kernel: every process sees the same state at once.
const TTL: Duration = Duration::ZERO;

pub use remote::{Mounted, mount, mount_broken, serve_from_env};

/// A mounted filesystem that forgets, served by this process (see [`remote`] for why
/// a test never uses one directly).
#[derive(Debug)]
struct Local {
    fs: Arc<Mutex<Fs>>,
    session: Option<fuser::BackgroundSession>,
    backing: PathBuf,
    mountpoint: PathBuf,
}

/// Mounts the disk `backing` (a folder; everything in it counts as durable) at
/// `mountpoint`, served by this process; `broken_root`: a disk that acknowledges `fsync`
/// of the root directory and keeps nothing of it.
fn mount_here(backing: &Path, mountpoint: &Path, broken_root: bool) -> std::io::Result<Local> {
    if !Path::new("/dev/fuse").exists() {
        return Err(std::io::Error::other(
            "FUSE is unavailable here: no /dev/fuse (install fuse3, load the fuse module)",
        ));
    }
    let mut state = Fs::load(backing)?;
    state.broken_root = broken_root;
    let fs = Arc::new(Mutex::new(state));
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        MountOption::FSName("giftpos-lazyfs".into()),
        MountOption::DefaultPermissions,
    ];
    config.acl = fuser::SessionACL::All;
    let session = fuser::spawn_mount(Adapter(Arc::clone(&fs)), mountpoint, &config)?;
    Ok(Local {
        fs,
        session: Some(session),
        backing: backing.to_path_buf(),
        mountpoint: mountpoint.to_path_buf(),
    })
}

impl Local {
    /// The power goes: what was not synced is lost (`tear`: the last unsynced write
    /// reached the disk up to a sector boundary), the backing folder is left as the disk
    /// would be, and the filesystem is unmounted. Every operation on it fails from the
    /// moment of the cut.
    fn cut(mut self, tear: bool) -> std::io::Result<Counts> {
        let counts = {
            let mut fs = lock(&self.fs);
            fs.cut(tear);
            fs.save(&self.backing, false)?;
            fs.counts
        };
        self.unmount_now()?;
        Ok(counts)
    }

    /// A clean shutdown: everything written reaches the disk, then it is unmounted.
    fn unmount(mut self) -> std::io::Result<Counts> {
        let counts = {
            let fs = lock(&self.fs);
            fs.save(&self.backing, true)?;
            fs.counts
        };
        self.unmount_now()?;
        Ok(counts)
    }

    /// What the filesystem was asked so far.
    fn counts(&self) -> Counts {
        lock(&self.fs).counts
    }

    /// Detaches the mount at once (`umount -l`: a process still holding a file open
    /// keeps the dead connection, never the mountpoint) and lets the server end when
    /// the last such file is closed.
    fn unmount_now(&mut self) -> std::io::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let status = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mountpoint)
            .status()?;
        drop(session);
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "umount -l {} failed: {status}",
                self.mountpoint.display()
            )))
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.unmount_now();
    }
}

fn lock(fs: &Mutex<Fs>) -> MutexGuard<'_, Fs> {
    fs.lock().unwrap_or_else(|p| p.into_inner())
}

fn errno(e: i32) -> Errno {
    Errno::from_i32(e)
}

fn attr(ino: u64, n: &Node) -> FileAttr {
    let size = n.size();
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: n.meta.mtime,
        mtime: n.meta.mtime,
        ctime: n.meta.mtime,
        crtime: n.meta.mtime,
        kind: if n.is_dir() {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm: n.meta.perm,
        nlink: if n.is_dir() { 2 } else { 1 },
        uid: n.meta.uid,
        gid: n.meta.gid,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

/// The FUSE side: each call is one step on the model.
struct Adapter(Arc<Mutex<Fs>>);

impl Adapter {
    fn fs(&self) -> MutexGuard<'_, Fs> {
        lock(&self.0)
    }

    fn entry(&self, r: Res<u64>, reply: ReplyEntry) {
        let fs = self.fs();
        match r.and_then(|ino| fs.node(ino).map(|n| attr(ino, n))) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(errno(e)),
        }
    }
}

fn empty(r: Res<()>, reply: ReplyEmpty) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(errno(e)),
    }
}

fn meta(req: &Request, mode: u32, umask: u32) -> Meta {
    Meta {
        perm: (mode & !umask & 0o7777) as u16,
        uid: req.uid(),
        gid: req.gid(),
        mtime: SystemTime::now(),
    }
}

impl Filesystem for Adapter {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = self.fs().lookup(parent.0, name);
        self.entry(r, reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.fs().node(ino.0) {
            Ok(n) => reply.attr(&TTL, &attr(ino.0, n)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut fs = self.fs();
        let mtime = mtime.map(|t| match t {
            TimeOrNow::SpecificTime(t) => t,
            TimeOrNow::Now => SystemTime::now(),
        });
        let r = size
            .map_or(Ok(()), |s| fs.set_size(ino.0, s))
            .and_then(|()| fs.set_meta(ino.0, mode.map(|m| (m & 0o7777) as u16), uid, gid, mtime))
            .and_then(|()| fs.node(ino.0).map(|n| attr(ino.0, n)));
        match r {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self
            .fs()
            .make(parent.0, name, true, meta(req, mode, umask), true, false);
        self.entry(r, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(self.fs().remove(parent.0, name, false), reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(self.fs().remove(parent.0, name, true), reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            return reply.error(Errno::EINVAL);
        }
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        empty(
            self.fs()
                .rename(parent.0, name, newparent.0, newname, no_replace),
            reply,
        );
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut fs = self.fs();
        let r = fs.node(ino.0).map(|_| ()).and_then(|()| {
            if flags.0 & libc_o_trunc() != 0 {
                fs.set_size(ino.0, 0)
            } else {
                Ok(())
            }
        });
        match r {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.fs().read(ino.0, offset, size) {
            Ok(d) => reply.data(d),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.fs().write(ino.0, offset, data) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        empty(self.fs().sync(ino.0), reply);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let list = match self.fs().list(ino.0) {
            Ok(l) => l,
            Err(e) => return reply.error(errno(e)),
        };
        let dots = [(ino.0, true, ".".into()), (model::ROOT, true, "..".into())];
        for (i, (child, dir, name)) in dots
            .into_iter()
            .chain(list)
            .enumerate()
            .skip(offset as usize)
        {
            let kind = if dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            if reply.add(INodeNo(child), (i + 1) as u64, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        empty(self.fs().sync(ino.0), reply);
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        empty(self.fs().node(ino.0).map(|_| ()), reply);
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let exclusive = flags & libc_o_excl() != 0;
        let truncate = flags & libc_o_trunc() != 0;
        let mut fs = self.fs();
        let r = fs
            .make(
                parent.0,
                name,
                false,
                meta(req, mode, umask),
                exclusive,
                truncate,
            )
            .and_then(|ino| fs.node(ino).map(|n| attr(ino, n)));
        match r {
            Ok(a) => reply.created(&TTL, &a, Generation(0), FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        if mode != 0 {
            return reply.error(Errno::EOPNOTSUPP);
        }
        let mut fs = self.fs();
        let r = fs.node(ino.0).map(|n| n.size()).and_then(|size| {
            if offset + length > size {
                fs.set_size(ino.0, offset + length)
            } else {
                Ok(())
            }
        });
        empty(r, reply);
    }
}

/// `O_TRUNC` and `O_EXCL` on Linux (every architecture this runs on).
const fn libc_o_trunc() -> i32 {
    0o1000
}

const fn libc_o_excl() -> i32 {
    0o200
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    crate::serve_here!();

    /// A disk and a mount of it, both temporary.
    fn disk() -> (tempfile::TempDir, tempfile::TempDir, Mounted) {
        let backing = tempfile::tempdir().unwrap();
        let at = tempfile::tempdir().unwrap();
        let m = mount(backing.path(), at.path()).expect("FUSE must be available (root, /dev/fuse)");
        (backing, at, m)
    }

    #[test]
    fn written_but_not_synced_is_gone_after_a_cut() {
        let (backing, at, m) = disk();
        let mut f = std::fs::File::create(at.path().join("journal")).unwrap();
        f.write_all(b"sold").unwrap();
        std::fs::File::open(at.path()).unwrap().sync_all().unwrap();
        // The name reached the disk, the data did not.
        m.cut(false).unwrap();
        assert_eq!(std::fs::read(backing.path().join("journal")).unwrap(), b"");
        // And the mount refuses everything after the cut (it is gone).
        assert!(f.write_all(b"more").is_err());
    }

    #[test]
    fn a_synced_file_whose_folder_was_not_synced_is_gone() {
        let (backing, at, m) = disk();
        let mut f = std::fs::File::create(at.path().join("receipt.pdf")).unwrap();
        f.write_all(b"%PDF").unwrap();
        f.sync_all().unwrap();
        m.cut(false).unwrap();
        assert!(!backing.path().join("receipt.pdf").exists());
    }

    #[test]
    fn synced_data_stays_and_can_be_mounted_again() {
        let (backing, at, m) = disk();
        std::fs::create_dir(at.path().join("archive")).unwrap();
        let mut f = std::fs::File::create(at.path().join("archive/a.gz")).unwrap();
        f.write_all(b"entries").unwrap();
        f.sync_all().unwrap();
        std::fs::File::open(at.path().join("archive"))
            .unwrap()
            .sync_all()
            .unwrap();
        std::fs::File::open(at.path()).unwrap().sync_all().unwrap();
        // Written after the last sync: lost.
        f.write_all(b" and more").unwrap();
        let counts = m.cut(false).unwrap();
        assert_eq!(counts.file_syncs, 1);
        assert_eq!(counts.dir_syncs, 2);
        assert_eq!(
            std::fs::read(backing.path().join("archive/a.gz")).unwrap(),
            b"entries"
        );
        let again = mount(backing.path(), at.path()).unwrap();
        assert_eq!(
            std::fs::read(at.path().join("archive/a.gz")).unwrap(),
            b"entries"
        );
        again.unmount().unwrap();
    }

    #[test]
    fn sqlite_sees_its_own_writes_through_the_mount() {
        // Renames, truncation and re-reads: what SQLite and the archive do.
        let (backing, at, m) = disk();
        let p = at.path().join("state.json");
        std::fs::write(at.path().join("state.tmp"), b"{\"a\":1}").unwrap();
        std::fs::rename(at.path().join("state.tmp"), &p).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}");
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        m.unmount().unwrap();
        assert!(backing.path().join("state.json").exists());
    }
}
