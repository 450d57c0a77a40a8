//! The render stage: Markdown events to HTML.
//!
//! pulldown-cmark parses the expanded chapter (includes done, perfguide directives replaced by
//! placeholder markers); this module rewrites the event stream where the site needs more than
//! CommonMark's HTML: heading ids with permalink anchors, a section number on the chapter's
//! first heading, GitHub-style alerts as admonitions, server-side highlighting of fenced code,
//! `.md` links rewritten to `.html`, images that must have alt text. It also collects what
//! later stages check: every link with its source position, every id on the page.

use std::collections::BTreeSet;

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd,
};

use crate::diag::SourceError;
use crate::highlight::Highlighter;
use crate::include::LineOrigin;
use crate::template::TocEntry;

/// A link found in a chapter, with where it was written, for the link checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    /// The href as it appears in the output (after `.md` -> `.html` rewriting).
    pub href: String,
    /// Where the link was written (file relative to the book root, 1-based line).
    pub origin: LineOrigin,
}

/// One chapter rendered to HTML.
#[derive(Debug, Clone)]
pub struct RenderedChapter {
    pub html: String,
    /// h2/h3 headings for the on-page table of contents.
    pub toc: Vec<TocEntry>,
    /// Plain text of the first h1, if any.
    pub first_heading: Option<String>,
    /// Internal links (relative hrefs and `#fragment`s) to check.
    pub links: Vec<LinkRef>,
}

/// What the renderer needs to know about the chapter.
pub struct RenderInput<'a> {
    /// Markdown after include expansion and directive substitution.
    pub markdown: &'a str,
    /// One entry per line of `markdown`, mapping it to the user's file and line.
    pub origins: &'a [LineOrigin],
    /// Section number shown before the first heading ("1.2."), for numbered chapters.
    pub section_number: Option<&'a str>,
    /// Directive fragments, for markers that stand inside code blocks (replaced by their
    /// plain text before highlighting).
    pub fragments: &'a [crate::directive::Fragment],
}

/// The Markdown extensions perfguide enables: mdBook's set plus GitHub alerts and math.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_GFM
        | Options::ENABLE_MATH
}

/// Renders TeX math to MathML at build time (pulldown-latex), so pages need no script and
/// make no request for a math library. Browsers render MathML Core natively. Every parse
/// event is checked first: pulldown-latex would otherwise render an unknown command as a red
/// `<merror>`, and a broken formula must fail the build instead.
pub fn render_math(tex: &str, display: bool) -> Result<String, String> {
    use pulldown_latex::{Parser as TexParser, RenderConfig, Storage, config::DisplayMode};
    let storage = Storage::new();
    let events: Vec<_> = TexParser::new(tex, &storage).collect();
    if let Some(Err(e)) = events.iter().find(|e| e.is_err()) {
        return Err(e.to_string());
    }
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(tex),
        ..RenderConfig::default()
    };
    let mut out = String::new();
    pulldown_latex::push_mathml(&mut out, events.into_iter(), config).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Renders one chapter.
