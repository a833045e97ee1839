use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, "tenax.toml", |_| None)
}

fn error(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn the_printed_defaults_are_the_defaults() {
    assert_eq!(
        parse(&defaults_toml()).expect("defaults parse"),
        Config::default()
    );
    assert_eq!(parse("").expect("empty parses"), Config::default());
}

#[test]
fn every_key_is_documented_in_the_printed_defaults() {
    // Give the optional keys values so they appear in the serialised form too.
    let mut config = Config {
        policy_file: Some(PathBuf::from("p.rhai")),
        ..Config::default()
    };
    config.api.token = Some("t".into());
    let value = toml::Value::try_from(&config).expect("serialises");
    let text = defaults_toml();
    let mut missing = Vec::new();
    walk(&value, "", &mut |key| {
        let leaf = key.rsplit('.').next().unwrap_or(key);
        if !text.contains(&format!("{leaf} =")) {
            missing.push(key.to_owned());
        }
    });
    assert!(
        missing.is_empty(),
        "keys missing from the defaults text: {missing:?}"
    );
}

fn walk(value: &toml::Value, prefix: &str, f: &mut impl FnMut(&str)) {
    if let toml::Value::Table(t) = value {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) if !inner.is_empty() => walk(v, &key, f),
                toml::Value::Table(_) => {}
                _ => f(&key),
            }
        }
    }
}

#[test]
fn environment_overrides_the_file() {
    let env = |name: &str| match name {
        "TENAX_DATA_DIR" => Some("/srv/tenax".to_owned()),
        "TENAX_API_ADDR" => Some("0.0.0.0:9000".to_owned()),
        "TENAX_API_TOKEN" => Some("secret".to_owned()),
        _ => None,
    };
    let c = Config::from_toml_str("data_dir = \"/elsewhere\"", "t", env).expect("valid");
    assert_eq!(c.data_dir, PathBuf::from("/srv/tenax"));
    assert_eq!(c.api.addr.to_string(), "0.0.0.0:9000");
    assert_eq!(c.api.token.as_deref(), Some("secret"));
    let bad = Config::from_toml_str("", "t", |n| {
        (n == "TENAX_API_ADDR").then(|| "nowhere".into())
    });
    assert!(
        bad.expect_err("bad address")
            .to_string()
            .contains("TENAX_API_ADDR")
    );
}

#[test]
fn unknown_keys_name_the_key_its_line_and_a_suggestion() {
    let e = error("data_dir = \"x\"\n\n[worker]\nconcurency = 8\n");
    assert!(e.contains("tenax.toml:4:1"), "{e}");
    assert!(e.contains("unknown key `worker.concurency`"), "{e}");
    assert!(e.contains("did you mean `worker.concurrency`"), "{e}");
    let e = error("dta_dir = \"x\"\n");
    assert!(
        e.contains("tenax.toml:1:1") && e.contains("did you mean `data_dir`"),
        "{e}"
    );
    let e = error("[wrker]\nqueue = \"q\"\n");
    assert!(
        e.contains("tenax.toml:1:2: unknown key `wrker`; did you mean `worker`?"),
        "{e}"
    );
}

#[test]
fn an_unknown_table_after_a_section_is_named_as_itself_not_under_that_section() {
    let e = error("[worker]\nqueue = \"q\"\n\n[telemetry]\nx = 1\n");
    assert!(e.contains("tenax.toml:4:2: unknown key `telemetry`"), "{e}");
    assert!(!e.contains("worker.telemetry"), "{e}");
    assert!(
        e.contains("valid keys here:") && e.contains("worker"),
        "{e}"
    );
}

