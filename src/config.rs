//! book.toml: mdBook's keys, plus perfguide's own `[measure]`, `[python]` and `[search]`.
//!
//! Every table is deserialized with `deny_unknown_fields`, so a misspelt key fails the build
//! with its `file:line:column`, the closest valid key and the list of valid keys, instead of
//! being silently ignored (mdBook only logs a warning, and only for top-level keys).
//!
//! mdBook's documented keys are all accepted so that any mdBook book's `book.toml` loads. The
//! ones perfguide does not implement are listed in [`IGNORED_KEYS`]; when a book sets one,
//! [`Config::notes`] carries a note (with the line) that the build prints, so nobody wonders
//! why a setting has no effect. `[preprocessor.NAME]` and `[output.NAME]` tables other than
//! `[output.html]` accept any content, as in mdBook.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use toml::de::{DeTable, DeValue};

use crate::diag::{SourceError, line_col};

/// The whole of book.toml.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    pub book: BookConfig,
    pub build: BuildConfig,
    /// mdBook's `[rust]` table (playground and doctest edition); accepted, not used.
    pub rust: RustConfig,
    pub output: OutputConfig,
    /// `[preprocessor.NAME]` tables, any content. perfguide runs no external preprocessors;
    /// its own expansion covers mdBook's built-in `links` and `index`.
    pub preprocessor: BTreeMap<String, toml::Value>,
    pub measure: MeasureConfig,
    pub python: PythonConfig,
    pub search: SearchConfig,
    /// Notes about keys that were accepted but have no effect (see [`IGNORED_KEYS`]), each as
    /// `file:line: ...`. Filled by [`parse_config`]; never read from the file.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// `[book]`: metadata, as in mdBook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct BookConfig {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub description: Option<String>,
    /// The chapters' folder, relative to the book root.
    pub src: PathBuf,
    /// BCP 47 tag for `<html lang>`.
    pub language: String,
    /// When absent, derived from `language` (see [`BookConfig::realized_text_direction`]).
    pub text_direction: Option<TextDirection>,
    /// mdBook 0.4 wrote `multilingual = false` into every new book; it never did anything.
    pub multilingual: bool,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            title: None,
            authors: Vec::new(),
            description: None,
            src: PathBuf::from("src"),
            language: "en".to_string(),
            text_direction: None,
            multilingual: false,
        }
    }
}

impl BookConfig {
    /// The text direction to put on `<html dir>`: the explicit setting, else mdBook's guess
    /// from the language code.
    pub fn realized_text_direction(&self) -> TextDirection {
        self.text_direction
            .unwrap_or_else(|| TextDirection::from_lang_code(&self.language))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextDirection {
    #[serde(rename = "ltr")]
    LeftToRight,
    #[serde(rename = "rtl")]
    RightToLeft,
}

impl TextDirection {
    /// mdBook's list of right-to-left language codes.
    pub fn from_lang_code(code: &str) -> TextDirection {
        // The primary subtag decides ("ar-EG" is Arabic).
        let primary = code.split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "ar" | "ara" | "arc" | "ae" | "ave" | "egy" | "he" | "heb" | "nqo" | "pal" | "phn"
            | "sam" | "syc" | "syr" | "fa" | "per" | "fas" | "ku" | "kur" | "ur" | "urd"
            | "pus" | "ps" | "yi" | "yid" => TextDirection::RightToLeft,
            _ => TextDirection::LeftToRight,
        }
    }

    /// The value of the HTML `dir` attribute.
    pub fn as_html(self) -> &'static str {
        match self {
            TextDirection::LeftToRight => "ltr",
            TextDirection::RightToLeft => "rtl",
        }
    }
}

/// `[build]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct BuildConfig {
    /// Output folder, relative to the book root.
    pub build_dir: PathBuf,
    /// Create chapter files that SUMMARY.md names but that do not exist (mdBook's default).
    pub create_missing: bool,
    pub use_default_preprocessors: bool,
    /// Further folders whose changes trigger a rebuild under `perfguide serve`.
    pub extra_watch_dirs: Vec<PathBuf>,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            build_dir: PathBuf::from("book"),
            create_missing: true,
            use_default_preprocessors: true,
            extra_watch_dirs: Vec::new(),
        }
    }
}

/// `[rust]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RustConfig {
    pub edition: Option<RustEdition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RustEdition {
    #[serde(rename = "2015")]
    E2015,
    #[serde(rename = "2018")]
    E2018,
    #[serde(rename = "2021")]
    E2021,
    #[serde(rename = "2024")]
    E2024,
}

/// `[output.*]`: `[output.html]` is typed and checked; any other backend's table is kept as
/// is (perfguide renders HTML only, and says so in a note).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OutputConfig {
    pub html: HtmlConfig,
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

// Hand-written so that `html` is deserialized straight from the TOML deserializer (serde's
// `flatten` would buffer it and lose the positions of its errors).
impl<'de> Deserialize<'de> for OutputConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OutputVisitor;
        impl<'de> Visitor<'de> for OutputVisitor {
            type Value = OutputConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of output backends such as [output.html]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OutputConfig, A::Error> {
                let mut out = OutputConfig::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "html" {
                        out.html = map.next_value()?;
                    } else {
                        let value: toml::Value = map.next_value()?;
                        out.other.insert(key, value);
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(OutputVisitor)
    }
}

/// `[output.html]`: every key mdBook documents (0.4 and 0.5), typed as mdBook types them.
/// Those perfguide does not implement are listed in [`IGNORED_KEYS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HtmlConfig {
    pub theme: Option<PathBuf>,
    pub default_theme: Option<String>,
    pub preferred_dark_theme: Option<String>,
    pub smart_punctuation: Option<bool>,
    /// Deprecated mdBook alias of `smart-punctuation`.
    pub curly_quotes: Option<bool>,
    pub definition_lists: Option<bool>,
    pub admonitions: Option<bool>,
    pub mathjax_support: bool,
    pub copy_fonts: bool,
    /// Removed from mdBook; still found in older books.
    pub google_analytics: Option<String>,
    /// Stylesheets added after the built-in ones, relative to the book root.
    pub additional_css: Vec<PathBuf>,
    /// Scripts added after the built-in ones, relative to the book root.
    pub additional_js: Vec<PathBuf>,
    pub fold: FoldConfig,
    #[serde(alias = "playpen")]
    pub playground: PlaygroundConfig,
    pub code: CodeConfig,
    pub print: PrintConfig,
    pub no_section_label: bool,
    pub search: Option<HtmlSearchConfig>,
    pub git_repository_url: Option<String>,
    pub git_repository_icon: Option<String>,
    /// e.g. `https://github.com/o/r/edit/main/guides/{path}`; `{path}` is the chapter's path
    /// relative to the book root.
    pub edit_url_template: Option<String>,
    pub input_404: Option<String>,
    /// Where the site is published, e.g. `https://example.org/guide/`.
    pub site_url: Option<String>,
    pub cname: Option<String>,
    pub live_reload_endpoint: Option<String>,
    pub redirect: BTreeMap<String, String>,
    pub hash_files: Option<bool>,
    pub sidebar_header_nav: Option<bool>,
}

