//! `perfguide serve`: build, serve the output on localhost, watch the book, rebuild on change
//! and reload the open pages.
//!
//! - **Never measures.** Serve builds with [`BuildOptions::stale_ok`]: records are shown from
//!   the store as they are, a stale one with a "stale" badge, a missing one as "not measured
//!   yet" ([`StaleFragments`]). A prose edit must reach the browser in a few hundred
//!   milliseconds, and a measurement takes seconds; `perfguide build` measures.
//! - **Live reload by server-sent events.** HTML pages are served with a small script that
//!   listens on `/__perfguide/events` (injected at serve time, never written to disk). A
//!   successful rebuild sends `reload`; a failed one sends `failed` with the error, which the
//!   page shows in an overlay over the previous build, and the server keeps running.
//!   The event stream takes its connection over from [`crate::http`], writes its own head and
//!   flushes after each event.
//! - **Safe static serving.** Only regular files below the output root are served:
//!   [`resolve`] refuses `..`, backslashes, NUL, malformed percent-encoding (400), and
//!   hidden files and anything whose real path (symlinks resolved) leaves the root (404).
//!   The server binds to 127.0.0.1 unless told otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::Watcher;

use crate::build::{self, BuildOptions, DirectiveRenderer};
use crate::diag::SourceError;
use crate::directive::{Fragment, Located};
use crate::http;
use crate::plan::Measured;
use crate::render::escape_html;

/// Where the event stream is served.
pub const EVENTS_PATH: &str = "/__perfguide/events";

/// How the command line asked to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The book's root directory.
    pub dir: PathBuf,
    /// Output directory (default: the book's build-dir).
    pub dest_dir: Option<PathBuf>,
    /// Address to bind, e.g. "127.0.0.1" or "0.0.0.0".
    pub host: String,
    /// Port; 0 picks a free one (printed on start).
    pub port: u16,
    /// Open the site in the default browser once it is served.
    pub open: bool,
}

/// Builds, serves and rebuilds until the process is stopped.
pub fn serve(opts: &ServeOptions) -> Result<()> {
    let root = opts
        .dir
        .canonicalize()
        .with_context(|| format!("reading the book directory {}", opts.dir.display()))?;
    let book = crate::book::load(&root)?;
    let dest = match &opts.dest_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir()
            .context("reading the current directory")?
            .join(d),
        None => book.config.build_dir(&book.root),
    };
    book.check_dest_dir(&dest)?;
    let options = BuildOptions {
        dest_dir: Some(dest.clone()),
        stale_ok: true,
        python_cache: Some(Arc::default()),
        render_cache: Some(Arc::default()),
        ..BuildOptions::default()
    };
    let live = Arc::new(Live::default());
    // Watching starts before the first build, so no change is missed; changes made during
    // it wait in the queue.
    let mut watcher = Watch::start(&root, &dest)?;
    let started = Instant::now();
    match rebuild(&root, &options, &live) {
        Outcome::Failed(_) => eprintln!("error: the book did not build; serving the error"),
        _ => eprintln!("built {} in {:.2?}", dest.display(), started.elapsed()),
    }
    // The first build knows the included files.
    watcher.refresh(&root, &dest);
    let host = if opts.host.contains(':') && !opts.host.starts_with('[') {
        format!("[{}]", opts.host) // an IPv6 address
    } else {
        opts.host.clone()
    };
    let server = SiteServer::start(&dest, &format!("{host}:{}", opts.port), live.clone())?;
    let url = format!("http://{}/", server.addr());
    eprintln!(
        "serving {} at {url} (watching {}; Ctrl-C stops)",
        dest.display(),
        root.display()
    );
    if opts.open {
        open_browser(&url);
    }
    watch(watcher, &root, &dest, &options, &live)
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Built,
    Unchanged,
    Failed(String),
}

