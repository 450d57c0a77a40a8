//! Finding `{{#name args}}` directives in chapter text.
//!
//! Every stage that handles directives (mdBook's includes in [`crate::include`], perfguide's own
//! `bench`, `measure`, `claim`, ... later on) finds them with this one scanner, so they all agree
//! on what is a directive and what is an escaped one.
//!
//! The lexical rules are mdBook's (its links preprocessor matches
//! `\{\{\s*#([a-zA-Z0-9_]+)\s+([^}]+)\}\}`, and `\{{#` as an escape), extended in one way:
//! mdBook requires arguments, while perfguide has directives without any (`{{#machine}}`).
//! As a regular expression the grammar is
//!
//! ```text
//! \\?\{\{\s*#([a-zA-Z0-9_]+)(?:\s+([^}]+)|\s*)\}\}
//! ```
//!
//! - Whitespace (Unicode, as the `regex` crate's `\s`) may follow the opening `{{`; the name
//!   follows `#` immediately, so `{{# include x}}` is not a directive.
//! - Arguments are everything up to the first `}`, which must start the closing `}}`. They may
//!   span lines and contain `{`, but never `}`.
//! - Matches are found left to right and never overlap, as a regex's `captures_iter` would.
//! - A backslash directly before `{{#` escapes the directive. Whether the backslash is removed
//!   is up to the stage that owns the directive: the scanner only reports it (`escaped`, and
//!   `start` pointing at the backslash). mdBook's escape pattern is `\\\{\{#.*\}\}`, whose
//!   greedy `.*` would run to the *last* `}}` on the line and swallow any directive between;
//!   here an escape covers exactly one directive, which is what authors mean.
//!
//! The scanner runs in time linear in the text (the search for the closing `}` is shared
//! between candidate openings), so a chapter full of unclosed `{{#` cannot make it quadratic.

/// One directive found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDirective<'a> {
    /// Byte offset of the directive's first byte: the `{{`, or the backslash when escaped.
    pub start: usize,
    /// Byte offset just past the closing `}}`.
    pub end: usize,
    /// The name after `#`, e.g. `include`.
    pub name: &'a str,
    /// The arguments with surrounding whitespace removed; empty for `{{#machine}}`.
    pub args: &'a str,
    /// Written as `\{{#...}}`: the author wants the text shown, not expanded.
    pub escaped: bool,
}

/// Finds every directive in `text`, in order. Never panics; every range lies on char
/// boundaries of `text`.
pub fn scan(text: &str) -> Vec<RawDirective<'_>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut closer = CloseFinder::default();
    let mut i = 0;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'{' || b == b'\\'))
    {
        let at = i + offset;
        // `at` holds an ASCII byte, so it and `at + 1` are char boundaries.
        let (open, escaped) = if bytes[at] == b'\\' {
            if !bytes[at + 1..].starts_with(b"{{#") {
                i = at + 1;
                continue;
            }
            (at + 1, true)
        } else {
            (at, false)
        };
        match match_at(text, open, &mut closer) {
            Some((end, name, args)) => {
                found.push(RawDirective {
                    start: at,
                    end,
                    name,
                    args,
                    escaped,
                });
                i = end;
            }
            None => i = at + 1,
        }
    }
    found
}

/// Remembers where the next `}` is, so scanning arguments from successive openings does not
/// walk the same text again.
#[derive(Default)]
struct CloseFinder {
    /// The answer below holds for queries at or after this offset (and before `found`).
    from: usize,
    /// The first `}` at or after `from`, or `None` if there is none.
    found: Option<usize>,
    valid: bool,
}

impl CloseFinder {
    fn first_brace_from(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        let cached = self.valid && from >= self.from && self.found.is_none_or(|f| f >= from);
        if !cached {
            self.from = from;
            self.found = bytes
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| b == b'}'))
                .map(|p| from + p);
            self.valid = true;
        }
        self.found
    }
}

