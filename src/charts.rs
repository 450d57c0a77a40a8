//! Charts drawn from stored measurements: `{{#chart ladder KERNEL}}`,
//! `{{#chart scaling ID}}`, `{{#chart size ID}}` and `{{#chart roofline}}`.
//!
//! Each chart is an inline SVG drawn by plotters with its SVG backend only: no font library
//! is linked and text is laid out by the browser. The data come only from records in the
//! store, so two builds from the same store give byte-identical charts. Every chart has a
//! title and axis labels with units inside the drawing, a `<title>` and `<desc>` that
//! `role="img"` exposes to screen readers, and the numbers themselves in a data table below.
//!
//! Colours follow the page theme without plotters knowing about themes: the drawing uses a
//! few reserved colours (the light theme's values, each nudged by one unit so they are
//! unique), and site.css maps each to a custom property (`--fg`, `--chart-1`, ...) with
//! attribute selectors such as `.chart svg [fill="#0550AF"]`. Without the stylesheet the
//! chart still reads, in the light theme's colours.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::claim::format_value;
use crate::fragments::{MeasureRef, format_rate, format_seconds, resolve_ref};
use crate::measure::Need;
use crate::render::escape_html;
use crate::stats::{AmdahlFit, PowerFit};
use crate::store::Record;
use crate::store::RecordId;

/// Text and axes (`--fg`).
pub const FG: RGBColor = RGBColor(0x1F, 0x23, 0x29);
/// Secondary text and reference lines (`--muted`).
pub const MUTED: RGBColor = RGBColor(0x59, 0x63, 0x6F);
/// Grid lines (`--border`).
pub const GRID: RGBColor = RGBColor(0xD1, 0xD9, 0xE1);
/// Legend background (`--bg`).
pub const BG: RGBColor = RGBColor(0xFF, 0xFF, 0xFE);
/// Data series (`--chart-1` ... `--chart-6`).
pub const SERIES: [RGBColor; 6] = [
    RGBColor(0x05, 0x50, 0xAF),
    RGBColor(0x1A, 0x7F, 0x38),
    RGBColor(0x82, 0x50, 0xE0),
    RGBColor(0xBC, 0x4C, 0x01),
    RGBColor(0xBF, 0x39, 0x8A),
    RGBColor(0x57, 0x60, 0x6B),
];

const WIDTH: u32 = 760;
const HEIGHT: u32 = 440;
const FONT: &str = "sans-serif";

/// A font of `px` CSS pixels (plotters divides the size it is given by 1.24).
fn font(px: f64, color: &RGBColor) -> TextStyle<'static> {
    (FONT, px * 1.24).into_font().color(color)
}

/// A drawn chart: the SVG and its data table, ready to be wrapped in a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Unique within a page: `ladder-mandelbrot`.
    pub id: String,
    pub title: String,
    /// One or two sentences for `<desc>`: what the chart shows and its main finding.
    pub desc: String,
    pub svg: String,
    /// `<table>` with the plotted numbers.
    pub table: String,
    /// Extra HTML under the chart (per-thread work, fitted values).
    pub notes: String,
}

impl Chart {
    /// The figure for a page.
    pub fn html(&self) -> String {
        format!(
            "<figure class=\"chart\" id=\"chart-{id}\">\n{svg}\n<figcaption>{desc}{notes}\n<details class=\"data-table\"><summary>The data behind this chart</summary>\n{table}</details></figcaption>\n</figure>\n",
            id = escape_html(&self.id),
            svg = self.svg,
            desc = escape_html(&self.desc),
            notes = self.notes,
            table = self.table,
        )
    }
}

/// Adds `role="img"`, the accessible name and description, and a class to plotters' SVG.
fn finish_svg(svg: &str, id: &str, title: &str, desc: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return svg.to_string();
    };
    let Some(rel_end) = svg[start..].find('>') else {
        return svg.to_string();
    };
    let end = start + rel_end;
    let id = escape_html(id);
    format!(
        "{}<svg class=\"chart-svg\" role=\"img\" aria-labelledby=\"chart-{id}-title chart-{id}-desc\"{}>\n<title id=\"chart-{id}-title\">{}</title>\n<desc id=\"chart-{id}-desc\">{}</desc>{}",
        &svg[..start],
        &svg[start + 4..end],
        escape_html(title),
        escape_html(desc),
        svg[end + 1..].trim_end()
    )
}

/// Draws with plotters into an SVG string; errors become messages.
fn draw(
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        f(&root).map_err(|e| format!("drawing the chart: {e}"))?;
        root.present()
            .map_err(|e| format!("drawing the chart: {e}"))?;
    }
    Ok(svg)
}

/// A log axis range covering `lo..hi` out to whole decades, so tick labels are round.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let lo = lo.max(f64::MIN_POSITIVE);
    let hi = hi.max(lo * 1.0001);
    (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    )
}

/// Round tick values for a log axis over `lo..hi`: powers of ten, or 1-2-5 steps, or finer
/// steps when the range is too narrow for three ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !(lo > 0.0 && hi.is_finite()) {
        return Vec::new();
    }
    let mut best = Vec::new();
    for mantissas in [
        &[1.0][..],
        &[1.0, 2.0, 5.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0],
    ] {
        let mut ticks = Vec::new();
        let mut exp = lo.log10().floor() as i32 - 1;
        while 10f64.powi(exp) <= hi * 10.0 && ticks.len() < 64 {
            for m in mantissas {
                let v = m * 10f64.powi(exp);
                // Rounded so that 0.1 * 3 prints as 0.3, not 0.30000000000000004.
                let v = format!("{v:.12e}").parse::<f64>().unwrap_or(v);
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    ticks.push(v);
                }
            }
            exp += 1;
        }
        best = ticks;
        if best.len() >= 3 {
            break;
        }
    }
    best
}

/// A number for an axis: 3 significant digits, SI prefix for large ones.
fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", format_value(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", format_value(v / 1e6))
    } else if a >= 1e3 {
        format!("{}k", format_value(v / 1e3))
    } else {
        format_value(v)
    }
}

/// A tick label: [`si`] without trailing zeros ("1M", "0.5", "250").
fn tick(v: f64) -> String {
    let text = si(v);
    let (num, suffix) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text.as_str(), ""),
    };
    let num = if num.contains('.') {
        num.trim_end_matches('0').trim_end_matches('.')
    } else {
        num
    };
    format!("{num}{suffix}")
}