/// Builds once and tells the open pages. A panic inside the build (a bug) is reported like
/// an error so the server survives it.
pub fn rebuild(root: &Path, options: &BuildOptions, live: &Live) -> Outcome {
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build::build(root, options)));
    let outcome = match result {
        Ok(Ok(report)) if report.up_to_date => Outcome::Unchanged,
        Ok(Ok(_)) => Outcome::Built,
        Ok(Err(e)) => Outcome::Failed(build::describe(&e)),
        Err(panic) => Outcome::Failed(format!(
            "perfguide panicked while building: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    };
    match &outcome {
        Outcome::Built => live.built(),
        Outcome::Unchanged => live.unchanged(),
        Outcome::Failed(msg) => {
            eprintln!("error: {msg}");
            live.failed(msg);
        }
    }
    outcome
}

/// After the first change, wait until the files have been quiet this long (editors write a
/// file in several steps), but no longer than [`DEBOUNCE_MAX`] in all.
const DEBOUNCE_QUIET: Duration = Duration::from_millis(20);
const DEBOUNCE_MAX: Duration = Duration::from_millis(200);

/// The file watcher and what it watches.
struct Watch {
    rx: mpsc::Receiver<notify::Result<notify::Event>>,
    watcher: notify::RecommendedWatcher,
    watched: BTreeMap<PathBuf, bool>,
    inputs: Inputs,
}

impl Watch {
    fn start(root: &Path, dest: &Path) -> Result<Watch> {
        let (tx, rx) = mpsc::channel();
        let watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
        let mut w = Watch {
            rx,
            watcher,
            watched: BTreeMap::new(),
            inputs: Inputs::default(),
        };
        w.refresh(root, dest);
        Ok(w)
    }

    /// Book.toml or an include may have changed what is read.
    fn refresh(&mut self, root: &Path, dest: &Path) {
        self.inputs = Inputs::of(root, dest);
        self.inputs
            .update_watches(&mut self.watcher, &mut self.watched);
    }
}

/// Rebuilds on every change of the book's inputs; returns only on a watcher error.
fn watch(
    mut w: Watch,
    root: &Path,
    dest: &Path,
    options: &BuildOptions,
    live: &Live,
) -> Result<()> {
    loop {
        let Ok(first) = w.rx.recv() else {
            anyhow::bail!("the file watcher stopped");
        };
        if !event_is_relevant(&first, &w.inputs) {
            continue;
        }
        let start = Instant::now();
        let mut changed: BTreeSet<PathBuf> = paths_of(&first);
        while start.elapsed() < DEBOUNCE_MAX {
            match w.rx.recv_timeout(DEBOUNCE_QUIET) {
                Ok(ev) => {
                    if event_is_relevant(&ev, &w.inputs) {
                        changed.extend(paths_of(&ev));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the file watcher stopped")
                }
            }
        }
        let t = Instant::now();
        let outcome = rebuild(root, options, live);
        let names: Vec<String> = changed
            .iter()
            .filter(|p| w.inputs.is_input(p))
            .map(|p| crate::diag::display_path(p, root).display().to_string())
            .collect();
        match outcome {
            Outcome::Built => eprintln!("rebuilt in {:.0?} ({})", t.elapsed(), names.join(", ")),
            Outcome::Unchanged => {}
            Outcome::Failed(_) => eprintln!("(the previous build is still served)"),
        }
        w.refresh(root, dest);
    }
}

fn paths_of(ev: &notify::Result<notify::Event>) -> BTreeSet<PathBuf> {
    ev.as_ref()
        .map(|e| e.paths.iter().cloned().collect())
        .unwrap_or_default()
}

/// What the build reads, for the watcher.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    root: PathBuf,
    dest: PathBuf,
    /// Watched with everything below them.
    trees: BTreeSet<PathBuf>,
    /// Single files (book.toml, included files, additional CSS/JS).
    files: BTreeSet<PathBuf>,
}

impl Inputs {
    /// The book's inputs as far as they can be known now: from book.toml when it loads, and
    /// the included files of the last successful build (its stamp).
    pub fn of(root: &Path, dest: &Path) -> Inputs {
        let mut inputs = Inputs {
            root: root.to_path_buf(),
            dest: dest.to_path_buf(),
            ..Inputs::default()
        };
        inputs.files.insert(root.join("book.toml"));
        inputs.trees.insert(root.join("templates"));
        inputs.trees.insert(root.join("static"));
        match crate::book::load_with(
            root,
            &crate::book::LoadOptions {
                write_missing: false,
            },
        ) {
            Ok(book) => {
                inputs.trees.insert(book.src_dir.clone());
                inputs.trees.insert(book.config.measure_store(&book.root));
                let html = &book.config.output.html;
                for f in html.additional_css.iter().chain(&html.additional_js) {
                    inputs.files.insert(root.join(f));
                }
            }
            Err(_) => {
                // A broken book.toml: watch the usual src dir until it loads again.
                inputs.trees.insert(root.join("src"));
                inputs.trees.insert(root.join("guides"));
            }
        }
        if let Some(stamp) = crate::fingerprint::read_stamp(dest) {
            inputs.files.extend(stamp.dependencies);
        }
        inputs
    }

    /// Whether a change to `path` can change the site.
    pub fn is_input(&self, path: &Path) -> bool {
        if path.starts_with(&self.dest)
            || path.starts_with(self.root.join("target"))
            || path.starts_with(self.root.join(".git"))
        {
            return false;
        }
        if self.files.contains(path) || self.trees.iter().any(|t| path.starts_with(t)) {
            return true;
        }
        // A watched folder that appears (e.g. `templates/` created after the start).
        path.parent() == Some(self.root.as_path()) && self.trees.contains(path)
    }

    /// Directories to watch: each tree recursively, the root and the parents of single files
    /// non-recursively (editors replace files by renaming, which only the parent sees).
    fn watch_list(&self) -> BTreeMap<PathBuf, bool> {
        let mut list = BTreeMap::new();
        list.insert(self.root.clone(), false);
        for f in &self.files {
            if let Some(p) = f.parent()
                && p.is_dir()
            {
                list.entry(p.to_path_buf()).or_insert(false);
            }
        }
        for t in &self.trees {
            if t.is_dir() && !self.dest.starts_with(t) {
                list.insert(t.clone(), true);
            } else if t.is_dir() {
                // The output lies inside this tree (e.g. src = "."): watch only its top.
                list.entry(t.clone()).or_insert(false);
            }
        }
        list
    }

    fn update_watches(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        watched: &mut BTreeMap<PathBuf, bool>,
    ) {
        let want = self.watch_list();
        for (dir, recursive) in watched.clone() {
            if want.get(&dir) != Some(&recursive) {
                let _ = watcher.unwatch(&dir);
                watched.remove(&dir);
            }
        }
        for (dir, recursive) in want {
            if watched.contains_key(&dir) {
                continue;
            }
            let mode = if recursive {
                notify::RecursiveMode::Recursive
            } else {
                notify::RecursiveMode::NonRecursive
            };
            match watcher.watch(&dir, mode) {
                Ok(()) => {
                    watched.insert(dir, recursive);
                }
                Err(e) => eprintln!("warning: cannot watch {}: {e}", dir.display()),
            }
        }
    }
}

fn event_is_relevant(ev: &notify::Result<notify::Event>, inputs: &Inputs) -> bool {
    let Ok(ev) = ev else {
        return true;
    };
    if matches!(ev.kind, notify::EventKind::Access(_)) {
        return false;
    }
    ev.paths.iter().any(|p| inputs.is_input(p))
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("note: could not open a browser ({opener}: {e}); open {url} yourself");
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Stale and missing measurements                                                             */
/* ---------------------------------------------------------------------------------------- */

/// Wraps the measurement renderer for serve: a directive whose records are stale is rendered
/// from the store with a "stale" badge; one whose records or results are missing (or that
/// cannot be rendered because of a stale or missing record, like a claim) becomes a visible
/// "not measured yet" note instead of failing the build.
pub struct StaleFragments<'r, 'm> {
    inner: &'r mut dyn DirectiveRenderer,
    measured: &'m Measured,
    cores: usize,
}

impl<'r, 'm> StaleFragments<'r, 'm> {
    pub fn new(inner: &'r mut dyn DirectiveRenderer, measured: &'m Measured) -> Self {
        StaleFragments {
            inner,
            measured,
            cores: build::cores(),
        }
    }
}

impl DirectiveRenderer for StaleFragments<'_, '_> {
    fn start_page(&mut self) {
        self.inner.start_page();
    }

    fn set_page_path(&mut self, path: &str) {
        self.inner.set_page_path(path);
    }

    fn take_files(&mut self) -> BTreeMap<String, Vec<u8>> {
        self.inner.take_files()
    }

    fn render(&mut self, d: &Located) -> Result<Fragment, SourceError> {
        let needs =
            crate::fragments::needs(d, self.cores, &self.measured.python.rungs).unwrap_or_default();
        let missing: Vec<String> = needs
            .iter()
            .filter(|n| self.measured.store.get(n).is_none())
            .map(|n| n.id.clone())
            .collect();
        let stale = needs.iter().any(|n| self.measured.stale.contains(n));
        let block = d.directive.is_block();
        match self.inner.render(d) {
            Ok(f) if stale => Ok(mark_stale(f, block)),
            Ok(f) => Ok(f),
            // Errors that ask for `perfguide build` are about results not computed yet
            // (an image, a profile): in serve that is expected, not a failure.
            Err(e) if stale || !missing.is_empty() || e.message.contains("perfguide build") => Ok(
                not_measured_yet(&d.directive.to_string(), &missing, &e, block),
            ),
            Err(e) => Err(e),
        }
    }
}

const STALE_TITLE: &str = "measured for an older version of the code, the compiler or the machine; `perfguide build` measures it again";

fn mark_stale(f: Fragment, block: bool) -> Fragment {
    let badge = format!(
        "<span class=\"stale\" data-search-ignore title=\"{}\">stale</span>",
        escape_html(STALE_TITLE)
    );
    let html = if block {
        let marked = f
            .html
            .replacen("<table class=\"", "<table class=\"stale ", 1);
        format!(
            "<div class=\"stale-block\">\n<p class=\"stale-note\" data-search-ignore>{badge} These numbers were measured for an older version of the code, the compiler or the machine. <code>perfguide serve</code> never measures; <code>perfguide build</code> measures them again.</p>\n{marked}</div>\n"
        )
    } else {
        format!("<span class=\"stale-value\">{} {badge}</span>", f.html)
    };
    Fragment {
        html,
        text: format!("{} (stale)", f.text),
    }
}

fn not_measured_yet(
    directive: &str,
    missing: &[String],
    error: &SourceError,
    block: bool,
) -> Fragment {
    let what = if missing.is_empty() {
        error.message.trim_end_matches('.').to_string()
    } else {
        format!("no measurement of {} yet", missing.join(", "))
    };
    let advice = if what.contains("perfguide build") {
        ""
    } else {
        " <code>perfguide build</code> measures it."
    };
    let html = if block {
        format!(
            "<div class=\"not-measured-yet\" role=\"note\" data-search-ignore><p><span class=\"stale\">not measured yet</span> <code>{}</code>: {}. <code>perfguide serve</code> never measures.{advice}</p></div>\n",
            escape_html(directive),
            code_spans(&escape_html(&what))
        )
    } else {
        format!(
            "<span class=\"measure not-measured-yet\" data-search-ignore title=\"{}\"><span class=\"stale\">not measured yet</span></span>",
            escape_html(&format!(
                "{directive}: {what}; `perfguide build` measures it"
            ))
        )
    };
    Fragment {
        html,
        text: "(not measured yet)".into(),
    }
}

/// `a `b` c` -> `a <code>b</code> c` (messages quote commands in backticks).
fn code_spans(escaped: &str) -> String {
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escaped.to_string(); // an unpaired backtick
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{p}</code>")
            } else {
                p.to_string()
            }
        })
        .collect()
}

