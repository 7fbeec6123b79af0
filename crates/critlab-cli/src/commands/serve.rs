//! `critlab serve`: the report page over HTTP, updating live while a sweep writes the store.
use super::report::PageArgs;
use crate::args::StoreArg;
use anyhow::Result;
use clap::Args;
use critlab_report::serve::{bind, ServeOptions};
use std::net::IpAddr;
use std::process::ExitCode;

/// Serve the report page live over HTTP (read-only on the store).
#[derive(Debug, Args)]
pub struct ServeCmd {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    page: PageArgs,
    /// Port (0: any free port)
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address to listen on (the default answers this machine only)
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// How often the page checks the store for changes, in milliseconds
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..))]
    poll_ms: u64,
}

/// Runs `critlab serve`.
pub fn run(cmd: ServeCmd) -> Result<ExitCode> {
    let server = bind(
        &cmd.store.store,
        ServeOptions { bind: cmd.bind, port: cmd.port, poll_ms: cmd.poll_ms, report: cmd.page.options() },
    )?;
    outln!("serving {} read-only at http://{}/ (Ctrl-C stops)", server.store_path().display(), server.addr())?;
    if !cmd.bind.is_loopback() {
        outln!("warning: bound to {}: other machines that can reach it can read the store's runs", cmd.bind)?;
    }
    server.run()?;
    Ok(ExitCode::SUCCESS)
}