/// A log axis range around `lo..hi` with a margin of `pad` (a factor) on each side.
fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let lo = lo.max(f64::MIN_POSITIVE);
    (lo / pad, hi.max(lo * 1.0001) * pad)
}

fn table(caption: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = format!(
        "<table>\n<caption>{}</caption>\n<thead><tr>",
        escape_html(caption)
    );
    for h in head {
        let _ = write!(t, "<th scope=\"col\">{}</th>", escape_html(h));
    }
    t.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        t.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(t, "<th scope=\"row\">{}</th>", escape_html(cell));
            } else {
                let _ = write!(t, "<td>{}</td>", escape_html(cell));
            }
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

// ---------------------------------------------------------------------------------------
// Ladder: throughput of every rung
// ---------------------------------------------------------------------------------------

/// One rung of a ladder chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    pub id: String,
    /// "rust" or "python".
    pub language: String,
    pub threads: usize,
    /// Work units per second at the median.
    pub throughput: f64,
    pub median_s: f64,
}

impl Rung {
    pub fn of(r: &Record) -> Rung {
        Rung {
            id: r.id.clone(),
            language: r.language.clone(),
            threads: r.threads,
            throughput: r.throughput(),
            median_s: r.summary.median,
        }
    }
}

/// A rung's axis label: the variant, and its threads when it has several.
fn rung_label(r: &Rung) -> String {
    let name = r.id.split('/').nth(1).unwrap_or(&r.id);
    if r.threads > 1 {
        format!("{name} ({} threads)", r.threads)
    } else {
        name.to_string()
    }
}

/// `{{#chart ladder KERNEL}}`: one horizontal bar per rung, in ladder order from the top, on
/// a log scale (the rungs of a ladder span decades). `missing` lists rungs that could not be
/// measured here, with the reason, under the chart.
pub fn ladder(
    kernel: &str,
    unit: &str,
    rungs: &[Rung],
    missing: &[(String, String)],
) -> Result<Chart, String> {
    if rungs.is_empty() {
        return Err(format!("no rung of {kernel} has been measured"));
    }
    let title = format!("{kernel}: throughput of each rung");
    let (lo, _) = decades(
        rungs
            .iter()
            .map(|r| r.throughput)
            .fold(f64::INFINITY, f64::min)
            / 1.5,
        1.0,
    );
    let hi = rungs.iter().map(|r| r.throughput).fold(0.0, f64::max) * 1.5;
    let slowest = rungs
        .iter()
        .min_by(|a, b| a.throughput.total_cmp(&b.throughput))
        .map(|r| r.throughput)
        .unwrap_or(1.0);
    let fastest = rungs
        .iter()
        .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
        .cloned()
        .unwrap_or_else(|| rungs[0].clone());
    let desc = format!(
        "Bar chart, logarithmic axis: throughput in {unit} per second of {} rungs of {kernel}. The fastest, {}, does {} ({}× the slowest).",
        rungs.len(),
        fastest.id,
        format_rate(fastest.throughput, unit),
        format_value(fastest.throughput / slowest)
    );
    let n = rungs.len() as i32;
    let label_width = rungs
        .iter()
        .map(|r| rung_label(r).chars().count())
        .max()
        .unwrap_or(8) as u32;
    let languages: Vec<&str> = {
        let mut l: Vec<&str> = rungs.iter().map(|r| r.language.as_str()).collect();
        l.dedup();
        l.sort();
        l.dedup();
        l
    };
    let colour_of = |lang: &str| {
        if lang == "python" {
            SERIES[3]
        } else {
            SERIES[0]
        }
    };
    let height_px = (80 + 34 * n as u32).max(200);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height_px + 70)).into_drawing_area();
        let result: Result<(), Box<dyn std::error::Error>> = (|| {
            let mut chart = ChartBuilder::on(&root)
                .caption(&title, font(17.0, &FG))
                .margin(12)
                .margin_right(110)
                .x_label_area_size(46)
                .y_label_area_size((label_width * 7 + 24).min(280))
                .build_cartesian_2d(
                    (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
                    (0..n - 1).into_segmented(),
                )?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(format!("Throughput ({unit} per second, log scale)"))
                .y_desc("")
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if *i >= 0 && *i < n => {
                        rung_label(&rungs[(n - 1 - *i) as usize])
                    }
                    _ => String::new(),
                })
                .axis_style(FG)
                .bold_line_style(GRID)
                .light_line_style(GRID.mix(0.35))
                .max_light_lines(4)
                .label_style(font(13.0, &FG))
                .axis_desc_style(font(13.0, &FG))
                .draw()?;
            for lang in &languages {
                let colour = colour_of(lang);
                chart
                    .draw_series(
                        rungs
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.language == *lang)
                            .map(|(i, r)| {
                                let y = n - 1 - i as i32;
                                let mut bar = Rectangle::new(
                                    [
                                        (lo, SegmentValue::Exact(y)),
                                        (r.throughput, SegmentValue::Exact(y + 1)),
                                    ],
                                    colour.filled(),
                                );
                                bar.set_margin(6, 6, 0, 0);
                                bar
                            }),
                    )?
                    .label(if *lang == "python" { "Python" } else { "Rust" })
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                    });
            }
            chart.draw_series(rungs.iter().enumerate().map(|(i, r)| {
                let y = n - 1 - i as i32;
                let label = format_rate(r.throughput, unit);
                EmptyElement::at((r.throughput, SegmentValue::CenterOf(y)))
                    + Text::new(
                        label,
                        (6, 0),
                        font(12.0, &FG).pos(Pos::new(HPos::Left, VPos::Center)),
                    )
            }))?;
            // The legend sits in the title row, right-aligned, where no bar or label can be.
            if languages.len() > 1 {
                let mut x = WIDTH as i32 - 12;
                for lang in languages.iter().rev() {
                    let name = if *lang == "python" { "Python" } else { "Rust" };
                    x -= 8 * name.len() as i32 + 4;
                    root.draw(&Text::new(
                        name,
                        (x, 14),
                        font(13.0, &FG).pos(Pos::new(HPos::Left, VPos::Center)),
                    ))?;
                    root.draw(&Rectangle::new(
                        [(x - 18, 8), (x - 6, 20)],
                        colour_of(lang).filled(),
                    ))?;
                    x -= 34;
                }
            }
            Ok(())
        })();
        result.map_err(|e| format!("drawing the chart: {e}"))?;
        root.present()
            .map_err(|e| format!("drawing the chart: {e}"))?;
    }
    let id = format!("ladder-{kernel}");
    let rows: Vec<Vec<String>> = rungs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.language.clone(),
                if r.threads == 0 {
                    "–".into()
                } else {
                    r.threads.to_string()
                },
                format_seconds(r.median_s),
                format_rate(r.throughput, unit),
                format!("{}×", format_value(r.throughput / slowest)),
            ]
        })
        .collect();
    let mut notes = String::new();
    if !missing.is_empty() {
        notes.push_str("<ul class=\"chart-missing\">");
        for (id, why) in missing {
            let _ = write!(
                notes,
                "<li><code>{}</code>: not measured here: {}</li>",
                escape_html(id),
                escape_html(why)
            );
        }
        notes.push_str("</ul>");
    }
    Ok(Chart {
        svg: finish_svg(&svg, &id, &title, &desc),
        table: table(
            &format!("{kernel}: median time and throughput of each rung"),
            &[
                "Rung",
                "Language",
                "Threads",
                "Median",
                "Throughput",
                "vs slowest",
            ],
            &rows,
        ),
        id,
        title,
        desc,
        notes,
    })
}

