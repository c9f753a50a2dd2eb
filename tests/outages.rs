//! Outages, through the real binary: `accessbot run` started while Phabricator is down keeps
//! trying with backoff (WARN with the next attempt's time, ERROR once it lasts) and starts
//! when the server comes; cycles that keep failing are logged at ERROR, and the recovery at
//! INFO; the cycle line's `calls=` counts that cycle's calls only; SIGTERM stops it at once,
//! also while it waits for the server at start-up.

mod common;

use accessbot::sim::{self, FaultSpec, SimOptions};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-04T12:00:00Z";

/// `accessbot run --interval 1` against `url`; stderr goes to `log`.
fn spawn_run(url: &str, token: &str, dir: &Path, log: &Path) -> Child {
    let rules = common::root().join("rules");
    let db = dir.join("accessbot.db");
    let err = std::fs::File::create(log).unwrap();
    let args = [
        "--phab-url",
        url,
        "--rules",
        rules.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--now",
        NOW,
        "run",
        "--interval",
        "1",
    ];
    common::bin_command(
        &args,
        &[("RUST_LOG", "info"), ("ACCESSBOT_TOKEN", token)],
        dir,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::from(err))
    .spawn()
    .expect("the binary starts")
}

/// Waits (generously: the bot's own retries take real time) until the log satisfies `done`;
/// returns the log. Fails if the bot exits first.
async fn wait_for(
    child: &mut Child,
    log: &Path,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited while waiting for {what}:\n{text}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never saw {what}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends SIGTERM and waits for the exit status.
async fn terminate(child: &mut Child) -> Option<i32> {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SIGTERM did not stop it");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// The `calls=N` of each "cycle done" line.
fn cycle_calls(text: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.contains("cycle done"))
        .filter_map(|l| {
            let v = l.split("calls=").nth(1)?;
            v.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_at_start_up_and_later_is_ridden_out() {
    let sc = common::load_scenario("plain.toml");
    let token = accessbot::bot::scenario_token(&sc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut bot = spawn_run(&format!("http://{addr}"), &token, dir.path(), &log);

    // Down at start-up: WARN with the next attempt's time, then ERROR as it lasts; no exit.
    let text = wait_for(&mut bot, &log, "start-up failures at ERROR", |t| {
        count(t, "still fails; trying again") >= 1
    })
    .await;
    let first = text
        .lines()
        .find(|l| l.contains("cannot start"))
        .expect("a start-up failure");
    assert!(
        first.contains("WARN") && first.contains("next_attempt="),
        "{first}"
    );
    assert!(
        first.contains(&addr.to_string()),
        "names the server: {first}"
    );
    let loud = text
        .lines()
        .find(|l| l.contains("still fails"))
        .expect("an ERROR line");
    assert!(
        loud.contains("ERROR") && loud.contains("attempt=3"),
        "{loud}"
    );
    assert!(!text.contains(&token));

    // The server comes: the bot starts and polls.
    let sim = sim::start(
        sc,
        SimOptions {
            now: Some(common::at(NOW)),
            ..SimOptions::default()
        },
        addr,
    )
    .await
    .expect("the simulator takes the port");
    let text = wait_for(&mut bot, &log, "idle cycles", |t| {
        cycle_calls(t).iter().filter(|c| **c == 1).count() >= 2
    })
    .await;
    assert!(
        text.contains("Phabricator answers again: starting"),
        "{text}"
    );
    assert_eq!(sim.comments(201).len(), 1, "one checklist");
    // The one checklist, as of `--now` (the simulator's clock stands still at NOW): WAITING,
    // as any first cycle at NOW judges it (both approvals are in, the waiting period is not
    // over); the outage at start-up changed nothing in it.
    let thread = common::snap::thread(&sim, 201, dir.path());
    insta::assert_snapshot!(thread, @"
    --- comment 1 by accessbot at 2026-11-04T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-06 08:30 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-04 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    // Per cycle, not since start: the first cycles cost many calls, an idle one costs one.
    let calls = cycle_calls(&text);
    assert!(calls[0] > 5, "{calls:?}");
    assert_eq!(calls.last(), Some(&1), "{calls:?}");

    // Phabricator fails for several cycles: WARN, then ERROR; then it recovers.
    sim.set_faults(FaultSpec::parse("5xx=1").unwrap());
    let text = wait_for(&mut bot, &log, "failing cycles at ERROR", |t| {
        count(t, "cycles keep failing") >= 1
    })
    .await;
    assert!(
        count(&text, "cycle failed; retrying next cycle") >= 2,
        "{text}"
    );
    let loud = text
        .lines()
        .find(|l| l.contains("cycles keep failing"))
        .unwrap();
    assert!(
        loud.contains("ERROR") && loud.contains("failed_cycles=3"),
        "{loud}"
    );
    sim.set_faults(FaultSpec::default());
    wait_for(&mut bot, &log, "the recovery", |t| {
        count(t, "cycles succeed again") >= 1
    })
    .await;

    assert_eq!(terminate(&mut bot).await, Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(sim.comments(201).len(), 1, "nothing posted twice");
    assert_eq!(
        common::snap::thread(&sim, 201, dir.path()),
        thread,
        "the checklist above, unchanged by the failing cycles"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_it_while_it_waits_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let url = format!("http://127.0.0.1:{}", free_port());
    let mut bot = spawn_run(&url, "api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", dir.path(), &log);
    wait_for(&mut bot, &log, "a start-up failure", |t| {
        count(t, "cannot start") >= 1
    })
    .await;
    assert_eq!(terminate(&mut bot).await, Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("stopped before start-up completed"), "{text}");
}