#[test]
fn an_unknown_nested_key_is_named_with_its_whole_path() {
    let e = error("[worker]\nqueue = \"q\"\n[worker.limits]\nx = 1\n");
    assert!(
        e.contains("tenax.toml:3:9: unknown key `worker.limits`"),
        "{e}"
    );
    let e = error("[api]\nbody.limit = 5\n");
    assert!(e.contains("tenax.toml:2:1: unknown key `api.body`"), "{e}");
    let e = error("store = { crash_limt = 2 }\n");
    assert!(
        e.contains(
            "tenax.toml:1:11: unknown key `store.crash_limt`; did you mean `store.crash_limit`?"
        ),
        "{e}"
    );
    // Any job kind may have a timeout: `worker.timeouts` has no unknown keys.
    assert!(parse("[worker.timeouts]\nmail = \"1m\"\n").is_ok());
}

#[test]
fn wrong_types_and_values_name_the_line_or_key() {
    let e = error("[worker]\nconcurrency = \"many\"\n");
    assert!(
        e.contains("tenax.toml:2:1: `worker.concurrency` is invalid"),
        "{e}"
    );
    let e = error("[worker]\nshutdown_grace = \"soon\"\n");
    assert!(e.contains(":2:") && e.contains("soon"), "{e}");
    assert!(error("[worker]\nconcurrency = 0\n").contains("`worker.concurrency`"));
    assert!(error("[http]\nallowed_bases = [\"ftp://x\"]\n").contains("http.allowed_bases"));
    assert!(error("[http]\ndefault_timeout = \"10m\"\n").contains("http.max_timeout"));
    assert!(error("[store]\ndurability = \"maybe\"\n").contains(":2:"));
    assert!(error("[api]\naddr = \"localhost\"\n").contains(":2:"));
    assert!(error("[api]\ntoken = \"\"\n").contains("api.token"));
    assert!(error("[api]\ntoken = \" \"\n").contains("api.token"));
    assert!(error("[api]\ntoken = \"s3cret\\n\"\n").contains("whitespace"));
    assert!(error("[api]\ntoken = \"s3\\u0000cret\"\n").contains("control"));
    assert!(error("[log]\nlevel = \"[[[\"\n").contains("log.level"));
    // Found by the `config_file` fuzz target: this once panicked inside tracing-subscriber.
    let hostile =
        "[log]\nlevel = \" i%[l1gggggggggggggg;;;;;3;;;;;;;;;;;;\u{17d}{\u{201b};;;3;{\"\n";
    assert!(error(hostile).contains("log.level"));
    assert!(error(hostile).contains("ASCII"));
}

#[test]
fn durations_and_sizes_take_both_forms() {
    let c = parse(
        "[worker]\nshutdown_grace = 1500\njob_timeout = \"1h 30m\"\n[worker.timeouts]\nhttp = \"2m\"\n\
         [api]\nbody_limit = 65536\n[store]\ndead_retention = \"never\"\nmin_free_space = \"1GiB\"\n",
    )
    .expect("valid");
    assert_eq!(c.worker.shutdown_grace, Duration::from_millis(1500));
    assert_eq!(c.worker.job_timeout, Duration::from_secs(5400));
    assert_eq!(c.worker.timeouts["http"], Duration::from_secs(120));
    assert_eq!(c.api.body_limit, 65536);
    assert_eq!(c.store.dead_retention, None);
    assert_eq!(c.store.min_free_space, 1 << 30);
    let off = parse("[store]\ndead_retention = false\n").expect("valid");
    assert_eq!(off.store.dead_retention, None);
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let e = error("[api]\naddr = \"0.0.0.0:7450\"\n");
    assert!(
        e.contains("tenax.toml:2:1: `api.addr`") && e.contains("token"),
        "{e}"
    );
    assert!(
        parse("[api]\naddr = \"[::1]:7450\"\n").is_ok(),
        "IPv6 loopback is fine"
    );
    let env = |n: &str| (n == "TENAX_API_TOKEN").then(|| "s3cret-s3cret".to_owned());
    let c = Config::from_toml_str("[api]\naddr = \"0.0.0.0:7450\"\n", "t", env);
    assert!(c.is_ok(), "a token from the environment counts");
    let env = |n: &str| (n == "TENAX_API_ADDR").then(|| "0.0.0.0:7450".to_owned());
    let e = Config::from_toml_str("", "t", env)
        .expect_err("exposed")
        .to_string();
    assert!(e.starts_with("TENAX_API_ADDR: `api.addr`"), "{e}");
}

