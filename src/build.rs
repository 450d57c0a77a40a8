//! The build: runs the pipeline stages in order and passes their values along.
//!
//! load -> expand includes -> directives -> render -> template -> check links -> write.
//! Each stage is a function of its inputs; this module only wires them together and collects
//! every chapter's errors so one run reports all of them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use crate::book::{ChapterSource, LoadedBook};
use crate::diag::{SourceError, SourceErrors, display_path};
use crate::directive::Substituted;
use crate::directive::{self, Fragment, Located};
use crate::fingerprint;
use crate::fragments::MeasuredFragments;
use crate::harness::Plan;
use crate::highlight::Highlighter;
use crate::include;
use crate::include::Expanded;
use crate::links::{self, SiteIndex};
use crate::measure::MeasureOptions;
use crate::nav::{self, Sidebar};
use crate::output::{self, SiteFiles};
use crate::render::{self, RenderInput, RenderedChapter, escape_html};
use crate::run::{RunMode, Runner};
use crate::template::{
    Assets, BookInfo, PageContext, PrintChapter, PrintContext, Templates, TocEntry,
};

/// The static assets compiled into the binary, written to every site. A book's own
/// `static/` folder adds files and may replace these.
const BUILTIN_STATIC: &[(&str, &[u8])] = &[
    ("css/site.css", include_bytes!("../static/css/site.css")),
    ("js/site.js", include_bytes!("../static/js/site.js")),
    ("js/search.js", include_bytes!("../static/js/search.js")),
    ("favicon.svg", include_bytes!("../static/favicon.svg")),
];

/// How the build was asked to run.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Overrides `[build] build-dir`.
    pub dest_dir: Option<PathBuf>,
    /// `--quick`: short measurement budget (labelled on the page).
    pub quick: bool,
    /// `--frozen`: never measure; missing or stale measurements are errors.
    pub frozen: bool,
    /// `--remeasure[=FILTER]`: measure these again even if fresh.
    pub remeasure: Vec<String>,
    /// `--require-python`: fail when the Python rungs cannot be measured.
    pub require_python: bool,
    /// `perfguide serve`: never measure; render stale records with a "stale" badge and
    /// missing ones as "not measured yet" (serve::StaleFragments), so an edit never waits
    /// for a measurement.
    pub stale_ok: bool,
    /// The Python side (interpreter and rungs), found once and reused by later builds of the
    /// same process: finding it imports the rungs' packages, which takes seconds, and serve
    /// rebuilds on every edit.
    pub python_cache: Option<std::sync::Arc<std::sync::OnceLock<crate::plan::PythonSide>>>,
    /// Chapters rendered by earlier builds of the same process (serve), so that an edit
    /// re-renders only the chapters it changed.
    pub render_cache: Option<std::sync::Arc<RenderCache>>,
}

/// Rendered chapters by a hash of everything rendering reads (the Markdown with its line
/// origins, the directive fragments, the section number). Syntax highlighting is most of a
/// build's time, and `perfguide serve` rebuilds on every save: with this cache it renders
/// only the chapters an edit touched. Entries not used by a build are dropped after it.
#[derive(Debug, Default)]
pub struct RenderCache {
    /// (used by the current build, left from the previous one)
    chapters: std::sync::Mutex<(ChapterMap, ChapterMap)>,
}

type ChapterMap = std::collections::HashMap<[u8; 32], RenderedChapter>;

impl RenderCache {
    fn get(&self, key: &[u8; 32]) -> Option<RenderedChapter> {
        let mut maps = self.chapters.lock().unwrap_or_else(|p| p.into_inner());
        let (current, previous) = &mut *maps;
        if let Some(hit) = previous.remove(key) {
            current.insert(*key, hit);
        }
        current.get(key).cloned()
    }

    fn put(&self, key: [u8; 32], chapter: RenderedChapter) {
        let mut maps = self.chapters.lock().unwrap_or_else(|p| p.into_inner());
        maps.0.insert(key, chapter);
    }

    /// Ends a build: what it did not use is forgotten at the end of the next one.
    fn finish_build(&self) {
        let mut maps = self.chapters.lock().unwrap_or_else(|p| p.into_inner());
        maps.1 = std::mem::take(&mut maps.0);
    }

