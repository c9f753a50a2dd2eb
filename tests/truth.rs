//! What the ticket shows must be true (issue 15 item 6), through the real binary against the
//! simulator (`tests/scenarios/tell.toml`): an emailed key never replaces the key that counts;
//! an SRE meeting decision posted before the meeting says so while the request waits for the
//! meeting; `--now` hides everything written after it; a withdrawn approval or confirmation
//! says "withdrawn by @x"; a task whose tag was removed is `untagged`, not `closed`. And
//! `explain` (issue 17): every check linked to its evidence, why each comment did not count,
//! `--json` with arrays.

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
    insta::assert_snapshot!(w.thread(607), @"
    --- comment 1 by accessbot at 2026-11-03T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]kpe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:7gSa1hklpEJHi9hVqPEWzAdgwt81Cr7neaFjoLSNKL0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]kpe in the task description
    - [x] `l3`: @[zwsp]kpe signed `L3`
    - [x] `nda`: @[zwsp]kpe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-03 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    let (code, v) = check(&w, "2026-11-05T12:00:00Z", "T607").await;
    assert_eq!(code, 3);
    assert_eq!(v["verdict"], "untagged", "{v:#}");
    assert_eq!(v["checks"], serde_json::json!([]));
    let (_, text, _) = w.run_cli("2026-11-05T12:00:00Z", &["check", "T607"]).await;
    assert!(text.contains("UNTAGGED"), "{text}");
    // Not checked, so its comments are not judged either.
    let (_, text, _) = w
        .run_cli("2026-11-05T12:00:00Z", &["explain", "T607"])
        .await;
    assert!(text.starts_with("T607: UNTAGGED"), "{text}");
    assert!(!text.contains("comments:"), "{text}");
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
    // The approval edited into a refusal is a withdrawal, said as one.
    let manager = find(&today, "manager-approval")["message"]
        .as_str()
        .unwrap();
    assert!(
        manager.starts_with("approval withdrawn by @mboss on 2026-11-06 (T608#"),
        "{manager}"
    );
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
    // The comment of 11-06 12:00 is seen now, and not as of 11-05 (below).
    let (_, text, _) = w
        .run_cli("2026-11-06T13:00:00Z", &["explain", "T608"])
        .await;
    assert!(text.contains("@bystander"), "{text}");

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
    assert!(!text.contains("@bystander"), "{text}");

    // A task that did not exist yet at --now is an error, not a checklist.
    let (code, _, err) = w.run_cli("2026-11-01T12:00:00Z", &["check", "T608"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("T608 did not exist yet at 2026-11-01T12:00:00Z"),
        "{err}"
    );
}

