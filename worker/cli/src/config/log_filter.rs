//! Log filters (`log.level`, and `RUST_LOG` through the same check).

use tracing_subscriber::EnvFilter;

/// Parses a log filter such as `info` or `info,tenax_worker=debug`.
///
/// NOTE: two guards against tracing-subscriber 0.3.23, both found by the `config_file`
/// fuzz target: it panics on some non-ASCII directives (it slices inside a character),
/// and it compiles span field values as regular expressions into a DFA whose size can
/// explode (a 2 KB filter took over 10 s). Filters are ASCII anyway (targets, levels,
/// span names), and field values are matched literally here.
pub(crate) fn log_filter(filter: &str) -> Result<EnvFilter, String> {
    if !filter.is_ascii() {
        return Err("filters are ASCII, such as \"info\" or \"info,tenax_worker=debug\"".into());
    }
    EnvFilter::builder()
        .with_regex(false)
        .parse(filter)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    // The slow input the fuzzer found is replayed in `config/tests.rs`.
    #[test]
    fn filters_with_span_fields_parse_and_non_ascii_ones_are_refused() {
        assert!(log_filter("info,tenax_worker=debug").is_ok());
        assert!(log_filter("[job{kind=http}]=debug").is_ok());
        let err = log_filter("\u{17d}").expect_err("non-ASCII");
        assert!(err.contains("ASCII"), "{err}");
    }
}