// ---------------------------------------------------------------------------------------
// Scaling: speed-up against threads
// ---------------------------------------------------------------------------------------

/// The thread counts a scaling chart measures: 1 to the number of cores, and on machines
/// with fewer than 4 cores on to 4, so that load imbalance has room to show (with 2
/// threads, Julia's static halves happen to carry equal work by symmetry). Points beyond the
/// cores are drawn in a shaded band and left out of the Amdahl fit.
pub fn thread_sweep(cores: usize) -> Vec<usize> {
    (1..=cores.max(4)).collect()
}

/// One point of a thread sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    pub threads: usize,
    pub median_s: f64,
    /// Work units each thread did (fractal kernels report it; empty otherwise).
    pub per_thread_work: Vec<u64>,
    /// The record was flagged as measured on a busy machine.
    pub busy: bool,
}

/// A threaded variant's sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingSeries {
    pub id: String,
    pub points: Vec<ScalingPoint>,
}

impl ScalingSeries {
    /// Speed-up of each point over the variant's own one-thread median.
    pub fn speedups(&self) -> Vec<(usize, f64)> {
        let Some(base) = self.points.iter().find(|p| p.threads == 1) else {
            return Vec::new();
        };
        self.points
            .iter()
            .map(|p| (p.threads, base.median_s / p.median_s))
            .collect()
    }

    /// Amdahl's law fitted to the points with at most `cores` threads.
    pub fn fit(&self, cores: usize) -> AmdahlFit {
        let (t, s): (Vec<f64>, Vec<f64>) = self
            .speedups()
            .into_iter()
            .filter(|(p, _)| *p <= cores)
            .map(|(p, s)| (p as f64, s))
            .unzip();
        crate::stats::amdahl_fit(&t, &s)
    }
}

/// Max over mean of per-thread work: 1.0 is perfect balance, 2.0 means the busiest thread
/// did twice the average (so the others waited about half the time).
pub fn imbalance(work: &[u64]) -> Option<f64> {
    if work.is_empty() {
        return None;
    }
    let max = *work.iter().max()? as f64;
    let mean = work.iter().sum::<u64>() as f64 / work.len() as f64;
    (mean > 0.0).then(|| max / mean)
}