/* ---------------------------------------------------------------------------------------- */
/* Live state and the event stream                                                            */
/* ---------------------------------------------------------------------------------------- */

/// What the open pages are told: the number of the current build and its error, if the
/// last build failed.
#[derive(Default)]
pub struct Live {
    state: Mutex<LiveState>,
    clients: Mutex<Vec<Box<dyn Write + Send>>>,
}

#[derive(Debug, Clone, Default)]
struct LiveState {
    generation: u64,
    error: Option<String>,
}

impl Live {
    /// A new site is on disk: every page reloads.
    pub fn built(&self) {
        let generation = {
            let mut s = lock(&self.state);
            s.generation += 1;
            s.error = None;
            s.generation
        };
        self.broadcast("reload", &serde_json::json!({ "generation": generation }));
    }

    /// Nothing changed. If the last build had failed, the site on disk is again what the
    /// inputs give (the edit was undone): the error goes away.
    pub fn unchanged(&self) {
        let had_error = lock(&self.state).error.is_some();
        if had_error {
            self.built();
        }
    }

    /// The build failed: pages keep showing the previous build, with the error over it.
    pub fn failed(&self, message: &str) {
        lock(&self.state).error = Some(message.to_string());
        self.broadcast("failed", &serde_json::json!({ "error": message }));
    }

