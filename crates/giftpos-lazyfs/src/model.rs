//! The filesystem's state, without FUSE: what every process sees (the page cache) and,
//! beside it, what has reached the disk. `fsync` on a file makes its data durable,
//! `fsync` on a directory makes its entries (creates, renames, unlinks) durable; a cut
//! keeps only the durable half.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// Inode number of the root directory.
pub const ROOT: u64 = 1;
/// The size a disk writes atomically: a torn write ends on such a boundary.
pub const SECTOR: u64 = 512;

/// An error as an errno value.
pub type Res<T> = Result<T, i32>;

#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub mtime: SystemTime,
}

#[derive(Debug)]
pub enum Body {
    File {
        /// What readers see.
        data: Vec<u8>,
        /// What is on the disk.
        durable: Vec<u8>,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        durable: BTreeMap<OsString, u64>,
    },
}

#[derive(Debug)]
pub struct Node {
    pub meta: Meta,
    pub body: Body,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }

    pub fn size(&self) -> u64 {
        match &self.body {
            Body::File { data, .. } => data.len() as u64,
            Body::Dir { entries, .. } => entries.len() as u64,
        }
    }
}

/// The last write not yet synced, for tearing it at a cut.
#[derive(Debug, Clone)]
struct Unsynced {
    ino: u64,
    offset: u64,
    data: Vec<u8>,
}

/// Counts of what the filesystem was asked, for tests and reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub writes: u64,
    pub file_syncs: u64,
    pub dir_syncs: u64,
}

#[derive(Debug)]
pub struct Fs {
    nodes: HashMap<u64, Node>,
    next: u64,
    /// After a cut every operation fails (EIO) until the filesystem is mounted again.
    pub dead: bool,
    last: Option<Unsynced>,
    pub counts: Counts,
    /// Ignores `fsync` of the root directory (see `mount_broken`).
    pub broken_root: bool,
}

fn now() -> SystemTime {
    SystemTime::now()
}

