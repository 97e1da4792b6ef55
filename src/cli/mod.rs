//! The only layer that prints: parses arguments, sets up logging, runs a
//! command, shows errors with a hint, and maps every outcome to an exit
//! code (docs/exit-codes.md).

pub mod args;
mod commands;
mod doctor;
pub mod failure;
mod ledger;
mod output;
mod progress;
mod review;
mod runs;
mod signals;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::exit::Exit;
pub use args::Cli;
pub use failure::Failure;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e).into(),
    };
    init_logging(cli.verbose, cli.quiet);
    // Before any token is read: agents must not read this process.
    crate::sandbox::landlock::protect_self();
    use anyhow::Context as _;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
    {
        Ok(rt) => rt,
        Err(e) => return Failure::from(e).report(),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(failure) => failure.report(),
    }
}

/// Clap's errors are several lines with a usage block; a user (and a log
/// file) is better served by one line and a hint.
fn usage_error(e: clap::Error) -> Exit {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
        _ => {}
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    let tip = rendered
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .filter(|t| !t.starts_with("to pass"))
        .map(str::to_string);
    // The subcommand named on the command line, for a precise help pointer.
    let names: Vec<String> = <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let usage_of = std::env::args()
        .skip(1)
        .find(|a| names.contains(a))
        .map(|sub| format!("deep-review {sub} --help"))
        .unwrap_or_else(|| "deep-review --help".to_string());
    let hint = match tip {
        Some(tip) => format!("{tip}; see `{usage_of}`"),
        None => format!("see `{usage_of}`"),
    };
    output::error_lines(&first, &hint);
    Exit::Usage
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "deep_review=info",
        (false, 2) => "deep_review=debug",
        _ => "trace",
    };
    let filter = std::env::var("DEEP_REVIEW_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
