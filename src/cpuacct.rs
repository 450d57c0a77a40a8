//! Who used the CPU while a measurement ran, from the kernel's own accounting.
//!
//! Linux counts, per CPU, the ticks spent in each state (`/proc/stat`: user, nice, system,
//! idle, iowait, irq, softirq, steal, …) and, per process, the ticks its threads ran
//! (`/proc/<pid>/stat`: utime and stime). Two snapshots around the samples give:
//!
//! - **CPU used by other processes**, in cores: (Δ machine busy − Δ own) / Δ all ticks × CPUs.
//!   A CPU-bound competitor on the other core shows as about 1.0 whether or not it slowed the
//!   kernel; an idle machine shows about 0.02 (kernel threads, the parent's polling).
//! - **Steal**: the share of this VM's CPU time that the hypervisor gave to someone else,
//!   which the guest cannot see any other way.
//!
//! This replaced a monitor thread that sampled the count of runnable tasks every 20 ms
//! (`/proc/loadavg` minus this process's runnable threads). Two reads are never one
//! snapshot, and short threaded kernels, whose threads park and wake around every call,
//! read as 0.5–0.9 "other runnable tasks" on an idle machine. Accumulated ticks have no such
//! race, cost two file reads per measurement instead of a thread, and the same arithmetic
//! serves the Python harness, which takes the snapshots itself (a Python monitor thread would
//! compete for the GIL with the rung it watches).
//!
//! Resolution: ticks are 10 ms (USER_HZ = 100). A 1 s measurement on 2 CPUs spans 200
//! ticks, so the estimate is good to about ±0.02 cores; windows under 0.1 s give `None`.

use serde::{Deserialize, Serialize};

/// One snapshot of the tick counters, in USER_HZ ticks (the unit cancels out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CpuTicks {
    /// Machine: user + nice + system + irq + softirq, over all CPUs (guest time is already
    /// inside user).
    pub busy: u64,
    /// Machine: ticks the hypervisor stole.
    pub steal: u64,
    /// Machine: every state (user through steal), over all CPUs.
    pub total: u64,
    /// This process (and, for the Python harness, its children): utime + stime.
    pub own: u64,
    /// CPUs in `/proc/stat`.
    pub cpus: u32,
}

/// What the two snapshots say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Contention {
    /// Mean CPU used by other processes while the samples ran, in cores.
    pub others_cores: f64,
    /// Share of the machine's CPU time the hypervisor stole, 0–1.
    pub steal: f64,
}

/// Fewer ticks than this (over all CPUs) say too little: 20 ticks is 0.1 s on 2 CPUs.
const MIN_TICKS: u64 = 20;

impl CpuTicks {
    /// Reads `/proc/stat` and `/proc/self/stat`; `None` where they are missing (not Linux).
    pub fn now() -> Option<CpuTicks> {
        let own = parse_pid_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        let machine = parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)?;
        Some(CpuTicks { own, ..machine })
    }
}

/// Between two snapshots. `None` when the window is too short to say or a counter went
/// backwards (snapshots swapped, or from different machines).
pub fn contention(before: &CpuTicks, after: &CpuTicks) -> Option<Contention> {
    let total = after.total.checked_sub(before.total)?;
    let busy = after.busy.checked_sub(before.busy)?;
    let steal = after.steal.checked_sub(before.steal)?;
    let own = after.own.checked_sub(before.own)?;
    if total < MIN_TICKS || after.cpus == 0 {
        return None;
    }
    // Tick sampling can charge the process a tick the machine counted as idle, or the
    // reverse; a small negative difference is noise, not a negative competitor.
    let others = busy.saturating_sub(own) as f64;
    Some(Contention {
        others_cores: others / total as f64 * f64::from(after.cpus),
        steal: steal as f64 / total as f64,
    })
}

