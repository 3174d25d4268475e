//! Writing output folders whole or not at all, and never outside them.
//!
//! A build is staged complete in a new folder beside `OUT`
//! (`.OUT.infra-staging-<pid>`) and swapped in with one atomic
//! `renameat2(RENAME_EXCHANGE)`, so a reader — `git`, `kubectl apply -R`, a
//! killed or concurrent build — sees the previous build or the new one,
//! never a mix. Files in `OUT` that the previous lock does not list were not
//! written by infra: they are carried into the new folder as hard links, so
//! a build never loses them. An advisory lock on the folder that holds `OUT`
//! serializes builds, and under it the staging folders of killed builds are
//! removed. Nothing here follows a symbolic link inside `OUT`, and every
//! path below it is a [`RelPath`].

use super::lock::{self, LOCK_FILE, Lock};
use crate::emit::path::RelPath;
use infra_syntax::source as paths;
use infra_syntax::{Code, Diagnostic};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// The largest lock file read back: far above any real build's.
const MAX_LOCK_BYTES: u64 = 256 << 20;

/// An output folder: `parent/name`, with `parent` free of symbolic links
/// (resolved once) and `name` never one.
#[derive(Debug, Clone)]
pub struct OutDir {
    parent: PathBuf,
    name: OsString,
}

impl OutDir {
    /// Resolves the folder a user named. Its parent folders may be symbolic
    /// links (the user chose them); the folder itself may not.
    pub fn new(out: &Path) -> Result<OutDir, Diagnostic> {
        let absolute = std::path::absolute(out).map_err(|e| io_error("resolve", out, &e))?;
        let mut lexical = PathBuf::new();
        for c in absolute.components() {
            match c {
                Component::ParentDir => {
                    lexical.pop();
                }
                Component::CurDir => {}
                other => lexical.push(other),
            }
        }
        let (Some(parent), Some(name)) = (lexical.parent(), lexical.file_name()) else {
            return Err(Diagnostic::error(Code::CannotWrite, format!("{} cannot be an output folder", out.display())));
        };
        // The longest existing ancestor is resolved; the rest is created later.
        let mut existing = parent.to_path_buf();
        let mut missing = Vec::new();
        let resolved = loop {
            match existing.canonicalize() {
                Ok(p) => break p,
                Err(_) => match (existing.file_name().map(OsString::from), existing.parent()) {
                    (Some(last), Some(up)) => {
                        missing.push(last);
                        existing = up.to_path_buf();
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            Code::CannotWrite,
                            format!("cannot resolve {}", parent.display()),
                        ));
                    }
                },
            }
        };
        let parent = missing.into_iter().rev().fold(resolved, |p, c| p.join(c));
        let dir = OutDir { parent, name: name.to_os_string() };
        match fs::symlink_metadata(dir.path()) {
            Ok(m) if m.file_type().is_symlink() => Err(Diagnostic::error(
                Code::CannotWrite,
                format!("the output folder {} is a symbolic link; infra never writes through one", out.display()),
            )
            .help("give the folder it points to")),
            Ok(m) if !m.is_dir() => Err(Diagnostic::error(
                Code::CannotWrite,
                format!("the output folder {} exists and is not a folder", out.display()),
            )),
            _ => Ok(dir),
        }
    }

    /// A project's own output folder, `compiled/<env>` below its `root`.
    /// Unlike a folder named with `-o`, no folder on the way may be a
    /// symbolic link: a link committed to a repository (`compiled ->
    /// ../..`) is not a place the user chose on this machine.
    pub fn in_project(root: &Path, env: &str) -> Result<OutDir, Diagnostic> {
        let parent = root.join("compiled");
        match fs::symlink_metadata(&parent) {
            Ok(m) if !m.is_dir() => Err(Diagnostic::error(
                Code::CannotWrite,
                format!(
                    "{} is {}, not a folder: infra neither writes nor reads compiled output through it",
                    parent.display(),
                    EntryKind::of(m.file_type()).describe()
                ),
            )
            .note("a link in the repository is not a place chosen on this machine")
            .help("remove it, or name the output folder yourself with -o (plan: --against)")),
            _ => OutDir::new(&parent.join(env)),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    /// `parent/.name.infra-<tag>`: staging and recovery folders live beside
    /// `OUT`, on its file system, so renames between them are atomic.
    fn sibling(&self, tag: &str) -> PathBuf {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(".infra-");
        n.push(tag);
        self.parent.join(n)
    }

    /// Refuses an output folder that is `root` or above it, or that holds
    /// any of the project's `sources`: a build must never replace them.
    pub fn check_apart<'a>(&self, root: &Path, sources: impl IntoIterator<Item = &'a Path>) -> Result<(), Diagnostic> {
        let out = self.path();
        let refuse = |what: String| {
            Diagnostic::error(Code::OutputHoldsSources, format!("the output folder {} {what}", out.display()))
                .note("a build replaces its whole output folder, so it must not hold the project's sources")
                .help("leave out -o (the default is compiled/<env> inside the project), or choose a folder apart from the sources")
        };
        if root.starts_with(&out) {
            return Err(refuse(format!("holds the project {}", root.display())));
        }
        if let Some(source) = sources.into_iter().find(|s| s.starts_with(&out)) {
            return Err(refuse(format!("holds {}, a source of the project", source.display())));
        }
        Ok(())
    }
}

