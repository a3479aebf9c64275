//! Outputs that appear whole or not at all, and survive power loss.
//!
//! A file is written to a temporary file beside its target, flushed and
//! fsync'ed, renamed onto the target, and then the directory is fsync'ed (as
//! SQLite and PostgreSQL do): after a crash the target is either the old file
//! or the complete new one. A job that writes several files into a directory
//! writes them into a hidden staging directory beside it and moves them into
//! place only when every one succeeded.
//!
//! Temporary names are `.<target name>.entangle-<pid>-<random>`, so a later
//! run can tell the leftovers of a killed process ([`stale_outputs`]) from
//! those of one still running. Live temporary paths are registered, so that
//! a signal handler can remove them ([`remove_unfinished`]) before the
//! process exits.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Temporary files and staging directories being written, with their
/// targets. Held while a rename commits, so that a signal handler never
/// removes a file that is being moved into place.
static UNFINISHED: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

const MARKER: &str = ".entangle-";

fn register(temp: &Path, target: &Path) {
    let mut live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
    live.push((temp.to_path_buf(), target.to_path_buf()));
}

fn unregister(live: &mut Vec<(PathBuf, PathBuf)>, temp: &Path) {
    live.retain(|(t, _)| t != temp);
}

/// Removes every temporary file and staging directory still being written
/// and returns their targets (which keep their previous state). For a
/// signal handler that is about to exit the process: the registry is left
/// locked (the guard is forgotten), so no commit can start after it.
pub fn remove_unfinished() -> Vec<PathBuf> {
    let live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
    let mut targets = Vec::new();
    for (temp, target) in live.iter() {
        let _ = if temp.is_dir() {
            std::fs::remove_dir_all(temp)
        } else {
            std::fs::remove_file(temp)
        };
        // A file staged inside a staging directory is that directory's job.
        if !live.iter().any(|(dir, _)| target.starts_with(dir)) {
            targets.push(target.clone());
        }
    }
    std::mem::forget(live);
    targets
}

/// The directory a target is written in (`.` for a bare file name).
pub fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    format!(".{name}{MARKER}{}-", std::process::id())
}

/// fsync of a directory, so that a rename in it survives a crash.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The error of a failed write of `target`.
pub fn write_error(target: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(target, format!("cannot write the output: {e}"))
}

/// A temporary file beside `target`, moved onto it by [`AtomicOutput::commit`];
/// dropped without commit, it is removed.
pub struct AtomicOutput {
    temp: Option<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl AtomicOutput {
    pub fn create(target: &Path) -> Result<Self> {
        // Keep the extension: some writers choose the format by it.
        let suffix = target
            .extension()
            .map_or(".tmp".to_string(), |e| format!(".{}", e.to_string_lossy()));
        let prefix = temp_prefix(target);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        // An ordinary file's mode, not the private 0600 of temporary files.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let temp = builder
            .tempfile_in(parent_dir(target))
            .map_err(|e| write_error(target, e))?;
        register(temp.path(), target);
        Ok(AtomicOutput {
            temp: Some(temp),
            target: target.to_path_buf(),
        })
    }

    fn temp(&self) -> &tempfile::NamedTempFile {
        self.temp.as_ref().expect("present until commit")
    }

    /// The temporary file, for writers that take a path.
    pub fn path(&self) -> &Path {
        self.temp().path()
    }

    /// A handle on the temporary file, for writers that take a `File`.
    pub fn file(&self) -> Result<File> {
        self.temp()
            .reopen()
            .map_err(|e| Error::file(&self.target, e))
    }

    /// Makes the content durable and moves it onto the target.
    pub fn commit(mut self) -> Result<()> {
        let temp = self.temp.take().expect("present until commit");
        let target = self.target.clone();
        temp.as_file()
            .sync_all()
            .map_err(|e| write_error(&target, e))?;
        let path = temp.path().to_path_buf();
        {
            let mut live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
            temp.persist(&target)
                .map_err(|e| write_error(&target, e.error))?;
            unregister(&mut live, &path);
        }
        sync_dir(&parent_dir(&target)).map_err(|e| write_error(&target, e))
    }
}

impl Drop for AtomicOutput {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let mut live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
            unregister(&mut live, temp.path());
            drop(temp); // removes the file
        }
    }
}

/// Writes a whole file atomically and durably.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let out = AtomicOutput::create(path)?;
    let mut file = out.file()?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| write_error(path, e))?;
    out.commit()
}

/// A hidden directory beside `target` that a job writing several files fills
/// first; [`StagingDir::commit`] moves its files into `target` (creating it)
/// once all are written, dropping it removes everything.
pub struct StagingDir {
    dir: Option<tempfile::TempDir>,
    target: PathBuf,
}

