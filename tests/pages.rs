//! Task pages on a default (non-public) Phorge, through the real binary against the simulator
//! (`tests/scenarios/pages.toml`): approvals that only "Show Older Changes" shows are verified,
//! whichever account's session reads the page; a login page or an expired session is said
//! once, with the fix, at start-up and in `check`/`explain`, and every channel stays unknown
//! (approvals pending); the session cookie file's permissions are checked like the token's.

mod common;

use accessbot::sim::scenario::{ScenarioEvent, Via};
use accessbot::sim::{Scenario, SimOptions};
use common::{at, World};
use serde_json::Value;
use std::path::Path;

const NOW: &str = "2026-11-10T12:00:00Z";
const READER: &str = "phsid-pages-accessbot-web";
const CLINIC: &str = "phsid-pages-clinicduty";

/// The pages scenario with 105 Conduit comments after T401's approvals, as on the recorded
/// T12: both approvals are only behind "Show Older Changes".
fn scenario() -> Scenario {
    let mut sc = common::load_scenario("pages.toml");
    let t = sc.tasks.iter_mut().find(|t| t.id == 401).expect("T401");
    for i in 0..105 {
        let mut e = ScenarioEvent::comment(
            at("2026-11-02T12:00:00Z") + chrono::Duration::minutes(i),
            "sre-kim",
            format!("status note {i}"),
        );
        e.via = Some(Via::Conduit);
        t.events.push(e);
    }
    sc
}

/// Rules whose `session_cookie_file` is a file in `dir` holding `cookie` (mode 0600), or the
/// bundled rules when there is no cookie.
fn rules_with_cookie(dir: &Path, cookie: Option<&str>) -> tempfile::TempDir {
    let file = dir.join("phsid");
    if let Some(c) = cookie {
        std::fs::write(&file, format!("{c}\n")).unwrap();
        set_mode(&file, 0o600);
    }
    common::rules_dir(|p| match cookie {
        Some(_) => p.replace(
            "session_cookie_file = \"\"",
            &format!("session_cookie_file = {:?}", file.to_str().unwrap()),
        ),
        None => p,
    })
}

