//! The load stage: book.toml, SUMMARY.md and the chapter files, read into one value.
//!
//! What mdBook does, perfguide does: chapters come in reading order (prefix, numbered
//! depth-first, suffix), draft chapters are kept without a file, a UTF-8 byte-order mark is
//! dropped, and with `create-missing` (mdBook's default) a chapter file that SUMMARY.md names but
//! that does not exist is created with a `# Title` heading. A missing SUMMARY.md is an error, as
//! in mdBook (which only writes one on `mdbook init`).
//!
//! Problems in the user's files are [`SourceError`]s inside the `anyhow::Error`, so callers can
//! `downcast_ref::<SourceError>()` and show `file:line:column`. Beyond mdBook, a chapter may not
//! leave the book: SUMMARY.md refuses `../` and absolute paths, and here a chapter reached
//! through a symbolic link must still resolve inside the book root or the source folder, and
//! `create-missing` never writes through a link that points elsewhere.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::config::{Config, load_config, not_utf8_error, output_dir_problem, user_path};
use crate::diag::SourceError;
use crate::summary::{Link, SectionNumber, Summary, SummaryItem, parse_summary};

/// A book read from disk, ready for the expand stage.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedBook {
    /// The book root, canonical.
    pub root: PathBuf,
    /// The source folder (`[book] src`), canonical.
    pub src_dir: PathBuf,
    pub config: Config,
    pub summary: Summary,
    /// Every chapter in reading order, drafts included.
    pub chapters: Vec<ChapterSource>,
    /// Things the user should know that are not errors: ignored book.toml keys, created files.
    pub notes: Vec<String>,
}

/// One chapter as listed in SUMMARY.md, with its Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterSource {
    /// The link text of its SUMMARY.md entry.
    pub title: String,
    /// Section number for numbered chapters.
    pub number: Option<SectionNumber>,
    /// Relative to the source folder; `None` for a draft chapter.
    pub path: Option<PathBuf>,
    /// The file's text without a byte-order mark; empty for a draft.
    pub content: String,
    /// Nesting level: 0 for top-level, prefix and suffix chapters.
    pub depth: usize,
    /// Titles of the enclosing chapters, outermost first.
    pub parents: Vec<String>,
    /// Line of the entry in SUMMARY.md.
    pub summary_line: usize,
}

/// How [`load_with`] may touch the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Create missing chapter files when `create-missing` is on (what `build` does). When
    /// false (`perfguide check`, which writes nothing), such a chapter is loaded with the text
    /// it would get and a note says so.
    pub write_missing: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            write_missing: true,
        }
    }
}

/// Loads the book whose root (the folder of book.toml) is `book_root`, creating missing
/// chapters as mdBook does when `create-missing` is on.
pub fn load(book_root: &Path) -> Result<LoadedBook> {
    load_with(book_root, &LoadOptions::default())
}

