//! The search stage: a full-text index of every chapter, written as `search-index.js`.
//!
//! Each chapter is split into sections at its h2/h3 headings; a section is one search
//! document (chapter title, section heading, URL with `#fragment`, plain body text). The
//! index is an inverted index over stemmed words, built here, and searched in the browser by
//! `static/js/search.js`.
//!
//! Why an own index rather than a crate: elasticlunr-rs is only passively maintained, and
//! pagefind adds ~80 s of build and 16 MB of binary; both ship their own query scripts that
//! we would still have to wrap for `file://` pages. The index needs ~400 lines across Rust
//! and JS, and owning both halves lets the tokenizer and stemmer be the same algorithm on
//! both sides, which a test checks (`tests/it/browser.rs` runs the JS stemmer under Node).
//!
//! Why a `.js` file that assigns a global instead of JSON: `fetch()` is refused for `file://`
//! pages, but a `<script src>` loads from disk and from a server alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::config::SearchConfig;

/// The index's file name at the site root.
pub const INDEX_FILE: &str = "search-index.js";

/// The global the index file assigns (read by `static/js/search.js`).
pub const INDEX_GLOBAL: &str = "perfguideSearchIndex";

/// Words too common to be worth an index entry. Queries drop them too (search.js reads this
/// list from the index, so it is defined once).
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "if",
    "in", "into", "is", "it", "its", "not", "of", "on", "or", "so", "such", "that", "the", "their",
    "then", "there", "these", "they", "this", "to", "was", "we", "were", "will", "with", "you",
    "your",
];

/// Body term frequencies are capped so a posting fits in 5 bits.
const TF_CAP: u32 = 31;
const IN_HEADING: u32 = 1 << 5;
const IN_TITLE: u32 = 1 << 6;

/// One rendered chapter, as the build hands it over.
pub struct Document<'a> {
    /// Site-relative path of the page, e.g. `intro/start.html`.
    pub path: &'a str,
    pub title: &'a str,
    /// Section number such as "1.2.", for numbered chapters.
    pub number: Option<&'a str>,
    /// The chapter's rendered body (not the whole page: the sidebar and template are the same
    /// on every page and would only add noise).
    pub html: &'a str,
}

/// A part of a chapter: the text before the first h2/h3, or one h2/h3 and what follows it
/// up to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// The heading's id (`None` for the part before the first h2/h3).
    pub id: Option<String>,
    /// The heading's text (empty for the part before the first h2/h3).
    pub heading: String,
    /// The prose, kept in the index for result snippets.
    pub text: String,
    /// Code blocks, generated figures (measurement tables, charts) and `<details>`: their
    /// words are indexed, but they are not stored (they would double the index and make
    /// poor snippets).
    pub extra: String,
}

/// The built index: the file's contents and what the build reports about it.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    /// The contents of [`INDEX_FILE`].
    pub js: String,
    /// Short content hash, used to bust browser caches of the index.
    pub hash: String,
    pub documents: usize,
    pub terms: usize,
}

/// What search.js reads. Arrays rather than objects per document keep the file small.
#[derive(Serialize)]
struct IndexFile<'a> {
    version: u32,
    config: ClientConfig,
    stop: &'a [&'a str],
    /// `[number, title, path]` per chapter.
    chapters: Vec<(String, &'a str, &'a str)>,
    /// `[chapter, heading, fragment, text]` per section.
    docs: Vec<(usize, String, String, String)>,
    /// Sorted by UTF-16 code units, as JavaScript compares strings.
    terms: Vec<String>,
    /// Per term, the numbers `doc delta, value, doc delta, value, ...` packed by
    /// [`pack`]; value = body term frequency (capped at 31) + 32 if in the heading + 64 if
    /// in the chapter title.
    postings: Vec<String>,
}

/// Digits that end a number in [`pack`], and digits that continue it.
pub const PACK_LAST: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
pub const PACK_MORE: &str = "ghijklmnopqrstuvwxyz0123456789-_";

