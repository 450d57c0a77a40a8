//! mdBook's include directives: `{{#include}}`, `{{#rustdoc_include}}`, `{{#playground}}`
//! and `{{#title}}`.
//!
//! [`expand`] turns a chapter's text into the text the Markdown stage sees, and remembers for
//! every output line which file and line it came from ([`Expanded::origins`]), so later stages
//! (perfguide's own directives, links, the Markdown itself) report problems inside included
//! text at the included file's line, not at the chapter's.
//!
//! # What matches mdBook (its `links` preprocessor and `take_lines` helpers)
//!
//! - Forms: `path`, `path:N` (the single line N), `path:N:M` (N to M inclusive), `path::M`,
//!   `path:N:`, `path:` and `path::` (the whole file), `path:anchor`, and a quoted path with
//!   backslash escapes for names with spaces (`"my file.rs":3:5`). Line numbers are 1-based.
//! - Text is taken line by line (`str::lines`, so CRLF becomes LF and the last line has no
//!   newline), and the text before the directive on its line is repeated in front of every
//!   further included line, so an include inside a list item or a `>` quote stays inside it.
//! - Anchors: the lines between `ANCHOR: name` and `ANCHOR_END: name`, markers found anywhere
//!   in a line (so any comment style works); every other `ANCHOR`/`ANCHOR_END` line inside is
//!   dropped. `include` stops at the first `ANCHOR_END: name`; an anchor without an end runs
//!   to the end of the file.
//! - `rustdoc_include` keeps the whole file and prefixes the lines outside the range or
//!   anchor with `# ` (rustdoc hides them); with an anchor, every marker line is dropped and
//!   several sections of the same name are all shown.
//! - `playground` wraps the whole file in a ```` ```rust ```` block whose info string carries
//!   the attributes (`{{#playground a.rs editable}}` gives ```` ```rust,editable ````); the
//!   Markdown stage takes the language before the first comma, as mdBook does. `playpen` is
//!   its old name and is accepted too.
//! - `title` sets the page title and leaves nothing behind (the line's newline stays).
//! - Paths are relative to the directory of the file that holds the directive; directives in
//!   included text are expanded relative to the included file, up to 10 levels deep.
//! - An escaped `\{{#include x}}` becomes the literal `{{#include x}}`. Only the four
//!   directives handled here lose their backslash; every other directive, escaped or not, is
//!   left exactly as written for the stages that own them.
//!
//! # Where perfguide is stricter (mdBook logs these and renders something anyway)
//!
//! Each of these is a [`SourceError`] at the directive (file relative to the book root, line
//! and column of its `{{`): a missing file; a missing anchor (the help lists the anchors that
//! exist); a range that starts past the end of the file or at line 0, or ends before it
//! starts; text after the path (`{{#include my file.rs}}`, where mdBook silently drops
//! `file.rs`) or after the range; a path that is absolute, that leaves the book root with
//! `..`, or that reaches outside it through a symbolic link; nesting deeper than 10; an
//! include cycle (reported with its chain instead of running into the depth limit); an
//! included file that is not UTF-8; `{{#include}}` or `{{#title}}` without an argument.
//! A range *end* past the end of the file is clamped, as mdBook does: `:10:` and `:10:999`
//! mean the same, and a file that grows does not break the book.
//!
//! A cycle is a repeat of the same file *and* the same selection on the include chain: that
//! is what makes expansion endless. Including another part of an ancestor file (a chapter
//! that includes an anchor of itself) terminates, as it does in mdBook, and is allowed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::diag::{SourceError, display_path, line_col};
use crate::scan::{RawDirective, scan};

/// Includes may nest this deep (mdBook's `MAX_LINK_NESTED_DEPTH`): a chapter may include a
/// file that includes a file ... ten times over.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Where one line of expanded text came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineOrigin {
    /// The file, relative to the book root.
    pub file: PathBuf,
    /// 1-based line in that file.
    pub line: usize,
}

/// A chapter with its includes expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The chapter's text with every include replaced by the included text.
    pub text: String,
    /// One entry per line of `text` (as `str::lines` counts them). A line that mixes chapter
    /// and included text takes the origin of its first character other than whitespace and
    /// `>`, so an include indented in a list or a quote maps to the included file.
    pub origins: Vec<LineOrigin>,
    /// Set by `{{#title ...}}`; the last one wins, as in mdBook.
    pub title: Option<String>,
    /// Canonical absolute paths of every file included, at any depth: what the watcher must
    /// watch and the cache key must cover.
    pub dependencies: BTreeSet<PathBuf>,
}

/// Expands the includes of one chapter.
///
/// `text` is the chapter's content, `file` its absolute path and `book_root` the canonical
/// directory of `book.toml`; included files must lie below `book_root`.
pub fn expand(text: &str, file: &Path, book_root: &Path) -> Result<Expanded, SourceError> {
    // Cheap insurance: a root given through a symlink (`/tmp` on macOS) would otherwise
    // refuse every include.
    let book_root = &std::fs::canonicalize(book_root).unwrap_or_else(|_| book_root.to_path_buf());
    let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let shown = shown_path(file, &canonical, book_root);
    let parent = file.parent().unwrap_or(book_root);
    let dir = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    let lines: Vec<SrcLine> = (1..=text.split('\n').count())
        .map(|line| SrcLine { line, added: 0 })
        .collect();
    let mut expander = Expander {
        root: book_root,
        title: None,
        dependencies: BTreeSet::new(),
        chain: vec![Frame {
            key: (canonical, Kind::Include, Selection::Whole),
            shown: shown.display().to_string(),
        }],
    };
    let level = Level {
        text,
        dir: &dir,
        shown: &shown,
        lines: &lines,
        depth: 0,
    };
    let out = expander.expand_level(&level)?;
    Ok(Expanded {
        text: out.text,
        origins: out.origins,
        title: expander.title,
        dependencies: expander.dependencies,
    })
}

/// The directives this module owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Include,
    RustdocInclude,
    Playground,
    Title,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        match name {
            "include" => Some(Kind::Include),
            "rustdoc_include" => Some(Kind::RustdocInclude),
            "playground" | "playpen" => Some(Kind::Playground),
            "title" => Some(Kind::Title),
            _ => None,
        }
    }
}

/// Which lines of a file an include takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Selection {
    Whole,
    /// 1-based, inclusive; `end: None` runs to the end of the file.
    Lines {
        start: usize,
        end: Option<usize>,
    },
    Anchor(String),
}

/// One file on the include chain, outermost first.
struct Frame {
    /// What makes expansion repeat itself if seen twice on the chain.
    key: (PathBuf, Kind, Selection),
    /// How the chain shows it: `guides/a.md` or `kernels/src/x.rs:setup`.
    shown: String,
}

/// The source line behind one line of a level's text.
#[derive(Debug, Clone, Copy)]
struct SrcLine {
    /// 1-based line in the level's file.
    line: usize,
    /// Characters put in front of the line (rustdoc_include's `# `), for column numbers.
    added: usize,
}

/// Text being expanded at one nesting level, and where its lines came from.
struct Level<'a> {
    text: &'a str,
    /// Canonical directory that the level's relative include paths start from.
    dir: &'a Path,
    /// The level's file relative to the book root.
    shown: &'a Path,
    /// One entry per `\n`-separated line of `text`.
    lines: &'a [SrcLine],
    /// 0 for the chapter, 1 for a file it includes, ...
    depth: usize,
}