/// What an output folder holds, found without following symbolic links.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Paths relative to the folder, as bytes: compared as bytes, not
    /// component by component.
    entries: BTreeMap<OsString, EntryKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

impl EntryKind {
    fn of(t: fs::FileType) -> EntryKind {
        if t.is_dir() {
            EntryKind::Dir
        } else if t.is_file() {
            EntryKind::File
        } else if t.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Special
        }
    }

    fn describe(self) -> &'static str {
        match self {
            EntryKind::Dir => "a folder",
            EntryKind::File => "a file",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Special => "a special file",
        }
    }
}

/// Lists `dir` without following links; `None` when it does not exist.
pub fn inventory(dir: &Path) -> Result<Option<Inventory>, Diagnostic> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", dir, &e)),
        Ok(m) if !m.is_dir() => {
            return Err(Diagnostic::error(Code::CannotWrite, format!("{} is not a folder", dir.display())));
        }
        Ok(_) => {}
    }
    let mut inv = Inventory::default();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
        let entry =
            entry.map_err(|e| Diagnostic::error(Code::CannotWrite, format!("cannot read {}: {e}", dir.display())))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path()).as_os_str().to_os_string();
        inv.entries.insert(rel, EntryKind::of(entry.file_type()));
    }
    Ok(Some(inv))
}

impl Inventory {
    pub fn kind(&self, rel: &Path) -> Option<EntryKind> {
        self.entries.get(rel.as_os_str()).copied()
    }