impl Default for HtmlConfig {
    fn default() -> Self {
        HtmlConfig {
            theme: None,
            default_theme: None,
            preferred_dark_theme: None,
            smart_punctuation: None,
            curly_quotes: None,
            definition_lists: None,
            admonitions: None,
            mathjax_support: false,
            copy_fonts: true,
            google_analytics: None,
            additional_css: Vec::new(),
            additional_js: Vec::new(),
            fold: FoldConfig::default(),
            playground: PlaygroundConfig::default(),
            code: CodeConfig::default(),
            print: PrintConfig::default(),
            no_section_label: false,
            search: None,
            git_repository_url: None,
            git_repository_icon: None,
            edit_url_template: None,
            input_404: None,
            site_url: None,
            cname: None,
            live_reload_endpoint: None,
            redirect: BTreeMap::new(),
            hash_files: None,
            sidebar_header_nav: None,
        }
    }
}

/// `[output.html.fold]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FoldConfig {
    pub enable: bool,
    pub level: u8,
}

/// `[output.html.playground]` (alias `playpen`), as in mdBook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PlaygroundConfig {
    pub editable: bool,
    pub copyable: bool,
    pub copy_js: bool,
    pub line_numbers: bool,
    pub runnable: bool,
    /// mdBook 0.3's editor folder; still found in older books.
    pub editor: Option<PathBuf>,
}

impl Default for PlaygroundConfig {
    fn default() -> Self {
        PlaygroundConfig {
            editable: false,
            copyable: true,
            copy_js: true,
            line_numbers: false,
            runnable: true,
            editor: None,
        }
    }
}

/// `[output.html.code]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CodeConfig {
    pub hidelines: BTreeMap<String, String>,
}

/// `[output.html.print]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrintConfig {
    pub enable: bool,
    pub page_break: bool,
}

impl Default for PrintConfig {
    fn default() -> Self {
        PrintConfig {
            enable: true,
            page_break: true,
        }
    }
}

/// `[output.html.search]`, as in mdBook (perfguide's search reads `[search]` instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HtmlSearchConfig {
    pub enable: bool,
    pub limit_results: u32,
    pub teaser_word_count: u32,
    pub use_boolean_and: bool,
    pub boost_title: u8,
    pub boost_hierarchy: u8,
    pub boost_paragraph: u8,
    pub expand: bool,
    pub heading_split_level: u8,
    pub copy_js: bool,
    pub chapter: BTreeMap<String, HtmlSearchChapter>,
}

impl Default for HtmlSearchConfig {
    fn default() -> Self {
        HtmlSearchConfig {
            enable: true,
            limit_results: 30,
            teaser_word_count: 30,
            use_boolean_and: false,
            boost_title: 2,
            boost_hierarchy: 1,
            boost_paragraph: 1,
            expand: true,
            heading_split_level: 3,
            copy_js: true,
            chapter: BTreeMap::new(),
        }
    }
}

/// `[output.html.search.chapter."path"]`, as in mdBook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HtmlSearchChapter {
    pub enable: Option<bool>,
}

/// `[measure]`: how kernels are timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct MeasureConfig {
    /// Time budget per variant for a full measurement.
    pub budget_seconds: f64,
    /// Time budget per variant under `--quick` (CI).
    pub quick_budget_seconds: f64,
    pub min_samples: u32,
    pub max_samples: u32,
    /// Stop sampling early once the 95% confidence interval of the median is this narrow
    /// (percent of the median).
    pub target_ci_percent: f64,
    /// A sample runs the kernel often enough to last at least this long, so timer
    /// resolution does not matter.
    pub min_sample_ms: f64,
    /// A worker that runs longer is killed and the kernel reported as hung.
    pub timeout_seconds: u64,
    /// Measure a variant again, up to this many times, when its measurement looks disturbed
    /// (busy machine or slow CPU); not under `--quick`.
    pub retries: u32,
    /// Worker processes per measurement, each with an equal share of the budget, their
    /// samples pooled; more than one exposes (and averages over) process-to-process effects
    /// such as memory placement. 1 under `--quick`.
    pub processes: u32,
    /// The measurement store, relative to the book root.
    pub store: PathBuf,
}

impl Default for MeasureConfig {
    fn default() -> Self {
        MeasureConfig {
            budget_seconds: 8.0,
            quick_budget_seconds: 0.5,
            min_samples: 10,
            max_samples: 1000,
            target_ci_percent: 2.0,
            min_sample_ms: 10.0,
            timeout_seconds: 120,
            retries: 2,
            processes: 2,
            store: PathBuf::from("measurements"),
        }
    }
}

/// `[python]`: the interpreter that runs `examples/python`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PythonConfig {
    pub interpreter: String,
    /// requirements.txt, relative to the book root.
    pub requirements: PathBuf,
    /// Create the virtual environment and install the requirements when missing.
    pub auto_install: bool,
    /// The virtual environment, relative to the book root.
    pub venv: PathBuf,
    /// Limit for creating the venv and installing the requirements.
    pub timeout_seconds: u64,
    /// Limit for one `{{#run}}` of a program.
    pub run_timeout_seconds: u64,
}

impl Default for PythonConfig {
    fn default() -> Self {
        PythonConfig {
            interpreter: "python3".to_string(),
            requirements: PathBuf::from("examples/python/requirements.txt"),
            auto_install: true,
            venv: PathBuf::from("target/perfguide-venv"),
            timeout_seconds: 600,
            run_timeout_seconds: 60,
        }
    }
}

/// `[search]`: perfguide's own search index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SearchConfig {
    pub enable: bool,
    pub limit_results: u32,
    /// Score multiplier for a match in a page title.
    pub title_boost: f64,
    /// Score multiplier for a match in a heading.
    pub heading_boost: f64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            enable: true,
            limit_results: 20,
            title_boost: 3.0,
            heading_boost: 2.0,
        }
    }
}