/// `{{#chart scaling ID}}` (one variant) or `{{#chart scaling KERNEL}}` (every threaded
/// variant): measured speed-up, the ideal line and each variant's fitted Amdahl curve.
pub fn scaling(subject: &str, series: &[ScalingSeries], cores: usize) -> Result<Chart, String> {
    let series: Vec<&ScalingSeries> = series.iter().filter(|s| !s.speedups().is_empty()).collect();
    if series.is_empty() {
        return Err(format!(
            "no one-thread measurement of {subject} to compare with"
        ));
    }
    let max_threads = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.threads))
        .max()
        .unwrap_or(1);
    let max_speedup = series
        .iter()
        .flat_map(|s| s.speedups())
        .map(|(_, s)| s)
        .fold(cores.min(max_threads) as f64, f64::max);
    let y_max = (max_speedup * 1.15).ceil().max(2.0);
    let title = format!("{subject}: speed-up against threads");
    let fits: Vec<AmdahlFit> = series.iter().map(|s| s.fit(cores)).collect();
    let mut findings = Vec::new();
    for (s, f) in series.iter().zip(&fits) {
        let at_cores = s
            .speedups()
            .into_iter()
            .filter(|(p, _)| *p <= cores)
            .max_by_key(|(p, _)| *p);
        if let Some((p, sp)) = at_cores {
            findings.push(format!(
                "{} reaches {}× on {p} thread{}{}",
                s.id,
                format_value(sp),
                if p == 1 { "" } else { "s" },
                if f.serial_fraction.is_finite() {
                    format!(
                        " (Amdahl fit: serial fraction {:.1}%)",
                        100.0 * f.serial_fraction
                    )
                } else {
                    String::new()
                }
            ));
        }
    }
    let desc = format!(
        "Line chart: speed-up over one thread against the number of threads (1 to {max_threads}) on a machine with {cores} logical cores, with the ideal line. {}.",
        findings.join("; ")
    );
    let svg = draw(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(17.0, &FG))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(46)
            .y_label_area_size(72)
            .build_cartesian_2d(0.5f64..max_threads as f64 + 0.5, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_labels(max_threads.min(16))
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 && *v >= 1.0 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{}×", tick(*v)))
            .x_desc("Threads")
            .y_desc("Speed-up over 1 thread (×)")
            .axis_style(FG)
            .bold_line_style(GRID)
            .light_line_style(GRID.mix(0.35))
            .max_light_lines(4)
            .label_style(font(13.0, &FG))
            .axis_desc_style(font(13.0, &FG))
            .draw()?;
        if max_threads > cores {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(cores as f64 + 0.5, 0.0), (max_threads as f64 + 0.5, y_max)],
                GRID.mix(0.35).filled(),
            )))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((cores as f64 + 0.5, y_max))
                    + Text::new(
                        "more threads than cores",
                        (6, 6),
                        font(12.0, &MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
                    ),
            ))?;
        }
        let ideal: Vec<(f64, f64)> = (1..=max_threads)
            .map(|p| (p as f64, p.min(cores) as f64))
            .collect();
        chart
            .draw_series(DashedLineSeries::new(ideal, 8, 5, MUTED.stroke_width(2)))?
            .label(format!("ideal (linear up to {cores} cores)"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MUTED.stroke_width(2)));
        for (k, (s, fit)) in series.iter().zip(&fits).enumerate() {
            let colour = SERIES[k % SERIES.len()];
            let pts: Vec<(f64, f64)> = s
                .speedups()
                .into_iter()
                .map(|(p, v)| (p as f64, v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                .label(s.id.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart.draw_series(pts.iter().zip(&s.points).map(|(&(x, y), p)| {
                if p.busy {
                    Circle::new((x, y), 5, colour.stroke_width(2))
                } else {
                    Circle::new((x, y), 5, colour.filled())
                }
            }))?;
            if fit.serial_fraction.is_finite() && cores > 1 {
                let curve: Vec<(f64, f64)> = (0..=40)
                    .map(|i| 1.0 + (cores as f64 - 1.0) * i as f64 / 40.0)
                    .map(|p| (p, fit.predict(p)))
                    .collect();
                chart.draw_series(DashedLineSeries::new(curve, 3, 4, colour.stroke_width(1)))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(BG.mix(0.9))
            .border_style(GRID)
            .label_font(font(13.0, &FG))
            .draw()?;
        Ok(())
    })?;
    let id = format!("scaling-{}", subject.replace('/', "-"));
    let mut rows = Vec::new();
    let mut work_rows = Vec::new();
    for s in &series {
        for (p, (threads, sp)) in s.points.iter().zip(s.speedups()) {
            rows.push(vec![
                format!("{} @ {threads}", s.id),
                format_seconds(p.median_s),
                format!("{}×", format_value(sp)),
                if threads > cores {
                    "more threads than cores".into()
                } else if p.busy {
                    "busy machine".into()
                } else {
                    String::new()
                },
            ]);
            if let Some(imb) = imbalance(&p.per_thread_work) {
                work_rows.push(vec![
                    format!("{} @ {threads}", s.id),
                    p.per_thread_work
                        .iter()
                        .map(|w| si(*w as f64))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    format!("{}×", format_value(imb)),
                ]);
            }
        }
    }
    let mut notes = String::new();
    let fit_text: Vec<String> = series
        .iter()
        .zip(&fits)
        .filter(|(_, f)| f.serial_fraction.is_finite())
        .map(|(s, f)| {
            format!(
                "<code>{}</code>: serial fraction {:.1}% (at most {}× on any number of cores)",
                escape_html(&s.id),
                100.0 * f.serial_fraction,
                if f.serial_fraction > 0.0 {
                    format_value(f.max_speedup())
                } else {
                    "unbounded".into()
                }
            )
        })
        .collect();
    if !fit_text.is_empty() {
        let _ = write!(
            notes,
            "<p class=\"chart-note\">Amdahl's law fitted to the points with at most {cores} threads (dashed): {}.</p>",
            fit_text.join("; ")
        );
    }
    if !work_rows.is_empty() {
        notes.push_str("<p class=\"chart-note\">Work done by each thread (escape-loop iterations, counted by the kernel: unlike times, these numbers are free of noise). Imbalance is the busiest thread's work over the mean: at 1.5× the other threads wait for a third of the run.</p>\n");
        notes.push_str(&table(
            &format!("{subject}: per-thread work"),
            &["Variant @ threads", "Work per thread", "Imbalance"],
            &work_rows,
        ));
    }
    Ok(Chart {
        svg: finish_svg(&svg, &id, &title, &desc),
        table: table(
            &format!("{subject}: median time and speed-up by thread count"),
            &["Variant @ threads", "Median", "Speed-up", "Note"],
            &rows,
        ),
        id,
        title,
        desc,
        notes,
    })
}

// ---------------------------------------------------------------------------------------
// Size: time against problem size
// ---------------------------------------------------------------------------------------

/// Fractions of the default problem's main size `n` a size chart measures.
pub const SIZE_FRACTIONS: [(u64, u64); 4] = [(1, 8), (1, 4), (1, 2), (1, 1)];

/// One point of a size sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SizePoint {
    /// Work units of one run at this size.
    pub work: f64,
    pub n: u64,
    pub median_s: f64,
}

/// `{{#chart size ID}}`: median time against work on log–log axes, with the fitted power
/// law time = a · work^b (b = 1: time grows in proportion to the work).
pub fn size(id: &str, unit: &str, points: &[SizePoint]) -> Result<Chart, String> {
    if points.len() < 2 {
        return Err(format!("{id}: fewer than two sizes have been measured"));
    }
    let (x, y): (Vec<f64>, Vec<f64>) = points.iter().map(|p| (p.work, p.median_s)).unzip();
    let fit: PowerFit = crate::stats::loglog_fit(&x, &y);
    let title = format!("{id}: time against problem size");
    let desc = format!(
        "Log–log chart: median time per run against the work ({unit}) for {} sizes of {id}. {}",
        points.len(),
        if fit.b.is_finite() {
            format!(
                "The fitted exponent is {:.2} (time ∝ {unit}^{:.2}, R² {:.3}).",
                fit.b, fit.b, fit.r_squared
            )
        } else {
            "No power law could be fitted.".into()
        }
    );
    let (x0, x1) = padded(
        x.iter().copied().fold(f64::INFINITY, f64::min),
        x.iter().copied().fold(0.0, f64::max),
        1.4,
    );
    let (y0, y1) = padded(
        y.iter().copied().fold(f64::INFINITY, f64::min),
        y.iter().copied().fold(0.0, f64::max),
        1.4,
    );
    let svg = draw(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(17.0, &FG))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(46)
            .y_label_area_size(72)
            .build_cartesian_2d(
                (x0..x1).log_scale().with_key_points(log_ticks(x0, x1)),
                (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            )?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| format_seconds(*v))
            .x_desc(format!("Problem size ({unit} per run, log scale)"))
            .y_desc("Median time per run (log scale)")
            .axis_style(FG)
            .bold_line_style(GRID)
            .light_line_style(GRID.mix(0.35))
            .max_light_lines(4)
            .label_style(font(13.0, &FG))
            .axis_desc_style(font(13.0, &FG))
            .draw()?;
        if fit.b.is_finite() {
            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = x.iter().copied().fold(0.0, f64::max);
            let curve: Vec<(f64, f64)> = (0..=20)
                .map(|i| lo * (hi / lo).powf(i as f64 / 20.0))
                .map(|v| (v, fit.predict(v)))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(curve, 8, 5, MUTED.stroke_width(2)))?
                .label(format!("fit: time ∝ size^{:.2}", fit.b))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], MUTED.stroke_width(2))
                });
        }
        let colour = SERIES[0];
        chart
            .draw_series(LineSeries::new(
                x.iter().copied().zip(y.iter().copied()),
                colour.stroke_width(2),
            ))?
            .label(id.to_string())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            x.iter()
                .zip(&y)
                .map(|(&a, &b)| Circle::new((a, b), 5, colour.filled())),
        )?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(BG.mix(0.9))
            .border_style(GRID)
            .label_font(font(13.0, &FG))
            .draw()?;
        Ok(())
    })?;
    let chart_id = format!("size-{}", id.replace('/', "-"));
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.n.to_string(),
                si(p.work),
                format_seconds(p.median_s),
                format_rate(p.work / p.median_s, unit),
            ]
        })
        .collect();
    let notes = if fit.b.is_finite() {
        format!(
            "<p class=\"chart-note\">Least-squares fit of log time against log size: exponent {:.2}, R² {:.3}. An exponent of 1 means the time per {} stays constant as the problem grows; more than 1 means larger problems cost more per unit (often: they no longer fit in a cache).</p>",
            fit.b,
            fit.r_squared,
            escape_html(unit.trim_end_matches('s'))
        )
    } else {
        String::new()
    };
    Ok(Chart {
        svg: finish_svg(&svg, &chart_id, &title, &desc),
        table: table(
            &format!("{id}: median time by problem size"),
            &["n", &format!("Work ({unit})"), "Median", "Throughput"],
            &rows,
        ),
        id: chart_id,
        title,
        desc,
        notes,
    })
}