    /// The regular files below the folder, relative to it.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.entries.iter().filter(|(_, k)| **k == EntryKind::File).map(|(p, _)| Path::new(p))
    }

    /// The lock of the build in `dir`, read only when it is a regular file.
    pub fn read_lock(&self, dir: &Path) -> Lock {
        if self.kind(Path::new(LOCK_FILE)) != Some(EntryKind::File) {
            return Lock::default();
        }
        match paths::read_text(&dir.join(LOCK_FILE), MAX_LOCK_BYTES) {
            Ok(text) => lock::parse(&text),
            Err(e) => Lock { ignored: vec![format!("cannot read {LOCK_FILE}: {e}; it is ignored")], ..Lock::default() },
        }
    }

    /// YAML files that `lock` does not list: `kubectl apply -R` would apply
    /// them although no build wrote them.
    pub fn unlisted_yaml(&self, lock: &Lock) -> Vec<String> {
        let listed: HashSet<&OsStr> = lock.owned().map(|e| OsStr::new(e.file.as_str())).collect();
        self.entries
            .iter()
            .filter(|(p, k)| **k != EntryKind::Dir && !listed.contains(p.as_os_str()))
            .map(|(p, _)| Path::new(p))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// Holds the advisory locks that serialize builds into the same folders.
pub struct BuildLock {
    _held: Vec<File>,
}

/// Locks the folders that hold `outs` (each once, in a fixed order, so two
/// builds cannot deadlock), creating them if needed. `waiting` is told when
/// another build holds a lock.
pub fn lock_parents(outs: &[&OutDir], waiting: &mut dyn FnMut(&Path)) -> Result<BuildLock, Diagnostic> {
    let parents: BTreeSet<&Path> = outs.iter().map(|o| o.parent.as_path()).collect();
    let mut held = Vec::new();
    for p in parents {
        fs::create_dir_all(p).map_err(|e| io_error("create", p, &e))?;
        let f = File::open(p).map_err(|e| io_error("open", p, &e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                waiting(p);
                f.lock().map_err(|e| io_error("lock", p, &e))?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", p, &e)),
        }
        held.push(f);
    }
    Ok(BuildLock { _held: held })
}

/// Removes what killed builds left beside `out` (call with the lock held).
/// A two-rename swap that was cut between its renames left `OUT` missing
/// and the previous build in `.OUT.infra-old-*`: that is put back first.
fn clean_stale(out: &OutDir) -> Result<(), Diagnostic> {
    let mut prefix = OsString::from(".");
    prefix.push(&out.name);
    prefix.push(".infra-");
    let prefix = prefix.to_string_lossy().into_owned();
    let entries = match fs::read_dir(&out.parent) {
        Ok(e) => e,
        Err(e) => return Err(io_error("read", &out.parent, &e)),
    };
    let mut stale: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix).is_some_and(|tag| {
                let digits = tag.strip_prefix("staging-").or_else(|| tag.strip_prefix("old-"));
                digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    if fs::symlink_metadata(out.path()).is_err()
        && let Some(old) = stale.iter().position(|p| p.to_string_lossy().contains(".infra-old-"))
    {
        let old = stale.remove(old);
        fs::rename(&old, out.path()).map_err(|e| io_error("restore", &out.path(), &e))?;
    }
    for p in stale {
        remove_entry(&p).map_err(|e| io_error("remove", &p, &e))?;
    }
    Ok(())
}

/// Removes a folder tree or a single entry, never following links.
fn remove_entry(p: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A complete new folder beside `OUT`, ready to be swapped in.
pub struct Staged {
    out: OutDir,
    staging: PathBuf,
}

impl Drop for Staged {
    /// Whatever happens, the staging folder does not outlive the build:
    /// before the swap it holds the unused new build, after it the old one.
    fn drop(&mut self) {
        let _ = remove_entry(&self.staging);
    }
}

/// One file of a build.
pub struct NewFile<'a> {
    pub path: &'a RelPath,
    pub bytes: &'a [u8],
}

/// Writes `files` into a new staging folder beside `out`, and carries over
/// the entries of `previous` (the current `OUT`) that its lock does not
/// list. A foreign entry where the build writes is an error: infra never
/// overwrites what it did not write.
fn stage(
    out: &OutDir,
    files: &[NewFile],
    previous: Option<(&Inventory, &Lock)>,
    same: &[bool],
) -> Result<Staged, Diagnostic> {
    let staging = out.sibling(&format!("staging-{}", std::process::id()));
    fs::create_dir(&staging).map_err(|e| io_error("create", &staging, &e))?;
    let staged = Staged { out: out.clone(), staging };

    // Each folder is created once, parents first; then the files, in
    // parallel, each by name in its folder's open handle. A file the current
    // build already holds with the same bytes is linked, not written: a new
    // link is much cheaper than a new file.
    let dirs: BTreeSet<&str> = files.iter().flat_map(|f| f.path.ancestors()).collect();
    for d in &dirs {
        let p = staged.staging.join(d);
        fs::create_dir(&p).map_err(|e| io_error("create", &p, &e))?;
    }
    let new = Folders::open(&staged.staging, files).map_err(|e| io_error("open", &staged.staging, &e))?;
    let old = if same.contains(&true) { Folders::open(&out.path(), files).ok() } else { None };
    let numbered: Vec<(&NewFile, bool)> = files.iter().zip(same.iter().copied()).collect();
    let written = crate::parallel::map(&numbered, |(f, same)| {
        let failed = |e| io_error("write", &f.path.under(&staged.staging), &e);
        let (dir, name) = new.of(f.path).ok_or_else(|| failed(std::io::ErrorKind::NotFound.into()))?;
        if *same
            && let Some((old_dir, _)) = old.as_ref().and_then(|old| old.of(f.path))
            && rustix::fs::linkat(old_dir, name, dir, name, rustix::fs::AtFlags::empty()).is_ok()
        {
            return Ok(());
        }
        create_file(dir, name, f.bytes).map_err(failed)
    });
    written.into_iter().collect::<Result<Vec<()>, Diagnostic>>()?;

    if let Some((inventory, lock)) = previous {
        carry_foreign(&staged, files, inventory, lock, None)?;
    }
    Ok(staged)
}

/// Carries the entries of `inventory` (what `OUT` holds) that `lock` does
/// not list into the staging folder, skipping those `seen` already lists
/// (a second pass, for what appeared while the build ran). A foreign entry
/// where the build writes is an error: infra never overwrites what it did
/// not write. Folders keep their modes.
fn carry_foreign(
    staged: &Staged,
    files: &[NewFile],
    inventory: &Inventory,
    lock: &Lock,
    seen: Option<&Inventory>,
) -> Result<(), Diagnostic> {
    let owned: HashSet<&OsStr> = lock.owned().map(|e| OsStr::new(e.file.as_str())).collect();
    let new_files: HashMap<&OsStr, &[u8]> = files.iter().map(|f| (OsStr::new(f.path.as_str()), f.bytes)).collect();
    let new_dirs: HashSet<&OsStr> = files.iter().flat_map(|f| f.path.ancestors()).map(OsStr::new).collect();
    let old = staged.out.path();
    let mut nonempty: HashSet<&OsStr> = HashSet::new();
    for p in inventory.entries.keys() {
        nonempty.extend(Path::new(p).parent().map(Path::as_os_str));
    }
    for (rel, kind) in &inventory.entries {
        if owned.contains(rel.as_os_str()) || rel == LOCK_FILE || seen.is_some_and(|s| s.entries.get(rel) == Some(kind))
        {
            continue;
        }
        let rel = Path::new(rel);
        let in_the_way = |what: &str| {
            Diagnostic::error(
                Code::InTheWay,
                format!(
                    "{} is in the way: the build writes {what} there, and it is {} that infra did not write",
                    old.join(rel).display(),
                    kind.describe()
                ),
            )
            .note(format!("{LOCK_FILE} does not list it, and infra never overwrites what it did not write"))
            .help(format!("move it out of {}, then build again", old.display()))
        };
        if let Some(bytes) = new_files.get(rel.as_os_str()) {
            // A file with exactly the new content is taken over, not refused:
            // a build whose lock was lost must still be able to run.
            // Read only as far as the new content reaches: a larger file differs.
            if *kind == EntryKind::File
                && paths::read_bytes_nofollow(&old.join(rel), bytes.len() as u64).is_ok_and(|b| b == *bytes)
            {
                continue;
            }
            return Err(in_the_way("a file"));
        }
        if *kind != EntryKind::Dir && new_dirs.contains(rel.as_os_str()) {
            return Err(in_the_way("a folder"));
        }
        let to = staged.staging.join(rel);
        if *kind == EntryKind::Dir {
            // Folders are carried when they are empty (someone made them) or
            // come with foreign entries (created below, with those).
            if !nonempty.contains(rel.as_os_str()) {
                fs::create_dir_all(&to).map_err(|e| io_error("create", &to, &e))?;
            }
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error("create", parent, &e))?;
        }
        carry(&old.join(rel), &to, *kind).map_err(|e| io_error("keep", &old.join(rel), &e))?;
    }
    // `OUT` and its folders keep their modes (a private 0700 folder stays
    // private); new folders get the default.
    let modes = std::iter::once(Path::new(""))
        .chain(inventory.entries.iter().filter(|(_, k)| **k == EntryKind::Dir).map(|(p, _)| Path::new(p.as_os_str())));
    for rel in modes {
        let (from, to) = (old.join(rel), staged.staging.join(rel));
        if let (Ok(m), Ok(t)) = (fs::symlink_metadata(&from), fs::symlink_metadata(&to))
            && m.is_dir()
            && t.is_dir()
            && m.permissions() != t.permissions()
        {
            fs::set_permissions(&to, m.permissions()).map_err(|e| io_error("set the mode of", &to, &e))?;
        }
    }
    Ok(())
}

/// Carries one entry into the new folder: a hard link (the same file, no
/// copy, links and FIFOs included), else a copy of a file or of a link.
fn carry(from: &Path, to: &Path, kind: EntryKind) -> std::io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) => match kind {
            EntryKind::File => fs::copy(from, to).map(|_| ()),
            EntryKind::Symlink => std::os::unix::fs::symlink(fs::read_link(from)?, to),
            _ => Err(e),
        },
    }
}

