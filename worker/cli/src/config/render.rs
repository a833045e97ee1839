//! The configuration as a commented TOML file: what `tenax config defaults` prints for
//! the defaults and `tenax config check` for the effective configuration. One template,
//! values from the [`Config`] itself, so the printed defaults cannot drift from the code
//! (a test parses them back) and a checked file prints in the same form.
//!
//! The API token is never printed: a set token shows as a comment. A [`Secret`]
//! prints where it comes from (`{ env = "NAME" }`), never its value, and in an
//! application's section a string under a name that says it is a credential is
//! replaced by `***`.
//!
//! [`Secret`]: super::Secret

use super::{Config, Extension};

/// The default configuration file, every key with its default and what it does.
pub(crate) fn defaults_toml() -> String {
    render(&Config::default())
}

/// `config` in the form of [`defaults_toml`]; parsed back, it gives `config` again,
/// except for the API token, which is left out.
pub(crate) fn effective_toml(config: &Config) -> String {
    render(config)
}

const HEADER: &str = "\
# tenax configuration: every key with its value.
# Durations are strings such as \"250ms\", \"30s\", \"5m\", \"1h 30m\", or integer milliseconds.
# Sizes are integer bytes or strings such as \"512KiB\", \"1MiB\", \"128MB\".
# Environment variables override: TENAX_DATA_DIR, TENAX_API_ADDR, TENAX_API_TOKEN.
";

/// One key: its name, its comment, and the commented example shown when it is unset.
struct Key {
    name: &'static str,
    doc: &'static str,
    unset: &'static str,
}

const fn key(name: &'static str, doc: &'static str) -> Key {
    Key {
        name,
        doc,
        unset: "",
    }
}

const TOP: &[Key] = &[
    key(
        "data_dir",
        "Where the store keeps its data. One tenax process owns a directory at a time.",
    ),
    Key {
        name: "policy_file",
        doc: "A Rhai policy script, hot-reloaded when it changes. Without one, the built-in\n\
              default policy applies (see `tenax policy check`).",
        unset: "policy_file = \"policy.rhai\"",
    },
];

const SECTIONS: &[(&str, &[Key])] = &[
    (
        "api",
        &[
            key(
                "addr",
                "Where the HTTP API listens. Any address other than loopback needs `token`.",
            ),
            Key {
                name: "token",
                doc: "Bearer token every request (but /healthz) must carry. Default: none.",
                unset: "token = \"a long random string\"",
            },
            Key {
                name: "read_token",
                doc: "A second token that reads everything (API and dashboard) and changes\n\
                      nothing. Needs `token`. Default: none.",
                unset: "read_token = \"another long random string\"",
            },
            key("body_limit", "Largest request body accepted."),
            key(
                "session_lifetime",
                "How long a dashboard login lasts (its cookie's lifetime).",
            ),
        ],
    ),
    (
        "worker",
        &[
            key(
                "queue",
                "Where jobs enqueued without a queue go; without [queues.NAME] sections, the one\n\
                 queue this daemon serves (jobs for other queues are refused at enqueue).",
            ),
            key("concurrency", "Jobs running at once."),
            key(
                "shutdown_grace",
                "After SIGINT/SIGTERM: how long running jobs may finish before they are released\n\
                 back to the queue (without counting an attempt).",
            ),
            key(
                "job_timeout",
                "How long one attempt of a job may run before it is cancelled (a `transient`\n\
                 failure), unless its kind has its own timeout below.",
            ),
        ],
    ),
    (
        "http",
        &[
            key(
                "allowed_bases",
                "The HTTP handler calls only URLs under these bases (scheme, host, port and path\n\
                 prefix). Empty: every HTTP job is refused.",
            ),
            key(
                "default_timeout",
                "Request timeout when the job does not give one.",
            ),
            key("max_timeout", "Longest timeout a job may ask for."),
            key("connect_timeout", "Connection set-up timeout."),
        ],
    ),
    (
        "store",
        &[
            key(
                "durability",
                "\"sync\": an enqueue returns once it is on disk (fdatasync). \"buffered\": once it is\n\
                 in the operating system (survives a killed process, not a power cut).",
            ),
            key(
                "flush_interval",
                "How often other transitions (claims, completions, retries) are synced to disk.",
            ),
            key(
                "dead_retention",
                "Dead letters older than this are purged automatically; \"never\" keeps them.",
            ),
            key(
                "crash_limit",
                "A job that was running when the process died this many times goes to the dead\n\
                 letters as `crashed` instead of running again.",
            ),
            key(
                "min_free_space",
                "Enqueues are refused while the disk has less free space than this, so the queue\n\
                 can still drain.",
            ),
        ],
    ),
    (
        "log",
        &[
            key(
                "format",
                "\"human\" or \"json\" (`tenax run --json-logs` also selects JSON).",
            ),
            key(
                "level",
                "A tracing filter such as \"info\" or \"info,tenax_worker=debug\"; RUST_LOG overrides it.",
            ),
        ],
    ),
];