/// Packs numbers into base-32 digits, one character for each number below 32 (most doc
/// deltas and values): half the size of a JSON array of them. search.js unpacks.
pub fn pack(numbers: &[u32]) -> String {
    let (last, more) = (PACK_LAST.as_bytes(), PACK_MORE.as_bytes());
    let mut out = String::with_capacity(numbers.len() + numbers.len() / 4);
    let mut digits = Vec::with_capacity(7);
    for &n in numbers {
        digits.clear();
        let mut v = n;
        loop {
            digits.push((v % 32) as usize);
            v /= 32;
            if v == 0 {
                break;
            }
        }
        for (i, &d) in digits.iter().enumerate().rev() {
            out.push(if i == 0 { last[d] } else { more[d] } as char);
        }
    }
    out
}

/// The inverse of [`pack`] (for tests and tools).
pub fn unpack(packed: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    for c in packed.chars() {
        if let Some(d) = PACK_MORE.find(c) {
            acc = acc.checked_mul(32)? + d as u32;
        } else {
            let d = PACK_LAST.find(c)?;
            out.push(acc.checked_mul(32)? + d as u32);
            acc = 0;
        }
    }
    Some(out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientConfig {
    limit: u32,
    title_boost: f64,
    heading_boost: f64,
}

/// Builds the index of `docs`.
pub fn build_index(docs: &[Document<'_>], config: &SearchConfig) -> SearchIndex {
    let mut chapters = Vec::with_capacity(docs.len());
    let mut entries = Vec::new();
    let mut postings = Postings::default();
    for (ci, doc) in docs.iter().enumerate() {
        chapters.push((doc.number.unwrap_or("").to_string(), doc.title, doc.path));
        for section in sections(doc.html) {
            let di = entries.len();
            if section.id.is_none() {
                postings.add(doc.title, di, IN_TITLE);
            }
            postings.add(&section.heading, di, IN_HEADING);
            postings.add(&section.text, di, 0);
            postings.add(&section.extra, di, 0);
            entries.push((
                ci,
                section.heading,
                section.id.unwrap_or_default(),
                section.text,
            ));
        }
    }
    let inverted = postings.terms;
    let mut terms: Vec<(String, BTreeMap<usize, u32>)> = inverted.into_iter().collect();
    terms.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    let mut names = Vec::with_capacity(terms.len());
    let mut postings = Vec::with_capacity(terms.len());
    for (term, docs) in terms {
        let mut list = Vec::with_capacity(docs.len() * 2);
        let mut last = 0;
        for (d, v) in docs {
            list.push((d - last) as u32);
            list.push(v);
            last = d;
        }
        names.push(term);
        postings.push(pack(&list));
    }
    let n_terms = names.len();
    let n_docs = entries.len();
    let file = IndexFile {
        version: 1,
        config: ClientConfig {
            limit: config.limit_results,
            title_boost: config.title_boost,
            heading_boost: config.heading_boost,
        },
        stop: STOP_WORDS,
        chapters,
        docs: entries,
        terms: names,
        postings,
    };
    // Serializing plain strings and numbers cannot fail.
    let json = serde_json::to_string(&file).unwrap_or_else(|_| "{}".into());
    let js = format!("window.{INDEX_GLOBAL}={json};\n");
    let hash = blake3::hash(js.as_bytes()).to_hex().as_str()[..10].to_string();
    SearchIndex {
        js,
        hash,
        documents: n_docs,
        terms: n_terms,
    }
}

/// The inverted index while it is built: term -> document -> value (see `IndexFile`).
#[derive(Default)]
struct Postings {
    terms: HashMap<String, BTreeMap<usize, u32>>,
    /// Token -> its index word (`None` for stop words and numbers): stemming each distinct
    /// token once makes the index several times faster to build.
    words: HashMap<String, Option<String>>,
}

impl Postings {
    /// Adds the words of `text` to document `doc`: as body text (`bits == 0`, counted) or as
    /// a title or heading word (`bits` set).
    fn add(&mut self, text: &str, doc: usize, bits: u32) {
        for token in tokens(text) {
            let word = self
                .words
                .entry(token)
                .or_insert_with_key(|t| index_word(t));
            let Some(word) = word else { continue };
            let v = match self.terms.get_mut(word.as_str()) {
                Some(docs) => docs.entry(doc).or_insert(0),
                None => self
                    .terms
                    .entry(word.clone())
                    .or_default()
                    .entry(doc)
                    .or_insert(0),
            };
            if bits == 0 {
                if *v & TF_CAP < TF_CAP {
                    *v += 1;
                }
            } else {
                *v |= bits;
            }
        }
    }
}

/// A lowercased token's index word: `None` for stop words, pure numbers and one-letter
/// tokens, else its stem.
fn index_word(token: &str) -> Option<String> {
    if token.chars().count() < 2
        || token.chars().all(|c| c.is_numeric())
        || STOP_WORDS.contains(&token)
    {
        None
    } else {
        Some(stem(token))
    }
}

/// The words of `text` that go into the index: tokens, lowercased, without stop words, pure
/// numbers and one-letter tokens, stemmed.
pub fn index_words(text: &str) -> impl Iterator<Item = String> + '_ {
    tokens(text).filter_map(|t| index_word(&t))
}

/// Splits text into lowercased runs of letters and digits (Unicode `Alphabetic` and
/// `Numeric`; search.js uses the regex `[\p{Alphabetic}\p{N}]+` for the same set).
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
}

/// British `-ise`/`-isation` spellings become `-ize`/`-ization` first so that both spellings
/// meet at one stem ("optimise" and "optimize" both stem to "optim").
fn americanize(word: &str) -> String {
    const ENDINGS: &[&str] = &[
        "isations", "isation", "isers", "ising", "ised", "ises", "iser", "ise",
    ];
    for e in ENDINGS {
        if let Some(stem) = word.strip_suffix(e)
            && stem.len() >= 3
        {
            return format!("{stem}iz{}", &e[2..]);
        }
    }
    word.to_string()
}

/// Stems a lowercased word: the `-ise` to `-ize` step above, then M. F. Porter's algorithm
/// (1980), as in his reference C implementation (including its `bli`/`logi` departures).
/// Words that are not plain ASCII letters are returned unchanged.
///
/// search.js has a line-by-line port of this function; a test runs both on a word list.
pub fn stem(word: &str) -> String {
    if word.len() <= 2 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_string();
    }
    let mut p = Porter::new(&americanize(word));
    p.step1ab();
    if p.k > 0 {
        p.step1c();
        p.step2();
        p.step3();
        p.step4();
        p.step5();
    }
    p.b.truncate((p.k + 1) as usize);
    String::from_utf8(p.b).unwrap_or_else(|_| word.to_string())
}

