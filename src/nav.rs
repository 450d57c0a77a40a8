//! Navigation: output paths of chapters, the sidebar tree, previous/next links.
//!
//! Everything here is derived from SUMMARY.md alone, so it is computed once per build; only
//! the per-page parts (which entry is active, links relative to the page) are made per page.

use std::path::Path;

use crate::summary::{Summary, SummaryItem};
use crate::template::{NavLink, SidebarItem};

/// A relative path as the site writes it: components joined with `/` whatever the OS uses.
pub fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The output path of a chapter source (relative to the src dir), `/`-separated:
/// `a/b.md` -> `a/b.html`, `README.md` and `a/README.md` -> `index.html`, `a/index.html`.
pub fn output_path(source: &Path) -> String {
    let s = slash_path(source);
    let stem = s.strip_suffix(".md").unwrap_or(&s);
    let (dir, file) = match stem.rfind('/') {
        Some(i) => (&stem[..=i], &stem[i + 1..]),
        None => ("", stem),
    };
    if file.eq_ignore_ascii_case("readme") {
        format!("{dir}index.html")
    } else {
        format!("{dir}{file}.html")
    }
}

/// `../` repeated once per directory level of `page`.
pub fn path_to_root(page: &str) -> String {
    "../".repeat(page.matches('/').count())
}

/// The sidebar as root-relative hrefs; [`for_page`] makes it relative to one page.
#[derive(Debug, Clone)]
pub struct Sidebar {
    items: Vec<SidebarItem>,
}

impl Sidebar {
    pub fn from_summary(summary: &Summary) -> Sidebar {
        let mut items = Vec::new();
        for item in summary
            .prefix
            .iter()
            .chain(&summary.numbered)
            .chain(&summary.suffix)
        {
            items.push(convert(item));
        }
        Sidebar { items }
    }

    /// The sidebar for the page at `page` (site-relative path): hrefs made relative, the
    /// page marked active and its ancestors expanded.
    pub fn for_page(&self, page: Option<&str>) -> Vec<SidebarItem> {
        let prefix = page.map(path_to_root).unwrap_or_default();
        self.items
            .iter()
            .map(|i| localize(i, page, &prefix).0)
            .collect()
    }
}

fn convert(item: &SummaryItem) -> SidebarItem {
    match item {
        SummaryItem::Separator => SidebarItem::Separator,
        SummaryItem::PartTitle(title) => SidebarItem::Part {
            title: title.clone(),
        },
        SummaryItem::Link(link) => SidebarItem::Chapter {
            number: link.number.as_ref().map(|n| n.to_string()),
            title: link.name.clone(),
            href: link.location.as_deref().map(output_path),
            active: false,
            expanded: false,
            children: link.nested.iter().map(convert).collect(),
        },
    }
}

/// Returns the localized item and whether it contains the active page.
fn localize(item: &SidebarItem, page: Option<&str>, prefix: &str) -> (SidebarItem, bool) {
    match item {
        SidebarItem::Chapter {
            number,
            title,
            href,
            children,
            ..
        } => {
            let active = page.is_some() && href.as_deref() == page;
            let mut contains = active;
            let children = children
                .iter()
                .map(|c| {
                    let (c, has) = localize(c, page, prefix);
                    contains |= has;
                    c
                })
                .collect();
            (
                SidebarItem::Chapter {
                    number: number.clone(),
                    title: title.clone(),
                    href: href.as_ref().map(|h| format!("{prefix}{h}")),
                    active,
                    expanded: contains,
                    children,
                },
                contains,
            )
        }
        other => (other.clone(), false),
    }
}

/// Previous and next page for each page in reading order (drafts have no page and are
/// skipped), with hrefs relative to the page.
pub fn prev_next(pages: &[(String, String)], index: usize) -> (Option<NavLink>, Option<NavLink>) {
    let here = &pages[index].0;
    let prefix = path_to_root(here);
    let link = |i: usize| NavLink {
        title: pages[i].1.clone(),
        href: format!("{prefix}{}", pages[i].0),
    };
    let prev = index.checked_sub(1).map(link);
    let next = (index + 1 < pages.len()).then(|| link(index + 1));
    (prev, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_paths() {
        assert_eq!(output_path(Path::new("intro.md")), "intro.html");
        assert_eq!(output_path(Path::new("README.md")), "index.html");
        assert_eq!(output_path(Path::new("part/readme.md")), "part/index.html");
        assert_eq!(output_path(Path::new("part/x.y.md")), "part/x.y.html");
    }

    #[test]
    fn path_to_root_counts_levels() {
        assert_eq!(path_to_root("index.html"), "");
        assert_eq!(path_to_root("a/b/c.html"), "../../");
    }

    #[test]
    fn prev_next_skip_edges() {
        let pages = vec![
            ("index.html".to_string(), "Intro".to_string()),
            ("a/b.html".to_string(), "B".to_string()),
            ("c.html".to_string(), "C".to_string()),
        ];
        let (p, n) = prev_next(&pages, 1);
        assert_eq!(p.unwrap().href, "../index.html");
        assert_eq!(n.unwrap().href, "../c.html");
        let (p, n) = prev_next(&pages, 0);
        assert!(p.is_none());
        assert_eq!(n.unwrap().href, "a/b.html");
    }
}
