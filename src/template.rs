//! The template stage: typed contexts rendered with Tera 2.
//!
//! Templates see only the structs below (serialized), never ad-hoc maps, so a template that
//! names a missing field fails the build rather than printing nothing. The built-in templates
//! are compiled into the binary; a book may override any of them by putting a file of the same
//! name in its own `templates/` folder (mdBook's `theme/` convention).

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;

/// The built-in templates, by name. A book's `templates/NAME` replaces the entry of that name.
pub const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("chapter.html", include_str!("../templates/chapter.html")),
    ("print.html", include_str!("../templates/print.html")),
    ("404.html", include_str!("../templates/404.html")),
    ("sidebar.html", include_str!("../templates/sidebar.html")),
];

/// Facts about the book, the same on every page.
#[derive(Debug, Clone, Serialize)]
pub struct BookInfo {
    pub title: String,
    pub description: Option<String>,
    pub authors: Vec<String>,
    /// BCP 47 language tag for `<html lang>`.
    pub language: String,
    pub default_theme: String,
    pub preferred_dark_theme: String,
    pub git_repository_url: Option<String>,
}

/// A link to another page, relative to the current page.
#[derive(Debug, Clone, Serialize)]
pub struct NavLink {
    pub title: String,
    pub href: String,
}

/// One entry of the on-page table of contents (h2 and h3).
#[derive(Debug, Clone, Serialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    /// Plain text of the heading (escaped by the template).
    pub title: String,
}

/// One item of the sidebar, built from SUMMARY.md.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SidebarItem {
    /// `# Part title` in SUMMARY.md.
    Part { title: String },
    /// `---` in SUMMARY.md.
    Separator,
    Chapter {
        /// Section number such as "1.2." for numbered chapters.
        number: Option<String>,
        title: String,
        /// `None` for draft chapters, which are listed but not linked.
        href: Option<String>,
        /// This is the page being rendered.
        active: bool,
        /// This page is the active one or one of its ancestors (the branch is expanded).
        expanded: bool,
        children: Vec<SidebarItem>,
    },
}

/// Stylesheets and scripts, with cache-busting query strings, relative to the current page.
#[derive(Debug, Clone, Serialize)]
pub struct Assets {
    pub css: Vec<String>,
    pub js: Vec<String>,
}

/// What `chapter.html` (and `404.html`) see.
#[derive(Debug, Clone, Serialize)]
pub struct PageContext<'a> {
    pub book: &'a BookInfo,
    pub sidebar: &'a [SidebarItem],
    pub assets: &'a Assets,
    /// `../` repeated to reach the site root from this page ("" at the root).
    pub path_to_root: String,
    /// The document title: "Chapter — Book".
    pub title: String,
    /// The chapter's own title (escaped by the template).
    pub chapter_title: String,
    /// Section number such as "2.1." for numbered chapters.
    pub section_number: Option<String>,
    /// The rendered chapter body (trusted HTML produced by the render stage).
    pub content: String,
    pub toc: Vec<TocEntry>,
    pub previous: Option<NavLink>,
    pub next: Option<NavLink>,
    pub edit_url: Option<String>,
    /// Canonical URL when `site-url` is set.
    pub canonical_url: Option<String>,
}

/// One chapter of `print.html`.
#[derive(Debug, Clone, Serialize)]
pub struct PrintChapter {
    /// Anchor of the chapter inside print.html.
    pub id: String,
    pub content: String,
}

/// What `print.html` sees.
#[derive(Debug, Clone, Serialize)]
pub struct PrintContext<'a> {
    pub book: &'a BookInfo,
    pub sidebar: &'a [SidebarItem],
    pub assets: &'a Assets,
    pub path_to_root: String,
    pub title: String,
    pub chapters: Vec<PrintChapter>,
}

/// The loaded templates.
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// Loads the built-in templates, then the book's overrides from `book_templates` if that
    /// folder exists.
    pub fn load(book_templates: Option<&Path>) -> Result<Templates> {
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".html", ".xml"]);
        let mut sources: Vec<(String, String)> = BUILTIN_TEMPLATES
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        if let Some(dir) = book_templates.filter(|d| d.is_dir()) {
            for (name, source) in sources.iter_mut() {
                let path = dir.join(name.as_str());
                if path.is_file() {
                    *source = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading template {}", path.display()))?;
                }
            }
        }
        tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .map_err(|e| anyhow::anyhow!("{}", tera_error_chain(&e)))
            .context("loading the site templates")?;
        Ok(Templates { tera })
    }

    /// Renders template `name` with a typed context.
    pub fn render<T: Serialize>(&self, name: &str, context: &T) -> Result<String> {
        let ctx = tera::Context::from_serialize(context)
            .map_err(|e| anyhow::anyhow!("{}", tera_error_chain(&e)))
            .with_context(|| format!("preparing the context of template {name}"))?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!("{}", tera_error_chain(&e)))
            .with_context(|| format!("rendering template {name}"))
    }
}

/// Tera's errors nest their cause; show the whole chain on one message.
fn tera_error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
