//! The site in a real browser: headless Chromium (Debian's `chromium` package) driven by
//! `tests/browser/site.mjs` (playwright-core, axe-core from npm) against `perfguide serve`
//! of a snapshot of the repository's guide.
//!
//! Without Chromium, Node or `tests/browser/node_modules`, these tests fail with a clear
//! message when `CI` is set (`.ci/run` installs them) and are skipped with a notice otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::book_test::BookTest;
use crate::serve::Served;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the browser tests need, or why they cannot run.
struct Tools {
    node: PathBuf,
    chromium: PathBuf,
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Node (for the stemmer comparison) and, when `browser`, Chromium and the npm packages.
/// `None` means: skip (only outside CI).
fn tools(browser: bool) -> Option<Tools> {
    let node = which("node");
    let chromium = std::env::var_os("PERFGUIDE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| which("chromium"))
        .or_else(|| which("chromium-browser"));
    let modules = repo().join("tests/browser/node_modules/playwright-core");
    let mut missing = Vec::new();
    if node.is_none() {
        missing.push("node (Debian package `nodejs`)");
    }
    if browser && chromium.is_none() {
        missing.push("chromium (Debian package `chromium`)");
    }
    if browser && !modules.is_dir() {
        missing.push("the npm packages of tests/browser (`npm ci --prefix tests/browser`)");
    }
    if missing.is_empty() {
        return Some(Tools {
            node: node?,
            chromium: chromium.unwrap_or_default(),
        });
    }
    let msg = format!(
        "browser tests need {}; .ci/run installs them",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/* ------------------------------------------------------------------------------------- */
/* The stemmer and tokenizer agree between Rust and JavaScript                            */
/* ------------------------------------------------------------------------------------- */

#[test]
fn rust_and_javascript_stem_and_tokenize_alike() {
    let Some(tools) = tools(false) else { return };
    // Every word of the guide and the docs, plus the hard cases.
    let mut words: BTreeSet<String> = [
        "caresses",
        "ponies",
        "ties",
        "feed",
        "agreed",
        "plastered",
        "motoring",
        "sing",
        "conflated",
        "troubled",
        "sized",
        "hopping",
        "tanned",
        "falling",
        "hissing",
        "fizzed",
        "failing",
        "filing",
        "happy",
        "sky",
        "relational",
        "conditional",
        "rational",
        "valenci",
        "digitizer",
        "conformabli",
        "radicalli",
        "differentli",
        "vileli",
        "analogousli",
        "vietnamization",
        "predication",
        "operator",
        "feudalism",
        "decisiveness",
        "hopefulness",
        "callousness",
        "formaliti",
        "sensitiviti",
        "sensibiliti",
        "triplicate",
        "formative",
        "formalize",
        "electriciti",
        "electrical",
        "hopeful",
        "goodness",
        "revival",
        "allowance",
        "inference",
        "airliner",
        "gyroscopic",
        "adjustable",
        "defensible",
        "irritant",
        "replacement",
        "adjustment",
        "dependent",
        "adoption",
        "homologou",
        "communism",
        "activate",
        "angulariti",
        "homologous",
        "effective",
        "bowdlerize",
        "probate",
        "rate",
        "cease",
        "controll",
        "roll",
        "generalizations",
        "oscillators",
        "optimise",
        "optimisation",
        "vectorised",
        "rise",
        "wise",
        "yy",
        "y",
        "ys",
        "sses",
        "ies",
        "eed",
        "ing",
        "ed",
        "naïve",
        "f64x8",
        "größe",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut text = String::new();
    for dir in ["guides", "src", "examples/python"] {
        for e in walkdir::WalkDir::new(repo().join(dir))
            .into_iter()
            .flatten()
        {
            let p = e.path();
            if p.extension()
                .is_some_and(|x| x == "md" || x == "rs" || x == "py")
            {
                text.push_str(&std::fs::read_to_string(p).unwrap_or_default());
            }
        }
    }
    words.extend(perfguide::search::tokens(&text));
    let words: Vec<String> = words.into_iter().collect();
    assert!(words.len() > 1000, "{} words", words.len());

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("words.json");
    let sample = "Rust's `par_iter()` — f64x8 SIMD, Größe 2.5; ΟΔΟΣ naïve x86_64";
    let numbers: Vec<u32> = vec![0, 1, 31, 32, 65, 1023, 1024, 99_999, 4_000_000];
    std::fs::write(
        &input,
        serde_json::to_string(&serde_json::json!({
            "words": words,
            "text": sample,
            "packed": perfguide::search::pack(&numbers),
        }))
        .unwrap(),
    )
    .unwrap();
    let script = format!(
        "const s = require({:?}); const fs = require('fs');\
         const i = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));\
         process.stdout.write(JSON.stringify({{ stems: i.words.map(s.stem), tokens: s.tokens(i.text), numbers: s.unpack(i.packed) }}));",
        repo().join("static/js/search.js").display().to_string()
    );
    let out = Command::new(&tools.node)
        .arg("-e")
        .arg(&script)
        .arg(&input)
        .output()
        .expect("running node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js: Value = serde_json::from_slice(&out.stdout).unwrap();
    let js_stems = js["stems"].as_array().unwrap();
    let mut differ = Vec::new();
    for (w, j) in words.iter().zip(js_stems) {
        let r = perfguide::search::stem(w);
        if j.as_str() != Some(r.as_str()) {
            differ.push(format!("{w}: rust {r}, js {j}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} words stem differently:\n{}",
        differ.len(),
        words.len(),
        differ.join("\n")
    );
    let rust_tokens: Vec<String> = perfguide::search::tokens(sample).collect();
    let js_tokens: Vec<String> = serde_json::from_value(js["tokens"].clone()).unwrap();
    assert_eq!(rust_tokens, js_tokens);
    let js_numbers: Vec<u32> = serde_json::from_value(js["numbers"].clone()).unwrap();
    assert_eq!(
        js_numbers, numbers,
        "search.js unpacks what search.rs packs"
    );
    eprintln!(
        "stemmer: Rust and JavaScript agree on {} words",
        words.len()
    );
}

/* ------------------------------------------------------------------------------------- */
/* The guide in the browser                                                               */
/* ------------------------------------------------------------------------------------- */

/// A snapshot of the work tree's files (tracked and untracked, without ignored ones such as
/// target/ and book/), so writers editing the guide cannot change it under the test.
pub(crate) fn snapshot_work_tree() -> BookTest {
    let t = BookTest {
        dir: tempfile::tempdir().unwrap(),
    };
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo())
        .output()
        .expect("running git ls-files");
    assert!(out.status.success());
    for rel in out.stdout.split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let rel = String::from_utf8_lossy(rel).into_owned();
        let from = repo().join(&rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let to = t.path(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    t
}

/// The last commit of the guide (when the work tree is mid-edit).
fn snapshot_head() -> BookTest {
    let t = BookTest {
        dir: tempfile::tempdir().unwrap(),
    };
    let archive = Command::new("git")
        .args(["archive", "--format=tar", "HEAD"])
        .current_dir(repo())
        .output()
        .expect("running git archive");
    assert!(archive.status.success());
    let tar = t.path("head.tar");
    std::fs::write(&tar, &archive.stdout).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .current_dir(t.root())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(tar).unwrap();
    t
}

/// Serves a snapshot of the guide; falls back to the last commit outside CI.
fn serve_the_guide() -> (BookTest, Served) {
    let t = snapshot_work_tree();
    let served = Served::start(&t, &[]);
    let status = crate::serve::get_status(served.addr, "/index.html");
    if status == 200 {
        return (t, served);
    }
    let log = served.log();
    if std::env::var_os("CI").is_some() {
        panic!("the guide does not build:\n{log}");
    }
    eprintln!("note: the work tree's guide does not build now; testing the last commit\n{log}");
    drop(served);
    let t = snapshot_head();
    let served = Served::start(&t, &[]);
    let status = crate::serve::get_status(served.addr, "/index.html");
    assert_eq!(
        status,
        200,
        "the committed guide does not build:\n{}",
        served.log()
    );
    (t, served)
}

/// The search index as JSON.
fn read_index(site: &Path) -> Value {
    let js = std::fs::read_to_string(site.join(perfguide::search::INDEX_FILE)).unwrap();
    let json = js
        .trim_end()
        .strip_prefix(&format!("window.{}=", perfguide::search::INDEX_GLOBAL))
        .and_then(|s| s.strip_suffix(';'))
        .expect("the index assigns the global");
    serde_json::from_str(json).unwrap()
}

/// A word that occurs in exactly one chapter: its stem is in that chapter's sections only,
/// no other term starts with it (so prefix matches cannot rank another chapter first), and
/// it is written in the chapter's prose (so the snippet shows it).
fn word_in_one_chapter(index: &Value) -> (String, String) {
    let docs = index["docs"].as_array().unwrap();
    let chapters = index["chapters"].as_array().unwrap();
    let terms: Vec<&str> = index["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut chapters_of: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for (t, post) in terms.iter().zip(index["postings"].as_array().unwrap()) {
        let mut doc = 0;
        let numbers = perfguide::search::unpack(post.as_str().unwrap()).unwrap();
        for pair in numbers.chunks(2) {
            doc += u64::from(pair[0]);
            let chapter = docs[doc as usize][0].as_u64().unwrap();
            chapters_of.entry(t).or_default().insert(chapter);
        }
    }
    let mut best: Option<(String, u64)> = None;
    for d in docs {
        let chapter = d[0].as_u64().unwrap();
        for w in perfguide::search::tokens(d[3].as_str().unwrap()) {
            if !(8..=14).contains(&w.len()) || !w.chars().all(|c| c.is_ascii_lowercase()) {
                continue;
            }
            let s = perfguide::search::stem(&w);
            let only_here = chapters_of
                .get(s.as_str())
                .is_some_and(|c| c.len() == 1 && c.contains(&chapter));
            let prefix_of_other = terms.iter().any(|t| *t != s && t.starts_with(&s));
            if only_here && !prefix_of_other && best.as_ref().is_none_or(|(b, _)| w < *b) {
                best = Some((w, chapter));
            }
        }
    }
    let (word, chapter) = best.expect("no word occurs in exactly one chapter");
    let path = chapters[chapter as usize][2].as_str().unwrap().to_string();
    (word, path)
}

fn html_pages(site: &Path) -> Vec<String> {
    let mut pages: Vec<String> = walkdir::WalkDir::new(site)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .map(|e| {
            e.path()
                .strip_prefix(site)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    pages.sort();
    pages
}

/// The chapter with the most tables, charts and code blocks (each at least one if any
/// chapter has all three).
fn richest_chapter(site: &Path, pages: &[String]) -> String {
    let score = |p: &String| {
        let html = std::fs::read_to_string(site.join(p)).unwrap_or_default();
        let count = |needle: &str| html.matches(needle).count();
        let (t, c, s) = (
            count("<table"),
            count("<pre"),
            count("<svg") + count("class=\"chart"),
        );
        ((t > 0 && c > 0 && s > 0) as usize, t + c + s)
    };
    pages
        .iter()
        .filter(|p| !matches!(p.as_str(), "print.html" | "404.html" | "index.html"))
        .max_by_key(|p| score(p))
        .cloned()
        .expect("the guide has chapters")
}

/// A page with both a previous and a next chapter.
fn middle_chapter(site: &Path, pages: &[String]) -> String {
    pages
        .iter()
        .find(|p| {
            let html = std::fs::read_to_string(site.join(p)).unwrap_or_default();
            html.contains("rel=\"prev\"") && html.contains("rel=\"next\"") && !p.contains('/')
        })
        .or_else(|| {
            pages.iter().find(|p| {
                let html = std::fs::read_to_string(site.join(p)).unwrap_or_default();
                html.contains("rel=\"prev\"") && html.contains("rel=\"next\"")
            })
        })
        .cloned()
        .expect("a chapter with previous and next")
}

fn size_of(site: &Path, pages: &[String]) -> u64 {
    pages
        .iter()
        .map(|p| std::fs::metadata(site.join(p)).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn the_guide_in_headless_chromium() {
    let Some(tools) = tools(true) else { return };
    let (t, served) = serve_the_guide();
    let site = t.path("out");
    let pages = html_pages(&site);
    assert!(pages.len() > 3, "{pages:?}");

    // Index size against the site's HTML.
    let index_bytes = std::fs::metadata(site.join(perfguide::search::INDEX_FILE))
        .unwrap()
        .len();
    let html_bytes = size_of(&site, &pages);
    let chapters_only: Vec<String> = pages
        .iter()
        .filter(|p| p.as_str() != "print.html")
        .cloned()
        .collect();
    let chapter_bytes = size_of(&site, &chapters_only);
    eprintln!(
        "search index: {index_bytes} bytes; site HTML: {html_bytes} bytes ({:.1}%), without print.html: {chapter_bytes} bytes ({:.1}%)",
        100.0 * index_bytes as f64 / html_bytes as f64,
        100.0 * index_bytes as f64 / chapter_bytes as f64
    );
    assert!(
        index_bytes * 100 <= html_bytes * 30,
        "the index is more than 30% of the site's HTML"
    );

    let index = read_index(&site);
    let (word, chapter_of_word) = word_in_one_chapter(&index);
    let chapter = richest_chapter(&site, &pages);
    let nav_from = middle_chapter(&site, &pages);
    eprintln!(
        "browser: {} pages; search word {word:?} (only in {chapter_of_word}); rich chapter {chapter}; arrows from {nav_from}",
        pages.len()
    );

    let artifacts = repo().join("tests/artifacts");
    let config = serde_json::json!({
        "base": served.url,
        "fileBase": format!("file://{}/", site.display()),
        "pages": pages,
        "chapter": chapter,
        "navFrom": nav_from,
        "search": {
            "query": word,
            "latencyQueries": ["s", "pro", "profil", "vector", "cache miss", "python numba loop", word],
        },
        "artifacts": artifacts,
        "chromium": tools.chromium,
        "timeoutMs": 300_000,
    });
    let config_file = t.path("browser-config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let out = Command::new(&tools.node)
        .arg(repo().join("tests/browser/site.mjs"))
        .arg(&config_file)
        .current_dir(repo().join("tests/browser"))
        .output()
        .expect("running node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "site.mjs failed ({}):\n{stderr}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("site.mjs printed no report ({e}):\n{stderr}"));
    let pretty = serde_json::to_string_pretty(&r).unwrap();
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("browser-report.json"), &pretty).unwrap();
    let ctx = || "(report in tests/artifacts/browser-report.json)".to_string();

    assert!(
        r["errors"].as_array().unwrap().is_empty(),
        "steps failed: {:#?} {}",
        r["errors"],
        ctx()
    );

    // Every page: loads, no console errors, no failed or external requests.
    let mut problems = Vec::new();
    for p in r["pages"].as_array().unwrap() {
        let path = p["path"].as_str().unwrap();
        let want = if path == "no-such-page.html" {
            404
        } else {
            200
        };
        if p["status"].as_u64() != Some(want) {
            problems.push(format!("{path}: status {}", p["status"]));
        }
        for key in [
            "consoleErrors",
            "pageErrors",
            "failedRequests",
            "externalRequests",
            "badResponses",
        ] {
            for item in p[key].as_array().unwrap() {
                problems.push(format!("{path}: {key}: {item}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}\n{}", problems.join("\n"), ctx());
    let not_found = &r["pages"].as_array().unwrap().last().unwrap()["text"];
    assert!(
        not_found.as_str().unwrap_or("").contains("not found"),
        "404 page: {not_found}"
    );

    // Search: lazy index, the one chapter first, highlighted snippet, keyboard.
    let s = &r["search"];
    assert_eq!(
        s["indexLoadedBeforeUse"], false,
        "the index loads on first use"
    );
    assert_eq!(
        s["indexRequests"].as_array().unwrap().len(),
        1,
        "{:?}",
        s["indexRequests"]
    );
    let results = s["results"].as_array().unwrap();
    assert!(!results.is_empty(), "no results for {word:?}");
    let first = results[0]["href"].as_str().unwrap();
    let first_path = first
        .trim_start_matches(served.url.as_str())
        .split('#')
        .next()
        .unwrap();
    assert!(
        first_path.ends_with(&chapter_of_word),
        "searching {word:?}: first result {first}, expected {chapter_of_word}"
    );
    assert!(
        results[0]["snippet"].as_str().unwrap().contains("<mark>"),
        "{:?}",
        results[0]
    );
    for check in ["network"] {
        for key in [
            "consoleErrors",
            "pageErrors",
            "failedRequests",
            "externalRequests",
        ] {
            assert!(
                s[check][key].as_array().is_none_or(|a| a.is_empty()),
                "search: {key}: {}",
                s[check][key]
            );
        }
    }
    let k = &r["keyboard"];
    for flag in [
        "slashFocuses",
        "sFocuses",
        "downFocusesFirst",
        "downMoves",
        "upReturnsToBox",
        "escapeCloses",
    ] {
        assert_eq!(k[flag], true, "keyboard: {flag} {}", ctx());
    }
    assert_eq!(
        k["enterOpens"], k["enterExpected"],
        "Enter opens the first result"
    );

    // Latency of a query in the browser.
    let mut worst = 0.0f64;
    for l in s["latency"].as_array().unwrap() {
        let ms = l["ms"].as_f64().unwrap();
        eprintln!(
            "search latency: {:>7.2} ms  {} ({} results)",
            ms, l["q"], l["results"]
        );
        worst = worst.max(ms);
    }
    assert!(worst < 50.0, "a query took {worst:.1} ms in the browser");

    // Theme toggle persists across a page change; arrows navigate.
    let th = &r["theme"];
    assert_eq!(th["before"], "dark", "{th}");
    assert_eq!(th["after"], "dark", "the theme did not persist: {th}");
    assert_eq!(th["afterPref"], "dark", "{th}");
    let a = &r["arrows"];
    assert_eq!(a["right"], a["expectedRight"], "ArrowRight: {a}");
    assert_eq!(a["left"], a["expectedLeft"], "ArrowLeft: {a}");
    assert_eq!(a["left2"], a["expectedLeft2"], "ArrowLeft: {a}");

    // axe-core: no serious or critical violations.
    let mut serious = Vec::new();
    for run in r["axe"].as_array().unwrap() {
        for v in run["violations"].as_array().unwrap() {
            let impact = v["impact"].as_str().unwrap_or("");
            let line = format!(
                "{}: {} ({impact}): {} {}",
                run["name"], v["id"], v["help"], v["nodes"]
            );
            if impact == "serious" || impact == "critical" {
                serious.push(line);
            } else {
                eprintln!("axe note: {line}");
            }
        }
    }
    assert_eq!(
        r["axe"].as_array().unwrap().len(),
        6,
        "axe runs: {}",
        r["axe"]
    );
    assert!(serious.is_empty(), "axe-core:\n{}", serious.join("\n"));

    // Screenshots.
    let shots = r["screenshots"].as_array().unwrap();
    assert_eq!(shots.len(), 12, "{shots:?}");
    for shot in shots {
        let len = std::fs::metadata(shot.as_str().unwrap()).map_or(0, |m| m.len());
        assert!(len > 1000, "{shot}: {len} bytes");
    }

    // Search works from disk too.
    let f = &r["fileSearch"];
    assert!(f["count"].as_u64().unwrap_or(0) > 0, "file:// search: {f}");
    assert!(
        f["first"].as_str().unwrap_or("").contains(&chapter_of_word),
        "file:// search: {f}"
    );
}

/* ------------------------------------------------------------------------------------- */
/* Search without a browser: configuration, and ranking run under Node                    */
/* ------------------------------------------------------------------------------------- */

#[test]
fn search_follows_the_search_config() {
    let t = BookTest::from_fixture("conformance");
    t.build().success();
    let page = t.read("book/first/nested.html");
    assert!(page.contains("id=\"search\""), "the search box");
    assert!(
        page.contains("src=\"../js/search.js?v=") && page.contains("&amp;index="),
        "search.js with the index version, relative to the page"
    );
    let index = read_index(&t.path("book"));
    assert_eq!(index["config"]["limit"], 20);
    assert_eq!(index["config"]["titleBoost"], 3.0);

    let toml = t.read("book.toml");
    t.write(
        "book.toml",
        format!("{toml}\n[search]\nlimit-results = 7\ntitle-boost = 5\nheading-boost = 1.5\n"),
    );
    t.build().success();
    let index = read_index(&t.path("book"));
    assert_eq!(index["config"]["limit"], 7);
    assert_eq!(index["config"]["titleBoost"], 5.0);
    assert_eq!(index["config"]["headingBoost"], 1.5);

    t.write("book.toml", format!("{toml}\n[search]\nenable = false\n"));
    t.build().success();
    assert!(!t.path("book/search-index.js").exists());
    let page = t.read("book/first/nested.html");
    assert!(
        !page.contains("id=\"search\""),
        "no search box without an index"
    );
    assert!(
        !page.contains("search.js"),
        "no search script without an index"
    );
}

#[test]
fn ranking_prefers_the_title_then_a_heading_then_the_body() {
    let Some(tools) = tools(false) else { return };
    let t = BookTest::from_fixture("conformance");
    t.write(
        "src/SUMMARY.md",
        "# Summary\n\n- [Body](body.md)\n- [Heading](heading.md)\n- [Vectorisation](title.md)\n- [Other](other.md)\n",
    );
    let filler = "Measure first, then change one thing at a time. ".repeat(20);
    t.write(
        "src/body.md",
        format!("# Body\n\n{filler}\n\nHere the compiler vectorised the loop.\n"),
    );
    t.write(
        "src/heading.md",
        format!("# Heading\n\n{filler}\n\n## Vectorisation by hand\n\nIntrinsics.\n"),
    );
    t.write("src/title.md", format!("# Vectorisation\n\n{filler}\n"));
    t.write("src/other.md", format!("# Other\n\n{filler}\n"));
    t.build().success();
    let script = format!(
        "global.window = global; require({index:?}); const s = require({js:?});\
         const idx = s.prepare(window.perfguideSearchIndex);\
         const out = {{}};\
         for (const q of process.argv.slice(1)) out[q] = s.search(idx, q).map(r => r.url + ' | ' + s.snippet(r.text, r.terms));\
         process.stdout.write(JSON.stringify(out));",
        index = t.path("book/search-index.js").display().to_string(),
        js = repo().join("static/js/search.js").display().to_string(),
    );
    let out = Command::new(&tools.node)
        .arg("-e")
        .arg(&script)
        .args([
            "vectorisation",
            "vectorize",
            "vectori",
            "VECTOR",
            "loop vectorised",
            "zebra",
            "the",
        ])
        .output()
        .expect("running node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let urls = |q: &str| -> Vec<String> {
        r[q].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().split(" | ").next().unwrap().to_string())
            .collect()
    };
    // British and American spellings, prefixes and case all find the same sections.
    for q in ["vectorisation", "vectorize", "vectori", "VECTOR"] {
        assert_eq!(
            urls(q),
            [
                "title.html",
                "heading.html#vectorisation-by-hand",
                "body.html"
            ],
            "query {q}: {}",
            r[q]
        );
    }
    // Every term must match: only the body section has both words.
    assert_eq!(urls("loop vectorised"), ["body.html"]);
    let snippet = r["loop vectorised"][0].as_str().unwrap();
    assert!(
        snippet.contains("<mark>vectorised</mark> the <mark>loop</mark>"),
        "{snippet}"
    );
    assert!(urls("zebra").is_empty());
    assert!(urls("the").is_empty(), "stop words alone find nothing");
}
