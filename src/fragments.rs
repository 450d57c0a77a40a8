//! Measurement directives as HTML: `{{#bench}}`, `{{#measure}}`, `{{#speedup}}`,
//! `{{#claim}}`, `{{#machine}}`.
//!
//! Two passes over the same directives: [`needs`] lists the records a directive uses (the
//! plan), and [`MeasuredFragments`] renders them from the store once they exist. Rendering
//! only reads records, so two builds from the same store give byte-identical pages. Every
//! number links to the provenance of the record it came from.

use std::collections::BTreeSet;

use perfguide_kernels::Kernel;

use crate::build::DirectiveRenderer;
use crate::claim;
use crate::diag::SourceError;
use crate::directive::{Directive, Fragment, Located};
use crate::machine::Machine;
use crate::measure::Need;
use crate::render::escape_html;
use crate::store::{Record, RecordId, Store};
use crate::worker::{self, ProblemSpec};

/// A measurement id as written in a chapter: `kernel/variant` or `kernel/variant@threads`.
#[derive(Clone)]
pub struct MeasureRef {
    pub kernel: &'static Kernel,
    pub id: String,
    pub threads: usize,
}

/// Resolves `kernel/variant[@threads]`. Threaded variants default to every logical core.
pub fn resolve_ref(text: &str, cores: usize) -> Result<MeasureRef, String> {
    let (id, threads) = match text.split_once('@') {
        Some((id, t)) => {
            let t: usize = t
                .parse()
                .map_err(|_| format!("'{t}' in '{text}' is not a thread count"))?;
            if t == 0 {
                return Err(format!("'{text}': the thread count must be at least 1"));
            }
            (id, Some(t))
        }
        None => (text, None),
    };
    if crate::python::is_python_id(id) {
        // Python rungs are validated against the harness's list by the plan; their thread
        // count is the harness's choice (see store::RecordId).
        let kname = id.split('/').next().unwrap_or(id);
        let kernel = perfguide_kernels::kernels()
            .iter()
            .find(|k| k.name == kname)
            .ok_or_else(|| unknown_id_message(id))?;
        return Ok(MeasureRef {
            kernel,
            id: id.to_string(),
            threads: 0,
        });
    }
    let Some((kernel, variant)) = worker::find(id) else {
        return Err(unknown_id_message(id));
    };
    let threads = match threads {
        Some(t) if !variant.threaded && t != 1 => {
            return Err(format!("{id} is not threaded; write {id} without @{t}"));
        }
        Some(t) => t,
        None if variant.threaded => cores,
        None => 1,
    };
    Ok(MeasureRef {
        kernel,
        id: id.to_string(),
        threads,
    })
}