    /// The key of one chapter's render inputs.
    fn key(prepared: &Prepared<'_>, number: Option<&str>, fragments: &[Fragment]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        for part in [
            prepared.rel.to_string_lossy().as_bytes(),
            prepared.substituted.markdown.as_bytes(),
            format!("{:?}", prepared.expanded.origins).as_bytes(),
            number.unwrap_or("-").as_bytes(),
        ] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        for f in fragments {
            for part in [f.html.as_bytes(), f.text.as_bytes()] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        *h.finalize().as_bytes()
    }
}

/// What a build did, for the terminal.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub dest: PathBuf,
    pub pages: usize,
    pub files: usize,
    pub notes: Vec<String>,
    /// The output was already up to date; nothing was rendered or written.
    pub up_to_date: bool,
}

/// Turns chapter content into rendered HTML and the site's other parts, without writing.
pub struct Site {
    pub files: SiteFiles,
    pub pages: usize,
    pub notes: Vec<String>,
    /// Every file included by a chapter (for the build stamp and the file watcher).
    pub dependencies: BTreeSet<PathBuf>,
}

/// A directive renderer: the measurement engine plugs in here. Without one, any perfguide
/// directive is an error that says what is missing.
pub trait DirectiveRenderer {
    fn render(&mut self, directive: &Located) -> Result<Fragment, SourceError>;
    /// Called before each page, for per-page state (e.g. which provenance anchors exist).
    fn start_page(&mut self) {}
    /// Called before each page with its site-relative output path (`part/chapter.html`), so
    /// that fragments can link files they add to the site relative to the page.
    fn set_page_path(&mut self, _path: &str) {}
    /// Files the directives added to the site (flame graphs, images), by site-relative path;
    /// taken once, after every page was rendered.
    fn take_files(&mut self) -> std::collections::BTreeMap<String, Vec<u8>> {
        std::collections::BTreeMap::new()
    }
}

/// The renderer used before measurements exist: rejects every directive clearly.
pub struct NoMeasurements;

impl DirectiveRenderer for NoMeasurements {
    fn render(&mut self, d: &Located) -> Result<Fragment, SourceError> {
        Err(d
            .error(format!("{} needs the measurement engine", d.directive))
            .help("this build of perfguide cannot run measurements; remove the directive or escape it as \\{{#...}}"))
    }
}

/// Builds the book at `root` and writes it atomically.
pub fn build(root: &Path, options: &BuildOptions) -> Result<BuildReport> {
    let book = crate::book::load(root)?;
    let dest = match &options.dest_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir()
            .context("reading the current directory")?
            .join(d),
        None => book.config.build_dir(&book.root),
    };
    book.check_dest_dir(&dest)?;
    let inputs = fingerprint_inputs(&book, options);
    if options.remeasure.is_empty()
        && let Some(stamp) = fingerprint::read_stamp(&dest)
        && fingerprint::compute(&inputs, &stamp.dependencies) == stamp.fingerprint
    {
        return Ok(BuildReport {
            dest,
            pages: 0,
            files: 0,
            notes: book.notes.clone(),
            up_to_date: true,
        });
    }
    let prepared = prepare(&book)?;
    let measured = crate::plan::measured(&book, &prepared, options)?;
    let mut renderer = renderer(&book, &measured, options);
    let mut site = if options.stale_ok {
        let mut marking = crate::serve::StaleFragments::new(&mut renderer, &measured);
        render_site_with(
            &book,
            &prepared,
            &mut marking,
            options.render_cache.as_deref(),
        )?
    } else {
        render_site_with(
            &book,
            &prepared,
            &mut renderer,
            options.render_cache.as_deref(),
        )?
    };
    // The programs {{#run}} ran (and the modules they import) are inputs of the pages.
    if let Some(runner) = &renderer.runner {
        site.dependencies
            .extend(runner.dependencies().iter().cloned());
    }
    let stamp = fingerprint::Stamp {
        fingerprint: fingerprint::compute(&inputs, &site.dependencies),
        dependencies: site.dependencies.clone(),
    };
    site.files.insert(
        fingerprint::STAMP,
        serde_json::to_string_pretty(&stamp).context("serializing the build stamp")?,
    );
    output::write_site(&site.files, &dest)?;
    Ok(BuildReport {
        dest,
        pages: site.pages,
        files: site.files.files.len(),
        notes: site.notes,
        up_to_date: false,
    })
}

