//! The one rule for "did you mean": used for the policy script's keys and class names,
//! and by the daemon for its configuration file, so a typo is caught the same way in both.

/// The known key closest to `key`, if it is close enough to be a likely typo: a
/// normalised Damerau-Levenshtein similarity of at least 0.6 (`jiter` finds `jitter`,
/// `colour` finds nothing).
pub fn nearest_key(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(key, k), *k))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::nearest_key;

    #[test]
    fn only_a_near_miss_is_suggested() {
        let known = ["concurrency", "queue", "shutdown_grace"];
        assert_eq!(
            nearest_key("concurency", &known).as_deref(),
            Some("concurrency")
        );
        assert_eq!(nearest_key("queu", &known).as_deref(), Some("queue"));
        assert_eq!(nearest_key("zzzzzz", &known), None);
    }
}
