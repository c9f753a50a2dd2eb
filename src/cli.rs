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
    /// Each check of a task with its evidence (links to the transactions).
    Explain {
        /// The task, e.g. T123.
        task: TaskId,
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
        Command::Parse { file, json } => cmd_parse(&cli, file.as_deref(), *json),
        Command::Key { file, json } => cmd_key(&cli, file.as_deref(), *json),
        Command::Run {
            once,
            interval,
            dry_run,
        } => cmd_run(&cli, *once, *interval, *dry_run).await,
        Command::Check { task, json } => {
            cmd_check(&cli, *task, if *json { View::Json } else { View::Terminal }).await
        }
        Command::Explain { task } => cmd_check(&cli, *task, View::Explain).await,
        Command::Status { json, all } => cmd_status(&cli, *json, *all).await,
        Command::Agenda { meeting, format } => cmd_agenda(&cli, *meeting, *format).await,
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
    if cli.rules == std::path::Path::new("rules") && !cli.rules.exists() {
        return Ok(std::sync::Arc::new(crate::rules::Rules::bundled()?));
    }
    load_rules(cli)
}

fn read_input(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    match file {
        None => std::io::stdin().read_to_end(&mut bytes).map(|_| ()),
        Some(p) if p == std::path::Path::new("-") => {
            std::io::stdin().read_to_end(&mut bytes).map(|_| ())
        }
        Some(p) => std::fs::File::open(p)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map(|_| ()),
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}",
            file.map(|p| p.display().to_string())
                .unwrap_or_else(|| "standard input".into())
        )
    })?;
    // Untrusted input of any encoding: invalid UTF-8 is replaced, never a crash.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn cmd_parse(cli: &Cli, file: Option<&std::path::Path>, json: bool) -> anyhow::Result<u8> {
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
    if let Some(o) = value.as_object_mut() {
        o.insert(
            "problems".into(),
            serde_json::json!(crate::request::problem_messages(&parsed)),
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let problems = value
            .as_object_mut()
            .and_then(|o| o.remove("problems"))
            .unwrap_or_default();
        for (k, v) in value.as_object().into_iter().flatten() {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            println!("{k:<15} {shown}");
        }
        for p in problems.as_array().into_iter().flatten() {
            println!("problem         {}", p.as_str().unwrap_or_default());
        }
    }
    Ok(0)
}

