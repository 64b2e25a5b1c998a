//! `vigil`: the Vigil appliance binary.
//!
//! Every failure a user, a file or a machine can cause ends as one `error: ...` line on
//! stderr and a non-zero exit status; nothing here panics on input.

mod backends;
mod commands;
mod crossover;
mod logging;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use commands::Command;

/// Vigil: Ed25519 signature verification and BLAKE3 Merkle roots for blockchain
/// transaction batches, on whatever accelerators the machine has.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Form of the log lines on stderr: text (for people) or json (for log pipelines)
    ///
    /// `json` writes one object per line: timestamp, level, target, and fields with the
    /// message. `VIGIL_LOG` chooses which lines are written (default `warn`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "VIGIL_LOG_FORMAT",
        default_value_t = logging::LogFormat::Text
    )]
    log_format: logging::LogFormat,
}

fn main() -> ExitCode {
    // Arguments first: the subscriber's form is one of them. Parsing logs nothing, and
    // its errors are printed below without the subscriber.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                // Help and version go to stdout as clap renders them.
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see vigil --help)");
            return ExitCode::from(2);
        }
    };

    if let Err(e) = logging::init(cli.log_format) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }

    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {text}");
            ExitCode::FAILURE
        }
    }
}