fn render(config: &Config) -> String {
    let value = toml::Value::try_from(config).unwrap_or_else(|_| toml::Value::from(""));
    let empty = toml::Table::new();
    let root = value.as_table().unwrap_or(&empty);
    let mut out = format!("{HEADER}\n");
    keys(&mut out, root, TOP, true);
    for (section, list) in SECTIONS {
        out.push_str(&format!("\n[{section}]\n"));
        let table = root.get(*section).and_then(toml::Value::as_table);
        keys(&mut out, table.unwrap_or(&empty), list, false);
        if *section == "worker" {
            timeouts(&mut out, table.unwrap_or(&empty));
        }
        if *section == "http" {
            targets(&mut out, table.and_then(|t| t.get("targets")?.as_array()));
        }
    }
    queues(&mut out, root.get("queues").and_then(toml::Value::as_table));
    schedules(
        &mut out,
        root.get("schedules").and_then(toml::Value::as_array),
    );
    for (name, table) in &config.sections {
        out.push_str(&format!(
            "\n# [{name}]: the application's own section, as written.\n"
        ));
        out.push_str(&format!("[{}]\n", toml_key(name)));
        for (key, value) in shown(table) {
            out.push_str(&format!("{} = {value}\n", toml_key(&key)));
        }
    }
    out
}

/// What `config defaults` says of an application's section: its name and keys.
pub(crate) fn section_note(app: &Extension) -> String {
    let Some(section) = &app.section else {
        return String::new();
    };
    let keys = section
        .fields
        .map(|f| format!(" Its keys: {}.", f.join(", ")))
        .unwrap_or_default();
    format!(
        "\n# [{}]: the application's own section; see its documentation.{keys}\n",
        section.name
    )
}

/// `table` with every string under a credential's name replaced by `***`.
fn shown(table: &toml::Table) -> toml::Table {
    fn value(name: &str, v: &toml::Value) -> toml::Value {
        match v {
            toml::Value::String(_) if tenax_worker::http::is_secret_name(name) => {
                toml::Value::from(tenax_worker::http::REDACTED)
            }
            toml::Value::Table(t) => toml::Value::Table(shown(t)),
            toml::Value::Array(items) => {
                toml::Value::Array(items.iter().map(|i| value(name, i)).collect())
            }
            other => other.clone(),
        }
    }
    table
        .iter()
        .map(|(k, v)| (k.clone(), value(k, v)))
        .collect()
}

const TARGETS_DOC: &str = "\
# [[http.targets]]: downstreams whose credentials the configuration holds, none by
# default. The HTTP handler adds `headers` to each request under `base` (the longest
# matching base wins), and the base is an allowed base too. Header values are secrets:
# { env = \"NAME\" } or { file = \"PATH\" }, never written here. A job may not set them.
#   base = \"https://plex.local:32400/\"
#   headers = { \"X-Plex-Token\" = { env = \"PLEX_TOKEN\" } }
";

