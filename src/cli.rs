//! The command line: clap definitions, the configuration file merged under the flags, each
//! subcommand's help, examples and man page, and the wiring of each command to the modules.

use crate::ids::TaskId;
use crate::logging::{ColorChoice, LogFormat};
use crate::report::AgendaFormat;
use chrono::{DateTime, NaiveDate, Utc};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::{Path, PathBuf};

const EXAMPLES: &str = "\
Examples:
  accessbot demo                                   the bot against the simulator, end to end
  ACCESSBOT_TOKEN=api-… accessbot --phab-url https://phabricator.example.org run
  accessbot --config /etc/accessbot/accessbot.toml run --listen 127.0.0.1:9464
  accessbot --token-file /etc/accessbot/token check T123 --json
  accessbot parse request.txt --json               parse a request description offline
  accessbot key ~/.ssh/id_ed25519.pub              judge an SSH public key offline
  accessbot status                                 clinic duty: what is ready to grant
  accessbot log T123                               the verdict changes of a task
  accessbot agenda --format wikitext               the next SRE meeting's agenda
  accessbot expiring --within 30                   granted access that expires soon
  accessbot rules check rules/ --live              validate the rules (and their names)
  accessbot sim --scenario tests/scenarios/demo.toml --listen 127.0.0.1:0

The API token is read from the environment variable ACCESSBOT_TOKEN or from --token-file;
it is never accepted as a flag value and never logged. `accessbot help COMMAND` shows a
command's own flags; `accessbot manpage --dir DIR` writes a man page per command.";

/// The most bytes `parse` and `key` read: a request description or a key is far smaller.
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

/// accessbot: checks production access requests on Phabricator and says what is missing.
#[derive(Debug, Parser)]
#[command(name = "accessbot", version, about, long_about = None, after_help = EXAMPLES)]
// The doc comments are `--help` texts, written for a terminal (a bare URL, rules sections
// such as [timing]), not rustdoc links.
#[allow(rustdoc::bare_urls)]
pub struct Cli {
    /// Configuration file holding the values of these flags (TOML; flags and their
    /// environment variables override it).
    #[arg(
        long,
        env = "ACCESSBOT_CONFIG",
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Phabricator base URL, e.g. https://phabricator.example.org
    #[arg(
        long,
        env = "ACCESSBOT_PHAB_URL",
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub phab_url: Option<String>,
    /// File holding the Conduit API token; without it the token is read from the environment
    /// [env: ACCESSBOT_TOKEN]
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub token_file: Option<PathBuf>,
    /// SQLite database.
    #[arg(
        long,
        global = true,
        default_value = "accessbot.db",
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub db: PathBuf,
    /// Rules directory (policy.toml, groups.toml, optional phrases.toml).
    #[arg(
        long,
        global = true,
        default_value = "rules",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub rules: PathBuf,
    /// Evaluate as of this instant (RFC 3339), for tests and what-if questions.
    #[arg(
        long,
        global = true,
        value_parser = parse_instant,
        value_name = "RFC3339",
        help_heading = "Global options"
    )]
    pub now: Option<DateTime<Utc>>,
    /// Log format on stderr (RUST_LOG sets the level; a bare level applies to accessbot only).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        help_heading = "Global options"
    )]
    pub log_format: LogFormat,
    /// Colour in text logs: auto colours only a terminal, and never with NO_COLOR set.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    pub color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[allow(rustdoc::broken_intra_doc_links)] // `--help` texts: [timing], [lifecycle] are rules sections.