#[test]
fn the_token_is_never_printed() {
    let c = parse("[api]\ntoken = \"hunter2-hunter2\"\n").expect("parses");
    assert!(!format!("{c:?}").contains("hunter2"));
    let printed = effective_toml(&c);
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        printed.contains("# token = (set, not printed)"),
        "{printed}"
    );
}

#[test]
fn the_printed_effective_configuration_parses_back_to_the_same_values() {
    // The policy file is loaded by the validation, so it must exist and compile.
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/default.rhai"
    );
    let text = format!("data_dir = \"/srv/q\"\npolicy_file = {policy:?}\n")
        + "\
        [api]\naddr = \"0.0.0.0:9000\"\ntoken = \"t0ken-t0ken\"\nbody_limit = 65537\n\
        [worker]\nqueue = \"mail\"\nconcurrency = 3\nshutdown_grace = 1500\njob_timeout = \"1h 30m\"\n\
        [worker.timeouts]\nhttp = \"2m\"\n\"odd.kind\" = \"3s\"\n\
        [http]\nallowed_bases = [\"https://example.com/hooks/\"]\ndefault_timeout = \"1s\"\n\
        max_timeout = \"1s\"\nconnect_timeout = \"250ms\"\n\
        [[http.targets]]\nbase = \"https://plex.local:32400/\"\n\
        headers = { \"X-Plex-Token\" = { env = \"PLEX_TOKEN\" }, Accept = { env = \"ACCEPT\" } }\n\
        [store]\ndurability = \"buffered\"\nflush_interval = \"1ms\"\ndead_retention = \"never\"\n\
        crash_limit = 100\nmin_free_space = 0\n\
        [log]\nformat = \"json\"\nlevel = \"info,tenax_worker=debug\"\n\
        [[schedules]]\nname = \"reconcile\"\ncron = \"0 3 * * MON\"\ntimezone = \"Europe/Paris\"\n\
        kind = \"http\"\ncatch_up = \"all\"\npayload = { method = \"POST\", \
        url = \"https://example.com/hooks/reconcile\", json = { full = true, n = 3 } }\n\
        [[schedules]]\nname = \"ping\"\nevery = \"15m\"\nqueue = \"mail\"\nkind = \"http\"\n\
        payload = { url = \"https://example.com/hooks/ping\" }\n";
    let env = |n: &str| match n {
        "PLEX_TOKEN" => Some("pl3x-s3cret".to_owned()),
        "ACCEPT" => Some("application/json".to_owned()),
        _ => None,
    };
    let config = Config::from_toml_str(&text, "tenax.toml", env).expect("valid");
    assert_eq!(config.schedules.len(), 2);
    let printed = effective_toml(&config);
    assert!(!printed.contains("pl3x-s3cret"), "{printed}");
    assert!(
        printed.contains(
            "headers = { Accept = { env = \"ACCEPT\" }, X-Plex-Token = { env = \"PLEX_TOKEN\" } }"
        ),
        "{printed}"
    );
    // The token is left out; with it given again, the printed file is the same config.
    let env = |n: &str| match n {
        "TENAX_API_TOKEN" => Some("t0ken-t0ken".to_owned()),
        other => env(other),
    };
    let again = Config::from_toml_str(&printed, "printed.toml", env)
        .unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(again, config, "{printed}");
    assert_ne!(config, Config::default());
    assert!(printed.starts_with(&defaults_toml()[..200]), "{printed}");
}