pub fn render_markdown(
    input: &RenderInput<'_>,
    highlighter: &Highlighter,
) -> Result<RenderedChapter, SourceError> {
    let line_starts = line_starts(input.markdown);
    let origin_of = |offset: usize| -> LineOrigin {
        let line = line_starts.partition_point(|&s| s <= offset).max(1) - 1;
        input
            .origins
            .get(line)
            .or(input.origins.last())
            .cloned()
            .unwrap_or(LineOrigin {
                file: Default::default(),
                line: line + 1,
            })
    };

    let parser = Parser::new_ext(input.markdown, markdown_options()).into_offset_iter();
    let mut out: Vec<Event<'_>> = Vec::new();
    let mut toc = Vec::new();
    let mut links = Vec::new();
    let mut ids = HeadingIds::default();
    let mut first_heading = None;
    let mut numbered_first_h1 = false;

    // State for constructs whose events are collected and re-emitted as one HTML event.
    let mut heading: Option<HeadingState> = None;
    let mut code: Option<(String, String)> = None; // (info, text)
    let mut image_alt: Option<(String, String, usize)> = None; // (url, alt so far, offset)

    for (event, range) in parser {
        // Inside a fenced or indented code block: gather the text, highlight at the end.
        if let Some((info, text)) = code.as_mut() {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let text = crate::directive::replace_in_text(text, input.fragments);
                    let html = highlighter.highlight_block(info, &text);
                    out.push(Event::Html(CowStr::from(html)));
                    code = None;
                }
                _ => {}
            }
            continue;
        }
        // Inside an image: gather the alt text to validate it.
        if let Some((_, alt, _)) = image_alt.as_mut() {
            match &event {
                Event::Text(t) | Event::Code(t) => alt.push_str(t),
                Event::End(TagEnd::Image) => {
                    let (url, alt, offset) = image_alt.take().unwrap_or_default();
                    if alt.trim().is_empty() {
                        let o = origin_of(offset);
                        return Err(SourceError::new(
                            o.file,
                            o.line,
                            format!("the image '{url}' has no alt text"),
                        )
                        .help("describe the image for readers who cannot see it: ![what it shows](path)"));
                    }
                }
                _ => {}
            }
            out.push(event);
            continue;
        }
        if let Some(h) = heading.as_mut() {
            if let Event::End(TagEnd::Heading(_)) = event {
                let Some(h) = heading.take() else { continue };
                let text = h.text.trim().to_string();
                let id = match h.explicit_id {
                    Some(id) => ids.claim_explicit(&id),
                    None => ids.claim(&text),
                };
                let level_num = heading_level(h.level);
                let mut inner = String::new();
                if level_num == 1 && !numbered_first_h1 {
                    numbered_first_h1 = true;
                    if first_heading.is_none() {
                        first_heading = Some(text.clone());
                    }
                    if let Some(n) = input.section_number {
                        inner.push_str(&format!(
                            "<span class=\"section-number\">{}</span> ",
                            escape_html(n)
                        ));
                    }
                }
                pulldown_cmark::html::push_html(&mut inner, h.events.into_iter());
                if level_num == 2 || level_num == 3 {
                    toc.push(TocEntry {
                        level: level_num,
                        id: id.clone(),
                        title: text,
                    });
                }
                let classes = if h.classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", escape_html(&h.classes.join(" ")))
                };
                let attrs: String = h
                    .attrs
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!(" {}=\"{}\"", escape_html(k), escape_html(v)),
                        None => format!(" {}", escape_html(k)),
                    })
                    .collect();
                let id_esc = escape_html(&id);
                out.push(Event::Html(CowStr::from(format!(
                    "<h{level_num} id=\"{id_esc}\"{classes}{attrs}>{inner}<a class=\"header-anchor\" href=\"#{id_esc}\" aria-hidden=\"true\" tabindex=\"-1\">#</a></h{level_num}>\n"
                ))));
                continue;
            }
            if let Event::Text(t) | Event::Code(t) = &event {
                h.text.push_str(t);
            }
            h.events
                .push(rewrite_event(event, range.start, &origin_of, &mut links));
            continue;
        }

        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                heading = Some(HeadingState {
                    level,
                    explicit_id: id.map(|s| s.to_string()),
                    classes: classes.iter().map(|c| c.to_string()).collect(),
                    attrs: attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.as_ref().map(|v| v.to_string())))
                        .collect(),
                    text: String::new(),
                    events: Vec::new(),
                });
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((info, String::new()));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                image_alt = Some((dest_url.to_string(), String::new(), range.start));
                out.push(rewrite_event(
                    Event::Start(Tag::Image {
                        link_type: pulldown_cmark::LinkType::Inline,
                        dest_url,
                        title: CowStr::Borrowed(""),
                        id: CowStr::Borrowed(""),
                    }),
                    range.start,
                    &origin_of,
                    &mut links,
                ));
            }
            Event::Start(Tag::BlockQuote(Some(kind))) => {
                let (class, label) = alert_kind(kind);
                out.push(Event::Html(CowStr::from(format!(
                    "<div class=\"admonition {class}\" role=\"note\" aria-label=\"{label}\"><p class=\"admonition-title\">{label}</p>\n"
                ))));
            }
            Event::End(TagEnd::BlockQuote(Some(_))) => {
                out.push(Event::Html(CowStr::Borrowed("</div>\n")));
            }
            Event::InlineMath(tex) | Event::DisplayMath(tex) => {
                let display = input.markdown[range.clone()].starts_with("$$");
                match render_math(&tex, display) {
                    Ok(mathml) => out.push(Event::InlineHtml(CowStr::from(mathml))),
                    Err(e) => {
                        let o = origin_of(range.start);
                        return Err(SourceError::new(
                            o.file,
                            o.line,
                            format!("TeX error in ${tex}$: {e}"),
                        )
                        .help(
                            "fix the formula; to write a literal dollar sign, escape it as \\$",
                        ));
                    }
                }
            }
            other => out.push(rewrite_event(other, range.start, &origin_of, &mut links)),
        }
    }

    let mut html = String::with_capacity(input.markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    Ok(RenderedChapter {
        html,
        toc,
        first_heading,
        links,
    })
}