fn cmd_key(cli: &Cli, file: Option<&std::path::Path>, json: bool) -> anyhow::Result<u8> {
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
                .map(|f| f.0.as_str())
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

/// The Conduit client from the global flags; the token from the environment or a file.
fn client(cli: &Cli) -> anyhow::Result<crate::conduit::Client> {
    use crate::conduit::{Client, ClientOptions, Token};
    let url = cli.phab_url.as_deref().ok_or_else(|| {
        anyhow::anyhow!("no Phabricator URL: pass --phab-url or set ACCESSBOT_PHAB_URL")
    })?;
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
    let mut opts = ClientOptions::default();
    let rules = crate::rules::Rules::load(&cli.rules).ok();
    if let Some(r) = &rules {
        opts.max_in_flight = r.timing.concurrency;
    }
    let rules_cookie = rules.and_then(|r| r.path(&r.evidence.session_cookie_file));
    if let Some(p) = rules_cookie {
        let (cookie, warnings) =
            crate::conduit::session_cookie_from_file(&p).map_err(|e| anyhow::anyhow!(e))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        opts.session_cookie = Some(cookie);
    }
    Ok(Client::new(url, token, opts)?)
}

fn clock(cli: &Cli) -> crate::poller::Clock {
    match cli.now {
        Some(t) => crate::poller::Clock::fixed(t),
        None => crate::poller::Clock::System,
    }
}

async fn evidence_source(
    cli: &Cli,
    rules: std::sync::Arc<crate::rules::Rules>,
) -> anyhow::Result<crate::evidence::EvidenceSource> {
    crate::evidence::EvidenceSource::connect(client(cli)?, rules).await
}

async fn cmd_run(
    cli: &Cli,
    once: bool,
    interval: Option<u64>,
    dry_run: bool,
) -> anyhow::Result<u8> {
    let rules = load_rules(cli)?;
    let _lock = crate::store::WriterLock::acquire(&cli.db)?;
    let store = crate::store::Store::open(&cli.db).await?;
    let interval =
        std::time::Duration::from_secs(interval.unwrap_or(rules.timing.poll_seconds).max(1));
    // SIGTERM and Ctrl-C, from now on: during start-up they stop the retries at once.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let src = if once {
        evidence_source(cli, rules.clone()).await?
    } else {
        match connect_riding_out_outages(cli, rules.clone(), interval, stop_rx.clone()).await? {
            Some(src) => src,
            None => {
                tracing::info!("stopped before start-up completed");
                store.close().await;
                return Ok(0);
            }
        }
    };
    src.probe_pages_at_start().await;
    let opts = crate::poller::PollerOptions {
        dry_run,
        concurrency: rules.timing.concurrency,
        clock: clock(cli),
    };
    let poller = crate::poller::Poller::new(src, store.clone(), rules.clone(), opts);
    let stop = poller.stop_handle();
    let mut stopping = stop_rx;
    tokio::spawn(async move {
        if stopping.wait_for(|s| *s).await.is_ok() {
            tracing::info!("stopping after the current task");
            let _ = stop.send(true);
        }
    });
    let result = poller.run(interval, once).await;
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
    cli: &Cli,
    rules: std::sync::Arc<crate::rules::Rules>,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<crate::evidence::EvidenceSource>> {
    let client = client(cli)?;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let connected = tokio::select! {
            r = crate::evidence::EvidenceSource::connect(client.clone(), rules.clone()) => r,
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

enum View {
    Terminal,
    Json,
    Explain,
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
    let (store, _tmp) = if cli.db.exists() {
        (crate::store::Store::open_existing(&cli.db).await?, None)
    } else {
        tracing::warn!(
            "no database at {}: key reuse on earlier requests is not checked",
            cli.db.display()
        );
        let dir = tempfile_dir()?;
        (
            crate::store::Store::open(&dir.join("check.db")).await?,
            Some(TempDir(dir)),
        )
    };
    let src = evidence_source(cli, rules.clone()).await?;
    let now = clock(cli).now();
    let t = src
        .client()
        .tasks_by_ids(&[task.0])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{task} does not exist or is not visible to the bot"))?;
    let txs = src.client().transactions(task).await?;
    let row = store.task(task).await?;
    let mut gathered = src.gather(&t, &txs, row.as_ref()).await?;
    src.add_reuse(&mut gathered, &store).await?;
    // No comment needed its channel: look at the page anyway, so that an operator checking a
    // task learns now that pages cannot be read.
    if !src.page_seen() {
        src.probe_pages(task, &t.phid).await;
    }
    let checklist = crate::policy::evaluate(&gathered.facts, &rules, now);
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
        View::Explain => print!(
            "{}",
            crate::report::explain(&live.checklist, &live.base_url, tz)
        ),
    }
    // The JSON object stays as the design has it; the log line on stderr says it there.
    if let (Some(p), View::Terminal | View::Explain) = (&live.page_problem, view) {
        println!("\nwarning: {p}");
    }
    Ok(0)
}

async fn cmd_grant_patch(
    cli: &Cli,
    task: TaskId,
    data_yaml: Option<&std::path::Path>,
    revoke: bool,
) -> anyhow::Result<u8> {
    let live = evaluate_live(cli, task).await?;
    let path = data_yaml
        .map(std::path::Path::to_path_buf)
        .or_else(|| live.rules.path(&live.rules.keys.data_yaml));
    let read = |path: &std::path::Path| -> anyhow::Result<(String, String)> {
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
        if !crate::policy::is_user_request(&live.gathered.facts.title, parsed) {
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
    let request = &live.gathered.facts.parsed.request;
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

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("accessbot-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn cmd_status(cli: &Cli, json: bool, all: bool) -> anyhow::Result<u8> {
    let store = crate::store::Store::open_existing(&cli.db).await?;
    let now = clock(cli).now();
    // The table needs no stored report; `--json` prints them.
    let rows = if json {
        store.tasks(!all).await?
    } else {
        store.view_rows(!all).await?
    };
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|r| all || r.verdict != "closed")
        .collect();
    crate::report::sort_for_status(&mut rows);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&crate::report::status_json(&rows, now))?
        );
    } else {
        print!("{}", crate::report::status_table(&rows, now));
    }
    Ok(0)
}

async fn cmd_agenda(
    cli: &Cli,
    meeting: Option<NaiveDate>,
    format: AgendaFormat,
) -> anyhow::Result<u8> {
    let rules = load_rules(cli)?;
    let store = crate::store::Store::open_existing(&cli.db).await?;
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
    let url = cli
        .phab_url
        .clone()
        .unwrap_or_else(|| "https://phabricator.example.org".into());
    let agenda = crate::report::agenda(&rows, &approvals, meeting, &rules, &url, now);
    print!("{}", crate::report::render_agenda(&agenda, format));
    Ok(0)
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