impl Fs {
    /// An empty filesystem whose root belongs to `uid`:`gid`.
    pub fn new(uid: u32, gid: u32) -> Fs {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node {
                meta: Meta {
                    perm: 0o755,
                    uid,
                    gid,
                    mtime: now(),
                },
                body: Body::Dir {
                    entries: BTreeMap::new(),
                    durable: BTreeMap::new(),
                },
            },
        );
        Fs {
            nodes,
            next: ROOT + 1,
            dead: false,
            last: None,
            counts: Counts::default(),
            broken_root: false,
        }
    }

    /// The disk as a folder left it: everything in it is durable.
    pub fn load(backing: &Path) -> io::Result<Fs> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(backing)?;
        let mut fs = Fs::new(m.uid(), m.gid());
        fs.node_mut(ROOT)
            .map_err(io::Error::from_raw_os_error)?
            .meta
            .perm = (m.mode() & 0o7777) as u16;
        fs.load_dir(backing, ROOT)?;
        Ok(fs)
    }

    fn load_dir(&mut self, dir: &Path, ino: u64) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let m = std::fs::symlink_metadata(e.path())?;
            let meta = Meta {
                perm: (m.mode() & 0o7777) as u16,
                uid: m.uid(),
                gid: m.gid(),
                mtime: m.modified().unwrap_or_else(|_| now()),
            };
            let body = if m.is_dir() {
                Body::Dir {
                    entries: BTreeMap::new(),
                    durable: BTreeMap::new(),
                }
            } else if m.is_file() {
                let data = std::fs::read(e.path())?;
                Body::File {
                    durable: data.clone(),
                    data,
                }
            } else {
                continue;
            };
            let child = self.alloc(Node { meta, body });
            if let Ok(Body::Dir {
                entries, durable, ..
            }) = self.node_mut(ino).map(|n| &mut n.body)
            {
                entries.insert(e.file_name(), child);
                durable.insert(e.file_name(), child);
            }
            if m.is_dir() {
                self.load_dir(&e.path(), child)?;
            }
        }
        Ok(())
    }

    /// Writes what is durable (or, with `live`, what every process sees: a clean
    /// shutdown) into `backing`, which is emptied first.
    pub fn save(&self, backing: &Path, live: bool) -> io::Result<()> {
        for e in std::fs::read_dir(backing)? {
            let p = e?.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p)?;
            } else {
                std::fs::remove_file(&p)?;
            }
        }
        self.save_dir(ROOT, backing, live)
    }

    fn save_dir(&self, ino: u64, to: &Path, live: bool) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let Some(Node {
            body: Body::Dir { entries, durable },
            ..
        }) = self.nodes.get(&ino)
        else {
            return Ok(());
        };
        for (name, child) in if live { entries } else { durable } {
            let Some(node) = self.nodes.get(child) else {
                continue;
            };
            let path = to.join(name);
            match &node.body {
                Body::Dir { .. } => {
                    std::fs::create_dir(&path)?;
                    self.save_dir(*child, &path, live)?;
                }
                Body::File { data, durable } => {
                    std::fs::write(&path, if live { data } else { durable })?;
                }
            }
            std::fs::set_permissions(
                &path,
                std::fs::Permissions::from_mode(node.meta.perm.into()),
            )?;
            std::os::unix::fs::chown(&path, Some(node.meta.uid), Some(node.meta.gid))?;
        }
        Ok(())
    }

    fn alive(&self) -> Res<()> {
        if self.dead { Err(EIO) } else { Ok(()) }
    }

    fn alloc(&mut self, node: Node) -> u64 {
        let ino = self.next;
        self.next += 1;
        self.nodes.insert(ino, node);
        ino
    }

    pub fn node(&self, ino: u64) -> Res<&Node> {
        self.alive()?;
        self.nodes.get(&ino).ok_or(ENOENT)
    }

    fn node_mut(&mut self, ino: u64) -> Res<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(ENOENT)
    }

    fn entries(&self, ino: u64) -> Res<&BTreeMap<OsString, u64>> {
        match &self.node(ino)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(ENOTDIR),
        }
    }

    fn entries_mut(&mut self, ino: u64) -> Res<&mut BTreeMap<OsString, u64>> {
        self.alive()?;
        let n = self.node_mut(ino)?;
        n.meta.mtime = now();
        match &mut n.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(ENOTDIR),
        }
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> Res<u64> {
        self.entries(parent)?.get(name).copied().ok_or(ENOENT)
    }

    /// Lists a directory: (inode, is a directory, name).
    pub fn list(&self, ino: u64) -> Res<Vec<(u64, bool, OsString)>> {
        let entries = self.entries(ino)?;
        Ok(entries
            .iter()
            .map(|(name, c)| {
                let dir = self.nodes.get(c).is_some_and(Node::is_dir);
                (*c, dir, name.clone())
            })
            .collect())
    }

    /// Creates a file or directory; a file that exists is opened (and truncated with
    /// `truncate`) unless `exclusive`.
    pub fn make(
        &mut self,
        parent: u64,
        name: &OsStr,
        dir: bool,
        meta: Meta,
        exclusive: bool,
        truncate: bool,
    ) -> Res<u64> {
        if let Ok(ino) = self.lookup(parent, name) {
            if exclusive || dir {
                return Err(EEXIST);
            }
            if truncate {
                self.set_size(ino, 0)?;
            }
            return Ok(ino);
        }
        self.entries(parent)?;
        let body = if dir {
            Body::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            }
        } else {
            Body::File {
                data: Vec::new(),
                durable: Vec::new(),
            }
        };
        let ino = self.alloc(Node { meta, body });
        self.entries_mut(parent)?.insert(name.to_owned(), ino);
        Ok(ino)
    }

    /// Removes a name; a directory only when `dir` and empty.
    pub fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Res<()> {
        let ino = self.lookup(parent, name)?;
        let node = self.node(ino)?;
        match (dir, &node.body) {
            (true, Body::Dir { entries, .. }) if !entries.is_empty() => return Err(ENOTEMPTY),
            (true, Body::File { .. }) => return Err(ENOTDIR),
            (false, Body::Dir { .. }) => return Err(EISDIR),
            _ => {}
        }
        self.entries_mut(parent)?.remove(name);
        Ok(())
    }

    pub fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        to_parent: u64,
        to_name: &OsStr,
        no_replace: bool,
    ) -> Res<()> {
        let ino = self.lookup(parent, name)?;
        if let Ok(target) = self.lookup(to_parent, to_name) {
            if no_replace {
                return Err(EEXIST);
            }
            if target == ino {
                return Ok(());
            }
            let (from_dir, to) = (self.node(ino)?.is_dir(), self.node(target)?);
            match (&to.body, from_dir) {
                (Body::Dir { entries, .. }, true) if !entries.is_empty() => {
                    return Err(ENOTEMPTY);
                }
                (Body::Dir { .. }, false) => return Err(EISDIR),
                (Body::File { .. }, true) => return Err(ENOTDIR),
                _ => {}
            }
        }
        self.entries(to_parent)?;
        self.entries_mut(parent)?.remove(name);
        self.entries_mut(to_parent)?.insert(to_name.to_owned(), ino);
        Ok(())
    }

    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Res<&[u8]> {
        match &self.node(ino)?.body {
            Body::File { data, .. } => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(size as usize).min(data.len());
                Ok(&data[start..end])
            }
            Body::Dir { .. } => Err(EISDIR),
        }
    }

    pub fn write(&mut self, ino: u64, offset: u64, bytes: &[u8]) -> Res<()> {
        self.alive()?;
        let n = self.node_mut(ino)?;
        n.meta.mtime = now();
        let Body::File { data, .. } = &mut n.body else {
            return Err(EISDIR);
        };
        let (start, end) = (offset as usize, offset as usize + bytes.len());
        if data.len() < end {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        self.counts.writes += 1;
        self.last = Some(Unsynced {
            ino,
            offset,
            data: bytes.to_vec(),
        });
        Ok(())
    }

    pub fn set_size(&mut self, ino: u64, size: u64) -> Res<()> {
        self.alive()?;
        let n = self.node_mut(ino)?;
        n.meta.mtime = now();
        match &mut n.body {
            Body::File { data, .. } => {
                data.resize(size as usize, 0);
                Ok(())
            }
            Body::Dir { .. } => Err(EISDIR),
        }
    }

    pub fn set_meta(
        &mut self,
        ino: u64,
        perm: Option<u16>,
        uid: Option<u32>,
        gid: Option<u32>,
        mtime: Option<SystemTime>,
    ) -> Res<()> {
        self.alive()?;
        let m = &mut self.node_mut(ino)?.meta;
        if let Some(p) = perm {
            m.perm = p;
        }
        if let Some(u) = uid {
            m.uid = u;
        }
        if let Some(g) = gid {
            m.gid = g;
        }
        if let Some(t) = mtime {
            m.mtime = t;
        }
        Ok(())
    }

    /// `fsync` of a file: its data reaches the disk. Of a directory: its entries do.
    pub fn sync(&mut self, ino: u64) -> Res<()> {
        self.alive()?;
        if self.broken_root && ino == ROOT {
            // A broken disk: says yes, keeps nothing.
            return Ok(());
        }
        match &mut self.node_mut(ino)?.body {
            Body::File { data, durable } => {
                durable.clone_from(data);
                self.counts.file_syncs += 1;
            }
            Body::Dir { entries, durable } => {
                durable.clone_from(entries);
                self.counts.dir_syncs += 1;
            }
        }
        if self.last.as_ref().is_some_and(|l| l.ino == ino) {
            self.last = None;
        }
        Ok(())
    }

    /// The power goes: from now on every operation fails. With `tear`, the last
    /// unsynced write reached the disk up to a sector boundary (none of it when it did
    /// not cross one).
    pub fn cut(&mut self, tear: bool) {
        self.dead = true;
        let Some(last) = self.last.take().filter(|_| tear) else {
            return;
        };
        let end = last.offset + last.data.len() as u64;
        let keep = (end / SECTOR * SECTOR).saturating_sub(last.offset) as usize;
        if keep == 0 {
            return;
        }
        if let Some(Node {
            body: Body::File { durable, .. },
            ..
        }) = self.nodes.get_mut(&last.ino)
        {
            let (start, stop) = (last.offset as usize, last.offset as usize + keep);
            if durable.len() < stop {
                durable.resize(stop, 0);
            }
            durable[start..stop].copy_from_slice(&last.data[..keep]);
        }
    }
}

