//! `steady-bench`: what the bot costs in Conduit calls once it runs, in simulated time (issue
//! 16): a cold sync, an idle poll, a cycle in which 1 % of the requests changed, an idle day of
//! polls (with the reconcile it holds), a restart (new process state, the same database)
//! followed by one reconcile period, and a naive peer that re-reads every task every cycle.
//!
//! The simulator runs in this process on the generated scenario (`sim::generate`); the bot is
//! the real one (real client over HTTP, real SQLite file, real poller). Time is simulated: both
//! clocks are moved by the poll interval between cycles, nothing waits, so a day of 60-second
//! polls takes as long as its calls do. Call counts do not depend on `--latency-ms` (they are
//! the same at 0, the default, as at 20); wall times are not measured here (see `sync-bench`).
//!
//! Phases (T0 = the scenario's `now`, P = the poll interval):
//! - `cold_sync`: the cycles at T0 and T0 + P (the second reads the bot's own comments back);
//! - `idle`: the cycle at T0 + 2P;
//! - `changed`: a comment by the requester on 1 % of the requests (every 100th) lands at
//!   T0 + 2.5P; the cycles at T0 + 3P and T0 + 4P;
//! - `day`: `--hours` (24) of cycles every P from T0 + 5P, nothing changing: total calls,
//!   calls by method, the tasks re-read (reconcile, wake-ups, nudges), the busiest cycle;
//! - `restart`: a new client, evidence caches and store connection on the same database (what
//!   a restart leaves), its start-up calls, then one reconcile period (`reconcile_minutes`)
//!   of cycles: the calls beyond one poll a cycle, against the tasks they read;
//! - `naive`: one cycle of a peer that pages through every task and reads each timeline.
//!
//! Prints one JSON object (and, without `--json`, a summary on stderr):
//! `cargo run --release --example steady-bench -- --tasks 1000 --json`

use accessbot::bot::{Bot, BotBuilder};
use accessbot::conduit::{Client, Token};
use accessbot::ids::TaskId;
use accessbot::poller::{Clock, CycleReport};
use accessbot::rules::Rules;
use accessbot::sim::scenario::ScenarioEvent;
use accessbot::sim::{self, SimHandle, SimOptions};
use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "The bot's steady state in simulated time: calls per phase and per day")]
struct Args {
    /// Requests in the generated scenario.
    #[arg(long, default_value_t = 1000)]
    tasks: usize,
    /// Simulated latency of every call (call counts do not depend on it).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Conduit requests in flight at once (`[timing] concurrency`).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seed of the generated scenario.
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// The poll interval, in simulated seconds.
    #[arg(long, default_value_t = 60)]
    poll_seconds: i64,
    /// Length of the idle stretch, in simulated hours.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// Print the JSON object only.
    #[arg(long)]
    json: bool,
    /// The rules directory.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))]
    rules: PathBuf,
    /// `[effects] max_posts_per_cycle` for the run (default: no limit, as in `sync-bench`, so
    /// that the cold sync is its two cycles; with the bundled limit of 20 the checklists of
    /// the sync trickle out over the "day" instead).
    #[arg(long, default_value_t = 1_000_000)]
    max_posts: u32,
}

/// The calls of a stretch of cycles and what those cycles did.
#[derive(Debug, Default)]
struct Tally {
    cycles: u64,
    calls: u64,
    by_method: BTreeMap<String, u64>,
    changed: u64,
    due: u64,
    evaluated: u64,
    effects: u64,
    busiest: u64,
}

impl Tally {
    fn add(&mut self, calls: &sim::Stats, r: &CycleReport) {
        self.cycles += 1;
        self.calls += calls.total;
        for (m, n) in &calls.calls {
            *self.by_method.entry(m.clone()).or_insert(0) += n;
        }
        self.changed += r.changed as u64;
        self.due += r.due as u64;
        self.evaluated += r.evaluated as u64;
        self.effects += r.effects.len() as u64;
        self.busiest = self.busiest.max(calls.total);
    }

    fn json(&self) -> Value {
        json!({
            "cycles": self.cycles,
            "calls": self.calls,
            "changed": self.changed,
            "due": self.due,
            "evaluated": self.evaluated,
            "effects": self.effects,
            "busiest_cycle_calls": self.busiest,
            "by_method": self.by_method,
        })
    }
}

/// The simulator, the bot's clock and its database.
struct Bench {
    sim: SimHandle,
    clock: Clock,
    rules: Arc<Rules>,
    db: PathBuf,
    token: String,
    concurrency: usize,
}

impl Bench {
    fn set_now(&self, t: DateTime<Utc>) {
        self.sim.set_now(t);
        self.clock.set(t);
    }

    /// The bot's builder on this simulator, database and clock.
    fn builder(&self) -> BotBuilder {
        Bot::builder()
            .url(self.sim.url())
            .token(Token::new(self.token.clone()))
            .rules(self.rules.clone())
            .db(&self.db)
            .clock(self.clock.clone())
            .concurrency(self.concurrency)
    }

    /// A client as the bot's.
    fn client(&self) -> anyhow::Result<Client> {
        self.builder().client()
    }

    /// A bot as a new process would start: new client, caches and store connection.
    async fn bot(&self) -> anyhow::Result<Bot> {
        self.builder().build().await
    }