fn targets(out: &mut String, list: Option<&Vec<toml::Value>>) {
    out.push('\n');
    out.push_str(TARGETS_DOC);
    for entry in list.into_iter().flatten() {
        out.push_str("\n[[http.targets]]\n");
        for key in ["base", "headers"] {
            if let Some(value) = entry.as_table().and_then(|t| t.get(key)) {
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
    }
}

/// What each `[[schedules]]` key means; shown once, above the entries (or alone).
const SCHEDULES_DOC: &str = "\
# Periodic jobs, none by default: one [[schedules]] table each. Each tick enqueues one job
# exactly once, across crashes and restarts (the last fired tick is stored with the job).
#   name = \"reconcile\"        unique; required
#   cron = \"0 * * * *\"        a cron expression: 5 fields, or 6 with seconds first; or instead
#   every = \"15m\"             an interval of at least 1s; ticks fall on its multiples since
#                             1970-01-01 UTC
#   timezone = \"UTC\"          the wall clock `cron` is read on (an IANA name); default \"UTC\"
#   queue = \"default\"         a served queue; default: `worker.queue`
#   kind = \"http\"             the job kind; required
#   payload = { method = \"POST\", url = \"http://127.0.0.1:32400/reconcile\" }
#                             the job's payload (a table, sent as JSON); default {}
#   catch_up = \"one\"          after a stop that missed ticks: \"one\" job for the latest of
#                             them, or \"all\" (one per missed tick, at most the latest 1000)
";

fn schedules(out: &mut String, list: Option<&Vec<toml::Value>>) {
    out.push('\n');
    out.push_str(SCHEDULES_DOC);
    for entry in list.into_iter().flatten() {
        out.push_str("\n[[schedules]]\n");
        let table = entry.as_table();
        // Every key of `ScheduleSection`, in the order people write them (the round-trip
        // test in `tests.rs` fails if one is left out).
        let order = [
            "name", "cron", "every", "timezone", "queue", "kind", "payload", "catch_up",
        ];
        for key in order {
            if let Some(value) = table.and_then(|t| t.get(key)) {
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
    }
}

const QUEUES_DOC: &str = "\
# [queues.NAME]: the queues this daemon serves, each with its own worker loop, circuit
# breaker, pause and rate limit (see `tenax queue`). None: `worker.queue` alone. Keys:
#   concurrency  jobs of this queue running at once (default: worker.concurrency)
#   policy_file  its policy script, with its own `rate_limit` (default: policy_file)
#   job_timeout  attempt timeout of its jobs (default: worker.job_timeout)
# A queue's pause and run-time rate limit are stored with the jobs, not configured here.
";

fn queues(out: &mut String, queues: Option<&toml::Table>) {
    out.push('\n');
    out.push_str(QUEUES_DOC);
    let Some(queues) = queues.filter(|q| !q.is_empty()) else {
        out.push_str("# [queues.media]\n# concurrency = 4\n");
        return;
    };
    for (name, settings) in queues {
        out.push_str(&format!("\n[queues.{}]\n", toml_key(name)));
        for (key, value) in settings.as_table().into_iter().flatten() {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
}

/// Each key of `list` with its comment; `spaced` puts a blank line between them.
fn keys(out: &mut String, table: &toml::Table, list: &[Key], spaced: bool) {
    for (i, k) in list.iter().enumerate() {
        if i > 0 && spaced {
            out.push('\n');
        }
        for line in k.doc.lines() {
            out.push_str(&format!("# {}\n", line.trim()));
        }
        match table.get(k.name) {
            // The token is a secret: it is said to be set, never printed.
            Some(_) if matches!(k.name, "token" | "read_token") => {
                out.push_str(&format!("# {} = (set, not printed)\n", k.name));
            }
            Some(value) => out.push_str(&format!("{} = {value}\n", k.name)),
            None => out.push_str(&format!("# {}\n", k.unset)),
        }
    }
}

fn timeouts(out: &mut String, worker: &toml::Table) {
    out.push_str("\n[worker.timeouts]\n# Per-kind attempt timeouts, e.g.: http = \"2m\"\n");
    let set = worker.get("timeouts").and_then(toml::Value::as_table);
    for (kind, timeout) in set.into_iter().flatten() {
        out.push_str(&format!("{} = {timeout}\n", toml_key(kind)));
    }
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        toml::Value::from(key).to_string()
    }
}
