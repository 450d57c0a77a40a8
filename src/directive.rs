//! The directive stage: perfguide's own `{{#...}}` directives become typed nodes.
//!
//! After includes are expanded, every remaining directive is parsed into a [`Directive`] with
//! its source position and replaced in the Markdown by a placeholder marker made of
//! private-use characters, which CommonMark treats as plain text. After rendering, each marker
//! is replaced by the directive's HTML (see [`splice`]). Doing the substitution outside the
//! Markdown parser keeps directive arguments safe from Markdown syntax (`*`, `_`, smart quotes)
//! and keeps generated HTML out of the CommonMark HTML-block rules.

use std::fmt;

use crate::diag::{SourceError, SourceErrors};
use crate::include::LineOrigin;
use crate::scan;

/// Every directive name perfguide knows, for error messages. mdBook's include directives are
/// handled earlier by the include stage.
pub const KNOWN: &[&str] = &[
    "bench",
    "measure",
    "speedup",
    "claim",
    "profile",
    "chart",
    "run",
    "machine",
    "include",
    "rustdoc_include",
    "title",
];

/// Directives handled by the include stage (mdBook's).
const INCLUDE_FAMILY: &[&str] = &["include", "rustdoc_include", "title", "playground"];

/// A parsed perfguide directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    /// `{{#bench KERNEL [VARIANT...]}}`
    Bench {
        kernel: String,
        variants: Vec<String>,
    },
    /// `{{#measure ID STAT}}`
    Measure { id: String, stat: String },
    /// `{{#speedup ID_FAST ID_SLOW}}`
    Speedup { fast: String, slow: String },
    /// `{{#claim EXPR}}`
    Claim { expr: String },
    /// `{{#profile ID [mode=sampling|instructions]}}`
    Profile { id: String, mode: String },
    /// `{{#chart KIND [ARG]}}`
    Chart { kind: String, arg: Option<String> },
    /// `{{#run PATH [ARGS...] [should-fail]}}`
    Run {
        path: String,
        args: Vec<String>,
        should_fail: bool,
    },
    /// `{{#machine}}`
    Machine,
}

impl Directive {
    /// Whether the directive's HTML is a block (table, figure) rather than inline text.
    pub fn is_block(&self) -> bool {
        !matches!(
            self,
            Directive::Measure { .. } | Directive::Speedup { .. } | Directive::Claim { .. }
        )
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Directive::Bench { kernel, variants } if variants.is_empty() => {
                write!(f, "{{{{#bench {kernel}}}}}")
            }
            Directive::Bench { kernel, variants } => {
                write!(f, "{{{{#bench {kernel} {}}}}}", variants.join(" "))
            }
            Directive::Measure { id, stat } => write!(f, "{{{{#measure {id} {stat}}}}}"),
            Directive::Speedup { fast, slow } => write!(f, "{{{{#speedup {fast} {slow}}}}}"),
            Directive::Claim { expr } => write!(f, "{{{{#claim {expr}}}}}"),
            Directive::Profile { id, mode } => write!(f, "{{{{#profile {id} mode={mode}}}}}"),
            Directive::Chart { kind, arg: None } => write!(f, "{{{{#chart {kind}}}}}"),
            Directive::Chart { kind, arg: Some(a) } => write!(f, "{{{{#chart {kind} {a}}}}}"),
            Directive::Run { path, args, .. } => {
                write!(f, "{{{{#run {path}")?;
                for a in args {
                    write!(f, " {a}")?;
                }
                write!(f, "}}}}")
            }
            Directive::Machine => write!(f, "{{{{#machine}}}}"),
        }
    }
}

/// A directive with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub directive: Directive,
    pub origin: LineOrigin,
    /// 1-based column of `{{` on its line.
    pub column: usize,
}

impl Located {
    /// An error at this directive's position.
    pub fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::new(self.origin.file.clone(), self.origin.line, message).column(self.column)
    }
}

/// The HTML a directive produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    pub html: String,
    /// Plain-text form, used where the directive stands inside a code block.
    pub text: String,
}

/// Markdown with markers, and the directives they stand for (marker `i` = `directives[i]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Substituted {
    pub markdown: String,
    pub directives: Vec<Located>,
}