fn unknown_id_message(id: &str) -> String {
    let kernels = worker::all_kernels();
    match id.split_once('/') {
        Some((k, v)) => match kernels.iter().find(|kk| kk.name == k) {
            Some(kernel) => format!(
                "kernel '{k}' has no variant '{v}'; its variants are: {}",
                kernel
                    .variants
                    .iter()
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "no kernel '{k}'; the kernels are: {}",
                kernels
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        None => {
            format!("'{id}' is not a measurement id; write kernel/variant, e.g. mandelbrot/scalar")
        }
    }
}

fn need_of(r: &MeasureRef) -> Need {
    RecordId {
        id: r.id.clone(),
        threads: r.threads,
        problem: ProblemSpec::from(r.kernel.default_problem),
    }
}

/// The variants a `{{#bench}}` shows: the ones named, or the whole ladder.
fn bench_refs(
    kernel: &str,
    variants: &[String],
    cores: usize,
    py: &crate::python::Rungs,
) -> Result<Vec<MeasureRef>, String> {
    let k = worker::all_kernels()
        .into_iter()
        .find(|k| k.name == kernel)
        .ok_or_else(|| {
            unknown_id_message(&format!("{kernel}/x")).replace("has no variant 'x'", "is unknown")
        })?;
    let names: Vec<String> = if variants.is_empty() {
        // The whole ladder: the Python rungs (slowest first, as the harness lists them),
        // then the Rust variants.
        py.of_kernel(kernel)
            .into_iter()
            .chain(k.variants.iter().map(|v| v.name.to_string()))
            .collect()
    } else {
        variants.to_vec()
    };
    names
        .iter()
        .map(|v| {
            let text = if v.contains('/') {
                v.clone()
            } else {
                format!("{kernel}/{v}")
            };
            resolve_ref(&text, cores)
        })
        .collect()
}

/// Measurement ids mentioned in a claim.
fn claim_refs(expr: &claim::Expr, out: &mut Vec<String>) {
    match expr {
        claim::Expr::Call { args, .. } => out.extend(args.iter().cloned()),
        claim::Expr::Neg(e) | claim::Expr::Not(e) => claim_refs(e, out),
        claim::Expr::Binary { lhs, rhs, .. } => {
            claim_refs(lhs, out);
            claim_refs(rhs, out);
        }
        claim::Expr::Number(_) => {}
    }
}

/// The peak-compute probe used for "% of peak" (all threads).
const PEAK_KERNEL: &str = "fma-peak";

/// The records a directive needs; errors are positioned at the directive.
pub fn needs(
    d: &Located,
    cores: usize,
    py: &crate::python::Rungs,
) -> Result<Vec<Need>, SourceError> {
    let at = |m: String| d.error(m);
    let refs: Vec<MeasureRef> = match &d.directive {
        Directive::Bench { kernel, variants } => {
            bench_refs(kernel, variants, cores, py).map_err(at)?
        }
        Directive::Measure { id, .. } => vec![resolve_ref(id, cores).map_err(at)?],
        Directive::Speedup { fast, slow } => vec![
            resolve_ref(fast, cores).map_err(at)?,
            resolve_ref(slow, cores).map_err(at)?,
        ],
        Directive::Claim { expr } => {
            let parsed = claim::parse(expr).map_err(|e| {
                SourceError::new(d.origin.file.clone(), d.origin.line, format!("malformed claim: {}", e.message))
                    .column(d.column + "{{#claim ".len() + e.column - 1)
                    .help("a claim is a comparison such as speedup(mandelbrot/rayon, mandelbrot/scalar) > 1.5")
            })?;
            let mut ids = Vec::new();
            claim_refs(&parsed, &mut ids);
            let mut refs = ids
                .iter()
                .map(|i| resolve_ref(i, cores))
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            if expr.contains("peak(") {
                refs.extend(peak_refs(cores));
            }
            refs
        }
        Directive::Chart { kind, arg } => {
            return crate::charts::needs(kind, arg.as_deref(), cores, py).map_err(at);
        }
        Directive::Profile { id, mode } => {
            return crate::profile::record_needs(id, mode, cores).map_err(at);
        }
        _ => Vec::new(),
    };
    Ok(refs.iter().map(need_of).collect())
}

/// Records needed once the first ones exist: a bench table whose records count flops shows
/// "% of peak", which needs the peak probe. (Whether a kernel counts flops is only known from
/// its outcome, so this is a second planning round.)
pub fn derived_needs(
    d: &Located,
    cores: usize,
    store: &Store,
    py: &crate::python::Rungs,
) -> Vec<Need> {
    let Directive::Bench { kernel, variants } = &d.directive else {
        return Vec::new();
    };
    if kernel == PEAK_KERNEL {
        return Vec::new();
    }
    let Ok(refs) = bench_refs(kernel, variants, cores, py) else {
        return Vec::new();
    };
    let counts_flops = refs
        .iter()
        .filter_map(|r| store.get(&need_of(r)))
        .any(|r| r.flops.is_some());
    if counts_flops {
        peak_refs(cores).iter().map(need_of).collect()
    } else {
        Vec::new()
    }
}

fn peak_refs(cores: usize) -> Vec<MeasureRef> {
    worker::all_kernels()
        .into_iter()
        .filter(|k| k.name == PEAK_KERNEL)
        .flat_map(|k| k.variants.iter().map(move |v| (k, v)))
        .filter_map(|(k, v)| resolve_ref(&format!("{}/{}", k.name, v.name), cores).ok())
        .collect()
}

/// Renders measurement directives from the store.
pub struct MeasuredFragments<'a> {
    pub store: &'a Store,
    pub cores: usize,
    /// The Python rungs known here, and why the Python side is unavailable if it is.
    pub py: crate::python::Rungs,
    pub py_unavailable: Option<String>,
    /// Runs `{{#run}}` programs (src/run.rs); `None` makes them an error.
    pub runner: Option<crate::run::Runner>,
    /// Provenance entries already emitted on the current page (anchors must be unique).
    pub emitted: BTreeSet<String>,
    /// The current page's site-relative path, for links to files fragments add.
    pub page_path: String,
    /// Files fragments added to the site (flame graphs, fractal images).
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl<'a> MeasuredFragments<'a> {
    pub fn new(store: &'a Store, cores: usize) -> Self {
        MeasuredFragments {
            store,
            cores,
            py: crate::python::Rungs::default(),
            py_unavailable: None,
            runner: None,
            emitted: BTreeSet::new(),
            page_path: String::new(),
            files: std::collections::BTreeMap::new(),
        }
    }

    fn record(&self, r: &MeasureRef) -> Result<&'a Record, String> {
        self.store.get(&need_of(r)).ok_or_else(|| {
            format!(
                "no measurement of {} with {} thread(s) in the store; run `perfguide build` (not --frozen) to measure it",
                r.id, r.threads
            )
        })
    }

    /// The machine's measured peak GFLOP/s (best fma-peak record), if measured.
    fn peak_gflops(&self) -> Option<f64> {
        peak_refs(self.cores)
            .iter()
            .filter_map(|r| self.record(r).ok())
            .filter_map(Record::gflops)
            .max_by(f64::total_cmp)
    }

    fn value(&self, func: &str, args: &[String]) -> Result<f64, String> {
        let rec = |i: usize| -> Result<&Record, String> {
            let r = resolve_ref(&args[i], self.cores)?;
            self.record(&r)
        };
        match func {
            "speedup" => Ok(rec(1)?.summary.median / rec(0)?.summary.median),
            "median" => Ok(rec(0)?.summary.median),
            "min" => Ok(rec(0)?.summary.min),
            "first_call" => Ok(rec(0)?.first_call_s),
            "cpu_per_wall" => Ok(rec(0)?.cpu_per_wall),
            "throughput" => Ok(rec(0)?.throughput()),
            "gflops" => rec(0)?
                .gflops()
                .ok_or_else(|| format!("{} has no flop count", args[0])),
            "peak" => {
                let g = rec(0)?
                    .gflops()
                    .ok_or_else(|| format!("{} has no flop count", args[0]))?;
                let peak = self
                    .peak_gflops()
                    .ok_or("the fma-peak probe has not been measured")?;
                Ok(g / peak)
            }
            other => Err(format!("unknown function {other}")),
        }
    }
}

impl claim::Values for MeasuredFragments<'_> {
    fn value(&self, func: &str, args: &[String]) -> Result<f64, String> {
        MeasuredFragments::value(self, func, args)
    }
}

