//! Server-side syntax highlighting of fenced code blocks (syntect, class-based CSS).
//!
//! Code is highlighted once, at build time, so readers download no highlighter and see
//! colours even with JavaScript off. The output uses a dozen short, semantic classes
//! (`hl-keyword`, `hl-string`, ...) instead of one class per TextMate scope: the scope → class
//! mapping is done by syntect's own theme matcher (a [`Theme`] whose "colours" are class
//! numbers), so TextMate selector specificity decides which class wins, the HTML stays small
//! (flat spans, adjacent tokens of one class merged) and every span opens and closes on one
//! line. Per-line spans are what make hidden boilerplate lines (mdBook's `# ` lines in Rust),
//! console prompts and output lines possible as plain wrappers.
//!
//! The grammar set is `two-face` (bat's curated syntaxes): syntect's built-in set has no
//! TOML, which a Rust guide quotes constantly. It adds about 1 MB to the binary and loads in
//! about 1.6 ms (syntect's default set: about 0.6 ms); the caller builds one [`Highlighter`]
//! per build.
//!
//! The colours live in [`PALETTE`] and are written out by [`Highlighter::stylesheet`] for the
//! light and the dark theme; a unit test checks every colour against its background for WCAG
//! 2.1 AA contrast (4.5:1).

use std::fmt::Write as _;
use std::str::FromStr;

