//! The plain-text rendering of a [`CheckReport`], for a terminal.

use std::fmt::{self, Display, Formatter, Write as _};

use crate::{
    duration::format as d,
    report::{CheckReport, Schedule, ScheduleEnd, ScheduleRow, Span},
};

impl Display for Span {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            f.write_str(&d(self.min))
        } else {
            write!(f, "{}..{}", d(self.min), d(self.max))
        }
    }
}

/// Writes rows of cells with each column padded to its widest cell; the first
/// `right_aligned` columns are aligned right (numbers).
fn table(
    f: &mut Formatter<'_>,
    indent: &str,
    rows: &[Vec<String>],
    right_aligned: usize,
) -> fmt::Result {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(indent);
        for (column, (cell, width)) in row.iter().zip(&widths).enumerate() {
            let _ = if column < right_aligned {
                write!(line, "{cell:>width$}  ")
            } else {
                write!(line, "{cell:<width$}  ")
            };
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

fn schedule_cells(row: &ScheduleRow) -> Vec<String> {
    vec![
        row.retry.to_string(),
        row.delay.to_string(),
        row.cumulative.to_string(),
    ]
}

impl Display for Schedule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let breaker = if self.counts_toward_breaker {
            "counts toward the breaker"
        } else {
            "does not count toward the breaker"
        };
        let budget = match self.max_retries {
            0 => "never retried".to_string(),
            1 => "1 retry".to_string(),
            n => format!("{n} retries"),
        };
        writeln!(f, "{} ({budget}, {breaker})", self.class)?;
        if self.head.is_empty() && self.end != ScheduleEnd::NeverRetried {
            // A script that says dead at once: fall through to the end line.
        } else if self.head.is_empty() {
            return writeln!(f, "  buried at the first failure");
        }
        if !self.head.is_empty() {
            let mut rows = vec![vec![
                "retry".to_string(),
                "delay".to_string(),
                "since first failure".to_string(),
            ]];
            rows.extend(self.head.iter().map(schedule_cells));
            if self.omitted > 0 {
                rows.push(vec![
                    "...".to_string(),
                    format!("({} more)", self.omitted),
                    String::new(),
                ]);
            }
            rows.extend(self.tail.iter().map(schedule_cells));
            table(f, "  ", &rows, 1)?;
        }
        match self.end {
            ScheduleEnd::NeverRetried => writeln!(f, "  buried at the first failure"),
            ScheduleEnd::RetriesExhausted => writeln!(
                f,
                "  dead when attempt {} fails: {} after the first failure",
                u64::from(self.max_retries) + 1,
                self.dead_after
            ),
            ScheduleEnd::ScriptSaidDead { attempt } => writeln!(
                f,
                "  dead when attempt {attempt} fails (the script says so): {} after the first failure",
                self.dead_after
            ),
        }
    }
}

impl Display for CheckReport {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Policy {} (fingerprint {})",
            self.origin, self.fingerprint
        )?;
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        writeln!(
            f,
            "Script functions: delay {}, classify {}",
            yes_no(self.has_delay_fn),
            yes_no(self.has_classify_fn)
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Settings (* marks a value that differs from the Rust default)"
        )?;
        let mut rows = vec![vec![
            String::new(),
            "key".to_string(),
            "value".to_string(),
            "default".to_string(),
            "bounds".to_string(),
        ]];
        rows.extend(self.settings.iter().map(|s| {
            vec![
                if s.differs { "*" } else { "" }.to_string(),
                s.key.clone(),
                s.value.clone(),
                s.default.clone(),
                s.bounds.clone(),
            ]
        }));
        table(f, "", &rows, 0)?;
        writeln!(f)?;
        write!(f, "Retry schedules (delays over the jitter range")?;
        if self.has_delay_fn {
            write!(
                f,
                ", through the script's delay function for a failure without status"
            )?;
        }
        writeln!(f, "; handler run time not included)")?;
        for schedule in &self.schedules {
            writeln!(f)?;
            write!(f, "{schedule}")?;
        }
        Ok(())
    }
}