/// Rewrites link targets (`.md` -> `.html`) and records internal links for checking.
fn rewrite_event<'a>(
    event: Event<'a>,
    offset: usize,
    origin_of: &dyn Fn(usize) -> LineOrigin,
    links: &mut Vec<LinkRef>,
) -> Event<'a> {
    match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let href = rewrite_href(&dest_url);
            if is_internal(&href) {
                links.push(LinkRef {
                    href: href.clone(),
                    origin: origin_of(offset),
                });
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url: CowStr::from(href),
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            if is_internal(&dest_url) {
                links.push(LinkRef {
                    href: dest_url.to_string(),
                    origin: origin_of(offset),
                });
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        other => other,
    }
}

/// A link that points into the site: relative paths and bare fragments. External URLs
/// (with a scheme, `//host` or `mailto:`) are not fetched or checked.
pub fn is_internal(href: &str) -> bool {
    if href.is_empty() || href.starts_with("//") {
        return false;
    }
    // A scheme is letters/digits/+-. before the first ':' that comes before any '/', '?' or '#'.
    if let Some(colon) = href.find(':') {
        let before = &href[..colon];
        if !before.is_empty()
            && before
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !before.contains(['/', '?', '#'])
        {
            return false;
        }
    }
    true
}

/// `chapter.md#x` -> `chapter.html#x`; `dir/README.md` -> `dir/index.html`. Other links are
/// unchanged, as in mdBook.
pub fn rewrite_href(href: &str) -> String {
    if !is_internal(href) {
        return href.to_string();
    }
    let (path, fragment) = match href.find('#') {
        Some(i) => (&href[..i], &href[i..]),
        None => (href, ""),
    };
    let (path, query) = match path.find('?') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    if let Some(stem) = path.strip_suffix(".md") {
        let file_name = stem.rsplit('/').next().unwrap_or(stem);
        let stem = if file_name.eq_ignore_ascii_case("README") || file_name == "index" {
            format!("{}index", &stem[..stem.len() - file_name.len()])
        } else {
            stem.to_string()
        };
        return format!("{stem}.html{query}{fragment}");
    }
    href.to_string()
}