/// [`load`] with options; `perfguide check` passes `write_missing: false`.
pub fn load_with(book_root: &Path, options: &LoadOptions) -> Result<LoadedBook> {
    let root =
        match book_root.canonicalize() {
            Ok(root) if root.is_dir() => root,
            Ok(_) => {
                return Err(
                    SourceError::new(book_root, 0, "the book root is not a folder")
                        .help("pass the folder that holds book.toml and the source folder")
                        .into(),
                );
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(SourceError::new(book_root, 0, "the book folder does not exist")
                .help("pass the folder that holds book.toml, e.g. `perfguide build path/to/book`")
                .into());
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot open {}", book_root.display()));
            }
        };
    let config = load_config(book_root)?;

    let src_shown = user_path(&config.src_dir(book_root));
    let src_dir = match config.src_dir(&root).canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        Ok(_) | Err(_) => {
            return Err(
                SourceError::new(&src_shown, 0, "the source folder does not exist")
                    .help(format!(
                        "create it with a SUMMARY.md, or point `src` in the [book] table of \
                     book.toml at the folder that holds the chapters (now \"{}\")",
                        config.book.src.display()
                    ))
                    .into(),
            );
        }
    };

    // book.toml's relative build-dir was checked when parsing; an absolute one only can be now.
    if let Some(problem) = output_dir_problem(&root, &src_dir, &config.build.build_dir) {
        return Err(SourceError::new(
            user_path(&book_root.join("book.toml")),
            0,
            format!(
                "`build.build-dir` (\"{}\") {problem}",
                config.build.build_dir.display()
            ),
        )
        .help("each build replaces the output folder: use a folder of its own, such as \"book\"")
        .into());
    }

    let summary_shown = src_shown.join("SUMMARY.md");
    let summary_text = read_summary(&src_dir.join("SUMMARY.md"), &summary_shown)?;
    let summary = parse_summary(&summary_text, &summary_shown)?;

    let mut loader = Loader {
        root: &root,
        src_dir: &src_dir,
        src_shown: &src_shown,
        summary_shown: &summary_shown,
        create_missing: config.build.create_missing,
        write_missing: options.write_missing,
        chapters: Vec::new(),
        notes: Vec::new(),
    };
    for items in [&summary.prefix, &summary.numbered, &summary.suffix] {
        loader.load_items(items, &[])?;
    }
    let Loader {
        chapters,
        notes: created,
        ..
    } = loader;

    let mut notes = config.notes.clone();
    notes.extend(created);
    Ok(LoadedBook {
        root,
        src_dir,
        config,
        summary,
        chapters,
        notes,
    })
}

impl LoadedBook {
    /// Checks an output folder given on the command line (`--dest-dir`; absolute, or relative
    /// to the book root): each build replaces it wholesale, so it must not be, or contain, the
    /// book or its sources.
    pub fn check_dest_dir(&self, dest: &Path) -> Result<(), SourceError> {
        match output_dir_problem(&self.root, &self.src_dir, dest) {
            None => Ok(()),
            Some(problem) => Err(SourceError::new(
                dest,
                0,
                format!("the output folder {problem}"),
            )
            .help("each build replaces the output folder: choose a folder of its own, such as book/")),
        }
    }
}

fn read_summary(path: &Path, shown: &Path) -> Result<String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(SourceError::new(shown, 0, "SUMMARY.md not found")
                .help(
                    "create it to list the chapters (mdBook does not generate it during a build \
                     either), for example:\n\n    # Summary\n\n    - [Introduction](README.md)\n",
                )
                .into());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", shown.display())),
    };
    String::from_utf8(bytes).map_err(|e| not_utf8_error(shown, e.as_bytes(), e.utf8_error()).into())
}

struct Loader<'a> {
    root: &'a Path,
    src_dir: &'a Path,
    src_shown: &'a Path,
    summary_shown: &'a Path,
    create_missing: bool,
    write_missing: bool,
    chapters: Vec<ChapterSource>,
    notes: Vec<String>,
}

