//! CPU time spent by a run: this process (the client, the server and, on SQLite, the database
//! all live in it) plus, on PostgreSQL, the backend processes serving the run's own database.
//!
//! Rates in ops/s move with whatever else the machine is doing; CPU time per op barely does. The
//! two side by side tell a busy machine from a slow design. Read from `/proc` (Linux): utime +
//! stime of each process, which include the threads that have already exited. PostgreSQL's
//! shared background processes (WAL writer, checkpointer) are not counted.

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux architecture
/// this runs on; `getconf CLK_TCK` says so).
const TICKS_PER_SECOND: u64 = 100;

/// Reads CPU time of this process and of the database's backends.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    database: Option<String>,
}

impl CpuMeter {
    /// A meter for this process, plus the PostgreSQL backends whose process title names
    /// `database` (PostgreSQL titles each backend `postgres: … user database host …`).
    pub fn new(database: Option<String>) -> Self {
        Self { database }
    }

    /// CPU time used so far by every process this meter counts.
    pub fn total(&self) -> Duration {
        let mut ticks = process_ticks("self").unwrap_or(0);
        if let Some(database) = &self.database {
            ticks += backend_ticks(database);
        }
        Duration::from_millis(ticks * 1_000 / TICKS_PER_SECOND)
    }
}

/// utime + stime of one process, in ticks.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the file, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Ticks of every live PostgreSQL backend serving `database`.
fn backend_ticks(database: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().into_string().ok()?;
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let title = String::from_utf8_lossy(&title);
            if title.starts_with("postgres:") && title.split_whitespace().any(|w| w == database) {
                process_ticks(&pid)
            } else {
                None
            }
        })
        .sum()
}

/// CPU microseconds per item.
pub fn per_item_us(cpu: Duration, items: usize) -> f64 {
    if items == 0 {
        return f64::NAN;
    }
    cpu.as_secs_f64() * 1e6 / items as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_after_spinning() {
        let meter = CpuMeter::new(None);
        let before = meter.total();
        let started = std::time::Instant::now();
        let mut x = 0_u64;
        while started.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        assert!(meter.total() > before);
    }

    #[test]
    fn per_item_us_divides() {
        assert_eq!(per_item_us(Duration::from_millis(3), 1_000), 3.0);
        assert!(per_item_us(Duration::from_millis(3), 0).is_nan());
    }
}