impl Config {
    /// The chapters' folder (`[book] src`), joined to the book root.
    pub fn src_dir(&self, book_root: &Path) -> PathBuf {
        book_root.join(&self.book.src)
    }

    /// The output folder (`[build] build-dir`), joined to the book root.
    pub fn build_dir(&self, book_root: &Path) -> PathBuf {
        book_root.join(&self.build.build_dir)
    }

    /// The measurement store (`[measure] store`), joined to the book root.
    pub fn measure_store(&self, book_root: &Path) -> PathBuf {
        book_root.join(&self.measure.store)
    }

    /// The book's title, or "" when book.toml gives none (mdBook does the same).
    pub fn title(&self) -> &str {
        self.book.title.as_deref().unwrap_or("")
    }
}

/// A key mdBook documents that perfguide accepts but does not act on, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredKey {
    /// Dotted path; a table path covers everything inside it.
    pub key: &'static str,
    pub reason: &'static str,
}

/// mdBook keys that are accepted (so mdBook books load) but have no effect in perfguide.
/// When a book sets one, [`parse_config`] adds a note naming its line.
pub const IGNORED_KEYS: &[IgnoredKey] = &[
    IgnoredKey {
        key: "book.multilingual",
        reason: "it never had an effect in mdBook either",
    },
    IgnoredKey {
        key: "build.use-default-preprocessors",
        reason: "perfguide always expands {{#include}} and friends and always renders README.md as index.html",
    },
    IgnoredKey {
        key: "rust",
        reason: "perfguide has no Rust playground and does not run chapter code blocks as doctests",
    },
    IgnoredKey {
        key: "output.html.theme",
        reason: "perfguide's templates are Tera templates: override them in the book's templates/ folder",
    },
    IgnoredKey {
        key: "output.html.smart-punctuation",
        reason: "perfguide always uses smart punctuation",
    },
    IgnoredKey {
        key: "output.html.curly-quotes",
        reason: "perfguide always uses smart punctuation",
    },
    IgnoredKey {
        key: "output.html.definition-lists",
        reason: "perfguide's Markdown dialect is fixed (see the README)",
    },
    IgnoredKey {
        key: "output.html.admonitions",
        reason: "GitHub-style alerts (> [!NOTE]) are always rendered as admonitions",
    },
    IgnoredKey {
        key: "output.html.mathjax-support",
        reason: "perfguide does not load MathJax (its pages make no request to other hosts)",
    },
    IgnoredKey {
        key: "output.html.copy-fonts",
        reason: "perfguide always ships its fonts with the site",
    },
    IgnoredKey {
        key: "output.html.google-analytics",
        reason: "perfguide's pages make no request to other hosts",
    },
    IgnoredKey {
        key: "output.html.fold",
        reason: "the sidebar always expands the branch of the current page",
    },
    IgnoredKey {
        key: "output.html.playground",
        reason: "perfguide has no Rust playground; measured code runs at build time",
    },
    IgnoredKey {
        key: "output.html.playpen",
        reason: "perfguide has no Rust playground; measured code runs at build time",
    },
    IgnoredKey {
        key: "output.html.code",
        reason: "hidden code lines (hidelines) are not supported",
    },
    IgnoredKey {
        key: "output.html.print",
        reason: "print.html is always generated",
    },
    IgnoredKey {
        key: "output.html.no-section-label",
        reason: "section numbers are always shown",
    },
    IgnoredKey {
        key: "output.html.search",
        reason: "perfguide's search is configured in its own [search] table",
    },
    IgnoredKey {
        key: "output.html.input-404",
        reason: "404.html is rendered from perfguide's 404 template",
    },
    IgnoredKey {
        key: "output.html.cname",
        reason: "perfguide does not write a CNAME file",
    },
    IgnoredKey {
        key: "output.html.live-reload-endpoint",
        reason: "`perfguide serve` sets up live reload itself",
    },
    IgnoredKey {
        key: "output.html.redirect",
        reason: "perfguide does not generate redirect pages",
    },
    IgnoredKey {
        key: "output.html.hash-files",
        reason: "perfguide always cache-busts asset URLs",
    },
    IgnoredKey {
        key: "output.html.sidebar-header-nav",
        reason: "the on-page table of contents lists the h2 and h3 headings instead",
    },
];

/// Reads `book_root/book.toml`, or returns the defaults when there is none (as mdBook does).
/// Errors in the file are [`SourceError`]s (downcast the `anyhow::Error` to get one).
pub fn load_config(book_root: &Path) -> anyhow::Result<Config> {
    let path = book_root.join("book.toml");
    let shown = user_path(&path);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", shown.display()));
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return Err(not_utf8_error(&shown, e.as_bytes(), e.utf8_error()).into()),
    };
    Ok(parse_config(&text, &shown)?)
}

/// Parses the text of a book.toml; `file` is how errors and notes name it.
pub fn parse_config(text: &str, file: &Path) -> Result<Config, SourceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut config: Config = match toml::from_str(text) {
        Ok(config) => config,
        Err(e) => return Err(toml_error(text, file, &e)),
    };
    // The document parsed above, so this parse succeeds; it gives the keys' positions.
    let keys = DeTable::parse(text)
        .map(|table| collect_keys(table.get_ref()))
        .unwrap_or_default();
    validate(&config, text, file, &keys)?;
    config.notes = notes(&config, text, file, &keys);
    Ok(config)
}

/// A key of the document, with where it and its value are.
#[derive(Debug, Clone)]
struct KeyPos {
    path: Vec<String>,
    key: Range<usize>,
    value: Range<usize>,
}

