//! The one error type of entangle. Every message names what is wrong and where
//! (the column, the option or the file), so a user can fix the input without
//! reading the source.

use std::path::PathBuf;

/// Errors reported by entangle. Messages are complete sentences fragments meant
/// for people: they name the column, option or file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with one column's type or values.
    #[error("column '{column}': {problem}")]
    Column { column: String, problem: String },

    /// A problem with the label column.
    #[error("label column '{column}': {problem}")]
    Label { column: String, problem: String },

    /// An option that cannot be used, named by its canonical key (`theta`,
    /// `max_samples`, `output`: the keys of src/options.rs); each interface
    /// renders the key in its own spelling (`--theta`, `options: theta`,
    /// the keyword `theta`).
    #[error("{option}: {problem}")]
    Option { option: String, problem: String },

    /// The data as a whole cannot be profiled (too few rows or features, ...).
    #[error("{0}")]
    Data(String),

    /// An error of a SQL or polars function, its name first.
    #[error("{0}")]
    Function(String),

    /// A file that cannot be read or written.
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },

    /// Memory the input needs and may not have (a pool's limit or the
    /// machine's budget), with what would help.
    #[error("{0}")]
    Memory(String),

    /// A numerical step failed (should not happen on valid input).
    #[error("numerical failure: {0}")]
    Numerical(String),
}

impl Error {
    pub fn column(column: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Column {
            column: column.into(),
            problem: problem.into(),
        }
    }

    pub fn label(column: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Label {
            column: column.into(),
            problem: problem.into(),
        }
    }

    pub fn option(option: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Option {
            option: option.into(),
            problem: problem.into(),
        }
    }

    pub fn file(path: impl Into<PathBuf>, problem: impl std::fmt::Display) -> Self {
        Error::File {
            path: path.into(),
            problem: problem.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