/// Everything a build reads besides included files (see fingerprint.rs).
fn fingerprint_inputs<'b>(book: &'b LoadedBook, options: &BuildOptions) -> fingerprint::Inputs<'b> {
    fingerprint::Inputs {
        root: &book.root,
        dirs: vec![
            book.src_dir.clone(),
            book.root.join("templates"),
            book.root.join("static"),
            book.config.measure_store(&book.root),
        ],
        files: vec![book.root.join("book.toml")],
        extra: format!(
            "{} quick={} frozen={} stale-ok={}",
            crate::machine::Machine::current().fingerprint(),
            options.quick,
            options.frozen,
            options.stale_ok
        ),
    }
}

/// The directive renderer over this build's measurements.
/// `{{#run}}` never runs a program under `--frozen` (nor in `check`): it uses the run cache.
fn renderer<'m>(
    book: &LoadedBook,
    measured: &'m crate::plan::Measured,
    options: &BuildOptions,
) -> MeasuredFragments<'m> {
    let mut r = MeasuredFragments::new(&measured.store, cores());
    r.py = measured.python.rungs.clone();
    r.py_unavailable = measured.python.unavailable.clone();
    // Serve (stale_ok) never runs programs either: like measurements, runs wait for a build.
    let mode = if options.frozen || options.stale_ok {
        RunMode::CacheOnly
    } else {
        RunMode::Run
    };
    r.runner = Some(Runner::new(&book.root, &book.config, mode));
    r
}

/// Logical cores: the default thread count of threaded variants.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The measurement settings of this build, from book.toml and the command line.
pub fn measure_options(book: &LoadedBook, options: &BuildOptions) -> MeasureOptions {
    let m = &book.config.measure;
    let mut plan = if options.quick {
        Plan::quick(m.quick_budget_seconds)
    } else {
        Plan::standard(m.budget_seconds)
    };
    if !options.quick {
        plan.min_samples = m.min_samples as usize;
        plan.max_samples = m.max_samples as usize;
        plan.target_ci_rel = m.target_ci_percent / 100.0;
        plan.min_sample_s = m.min_sample_ms / 1000.0;
    }
    MeasureOptions {
        plan,
        quick: options.quick,
        remeasure: options.remeasure.clone(),
        frozen: options.frozen,
        timeout: std::time::Duration::from_secs(m.timeout_seconds),
        retries: if options.quick { 0 } else { m.retries },
        processes: if options.quick { 1 } else { m.processes },
        retry_pause: crate::measure::RETRY_PAUSE,
        speed_reference: Some(
            book.config
                .measure_store(&book.root)
                .join(crate::speed::REFERENCE_FILE),
        ),
    }
}

/// Runs every check of a build and writes nothing.
pub fn check(root: &Path) -> Result<BuildReport> {
    // `check` writes nothing, not even the chapter files create-missing would add.
    let book = crate::book::load_with(
        root,
        &crate::book::LoadOptions {
            write_missing: false,
        },
    )?;
    let dest = book.config.build_dir(&book.root);
    let prepared = prepare(&book)?;
    // Claims are checked against the stored measurements; nothing is measured (frozen).
    let frozen = BuildOptions {
        frozen: true,
        ..BuildOptions::default()
    };
    let measured = crate::plan::measured(&book, &prepared, &frozen)?;
    // `check` runs no program either: {{#run}} output comes from the run cache.
    let mut renderer = renderer(&book, &measured, &frozen);
    let site = render_site(&book, &prepared, &mut renderer)?;
    Ok(BuildReport {
        dest,
        pages: site.pages,
        files: site.files.files.len(),
        notes: site.notes,
        up_to_date: false,
    })
}

/// One chapter after rendering, before templating.
struct Page {
    /// Site-relative output path.
    path: String,
    title: String,
    number: Option<String>,
    source: PathBuf,
    rendered: RenderedChapter,
    dependencies: BTreeSet<PathBuf>,
}