impl Level<'_> {
    fn origin(&self, index: usize) -> LineOrigin {
        let line = self
            .lines
            .get(index)
            .or(self.lines.last())
            .map_or(index + 1, |l| l.line);
        LineOrigin {
            file: self.shown.to_path_buf(),
            line,
        }
    }

    /// An error at byte `offset` of the level's text, in the coordinates of its file.
    fn error_at(&self, offset: usize, message: impl Into<String>) -> SourceError {
        let (line, column) = line_col(self.text, offset);
        let src = self
            .lines
            .get(line - 1)
            .copied()
            .unwrap_or(SrcLine { line, added: 0 });
        SourceError::new(self.shown, src.line, message)
            .column(column.saturating_sub(src.added).max(1))
    }
}

/// A position in a level's text while copying it out.
struct Cursor {
    pos: usize,
    /// Index of the line `pos` is on.
    line: usize,
}

struct Expander<'r> {
    root: &'r Path,
    title: Option<String>,
    dependencies: BTreeSet<PathBuf>,
    chain: Vec<Frame>,
}

impl Expander<'_> {
    fn expand_level(&mut self, level: &Level<'_>) -> Result<Finished, SourceError> {
        let mut out = Out::default();
        let mut cursor = Cursor { pos: 0, line: 0 };
        for directive in scan(level.text) {
            let Some(kind) = Kind::of(directive.name) else {
                continue; // Not ours: copied through as written, backslash and all.
            };
            copy(&mut out, level, &mut cursor, directive.start);
            if directive.escaped {
                skip(level, &mut cursor, directive.start + 1);
                copy(&mut out, level, &mut cursor, directive.end);
                continue;
            }
            if kind == Kind::Title {
                if directive.args.is_empty() {
                    return Err(level
                        .error_at(directive.start, "`{{#title}}` needs the page title")
                        .help("write `{{#title The page title}}`"));
                }
                self.title = Some(directive.args.to_owned());
            } else {
                let included = self.include(level, &directive, kind)?;
                out.insert(&included);
            }
            skip(level, &mut cursor, directive.end);
        }
        copy(&mut out, level, &mut cursor, level.text.len());
        Ok(out.finish())
    }

    /// Expands one include-like directive into the lines it stands for.
    fn include(
        &mut self,
        level: &Level<'_>,
        directive: &RawDirective<'_>,
        kind: Kind,
    ) -> Result<Finished, SourceError> {
        let at = |message: String| level.error_at(directive.start, message);
        // As written, on one line: a directive may span several.
        let written = level.text[directive.start..directive.end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let written = written.as_str();
        let target = parse_target(directive.args, kind)
            .map_err(|p| at(format!("`{written}`: {}", p.message)).help(p.help))?;

        if level.depth >= MAX_INCLUDE_DEPTH {
            return Err(at(format!(
                "`{written}` nests includes more than {MAX_INCLUDE_DEPTH} deep: {}",
                self.chain_display(None)
            ))
            .help("flatten the includes (mdBook stops at the same depth)"));
        }

        let resolved = self.resolve(level, &target.path, written, &at)?;
        let key_kind = match target.selection {
            Selection::Whole => Kind::Include,
            _ => kind,
        };
        let key = (
            resolved.canonical.clone(),
            key_kind,
            target.selection.clone(),
        );
        let shown = format!("{}{}", resolved.shown.display(), target.selector_text);
        if self.chain.iter().any(|frame| frame.key == key) {
            return Err(at(format!(
                "`{written}` closes an include cycle: {}",
                self.chain_display(Some(&shown))
            ))
            .help("remove one of these includes: a file cannot contain itself"));
        }

        let content = read_utf8(&resolved, written, &at)?;
        self.dependencies.insert(resolved.canonical.clone());
        let (text, lines) = select(&content, kind, &target.selection)
            .map_err(|p| at(format!("`{written}`: {}", p.message)).help(p.help))?;

        let dir = resolved
            .joined
            .parent()
            .map(|parent| std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf()))
            .unwrap_or_else(|| self.root.to_path_buf());
        self.chain.push(Frame { key, shown });
        let nested = self.expand_level(&Level {
            text: &text,
            dir: &dir,
            shown: &resolved.shown,
            lines: &lines,
            depth: level.depth + 1,
        });
        self.chain.pop();
        let nested = nested?;

        if kind != Kind::Playground {
            return Ok(nested);
        }
        // mdBook: "```rust[,attrs]\n" + file (ending in a newline) + "```".
        let (line, _) = line_col(level.text, directive.start);
        let fence_origin = level.origin(line - 1);
        let mut fenced = Out::default();
        let mut info = String::from("```rust");
        for attribute in &target.attributes {
            let _ = write!(info, ",{attribute}");
        }
        fenced.piece(&info, || fence_origin.clone());
        for (text, origin) in nested.text.lines().zip(&nested.origins) {
            fenced.newline();
            fenced.piece(text, || origin.clone());
        }
        fenced.newline();
        fenced.piece("```", || fence_origin.clone());
        Ok(fenced.finish())
    }

    /// Finds the file a directive names, refusing anything outside the book root.
    fn resolve(
        &self,
        level: &Level<'_>,
        path: &str,
        written: &str,
        at: &dyn Fn(String) -> SourceError,
    ) -> Result<Resolved, SourceError> {
        let relative = Path::new(path);
        let keep_inside = "includes must stay inside the book (the directory of book.toml); \
                           copy or move the file into the book";
        if relative.has_root() || relative.is_absolute() {
            return Err(at(format!(
                "`{written}` uses an absolute path; include paths are relative to `{}`",
                dir_shown(level.dir, self.root)
            ))
            .help(keep_inside));
        }
        let joined = level.dir.join(relative);
        let lexical = normalize(&joined);
        if !lexical.starts_with(self.root) {
            return Err(at(format!(
                "`{written}` leaves the book root: `{path}` from `{}` is `{}`",
                dir_shown(level.dir, self.root),
                lexical.display()
            ))
            .help(keep_inside));
        }
        let shown = display_path(&lexical, self.root);
        let canonical = match std::fs::canonicalize(&joined) {
            Ok(canonical) => canonical,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(at(format!(
                    "`{written}`: file `{}` not found",
                    shown.display()
                ))
                .help(format!(
                    "the path is relative to `{}`, the directory of `{}`; fix the path or create the file",
                    dir_shown(level.dir, self.root),
                    level.shown.display()
                )));
            }
            Err(e) => {
                return Err(at(format!(
                    "`{written}`: cannot resolve `{}`: {e}",
                    shown.display()
                ))
                .help("check the path and the file's permissions"));
            }
        };
        if !canonical.starts_with(self.root) {
            return Err(at(format!(
                "`{written}`: `{}` is a symbolic link (or goes through one) to `{}`, outside the book root",
                shown.display(),
                canonical.display()
            ))
            .help(keep_inside));
        }
        Ok(Resolved {
            joined,
            canonical,
            shown,
        })
    }

    /// `guides/a.md -> guides/b.md -> ...`, ending with `last` when given.
    fn chain_display(&self, last: Option<&str>) -> String {
        self.chain
            .iter()
            .map(|frame| frame.shown.as_str())
            .chain(last)
            .collect::<Vec<_>>()
            .join(" -> ")
    }
}