/// Swaps staged folders in, all or none: a failure puts back the ones
/// already swapped. The staging folders then hold the previous builds and
/// are removed when dropped.
fn swap_in(staged: &[Staged]) -> Result<(), Diagnostic> {
    let mut done: Vec<(&Staged, Swap)> = Vec::new();
    for s in staged {
        match swap(s) {
            Ok(how) => done.push((s, how)),
            Err(e) => {
                for (s, how) in done.into_iter().rev() {
                    let _ = unswap(s, how);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Swap {
    /// `OUT` did not exist: the staging folder was renamed to it.
    Created,
    /// The two folders traded places.
    Exchanged,
}

fn swap(s: &Staged) -> Result<Swap, Diagnostic> {
    let out = s.out.path();
    let fail = |e: std::io::Error| io_error("replace", &out, &e);
    if fs::symlink_metadata(&out).is_err() {
        fs::rename(&s.staging, &out).map_err(fail)?;
        return Ok(Swap::Created);
    }
    exchange(&s.staging, &out).map_err(fail)?;
    Ok(Swap::Exchanged)
}

fn unswap(s: &Staged, how: Swap) -> std::io::Result<()> {
    match how {
        Swap::Created => fs::rename(s.out.path(), &s.staging),
        Swap::Exchanged => exchange(&s.staging, &s.out.path()),
    }
}

/// Trades two folders atomically. Where the file system cannot
/// (`renameat2` unsupported), two renames with the previous folder parked
/// in `.OUT.infra-old-<pid>`; a kill between them is repaired by the next
/// build (see [`clean_stale`]).
fn exchange(staging: &Path, out: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, staging, CWD, out, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::NOTSUP => {
            let parked = staging.with_file_name(
                staging.file_name().unwrap_or_default().to_string_lossy().replace(".infra-staging-", ".infra-old-"),
            );
            fs::rename(out, &parked)?;
            if let Err(e) = fs::rename(staging, out) {
                let _ = fs::rename(&parked, out);
                return Err(e);
            }
            fs::rename(&parked, staging)
        }
        Err(e) => Err(e.into()),
    }
}

/// What writing output folders found that the user should know.
#[derive(Debug, Default)]
pub struct WriteReport {
    pub warnings: Vec<Diagnostic>,
    /// For each job, whether its folder already held exactly its files
    /// and was left as it was.
    pub unchanged: Vec<bool>,
}

/// One output folder and its new content.
pub struct Job<'a> {
    pub out: &'a OutDir,
    pub files: Vec<NewFile<'a>>,
}

/// Replaces every output folder with its new content, whole or not at all:
/// all are staged before any is swapped in.
pub fn replace_all(jobs: &[Job], waiting: &mut dyn FnMut(&Path)) -> Result<WriteReport, Diagnostic> {
    let outs: Vec<&OutDir> = jobs.iter().map(|j| j.out).collect();
    let _lock = lock_parents(&outs, waiting)?;
    let mut report = WriteReport::default();
    let mut staged = Vec::with_capacity(jobs.len());
    for job in jobs {
        clean_stale(job.out)?;
        let path = job.out.path();
        let inventory = inventory(&path)?;
        let lock = inventory.as_ref().map(|i| i.read_lock(&path)).unwrap_or_default();
        report.warnings.extend(
            lock.ignored
                .iter()
                .map(|w| Diagnostic::warning(Code::LockEntryIgnored, format!("{}: {w}", path.display()))),
        );
        if let Some(inv) = &inventory {
            let unlisted = inv.unlisted_yaml(&lock);
            if !unlisted.is_empty() {
                report.warnings.push(
                    Diagnostic::warning(
                        Code::UnlistedYaml,
                        format!(
                            "{} holds {} YAML file{} that infra did not write: {}",
                            path.display(),
                            unlisted.len(),
                            if unlisted.len() == 1 { "" } else { "s" },
                            summarize(&unlisted)
                        ),
                    )
                    .note(
                        "they are kept, and `kubectl apply -R` would apply them; `infra build --check` fails on them",
                    ),
                );
            }
        }
        let same = same_files(&path, inventory.as_ref(), &job.files);
        let lock = match &inventory {
            Some(inv) => verify_lock(&path, inv, lock, &job.files, &mut report.warnings),
            None => lock,
        };
        let unchanged = inventory.as_ref().is_some_and(|inv| {
            let new: HashSet<&str> = job.files.iter().map(|f| f.path.as_str()).collect();
            same.iter().all(|&s| s) && !lock.owned().any(|e| stale(inv, e, &new))
        });
        report.unchanged.push(unchanged);
        if !unchanged {
            let s = stage(job.out, &job.files, inventory.as_ref().map(|i| (i, &lock)), &same)?;
            staged.push((s, job, inventory, lock));
        }
    }
    // Entries someone put into `OUT` while the build was staging are
    // carried too: only what appears between this look and the swap itself
    // can be missed.
    for (s, job, before, lock) in &staged {
        if let Some(now) = inventory(&s.out.path())? {
            carry_foreign(s, &job.files, &now, lock, before.as_ref())?;
        }
    }
    let staged: Vec<Staged> = staged.into_iter().map(|(s, ..)| s).collect();
    swap_in(&staged)?;
    Ok(report)
}

/// Keeps only the lock entries the build may drop: a file it no longer
/// writes is removed only when it holds what infra wrote there (its
/// object's hash, which every file infra writes carries). A lock comes from
/// git, and an entry naming someone's file (a note, a kubeconfig) must not
/// make the build drop it. A file the build writes again is an object's
/// file and is replaced, hand edits included; the others are read,
/// bounded, never through a link.
fn verify_lock(
    dir: &Path,
    inventory: &Inventory,
    lock: Lock,
    files: &[NewFile],
    warnings: &mut Vec<Diagnostic>,
) -> Lock {
    let rewritten: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let Lock { tool, entries, files: others, ignored } = lock;
    let mut kept = Vec::with_capacity(entries.len());
    let mut kept_others = Vec::new();
    let objects = entries.len();
    for (i, e) in entries.into_iter().chain(others).enumerate() {
        // An object's file that the build writes again is replaced, hand
        // edits and all; any other file (the kustomization) only when it
        // holds what infra wrote.
        let ours = (i < objects && rewritten.contains(e.file.as_str()))
            || match inventory.kind(Path::new(e.file.as_str())) {
                None => true,
                Some(EntryKind::File) => holds_hash(&e.file.under(dir), &e.hash),
                Some(_) => false,
            };
        if ours {
            if i < objects { kept.push(e) } else { kept_others.push(e) }
        } else {
            warnings.push(
                Diagnostic::warning(
                    Code::LockEntryIgnored,
                    format!(
                        "{}: {LOCK_FILE} lists {}, which does not hold the object it names ({}); it is kept as a file infra did not write",
                        dir.display(),
                        e.file.as_str(),
                        e.id
                    ),
                )
                .note("a lock comes from the repository; infra only removes what it can tell it wrote"),
            );
        }
    }
    Lock { tool, entries: kept, files: kept_others, ignored }
}

/// Whether the regular file at `path` carries `hash` as its
/// `infra.dev/hash` annotation, as every file infra writes does — or, for a
/// document written as it is (SOPS), whether its content has that hash. A
/// lock's hash is a sha256 in hex; anything else names no file of infra's.
fn holds_hash(path: &Path, hash: &str) -> bool {
    let sha256 = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let line = format!("{}: {hash}\n", infra_k8s::annotations::HASH);
    let Some(bytes) = sha256.then(|| paths::read_bytes_nofollow(path, paths::max_source_bytes()).ok()).flatten() else {
        return false;
    };
    bytes.windows(line.len()).any(|w| w == line.as_bytes())
        || std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| infra_syntax::yaml::parse_value(text).ok())
            .is_some_and(|value| crate::link::hash::content_hash(&value) == hash)
}

/// For each new file, whether the folder `dir` (listed in `inventory`)
/// holds it already, byte for byte, as a regular file. Read in parallel,
/// never through a symbolic link.
fn same_files(dir: &Path, inventory: Option<&Inventory>, files: &[NewFile]) -> Vec<bool> {
    let Some(folders) = inventory.and_then(|_| Folders::open(dir, files).ok()) else {
        return vec![false; files.len()];
    };
    let inventory = inventory.expect("checked above");
    crate::parallel::map(files, |f| {
        inventory.kind(Path::new(f.path.as_str())) == Some(EntryKind::File)
            && folders.of(f.path).is_some_and(|(dir, name)| holds(dir, name, f.bytes).unwrap_or(false))
    })
}

/// The folders that hold a build's files, each opened once: files are then
/// opened by name in them, with no path to resolve again, and no symbolic
/// link is followed on the way.
struct Folders<'a> {
    handles: HashMap<&'a str, OwnedFd>,
}

impl<'a> Folders<'a> {
    /// Opens `root` and the folders of `files` below it; a folder that is
    /// missing or not a folder is left out (its files are then not there).
    fn open(root: &Path, files: &'a [NewFile]) -> std::io::Result<Folders<'a>> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let root = rustix::fs::open(root, flags, Mode::empty())?;
        let mut handles = HashMap::new();
        for f in files {
            let (parent, _) = split(f.path);
            if parent.is_empty() || handles.contains_key(parent) {
                continue;
            }
            // Folder by folder from the root, never through a link.
            let mut fd = None;
            for part in parent.split('/') {
                let at = fd.as_ref().unwrap_or(&root);
                match rustix::fs::openat(at, part, flags, Mode::empty()) {
                    Ok(next) => fd = Some(next),
                    Err(_) => {
                        fd = None;
                        break;
                    }
                }
            }
            if let Some(fd) = fd {
                handles.insert(parent, fd);
            }
        }
        handles.insert("", root);
        Ok(Folders { handles })
    }

    /// The open folder of `path` and its file name; `None` when that folder
    /// could not be opened.
    fn of<'p>(&self, path: &'p RelPath) -> Option<(&OwnedFd, &'p str)> {
        let (parent, name) = split(path);
        Some((self.handles.get(parent)?, name))
    }
}