/// The aggregate `cpu` line of `/proc/stat` and the number of `cpuN` lines.
pub fn parse_proc_stat(text: &str) -> Option<CpuTicks> {
    let mut lines = text.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal; older kernels stop after softirq.
    if v.len() < 7 {
        return None;
    }
    let steal = v.get(7).copied().unwrap_or(0);
    let cpus = lines
        .take_while(|l| l.starts_with("cpu"))
        .filter(|l| l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some(CpuTicks {
        busy: v[0] + v[1] + v[2] + v[5] + v[6],
        steal,
        total: v.iter().sum(),
        own: 0,
        cpus: u32::try_from(cpus).ok()?,
    })
}

/// utime + stime of a `/proc/<pid>/stat` line. The command name is in parentheses and may
/// contain spaces and parentheses, so fields are counted after the *last* ')': state is the
/// first of them (field 3), utime and stime are fields 14 and 15.
pub fn parse_pid_stat(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  2635954 20678 284341 1465738 13451 0 2764 5301 0 0\n\
                        cpu0 1232513 10954 133924 829160 3823 0 384 2611 0 0\n\
                        cpu1 1403441 9724 150416 636578 9627 0 2379 2690 0 0\n\
                        intr 12345 0 0\nctxt 99\n";

    #[test]
    fn proc_stat_fields() {
        let t = parse_proc_stat(STAT).unwrap();
        assert_eq!(t.busy, 2635954 + 20678 + 284341 + 2764);
        assert_eq!(t.steal, 5301);
        assert_eq!(
            t.total,
            2635954 + 20678 + 284341 + 1465738 + 13451 + 2764 + 5301
        );
        assert_eq!(t.cpus, 2);
        assert_eq!(parse_proc_stat("intr 1 2\n"), None);
        assert_eq!(parse_proc_stat("cpu 1 2 x 4 5 6 7 8\n"), None);
    }

    #[test]
    fn pid_stat_fields_after_an_awkward_name() {
        // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime …
        let line = "42 (a) b) (c) R 1 42 42 0 -1 4194560 100 0 0 0 250 17 0 0 20 0 3";
        assert_eq!(parse_pid_stat(line), Some(267));
        assert_eq!(parse_pid_stat("42 (x) R 1 2"), None);
        assert_eq!(parse_pid_stat("garbage"), None);
    }

    fn ticks(busy: u64, steal: u64, total: u64, own: u64) -> CpuTicks {
        CpuTicks {
            busy,
            steal,
            total,
            own,
            cpus: 2,
        }
    }

    #[test]
    fn a_competitor_on_the_other_core_counts_as_one() {
        // 1 s on 2 CPUs = 200 ticks: our kernel ran 100, a competitor 98, 2 idle.
        let c = contention(&ticks(0, 0, 0, 0), &ticks(198, 0, 200, 100)).unwrap();
        assert!((c.others_cores - 0.98).abs() < 1e-12, "{c:?}");
        assert_eq!(c.steal, 0.0);
        // Idle apart from us: nothing for others.
        let c = contention(&ticks(10, 0, 10, 5), &ticks(112, 4, 210, 106)).unwrap();
        assert!((c.others_cores - 0.01).abs() < 1e-12, "{c:?}");
        assert!((c.steal - 0.02).abs() < 1e-12);
    }

    #[test]
    fn rounding_short_windows_and_backwards_counters() {
        // The process was charged a tick more than the machine counted busy.
        let c = contention(&ticks(0, 0, 0, 0), &ticks(99, 0, 200, 100)).unwrap();
        assert_eq!(c.others_cores, 0.0);
        assert_eq!(contention(&ticks(0, 0, 0, 0), &ticks(5, 0, 19, 5)), None);
        assert_eq!(contention(&ticks(9, 0, 300, 0), &ticks(5, 0, 600, 0)), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let t = CpuTicks::now().expect("/proc on Linux");
        assert!(t.cpus >= 1 && t.total >= t.busy && t.busy >= t.steal.min(t.busy));
    }
}
