//! End-to-end tests of the bot: the real client and poller against the simulator over real
//! HTTP, a real SQLite file per test, and the real binary for the command line.

mod common;

use common::{run_bin_async, World};

const REQUESTS_PLAIN: [u64; 1] = [201];

#[tokio::test]
async fn first_poll_posts_one_checklist_per_request_and_an_idle_poll_costs_one_call() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.bot().await;
    let r = bot.cycle().await.unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    for t in REQUESTS_PLAIN {
        assert_eq!(w.comments(t).len(), 1, "one checklist on T{t}");
    }
    assert!(
        w.comments(202).is_empty(),
        "a task outside the project is never touched"
    );
    // The next cycle sees the bot's own comment (dateModified moved), reads it back, posts nothing.
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1);
    // The one comment is the first poll's checklist, by the bot at the first poll's time.
    insta::assert_snapshot!(w.thread(201), @"
    --- comment 1 by accessbot at 2026-11-03T09:30:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 09:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    // From then on, an idle poll is exactly one Conduit call.
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    assert_eq!(r.effects.len(), 0);
    let stats = w.sim.stats();
    assert_eq!(stats.total, 1, "idle poll calls: {:?}", stats.calls);
    assert_eq!(stats.calls.get("maniphest.search"), Some(&1));
}

#[tokio::test]
async fn a_request_moves_from_blocked_to_waiting_to_ready_as_time_passes() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    let first = w.comments(201);
    assert!(first[0].contains("BLOCKED"), "{}", first[0]);
    assert!(
        first[0].contains("`lead-approval:analytics-privatedata-users`"),
        "{}",
        first[0]
    );
    insta::assert_snapshot!(w.posted(201)[0], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 09:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // The project lead approves (a quoted "Approved." plus their own +1) on 11-04.
    w.set_now("2026-11-04T12:00:00Z");
    bot.cycle().await.unwrap();
    let texts = w.comments(201);
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts[1].contains("WAITING"), "{}", texts[1]);
    insta::assert_snapshot!(w.posted(201)[1], @"
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-06 08:30 UTC.**
    //Since the last checklist//: now passing: manager-approval, lead-approval:analytics-privatedata-users · still needed: waiting-period

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

    // Nothing changes on the task; time alone ends the waiting period (tagged 11-03 08:30).
    w.set_now("2026-11-06T09:00:00Z");
    bot.cycle().await.unwrap();
    let texts = w.comments(201);
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert!(texts[2].contains("READY"), "{}", texts[2]);
    insta::assert_snapshot!(w.posted(201)[2], @"
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: waiting-period

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
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-06 08:30 UTC

    //Evaluated 2026-11-06 09:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    let row = w
        .store()
        .await
        .task(accessbot::ids::TaskId::new(201))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.verdict, accessbot::policy::Verdict::Ready);
    let audit = w
        .store()
        .await
        .audit_log(accessbot::ids::TaskId::new(201))
        .await
        .unwrap();
    let verdicts: Vec<&str> = audit.iter().map(|a| a.new_verdict.as_str()).collect();
    assert_eq!(verdicts, ["blocked", "waiting", "ready"]);

    // Still ready later: nothing more is posted, and the three checklists above are unchanged.
    let three = w.posted(201);
    w.set_now("2026-11-06T12:00:00Z");
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 3);
    assert_eq!(w.posted(201), three);
}

#[tokio::test]
async fn a_restart_with_lost_state_posts_no_duplicate() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    w.bot().await.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1);
    // A crash between posting and recording is the same as losing the database: the bot must
    // read its own comment back from the task before posting.
    std::fs::remove_file(w.db()).unwrap();
    let _ = std::fs::remove_file(w.db().with_extension("db-wal"));
    let _ = std::fs::remove_file(w.db().with_extension("db-shm"));
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(201).len(), 1, "no duplicate after a restart");
    // The one comment is the checklist of the bot before the restart (09:30), BLOCKED.
    insta::assert_snapshot!(w.thread(201), @"
    --- comment 1 by accessbot at 2026-11-03T09:30:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 09:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn dry_run_writes_nothing_on_phabricator() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.builder().dry_run(true).build().await.unwrap();
    let r = bot.cycle().await.unwrap();
    assert_eq!(r.effects.len(), 1);
    assert!(w.comments(201).is_empty());
    assert_eq!(w.sim.stats().calls.get("maniphest.edit"), None);
}

