//! Errors that point into the user's files.
//!
//! Every stage that reads user input (book.toml, SUMMARY.md, chapters, includes, directives)
//! reports problems as a [`SourceError`]: the file, the 1-based line and column, what is wrong
//! and what to do about it. It is rendered like rustc's and ripgrep's messages, so editors
//! and terminals can jump to the position.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem at a position in a user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The file, as the user knows it (relative to the book root where possible).
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters, where it is meaningful.
    pub column: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl SourceError {
    pub fn new(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        SourceError {
            file: file.into(),
            line,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line[:column]`, the form editors understand.
    pub fn location(&self) -> String {
        let file = self.file.display();
        match (self.line, self.column) {
            (0, _) => format!("{file}"),
            (l, Some(c)) => format!("{file}:{l}:{c}"),
            (l, None) => format!("{file}:{l}"),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

/// Several problems found in one pass (e.g. every broken link of the book), reported
/// together so the user can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceErrors {}

/// 1-based line and column (in characters) of byte offset `offset` in `text`.
/// Offsets past the end map to the position just after the last character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // Step back to a char boundary so slicing cannot panic on a mid-character offset.
    let offset = (0..=offset)
        .rev()
        .find(|&o| text.is_char_boundary(o))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Shows `path` relative to `root` when it lies below it, else as given.
pub fn display_path(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4)); // after the two-byte é
        assert_eq!(line_col(t, 6), (2, 3)); // mid-character offset snaps back
        assert_eq!(line_col(t, 100), (3, 2));
    }

    #[test]
    fn display_names_position_and_help() {
        let e = SourceError::new("src/SUMMARY.md", 4, "unexpected heading")
            .column(3)
            .help("put part titles between numbered chapters");
        assert_eq!(
            e.to_string(),
            "src/SUMMARY.md:4:3: unexpected heading\n  help: put part titles between numbered chapters"
        );
    }
}
