//! The command line: clap definitions, the configuration file merged under the flags, the
//! dispatch, and the commands that talk to the server (`run`, `check`, `grant-patch`: the bot
//! wired through `bot::Bot`). The rest stands beside it: `cli/manpage.rs` (help and man pages),
//! `cli/offline.rs` (`rules check`, `parse`, `key`), `cli/views.rs` (`status`, `log`, `agenda`,
//! `expiring`).

use crate::ids::TaskId;
use crate::logging::{ColorChoice, LogFormat};
use crate::report::AgendaFormat;
use chrono::{DateTime, NaiveDate, Utc};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::{Path, PathBuf};

mod manpage;
mod offline;
mod views;

use manpage::*;
use offline::*;
use views::*;

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
    let life = store.lifecycle(task).await?;
    let data_yaml = crate::data_yaml::read(rules.path(&rules.keys.data_yaml).as_deref());
    crate::plan::settle_granted(
        &mut checklist,
        &t,
        &gathered,
        row.as_ref(),
        life.as_ref(),
        &data_yaml,
        now,
    );
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