impl KeyPos {
    fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// Every key of the document, depth-first, with array elements' keys indexed by position.
fn collect_keys(table: &DeTable<'_>) -> Vec<KeyPos> {
    fn walk_table(table: &DeTable<'_>, prefix: &[String], out: &mut Vec<KeyPos>) {
        for (k, v) in table.iter() {
            let mut path = prefix.to_vec();
            path.push(k.get_ref().to_string());
            out.push(KeyPos {
                path: path.clone(),
                key: k.span(),
                value: v.span(),
            });
            walk_value(v.get_ref(), &path, out);
        }
    }
    fn walk_value(value: &DeValue<'_>, path: &[String], out: &mut Vec<KeyPos>) {
        match value {
            DeValue::Table(t) => walk_table(t, path, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.to_vec();
                    p.push(i.to_string());
                    walk_value(item.get_ref(), &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk_table(table, &[], &mut out);
    out
}

fn find_key<'a>(keys: &'a [KeyPos], dotted: &str) -> Option<&'a KeyPos> {
    keys.iter().find(|k| k.dotted() == dotted)
}

/// Turns a TOML syntax or deserialization error into a positioned, helpful one.
fn toml_error(text: &str, file: &Path, e: &toml::de::Error) -> SourceError {
    let message = e.message().trim().to_string();
    let span = e.span();
    let (line, column) = match &span {
        Some(s) => line_col(text, s.start),
        None => (0, 1),
    };
    let at = |msg: String| {
        let err = SourceError::new(file, line, msg);
        if line > 0 { err.column(column) } else { err }
    };
    // Positions of the keys, when the document is at least syntactically valid.
    let keys = DeTable::parse(text).ok().map(|t| collect_keys(t.get_ref()));
    let Some(keys) = keys else {
        return at(format!("invalid TOML: {message}"))
            .help("book.toml must be valid TOML (https://toml.io): check the quotes, brackets and `=` near this position");
    };

    if let Some((unknown, valid)) = parse_unknown(&message, "unknown field") {
        // The key's path tells which table it is in.
        let table: Vec<String> = span
            .as_ref()
            .and_then(|s| keys.iter().find(|k| k.key == *s))
            .map(|k| k.path[..k.path.len().saturating_sub(1)].to_vec())
            .unwrap_or_default();
        let table_name = if table.is_empty() {
            "book.toml's top level".to_string()
        } else {
            format!("[{}]", table.join("."))
        };
        let mut help = String::new();
        if table.is_empty()
            && ["title", "authors", "description", "source"].contains(&unknown.as_str())
        {
            help.push_str(&format!(
                "`{unknown}` belongs in the [book] table (mdBook's old top-level format is not supported); "
            ));
        } else if let Some(best) = closest(&unknown, &valid) {
            help.push_str(&format!("did you mean `{best}`? "));
        }
        if valid.is_empty() {
            help.push_str(&format!("{table_name} takes no keys"));
        } else if table.is_empty() {
            let tables: Vec<String> = valid.iter().map(|v| format!("[{v}]")).collect();
            help.push_str(&format!("valid tables are {}", tables.join(", ")));
        } else {
            help.push_str(&format!("valid keys in {table_name}: {}", valid.join(", ")));
        }
        return at(format!("unknown key `{unknown}` in {table_name}")).help(help);
    }

    // A wrong type or value: name the key whose value holds the error.
    let key = span.as_ref().and_then(|s| {
        keys.iter()
            .filter(|k| k.value.start <= s.start && s.end <= k.value.end)
            .max_by_key(|k| k.path.len())
    });
    let Some(key) = key else {
        return at(message);
    };
    let dotted = key.dotted();
    let mut err = at(format!("`{dotted}`: {message}"));
    if let Some((_, valid)) = parse_unknown(&message, "unknown variant") {
        err = err.help(format!("`{dotted}` must be one of {}", quoted_list(&valid)));
    } else if let Some(example) = example_for(&key.path) {
        err = err.help(format!("for example `{example}`"));
    }
    err
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" (and the `unknown variant`
/// form) into `x` and `[a, b]`.
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    // The valid names follow the last ", expected" (the unknown name itself may contain
    // anything, even backticks); "there are no fields" lists none.
    let (head, valid) = match rest.rfind(", expected ") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest.split(", there are no").next().unwrap_or(rest), ""),
    };
    let unknown = head
        .trim()
        .trim_start_matches('`')
        .trim_end_matches('`')
        .to_string();
    let valid = valid
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((unknown, valid))
}

fn quoted_list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    q.join(", ")
}

/// `key = value` for the default value at `path`, to show what a valid entry looks like.
fn example_for(path: &[String]) -> Option<String> {
    let mut value = toml::Value::try_from(Config::default()).ok()?;
    for part in path {
        value = match value {
            toml::Value::Table(mut t) => t.remove(part)?,
            _ => return None,
        };
    }
    let shown = match &value {
        toml::Value::Array(a) if a.is_empty() => return None,
        toml::Value::Table(_) => return None,
        v => v.to_string(),
    };
    Some(format!("{} = {shown}", path.last()?))
}

