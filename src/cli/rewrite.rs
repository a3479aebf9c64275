//! The rewrite of one file or a directory of files, which `arrange` and
//! `apply` share, and the report of what killed runs left behind.

use std::path::{Path, PathBuf};

use entangle::error::{Error, Result};
use entangle::io::atomic::{StagingDir, parent_dir, remove_stale, stale_outputs};
use entangle::io::read::{FeatureSelection, Source, input_files, resolve_features};
use entangle::io::rewrite::{check_distinct, write_rearranged};

use crate::progress::Progress;

/// What a rewrite reads and writes: (input file, output file) pairs. One
/// file goes to OUTPUT; a directory or glob of files goes to OUTPUT/<file name>
/// each (OUTPUT a directory, created when all files are written).
pub struct RewriteTargets {
    pub pairs: Vec<(PathBuf, PathBuf)>,
    /// The output directory of several files.
    pub directory: Option<PathBuf>,
}

pub fn rewrite_targets(input: &Path, output: &Path) -> Result<RewriteTargets> {
    let files = input_files(input)?;
    if let [one] = files.as_slice()
        && one.as_path() == input
    {
        check_distinct(one, output)?;
        return Ok(RewriteTargets {
            pairs: vec![(one.clone(), output.to_path_buf())],
            directory: None,
        });
    }
    if output.is_file() {
        return Err(Error::option(
            "-o",
            format!(
                "{} is a file, but {} holds several files: give a directory",
                output.display(),
                input.display()
            ),
        ));
    }
    let mut targets: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    for file in files {
        let name = file.file_name().expect("a file has a name");
        let target = output.join(name);
        if targets.iter().any(|(_, t)| *t == target) {
            return Err(Error::file(
                &file,
                format!(
                    "another input file is also named {}",
                    name.to_string_lossy()
                ),
            ));
        }
        check_distinct(&file, &target)?;
        targets.push((file, target));
    }
    Ok(RewriteTargets {
        pairs: targets,
        directory: Some(output.to_path_buf()),
    })
}

/// Rewrites every input file with `order` applied; returns the rows written.
/// Several files are written into a staging directory first and appear in
/// the output directory only when all of them succeeded.
pub fn rewrite_all(
    targets: &RewriteTargets,
    selection: &FeatureSelection,
    label: Option<&str>,
    order: &[usize],
    shape: Option<&[usize]>,
) -> Result<u64> {
    let staging = targets
        .directory
        .as_deref()
        .map(StagingDir::create)
        .transpose()?;
    let mut rows = 0;
    for (input, output) in &targets.pairs {
        let written = match &staging {
            Some(staging) => staging
                .path()
                .join(output.file_name().expect("a target has a name")),
            None => output.clone(),
        };
        rows += rewrite_one(input, &written, selection, label, order, shape).map_err(|e| {
            match (&staging, e) {
                // Name the file among several, unless the error already does.
                (Some(_), e @ Error::File { .. }) | (None, e) => e,
                (Some(_), e) => Error::file(input, e),
            }
        })?;
    }
    if let Some(staging) = staging {
        staging.commit()?;
    }
    Ok(rows)
}

fn rewrite_one(
    input: &Path,
    output: &Path,
    selection: &FeatureSelection,
    label: Option<&str>,
    order: &[usize],
    shape: Option<&[usize]>,
) -> Result<u64> {
    let source = Source::open(input)?;
    let features = resolve_features(source.schema(), selection, label)?;
    let writing = Progress::new(source.rows(), "writing", "rows");
    let rows = write_rearranged(&source, output, features, order, shape, &|done, total| {
        writing.set(done, total)
    })?;
    writing.finish();
    Ok(rows)
}

/// Reports (or with `clean`, removes) the temporary files and staging
/// directories that killed runs left in the directories of `outputs`.
pub fn check_stale(outputs: &[&Path], clean: bool) -> Result<()> {
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