/// The state of Porter's algorithm: the word in `b[0..=k]`, and `j`, the end of the stem
/// before the suffix last matched by `ends`.
struct Porter {
    b: Vec<u8>,
    k: isize,
    j: isize,
}

impl Porter {
    fn new(word: &str) -> Porter {
        Porter {
            b: word.as_bytes().to_vec(),
            k: word.len() as isize - 1,
            j: 0,
        }
    }

    fn at(&self, i: isize) -> u8 {
        self.b[i as usize]
    }

    fn cons(&self, i: isize) -> bool {
        match self.at(i) {
            b'a' | b'e' | b'i' | b'o' | b'u' => false,
            b'y' => i == 0 || !self.cons(i - 1),
            _ => true,
        }
    }

    /// The number of consonant-vowel sequences in `b[0..=j]`.
    fn m(&self) -> usize {
        let mut n = 0;
        let mut i = 0;
        let j = self.j;
        loop {
            if i > j {
                return n;
            }
            if !self.cons(i) {
                break;
            }
            i += 1;
        }
        i += 1;
        loop {
            loop {
                if i > j {
                    return n;
                }
                if self.cons(i) {
                    break;
                }
                i += 1;
            }
            i += 1;
            n += 1;
            loop {
                if i > j {
                    return n;
                }
                if !self.cons(i) {
                    break;
                }
                i += 1;
            }
            i += 1;
        }
    }

