//! Faults: the bot against a simulator that answers 5xx, hangs, truncates JSON and answers
//! late, over 200 generated requests. The bot must keep running, never post a checklist
//! computed from partial data, and converge to exactly one current checklist per task once
//! the faults stop. A fault-free run on a second simulator at the same instant is the
//! reference for what each checklist must say.

mod common;

use common::World;

use accessbot::bot::Bot;
use accessbot::conduit::ClientOptions;
use accessbot::poller::CycleReport;
use accessbot::report;
use accessbot::rules::Rules;
use accessbot::sim::{self, FaultSpec, Scenario, SimHandle, SimOptions};
use std::sync::Arc;
use std::time::Duration;

const TASKS: usize = 200;
const SEED: u64 = 7;
const FAULTS: &str = "5xx=0.1,timeout=0.05,malformed=0.05,slow=0.1";

/// A bot on the world with a short client timeout (so hanging and slow answers fail fast).
/// Startup itself may meet faults: it is retried, as a supervisor would restart the bot.
async fn bot(w: &World, rules: &Arc<Rules>) -> Bot {
    let mut last = String::new();
    for _ in 0..20 {
        let built = w
            .builder()
            .client_options(ClientOptions {
                timeout: Duration::from_millis(250),
                retries: 4,
                backoff_base: Duration::from_millis(5),
                backoff_max: Duration::from_millis(40),
                session_cookie: None,
                max_in_flight: 8,
            })
            .rules(rules.clone())
            .concurrency(8)
            .build()
            .await;
        match built {
            Ok(bot) => return bot,
            Err(e) => last = format!("{e:#}"),
        }
    }
    panic!("the bot could not start in 20 attempts: {last}");
}

/// Runs cycles until one has no effect and no failure; returns how many ran.
async fn converge(bot: &Bot, max: usize) -> (usize, Vec<CycleReport>) {
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
    let now = scenario.now.to_rfc3339();
    let ids: Vec<u64> = scenario.tasks.iter().map(|t| t.id).collect();
    // The whole sync in a cycle: this is about faults, not the post limit.
    let rules = common::rules_uncapped();

    // The reference: the same world, no faults.
    let ref_world = World::start_scenario(scenario.clone(), &now, SimOptions::default()).await;
    let reference = &ref_world.sim;
    let ref_bot = bot(&ref_world, &rules).await;
    let (n, _) = converge(&ref_bot, 5).await;
    assert!(n < 5, "the fault-free run converges");

    // The faulty world.
    let faults = FaultSpec::parse(FAULTS).unwrap();
    let faulty_world = World::start_scenario(
        scenario,
        &now,
        SimOptions {
            faults,
            seed: SEED,
            ..SimOptions::default()
        },
    )
    .await;
    let faulty = &faulty_world.sim;
    let faulty_bot = bot(&faulty_world, &rules).await;
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
        .filter(|id| !checklists(faulty, **id).is_empty())
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
    let again = bot(&faulty_world, &rules).await;
    let r = again.cycle().await.unwrap();
    assert!(r.effects.is_empty() && r.failed.is_empty(), "{r:?}");

    let mut wrong = Vec::new();
    let mut posted_tasks = 0;
    for id in ids {
        let want = checklists(reference, id);
        let got = checklists(faulty, id);
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