/// A chapter after include expansion and directive parsing: what the plan stage reads.
pub struct Prepared<'b> {
    pub(crate) chapter: &'b ChapterSource,
    rel: PathBuf,
    abs: PathBuf,
    pub(crate) expanded: Expanded,
    pub(crate) substituted: Substituted,
}

/// Moves a positioned error (one or several) into `errors`; other errors are returned.
fn collect_positioned(e: anyhow::Error, errors: &mut Vec<SourceError>) -> Result<()> {
    match e.downcast::<SourceErrors>() {
        Ok(list) => {
            errors.extend(list.0);
            Ok(())
        }
        Err(e) => match e.downcast::<SourceError>() {
            Ok(one) => {
                errors.push(one);
                Ok(())
            }
            Err(other) => Err(other),
        },
    }
}

/// Expands includes and parses directives of every chapter, collecting all errors.
pub fn prepare(book: &LoadedBook) -> Result<Vec<Prepared<'_>>> {
    let mut errors = Vec::new();
    let mut prepared = Vec::new();
    for chapter in &book.chapters {
        let Some(rel) = &chapter.path else {
            continue; // a draft: listed in the sidebar, no page
        };
        let abs = book.src_dir.join(rel);
        let result = include::expand(&chapter.content, &abs, &book.root)
            .map_err(anyhow::Error::from)
            .and_then(|expanded| {
                let substituted = directive::substitute(&expanded.text, &expanded.origins)?;
                Ok((expanded, substituted))
            });
        match result {
            Ok((expanded, substituted)) => prepared.push(Prepared {
                chapter,
                rel: rel.clone(),
                abs,
                expanded,
                substituted,
            }),
            Err(e) => collect_positioned(e, &mut errors)?,
        }
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(SourceErrors(errors).into())
    }
}

