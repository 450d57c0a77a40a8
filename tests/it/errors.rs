//! Bad input: every case fails with status 1, names file:line and what to do, never panics,
//! and leaves the previously built site byte-for-byte unchanged.

use crate::book_test::BookTest;

/// Builds the fixture once, applies `change`, rebuilds, and checks the failure.
#[track_caller]
fn fails_and_keeps_site(change: impl FnOnce(&BookTest), expected: &[&str]) {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let before = t.snapshot_dir("book");
    change(&t);
    t.build().fails_with(expected);
    assert!(
        before == t.snapshot_dir("book"),
        "the previous site was modified"
    );
    // `check` reports the same problem and writes nothing either.
    t.check().fails_with(expected);
    assert!(before == t.snapshot_dir("book"), "check modified the site");
}

#[test]
fn invalid_toml() {
    fails_and_keeps_site(
        |t| {
            t.write("book.toml", "[book]\ntitle = \"x\n");
        },
        &["book.toml:2:"],
    );
}

#[test]
fn unknown_book_toml_key() {
    fails_and_keep_key(
        "[book]\ntitle = \"x\"\ntitel = \"y\"\n",
        &["book.toml:3:1", "titel", "title"],
    );
}

#[test]
fn mistyped_book_toml_key() {
    fails_and_keep_key("[book]\ntitle = 3\n", &["book.toml:2:", "title"]);
}

#[track_caller]
fn fails_and_keep_key(toml: &str, expected: &[&str]) {
    let toml = toml.to_string();
    fails_and_keeps_site(
        move |t| {
            t.write("book.toml", toml);
        },
        expected,
    );
}

#[test]
fn summary_item_that_is_not_a_link() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](first/index.md)\n- Just text\n",
            );
        },
        &["SUMMARY.md:4"],
    );
}

#[test]
fn summary_duplicate_chapter_file() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](first/index.md)\n- [Again](first/index.md)\n",
            );
        },
        &["SUMMARY.md:4"],
    );
}

#[test]
fn summary_bold_link() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- **[First](first/index.md)**\n",
            );
        },
        &["SUMMARY.md:3"],
    );
}

#[test]
fn summary_empty_list_item() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](first/index.md)\n-\n",
            );
        },
        &["SUMMARY.md:4"],
    );
}

#[test]
fn summary_link_to_a_url() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](https://example.org/a.md)\n",
            );
        },
        &["SUMMARY.md:3"],
    );
}

#[test]
fn missing_summary() {
    fails_and_keeps_site(
        |t| {
            std::fs::remove_file(t.path("src/SUMMARY.md")).unwrap();
        },
        &["SUMMARY.md"],
    );
}

#[test]
fn summary_numbered_after_suffix() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](first/index.md)\n\n[Appendix](appendix.md)\n\n- [Second](second.md)\n",
            );
        },
        &["SUMMARY.md:7"],
    );
}

#[test]
fn missing_chapter_without_create_missing() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/SUMMARY.md",
                "# Summary\n\n- [First](first/index.md)\n- [Gone](gone.md)\n",
            );
        },
        &["SUMMARY.md:4", "gone.md"],
    );
}

#[test]
fn include_of_missing_file() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                "# Third\n\n{{#include ../listings/nope.rs}}\n",
            );
        },
        &["src/third.md:3", "nope.rs"],
    );
}

#[test]
fn include_of_missing_anchor() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                "# Third\n\n\n{{#include ../listings/code.rs:nowhere}}\n",
            );
        },
        &["src/third.md:4", "nowhere"],
    );
}

#[test]
fn include_lines_out_of_range() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                "# Third\n\n{{#include ../listings/code.rs:500:600}}\n",
            );
        },
        &["src/third.md:3"],
    );
}

#[test]
fn include_leaving_the_root_relative() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                "# Third\n\n{{#include ../../../etc/passwd}}\n",
            );
        },
        &["src/third.md:3"],
    );
}

#[test]
fn include_leaving_the_root_absolute() {
    fails_and_keeps_site(
        |t| {
            t.write("src/third.md", "# Third\n\n{{#include /etc/passwd}}\n");
        },
        &["src/third.md:3"],
    );
}

#[cfg(unix)]
#[test]
fn include_leaving_the_root_through_a_symlink() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let target = outside.path().join("secret.txt");
    fails_and_keeps_site(
        move |t| {
            std::os::unix::fs::symlink(&target, t.path("listings/link.txt")).unwrap();
            t.write(
                "src/third.md",
                "# Third\n\n{{#include ../listings/link.txt}}\n",
            );
        },
        &["src/third.md:3"],
    );
}

#[test]
fn include_cycle() {
    fails_and_keeps_site(
        |t| {
            t.write("listings/a.md", "{{#include b.md}}\n");
            t.write("listings/b.md", "{{#include a.md}}\n");
            t.write("src/third.md", "# Third\n\n{{#include ../listings/a.md}}\n");
        },
        &["a.md", "b.md"],
    );
}

#[test]
fn broken_internal_link() {
    fails_and_keeps_site(
        |t| {
            t.write("src/third.md", "# Third\n\nSee [this](nowhere.md).\n");
        },
        &["src/third.md:3", "nowhere.html"],
    );
}

#[test]
fn broken_fragment() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                "# Third\n\nSee [this](second.md#no-such-heading).\n",
            );
        },
        &["src/third.md:3", "no-such-heading"],
    );
}

#[test]
fn chapter_that_is_not_utf8() {
    fails_and_keeps_site(
        |t| {
            t.write(
                "src/third.md",
                b"# Third\n\nbad \xff\xfe bytes\n".as_slice(),
            );
        },
        &["third.md", "UTF-8"],
    );
}

#[test]
fn unknown_directive() {
    fails_and_keeps_site(
        |t| {
            t.write("src/third.md", "# Third\n\n{{#benchh mandelbrot}}\n");
        },
        &["src/third.md:3:1", "unknown directive", "bench"],
    );
}

#[test]
fn image_without_alt_text() {
    fails_and_keeps_site(
        |t| {
            t.write("src/third.md", "# Third\n\n![](x.png)\n");
        },
        &["src/third.md:3", "alt text"],
    );
}

#[test]
fn several_errors_are_reported_together() {
    let t = BookTest::from_fixture("conformance");
    t.write("src/third.md", "# Third\n\n[a](x.md)\n\n[b](y.md)\n");
    t.build().fails_with(&["src/third.md:3", "src/third.md:5"]);
}

#[test]
fn a_tex_error() {
    fails_and_keeps_site(
        |t| {
            t.write("src/third.md", "# Third\n\n$\\notacommand{x}$\n");
        },
        &["src/third.md:3", "TeX error"],
    );
}