use syntect::highlighting::{
    Color, HighlightState, Highlighter as ScopeMatcher, RangedHighlightIterator, ScopeSelectors,
    StyleModifier, Theme, ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

/// The token classes the highlighter emits, in the order of their class numbers (0 = none).
/// The stylesheet gives each a colour; the render stage never needs to know them.
const CLASSES: &[&str] = &[
    "",
    "comment",
    "string",
    "escape",
    "number",
    "constant",
    "keyword",
    "function",
    "type",
    "macro",
    "attribute",
    "lifetime",
    "variable",
    "key",
    "heading",
    "bold",
    "italic",
    "link",
    "inserted",
    "deleted",
    "changed",
    "meta",
];

/// Which TextMate scope selectors map to which class. Order does not matter: syntect scores
/// selectors by specificity (a deeper or longer match wins), as a colour theme would.
const SCOPE_CLASSES: &[(&str, &str)] = &[
    ("comment, markup.quote", "comment"),
    (
        "string, markup.raw, constant.other.datetime, string.unquoted.shell",
        "string",
    ),
    (
        "constant.character.escape, constant.other.placeholder, constant.other.format-spec, \
         punctuation.section.interpolation, string.regexp",
        "escape",
    ),
    ("constant.numeric", "number"),
    (
        "constant.language, constant.other, constant.character, support.constant, \
         entity.name.constant, variable.language, variable.parameter.option",
        "constant",
    ),
    (
        "keyword, storage.type, storage.modifier, keyword.operator.word, \
         keyword.operator.logical.python, keyword.operator.rust, keyword.operator.sizeof, \
         keyword.operator.new, keyword.operator.delete",
        "keyword",
    ),
    (
        "entity.name.function, support.function, variable.function, meta.function-call \
         variable.function",
        "function",
    ),
    (
        "entity.name.type, entity.name.struct, entity.name.enum, entity.name.union, \
         entity.name.class, entity.name.trait, entity.name.impl, entity.name.interface, \
         entity.name.namespace, support.type, support.class, entity.other.inherited-class, \
         storage.type.numeric",
        "type",
    ),
    (
        "support.macro, entity.name.macro, variable.function.macro",
        "macro",
    ),
    (
        "meta.annotation, variable.annotation, entity.other.attribute-name, \
         meta.attribute",
        "attribute",
    ),
    (
        "storage.modifier.lifetime, entity.name.lifetime, entity.name.label",
        "lifetime",
    ),
    (
        "variable.other.readwrite.shell, variable.other.readwrite.assignment, \
         punctuation.definition.variable, variable.other.normal.shell, \
         variable.other.special.shell, variable.other.positional.shell",
        "variable",
    ),
    (
        "entity.name.tag, support.type.property-name, meta.mapping.key string, \
         meta.mapping.key.json string.quoted",
        "key",
    ),
    (
        "markup.heading, entity.name.section, entity.name.table, meta.diff.header",
        "heading",
    ),
    ("markup.bold", "bold"),
    ("markup.italic", "italic"),
    (
        "markup.underline.link, meta.link.inline.description",
        "link",
    ),
    ("markup.inserted", "inserted"),
    ("markup.deleted", "deleted"),
    ("markup.changed", "changed"),
    ("meta.diff.range, meta.range.unified", "meta"),
    // Operators stay in the text colour: colouring them adds noise, not information, and
    // keeps the HTML small. (Punctuation has no rule, so quotes and comment markers take the
    // class of the string or comment around them.)
    ("keyword.operator", ""),
];

/// One CSS rule of the stylesheet: a class, its light and dark colours, an optional
/// background (light, dark) and extra declarations.
struct PaletteEntry {
    class: &'static str,
    light: &'static str,
    dark: &'static str,
    background: Option<(&'static str, &'static str)>,
    extra: &'static str,
}

/// Background and text colour of code blocks, light then dark. The site stylesheet uses the
/// same custom properties (`--hl-bg`, `--hl-fg`) for `<pre>`, so the contrast test covers
/// what readers see.
const BLOCK_BG: (&str, &str) = ("#f6f8fa", "#161b22");
const BLOCK_FG: (&str, &str) = ("#1f2328", "#e6edf3");

/// The colours, chosen after GitHub's Primer palettes and adjusted until every pair passes
/// WCAG 2.1 AA (see the `contrast` test).
const PALETTE: &[PaletteEntry] = &[
    entry("comment", "#57606a", "#9198a1", "font-style:italic"),
    entry("string", "#0a3069", "#a5d6ff", ""),
    entry("escape", "#116329", "#7ee787", ""),
    entry("number", "#0550ae", "#79c0ff", ""),
    entry("constant", "#0550ae", "#79c0ff", ""),
    entry("keyword", "#cf222e", "#ff7b72", ""),
    entry("function", "#6639ba", "#d2a8ff", ""),
    entry("type", "#953800", "#ffa657", ""),
    entry("macro", "#0550ae", "#79c0ff", ""),
    entry("attribute", "#116329", "#7ee787", ""),
    entry("lifetime", "#953800", "#ffa657", "font-style:italic"),
    entry("variable", "#953800", "#ffa657", ""),
    entry("key", "#116329", "#7ee787", ""),
    entry("heading", "#0550ae", "#79c0ff", "font-weight:bold"),
    entry("bold", "#1f2328", "#e6edf3", "font-weight:bold"),
    entry("italic", "#1f2328", "#e6edf3", "font-style:italic"),
    entry("link", "#0a3069", "#a5d6ff", "text-decoration:underline"),
    PaletteEntry {
        class: "inserted",
        light: "#116329",
        dark: "#aff5b4",
        background: Some(("#dafbe1", "#033a16")),
        extra: "",
    },
    PaletteEntry {
        class: "deleted",
        light: "#82071e",
        dark: "#ffdcd7",
        background: Some(("#ffebe9", "#67060c")),
        extra: "",
    },
    PaletteEntry {
        class: "changed",
        light: "#953800",
        dark: "#ffdfb6",
        background: Some(("#fff1e5", "#5a1e02")),
        extra: "",
    },
    entry("meta", "#6639ba", "#d2a8ff", "font-weight:bold"),
    // Console sessions: the prompt is muted and cannot be selected, so a copied selection
    // is a runnable command; output is in the text colour.
    entry(
        "prompt",
        "#57606a",
        "#9198a1",
        "-webkit-user-select:none;user-select:none",
    ),
    entry("output", "#1f2328", "#e6edf3", ""),
];

const fn entry(
    class: &'static str,
    light: &'static str,
    dark: &'static str,
    extra: &'static str,
) -> PaletteEntry {
    PaletteEntry {
        class,
        light,
        dark,
        background: None,
        extra,
    }
}

/// How a block is highlighted, decided from the fence's info string.
enum Mode<'a> {
    /// Escaped text, no spans.
    Plain,
    /// One grammar for the whole block.
    Code(&'a SyntaxReference),
    /// A terminal session: `$ `/`# ` shell prompts and `>>> ` Python prompts, other lines
    /// are output.
    Console,
    /// An IPython session: `In [n]: ` prompts, `   ...: ` continuations.
    IPython,
}

/// Highlights fenced code blocks. Build one per site build: loading the grammars is the
/// only expensive part (about 1.6 ms), highlighting itself is per block.
pub struct Highlighter {
    syntaxes: SyntaxSet,
    /// Maps scopes to class numbers (stored in the foreground colour's red channel).
    classes: Theme,
}

impl Default for Highlighter {
    fn default() -> Self {
        Highlighter::new()
    }
}

impl Highlighter {
    /// Loads the grammars (bat's set via `two-face`) and the scope → class table.
    pub fn new() -> Highlighter {
        let scopes = SCOPE_CLASSES
            .iter()
            .map(|(selectors, class)| ThemeItem {
                scope: ScopeSelectors::from_str(selectors)
                    .expect("the built-in scope selectors parse"),
                style: StyleModifier {
                    foreground: Some(class_color(class_number(class))),
                    background: None,
                    font_style: None,
                },
            })
            .collect();
        let classes = Theme {
            name: Some("perfguide classes".into()),
            author: None,
            settings: ThemeSettings {
                foreground: Some(class_color(0)),
                ..ThemeSettings::default()
            },
            scopes,
        };
        Highlighter {
            syntaxes: two_face::syntax::extra_newlines(),
            classes,
        }
    }

    /// Highlights a fenced code block. `info` is the fence's info string (e.g. "rust",
    /// "python", "console", "rust,ignore", "text", ""). Returns the full
    /// `<pre><code class="language-…">…</code></pre>` HTML. Unknown languages render escaped
    /// and plain (never an error).
    ///
    /// Rust blocks hide mdBook's boilerplate lines (`# ` prefix; `##` escapes a literal `#`)
    /// in `<span class="hl-boring">`; `hidelines=PREFIX` in the info string does the same for
    /// any language. Console blocks wrap prompts in `hl-prompt` and output in `hl-output`.
    pub fn highlight_block(&self, info: &str, code: &str) -> String {
        let (lang, attrs) = parse_info(info);
        let lower = lang.to_ascii_lowercase();
        let mode = self.mode_for(&lower);
        let hide_prefix: Option<&str> = attrs.iter().find_map(|a| a.strip_prefix("hidelines=")).or(
            if matches!(lower.as_str(), "rust" | "rs") {
                Some("#")
            } else {
                None
            },
        );

        let class = if lang.is_empty() {
            "text".to_string()
        } else {
            css_class_token(&lower)
        };
        let mut out = String::with_capacity(code.len() * 2 + 64);
        let _ = write!(out, "<pre><code class=\"language-{class}\">");

        // Grammars written for newline-terminated lines misbehave on a last line without
        // one; the extra newline is invisible in a <pre>.
        let owned;
        let code = if code.is_empty() || code.ends_with('\n') {
            code
        } else {
            owned = format!("{code}\n");
            &owned
        };
        let body = match mode {
            Mode::Plain => None,
            Mode::Code(syntax) => self.highlight_code(syntax, code, hide_prefix),
            Mode::Console => self.highlight_console(code, false),
            Mode::IPython => self.highlight_console(code, true),
        };
        match body {
            Some(html) => out.push_str(&html),
            None => plain_lines(&mut out, code, hide_prefix),
        }
        out.push_str("</code></pre>");
        out
    }

    /// The stylesheet for the classes, for both themes. Colours are CSS custom properties
    /// set on `:root[data-theme="light"]` / `:root[data-theme="dark"]` (the attribute the
    /// site's head script sets before the first paint), with `prefers-color-scheme` deciding
    /// when no script ran.
    pub fn stylesheet() -> String {
        let mut css = String::with_capacity(4096);
        css.push_str(
            "/* Syntax highlighting: generated by perfguide (Highlighter::stylesheet). */\n",
        );
        let vars = |dark: bool| -> String {
            let pick = |pair: (&'static str, &'static str)| if dark { pair.1 } else { pair.0 };
            let mut v = String::new();
            let _ = write!(v, "--hl-bg:{};--hl-fg:{};", pick(BLOCK_BG), pick(BLOCK_FG));
            for e in PALETTE {
                let _ = write!(v, "--hl-{}:{};", e.class, pick((e.light, e.dark)));
                if let Some(bg) = e.background {
                    let _ = write!(v, "--hl-{}-bg:{};", e.class, pick(bg));
                }
            }
            v
        };
        let light = vars(false);
        let dark = vars(true);
        let _ = writeln!(css, ":root,:root[data-theme=\"light\"]{{{light}}}");
        let _ = writeln!(css, ":root[data-theme=\"dark\"]{{{dark}}}");
        let _ = writeln!(
            css,
            "@media (prefers-color-scheme:dark){{:root:not([data-theme]){{{dark}}}}}"
        );
        // Paper is white whatever the screen theme; this block comes last so it wins.
        let _ = writeln!(css, "@media print{{:root,:root[data-theme]{{{light}}}}}");
        for e in PALETTE {
            let _ = write!(css, ".hl-{0}{{color:var(--hl-{0})", e.class);
            if e.background.is_some() {
                let _ = write!(css, ";background-color:var(--hl-{}-bg)", e.class);
            }
            if !e.extra.is_empty() {
                let _ = write!(css, ";{}", e.extra);
            }
            css.push_str("}\n");
        }
        css.push_str(
            "pre:not(.hl-show-hidden) .hl-boring{display:none}\n\
",
        );
        css
    }

    /// Picks the grammar (or a console mode) for a lower-cased language token.
    fn mode_for(&self, lang: &str) -> Mode<'_> {
        let by_name = |name: &str| self.syntaxes.find_syntax_by_name(name).map(Mode::Code);
        let found = match lang {
            "" | "text" | "txt" | "plain" | "plaintext" | "output" | "none" | "nohighlight"
            | "raw" => return Mode::Plain,
            "console" | "shell-session" | "sh-session" | "shellsession" | "terminal" | "pycon"
            | "python-console" | "pyconsole" | "python-repl" | "doctest" => {
                return Mode::Console;
            }
            "ipython" | "ipython3" | "ipython-console" => return Mode::IPython,
            "rust" | "rs" => by_name("Rust"),
            "python" | "py" | "python3" | "py3" | "numba" | "cython" | "pyx" => by_name("Python"),
            "c" | "h" | "openmp" => by_name("C"),
            "cpp" | "c++" | "cxx" | "cc" | "hpp" | "hxx" | "cuda" | "cu" | "cuh" | "hip"
            | "sycl" | "opencl" | "cl" => by_name("C++"),
            "sh" | "shell" | "bash" | "zsh" | "ksh" | "slurm" | "sbatch" | "pbs" | "lsf" => {
                by_name("Bourne Again Shell (bash)")
            }
            "toml" => by_name("TOML"),
            "yaml" | "yml" => by_name("YAML"),
            "json" | "jsonc" | "json5" | "jsonl" | "ndjson" => by_name("JSON"),
            "md" | "markdown" | "mdown" => by_name("Markdown"),
            "diff" | "patch" | "udiff" => by_name("Diff"),
            "fortran" | "f90" | "f95" | "f03" | "f08" => by_name("Fortran (Modern)"),
            "julia" | "jl" => by_name("Julia"),
            "asm" | "x86asm" | "nasm" | "x86" => by_name("x86_64 Assembly"),
            "llvm" | "llvm-ir" => by_name("LLVM"),
            "make" | "makefile" | "mk" => by_name("Makefile"),
            "dockerfile" | "docker" => by_name("Dockerfile"),
            "r" => by_name("R"),
            _ => None,
        };
        found
            .or_else(|| self.syntaxes.find_syntax_by_token(lang).map(Mode::Code))
            .unwrap_or(Mode::Plain)
    }

    /// Highlights a whole block with one grammar. `None` if the grammar fails on this input
    /// (the caller then prints it plain).
    fn highlight_code(
        &self,
        syntax: &SyntaxReference,
        code: &str,
        hide_prefix: Option<&str>,
    ) -> Option<String> {
        let matcher = ScopeMatcher::new(&self.classes);
        let mut line_hl = LineHighlighter::new(&self.syntaxes, syntax, &matcher);
        let mut out = String::with_capacity(code.len() * 2);
        for line in code.split_inclusive('\n') {
            match hide_prefix.and_then(|p| hidden_line(line, p)) {
                Some(Hidden::Boring(visible)) => {
                    out.push_str("<span class=\"hl-boring\">");
                    line_hl.line(&mut out, &visible)?;
                    out.push_str("</span>");
                }
                Some(Hidden::Escaped(visible)) => line_hl.line(&mut out, &visible)?,
                None => line_hl.line(&mut out, line)?,
            }
        }
        Some(out)
    }

    /// Highlights a terminal session. Command lines are parsed as one shell (or Python)
    /// script, so a multi-line construct keeps its state; output lines are left alone.
    fn highlight_console(&self, code: &str, ipython: bool) -> Option<String> {
        let matcher = ScopeMatcher::new(&self.classes);
        let shell = self
            .syntaxes
            .find_syntax_by_name("Bourne Again Shell (bash)")?;
        let python = self.syntaxes.find_syntax_by_name("Python")?;
        let mut sh = LineHighlighter::new(&self.syntaxes, shell, &matcher);
        let mut py = LineHighlighter::new(&self.syntaxes, python, &matcher);
        let mut out = String::with_capacity(code.len() * 2);
        // What the previous line was, for continuation lines.
        #[derive(PartialEq)]
        enum Prev {
            Output,
            /// A shell command ending in a backslash.
            ShellContinues,
            Shell,
            Python,
        }
        let mut prev = Prev::Output;
        for line in code.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let (prompt, rest, is_python) = if prev == Prev::ShellContinues {
                ("", line, false)
            } else if let Some(p) = ipython.then(|| ipython_prompt(line)).flatten() {
                (p, &line[p.len()..], true)
            } else if ipython {
                out.push_str("<span class=\"hl-output\">");
                escape_into(&mut out, line);
                out.push_str("</span>");
                prev = Prev::Output;
                continue;
            } else if let Some(p) = ["$ ", "# ", "% "].iter().find(|p| line.starts_with(**p)) {
                (*p, &line[p.len()..], false)
            } else if body == "$" || body == "#" {
                (body, &line[body.len()..], false)
            } else if let Some(rest) = line.strip_prefix(">>> ") {
                (">>> ", rest, true)
            } else if body == ">>>" {
                (">>>", &line[3..], true)
            } else if prev == Prev::Python && (line.starts_with("... ") || body == "...") {
                let n = if body == "..." { 3 } else { 4 };
                (&line[..n], &line[n..], true)
            } else {
                out.push_str("<span class=\"hl-output\">");
                escape_into(&mut out, line);
                out.push_str("</span>");
                prev = Prev::Output;
                continue;
            };
            if !prompt.is_empty() {
                out.push_str("<span class=\"hl-prompt\">");
                escape_into(&mut out, prompt);
                out.push_str("</span>");
            }
            if is_python {
                py.line(&mut out, rest)?;
                prev = Prev::Python;
            } else {
                sh.line(&mut out, rest)?;
                prev = if body.ends_with('\\') {
                    Prev::ShellContinues
                } else {
                    Prev::Shell
                };
            }
        }
        Some(out)
    }
}