#[tokio::test]
async fn an_emailed_key_never_replaces_the_key_that_counts() {
    let w = World::start(SCENARIO, "2026-11-05T12:00:00Z").await;
    let now = "2026-11-05T12:00:00Z";
    // As of 11-03, before the email, the description's key is judged and the request ready.
    let (_, before) = check(&w, "2026-11-03T12:00:00Z", "T601").await;
    let described = before["request"]["key"]["fingerprint"].clone();
    assert_eq!(before["request"]["key"]["source"], "description");
    // After the emailed key of 11-04: still the description's key in `request.key`, `ssh-key`
    // and `key-fresh`; not ready, and `key-channel` says which key is judged and why.
    let (code, v) = check(&w, now, "T601").await;
    assert_eq!(code, 3);
    assert_eq!(v["verdict"], "blocked", "{v:#}");
    assert_eq!(v["request"]["key"]["source"], "description");
    assert_eq!(v["request"]["key"]["fingerprint"], described);
    let fp = described.as_str().unwrap();
    assert!(find(&v, "ssh-key")["message"]
        .as_str()
        .unwrap()
        .contains(fp));
    assert_eq!(find(&v, "key-fresh")["status"], "pass");
    let channel = find(&v, "key-channel");
    assert_eq!(channel["status"], "fail");
    assert_eq!(channel["who"], "requester");
    let msg = channel["message"].as_str().unwrap();
    assert!(
        msg.starts_with("@ewu sent another key by email on 2026-11-04 (T601#")
            && msg.contains(
                "which was not taken (the key judged is the one in the task description)"
            ),
        "{msg}"
    );
    // The approvals are not stale: the key that counts did not change.
    assert_eq!(find(&v, "manager-approval")["status"], "pass");

    // A key posted by someone else (the manager, in a web comment) is not taken either, and
    // the request stays ready on the subject's own key.
    let (code, v) = check(&w, now, "T602").await;
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ready")), "{v:#}");
    assert_eq!(v["request"]["key"]["source"], "description");
    assert!(find(&v, "ssh-key")["message"]
        .as_str()
        .unwrap()
        .contains(v["request"]["key"]["fingerprint"].as_str().unwrap()));
}

#[tokio::test]
async fn an_sre_decision_before_the_meeting_is_explained_while_on_the_agenda() {
    let w = World::start(SCENARIO, "2026-11-05T12:00:00Z").await;
    let (_, v) = check(&w, "2026-11-05T12:00:00Z", "T603").await;
    assert_eq!(v["verdict"], "waiting", "{v:#}");
    let review = find(&v, "sudo-review");
    assert_eq!(review["status"], "pending");
    let msg = review["message"].as_str().unwrap();
    assert!(
        msg.starts_with("on the agenda of the SRE meeting of 2026-11-16 (the SRE meeting decision of @sre-kim on 2026-11-04 (T603#")
            && msg.contains("was posted before the meeting that reviews the request, on 2026-11-16, and does not count)"),
        "{msg}"
    );
    assert_eq!(review["evidence"].as_array().unwrap().len(), 1);
    // The bot schedules it; on the day of the meeting, while the decision is awaited, the
    // line still says so.
    run_once(&w, "2026-11-05T12:00:00Z").await;
    let (_, v) = check(&w, "2026-11-16T15:30:00Z", "T603").await;
    let msg = find(&v, "sudo-review")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(
            "waiting for the decision (the SRE meeting decision of @sre-kim on 2026-11-04"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn a_withdrawn_approval_or_confirmation_says_by_whom() {
    let w = World::start(SCENARIO, "2026-11-18T12:00:00Z").await;
    let now = "2026-11-18T12:00:00Z";
    let said = |v: &Value, id: &str| find(v, id)["message"].as_str().unwrap().to_string();

    let (_, v) = check(&w, now, "T604").await;
    let manager = said(&v, "manager-approval");
    assert!(
        manager.starts_with("approval withdrawn by @mboss on 2026-11-03 (T604#"),
        "{manager}"
    );
    let lead = said(&v, "lead-approval:analytics-privatedata-users");
    assert!(
        lead.starts_with("approval withdrawn by @aotto on 2026-11-03 (T604#"),
        "{lead}"
    );
    assert!(!manager.contains("no approval") && !lead.contains("no approval"));

    let (_, v) = check(&w, now, "T605").await;
    let nda = said(&v, "nda");
    assert_eq!(find(&v, "nda")["status"], "fail");
    assert!(
        nda.contains("(confirmation withdrawn by @legalteam on 2026-11-04 (T605#"),
        "{nda}"
    );

    let (_, v) = check(&w, now, "T606").await;
    assert_ne!(v["verdict"], "ready", "{v:#}");
    let review = said(&v, "sudo-review");
    assert!(
        review.contains("SRE meeting approval withdrawn by @sre-kim on 2026-11-17 (T606#"),
        "{review}"
    );
}

/// `explain` as printed, with the simulator's address replaced (it changes per run).
async fn explain(w: &World, now: &str, task: &str) -> String {
    let (code, out, err) = w.run_cli(now, &["explain", task]).await;
    assert_eq!(code, 0, "explain {task} failed: {err}");
    out.replace(w.sim.url().as_str(), "https://phab")
}

#[tokio::test]
async fn explain_links_every_check_to_its_evidence_and_says_why_comments_did_not_count() {
    let w = World::start(SCENARIO, "2026-11-05T12:00:00Z").await;
    // A ready task: every check has its evidence.
    let ready = explain(&w, "2026-11-05T12:00:00Z", "T602").await;
    assert!(!ready.contains("evidence: none"), "{ready}");
    insta::assert_snapshot!("explain_ready", ready);
    // A blocked task: the failing check names the emailed key, and the comments section says
    // why that comment did not count.
    let blocked = explain(&w, "2026-11-05T12:00:00Z", "T601").await;
    insta::assert_snapshot!("explain_blocked", blocked);
    // Withdrawn, corrected and early comments each say why.
    let t604 = explain(&w, "2026-11-05T12:00:00Z", "T604").await;
    assert!(
        t604.contains(
            "@mboss 2026-11-03 (web): does not count: it withdraws or denies an approval"
        ),
        "{t604}"
    );
    assert!(
        t604.contains(
            "@mboss 2026-11-02 (web): does not count: withdrawn by @mboss on 2026-11-03 (T604#"
        ),
        "{t604}"
    );
    w.set_now("2026-11-06T13:00:00Z");
    let t608 = explain(&w, "2026-11-06T13:00:00Z", "T608").await;
    assert!(
        t608.contains(
            "@aotto 2026-11-02 (web): does not count: it predates the key change on 2026-11-06"
        ),
        "{t608}"
    );
    w.set_now("2026-11-18T12:00:00Z");
    let t606 = explain(&w, "2026-11-18T12:00:00Z", "T606").await;
    assert!(
        t606.contains(
            "(web): does not count (sudo-review): it withdraws or denies an SRE meeting approval"
        ),
        "{t606}"
    );
}

#[tokio::test]
async fn explain_json_has_evidence_objects_and_comments_as_arrays() {
    let w = World::start(SCENARIO, "2026-11-05T12:00:00Z").await;
    let (code, out, err) = w
        .run_cli("2026-11-05T12:00:00Z", &["explain", "T601", "--json"])
        .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let base = w.sim.url();
    assert_eq!(v["task"], "T601");
    assert_eq!(v["verdict"], "blocked");
    assert!(v["request"]["groups"].is_array());
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() >= 10);
    for c in checks {
        let evidence = c["evidence"].as_array().unwrap_or_else(|| panic!("{c:#}"));
        if c["status"] == "pass" {
            assert!(
                !evidence.is_empty(),
                "a passing check without evidence: {c:#}"
            );
        }
        for e in evidence {
            let kind = e["kind"].as_str().unwrap();
            assert!(
                [
                    "comment",
                    "transaction",
                    "task",
                    "paste",
                    "signature",
                    "membership"
                ]
                .contains(&kind),
                "{e:#}"
            );
            assert!(
                e["link"].as_str().unwrap().starts_with(base.as_str()),
                "{e:#}"
            );
            assert!(e["what"].is_string());
        }
    }
    let kinds = |id: &str| -> Vec<String> {
        find(&v, id)["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kinds("l3"), ["signature"]);
    assert_eq!(kinds("nda"), ["membership"]);
    assert_eq!(kinds("manager-approval"), ["comment"]);
    assert_eq!(kinds("waiting-period"), ["transaction"]);
    assert_eq!(kinds("key-channel"), ["transaction", "comment"]);
    // Every comment, with arrays for the checks and a reason when it did not count.
    let comments = v["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3);
    let emailed = comments.iter().find(|c| c["channel"] == "email").unwrap();
    assert_eq!(emailed["counted"], false);
    assert_eq!(emailed["checks"], serde_json::json!(["key-channel"]));
    assert!(emailed["why_not"]
        .as_str()
        .unwrap()
        .contains("came by email"));
    assert!(emailed["link"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/T601#")));
    let counted: Vec<&Value> = comments.iter().filter(|c| c["counted"] == true).collect();
    assert_eq!(counted.len(), 2);
    assert!(counted.iter().all(|c| c["why_not"].is_null()));
    assert_eq!(
        counted[0]["checks"],
        serde_json::json!(["manager-approval"])
    );
}