/// A file an include names, found and checked.
struct Resolved {
    /// The path as written, joined to its directory: its parent is where nested includes
    /// start from (mdBook's rule; the OS resolves it exactly as `canonical`).
    joined: PathBuf,
    canonical: PathBuf,
    /// Relative to the book root, as the user knows it.
    shown: PathBuf,
}

/// A problem with a directive's arguments or with what it selects.
struct Problem {
    message: String,
    help: String,
}

impl Problem {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// The parsed arguments of an include-like directive.
struct Target<'a> {
    path: String,
    selection: Selection,
    /// The selector as written (`:3:5`, `:setup`, or empty), for the include chain.
    selector_text: &'a str,
    /// `playground`'s code block attributes.
    attributes: Vec<&'a str>,
}

fn parse_target(args: &str, kind: Kind) -> Result<Target<'_>, Problem> {
    let usage = match kind {
        Kind::Playground => "write `{{#playground path/to/file.rs [attributes]}}`",
        _ => {
            "write `{{#include path/to/file}}`, optionally with `:N`, `:N:M`, `:N:`, `::M` or `:anchor`"
        }
    };
    let (path, after_path) = if args.starts_with('"') {
        parse_quoted(args).ok_or_else(|| {
            Problem::new(
                "the quoted path has no closing `\"`",
                "close the quote; write `\\\"` for a quote inside the path",
            )
        })?
    } else {
        let end = args.find(char::is_whitespace).unwrap_or(args.len());
        (args[..end].to_owned(), &args[end..])
    };
    if kind == Kind::Playground {
        if path.is_empty() {
            return Err(Problem::new("the directive needs a path", usage));
        }
        return Ok(Target {
            path,
            selection: Selection::Whole,
            selector_text: "",
            attributes: after_path.split_whitespace().collect(),
        });
    }
    // Unquoted, the selector is glued to the path (`a.rs:3`); quoted, it follows the quote.
    let (path, selector, rest) = if args.starts_with('"') {
        match after_path.strip_prefix(':') {
            Some(tail) => {
                let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
                let text_end = args.len() - tail.len() + end;
                let selector_start = args.len() - after_path.len();
                (path, Some(&args[selector_start..text_end]), &tail[end..])
            }
            None => (path, None, after_path),
        }
    } else {
        match path.find(':') {
            Some(colon) => {
                let selector = &args[colon..path.len()];
                (path[..colon].to_owned(), Some(selector), after_path)
            }
            None => (path, None, after_path),
        }
    };
    if path.is_empty() {
        return Err(Problem::new("the directive needs a path", usage));
    }
    if let Some(extra) = rest.split_whitespace().next() {
        return Err(Problem::new(
            format!("unexpected `{extra}` after the path"),
            format!("{usage}; put a path that contains spaces in double quotes"),
        ));
    }
    let selector_text = selector.unwrap_or("");
    let selection = parse_selection(selector_text.strip_prefix(':').unwrap_or(""))?;
    Ok(Target {
        path,
        selection,
        selector_text,
        attributes: Vec::new(),
    })
}

/// mdBook's quoted path: `"a \"b\" c.md"` with backslash escapes; returns the path and the
/// text after the closing quote.
fn parse_quoted(args: &str) -> Option<(String, &str)> {
    let inner = args.strip_prefix('"')?;
    let mut path = String::new();
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    path.push(escaped);
                }
            }
            '"' => return Some((path, &inner[i + 1..])),
            _ => path.push(c),
        }
    }
    None
}

/// The part after the path's first `:` (mdBook's `parse_range_or_anchor`, without its
/// silent fallbacks for text that is not a line number).
fn parse_selection(selector: &str) -> Result<Selection, Problem> {
    if selector.is_empty() {
        return Ok(Selection::Whole);
    }
    let mut parts = selector.splitn(3, ':');
    let first = parts.next().unwrap_or("");
    let second = parts.next();
    if let Some(third) = parts.next() {
        return Err(Problem::new(
            format!("unexpected `:{third}` after the line range"),
            "a range is `:N`, `:N:M`, `:N:` or `::M`",
        ));
    }
    let number = |text: &str| -> Result<Option<usize>, Problem> {
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<usize>() {
            Ok(0) => Err(Problem::new(
                "line 0 does not exist",
                "line numbers start at 1",
            )),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(Problem::new(
                format!("`{text}` is not a line number"),
                "a range is `:N`, `:N:M`, `:N:` or `::M`, with line numbers from 1",
            )),
        }
    };
    let start = match first.parse::<usize>() {
        Ok(_) => number(first)?,
        Err(_) if first.is_empty() => None,
        Err(_) => {
            // Not a number: an anchor name, as in mdBook (`:-5` is an anchor too).
            if let Some(extra) = second {
                return Err(Problem::new(
                    format!("unexpected `:{extra}` after the anchor name"),
                    "write `path:anchor` alone",
                ));
            }
            return Ok(Selection::Anchor(first.to_owned()));
        }
    };
    let selection = match (start, second) {
        (Some(n), None) => Selection::Lines {
            start: n,
            end: Some(n),
        },
        (start, Some(second)) => Selection::Lines {
            start: start.unwrap_or(1),
            end: number(second)?,
        },
        (None, None) => Selection::Whole,
    };
    if let Selection::Lines {
        start,
        end: Some(end),
    } = selection
        && end < start
    {
        return Err(Problem::new(
            format!("the range ends at line {end}, before it starts at line {start}"),
            "write the first line before the last: `:N:M` with N <= M",
        ));
    }
    if selection
        == (Selection::Lines {
            start: 1,
            end: None,
        })
    {
        return Ok(Selection::Whole);
    }
    Ok(selection)
}

/// Reads an included file, which must be UTF-8 (and not a directory).
fn read_utf8(
    resolved: &Resolved,
    written: &str,
    at: &dyn Fn(String) -> SourceError,
) -> Result<String, SourceError> {
    let shown = resolved.shown.display();
    if resolved.canonical.is_dir() {
        return Err(
            at(format!("`{written}`: `{shown}` is a directory")).help("name a file inside it")
        );
    }
    let bytes = std::fs::read(&resolved.canonical).map_err(|e| {
        at(format!("`{written}`: cannot read `{shown}`: {e}")).help("check the file's permissions")
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        at(format!(
            "`{written}`: `{shown}` is not UTF-8 (first invalid byte on line {line})"
        ))
        .help("save the file as UTF-8")
    })
}