pub const EIO: i32 = 5;
pub const ENOENT: i32 = 2;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const ENOTEMPTY: i32 = 39;

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            perm: 0o600,
            uid: 0,
            gid: 0,
            mtime: SystemTime::UNIX_EPOCH,
        }
    }

    fn file(fs: &mut Fs, name: &str, bytes: &[u8]) -> u64 {
        let ino = fs
            .make(ROOT, OsStr::new(name), false, meta(), true, false)
            .unwrap();
        fs.write(ino, 0, bytes).unwrap();
        ino
    }

    fn after_cut(fs: &mut Fs, tear: bool) -> Fs {
        fs.cut(tear);
        let disk = tempfile::tempdir().unwrap();
        fs.save(disk.path(), false).unwrap();
        Fs::load(disk.path()).unwrap()
    }

    fn content(fs: &Fs, name: &str) -> Option<Vec<u8>> {
        let ino = fs.lookup(ROOT, OsStr::new(name)).ok()?;
        Some(fs.read(ino, 0, u32::MAX).unwrap().to_vec())
    }

    #[test]
    fn a_dead_filesystem_refuses_everything() {
        let mut fs = Fs::new(0, 0);
        let ino = file(&mut fs, "a", b"x");
        fs.cut(false);
        assert_eq!(fs.write(ino, 0, b"y"), Err(EIO));
        assert_eq!(fs.sync(ino), Err(EIO));
        assert_eq!(fs.lookup(ROOT, OsStr::new("a")), Err(EIO));
    }

    #[test]
    fn a_rename_not_synced_is_undone_and_the_old_file_stays() {
        let mut fs = Fs::new(0, 0);
        let old = file(&mut fs, "receipt.pdf", b"old");
        fs.sync(old).unwrap();
        fs.sync(ROOT).unwrap();
        let new = file(&mut fs, "receipt.tmp", b"new");
        fs.sync(new).unwrap();
        fs.rename(
            ROOT,
            OsStr::new("receipt.tmp"),
            ROOT,
            OsStr::new("receipt.pdf"),
            false,
        )
        .unwrap();
        let back = after_cut(&mut fs, false);
        assert_eq!(content(&back, "receipt.pdf").as_deref(), Some(&b"old"[..]));
        assert_eq!(content(&back, "receipt.tmp"), None);
    }

    #[test]
    fn a_torn_write_ends_at_a_sector_boundary() {
        let mut fs = Fs::new(0, 0);
        let ino = file(&mut fs, "wal", b"");
        fs.sync(ino).unwrap();
        fs.sync(ROOT).unwrap();
        fs.write(ino, 100, &[7u8; 1000]).unwrap();
        let back = after_cut(&mut fs, true);
        let got = content(&back, "wal").unwrap();
        // Up to byte 1024 (two sectors) reached the disk, not the rest.
        assert_eq!(got.len(), 1024);
        assert!(got[100..].iter().all(|b| *b == 7));
        assert!(got[..100].iter().all(|b| *b == 0));
    }

    #[test]
    fn a_non_empty_directory_is_not_removed() {
        let mut fs = Fs::new(0, 0);
        let d = fs
            .make(ROOT, OsStr::new("d"), true, meta(), true, false)
            .unwrap();
        fs.make(d, OsStr::new("f"), false, meta(), true, false)
            .unwrap();
        assert_eq!(fs.remove(ROOT, OsStr::new("d"), true), Err(ENOTEMPTY));
        assert_eq!(fs.remove(ROOT, OsStr::new("d"), false), Err(EISDIR));
    }
}
