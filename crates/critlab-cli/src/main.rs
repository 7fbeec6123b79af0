//! The `critlab` binary: parses arguments, calls the library crates, maps the outcome to an
//! exit status (0 success, 1 finished with failures, 2 could not do the job) and prints the
//! error chain.
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

/// mimalloc's `mi_option_purge_delay` in the `mi_option_e` of its v3 header (the Rust
/// bindings do not name it): how many milliseconds freed memory stays committed before it is
/// returned to the kernel, −1 for never.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Keeps freed memory committed for the life of the process (unless `MIMALLOC_PURGE_DELAY`
/// says otherwise). With mimalloc's default (purge after 1 s) the transformer's step-sized
/// temporaries went back to the kernel between steps and came back as fresh pages that the
/// kernel zeroes: 5 900–23 000 page faults and 8 % of the samples (`clear_page_erms`) in a
/// 40-step profile of M2, against about 350 faults without purging. The process's resident
/// memory then stays at its high-water mark (M2's peak RSS: 122 → 128 MiB).
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options; called first thing in `main`, before any
        // other thread exists (mimalloc documents the option setters as not thread-safe).
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = commands::Cli::parse_args();
    let result = commands::run(cli).and_then(|code| Ok(output::flush().map(|()| code)?));
    match result {
        Ok(code) => code,
        // The reader of standard output went away (`critlab runs list | head -1`): stop
        // quietly, as `ls | head` does.
        Err(_) if output::closed() => ExitCode::SUCCESS,
        Err(err) => {
            errln!("error: {err}");
            for cause in err.chain().skip(1) {
                errln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_this_sets() {
        // The index is mimalloc's purge delay: its v3 default is 1000 ms, and setting it reads
        // back.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets an option of the allocator this binary links.
        unsafe {
            assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            keep_freed_memory();
            assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), -1);
        }
    }
}
