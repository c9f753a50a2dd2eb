//! `sync-bench`: measures a cold sync of the real bot against the simulator (issue 8).
//!
//! The example starts itself a second time as the simulator process (`--serve-sim`), which
//! generates an N-request scenario (`sim::generate`) and serves it with the given latency, so
//! that the bot's peak RSS (`VmHWM` of this process) does not include the simulator. This
//! process then runs the real poller with a fresh SQLite file: the cold sync is the cycle that
//! posts every checklist plus the cycle that reads the bot's own comments back; then idle
//! polls. Both clocks run from the scenario's `now` at the speed of the wall clock. It prints
//! one JSON object:
//! `{"tasks","latency_ms","concurrency","calls","wall_ms","bound_ms","ratio","idle_calls_at_once",
//! "idle_calls","idle_calls_then","peak_rss_kib","cpu_ms","cpu_us_per_call","calls_by_method"}`
//! where `bound_ms = calls × latency_ms ÷ concurrency` is the round-trip bound of the sync, and
//! `cpu_ms` is this (the bot's) process's own CPU time during the sync, user + system
//! (`getrusage(RUSAGE_SELF)`; the simulator is another process and not in it).
//!
//! The idle polls (calls of one poll cycle each):
//! - `idle_calls_at_once`: the poll right after the sync (null with `--no-idle-at-once`). The
//!   poller closes a second of its cursor only once the server's clock is
//!   `poller::CLOSE_AFTER_SECONDS` (2) past it; the sync's read-back cycle runs at once, before
//!   that, so the first poll after it pages once more through the tasks modified in the last
//!   seconds it left open (more than one call after a fast sync), and closes those the
//!   server's clock is past by then.
//! - `idle_calls`: the next poll, 3 s (`CLOSE_AFTER_SECONDS + 1`) of wall and simulator time
//!   later: what every poll costs from then on, at any interval of 3 s or more.
//! - `idle_calls_then`: the poll right after that one (the same, 1, once the seconds are
//!   closed; with `--no-idle-at-once`, `idle_calls` is the poll that pays the close).
//!
//! A real bot's read-back cycle comes a poll interval after the posts, reads those tasks
//! anyway and closes their seconds itself: the close the first idle poll pays here is the
//! bench's, not the bot's (BENCHMARKS.md, "Idle poll").
//!
//! `cargo run --release --example sync-bench -- --tasks 1000 --latency-ms 20 --concurrency 8 --json`

use accessbot::bot::Bot;
use accessbot::conduit::{ClientOptions, Token};
use accessbot::poller::Clock;
use accessbot::rules::Rules;
use accessbot::sim::{self, SimOptions};
use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use clap::Parser;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Cold sync of the bot against the simulator: calls, wall time, peak RSS")]
struct Args {
    /// Open requests in the generated scenario.
    #[arg(long, default_value_t = 1000)]
    tasks: usize,
    /// Simulated latency of every Conduit call and task page.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Tasks read at once (`[timing] concurrency`).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seed of the generated scenario.
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// Print the JSON object only (otherwise also a human summary on stderr).
    #[arg(long)]
    json: bool,
    /// The bundled rules directory.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))]
    rules: PathBuf,
    /// `[effects] max_posts_per_cycle` for the run (default: no limit, so that the first
    /// cycle is the whole cold sync, as before the limit existed).
    #[arg(long, default_value_t = 1_000_000)]
    max_posts: u32,
    /// Keep the bot's database at this path (a new file) instead of a temporary one, e.g. to
    /// time `accessbot status` and `agenda` on it afterwards.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Write the cold sync's requests in flight, sampled every 5 ms, to this file (lines of
    /// `milliseconds<TAB>in flight<TAB>calls so far`): where the slots stand idle.
    #[arg(long, value_name = "PATH")]
    trace_in_flight: Option<PathBuf>,
    /// The bot's async runtime: `multi` (tokio's multi-threaded one) or `current` (one
    /// thread; SQLite keeps its own), to compare their CPU per call and wall.
    #[arg(long, default_value = "multi", value_parser = ["multi", "current"])]
    runtime: String,
    /// Skip the idle poll right after the sync (`idle_calls_at_once` is then null): the first
    /// idle poll is the one 3 s later.
    #[arg(long)]
    no_idle_at_once: bool,
    /// Internal: run as the simulator process.
    #[arg(long, hide = true)]
    serve_sim: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = if args.runtime == "current" && !args.serve_sim {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Runtime::new()?
    };
    if args.serve_sim {
        rt.block_on(serve_sim(&args))
    } else {
        rt.block_on(bench(&args))
    }
}

/// The simulator process: prints `URL NOW TOKEN` on one line, serves until stdin closes.
async fn serve_sim(args: &Args) -> anyhow::Result<()> {
    let scenario = sim::generate(args.tasks, args.seed);
    let now = scenario.now;
    let token = accessbot::bot::scenario_token(&scenario)?;
    let opts = SimOptions {
        latency_ms: args.latency_ms,
        ..SimOptions::default()
    };
    let handle = Arc::new(sim::start(scenario, opts, "127.0.0.1:0".parse()?).await?);
    // The server's clock runs like a real one (edits made a second apart get dateModified a
    // second apart); a frozen clock would stamp every edit of the sync with one second.
    let ticking = handle.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            ticking.set_now(running(now, started));
        }
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{} {} {}", handle.url(), now.to_rfc3339(), token)?;
        out.flush()?;
    }
    // The parent closes our stdin when it is done (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    Ok(())
}

/// How often the running clocks are moved.
const TICK: Duration = Duration::from_millis(50);