impl Loader<'_> {
    fn load_items(&mut self, items: &[SummaryItem], parents: &[String]) -> Result<()> {
        for item in items {
            if let SummaryItem::Link(link) = item {
                let (path, content) = match &link.location {
                    Some(rel) => (Some(rel.clone()), self.read_chapter(link, rel)?),
                    None => (None, String::new()),
                };
                self.chapters.push(ChapterSource {
                    title: link.name.clone(),
                    number: link.number.clone(),
                    path,
                    content,
                    depth: parents.len(),
                    parents: parents.to_vec(),
                    summary_line: link.line,
                });
                let mut inner = parents.to_vec();
                inner.push(link.name.clone());
                self.load_items(&link.nested, &inner)?;
            }
        }
        Ok(())
    }

    /// An error about the SUMMARY.md entry of `link`.
    fn entry_error(&self, link: &Link, message: String) -> SourceError {
        SourceError::new(self.summary_shown, link.line, message)
    }

    /// Whether `path` (canonical) lies inside the book root or the source folder.
    fn inside(&self, path: &Path) -> bool {
        path.starts_with(self.root) || path.starts_with(self.src_dir)
    }

    fn read_chapter(&mut self, link: &Link, rel: &Path) -> Result<String> {
        let full = self.src_dir.join(rel);
        let shown = self.src_shown.join(rel);
        let rel_shown = rel.display();

        // A symbolic link that leads out of the book is refused before anything is read or
        // created through it (the nearest existing ancestor is where the path really goes).
        let existing = full.ancestors().find(|p| p.symlink_metadata().is_ok());
        if let Some(existing) = existing
            && let Ok(real) = existing.canonicalize()
            && !self.inside(&real)
        {
            return Err(self
                .entry_error(
                    link,
                    format!(
                        "chapter '{rel_shown}' resolves to {}, outside the book",
                        real.display()
                    ),
                )
                .help(
                    "a symbolic link in the source folder points out of the book; chapters must \
                     live inside it (to show an outside file, {{#include}} it from a chapter)",
                )
                .into());
        }

        match full.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() && !full.exists() => {
                return Err(self
                    .entry_error(
                        link,
                        format!("chapter '{rel_shown}' is a symbolic link to a missing file"),
                    )
                    .help(format!("fix or remove the link {}", shown.display()))
                    .into());
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return self.create_missing(link, rel),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", shown.display()));
            }
        }
        if full.is_dir() {
            return Err(self
                .entry_error(
                    link,
                    format!("chapter '{rel_shown}' is a folder, not a Markdown file"),
                )
                .help(format!(
                    "link to a file inside it, such as `{}`",
                    rel.join("README.md").display()
                ))
                .into());
        }

        let bytes = std::fs::read(&full).with_context(|| {
            format!(
                "cannot read chapter {} (listed at {}:{})",
                shown.display(),
                self.summary_shown.display(),
                link.line
            )
        })?;
        let mut content = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return Err(not_utf8_error(&shown, e.as_bytes(), e.utf8_error()).into()),
        };
        if content.starts_with('\u{feff}') {
            content.drain(..'\u{feff}'.len_utf8());
        }
        Ok(content)
    }

    /// A chapter file that does not exist: created (mdBook's `create-missing`) or an error.
    fn create_missing(&mut self, link: &Link, rel: &Path) -> Result<String> {
        let shown = self.src_shown.join(rel);
        if !self.create_missing {
            return Err(self
                .entry_error(
                    link,
                    format!("chapter file '{}' does not exist", rel.display()),
                )
                .help(format!(
                    "create {}, correct the path in SUMMARY.md, or set `create-missing = true` in \
                     the [build] table of book.toml to have missing chapters created",
                    shown.display()
                ))
                .into());
        }
        // mdBook escapes the title, so `Vec<T>` does not become an HTML tag.
        let content = format!("# {}\n", escape_html(&link.name));
        if !self.write_missing {
            self.notes.push(format!(
                "{}:{}: chapter file {} does not exist; a build creates it (create-missing is on \
                 in book.toml)",
                self.summary_shown.display(),
                link.line,
                shown.display()
            ));
            return Ok(content);
        }
        let full = self.src_dir.join(rel);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the folder of {}", shown.display()))?;
        }
        std::fs::write(&full, &content)
            .with_context(|| format!("cannot create missing chapter {}", shown.display()))?;
        self.notes.push(format!(
            "{}:{}: created missing chapter file {} (create-missing is on in book.toml)",
            self.summary_shown.display(),
            link.line,
            shown.display()
        ));
        Ok(content)
    }
}