    fn vowel_in_stem(&self) -> bool {
        (0..=self.j).any(|i| !self.cons(i))
    }

    fn double_c(&self, j: isize) -> bool {
        j >= 1 && self.at(j) == self.at(j - 1) && self.cons(j)
    }

    fn cvc(&self, i: isize) -> bool {
        if i < 2 || !self.cons(i) || self.cons(i - 1) || !self.cons(i - 2) {
            return false;
        }
        !matches!(self.at(i), b'w' | b'x' | b'y')
    }

    fn ends(&mut self, s: &str) -> bool {
        let len = s.len() as isize;
        if len > self.k + 1 {
            return false;
        }
        let start = (self.k - len + 1) as usize;
        if &self.b[start..=self.k as usize] != s.as_bytes() {
            return false;
        }
        self.j = self.k - len;
        true
    }

    fn set_to(&mut self, s: &str) {
        self.b.truncate((self.j + 1) as usize);
        self.b.extend_from_slice(s.as_bytes());
        self.k = self.j + s.len() as isize;
    }

    fn r(&mut self, s: &str) {
        if self.m() > 0 {
            self.set_to(s);
        }
    }

    fn step1ab(&mut self) {
        if self.at(self.k) == b's' {
            if self.ends("sses") {
                self.k -= 2;
            } else if self.ends("ies") {
                self.set_to("i");
            } else if self.at(self.k - 1) != b's' {
                self.k -= 1;
            }
        }
        if self.ends("eed") {
            if self.m() > 0 {
                self.k -= 1;
            }
        } else if (self.ends("ed") || self.ends("ing")) && self.vowel_in_stem() {
            self.k = self.j;
            if self.ends("at") {
                self.set_to("ate");
            } else if self.ends("bl") {
                self.set_to("ble");
            } else if self.ends("iz") {
                self.set_to("ize");
            } else if self.double_c(self.k) {
                self.k -= 1;
                if matches!(self.at(self.k), b'l' | b's' | b'z') {
                    self.k += 1;
                }
            } else if self.m() == 1 && self.cvc(self.k) {
                self.set_to("e");
            }
        }
    }

    fn step1c(&mut self) {
        if self.ends("y") && self.vowel_in_stem() {
            let k = self.k as usize;
            self.b.truncate(k + 1);
            self.b[k] = b'i';
        }
    }

    /// Tries each (suffix, replacement) in order; the first suffix that matches decides,
    /// whether or not its condition (`m() > 0`) holds.
    fn first(&mut self, rules: &[(&str, &str)]) {
        for (suffix, repl) in rules {
            if self.ends(suffix) {
                self.r(repl);
                return;
            }
        }
    }

    fn step2(&mut self) {
        if self.k < 1 {
            return;
        }
        match self.at(self.k - 1) {
            b'a' => self.first(&[("ational", "ate"), ("tional", "tion")]),
            b'c' => self.first(&[("enci", "ence"), ("anci", "ance")]),
            b'e' => self.first(&[("izer", "ize")]),
            b'l' => self.first(&[
                ("bli", "ble"),
                ("alli", "al"),
                ("entli", "ent"),
                ("eli", "e"),
                ("ousli", "ous"),
            ]),
            b'o' => self.first(&[("ization", "ize"), ("ation", "ate"), ("ator", "ate")]),
            b's' => self.first(&[
                ("alism", "al"),
                ("iveness", "ive"),
                ("fulness", "ful"),
                ("ousness", "ous"),
            ]),
            b't' => self.first(&[("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")]),
            b'g' => self.first(&[("logi", "log")]),
            _ => {}
        }
    }

    fn step3(&mut self) {
        match self.at(self.k) {
            b'e' => self.first(&[("icate", "ic"), ("ative", ""), ("alize", "al")]),
            b'i' => self.first(&[("iciti", "ic")]),
            b'l' => self.first(&[("ical", "ic"), ("ful", "")]),
            b's' => self.first(&[("ness", "")]),
            _ => {}
        }
    }