/// `start` plus the real time elapsed since `since`.
fn running(start: DateTime<Utc>, since: Instant) -> DateTime<Utc> {
    start + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
}

/// CPU time (user + system) this process has used so far, in microseconds.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Peak resident set size of this process, in KiB (`VmHWM`), 0 when unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn bench(args: &Args) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args([
            "--serve-sim",
            "--tasks",
            &args.tasks.to_string(),
            "--latency-ms",
            &args.latency_ms.to_string(),
            "--seed",
            &args.seed.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the simulator process")?;
    let result = bench_against(args, &mut child).await;
    drop(child.stdin.take());
    let _ = child.wait();
    let line = result?;
    println!("{line}");
    Ok(())
}

async fn bench_against(args: &Args, child: &mut std::process::Child) -> anyhow::Result<String> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no simulator stdout"))?;
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let (Some(url), Some(now), Some(token)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(anyhow!("the simulator did not start: {first:?}"));
    };
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now)?.with_timezone(&Utc);

    let mut rules = Rules::load(&args.rules)?;
    rules.effects.max_posts_per_cycle = args.max_posts;
    let rules = Arc::new(rules);
    let dir = tempfile::tempdir()?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| dir.path().join("accessbot.db"));
    if db.exists() {
        return Err(anyhow!("{} exists: the sync must start cold", db.display()));
    }
    let concurrency = args.concurrency.max(1);
    // The bot's clock runs from the simulator's `now` too.
    let clock = Clock::fixed(now);
    let ticking = clock.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            ticking.set(running(now, started));
        }
    });
    let poller = Bot::builder()
        .url(url)
        .token(Token::new(token.to_string()))
        // The bound below divides by `concurrency`: requests in flight, as `run` sets it.
        .client_options(ClientOptions {
            timeout: Duration::from_secs(30),
            max_in_flight: concurrency,
            ..ClientOptions::default()
        })
        .rules(rules)
        .db(&db)
        .clock(clock)
        .concurrency(concurrency)
        .build()
        .await?;
    let client = poller.client().clone();

    // Cold sync: the cycle that posts, and the cycle that reads the bot's comments back.
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u64, usize, u64)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if args.trace_in_flight.is_some() {
        let (sampling, samples, stop) = (client.clone(), samples.clone(), stop.clone());
        tokio::spawn(async move {
            let t0 = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sample = (
                    t0.elapsed().as_millis() as u64,
                    sampling.in_flight(),
                    sampling.total_calls(),
                );
                samples.lock().expect("samples").push(sample);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
    let before = client.total_calls();
    let methods_before = client.calls();
    let cpu_before = cpu_us();
    let started = Instant::now();
    let first = poller.cycle().await?;
    let second = poller.cycle().await?;
    let wall = started.elapsed();
    let cpu = cpu_us().saturating_sub(cpu_before);
    let calls = client.total_calls() - before;
    let by_method: std::collections::BTreeMap<String, u64> = client
        .calls()
        .into_iter()
        .map(|(m, n)| {
            let earlier = methods_before.get(&m).copied().unwrap_or(0);
            (m, n - earlier)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    if !first.failed.is_empty() || !second.failed.is_empty() {
        return Err(anyhow!(
            "tasks failed during the sync: {:?}",
            first
                .failed
                .iter()
                .chain(&second.failed)
                .take(5)
                .collect::<Vec<_>>()
        ));
    }

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(path) = &args.trace_in_flight {
        let text: String = samples
            .lock()
            .expect("samples")
            .iter()
            .map(|(ms, n, calls)| format!("{ms}\t{n}\t{calls}\n"))
            .collect();
        std::fs::write(path, text)?;
    }
    let idle_poll = || async {
        let before = client.total_calls();
        poller.cycle().await.map(|_| client.total_calls() - before)
    };
    // Right after the sync the newest seconds it wrote are still open (the server's clock is
    // not yet `CLOSE_AFTER_SECONDS` past them): this poll pages through them again.
    let idle_calls_at_once = if args.no_idle_at_once {
        None
    } else {
        Some(idle_poll().await?)
    };
    // What the next poll costs at an interval of 3 s or more: both clocks run at wall speed.
    let wait = Duration::from_secs(accessbot::poller::CLOSE_AFTER_SECONDS.unsigned_abs() + 1);
    tokio::time::sleep(wait).await;
    let idle_calls = idle_poll().await?;
    let idle_calls_then = idle_poll().await?;

    let wall_ms = wall.as_secs_f64() * 1000.0;
    let bound_ms = calls as f64 * args.latency_ms as f64 / concurrency as f64;
    let ratio = if bound_ms > 0.0 {
        wall_ms / bound_ms
    } else {
        0.0
    };
    if !args.json {
        eprintln!(
            "cold sync of {} tasks: {} evaluated, {} effects, then {} re-read; calls by method: {:?}",
            args.tasks,
            first.evaluated,
            first.effects.len(),
            second.evaluated,
            client.calls()
        );
    }
    let out = serde_json::json!({
        "tasks": args.tasks,
        "latency_ms": args.latency_ms,
        "concurrency": concurrency,
        "calls": calls,
        "wall_ms": (wall_ms * 10.0).round() / 10.0,
        "bound_ms": (bound_ms * 10.0).round() / 10.0,
        "ratio": (ratio * 1000.0).round() / 1000.0,
        "idle_calls_at_once": idle_calls_at_once,
        "idle_calls": idle_calls,
        "idle_calls_then": idle_calls_then,
        "peak_rss_kib": peak_rss_kib(),
        "cpu_ms": cpu / 1000,
        "cpu_us_per_call": cpu.checked_div(calls).unwrap_or(0),
        "calls_by_method": by_method,
    });
    Ok(out.to_string())
}