    /// One cycle at `at`; fails when a task failed.
    async fn cycle(&self, bot: &Bot, at: DateTime<Utc>, tally: &mut Tally) -> anyhow::Result<()> {
        self.set_now(at);
        self.sim.reset_stats();
        let r = bot.cycle().await?;
        if !r.failed.is_empty() {
            return Err(anyhow!("tasks failed at {at}: {:?}", r.failed));
        }
        tally.add(&self.sim.stats(), &r);
        Ok(())
    }
}

/// One cycle of a peer that keeps no state: every page of the project's tasks, then every
/// task's timeline, `concurrency` requests at once. Returns its calls.
async fn naive_cycle(b: &Bench) -> anyhow::Result<u64> {
    let client = b.client()?;
    let project = client
        .project_by_name(&b.rules.phabricator.project)
        .await?
        .ok_or_else(|| anyhow!("no project"))?
        .phid;
    b.sim.reset_stats();
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = client
            .read_tasks_page(&project, None, after.as_deref())
            .await?;
        ids.extend(page.tasks.iter().map(|t| t.id));
        match page.after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    let reads = futures::stream::iter(ids)
        .map(|id| {
            let client = client.clone();
            async move { client.transactions(TaskId::new(id)).await.map(|_| ()) }
        })
        .buffer_unordered(b.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    reads.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(b.sim.stats().total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn bench(args: &Args, dir: &Path) -> anyhow::Result<Value> {
    let mut sc = sim::generate(args.tasks, args.seed);
    let t0 = sc.now;
    let p = Duration::seconds(args.poll_seconds);
    // 1 %: a comment by the requester on every 100th request.
    let changed_at = t0 + p * 5 / 2;
    let mut changed_tasks = 0;
    for t in sc.tasks.iter_mut().step_by(100) {
        let author = t.author.clone();
        t.events.push(ScenarioEvent::comment(
            changed_at,
            &author,
            "Any update on this request?",
        ));
        changed_tasks += 1;
    }
    let token = accessbot::bot::scenario_token(&sc)?;
    let opts = SimOptions {
        now: Some(t0),
        latency_ms: args.latency_ms,
        ..SimOptions::default()
    };
    let sim = sim::start(sc, opts, "127.0.0.1:0".parse()?).await?;
    let mut rules = Rules::load(&args.rules)?;
    rules.effects.max_posts_per_cycle = args.max_posts;
    let rules = Arc::new(rules);
    let b = Bench {
        sim,
        clock: Clock::fixed(t0),
        rules: rules.clone(),
        db: dir.join("accessbot.db"),
        token,
        concurrency: args.concurrency.max(1),
    };

    let bot = b.bot().await?;
    let mut cold = Tally::default();
    b.cycle(&bot, t0, &mut cold).await?;
    b.cycle(&bot, t0 + p, &mut cold).await?;
    let mut idle = Tally::default();
    b.cycle(&bot, t0 + p * 2, &mut idle).await?;
    let mut changed = Tally::default();
    b.cycle(&bot, t0 + p * 3, &mut changed).await?;
    b.cycle(&bot, t0 + p * 4, &mut changed).await?;

    let day_start = t0 + p * 5;
    let cycles = (args.hours * 3600.0 / args.poll_seconds as f64).round() as i64;
    let mut day = Tally::default();
    for i in 0..cycles {
        b.cycle(&bot, day_start + p * i as i32, &mut day).await?;
    }
    drop(bot);

    // A restart: the same database, everything else new.
    let restart_at = day_start + p * cycles as i32;
    b.set_now(restart_at);
    b.sim.reset_stats();
    let bot = b.bot().await?;
    let startup_calls = b.sim.stats().total;
    let period = i64::from(rules.timing.reconcile_minutes) * 60 / args.poll_seconds;
    let mut restart = Tally::default();
    for i in 0..period.max(1) {
        b.cycle(&bot, restart_at + p * i as i32, &mut restart)
            .await?;
    }
    drop(bot);
    let read = restart.changed + restart.due;
    let beyond_polls = restart.calls - restart.cycles;

    let naive = naive_cycle(&b).await?;
    let per_day = 86_400 / args.poll_seconds as u64;
    let day_calls = (day.calls as f64 * 24.0 / args.hours).round() as u64;
    Ok(json!({
        "tasks": args.tasks,
        "seed": args.seed,
        "poll_seconds": args.poll_seconds,
        "concurrency": b.concurrency,
        "reconcile_minutes": rules.timing.reconcile_minutes,
        "max_posts_per_cycle": rules.effects.max_posts_per_cycle,
        "loadavg": loadavg(),
        "cold_sync": cold.json(),
        "cold_calls_per_task": (cold.calls as f64 / args.tasks as f64 * 100.0).round() / 100.0,
        "idle_calls": idle.calls,
        "idle": idle.json(),
        "changed_tasks": changed_tasks,
        "changed": changed.json(),
        "day_hours": args.hours,
        "day": day.json(),
        "calls_per_day": day_calls,
        "restart": {
            "startup_calls": startup_calls,
            "period": restart.json(),
            "tasks_read": read,
            "calls_beyond_polls": beyond_polls,
            "ratio": if read > 0 { (beyond_polls as f64 / read as f64 * 1000.0).round() / 1000.0 } else { 0.0 },
        },
        "naive_cycle_calls": naive,
        "naive_calls_per_day": naive * per_day,
    }))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let out = rt.block_on(bench(&args, dir.path()))?;
    if !args.json {
        eprintln!("{}", serde_json::to_string_pretty(&out)?);
    }
    println!("{out}");
    Ok(())
}