#[test]
fn a_missing_file_names_its_path() {
    let e = Config::load(
        Some(std::path::Path::new("/nonexistent/tenax.toml")),
        &Overrides::default(),
        &Extension::default(),
        Use::Daemon,
    )
    .expect_err("missing")
    .to_string();
    assert!(e.contains("/nonexistent/tenax.toml"), "{e}");
}

/// Inputs the `config_file` fuzz target found: one panicked inside tracing-subscriber,
/// one made it compile a regular expression for over 10 s. Both must be answered (here,
/// refused) at once.
#[test]
fn configurations_the_fuzzer_found_are_refused_quickly() {
    let inputs = [
        include_str!("../../fuzz/seeds/config_file/regress-non-ascii-log-filter"),
        include_str!("../../fuzz/seeds/config_file/regress-slow-log-filter"),
    ];
    for text in inputs {
        let started = std::time::Instant::now();
        let result = Config::from_toml_str(text, "found.toml", |_| None);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        let err = result.expect_err("a bad log filter").to_string();
        assert!(err.contains("log.level"), "{err}");
    }
}

/// A configuration with one schedule whose keys are `body` (the lines after `name`).
fn schedule(body: &str) -> String {
    format!(
        "[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n\n\
         [[schedules]]\nname = \"first\"\nevery = \"1m\"\nkind = \"http\"\n\
         payload = {{ url = \"http://127.0.0.1:9/a\" }}\n\n\
         [[schedules]]\nname = \"second\"\n{body}"
    )
}

#[test]
fn a_schedule_with_a_cron_or_an_interval_and_a_template_is_accepted() {
    let c = parse(&schedule(
        "cron = \"*/5 * * * *\"\nkind = \"http\"\npayload = { url = \"http://127.0.0.1:9/b\" }\n",
    ))
    .expect("valid");
    let schedules = c.schedules().expect("checked");
    assert_eq!(schedules.len(), 2);
    assert_eq!(schedules[1].queue, "default", "the served queue by default");
    assert_eq!(schedules[1].timing_text, "cron \"*/5 * * * *\" (UTC)");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&schedules[0].payload).expect("json"),
        serde_json::json!({"url": "http://127.0.0.1:9/a"})
    );
}

#[test]
fn a_bad_cron_expression_or_time_zone_is_an_error_at_its_key_and_line() {
    let e = error(&schedule(
        "cron = \"0 25 * * *\"\nkind = \"http\"\npayload = { url = \"http://127.0.0.1:9/b\" }\n",
    ));
    assert!(e.starts_with("tenax.toml:12:1: `schedules[1].cron`"), "{e}");
    assert!(e.contains("0 25 * * *"), "{e}");
    let e = error(&schedule(
        "cron = \"0 3 * * *\"\ntimezone = \"Europe/Atlantis\"\nkind = \"http\"\n\
         payload = { url = \"http://127.0.0.1:9/b\" }\n",
    ));
    assert!(
        e.starts_with("tenax.toml:13:1: `schedules[1].timezone`"),
        "{e}"
    );
    assert!(e.contains("Europe/Atlantis"), "{e}");
}

