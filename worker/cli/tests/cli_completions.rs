//! Shell completions and the manual page come from the command line's definition.

mod support;

use support::daemon::tenax;

#[test]
fn each_shell_gets_a_completion_script_that_knows_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = tenax(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.len() > 500, "{shell}: a real script:\n{out}");
        for word in ["enqueue", "dlq", "health"] {
            assert!(out.contains(word), "{shell} completes `{word}`");
        }
    }
    let (code, _, err) = tenax(&["completions", "tcsh-like"]);
    assert_eq!(code, 2, "an unknown shell is a usage error: {err}");
}

#[test]
fn the_manual_page_is_roff_naming_the_subcommands() {
    let (code, out, err) = tenax(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(".ie") || out.contains(".TH tenax"),
        "roff: {out}"
    );
    for word in ["enqueue", "dlq", "completions"] {
        assert!(out.contains(word), "the page names `{word}`:\n{out}");
    }
}