/// Parses one grammar across lines and writes each line as flat, line-local spans.
struct LineHighlighter<'a> {
    syntaxes: &'a SyntaxSet,
    matcher: &'a ScopeMatcher<'a>,
    parse: ParseState,
    state: HighlightState,
}

impl<'a> LineHighlighter<'a> {
    fn new(
        syntaxes: &'a SyntaxSet,
        syntax: &SyntaxReference,
        matcher: &'a ScopeMatcher<'a>,
    ) -> LineHighlighter<'a> {
        LineHighlighter {
            syntaxes,
            matcher,
            parse: ParseState::new(syntax),
            state: HighlightState::new(matcher, ScopeStack::new()),
        }
    }

    /// Highlights one line (with its newline, if any) into `out`. `None` if the grammar
    /// reports an error.
    fn line(&mut self, out: &mut String, line: &str) -> Option<()> {
        // A console command may lack its newline (the last line): grammars expect one.
        let ops = if line.ends_with('\n') {
            self.parse.parse_line(line, self.syntaxes).ok()?
        } else {
            let with_nl = format!("{line}\n");
            let mut ops = self.parse.parse_line(&with_nl, self.syntaxes).ok()?;
            ops.retain(|(i, _)| *i <= line.len());
            ops
        };
        let mut open: u8 = 0;
        let mut done = 0;
        for (style, text, range) in
            RangedHighlightIterator::new(&mut self.state, &ops, line, self.matcher)
        {
            let class = style.foreground.r;
            if class != open {
                if open != 0 {
                    out.push_str("</span>");
                }
                if class != 0 && usize::from(class) < CLASSES.len() {
                    out.push_str("<span class=\"hl-");
                    out.push_str(CLASSES[usize::from(class)]);
                    out.push_str("\">");
                    open = class;
                } else {
                    open = 0;
                }
            }
            escape_into(out, text);
            done = range.end;
        }
        if open != 0 {
            // Close before the newline, so that every line of the HTML is balanced.
            if out.ends_with('\n') {
                out.pop();
                out.push_str("</span>\n");
            } else {
                out.push_str("</span>");
            }
        }
        // The iterator stops early if a scope operation fails; never drop text.
        if done < line.len() {
            escape_into(out, &line[done..]);
        }
        Some(())
    }
}

