//! The `tenax` binary: daemon, command line, configuration and demo.

fn main() -> anyhow::Result<()> {
    Ok(())
}