    pub fn generation(&self) -> u64 {
        lock(&self.state).generation
    }

    pub fn error(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }

    /// The number of connected event streams.
    pub fn clients(&self) -> usize {
        lock(&self.clients).len()
    }

    fn hello(&self) -> String {
        let s = lock(&self.state).clone();
        sse_event(
            "hello",
            &serde_json::json!({ "generation": s.generation, "error": s.error }),
        )
    }

    fn add_client(&self, mut w: Box<dyn Write + Send>) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\nConnection: keep-alive\r\nX-Accel-Buffering: no\r\n\r\nretry: 500\n\n";
        let ok = w
            .write_all(head.as_bytes())
            .and_then(|()| w.write_all(self.hello().as_bytes()))
            .and_then(|()| w.flush())
            .is_ok();
        if ok {
            lock(&self.clients).push(w);
        }
    }

    fn broadcast(&self, event: &str, data: &serde_json::Value) {
        self.send_raw(&sse_event(event, data));
    }

    /// Writes to every client, dropping those that went away.
    fn send_raw(&self, text: &str) {
        lock(&self.clients).retain_mut(|w| {
            w.write_all(text.as_bytes())
                .and_then(|()| w.flush())
                .is_ok()
        });
    }
}

/// A mutex that a panicking thread left poisoned still holds valid data here (plain values
/// and writers), so the server goes on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One server-sent event; JSON data never contains a raw newline.
fn sse_event(event: &str, data: &serde_json::Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// The script injected into served HTML pages: reload on `reload`, show the error on
/// `failed`; `hello` (sent on connect) reloads a page that is older than the current build.
fn live_script(generation: u64) -> String {
    format!(
        r#"<script>/* perfguide serve: live reload */(function(){{"use strict";var gen={generation},box=null;if(!window.EventSource)return;function show(msg){{if(!box){{box=document.createElement("div");box.className="error-box perfguide-serve-error";box.setAttribute("role","alert");box.style.cssText="position:fixed;left:1rem;right:1rem;bottom:1rem;z-index:1000;max-height:60vh;overflow:auto;margin:0;box-shadow:0 4px 24px rgba(0,0,0,.35)";document.body.appendChild(box)}}box.textContent="";var p=document.createElement("p");p.textContent="The last change did not build; this is the previous build. Fix the error and the page reloads.";var pre=document.createElement("pre");pre.textContent=msg;box.appendChild(p);box.appendChild(pre)}}function hide(){{if(box){{box.parentNode.removeChild(box);box=null}}}}var es=new EventSource("{EVENTS_PATH}");es.addEventListener("hello",function(e){{var d=JSON.parse(e.data);if(d.generation!==gen){{location.reload();return}}if(d.error)show(d.error);else hide()}});es.addEventListener("reload",function(){{es.close();location.reload()}});es.addEventListener("failed",function(e){{show(JSON.parse(e.data).error)}});window.addEventListener("pagehide",function(){{es.close()}})}})();</script>"#
    )
}

/// Puts the live-reload script before the last `</body>` (or at the end).
pub fn inject_live_script(html: &str, generation: u64) -> String {
    let script = live_script(generation);
    match html.rfind("</body>") {
        Some(i) => format!("{}{script}\n{}", &html[..i], &html[i..]),
        None => format!("{html}{script}\n"),
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Static files                                                                               */
/* ---------------------------------------------------------------------------------------- */

/// What a request target names below the output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file below the root (its real path).
    File(PathBuf),
    /// A directory asked for without the trailing slash: redirect, so relative links in its
    /// index.html resolve against the directory.
    Redirect(String),
    NotFound,
    /// A target that is malformed or tries to leave the root.
    BadRequest(&'static str),
}

/// Maps a request target (`/path?query`) to a file below `root`, refusing anything that
/// could reach outside it. Every check is on the decoded path, and the final check is on
/// the real path, so encodings and symlinks cannot get around it.
pub fn resolve(root: &Path, target: &str) -> Resolved {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(rel) = path.strip_prefix('/') else {
        return Resolved::BadRequest("the request target must be a path starting with /");
    };
    let Some(bytes) = percent_decode(rel) else {
        return Resolved::BadRequest("malformed percent-encoding");
    };
    if bytes.contains(&0) {
        return Resolved::BadRequest("NUL in the path");
    }
    let Ok(decoded) = String::from_utf8(bytes) else {
        return Resolved::BadRequest("the path is not UTF-8");
    };
    if decoded.contains('\\') {
        return Resolved::BadRequest("backslash in the path");
    }
    let mut segments = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Resolved::BadRequest("`..` in the path"),
            // Hidden files (the build stamp) are not part of the site.
            s if s.starts_with('.') => return Resolved::NotFound,
            s => segments.push(s),
        }
    }
    let Ok(real_root) = root.canonicalize() else {
        return Resolved::NotFound;
    };
    let mut full = real_root.clone();
    for s in &segments {
        full.push(s);
    }
    let Ok(real) = full.canonicalize() else {
        return Resolved::NotFound;
    };
    if !real.starts_with(&real_root) {
        return Resolved::NotFound;
    }
    if real.is_dir() {
        if !path.ends_with('/') && !segments.is_empty() {
            let mut location = String::new();
            for s in &segments {
                location.push('/');
                location.push_str(&percent_encode(s));
            }
            location.push('/');
            return Resolved::Redirect(location);
        }
        let Ok(index) = real.join("index.html").canonicalize() else {
            return Resolved::NotFound;
        };
        if index.starts_with(&real_root) && index.is_file() {
            return Resolved::File(index);
        }
        return Resolved::NotFound;
    }
    if real.is_file() {
        Resolved::File(real)
    } else {
        Resolved::NotFound
    }
}

/// Decodes `%XX` escapes; `None` for a `%` not followed by two hex digits.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Content-Type of a served file, by extension.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" | "rs" | "py" | "toml" | "csv" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The HTTP server                                                                            */
/* ---------------------------------------------------------------------------------------- */

/// A running server for an output directory.
pub struct SiteServer {
    http: http::Server,
    stop: Arc<AtomicBool>,
    keepalive: JoinHandle<()>,
}

impl SiteServer {
    /// Binds `addr` ("host:port"; port 0 picks one) and serves `root`, one thread per
    /// connection ([`crate::http`]).
    pub fn start(root: &Path, addr: &str, live: Arc<Live>) -> Result<SiteServer> {
        let (root, live2) = (root.to_path_buf(), live.clone());
        let handler: http::Handler =
            Arc::new(move |req: &http::Request| handle(&root, &live2, req));
        let http = http::Server::bind(addr, handler)?;
        let stop = Arc::new(AtomicBool::new(false));
        // Comments keep idle event streams open through proxies and find closed ones.
        let stop2 = stop.clone();
        let keepalive = std::thread::spawn(move || {
            let mut last = Instant::now();
            while !stop2.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if last.elapsed() >= Duration::from_secs(15) {
                    live.send_raw(": keep-alive\n\n");
                    last = Instant::now();
                }
            }
        });
        Ok(SiteServer {
            http,
            stop,
            keepalive,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.http.addr()
    }

    /// Stops serving: the listening socket closes, and open connections end at their next
    /// request or within a moment.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.http.stop();
        let _ = self.keepalive.join();
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> http::Reply {
    http::Reply::Complete(
        http::Response::new(status, content_type, body)
            .with_header("Cache-Control", "no-store")
            .with_header("X-Content-Type-Options", "nosniff"),
    )
}

fn handle(root: &Path, live: &Arc<Live>, req: &http::Request) -> http::Reply {
    if req.method != "GET" && req.method != "HEAD" {
        return http::Reply::Complete(
            http::Response::new(
                405,
                "text/plain; charset=utf-8",
                b"only GET and HEAD are served\n".to_vec(),
            )
            .with_header("Allow", "GET, HEAD"),
        );
    }
    let target = req.target.as_str();
    let path = target.split('?').next().unwrap_or("");
    if path == EVENTS_PATH {
        let live = live.clone();
        return http::Reply::TakeOver(Box::new(move |stream| live.add_client(Box::new(stream))));
    }
    if !root.is_dir() {
        // The first build failed: there is no site yet, only the error.
        let page = error_page(live.error().as_deref(), live.generation());
        return respond(503, "text/html; charset=utf-8", page.into_bytes());
    }
    match resolve(root, target) {
        Resolved::File(file) => match std::fs::read(&file) {
            Ok(bytes) => send_file(live, &file, bytes, 200),
            Err(_) => not_found(root, live),
        },
        Resolved::Redirect(location) => http::Reply::Complete(
            http::Response::new(301, "text/plain; charset=utf-8", Vec::new())
                .with_header("Location", &location),
        ),
        Resolved::NotFound => not_found(root, live),
        Resolved::BadRequest(why) => respond(
            400,
            "text/plain; charset=utf-8",
            format!("bad request: {why}\n").into_bytes(),
        ),
    }
}

fn send_file(live: &Live, file: &Path, bytes: Vec<u8>, status: u16) -> http::Reply {
    let ct = content_type(file);
    let body = if ct.starts_with("text/html") {
        let generation = live.generation();
        inject_live_script(&String::from_utf8_lossy(&bytes), generation).into_bytes()
    } else {
        bytes
    };
    respond(status, ct, body)
}

fn not_found(root: &Path, live: &Live) -> http::Reply {
    let page = root.join("404.html");
    match std::fs::read(&page) {
        Ok(bytes) => send_file(live, &page, bytes, 404),
        Err(_) => respond(
            404,
            "text/plain; charset=utf-8",
            b"404 not found\n".to_vec(),
        ),
    }
}

/// The page served while there is no site at all (the first build failed).
fn error_page(error: Option<&str>, generation: u64) -> String {
    let body = match error {
        Some(e) => format!(
            "<h1>The book did not build</h1>\n<p>Fix the error below; this page reloads when the book builds.</p>\n<pre class=\"error-box\">{}</pre>",
            escape_html(e)
        ),
        None => "<h1>Building…</h1>".to_string(),
    };
    inject_live_script(
        &format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>perfguide serve</title></head><body>\n{body}\n</body></html>\n"
        ),
        generation,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_and_refuses_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("site");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("index.html"), "i").unwrap();
        std::fs::write(root.join("dir/index.html"), "d").unwrap();
        std::fs::write(root.join("a b.html"), "s").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), "s").unwrap();
        let real = root.canonicalize().unwrap();
        assert_eq!(resolve(&root, "/"), Resolved::File(real.join("index.html")));
        assert_eq!(
            resolve(&root, "/dir/"),
            Resolved::File(real.join("dir/index.html"))
        );
        assert_eq!(
            resolve(&root, "/dir?x=1"),
            Resolved::Redirect("/dir/".into())
        );
        assert_eq!(
            resolve(&root, "/a%20b.html"),
            Resolved::File(real.join("a b.html"))
        );
        assert_eq!(resolve(&root, "/missing.html"), Resolved::NotFound);
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/dir/../../secret.txt",
            "/..%5csecret.txt",
            "/dir\\..\\..\\secret.txt",
            "/index.html%00.txt",
            "/%zz",
            "secret.txt",
            "http://example.org/secret.txt",
        ] {
            assert!(
                matches!(resolve(&root, bad), Resolved::BadRequest(_)),
                "{bad}: {:?}",
                resolve(&root, bad)
            );
        }
        // An absolute path is taken below the root.
        assert_eq!(resolve(&root, "//etc/passwd"), Resolved::NotFound);
        assert_eq!(resolve(&root, "/.perfguide-stamp.json"), Resolved::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("site");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(tmp.path().join("secret.txt"), "s").unwrap();
        std::fs::write(root.join("inside.txt"), "i").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("inside.txt"), root.join("in.txt")).unwrap();
        assert_eq!(resolve(&root, "/out.txt"), Resolved::NotFound);
        assert_eq!(resolve(&root, "/up/secret.txt"), Resolved::NotFound);
        assert_eq!(resolve(&root, "/up/"), Resolved::NotFound);
        assert!(matches!(resolve(&root, "/in.txt"), Resolved::File(_)));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/b.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("x.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("x.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }

    #[test]
    fn live_script_goes_before_the_last_body_end() {
        let html = "<html><body><p>x</p></body></html>";
        let out = inject_live_script(html, 7);
        assert!(out.contains("var gen=7"));
        assert!(out.ends_with("</script>\n</body></html>"));
        assert!(inject_live_script("<p>no body</p>", 1).contains(EVENTS_PATH));
    }

    #[test]
    fn events_are_single_lines_of_json() {
        let e = sse_event("failed", &serde_json::json!({"error": "a\nb </script>"}));
        assert_eq!(e.lines().filter(|l| !l.is_empty()).count(), 2);
        assert!(e.ends_with("\n\n"));
        assert!(e.starts_with("event: failed\ndata: {"));
    }

    #[test]
    fn stale_and_missing_markup() {
        let f = Fragment {
            html: "<figure class=\"bench\"><table class=\"bench\"></table></figure>".into(),
            text: "t".into(),
        };
        let b = mark_stale(f, true);
        assert!(
            b.html.contains("<table class=\"stale bench\">"),
            "{}",
            b.html
        );
        assert!(b.html.contains("class=\"stale\""));
        let i = mark_stale(
            Fragment {
                html: "<span class=\"measure\">3 ms</span>".into(),
                text: "3 ms".into(),
            },
            false,
        );
        assert!(i.html.starts_with("<span class=\"stale-value\">"));
        let err = SourceError::new(PathBuf::from("a.md"), 1, "x".to_string());
        let m = not_measured_yet("{{#bench pi}}", &["pi/scalar".into()], &err, true);
        assert!(m.html.contains("not measured yet"));
        assert!(m.html.contains("pi/scalar"));
        let m = not_measured_yet("{{#measure <x>}}", &[], &err, false);
        assert!(m.html.contains("&lt;x&gt;"));
        let err = SourceError::new(PathBuf::from("a.md"), 1, "no image; run `perfguide build`.");
        let m = not_measured_yet("{{#chart x}}", &[], &err, true);
        assert!(
            m.html.contains("run <code>perfguide build</code>. "),
            "{}",
            m.html
        );
        assert_eq!(code_spans("a `b` c"), "a <code>b</code> c");
        assert_eq!(code_spans("a `b"), "a `b");
    }
}
