//! The command line: what each command takes. `--help` on every command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// tenax: a durable job queue and worker for flaky downstream services.
///
/// Exit codes: 0 success, 1 failure, 2 usage error.
#[derive(Parser, Debug)]
#[command(name = "tenax", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where to find the daemon: config file, then flags and environment.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct Target {
    /// Configuration file (TOML); its API address, token and data directory are used.
    #[arg(long, short, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The daemon's API address (host:port or URL). Default: from the config, else
    /// 127.0.0.1:7450.
    #[arg(long, global = true, env = "TENAX_API_ADDR", value_name = "ADDR")]
    pub(crate) api: Option<String>,
    /// The API's bearer token.
    #[arg(
        long,
        global = true,
        env = "TENAX_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,
    /// The application's part of the configuration file, so that a client command
    /// accepts the files its daemon accepts. Set by the dispatcher, not a flag.
    #[arg(skip)]
    pub(crate) app: crate::config::Extension,
}

impl Command {
    /// The daemon this command talks to (or runs), if it names one.
    pub(crate) fn target_mut(&mut self) -> Option<&mut Target> {
        use crate::queues::QueueCommand as Q;
        match self {
            Command::Run { target, .. }
            | Command::Health { target, .. }
            | Command::Enqueue(EnqueueArgs { target, .. })
            | Command::Stats { target, .. }
            | Command::Breaker { target, .. }
            | Command::Job {
                command:
                    JobCommand::Show { target, .. }
                    | JobCommand::List { target, .. }
                    | JobCommand::Cancel { target, .. },
            }
            | Command::Dlq {
                command:
                    DlqCommand::List { target, .. }
                    | DlqCommand::Show { target, .. }
                    | DlqCommand::Requeue { target, .. }
                    | DlqCommand::Delete { target, .. }
                    | DlqCommand::Purge { target, .. },
            }
            | Command::Queue {
                command:
                    Q::List { target, .. }
                    | Q::Pause { target, .. }
                    | Q::Resume { target, .. }
                    | Q::Limit { target, .. },
            }
            | Command::Schedule {
                command: ScheduleCommand::List { target, .. },
            }
            | Command::Policy {
                command: PolicyCommand::Show { target, .. },
            } => Some(target),
            Command::Policy {
                command: PolicyCommand::Check { .. },
            }
            | Command::Config { .. }
            | Command::Completions { .. }
            | Command::Man
            | Command::Bench(_)
            | Command::Demo { .. } => None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the daemon: store, worker, policy hot reload and the HTTP API.
    Run {
        #[command(flatten)]
        target: Target,
        /// Log as JSON lines instead of human-readable text.
        #[arg(long)]
        json_logs: bool,
        /// Do not watch the policy file; reload it only on SIGHUP (e.g. from a service
        /// manager's reload command).
        #[arg(long)]
        no_policy_watch: bool,
    },
    /// Ask a running daemon whether it is alive (or ready, with `--ready`): exit 0 if
    /// so, 1 if not. For container health checks without curl.
    Health {
        #[command(flatten)]
        target: Target,
        /// Check readiness (`/readyz`: store writable, worker running, policy loaded)
        /// instead of liveness (`/healthz`).
        #[arg(long)]
        ready: bool,
    },
    /// Enqueue a job (from arguments), or many (JSON lines on stdin with `-`).
    Enqueue(EnqueueArgs),
    /// Counts per queue and state.
    Stats {
        #[command(flatten)]
        target: Target,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Inspect one job.
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// The dead letter queue: list, show, requeue, purge.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Served queues: list, pause, resume, rate-limit.
    Queue {
        #[command(subcommand)]
        command: crate::queues::QueueCommand,
    },
    /// The circuit breakers' states, one per served queue.
    Breaker {
        #[command(flatten)]
        target: Target,
        /// Print the JSON answer instead of text for people.
        #[arg(long)]
        json: bool,
    },
    /// Periodic jobs (`[[schedules]]` in the configuration).
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Policy scripts: check one offline, or show the daemon's.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script (e.g. `tenax completions bash > /etc/bash_completion.d/tenax`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `tenax man | man -l -`.
    Man,
    /// Measure throughput and latency with the standard workloads.
    Bench(crate::bench::BenchArgs),
    /// A self-contained demo: a flaky mock media server, an outage, retries, the DLQ.
    Demo {
        /// How many jobs to enqueue.
        #[arg(long, default_value_t = 300)]
        jobs: u32,
        /// Seed for which items misbehave.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Args, Debug)]
pub(crate) struct EnqueueArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// The job's kind (`http` for the HTTP handler), or `-` to read JSON lines from
    /// stdin, each a job object as `POST /v1/jobs` takes it.
    pub(crate) kind: String,
    /// The payload, as JSON (for `http`: `{"url": "...", "method": "POST", ...}`).
    pub(crate) payload: Option<String>,
    /// The queue. Default: the daemon's queue.
    #[arg(long)]
    pub(crate) queue: Option<String>,
    /// A deduplication key: while a live job holds it, this one is not added.
    #[arg(long)]
    pub(crate) dedup_key: Option<String>,
    /// With `--dedup-key`: replace the waiting job's payload instead of keeping it.
    #[arg(long, requires = "dedup_key")]
    pub(crate) replace: bool,
    /// Run after this delay ("30s", "5m").
    #[arg(long, conflicts_with = "run_at")]
    pub(crate) delay: Option<String>,
    /// Run at this time (RFC 3339).
    #[arg(long)]
    pub(crate) run_at: Option<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum JobCommand {
    /// A job, its state, attempts and last error.
    Show {
        #[command(flatten)]
        target: Target,
        /// The job id.
        id: u64,
        /// Print the JSON answer instead of text for people.
        #[arg(long)]
        json: bool,
    },
    /// Jobs in one state, a page at a time, in the order they run (or died).
    List {
        #[command(flatten)]
        target: Target,
        /// `waiting`, `retrying`, `running` or `dead`.
        #[arg(long, value_parser = ["waiting", "retrying", "running", "dead"])]
        state: String,
        /// Only this queue.
        #[arg(long)]
        queue: Option<String>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs whose last error has this class.
        #[arg(long)]
        class: Option<String>,
        /// Page size (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed at the end of a page when more may follow).
        #[arg(long)]
        cursor: Option<String>,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job: a waiting or retrying one moves to the dead letters as
    /// `cancelled`; a running one is buried so when its attempt ends, unless it succeeds.
    Cancel {
        #[command(flatten)]
        target: Target,
        /// The job id.
        id: u64,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct DeadFilterArgs {
    /// Only this queue.
    #[arg(long)]
    pub(crate) queue: Option<String>,
    /// Only this kind.
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Only this final error class.
    #[arg(long)]
    pub(crate) class: Option<String>,
    /// Only jobs that died at or after this time (RFC 3339).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only jobs that died before this time (RFC 3339).
    #[arg(long)]
    pub(crate) until: Option<String>,
}

impl DeadFilterArgs {
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_none()
            && self.kind.is_none()
            && self.class.is_none()
            && self.since.is_none()
            && self.until.is_none()
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum DlqCommand {
    /// Dead jobs, newest last, a page at a time.
    List {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        filter: DeadFilterArgs,
        /// Page size (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed at the end of a full page).
        #[arg(long)]
        cursor: Option<String>,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One dead job with its full record.
    Show {
        #[command(flatten)]
        target: Target,
        /// The job id.
        id: u64,
        /// Print the JSON answer instead of text for people.
        #[arg(long)]
        json: bool,
    },
    /// Move dead jobs back to the queue (attempts reset): by id, by filter, or all.
    Requeue {
        #[command(flatten)]
        target: Target,
        /// Job ids.
        ids: Vec<u64>,
        #[command(flatten)]
        filter: DeadFilterArgs,
        /// Every dead job.
        #[arg(long)]
        all: bool,
        /// Print how many would be requeued, and the first few ids; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete one dead job.
    Delete {
        #[command(flatten)]
        target: Target,
        /// The job id.
        id: u64,
    },
    /// Delete dead jobs older than an age.
    Purge {
        #[command(flatten)]
        target: Target,
        /// The age ("7d", "12h"; "0s" purges every dead job).
        #[arg(long, value_name = "AGE")]
        older_than: String,
        /// Print how many would be deleted, and the first few ids; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ScheduleCommand {
    /// Each schedule with its last fired tick and next fire time.
    List {
        #[command(flatten)]
        target: Target,
        /// Print the JSON answer instead of text for people.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum PolicyCommand {
    /// Check a policy script offline; print the effective policy and the schedules.
    Check {
        /// The script.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The daemon's live policy: version, hash, last reload error, report.
    Show {
        #[command(flatten)]
        target: Target,
        /// Print the JSON answer instead of text for people.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCommand {
    /// Print the complete default configuration, with a comment per key.
    Defaults,
    /// Check a configuration file and print the effective configuration.
    Check {
        /// The file.
        file: PathBuf,
    },
}
