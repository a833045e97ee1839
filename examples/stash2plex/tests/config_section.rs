//! The `[stash2plex]` section is parsed as strictly as tenax's own keys: every mistake
//! is refused by `config check` (and `run`) with the key and a way out.

mod support;

use anyhow::Result;
use support::daemon::run;

fn check(section: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("stash2plex.toml");
    let text = format!(
        "data_dir = {:?}\n\n{section}\n",
        dir.path().join("data").display().to_string()
    );
    std::fs::write(&file, text).expect("write config");
    let (code, out, err) = run(&["config", "check", &file.display().to_string()], env);
    (code, format!("{out}{err}"))
}

const TOKEN: [(&str, &str); 1] = [("PLEX_TOKEN", "t0ken-for-config-tests")];
const PLEX: &str = "[stash2plex.plex]\ntoken = { env = \"PLEX_TOKEN\" }\n";

#[test]
fn a_minimal_section_is_valid_and_its_secret_is_not_printed() -> Result<()> {
    let (code, out) = check(PLEX, &TOKEN);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("t0ken-for-config-tests"), "{out}");
    Ok(())
}

#[test]
fn every_mistake_is_refused_with_its_key() -> Result<()> {
    let cases = [
        (
            format!("[stash2plex]\nstrict_matchin = true\n{PLEX}"),
            "did you mean `stash2plex.strict_matching`",
        ),
        (
            "[stash2plex.plex]\ntoken = \"written-in-the-file\"\n".to_owned(),
            "env =",
        ),
        (
            format!("[stash2plex]\nfields = [\"titel\"]\n{PLEX}"),
            "title",
        ),
        (
            format!("[stash2plex]\nperformers_as = \"genre\"\n{PLEX}"),
            "performers_as and tags_as",
        ),
        (
            format!("[stash2plex]\nrequest_timeout = \"soon\"\n{PLEX}"),
            "not a duration",
        ),
        (format!("{PLEX}url = \"plex.local:32400\"\n"), "plex.url"),
        (
            format!("{PLEX}\n[[stash2plex.path_mappings]]\nstash = \"\"\nplex = \"/m\"\n"),
            "path_mappings[0]",
        ),
        (
            "[stash2plex]\nposter = true\n".to_owned(),
            "missing field `plex`",
        ),
    ];
    for (section, expected) in cases {
        let (code, out) = check(&section, &TOKEN);
        assert_eq!(code, 1, "refused:\n{section}\n{out}");
        assert!(out.contains(expected), "{expected:?} in:\n{out}");
    }
    let (code, out) = check(PLEX, &[]);
    assert_eq!(code, 1);
    assert!(out.contains("`PLEX_TOKEN` is not set"), "{out}");
    Ok(())
}