// ---------------------------------------------------------------------------------------
// Roofline
// ---------------------------------------------------------------------------------------

/// One measured variant on the roofline.
#[derive(Debug, Clone, PartialEq)]
pub struct RoofPoint {
    pub id: String,
    pub kernel: String,
    /// Flops per byte moved to or from memory.
    pub intensity: f64,
    pub gflops: f64,
}

impl RoofPoint {
    /// A record's point, if it counts both flops and bytes.
    pub fn of(r: &Record) -> Option<RoofPoint> {
        let (flops, bytes) = (r.flops?, r.bytes?);
        (flops > 0.0 && bytes > 0.0).then(|| RoofPoint {
            id: r.id.clone(),
            kernel: r.kernel.clone(),
            intensity: flops / bytes,
            gflops: flops / r.summary.median / 1e9,
        })
    }
}

/// The machine's two roofs, from the probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roofs {
    /// Memory bandwidth in GB/s (stream-triad, all threads: bytes / median).
    pub bandwidth_gbs: f64,
    /// Peak compute in GFLOP/s (fma-peak, all threads: flops / median).
    pub peak_gflops: f64,
}

impl Roofs {
    /// Attainable GFLOP/s at an intensity: min(peak, bandwidth × intensity).
    pub fn attainable(&self, intensity: f64) -> f64 {
        self.peak_gflops.min(self.bandwidth_gbs * intensity)
    }

    /// The intensity where the roofs meet (flop/byte).
    pub fn ridge(&self) -> f64 {
        self.peak_gflops / self.bandwidth_gbs
    }
}

