//! Figures, their targets, and how they are printed: a table, or JSON with `--json`.

use serde::Serialize;

/// One measured figure over several runs.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) workload: &'static str,
    pub(crate) name: String,
    pub(crate) unit: &'static str,
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) runs: Vec<f64>,
    /// The target, in words, and whether the median meets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) met: Option<bool>,
}

impl Figure {
    pub(crate) fn new(
        workload: &'static str,
        name: impl Into<String>,
        unit: &'static str,
        mut runs: Vec<f64>,
    ) -> Self {
        runs.sort_by(f64::total_cmp);
        let median = runs.get(runs.len() / 2).copied().unwrap_or(0.0);
        Figure {
            workload,
            name: name.into(),
            unit,
            median,
            min: runs.first().copied().unwrap_or(0.0),
            max: runs.last().copied().unwrap_or(0.0),
            runs,
            target: None,
            met: None,
        }
    }

    /// At least `floor`.
    pub(crate) fn at_least(mut self, floor: f64, words: &str) -> Self {
        self.met = Some(self.median >= floor);
        self.target = Some(words.to_owned());
        self
    }

    /// Below `ceiling`.
    pub(crate) fn below(mut self, ceiling: f64, words: &str) -> Self {
        self.met = Some(self.median < ceiling);
        self.target = Some(words.to_owned());
        self
    }
}

/// The table.
pub(crate) fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "{:<44} {:>12} {:<7} {:>23}  {}\n",
        "figure", "median", "unit", "min..max", "target"
    );
    for f in figures {
        let precision = if f.median >= 100.0 { 0 } else { 3 };
        let spread = format!("{:.p$}..{:.p$}", f.min, f.max, p = precision);
        let target = match (&f.target, f.met) {
            (Some(t), Some(true)) => format!("{t}: met"),
            (Some(t), Some(false)) => format!("{t}: NOT MET"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<44} {:>12.p$} {:<7} {:>23}  {target}\n",
            f.name,
            f.median,
            f.unit,
            spread,
            p = precision
        ));
    }
    out
}

/// The `p`-th percentile (0..=100) of sorted values, nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_percentiles_and_targets() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&sorted, 100.0), 100.0);
        let f = Figure::new("x", "x", "jobs/s", vec![5.0, 1.0, 3.0]).at_least(3.0, ">= 3");
        assert_eq!((f.median, f.min, f.max, f.met), (3.0, 1.0, 5.0, Some(true)));
        let f = Figure::new("x", "x", "ms", vec![2.0]).below(1.0, "< 1 ms");
        assert_eq!(f.met, Some(false));
        assert!(table(&[f]).contains("NOT MET"));
    }
}