impl DirectiveRenderer for MeasuredFragments<'_> {
    fn start_page(&mut self) {
        self.emitted.clear();
    }

    fn set_page_path(&mut self, path: &str) {
        self.page_path = path.to_string();
    }

    fn take_files(&mut self) -> std::collections::BTreeMap<String, Vec<u8>> {
        std::mem::take(&mut self.files)
    }

    fn render(&mut self, d: &Located) -> Result<Fragment, SourceError> {
        let at = |m: String| d.error(m);
        match &d.directive {
            Directive::Bench { kernel, variants } => {
                let refs = bench_refs(kernel, variants, self.cores, &self.py).map_err(at)?;
                let mut rows = Vec::with_capacity(refs.len() + 1);
                // A whole ladder of a kernel with Python rungs that cannot be listed here
                // says so in one row rather than silently showing only Rust.
                if variants.is_empty()
                    && crate::plan::PYTHON_KERNELS.contains(&kernel.as_str())
                    && self.py.of_kernel(kernel).is_empty()
                    && let Some(reason) = self
                        .py
                        .kernels_unavailable
                        .get(kernel.as_str())
                        .cloned()
                        .or_else(|| self.py_unavailable.clone())
                {
                    rows.push(Row::NotHere(format!("{kernel}/py-*"), reason));
                }
                for r in &refs {
                    match (self.record(r), self.python_reason(&r.id)) {
                        (Ok(rec), _) => rows.push(Row::Measured(rec)),
                        (Err(_), Some(reason)) => rows.push(Row::NotHere(r.id.clone(), reason)),
                        (Err(e), None) => return Err(at(e)),
                    }
                }
                Ok(self.bench_table(kernel, &rows))
            }
            Directive::Measure { id, stat } => {
                let r = resolve_ref(id, self.cores).map_err(at)?;
                let rec = self.record(&r).map_err(at)?;
                let text = stat_text(rec, stat, self.peak_gflops()).map_err(at)?;
                Ok(inline_value(&text, rec))
            }
            Directive::Speedup { fast, slow } => {
                let f = self
                    .record(&resolve_ref(fast, self.cores).map_err(at)?)
                    .map_err(at)?;
                let s = self
                    .record(&resolve_ref(slow, self.cores).map_err(at)?)
                    .map_err(at)?;
                let ratio = s.summary.median / f.summary.median;
                let text = format!("{}×", claim::format_value(ratio));
                Ok(Fragment {
                    html: format!(
                        "<span class=\"measure\" title=\"median {} / median {}, measured on {}\"><a href=\"#{}\">{}</a></span>",
                        escape_html(&s.id),
                        escape_html(&f.id),
                        escape_html(f.date()),
                        provenance_anchor(f),
                        escape_html(&text)
                    ),
                    text,
                })
            }
            Directive::Claim { expr } => {
                let parsed = claim::parse(expr)
                    .map_err(|e| at(format!("malformed claim: {}", e.message)))?;
                let verdict = claim::evaluate(&parsed, self).map_err(at)?;
                if !verdict.holds {
                    return Err(at(format!(
                        "claim does not hold on this machine: {expr}\n  measured: {}",
                        verdict.values.join("; ")
                    ))
                    .help("change the prose and the claim to what was measured, or find out why the measurement changed"));
                }
                Ok(Fragment {
                    html: format!(
                        "<span class=\"claim\" role=\"img\" aria-label=\"checked by the build\" title=\"checked by the build: {}\">✓</span>",
                        escape_html(&verdict.values.join("; "))
                    ),
                    text: String::new(),
                })
            }
            Directive::Machine => Ok(self.machine_table()),
            Directive::Run { .. } => crate::run::render(self.runner.as_mut(), d),
            Directive::Profile { id, mode } => {
                let (fragment, files) = crate::profile::render_directive(
                    self.store,
                    id,
                    mode,
                    self.cores,
                    &self.page_path,
                )
                .map_err(at)?;
                self.files.extend(files);
                Ok(fragment)
            }
            Directive::Chart {
                kind,
                arg: Some(arg),
            } if kind == "image" => {
                let (fragment, files) =
                    crate::images::render_directive(self.store.dir(), arg, &self.page_path)
                        .map_err(at)?;
                self.files.extend(files);
                Ok(fragment)
            }
            Directive::Chart { kind, arg } => {
                let inputs = crate::charts::ChartInputs {
                    store: self.store,
                    cores: self.cores,
                    py: &self.py,
                    py_unavailable: self.py_unavailable.as_deref(),
                };
                let chart = crate::charts::from_store(kind, arg.as_deref(), &inputs).map_err(at)?;
                Ok(Fragment {
                    html: chart.html(),
                    text: chart.title,
                })
            }
        }
    }
}