    fn step4(&mut self) {
        if self.k < 1 {
            return;
        }
        let found = match self.at(self.k - 1) {
            b'a' => self.ends("al"),
            b'c' => self.ends("ance") || self.ends("ence"),
            b'e' => self.ends("er"),
            b'i' => self.ends("ic"),
            b'l' => self.ends("able") || self.ends("ible"),
            b'n' => self.ends("ant") || self.ends("ement") || self.ends("ment") || self.ends("ent"),
            b'o' => {
                (self.ends("ion") && self.j >= 0 && matches!(self.at(self.j), b's' | b't'))
                    || self.ends("ou")
            }
            b's' => self.ends("ism"),
            b't' => self.ends("ate") || self.ends("iti"),
            b'u' => self.ends("ous"),
            b'v' => self.ends("ive"),
            b'z' => self.ends("ize"),
            _ => false,
        };
        if found && self.m() > 1 {
            self.k = self.j;
        }
    }

    fn step5(&mut self) {
        self.j = self.k;
        if self.at(self.k) == b'e' {
            let a = self.m();
            if a > 1 || (a == 1 && !self.cvc(self.k - 1)) {
                self.k -= 1;
            }
        }
        if self.at(self.k) == b'l' && self.double_c(self.k) && self.m() > 1 {
            self.k -= 1;
        }
    }
}

/// Elements whose content is not prose: skipped with everything inside them.
const SKIPPED: &[&str] = &[
    "script", "style", "svg", "math", "button", "template", "noscript",
];

/// Elements whose words are indexed but not stored (see [`Section::extra`]).
const INDEX_ONLY: &[&str] = &["pre", "figure", "details"];

/// Elements that separate words: their tags become a space in the text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "td",
    "th",
    "tr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "figure",
    "figcaption",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "dd",
    "dt",
    "dl",
    "section",
    "aside",
    "details",
    "summary",
    "nav",
    "header",
    "footer",
    "main",
    "article",
    "img",
];

const VOID: &[&str] = &[
    "br", "hr", "img", "input", "meta", "link", "wbr", "col", "source", "area", "embed",
];

/// Splits a chapter's rendered HTML into sections at h2/h3 headings that have an id, and
/// turns each into plain text. The first section (before any h2/h3) is always there, even
/// when empty: it carries the chapter title.
pub fn sections(html: &str) -> Vec<Section> {
    let mut s = Scanner {
        out: vec![Section::default()],
        skip: None,
        extra: None,
        heading: None,
    };
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            s.text(rest);
            break;
        };
        s.text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            // A stray '<' is text.
            s.text("<");
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name_end = body
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(body.len());
        let name = body[..name_end].to_ascii_lowercase();
        if name.is_empty() || name.starts_with('!') || name.starts_with('?') {
            continue;
        }
        let attrs = &body[name_end..];
        let self_closing = VOID.contains(&name.as_str()) || attrs.trim_end().ends_with('/');
        if closing {
            s.close(&name);
        } else {
            s.open(&name, attrs, self_closing);
        }
    }
    for section in &mut s.out {
        section.heading = collapse(&section.heading);
        section.text = collapse(&section.text);
        section.extra = collapse(&section.extra);
    }
    s.out
}

/// The state of [`sections`] while it walks the tags.
struct Scanner {
    out: Vec<Section>,
    /// The outermost element being skipped: (name, open elements of that name).
    skip: Option<(String, usize)>,
    /// The outermost element whose text is indexed only, likewise.
    extra: Option<(String, usize)>,
    /// Inside an h2/h3 that starts a section: its name.
    heading: Option<String>,
}

impl Scanner {
    fn text(&mut self, raw: &str) {
        if self.skip.is_some() || raw.is_empty() {
            return;
        }
        let Some(s) = self.out.last_mut() else { return };
        let text = decode_entities(raw);
        if self.heading.is_some() {
            s.heading.push_str(&text);
        } else if self.extra.is_some() {
            s.extra.push_str(&text);
        } else {
            s.text.push_str(&text);
        }
    }

