//! [`Daemon::builder`]: an application's own handler kinds with the whole daemon around
//! them.
//!
//! # Why a builder, not a library of parts
//!
//! A handler is the small part of running one: the configuration file and its strict
//! checks, the API and its validation, the command line, metrics, policy reloads,
//! schedules, signals and readiness are the large part, and an application that wired
//! them itself would drift from `tenax` with every release. So an application adds
//! what is its own (a configuration section, its handler kinds, a health probe) and
//! calls [`DaemonBuilder::main`]; the `tenax` binary is this builder with nothing
//! added. Its jobs are enqueued like any other (`POST /v1/jobs` with its `kind`, or
//! `<name> enqueue <kind> <payload>`), checked at the door by the handler's
//! [`validate`](tenax_worker::Handler::validate), and shown, retried, dead-lettered
//! and requeued by the same commands.
//!
//! ```
//! use std::process::ExitCode;
//! use tenax::{Daemon, HandlerContext, Secret};
//! use tenax_worker::{HandlerError, handler_fn, probe_fn};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct SyncConfig {
//!     plex_url: String,
//!     plex_token: Secret,
//!     #[serde(default)]
//!     libraries: Vec<String>,
//! }
//!
//! fn app() -> tenax::DaemonBuilder<SyncConfig> {
//!     Daemon::builder()
//!         .name("stash2plex")
//!         .about("Stash scene metadata to Plex")
//!         .section::<SyncConfig>("stash2plex")
//!         .handler("plex-sync", |ctx: &HandlerContext<SyncConfig>| {
//!             let config = ctx.shared_section();
//!             Ok(handler_fn(move |job| {
//!                 let config = config.clone();
//!                 async move {
//!                     if job.payload.is_empty() {
//!                         return Err(HandlerError::permanent("no scene id"));
//!                     }
//!                     let _ = (&config.plex_url, config.plex_token.expose());
//!                     Ok(())
//!                 }
//!             }))
//!         })
//!         .health_probe(|_ctx: &HandlerContext<SyncConfig>| {
//!             Ok(probe_fn(|| async { Ok(()) }))
//!         })
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let token = dir.path().join("plex-token");
//! std::fs::write(&token, "s3cret\n")?;
//! let file = dir.path().join("stash2plex.toml");
//! let check = |text: String| -> Result<ExitCode, std::io::Error> {
//!     std::fs::write(&file, text)?;
//!     let args = ["stash2plex", "config", "check", file.to_str().unwrap_or_default()];
//!     Ok(app().main_from(args))
//! };
//!
//! let good = format!(
//!     "[stash2plex]\nplex_url = \"http://127.0.0.1:32400\"\nplex_token = {{ file = {token:?} }}\n"
//! );
//! assert_eq!(check(good)?, ExitCode::SUCCESS);
//! // Parsed as strictly as tenax's own keys: `stash2plex.plex_ur` is unknown (with the
//! // line and a suggestion on stderr), and so is a section of another name.
//! let typo = "[stash2plex]\nplex_ur = \"http://127.0.0.1:32400\"\n".to_owned();
//! assert_eq!(check(typo)?, ExitCode::FAILURE);
//! # Ok(())
//! # }
//! ```
//!
//! (In a binary, `fn main() -> ExitCode { app().main() }`.)

mod application;
mod context;
pub(crate) mod redacted;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};
use serde::de::DeserializeOwned;
use tenax_worker::{Handler, HealthProbe};

pub use application::BoxError;
pub(crate) use application::{Application, QueueParts};
pub use context::HandlerContext;

use crate::config::{ParseSection, Section, fields_of, known_keys};

/// The daemon: `tenax` itself, or an application's daemon with its own handlers.
/// Start with [`Daemon::builder`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Daemon;

impl Daemon {
    /// A daemon with the built-in HTTP handler (kind `http`) and nothing else: what
    /// the `tenax` binary runs. Add an application's section, handler kinds and health
    /// probe, then call [`main`](DaemonBuilder::main).
    pub fn builder() -> DaemonBuilder<()> {
        DaemonBuilder {
            app: Application::default(),
            section: Arc::new(Mutex::new(Some(Arc::new(())))),
            problems: Vec::new(),
        }
    }
}

/// Builds a daemon around an application's handlers; `S` is its configuration
/// section's type (`()` without one). See [`Daemon::builder`].
#[must_use = "call `.main()` to run the daemon"]
pub struct DaemonBuilder<S = ()> {
    app: Application,
    /// The section's value, kept by the configuration's loader for the factories.
    section: Arc<Mutex<Option<Arc<S>>>>,
    /// Mistakes in the builder's use, reported by `main` before anything runs.
    problems: Vec<String>,
}

impl DaemonBuilder<()> {
    /// The application's own configuration section, `[name]`, deserialised into `T`
    /// when the configuration is loaded (by `run`, `config check` and the client
    /// commands alike). Use `#[serde(deny_unknown_fields)]`: an unknown key is then an
    /// error with its line, column and the nearest known key, as for tenax's own keys.
    /// Use [`Secret`](crate::Secret) for credentials.
    ///
    /// A section missing from the file is read as an empty table: a type whose fields
    /// all have defaults makes the section optional, one with a required field makes
    /// it required (the error names the section and the field). Call this before
    /// adding handlers, which then see `T`.
    pub fn section<T>(self, name: &str) -> DaemonBuilder<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let mut problems = self.problems;
        let reserved = known_keys(&[]).unwrap_or_default();
        if name.is_empty() || reserved.iter().any(|k| k == name) {
            problems.push(format!(
                "the section name {name:?} is taken by tenax's own configuration; choose another"
            ));
        }
        let slot: Arc<Mutex<Option<Arc<T>>>> = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&slot);
        let parse: ParseSection = Arc::new(move |de| {
            let value: T = serde_path_to_error::deserialize(de)?;
            *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(value));
            Ok(())
        });
        let mut app = self.app;
        if app.extension.section.is_some() {
            problems.push("only one configuration section per application".to_owned());
        }
        app.extension.section = Some(Section {
            name: name.to_owned(),
            fields: fields_of::<T>(),
            parse,
        });
        DaemonBuilder {
            app,
            section: slot,
            problems,
        }
    }
}