const MARK_OPEN: char = '\u{E000}';
const MARK_CLOSE: char = '\u{E001}';

fn marker(i: usize) -> String {
    format!("{MARK_OPEN}{i}{MARK_CLOSE}")
}

/// Parses every directive left after include expansion and replaces it with a marker.
/// Escaped directives (`\{{#bench x}}`) become literal text. All errors of the chapter are
/// reported together.
pub fn substitute(markdown: &str, origins: &[LineOrigin]) -> Result<Substituted, SourceErrors> {
    let mut out = String::with_capacity(markdown.len());
    let mut directives = Vec::new();
    let mut errors = Vec::new();
    let mut last = 0;
    for raw in scan::scan(markdown) {
        out.push_str(&markdown[last..raw.start]);
        last = raw.end;
        let text = &markdown[raw.start..raw.end];
        if raw.escaped {
            out.push_str(text.strip_prefix('\\').unwrap_or(text));
            continue;
        }
        // The include stage expands every unescaped include-family directive (or fails), so
        // one that is still here was written escaped and is already literal text.
        if INCLUDE_FAMILY.contains(&raw.name) {
            out.push_str(text);
            continue;
        }
        let (line, column) = crate::diag::line_col(markdown, raw.start);
        let origin = origins.get(line - 1).cloned().unwrap_or(LineOrigin {
            file: Default::default(),
            line,
        });
        let at =
            |msg: String| SourceError::new(origin.file.clone(), origin.line, msg).column(column);
        if text.contains('\n') {
            errors.push(
                at(format!(
                    "the directive {{{{#{} ...}}}} spans several lines",
                    raw.name
                ))
                .help("write the whole directive on one line"),
            );
            continue;
        }
        match parse(raw.name, raw.args) {
            Ok(directive) => {
                out.push_str(&marker(directives.len()));
                directives.push(Located {
                    directive,
                    origin: origin.clone(),
                    column,
                });
            }
            Err(e) => errors.push(at(e.message).help(e.help)),
        }
    }
    out.push_str(&markdown[last..]);
    if errors.is_empty() {
        Ok(Substituted {
            markdown: out,
            directives,
        })
    } else {
        Err(SourceErrors(errors))
    }
}

/// Why a directive could not be parsed, and what to write instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub help: String,
}

fn err(message: impl Into<String>, help: impl Into<String>) -> ParseError {
    ParseError {
        message: message.into(),
        help: help.into(),
    }
}

