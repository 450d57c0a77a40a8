//! SUMMARY.md: mdBook's grammar, parsed the way mdBook parses it.
//!
//! ```text
//! summary   ::= title? prefix* part* suffix*
//! title     ::= "# " TEXT                      (the first heading, if it is an h1)
//! prefix    ::= link | "---"                   (before the first list; never nested)
//! part      ::= ("# " TEXT)? (list | "---")+   (numbering continues across parts)
//! list      ::= ("- " | "* " | "1. ") link  list?    (nested by indentation)
//! suffix    ::= link | "---"                   (after the last list; never nested)
//! link      ::= "[" TEXT "]" "(" path? ")"     (an empty path is a draft chapter)
//! ```
//!
//! The parser walks pulldown-cmark's events with the same state machine as mdBook's
//! `SummaryParser`, so it accepts and rejects the same documents and numbers chapters the
//! same way. Its errors carry SUMMARY.md's line and column and say how to fix the entry.
//!
//! Deliberate differences, all about links mdBook would silently drop or mishandle (principle
//! 5 of DESIGN.md: nothing is lost):
//! - a link that mdBook skips (inside an h2 or a block quote between lists, in a paragraph
//!   right after a part title, a second link in one list item, a link in a part title) is an
//!   error, not a vanished chapter;
//! - a second nested list under the same chapter (mdBook keeps only the last one) is an error;
//! - a chapter path that is a URL, is absolute, leaves the source folder, or ends in a
//!   `.md#fragment` is an error (mdBook panics or creates a file with that odd name);
//! - duplicates are found after normalising `./a.md` and `a.md` to the same file.
//!
//! As in current mdBook, a chapter path is percent-decoded (`a%20b.md` is `a b.md`,
//! `number%23one.md` is `number#one.md`; `<a b.md>` works too), and `print.md` and `toc.md` are
//! reserved for generated pages.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Tag, TagEnd};
use serde::Serialize;

use crate::diag::{SourceError, line_col};

/// The parsed SUMMARY.md.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The leading `# Title`, if any (mdBook reads it and does not use it).
    pub title: Option<String>,
    /// Unnumbered chapters before the numbered ones.
    pub prefix: Vec<SummaryItem>,
    /// Numbered chapters, separators and part titles.
    pub numbered: Vec<SummaryItem>,
    /// Unnumbered chapters after the numbered ones.
    pub suffix: Vec<SummaryItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SummaryItem {
    Link(Link),
    /// `---`.
    Separator,
    /// `# Part title` between numbered lists.
    PartTitle(String),
}

/// One chapter entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The link text as plain text (markup such as `code` or *emphasis* removed).
    pub name: String,
    /// The chapter file relative to the source folder, normalised (no `.` components);
    /// `None` for a draft chapter `[Title]()`.
    pub location: Option<PathBuf>,
    /// Section number for numbered chapters ("1.2."), `None` for prefix/suffix chapters.
    pub number: Option<SectionNumber>,
    /// Sub-chapters (only numbered chapters have them).
    pub nested: Vec<SummaryItem>,
    /// 1-based line of the entry in SUMMARY.md.
    pub line: usize,
}

/// A section number such as 1.2 (shown as "1.2.", as mdBook does).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SectionNumber(pub Vec<u32>);

impl fmt::Display for SectionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            // mdBook's choice for the (never used) empty number.
            return write!(f, "0");
        }
        for n in &self.0 {
            write!(f, "{n}.")?;
        }
        Ok(())
    }
}

impl SectionNumber {
    /// Nesting depth: 1 for "1.", 2 for "1.2.".
    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

impl Summary {
    /// Every chapter entry in reading order: prefix, numbered (depth-first), suffix.
    pub fn links(&self) -> Vec<&Link> {
        fn walk<'a>(items: &'a [SummaryItem], out: &mut Vec<&'a Link>) {
            for item in items {
                if let SummaryItem::Link(link) = item {
                    out.push(link);
                    walk(&link.nested, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.prefix, &mut out);
        walk(&self.numbered, &mut out);
        walk(&self.suffix, &mut out);
        out
    }
}

/// Parses the text of a SUMMARY.md; `file` is how errors name it.
pub fn parse_summary(text: &str, file: &Path) -> Result<Summary, SourceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = SummaryParser {
        src: text,
        file,
        events: pulldown_cmark::Parser::new(text)
            .into_offset_iter()
            .collect(),
        pos: 0,
        suffix_start: None,
        seen: HashMap::new(),
    };
    parser.parse()
}

/// How to write entries, shown with most grammar errors.
const GRAMMAR_HELP: &str = "SUMMARY.md lists chapters as links: unnumbered prefix chapters \
    `[Title](file.md)` first, then numbered chapters as list items `- [Title](file.md)` \
    (nested by indenting, optionally grouped under `# Part` titles), then unnumbered suffix \
    chapters";

struct SummaryParser<'a> {
    src: &'a str,
    file: &'a Path,
    events: Vec<(Event<'a>, Range<usize>)>,
    pos: usize,
    /// Where the suffix chapters began (a paragraph after the numbered lists), for errors.
    suffix_start: Option<usize>,
    /// Each chapter file seen so far, with its line, to reject duplicates.
    seen: HashMap<PathBuf, usize>,
}

impl<'a> SummaryParser<'a> {
    fn peek(&self) -> Option<&(Event<'a>, Range<usize>)> {
        self.events.get(self.pos)
    }

