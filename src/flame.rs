//! Flame graphs: inferno's interactive SVG from folded stacks, adapted to the site's themes.
//!
//! inferno draws a self-contained document with its own script (click a frame to zoom,
//! Ctrl+F or "Search" to highlight, "Reset Zoom"), which only works as a document of its
//! own: the page embeds it with `<object>` and links to it. Its background and interface text
//! are fixed colours, so [`themed`] adds a stylesheet that follows the reader's theme: the
//! system's `prefers-color-scheme` when the SVG is opened on its own, and the page's theme
//! toggle when embedded (the page posts `{ perfguideTheme: "dark" | "light" }` to the
//! embedded document, see [`embed_html`]). The frames keep inferno's warm palette with black
//! text, which reads on both backgrounds.

use anyhow::{Context, Result};
use inferno::flamegraph::{self, Options, Palette, color::BasicPalette};

use crate::render::escape_html;

/// The flame graph of folded stacks (`"a;b;c count"`), themed.
pub fn svg(folded: &[String], title: &str, count_name: &str) -> Result<String> {
    let mut options = Options::default();
    options.title = title.to_string();
    options.count_name = count_name.to_string();
    options.colors = Palette::Basic(BasicPalette::Hot);
    // Colours from a hash of each name, not at random: the same profile gives the same file.
    options.hash = true;
    options.deterministic = true;
    options.font_type = "sans-serif".into();
    options.font_size = 12;
    options.frame_height = 18;
    options.min_width = 0.1;
    let mut out = Vec::new();
    flamegraph::from_lines(&mut options, folded.iter().map(String::as_str), &mut out)
        .context("drawing the flame graph")?;
    let svg = String::from_utf8(out).context("the flame graph is not UTF-8")?;
    Ok(themed(&svg))
}

/// The stylesheet and script that make inferno's SVG follow the theme (see the module docs).
const THEME_CSS: &str = r#"
:root { --pg-bg: #ffffff; --pg-fg: #1f2328; }
@media (prefers-color-scheme: dark) { :root:not([data-theme="light"]) { --pg-bg: #0d1117; --pg-fg: #e6edf3; } }
:root[data-theme="dark"] { --pg-bg: #0d1117; --pg-fg: #e6edf3; }
#background stop { stop-color: var(--pg-bg); }
#title, #subtitle, #details, #unzoom, #search, #matched { fill: var(--pg-fg); }
#frames text { fill: #000000; }
#search { opacity: 0.6; }
"#;

const THEME_JS: &str = r#"
window.addEventListener('message', function (e) {
  if (e.source !== window.parent || !e.data || typeof e.data.perfguideTheme !== 'string') return;
  var t = e.data.perfguideTheme === 'dark' ? 'dark' : 'light';
  document.documentElement.setAttribute('data-theme', t);
});
"#;

/// inferno's script sizes the frames to the drawing's width minus padding; in an `<object>`
/// that is not laid out yet (inside a closed `<details>`, say) the width is 0 and the browser
/// logs an error for the negative value. Clamped; the resize handler sets the real width.
const WIDTH_LINE: &str = "frames.attributes.width.value = svg.width.baseVal.value - xpad * 2;";
const WIDTH_LINE_CLAMPED: &str =
    "frames.attributes.width.value = Math.max(1, svg.width.baseVal.value - xpad * 2);";

/// Adds [`THEME_CSS`] after inferno's styles and [`THEME_JS`] before the end of the document,
/// and clamps the frames' width (see [`WIDTH_LINE`]).
pub fn themed(svg: &str) -> String {
    let mut out = svg.replace(WIDTH_LINE, WIDTH_LINE_CLAMPED);
    if let Some(pos) = out.find("</style>") {
        out.insert_str(pos, THEME_CSS);
    }
    if let Some(pos) = out.rfind("</svg>") {
        out.insert_str(
            pos,
            &format!("<script type=\"text/ecmascript\"><![CDATA[{THEME_JS}]]></script>\n"),
        );
    }
    out
}

/// The height in pixels inferno gave the drawing (its root element's `height`), so the
/// `<object>` can reserve exactly that much room.
pub fn height_of(svg: &str) -> Option<u32> {
    let start = svg.find("<svg")?;
    let tag_end = start + svg[start..].find('>')?;
    let tag = &svg[start..tag_end];
    let h = tag.split("height=\"").nth(1)?.split('"').next()?;
    h.trim_end_matches("px")
        .parse::<f64>()
        .ok()
        .map(|v| v.ceil() as u32)
}

/// The page's side: the embedded flame graph, a link to open it on its own, and the small
/// script that passes the page's theme to it (once per page, whatever the number of graphs).
pub fn embed_html(href: &str, height: u32, label: &str) -> String {
    format!(
        "<div class=\"flamegraph\">\n<object class=\"flamegraph\" type=\"image/svg+xml\" data=\"{href}\" style=\"height: {height}px\" aria-label=\"{label}\"><a href=\"{href}\">{label}</a></object>\n<p class=\"flamegraph-help\">Click a frame to zoom in, <kbd>Ctrl</kbd>+<kbd>F</kbd> inside the graph or “Search” to highlight functions by name. <a href=\"{href}\">Open the flame graph on its own page</a>.</p>\n</div>\n<script>{THEME_SYNC}</script>\n",
        href = escape_html(href),
        label = escape_html(label),
    )
}

/// Posts the page theme (`data-theme` on `<html>`, set by the site's head script and toggle)
/// to every embedded flame graph, on load and whenever it changes.
const THEME_SYNC: &str = "(function(){if(window.pgFlameSync)return;window.pgFlameSync=1;var d=document.documentElement;function t(){return d.getAttribute('data-theme')==='dark'?'dark':'light'}function post(o){try{if(o.contentWindow)o.contentWindow.postMessage({perfguideTheme:t()},'*')}catch(e){}}function all(){document.querySelectorAll('object.flamegraph').forEach(post)}document.addEventListener('DOMContentLoaded',function(){document.querySelectorAll('object.flamegraph').forEach(function(o){o.addEventListener('load',function(){post(o)});post(o)})});new MutationObserver(all).observe(d,{attributes:true,attributeFilter:['data-theme']})})();";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flame_graphs_are_themed_and_deterministic() {
        let folded = vec![
            "mandelbrot::run_scalar;mandelbrot::scalar;mandelbrot::escape_count 97".to_string(),
            "mandelbrot::run_scalar;mandelbrot::scalar 3".to_string(),
        ];
        let a = svg(&folded, "mandelbrot/scalar", "samples").unwrap();
        let b = svg(&folded, "mandelbrot/scalar", "samples").unwrap();
        assert_eq!(a, b);
        assert!(a.contains("mandelbrot::escape_count"));
        assert!(a.contains("--pg-bg"));
        assert!(a.contains("perfguideTheme"));
        assert!(a.find("--pg-bg").unwrap() < a.find("</style>").unwrap());
        assert!(a.contains(WIDTH_LINE_CLAMPED) && !a.contains(WIDTH_LINE));
        assert!(height_of(&a).is_some_and(|h| h > 50), "{:?}", height_of(&a));
    }

    #[test]
    fn embedding_escapes_and_links() {
        let html = embed_html("../profiles/a.svg", 300, "Flame graph of <x>");
        assert!(html.contains("data=\"../profiles/a.svg\""));
        assert!(html.contains("&lt;x&gt;"));
        assert!(html.contains("height: 300px"));
    }
}
