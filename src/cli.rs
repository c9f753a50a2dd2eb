//! The command line: clap definitions and the wiring of each command to the modules.

use crate::ids::TaskId;
use crate::logging::LogFormat;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  accessbot demo                                   the bot against the simulator, end to end
  ACCESSBOT_TOKEN=api-… accessbot --phab-url https://phabricator.example.org run
  accessbot --token-file /etc/accessbot/token check T123 --json
  accessbot parse request.txt --json               parse a request description offline
  accessbot key ~/.ssh/id_ed25519.pub              judge an SSH public key offline
  accessbot status                                 clinic duty: what is ready to grant
  accessbot agenda --format wikitext               the next SRE meeting's agenda
  accessbot rules check rules/                     validate a rules directory
  accessbot sim --scenario tests/scenarios/demo.toml --listen 127.0.0.1:0

The API token is read from the environment variable ACCESSBOT_TOKEN or from --token-file;
it is never accepted as a flag value and never logged.";

/// accessbot: checks production access requests on Phabricator and says what is missing.
#[derive(Debug, Parser)]
#[command(name = "accessbot", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Phabricator base URL, e.g. https://phabricator.example.org
    #[arg(long, env = "ACCESSBOT_PHAB_URL", global = true, value_name = "URL")]
    pub phab_url: Option<String>,
    /// File holding the Conduit API token (instead of the ACCESSBOT_TOKEN variable).
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// SQLite database.
    #[arg(
        long,
        global = true,
        default_value = "accessbot.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,
    /// Rules directory (policy.toml, groups.toml, optional phrases.toml).
    #[arg(long, global = true, default_value = "rules", value_name = "DIR")]
    pub rules: PathBuf,
    /// Evaluate as of this instant (RFC 3339), for tests and what-if questions.
    #[arg(long, global = true, value_parser = parse_instant, value_name = "RFC3339")]
    pub now: Option<DateTime<Utc>>,
    /// Log format on stderr (RUST_LOG sets the level).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll the tagged tasks, post checklists, keep the calendar.
    Run {
        /// One cycle, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between cycles (default: [timing] poll_seconds).
        #[arg(long, value_name = "SECS")]
        interval: Option<u64>,
        /// Perform no write on Phabricator; print what would be posted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Evaluate one task live and print its checklist (writes nothing).
    Check {
        /// The task, e.g. T123.
        task: TaskId,
        /// Print the design's JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Parse a request description offline.
    Parse {
        /// File to read, or - for standard input.
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Judge an SSH public key offline (exit 0 acceptable, 2 refused, 1 error).
    Key {
        /// File to read, or - for standard input.
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The clinic duty view from the database: ready first, then waiting, blocked.
    Status {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        /// Include closed and not-a-request tasks.
        #[arg(long)]
        all: bool,
    },
    /// The SRE meeting agenda.
    Agenda {
        /// The meeting date (default: the next meeting).
        #[arg(long, value_name = "YYYY-MM-DD")]
        meeting: Option<NaiveDate>,
        /// Output format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: AgendaFormat,
    },
    /// Each check of a task with its evidence (links to the transactions).
    Explain {
        /// The task, e.g. T123.
        task: TaskId,
    },
    /// The admin data.yaml change for a ready request.
    GrantPatch {
        /// The task, e.g. T123.
        task: TaskId,
        /// Edit a copy of this data.yaml and print a unified diff.
        #[arg(long, value_name = "PATH")]
        data_yaml: Option<PathBuf>,
    },
    /// Rules commands.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run the Conduit simulator.
    Sim {
        /// Scenario file (TOML).
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        /// Address to listen on (127.0.0.1:0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8780", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// Added latency per call, in milliseconds.
        #[arg(long, default_value_t = 0, value_name = "N")]
        latency_ms: u64,
        /// Fault shares, e.g. "5xx=0.1,timeout=0.05,malformed=0.05,slow=0.1".
        #[arg(long, value_name = "SPEC")]
        faults: Option<String>,
        /// Seed for the fault injection.
        #[arg(long, default_value_t = 1, value_name = "N")]
        seed: u64,
    },
    /// Simulator and bot end to end on the bundled scenario, printing what happens.
    Demo,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Manpage,
}

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules directory (default: --rules).
    Check {
        /// The directory.
        dir: Option<PathBuf>,
    },
}

/// Agenda output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgendaFormat {
    /// A GitHub-style markdown table.
    Markdown,
    /// A MediaWiki table.
    Wikitext,
    /// JSON.
    Json,
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant such as 2026-11-02T09:00:00Z ({e})"))
}

/// Runs a parsed command line; errors are printed as one line, never with a backtrace.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    match dispatch(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s.replace('\n', " ")
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    match &cli.command {
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => {
            let dir = dir.clone().unwrap_or_else(|| cli.rules.clone());
            let rules = crate::rules::Rules::load(&dir)?;
            println!(
                "{}: ok ({} groups, {} with sudo)",
                dir.display(),
                rules.groups.len(),
                rules.groups.values().filter(|g| g.sudo).count()
            );
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "accessbot",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Manpage => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
        _ => anyhow::bail!("this command is not built yet"),
    }
}