    fn bump(&mut self) -> Option<(Event<'a>, Range<usize>)> {
        let ev = self.events.get(self.pos).cloned();
        if ev.is_some() {
            self.pos += 1;
        }
        ev
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> SourceError {
        let (line, column) = line_col(self.src, offset);
        SourceError::new(self.file, line, message).column(column)
    }

    fn line_of(&self, offset: usize) -> usize {
        line_col(self.src, offset).0
    }

    fn parse(&mut self) -> Result<Summary, SourceError> {
        let title = self.parse_title()?;
        let prefix = self.parse_affix(true)?;
        let numbered = self.parse_parts()?;
        let suffix = self.parse_affix(false)?;
        Ok(Summary {
            title,
            prefix,
            numbered,
            suffix,
        })
    }

    /// The first h1, skipping HTML (comments) before it.
    fn parse_title(&mut self) -> Result<Option<String>, SourceError> {
        loop {
            match self.peek() {
                Some((
                    Event::Start(Tag::Heading {
                        level: HeadingLevel::H1,
                        ..
                    }),
                    _,
                )) => {
                    self.bump();
                    return self.heading_text().map(Some);
                }
                Some((
                    Event::Html(_)
                    | Event::InlineHtml(_)
                    | Event::Start(Tag::HtmlBlock)
                    | Event::End(TagEnd::HtmlBlock),
                    _,
                )) => {
                    self.bump();
                }
                _ => return Ok(None),
            }
        }
    }

    /// The plain text of an h1 whose start was just consumed, up to its end.
    fn heading_text(&mut self) -> Result<String, SourceError> {
        let mut events = Vec::new();
        while let Some((ev, range)) = self.bump() {
            match ev {
                Event::End(TagEnd::Heading(HeadingLevel::H1)) => break,
                Event::Start(Tag::Link { .. }) => {
                    return Err(self
                        .error_at(range.start, "a title heading cannot contain a link")
                        .help(
                            "a `# heading` in SUMMARY.md is the book's or a part's title, and \
                             mdBook would drop this link: put the chapter on its own line, as \
                             `- [Title](file.md)` below the heading",
                        ));
                }
                other => events.push(other),
            }
        }
        Ok(stringify(&events))
    }

    /// Prefix (`is_prefix`) or suffix chapters: links and separators anywhere, until a list
    /// or h1 (which starts the numbered chapters, and is an error after the suffix).
    fn parse_affix(&mut self, is_prefix: bool) -> Result<Vec<SummaryItem>, SourceError> {
        let mut items = Vec::new();
        while let Some((ev, range)) = self.peek().cloned() {
            match ev {
                Event::Start(Tag::List(_))
                | Event::Start(Tag::Heading {
                    level: HeadingLevel::H1,
                    ..
                }) => {
                    if is_prefix {
                        break;
                    }
                    return Err(self.after_suffix_error(&ev, range.start));
                }
                Event::Start(Tag::Link { dest_url, .. }) => {
                    self.bump();
                    let link = self.parse_link(&dest_url, range.start)?;
                    items.push(SummaryItem::Link(link));
                }
                Event::Rule => {
                    self.bump();
                    items.push(SummaryItem::Separator);
                }
                _ => {
                    self.bump();
                }
            }
        }
        Ok(items)
    }

    fn after_suffix_error(&self, ev: &Event<'_>, offset: usize) -> SourceError {
        let what = if matches!(ev, Event::Start(Tag::List(_))) {
            "a list of numbered chapters cannot follow the suffix chapters"
        } else {
            "a part title cannot follow the suffix chapters"
        };
        let began = match self.suffix_start {
            Some(s) => format!(
                "the suffix chapters began with the paragraph at line {}: ",
                self.line_of(s)
            ),
            None => String::new(),
        };
        self.error_at(offset, what).help(format!(
            "{began}after the numbered chapters, any paragraph (a plain link or text) starts the \
             unnumbered suffix chapters, which must come last. Make the paragraph a list item, \
             move it to the end, or turn text into an HTML comment `<!-- ... -->`"
        ))
    }

    /// Numbered chapters, grouped into parts by h1 titles, until the suffix or the end.
    fn parse_parts(&mut self) -> Result<Vec<SummaryItem>, SourceError> {
        let mut parts = Vec::new();
        // Numbering continues through all parts (and past separators), as in mdBook.
        let mut root_items = 0u32;
        loop {
            let title = match self.peek() {
                Some((Event::Start(Tag::Paragraph), range)) => {
                    self.suffix_start = Some(range.start);
                    break;
                }
                Some((
                    Event::Start(Tag::Heading {
                        level: HeadingLevel::H1,
                        ..
                    }),
                    _,
                )) => {
                    self.bump();
                    Some(self.heading_text()?)
                }
                Some(_) => None,
                None => break,
            };
            let numbered = self.parse_numbered(&mut root_items)?;
            if let Some(title) = title {
                parts.push(SummaryItem::PartTitle(title));
            }
            parts.extend(numbered);
        }
        Ok(parts)
    }

    /// One part's numbered lists (and separators), until an h1, a paragraph after the first
    /// event (the suffix), or the end.
    fn parse_numbered(&mut self, root_items: &mut u32) -> Result<Vec<SummaryItem>, SourceError> {
        let mut items = Vec::new();
        // mdBook skips the opening of a paragraph that directly follows a part title; what the
        // paragraph contains is then ignored (and a link in it, silently dropped: an error here).
        let mut first = true;
        while let Some((ev, range)) = self.peek().cloned() {
            match ev {
                Event::Start(Tag::Paragraph) => {
                    if !first {
                        self.suffix_start = Some(range.start);
                        break;
                    }
                    self.bump();
                }
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H1,
                    ..
                }) => break,
                Event::Start(Tag::List(_)) => {
                    self.bump();
                    let mut bunch = self.parse_list(&SectionNumber::default())?;
                    // Each list is numbered from 1; shift it after the lists before it.
                    shift_root_numbers(&mut bunch, *root_items);
                    *root_items = root_items.saturating_add(bunch.len() as u32);
                    items.extend(bunch);
                }
                Event::Start(Tag::Link { .. }) => {
                    return Err(self.dropped_link(range.start));
                }
                Event::Start(_) => {
                    // Anything else (an h2, a block quote, a comment) is skipped whole.
                    self.skip_block()?;
                }
                Event::Rule => {
                    self.bump();
                    items.push(SummaryItem::Separator);
                }
                _ => {
                    self.bump();
                }
            }
            first = false;
        }
        Ok(items)
    }