#[test]
fn a_schedule_is_refused_when_its_keys_do_not_fit_together() {
    let url = "payload = { url = \"http://127.0.0.1:9/b\" }\n";
    let cases = [
        (
            format!("every = \"1m\"\nkind = \"http\"\nname = \"x\"\n{url}"),
            "duplicate key",
        ),
        (format!("kind = \"http\"\n{url}"), "needs `cron` or `every`"),
        (
            format!("cron = \"* * * * *\"\nevery = \"1m\"\nkind = \"http\"\n{url}"),
            "not both",
        ),
        (
            format!("every = \"500ms\"\nkind = \"http\"\n{url}"),
            "`schedules[1].every` must be at least 1s",
        ),
        (
            format!("every = \"1m\"\ntimezone = \"UTC\"\nkind = \"http\"\n{url}"),
            "`cron` only",
        ),
        (
            format!("every = \"1m\"\nqueue = \"other\"\nkind = \"http\"\n{url}"),
            "`schedules[1].queue` is \"other\"",
        ),
        (
            format!("every = \"1m\"\nkind = \"mail\"\n{url}"),
            "`schedules[1].kind`",
        ),
        (
            "every = \"1m\"\nkind = \"http\"\npayload = { url = \"http://elsewhere/\" }\n".into(),
            "`schedules[1].payload`",
        ),
        (
            format!("every = \"1m\"\nkind = \"http\"\ncatch_up = \"some\"\n{url}"),
            "`schedules[1].catch_up`",
        ),
        (
            format!("every = \"1m\"\nkind = \"http\"\ncron_expr = \"x\"\n{url}"),
            "unknown key `schedules[1].cron_expr`",
        ),
    ];
    for (body, expected) in cases {
        let e = error(&schedule(&body));
        assert!(e.contains(expected), "{expected:?} not in {e:?}");
    }
    let twice = schedule(&format!("every = \"1m\"\nkind = \"http\"\n{url}"))
        .replace("\"second\"", "\"first\"");
    let e = error(&twice);
    assert!(
        e.contains("`schedules[1].name`") && e.contains("unique"),
        "{e}"
    );
}

#[test]
fn queues_take_the_worker_values_they_do_not_set() {
    // Policy files are compiled by the validation, so they must exist.
    let dir = tempfile::tempdir().expect("tempdir");
    let all = dir.path().join("all.rhai");
    let media = dir.path().join("media.rhai");
    std::fs::write(&all, "#{}").expect("write all.rhai");
    std::fs::write(&media, "#{}").expect("write media.rhai");
    let config = parse(&format!(
        "policy_file = {all:?}\n[worker]\nconcurrency = 7\njob_timeout = \"1m\"\n\
         [queues.media]\nconcurrency = 2\npolicy_file = {media:?}\njob_timeout = \"5s\"\n\
         [queues.mail]\n",
    ))
    .expect("parses");
    let plans = config.queue_plans();
    let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["mail", "media"]);
    assert_eq!(plans[0].concurrency, 7);
    assert_eq!(plans[0].policy_file, Some(all.clone()));
    assert_eq!(plans[0].job_timeout, Duration::from_secs(60));
    assert_eq!(plans[1].concurrency, 2);
    assert_eq!(plans[1].policy_file, Some(media.clone()));
    assert_eq!(plans[1].job_timeout, Duration::from_secs(5));
    // Without [queues], the one queue of `[worker]`.
    let single = parse("[worker]\nqueue = \"jobs\"\n").expect("parses");
    let plans = single.queue_plans();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].name, "jobs");
    // The printed effective configuration keeps the queues.
    assert_eq!(
        parse(&effective_toml(&config)).expect("parses back"),
        config
    );
}

#[test]
fn a_bad_queue_setting_names_its_key_and_line() {
    let message = error("[queues.media]\nconcurrency = 0\n");
    assert!(message.contains("queues.media.concurrency"), "{message}");
    assert!(message.contains("tenax.toml:2"), "{message}");
    let message = error("[queues.media]\njob_timeout = \"0s\"\n");
    assert!(message.contains("queues.media.job_timeout"), "{message}");
    let message = error("[queues.media]\nconcurency = 2\n");
    assert!(message.contains("concurrency"), "{message}");
    let long = "q".repeat(300);
    let message = error(&format!("[queues.{long}]\n"));
    assert!(message.contains("must be 1 to"), "{message}");
}