#[tokio::test]
async fn the_binary_runs_once_checks_and_shows_status() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let run = w.cli(&["run", "--once"]).await;
    assert_eq!(run.0, 0, "run failed: {}", run.2);
    assert!(!run.2.contains(&w.token), "the token must never be printed");
    assert_eq!(w.comments(201).len(), 1);

    let check = w.cli(&["check", "T201", "--json"]).await;
    assert_eq!(
        check.0, 3,
        "check of a blocked request exits 3: {}",
        check.2
    );
    let v: serde_json::Value = serde_json::from_str(&check.1).unwrap();
    assert_eq!(v["task"], "T201");
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["request"]["shell_user"], "cnguyen");
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids[..4],
        ["request-complete", "one-user", "subject", "known-groups"]
    );
    // Whom the request is for, and who filed it (design §10).
    assert_eq!(v["request"]["subject"], "cnguyen");
    assert_eq!(v["request"]["author"], "cnguyen");
    assert!(ids.contains(&"waiting-period"));
    assert_eq!(w.comments(201).len(), 1, "check writes nothing");
    // The one comment is the checklist `run --once` posted, BLOCKED like `check` says.
    insta::assert_snapshot!(w.thread(201), @"
    --- comment 1 by accessbot at 2026-11-03T09:30:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 09:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    let status = w.bin(&["status"]).token(None).output().await;
    assert_eq!(status.0, 0, "status failed: {}", status.2);
    assert!(
        status.1.contains("T201") && status.1.contains("blocked"),
        "{}",
        status.1
    );
    let status = w.bin(&["status", "--json"]).token(None).output().await;
    let v: serde_json::Value = serde_json::from_str(&status.1).unwrap();
    assert_eq!(v[0]["task"], "T201");
    assert!(
        v[0]["tagged_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-03T08:30:00"),
        "{v}"
    );
    assert!(
        v[0]["age_days"].is_number() && v[0]["checks"].is_array(),
        "{v}"
    );
}