/// A path's folder (`""` at the top) and file name.
fn split(path: &RelPath) -> (&str, &str) {
    path.as_str().rsplit_once('/').unwrap_or(("", path.as_str()))
}

/// Whether the regular file `name` in `dir` holds exactly `bytes`; a
/// symbolic link is refused, not followed. A regular file answers a read in
/// full up to its end, so one read of one byte more than expected tells a
/// longer file apart.
fn holds(dir: &OwnedFd, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read;
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let mut old = vec![0; bytes.len() + 1];
    let n = File::from(fd).read(&mut old)?;
    Ok(&old[..n] == bytes)
}

/// Creates the file `name` in `dir` with `bytes`; it must not exist.
fn create_file(dir: &OwnedFd, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Write;
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_bits_truncate(0o666))?;
    File::from(fd).write_all(bytes)
}

/// Whether a previous lock's entry names a file the new build no longer
/// writes and that is still there: the folder must change to drop it.
fn stale(inventory: &Inventory, entry: &lock::LockEntry, new: &HashSet<&str>) -> bool {
    !new.contains(entry.file.as_str()) && inventory.kind(Path::new(entry.file.as_str())).is_some()
}

/// Creates `out` with `files`, whole or not at all; `out` must be missing
/// or an empty folder (a new project).
pub fn create(out: &OutDir, files: &[NewFile]) -> Result<(), Diagnostic> {
    let _lock = lock_parents(&[out], &mut |_| {})?;
    clean_stale(out)?;
    if let Some(inv) = inventory(&out.path())?
        && !inv.entries.is_empty()
    {
        return Err(Diagnostic::error(Code::CannotWrite, format!("{} is not empty", out.path().display()))
            .help("choose a new folder; nothing was written"));
    }
    let staged = stage(out, files, None, &vec![false; files.len()])?;
    // rename(2) replaces an empty folder.
    fs::rename(&staged.staging, out.path()).map_err(|e| io_error("create", &out.path(), &e))
}