/// Parses one directive from its name and argument text.
pub fn parse(name: &str, args: &str) -> Result<Directive, ParseError> {
    let words = split_args(args).map_err(|m| err(m, "close the quote"))?;
    let arity = |min: usize, max: usize, usage: &str| -> Result<(), ParseError> {
        if words.len() < min || words.len() > max {
            Err(err(
                format!(
                    "{{{{#{name}}}}} takes {} argument(s), got {}",
                    if min == max {
                        min.to_string()
                    } else if max == usize::MAX {
                        format!("at least {min}")
                    } else {
                        format!("{min} to {max}")
                    },
                    words.len()
                ),
                format!("write it as {usage}"),
            ))
        } else {
            Ok(())
        }
    };
    match name {
        "bench" => {
            arity(1, usize::MAX, "{{#bench KERNEL [VARIANT...]}}")?;
            Ok(Directive::Bench {
                kernel: words[0].clone(),
                variants: words[1..].to_vec(),
            })
        }
        "measure" => {
            arity(2, 2, "{{#measure KERNEL/VARIANT STAT}}")?;
            Ok(Directive::Measure {
                id: words[0].clone(),
                stat: words[1].clone(),
            })
        }
        "speedup" => {
            arity(2, 2, "{{#speedup KERNEL/FAST KERNEL/SLOW}}")?;
            Ok(Directive::Speedup {
                fast: words[0].clone(),
                slow: words[1].clone(),
            })
        }
        "claim" => {
            if args.trim().is_empty() {
                return Err(err(
                    "{{#claim}} needs an expression",
                    "write e.g. {{#claim speedup(mandelbrot/rayon, mandelbrot/scalar) > 1.5}}",
                ));
            }
            Ok(Directive::Claim {
                expr: args.trim().to_string(),
            })
        }
        "profile" => {
            arity(1, 2, "{{#profile KERNEL/VARIANT [mode=instructions]}}")?;
            let mode = match words.get(1).map(String::as_str) {
                None => "sampling".to_string(),
                Some(m) => match m.strip_prefix("mode=") {
                    Some(v @ ("sampling" | "instructions")) => v.to_string(),
                    _ => {
                        return Err(err(
                            format!("unknown profile option '{m}'"),
                            "use mode=sampling (the default) or mode=instructions",
                        ));
                    }
                },
            };
            Ok(Directive::Profile {
                id: words[0].clone(),
                mode,
            })
        }
        "chart" => {
            arity(1, 2, "{{#chart ladder|scaling|size|roofline|image [ARG]}}")?;
            let kind = words[0].clone();
            let arg = words.get(1).cloned();
            match (kind.as_str(), &arg) {
                ("ladder" | "scaling" | "size" | "image", Some(_)) | ("roofline", None) => {
                    Ok(Directive::Chart { kind, arg })
                }
                ("ladder" | "scaling" | "size" | "image", None) => Err(err(
                    format!("{{{{#chart {kind}}}}} needs a kernel or kernel/variant"),
                    format!("write e.g. {{{{#chart {kind} mandelbrot}}}}"),
                )),
                ("roofline", Some(_)) => Err(err(
                    "{{#chart roofline}} takes no argument",
                    "write {{#chart roofline}}",
                )),
                _ => Err(err(
                    format!("unknown chart kind '{kind}'"),
                    "use one of: ladder, scaling, size, roofline, image",
                )),
            }
        }
        "run" => {
            arity(1, usize::MAX, "{{#run PATH [ARGS...] [should-fail]}}")?;
            let should_fail = words.last().is_some_and(|w| w == "should-fail");
            let end = words.len() - usize::from(should_fail);
            if end == 0 {
                return Err(err(
                    "{{#run}} needs a program",
                    "write {{#run examples/python/x.py}}",
                ));
            }
            Ok(Directive::Run {
                path: words[0].clone(),
                args: words[1..end].to_vec(),
                should_fail,
            })
        }
        "machine" => {
            arity(0, 0, "{{#machine}}")?;
            Ok(Directive::Machine)
        }
        "include" | "rustdoc_include" | "title" | "playground" => Err(err(
            format!("{{{{#{name}}}}} could not be expanded here"),
            "includes are expanded before other directives; check the include's syntax",
        )),
        other => {
            let suggestion = closest(other)
                .map(|s| format!("did you mean {{{{#{s}}}}}? "))
                .unwrap_or_default();
            Err(err(
                format!("unknown directive {{{{#{other}}}}}"),
                format!(
                    "{suggestion}known directives: {}; to show the text literally, write \\{{{{#{other} ...}}}}",
                    KNOWN.join(", ")
                ),
            ))
        }
    }
}

/// Splits arguments on whitespace; double quotes group words.
fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_word = false;
    for c in args.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_word = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_word {
                    words.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                cur.push(c);
                has_word = true;
            }
        }
    }
    if in_quotes {
        return Err("unclosed double quote in the directive's arguments".into());
    }
    if has_word {
        words.push(cur);
    }
    Ok(words)
}

