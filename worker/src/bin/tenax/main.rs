//! The `tenax` binary: daemon, command line, configuration and demo.

mod demo;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("demo") {
        let runtime = tokio::runtime::Runtime::new()?;
        let summary = runtime.block_on(demo::run(demo::DemoOptions::default()))?;
        if !summary.accounting_holds() {
            std::process::exit(1);
        }
    }
    Ok(())
}