/// The lines an include takes from `content`, joined with `\n`, and their source lines.
fn select(
    content: &str,
    kind: Kind,
    selection: &Selection,
) -> Result<(String, Vec<SrcLine>), Problem> {
    let lines: Vec<&str> = content.lines().collect();
    let mut taken: Vec<(usize, &str, bool)> = Vec::with_capacity(lines.len());
    let numbered = lines.iter().enumerate().map(|(i, l)| (i + 1, *l));
    match selection {
        Selection::Whole => taken.extend(numbered.map(|(n, l)| (n, l, false))),
        Selection::Lines { start, end } => {
            if *start > lines.len() {
                return Err(Problem::new(
                    format!(
                        "line {start} is past the end of the file, which has {} line{}",
                        lines.len(),
                        if lines.len() == 1 { "" } else { "s" }
                    ),
                    "fix the range, or mark the lines with `ANCHOR: name` / `ANCHOR_END: name` \
                     comments and include `path:name` so the include follows the code",
                ));
            }
            let end = end.unwrap_or(lines.len()).min(lines.len());
            let inside = |n: usize| n >= *start && n <= end;
            match kind {
                Kind::RustdocInclude => {
                    taken.extend(numbered.map(|(n, l)| (n, l, !inside(n))));
                }
                _ => taken.extend(
                    numbered
                        .filter(|(n, _)| inside(*n))
                        .map(|(n, l)| (n, l, false)),
                ),
            }
        }
        Selection::Anchor(name) => {
            let mut found = false;
            let mut within = false;
            for (n, line) in numbered {
                if within {
                    match anchor_end(line) {
                        Some(end) if end == name => {
                            within = false;
                            if kind != Kind::RustdocInclude {
                                break;
                            }
                        }
                        Some(_) => {}
                        None if anchor_start(line).is_none() => taken.push((n, line, false)),
                        None => {}
                    }
                } else if let Some(start) = anchor_start(line) {
                    if start == name {
                        found = true;
                        within = true;
                    }
                } else if kind == Kind::RustdocInclude && anchor_end(line).is_none() {
                    taken.push((n, line, true));
                }
            }
            if !found {
                return Err(missing_anchor(name, &lines));
            }
        }
    }
    let mut text = String::with_capacity(content.len() + 2 * taken.len());
    let mut map = Vec::with_capacity(taken.len());
    for (i, (line, body, hidden)) in taken.into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        if hidden {
            text.push_str("# ");
        }
        text.push_str(body);
        map.push(SrcLine {
            line,
            added: if hidden { 2 } else { 0 },
        });
    }
    if map.is_empty() {
        map.push(SrcLine { line: 1, added: 0 });
    }
    Ok((text, map))
}

fn missing_anchor(name: &str, lines: &[&str]) -> Problem {
    let mut anchors: Vec<&str> = Vec::new();
    for line in lines {
        if let Some(anchor) = anchor_start(line)
            && !anchors.contains(&anchor)
        {
            anchors.push(anchor);
        }
    }
    let help = if anchors.is_empty() {
        format!(
            "the file has no anchors; mark the lines with comments `ANCHOR: {name}` and \
             `ANCHOR_END: {name}`"
        )
    } else {
        format!(
            "anchors in the file: {}; fix the name or add `ANCHOR: {name}` / `ANCHOR_END: {name}`",
            anchors.join(", ")
        )
    };
    Problem::new(format!("anchor `{name}` not found"), help)
}

/// The name of an `ANCHOR: name` marker in `line` (mdBook: `ANCHOR:\s*([\w_-]+)`).
fn anchor_start(line: &str) -> Option<&str> {
    marker(line, "ANCHOR:")
}

/// The name of an `ANCHOR_END: name` marker in `line`.
fn anchor_end(line: &str) -> Option<&str> {
    marker(line, "ANCHOR_END:")
}

fn marker<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.match_indices(tag).find_map(|(i, _)| {
        let rest = line[i + tag.len()..].trim_start();
        let len: usize = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .map(char::len_utf8)
            .sum();
        (len > 0).then(|| &rest[..len])
    })
}

/// Resolves `.` and `..` without touching the file system (`..` at the root stays there).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// How a chapter is named in origins and messages: relative to the book root.
fn shown_path(file: &Path, canonical: &Path, root: &Path) -> PathBuf {
    let shown = display_path(file, root);
    if shown.is_relative() {
        shown
    } else {
        display_path(canonical, root)
    }
}

/// A directory relative to the book root, `.` for the root itself.
fn dir_shown(dir: &Path, root: &Path) -> String {
    let shown = display_path(dir, root);
    if shown.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        shown.display().to_string()
    }
}

/// Copies the level's text from the cursor to `to` into `out`, line by line.
fn copy(out: &mut Out, level: &Level<'_>, cursor: &mut Cursor, to: usize) {
    let segment = &level.text[cursor.pos..to];
    for (k, piece) in segment.split('\n').enumerate() {
        if k > 0 {
            out.newline();
        }
        out.piece(piece, || level.origin(cursor.line + k));
    }
    skip(level, cursor, to);
}

/// Moves the cursor to `to` without copying.
fn skip(level: &Level<'_>, cursor: &mut Cursor, to: usize) {
    cursor.line += level.text[cursor.pos..to].matches('\n').count();
    cursor.pos = to;
}

/// Expanded text under construction, with one origin per line.
#[derive(Default)]
struct Out {
    text: String,
    origins: Vec<LineOrigin>,
    /// The current (last) line has its origin in `origins`.
    open: bool,
    /// The current line's origin is final: it has a character other than whitespace or `>`.
    settled: bool,
}

/// Finished text: `origins.len() == text.lines().count()`.
struct Finished {
    text: String,
    origins: Vec<LineOrigin>,
}

impl Out {
    /// Appends text without a newline, coming from `origin`.
    fn piece(&mut self, text: &str, origin: impl FnOnce() -> LineOrigin) {
        let substantial = !self.settled && text.chars().any(|c| !c.is_whitespace() && c != '>');
        if !self.open {
            self.origins.push(origin());
            self.open = true;
            self.settled = substantial;
        } else if substantial {
            if let Some(last) = self.origins.last_mut() {
                *last = origin();
            }
            self.settled = true;
        }
        self.text.push_str(text);
    }

    fn newline(&mut self) {
        self.text.push('\n');
        self.open = false;
        self.settled = false;
    }

    /// Inserts included text at the current position as mdBook does: its lines (without a
    /// final newline), each after the first preceded by the text before the directive on
    /// the current line.
    fn insert(&mut self, included: &Finished) {
        let line_start = self.text.rfind('\n').map_or(0, |i| i + 1);
        let prefix = self.text[line_start..].to_owned();
        for (i, (text, origin)) in included.text.lines().zip(&included.origins).enumerate() {
            if i > 0 {
                self.newline();
                self.piece(&prefix, || origin.clone());
            }
            self.piece(text, || origin.clone());
        }
    }

