//! What the ticket shows must be true (issue 15 item 6), through the real binary against the
//! simulator (`tests/scenarios/tell.toml`): an emailed key never replaces the key that counts;
//! an SRE meeting decision posted before the meeting says so while the request waits for the
//! meeting; `--now` hides everything written after it; a withdrawn approval or confirmation
//! says "withdrawn by @x"; a task whose tag was removed is `untagged`, not `closed`.

mod common;

use common::World;
use serde_json::Value;

const SCENARIO: &str = "tell.toml";

/// `check TASK --json` by the binary as of `now`: (exit code, the JSON object).
async fn check(w: &World, now: &str, task: &str) -> (i32, Value) {
    let (code, out, err) = w.run_cli(now, &["check", task, "--json"]).await;
    assert!(
        code == 0 || code == 3,
        "check {task} failed ({code}): {err}"
    );
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, v)
}

/// The check `id` of a `check --json` object.
fn find<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {v:#}"))
}

/// `run --once` by the binary as of `now`.
async fn run_once(w: &World, now: &str) {
    let (code, _, err) = w.run_cli(now, &["run", "--once"]).await;
    assert_eq!(code, 0, "run --once failed: {err}");
}

/// The stored rows, as `status --json` (with `--all`) prints them, by task.
async fn status(w: &World, now: &str, all: bool) -> Vec<Value> {
    let mut args = vec!["status", "--json"];
    if all {
        args.push("--all");
    }
    let (code, out, err) = w.run_cli(now, &args).await;
    assert_eq!(code, 0, "status failed: {err}");
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn row<'a>(rows: &'a [Value], task: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["task"] == task)
}

#[tokio::test]
async fn a_task_whose_tag_was_removed_is_untagged_not_closed_and_tracked_again_when_it_is_back() {
    let w = World::start(SCENARIO, "2026-11-03T12:00:00Z").await;
    run_once(&w, "2026-11-03T12:00:00Z").await;
    let posted = w.comments(607).len();
    assert_eq!(posted, 1, "a checklist while tagged");
    assert_eq!(
        row(&status(&w, "2026-11-03T12:00:00Z", false).await, "T607").unwrap()["verdict"],
        "blocked"
    );

    // The tag is removed on 11-04 while the task stays open.
    w.set_now("2026-11-05T12:00:00Z");
    run_once(&w, "2026-11-05T12:00:00Z").await;
    assert_eq!(
        w.comments(607).len(),
        posted,
        "nothing posted on an untagged task"
    );
    let (code, v) = check(&w, "2026-11-05T12:00:00Z", "T607").await;
    assert_eq!(code, 3);
    assert_eq!(v["verdict"], "untagged", "{v:#}");
    assert_eq!(v["checks"], serde_json::json!([]));
    let (_, text, _) = w.run_cli("2026-11-05T12:00:00Z", &["check", "T607"]).await;
    assert!(text.contains("UNTAGGED"), "{text}");
    // Not tracked: not among the open requests; listed as untagged (not closed) with --all.
    assert!(row(&status(&w, "2026-11-05T12:00:00Z", false).await, "T607").is_none());
    let all = status(&w, "2026-11-05T12:00:00Z", true).await;
    assert_eq!(row(&all, "T607").unwrap()["verdict"], "untagged");
    let (_, table, _) = w
        .run_cli("2026-11-05T12:00:00Z", &["status", "--all"])
        .await;
    let line = table.lines().find(|l| l.contains("T607")).unwrap();
    assert!(
        line.contains("untagged") && !line.contains("closed"),
        "{line}"
    );
    // Tracking stops: later cycles do not read it again.
    w.set_now("2026-11-05T18:00:00Z");
    run_once(&w, "2026-11-05T18:00:00Z").await;
    let (_, log, _) = w
        .run_cli("2026-11-05T18:00:00Z", &["log", "T607", "--json"])
        .await;
    let log: Value = serde_json::from_str(&log).unwrap();
    let verdicts: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["new_verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["blocked", "untagged"]);

    // Tagged again on 11-06: tracked and checked again.
    w.set_now("2026-11-06T12:00:00Z");
    run_once(&w, "2026-11-06T12:00:00Z").await;
    let open = status(&w, "2026-11-06T12:00:00Z", false).await;
    assert_eq!(row(&open, "T607").unwrap()["verdict"], "blocked");
    let (_, v) = check(&w, "2026-11-06T12:00:00Z", "T607").await;
    assert_eq!(v["verdict"], "blocked");
}

#[tokio::test]
async fn now_hides_everything_written_after_it() {
    // By 11-06 13:00 the approval was edited into a withdrawal, the key and the groups
    // changed and someone commented; on 11-07 the tag was removed and the task resolved.
    let w = World::start(SCENARIO, "2026-11-06T13:00:00Z").await;
    let (_, today) = check(&w, "2026-11-06T13:00:00Z", "T608").await;
    assert_eq!(today["verdict"], "blocked", "{today:#}");
    // `run` sees the past too: as of 11-05 12:00 it would post a READY checklist.
    let (code, out, err) = w
        .run_cli("2026-11-05T12:00:00Z", &["run", "--once", "--dry-run"])
        .await;
    assert_eq!(code, 0, "{err}");
    let t608 = out
        .split("--- ")
        .find(|s| s.starts_with("T608: would post a checklist"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(t608.contains("READY"), "{t608}");
    assert!(w.comments(608).is_empty(), "a dry run posts nothing");

    let w = World::start(SCENARIO, "2026-11-08T12:00:00Z").await;
    let (_, today) = check(&w, "2026-11-08T12:00:00Z", "T608").await;
    assert_eq!(today["verdict"], "closed", "{today:#}");

    // As of 11-05 12:00 none of that happened: ready, with the first key.
    let (code, v) = check(&w, "2026-11-05T12:00:00Z", "T608").await;
    assert_eq!(v["verdict"], "ready", "{v:#}");
    assert_eq!(code, 0);
    assert_eq!(
        v["request"]["groups"],
        serde_json::json!(["analytics-privatedata-users"])
    );
    assert!(v["request"]["key"]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
    assert_eq!(find(&v, "manager-approval")["status"], "pass");
    assert!(find(&v, "manager-approval")["message"]
        .as_str()
        .unwrap()
        .contains("approved by @mboss"));

    // The key of the later description is another key.
    let (_, later) = check(&w, "2026-11-06T11:30:00Z", "T608").await;
    assert_ne!(
        later["request"]["key"]["fingerprint"],
        v["request"]["key"]["fingerprint"]
    );
    assert_eq!(later["verdict"], "blocked", "{later:#}");
    assert!(later["request"]["groups"]
        .as_array()
        .unwrap()
        .contains(&Value::from("deploy-service")));

    // Earlier still, before the lead's approval (11-02 11:00): that comment is not seen.
    let (_, early) = check(&w, "2026-11-02T10:30:00Z", "T608").await;
    let lead = find(&early, "lead-approval:analytics-privatedata-users");
    assert_eq!(lead["status"], "fail", "{lead:#}");
    assert!(lead["message"]
        .as_str()
        .unwrap()
        .contains("no approval from a project lead"));

    // `explain` sees the same past: the later comment is not among the comments.
    let (code, text, err) = w
        .run_cli("2026-11-05T12:00:00Z", &["explain", "T608"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(text.starts_with("T608: READY"), "{text}");

    // A task that did not exist yet at --now is an error, not a checklist.
    let (code, _, err) = w.run_cli("2026-11-01T12:00:00Z", &["check", "T608"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("T608 did not exist yet at 2026-11-01T12:00:00Z"),
        "{err}"
    );
}
