//! Crashes and shutdown of the real binary: `accessbot run` killed with SIGKILL at random
//! (seeded) moments during a 200-task sync and restarted each time must end, after a clean
//! final run, with exactly the comments a never-interrupted bot posts (one current checklist
//! per request, no duplicate, none missing) and a database that passes the integrity check.
//! SIGTERM makes it finish the task in hand and exit 0; a second instance on the same
//! database refuses to start.

mod common;

use common::World;

use accessbot::ids::TaskId;
use accessbot::report;
use accessbot::sim::{self, Scenario, SimHandle, SimOptions};
use accessbot::store::Store;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The generated world and its instant.
fn world(n: usize, seed: u64) -> (Scenario, String) {
    let sc = sim::generate(n, seed);
    let now = sc.now.to_rfc3339();
    (sc, now)
}

/// The simulator on `sc` with `latency_ms` added to every call.
async fn start(sc: Scenario, now: &str, latency_ms: u64) -> World {
    let opts = SimOptions {
        latency_ms,
        ..SimOptions::default()
    };
    World::start_scenario(sc, now, opts).await
}

/// `accessbot run` as a child process with `rules`; stderr goes to `log` (appended).
fn spawn_run(w: &World, rules: &Path, log: &Path, cmd: &[&str]) -> Child {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    w.bin(cmd)
        .rules(rules)
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::from(err))
        .spawn()
        .expect("the binary starts")
}

/// Waits for the child to exit, at most `limit`; kills it past that.
async fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The comments a never-interrupted in-process bot posts on the same world at the same instant.
async fn reference(sc: Scenario, now: &str, ids: &[u64]) -> Vec<Vec<String>> {
    let w = World::start_scenario(sc, now, SimOptions::default()).await;
    let bot = w
        .builder()
        .rules(common::rules_uncapped())
        .concurrency(8)
        .build()
        .await
        .unwrap();
    for _ in 0..3 {
        bot.cycle().await.unwrap();
    }
    ids.iter().map(|id| texts(&w.sim, *id)).collect()
}

fn texts(sim: &SimHandle, task: u64) -> Vec<String> {
    sim.comments(task).into_iter().map(|c| c.text).collect()
}

/// Added to every simulator call during the crash runs: enough that the sync of 200 tasks
/// takes longer than the earliest kills (with 8 calls in flight, about two seconds).
const LATENCY_MS: u64 = 20;
/// When each kill lands after the start (milliseconds).
const KILL_AFTER_MS: std::ops::Range<u64> = 100..2500;