/// A row of a bench table: a record, or a Python rung that could not be measured here.
enum Row<'a> {
    Measured(&'a Record),
    NotHere(String, String),
}

impl MeasuredFragments<'_> {
    /// Why a Python rung has no record here, if it is one.
    fn python_reason(&self, id: &str) -> Option<String> {
        if !crate::python::is_python_id(id) {
            return None;
        }
        self.py
            .unavailable
            .get(id)
            .cloned()
            .or_else(|| self.py_unavailable.clone())
            .or_else(|| Some("not measured on this machine".into()))
    }

    fn bench_table(&mut self, kernel: &str, rows: &[Row<'_>]) -> Fragment {
        let records: Vec<&Record> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Measured(rec) => Some(*rec),
                Row::NotHere(..) => None,
            })
            .collect();
        let Some(base) = records.first() else {
            return Fragment {
                html: String::new(),
                text: String::new(),
            };
        };
        let peak = self.peak_gflops();
        let has_gflops = records.iter().any(|r| r.gflops().is_some());
        let mut html = String::new();
        html.push_str(&format!(
            "<figure class=\"bench\" id=\"bench-{k}\">\n<table class=\"bench\">\n<caption>{k}: median time per run ({} {}), on {}</caption>\n<thead><tr><th scope=\"col\">Variant</th><th scope=\"col\">Threads</th><th scope=\"col\">Median</th><th scope=\"col\">95% CI</th><th scope=\"col\">Speed-up</th><th scope=\"col\">Throughput</th>{}<th scope=\"col\">Check</th></tr></thead>\n<tbody>\n",
            escape_html(&base.work_unit_count()),
            escape_html(&base.work_unit),
            escape_html(&base.machine.short()),
            if has_gflops { "<th scope=\"col\">GFLOP/s</th><th scope=\"col\">% of peak</th>" } else { "" },
            k = escape_html(kernel),
        ));
        let columns = 7 + if has_gflops { 2 } else { 0 };
        for row in rows {
            let r = match row {
                Row::Measured(r) => *r,
                Row::NotHere(id, reason) => {
                    html.push_str(&format!(
                        "<tr class=\"not-measured\"><th scope=\"row\"><code>{}</code></th><td colspan=\"{}\">not measured here: {}</td></tr>\n",
                        escape_html(id.split('/').nth(1).unwrap_or(id)),
                        columns - 1,
                        escape_html(reason)
                    ));
                    continue;
                }
            };
            let anchor = provenance_anchor(r);
            let speedup = base.summary.median / r.summary.median;
            let mut flags = String::new();
            if r.busy.is_some() {
                flags.push_str(" <span class=\"busy\" title=\"the machine was busy during this measurement\">busy</span>");
            }
            if let Some(spread) = r.process_spread {
                flags.push_str(&format!(
                    " <span class=\"varies\" title=\"its worker processes disagreed by {:.0}%, more than their sampling noise; the median pools them (see how it was measured)\">varies</span>",
                    100.0 * spread
                ));
            }
            if r.quick {
                flags.push_str(" <span class=\"stale\" title=\"measured with --quick: a short budget\">quick</span>");
            }
            let gflops_cells = if has_gflops {
                match (r.gflops(), peak) {
                    (Some(g), Some(p)) => format!(
                        "<td>{}</td><td>{:.0}%</td>",
                        claim::format_value(g),
                        100.0 * g / p
                    ),
                    (Some(g), None) => format!("<td>{}</td><td>–</td>", claim::format_value(g)),
                    _ => "<td>–</td><td>–</td>".to_string(),
                }
            } else {
                String::new()
            };
            html.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code>{flags}</th><td>{}</td><td><a href=\"#{anchor}\">{}</a></td><td>{}</td><td>{}×</td><td>{}</td>{gflops_cells}<td>✓ {}</td></tr>\n",
                escape_html(&r.variant),
                r.threads,
                format_seconds(r.summary.median),
                ci_cell(&r.summary),
                claim::format_value(speedup),
                format_rate(r.throughput(), &r.work_unit),
                escape_html(&r.check.summary),
            ));
        }
        html.push_str("</tbody>\n</table>\n");
        html.push_str("<figcaption><details class=\"provenance\"><summary>How these numbers were measured</summary>\n");
        for r in &records {
            html.push_str(&self.provenance(r));
        }
        html.push_str("</details></figcaption>\n</figure>\n");
        let text = records
            .iter()
            .map(|r| format!("{} {}", r.variant, format_seconds(r.summary.median)))
            .collect::<Vec<_>>()
            .join(", ");
        Fragment { html, text }
    }

    /// One record's provenance as a definition list, emitted once per page per record.
    fn provenance(&mut self, r: &Record) -> String {
        let anchor = provenance_anchor(r);
        if !self.emitted.insert(anchor.clone()) {
            return String::new();
        }
        let s = &r.summary;
        let mut rows = vec![
            (
                "Measured",
                format!(
                    "{} (UTC){}",
                    r.measured_at,
                    if r.quick { ", quick budget" } else { "" }
                ),
            ),
            (
                "Samples",
                format!(
                    "{} samples of {} run(s) each, after the checked first call and {} more warm-up run(s); median {}, MAD {}, min {}, max {}, {} {} – {}",
                    s.n,
                    r.iterations_per_sample,
                    r.warmup_runs,
                    format_seconds(s.median),
                    format_seconds(s.mad),
                    format_seconds(s.min),
                    format_seconds(s.max),
                    match s.ci_shortfall() {
                        None => "95% CI of the median".to_string(),
                        Some(c) => format!(
                            "range of the samples (a {:.0}% interval for the median: 95% needs 6 samples)",
                            100.0 * c
                        ),
                    },
                    format_seconds(s.ci_low),
                    format_seconds(s.ci_high)
                ),
            ),
            ("First call", format_seconds(r.first_call_s)),
            (
                "CPU / wall",
                format!("{:.2} with {} thread(s)", r.cpu_per_wall, r.threads),
            ),
            ("Machine", r.machine.short()),
            (
                "OS",
                format!("{}, kernel {}", r.machine.os, r.machine.kernel),
            ),
            ("Compiler", r.toolchain.rustc_release().to_string()),
            (
                "Build",
                format!(
                    "perfguide {} ({} profile; kernels at opt-level 3), {}",
                    r.toolchain.perfguide_version, r.toolchain.profile, r.toolchain.target
                ),
            ),
            (
                "SIMD path",
                r.simd_path
                    .clone()
                    .unwrap_or_else(|| "none (no dispatch)".into()),
            ),
            ("Result check", r.check.summary.clone()),
        ];
        if let Some(c) = &r.git_commit {
            rows.push(("Commit", c.clone()));
        }
        if let Some(p) = &r.cpu_speed {
            rows.push((
                "CPU speed",
                format!(
                    "{:.0}% of the best probe on this machine ({:.2} and {:.2} billion multiply-adds per second per thread before and after, {} thread{})",
                    100.0 * p.relative().min(1.0),
                    p.before / 1e9,
                    p.after / 1e9,
                    p.threads,
                    if p.threads == 1 { "" } else { "s" }
                ),
            ));
            if let Some(m) = &p.memory {
                rows.push((
                    "Memory speed",
                    format!(
                        "{:.0}% of the best read on this machine ({:.1} and {:.1} GB/s before and after)",
                        100.0 * m.relative().min(1.0),
                        m.before / 1e9,
                        m.after / 1e9,
                    ),
                ));
            }
        }
        if let Some(c) = &r.contention {
            rows.push((
                "Other load",
                format!(
                    "other processes used {:.2} cores on average while it was measured; the hypervisor took {:.1}% of the CPU time",
                    c.others_cores,
                    100.0 * c.steal
                ),
            ));
        }
        if !r.process_medians.is_empty() {
            let medians: Vec<String> = r
                .process_medians
                .iter()
                .map(|&m| format_seconds(m))
                .collect();
            rows.push((
                "Processes",
                match r.process_spread {
                    Some(spread) => format!(
                        "{} worker processes, medians {} ({:.0}% apart, more than their sampling noise: this variant's time depends on the process it runs in, so the samples are pooled)",
                        medians.len(),
                        medians.join(", "),
                        100.0 * spread
                    ),
                    None => format!(
                        "{} worker processes, medians {}, samples pooled",
                        medians.len(),
                        medians.join(", ")
                    ),
                },
            ));
        }
        if let Some(b) = &r.busy {
            rows.push(("Busy machine", b.clone()));
        }
        let mut html = format!(
            "<dl class=\"provenance\" id=\"{anchor}\"><dt class=\"provenance-id\">{} ({} thread{})</dt><dd></dd>",
            escape_html(&r.id),
            r.threads,
            if r.threads == 1 { "" } else { "s" }
        );
        for (k, v) in rows {
            html.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape_html(k),
                escape_html(&v)
            ));
        }
        html.push_str("</dl>\n");
        html
    }

    fn machine_table(&self) -> Fragment {
        // The most recent record describes the machine that measured this book; without any
        // record, the current machine.
        // The compiler comes from the newest Rust record (a Python record's "compiler" is
        // its interpreter), and the Python interpreter from the newest Python record.
        let newest = |language: Option<&str>| {
            self.store
                .records()
                .filter(|r| language.is_none_or(|l| r.language == l))
                .max_by(|a, b| a.measured_at.cmp(&b.measured_at))
        };
        let latest = newest(None);
        let python = newest(Some("python")).map(|r| r.toolchain.rustc_release().to_string());
        let (machine, rustc, date) = match latest {
            Some(r) => (
                r.machine.clone(),
                newest(Some("rust")).map_or_else(
                    || {
                        crate::machine::Toolchain::current()
                            .rustc_release()
                            .to_string()
                    },
                    |rr| rr.toolchain.rustc_release().to_string(),
                ),
                r.date().to_string(),
            ),
            None => (
                Machine::current(),
                crate::machine::Toolchain::current()
                    .rustc_release()
                    .to_string(),
                "not yet".into(),
            ),
        };
        let rows = [
            ("CPU", machine.cpu_model.clone()),
            (
                "Cores",
                format!(
                    "{} physical, {} logical",
                    machine.physical_cores, machine.logical_cores
                ),
            ),
            ("Memory", format!("{} GiB", machine.memory_gib)),
            (
                "Last-level cache",
                machine
                    .llc_bytes
                    .map_or("unknown".into(), |b| format!("{} MiB", b / (1024 * 1024))),
            ),
            ("SIMD", machine.simd.join(", ")),
            ("OS", format!("{} (kernel {})", machine.os, machine.kernel)),
            ("Compiler", rustc),
            ("Python", python.unwrap_or_else(|| "not used".into())),
            ("Last measured", date),
        ];
        let mut html = String::from(
            "<table class=\"machine\">\n<caption>The machine that measured this book</caption>\n<tbody>\n",
        );
        for (k, v) in &rows {
            html.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
                escape_html(k),
                escape_html(v)
            ));
        }
        html.push_str("</tbody>\n</table>\n");
        let text = rows
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        Fragment { html, text }
    }
}