impl<S: Send + Sync + 'static> DaemonBuilder<S> {
    /// The command's name, in usage, completions, logs and messages. Default: `tenax`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.app.name = name.into();
        self
    }

    /// The command's one-line description in `--help`. Default: tenax's.
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.app.about = Some(about.into());
        self
    }

    /// What `--version` prints, e.g. `env!("CARGO_PKG_VERSION")`. Default: tenax's.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.app.version = Some(version.into());
        self
    }

    /// Runs jobs of `kind` with the handler `factory` makes. The factory is called once
    /// per served queue when the daemon starts (each queue has its own worker loop,
    /// breaker and policy); an error stops the start with its message. The kind's
    /// attempt timeout is `worker.timeouts.<kind>`, else the queue's `job_timeout`.
    ///
    /// `http` is the built-in HTTP handler's kind and cannot be taken.
    pub fn handler<H, F>(mut self, kind: impl Into<String>, factory: F) -> Self
    where
        H: Handler,
        F: Fn(&HandlerContext<S>) -> Result<H, BoxError> + Send + Sync + 'static,
    {
        let kind = kind.into();
        if kind == crate::daemon::HTTP_KIND
            || self.app.handlers.iter().any(|(k, _)| *k == kind)
            || kind.is_empty()
            || kind.len() > tenax_core::MAX_NAME_BYTES
        {
            self.problems.push(format!(
                "the job kind {kind:?} is taken or not a valid kind (1 to {} bytes, not `http`)",
                tenax_core::MAX_NAME_BYTES
            ));
        }
        let section = Arc::clone(&self.section);
        let make = move |parts: &QueueParts| -> Result<Arc<dyn Handler>, BoxError> {
            let handler = factory(&context(&section, parts)?)?;
            Ok(Arc::new(handler))
        };
        self.app.extension.kinds.push(kind.clone());
        self.app.handlers.push((kind, Arc::new(make)));
        self
    }

    /// What each queue's circuit breaker asks before its half-open probe job: while
    /// the probe fails the breaker stays open and no job spends an attempt (see
    /// [`HealthProbe`]). Made once per served queue, like the handlers. Default: none;
    /// the probe job itself is the question.
    pub fn health_probe<P, F>(mut self, factory: F) -> Self
    where
        P: HealthProbe,
        F: Fn(&HandlerContext<S>) -> Result<P, BoxError> + Send + Sync + 'static,
    {
        let section = Arc::clone(&self.section);
        let make = move |parts: &QueueParts| -> Result<Arc<dyn HealthProbe>, BoxError> {
            let probe = factory(&context(&section, parts)?)?;
            Ok(Arc::new(probe))
        };
        if self.app.probe.is_some() {
            self.problems
                .push("one health probe per application; combine them in one".to_owned());
        }
        self.app.probe = Some(Arc::new(make));
        self
    }

    /// Parses the process's arguments, runs the command, and returns its exit code:
    /// 0 success, 1 failure, 2 usage error. `fn main() -> ExitCode { builder.main() }`.
    pub fn main(self) -> ExitCode {
        self.main_from(std::env::args_os())
    }

    /// [`main`](Self::main) with the given arguments (the first is the program's name).
    pub fn main_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let name = self.app.name.clone();
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(err) => {
                eprintln!("{name}: cannot start the async runtime: {err}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(self.run_from(args)) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("{name}: {err:#}");
                ExitCode::FAILURE
            }
        }
    }

    /// Parses `args` and runs the command on the current tokio runtime. A usage error,
    /// `--help` and `--version` are printed here, with exit code 2, 0 and 0.
    ///
    /// # Errors
    /// A mistake in the builder's use (a taken kind or section name), or the command's
    /// failure.
    pub async fn run_from<I, T>(self, args: I) -> Result<ExitCode>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        if !self.problems.is_empty() {
            anyhow::bail!("the daemon is built wrong: {}", self.problems.join("; "));
        }
        let command = self.app.command(crate::Cli::command());
        let matches = match command.try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(err) => {
                let _ = err.print();
                let code = u8::try_from(err.exit_code()).unwrap_or(2);
                return Ok(ExitCode::from(code));
            }
        };
        let cli = crate::Cli::from_arg_matches(&matches)?;
        crate::dispatch::run_app(cli, &self.app).await
    }
}

/// The context of one queue, with the section the configuration's loader kept.
fn context<S>(
    section: &Mutex<Option<Arc<S>>>,
    parts: &QueueParts,
) -> Result<HandlerContext<S>, BoxError> {
    let section = section
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or("the configuration section was not loaded")?;
    Ok(HandlerContext {
        section,
        queue: parts.queue.clone(),
        policy: parts.policy.clone(),
        store: Arc::clone(&parts.store),
    })
}
