//! The `accessbot` binary: parses the command line and runs the command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = accessbot::cli::Cli::parse();
    let quiet = matches!(cli.command, accessbot::cli::Command::Demo);
    accessbot::logging::init(cli.log_format, quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(accessbot::cli::run(cli))
}