/// Writes one file at `rel` below `root`, refusing to pass through a
/// symbolic link or anything else that is not a folder on the way. The
/// file is written beside its place and renamed over it.
pub fn write_inside(root: &Path, rel: &RelPath, bytes: &[u8]) -> Result<(), Diagnostic> {
    let refuse = |p: &Path, m: fs::Metadata| {
        Diagnostic::error(
            Code::CannotWrite,
            format!(
                "{} is {}, not a folder; nothing is written through it",
                p.display(),
                EntryKind::of(m.file_type()).describe()
            ),
        )
    };
    match fs::symlink_metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(m) => return Err(refuse(root, m)),
        Err(_) => fs::create_dir_all(root).map_err(|e| io_error("create", root, &e))?,
    }
    for dir in rel.ancestors() {
        let p = root.join(dir);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => return Err(refuse(&p, m)),
            Err(_) => fs::create_dir(&p).map_err(|e| io_error("create", &p, &e))?,
        }
    }
    let path = rel.under(root);
    if let Ok(m) = fs::symlink_metadata(&path)
        && !m.is_file()
    {
        let what = EntryKind::of(m.file_type()).describe();
        return Err(Diagnostic::error(Code::CannotWrite, format!("{} is {what}; it is not replaced", path.display())));
    }
    // A new file no link can redirect, beside its place, renamed over it.
    let (folder, name) = (path.parent().unwrap_or(root), path.file_name().unwrap_or_default().to_string_lossy());
    let (temp, mut file) =
        paths::create_temp_file(folder, &format!(".{name}.infra"), 0o666).map_err(|e| io_error("write", &path, &e))?;
    let written = std::io::Write::write_all(&mut file, bytes);
    drop(file);
    written.map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("write", &temp, &e)
    })?;
    fs::rename(&temp, &path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("write", &path, &e)
    })
}

/// The first few of a list of names, for a message.
fn summarize(names: &[String]) -> String {
    let mut s = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(Code::CannotWrite, format!("cannot {what} {}: {}", path.display(), paths::io_reason(e)))
}