fn kills() -> usize {
    std::env::var("ACCESSBOT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

async fn crash_and_restart(n_tasks: usize, n_kills: usize, seed: u64) {
    let (sc, now) = world(n_tasks, seed);
    let ids: Vec<u64> = sc.tasks.iter().map(|t| t.id).collect();
    let want = reference(sc.clone(), &now, &ids).await;
    let w = start(sc, &now, LATENCY_MS).await;
    let (sim, db) = (&w.sim, w.db());
    let log = w.dir.path().join("stderr.log");
    // The whole sync in a cycle, as the in-process reference does.
    let rules = common::rules_dir(common::uncapped);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut posted_between_kills = Vec::new();
    for _ in 0..n_kills {
        let mut child = spawn_run(&w, rules.path(), &log, &["run", "--interval", "1"]);
        let delay = rng.gen_range(KILL_AFTER_MS);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let n: usize = ids.iter().map(|id| sim.comments(*id).len()).sum();
            panic!("the bot exited on its own ({status}) before the kill after {delay} ms, {n} comments, log {}:\n{text}", log.display());
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        posted_between_kills.push(ids.iter().map(|id| sim.comments(*id).len()).sum::<usize>());
    }
    // Some kills landed while the sync was still posting, not only on an idle bot.
    let total: usize = want.iter().map(Vec::len).sum();
    eprintln!("comments on the tasks after each kill: {posted_between_kills:?} of {total}");
    assert!(
        posted_between_kills.iter().any(|n| *n < total),
        "{posted_between_kills:?} of {total}"
    );
    // A clean final run.
    let mut child = spawn_run(&w, rules.path(), &log, &["run", "--once"]);
    let status = wait_exit(&mut child, Duration::from_secs(60)).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "final run {status:?}:\n{}",
        text.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(!text.contains("panicked"), "{text}");

    let mut wrong = Vec::new();
    let mut with_checklist = 0;
    for (id, want) in ids.iter().zip(&want) {
        let got = texts(sim, *id);
        if got.iter().any(|t| report::is_checklist(t)) {
            with_checklist += 1;
        }
        if &got != want {
            wrong.push(format!(
                "T{id}: {} comment(s), reference {}",
                got.len(),
                want.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(with_checklist > n_tasks / 2, "{with_checklist}");
    let store = Store::open_existing(&db).await.unwrap();
    assert!(store.integrity_ok().await.unwrap(), "integrity check");
    // The database agrees with what is on the tasks.
    for id in &ids {
        let last = texts(sim, *id)
            .into_iter()
            .rev()
            .find(|t| report::is_checklist(t));
        if let Some(last) = last {
            let row = store.task(TaskId::new(*id)).await.unwrap().expect("a row");
            assert_eq!(
                row.posted_hash.as_deref(),
                Some(report::comment_hash(&last).as_str()),
                "T{id}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_duplicates_nothing() {
    crash_and_restart(200, kills(), 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 60 kills; run with --ignored"]
async fn sigkill_sixty_times() {
    crash_and_restart(200, 60, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_task_in_hand_and_a_second_instance_refuses_to_start() {
    let (sc, now) = world(60, 5);
    let ids: Vec<u64> = sc.tasks.iter().map(|t| t.id).collect();
    let w = start(sc, &now, 40).await;
    let (sim, db, dir) = (&w.sim, w.db(), &w.dir);
    let log = dir.path().join("stderr.log");
    // The whole sync in a cycle, as the in-process reference does.
    let rules = common::rules_dir(common::uncapped);
    let mut first = spawn_run(&w, rules.path(), &log, &["run", "--interval", "1"]);
    // Wait until it is posting, so that SIGTERM lands in the middle of the work.
    let start = Instant::now();
    while ids.iter().all(|id| sim.comments(*id).is_empty()) {
        assert!(start.elapsed() < Duration::from_secs(30), "nothing posted");
        assert!(first.try_wait().unwrap().is_none(), "exited early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A second writer on the same database refuses to start, and says why.
    let second_log = dir.path().join("second.log");
    let mut second = spawn_run(&w, rules.path(), &second_log, &["run", "--once"]);
    let status = wait_exit(&mut second, Duration::from_secs(30)).await;
    let text = std::fs::read_to_string(&second_log).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{text}");
    assert!(text.contains("already running"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{text}"
    );

    let pid = first.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = wait_exit(&mut first, Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.is_some_and(|s| s.code() == Some(0)),
        "SIGTERM: {status:?}\n{text}"
    );
    assert!(text.contains("stopping after the current task"), "{text}");
    assert!(!text.contains("panicked"), "{text}");

    // Every task it posted on was settled: its row records that very checklist.
    let store = Store::open_existing(&db).await.unwrap();
    assert!(store.integrity_ok().await.unwrap());
    let mut posted = 0;
    for id in &ids {
        let last = texts(sim, *id)
            .into_iter()
            .rev()
            .find(|t| report::is_checklist(t));
        if let Some(last) = last {
            posted += 1;
            let row = store.task(TaskId::new(*id)).await.unwrap();
            assert_eq!(
                row.and_then(|r| r.posted_hash),
                Some(report::comment_hash(&last)),
                "T{id} was posted on but not settled"
            );
        }
    }
    assert!(posted > 0);
    // And it stopped early: not everything was done (the sync is slow on purpose).
    assert!(posted < ids.len(), "SIGTERM came after the whole sync");
}