/// What a hidden-line prefix does to a line.
enum Hidden {
    /// A boilerplate line, shown only on request; the prefix is removed.
    Boring(String),
    /// A doubled prefix (`##`): a visible line starting with one prefix.
    Escaped(String),
}

/// mdBook's rule: after indentation, `# ` or a lone `#` marks a hidden line and `##` is an
/// escaped `#`. `#[derive]` and `#!` are ordinary code.
fn hidden_line(line: &str, prefix: &str) -> Option<Hidden> {
    let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
    let (indent, rest) = line.split_at(indent_len);
    let after = rest.strip_prefix(prefix)?;
    if after.starts_with(prefix) {
        return Some(Hidden::Escaped(format!("{indent}{after}")));
    }
    if prefix == "#" {
        if let Some(code) = after.strip_prefix(' ') {
            return Some(Hidden::Boring(format!("{indent}{code}")));
        }
        if after.trim_end_matches(['\n', '\r']).is_empty() {
            return Some(Hidden::Boring(format!("{indent}{after}")));
        }
        None
    } else {
        let code = after.strip_prefix(' ').unwrap_or(after);
        Some(Hidden::Boring(format!("{indent}{code}")))
    }
}

/// Plain escaped text, still honouring hidden lines.
fn plain_lines(out: &mut String, code: &str, hide_prefix: Option<&str>) {
    let Some(prefix) = hide_prefix else {
        escape_into(out, code);
        return;
    };
    for line in code.split_inclusive('\n') {
        match hidden_line(line, prefix) {
            Some(Hidden::Boring(v)) => {
                out.push_str("<span class=\"hl-boring\">");
                escape_into(out, &v);
                out.push_str("</span>");
            }
            Some(Hidden::Escaped(v)) => escape_into(out, &v),
            None => escape_into(out, line),
        }
    }
}

