//! The `tenax` daemon and command line, as a library: the configuration file, the HTTP
//! API, the commands, the demo and the bench, so that each is testable and fuzzable as
//! ordinary code. The binary (`src/main.rs`) parses the command line and calls [`run`].
//!
//! ```
//! use std::process::ExitCode;
//! use clap::Parser;
//!
//! # fn main() -> anyhow::Result<()> {
//! // `tenax config defaults`: prints the commented default configuration.
//! let cli = tenax::Cli::try_parse_from(["tenax", "config", "defaults"])?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! assert_eq!(runtime.block_on(tenax::run(cli))?, ExitCode::SUCCESS);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod api;
mod app;
mod bench;
mod cli;
mod client;
mod commands;
mod config;
mod daemon;
mod demo;
mod dispatch;
mod logging;
mod notify;
mod offline;
mod queues;
mod render;
mod schedule;
mod ui;

pub use app::{BoxError, Daemon, DaemonBuilder, HandlerContext};
pub use cli::Cli;
pub use config::{Config, ConfigError, Secret};
pub use dispatch::run;