/// The valid key nearest to `unknown` by edit distance, if it is near enough to be a typo.
fn closest(unknown: &str, valid: &[String]) -> Option<String> {
    let unknown_l = unknown.to_lowercase().replace('_', "-");
    valid
        .iter()
        .map(|v| (edit_distance(&unknown_l, v), v))
        .filter(|(d, v)| *d <= (v.chars().count().max(unknown.chars().count()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v.clone())
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Checks the values that the types alone do not constrain.
fn validate(config: &Config, text: &str, file: &Path, keys: &[KeyPos]) -> Result<(), SourceError> {
    // Points at the first of `candidates` present in the file.
    let at = |candidates: &[&str], message: String, help: &str| {
        let pos = candidates.iter().find_map(|c| find_key(keys, c));
        let err = match pos {
            Some(k) => {
                let (line, col) = line_col(text, k.key.start);
                SourceError::new(file, line, message).column(col)
            }
            None => SourceError::new(file, 0, message),
        };
        err.help(help)
    };
    let positive = |key: &str, v: f64| -> Result<(), SourceError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(at(
                &[key],
                format!("`{key}` must be a positive number of seconds, not {v}"),
                "use a value such as 1.0",
            ))
        }
    };

    let m = &config.measure;
    positive("measure.budget-seconds", m.budget_seconds)?;
    positive("measure.quick-budget-seconds", m.quick_budget_seconds)?;
    if m.min_samples == 0 {
        return Err(at(
            &["measure.min-samples"],
            "`measure.min-samples` must be at least 1".into(),
            "the median needs samples; 10 is the default",
        ));
    }
    if m.max_samples < m.min_samples {
        return Err(at(
            &["measure.max-samples", "measure.min-samples"],
            format!(
                "`measure.max-samples` ({}) is smaller than `measure.min-samples` ({})",
                m.max_samples, m.min_samples
            ),
            "raise max-samples or lower min-samples",
        ));
    }
    if !(m.target_ci_percent.is_finite() && m.target_ci_percent > 0.0) {
        return Err(at(
            &["measure.target-ci-percent"],
            format!(
                "`measure.target-ci-percent` must be a positive percentage, not {}",
                m.target_ci_percent
            ),
            "2.0 (the default) stops sampling once the median is known to within 2%",
        ));
    }
    if !(m.min_sample_ms.is_finite() && m.min_sample_ms >= 0.0) {
        return Err(at(
            &["measure.min-sample-ms"],
            format!(
                "`measure.min-sample-ms` must be zero or more milliseconds, not {}",
                m.min_sample_ms
            ),
            "10.0 (the default) keeps timer resolution negligible",
        ));
    }
    let at_least_one = |key: &str, v: u64| -> Result<(), SourceError> {
        if v >= 1 {
            Ok(())
        } else {
            Err(at(
                &[key],
                format!("`{key}` must be at least 1 second"),
                "a timeout of 0 would stop every run at once",
            ))
        }
    };
    at_least_one("measure.timeout-seconds", m.timeout_seconds)?;
    at_least_one("python.timeout-seconds", config.python.timeout_seconds)?;
    at_least_one(
        "python.run-timeout-seconds",
        config.python.run_timeout_seconds,
    )?;
    if config.python.interpreter.trim().is_empty() {
        return Err(at(
            &["python.interpreter"],
            "`python.interpreter` is empty".into(),
            "name a Python 3 interpreter, e.g. interpreter = \"python3\"",
        ));
    }
    let s = &config.search;
    if s.limit_results == 0 {
        return Err(at(
            &["search.limit-results"],
            "`search.limit-results` must be at least 1".into(),
            "to turn search off, set `enable = false` in [search]",
        ));
    }
    for (key, v) in [
        ("search.title-boost", s.title_boost),
        ("search.heading-boost", s.heading_boost),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(at(
                &[key],
                format!("`{key}` must be zero or a positive number, not {v}"),
                "a boost multiplies the score of a match; 1.0 means no boost",
            ));
        }
    }
    // The output folder is replaced wholesale by each build: it must not be the book itself.
    let build_dir = &config.build.build_dir;
    // A fake absolute root lets relative paths be compared lexically; an absolute build-dir
    // is checked against the real root when the book is loaded.
    if let Some(problem) = output_dir_problem(
        Path::new("/perfguide-book-root"),
        &config.book.src,
        build_dir,
    ) {
        return Err(at(
            &["build.build-dir", "book.src"],
            format!("`build.build-dir` (\"{}\") {problem}", build_dir.display()),
            "each build replaces the output folder: use a folder of its own, such as \"book\"",
        ));
    }
    Ok(())
}

/// Why `dest` cannot be the output folder of the book at `root` whose chapters are in `src`
/// (both may be relative to `root`), if it cannot. Each build replaces the output folder
/// wholesale, so it must not be, or contain, the book root or the source folder. Paths are
/// compared after resolving `.` and `..` lexically.
pub fn output_dir_problem(root: &Path, src: &Path, dest: &Path) -> Option<&'static str> {
    let root = lexical(root);
    let src = lexical(&root.join(src));
    let dest = lexical(&root.join(dest));
    if root.starts_with(&dest) {
        Some("is the book root or a folder that contains it")
    } else if src.starts_with(&dest) {
        Some("is or contains the source folder")
    } else {
        None
    }
}

/// Resolves `.` and `..` without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// One note per ignored key the file sets, and per foreign preprocessor or output backend.
fn notes(config: &Config, text: &str, file: &Path, keys: &[KeyPos]) -> Vec<String> {
    let line_of = |k: &KeyPos| line_col(text, k.key.start).0;
    let mut notes = Vec::new();
    for ignored in IGNORED_KEYS {
        if let Some(k) = find_key(keys, ignored.key) {
            notes.push(format!(
                "{}:{}: `{}` is accepted for mdBook compatibility but has no effect: {}",
                file.display(),
                line_of(k),
                ignored.key,
                ignored.reason
            ));
        }
    }
    for name in config.preprocessor.keys() {
        // mdBook's built-in preprocessors are what perfguide's expand stage does anyway.
        if name == "links" || name == "index" {
            continue;
        }
        let line = find_key(keys, &format!("preprocessor.{name}")).map_or(0, line_of);
        notes.push(format!(
            "{}:{line}: [preprocessor.{name}] is not run: perfguide does not run mdBook preprocessors",
            file.display()
        ));
    }
    for name in config.output.other.keys() {
        let line = find_key(keys, &format!("output.{name}")).map_or(0, line_of);
        notes.push(format!(
            "{}:{line}: [output.{name}] is ignored: perfguide renders HTML only",
            file.display()
        ));
    }
    notes
}

/// A file that is not UTF-8, pointing at the first bad byte.
pub(crate) fn not_utf8_error(file: &Path, bytes: &[u8], e: std::str::Utf8Error) -> SourceError {
    let valid = e.valid_up_to();
    // The valid prefix is UTF-8 by definition; count lines and characters in it.
    let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or("");
    let (line, column) = line_col(prefix, prefix.len());
    SourceError::new(
        file,
        line,
        format!(
            "the file is not valid UTF-8 (invalid byte 0x{:02X} at byte offset {valid})",
            bytes.get(valid).copied().unwrap_or(0)
        ),
    )
    .column(column)
    .help("save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")
}