/// IPython's `In [12]: ` and continuation `   ...: ` prompts.
fn ipython_prompt(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix("In [") {
        let close = rest.find("]:")?;
        if rest[..close].bytes().all(|b| b.is_ascii_digit()) {
            let mut end = 4 + close + 2;
            if line[end..].starts_with(' ') {
                end += 1;
            }
            return Some(&line[..end]);
        }
        return None;
    }
    let trimmed = line.trim_start_matches(' ');
    let indent = line.len() - trimmed.len();
    if indent > 0 && trimmed.starts_with("...:") {
        let mut end = indent + 4;
        if line[end..].starts_with(' ') {
            end += 1;
        }
        return Some(&line[..end]);
    }
    None
}

/// Splits an info string into the language and its attributes. Accepts mdBook's
/// `rust,ignore`, `rust ignore`, and Pandoc-style `{.rust}`.
fn parse_info(info: &str) -> (&str, Vec<&str>) {
    let mut parts = info
        .split(|c: char| c == ',' || c.is_whitespace() || c == '{' || c == '}')
        .filter(|s| !s.is_empty());
    let lang = parts.next().unwrap_or("");
    let lang = lang.strip_prefix('.').unwrap_or(lang);
    if lang.contains('=') {
        // `{hidelines=#}` without a language.
        let mut attrs: Vec<&str> = parts.collect();
        attrs.push(lang);
        return ("", attrs);
    }
    (lang, parts.collect())
}

