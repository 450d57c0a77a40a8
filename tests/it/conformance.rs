//! The conformance fixture uses every SUMMARY.md construct and every `{{#include}}` form.
//! The expectations below were written from mdBook 0.5.4's build of the same fixture
//! (chapter set, section numbers, included text, titles); perfguide must agree.

use crate::book_test::{BookTest, text_of};

fn code_blocks(main: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = main;
    while let Some(start) = rest.find("<code") {
        let body_start = start + rest[start..].find('>').unwrap() + 1;
        let end = body_start + rest[body_start..].find("</code>").unwrap();
        out.push(text_of(&rest[body_start..end]));
        rest = &rest[end..];
    }
    out
}

const LISTING: &str = include_str!("../fixtures/conformance/listings/code.rs");

fn lines(from: usize, to: usize) -> String {
    let all: Vec<&str> = LISTING.lines().collect();
    all[from - 1..to].join("\n")
}

#[test]
fn same_chapter_set_as_mdbook() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let mut pages: Vec<String> = t
        .snapshot_dir("book")
        .into_iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".html"))
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "404.html",
            "appendix.html",
            "contributors.html",
            "first/index.html",
            "first/nested.html",
            "foreword.html",
            "index.html",
            "print.html",
            "second.html",
            "third.html",
            "third/deep.html",
            "third/deeper.html",
        ]
    );
}

#[test]
fn same_numbering_as_mdbook() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let html = t.read("book/third/deeper.html");
    // Numbering continues across parts; drafts are numbered but not linked.
    for (number, title) in [
        ("1.", "First"),
        ("1.1.", "Nested"),
        ("1.2.", "Draft child"),
        ("2.", "Second emphasis"),
        ("3.", "Third"),
        ("3.1.", "Deep"),
        ("3.1.1.", "Deeper"),
        ("4.", "Draft top"),
    ] {
        let needle = format!(">{number}</span>");
        let at = html
            .find(&needle)
            .unwrap_or_else(|| panic!("no section number {number} in the sidebar"));
        let after = text_of(&html[at + needle.len()..at + needle.len() + 200]);
        assert!(
            after.trim_start().starts_with(title),
            "{number} should be {title}, found {after:?}"
        );
    }
    // Prefix and suffix chapters are not numbered; parts are shown.
    assert!(html.contains("Part One") && html.contains("Part Two"));
    // The chapter's own heading carries its number.
    assert!(t.main_of("third/deeper.html").contains("3.1.1."));
    assert!(!t.main_of("appendix.html").contains("section-number"));
}

#[test]
fn drafts_are_listed_but_not_linked() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let html = t.read("book/index.html");
    assert!(html.contains("Draft child"));
    assert!(!html.contains("href=\"draft"));
}

#[test]
fn include_forms_match_mdbook() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let blocks = code_blocks(&t.main_of("first/index.html"));
    let expected = [
        LISTING.trim_end().to_string(), // whole file, anchors kept
        lines(2, 2),                    // :2
        lines(6, 9),                    // :6:9
        lines(1, 2),                    // ::2
        lines(20, 24),                  // :20:
        lines(6, 9),                    // :point
        format!("{}\n\n{}", lines(6, 9), lines(12, 16)), // :all, nested anchor lines dropped
    ];
    let blocks: Vec<String> = blocks
        .into_iter()
        .filter(|b| b.contains('\n') || b.contains(';') || b.contains("//"))
        .collect();
    assert_eq!(blocks.len(), expected.len(), "{blocks:#?}");
    for (got, want) in blocks.iter().zip(&expected) {
        assert_eq!(got.trim_end(), want.trim_end());
    }
}

#[test]
fn rustdoc_include_escape_nested_and_title() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let main = t.main_of("first/nested.html");
    let blocks = code_blocks(&main);
    // rustdoc_include: as in mdBook, the whole file without anchor lines, where the lines
    // outside the anchor are hidden (`# ` lines become `hl-boring` spans, shown on request).
    let without_anchors: Vec<&str> = LISTING.lines().filter(|l| !l.contains("ANCHOR")).collect();
    assert!(
        blocks
            .iter()
            .any(|b| b.trim_end() == without_anchors.join("\n")),
        "{blocks:#?}"
    );
    assert!(main.contains("<span class=\"hl-boring\"><span class=\"hl-comment\">// Line 1"));
    // One hidden span per line outside the anchor: everything but the anchor's two lines.
    assert_eq!(
        main.matches("<span class=\"hl-boring\">").count(),
        without_anchors.len() - 2
    );
    let text = text_of(&main);
    assert!(text.contains("Escaped: {{#include ../../listings/code.rs}}"));
    assert!(text.contains("Outer text before."));
    assert!(text.contains("Inner text from a nested include."));
    assert!(text.contains("Outer text after."));
    let second = t.read("book/second.html");
    assert!(
        second.contains("<title>A Custom Title"),
        "{{#title}} sets the page title"
    );
}

#[test]
fn links_are_rewritten_and_readme_is_index() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let index = t.main_of("index.html");
    assert!(index.contains("href=\"first/index.html\""));
    assert!(index.contains("href=\"first/nested.html#nested-heading\""));
    let second = t.main_of("second.html");
    assert!(second.contains("href=\"index.html\""));
}

#[test]
fn alerts_render_as_admonitions() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let main = t.main_of("third.html");
    assert!(main.contains("admonition note"));
    assert!(main.contains("An alert."));
}

#[test]
fn check_passes_and_writes_nothing() {
    let t = BookTest::from_fixture("conformance");
    t.check().success();
    assert!(!t.path("book").exists());
}