impl StagingDir {
    pub fn create(target: &Path) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&temp_prefix(target))
            .tempdir_in(parent_dir(target))
            .map_err(|e| write_error(target, e))?;
        register(dir.path(), target);
        Ok(StagingDir {
            dir: Some(dir),
            target: target.to_path_buf(),
        })
    }

    /// Where a file of the job is written first.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until commit").path()
    }

    /// Moves the staged files into the target directory. An absent target
    /// appears in one rename; into an existing one the files move one by
    /// one (each rename atomic), after all of them were written and synced.
    pub fn commit(mut self) -> Result<()> {
        let dir = self.dir.take().expect("present until commit");
        let target = self.target.clone();
        let staged = dir.path().to_path_buf();
        sync_dir(&staged).map_err(|e| write_error(&target, e))?;
        let mut live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
        if !target.exists() {
            let kept = dir.keep();
            std::fs::rename(&kept, &target).map_err(|e| {
                let _ = std::fs::remove_dir_all(&kept);
                write_error(&target, e)
            })?;
        } else {
            let entries = std::fs::read_dir(&staged).map_err(|e| write_error(&target, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| write_error(&target, e))?;
                std::fs::rename(entry.path(), target.join(entry.file_name()))
                    .map_err(|e| write_error(&target, e))?;
            }
            sync_dir(&target).map_err(|e| write_error(&target, e))?;
            drop(dir); // now empty
        }
        unregister(&mut live, &staged);
        drop(live);
        sync_dir(&parent_dir(&target)).map_err(|e| write_error(&target, e))
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let mut live = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
            unregister(&mut live, dir.path());
            drop(dir); // removes the directory and what is in it
        }
    }
}

/// A temporary file or staging directory left by an entangle process that
/// is no longer running.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleOutput {
    pub path: PathBuf,
    /// Bytes, of every file below it for a directory.
    pub size: u64,
}

fn size_of(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The process id in a temporary name `.<name>.entangle-<pid>-<random>…`.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = &name[name.rfind(MARKER)? + MARKER.len()..];
    let (pid, random) = rest.split_once('-')?;
    (!random.is_empty()).then_some(())?;
    pid.parse().ok()
}

/// Whether a process runs (Linux's /proc; elsewhere every owner is taken as
/// gone only when it is not this process).
fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if proc.is_dir() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Temporary outputs in `dir` whose process is gone, in name order.
pub fn stale_outputs(dir: &Path) -> Vec<StaleOutput> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<StaleOutput> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with('.') && owner_pid(&name).is_some_and(|pid| !is_running(pid))
        })
        .map(|e| StaleOutput {
            size: size_of(&e.path()),
            path: e.path(),
        })
        .collect();
    stale.sort_by(|a, b| a.path.cmp(&b.path));
    stale
}

/// Removes stale outputs (see [`stale_outputs`]).
pub fn remove_stale(stale: &[StaleOutput]) -> Result<()> {
    for s in stale {
        let removed = if s.path.is_dir() {
            std::fs::remove_dir_all(&s.path)
        } else {
            std::fs::remove_file(&s.path)
        };
        removed.map_err(|e| Error::file(&s.path, format!("cannot remove: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_appears_only_on_commit_and_a_dropped_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let out = AtomicOutput::create(&target).unwrap();
        std::fs::write(out.path(), b"new").unwrap();
        assert!(!target.exists());
        let temp_name = out
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(temp_name.starts_with(&format!(".out.parquet.entangle-{}-", std::process::id())));
        assert!(temp_name.ends_with(".parquet"));
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");

        let out = AtomicOutput::create(&target).unwrap();
        std::fs::write(out.path(), b"newer").unwrap();
        drop(out);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.parquet"]);
        let live = UNFINISHED.lock().unwrap();
        assert!(live.iter().all(|(_, t)| *t != target));
    }

    #[test]
    fn staged_files_appear_together() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let staging = StagingDir::create(&target).unwrap();
        for name in ["a.parquet", "b.parquet"] {
            write_atomically(&staging.path().join(name), name.as_bytes()).unwrap();
        }
        assert!(!target.exists());
        staging.commit().unwrap();
        assert_eq!(names(&target), ["a.parquet", "b.parquet"]);

        // Into an existing directory: the staged files replace theirs, the
        // others stay; a dropped staging directory changes nothing.
        let staging = StagingDir::create(&target).unwrap();
        std::fs::write(staging.path().join("b.parquet"), b"b2").unwrap();
        std::fs::write(staging.path().join("c.parquet"), b"c").unwrap();
        staging.commit().unwrap();
        assert_eq!(names(&target), ["a.parquet", "b.parquet", "c.parquet"]);
        assert_eq!(std::fs::read(target.join("b.parquet")).unwrap(), b"b2");
        let staging = StagingDir::create(&target).unwrap();
        std::fs::write(staging.path().join("a.parquet"), b"a2").unwrap();
        drop(staging);
        assert_eq!(
            std::fs::read(target.join("a.parquet")).unwrap(),
            b"a.parquet"
        );
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn leftovers_of_a_gone_process_are_stale_and_live_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        // No process has this id (above Linux's pid_max of 2^22).
        let gone = dir
            .path()
            .join(".out.parquet.entangle-99999999-Ab12Cd.parquet");
        std::fs::write(&gone, vec![0u8; 1234]).unwrap();
        let gone_dir = dir.path().join(".out.entangle-99999999-Xy34Zw");
        std::fs::create_dir(&gone_dir).unwrap();
        std::fs::write(gone_dir.join("a.parquet"), vec![0u8; 10]).unwrap();
        let live = AtomicOutput::create(&dir.path().join("other.parquet")).unwrap();
        std::fs::write(dir.path().join("plain.parquet"), b"x").unwrap();

        let stale = stale_outputs(dir.path());
        assert_eq!(
            stale,
            [
                StaleOutput {
                    path: gone_dir.clone(),
                    size: 10
                },
                StaleOutput {
                    path: gone.clone(),
                    size: 1234
                },
            ]
        );
        remove_stale(&stale).unwrap();
        assert!(!gone.exists() && !gone_dir.exists());
        assert!(live.path().exists());
        assert_eq!(owner_pid(".x.entangle-12-abc"), Some(12));
        assert_eq!(owner_pid(".x.entangle-abc"), None);
    }
}
