//! Faults: the bot against a simulator that answers 5xx, hangs, truncates JSON and answers
//! late, over 200 generated requests. The bot must keep running, never post a checklist
//! computed from partial data, and converge to exactly one current checklist per task once
//! the faults stop. A fault-free run on a second simulator at the same instant is the
//! reference for what each checklist must say.

mod common;

use accessbot::conduit::{Client, ClientOptions, Token};
use accessbot::evidence::EvidenceSource;
use accessbot::poller::{Clock, CycleReport, Poller, PollerOptions};
use accessbot::report;
use accessbot::rules::Rules;
use accessbot::sim::{self, FaultSpec, Scenario, SimHandle, SimOptions};
use accessbot::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const TASKS: usize = 200;
const SEED: u64 = 7;
const FAULTS: &str = "5xx=0.1,timeout=0.05,malformed=0.05,slow=0.1";

/// A bot on `sim` with a short client timeout (so hanging and slow answers fail fast).
/// Startup itself may meet faults: it is retried, as a supervisor would restart the bot.
async fn bot(sim: &SimHandle, token: &str, rules: &Arc<Rules>, db: &Path, clock: &Clock) -> Poller {
    let mut last = String::new();
    for _ in 0..20 {
        let opts = ClientOptions {
            timeout: Duration::from_millis(250),
            retries: 4,
            backoff_base: Duration::from_millis(5),
            backoff_max: Duration::from_millis(40),
            session_cookie: None,
            max_in_flight: 8,
        };
        let client = Client::new(&sim.url(), Token::new(token.to_string()), opts).unwrap();
        let src = match EvidenceSource::connect(client, rules.clone()).await {
            Ok(s) => s,
            Err(e) => {
                last = format!("{e:#}");
                continue;
            }
        };
        let store = Store::open(db).await.unwrap();
        let opts = PollerOptions {
            dry_run: false,
            concurrency: 8,
            clock: clock.clone(),
        };
        return Poller::new(src, store, rules.clone(), opts);
    }
    panic!("the bot could not start in 20 attempts: {last}");
}

/// Runs cycles until one has no effect and no failure; returns how many ran.
async fn converge(bot: &Poller, max: usize) -> (usize, Vec<CycleReport>) {
    let mut reports = Vec::new();
    for n in 1..=max {
        match bot.cycle().await {
            Ok(r) => {
                let quiet = r.effects.is_empty() && r.failed.is_empty();
                reports.push(r);
                if quiet {
                    return (n, reports);
                }
            }
            // A failed poll is retried on the next cycle; the bot keeps running.
            Err(_) => continue,
        }
    }
    (max, reports)
}

fn checklists(sim: &SimHandle, task: u64) -> Vec<String> {
    sim.comments(task)
        .into_iter()
        .map(|c| c.text)
        .filter(|t| report::is_checklist(t))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_the_bot_posts_only_complete_checklists_and_converges_to_one_each() {
    let scenario: Scenario = sim::generate(TASKS, SEED);
    let token = scenario
        .users
        .iter()
        .find(|u| u.username == "accessbot")
        .and_then(|u| u.token.clone())
        .expect("the generated scenario has the bot's token");
    let now = scenario.now;
    let ids: Vec<u64> = scenario.tasks.iter().map(|t| t.id).collect();
    // The whole sync in a cycle: this is about faults, not the post limit.
    let rules = common::rules_uncapped();
    let clock = Clock::fixed(now);

    // The reference: the same world, no faults.
    let reference = sim::start(
        scenario.clone(),
        SimOptions::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let ref_dir = tempfile::tempdir().unwrap();
    let ref_bot = bot(
        &reference,
        &token,
        &rules,
        &ref_dir.path().join("ref.db"),
        &clock,
    )
    .await;
    let (n, _) = converge(&ref_bot, 5).await;
    assert!(n < 5, "the fault-free run converges");

    // The faulty world.
    let faults = FaultSpec::parse(FAULTS).unwrap();
    let faulty = sim::start(
        scenario,
        SimOptions {
            faults,
            seed: SEED,
            ..SimOptions::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("faulty.db");
    let faulty_bot = bot(&faulty, &token, &rules, &db, &clock).await;
    let mut failures_seen = 0;
    let mut errors_seen = 0;
    for _ in 0..6 {
        match faulty_bot.cycle().await {
            Ok(r) => failures_seen += r.failed.len(),
            Err(_) => errors_seen += 1,
        }
    }
    assert!(
        failures_seen + errors_seen > 0,
        "the faults were felt (otherwise this test proves nothing)"
    );
    // Most checklists were posted while the faults were on (so they were at risk).
    let under_faults = ids
        .iter()
        .filter(|id| !checklists(&faulty, **id).is_empty())
        .count();
    eprintln!("faults: {failures_seen} task failures, {errors_seen} failed cycles, {under_faults} tasks posted under faults, calls {:?}", faulty.stats());
    assert!(
        under_faults > TASKS / 2,
        "{under_faults} tasks posted under faults"
    );

    // Faults off: the same process converges.
    faulty.set_faults(FaultSpec::default());
    let (n, reports) = converge(&faulty_bot, 6).await;
    assert!(
        n < 6,
        "converges once the faults stop: {:?}",
        reports.last()
    );

    // A restarted bot on the same database agrees that nothing is left to do.
    drop(faulty_bot);
    let again = bot(&faulty, &token, &rules, &db, &clock).await;
    let r = again.cycle().await.unwrap();
    assert!(r.effects.is_empty() && r.failed.is_empty(), "{r:?}");

    let mut wrong = Vec::new();
    let mut posted_tasks = 0;
    for id in ids {
        let want = checklists(&reference, id);
        let got = checklists(&faulty, id);
        if !want.is_empty() {
            posted_tasks += 1;
        }
        // Every checklist posted under faults must be the fault-free one: the world and the
        // clock did not move, so any other text was computed from partial data. Hence also
        // exactly one per task, never two identical in a row.
        if got != want {
            wrong.push(format!(
                "T{id}: reference {} checklist(s), faulty run {}:\n{}\n--- vs reference ---\n{}",
                want.len(),
                got.len(),
                got.join("\n~~~\n"),
                want.join("\n~~~\n")
            ));
        }
    }
    assert!(posted_tasks > TASKS / 2, "most tasks get a checklist");
    assert!(
        wrong.is_empty(),
        "{} task(s) differ:\n{}",
        wrong.len(),
        wrong.join("\n\n")
    );
}
