//! The `critlab` binary: parses arguments, calls the library crates, maps the outcome to an
//! exit status (0 success, 1 finished with failures, 2 could not do the job) and prints the
//! error chain.
use clap::Parser;
use std::process::ExitCode;

#[macro_use]
mod output;
mod args;
mod commands;
mod table;

/// The allocator decides the speed of burn's CPU backend (DESIGN.md): mimalloc keeps freed
/// pages instead of returning every large temporary to the kernel.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    let result = commands::run(cli).and_then(|code| Ok(output::flush().map(|()| code)?));
    match result {
        Ok(code) => code,
        // The reader of standard output went away (`critlab runs list | head -1`): stop
        // quietly, as `ls | head` does.
        Err(_) if output::closed() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