/// `{{#chart roofline}}`: the bandwidth and compute roofs from the probes, and every variant
/// of the kernels that count flops and bytes, placed by arithmetic intensity (log–log).
pub fn roofline(roofs: Roofs, points: &[RoofPoint]) -> Result<Chart, String> {
    if !(roofs.bandwidth_gbs > 0.0 && roofs.peak_gflops > 0.0) {
        return Err("the stream-triad and fma-peak probes have not been measured".into());
    }
    let title = "Roofline of this machine".to_string();
    let mut kernels: Vec<&str> = points.iter().map(|p| p.kernel.as_str()).collect();
    kernels.sort();
    kernels.dedup();
    let best: Vec<&RoofPoint> = kernels
        .iter()
        .filter_map(|k| {
            points
                .iter()
                .filter(|p| p.kernel == *k)
                .max_by(|a, b| a.gflops.total_cmp(&b.gflops))
        })
        .collect();
    let ridge = roofs.ridge();
    let xs = points.iter().map(|p| p.intensity).chain([ridge]);
    let (x0, x1) = decades(
        xs.clone().fold(f64::INFINITY, f64::min) / 3.0,
        xs.fold(0.0, f64::max) * 3.0,
    );
    let ys = points
        .iter()
        .map(|p| p.gflops)
        .chain([roofs.peak_gflops, roofs.bandwidth_gbs * x0]);
    let (y0, y1) = decades(
        ys.clone().fold(f64::INFINITY, f64::min) / 2.0,
        ys.fold(0.0, f64::max) * 2.0,
    );
    let bound = |p: &RoofPoint| {
        if p.intensity < ridge {
            "memory-bound"
        } else {
            "compute-bound"
        }
    };
    let desc = format!(
        "Log–log roofline: attainable GFLOP/s against arithmetic intensity (flop per byte). Memory bandwidth {} GB/s (stream-triad) and peak {} GFLOP/s (fma-peak) meet at {} flop/byte. {}",
        format_value(roofs.bandwidth_gbs),
        format_value(roofs.peak_gflops),
        format_value(ridge),
        best.iter()
            .map(|p| format!(
                "Best {}: {} at {} flop/byte, {} GFLOP/s ({}, {:.0}% of its roof).",
                p.kernel,
                p.id,
                format_value(p.intensity),
                format_value(p.gflops),
                bound(p),
                100.0 * p.gflops / roofs.attainable(p.intensity)
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let svg = draw(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(17.0, &FG))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(
                (x0..x1).log_scale().with_key_points(log_ticks(x0, x1)),
                (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            )?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .x_desc("Arithmetic intensity (flop per byte, log scale)")
            .y_desc("Performance (GFLOP/s, log scale)")
            .axis_style(FG)
            .bold_line_style(GRID)
            .light_line_style(GRID.mix(0.35))
            .max_light_lines(4)
            .label_style(font(13.0, &FG))
            .axis_desc_style(font(13.0, &FG))
            .draw()?;
        let roof = vec![
            (x0, roofs.attainable(x0)),
            (ridge, roofs.peak_gflops),
            (x1, roofs.peak_gflops),
        ];
        chart.draw_series(LineSeries::new(roof, FG.stroke_width(2)))?;
        // The bandwidth label halfway up the slope (geometrically), left of the line.
        let mid = (x0.max(x0 * 1.5) * ridge).sqrt();
        chart.draw_series([
            EmptyElement::at((mid, roofs.attainable(mid)))
                + Text::new(
                    format!(
                        "{} GB/s memory bandwidth",
                        format_value(roofs.bandwidth_gbs)
                    ),
                    (-8, -4),
                    font(12.0, &FG).pos(Pos::new(HPos::Right, VPos::Bottom)),
                ),
            EmptyElement::at((x1, roofs.peak_gflops))
                + Text::new(
                    format!("{} GFLOP/s peak", format_value(roofs.peak_gflops)),
                    (-6, -6),
                    font(12.0, &FG).pos(Pos::new(HPos::Right, VPos::Bottom)),
                ),
        ])?;
        for (k, kernel) in kernels.iter().enumerate() {
            let colour = SERIES[k % SERIES.len()];
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p.kernel == *kernel)
                        .map(|p| Circle::new((p.intensity, p.gflops), 5, colour.filled())),
                )?
                .label(kernel.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
        }
        chart.draw_series(best.iter().map(|p| {
            // Labels of points in the right quarter go to their left, inside the drawing.
            let along = (p.intensity / x0).ln() / (x1 / x0).ln();
            let (dx, h) = if along > 0.75 {
                (-9, HPos::Right)
            } else {
                (9, HPos::Left)
            };
            EmptyElement::at((p.intensity, p.gflops))
                + Text::new(
                    p.id.clone(),
                    (dx, 0),
                    font(12.0, &FG).pos(Pos::new(h, VPos::Center)),
                )
        }))?;
        if !kernels.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(BG.mix(0.9))
                .border_style(GRID)
                .label_font(font(13.0, &FG))
                .draw()?;
        }
        Ok(())
    })?;
    let mut sorted: Vec<&RoofPoint> = points.iter().collect();
    sorted.sort_by(|a, b| a.kernel.cmp(&b.kernel).then(b.gflops.total_cmp(&a.gflops)));
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                format_value(p.intensity),
                format_value(p.gflops),
                format!("{:.0}%", 100.0 * p.gflops / roofs.attainable(p.intensity)),
                bound(p).to_string(),
            ]
        })
        .collect();
    let notes = format!(
        "<p class=\"chart-note\">The roofs are this machine's measured limits on all cores: memory bandwidth {} GB/s from <code>stream-triad/all-threads</code> (24 bytes per element over arrays larger than the caches) and peak {} GFLOP/s from <code>fma-peak/all-threads</code>. A kernel left of the ridge point ({} flop/byte) cannot go faster than memory delivers its data; right of it, only more arithmetic per second helps.</p>",
        format_value(roofs.bandwidth_gbs),
        format_value(roofs.peak_gflops),
        format_value(ridge)
    );
    Ok(Chart {
        svg: finish_svg(&svg, "roofline", &title, &desc),
        table: table(
            "Each variant's arithmetic intensity and performance",
            &["Variant", "Flop/byte", "GFLOP/s", "% of roof", "Region"],
            &rows,
        ),
        id: "roofline".into(),
        title,
        desc,
        notes,
    })
}

// ---------------------------------------------------------------------------------------
// From the store: what each chart needs, and drawing it from the records
// ---------------------------------------------------------------------------------------

/// What a chart reads besides the store.
pub struct ChartInputs<'a> {
    pub store: &'a crate::store::Store,
    pub cores: usize,
    /// Python rungs known here, and why the Python side is unavailable if it is.
    pub py: &'a crate::python::Rungs,
    pub py_unavailable: Option<&'a str>,
}

fn record_id(r: &MeasureRef, problem: crate::worker::ProblemSpec) -> Need {
    RecordId {
        id: r.id.clone(),
        threads: r.threads,
        problem,
    }
}

fn default_need(r: &MeasureRef) -> Need {
    record_id(r, r.kernel.default_problem.into())
}