/// The whole pipeline short of writing: every page and asset of the site, checked.
pub fn render_site(
    book: &LoadedBook,
    prepared: &[Prepared<'_>],
    directives: &mut dyn DirectiveRenderer,
) -> Result<Site> {
    render_site_with(book, prepared, directives, None)
}

/// [`render_site`], reusing and filling a cache of rendered chapters.
pub fn render_site_with(
    book: &LoadedBook,
    prepared: &[Prepared<'_>],
    directives: &mut dyn DirectiveRenderer,
    cache: Option<&RenderCache>,
) -> Result<Site> {
    let site = render_site_inner(book, prepared, directives, cache);
    if let Some(c) = cache {
        c.finish_build();
    }
    site
}

fn render_site_inner(
    book: &LoadedBook,
    prepared: &[Prepared<'_>],
    directives: &mut dyn DirectiveRenderer,
    cache: Option<&RenderCache>,
) -> Result<Site> {
    let highlighter = Highlighter::new();
    let mut errors: Vec<SourceError> = Vec::new();
    let mut pages: Vec<Page> = Vec::new();
    for p in prepared {
        directives.start_page();
        directives.set_page_path(&nav::output_path(&p.rel));
        match render_chapter(book, p, &highlighter, directives, cache) {
            Ok(page) => pages.push(page),
            Err(e) => collect_positioned(e, &mut errors)?,
        }
    }
    if !errors.is_empty() {
        return Err(SourceErrors(errors).into());
    }

    let info = book_info(book);
    let templates = Templates::load(Some(&book.root.join("templates")))?;
    let sidebar = Sidebar::from_summary(&book.summary);
    let mut files = SiteFiles::default();
    let mut assets_root = collect_assets(book, &highlighter, &mut files)?;
    if let Some(index) = search_index(book, &pages) {
        // search.js finds the index's version in its own URL (`&index=`), so every page
        // loads the index that matches it while unchanged indexes stay cached.
        let script = files.files.get("js/search.js").map_or(&[][..], |b| &b[..]);
        let js = busted("js/search.js", script);
        assets_root
            .js
            .insert(1, format!("{js}&index={}", index.hash));
        files.insert(crate::search::INDEX_FILE, index.js);
    }
    for (path, bytes) in directives.take_files() {
        files.insert(path, bytes);
    }

    let order: Vec<(String, String)> = pages
        .iter()
        .map(|p| (p.path.clone(), p.title.clone()))
        .collect();
    let mut site_index = SiteIndex::default();
    for f in files.files.keys() {
        site_index.add_file(f);
    }
    for (i, page) in pages.iter().enumerate() {
        let (previous, next) = nav::prev_next(&order, i);
        let html = render_page(
            book,
            &info,
            &templates,
            &sidebar,
            &assets_root,
            page,
            previous,
            next,
        )?;
        site_index.add_page(&page.path, &html);
        files.insert(page.path.clone(), html);
    }
    // mdBook makes the first chapter the index page when no README.md exists.
    if !files.contains("index.html")
        && let Some(first) = pages.first()
    {
        let html = if first.path.contains('/') {
            redirect_page(&first.path)
        } else {
            String::from_utf8_lossy(&files.files[&first.path]).into_owned()
        };
        site_index.add_page("index.html", &html);
        files.insert("index.html", html);
    }

    for page in &pages {
        errors.extend(links::check_links(
            &page.path,
            &page.rendered.links,
            &site_index,
        ));
    }
    if !errors.is_empty() {
        return Err(SourceErrors(errors).into());
    }

    let print = render_print(&info, &templates, &sidebar, &assets_root, &pages)?;
    files.insert("print.html", print);
    files.insert(
        "404.html",
        render_404(book, &info, &templates, &sidebar, &assets_root)?,
    );
    files.insert(".nojekyll", "");
    if let Some(sitemap) = sitemap(book, &pages) {
        files.insert("sitemap.xml", sitemap);
    }
    Ok(Site {
        pages: pages.len(),
        files,
        notes: book.notes.clone(),
        dependencies: pages
            .iter()
            .flat_map(|p| p.dependencies.iter().cloned())
            .collect(),
    })
}

/// The search stage: the index of every chapter's sections, when `[search] enable` is on.
fn search_index(book: &LoadedBook, pages: &[Page]) -> Option<crate::search::SearchIndex> {
    let config = &book.config.search;
    if !config.enable {
        return None;
    }
    let docs: Vec<crate::search::Document<'_>> = pages
        .iter()
        .map(|p| crate::search::Document {
            path: &p.path,
            title: &p.title,
            number: p.number.as_deref(),
            html: &p.rendered.html,
        })
        .collect();
    Some(crate::search::build_index(&docs, config))
}

fn render_chapter(
    book: &LoadedBook,
    prepared: &Prepared<'_>,
    highlighter: &Highlighter,
    directives: &mut dyn DirectiveRenderer,
    cache: Option<&RenderCache>,
) -> Result<Page> {
    let Prepared {
        chapter,
        rel,
        abs,
        expanded,
        substituted,
    } = prepared;
    let mut fragments = Vec::with_capacity(substituted.directives.len());
    let mut errors = Vec::new();
    for d in &substituted.directives {
        match directives.render(d) {
            Ok(f) => fragments.push(f),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(SourceErrors(errors).into());
    }
    let number = chapter.number.as_ref().map(|n| n.to_string());
    let key = cache.map(|_| RenderCache::key(prepared, number.as_deref(), &fragments));
    let cached = cache.zip(key.as_ref()).and_then(|(c, k)| c.get(k));
    let rendered = match cached {
        Some(r) => r,
        None => {
            let r = render::render_markdown(
                &RenderInput {
                    markdown: &substituted.markdown,
                    origins: &expanded.origins,
                    section_number: number.as_deref(),
                    fragments: &fragments,
                },
                highlighter,
            )?;
            if let Some((c, k)) = cache.zip(key) {
                c.put(k, r.clone());
            }
            r
        }
    };
    let html = directive::splice(&rendered.html, &fragments);
    let title = expanded
        .title
        .clone()
        .unwrap_or_else(|| chapter.title.clone());
    Ok(Page {
        path: nav::output_path(rel),
        title,
        number,
        source: display_path(abs, &book.root),
        rendered: RenderedChapter { html, ..rendered },
        dependencies: expanded.dependencies.clone(),
    })
}

fn book_info(book: &LoadedBook) -> BookInfo {
    let c = &book.config;
    BookInfo {
        title: c.book.title.clone().unwrap_or_default(),
        description: c.book.description.clone(),
        authors: c.book.authors.clone(),
        language: c.book.language.clone(),
        default_theme: c
            .output
            .html
            .default_theme
            .clone()
            .unwrap_or_else(|| "light".into()),
        preferred_dark_theme: c
            .output
            .html
            .preferred_dark_theme
            .clone()
            .unwrap_or_else(|| "dark".into()),
        git_repository_url: c.output.html.git_repository_url.clone(),
    }
}

/// Root-relative asset hrefs with a content hash as cache buster, so a changed stylesheet is
/// never served stale from a browser cache while unchanged ones stay cached.
struct AssetRoot {
    css: Vec<String>,
    js: Vec<String>,
}

impl AssetRoot {
    fn for_page(&self, prefix: &str) -> Assets {
        Assets {
            css: self.css.iter().map(|h| format!("{prefix}{h}")).collect(),
            js: self.js.iter().map(|h| format!("{prefix}{h}")).collect(),
        }
    }
}

fn busted(path: &str, bytes: &[u8]) -> String {
    let hash = blake3::hash(bytes).to_hex();
    format!("{path}?v={}", &hash.as_str()[..10])
}

/// Copies built-in and book static files and the src dir's non-Markdown files (as mdBook
/// does), and returns the cache-busted asset list.
fn collect_assets(
    book: &LoadedBook,
    highlighter: &Highlighter,
    files: &mut SiteFiles,
) -> Result<AssetRoot> {
    for (path, bytes) in BUILTIN_STATIC {
        files.insert(*path, bytes.to_vec());
    }
    files.insert("css/highlight.css", highlighter_css(highlighter));
    copy_tree(&book.root.join("static"), "", files, |_| true)?;
    let src = book.src_dir.clone();
    copy_tree(&src, "", files, |p| p.extension().is_none_or(|e| e != "md"))?;

    let mut css = Vec::new();
    for p in ["css/site.css", "css/highlight.css"] {
        css.push(busted(p, &files.files[p]));
    }
    let mut js = vec![busted("js/site.js", &files.files["js/site.js"])];
    let html = &book.config.output.html;
    for (list, extra) in [
        (&mut css, &html.additional_css),
        (&mut js, &html.additional_js),
    ] {
        for rel in extra {
            let path = book.root.join(rel);
            let bytes = fs::read(&path).with_context(|| {
                format!(
                    "reading {} listed in book.toml [output.html]",
                    path.display()
                )
            })?;
            let site_path = nav::slash_path(rel);
            list.push(busted(&site_path, &bytes));
            files.insert(site_path, bytes);
        }
    }
    Ok(AssetRoot { css, js })
}

fn highlighter_css(_h: &Highlighter) -> String {
    Highlighter::stylesheet()
}

/// Copies the files below `dir` (sorted, so the result is deterministic) whose path passes
/// `keep`, skipping hidden files and the output of a previous build.
fn copy_tree(
    dir: &Path,
    prefix: &str,
    files: &mut SiteFiles,
    keep: impl Fn(&Path) -> bool,
) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
    {
        let entry = entry.with_context(|| format!("walking {}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        if !keep(rel) {
            continue;
        }
        let bytes = fs::read(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        let site_path = format!("{prefix}{}", nav::slash_path(rel));
        files.insert(site_path, bytes);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn render_page(
    book: &LoadedBook,
    info: &BookInfo,
    templates: &Templates,
    sidebar: &Sidebar,
    assets: &AssetRoot,
    page: &Page,
    previous: Option<crate::template::NavLink>,
    next: Option<crate::template::NavLink>,
) -> Result<String> {
    let prefix = nav::path_to_root(&page.path);
    let html_cfg = &book.config.output.html;
    let edit_url = html_cfg
        .edit_url_template
        .as_ref()
        .map(|t| t.replace("{path}", &nav::slash_path(&page.source)));
    let canonical_url = html_cfg
        .site_url
        .as_ref()
        .map(|u| format!("{}/{}", u.trim_end_matches('/'), page.path));
    let title = if info.title.is_empty() || info.title == page.title {
        page.title.clone()
    } else {
        format!("{} — {}", page.title, info.title)
    };
    let ctx = PageContext {
        book: info,
        sidebar: &sidebar.for_page(Some(&page.path)),
        assets: &assets.for_page(&prefix),
        path_to_root: prefix,
        title,
        chapter_title: page.title.clone(),
        section_number: page.number.clone(),
        content: page.rendered.html.clone(),
        toc: page.rendered.toc.clone(),
        previous,
        next,
        edit_url,
        canonical_url,
    };
    templates
        .render("chapter.html", &ctx)
        .with_context(|| format!("rendering the page of {}", page.source.display()))
}

fn render_404(
    book: &LoadedBook,
    info: &BookInfo,
    templates: &Templates,
    sidebar: &Sidebar,
    assets: &AssetRoot,
) -> Result<String> {
    // The 404 page is served for any missing path, at any depth, so its links are absolute
    // from the site root when `site-url` is known, and root-relative otherwise.
    let prefix = book
        .config
        .output
        .html
        .site_url
        .as_ref()
        .map(|u| format!("{}/", u.trim_end_matches('/')))
        .unwrap_or_else(|| "/".into());
    let ctx = PageContext {
        book: info,
        sidebar: &sidebar
            .for_page(None)
            .iter()
            .map(|i| absolutize(i, &prefix))
            .collect::<Vec<_>>(),
        assets: &assets.for_page(&prefix),
        path_to_root: prefix.clone(),
        title: format!("Page not found — {}", info.title),
        chapter_title: "Page not found".into(),
        section_number: None,
        content: format!(
            "<h1 id=\"page-not-found\">Page not found</h1>\n<p>This page does not exist (any more). Try the <a href=\"{}index.html\">first page</a> or the search.</p>\n",
            escape_html(&prefix)
        ),
        toc: Vec::<TocEntry>::new(),
        previous: None,
        next: None,
        edit_url: None,
        canonical_url: None,
    };
    templates.render("404.html", &ctx)
}

fn absolutize(item: &crate::template::SidebarItem, prefix: &str) -> crate::template::SidebarItem {
    use crate::template::SidebarItem;
    match item {
        SidebarItem::Chapter {
            number,
            title,
            href,
            active,
            expanded,
            children,
        } => SidebarItem::Chapter {
            number: number.clone(),
            title: title.clone(),
            href: href.as_ref().map(|h| format!("{prefix}{h}")),
            active: *active,
            expanded: *expanded,
            children: children.iter().map(|c| absolutize(c, prefix)).collect(),
        },
        other => other.clone(),
    }
}

/// `print.html`: every chapter on one page. Ids are prefixed per chapter so they stay unique,
/// and links between chapters become links to the chapters' sections on this page.
fn render_print(
    info: &BookInfo,
    templates: &Templates,
    sidebar: &Sidebar,
    assets: &AssetRoot,
    pages: &[Page],
) -> Result<String> {
    let slugs: std::collections::BTreeMap<&str, String> = pages
        .iter()
        .map(|p| (p.path.as_str(), print_slug(&p.path)))
        .collect();
    let chapters = pages
        .iter()
        .map(|p| PrintChapter {
            id: slugs[p.path.as_str()].clone(),
            content: print_rewrite(&p.rendered.html, &p.path, &slugs),
        })
        .collect();
    let ctx = PrintContext {
        book: info,
        sidebar: &sidebar.for_page(None),
        assets: &assets.for_page(""),
        path_to_root: String::new(),
        title: info.title.clone(),
        chapters,
    };
    templates.render("print.html", &ctx)
}

fn print_slug(path: &str) -> String {
    let stem = path.strip_suffix(".html").unwrap_or(path);
    format!("ch-{}", stem.replace(['/', '.'], "-"))
}

/// Attributes print.html rewrites: ids and the attributes that refer to ids are prefixed with
/// the chapter's slug (ids must stay unique on one page); links and resource paths are made
/// relative to the site root, where print.html lives.
const PRINT_ATTRS: &[&str] = &[
    " id=\"",
    " href=\"",
    " src=\"",
    " data=\"",
    " aria-labelledby=\"",
    " aria-describedby=\"",
];

/// Rewrites ids, id references, internal links and resource paths of one chapter for
/// print.html.
fn print_rewrite(
    html: &str,
    page: &str,
    slugs: &std::collections::BTreeMap<&str, String>,
) -> String {
    let own = &slugs[page];
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some((pos, attr)) = PRINT_ATTRS
        .iter()
        .filter_map(|a| rest.find(a).map(|p| (p, *a)))
        .min_by_key(|(p, _)| *p)
    {
        out.push_str(&rest[..pos + attr.len()]);
        rest = &rest[pos + attr.len()..];
        let Some(end) = rest.find('"') else { break };
        let value = &rest[..end];
        match attr {
            " id=\"" => out.push_str(&format!("{own}-{value}")),
            " aria-labelledby=\"" | " aria-describedby=\"" => {
                let ids: Vec<String> = value
                    .split_whitespace()
                    .map(|id| format!("{own}-{id}"))
                    .collect();
                out.push_str(&ids.join(" "));
            }
            " href=\"" => {
                if let Some(frag) = value.strip_prefix('#') {
                    out.push_str(&format!("#{own}-{frag}"));
                } else if render::is_internal(value) {
                    let (path, frag) = value.split_once('#').unwrap_or((value, ""));
                    let target = resolve_rel(page, path);
                    match slugs.get(target.as_str()) {
                        Some(slug) if frag.is_empty() => out.push_str(&format!("#{slug}")),
                        Some(slug) => out.push_str(&format!("#{slug}-{frag}")),
                        None => out.push_str(&target),
                    }
                } else {
                    out.push_str(value);
                }
            }
            // src and data: a relative resource path, resolved from the chapter's folder.
            _ if render::is_internal(value) && !value.starts_with('#') => {
                out.push_str(&resolve_rel(page, value));
            }
            _ => out.push_str(value),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn resolve_rel(page: &str, href: &str) -> String {
    let joined = match page.rfind('/') {
        Some(i) => format!("{}/{}", &page[..i], href),
        None => href.to_string(),
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn redirect_page(target: &str) -> String {
    let t = escape_html(target);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url={t}\"><title>Redirecting</title></head><body><p><a href=\"{t}\">Continue to the first chapter</a></p></body></html>\n"
    )
}

/// `sitemap.xml` (sitemaps.org protocol 0.9) when `site-url` is set.
fn sitemap(book: &LoadedBook, pages: &[Page]) -> Option<String> {
    let base = book.config.output.html.site_url.as_ref()?;
    let base = base.trim_end_matches('/');
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut seen = BTreeSet::new();
    for p in pages {
        if seen.insert(&p.path) {
            xml.push_str(&format!(
                "  <url><loc>{}</loc></url>\n",
                escape_html(&format!("{base}/{}", p.path))
            ));
        }
    }
    xml.push_str("</urlset>\n");
    Some(xml)
}

/// The error to show for a failed build: every positioned error on its own line.
pub fn describe(err: &anyhow::Error) -> String {
    let mut s = format!("{err}");
    for cause in err.chain().skip(1) {
        s.push_str(&format!("\n  caused by: {cause}"));
    }
    s
}

#[cfg(test)]
mod print_tests {
    use super::*;

    #[test]
    fn print_rewrites_ids_references_links_and_resources() {
        let slugs: std::collections::BTreeMap<&str, String> = [
            ("examples/julia.html", "ch-examples-julia".to_string()),
            ("index.html", "ch-index".to_string()),
        ]
        .into_iter()
        .collect();
        let html = "<h2 id=\"x\">X</h2><svg aria-labelledby=\"t d\"></svg><a href=\"../index.html#top\">i</a><img src=\"../images/j.png\" alt=\"j\"><object data=\"../profiles/f.svg\"></object><a href=\"#x\">x</a><a href=\"https://e.org/a\">e</a>";
        let out = print_rewrite(html, "examples/julia.html", &slugs);
        assert!(out.contains("id=\"ch-examples-julia-x\""));
        assert!(out.contains("aria-labelledby=\"ch-examples-julia-t ch-examples-julia-d\""));
        assert!(out.contains("href=\"#ch-index-top\""));
        assert!(out.contains("src=\"images/j.png\""));
        assert!(out.contains("data=\"profiles/f.svg\""));
        assert!(out.contains("href=\"#ch-examples-julia-x\""));
        assert!(out.contains("href=\"https://e.org/a\""));
    }
}