impl Record {
    /// The amount of work of one run, for captions ("1000000 pixels").
    pub fn work_unit_count(&self) -> String {
        format!("{}", self.work)
    }
}

fn inline_value(text: &str, r: &Record) -> Fragment {
    let mut flags = String::new();
    if r.busy.is_some() {
        // A mark rather than the word, so the value still reads in a sentence.
        flags.push_str(
            "<sup class=\"busy-mark\" title=\"measured on a busy machine\" aria-label=\"measured on a busy machine\">†</sup>",
        );
    }
    Fragment {
        html: format!(
            "<span class=\"measure\" title=\"{}, measured on {}\"><a href=\"#{}\">{}</a>{flags}</span>",
            escape_html(&r.id),
            escape_html(r.date()),
            provenance_anchor(r),
            escape_html(text)
        ),
        text: text.to_string(),
    }
}

/// The table's "95% CI" cell. With fewer than 6 samples the interval is the samples' range
/// and covers the median with less than 95% confidence; the cell says so rather than let the
/// column heading claim 95%.
fn ci_cell(s: &crate::stats::Summary) -> String {
    let half = format!("±{:.1}%", 100.0 * s.ci_half_width_rel);
    match s.ci_shortfall() {
        None => half,
        Some(c) => format!(
            "{half} <span class=\"low-coverage\" title=\"{} samples: their range contains the median with {:.0}% confidence; a 95% interval needs 6\">({:.0}%)</span>",
            s.n,
            100.0 * c,
            100.0 * c
        ),
    }
}