    fn open(&mut self, name: &str, attrs: &str, self_closing: bool) {
        // Nested elements of the same name as the one skipped or indexed only.
        for state in [&mut self.skip, &mut self.extra] {
            if let Some((n, depth)) = state
                && n == name
                && !self_closing
            {
                *depth += 1;
            }
        }
        if self.skip.is_some() {
            return;
        }
        let class = attr(attrs, "class").unwrap_or_default();
        let has_class = |c: &str| class.split_whitespace().any(|x| x == c);
        // The h1 is the chapter title, indexed as such.
        // `data-search-ignore`: notes that are not the chapter's content (serve's
        // "stale" and "not measured yet" notes).
        let skipped = SKIPPED.contains(&name)
            || name == "h1"
            || attr(attrs, "data-search-ignore").is_some()
            || (name == "a" && has_class("header-anchor"))
            || (name == "span" && has_class("section-number"));
        if skipped {
            if !self_closing {
                self.skip = Some((name.to_string(), 1));
            }
            return;
        }
        if (name == "h2" || name == "h3")
            && self.extra.is_none()
            && let Some(id) = attr(attrs, "id")
        {
            self.out.push(Section {
                id: Some(id),
                ..Section::default()
            });
            self.heading = Some(name.to_string());
            return;
        }
        if BLOCKS.contains(&name) {
            self.text(" ");
        }
        if name == "img"
            && let Some(alt) = attr(attrs, "alt")
        {
            self.text(&format!(
                "{} ",
                alt.replace('&', "&amp;").replace('<', "&lt;")
            ));
        }
        if INDEX_ONLY.contains(&name) && self.extra.is_none() && !self_closing {
            self.extra = Some((name.to_string(), 1));
        }
    }

    fn close(&mut self, name: &str) {
        let mut ended = false;
        for state in [&mut self.skip, &mut self.extra] {
            if let Some((n, depth)) = state
                && n == name
            {
                *depth -= 1;
                if *depth == 0 {
                    *state = None;
                    ended = true;
                }
            }
        }
        if ended {
            self.text(" ");
            return;
        }
        if self.skip.is_some() {
            return;
        }
        if self.heading.as_deref() == Some(name) {
            self.heading = None;
        }
        if BLOCKS.contains(&name) {
            self.text(" ");
        }
    }
}

/// Collapses runs of whitespace into one space and trims.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The index of the `>` that ends the tag starting at `s[0] == '<'`, honouring quotes.
fn tag_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || !(bytes[1].is_ascii_alphabetic() || bytes[1] == b'/' || bytes[1] == b'!')
    {
        return None;
    }
    let mut quote = None;
    for (i, &c) in bytes.iter().enumerate().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a tag's attribute text, entity-decoded.
fn attr(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, tail) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = tail;
            v
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value));
        }
    }
}

/// Decodes the character references the render stage emits (named basics and numeric).
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[..rest.len().min(12)].find(';');
        let decoded = semi.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Words of the index for reports and tests: which chapters (by path) contain a stem.