pub enum Command {
    /// Poll the tagged tasks, post checklists, keep the calendar.
    Run {
        /// One cycle, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between cycles (default: [timing] poll_seconds).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
        interval: Option<u64>,
        /// Perform no write on Phabricator; print what would be posted.
        #[arg(long)]
        dry_run: bool,
        /// Serve /metrics (Prometheus) and /healthz on this address (port 0 picks a free one;
        /// the address is logged).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Evaluate one task live and print its checklist (writes nothing; exit 0 ready, 3 not).
    Check {
        /// The task: T123, 123 or its address.
        task: TaskId,
        /// Print the design's JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Parse a request description offline (exit 0 complete, 3 with problems).
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
        /// Include closed tasks (not-a-request tasks are always listed, last).
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
    /// Each check of a task with its evidence (links to the comments, transactions, paste,
    /// signature, membership), and why each comment that did not count did not.
    Explain {
        /// The task: T123, 123 or its address.
        task: TaskId,
        /// Print one JSON object: the checks with `evidence` objects, and `comments`.
        #[arg(long)]
        json: bool,
    },
    /// Granted access that expires soon, and expired access still in data.yaml.
    Expiring {
        /// List what expires within this many days (default: [lifecycle]
        /// expiry_reminder_days).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=3650))]
        within: Option<u32>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// The audit log of a task: each verdict change with what was open then.
    Log {
        /// The task: T123, 123 or its address.
        task: TaskId,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// The admin data.yaml change for a ready request (with --revoke: the change that removes it).
    GrantPatch {
        /// The task, e.g. T123.
        task: TaskId,
        /// Edit a copy of this data.yaml and print a unified diff.
        #[arg(long, value_name = "PATH")]
        data_yaml: Option<PathBuf>,
        /// Print the change that removes the request's access instead, for any task whose
        /// request parses (granted, expired or closed): the user leaves the request's groups,
        /// and when these were all of their groups the account becomes `ensure: absent` with
        /// its ssh keys removed.
        #[arg(long)]
        revoke: bool,
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
    /// Print the man page (roff) of accessbot or of one command, or write them all.
    Manpage {
        /// The command whose page to print, e.g. run (default: accessbot's own page).
        command: Option<String>,
        /// Write every page (accessbot.1, accessbot-run.1, …) into this directory.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules directory (default: --rules); exit 1 when it is broken.
    Check {
        /// The directory.
        dir: Option<PathBuf>,
        /// Also look every configured username, project, column and the L3 document up on
        /// the server (needs --phab-url and a token).
        #[arg(long)]
        live: bool,
    },
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant such as 2026-11-02T09:00:00Z ({e})"))
}

/// What each command's help and man page say beyond its flags.
struct Page {
    /// The subcommand (`rules check` is under `rules`).
    name: &'static str,
    /// The global options that apply to it (the others are accepted and hidden).
    globals: &'static [&'static str],
    /// Examples, shown after the options.
    examples: &'static str,
    /// EXIT STATUS: code and meaning.
    exit: &'static [(&'static str, &'static str)],
}

/// Every global option.
const ALL: &[&str] = &[
    "config",
    "phab_url",
    "token_file",
    "db",
    "rules",
    "now",
    "log_format",
    "color",
];
const OK_OR_ERROR: &[(&str, &str)] = &[("0", "success"), ("1", "an error, printed on one line")];

const PAGES: &[Page] = &[
    Page {
        name: "run",
        globals: ALL,
        examples: "Examples:
  accessbot --config /etc/accessbot/accessbot.toml run
  accessbot --phab-url https://phabricator.example.org --token-file token run --dry-run --once
  accessbot --config accessbot.toml run --listen 127.0.0.1:9464 --interval 120

A second `run` on the same database refuses to start. SIGTERM or Ctrl-C stop the bot after
the task in hand. With --listen, GET /metrics and GET /healthz (200 while the last
successful cycle is newer than three intervals, else 503). Under systemd (Type=notify) it
sends READY=1 after start-up, WATCHDOG=1 while cycles progress and STOPPING=1 on shutdown.",
        exit: &[
            ("0", "stopped cleanly (SIGTERM, Ctrl-C), or --once ran its cycle"),
            (
                "1",
                "an error: configuration, rules, token, a refused token, a database that cannot be opened, another run holding the lock",
            ),
        ],
    },
    Page {
        name: "check",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token check T123
  accessbot check https://phabricator.example.org/T123 --json | jq .verdict
  accessbot check 123 && echo ready to grant",
        exit: &[
            ("0", "the request is ready to grant"),
            ("3", "it is not (waiting, blocked, declined, closed, untagged, not a request)"),
            ("1", "an error: the task cannot be read, no token, bad rules"),
        ],
    },
    Page {
        name: "explain",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token explain T123
  accessbot explain T123 --json | jq '.comments[] | select(.counted | not)'",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "grant-patch",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token grant-patch T123
  accessbot grant-patch T123 --data-yaml ~/puppet/modules/admin/data/data.yaml",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "parse",
        globals: &["config", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot parse request.txt
  xclip -o | accessbot parse - --json

The input is capped at 1 MiB; binary input (NUL bytes, or mostly invalid UTF-8) is refused.
A key in a paste (P123) cannot be read offline and is reported as a problem.",
        exit: &[
            ("0", "the request is complete and its key acceptable"),
            ("3", "it has problems (listed)"),
            ("1", "an error: unreadable, binary or oversized input, bad rules"),
        ],
    },
    Page {
        name: "key",
        globals: &["config", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot key ~/.ssh/id_ed25519.pub
  ssh-add -L | head -1 | accessbot key - --json

A pasted private key is reported as compromised and never echoed. The input is capped at
1 MiB.",
        exit: &[
            ("0", "the key is acceptable"),
            ("2", "it is refused (the reasons are printed)"),
            ("1", "an error: unreadable, binary or oversized input, no key, bad rules"),
        ],
    },
    Page {
        name: "status",
        globals: &["config", "phab_url", "db", "now", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db status
  accessbot status --json | jq '.[] | select(.verdict == \"ready\") | .task'

Opens the database read-only: it works beside the running bot and without write access.
With --phab-url (or the configuration file) tasks are shown as links.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "agenda",
        globals: &["config", "phab_url", "db", "rules", "now", "log_format", "color"],
        examples: "Examples:
  accessbot agenda
  accessbot agenda --meeting 2026-11-16 --format wikitext

Opens the database read-only.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "expiring",
        globals: &["config", "db", "rules", "now", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db expiring
  accessbot expiring --within 60 --json | jq '.[] | select(.state != \"expiring\")'

Lists granted requests whose access expires within DAYS (state `expiring`), and those whose
expiry date has passed while their access is still in data.yaml (`expired`), or while
data.yaml is not configured or cannot be read (`expired-unverified`). Opens the database
read-only; reads the rules' data.yaml.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "log",
        globals: &["config", "db", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db log T123
  accessbot log https://phabricator.example.org/T123 --json

Opens the database read-only.",
        exit: &[
            ("0", "the log was printed"),
            ("1", "an error, e.g. the task is not in the database"),
        ],
    },
    Page {
        name: "rules",
        globals: &["config", "phab_url", "token_file", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot rules check rules/
  accessbot --config /etc/accessbot/accessbot.toml rules check --live",
        exit: &[
            ("0", "the rules are valid (and, with --live, every name exists on the server)"),
            ("1", "they are not; each problem names its file, line and key"),
        ],
    },
    Page {
        name: "sim",
        globals: &["now", "log_format", "color"],
        examples: "Examples:
  accessbot sim --scenario tests/scenarios/demo.toml --listen 127.0.0.1:0
  accessbot sim --scenario s.toml --faults 5xx=0.1,timeout=0.05 --seed 7

The first line of standard output is `listening on http://ADDR`.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "demo",
        globals: &["log_format", "color"],
        examples: "Examples:
  accessbot demo",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "completions",
        globals: &[],
        examples: "Examples:
  accessbot completions bash > /etc/bash_completion.d/accessbot",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "manpage",
        globals: &[],
        examples: "Examples:
  accessbot manpage | man -l -
  accessbot manpage run | man -l -
  accessbot manpage --dir /usr/local/share/man/man1",
        exit: OK_OR_ERROR,
    },
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("ACCESSBOT_PHAB_URL", "the Phabricator base URL (--phab-url)"),
    (
        "ACCESSBOT_TOKEN",
        "the Conduit API token, unless --token-file is given; never logged",
    ),
    ("ACCESSBOT_CONFIG", "the configuration file (--config)"),
    (
        "RUST_LOG",
        "the log filter; default warn,accessbot=info; a bare level (debug) applies to accessbot only, name a dependency to raise it (debug,sqlx=debug)",
    ),
    (
        "NO_COLOR",
        "when set and not empty, no colour in logs (--color auto)",
    ),
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC",
        "set by systemd for Type=notify: run sends READY, WATCHDOG, STOPPING and STATUS",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "accessbot.db, accessbot.db.lock",
        "the SQLite database (--db) and the lock held by the one running `run`",
    ),
    (
        "rules/policy.toml, rules/groups.toml, rules/phrases.toml",
        "the policy, the groups and the phrases (--rules; phrases.toml is optional)",
    ),
    (
        "/etc/accessbot/accessbot.toml",
        "the configuration file of the service (--config); see contrib/README.md",
    ),
    (
        "/etc/accessbot/token",
        "the Conduit API token of the service, handed over as a systemd credential",
    ),
];

fn page(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}

/// The clap command: every subcommand with its examples and exit codes, and the global
/// options that do not apply to it hidden from its help (they are still accepted: a hidden
/// copy of each is given to the subcommand, which clap's propagation of the shown one then
/// leaves alone).
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    for p in PAGES {
        cmd = cmd.mut_subcommand(p.name, |mut sub| {
            for a in &globals {
                if !p.globals.contains(&a.get_id().as_str()) {
                    sub = sub.arg(a.clone().hide(true));
                }
            }
            let mut after = p.examples.to_string();
            after.push_str("\n\nExit status:");
            for (code, meaning) in p.exit {
                after.push_str(&format!("\n  {code}  {meaning}"));
            }
            // `rules check` shows the examples of `rules`.
            let nested: Vec<String> = sub
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            for n in nested {
                sub = sub.mut_subcommand(n, |c| c.after_help(after.clone()));
            }
            sub.after_help(after)
        });
    }
    cmd
}

/// Parses the process's arguments and merges the configuration file under them; exits with
/// clap's message (or a configuration error) on a bad command line.
pub fn parse_args() -> Cli {
    let matches = command().get_matches();
    match from_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::exit(1);
        }
    }
}

/// The command line from parsed matches, with the configuration file applied under it.
pub fn from_matches(matches: &ArgMatches) -> anyhow::Result<Cli> {
    let mut cli = Cli::from_arg_matches(matches).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = cli.config.clone() {
        let config = crate::config::Config::load(&path)?;
        apply_config(&mut cli, matches, config);
    }
    Ok(cli)
}

/// Fills what neither a flag nor its environment variable set from the configuration.
fn apply_config(cli: &mut Cli, m: &ArgMatches, c: crate::config::Config) {
    // Global options are read from the innermost command that has them set.
    let unset = |id: &str| {
        let mut sources = vec![m.value_source(id)];
        let mut cur = m;
        while let Some((_, sub)) = cur.subcommand() {
            sources.push(sub.value_source(id));
            cur = sub;
        }
        sources
            .into_iter()
            .flatten()
            .all(|s| s == ValueSource::DefaultValue)
    };
    if unset("phab_url") {
        if let Some(v) = c.phab_url {
            cli.phab_url = Some(v);
        }
    }
    if unset("token_file") {
        if let Some(v) = c.token_file {
            cli.token_file = Some(v);
        }
    }
    if unset("db") {
        if let Some(v) = c.db {
            cli.db = v;
        }
    }
    if unset("rules") {
        if let Some(v) = c.rules {
            cli.rules = v;
        }
    }
    if unset("log_format") {
        if let Some(v) = c.log_format {
            cli.log_format = v;
        }
    }
    if unset("color") {
        if let Some(v) = c.color {
            cli.color = v;
        }
    }
    if let Command::Run {
        interval, listen, ..
    } = &mut cli.command
    {
        *interval = interval.or(c.interval);
        *listen = listen.or(c.listen);
    }
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
    match &cli.command {
        Command::Rules {
            command: RulesCommand::Check { dir, live },
        } => cmd_rules_check(&cli, dir.as_deref(), *live).await,
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut command(), "accessbot", &mut std::io::stdout());
            Ok(0)
        }
        Command::Manpage { command, dir } => cmd_manpage(command.as_deref(), dir.as_deref()),
        Command::Parse { file, json } => cmd_parse(&cli, file.as_deref(), *json),
        Command::Key { file, json } => cmd_key(&cli, file.as_deref(), *json),
        Command::Run {
            once,
            interval,
            dry_run,
            listen,
        } => cmd_run(&cli, *once, *interval, *dry_run, *listen).await,
        Command::Check { task, json } => {
            cmd_check(&cli, *task, if *json { View::Json } else { View::Terminal }).await
        }
        Command::Explain { task, json } => {
            let view = if *json {
                View::ExplainJson
            } else {
                View::Explain
            };
            cmd_check(&cli, *task, view).await
        }
        Command::Status { json, all } => cmd_status(&cli, *json, *all).await,
        Command::Agenda { meeting, format } => cmd_agenda(&cli, *meeting, *format).await,
        Command::Log { task, json } => cmd_log(&cli, *task, *json).await,
        Command::Expiring { within, json } => cmd_expiring(&cli, *within, *json).await,
        Command::Sim {
            scenario,
            listen,
            latency_ms,
            faults,
            seed,
        } => {
            let faults = match faults {
                Some(spec) => crate::sim::FaultSpec::parse(spec)?,
                None => crate::sim::FaultSpec::default(),
            };
            let opts = crate::sim::SimOptions {
                now: cli.now,
                latency_ms: *latency_ms,
                faults,
                seed: *seed,
            };
            crate::sim::run(scenario, *listen, opts).await?;
            Ok(0)
        }
        Command::GrantPatch {
            task,
            data_yaml,
            revoke,
        } => cmd_grant_patch(&cli, *task, data_yaml.as_deref(), *revoke).await,
        Command::Demo => crate::demo::run().await.map(|_| 0),
    }
}

fn load_rules(cli: &Cli) -> anyhow::Result<std::sync::Arc<crate::rules::Rules>> {
    Ok(std::sync::Arc::new(crate::rules::Rules::load(&cli.rules)?))
}

/// The rules for the offline commands (`key`, `parse`): `--rules`, or the rules bundled with
/// the binary when `--rules` is not given and there is no `rules/` directory here, so that
/// they work from any directory.
fn offline_rules(cli: &Cli) -> anyhow::Result<std::sync::Arc<crate::rules::Rules>> {
    if cli.rules == Path::new("rules") && !cli.rules.exists() {
        return Ok(std::sync::Arc::new(crate::rules::Rules::bundled()?));
    }
    load_rules(cli)
}

async fn cmd_rules_check(cli: &Cli, dir: Option<&Path>, live: bool) -> anyhow::Result<u8> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cli.rules.clone());
    let rules = crate::rules::Rules::load(&dir)?;
    println!(
        "{}: ok ({} groups, {} with sudo)",
        dir.display(),
        rules.groups.len(),
        rules.groups.values().filter(|g| g.sudo).count()
    );
    // A service's configuration is checked with its rules (the unit runs this before start).
    if let Some(url) = &cli.phab_url {
        refuse_example_url(url)?;
    }
    if !live {
        return Ok(0);
    }
    let client = client(cli)?;
    let missing = crate::rules_live::check(&client, &rules).await?;
    if missing.is_empty() {
        println!(
            "{}: every configured name exists on {}",
            dir.display(),
            client.base_url()
        );
        return Ok(0);
    }
    for m in &missing {
        eprintln!("{m}");
    }
    anyhow::bail!(
        "{} configured name(s) do not exist on {}",
        missing.len(),
        client.base_url()
    )
}

/// Reads `parse`'s or `key`'s input: at most [`MAX_INPUT_BYTES`], and text (no NUL byte, and
/// no more than a small share of invalid UTF-8, which is replaced).
fn read_input(file: Option<&Path>) -> anyhow::Result<String> {
    use std::io::Read;
    let name = match file {
        None => "standard input".to_string(),
        Some(p) if p == Path::new("-") => "standard input".to_string(),
        Some(p) => p.display().to_string(),
    };
    let reader: Box<dyn Read> = match file {
        Some(p) if p != Path::new("-") => Box::new(
            std::fs::File::open(p).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?,
        ),
        _ => Box::new(std::io::stdin()),
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        anyhow::bail!(
            "{name} is larger than {} MiB: not a request description or a key",
            MAX_INPUT_BYTES >> 20
        );
    }
    text_of(&bytes).ok_or_else(|| anyhow::anyhow!("{name} is binary, not text; refusing it"))
}

/// The text of untrusted input: `None` for binary (a NUL byte, or more than 1 in 20 bytes
/// outside valid UTF-8); a few invalid bytes are replaced.
fn text_of(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let replaced = text
        .chars()
        .filter(|c| *c == char::REPLACEMENT_CHARACTER)
        .count();
    let original = bytes
        .windows(3)
        .filter(|w| *w == "\u{FFFD}".as_bytes())
        .count();
    if (replaced - original.min(replaced)) * 20 > bytes.len().max(1) {
        return None;
    }
    Some(text.into_owned())
}

fn cmd_parse(cli: &Cli, file: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let rules = offline_rules(cli)?;
    let text = read_input(file)?;
    let parsed = crate::request::parse("", &text, &rules.labels);
    let key = match &parsed.request.key {
        Some(crate::request::KeyRef::Inline { text }) => {
            Some(crate::keys::judge(text, &rules.keys))
        }
        _ => None,
    };
    let source = parsed.request.key.as_ref().map(|k| match k {
        crate::request::KeyRef::Inline { .. } => "description",
        crate::request::KeyRef::Paste { .. } => "paste",
        crate::request::KeyRef::Pointer { .. } => "pointer",
    });
    let sudo = parsed
        .request
        .groups
        .iter()
        .any(|g| rules.group(g).is_some_and(|g| g.sudo));
    let mut value = crate::request::to_json(&parsed, key.as_ref(), source, sudo);
    let mut problems = crate::request::problem_messages(&parsed);
    // The key's verdict: its problems are the request's (a DSA key is not a complete request).
    if let Some(k) = &key {
        for p in &k.problems {
            if !problems.contains(p) {
                problems.push(p.clone());
            }
        }
        if let Some(o) = value.get_mut("key").and_then(|k| k.as_object_mut()) {
            o.insert("ok".into(), k.ok.into());
        }
    }
    // Offline, a key in a paste cannot be read: say where it is, and that it is unchecked.
    if let Some(crate::request::KeyRef::Paste { id }) = &parsed.request.key {
        problems.push(format!("the key is in paste P{id} (not read offline)"));
        if let Some(o) = value.as_object_mut() {
            o.insert(
                "key".into(),
                serde_json::json!({"source": "paste", "paste": format!("P{id}")}),
            );
        }
    }
    let complete = problems.is_empty();
    if let Some(o) = value.as_object_mut() {
        o.insert("problems".into(), serde_json::json!(problems));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let mut table = crate::report::plain_table();
        for (k, v) in value.as_object().into_iter().flatten() {
            if k == "problems" {
                continue;
            }
            let shown = match v {
                serde_json::Value::Object(key) if k == "key" => key_summary(key),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            table.add_row(vec![k.clone(), shown]);
        }
        for p in &problems {
            table.add_row(vec!["problem".to_string(), p.clone()]);
        }
        print!("{}", crate::report::render_table(&mut table));
    }
    Ok(if complete { 0 } else { 3 })
}

/// `parse`'s key object on one line.
fn key_summary(key: &serde_json::Map<String, serde_json::Value>) -> String {
    let text = |name: &str| key.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    if let Some(paste) = key.get("paste").and_then(|p| p.as_str()) {
        return format!("in paste {paste} (not read offline)");
    }
    format!(
        "{} {} bits {} (from the {}): {}",
        text("algorithm"),
        key.get("bits").and_then(|b| b.as_u64()).unwrap_or(0),
        text("fingerprint"),
        text("source"),
        if key.get("ok").and_then(|o| o.as_bool()) == Some(true) {
            "acceptable"
        } else {
            "refused"
        }
    )
}

fn cmd_key(cli: &Cli, file: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let rules = offline_rules(cli)?;
    let text = read_input(file)?;
    if text.trim().is_empty() {
        anyhow::bail!("no key given (pass a file, or - and the key on standard input)");
    }
    let report = crate::keys::judge(&text, &rules.keys);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.ok {
        println!(
            "acceptable: {} {} bits {}",
            report.algorithm.as_deref().unwrap_or("?"),
            report
                .bits
                .map(|b| b.to_string())
                .unwrap_or_else(|| "?".into()),
            report
                .fingerprint
                .as_ref()
                .map(|f| f.as_str())
                .unwrap_or("")
        );
    } else {
        println!("refused:");
        for p in &report.problems {
            println!("  - {p}");
        }
    }
    Ok(if report.ok { 0 } else { 2 })
}

/// Whether a URL's host is a documentation example (RFC 2606: example.org, example.com,
/// example.net and their subdomains, `.example`): never a real Phabricator.
fn is_example_host(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    ["example.org", "example.com", "example.net"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || host.ends_with(".example")
}

/// Refuses the documentation's example URL: an install whose configuration still holds it
/// must not start (and would only fail later, less clearly).
fn refuse_example_url(url: &str) -> anyhow::Result<()> {
    if is_example_host(url) {
        anyhow::bail!(
            "the Phabricator URL {url} is the documentation's example: set phab_url in the configuration file (or --phab-url, ACCESSBOT_PHAB_URL) to your Phabricator"
        );
    }
    Ok(())
}

/// The bot's builder from the global flags: the URL (refused when it is the documentation's
/// example), the token from the environment or a file, the database, the clock and `--now`;
/// the rules when given.
fn bot_builder(
    cli: &Cli,
    rules: Option<std::sync::Arc<crate::rules::Rules>>,
) -> anyhow::Result<crate::bot::BotBuilder> {
    use crate::conduit::Token;
    let url = cli.phab_url.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "no Phabricator URL: pass --phab-url, set ACCESSBOT_PHAB_URL or phab_url in the configuration file"
        )
    })?;
    refuse_example_url(url)?;
    let token = match &cli.token_file {
        Some(path) => {
            let (token, warnings) = Token::from_file(path)?;
            for w in warnings {
                tracing::warn!("{w}");
            }
            token
        }
        None => {
            Token::from_env().map_err(|e| anyhow::anyhow!("{e} (or pass --token-file PATH)"))?
        }
    };
    let mut builder = crate::bot::Bot::builder()
        .url(url)
        .token(token)
        .db(&cli.db)
        .clock(clock(cli))
        .as_of(cli.now);
    if let Some(r) = rules {
        builder = builder.rules(r);
    }
    Ok(builder)
}

/// The Conduit client from the global flags, with the concurrency and session cookie of
/// `--rules` when they load (commands that do not need the rules still work without them).
fn client(cli: &Cli) -> anyhow::Result<crate::conduit::Client> {
    let rules = crate::rules::Rules::load(&cli.rules)
        .ok()
        .map(std::sync::Arc::new);
    bot_builder(cli, rules)?.client()
}

fn clock(cli: &Cli) -> crate::clock::Clock {
    match cli.now {
        Some(t) => crate::clock::Clock::fixed(t),
        None => crate::clock::Clock::System,
    }
}

async fn evidence_source(
    cli: &Cli,
    rules: std::sync::Arc<crate::rules::Rules>,
) -> anyhow::Result<crate::evidence::EvidenceSource> {
    bot_builder(cli, Some(rules))?.connect().await
}

/// The writer lock of `run`; its lock file is removed again when `run` fails before it opened
/// the database, if `run` created it (a failed start leaves nothing behind).
struct StartLock {
    _lock: crate::store::WriterLock,
    path: PathBuf,
    created: bool,
    started: bool,
}

impl StartLock {
    fn acquire(db: &Path) -> anyhow::Result<StartLock> {
        let mut path = db.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let created = !path.exists();
        let lock = crate::store::WriterLock::acquire(db)?;
        Ok(StartLock {
            _lock: lock,
            path,
            created,
            started: false,
        })
    }
}

impl Drop for StartLock {
    fn drop(&mut self) {
        if self.created && !self.started {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn cmd_run(
    cli: &Cli,
    once: bool,
    interval: Option<u64>,
    dry_run: bool,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<u8> {
    let rules = load_rules(cli)?;
    if let Some(url) = &cli.phab_url {
        refuse_example_url(url)?;
    }
    let interval =
        std::time::Duration::from_secs(interval.unwrap_or(rules.timing.poll_seconds).max(1));
    let mut lock = StartLock::acquire(&cli.db)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        url = cli.phab_url.as_deref().unwrap_or("-"),
        db = %cli.db.display(),
        rules = %cli.rules.display(),
        interval_seconds = interval.as_secs(),
        dry_run,
        "accessbot {} starting",
        env!("CARGO_PKG_VERSION")
    );
    let monitor = std::sync::Arc::new(crate::service::Monitor::new(clock(cli)));
    monitor.set_interval(interval);
    if let Some(addr) = listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr()?;
        crate::service::serve(listener, monitor.clone());
        tracing::info!(listen = %bound, "serving /metrics and /healthz on http://{bound}");
    }
    // SIGTERM and Ctrl-C, from now on: during start-up they stop the retries at once.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    // Start-up (the server, the project, L3) before the database: a failed start creates none.
    let builder = bot_builder(cli, Some(rules.clone()))?
        .dry_run(dry_run)
        .monitor(monitor.clone());
    // One client for every attempt.
    let client = builder.client()?;
    let builder = builder.with_client(client);
    let src = if once {
        builder.connect().await?
    } else {
        match connect_riding_out_outages(&builder, interval, stop_rx.clone()).await? {
            Some(src) => src,
            None => {
                tracing::info!("stopped before start-up completed");
                return Ok(0);
            }
        }
    };
    src.probe_pages_at_start().await;
    let bot = builder.build_on(src).await?;
    lock.started = true;
    let store = bot.store().clone();
    let stop = bot.poller().stop_handle();
    let on_stop = monitor.clone();
    let mut stopping = stop_rx;
    tokio::spawn(async move {
        if stopping.wait_for(|s| *s).await.is_ok() {
            tracing::info!("stopping after the current task");
            on_stop.stopping();
            let _ = stop.send(true);
        }
    });
    monitor.ready();
    let result = bot.run(interval, once).await;
    store.close().await;
    result.map(|_| 0)
}

/// Start-up attempts that fail before a failure is logged at ERROR rather than WARN.
const STARTUP_ERROR_AFTER: u32 = 3;

/// `run`'s start-up: resolves the context (the bot's account, the project, Legalpad). A server
/// that cannot be reached or fails transiently is tried again with backoff (5 s, doubling, at
/// most the poll interval), logged at WARN with the next attempt's time and at ERROR from the
/// third failed attempt on, instead of exiting (a unit's restart limit would otherwise leave
/// the bot dead after a short outage). Errors that waiting cannot fix (a refused token, an
/// unknown project, a broken file) still end it. `None`: stopped (SIGTERM, Ctrl-C) meanwhile.
async fn connect_riding_out_outages(
    builder: &crate::bot::BotBuilder,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<crate::evidence::EvidenceSource>> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let connected = tokio::select! {
            r = builder.connect() => r,
            _ = stop.wait_for(|s| *s) => return Ok(None),
        };
        let e = match connected {
            Ok(src) => {
                if attempt > 1 {
                    tracing::info!(attempts = attempt, "Phabricator answers again: starting");
                }
                return Ok(Some(src));
            }
            Err(e) if !is_transient(&e) => return Err(e),
            Err(e) => e,
        };
        let wait = std::time::Duration::from_secs(5u64 << (attempt - 1).min(16)).min(interval);
        let next = (Utc::now() + wait).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let error = format!("{e:#}");
        if attempt >= STARTUP_ERROR_AFTER {
            tracing::error!(attempt, next_attempt = %next, error = %error, "cannot start: Phabricator still fails; trying again");
        } else {
            tracing::warn!(attempt, next_attempt = %next, error = %error, "cannot start: Phabricator fails; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return Ok(None),
        }
    }
}

/// Whether an error comes from a Conduit failure that may pass (network, timeout, 5xx).
fn is_transient(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::conduit::ConduitError>()
            .is_some_and(crate::conduit::ConduitError::is_transient)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Terminal,
    Json,
    Explain,
    ExplainJson,
}

/// One task evaluated live: read from Conduit, checked against the store, nothing written.
struct Live {
    checklist: crate::policy::Checklist,
    gathered: crate::evidence::Gathered,
    base_url: String,
    rules: std::sync::Arc<crate::rules::Rules>,
    /// Why task pages cannot be read (every comment's channel is then unknown).
    page_problem: Option<crate::evidence::PageProblem>,
}

async fn evaluate_live(cli: &Cli, task: TaskId) -> anyhow::Result<Live> {
    let rules = load_rules(cli)?;
    let store = if cli.db.exists() {
        crate::store::Store::open_read_only(&cli.db).await?
    } else {
        tracing::warn!(
            "no database at {}: key reuse on earlier requests is not checked",
            cli.db.display()
        );
        crate::store::Store::open_in_memory().await?
    };
    let src = evidence_source(cli, rules.clone()).await?;
    let now = clock(cli).now();
    let mut t = src
        .client()
        .tasks_by_ids(&[task.get()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{task} does not exist or is not visible to the bot"))?;
    let mut txs = src.client().transactions(task).await?;
    // With --now: the task as it was then; nothing written later is seen.
    if !src.rewind(&mut t, &mut txs) {
        anyhow::bail!(
            "{task} did not exist yet at {} (--now)",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
    let row = store.task(task).await?;
    let mut gathered = src.gather(&t, &txs, row.as_ref()).await?;
    src.add_reuse(&mut gathered, &store).await?;
    // No comment needed its channel: look at the page anyway, so that an operator checking a
    // task learns now that pages cannot be read.
    if !src.page_seen() {
        src.probe_pages(task, &t.phid).await;
    }
    let mut checklist = crate::policy::evaluate(&gathered.facts, &rules, now);
    // After ready: a granted request says so, as the poller would.
    let tracked = gathered.facts.tagged;
    let life = store.lifecycle(task).await?;
    let data_yaml = crate::data_yaml::read(rules.path(&rules.keys.data_yaml).as_deref());
    let granted = crate::lifecycle::granted(&crate::lifecycle::GrantFacts {
        checklist: &checklist,
        status: &t.fields.status.value,
        open: rules.phabricator.is_open(&t.fields.status.value),
        tracked,
        timeline: &gathered.timeline,
        stored_verdict: row.as_ref().map(|r| r.verdict),
        stored_granted: crate::lifecycle::stored_granted(life.as_ref()),
        data_yaml: &data_yaml,
        now,
    });
    if granted.is_some() {
        checklist.verdict = crate::policy::Verdict::Granted;
        checklist.until = None;
    }
    store.close().await;
    Ok(Live {
        checklist,
        gathered,
        base_url: src.client().base_url().to_string(),
        rules,
        page_problem: src.page_problem(),
    })
}

async fn cmd_check(cli: &Cli, task: TaskId, view: View) -> anyhow::Result<u8> {
    let live = evaluate_live(cli, task).await?;
    let tz = live.rules.timing.timezone;
    match view {
        View::Json => println!("{}", serde_json::to_string_pretty(&live.checklist)?),
        View::Terminal => print!("{}", crate::report::terminal(&live.checklist, tz)),
        View::Explain | View::ExplainJson => {
            let notes =
                crate::policy::comment_notes(&live.gathered.facts, &live.rules, &live.checklist);
            if view == View::Explain {
                print!(
                    "{}",
                    crate::report::explain(&live.checklist, &notes, &live.base_url, tz)
                );
            } else {
                let v = crate::report::explain_json(&live.checklist, &notes, &live.base_url, tz);
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
        }
    }
    // The JSON object stays as the design has it; the log line on stderr says it there.
    if let (Some(p), View::Terminal | View::Explain) = (&live.page_problem, view) {
        println!("\nwarning: {p}");
    }
    if matches!(view, View::Explain | View::ExplainJson) {
        return Ok(0);
    }
    Ok(if live.checklist.verdict == crate::policy::Verdict::Ready {
        0
    } else {
        3
    })
}

async fn cmd_grant_patch(
    cli: &Cli,
    task: TaskId,
    data_yaml: Option<&Path>,
    revoke: bool,
) -> anyhow::Result<u8> {
    let live = evaluate_live(cli, task).await?;
    let path = data_yaml
        .map(Path::to_path_buf)
        .or_else(|| live.rules.path(&live.rules.keys.data_yaml));
    let read = |path: &Path| -> anyhow::Result<(String, String)> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let label = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data.yaml".into());
        Ok((text, label))
    };
    if revoke {
        let parsed = &live.gathered.facts.parsed;
        let title = &live.gathered.facts.title;
        // A removal task: the user and groups it names (none: every group in data.yaml).
        if let Some(removal) = crate::removal::removal(title, parsed, &live.rules) {
            let (user, groups) = match removal {
                crate::removal::Removal::Target { user, groups } => (user, groups),
                crate::removal::Removal::Doubt(d) => anyhow::bail!(
                    "{task}: no revocation is offered while the user to remove is in doubt: {}",
                    d.join("; ")
                ),
            };
            let mut request = crate::request::Request {
                shell_user: Some(user.clone()),
                groups,
                ..Default::default()
            };
            match path {
                Some(path) => {
                    let (text, label) = read(&path)?;
                    if request.groups.is_empty() {
                        let data = crate::grant::AdminData::parse(text.clone())?;
                        request.groups = data.groups_of(user.as_str());
                    }
                    let patch = crate::grant::revoke_patch(&request, &text, &label)?;
                    print!("{}", patch.diff);
                    for note in &patch.notes {
                        eprintln!("note: {note}");
                    }
                }
                None => print!("{}", crate::grant::revoke_snippet(&request)?),
            }
            return Ok(0);
        }
        if !crate::policy::is_user_request(title, parsed) {
            anyhow::bail!("{task} is not an access request: there is no access to revoke");
        }
        // Who and what to revoke must be beyond doubt: a wrong user loses their access.
        if let Some(p) = parsed
            .problems
            .iter()
            .find(|p| matches!(p.field.as_str(), "shell_user" | "request"))
        {
            anyhow::bail!(
                "{task}: no revocation is offered while the request's user is in doubt: {}",
                p.message
            );
        }
        let request = &parsed.request;
        match path {
            Some(path) => {
                let (text, label) = read(&path)?;
                let patch = crate::grant::revoke_patch(request, &text, &label)?;
                print!("{}", patch.diff);
                for note in &patch.notes {
                    eprintln!("note: {note}");
                }
            }
            None => print!("{}", crate::grant::revoke_snippet(request)?),
        }
        return Ok(0);
    }
    if live.checklist.verdict != crate::policy::Verdict::Ready {
        let open: Vec<String> = live
            .checklist
            .checks
            .iter()
            .filter(|c| c.status != crate::policy::Status::Pass)
            .map(|c| format!("{} ({})", c.id, c.message))
            .collect();
        anyhow::bail!(
            "{task} is not ready to grant (verdict: {}){}",
            live.checklist.verdict,
            if open.is_empty() {
                String::new()
            } else {
                format!(": {}", open.join("; "))
            }
        );
    }
    if live.checklist.request.kind == crate::policy::RequestKind::PrivilegeChange {
        anyhow::bail!(
            "{task} is a group privilege change: its sudo rules or privileges are edited in data.yaml by hand (no patch is generated for a change written in prose)"
        );
    }
    let request = &live.gathered.facts.parsed.request;
    // LDAP-only groups (design §11) are granted with modify-ldap-group, the others in
    // data.yaml; a request mixing them gets both.
    let (ldap, shell): (Vec<String>, Vec<String>) = request
        .groups
        .iter()
        .cloned()
        .partition(|g| live.rules.group(g).is_some_and(|g| g.is_ldap()));
    if !ldap.is_empty() {
        let text = match &path {
            Some(path) => Some(read(path)?.0),
            None => None,
        };
        print!(
            "{}",
            crate::grant::ldap_lines(request, &ldap, text.as_deref())?
        );
        if shell.is_empty() {
            return Ok(0);
        }
    }
    let shell_only;
    let request = if ldap.is_empty() {
        request
    } else {
        shell_only = crate::request::Request {
            groups: shell,
            ..request.clone()
        };
        &shell_only
    };
    let key_line = live.gathered.key_line.clone().unwrap_or_default();
    match path {
        Some(path) => {
            let (text, label) = read(&path)?;
            let patch = crate::grant::patch(request, &key_line, &text, &label)?;
            print!("{}", patch.diff);
            for note in &patch.notes {
                eprintln!("note: {note}");
            }
        }
        None => print!("{}", crate::grant::snippet(request, &key_line)?),
    }
    Ok(0)
}

/// The base URL for links in the views, when one is configured.
fn link_base(cli: &Cli) -> Option<String> {
    cli.phab_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}

async fn cmd_status(cli: &Cli, json: bool, all: bool) -> anyhow::Result<u8> {
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let now = clock(cli).now();
    // The rows as the table reads them; `--json` then streams the stored reports.
    let rows = store.view_rows(!all).await?;
    let as_of = store
        .meta(crate::poller::LAST_SUCCESS)
        .await?
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0));
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|r| all || r.verdict != crate::policy::Verdict::Closed)
        .collect();
    crate::report::sort_for_status(&mut rows);
    let base = link_base(cli);
    if json {
        let out = print_status_json(&store, &rows, now, base.as_deref()).await;
        store.close().await;
        out?;
    } else {
        store.close().await;
        match as_of {
            Some(t) => println!("Data as of {} (the last successful cycle).", t.to_rfc3339()),
            None => println!("Data as of: no successful cycle recorded yet."),
        }
        print!(
            "{}",
            crate::report::status_table(&rows, now, base.as_deref())
        );
    }
    Ok(0)
}

/// `status --json`, streamed: the same text as pretty-printing
/// [`crate::report::status_json`] over rows read whole, but the reports are read a slice of
/// rows at a time ([`crate::store::Store::status_reports`]) and each is re-indented from its
/// stored text as it comes ([`crate::status_json::Writer`]), so neither every report nor the
/// whole document is held at once, and no report is parsed into a `Value`; the database pages
/// of each slice are let go after it ([`crate::store::Store::unmap_pages`]).
async fn print_status_json(
    store: &crate::store::Store,
    rows: &[crate::store::TaskRow],
    now: DateTime<Utc>,
    base: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write;
    const SLICE: usize = 500;
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut doc = crate::status_json::Writer::new(out)?;
    for slice in rows.chunks(SLICE) {
        let ids: Vec<i64> = slice.iter().map(|r| r.id.get() as i64).collect();
        let mut reports = store.status_reports(&ids).await?;
        for r in slice {
            let (at, report) = reports
                .remove(&(r.id.get() as i64))
                .unwrap_or((None, String::new()));
            doc.item(r, at, &report, now, base)?;
        }
        store.unmap_pages().await?;
    }
    doc.finish()?.flush()?;
    Ok(())
}

async fn cmd_log(cli: &Cli, task: TaskId, json: bool) -> anyhow::Result<u8> {
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let entries = store.audit_log(task).await?;
    let known = store.task_brief(task).await?.is_some();
    store.close().await;
    if entries.is_empty() && !known {
        anyhow::bail!("{task} is not in the database {}", cli.db.display());
    }
    let checks_of = |evidence: &str| -> serde_json::Value {
        serde_json::from_str(evidence).unwrap_or(serde_json::Value::Null)
    };
    if json {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "task": task.to_string(),
                    "at": DateTime::from_timestamp(e.at, 0).map(|t| t.to_rfc3339()),
                    "old_verdict": e.old_verdict,
                    "new_verdict": e.new_verdict,
                    "checks": checks_of(&e.evidence),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(0);
    }
    if entries.is_empty() {
        println!("{task}: no verdict recorded yet.");
        return Ok(0);
    }
    let mut table = crate::report::plain_table();
    table.set_header(vec!["WHEN", "FROM", "TO", "OPEN CHECKS"]);
    for e in &entries {
        let open: Vec<String> = checks_of(&e.evidence)
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c.get("status").and_then(|s| s.as_str()) != Some("pass"))
            .filter_map(|c| {
                let id = c.get("id")?.as_str()?;
                Some(match c.get("who").and_then(|w| w.as_str()) {
                    Some(who) => format!("{id} ({who})"),
                    None => id.to_string(),
                })
            })
            .collect();
        table.add_row(vec![
            DateTime::from_timestamp(e.at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            e.old_verdict.clone().unwrap_or_else(|| "-".into()),
            e.new_verdict.clone(),
            if open.is_empty() {
                "-".into()
            } else {
                open.join(", ")
            },
        ]);
    }
    println!("{task}: {} verdict change(s)", entries.len());
    print!("{}", crate::report::render_table(&mut table));
    Ok(0)
}

async fn cmd_agenda(
    cli: &Cli,
    meeting: Option<NaiveDate>,
    format: AgendaFormat,
) -> anyhow::Result<u8> {
    let rules = load_rules(cli)?;
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let now = clock(cli).now();
    if let Some(day) = meeting {
        warn_if_no_meeting(day, &rules);
    }
    let meeting = meeting.unwrap_or_else(|| {
        crate::calendar::meeting_on_or_after(
            crate::calendar::local_date(now, &rules.timing),
            &rules.meeting,
            &rules.timing,
        )
    });
    // No report is read: SQLite picks the approvals out of the scheduled requests' reports.
    let rows = store.view_rows(true).await?;
    let approvals = store
        .agenda_approvals(&meeting.format("%Y-%m-%d").to_string())
        .await?;
    let changes = store
        .agenda_changes(&meeting.format("%Y-%m-%d").to_string())
        .await?;
    let url = cli
        .phab_url
        .clone()
        .unwrap_or_else(|| "https://phabricator.example.org".into());
    let followed = store.granted_lifecycles().await?;
    store.close().await;
    let mut agenda = crate::report::agenda(&rows, &approvals, meeting, &rules, &url, now);
    crate::report::file_privilege_changes(&mut agenda, &changes);
    // Expiring before the meeting after this one, and expired access still in place.
    let next = crate::calendar::meeting_after(meeting, &rules.meeting, &rules.timing);
    let until = next.pred_opt().unwrap_or(next);
    agenda.expiring =
        crate::report::agenda_expiring(expiring_items(&rules, &followed, now, until), &url);
    print!("{}", crate::report::render_agenda(&agenda, format));
    Ok(0)
}

/// What `expiring` and the agenda list: the granted requests of the store expiring on or
/// before `until`, and expired ones still in place, with the rules' data.yaml read now.
fn expiring_items(
    rules: &crate::rules::Rules,
    followed: &[crate::store::LifecycleRow],
    now: DateTime<Utc>,
    until: NaiveDate,
) -> Vec<crate::report::ExpiringItem> {
    use crate::lifecycle::{DataYaml, Followed};
    let data_yaml = crate::data_yaml::read(rules.path(&rules.keys.data_yaml).as_deref());
    if let DataYaml::Unknown(why) = &data_yaml {
        eprintln!("warning: data.yaml cannot be read ({why}): expired access is listed as expired-unverified");
    }
    let followed: Vec<Followed> = followed.iter().map(Followed::from_row).collect();
    crate::lifecycle::expiring(&followed, &data_yaml, now, until, rules)
}

async fn cmd_expiring(cli: &Cli, within: Option<u32>, json: bool) -> anyhow::Result<u8> {
    let rules = load_rules(cli)?;
    let store = crate::store::Store::open_read_only(&cli.db).await?;
    let followed = store.granted_lifecycles().await?;
    store.close().await;
    let now = clock(cli).now();
    let days = within.unwrap_or(rules.lifecycle.expiry_reminder_days);
    let today = crate::calendar::local_date(now, &rules.timing);
    let until = today
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(today);
    let items = expiring_items(&rules, &followed, now, until);
    if json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        print!("{}", crate::lifecycle::expiring_table(&items));
    }
    Ok(0)
}

/// `manpage`: accessbot's page, one command's, or every page into a directory.
fn cmd_manpage(name: Option<&str>, dir: Option<&Path>) -> anyhow::Result<u8> {
    let cmd = command();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let mut pages = vec![("accessbot".to_string(), manpage(&cmd, None)?)];
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            pages.push((
                format!("accessbot-{}", sub.get_name()),
                manpage(sub, page(sub.get_name()))?,
            ));
        }
        for (file, text) in pages {
            let path = dir.join(format!("{file}.1"));
            std::fs::write(&path, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            println!("{}", path.display());
        }
        return Ok(0);
    }
    let text = match name {
        None => manpage(&cmd, None)?,
        Some(n) => {
            let sub = cmd.find_subcommand(n).ok_or_else(|| {
                anyhow::anyhow!("no command {n:?} (see accessbot --help for the commands)")
            })?;
            manpage(sub, page(n))?
        }
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

/// One man page: clap's sections, then EXIT STATUS, ENVIRONMENT and FILES.
fn manpage(cmd: &clap::Command, page: Option<&Page>) -> anyhow::Result<String> {
    use roff::{bold, roman, Roff};
    let name = match page {
        Some(p) => format!("accessbot-{}", p.name),
        None => "accessbot".to_string(),
    };
    let man = clap_mangen::Man::new(cmd.clone()).title(name.clone());
    let mut out = Vec::new();
    man.render(&mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    let mut extra = Roff::new();
    extra.control("SH", ["EXIT STATUS"]);
    let exit: Vec<(&str, &str)> = match page {
        Some(p) => p.exit.to_vec(),
        None => vec![
            (
                "0",
                "success (check: ready; parse: complete; key: acceptable)",
            ),
            ("1", "an error, printed on one line"),
            ("2", "key: the key is refused"),
            ("3", "check: not ready; parse: the request has problems"),
        ],
    };
    for (code, meaning) in exit {
        extra
            .control("TP", [])
            .text([bold(code)])
            .text([roman(meaning)]);
    }
    extra.control("SH", ["ENVIRONMENT"]);
    for (var, meaning) in ENVIRONMENT {
        extra
            .control("TP", [])
            .text([bold(*var)])
            .text([roman(*meaning)]);
    }
    extra.control("SH", ["FILES"]);
    for (file, meaning) in FILES {
        extra
            .control("TP", [])
            .text([bold(*file)])
            .text([roman(*meaning)]);
    }
    let extra = extra.to_roff();
    match text.find("\n.SH VERSION") {
        Some(i) => text.insert_str(i + 1, &extra),
        None => text.push_str(&extra),
    }
    Ok(text)
}

/// `agenda --meeting DAY` on a day without a meeting still works (the agenda as of that day),
/// but says so on stderr and names the nearest meetings before and after it.
fn warn_if_no_meeting(day: NaiveDate, rules: &crate::rules::Rules) {
    use crate::calendar::{is_meeting_day, meeting_after, meeting_before};
    let (m, t) = (&rules.meeting, &rules.timing);
    if is_meeting_day(day, m, t) {
        return;
    }
    let why = if t.holidays.contains(&day) {
        " (a holiday)"
    } else {
        ""
    };
    eprintln!(
        "warning: {day} is not an SRE meeting day{why}; the nearest meetings are {} (before) and {} (after)",
        meeting_before(day, m, t),
        meeting_after(day, m, t)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
        for p in PAGES {
            assert!(
                command().find_subcommand(p.name).is_some(),
                "no command {}",
                p.name
            );
            for g in p.globals {
                assert!(ALL.contains(g), "{}: unknown global {g}", p.name);
            }
        }
        for sub in command().get_subcommands() {
            assert!(
                page(sub.get_name()).is_some() || sub.get_name() == "help",
                "{} has no page",
                sub.get_name()
            );
        }
    }

    #[test]
    fn binary_input_is_refused_and_a_few_bad_bytes_are_not() {
        assert_eq!(
            text_of(b"Full name: A\n").as_deref(),
            Some("Full name: A\n")
        );
        assert!(text_of(b"Full\0name").is_none());
        let mut mostly_text = b"Full name: Jane Doe\nShell username: jdoe\n".repeat(3);
        mostly_text.push(0xff);
        assert!(text_of(&mostly_text).is_some());
        assert!(text_of(&[0xff, 0xfe, 0xc3, b'a', 0x80, 0x81]).is_none());
        let replacement_chars = "\u{FFFD}".repeat(50);
        assert!(text_of(replacement_chars.as_bytes()).is_some());
    }

    #[test]
    fn example_hosts_are_recognised() {
        for u in [
            "https://phabricator.example.org",
            "https://example.com/",
            "http://phab.example.net:8080",
            "https://phabricator.test.example",
            "https://PHABRICATOR.EXAMPLE.ORG.",
        ] {
            assert!(is_example_host(u), "{u}");
        }
        for u in [
            "https://phabricator.wikimedia.org",
            "http://127.0.0.1:8780",
            "https://notexample.org",
            "not a url",
        ] {
            assert!(!is_example_host(u), "{u}");
        }
    }
}