/// Escapes the characters that would otherwise be read as HTML in Markdown text.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A book in a temporary folder: `files` are (path relative to the root, content).
    fn book(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        dir
    }

    fn source_error(e: &anyhow::Error) -> &SourceError {
        e.downcast_ref::<SourceError>()
            .unwrap_or_else(|| panic!("not a SourceError: {e:#}"))
    }

    fn titles(b: &LoadedBook) -> Vec<String> {
        b.chapters
            .iter()
            .map(|c| {
                format!(
                    "{}{} {}",
                    "  ".repeat(c.depth),
                    c.number.as_ref().map_or("-".to_string(), |n| n.to_string()),
                    c.title
                )
            })
            .collect()
    }

    #[test]
    fn loads_chapters_in_reading_order() {
        let dir = book(&[
            ("book.toml", "[book]\ntitle = \"T\"\n"),
            (
                "src/SUMMARY.md",
                "# Summary\n\n[Intro](README.md)\n\n# Part\n\n- [One](one.md)\n  - [One A](one/a.md)\n    - [Deep]()\n- [Two](two.md)\n\n[Appendix](appendix.md)\n",
            ),
            ("src/README.md", "# Intro\n"),
            ("src/one.md", "\u{feff}# One\n"),
            ("src/one/a.md", "# One A\n"),
            ("src/two.md", "# Two\n"),
            ("src/appendix.md", "# Appendix\n"),
        ]);
        let b = load(dir.path()).unwrap();
        assert_eq!(b.root, dir.path().canonicalize().unwrap());
        assert_eq!(b.src_dir, b.root.join("src"));
        assert_eq!(b.config.title(), "T");
        assert_eq!(
            titles(&b),
            [
                "- Intro",
                "1. One",
                "  1.1. One A",
                "    1.1.1. Deep",
                "2. Two",
                "- Appendix"
            ]
        );
        let one = &b.chapters[1];
        assert_eq!(one.path.as_deref(), Some(Path::new("one.md")));
        assert_eq!(one.content, "# One\n", "the BOM is dropped");
        assert_eq!(one.summary_line, 7);
        let deep = &b.chapters[3];
        assert_eq!(deep.path, None);
        assert_eq!(deep.content, "");
        assert_eq!(deep.parents, ["One", "One A"]);
        assert_eq!(b.chapters[2].parents, ["One"]);
        assert!(b.chapters[5].parents.is_empty());
        assert!(b.notes.is_empty(), "{:?}", b.notes);
    }

    #[test]
    fn output_folder_may_not_swallow_the_book() {
        let dir = book(&[("src/SUMMARY.md", "")]);
        let parent = dir.path().canonicalize().unwrap();
        let parent = parent.parent().unwrap();
        fs::write(
            dir.path().join("book.toml"),
            format!("[build]\nbuild-dir = \"{}\"\n", parent.display()),
        )
        .unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(source_error(&e).message.contains("contains it"), "{e}");

        fs::remove_file(dir.path().join("book.toml")).unwrap();
        let b = load(dir.path()).unwrap();
        assert!(b.check_dest_dir(Path::new("book")).is_ok());
        assert!(b.check_dest_dir(&b.root.join("out")).is_ok());
        assert!(b.check_dest_dir(Path::new(".")).is_err());
        assert!(b.check_dest_dir(Path::new("src")).is_err());
        assert!(b.check_dest_dir(parent).is_err());
    }

    #[test]
    fn book_toml_is_optional() {
        let dir = book(&[("src/SUMMARY.md", "- [A](a.md)\n"), ("src/a.md", "a")]);
        let b = load(dir.path()).unwrap();
        assert_eq!(b.config, Config::default());
        assert_eq!(b.chapters.len(), 1);
    }

    #[test]
    fn custom_src_folder() {
        let dir = book(&[
            ("book.toml", "[book]\nsrc = \"guides\"\n"),
            ("guides/SUMMARY.md", "- [A](a.md)\n"),
            ("guides/a.md", "a"),
        ]);
        let b = load(dir.path()).unwrap();
        assert_eq!(b.src_dir, b.root.join("guides"));
        assert_eq!(b.chapters[0].content, "a");
    }

    #[test]
    fn create_missing_creates_file_and_folders() {
        let dir = book(&[(
            "src/SUMMARY.md",
            "# S\n\n- [`Vec<T>` & co](new/dir/ch.md)\n",
        )]);
        let b = load(dir.path()).unwrap();
        let created = dir.path().join("src/new/dir/ch.md");
        assert_eq!(
            fs::read_to_string(&created).unwrap(),
            "# Vec&lt;T&gt; &amp; co\n"
        );
        assert_eq!(b.chapters[0].content, "# Vec&lt;T&gt; &amp; co\n");
        assert_eq!(b.notes.len(), 1);
        assert!(
            b.notes[0].contains("SUMMARY.md:3: created missing chapter file"),
            "{}",
            b.notes[0]
        );
        // As in mdBook's `summary_with_markdown_formatting` book.
        let dir2 = book(&[("src/SUMMARY.md", "- [\\<escaped tag\\>](escaped-tag.md)\n")]);
        load(dir2.path()).unwrap();
        assert_eq!(
            fs::read_to_string(dir2.path().join("src/escaped-tag.md")).unwrap(),
            "# &lt;escaped tag&gt;\n"
        );
        // A second load finds the file and has nothing to say.
        assert!(load(dir.path()).unwrap().notes.is_empty());
    }

    #[test]
    fn check_mode_creates_nothing() {
        let dir = book(&[("src/SUMMARY.md", "- [New](new/ch.md)\n")]);
        let b = load_with(
            dir.path(),
            &LoadOptions {
                write_missing: false,
            },
        )
        .unwrap();
        assert_eq!(b.chapters[0].content, "# New\n");
        assert!(b.notes[0].contains("a build creates it"), "{}", b.notes[0]);
        assert!(!dir.path().join("src/new").exists());
    }

    #[test]
    fn missing_chapter_without_create_missing() {
        let dir = book(&[
            ("book.toml", "[build]\ncreate-missing = false\n"),
            ("src/SUMMARY.md", "# S\n\n- [A](a.md)\n- [B](b.md)\n"),
            ("src/a.md", "a"),
        ]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert!(se.file.ends_with("src/SUMMARY.md"), "{}", se.file.display());
        assert_eq!(se.line, 4);
        assert_eq!(se.message, "chapter file 'b.md' does not exist");
        assert!(
            se.help
                .as_deref()
                .unwrap()
                .contains("create-missing = true")
        );
        assert!(!dir.path().join("src/b.md").exists());
    }

    #[test]
    fn missing_summary() {
        let dir = book(&[("src/a.md", "a")]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert!(se.file.ends_with("src/SUMMARY.md"));
        assert_eq!(se.message, "SUMMARY.md not found");
        assert!(
            se.help
                .as_deref()
                .unwrap()
                .contains("- [Introduction](README.md)")
        );
    }

    #[test]
    fn missing_src_folder() {
        let dir = book(&[("book.toml", "[book]\nsrc = \"guides\"\n")]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert!(se.file.ends_with("guides"));
        assert!(se.message.contains("source folder does not exist"));
    }

    #[test]
    fn missing_book_root() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&dir.path().join("nope")).unwrap_err();
        assert!(source_error(&e).message.contains("does not exist"));
    }

    #[test]
    fn summary_errors_are_source_errors() {
        let dir = book(&[(
            "src/SUMMARY.md",
            "- [A](a.md)\n\n[S](s.md)\n\n- [B](b.md)\n",
        )]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!(se.line, 5);
        assert!(se.file.ends_with("src/SUMMARY.md"));
    }

    #[test]
    fn config_errors_are_source_errors() {
        let dir = book(&[
            ("book.toml", "[book]\ntitel = \"x\"\n"),
            ("src/SUMMARY.md", ""),
        ]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!((se.line, se.column), (2, Some(1)));
    }

    #[test]
    fn chapter_not_utf8() {
        let dir = book(&[("src/SUMMARY.md", "- [A](a.md)\n")]);
        fs::write(dir.path().join("src/a.md"), b"# A\n\nna\xefve\n").unwrap();
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert!(se.file.ends_with("src/a.md"), "{}", se.file.display());
        assert_eq!((se.line, se.column), (3, Some(3)));
        assert!(se.message.contains("not valid UTF-8"));
        assert!(se.message.contains("byte offset 7"), "{}", se.message);
    }

    #[test]
    fn summary_not_utf8() {
        let dir = book(&[]);
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/SUMMARY.md"), b"- [\xff](a.md)\n").unwrap();
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!((se.line, se.column), (1, Some(4)));
    }

    #[test]
    fn chapter_outside_src_is_refused_with_the_line() {
        let dir = book(&[
            ("src/SUMMARY.md", "# S\n- [A](../secret.md)\n"),
            ("secret.md", "s"),
        ]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!(se.line, 2);
        assert!(se.message.contains("leaves the source folder"));
        let dir = book(&[("src/SUMMARY.md", "- [A](/etc/hostname)\n")]);
        let e = load(dir.path()).unwrap_err();
        assert!(source_error(&e).message.contains("absolute"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_book_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("x.md"), "outside").unwrap();
        let dir = book(&[("src/SUMMARY.md", "- [A](a.md)\n- [B](ext/new.md)\n")]);
        std::os::unix::fs::symlink(outside.path().join("x.md"), dir.path().join("src/a.md"))
            .unwrap();
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!(se.line, 1);
        assert!(se.message.contains("outside the book"), "{}", se.message);

        // create-missing must not write through a linked folder either.
        fs::remove_file(dir.path().join("src/a.md")).unwrap();
        fs::write(dir.path().join("src/a.md"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src/ext")).unwrap();
        let e = load(dir.path()).unwrap_err();
        assert_eq!(source_error(&e).line, 2);
        assert!(!outside.path().join("new.md").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_inside_the_book_is_fine() {
        // The common `src/README.md -> ../README.md` pattern.
        let dir = book(&[
            ("src/SUMMARY.md", "[Intro](README.md)\n"),
            ("README.md", "readme"),
        ]);
        std::os::unix::fs::symlink("../README.md", dir.path().join("src/README.md")).unwrap();
        let b = load(dir.path()).unwrap();
        assert_eq!(b.chapters[0].content, "readme");
    }

    #[cfg(unix)]
    #[test]
    fn broken_symlink_is_reported() {
        let dir = book(&[("src/SUMMARY.md", "- [A](a.md)\n")]);
        std::os::unix::fs::symlink("gone.md", dir.path().join("src/a.md")).unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(source_error(&e).message.contains("missing file"));
        assert!(!dir.path().join("src/gone.md").exists());
    }

    #[test]
    fn chapter_that_is_a_folder() {
        let dir = book(&[
            ("src/SUMMARY.md", "- [A](dir)\n"),
            ("src/dir/README.md", "x"),
        ]);
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!(se.line, 1);
        assert!(se.message.contains("is a folder"));
    }

    #[test]
    fn duplicate_chapter_is_refused_like_mdbook() {
        let dir = book(&[
            ("src/SUMMARY.md", "- [A](a.md)\n- [Again](a.md)\n"),
            ("src/a.md", "a"),
        ]);
        let e = load(dir.path()).unwrap_err();
        assert_eq!(source_error(&e).line, 2);
    }

    #[test]
    fn notes_include_ignored_config_keys() {
        let dir = book(&[
            ("book.toml", "[output.html]\nmathjax-support = true\n"),
            ("src/SUMMARY.md", "- [A](a.md)\n"),
            ("src/a.md", "a"),
        ]);
        let b = load(dir.path()).unwrap();
        assert_eq!(b.notes.len(), 1);
        assert!(b.notes[0].contains("mathjax-support"));
    }

    #[test]
    fn relative_root_gives_relative_error_paths() {
        let dir = book(&[("src/SUMMARY.md", "- Title\n")]);
        // Paths in errors are shown as the user passed the root.
        let e = load(dir.path()).unwrap_err();
        let se = source_error(&e);
        assert_eq!(se.file, dir.path().join("src/SUMMARY.md"));
    }
}
