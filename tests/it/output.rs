//! Properties of the written site: determinism, atomic replacement, escaping, extras.

use crate::book_test::BookTest;

#[test]
fn two_builds_are_byte_identical() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let first = t.snapshot_dir("book");
    t.build().success();
    assert!(first == t.snapshot_dir("book"));
}

#[test]
fn removed_chapters_leave_no_stale_pages() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    assert!(t.path("book/contributors.html").exists());
    let summary = t
        .read("src/SUMMARY.md")
        .replace("[Contributors](contributors.md)\n", "");
    t.write("src/SUMMARY.md", summary);
    t.build().success();
    assert!(!t.path("book/contributors.html").exists());
    // No staging or backup directories are left beside the output.
    let siblings: Vec<String> = std::fs::read_dir(t.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(siblings.is_empty(), "{siblings:?}");
}

#[test]
fn generated_text_is_escaped_and_raw_html_passes() {
    let t = BookTest::from_fixture("conformance");
    t.write(
        "src/SUMMARY.md",
        "# Summary\n\n- [A <b>bold</b> & \"quoted\" title](a.md)\n",
    );
    t.write(
        "src/a.md",
        "# Title\n\n<div class=\"raw\">raw <em>html</em></div>\n",
    );
    t.build().success();
    let html = t.read("book/a.html");
    assert!(html.contains("<div class=\"raw\">raw <em>html</em></div>"));
    assert!(
        !html.contains("<b>bold</b>"),
        "titles from SUMMARY.md are escaped"
    );
}

#[test]
fn site_extras_exist() {
    let t = BookTest::from_fixture("conformance");
    let toml = t.read("book.toml")
        + "\n[output.html]\nsite-url = \"https://example.org/guide/\"\nedit-url-template = \"https://example.org/edit/{path}\"\n";
    t.write("book.toml", toml);
    t.build().success();
    assert!(t.path("book/.nojekyll").exists());
    let sitemap = t.read("book/sitemap.xml");
    assert!(sitemap.contains("<loc>https://example.org/guide/third/deep.html</loc>"));
    let page = t.read("book/third/deep.html");
    assert!(page.contains("https://example.org/edit/src/third/deep.md"));
    let e404 = t.read("book/404.html");
    assert!(e404.contains("https://example.org/guide/"));
    // Every chapter is in print.html, and cache-busted assets are referenced.
    let print = t.read("book/print.html");
    for title in ["First", "Nested", "Deeper", "Appendix"] {
        assert!(print.contains(title), "print.html lacks {title}");
    }
    assert!(page.contains("css/site.css?v="));
}

#[test]
fn no_requests_to_other_hosts() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    for (path, bytes) in t.snapshot_dir("book") {
        let name = path.to_string_lossy();
        if !(name.ends_with(".html") || name.ends_with(".css") || name.ends_with(".js"))
            || name == "sitemap.xml"
        {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for pat in [
            "src=\"http",
            "src=\"//",
            "href=\"//",
            "@import url(http",
            "url(http",
        ] {
            assert!(!text.contains(pat), "{name} loads from another host: {pat}");
        }
        for (i, _) in text.match_indices("<link") {
            let tag = &text[i..i + text[i..].find('>').unwrap_or(0)];
            assert!(!tag.contains("href=\"http"), "{name}: {tag}");
        }
    }
}

/// Copies the repository's book (everything but build products and VCS data) so the test
/// can build it with `--quick` without writing quick records into the real store.
fn copy_repository(to: &std::path::Path) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let skip = [
        "target",
        "book",
        ".git",
        "node_modules",
        "artifacts",
        ".venv",
        "__pycache__",
    ];
    for e in walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !skip.contains(&e.file_name().to_string_lossy().as_ref())
        })
    {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap();
        let target = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if e.file_type().is_file() {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
    // Reuse the repository's Python environment, if one was prepared (by .ci/run or a build),
    // instead of installing the packages again.
    let venv = root.join("target/perfguide-venv");
    if venv.is_dir() {
        std::fs::create_dir_all(to.join("target")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&venv, to.join("target/perfguide-venv")).unwrap();
    }
}

#[test]
fn the_repository_guide_builds() {
    let copy = tempfile::tempdir().unwrap();
    copy_repository(copy.path());
    let out = assert_cmd::Command::cargo_bin("perfguide")
        .unwrap()
        .args(["build", "--quick"])
        .arg(copy.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning") && !l.contains("busy machine"))
        .collect();
    assert!(
        warnings.is_empty(),
        "the guide builds without warnings: {warnings:#?}"
    );
    assert!(copy.path().join("book/index.html").exists());
    // `check` agrees with the build and writes nothing more.
    let check = assert_cmd::Command::cargo_bin("perfguide")
        .unwrap()
        .arg("check")
        .arg(copy.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