fn set_mode(file: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs the binary against the world's simulator with these rules: (code, stdout, stderr).
async fn bot(w: &World, rules: &Path, args: &[&str]) -> (i32, String, String) {
    let out = w
        .bin(args)
        .rules(rules)
        .now(NOW)
        .env("RUST_LOG", "info")
        .output()
        .await;
    assert!(!out.2.contains("panicked"), "{}", out.2);
    out
}

/// The status of check `id` in a `check --json` object.
fn status(v: &Value, id: &str) -> String {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {v}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

const APPROVALS: [&str; 2] = [
    "manager-approval",
    "lead-approval:analytics-privatedata-users",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_behind_show_older_changes_are_verified_whoever_reads_the_page() {
    let w = World::start_scenario(scenario(), NOW, SimOptions::default()).await;
    // T401 needs the older part for its approvals; T402, read with the session of clinicduty
    // (who commented on it), too; read with the reader's session, it does not.
    for (task, cookie, older) in [
        ("T401", READER, 1),
        ("T401", CLINIC, 1),
        ("T402", CLINIC, 1),
        ("T402", READER, 0),
    ] {
        let rules = rules_with_cookie(w.dir.path(), Some(cookie));
        w.sim.reset_stats();
        let (_, out, err) = bot(&w, rules.path(), &["check", task, "--json"]).await;
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        for id in APPROVALS {
            assert_eq!(status(&v, id), "pass", "{task} with {cookie}: {id}\n{out}");
        }
        assert_eq!(v["verdict"], "ready", "{task} with {cookie}: {out}");
        let s = w.sim.stats();
        assert_eq!(s.calls.get("task.page"), Some(&1), "{task}: {:?}", s.calls);
        assert_eq!(
            s.calls.get("task.page.older").copied().unwrap_or(0),
            older,
            "{task} with {cookie}: {:?}",
            s.calls
        );
        assert!(!err.contains("CANNOT BE READ"), "{err}");
        assert!(
            !err.contains(cookie) && !out.contains(cookie),
            "the cookie leaked"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_page_or_an_expired_session_is_said_with_the_fix_and_nothing_is_verified() {
    let w = World::start_scenario(scenario(), NOW, SimOptions::default()).await;
    let anonymous = rules_with_cookie(w.dir.path(), None);
    let (_, out, err) = bot(&w, anonymous.path(), &["check", "T401"]).await;
    let warning = out
        .lines()
        .find(|l| l.starts_with("warning: TASK PAGES CANNOT BE READ"))
        .unwrap_or_else(|| panic!("no warning in check's output:\n{out}"));
    for needed in [
        "login page",
        "session_cookie_file",
        "phsid",
        "read-only account",
    ] {
        assert!(warning.contains(needed), "{needed}: {warning}");
    }
    assert!(out.contains("channel could not be verified"), "{out}");
    assert!(!out.contains("READY"), "{out}");
    // Said once, loudly, in the log too.
    let loud: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("CANNOT BE READ"))
        .collect();
    assert_eq!(loud.len(), 1, "{err}");
    assert!(loud[0].contains("ERROR"), "{err}");

    // The JSON object is unchanged; the approvals are pending, never passed.
    let (_, out, err) = bot(&w, anonymous.path(), &["check", "T401", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    for id in APPROVALS {
        assert_eq!(status(&v, id), "pending", "{id}: {out}");
    }
    assert_ne!(v["verdict"], "ready");
    assert!(err.contains("TASK PAGES CANNOT BE READ"), "{err}");

    // explain says it too.
    let (_, out, _) = bot(&w, anonymous.path(), &["explain", "T402"]).await;
    assert!(out.contains("warning: TASK PAGES CANNOT BE READ"), "{out}");

    // An expired cookie: Phorge clears the session; the message names the file.
    let expired = rules_with_cookie(w.dir.path(), Some("phsid-expired"));
    let (_, out, _) = bot(&w, expired.path(), &["check", "T401"]).await;
    let warning = out
        .lines()
        .find(|l| l.starts_with("warning: TASK PAGES CANNOT BE READ"))
        .unwrap_or_else(|| panic!("no warning:\n{out}"));
    assert!(warning.contains("has expired or is invalid"), "{warning}");
    assert!(
        warning.contains(w.dir.path().join("phsid").to_str().unwrap()),
        "{warning}"
    );
    assert!(out.contains("channel could not be verified"), "{out}");
    assert!(
        !warning.contains("phsid-expired"),
        "the cookie is never quoted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_says_it_once_at_start_up_and_posts_no_approval_it_cannot_verify() {
    let w = World::start_scenario(scenario(), NOW, SimOptions::default()).await;
    let anonymous = rules_with_cookie(w.dir.path(), None);
    let (code, _, err) = bot(&w, anonymous.path(), &["run", "--once"]).await;
    assert_eq!(code, 0, "{err}");
    // Both tasks needed their page; the start-up probe said it first, and only once.
    let loud: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("CANNOT BE READ"))
        .collect();
    assert_eq!(loud.len(), 1, "{err}");
    let probe = err.find("CANNOT BE READ").unwrap();
    let first_cycle = err.find("cycle done").expect("a cycle");
    assert!(
        probe < first_cycle,
        "said at start-up, before the cycle:\n{err}"
    );
    let checklists = |task: u64| -> Vec<String> {
        w.comments(task)
            .into_iter()
            .filter(|c| accessbot::report::is_checklist(c))
            .collect()
    };
    for task in [401, 402] {
        let posted = checklists(task);
        assert_eq!(posted.len(), 1, "T{task}: {posted:?}");
        assert!(!posted[0].contains("READY"), "T{task}: {}", posted[0]);
        assert!(
            posted[0].contains("could not be verified"),
            "T{task}: {}",
            posted[0]
        );
        // Clinic duty must verify the approvals; the lead, who already approved, is not
        // asked to act again.
        assert!(
            posted[0].contains("\n//Needed now//: @clinicduty (manager-approval, lead-approval:analytics-privatedata-users)\n"),
            "T{task}: {}",
            posted[0]
        );
    }

    // With the reader's session the next run verifies both and says pages can be read.
    let reader = rules_with_cookie(w.dir.path(), Some(READER));
    let (code, _, err) = bot(&w, reader.path(), &["run", "--once"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("task pages can be read"), "{err}");
    assert!(!err.contains("CANNOT BE READ"), "{err}");
    for task in [401, 402] {
        let posted = checklists(task);
        assert_eq!(posted.len(), 2, "T{task}: {posted:?}");
        assert!(posted[1].contains("READY"), "T{task}: {posted:?}");
    }
    insta::assert_snapshot!(w.thread(401), @"
    --- comment 1 by accessbot at 2026-11-10T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for clinic-duty.**
    //Needed now//: @clinicduty (manager-approval, lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//clinic-duty//): approval by @[zwsp]mboss: channel could not be verified
    - [ ] `lead-approval:analytics-privatedata-users` (//clinic-duty//): approval by @[zwsp]aotto: channel could not be verified
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC

    //Evaluated 2026-11-10 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-10T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: manager-approval, lead-approval:analytics-privatedata-users

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
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC

    //Evaluated 2026-11-10 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(402), @"
    --- comment 1 by accessbot at 2026-11-10T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for clinic-duty.**
    //Needed now//: @clinicduty (manager-approval, lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [ ] `manager-approval` (//clinic-duty//): approval by @[zwsp]mboss: channel could not be verified
    - [ ] `lead-approval:analytics-privatedata-users` (//clinic-duty//): approval by @[zwsp]aotto: channel could not be verified
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC

    //Evaluated 2026-11-10 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-10T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: manager-approval, lead-approval:analytics-privatedata-users

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:00 UTC

    //Evaluated 2026-11-10 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_file_readable_by_others_is_warned_about() {
    let w = World::start_scenario(scenario(), NOW, SimOptions::default()).await;
    let rules = rules_with_cookie(w.dir.path(), Some(READER));
    let file = w.dir.path().join("phsid");
    for (mode, warns) in [(0o644, true), (0o640, true), (0o600, false)] {
        set_mode(&file, mode);
        let (_, out, err) = bot(&w, rules.path(), &["check", "T402"]).await;
        assert!(out.contains("READY"), "{mode:o}: {out}\n{err}");
        assert_eq!(
            err.contains("the session cookie file") && err.contains("readable by group or others"),
            warns,
            "mode {mode:o}: {err}"
        );
        assert!(!err.contains(READER) && !out.contains(READER));
    }
    // An empty cookie file is an error, not an anonymous fetch.
    std::fs::write(&file, "\n").unwrap();
    let (code, _, err) = bot(&w, rules.path(), &["check", "T402"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("is empty"), "{err}");
}