pub fn chapters_with(docs: &[Document<'_>], word: &str) -> BTreeSet<String> {
    let target = stem(&word.to_lowercase());
    docs.iter()
        .filter(|d| {
            index_words(d.title).any(|w| w == target)
                || sections(d.html).iter().any(|s| {
                    index_words(&s.heading)
                        .chain(index_words(&s.text))
                        .any(|w| w == target)
                })
        })
        .map(|d| d.path.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs from Porter's paper and the reference vocabulary.
    pub(crate) const PORTER_CASES: &[(&str, &str)] = &[
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("ties", "ti"),
        ("caress", "caress"),
        ("cats", "cat"),
        ("feed", "feed"),
        ("agreed", "agre"),
        ("plastered", "plaster"),
        ("bled", "bled"),
        ("motoring", "motor"),
        ("sing", "sing"),
        ("conflated", "conflat"),
        ("troubled", "troubl"),
        ("sized", "size"),
        ("hopping", "hop"),
        ("tanned", "tan"),
        ("falling", "fall"),
        ("hissing", "hiss"),
        ("fizzed", "fizz"),
        ("failing", "fail"),
        ("filing", "file"),
        ("happy", "happi"),
        ("sky", "sky"),
        ("relational", "relat"),
        ("conditional", "condit"),
        ("rational", "ration"),
        ("valenci", "valenc"),
        ("hesitanci", "hesit"),
        ("digitizer", "digit"),
        ("conformabli", "conform"),
        ("radicalli", "radic"),
        ("differentli", "differ"),
        ("vileli", "vile"),
        ("analogousli", "analog"),
        ("vietnamization", "vietnam"),
        ("predication", "predic"),
        ("operator", "oper"),
        ("feudalism", "feudal"),
        ("decisiveness", "decis"),
        ("hopefulness", "hope"),
        ("callousness", "callous"),
        ("formaliti", "formal"),
        ("sensitiviti", "sensit"),
        ("sensibiliti", "sensibl"),
        ("triplicate", "triplic"),
        ("formative", "form"),
        ("formalize", "formal"),
        ("electriciti", "electr"),
        ("electrical", "electr"),
        ("hopeful", "hope"),
        ("goodness", "good"),
        ("revival", "reviv"),
        ("allowance", "allow"),
        ("inference", "infer"),
        ("airliner", "airlin"),
        ("gyroscopic", "gyroscop"),
        ("adjustable", "adjust"),
        ("defensible", "defens"),
        ("irritant", "irrit"),
        ("replacement", "replac"),
        ("adjustment", "adjust"),
        ("dependent", "depend"),
        ("adoption", "adopt"),
        ("homologou", "homolog"),
        ("communism", "commun"),
        ("activate", "activ"),
        ("angulariti", "angular"),
        ("homologous", "homolog"),
        ("effective", "effect"),
        ("bowdlerize", "bowdler"),
        ("probate", "probat"),
        ("rate", "rate"),
        ("cease", "ceas"),
        ("controll", "control"),
        ("roll", "roll"),
        ("generalizations", "gener"),
        ("oscillators", "oscil"),
    ];

    #[test]
    fn porter_reference_pairs() {
        for (word, want) in PORTER_CASES {
            assert_eq!(stem(word), *want, "stem({word})");
        }
    }

    #[test]
    fn british_and_american_spellings_meet() {
        assert_eq!(stem("optimise"), stem("optimize"));
        assert_eq!(stem("optimisation"), stem("optimization"));
        assert_eq!(stem("vectorised"), stem("vectorized"));
        assert_eq!(stem("vectorisation"), stem("vectorization"));
        assert_eq!(stem("parallelising"), stem("parallelizing"));
        // Too short to be an -ise verb.
        assert_eq!(stem("rise"), "rise");
        assert_eq!(stem("wise"), "wise");
    }

    #[test]
    fn non_ascii_and_short_words_are_kept() {
        assert_eq!(stem("naïve"), "naïve");
        assert_eq!(stem("is"), "is");
        assert_eq!(stem("f64x8"), "f64x8");
    }

    #[test]
    fn tokens_are_lowercased_alphanumeric_runs() {
        let t: Vec<String> = tokens("Rust's `par_iter()` — f64x8 SIMD, Größe 2.5").collect();
        assert_eq!(
            t,
            [
                "rust", "s", "par", "iter", "f64x8", "simd", "größe", "2", "5"
            ]
        );
        let w: Vec<String> = index_words("The timings of the kernels, 42 runs").collect();
        assert_eq!(w, ["time", "kernel", "run"]);
    }

    #[test]
    fn sections_split_at_h2_and_h3() {
        let html = concat!(
            "<h1 id=\"intro\"><span class=\"section-number\">1.</span> Intro<a class=\"header-anchor\" href=\"#intro\">#</a></h1>\n",
            "<p>First &amp; <em>foremost</em>.</p>\n",
            "<h2 id=\"timing\">Timing &lt;code&gt;<a class=\"header-anchor\" href=\"#timing\">#</a></h2>\n",
            "<p>Use <code>Instant</code></p><pre><code><span class=\"hl-k\">let</span> x</code></pre>\n",
            "<svg><text>axis label</text><svg><text>inner</text></svg></svg>",
            "<script>var hidden = 1;</script><!-- a comment -->",
            "<h3 id=\"more\">More</h3><p>a<br>b <img src=\"x.png\" alt=\"A plot\"></p>",
            "<p class=\"stale-note\" data-search-ignore>a serve note</p>",
            "<h4 id=\"deep\">Deep</h4><p>still more</p>"
        );
        let s = sections(html);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].id, None);
        assert_eq!(s[0].text, "First & foremost.");
        assert_eq!(s[1].id.as_deref(), Some("timing"));
        assert_eq!(s[1].heading, "Timing <code>");
        assert_eq!(s[1].text, "Use Instant");
        assert_eq!(s[1].extra, "let x");
        assert_eq!(s[2].heading, "More");
        assert_eq!(s[2].text, "a b A plot Deep still more");
    }

    #[test]
    fn packing_round_trips() {
        let numbers = [0, 1, 31, 32, 33, 64, 65, 1023, 1024, 123_456, u32::MAX];
        let packed = pack(&numbers);
        assert_eq!(unpack(&packed).unwrap(), numbers);
        assert_eq!(pack(&[0, 1, 31]), "ABf");
        assert_eq!(pack(&[32]), "hA");
        assert_eq!(unpack("h"), Some(vec![]), "an unfinished number is dropped");
        assert_eq!(unpack("A?"), None);
    }

    #[test]
    fn entities_and_attributes() {
        assert_eq!(
            decode_entities("a &lt;b&gt; &#39;c&#x27; &unknown; &"),
            "a <b> 'c' &unknown; &"
        );
        assert_eq!(
            attr(" id=\"x&amp;y\" class='a b'", "class").as_deref(),
            Some("a b")
        );
        assert_eq!(
            attr(" id=\"x&amp;y\" class='a b'", "id").as_deref(),
            Some("x&y")
        );
        assert_eq!(attr(" hidden id=plain", "id").as_deref(), Some("plain"));
        assert_eq!(attr(" hidden", "id"), None);
    }

    #[test]
    fn index_shape() {
        let docs = [
            Document {
                path: "a.html",
                title: "Timing code",
                number: Some("1."),
                html: "<h1 id=\"t\">Timing code</h1><p>Clocks measure time.</p><h2 id=\"s\">Statistics</h2><p>medians of clocks</p>",
            },
            Document {
                path: "b/c.html",
                title: "Profiling",
                number: None,
                html: "<p>Sampling profilers.</p>",
            },
        ];
        let idx = build_index(&docs, &SearchConfig::default());
        let json = idx
            .js
            .strip_prefix("window.perfguideSearchIndex=")
            .and_then(|s| s.strip_suffix(";\n"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["docs"].as_array().unwrap().len(), 3);
        assert_eq!(v["docs"][1][2], "s");
        assert_eq!(v["chapters"][1][2], "b/c.html");
        let terms: Vec<&str> = v["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let clock = terms.iter().position(|t| *t == "clock").unwrap();
        // Doc 0 once, doc 1 (delta 1) once.
        let post = |i: usize| unpack(v["postings"][i].as_str().unwrap()).unwrap();
        assert_eq!(post(clock), [0, 1, 1, 1]);
        let time = terms.iter().position(|t| *t == "time").unwrap();
        // Title of doc 0 (64) plus "time" in its body (1).
        assert_eq!(post(time), [0, 65]);
        let stat = terms.iter().position(|t| *t == "statist").unwrap();
        assert_eq!(post(stat), [1, 32]);
        assert_eq!(idx.hash.len(), 10);
        assert_eq!(
            chapters_with(&docs, "profilers"),
            ["b/c.html".to_string()].into()
        );
    }
}
