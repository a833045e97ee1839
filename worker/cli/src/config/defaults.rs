//! The complete default configuration, with a comment per key: what
//! `tenax config defaults` prints. A test parses it back and compares it with
//! `Config::default()`, so this text cannot drift from the code.

/// The default configuration file.
pub(crate) fn defaults_toml() -> String {
    DEFAULTS.to_owned()
}

const DEFAULTS: &str = r#"# tenax configuration: every key with its default value.
# Durations are strings such as "250ms", "30s", "5m", "1h 30m", or integer milliseconds.
# Sizes are integer bytes or strings such as "512KiB", "1MiB", "128MB".
# Environment variables override: TENAX_DATA_DIR, TENAX_API_ADDR, TENAX_API_TOKEN.

# Where the store keeps its data. One tenax process owns a directory at a time.
data_dir = "./tenax-data"

# A Rhai policy script, hot-reloaded when it changes. Without one, the built-in
# default policy applies (see `tenax policy check`).
# policy_file = "policy.rhai"

[api]
# Where the HTTP API listens. Any address other than loopback needs `token`.
addr = "127.0.0.1:7450"
# Bearer token every request (but /healthz) must carry. Default: none.
# token = "a long random string"
# Largest request body accepted.
body_limit = "1MiB"

[worker]
# The queue this daemon serves (jobs for other queues are refused at enqueue).
queue = "default"
# Jobs running at once.
concurrency = 16
# After SIGINT/SIGTERM: how long running jobs may finish before they are released
# back to the queue (without counting an attempt).
shutdown_grace = "30s"
# How long one attempt of a job may run before it is cancelled (a `transient`
# failure), unless its kind has its own timeout below.
job_timeout = "5m"

[worker.timeouts]
# Per-kind attempt timeouts, e.g.:
# http = "2m"

[http]
# The HTTP handler calls only URLs under these bases (scheme, host, port and path
# prefix). Empty: every HTTP job is refused.
allowed_bases = []
# Request timeout when the job does not give one.
default_timeout = "30s"
# Longest timeout a job may ask for.
max_timeout = "5m"
# Connection set-up timeout.
connect_timeout = "10s"

[store]
# "sync": an enqueue returns once it is on disk (fdatasync). "buffered": once it is
# in the operating system (survives a killed process, not a power cut).
durability = "sync"
# How often other transitions (claims, completions, retries) are synced to disk.
flush_interval = "200ms"
# Dead letters older than this are purged automatically; "never" keeps them.
dead_retention = "30days"
# A job that was running when the process died this many times goes to the dead
# letters as `crashed` instead of running again.
crash_limit = 3
# Enqueues are refused while the disk has less free space than this, so the queue
# can still drain.
min_free_space = "128MiB"

[log]
# "human" or "json" (`tenax run --json-logs` also selects JSON).
format = "human"
# A tracing filter such as "info" or "info,tenax_worker=debug"; RUST_LOG overrides it.
level = "info"
"#;
