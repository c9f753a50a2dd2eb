//! The `accessbot` binary: parses the command line (and the configuration file), sets up
//! logging and runs the command.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` and closed early ends the process quietly, as for any Unix tool,
    // instead of a panic on the next write.
    #[cfg(unix)]
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = accessbot::cli::parse_args();
    let quiet = matches!(cli.command, accessbot::cli::Command::Demo);
    accessbot::logging::init(cli.log_format, cli.color, quiet);
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