fn kernel_named(name: &str) -> Result<&'static perfguide_kernels::Kernel, String> {
    crate::worker::all_kernels()
        .into_iter()
        .find(|k| k.name == name)
        .ok_or_else(|| {
            format!(
                "no kernel '{name}'; the kernels are: {}",
                crate::worker::all_kernels()
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The rungs of a ladder: the kernel's Python rungs known here (ladder order), then its Rust
/// variants, each at its default thread count.
fn ladder_refs(
    kernel: &str,
    cores: usize,
    py: &crate::python::Rungs,
) -> Result<Vec<MeasureRef>, String> {
    if kernel.contains('/') {
        return Err(format!(
            "{{{{#chart ladder}}}} takes a kernel, not a variant: write {{{{#chart ladder {}}}}}",
            kernel.split('/').next().unwrap_or(kernel)
        ));
    }
    let k = kernel_named(kernel)?;
    py.of_kernel(kernel)
        .into_iter()
        .chain(k.variants.iter().map(|v| format!("{kernel}/{}", v.name)))
        .map(|id| resolve_ref(&id, cores))
        .collect()
}

/// The threaded variants a scaling chart shows: the one named, or every threaded variant of
/// a kernel.
fn scaling_ids(arg: &str) -> Result<Vec<String>, String> {
    let base = arg.split('@').next().unwrap_or(arg);
    if base != arg {
        return Err(format!(
            "{{{{#chart scaling}}}} sweeps the thread count itself; write {base} without @"
        ));
    }
    if let Some((k, v)) = base.split_once('/') {
        let kernel = kernel_named(k)?;
        let variant = kernel
            .variant(v)
            .ok_or_else(|| format!("kernel '{k}' has no variant '{v}'"))?;
        if !variant.threaded {
            return Err(format!(
                "{base} is not threaded, so it has no scaling curve; threaded variants of {k}: {}",
                kernel
                    .variants
                    .iter()
                    .filter(|v| v.threaded)
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(vec![base.to_string()])
    } else {
        let kernel = kernel_named(base)?;
        let ids: Vec<String> = kernel
            .variants
            .iter()
            .filter(|v| v.threaded)
            .map(|v| format!("{base}/{}", v.name))
            .collect();
        if ids.is_empty() {
            return Err(format!("{base} has no threaded variant"));
        }
        Ok(ids)
    }
}

/// The problems of a size sweep: the default problem with `n` scaled by [`SIZE_FRACTIONS`].
fn size_problems(kernel: &perfguide_kernels::Kernel) -> Vec<crate::worker::ProblemSpec> {
    let d: crate::worker::ProblemSpec = kernel.default_problem.into();
    SIZE_FRACTIONS
        .iter()
        .map(|(num, den)| crate::worker::ProblemSpec {
            n: (d.n * num / den).max(1),
            ..d
        })
        .collect()
}

/// The probes that give the roofs, and every variant of the kernels that count bytes.
fn roofline_refs(cores: usize) -> Result<(MeasureRef, MeasureRef, Vec<MeasureRef>), String> {
    let points = perfguide_kernels::kernels()
        .iter()
        .filter(|k| k.name != PEAK_PROBE && (k.bytes)(&k.default_problem).is_some())
        .flat_map(|k| {
            k.variants
                .iter()
                .map(move |v| format!("{}/{}", k.name, v.name))
        })
        .filter_map(|id| resolve_ref(&id, cores).ok())
        .collect();
    Ok((
        resolve_ref(BANDWIDTH_PROBE_ID, cores)?,
        resolve_ref(PEAK_PROBE_ID, cores)?,
        points,
    ))
}

const PEAK_PROBE: &str = "fma-peak";
const BANDWIDTH_PROBE_ID: &str = "stream-triad/all-threads";
const PEAK_PROBE_ID: &str = "fma-peak/all-threads";

/// The records `{{#chart KIND ARG}}` needs.
pub fn needs(
    kind: &str,
    arg: Option<&str>,
    cores: usize,
    py: &crate::python::Rungs,
) -> Result<Vec<Need>, String> {
    let arg_or = |what: &str| arg.ok_or_else(|| format!("{{{{#chart {kind}}}}} needs {what}"));
    match kind {
        "ladder" => Ok(ladder_refs(arg_or("a kernel")?, cores, py)?
            .iter()
            .map(default_need)
            .collect()),
        "scaling" => {
            let mut out = Vec::new();
            for id in scaling_ids(arg_or("a kernel or kernel/variant")?)? {
                let r = resolve_ref(&id, cores)?;
                for t in thread_sweep(cores) {
                    out.push(RecordId {
                        threads: t,
                        ..default_need(&r)
                    });
                }
            }
            Ok(out)
        }
        "size" => {
            let r = resolve_ref(arg_or("a kernel/variant")?, cores)?;
            if crate::python::is_python_id(&r.id) {
                return Err(format!(
                    "{}: size sweeps are measured for Rust variants",
                    r.id
                ));
            }
            Ok(size_problems(r.kernel)
                .into_iter()
                .map(|p| record_id(&r, p))
                .collect())
        }
        "roofline" => {
            let (b, p, points) = roofline_refs(cores)?;
            Ok([b, p].iter().chain(&points).map(default_need).collect())
        }
        // Images are computed by the profile and image stage, not measured.
        "image" => crate::images::need_of(arg_or("a kernel")?).map(|_| Vec::new()),
        other => Err(format!(
            "unknown chart kind '{other}'; use ladder, scaling, size, roofline or image"
        )),
    }
}

fn stored<'a>(inputs: &ChartInputs<'a>, need: &Need) -> Result<&'a Record, String> {
    inputs.store.get(need).ok_or_else(|| {
        format!(
            "no measurement of {} with {} thread(s) (n = {}) in the store; run `perfguide build` (not --frozen) to measure it",
            need.id, need.threads, need.problem.n
        )
    })
}

/// Draws `{{#chart KIND ARG}}` (all kinds but `image`) from the store.
pub fn from_store(
    kind: &str,
    arg: Option<&str>,
    inputs: &ChartInputs<'_>,
) -> Result<Chart, String> {
    let arg_or = |what: &str| arg.ok_or_else(|| format!("{{{{#chart {kind}}}}} needs {what}"));
    match kind {
        "ladder" => {
            let kernel = arg_or("a kernel")?;
            let k = kernel_named(kernel)?;
            let mut rungs = Vec::new();
            let mut missing = Vec::new();
            for r in ladder_refs(kernel, inputs.cores, inputs.py)? {
                match inputs.store.get(&default_need(&r)) {
                    Some(rec) => rungs.push(Rung::of(rec)),
                    None if crate::python::is_python_id(&r.id) => {
                        let why = inputs
                            .py
                            .unavailable
                            .get(&r.id)
                            .cloned()
                            .or_else(|| inputs.py_unavailable.map(str::to_string))
                            .unwrap_or_else(|| "not measured on this machine".into());
                        missing.push((r.id.clone(), why));
                    }
                    None => {
                        stored(inputs, &default_need(&r))?;
                    }
                }
            }
            ladder(kernel, k.work_unit, &rungs, &missing)
        }
        "scaling" => {
            let arg = arg_or("a kernel or kernel/variant")?;
            let mut series = Vec::new();
            for id in scaling_ids(arg)? {
                let r = resolve_ref(&id, inputs.cores)?;
                let mut points = Vec::new();
                for t in thread_sweep(inputs.cores) {
                    let rec = stored(
                        inputs,
                        &RecordId {
                            threads: t,
                            ..default_need(&r)
                        },
                    )?;
                    points.push(ScalingPoint {
                        threads: t,
                        median_s: rec.summary.median,
                        per_thread_work: rec.per_thread_work.clone(),
                        busy: rec.busy.is_some() && t <= inputs.cores,
                    });
                }
                series.push(ScalingSeries { id, points });
            }
            scaling(arg, &series, inputs.cores)
        }
        "size" => {
            let r = resolve_ref(arg_or("a kernel/variant")?, inputs.cores)?;
            let mut points = Vec::new();
            for p in size_problems(r.kernel) {
                let rec = stored(inputs, &record_id(&r, p))?;
                points.push(SizePoint {
                    work: rec.work,
                    n: p.n,
                    median_s: rec.summary.median,
                });
            }
            size(&r.id, r.kernel.work_unit, &points)
        }
        "roofline" => {
            let (b, p, refs) = roofline_refs(inputs.cores)?;
            let triad = stored(inputs, &default_need(&b))?;
            let fma = stored(inputs, &default_need(&p))?;
            let roofs = Roofs {
                bandwidth_gbs: triad.bytes.unwrap_or(0.0) / triad.summary.median / 1e9,
                peak_gflops: fma.gflops().unwrap_or(0.0),
            };
            let mut points = Vec::new();
            for r in &refs {
                if let Some(pt) = RoofPoint::of(stored(inputs, &default_need(r))?) {
                    points.push(pt);
                }
            }
            roofline(roofs, &points)
        }
        other => Err(format!(
            "unknown chart kind '{other}'; use ladder, scaling, size, roofline or image"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made record: `median` seconds per run, the rest fixed.
    fn record(id: &str, threads: usize, median: f64, work: f64) -> Record {
        let summary = crate::stats::summarize(&[median * 0.99, median, median * 1.01]).unwrap();
        Record {
            threads,
            work_unit: "pixels".into(),
            work,
            summary,
            cpu_per_wall: threads as f64,
            ..Record::example(id, vec![median])
        }
    }

    #[test]
    fn ladder_snapshot() {
        let rungs: Vec<Rung> = [
            ("mandelbrot/py-naive", 1, 3.26),
            ("mandelbrot/py-numpy", 1, 1.41),
            ("mandelbrot/naive", 1, 0.12),
            ("mandelbrot/scalar", 1, 0.097),
            ("mandelbrot/simd-avx512", 1, 0.0061),
            ("mandelbrot/rayon-simd", 2, 0.0029),
        ]
        .iter()
        .map(|(id, t, m)| Rung::of(&record(id, *t, *m, 1e6)))
        .collect();
        let chart = ladder(
            "mandelbrot",
            "pixels",
            &rungs,
            &[(
                "mandelbrot/py-numba".into(),
                "numba is not installed".into(),
            )],
        )
        .unwrap();
        assert!(chart.svg.contains("role=\"img\""));
        assert!(
            chart
                .svg
                .contains("<title id=\"chart-ladder-mandelbrot-title\">")
        );
        assert!(chart.html().contains("<details class=\"data-table\">"));
        assert!(chart.notes.contains("numba is not installed"));
        insta::assert_snapshot!(chart.html());
    }

    #[test]
    fn scaling_snapshot() {
        let mk = |id: &str, medians: &[f64], work: &[&[u64]]| ScalingSeries {
            id: id.into(),
            points: medians
                .iter()
                .zip(work)
                .enumerate()
                .map(|(i, (&m, w))| ScalingPoint {
                    threads: i + 1,
                    median_s: m,
                    per_thread_work: w.to_vec(),
                    busy: false,
                })
                .collect(),
        };
        let s = vec![
            mk(
                "julia/static-blocks",
                &[0.06, 0.031, 0.042, 0.033],
                &[&[24], &[12, 12], &[3, 18, 3], &[2, 10, 10, 2]],
            ),
            mk(
                "julia/dynamic",
                &[0.06, 0.0305, 0.0312, 0.0309],
                &[&[24], &[12, 12], &[8, 8, 8], &[6, 6, 6, 6]],
            ),
        ];
        let chart = scaling("julia", &s, 2).unwrap();
        assert!(chart.notes.contains("Imbalance"));
        assert!(
            chart.desc.contains("julia/dynamic reaches 1.97×"),
            "{}",
            chart.desc
        );
        insta::assert_snapshot!(chart.html());
        assert_eq!(thread_sweep(2), vec![1, 2, 3, 4]);
        assert_eq!(thread_sweep(8).len(), 8);
        assert_eq!(imbalance(&[3, 18, 3]), Some(2.25));
    }

    #[test]
    fn size_snapshot() {
        let points: Vec<SizePoint> = [
            (125u64, 0.0121),
            (250, 0.0243),
            (500, 0.0490),
            (1000, 0.097),
        ]
        .iter()
        .map(|&(n, t)| SizePoint {
            work: n as f64 * 1000.0,
            n,
            median_s: t,
        })
        .collect();
        let chart = size("mandelbrot/scalar", "pixels", &points).unwrap();
        assert!(chart.desc.contains("exponent is 1.00"), "{}", chart.desc);
        insta::assert_snapshot!(chart.html());
        assert!(size("x/y", "items", &points[..1]).is_err());
    }

    #[test]
    fn roofline_snapshot() {
        let mut triad = record("stream-triad/all-threads", 2, 0.0125, 1.0);
        triad.kernel = "stream-triad".into();
        triad.flops = Some(2.0 * 16_777_216.0);
        triad.bytes = Some(24.0 * 16_777_216.0);
        let mut scalar = record("mandelbrot/scalar", 1, 0.097, 1e6);
        scalar.flops = Some(8.0 * 47_554_280.0);
        scalar.bytes = Some(4e6);
        let mut fast = scalar.clone();
        fast.id = "mandelbrot/rayon-simd".into();
        fast.summary.median = 0.0029;
        let roofs = Roofs {
            bandwidth_gbs: triad.bytes.unwrap() / triad.summary.median / 1e9,
            peak_gflops: 250.0,
        };
        let points: Vec<RoofPoint> = [&triad, &scalar, &fast]
            .iter()
            .filter_map(|r| RoofPoint::of(r))
            .collect();
        assert_eq!(points.len(), 3);
        // The triad sits on the bandwidth roof by construction; the fractal is compute-bound.
        let t = &points[0];
        assert!((t.gflops - roofs.attainable(t.intensity)).abs() / t.gflops < 1e-12);
        assert!(points[2].intensity > roofs.ridge());
        let chart = roofline(roofs, &points).unwrap();
        assert!(
            chart
                .desc
                .contains("Best mandelbrot: mandelbrot/rayon-simd"),
            "{}",
            chart.desc
        );
        assert!(chart.desc.contains("compute-bound"));
        insta::assert_snapshot!(chart.html());
    }

    #[test]
    fn log_axes_get_round_ticks() {
        assert_eq!(log_ticks(1e5, 1e9), vec![1e5, 1e6, 1e7, 1e8, 1e9]);
        assert_eq!(log_ticks(0.008, 0.15), vec![0.01, 0.02, 0.05, 0.1]);
        let narrow = log_ticks(0.09, 0.2);
        assert!(narrow.len() >= 3 && narrow.contains(&0.1), "{narrow:?}");
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert_eq!(tick(1e6), "1M");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(250.0), "250");
    }

    #[test]
    fn charts_are_deterministic() {
        let pts = [
            SizePoint {
                work: 1.0,
                n: 1,
                median_s: 1.0,
            },
            SizePoint {
                work: 2.0,
                n: 2,
                median_s: 2.1,
            },
        ];
        assert_eq!(size("a/b", "items", &pts), size("a/b", "items", &pts));
    }
}
