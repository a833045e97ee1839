//! The `tenax` binary: the daemon, the command line, the configuration and the demo.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error (from clap).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tenax::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tenax: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tenax::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tenax: {err:#}");
            ExitCode::FAILURE
        }
    }
}