fn alert_kind(kind: BlockQuoteKind) -> (&'static str, &'static str) {
    match kind {
        BlockQuoteKind::Note => ("note", "Note"),
        BlockQuoteKind::Tip => ("tip", "Tip"),
        BlockQuoteKind::Important => ("important", "Important"),
        BlockQuoteKind::Warning => ("warning", "Warning"),
        BlockQuoteKind::Caution => ("caution", "Caution"),
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

struct HeadingState<'a> {
    level: HeadingLevel,
    explicit_id: Option<String>,
    classes: Vec<String>,
    attrs: Vec<(String, Option<String>)>,
    text: String,
    events: Vec<Event<'a>>,
}

/// Unique heading ids within a page, stable across builds: the same headings always get the
/// same ids, duplicates get `-1`, `-2`, ... in order of appearance (mdBook's scheme).
#[derive(Default)]
pub struct HeadingIds {
    used: BTreeSet<String>,
}

impl HeadingIds {
    pub fn claim(&mut self, text: &str) -> String {
        let base = normalize_id(text);
        let base = if base.is_empty() {
            "section".to_string()
        } else {
            base
        };
        self.unique(base)
    }

    /// An id written by the author (`# Title {#my-id}`) is kept as written; a duplicate
    /// still gets a suffix so the page stays valid.
    pub fn claim_explicit(&mut self, id: &str) -> String {
        self.unique(id.to_string())
    }

    fn unique(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 1;
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(id.clone());
        id
    }
}

/// mdBook's id rule: lowercase; keep letters, digits, `_` and `-`; whitespace becomes `-`;
/// everything else is dropped.
pub fn normalize_id(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Byte offsets where each line starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(md: &str) -> RenderedChapter {
        let origins: Vec<LineOrigin> = (1..=md.lines().count() + 1)
            .map(|line| LineOrigin {
                file: "ch.md".into(),
                line,
            })
            .collect();
        render_markdown(
            &RenderInput {
                markdown: md,
                origins: &origins,
                section_number: Some("2.1."),
                fragments: &[],
            },
            &Highlighter::new(),
        )
        .unwrap()
    }

    #[test]
    fn ids_are_unique_and_stable() {
        let r = render("# Intro\n\n## Setup\n\n## Setup\n\n### Why? (really)\n");
        assert!(r.html.contains("<h2 id=\"setup\">"));
        assert!(r.html.contains("<h2 id=\"setup-1\">"));
        assert!(r.html.contains("<h3 id=\"why-really\">"));
        assert_eq!(r.toc.len(), 3);
        assert_eq!(r.first_heading.as_deref(), Some("Intro"));
        assert!(
            r.html
                .contains("<span class=\"section-number\">2.1.</span> Intro")
        );
    }

    #[test]
    fn explicit_heading_ids_are_kept() {
        let r = render("## Results {#res .wide}\n");
        assert!(
            r.html.contains("<h2 id=\"res\" class=\"wide\">"),
            "{}",
            r.html
        );
    }

    #[test]
    fn md_links_become_html_and_are_recorded() {
        let r = render("See [a](other.md#x), [b](sub/README.md) and [c](https://x.org/a.md).\n");
        assert!(r.html.contains("href=\"other.html#x\""));
        assert!(r.html.contains("href=\"sub/index.html\""));
        assert!(r.html.contains("href=\"https://x.org/a.md\""));
        let hrefs: Vec<_> = r.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(hrefs, ["other.html#x", "sub/index.html"]);
        assert_eq!(r.links[0].origin.line, 1);
    }

    #[test]
    fn alerts_become_admonitions() {
        let r = render("> [!WARNING]\n> Hot surface.\n");
        assert!(
            r.html.contains("<div class=\"admonition warning\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("Hot surface."));
        assert!(!r.html.contains("<blockquote"));
    }

    #[test]
    fn raw_html_passes_through_and_text_is_escaped() {
        let r = render("<div class=\"x\">raw</div>\n\n1 < 2 & 3\n");
        assert!(r.html.contains("<div class=\"x\">raw</div>"));
        assert!(r.html.contains("1 &lt; 2 &amp; 3"));
    }

    #[test]
    fn image_without_alt_is_an_error_with_line() {
        let origins: Vec<LineOrigin> = (1..=4)
            .map(|line| LineOrigin {
                file: "ch.md".into(),
                line,
            })
            .collect();
        let err = render_markdown(
            &RenderInput {
                markdown: "text\n\n![](plot.png)\n",
                origins: &origins,
                section_number: None,
                fragments: &[],
            },
            &Highlighter::new(),
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("no alt text"));
    }

    #[test]
    fn math_becomes_mathml_and_tex_errors_fail() {
        let r = render("Energy $E = mc^2$ and\n\n$$\\sum_{i=0}^{n} x_i$$\n");
        assert!(r.html.contains("<math"), "{}", r.html);
        assert!(r.html.contains("display=\"block\""), "{}", r.html);
        let origins: Vec<LineOrigin> = (1..=3)
            .map(|line| LineOrigin {
                file: "ch.md".into(),
                line,
            })
            .collect();
        let err = render_markdown(
            &RenderInput {
                markdown: "text\n\n$\\notacommand{x}$\n",
                origins: &origins,
                section_number: None,
                fragments: &[],
            },
            &Highlighter::new(),
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("TeX error"), "{}", err.message);
    }

    #[test]
    fn internal_link_detection() {
        assert!(is_internal("a.html"));
        assert!(is_internal("#frag"));
        assert!(is_internal("../x/y.md"));
        assert!(!is_internal("https://example.org"));
        assert!(!is_internal("mailto:a@b.c"));
        assert!(!is_internal("//cdn.example.org/x.js"));
        assert!(!is_internal(""));
    }

    #[test]
    fn normalize_matches_mdbook() {
        assert_eq!(normalize_id("Hello World!"), "hello-world");
        assert_eq!(normalize_id("`rayon` + SIMD"), "rayon--simd");
        assert_eq!(normalize_id("Ünïcode"), "ünïcode");
    }
}
