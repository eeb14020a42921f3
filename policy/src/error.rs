//! Load errors that name the file, the line and the policy at fault.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found while loading a policy directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault, when there is one.
    pub file: Option<PathBuf>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// The `@id` of the policy at fault, when known.
    pub policy_id: Option<String>,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
}

impl Problem {
    pub(crate) fn in_file(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.to_path_buf()),
            line,
            policy_id: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        if let Some(id) = &self.policy_id {
            write!(f, "policy `{id}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A policy directory that could not be loaded. The previous policy set keeps serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl LoadError {
    pub(crate) fn one(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} in the policy directory",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// 1-based line of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(1, |b| b.iter().filter(|&&c| c == b'\n').count() + 1)
}

/// The first labelled line of a miette diagnostic, and its message with help and causes.
pub(crate) fn describe(diag: &dyn miette::Diagnostic, text: &str) -> (Option<usize>, String) {
    let line = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| line_of(text, label.offset()));
    let mut message = diag.to_string();
    // Validator messages start with `for policy `id`, `; the problem names the policy itself.
    if let Some((_, tail)) = message
        .strip_prefix("for policy `")
        .and_then(|rest| rest.split_once('`'))
    {
        message = tail.trim_start_matches([',', ':']).trim_start().to_owned();
    }
    let mut source = std::error::Error::source(diag);
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
        source = source.and_then(std::error::Error::source);
    }
    if let Some(help) = diag.help() {
        message.push_str(" (help: ");
        message.push_str(&help.to_string());
        message.push(')');
    }
    (line, message)
}
