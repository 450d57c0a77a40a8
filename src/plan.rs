//! The plan and measure stages: which measurements the chapters need, which of them the
//! store already holds fresh, and measuring the rest — Rust variants in worker processes,
//! Python rungs through the harness.
//!
//! The Python side is prepared only when a chapter needs it (a `py-` id, or a whole ladder
//! of a kernel that has Python rungs), so books without Python never touch an interpreter.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::book::LoadedBook;
use crate::build::{BuildOptions, Prepared, cores, measure_options};
use crate::diag::SourceErrors;
use crate::directive::Directive;
use crate::fragments;
use crate::measure::{self, KeyContext, MeasureOptions, Need};
use crate::python::{self, Interpreter, Rungs};
use crate::store::Store;
use crate::worker::ProblemSpec;

/// Kernels that have Python rungs in `examples/python/`.
pub const PYTHON_KERNELS: &[&str] = &[
    "pi-integration",
    "pi-monte-carlo",
    "mandelbrot",
    "julia",
    "random-walk",
    "kmeans",
];

/// What the Python side offers in this build.
#[derive(Debug, Clone, Default)]
pub struct PythonSide {
    pub interp: Option<Interpreter>,
    pub rungs: Rungs,
    /// Why Python rungs cannot be measured here, when they cannot.
    pub unavailable: Option<String>,
}

/// The measurements a build renders from.
pub struct Measured {
    pub store: Store,
    pub python: PythonSide,
    /// With `stale_ok`: the needed records whose key no longer matches (shown as stale).
    pub stale: BTreeSet<Need>,
}