/// The id of a record's provenance entry on the page.
pub fn provenance_anchor(r: &Record) -> String {
    format!("prov-{}-t{}", r.id.replace(['/', '.', '@'], "-"), r.threads)
}

/// The text of one statistic of a record.
pub fn stat_text(r: &Record, stat: &str, peak: Option<f64>) -> Result<String, String> {
    let s = &r.summary;
    Ok(match stat {
        "median" => format_seconds(s.median),
        "min" => format_seconds(s.min),
        "max" => format_seconds(s.max),
        "mean" => format_seconds(s.mean),
        "mad" => format_seconds(s.mad),
        "ci" => match s.ci_shortfall_note() {
            None => format!("±{:.1}%", 100.0 * s.ci_half_width_rel),
            Some(note) => format!("±{:.1}% ({note})", 100.0 * s.ci_half_width_rel),
        },
        "first-call" => format_seconds(r.first_call_s),
        "samples" => s.n.to_string(),
        "throughput" => format_rate(r.throughput(), &r.work_unit),
        "gflops" => format!(
            "{} GFLOP/s",
            claim::format_value(r.gflops().ok_or(format!("{} has no flop count", r.id))?)
        ),
        "gbps" => format!(
            "{} GB/s",
            claim::format_value(
                r.bytes.ok_or(format!("{} has no byte count", r.id))? / s.median / 1e9
            )
        ),
        "peak" => {
            let g = r.gflops().ok_or(format!("{} has no flop count", r.id))?;
            let p = peak.ok_or("the fma-peak probe has not been measured")?;
            format!("{:.0}%", 100.0 * g / p)
        }
        "cpu-per-wall" => format!("{:.2}", r.cpu_per_wall),
        "error" => match r.check.error {
            Some(e) => format!("{e:.1e}"),
            None => return Err(format!("{} reports no numerical error", r.id)),
        },
        "threads" => r.threads.to_string(),
        "simd" => r.simd_path.clone().unwrap_or_else(|| "none".into()),
        other => {
            return Err(format!(
                "unknown statistic '{other}'; use median, min, max, mean, mad, ci, first-call, samples, throughput, gflops, gbps, peak, cpu-per-wall, error, threads or simd"
            ));
        }
    })
}

/// Seconds with three significant digits in the most readable unit.
pub fn format_seconds(s: f64) -> String {
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    format!("{} {unit}", claim::format_value(v))
}

/// A rate with an SI prefix: "10.3 M pixels/s".
pub fn format_rate(per_s: f64, unit: &str) -> String {
    let (v, prefix) = if per_s >= 1e9 {
        (per_s / 1e9, "G")
    } else if per_s >= 1e6 {
        (per_s / 1e6, "M")
    } else if per_s >= 1e3 {
        (per_s / 1e3, "k")
    } else {
        (per_s, "")
    };
    format!("{} {prefix}{unit}/s", claim::format_value(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_format() {
        assert_eq!(format_seconds(0.0971), "97.1 ms");
        assert_eq!(format_seconds(3.26), "3.26 s");
        assert_eq!(format_seconds(2.9e-3), "2.90 ms");
        assert_eq!(format_seconds(4.2e-7), "420 ns");
        assert_eq!(format_seconds(1.5e-5), "15.0 µs");
    }

    #[test]
    fn rates_format() {
        assert_eq!(format_rate(1.03e7, "pixels"), "10.3 Mpixels/s");
        assert_eq!(format_rate(950.0, "walkers"), "950 walkers/s");
    }
}
