//! The order file and the rewrite of one file or a directory of files, which
//! `arrange` and `apply` share.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use entangle::error::{Error, Result};
use entangle::io::read::{FeatureSelection, Source, input_files, resolve_features};
use entangle::io::rewrite::{check_distinct, write_rearranged};

use crate::progress::Progress;

/// The order file: `{"order": [...], "features": [...]}` (wide layout) or
/// `{"order": [...], "array": "col"}`, plus `"shape"` when 2D.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderFile {
    pub order: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
}

/// What a rewrite reads and writes: (input file, output file) pairs. One
/// file goes to OUTPUT; a directory or glob of files goes to OUTPUT/<file name>
/// each (OUTPUT a directory, created when the files are written).
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
pub fn rewrite_all(
    targets: &RewriteTargets,
    selection: &FeatureSelection,
    label: Option<&str>,
    order: &[usize],
) -> Result<u64> {
    if let Some(dir) = targets.directory.as_ref().filter(|d| !d.is_dir()) {
        std::fs::create_dir(dir).map_err(|e| Error::file(dir, e))?;
    }
    let mut rows = 0;
    for (input, output) in &targets.pairs {
        let source = Source::open(input)?;
        let features = resolve_features(source.schema(), selection, label)?;
        let writing = Progress::new(source.rows(), "writing", "rows");
        rows += write_rearranged(&source, output, features, order, &|done, total| {
            writing.set(done, total)
        })?;
        writing.finish();
    }
    Ok(rows)
}