/// Plans and measures everything the chapters need. With `options.frozen` nothing is
/// measured and a missing or stale record is an error.
pub fn measured(
    book: &LoadedBook,
    prepared: &[Prepared<'_>],
    options: &BuildOptions,
) -> Result<Measured> {
    let cores = cores();
    let python = if !wants_python(prepared) {
        PythonSide::default()
    } else if let Some(cache) = &options.python_cache {
        cache
            .get_or_init(|| {
                if options.stale_ok {
                    python_side_as_is(book)
                } else {
                    python_side(book)
                }
            })
            .clone()
    } else if options.stale_ok {
        python_side_as_is(book)
    } else {
        python_side(book)
    };
    if options.require_python
        && let Some(why) = &python.unavailable
    {
        bail!("--require-python: the Python rungs cannot be measured here: {why}");
    }
    let needs = collect_needs(prepared, cores, &python.rungs)?;
    let mut store = Store::load(&book.config.measure_store(&book.root))?;
    let mopts = measure_options(book, options);
    let (py_needs, rust_needs): (BTreeSet<Need>, BTreeSet<Need>) =
        needs.into_iter().partition(|n| python::is_python_id(&n.id));
    let mut python = python;
    if options.stale_ok {
        // `perfguide serve`: render from the store as it is and never measure; the directive
        // renderer marks what is stale or missing (serve::StaleFragments).
        let keys = KeyContext::current(&book.root);
        let stale = stale_needs(book, &python, &rust_needs, &py_needs, &store, &keys);
        return Ok(Measured {
            store,
            python,
            stale,
        });
    }
    if !rust_needs.is_empty() || !py_needs.is_empty() {
        let keys = KeyContext::current(&book.root);
        measure_rust(
            prepared,
            &rust_needs,
            &mut store,
            &keys,
            &mopts,
            &python.rungs,
        )?;
        measure_python(book, &mut python, &py_needs, &mut store, &keys, &mopts)?;
    }
    // Profiles and fractal images, once the measurements they are shown beside exist.
    crate::profile::run_stage(
        &book.root,
        store.dir(),
        prepared
            .iter()
            .flat_map(|p| p.substituted.directives.iter()),
        cores,
        &mopts,
    )?;
    Ok(Measured {
        store,
        python,
        stale: BTreeSet::new(),
    })
}

/// The needs whose stored record was measured for other code, compiler, machine or
/// parameters (missing records are not listed: they have nothing to show).
fn stale_needs(
    book: &LoadedBook,
    python: &PythonSide,
    rust_needs: &BTreeSet<Need>,
    py_needs: &BTreeSet<Need>,
    store: &Store,
    keys: &KeyContext,
) -> BTreeSet<Need> {
    // Only a changed key makes a record stale here; a --quick record is labelled as such by
    // the fragments already.
    let mut stale: BTreeSet<Need> = rust_needs
        .iter()
        .filter(|n| {
            store
                .get(n)
                .zip(keys.key(n))
                .is_some_and(|(r, k)| r.key != k)
        })
        .cloned()
        .collect();
    if let Some(interp) = &python.interp {
        for need in py_needs {
            let key = python::key(&book.root, interp, &need.id, need.problem, &keys.machine);
            if store.get(need).is_some_and(|r| r.key != key) {
                stale.insert(need.clone());
            }
        }
    }
    stale
}

/// Whether any directive involves Python rungs.
fn wants_python(prepared: &[Prepared<'_>]) -> bool {
    prepared
        .iter()
        .flat_map(|p| p.substituted.directives.iter())
        .any(|d| match &d.directive {
            Directive::Bench { kernel, variants } => {
                (variants.is_empty() && PYTHON_KERNELS.contains(&kernel.as_str()))
                    || variants.iter().any(|v| v.starts_with("py-"))
            }
            Directive::Chart { kind, arg: Some(a) } => {
                (kind == "ladder" && PYTHON_KERNELS.contains(&a.as_str()))
                    || python::is_python_id(a)
            }
            Directive::Measure { id, .. } => python::is_python_id(id),
            Directive::Speedup { fast, slow } => {
                python::is_python_id(fast) || python::is_python_id(slow)
            }
            Directive::Claim { expr } => expr.contains("/py-"),
            _ => false,
        })
}

/// Finds the interpreter and the rungs it can run.
fn python_side(book: &LoadedBook) -> PythonSide {
    let interp = match python_interpreter(book) {
        Ok(i) => i,
        Err(why) => {
            eprintln!("note: Python rungs will not be measured: {why}");
            return PythonSide {
                unavailable: Some(why),
                ..PythonSide::default()
            };
        }
    };
    match python::list_rungs(&interp, &book.root) {
        Ok(rungs) => PythonSide {
            interp: Some(interp),
            rungs,
            unavailable: None,
        },
        Err(e) => {
            let why = format!("{e:#}");
            eprintln!("note: Python rungs will not be measured: {why}");
            PythonSide {
                unavailable: Some(why),
                ..PythonSide::default()
            }
        }
    }
}

/// The interpreter: the project's virtual environment, created from the pinned requirements
/// when `[python] auto-install` is on (pyenv.rs), else `[python] interpreter` as it is.
fn python_interpreter(book: &LoadedBook) -> Result<Interpreter, String> {
    let env = crate::pyenv::prepare(&book.root, &book.config.python, &mut |line: &str| {
        eprintln!("python: {line}")
    })
    .map_err(|u| u.reason)?;
    python::describe(&env.python).map_err(|e| format!("{e:#}"))
}

/// The Python side for `perfguide serve` (stale_ok): the project's virtual environment
/// when it exists, else `[python] interpreter`; never creates or installs anything, which
/// takes minutes and is `perfguide build`'s job.
fn python_side_as_is(book: &LoadedBook) -> PythonSide {
    let venv_python = book.root.join(&book.config.python.venv).join("bin/python");
    let configured = &book.config.python.interpreter;
    let path = if venv_python.exists() {
        venv_python
    } else if configured.contains('/') {
        book.root.join(configured)
    } else {
        std::path::PathBuf::from(configured)
    };
    let listed = python::describe(&path).and_then(|interp| {
        let rungs = python::list_rungs(&interp, &book.root)?;
        Ok((interp, rungs))
    });
    match listed {
        Ok((interp, rungs)) => PythonSide {
            interp: Some(interp),
            rungs,
            unavailable: None,
        },
        Err(e) => PythonSide {
            unavailable: Some(format!("{e:#}")),
            ..PythonSide::default()
        },
    }
}

/// The plan: every measurement the book's directives need.
pub fn collect_needs(
    prepared: &[Prepared<'_>],
    cores: usize,
    py: &Rungs,
) -> Result<BTreeSet<Need>> {
    let mut errors = Vec::new();
    let mut needs = BTreeSet::new();
    for p in prepared {
        for d in &p.substituted.directives {
            match fragments::needs(d, cores, py) {
                Ok(n) => needs.extend(n),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(needs)
    } else {
        Err(SourceErrors(errors).into())
    }
}

/// The Rust measurements: the planned records, then the ones they imply (the peak probe for
/// tables that count flops).
fn measure_rust(
    prepared: &[Prepared<'_>],
    needs: &BTreeSet<Need>,
    store: &mut Store,
    keys: &KeyContext,
    options: &MeasureOptions,
    py: &Rungs,
) -> Result<()> {
    measure::run(needs, store, keys, options)?;
    let derived: BTreeSet<Need> = prepared
        .iter()
        .flat_map(|p| p.substituted.directives.iter())
        .flat_map(|d| fragments::derived_needs(d, cores(), store, py))
        .collect();
    measure::run(&derived, store, keys, options)
}

/// The Python measurements: fresh records are reused; the rest run through the harness in
/// one process. Rungs the harness cannot run here stay unmeasured with their reason.
fn measure_python(
    book: &LoadedBook,
    python: &mut PythonSide,
    needs: &BTreeSet<Need>,
    store: &mut Store,
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Result<()> {
    let Some(interp) = python.interp.clone() else {
        return Ok(());
    };
    let mut todo = Vec::new();
    for need in needs {
        if python.rungs.unavailable.contains_key(&need.id) {
            continue;
        }
        let key = python::key(&book.root, &interp, &need.id, need.problem, &keys.machine);
        let fresh = store.get(need).is_some_and(|r| {
            r.key == key
                && (options.quick || !r.quick)
                && !options
                    .remeasure
                    .iter()
                    .any(|f| measure::matches_filter(&need.id, f))
        });
        if !fresh {
            todo.push(need.id.clone());
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    if options.frozen {
        bail!(
            "--frozen: {} Python measurement(s) are missing or stale:\n  {}\nhelp: run `perfguide build` without --frozen to measure them",
            todo.len(),
            todo.join("\n  ")
        );
    }
    // One harness run per kernel: each stays within `[python] timeout-seconds` however many
    // kernels a build needs (the pure-Python rungs alone take tens of seconds a call).
    let timeout = Duration::from_secs(book.config.python.timeout_seconds);
    let mut by_kernel: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for id in &todo {
        by_kernel
            .entry(id.split('/').next().unwrap_or(id))
            .or_default()
            .push(id.clone());
    }
    let mut records = Vec::new();
    for (kernel, ids) in &by_kernel {
        eprintln!(
            "measuring {} Python rung(s) of {kernel}: {}",
            ids.len(),
            ids.join(", ")
        );
        records.extend(python::run_harness(
            &interp,
            &book.root,
            ids,
            options.quick,
            timeout,
        )?);
    }
    let ingest = python::Ingest {
        root: &book.root,
        interp: &interp,
        machine: &keys.machine,
        toolchain: &keys.toolchain,
        git_commit: keys.git_commit.clone(),
        quick: options.quick,
    };
    for h in &records {
        if h.status == "skipped" {
            python.rungs.unavailable.insert(
                h.id.clone(),
                h.reason
                    .clone()
                    .unwrap_or_else(|| "skipped by the harness".into()),
            );
            continue;
        }
        let record = ingest.record(h)?;
        if let Some(why) = &record.busy {
            eprintln!(
                "warning: {} was measured on a busy machine: {why}",
                record.id
            );
        }
        store.put(record)?;
    }
    Ok(())
}

/// The default problem of a kernel, for Python needs.
pub fn default_problem(kernel: &str) -> Option<ProblemSpec> {
    perfguide_kernels::kernels()
        .iter()
        .find(|k| k.name == kernel)
        .map(|k| k.default_problem.into())
}
