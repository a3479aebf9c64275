//! The report of what killed runs left beside the outputs of `arrange` and
//! `apply`.

use std::path::{Path, PathBuf};

use entangle::error::{Error, Result};
use entangle::io::atomic::{parent_dir, remove_stale, stale_outputs};

/// Reports (or with `clean`, removes) the temporary files and staging
/// directories that killed runs left in the directories of `outputs`,
/// after checking that those directories exist.
pub fn check_stale(outputs: &[&Path], clean: bool) -> Result<()> {
    // An output whose directory is missing fails now, not after the work.
    for output in outputs {
        let dir = parent_dir(output);
        if !dir.is_dir() {
            return Err(Error::file(
                output,
                format!(
                    "cannot write the output: directory {} does not exist",
                    dir.display()
                ),
            ));
        }
    }
    let mut dirs: Vec<PathBuf> = outputs.iter().map(|p| parent_dir(p)).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let stale = stale_outputs(&dir);
        if stale.is_empty() {
            continue;
        }
        let list: Vec<String> = stale
            .iter()
            .map(|s| format!("{} ({} bytes)", s.path.display(), s.size))
            .collect();
        if clean {
            remove_stale(&stale)?;
            eprintln!(
                "removed temporary outputs of killed runs: {}",
                list.join(", ")
            );
        } else {
            eprintln!(
                "warning: temporary outputs of killed runs: {}; remove them with --clean-stale",
                list.join(", ")
            );
        }
    }
    Ok(())
}
