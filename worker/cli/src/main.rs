//! The `tenax` binary: the daemon with the built-in HTTP handler, its command line, the
//! configuration and the demo. An application's daemon is the same builder with its
//! own handlers added (see `tenax::Daemon`).
//!
//! Exit codes: 0 success, 1 failure, 2 usage error (from clap).

#![forbid(unsafe_code)]

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tenax::Daemon::builder().main()
}
