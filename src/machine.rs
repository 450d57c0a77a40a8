//! Provenance: what machine and toolchain produced a measurement.
//!
//! Every record in the store carries a [`Provenance`]; the page shows it next to the numbers.
//! The machine fingerprint (CPU model, core counts, memory, SIMD features) is part of each
//! record's key, so numbers measured on one machine are never shown as if they came from
//! another. Everything is read from `/proc` and `/sys` on Linux; elsewhere the fields say
//! "unknown" rather than guess.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine that ran a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Machine {
    pub cpu_model: String,
    pub physical_cores: usize,
    pub logical_cores: usize,
    pub memory_gib: f64,
    /// Size of the last-level cache in bytes, where the OS reports it.
    pub llc_bytes: Option<u64>,
    /// SIMD extensions the CPU offers (of those the kernels can use).
    pub simd: Vec<String>,
    pub os: String,
    pub kernel: String,
}

/// How the measured code was compiled and by which perfguide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Toolchain {
    /// `rustc -vV`, lines joined with " | ".
    pub rustc: String,
    /// The cargo profile of the perfguide binary. The kernels crate is always optimised
    /// (opt-level 3, see Cargo.toml's profile override), whatever this says.
    pub profile: String,
    pub target: String,
    /// Target features enabled at compile time (runtime dispatch may use more: see the
    /// record's SIMD path).
    pub target_features: String,
    pub perfguide_version: String,
}

impl Toolchain {
    /// The toolchain this binary was built with (captured by build.rs).
    pub fn current() -> Toolchain {
        Toolchain {
            rustc: env!("PERFGUIDE_RUSTC_VV").to_string(),
            profile: env!("PERFGUIDE_PROFILE").to_string(),
            target: env!("PERFGUIDE_TARGET").to_string(),
            target_features: env!("PERFGUIDE_TARGET_FEATURES").to_string(),
            perfguide_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The rustc release line, e.g. "rustc 1.95.0 (59807616e 2026-04-14)".
    pub fn rustc_release(&self) -> &str {
        self.rustc.split(" | ").next().unwrap_or(&self.rustc)
    }
}

impl Machine {
    /// Reads the current machine's description.
    pub fn current() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine {
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".into()),
            physical_cores: physical_cores(&cpuinfo).unwrap_or(logical),
            logical_cores: logical,
            memory_gib: mem_total_kib(&meminfo).map_or(0.0, |k| round1(k as f64 / 1048576.0)),
            llc_bytes: llc_bytes(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            simd: simd_features(),
            os: os_name().unwrap_or_else(|| std::env::consts::OS.to_string()),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
        }
    }

    /// What must be equal for two measurements to count as taken on the same machine. The
    /// OS and kernel are left out: an update does not change what a CPU-bound kernel costs
    /// (the toolchain, which does, is keyed separately).
    pub fn fingerprint(&self) -> String {
        format!(
            "{} | {}C/{}T | {:.0} GiB | {}",
            self.cpu_model,
            self.physical_cores,
            self.logical_cores,
            self.memory_gib,
            self.simd.join(",")
        )
    }

    /// A one-line description for terminals and table captions.
    pub fn short(&self) -> String {
        format!(
            "{} ({} cores / {} threads, {} GiB)",
            self.cpu_model, self.physical_cores, self.logical_cores, self.memory_gib
        )
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Distinct (physical id, core id) pairs; hyper-threads share a core id.
fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = std::collections::BTreeSet::new();
    let mut physical = String::new();
    for line in cpuinfo.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => physical = v.trim().to_string(),
                "core id" => {
                    cores.insert((physical.clone(), v.trim().to_string()));
                }
                _ => {}
            }
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

fn mem_total_kib(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The largest cache level's size from sysfs (`index*/level` and `index*/size`, e.g. "32768K").
fn llc_bytes(dir: &Path) -> Option<u64> {
    let mut best: Option<(u32, u64)> = None;
    let mut entries: Vec<_> = fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let level: u32 = fs::read_to_string(e.path().join("level"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let size = fs::read_to_string(e.path().join("size"))
            .ok()
            .and_then(|s| parse_size(s.trim()));
        if let Some(size) = size
            && best.is_none_or(|(l, _)| level > l)
        {
            best = Some((level, size));
        }
    }
    best.map(|(_, s)| s)
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1024),
        'M' => (&s[..s.len() - 1], 1024 * 1024),
        'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn simd_features() -> Vec<String> {
    #[allow(unused_mut)]
    let mut v: Vec<String> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, present) in [
            ("sse4.2", std::arch::is_x86_feature_detected!("sse4.2")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ] {
            if present {
                v.push(name.to_string());
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    v.push("neon".to_string());
    v
}

fn os_name() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
}

/// The 1-minute load average (Linux `/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The git commit of the book's sources, with "-dirty" when there are uncommitted changes;
/// `None` outside a git checkout or without git.
pub fn git_commit(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let dirty = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n";

    #[test]
    fn parses_cpuinfo() {
        assert_eq!(cpu_model(CPUINFO).as_deref(), Some("AMD EPYC"));
        assert_eq!(physical_cores(CPUINFO), Some(2));
        assert_eq!(physical_cores(""), None);
    }

    #[test]
    fn parses_sizes_and_meminfo() {
        assert_eq!(parse_size("32768K"), Some(32 * 1024 * 1024));
        assert_eq!(parse_size("1M"), Some(1024 * 1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(
            mem_total_kib("MemTotal:       24576000 kB\n"),
            Some(24576000)
        );
    }

    #[test]
    fn current_machine_is_described() {
        let m = Machine::current();
        assert!(m.logical_cores >= 1);
        assert!(m.physical_cores >= 1);
        assert!(m.fingerprint().contains(&m.cpu_model));
        let t = Toolchain::current();
        assert!(t.rustc_release().starts_with("rustc"), "{}", t.rustc);
    }
}