    fn finish(mut self) -> Finished {
        // A final empty line is no line (`str::lines`), so it has no origin.
        if self.open && (self.text.is_empty() || self.text.ends_with('\n')) {
            self.origins.pop();
        }
        Finished {
            text: self.text,
            origins: self.origins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A book in a temporary directory: `root` is canonical and holds `book.toml`.
    struct Book {
        _dir: tempfile::TempDir,
        root: PathBuf,
    }

    impl Book {
        fn new() -> Book {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("book");
            fs::create_dir_all(&root).expect("mkdir");
            let root = root.canonicalize().expect("canonical root");
            fs::write(root.join("book.toml"), "[book]\n").expect("write book.toml");
            Book { _dir: dir, root }
        }

        /// The directory around the book root, for files that must stay outside it.
        fn outside(&self) -> PathBuf {
            self.root.parent().expect("parent").to_path_buf()
        }

        fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Book {
            let path = self.root.join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, content).expect("write");
            self
        }

        fn expand(&self, rel: &str) -> Result<Expanded, SourceError> {
            let path = self.root.join(rel);
            let text = fs::read_to_string(&path).expect("chapter");
            let expanded = expand(&text, &path, &self.root);
            if let Ok(e) = &expanded {
                assert_eq!(e.origins.len(), e.text.lines().count(), "{:?}", e.text);
            }
            expanded
        }

        fn text(&self, rel: &str) -> String {
            match self.expand(rel) {
                Ok(e) => e.text,
                Err(e) => panic!("unexpected error: {e}"),
            }
        }

        fn error(&self, rel: &str) -> SourceError {
            match self.expand(rel) {
                Ok(e) => panic!("expected an error, got {:?}", e.text),
                Err(e) => e,
            }
        }

        /// The text of `{{#NAME ARGS}}` alone in a chapter.
        fn directive(&self, directive: &str) -> String {
            self.file("src/chapter.md", directive);
            self.text("src/chapter.md")
        }
    }

    fn origins(e: &Expanded) -> Vec<String> {
        e.origins
            .iter()
            .map(|o| format!("{}:{}", o.file.display(), o.line))
            .collect()
    }

    const LOREM: &str = "Lorem\nipsum\ndolor\nsit\namet\n";

    // --- the include forms ---------------------------------------------------------------

    #[test]
    fn includes_a_whole_file_without_its_final_newline() {
        let book = Book::new();
        book.file("src/a.txt", "one\ntwo\n")
            .file("src/ch.md", "before\n{{#include a.txt}}\nafter\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "before\none\ntwo\nafter\n");
        assert_eq!(
            origins(&e),
            ["src/ch.md:1", "src/a.txt:1", "src/a.txt:2", "src/ch.md:3"]
        );
        assert_eq!(e.title, None);
        assert_eq!(
            e.dependencies.into_iter().collect::<Vec<_>>(),
            [book.root.join("src/a.txt")]
        );
    }

    #[test]
    fn line_ranges_match_mdbook() {
        let book = Book::new();
        book.file("src/lorem.txt", LOREM);
        let cases = [
            ("lorem.txt", "Lorem\nipsum\ndolor\nsit\namet"),
            ("lorem.txt:", "Lorem\nipsum\ndolor\nsit\namet"),
            ("lorem.txt::", "Lorem\nipsum\ndolor\nsit\namet"),
            ("lorem.txt:2", "ipsum"),
            ("lorem.txt:1", "Lorem"),
            ("lorem.txt:5", "amet"),
            ("lorem.txt:2:3", "ipsum\ndolor"),
            ("lorem.txt:3:3", "dolor"),
            ("lorem.txt:4:", "sit\namet"),
            ("lorem.txt::3", "Lorem\nipsum\ndolor"),
            // A range end past the end of the file is clamped, as in mdBook.
            ("lorem.txt:3:100", "dolor\nsit\namet"),
            ("lorem.txt::100", "Lorem\nipsum\ndolor\nsit\namet"),
        ];
        for (args, expected) in cases {
            assert_eq!(
                book.directive(&format!("{{{{#include {args}}}}}")),
                expected,
                "{args}"
            );
        }
    }

    #[test]
    fn range_origins_are_the_selected_lines() {
        let book = Book::new();
        book.file("src/lorem.txt", LOREM)
            .file("src/ch.md", "{{#include lorem.txt:2:3}}\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(origins(&e), ["src/lorem.txt:2", "src/lorem.txt:3"]);
    }

    #[test]
    fn rustdoc_include_hides_lines_outside_the_range() {
        let book = Book::new();
        book.file("src/lorem.rs", LOREM);
        let cases = [
            ("lorem.rs", "Lorem\nipsum\ndolor\nsit\namet"),
            ("lorem.rs:2:3", "# Lorem\nipsum\ndolor\n# sit\n# amet"),
            ("lorem.rs:4:", "# Lorem\n# ipsum\n# dolor\nsit\namet"),
            ("lorem.rs::3", "Lorem\nipsum\ndolor\n# sit\n# amet"),
            ("lorem.rs:2", "# Lorem\nipsum\n# dolor\n# sit\n# amet"),
            ("lorem.rs::100", "Lorem\nipsum\ndolor\nsit\namet"),
        ];
        for (args, expected) in cases {
            assert_eq!(
                book.directive(&format!("{{{{#rustdoc_include {args}}}}}")),
                expected,
                "{args}"
            );
        }
    }

    const NESTED_ANCHORS: &str = "Lorem\nANCHOR:    test2\nipsum\nANCHOR: test\ndolor\nsit\namet\n\
                                  ANCHOR_END: test\nlorem\nANCHOR_END:test2\nipsum";

    #[test]
    fn anchors_take_the_marked_lines_without_any_marker() {
        let book = Book::new();
        book.file("src/a.txt", NESTED_ANCHORS);
        assert_eq!(
            book.directive("{{#include a.txt:test2}}"),
            "ipsum\ndolor\nsit\namet\nlorem"
        );
        assert_eq!(
            book.directive("{{#include a.txt:test}}"),
            "dolor\nsit\namet"
        );
        book.file("src/ch.md", "{{#include a.txt:test2}}");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(
            origins(&e),
            [
                "src/a.txt:3",
                "src/a.txt:5",
                "src/a.txt:6",
                "src/a.txt:7",
                "src/a.txt:9"
            ]
        );
    }

    #[test]
    fn anchors_work_in_any_comment_style() {
        let book = Book::new();
        book.file(
            "src/k.rs",
            "// ANCHOR: rs\nfn f() {}\n// ANCHOR_END: rs\n\
             # ANCHOR: py\nx = 1\n# ANCHOR_END: py\n\
             <!-- ANCHOR: html -->\n<p>hi</p>\n<!-- ANCHOR_END: html -->\n\
             /* ANCHOR: c-style_1 */\nint x;\n/* ANCHOR_END: c-style_1 */\n",
        );
        assert_eq!(book.directive("{{#include k.rs:rs}}"), "fn f() {}");
        assert_eq!(book.directive("{{#include k.rs:py}}"), "x = 1");
        assert_eq!(book.directive("{{#include k.rs:html}}"), "<p>hi</p>");
        assert_eq!(book.directive("{{#include k.rs:c-style_1}}"), "int x;");
    }

    #[test]
    fn include_takes_the_first_section_of_an_anchor_and_runs_to_eof_without_an_end() {
        let book = Book::new();
        book.file(
            "src/a.txt",
            "Lorem\nANCHOR: test\nipsum\nANCHOR_END: test\ndolor\nANCHOR: test\nsit\n\
             ANCHOR_END: test\namet",
        )
        .file(
            "src/open.txt",
            "Lorem\nipsum\nANCHOR: test\ndolor\nsit\namet",
        );
        assert_eq!(book.directive("{{#include a.txt:test}}"), "ipsum");
        assert_eq!(
            book.directive("{{#include open.txt:test}}"),
            "dolor\nsit\namet"
        );
    }

    #[test]
    fn rustdoc_include_with_an_anchor_hides_the_rest_and_shows_every_section() {
        let book = Book::new();
        book.file("src/a.rs", NESTED_ANCHORS).file(
            "src/multi.rs",
            "Lorem\nANCHOR: test\nipsum\nANCHOR_END: test\ndolor\nANCHOR: test\nsit\n\
             ANCHOR_END: test\namet",
        );
        assert_eq!(
            book.directive("{{#rustdoc_include a.rs:test2}}"),
            "# Lorem\nipsum\ndolor\nsit\namet\nlorem\n# ipsum"
        );
        assert_eq!(
            book.directive("{{#rustdoc_include a.rs:test}}"),
            "# Lorem\n# ipsum\ndolor\nsit\namet\n# lorem\n# ipsum"
        );
        assert_eq!(
            book.directive("{{#rustdoc_include multi.rs:test}}"),
            "# Lorem\nipsum\n# dolor\nsit\n# amet"
        );
        book.file("src/ch.md", "{{#rustdoc_include a.rs:test}}");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.origins[0].line, 1);
        assert_eq!(e.origins[2].line, 5); // dolor
        assert_eq!(e.origins.last().map(|o| o.line), Some(11));
    }

    #[test]
    fn playground_wraps_the_file_in_a_rust_block() {
        let book = Book::new();
        book.file("src/p.rs", "fn main() {\n    println!(\"hi\");\n}")
            .file(
                "src/ch.md",
                "Run it:\n\n{{#playground p.rs editable no_run}}\n\nDone.\n",
            );
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(
            e.text,
            "Run it:\n\n```rust,editable,no_run\nfn main() {\n    println!(\"hi\");\n}\n```\n\nDone.\n"
        );
        assert_eq!(
            origins(&e),
            [
                "src/ch.md:1",
                "src/ch.md:2",
                "src/ch.md:3",
                "src/p.rs:1",
                "src/p.rs:2",
                "src/p.rs:3",
                "src/ch.md:3",
                "src/ch.md:4",
                "src/ch.md:5"
            ]
        );
        assert_eq!(
            book.directive("{{#playground p.rs}}"),
            "```rust\nfn main() {\n    println!(\"hi\");\n}\n```"
        );
        assert_eq!(
            book.directive("{{#playpen p.rs}}"),
            "```rust\nfn main() {\n    println!(\"hi\");\n}\n```"
        );
        book.file("src/empty.rs", "");
        assert_eq!(book.directive("{{#playground empty.rs}}"), "```rust\n```");
    }

    #[test]
    fn title_sets_the_page_title_and_leaves_its_line() {
        let book = Book::new();
        book.file("src/ch.md", "{{#title My Title}}\n# My Chapter\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "\n# My Chapter\n");
        assert_eq!(e.title.as_deref(), Some("My Title"));
        assert_eq!(origins(&e), ["src/ch.md:1", "src/ch.md:2"]);
    }

    #[test]
    fn the_last_title_wins_even_from_an_included_file() {
        let book = Book::new();
        book.file("src/t.md", "{{#title From include}}")
            .file("src/ch.md", "{{#title First}}\n{{#include t.md}}\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.title.as_deref(), Some("From include"));
        assert_eq!(e.text, "\n\n");
    }

    #[test]
    fn quoted_paths_may_hold_spaces_and_quotes() {
        let book = Book::new();
        book.file("src/my file.txt", LOREM)
            .file("src/say \"hi\".txt", "hi\n");
        assert_eq!(
            book.directive(r#"{{#include "my file.txt":2:3}}"#),
            "ipsum\ndolor"
        );
        assert_eq!(
            book.directive(r#"{{#include "my file.txt"}}"#),
            LOREM.trim_end()
        );
        assert_eq!(
            book.directive(r#"{{#rustdoc_include "my file.txt":4:}}"#),
            "# Lorem\n# ipsum\n# dolor\nsit\namet"
        );
        assert_eq!(book.directive(r#"{{#include "say \"hi\".txt"}}"#), "hi");
        assert_eq!(
            book.directive("{{#playground \"my file.txt\" editable}}"),
            format!("```rust,editable\n{LOREM}```")
        );
    }

    #[test]
    fn directive_may_span_lines_and_have_spaces_inside_the_braces() {
        let book = Book::new();
        book.file("src/lorem.txt", LOREM);
        assert_eq!(book.directive("{{ #include\n   lorem.txt:2\n}}"), "ipsum");
    }

    #[test]
    fn crlf_files_are_included_with_lf() {
        let book = Book::new();
        book.file("src/w.txt", "a\r\nb\r\n");
        assert_eq!(book.directive("{{#include w.txt}}"), "a\nb");
    }

    // --- text around an include ----------------------------------------------------------

    #[test]
    fn text_before_the_directive_prefixes_every_included_line() {
        let book = Book::new();
        book.file("src/s.js", "function f() {\n  return 1;\n}\n")
            .file(
                "src/ch.md",
                "1. Step:\n\n   ```js\n   {{#include s.js}}\n   ```\n",
            );
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(
            e.text,
            "1. Step:\n\n   ```js\n   function f() {\n     return 1;\n   }\n   ```\n"
        );
        assert_eq!(
            origins(&e)[3..6],
            ["src/s.js:1", "src/s.js:2", "src/s.js:3"]
        );
    }

    #[test]
    fn includes_stay_inside_a_block_quote() {
        let book = Book::new();
        book.file("src/s.rs", "fn main() {\n}\n")
            .file("src/ch.md", "> ```rust\n> {{#include s.rs}}\n> ```\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "> ```rust\n> fn main() {\n> }\n> ```\n");
        assert_eq!(
            origins(&e),
            ["src/ch.md:1", "src/s.rs:1", "src/s.rs:2", "src/ch.md:3"]
        );
    }

    #[test]
    fn inline_includes_keep_the_surrounding_text() {
        let book = Book::new();
        book.file("src/v.txt", "1.2\n")
            .file("src/ch.md", "Version {{#include v.txt}} is out.\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "Version 1.2 is out.\n");
        // The line starts with chapter text, so errors on it point at the chapter.
        assert_eq!(origins(&e), ["src/ch.md:1"]);
    }

    #[test]
    fn an_empty_include_leaves_nothing() {
        let book = Book::new();
        book.file("src/empty.txt", "")
            .file("src/ch.md", "a\n{{#include empty.txt}}\nb");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "a\n\nb");
        assert_eq!(origins(&e), ["src/ch.md:1", "src/ch.md:2", "src/ch.md:3"]);
    }

    // --- escapes and other directives ----------------------------------------------------

    #[test]
    fn escaped_includes_become_literal_text() {
        let book = Book::new();
        book.file(
            "src/ch.md",
            "```hbs\n\\{{#include missing.rs}} << an escaped link!\n\\{{#title Not a title}}\n\\{{#include}}\n```\n",
        );
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(
            e.text,
            "```hbs\n{{#include missing.rs}} << an escaped link!\n{{#title Not a title}}\n{{#include}}\n```\n"
        );
        assert_eq!(e.title, None);
        assert!(e.dependencies.is_empty());
    }

    #[test]
    fn other_directives_are_left_exactly_as_written() {
        let book = Book::new();
        let text = "{{#bench mandelbrot scalar}} \\{{#measure a median}} {{#machine}}\n\
                    {{#frobnicate x}} \\{{#unknown}}\n";
        book.file("src/ch.md", text);
        assert_eq!(book.text("src/ch.md"), text);
    }

    #[test]
    fn escapes_and_directives_in_included_text_are_handled_there() {
        let book = Book::new();
        book.file("src/lorem.txt", LOREM)
            .file(
                "src/part.md",
                "\\{{#include lorem.txt}}\n{{#include lorem.txt:1}}\n{{#bench k}}\n",
            )
            .file("src/ch.md", "{{#include part.md}}\n");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "{{#include lorem.txt}}\nLorem\n{{#bench k}}\n");
        assert_eq!(
            origins(&e),
            ["src/part.md:1", "src/lorem.txt:1", "src/part.md:3"]
        );
    }

    #[test]
    fn unescaping_is_not_repeated_by_the_including_file() {
        // The escape in b.md yields `{{#include c.md}}`; a.md must not expand it again.
        let book = Book::new();
        book.file("src/b.md", "\\{{#include c.md}}")
            .file("src/a.md", "{{#include b.md}}");
        assert_eq!(book.text("src/a.md"), "{{#include c.md}}");
    }

    // --- paths -------------------------------------------------------------------------

    #[test]
    fn nested_includes_resolve_relative_to_the_included_file() {
        let book = Book::new();
        book.file(
            "kernels/src/k.rs",
            "// ANCHOR: body\nlet x = 1;\n// ANCHOR_END: body\n",
        )
        .file(
            "guides/parts/p.md",
            "Part\n{{#include ../../kernels/src/k.rs:body}}\n",
        )
        .file("guides/ch.md", "# Chapter\n{{#include parts/p.md}}\n");
        let e = book.expand("guides/ch.md").expect("expands");
        assert_eq!(e.text, "# Chapter\nPart\nlet x = 1;\n");
        assert_eq!(
            origins(&e),
            [
                "guides/ch.md:1",
                "guides/parts/p.md:1",
                "kernels/src/k.rs:2"
            ]
        );
        assert_eq!(
            e.dependencies.into_iter().collect::<Vec<_>>(),
            [
                book.root.join("guides/parts/p.md"),
                book.root.join("kernels/src/k.rs")
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_the_root_are_followed() {
        let book = Book::new();
        book.file("shared/real.txt", "real\n");
        fs::create_dir_all(book.root.join("src")).expect("mkdir");
        std::os::unix::fs::symlink(
            book.root.join("shared/real.txt"),
            book.root.join("src/alias.txt"),
        )
        .expect("symlink");
        book.file("src/ch.md", "{{#include alias.txt}}");
        let e = book.expand("src/ch.md").expect("expands");
        assert_eq!(e.text, "real");
        assert_eq!(
            e.dependencies.into_iter().collect::<Vec<_>>(),
            [book.root.join("shared/real.txt")]
        );
        // Shown as written, so the user recognises it.
        assert_eq!(e.origins[0].file, Path::new("src/alias.txt"));
    }

    #[cfg(unix)]
    #[test]
    fn a_root_given_through_a_symlink_still_works() {
        let book = Book::new();
        book.file("src/in.txt", "in")
            .file("src/ch.md", "{{#include in.txt}}");
        let link = book.outside().join("book-link");
        std::os::unix::fs::symlink(&book.root, &link).expect("symlink");
        let e = expand("{{#include in.txt}}", &link.join("src/ch.md"), &link).expect("expands");
        assert_eq!(e.text, "in");
        assert_eq!(e.origins[0].file, Path::new("src/in.txt"));
    }

    // --- errors ------------------------------------------------------------------------

    #[test]
    fn missing_file_is_reported_at_the_directive() {
        let book = Book::new();
        book.file("guides/ch.md", "# T\n\nSee: {{#include nope.rs:3}}\n");
        let e = book.error("guides/ch.md");
        assert_eq!(e.location(), "guides/ch.md:3:6");
        assert!(e.message.contains("`guides/nope.rs` not found"), "{e}");
        assert!(
            e.help
                .as_deref()
                .unwrap_or("")
                .contains("relative to `guides`"),
            "{e}"
        );
    }

    #[test]
    fn missing_anchor_lists_the_anchors_that_exist() {
        let book = Book::new();
        book.file("src/k.rs", "// ANCHOR: setup\n// ANCHOR_END: setup\n// ANCHOR: run\n// ANCHOR_END: run\n// ANCHOR: setup\n")
            .file("src/plain.rs", "fn f() {}\n")
            .file("src/ch.md", "x\n  {{#include k.rs:stup}}\n")
            .file("src/ch2.md", "{{#rustdoc_include plain.rs:main}}\n");
        let e = book.error("src/ch.md");
        assert_eq!(e.location(), "src/ch.md:2:3");
        assert!(e.message.contains("anchor `stup` not found"), "{e}");
        assert!(
            e.help
                .as_deref()
                .unwrap_or("")
                .contains("anchors in the file: setup, run;"),
            "{e}"
        );
        let e = book.error("src/ch2.md");
        assert!(e.message.contains("anchor `main` not found"), "{e}");
        assert!(
            e.help.as_deref().unwrap_or("").contains("no anchors"),
            "{e}"
        );
    }

    #[test]
    fn ranges_out_of_the_file_or_malformed_are_errors() {
        let book = Book::new();
        book.file("src/lorem.txt", LOREM);
        let cases = [
            (
                "lorem.txt:6",
                "line 6 is past the end of the file, which has 5 lines",
            ),
            ("lorem.txt:7:9", "line 7 is past the end"),
            ("lorem.txt:0", "line 0 does not exist"),
            ("lorem.txt::0", "line 0 does not exist"),
            (
                "lorem.txt:4:2",
                "ends at line 2, before it starts at line 4",
            ),
            ("lorem.txt:2:x", "`x` is not a line number"),
            ("lorem.txt:1:2:3", "unexpected `:3` after the line range"),
            ("lorem.txt:name:2", "unexpected `:2` after the anchor name"),
        ];
        for (args, expected) in cases {
            book.file("src/ch.md", format!("\n{{{{#include {args}}}}}"));
            let e = book.error("src/ch.md");
            assert_eq!(e.location(), "src/ch.md:2:1", "{args}");
            assert!(e.message.contains(expected), "{args}: {e}");
            assert!(e.help.is_some(), "{args}");
        }
        book.file("src/ch.md", "{{#rustdoc_include lorem.txt:9}}");
        assert!(book.error("src/ch.md").message.contains("past the end"));
        book.file("src/empty.txt", "")
            .file("src/ch.md", "{{#include empty.txt:1}}");
        assert!(
            book.error("src/ch.md")
                .message
                .contains("which has 0 lines")
        );
    }

    #[test]
    fn malformed_arguments_are_errors() {
        let book = Book::new();
        book.file("src/my file.txt", "x");
        let cases = [
            (
                "{{#include my file.txt}}",
                "unexpected `file.txt` after the path",
            ),
            ("{{#include \"my file.txt}}", "no closing `\"`"),
            ("{{#include \"my file.txt\" extra}}", "unexpected `extra`"),
            ("{{#include}}", "needs a path"),
            ("{{#rustdoc_include   }}", "needs a path"),
            ("{{#include :3}}", "needs a path"),
            ("{{#playground}}", "needs a path"),
            ("{{#title}}", "needs the page title"),
        ];
        for (text, expected) in cases {
            book.file("src/ch.md", text);
            let e = book.error("src/ch.md");
            assert_eq!(e.location(), "src/ch.md:1:1", "{text}");
            assert!(e.message.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn relative_path_leaving_the_root_is_refused() {
        let book = Book::new();
        fs::write(book.outside().join("secret.txt"), "secret").expect("write");
        book.file("src/ch.md", "{{#include ../../secret.txt}}");
        let e = book.error("src/ch.md");
        assert_eq!(e.location(), "src/ch.md:1:1");
        assert!(e.message.contains("leaves the book root"), "{e}");
        assert!(
            e.help.as_deref().unwrap_or("").contains("inside the book"),
            "{e}"
        );
        // Even when the file does not exist: nothing outside the root is probed.
        book.file("src/ch.md", "{{#include ../../../nope.txt}}");
        assert!(
            book.error("src/ch.md")
                .message
                .contains("leaves the book root")
        );
        // `..` that stays inside is fine.
        book.file("other/in.txt", "in")
            .file("src/ch.md", "{{#include ./../other/in.txt}}");
        assert_eq!(book.text("src/ch.md"), "in");
    }

    #[test]
    fn absolute_path_is_refused() {
        let book = Book::new();
        book.file("src/in.txt", "in");
        let absolute = book.root.join("src/in.txt");
        book.file(
            "src/ch.md",
            format!("{{{{#include {}}}}}", absolute.display()),
        );
        let e = book.error("src/ch.md");
        assert!(e.message.contains("absolute path"), "{e}");
        book.file("src/ch.md", "{{#rustdoc_include /etc/passwd}}");
        assert!(book.error("src/ch.md").message.contains("absolute path"));
        book.file("src/ch.md", "{{#playground /etc/passwd}}");
        assert!(book.error("src/ch.md").message.contains("absolute path"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_to_outside_the_root_is_refused() {
        let book = Book::new();
        let outside = book.outside().join("elsewhere");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::write(outside.join("secret.txt"), "secret").expect("write");
        fs::create_dir_all(book.root.join("src")).expect("mkdir");
        std::os::unix::fs::symlink(
            outside.join("secret.txt"),
            book.root.join("src/file-link.txt"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(&outside, book.root.join("src/dir-link")).expect("symlink");
        for target in ["file-link.txt", "dir-link/secret.txt"] {
            book.file("src/ch.md", format!("ok\n{{{{#include {target}}}}}"));
            let e = book.error("src/ch.md");
            assert_eq!(e.location(), "src/ch.md:2:1", "{target}");
            assert!(e.message.contains("symbolic link"), "{e}");
            assert!(e.message.contains("outside the book root"), "{e}");
        }
    }

    #[test]
    fn include_cycle_is_reported_with_its_chain() {
        let book = Book::new();
        book.file("guides/a.md", "A\n{{#include b.md}}\n")
            .file("guides/b.md", "B\n\n  {{#include a.md}}\n");
        let e = book.error("guides/a.md");
        assert_eq!(e.location(), "guides/b.md:3:3");
        assert!(
            e.message
                .contains("closes an include cycle: guides/a.md -> guides/b.md -> guides/a.md"),
            "{e}"
        );
        book.file("guides/self.md", "{{#include self.md}}");
        assert!(
            book.error("guides/self.md")
                .message
                .contains("guides/self.md -> guides/self.md"),
        );
    }

    #[test]
    fn including_another_part_of_an_ancestor_is_not_a_cycle() {
        let book = Book::new();
        book.file(
            "src/a.md",
            "# A\n{{#include a.md:part}}\n<!-- ANCHOR: part -->\nshared\n<!-- ANCHOR_END: part -->\n",
        );
        assert_eq!(
            book.text("src/a.md"),
            "# A\nshared\n<!-- ANCHOR: part -->\nshared\n<!-- ANCHOR_END: part -->\n"
        );
        // ... but a part that includes itself is.
        book.file(
            "src/b.md",
            "{{#include b.md:part}}\n<!-- ANCHOR: part -->\n{{#include b.md:part}}\n<!-- ANCHOR_END: part -->\n",
        );
        let e = book.error("src/b.md");
        assert!(
            e.message
                .contains("src/b.md -> src/b.md:part -> src/b.md:part"),
            "{e}"
        );
        assert_eq!(e.location(), "src/b.md:3:1");
    }

    /// A chapter including f1.md, which includes f2.md, ... fN.md.
    fn chain(book: &Book, n: usize) {
        for i in 1..n {
            book.file(
                &format!("src/f{i}.md"),
                format!("{{{{#include f{}.md}}}}", i + 1),
            );
        }
        book.file(&format!("src/f{n}.md"), "leaf");
        book.file("src/ch.md", "{{#include f1.md}}");
    }

    #[test]
    fn ten_levels_of_nesting_are_allowed_and_eleven_are_not() {
        let book = Book::new();
        chain(&book, MAX_INCLUDE_DEPTH);
        let e = book.expand("src/ch.md").expect("ten levels");
        assert_eq!(e.text, "leaf");
        assert_eq!(origins(&e), ["src/f10.md:1"]);
        assert_eq!(e.dependencies.len(), 10);

        let book = Book::new();
        chain(&book, MAX_INCLUDE_DEPTH + 1);
        let e = book.error("src/ch.md");
        assert_eq!(e.location(), "src/f10.md:1:1");
        assert!(e.message.contains("more than 10 deep"), "{e}");
        assert!(
            e.message.contains("src/ch.md -> src/f1.md -> src/f2.md"),
            "{e}"
        );
    }

    #[test]
    fn non_utf8_file_is_named() {
        let book = Book::new();
        book.file("src/bin.txt", b"ok\n\xff\xfe\n")
            .file("src/ch.md", "{{#include bin.txt}}");
        let e = book.error("src/ch.md");
        assert_eq!(e.location(), "src/ch.md:1:1");
        assert!(e.message.contains("`src/bin.txt` is not UTF-8"), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn directory_is_not_a_file() {
        let book = Book::new();
        book.file("src/dir/x.txt", "x")
            .file("src/ch.md", "{{#include dir}}");
        assert!(book.error("src/ch.md").message.contains("is a directory"));
    }

    #[test]
    fn errors_in_included_files_point_into_them() {
        let book = Book::new();
        book.file(
            "src/lorem.rs",
            "fn a() {}\nfn b() {}\n    {{#include nope.rs}}\n",
        )
        .file("src/ch.md", "{{#rustdoc_include lorem.rs:1}}");
        let e = book.error("src/ch.md");
        // Line 3 of lorem.rs, hidden as `#     {{#...`: the column is the file's own.
        assert_eq!(e.location(), "src/lorem.rs:3:5");
        assert!(e.message.contains("`src/nope.rs` not found"), "{e}");
    }

    // --- robustness --------------------------------------------------------------------

    #[test]
    fn never_panics_and_keeps_one_origin_per_line() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let book = Book::new();
        book.file("src/a.md", "x\n{{#include b.md}}\n\\{{#include b.md}}\n")
            .file(
                "src/b.md",
                "ANCHOR: k\nline é\n  ANCHOR_END: k\n{{#title T}}",
            )
            .file("src/c.md", "{{#include c.md}}");
        let chapter = book.root.join("src/ch.md");
        let piece = prop_oneof![
            Just("{{#include ".to_owned()),
            Just("{{#rustdoc_include ".to_owned()),
            Just("{{#playground ".to_owned()),
            Just("{{#title ".to_owned()),
            Just("{{#bench ".to_owned()),
            Just("a.md".to_owned()),
            Just("b.md".to_owned()),
            Just("c.md".to_owned()),
            Just("../".to_owned()),
            Just(":".to_owned()),
            Just("k".to_owned()),
            Just("2".to_owned()),
            Just("\"".to_owned()),
            Just("}}".to_owned()),
            Just("\\".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("> ".to_owned()),
            Just("é".to_owned()),
            any::<char>().prop_map(String::from),
        ];
        let soup = proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat());
        let mut runner = TestRunner::new(Config::with_cases(1500));
        runner
            .run(&soup, |text| {
                if let Ok(e) = expand(&text, &chapter, &book.root) {
                    prop_assert_eq!(e.origins.len(), e.text.lines().count());
                    prop_assert!(e.origins.iter().all(|o| o.line >= 1));
                }
                Ok(())
            })
            .expect("property holds");
    }
}