/// A language token made safe for a class attribute.
fn css_class_token(lang: &str) -> String {
    let s: String = lang
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#' | '.'))
        .collect();
    if s.is_empty() { "text".into() } else { s }
}

/// Escapes text for HTML element content.
fn escape_into(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

fn class_number(class: &str) -> u8 {
    CLASSES
        .iter()
        .position(|c| *c == class)
        .and_then(|i| u8::try_from(i).ok())
        .expect("every class in SCOPE_CLASSES is listed in CLASSES")
}

/// The matcher carries class numbers where a theme would carry colours.
fn class_color(n: u8) -> Color {
    Color {
        r: n,
        g: 0,
        b: 0,
        a: 0xff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl() -> &'static Highlighter {
        use std::sync::OnceLock;
        static H: OnceLock<Highlighter> = OnceLock::new();
        H.get_or_init(Highlighter::new)
    }

    /// The text content of some HTML (tags removed, entities decoded).
    fn text_of(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    #[test]
    fn escapes_and_keeps_text() {
        let code = "fn f<T>(a: &T) -> bool { a < b && c > d } // <script>\n";
        let html = hl().highlight_block("rust", code);
        assert!(html.starts_with("<pre><code class=\"language-rust\">"));
        assert!(html.ends_with("</code></pre>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("&amp;"));
        assert_eq!(text_of(&html), code);
        assert!(html.contains("<span class=\"hl-keyword\">fn</span>"));
        assert!(html.contains("<span class=\"hl-comment\">"));
    }

    #[test]
    fn unknown_languages_are_plain_escaped_text() {
        for info in ["nosuchlang", "", "text", "{.weird}", "x\"onmouseover=\"y"] {
            let html = hl().highlight_block(info, "a < b & c\n");
            assert!(!html.contains("<span"), "{info}: {html}");
            assert!(html.contains("a &lt; b &amp; c\n"), "{info}: {html}");
            assert!(
                !html.contains("\"y"),
                "attribute injection via {info}: {html}"
            );
        }
        assert!(
            hl().highlight_block("", "x")
                .starts_with("<pre><code class=\"language-text\">")
        );
    }

    #[test]
    fn every_required_language_gets_spans() {
        let samples = [
            ("rust", "fn main() { let x = 1; }\n"),
            ("rust,ignore", "fn main() {}\n"),
            ("python", "def f(x):\n    return 'a'\n"),
            ("c", "int main(void) { return 0; }\n"),
            ("cpp", "template <typename T> T f(T x) { return x; }\n"),
            ("c++", "int x = 0; // c\n"),
            ("cuda", "__global__ void k(float *x) { return; }\n"),
            ("bash", "for f in *.txt; do echo \"$f\"; done\n"),
            ("sh", "export A=1\n"),
            ("shell", "echo hi # c\n"),
            ("slurm", "#SBATCH --ntasks=4\nsrun ./a.out\n"),
            ("sbatch", "#SBATCH -N 1\n"),
            ("toml", "[package]\nname = \"x\"\n"),
            ("yaml", "a: 1\n"),
            ("json", "{\"a\": 1}\n"),
            ("markdown", "# Title\n*em*\n"),
            ("diff", "-a\n+b\n"),
            ("console", "$ cargo run\nHello\n"),
            ("pycon", ">>> 1 + 1\n2\n"),
            ("ipython", "In [1]: import numpy\n"),
        ];
        for (info, code) in samples {
            let html = hl().highlight_block(info, code);
            assert!(html.contains("<span class=\"hl-"), "{info}: {html}");
            assert_eq!(text_of(&html), code, "{info}");
        }
    }

    #[test]
    fn toml_keys_strings_and_tables() {
        let html =
            hl().highlight_block("toml", "[dependencies]\nserde = { version = \"1\" } # c\n");
        assert!(
            html.contains("<span class=\"hl-heading\">dependencies</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-key\">serde</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-string\">&quot;1&quot;</span>")
                || html.contains("<span class=\"hl-string\">\"1\"</span>"),
            "{html}"
        );
        assert!(html.contains("hl-comment"), "{html}");
    }

    #[test]
    fn console_prompts_commands_and_output() {
        let code = "$ cargo build --release \\\n    --quiet\n   Compiling x\n# apt-get install -y chromium\n>>> import numpy as np\n... x = 1\n>>> np.pi\n3.14\n";
        let html = hl().highlight_block("console", code);
        assert_eq!(text_of(&html), code);
        assert_eq!(
            html.matches("<span class=\"hl-prompt\">").count(),
            5,
            "{html}"
        );
        assert!(html.contains("<span class=\"hl-prompt\">$ </span>"));
        assert!(html.contains("<span class=\"hl-prompt\"># </span>"));
        assert!(html.contains("<span class=\"hl-prompt\">... </span>"));
        // The continuation line is a command, not output.
        assert!(
            !html.contains("<span class=\"hl-output\">    --quiet"),
            "{html}"
        );
        assert!(html.contains("<span class=\"hl-output\">   Compiling x\n</span>"));
        assert!(html.contains("<span class=\"hl-output\">3.14\n</span>"));
        assert!(html.contains("hl-function\">cargo"), "{html}");
        assert!(html.contains("hl-keyword\">import"), "{html}");
    }

    #[test]
    fn ipython_prompts() {
        let code = "In [1]: def f(x):\n   ...:     return x\n   ...: \nOut[1]: 3\n";
        let html = hl().highlight_block("ipython", code);
        assert_eq!(text_of(&html), code);
        assert!(
            html.contains("<span class=\"hl-prompt\">In [1]: </span>"),
            "{html}"
        );
        assert_eq!(html.matches("hl-prompt").count(), 3, "{html}");
        assert!(html.contains("<span class=\"hl-output\">Out[1]: 3\n</span>"));
    }

    #[test]
    fn rust_hidden_lines() {
        let code = "# use std::fmt;\n#[derive(Debug)]\nstruct A;\n    # let x = 1;\n##![allow]\n#\nfn main() {}\n";
        let html = hl().highlight_block("rust,editable", code);
        assert_eq!(
            html.matches("<span class=\"hl-boring\">").count(),
            3,
            "{html}"
        );
        let text = text_of(&html);
        assert_eq!(
            text,
            "use std::fmt;\n#[derive(Debug)]\nstruct A;\n    let x = 1;\n#![allow]\n\nfn main() {}\n"
        );
        // Other languages keep their `#` lines.
        let py = hl().highlight_block("python", "# comment\n");
        assert!(!py.contains("hl-boring"));
        let custom = hl().highlight_block("python hidelines=!!!", "!!! import os\nx = 1\n");
        assert!(custom.contains("<span class=\"hl-boring\">"), "{custom}");
    }

    #[test]
    fn code_without_final_newline_and_empty_code() {
        let html = hl().highlight_block("rust", "let x = 1;");
        assert_eq!(text_of(&html).trim_end(), "let x = 1;");
        let empty = hl().highlight_block("rust", "");
        assert_eq!(empty, "<pre><code class=\"language-rust\"></code></pre>");
    }

    #[test]
    fn spans_never_cross_lines() {
        let code = "/* a\n b */ fn x() {\n let s = \"multi\nline\";\n}\n";
        let html = hl().highlight_block("rust", code);
        for line in html.split('\n') {
            assert_eq!(
                line.matches("<span").count(),
                line.matches("</span>").count(),
                "{line}"
            );
        }
    }

    #[test]
    fn fast_enough() {
        // About 100 KB of Rust. A guard against pathological slowness (a grammar or matcher
        // change that goes quadratic), not a benchmark: other processes share the machine.
        let unit = include_str!("highlight.rs");
        let code = unit.repeat(100_000 / unit.len() + 1);
        let h = Highlighter::new();
        let t = std::time::Instant::now();
        let html = h.highlight_block("rust", &code);
        let took = t.elapsed();
        assert!(html.len() > code.len());
        let budget = if cfg!(debug_assertions) { 5000 } else { 500 };
        assert!(
            took.as_millis() < budget,
            "{took:?} for {} bytes",
            code.len()
        );
    }

    /// WCAG 2.1 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
        (hi + 0.05) / (lo + 0.05)
    }

    /// Reads the custom properties of one theme block from the generated CSS.
    fn vars_of(css: &str, selector: &str) -> Vec<(String, String)> {
        let start = css.find(selector).unwrap() + selector.len();
        let body = &css[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
        body.split(';')
            .filter_map(|d| d.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    #[test]
    fn contrast_is_wcag_aa_in_both_themes() {
        let css = Highlighter::stylesheet();
        let mut report = String::new();
        for (theme, selector) in [
            ("light", ":root,:root[data-theme=\"light\"]"),
            ("dark", ":root[data-theme=\"dark\"]"),
        ] {
            let vars = vars_of(&css, selector);
            let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let bg = get("--hl-bg").unwrap();
            let mut checked = 0;
            for (name, value) in &vars {
                if name == "--hl-bg" || name.ends_with("-bg") {
                    continue;
                }
                // A class with its own background is measured against it, and that
                // background against the block's text colour is irrelevant.
                let against = get(&format!("{name}-bg")).unwrap_or_else(|| bg.clone());
                let ratio = contrast(value, &against);
                let _ = writeln!(report, "{theme} {name} {value} on {against}: {ratio:.2}");
                assert!(
                    ratio >= 4.5,
                    "{theme}: {name} {value} on {against} has contrast {ratio:.2} < 4.5"
                );
                checked += 1;
            }
            assert!(
                checked >= PALETTE.len(),
                "{theme}: only {checked} colours checked"
            );
        }
        // Every class the highlighter can emit has a rule.
        for class in CLASSES.iter().skip(1) {
            assert!(
                css.contains(&format!(".hl-{class}{{")),
                "no rule for hl-{class}"
            );
        }
        println!("{report}");
    }
}