/// The known directive closest to a misspelt one (edit distance at most 2).
fn closest(name: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance (Wagner–Fischer, one row).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Replaces markers in rendered HTML with the directives' fragments. A block fragment that
/// stands alone in a paragraph replaces the whole `<p>`, so tables and figures are not nested
/// inside paragraphs. Markers inside code blocks (escaped by the highlighter as plain text)
/// get the fragment's plain text.
pub fn splice(html: &str, fragments: &[Fragment]) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(MARK_OPEN) {
        let after = &rest[start + MARK_OPEN.len_utf8()..];
        let Some(end) = after.find(MARK_CLOSE) else {
            break;
        };
        let index: Option<usize> = after[..end].parse().ok();
        let tail = &after[end + MARK_CLOSE.len_utf8()..];
        let Some(frag) = index.and_then(|i| fragments.get(i)) else {
            out.push_str(&rest[..start + MARK_OPEN.len_utf8()]);
            rest = after;
            continue;
        };
        let before = &rest[..start];
        if before.ends_with("<p>") && tail.starts_with("</p>") {
            out.push_str(&before[..before.len() - 3]);
            out.push_str(&frag.html);
            rest = &tail[4..];
        } else if in_code(&out, before) {
            out.push_str(before);
            out.push_str(&crate::render::escape_html(&frag.text));
            rest = tail;
        } else {
            out.push_str(before);
            out.push_str(&frag.html);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Replaces markers in plain text (code blocks) with the fragments' text forms.
pub fn replace_in_text(text: &str, fragments: &[Fragment]) -> String {
    if !text.contains(MARK_OPEN) {
        return text.to_string();
    }
    let mut out = text.to_string();
    for (i, f) in fragments.iter().enumerate() {
        out = out.replace(&marker(i), &f.text);
    }
    out
}

/// Whether the position after `done` + `pending` lies inside a `<pre>` element.
fn in_code(done: &str, pending: &str) -> bool {
    let open = done.matches("<pre").count() + pending.matches("<pre").count();
    let close = done.matches("</pre>").count() + pending.matches("</pre>").count();
    open > close
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(n: usize) -> Vec<LineOrigin> {
        (1..=n)
            .map(|line| LineOrigin {
                file: "ch.md".into(),
                line,
            })
            .collect()
    }

    #[test]
    fn parses_each_directive() {
        assert_eq!(
            parse("bench", "mandelbrot scalar rayon").unwrap(),
            Directive::Bench {
                kernel: "mandelbrot".into(),
                variants: vec!["scalar".into(), "rayon".into()]
            }
        );
        assert_eq!(
            parse("claim", " speedup(a/b, a/c) > 1.5 ").unwrap(),
            Directive::Claim {
                expr: "speedup(a/b, a/c) > 1.5".into()
            }
        );
        assert_eq!(
            parse("run", "examples/python/x.py --n 3 should-fail").unwrap(),
            Directive::Run {
                path: "examples/python/x.py".into(),
                args: vec!["--n".into(), "3".into()],
                should_fail: true
            }
        );
        assert_eq!(parse("machine", "").unwrap(), Directive::Machine);
        assert!(parse("chart", "pie").is_err());
        assert!(parse("measure", "a/b").is_err());
        assert!(parse("profile", "a/b mode=magic").is_err());
    }

    #[test]
    fn unknown_directive_suggests_the_closest() {
        let e = parse("bnech", "x").unwrap_err();
        assert!(e.message.contains("unknown directive {{#bnech}}"));
        assert!(e.help.contains("did you mean {{#bench}}"), "{}", e.help);
    }

    #[test]
    fn substitute_positions_and_escapes() {
        let md = "Intro\n\nFast: {{#speedup a/x a/y}} and \\{{#bench lit}}.\n{{#nope}}\n";
        let err = substitute(md, &origins(5)).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!((err.0[0].line, err.0[0].column), (4, Some(1)));

        let md = "Intro\n\nFast: {{#speedup a/x a/y}} and \\{{#bench lit}}.\n";
        let s = substitute(md, &origins(4)).unwrap();
        assert_eq!(s.directives.len(), 1);
        assert_eq!(s.directives[0].origin.line, 3);
        assert_eq!(s.directives[0].column, 7);
        assert!(s.markdown.contains("{{#bench lit}}"));
        assert!(!s.markdown.contains("\\{{#bench"));
    }

    #[test]
    fn splice_replaces_block_paragraphs_and_inline_markers() {
        let frags = vec![
            Fragment {
                html: "<table></table>".into(),
                text: "table".into(),
            },
            Fragment {
                html: "<span>3.9x</span>".into(),
                text: "3.9x".into(),
            },
        ];
        let html = format!(
            "<p>{}</p>\n<p>it is {} faster</p><pre><code>{}</code></pre>",
            marker(0),
            marker(1),
            marker(1)
        );
        assert_eq!(
            splice(&html, &frags),
            "<table></table>\n<p>it is <span>3.9x</span> faster</p><pre><code>3.9x</code></pre>"
        );
    }

    #[test]
    fn edit_distance_known_values() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("bench", "bench"), 0);
    }
}