#[test]
fn a_target_is_checked_at_its_keys_and_never_printed_with_its_values() {
    let env = |n: &str| (n == "PLEX_TOKEN").then(|| "pl3x-s3cret".to_owned());
    let load = |text: &str| Config::from_toml_str(text, "tenax.toml", env);
    let target = "[[http.targets]]\nbase = \"https://plex.local/\"\n";
    let c = load(&format!(
        "{target}headers = {{ X-Plex-Token = {{ env = \"PLEX_TOKEN\" }} }}\n"
    ))
    .expect("valid");
    assert!(!format!("{c:?}").contains("pl3x-s3cret"));
    let http = c.http_config_with_targets().expect("targets");
    assert_eq!(http.targets.len(), 1);
    assert!(!format!("{http:?}").contains("pl3x-s3cret"));

    let e = load(&format!(
        "{target}headers = {{ \"X Plex\" = {{ env = \"PLEX_TOKEN\" }} }}\n"
    ))
    .expect_err("bad name")
    .to_string();
    assert!(
        e.contains("tenax.toml:3:13: `http.targets[0].headers.X Plex`"),
        "{e}"
    );
    assert!(!e.contains("pl3x-s3cret"), "{e}");
    let e = load("[[http.targets]]\nbase = \"ftp://plex.local/\"\n")
        .expect_err("bad base")
        .to_string();
    assert!(e.contains("tenax.toml:2:1: `http.targets[0].base`"), "{e}");
    let e = load(&format!(
        "{target}headers = {{ X-Plex-Token = \"pl3x-s3cret\" }}\n"
    ))
    .expect_err("a literal secret")
    .to_string();
    assert!(e.contains("not written into the configuration file"), "{e}");
    assert!(!e.contains("pl3x-s3cret"), "{e}");

    // A schedule's HTTP job is checked as an enqueue is: under a target, without its
    // headers.
    let schedule = |headers: &str| {
        format!(
            "{target}headers = {{ X-Plex-Token = {{ env = \"PLEX_TOKEN\" }} }}\n\
             [[schedules]]\nname = \"scan\"\nevery = \"1h\"\nkind = \"http\"\n\
             payload = {{ url = \"https://plex.local/library/sections/all/refresh\"{headers} }}\n"
        )
    };
    assert!(load(&schedule("")).is_ok(), "a target's base is allowed");
    let e = load(&schedule(", headers = { x-plex-token = \"mine\" }"))
        .expect_err("the target's header")
        .to_string();
    assert!(
        e.contains("`schedules[0].payload`") && e.contains("x-plex-token"),
        "{e}"
    );
}

#[test]
fn the_read_token_is_checked_like_the_token_and_must_differ_from_it() {
    let ok = parse("[api]\ntoken = \"admin-admin\"\nread_token = \"read-read\"\n").expect("valid");
    assert_eq!(ok.api.read_token.as_deref(), Some("read-read"));
    let e = error("[api]\ntoken = \"same-same\"\nread_token = \"same-same\"\n");
    assert!(
        e.contains("tenax.toml:3:") && e.contains("api.read_token") && e.contains("differ"),
        "{e}"
    );
    let e = error("[api]\nread_token = \"read-read\"\n");
    assert!(
        e.contains("api.read_token") && e.contains("api.token"),
        "{e}"
    );
    assert!(error("[api]\ntoken = \"a-a\"\nread_token = \" \"\n").contains("api.read_token"));
    assert!(error("[api]\ntoken = \"a-a\"\nread_token = \"r\\n\"\n").contains("whitespace"));
    assert!(error("[api]\nsession_lifetime = \"0s\"\n").contains("api.session_lifetime"));
    assert!(error("[api]\nsession_lifetime = \"31d\"\n").contains("api.session_lifetime"));
    // From the environment too, and never printed.
    let env = |name: &str| (name == "TENAX_API_READ_TOKEN").then(|| "from-env-read".to_owned());
    let c = Config::from_toml_str("[api]\ntoken = \"admin-admin\"\n", "tenax.toml", env)
        .expect("valid");
    assert_eq!(c.api.read_token.as_deref(), Some("from-env-read"));
    assert!(!format!("{:?}", c.api).contains("read-read"));
    let printed = super::render::effective_toml(&ok);
    assert!(
        printed.contains("# read_token = (set, not printed)"),
        "{printed}"
    );
    assert!(!printed.contains("read-read"), "{printed}");
}