    /// Skips a block whose start is next, with everything inside; a link inside would be lost.
    fn skip_block(&mut self) -> Result<(), SourceError> {
        let mut depth = 0usize;
        while let Some((ev, range)) = self.bump() {
            match ev {
                Event::Start(Tag::Link { .. }) => return Err(self.dropped_link(range.start)),
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn dropped_link(&self, offset: usize) -> SourceError {
        self.error_at(
            offset,
            "this link is not a chapter entry: it is neither a list item nor a prefix or suffix \
             chapter (mdBook would silently ignore it)",
        )
        .help(GRAMMAR_HELP)
    }

    /// The items of a list whose start was just consumed, numbered under `parent`.
    fn parse_list(&mut self, parent: &SectionNumber) -> Result<Vec<SummaryItem>, SourceError> {
        let mut items: Vec<SummaryItem> = Vec::new();
        // Line where the last item's nested list began, to report a second one.
        let mut nested_from: Option<usize> = None;
        while let Some((ev, range)) = self.bump() {
            match ev {
                Event::Start(Tag::Item) => {
                    let item = self.parse_item(parent, items.len(), range.start)?;
                    items.push(item);
                    nested_from = None;
                }
                Event::Start(Tag::List(_)) => {
                    let Some(SummaryItem::Link(last)) = items.last() else {
                        // mdBook skips a list start before any item.
                        continue;
                    };
                    let number = last.number.clone().unwrap_or_default();
                    let (name, item_line) = (last.name.clone(), last.line);
                    let list_line = self.line_of(range.start);
                    if let Some(first_line) = nested_from {
                        return Err(self
                            .error_at(
                                range.start,
                                format!(
                                    "chapter `{name}` (line {item_line}) already has a list of \
                                     sub-chapters starting at line {first_line}; this second \
                                     list would replace it (mdBook drops the first one)"
                                ),
                            )
                            .help(
                                "make it one list: use the same bullet character (`-` or `*`) \
                                 for all sub-chapters and remove the text between them",
                            ));
                    }
                    nested_from = Some(list_line);
                    let sub = self.parse_list(&number)?;
                    if let Some(SummaryItem::Link(last)) = items.last_mut() {
                        last.nested = sub;
                    }
                }
                Event::End(TagEnd::List(_)) => break,
                Event::Start(Tag::Link { .. }) => {
                    let name = items
                        .last()
                        .and_then(|i| match i {
                            SummaryItem::Link(l) => Some(l.name.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    return Err(self
                        .error_at(
                            range.start,
                            format!(
                                "a second link in the list item of `{name}`: a list item holds \
                                 one chapter (mdBook would silently ignore this link)"
                            ),
                        )
                        .help(
                            "put each chapter on its own line as `- [Title](file.md)`; a plain \
                             link meant as a suffix chapter needs a blank line before it, or \
                             Markdown continues the list item",
                        ));
                }
                _ => {}
            }
        }
        Ok(items)
    }

    /// A list item whose start was just consumed: it must open with a link.
    fn parse_item(
        &mut self,
        parent: &SectionNumber,
        existing: usize,
        item_start: usize,
    ) -> Result<SummaryItem, SourceError> {
        loop {
            let Some((ev, range)) = self.bump() else {
                return Err(self.not_a_link(item_start, None));
            };
            match ev {
                Event::Start(Tag::Paragraph) => continue,
                Event::Start(Tag::Link { dest_url, .. }) => {
                    let mut link = self.parse_link(&dest_url, range.start)?;
                    let mut number = parent.clone();
                    number.0.push(existing as u32 + 1);
                    link.number = Some(number);
                    return Ok(SummaryItem::Link(link));
                }
                Event::Text(_) => {
                    // The rest of the source line, since the text event may be split at `[`.
                    let rest = self.src[range.start..].lines().next().unwrap_or("");
                    return Err(self.not_a_link(range.start, Some(rest)));
                }
                Event::End(TagEnd::Item) => return Err(self.not_a_link(item_start, None)),
                _ => return Err(self.not_a_link(range.start, None)),
            }
        }
    }

    fn not_a_link(&self, offset: usize, text: Option<&str>) -> SourceError {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        let message = match text {
            Some(t) => format!("list item `{t}` is not a link to a chapter"),
            None => "a list item must start with a link to a chapter".to_string(),
        };
        let draft = "a link may not be wrapped in other markup such as **bold**";
        let help = match text {
            // `[Title] (file.md)`: the space breaks the link.
            Some(t) if t.starts_with('[') && t.contains("] (") => {
                let fixed = t.replacen("] (", "](", 1);
                format!("remove the space between `]` and `(`: `- {fixed}`")
            }
            // `[Title]` with no target.
            Some(t) if t.starts_with('[') && t.ends_with(']') => {
                let title = &t[1..t.len() - 1];
                format!(
                    "add the chapter file: `- [{title}](file.md)`, or `- [{title}]()` for a \
                     draft chapter that has no file yet"
                )
            }
            _ => {
                let title = text.unwrap_or("Title");
                format!(
                    "write `- [{title}](file.md)`, or `- [{title}]()` for a draft chapter that \
                     has no file yet; {draft}"
                )
            }
        };
        self.error_at(offset, message).help(help)
    }

    /// A link whose start was just consumed: its text up to the end, and its checked target.
    fn parse_link(&mut self, dest: &str, start: usize) -> Result<Link, SourceError> {
        let mut events = Vec::new();
        while let Some((ev, _)) = self.bump() {
            if matches!(ev, Event::End(TagEnd::Link)) {
                break;
            }
            events.push(ev);
        }
        let name = stringify(&events);
        let location = if dest.is_empty() {
            None
        } else {
            let path = self.check_location(dest, start)?;
            if let Some(first) = self.seen.get(&path) {
                return Err(self
                    .error_at(
                        start,
                        format!(
                            "duplicate file in SUMMARY.md: `{}` is already listed at line {first}",
                            path.display()
                        ),
                    )
                    .help(
                        "each chapter file can appear once; link to it from the other chapter's \
                         text instead",
                    ));
            }
            self.seen.insert(path.clone(), self.line_of(start));
            Some(path)
        };
        Ok(Link {
            name,
            location,
            number: None,
            nested: Vec::new(),
            line: self.line_of(start),
        })
    }

    /// A chapter target must be a relative path that stays inside the source folder. `href` is
    /// the link destination as written; the path is its percent-decoded form.
    fn check_location(&self, href: &str, start: usize) -> Result<PathBuf, SourceError> {
        let bad = |message: String, help: &str| Err(self.error_at(start, message).help(help));
        let lower = href.to_ascii_lowercase();
        if href.contains("://") || lower.starts_with("mailto:") {
            return bad(
                format!("`{href}` is a URL, not a chapter file"),
                "SUMMARY.md entries are Markdown files relative to the source folder; link to \
                 other sites from a chapter's text",
            );
        }
        if let Some((file, fragment)) = href.split_once('#')
            && file.ends_with(".md")
            && !fragment.is_empty()
        {
            return bad(
                format!("`{href}` links to a section; a chapter entry names a whole file"),
                &format!("write `{file}`, and link to the section from a chapter's text"),
            );
        }
        let decoded = percent_decode(href);
        let path = Path::new(&decoded);
        if path.has_root() {
            return bad(
                format!("chapter path `{href}` is absolute"),
                "chapter paths are relative to the source folder (`[book] src`, default `src`): \
                 drop the leading `/`",
            );
        }
        let mut normal = PathBuf::new();
        for component in path.components() {
            match component {
                Component::CurDir => {}
                Component::Normal(part) => normal.push(part),
                Component::ParentDir => {
                    if !normal.pop() {
                        return bad(
                            format!("chapter path `{href}` leaves the source folder"),
                            "chapters must live inside the source folder; to show a file from \
                             elsewhere, write a chapter inside it that uses \
                             {{#include ../path/to/file}}",
                        );
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return bad(
                        format!("chapter path `{href}` is absolute"),
                        "chapter paths are relative to the source folder",
                    );
                }
            }
        }
        if normal.as_os_str().is_empty() {
            return bad(
                format!("chapter path `{href}` names the source folder, not a file"),
                "name a Markdown file such as `README.md`",
            );
        }
        // As in mdBook: these would collide with the generated print.html and toc.html.
        for reserved in ["print.md", "toc.md"] {
            if normal == Path::new(reserved) {
                return bad(
                    format!("{reserved} is reserved for internal use"),
                    "the site generates a page of that name; rename the chapter file",
                );
            }
        }
        Ok(normal)
    }
}

/// Decodes `%XX` escapes, as mdBook does for chapter paths. A result that is not UTF-8 keeps
/// the text as written; a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Adds `by` to the top-level number of every item (and of their sub-chapters).
fn shift_root_numbers(items: &mut [SummaryItem], by: u32) {
    for item in items {
        if let SummaryItem::Link(link) = item {
            if let Some(first) = link.number.as_mut().and_then(|n| n.0.first_mut()) {
                *first = first.saturating_add(by);
            }
            shift_root_numbers(&mut link.nested, by);
        }
    }
}

/// The plain text of inline events, as mdBook computes link and title names.
fn stringify(events: &[Event<'_>]) -> String {
    let mut out = String::new();
    for ev in events {
        match ev {
            Event::Text(t) | Event::Code(t) => out.push_str(t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Summary, SourceError> {
        parse_summary(text, Path::new("src/SUMMARY.md"))
    }

    fn err(text: &str) -> SourceError {
        match parse(text) {
            Ok(s) => panic!("expected an error, got {s:#?}"),
            Err(e) => e,
        }
    }

    fn link(item: &SummaryItem) -> &Link {
        match item {
            SummaryItem::Link(l) => l,
            other => panic!("not a link: {other:?}"),
        }
    }

    /// "number name location" for each numbered entry, depth-first, to compare compactly.
    fn outline(items: &[SummaryItem]) -> Vec<String> {
        fn walk(items: &[SummaryItem], out: &mut Vec<String>) {
            for item in items {
                match item {
                    SummaryItem::Link(l) => {
                        out.push(format!(
                            "{} {} {}",
                            l.number
                                .as_ref()
                                .map(|n| n.to_string())
                                .unwrap_or("-".into()),
                            l.name,
                            l.location
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or("(draft)".into())
                        ));
                        walk(&l.nested, out);
                    }
                    SummaryItem::Separator => out.push("---".into()),
                    SummaryItem::PartTitle(t) => out.push(format!("# {t}")),
                }
            }
        }
        let mut out = Vec::new();
        walk(items, &mut out);
        out
    }

    #[test]
    fn empty_summary() {
        assert_eq!(parse("").unwrap(), Summary::default());
        assert_eq!(parse("\n\n").unwrap(), Summary::default());
    }

    #[test]
    fn title_only() {
        let s = parse("# Summary\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
        assert!(s.prefix.is_empty() && s.numbered.is_empty() && s.suffix.is_empty());
    }

    #[test]
    fn title_with_markup_and_setext() {
        let s = parse("# My **Awesome** `Summary`\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("My Awesome Summary"));
        let s = parse("Summary\n=======\n\n- [A](a.md)\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
        assert_eq!(outline(&s.numbered), ["1. A a.md"]);
    }

    #[test]
    fn no_title_when_first_block_is_not_h1() {
        let s = parse("[Intro](intro.md)\n").unwrap();
        assert_eq!(s.title, None);
        assert_eq!(outline(&s.prefix), ["- Intro intro.md"]);
        let s = parse("## Summary\n- [A](a.md)\n").unwrap();
        assert_eq!(s.title, None);
    }

    #[test]
    fn html_comment_before_title_is_skipped() {
        let s = parse("<!-- generated -->\n# Summary\n\n- [A](a.md)\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
    }

    #[test]
    fn prefix_chapters_and_separators() {
        let s = parse(
            "# Summary\n\n[First](./first.md)\n[Second](second.md)\n\n---\n\n[Third](third.md)\n",
        )
        .unwrap();
        assert_eq!(
            outline(&s.prefix),
            [
                "- First first.md",
                "- Second second.md",
                "---",
                "- Third third.md"
            ]
        );
        assert!(link(&s.prefix[0]).number.is_none());
        assert_eq!(link(&s.prefix[0]).line, 3);
        assert_eq!(link(&s.prefix[3]).line, 8);
    }

    #[test]
    fn numbered_nested_chapters() {
        let s = parse(
            "# Summary\n\n- [First](first.md)\n  - [Nested](nested.md)\n    - [Deep](deep.md)\n  - [Nested 2](n2.md)\n- [Second](second.md)\n",
        )
        .unwrap();
        assert_eq!(
            outline(&s.numbered),
            [
                "1. First first.md",
                "1.1. Nested nested.md",
                "1.1.1. Deep deep.md",
                "1.2. Nested 2 n2.md",
                "2. Second second.md"
            ]
        );
        let first = link(&s.numbered[0]);
        assert_eq!(first.line, 3);
        assert_eq!(link(&first.nested[1]).line, 6);
    }

    #[test]
    fn star_bullets_tabs_and_ordered_lists() {
        let s = parse("* [A](a.md)\n\t* [B](b.md)\n* [C](c.md)\n").unwrap();
        assert_eq!(
            outline(&s.numbered),
            ["1. A a.md", "1.1. B b.md", "2. C c.md"]
        );
        let s = parse("1. [A](a.md)\n2. [B](b.md)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md", "2. B b.md"]);
    }

    #[test]
    fn loose_lists_work() {
        let s = parse("- [A](a.md)\n\n- [B](b.md)\n\n  - [C](c.md)\n").unwrap();
        assert_eq!(
            outline(&s.numbered),
            ["1. A a.md", "2. B b.md", "2.1. C c.md"]
        );
    }

    #[test]
    fn part_titles_continue_numbering() {
        let s = parse(
            "# Summary\n\n[Intro](intro.md)\n\n# Part One\n\n- [A](a.md)\n- [B](b.md)\n\n# Part Two\n\n- [C](c.md)\n  - [D](d.md)\n",
        )
        .unwrap();
        assert_eq!(outline(&s.prefix), ["- Intro intro.md"]);
        assert_eq!(
            outline(&s.numbered),
            [
                "# Part One",
                "1. A a.md",
                "2. B b.md",
                "# Part Two",
                "3. C c.md",
                "3.1. D d.md"
            ]
        );
    }

    #[test]
    fn part_title_right_after_the_title() {
        let s = parse("# Summary\n# Part\n- [A](a.md)\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
        assert_eq!(outline(&s.numbered), ["# Part", "1. A a.md"]);
    }

    #[test]
    fn part_title_without_chapters() {
        let s = parse("- [A](a.md)\n# Empty part\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md", "# Empty part"]);
    }

    #[test]
    fn text_after_part_title_is_ignored() {
        // mdBook skips the paragraph that directly follows a part title.
        let s =
            parse("# Summary\n\n# Part\n\nSome words about the part.\n\n- [A](a.md)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["# Part", "1. A a.md"]);
    }

    #[test]
    fn numbering_continues_after_separators_and_comments() {
        let s = parse("- [A](a.md)\n---\n- [B](b.md)\n<!-- c -->\n- [C](c.md)\n  - [D](d.md)\n")
            .unwrap();
        assert_eq!(
            outline(&s.numbered),
            ["1. A a.md", "---", "2. B b.md", "3. C c.md", "3.1. D d.md"]
        );
    }

    #[test]
    fn subheadings_between_lists_are_skipped() {
        // As in the Rust book's SUMMARY.md.
        let s = parse("- [A](a.md)\n\n## Basic literacy\n\n- [B](b.md)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md", "2. B b.md"]);
    }

    #[test]
    fn draft_chapters() {
        let s = parse("- [Draft]()\n  - [Sub](sub.md)\n  - [Sub draft](<>)\n\n[Suffix draft]()\n")
            .unwrap();
        assert_eq!(
            outline(&s.numbered),
            [
                "1. Draft (draft)",
                "1.1. Sub sub.md",
                "1.2. Sub draft (draft)"
            ]
        );
        assert_eq!(outline(&s.suffix), ["- Suffix draft (draft)"]);
        let s = parse("[Prefix draft]()\n- [A](a.md)\n").unwrap();
        assert_eq!(outline(&s.prefix), ["- Prefix draft (draft)"]);
    }

    #[test]
    fn suffix_chapters() {
        let s = parse("- [A](a.md)\n\n[Appendix](appendix.md)\n\n---\n\n[Glossary](glossary.md)\n")
            .unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md"]);
        assert_eq!(
            outline(&s.suffix),
            ["- Appendix appendix.md", "---", "- Glossary glossary.md"]
        );
        assert_eq!(link(&s.suffix[2]).line, 7);
    }

    #[test]
    fn every_construct_together() {
        let text = "\
# Summary

[Preface](README.md)
[Foreword](foreword.md)

---

# Getting started

- [Install](start/install.md)
    - [On Linux](start/linux.md)
    - [Draft: Windows]()
- [Hello](start/hello.md)

---

# Reference

- [`book.toml`](ref/config.md)
- [*SUMMARY.md*](ref/summary.md)

---

[Contributors](contributors.md)
";
        let s = parse(text).unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
        assert_eq!(
            outline(&s.prefix),
            ["- Preface README.md", "- Foreword foreword.md", "---"]
        );
        assert_eq!(
            outline(&s.numbered),
            [
                "# Getting started",
                "1. Install start/install.md",
                "1.1. On Linux start/linux.md",
                "1.2. Draft: Windows (draft)",
                "2. Hello start/hello.md",
                "---",
                "# Reference",
                "3. book.toml ref/config.md",
                "4. SUMMARY.md ref/summary.md",
                "---"
            ]
        );
        assert_eq!(outline(&s.suffix), ["- Contributors contributors.md"]);
        let names: Vec<&str> = s.links().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Preface",
                "Foreword",
                "Install",
                "On Linux",
                "Draft: Windows",
                "Hello",
                "book.toml",
                "SUMMARY.md",
                "Contributors"
            ]
        );
    }

    #[test]
    fn book_with_subheadings_drafts_and_remarks() {
        // Shaped like the Rust book's early SUMMARY.md: h2 section headings (skipped), draft
        // chapters, and remarks after a link in a list item (ignored).
        let text = "\
# The Book

## Getting started

- [Introduction](ch01.md)
    - [Installation](ch01-01.md)

- [Guessing game](ch02.md)

## Thinking in the language

- [I/O]()
    - [`Read` & `Write`]()

- [FFI]() (?)
    - [Bindings to C]()

- [Appendix](appendix.md)
    - [Keywords](appendix-01.md)
";
        let s = parse(text).unwrap();
        assert_eq!(s.title.as_deref(), Some("The Book"));
        assert!(s.prefix.is_empty());
        assert_eq!(
            outline(&s.numbered),
            [
                "1. Introduction ch01.md",
                "1.1. Installation ch01-01.md",
                "2. Guessing game ch02.md",
                "3. I/O (draft)",
                "3.1. Read & Write (draft)",
                "4. FFI (draft)",
                "4.1. Bindings to C (draft)",
                "5. Appendix appendix.md",
                "5.1. Keywords appendix-01.md"
            ]
        );
        assert!(s.suffix.is_empty());
    }

    #[test]
    fn long_separator_before_suffix() {
        let s = parse(
            "- [A](a.md)\n    - [B]()\n\n-----------\n\n[Contributors](misc/contributors.md)\n",
        )
        .unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md", "1.1. B (draft)", "---"]);
        assert_eq!(outline(&s.suffix), ["- Contributors misc/contributors.md"]);
    }

    #[test]
    fn link_names_are_plain_text() {
        let s = parse("- [The `perf` *tool* and **more**](perf.md)\n- [Chapter\ntitle](c.md)\n")
            .unwrap();
        assert_eq!(link(&s.numbered[0]).name, "The perf tool and more");
        // A name broken over lines gets a space (mdBook issue 1218).
        assert_eq!(link(&s.numbered[1]).name, "Chapter title");
        // mdBook's `summary_with_markdown_formatting` test book.
        let s = parse(
            "- [*Italic* `code` \\*escape\\* \\`escape2\\`](formatted-summary.md)\n- [Soft line\nbreak](soft.md)\n- [\\<escaped tag\\>](escaped-tag.md)\n",
        )
        .unwrap();
        let names: Vec<&str> = s.links().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Italic code *escape* `escape2`",
                "Soft line break",
                "<escaped tag>"
            ]
        );
    }

    #[test]
    fn spaces_in_paths() {
        let s = parse("- [A](./a%20b.md)\n- [C](<./c d.md>)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a b.md", "2. C c d.md"]);
    }

    #[test]
    fn percent_encoded_paths_are_decoded() {
        // mdBook's test book `percent_encoded_chapter_paths`.
        let s = parse(
            "# Percent-encoded chapter paths\n\n- [Question mark](question%3F.md)\n- [Unicode](spati%C3%ABring.md)\n- [Fragment delimiter](number%23one.md)\n",
        )
        .unwrap();
        assert_eq!(
            outline(&s.numbered),
            [
                "1. Question mark question?.md",
                "2. Unicode spatiëring.md",
                "3. Fragment delimiter number#one.md"
            ]
        );
        assert_eq!(percent_decode("100%25.md"), "100%.md");
        assert_eq!(percent_decode("100%.md"), "100%.md");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(
            percent_decode("%FF.md"),
            "%FF.md",
            "not UTF-8: kept as written"
        );
        // An encoded `..` is still caught.
        assert!(parse("- [A](%2E%2E/x.md)\n").is_err());
    }

    #[test]
    fn paths_are_normalised() {
        let s = parse("- [A](./dir/./a.md)\n- [B](dir/sub/../b.md)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A dir/a.md", "2. B dir/b.md"]);
    }

    #[test]
    fn non_md_targets_are_accepted_like_mdbook() {
        let s = parse("- [Notes](notes.txt)\n- [C#](c#.md)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. Notes notes.txt", "2. C# c#.md"]);
    }

    #[test]
    fn reference_links_resolve() {
        let s = parse("- [A][a]\n\n[a]: chapter-a.md\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A chapter-a.md"]);
    }

    #[test]
    fn skip_html_comments_everywhere() {
        // mdBook's localisation pattern: the original entries kept in comments.
        let text = "<!--\n# Title - En\n-->\n# Title - Local\n\n<!--\n[Prefix - En](p.md)\n-->\n[Prefix - Local](p.md)\n\n<!--\n- [Ch - En](ch.md)\n-->\n- [Ch - Local](ch.md)\n    - [Sub - Local](sub.md)\n\n<!--\n[Appendix - En](app.md)\n-->\n[Appendix - Local](app.md)\n";
        let s = parse(text).unwrap();
        assert_eq!(s.title.as_deref(), Some("Title - Local"));
        assert_eq!(outline(&s.prefix), ["- Prefix - Local p.md"]);
        assert_eq!(
            outline(&s.numbered),
            ["1. Ch - Local ch.md", "1.1. Sub - Local sub.md"]
        );
        assert_eq!(outline(&s.suffix), ["- Appendix - Local app.md"]);
    }

    #[test]
    fn extra_text_after_a_list_link_is_ignored() {
        let s = parse("- [A](a.md) (optional)\n").unwrap();
        assert_eq!(outline(&s.numbered), ["1. A a.md"]);
    }

    #[test]
    fn text_in_prefix_paragraphs_is_ignored() {
        let s = parse("Read [Intro](intro.md) first.\n\n- [A](a.md)\n").unwrap();
        assert_eq!(outline(&s.prefix), ["- Intro intro.md"]);
    }

    #[test]
    fn bom_is_skipped() {
        let s = parse("\u{feff}# Summary\n- [A](a.md)\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("Summary"));
    }

    #[test]
    fn section_number_display() {
        assert_eq!(SectionNumber(vec![1]).to_string(), "1.");
        assert_eq!(SectionNumber(vec![1, 2, 3]).to_string(), "1.2.3.");
        assert_eq!(SectionNumber(vec![]).to_string(), "0");
        assert_eq!(SectionNumber(vec![4, 1]).depth(), 2);
    }

    // ---- errors mdBook reports ----

    #[test]
    fn error_list_after_suffix() {
        let e = err("- [A](a.md)\n\n[Suffix](s.md)\n\n- [B](b.md)\n");
        assert_eq!((e.line, e.column), (5, Some(1)));
        assert!(
            e.message.contains("cannot follow the suffix chapters"),
            "{}",
            e.message
        );
        assert!(e.help.unwrap().contains("at line 3"));
    }

    #[test]
    fn error_list_after_plain_text_paragraph() {
        // Text between numbered lists starts the suffix, so the next list is an error.
        let e = err("- [A](a.md)\n\nSome note.\n\n- [B](b.md)\n");
        assert_eq!(e.line, 5);
        assert!(e.help.unwrap().contains("HTML comment"));
    }

    #[test]
    fn error_part_title_after_suffix() {
        let e = err("- [A](a.md)\n\n[S](s.md)\n\n# Part\n");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("part title"), "{}", e.message);
    }

    #[test]
    fn error_list_directly_after_suffix_link() {
        // mdBook's own test: a list may interrupt the suffix paragraph.
        let e = err("- [A](a.md)\n\n[First](./first.md)\n- [Second](./second.md)\n");
        assert_eq!((e.line, e.column), (4, Some(1)));
    }

    #[test]
    fn error_list_item_without_link() {
        let e = err("- Title\n");
        assert_eq!((e.line, e.column), (1, Some(3)));
        assert_eq!(e.message, "list item `Title` is not a link to a chapter");
        assert!(e.help.unwrap().contains("`- [Title](file.md)`"));
    }

    #[test]
    fn error_nested_item_without_link() {
        let e = err("- [A](a.md)\n  - [Broken] (b.md)\n");
        assert_eq!((e.line, e.column), (2, Some(5)));
        assert!(e.message.contains("`[Broken] (b.md)`"), "{}", e.message);
        assert_eq!(
            e.help.as_deref(),
            Some("remove the space between `]` and `(`: `- [Broken](b.md)`")
        );
        let e = err("- [No target]\n");
        assert!(e.help.unwrap().contains("`- [No target](file.md)`"));
    }

    #[test]
    fn error_empty_list_item() {
        let e = err("- [A](a.md)\n-\n");
        assert_eq!((e.line, e.column), (2, Some(1)));
        assert_eq!(e.message, "a list item must start with a link to a chapter");
    }

    #[test]
    fn error_link_wrapped_in_markup() {
        let e = err("- **[A](a.md)**\n");
        assert_eq!((e.line, e.column), (1, Some(3)));
    }

    #[test]
    fn error_nested_list_without_link() {
        let e = err("- - [A](a.md)\n");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn error_duplicate_files() {
        // mdBook's five duplicate cases.
        for (text, line) in [
            ("# Summary\n- [A](./a.md)\n- [A](./a.md)\n", 3),
            ("# Summary\n- [A](./a.md)\n  - [A](./a.md)\n", 3),
            (
                "# Summary\n- [A](./a.md)\n- [B](./b.md)\n  - [A](./a.md)\n",
                4,
            ),
            ("# Summary\n[A](./a.md)\n- [B](./b.md)\n- [A](./a.md)\n", 4),
            (
                "# Summary\n[A](./a.md)\n\n# hi\n- [B](./b.md)\n\n# bye\n\n---\n\n[A](./a.md)\n",
                11,
            ),
        ] {
            let e = err(text);
            assert_eq!(e.line, line, "{text}");
            assert!(
                e.message
                    .starts_with("duplicate file in SUMMARY.md: `a.md`"),
                "{}",
                e.message
            );
            assert!(e.message.contains("line 2"), "{}", e.message);
        }
    }

    #[test]
    fn error_duplicate_after_normalisation() {
        let e = err("- [A](a.md)\n- [B](./x/../a.md)\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn drafts_are_not_duplicates() {
        let s = parse("- [A]()\n- [B]()\n").unwrap();
        assert_eq!(s.numbered.len(), 2);
    }

    #[test]
    fn duplicate_titles_are_allowed_like_mdbook() {
        let s = parse("- [Intro](a/intro.md)\n- [Intro](b/intro.md)\n").unwrap();
        assert_eq!(s.numbered.len(), 2);
    }

    // ---- errors where mdBook would silently lose a link (deliberate) ----

    #[test]
    fn error_link_in_paragraph_after_part_title() {
        let e = err("# Summary\n# Part\n[Lost](lost.md)\n- [A](a.md)\n");
        assert_eq!((e.line, e.column), (3, Some(1)));
        assert!(e.message.contains("silently ignore"), "{}", e.message);
    }

    #[test]
    fn error_link_in_subheading_between_lists() {
        let e = err("- [A](a.md)\n\n## [Lost](lost.md)\n\n- [B](b.md)\n");
        assert_eq!((e.line, e.column), (3, Some(4)));
    }

    #[test]
    fn error_link_in_block_quote_between_lists() {
        let e = err("- [A](a.md)\n\n> [Lost](lost.md)\n\n- [B](b.md)\n");
        assert_eq!(e.line, 3);
    }

    #[test]
    fn error_second_link_in_item() {
        let e = err("- [A](a.md) [B](b.md)\n");
        assert_eq!((e.line, e.column), (1, Some(13)));
        assert!(
            e.message.contains("second link in the list item of `A`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn error_suffix_link_without_blank_line() {
        // Markdown makes the line a continuation of the item; mdBook drops the link.
        let e = err("- [A](a.md)\n[Appendix](appendix.md)\n");
        assert_eq!((e.line, e.column), (2, Some(1)));
        assert!(e.help.unwrap().contains("blank line"));
    }

    #[test]
    fn error_second_nested_list() {
        let e = err("- [A](a.md)\n  - [B](b.md)\n  * [C](c.md)\n");
        assert_eq!((e.line, e.column), (3, Some(3)));
        assert!(
            e.message
                .contains("already has a list of sub-chapters starting at line 2"),
            "{}",
            e.message
        );
    }

    #[test]
    fn error_link_in_part_title() {
        let e = err("- [A](a.md)\n# [Part](part.md)\n- [B](b.md)\n");
        assert_eq!((e.line, e.column), (2, Some(3)));
    }

    #[test]
    fn error_url_target() {
        let e = err("- [Rust](https://www.rust-lang.org)\n");
        assert_eq!((e.line, e.column), (1, Some(3)));
        assert!(e.message.contains("is a URL"), "{}", e.message);
        let e = err("[Mail](mailto:a@b.c)\n");
        assert!(e.message.contains("is a URL"), "{}", e.message);
    }

    #[test]
    fn error_fragment_target() {
        let e = err("- [A](a.md#intro)\n");
        assert!(e.message.contains("links to a section"), "{}", e.message);
        assert!(e.help.unwrap().contains("write `a.md`"));
    }

    #[test]
    fn error_absolute_target() {
        let e = err("\n- [A](/etc/passwd.md)\n");
        assert_eq!((e.line, e.column), (2, Some(3)));
        assert!(e.message.contains("absolute"), "{}", e.message);
    }

    #[test]
    fn error_target_leaving_src() {
        let e = err("[A](../outside.md)\n");
        assert_eq!((e.line, e.column), (1, Some(1)));
        assert!(
            e.message.contains("leaves the source folder"),
            "{}",
            e.message
        );
        let e = err("- [A](dir/../../x.md)\n");
        assert!(
            e.message.contains("leaves the source folder"),
            "{}",
            e.message
        );
        // Going down and back up inside src is fine.
        assert!(parse("- [A](dir/../x.md)\n").is_ok());
    }

    #[test]
    fn error_target_is_src_itself() {
        let e = err("- [A](./)\n");
        assert!(
            e.message.contains("names the source folder"),
            "{}",
            e.message
        );
    }

    #[test]
    fn error_reserved_names() {
        let e = err("- [Print](print.md)\n");
        assert_eq!(e.message, "print.md is reserved for internal use");
        let e = err("[TOC](./toc.md)\n");
        assert_eq!(e.message, "toc.md is reserved for internal use");
        // Only at the top of the source folder.
        assert!(parse("- [P](sub/print.md)\n").is_ok());
    }

    #[test]
    fn errors_name_the_file() {
        let e = err("- Title\n");
        assert_eq!(e.file, PathBuf::from("src/SUMMARY.md"));
        assert!(e.to_string().starts_with("src/SUMMARY.md:1:3: "), "{e}");
    }

    /// SplitMix64, so the fuzz test needs no extra dependency.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics_and_numbers_are_consistent() {
        const PIECES: &[&str] = &[
            "# ",
            "## ",
            "- ",
            "* ",
            "1. ",
            "  ",
            "    ",
            "\t",
            "\n",
            "\n\n",
            "---",
            "[A](a.md)",
            "[B](b.md)",
            "[C]()",
            "[D](../d.md)",
            "[E](<e f.md>)",
            "[",
            "]",
            "(",
            ")",
            "<!--",
            "-->",
            "> ",
            "`",
            "*",
            "**",
            "text",
            "é",
            "\u{0}",
            "\r\n",
            "[x]: y.md",
            "[x]",
            "<b>",
            "https://x",
            "#",
            "%20",
            "```",
            "===",
        ];
        let mut rng = Rng(7);
        let mut ok = 0;
        for _ in 0..30_000 {
            let n = rng.below(16);
            let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            match parse(&text) {
                Ok(s) => {
                    ok += 1;
                    // Numbered chapters have numbers whose depth matches their nesting.
                    fn check(items: &[SummaryItem], depth: usize) {
                        for item in items {
                            if let SummaryItem::Link(l) = item {
                                assert_eq!(l.number.as_ref().map(|n| n.depth()), Some(depth));
                                check(&l.nested, depth + 1);
                            }
                        }
                    }
                    check(&s.numbered, 1);
                    for l in s.prefix.iter().chain(&s.suffix) {
                        if let SummaryItem::Link(l) = l {
                            assert!(l.number.is_none() && l.nested.is_empty());
                        }
                    }
                    for l in s.links() {
                        assert!(l.line >= 1 && l.line <= text.lines().count().max(1));
                    }
                }
                Err(e) => {
                    assert!(e.line >= 1, "{text:?} -> {e}");
                    assert!(e.column.is_some());
                }
            }
        }
        assert!(
            ok > 1000,
            "the generator should produce many valid summaries ({ok})"
        );
    }
}