/// A path as the user typed it: `./book.toml` is shown as `book.toml`.
pub(crate) fn user_path(path: &Path) -> PathBuf {
    let shown: PathBuf = path
        .components()
        .skip_while(|c| matches!(c, std::path::Component::CurDir))
        .collect();
    if shown.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, SourceError> {
        parse_config(text, Path::new("book.toml"))
    }

    fn err(text: &str) -> SourceError {
        match parse(text) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_file_gives_mdbook_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.book.src, PathBuf::from("src"));
        assert_eq!(c.book.language, "en");
        assert_eq!(c.build.build_dir, PathBuf::from("book"));
        assert!(c.build.create_missing);
        assert!(c.build.use_default_preprocessors);
        assert!(c.notes.is_empty());
    }

    #[test]
    fn perfguide_defaults() {
        let c = Config::default();
        assert_eq!(c.measure.budget_seconds, 8.0);
        assert_eq!(c.measure.quick_budget_seconds, 0.5);
        assert_eq!(c.measure.min_samples, 10);
        assert_eq!(c.measure.max_samples, 1000);
        assert_eq!(c.measure.target_ci_percent, 2.0);
        assert_eq!(c.measure.min_sample_ms, 10.0);
        assert_eq!(c.measure.timeout_seconds, 120);
        assert_eq!(c.measure.store, PathBuf::from("measurements"));
        assert_eq!(c.python.interpreter, "python3");
        assert_eq!(
            c.python.requirements,
            PathBuf::from("examples/python/requirements.txt")
        );
        assert!(c.python.auto_install);
        assert_eq!(c.python.venv, PathBuf::from("target/perfguide-venv"));
        assert_eq!(c.python.timeout_seconds, 600);
        assert_eq!(c.python.run_timeout_seconds, 60);
        assert!(c.search.enable);
        assert_eq!(c.search.limit_results, 20);
    }

    #[test]
    fn full_mdbook_config_loads() {
        // Every key of mdBook's documentation (guide/src/format/configuration).
        let text = r#"
[book]
title = "Example book"
authors = ["John Doe", "Jane Doe"]
description = "The example book covers examples."
src = "my-src"
language = "fa"
text-direction = "ltr"
multilingual = false

[rust]
edition = "2021"

[build]
build-dir = "out"
create-missing = false
use-default-preprocessors = false
extra-watch-dirs = ["../kernels"]

[preprocessor.index]

[preprocessor.links]

[preprocessor.mermaid]
command = "mdbook-mermaid"
before = ["links"]

[output.html]
theme = "my-theme"
default-theme = "light"
preferred-dark-theme = "navy"
smart-punctuation = true
curly-quotes = true
definition-lists = true
admonitions = true
mathjax-support = false
copy-fonts = true
google-analytics = "UA-123"
additional-css = ["custom.css", "custom2.css"]
additional-js = ["custom.js"]
no-section-label = false
git-repository-url = "https://github.com/rust-lang/mdBook"
git-repository-icon = "fab-github"
edit-url-template = "https://github.com/rust-lang/mdBook/edit/master/guide/{path}"
site-url = "/example-book/"
cname = "myproject.rs"
input-404 = "not-found.md"
live-reload-endpoint = "__livereload"
hash-files = true
sidebar-header-nav = true

[output.html.print]
enable = true
page-break = true

[output.html.fold]
enable = false
level = 0

[output.html.playground]
editable = false
copyable = true
copy-js = true
line-numbers = false
runnable = true

[output.html.code]
hidelines = { python = "~" }

[output.html.search]
enable = true
limit-results = 30
teaser-word-count = 30
use-boolean-and = true
boost-title = 2
boost-hierarchy = 1
boost-paragraph = 1
expand = true
heading-split-level = 3
copy-js = true

[output.html.search.chapter]
"appendix" = { enable = false }
"appendix/glossary.md" = { enable = true }

[output.html.redirect]
"/appendices/bibliography.html" = "https://example.org/bib.html"
"/old-page.html#old-fragment" = "new-page.html#new-fragment"

[output.markdown]

[output.wordcount]
ignores = ["Example Chapter"]
optional = true
"#;
        let c = parse(text).unwrap();
        assert_eq!(c.book.title.as_deref(), Some("Example book"));
        assert_eq!(c.book.authors.len(), 2);
        assert_eq!(c.book.src, PathBuf::from("my-src"));
        assert_eq!(c.book.text_direction, Some(TextDirection::LeftToRight));
        assert_eq!(c.book.realized_text_direction(), TextDirection::LeftToRight);
        assert_eq!(c.rust.edition, Some(RustEdition::E2021));
        assert_eq!(c.build.build_dir, PathBuf::from("out"));
        assert!(!c.build.create_missing);
        assert_eq!(c.build.extra_watch_dirs, vec![PathBuf::from("../kernels")]);
        let h = &c.output.html;
        assert_eq!(h.default_theme.as_deref(), Some("light"));
        assert_eq!(h.preferred_dark_theme.as_deref(), Some("navy"));
        assert_eq!(h.additional_css.len(), 2);
        assert_eq!(h.additional_js, vec![PathBuf::from("custom.js")]);
        assert_eq!(h.site_url.as_deref(), Some("/example-book/"));
        assert!(h.edit_url_template.as_deref().unwrap().contains("{path}"));
        assert_eq!(
            h.code.hidelines.get("python").map(String::as_str),
            Some("~")
        );
        assert_eq!(h.search.as_ref().unwrap().chapter.len(), 2);
        assert_eq!(h.redirect.len(), 2);
        assert!(c.output.other.contains_key("markdown"));
        assert!(c.output.other.contains_key("wordcount"));
        assert_eq!(c.preprocessor.len(), 3);
        // Notes name the ignored keys with their lines; links/index need none.
        let joined = c.notes.join("\n");
        assert!(
            joined.contains("book.toml:9: `book.multilingual`"),
            "{joined}"
        );
        assert!(joined.contains("`output.html.mathjax-support`"), "{joined}");
        assert!(
            joined.contains("[preprocessor.mermaid] is not run"),
            "{joined}"
        );
        assert!(!joined.contains("preprocessor.links"), "{joined}");
        assert!(joined.contains("[output.wordcount] is ignored"), "{joined}");
        assert!(!joined.contains("default-theme"), "{joined}");
    }

    #[test]
    fn playpen_is_an_alias_of_playground() {
        let c = parse("[output.html.playpen]\neditable = true\n").unwrap();
        assert!(c.output.html.playground.editable);
    }

    #[test]
    fn perfguide_tables_parse() {
        let c = parse(
            "[measure]\nbudget-seconds = 3\nquick-budget-seconds = 0.5\nmin-samples = 5\nmax-samples = 50\n\
             target-ci-percent = 1.5\nmin-sample-ms = 0\ntimeout-seconds = 30\nstore = \"data/m\"\n\
             [python]\ninterpreter = \"python3.12\"\nrequirements = \"r.txt\"\nauto-install = false\n\
             venv = \".venv\"\ntimeout-seconds = 100\nrun-timeout-seconds = 5\n\
             [search]\nenable = false\nlimit-results = 7\ntitle-boost = 4\nheading-boost = 1.5\n",
        )
        .unwrap();
        assert_eq!(c.measure.budget_seconds, 3.0);
        assert_eq!(c.measure.min_samples, 5);
        assert_eq!(c.measure.store, PathBuf::from("data/m"));
        assert_eq!(c.python.interpreter, "python3.12");
        assert!(!c.python.auto_install);
        assert_eq!(c.python.run_timeout_seconds, 5);
        assert!(!c.search.enable);
        assert_eq!(c.search.title_boost, 4.0);
        assert!(c.notes.is_empty());
    }

    #[test]
    fn helpers_join_the_book_root() {
        let c = parse("[book]\nsrc = \"guides\"\n[build]\nbuild-dir = \"site\"\n").unwrap();
        assert_eq!(c.src_dir(Path::new("/b")), PathBuf::from("/b/guides"));
        assert_eq!(c.build_dir(Path::new("/b")), PathBuf::from("/b/site"));
        assert_eq!(
            c.measure_store(Path::new("/b")),
            PathBuf::from("/b/measurements")
        );
        assert_eq!(c.title(), "");
    }

    #[test]
    fn unknown_key_names_position_and_suggests() {
        let e = err("[book]\ntitle = \"x\"\ntitel = \"y\"\n");
        assert_eq!((e.line, e.column), (3, Some(1)));
        assert_eq!(e.message, "unknown key `titel` in [book]");
        let help = e.help.unwrap();
        assert!(help.starts_with("did you mean `title`?"), "{help}");
        assert!(
            help.contains("valid keys in [book]: title, authors"),
            "{help}"
        );
    }

    #[test]
    fn unknown_key_in_nested_table() {
        let e = err("[output.html]\nsite-url = \"/\"\n\n[output.html.search]\nlimit-result = 3\n");
        assert_eq!((e.line, e.column), (5, Some(1)));
        assert_eq!(
            e.message,
            "unknown key `limit-result` in [output.html.search]"
        );
        assert!(e.help.unwrap().contains("did you mean `limit-results`?"));
    }

    #[test]
    fn unknown_key_in_perfguide_table() {
        let e = err("[measure]\n  budget_seconds = 3\n");
        assert_eq!((e.line, e.column), (2, Some(3)));
        assert!(e.help.unwrap().contains("did you mean `budget-seconds`?"));
        let e = err("[python]\ninterpeter = \"py\"\n");
        assert!(e.help.unwrap().contains("did you mean `interpreter`?"));
        let e = err("[search]\nlimit = 3\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn unknown_dotted_and_inline_keys() {
        let e = err("build.build-dri = \"x\"\n");
        assert_eq!(e.line, 1);
        assert!(
            e.message.contains("`build-dri` in [build]"),
            "{}",
            e.message
        );
        let e = err("[output]\nhtml = { site-ur = \"/\" }\n");
        assert_eq!((e.line, e.column), (2, Some(10)));
        assert!(e.message.contains("in [output.html]"), "{}", e.message);
    }

    #[test]
    fn unknown_top_level_table() {
        let e = err("[bok]\ntitle = \"x\"\n");
        assert_eq!((e.line, e.column), (1, Some(2)));
        assert_eq!(e.message, "unknown key `bok` in book.toml's top level");
        let help = e.help.unwrap();
        assert!(help.contains("did you mean `book`?"), "{help}");
        assert!(help.contains("[measure]"), "{help}");
    }

    #[test]
    fn legacy_top_level_title_is_explained() {
        let e = err("title = \"Old book\"\n");
        assert!(e.help.unwrap().contains("belongs in the [book] table"));
    }

    #[test]
    fn far_off_key_gets_no_suggestion() {
        let e = err("[book]\nzzzzzzzz = 1\n");
        let help = e.help.unwrap();
        assert!(!help.contains("did you mean"), "{help}");
        assert!(help.contains("valid keys in [book]"), "{help}");
    }

    #[test]
    fn wrong_type_names_key_and_example() {
        let e = err("[book]\nsrc = 3\n");
        assert_eq!((e.line, e.column), (2, Some(7)));
        assert!(
            e.message
                .starts_with("`book.src`: invalid type: integer `3`"),
            "{}",
            e.message
        );
        assert_eq!(e.help.as_deref(), Some("for example `src = \"src\"`"));

        let e = err("[build]\ncreate-missing = \"yes\"\n");
        assert_eq!(e.line, 2);
        assert!(
            e.message.starts_with("`build.create-missing`"),
            "{}",
            e.message
        );
        assert_eq!(
            e.help.as_deref(),
            Some("for example `create-missing = true`")
        );

        let e = err("[book]\nauthors = [\"a\", 1]\n");
        assert_eq!((e.line, e.column), (2, Some(17)));
        assert!(e.message.starts_with("`book.authors`"), "{}", e.message);

        let e = err("[measure]\nmin-samples = -1\n");
        assert!(
            e.message.starts_with("`measure.min-samples`"),
            "{}",
            e.message
        );
        let e = err("[measure]\nmin-samples = 1.5\n");
        assert!(
            e.message.starts_with("`measure.min-samples`"),
            "{}",
            e.message
        );
        let e = err("output = 3\n");
        assert_eq!(e.line, 1);
        let e = err("[output.html]\nadditional-css = \"a.css\"\n");
        assert!(
            e.message.starts_with("`output.html.additional-css`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_enum_value_lists_choices() {
        let e = err("[book]\ntext-direction = \"up\"\n");
        assert_eq!(e.line, 2);
        assert_eq!(
            e.help.as_deref(),
            Some("`book.text-direction` must be one of \"ltr\", \"rtl\"")
        );
        let e = err("[rust]\nedition = \"2020\"\n");
        assert!(e.help.unwrap().contains("\"2021\""));
    }

    #[test]
    fn invalid_toml_has_position() {
        let e = err("[book]\ntitle = \"unterminated\n");
        assert_eq!(e.line, 2);
        assert!(e.column.is_some());
        assert!(e.message.starts_with("invalid TOML"), "{}", e.message);
        assert!(e.help.unwrap().contains("valid TOML"));

        let e = err("[book\n");
        assert_eq!((e.line, e.column), (1, Some(6)));

        let e = err("[book]\ntitle = \"a\"\ntitle = \"b\"\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }

    #[test]
    fn semantic_checks_point_at_the_key() {
        let e = err("[measure]\nmin-samples = 20\nmax-samples = 5\n");
        assert_eq!((e.line, e.column), (3, Some(1)));
        assert!(e.message.contains("smaller than"), "{}", e.message);
        // Only min-samples is in the file: point there.
        let e = err("[measure]\nmin-samples = 2000\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\nbudget-seconds = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\nbudget-seconds = nan\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\nquick-budget-seconds = -1.0\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\nmin-samples = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\ntarget-ci-percent = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\nmin-sample-ms = -3\n");
        assert_eq!(e.line, 2);
        let e = err("[measure]\ntimeout-seconds = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[python]\nrun-timeout-seconds = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[python]\ninterpreter = \" \"\n");
        assert_eq!(e.line, 2);
        let e = err("[search]\nlimit-results = 0\n");
        assert_eq!(e.line, 2);
        let e = err("[search]\ntitle-boost = -1\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn build_dir_may_not_be_the_book_or_its_sources() {
        let e = err("[build]\nbuild-dir = \".\"\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("book root"), "{}", e.message);
        let e = err("[build]\nbuild-dir = \"\"\n");
        assert_eq!(e.line, 2);
        let e = err("[build]\nbuild-dir = \"..\"\n");
        assert!(e.message.contains("contains it"), "{}", e.message);
        let e = err("[build]\nbuild-dir = \"out/../..\"\n");
        assert_eq!(e.line, 2);
        let e = err("[build]\nbuild-dir = \"/\"\n");
        assert_eq!(e.line, 2);
        let e = err("[book]\nsrc = \"guides\"\n[build]\nbuild-dir = \"./guides\"\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("source folder"), "{}", e.message);
        let e = err("[book]\nsrc = \"docs/src\"\n[build]\nbuild-dir = \"docs\"\n");
        assert_eq!(e.line, 4);
        // Beside or below the sources is fine.
        assert!(parse("[book]\nsrc = \"docs/src\"\n[build]\nbuild-dir = \"docs/book\"\n").is_ok());
        assert!(parse("[build]\nbuild-dir = \"../site\"\n").is_ok());
        assert!(parse("[build]\nbuild-dir = \"/tmp/site\"\n").is_ok());
    }

    #[test]
    fn output_dir_problems() {
        let r = Path::new("/home/u/book");
        assert!(output_dir_problem(r, Path::new("src"), Path::new("book")).is_none());
        assert!(output_dir_problem(r, Path::new("src"), Path::new("/home/u")).is_some());
        assert!(output_dir_problem(r, Path::new("src"), Path::new("/home/u/book")).is_some());
        assert!(output_dir_problem(r, Path::new("src"), Path::new("./src/")).is_some());
        assert!(output_dir_problem(r, Path::new("/abs/src"), Path::new("/abs")).is_some());
        assert!(output_dir_problem(r, Path::new("src"), Path::new("/home/u/site")).is_none());
        assert_eq!(lexical(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(lexical(Path::new("../a")), PathBuf::from("../a"));
        assert_eq!(lexical(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn unknown_key_with_backticks() {
        let e = err("[book]\n\"ti`tle\" = 1\n");
        assert_eq!(e.message, "unknown key `ti`tle` in [book]");
        assert!(e.help.unwrap().contains("valid keys in [book]: title,"));
        assert_eq!(
            parse_unknown("unknown field `x`, there are no fields", "unknown field"),
            Some(("x".to_string(), vec![]))
        );
    }

    #[test]
    fn text_direction_from_language() {
        assert_eq!(
            TextDirection::from_lang_code("ar"),
            TextDirection::RightToLeft
        );
        assert_eq!(
            TextDirection::from_lang_code("he-IL"),
            TextDirection::RightToLeft
        );
        assert_eq!(
            TextDirection::from_lang_code("en"),
            TextDirection::LeftToRight
        );
        assert_eq!(
            TextDirection::from_lang_code(""),
            TextDirection::LeftToRight
        );
        let c = parse("[book]\nlanguage = \"fa\"\n").unwrap();
        assert_eq!(c.book.realized_text_direction().as_html(), "rtl");
    }

    #[test]
    fn bom_is_skipped() {
        let c = parse("\u{feff}[book]\ntitle = \"t\"\n").unwrap();
        assert_eq!(c.title(), "t");
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("titel", "title"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }

    #[test]
    fn load_config_reads_or_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_config(dir.path()).unwrap(), Config::default());
        std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"T\"\n").unwrap();
        assert_eq!(load_config(dir.path()).unwrap().title(), "T");
        std::fs::write(dir.path().join("book.toml"), "[book]\ntitle = 1\n").unwrap();
        let e = load_config(dir.path()).unwrap_err();
        let se = e.downcast_ref::<SourceError>().expect("a SourceError");
        assert_eq!(se.line, 2);
        assert!(se.file.ends_with("book.toml"));
        std::fs::write(
            dir.path().join("book.toml"),
            b"[book]\ntitle = \"caf\xe9\"\n",
        )
        .unwrap();
        let e = load_config(dir.path()).unwrap_err();
        let se = e.downcast_ref::<SourceError>().expect("a SourceError");
        assert_eq!((se.line, se.column), (2, Some(13)));
        assert!(se.message.contains("not valid UTF-8"), "{}", se.message);
    }

    #[test]
    fn user_path_drops_leading_dot() {
        assert_eq!(
            user_path(Path::new("./book.toml")),
            PathBuf::from("book.toml")
        );
        assert_eq!(
            user_path(Path::new("b/book.toml")),
            PathBuf::from("b/book.toml")
        );
        assert_eq!(user_path(Path::new(".")), PathBuf::from("."));
    }

    /// A small deterministic generator, so the fuzz tests need no extra dependency.
    pub(crate) struct Rng(pub u64);
    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            // SplitMix64.
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics() {
        // Fragments that make TOML interesting, glued at random: every outcome must be an Ok
        // or a positioned error, never a panic.
        const PIECES: &[&str] = &[
            "[book]",
            "[build]",
            "[measure]",
            "[output.html]",
            "[output.html.search]",
            "[[book]]",
            "[preprocessor.x]",
            "title",
            "src",
            "build-dir",
            "min-samples",
            "max-samples",
            "text-direction",
            "additional-css",
            "budget-seconds",
            " = ",
            "=",
            "\"",
            "'",
            "\"\"\"",
            "1",
            "-1",
            "0",
            "1.5",
            "nan",
            "inf",
            "true",
            "[",
            "]",
            "{",
            "}",
            ",",
            ".",
            "\n",
            "\r\n",
            " ",
            "#",
            "é",
            "\u{0}",
            "\u{feff}",
            "ü\n",
            "\t",
            "\"rtl\"",
            "\"x\"",
            "[\"a\"]",
            "1979-05-27",
            "\\",
            "titel",
            "zz",
        ];
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let n = rng.below(14);
            let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            if let Err(e) = parse(&text) {
                assert!(!e.message.is_empty());
                assert!(e.line <= text.lines().count() + 1, "{text:?} -> {e}");
            }
        }
        // And raw random characters.
        for _ in 0..5_000 {
            let n = rng.below(40);
            let text: String = (0..n)
                .map(|_| char::from_u32(rng.below(0x250) as u32).unwrap_or('?'))
                .collect();
            let _ = parse(&text);
        }
    }
}
