//! The check stage for links: every internal link and `#fragment` must resolve.
//!
//! Links are resolved against the set of files the build will write (pages, copied assets)
//! and the ids present in each page's final HTML, so a link to a heading, a footnote or an
//! `id` written in raw HTML all count. External links are not fetched: a build must not depend
//! on the network.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::SourceError;
use crate::render::LinkRef;

/// What the site will contain, for resolving links.
#[derive(Debug, Default)]
pub struct SiteIndex {
    /// Every output file, as a `/`-separated path relative to the site root.
    pub files: BTreeSet<String>,
    /// Ids of each HTML page (by its path).
    pub ids: BTreeMap<String, BTreeSet<String>>,
}

impl SiteIndex {
    pub fn add_page(&mut self, path: &str, html: &str) {
        self.files.insert(path.to_string());
        self.ids.insert(path.to_string(), collect_ids(html));
    }

    pub fn add_file(&mut self, path: &str) {
        self.files.insert(path.to_string());
    }
}

/// Every `id="..."` in an HTML document (attribute values as written; ids are compared
/// after HTML-unescaping the common entities).
pub fn collect_ids(html: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(pos) = html[i..].find("id=") {
        let at = i + pos;
        i = at + 3;
        // The attribute name must be exactly `id` (not `data-id`, `grid=`).
        let prev = at.checked_sub(1).map(|p| bytes[p]);
        if !matches!(prev, Some(b' ' | b'\n' | b'\t' | b'\r')) {
            continue;
        }
        let Some(&quote) = bytes.get(i) else { break };
        if quote != b'"' && quote != b'\'' {
            continue;
        }
        if let Some(end) = html[i + 1..].find(quote as char) {
            ids.insert(unescape(&html[i + 1..i + 1 + end]));
            i = i + 1 + end;
        }
    }
    ids
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Checks the links of the page at `page` (site-relative path). Returns one error per
/// broken link, naming where it was written and what it points to.
pub fn check_links(page: &str, links: &[LinkRef], site: &SiteIndex) -> Vec<SourceError> {
    let mut errors = Vec::new();
    for link in links {
        if let Err(why) = resolve(page, &link.href, site) {
            errors.push(
                SourceError::new(
                    link.origin.file.clone(),
                    link.origin.line,
                    format!("broken link -> {}: {why}", link.href),
                )
                .help("fix the path (relative to this chapter) or the #fragment, or make it an absolute URL if it points outside the book"),
            );
        }
    }
    errors
}

/// Resolves `href` written on `page`; `Err` says why it is broken.
pub fn resolve(page: &str, href: &str, site: &SiteIndex) -> Result<(), String> {
    let (path_part, fragment) = match href.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (href, None),
    };
    let path_part = path_part.split('?').next().unwrap_or("");
    let target = if path_part.is_empty() {
        page.to_string()
    } else {
        let decoded = percent_decode(path_part);
        let joined = if let Some(abs) = decoded.strip_prefix('/') {
            abs.to_string()
        } else {
            match page.rfind('/') {
                Some(i) => format!("{}/{}", &page[..i], decoded),
                None => decoded,
            }
        };
        let Some(mut normal) = normalize(&joined) else {
            return Err("it leaves the site root".into());
        };
        if normal.is_empty() || joined.ends_with('/') {
            normal = if normal.is_empty() {
                "index.html".into()
            } else {
                format!("{normal}/index.html")
            };
        }
        if !site.files.contains(&normal) {
            if site.files.contains(&format!("{normal}/index.html")) {
                format!("{normal}/index.html")
            } else {
                return Err(format!("no page or file '{normal}' in the book"));
            }
        } else {
            normal
        }
    };
    if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
        let fragment = percent_decode(fragment);
        match site.ids.get(&target) {
            Some(ids) if ids.contains(&fragment) => {}
            Some(_) => return Err(format!("'{target}' has no element with id '{fragment}'")),
            // A fragment into a non-HTML file (e.g. a PDF page) cannot be checked.
            None => {}
        }
    }
    Ok(())
}

/// Collapses `.` and `..`; `None` when the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Decodes `%XX` escapes (links to files with spaces are written `a%20b.png`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteIndex {
        let mut s = SiteIndex::default();
        s.add_page("index.html", "<h1 id=\"top\">x</h1>");
        s.add_page(
            "part/a.html",
            "<h2 id=\"setup\">x</h2><a id='raw'></a><div data-id=\"no\"></div>",
        );
        s.add_page("part/sub/index.html", "<p id=\"p\"></p>");
        s.add_file("img/plot one.png");
        s
    }

    #[test]
    fn ids_are_collected_exactly() {
        let ids = collect_ids("<h2 id=\"a&amp;b\">x</h2><div data-id=\"no\" grid='x'></div>");
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["a&b"]);
    }

    #[test]
    fn resolves_relative_paths_and_fragments() {
        let s = site();
        assert!(resolve("part/a.html", "#setup", &s).is_ok());
        assert!(resolve("part/a.html", "#raw", &s).is_ok());
        assert!(resolve("part/a.html", "../index.html#top", &s).is_ok());
        assert!(resolve("part/a.html", "sub/", &s).is_ok());
        assert!(resolve("part/a.html", "sub", &s).is_ok());
        assert!(resolve("index.html", "img/plot%20one.png", &s).is_ok());
        assert!(resolve("index.html", "/part/a.html#setup", &s).is_ok());
    }

    #[test]
    fn reports_what_is_broken() {
        let s = site();
        assert!(
            resolve("part/a.html", "#nope", &s)
                .unwrap_err()
                .contains("no element with id 'nope'")
        );
        assert!(
            resolve("part/a.html", "b.html", &s)
                .unwrap_err()
                .contains("part/b.html")
        );
        assert!(
            resolve("index.html", "../../etc/passwd", &s)
                .unwrap_err()
                .contains("leaves")
        );
        assert!(resolve("part/a.html", "#data-id", &s).is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