#[tokio::test]
async fn a_wrong_token_says_so_in_one_line_without_the_token() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bad = "api-thisisnotavalidtoken00000000";
    let (code, out, err) = w
        .bin(&["run", "--once"])
        .token(Some(bad))
        .env("RUST_LOG", "trace")
        .output()
        .await;
    assert_eq!(code, 1);
    assert!(
        !err.contains(bad) && !out.contains(bad),
        "token leaked: {err}"
    );
    assert!(
        err.contains("ERR-INVALID-AUTH") || err.to_lowercase().contains("token"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_url_and_a_second_writer_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = common::root().join("rules");
    let db = dir.path().join("a.db");
    let args = [
        "--phab-url",
        "http://127.0.0.1:9",
        "--rules",
        rules.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "run",
        "--once",
    ];
    let env = [("ACCESSBOT_TOKEN", "api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa")];
    let lock = accessbot::store::WriterLock::acquire(&db).unwrap();
    let (code, _, err) = run_bin_async(&args, &env, dir.path()).await;
    assert_eq!(code, 1);
    assert!(err.contains("already running"), "{err}");
    drop(lock);
    let (code, _, err) = run_bin_async(&args, &env, dir.path()).await;
    assert_eq!(code, 1);
    assert!(err.contains("127.0.0.1:9"), "names the address: {err}");
    assert!(!err.contains("api-aaaa"), "{err}");
}

#[tokio::test]
async fn an_unknown_project_is_a_clear_error() {
    let w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let rules = common::rules_dir(|p| {
        p.replace(
            "project = \"SRE-Access-Requests\"",
            "project = \"SRE-Acess-Requests\"",
        )
    });
    let (code, _, err) = w.bin(&["run", "--once"]).rules(rules.path()).output().await;
    assert_eq!(code, 1);
    assert!(
        err.contains("\"SRE-Acess-Requests\"") && err.contains("does not exist"),
        "{err}"
    );
    assert!(w.comments(201).is_empty());
}

#[tokio::test]
async fn the_reconcile_cycle_sees_an_edited_approval_that_the_poll_cannot() {
    let mut w = World::start("plain.toml", "2026-11-03T09:30:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert!(
        w.comments(201)[0].contains("predates the group change"),
        "{}",
        w.comments(201)[0]
    );
    insta::assert_snapshot!(w.posted(201)[0], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet (approval by @[zwsp]mboss predates the group change on 2026-11-03); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 09:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    let first = w.posted(201);

    // At 16:00 the manager edits the approval; an edit does not move the task's dateModified.
    w.set_now("2026-11-03T16:30:00Z");
    let default_rules = w.rules.clone();
    let no_reconcile =
        common::rules_dir(|p| p.replace("reconcile_minutes = 30", "reconcile_minutes = 100000"));
    w.rules = std::sync::Arc::new(accessbot::rules::Rules::load(no_reconcile.path()).unwrap());
    w.bot().await.cycle().await.unwrap();
    assert_eq!(
        w.comments(201).len(),
        1,
        "the modifiedStart poll cannot see an edited comment"
    );
    assert_eq!(w.posted(201), first, "the 09:30 checklist above, unchanged");

    // The reconcile cycle (every 30 minutes by default) re-reads open requests and sees it.
    w.rules = default_rules;
    let r = w.bot().await.cycle().await.unwrap();
    assert_eq!(r.due, 1);
    let texts = w.comments(201);
    assert_eq!(texts.len(), 2);
    assert!(texts[1].contains("[x] `manager-approval`"), "{}", texts[1]);
    insta::assert_snapshot!(w.posted(201)[1], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Since the last checklist//: now passing: manager-approval · still needed: lead-approval:analytics-privatedata-users, waiting-period

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
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-06 08:30 UTC

    //Evaluated 2026-11-03 16:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

/// `check --json` through the real binary on requests filed for someone else (design §10): the
/// object names the subject and the author, and the person-checks are the subject's.
#[tokio::test]
async fn check_judges_the_person_the_request_is_for() {
    let w = World::start(
        "forgery/i14-subject-2-named-by-field.toml",
        "2026-11-05T12:00:00Z",
    )
    .await;
    let check = |task: &'static str| {
        let run = w.bin(&["check", task, "--json"]).output();
        async move {
            let (code, out, err) = run.await;
            let v: serde_json::Value = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("check {task}: {e}: {out} {err}"));
            // 0 when ready, 3 when not (design §12).
            let want = if v["verdict"] == "ready" { 0 } else { 3 };
            assert_eq!(code, want, "check {task}: {err}");
            v
        }
    };
    let status = |v: &serde_json::Value, id: &str| -> (String, String) {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {v}"));
        (
            c["status"].as_str().unwrap().to_string(),
            c["message"].as_str().unwrap().to_string(),
        )
    };

    // For @cwong (named by the field), filed by @asmith: @cwong's L3 and NDA are missing.
    let v = check("T821").await;
    assert_eq!(v["request"]["subject"], "cwong");
    assert_eq!(v["request"]["author"], "asmith");
    assert_eq!(v["verdict"], "blocked");
    let (s, m) = status(&v, "subject");
    assert_eq!(s, "pass");
    assert!(
        m.contains("for @cwong (named in the request), filed by @asmith"),
        "{m}"
    );
    assert_eq!(status(&v, "l3").0, "fail");
    assert!(status(&v, "nda").1.contains("@cwong is neither staff"));

    // The control, for @dlee: ready.
    let v = check("T822").await;
    assert_eq!(v["request"]["subject"], "dlee");
    assert_eq!(v["verdict"], "ready");

    // Named accounts that cannot be the subject: none, disabled, a bot. Never a pass.
    for (task, why) in [
        ("T823", "there is no such account"),
        ("T824", "disabled"),
        ("T825", "bot account"),
        (
            "T826",
            "names @cw?ng (the name holds a look-alike character: U+043E, like \"o\") as its Phabricator account, but there is no such account",
        ),
    ] {
        let v = check(task).await;
        assert_eq!(v["request"]["subject"], serde_json::Value::Null, "{task}");
        assert_eq!(v["request"]["author"], "asmith", "{task}");
        let (s, m) = status(&v, "subject");
        assert_eq!(s, "fail", "{task}: {m}");
        assert!(m.contains(why), "{task}: {m}");
        for person in ["l3", "nda", "expiry", "key-channel"] {
            assert_eq!(status(&v, person).0, "pending", "{task} {person}");
        }
    }
}