/// Matches a directive whose `{{` starts at byte `open`; returns its end, name and
/// trimmed arguments.
fn match_at<'a>(
    text: &'a str,
    open: usize,
    closer: &mut CloseFinder,
) -> Option<(usize, &'a str, &'a str)> {
    let bytes = text.as_bytes();
    if !bytes.get(open..)?.starts_with(b"{{") {
        return None;
    }
    let hash = skip_whitespace(text, open + 2);
    if bytes.get(hash) != Some(&b'#') {
        return None;
    }
    let name_start = hash + 1;
    let name_len = bytes[name_start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if name_len == 0 {
        return None;
    }
    let name_end = name_start + name_len;
    let name = &text[name_start..name_end];
    let after_space = skip_whitespace(text, name_end);
    if bytes[after_space..].starts_with(b"}}") {
        return Some((after_space + 2, name, ""));
    }
    if after_space == name_end {
        // Arguments must be separated from the name by whitespace: `{{#foo-bar x}}` is text.
        return None;
    }
    let close = closer.first_brace_from(bytes, after_space)?;
    if bytes.get(close + 1) != Some(&b'}') {
        return None;
    }
    Some((close + 2, name, text[after_space..close].trim()))
}

/// The first offset at or after `from` (a char boundary) that is not Unicode whitespace.
fn skip_whitespace(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .map_or(text.len(), |(i, _)| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(&str, &str, bool)> {
        scan(text)
            .into_iter()
            .map(|d| (d.name, d.args, d.escaped))
            .collect()
    }

    #[test]
    fn finds_directive_with_arguments() {
        let text = "Some random text with {{#playground file.rs}} and {{#playground test.rs }}...";
        let found = scan(text);
        // The byte ranges of mdBook's own test of the same text.
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].start, found[0].end), (22, 45));
        assert_eq!((found[1].start, found[1].end), (50, 74));
        assert_eq!(found[1].args, "test.rs");
        assert_eq!(
            &text[found[0].start..found[0].end],
            "{{#playground file.rs}}"
        );
    }

    #[test]
    fn finds_directives_without_arguments() {
        assert_eq!(
            names("a {{#machine}} b {{#machine   }} c {{ #machine\n}}"),
            vec![
                ("machine", "", false),
                ("machine", "", false),
                ("machine", "", false)
            ]
        );
    }

    #[test]
    fn ranges_and_line_ranges_stay_in_the_arguments() {
        let found = scan("{{#include file.rs:10:20}} {{#include file.rs::}}");
        assert_eq!(found[0].args, "file.rs:10:20");
        assert_eq!(found[1].args, "file.rs::");
    }

    #[test]
    fn whitespace_may_follow_the_opening_braces_but_not_the_hash() {
        assert_eq!(names("{{ \t#include x }}"), vec![("include", "x", false)]);
        assert!(scan("{{# include x}}").is_empty());
        assert!(scan("{{#}} {{# }} {{}} {{#-x y}}").is_empty());
    }

    #[test]
    fn name_must_end_at_whitespace_or_the_closing_braces() {
        assert!(scan("{{#foo-bar x}} {{#foo.bar}} {{#foo}x}}").is_empty());
        assert_eq!(names("{{#foo_Bar9 x}}"), vec![("foo_Bar9", "x", false)]);
    }

    #[test]
    fn arguments_may_span_lines_and_hold_an_open_brace() {
        let found = scan("{{#include\n   a.md\n}} {{#a {{#b c}}");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].args, "a.md");
        // As mdBook's `[^}]+`, the first directive swallows the second opening.
        assert_eq!((found[1].name, found[1].args), ("a", "{{#b c"));
    }

    #[test]
    fn a_single_closing_brace_is_not_a_directive() {
        assert!(scan("{{#a b}c}}").is_empty());
        assert_eq!(names("{{#a b}c}} {{#d e}}"), vec![("d", "e", false)]);
        assert!(scan("{{#include file.rs").is_empty());
        assert!(scan("{{#include file.rs}").is_empty());
    }

    #[test]
    fn extra_opening_braces_are_skipped() {
        let found = scan("{{{#include x}}}");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].end), (1, 15));
    }

    #[test]
    fn escapes_cover_exactly_one_directive() {
        let text = r"a \{{#include x}} and {{#include y}} \{{#machine}}";
        let found = scan(text);
        assert_eq!(
            names(text),
            vec![
                ("include", "x", true),
                ("include", "y", false),
                ("machine", "", true)
            ]
        );
        assert_eq!(&text[found[0].start..found[0].end], r"\{{#include x}}");
    }

    #[test]
    fn escape_needs_the_hash_right_after_the_braces() {
        // mdBook's escape pattern is `\{{#`: with a space, the directive is live and the
        // backslash stays in the text.
        let text = r"\{{ #include x}}";
        let found = scan(text);
        assert_eq!(found.len(), 1);
        assert!(!found[0].escaped);
        assert_eq!(found[0].start, 1);
    }

    #[test]
    fn double_backslash_still_escapes() {
        // As in mdBook, only the backslash touching the braces counts.
        let found = scan(r"\\{{#include x}}");
        assert_eq!(found.len(), 1);
        assert!(found[0].escaped);
        assert_eq!(found[0].start, 1);
    }

    #[test]
    fn lone_backslashes_and_multibyte_text_are_fine() {
        assert!(scan("\\").is_empty());
        assert!(scan("\\{").is_empty());
        assert!(scan("\\{{").is_empty());
        assert!(scan("{").is_empty());
        let text = "é{{#bench ß\u{3000}}}ü{{\u{3000}#machine}}";
        let found = scan(text);
        assert_eq!(
            names(text),
            vec![("bench", "ß", false), ("machine", "", false)]
        );
        assert_eq!(&text[found[1].start..found[1].end], "{{\u{3000}#machine}}");
    }

    #[test]
    fn many_unclosed_openings_stay_fast() {
        let text = "{{#a b ".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(scan(&text).is_empty());
        assert!(started.elapsed().as_secs() < 5);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Text made mostly of the characters that matter to the grammar.
        fn soup() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("{{".to_owned()),
                Just("}}".to_owned()),
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("#".to_owned()),
                Just("\\".to_owned()),
                Just(" ".to_owned()),
                Just("\n".to_owned()),
                Just("\u{3000}".to_owned()),
                Just("include".to_owned()),
                Just("x".to_owned()),
                Just("-".to_owned()),
                Just("é".to_owned()),
                any::<char>().prop_map(String::from),
            ];
            proptest::collection::vec(piece, 0..48).prop_map(|v| v.concat())
        }

        fn check(text: &str) -> Result<(), TestCaseError> {
            let found = scan(text);
            let mut last_end = 0;
            for d in &found {
                prop_assert!(d.start >= last_end && d.start < d.end && d.end <= text.len());
                prop_assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end));
                let whole = &text[d.start..d.end];
                let body = if d.escaped {
                    whole.strip_prefix('\\')
                } else {
                    Some(whole)
                };
                prop_assert!(body.is_some_and(|b| b.starts_with("{{") && b.ends_with("}}")));
                prop_assert!(whole.contains(d.name) && whole.contains(d.args));
                prop_assert_eq!(d.args, d.args.trim());
                last_end = d.end;
            }
            Ok(())
        }

        /// The grammar of the module documentation, as a regex, with the escape first as
        /// in mdBook's pattern.
        fn by_regex(text: &str) -> Vec<(usize, usize, String, String, bool)> {
            static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(
                    r"\\\{\{#([a-zA-Z0-9_]+)(?:\s+([^}]+)|\s*)\}\}|\{\{\s*#([a-zA-Z0-9_]+)(?:\s+([^}]+)|\s*)\}\}",
                )
                .expect("valid regex")
            });
            RE.captures_iter(text)
                .map(|c| {
                    let whole = c.get(0).expect("group 0");
                    let escaped = c.get(1).is_some();
                    let (name, args) = if escaped { (1, 2) } else { (3, 4) };
                    (
                        whole.start(),
                        whole.end(),
                        c.get(name).map_or("", |m| m.as_str()).to_owned(),
                        c.get(args).map_or("", |m| m.as_str().trim()).to_owned(),
                        escaped,
                    )
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn never_panics_and_ranges_are_sound(text in soup()) {
                check(&text)?;
            }

            #[test]
            fn any_string_is_fine(text in any::<String>()) {
                check(&text)?;
            }

            #[test]
            fn agrees_with_the_documented_regex(text in soup()) {
                let ours: Vec<_> = scan(&text)
                    .into_iter()
                    .map(|d| (d.start, d.end, d.name.to_owned(), d.args.to_owned(), d.escaped))
                    .collect();
                prop_assert_eq!(ours, by_regex(&text));
            }
        }
    }
}
