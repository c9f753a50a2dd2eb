//! The sudo review's life and the views built from the database: a scenario walked through its
//! days against the simulator, the posted comments, the status table and the agenda in every
//! format as snapshots, and the demo end to end.

mod common;

use accessbot::ids::TaskId;
use accessbot::policy::{Verdict, Who};
use accessbot::report;
use accessbot::report::AgendaFormat;
use accessbot::view::Decision;
use common::{at, World};

async fn verdict(w: &World, id: u64) -> Verdict {
    w.store()
        .await
        .task(TaskId::new(id))
        .await
        .unwrap()
        .unwrap()
        .verdict
}

#[tokio::test]
async fn a_sudo_request_is_scheduled_reviewed_and_decided() {
    let w = World::start("sudo.toml", "2026-11-03T14:00:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    // Self-approval never counts: the project lead is still missing.
    assert_eq!(verdict(&w, 301).await, Verdict::Blocked);
    let first = w.comments(301);
    insta::assert_snapshot!(w.normalise(&first[0]), @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes

    //Evaluated 2026-11-03 14:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // Wednesday: everything else passes, so the review is put on the next meeting's agenda.
    w.set_now("2026-11-04T12:00:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 301).await, Verdict::Waiting);
    let row = w
        .store()
        .await
        .task(TaskId::new(301))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.meeting.map(|m| m.to_string()).as_deref(),
        Some("2026-11-16")
    );
    let last = w.comments(301).last().cloned().unwrap();
    assert!(
        last.contains("on the agenda of the SRE meeting of 2026-11-16"),
        "{last}"
    );

    // The views, read from the database only.
    let now = at("2026-11-04T12:00:00Z");
    let rules = common::rules();
    let mut rows = w.store().await.tasks(true).await.unwrap();
    report::sort_for_status(&mut rows);
    insta::assert_snapshot!("status_table", report::status_table(&rows, now, None));
    let meeting = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let agenda = report::agenda(
        &rows,
        &report::approvals_by_task(&rows, meeting),
        meeting,
        &rules,
        "https://phabricator.example.org",
        now,
    );
    assert_eq!(agenda.reviews.len(), 2, "{agenda:?}");
    insta::assert_snapshot!(
        "agenda_markdown",
        report::render_agenda(&agenda, AgendaFormat::Markdown)
    );
    insta::assert_snapshot!(
        "agenda_wikitext",
        report::render_agenda(&agenda, AgendaFormat::Wikitext)
    );
    insta::assert_snapshot!(
        "agenda_json",
        report::render_agenda(&agenda, AgendaFormat::Json)
    );

    // After the meeting: T301 approved (ready), T302 declined (final).
    w.set_now("2026-11-16T17:00:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 301).await, Verdict::Ready);
    let r302 = w
        .store()
        .await
        .task(TaskId::new(302))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r302.verdict, Verdict::Declined, "{r302:?}");
    let row = w
        .store()
        .await
        .task(TaskId::new(301))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.decision, Some(Decision::Approved));
    assert_eq!(row.decided_by.as_deref(), Some("sre-kim"));
    let row = w
        .store()
        .await
        .task(TaskId::new(302))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.decision, Some(Decision::Declined));
    assert!(w.comments(302).last().unwrap().contains("DECLINED"));

    // Clinic duty then closes the declined task: the bot stops tracking it and posts nothing.
    let before = w.comments(302).len();
    w.set_now("2026-11-18T09:00:00Z");
    bot.cycle().await.unwrap();
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 302).await, Verdict::Closed);
    assert!(
        !w.store()
            .await
            .task(TaskId::new(302))
            .await
            .unwrap()
            .unwrap()
            .open
    );
    let posted = w.comments(302);
    assert_eq!(posted.len(), before);
    for pair in posted.windows(2) {
        assert_ne!(
            report::comment_hash(&pair[0]),
            report::comment_hash(&pair[1]),
            "no repeated checklist"
        );
    }
    insta::assert_snapshot!(w.thread(301), @"
    --- comment 1 by accessbot at 2026-11-03T14:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes

    //Evaluated 2026-11-03 14:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-04T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-16 15:00 UTC.**
    //Since the last checklist//: now passing: lead-approval:deploy-service · still needed: sudo-review

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [ ] `sudo-review`: on the agenda of the SRE meeting of 2026-11-16 (until 2026-11-16 15:00 UTC)

    //Evaluated 2026-11-04 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-16T17:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**
    //Since the last checklist//: now passing: sudo-review

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [x] `sudo-review`: approved at the SRE meeting (@[zwsp]sre-kim)

    //Evaluated 2026-11-16 17:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(302), @"
    --- comment 1 by accessbot at 2026-11-03T14:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Needed now//: @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes

    //Evaluated 2026-11-03 14:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-04T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-16 15:00 UTC.**
    //Since the last checklist//: now passing: lead-approval:deploy-service · still needed: sudo-review

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [ ] `sudo-review`: on the agenda of the SRE meeting of 2026-11-16 (until 2026-11-16 15:00 UTC)

    //Evaluated 2026-11-04 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-16T17:00:00+00:00 ---
    **accessbot checklist** for this access request: **DECLINED: the SRE meeting declined this sudo request.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [ ] `sudo-review`: declined at the SRE meeting (@[zwsp]sre-kim)

    //Evaluated 2026-11-16 17:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn an_undecided_review_rolls_over_to_the_next_meeting() {
    let w = World::start("rollover.toml", "2026-11-04T12:00:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    let row = w
        .store()
        .await
        .task(TaskId::new(301))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.meeting.map(|m| m.to_string()).as_deref(),
        Some("2026-11-16")
    );
    // The meeting of the 16th passes without a decision.
    w.set_now("2026-11-17T10:00:00Z");
    bot.cycle().await.unwrap();
    let row = w
        .store()
        .await
        .task(TaskId::new(301))
        .await
        .unwrap()
        .unwrap();
    // The SRE meeting must act: the request is blocked on `sre`, and says where it went.
    assert_eq!(row.verdict, Verdict::Blocked, "{}", row.report_json);
    assert_eq!(row.who, [Who::Sre]);
    assert_eq!(
        row.meeting.map(|m| m.to_string()).as_deref(),
        Some("2026-11-30"),
        "{}",
        row.report_json
    );
    assert_eq!(
        row.first_meeting.map(|m| m.to_string()).as_deref(),
        Some("2026-11-16")
    );
    let posted = w.comments(301);
    let last = posted
        .iter()
        .rev()
        .find(|c| report::is_checklist(c))
        .unwrap();
    assert!(
        last.contains("not decided at the SRE meeting of 2026-11-16: rolled over to 2026-11-30"),
        "{last}"
    );
    // Nothing visible happened since 2026-11-04 and someone must act: clinic duty is pinged once.
    let nudges: Vec<_> = posted.iter().filter(|c| !report::is_checklist(c)).collect();
    assert_eq!(nudges.len(), 1, "{nudges:?}");
    assert!(nudges[0].contains("@clinicduty"), "{}", nudges[0]);
    bot.cycle().await.unwrap();
    w.set_now("2026-11-18T10:00:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(
        w.comments(301).len(),
        posted.len(),
        "one nudge per stale stretch"
    );
    insta::assert_snapshot!(w.thread(301), @"
    --- comment 1 by accessbot at 2026-11-04T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **WAITING: nothing to do but wait until 2026-11-16 15:00 UTC.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [ ] `sudo-review`: on the agenda of the SRE meeting of 2026-11-16 (until 2026-11-16 15:00 UTC)

    //Evaluated 2026-11-04 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-17T10:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for sre.**
    //Needed now//: @sre-kim (sudo-review)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dpatel
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-rsa`, 4096 bits, `SHA256:EWgkh8xczifQb3wLnDMQ7DBhRnZxa1e3AgtNUgRGqlA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: in paste P[zwsp]31, written by @[zwsp]dpatel
    - [x] `l3`: @[zwsp]dpatel signed `L3`
    - [x] `nda`: @[zwsp]dpatel is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:deploy-service`: approved by @[zwsp]svc-lead
    - [ ] `sudo-review` (//sre//): not decided at the SRE meeting of 2026-11-16: rolled over to 2026-11-30 (until 2026-11-30 15:00 UTC)

    //Evaluated 2026-11-17 10:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 3 by accessbot at 2026-11-17T10:00:00+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-11-04 10:00 UTC (9 business days ago). Could clinic duty take a look?
    ");
    let rows = w.store().await.tasks(true).await.unwrap();
    let meeting = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let agenda = report::agenda(
        &rows,
        &report::approvals_by_task(&rows, meeting),
        meeting,
        &common::rules(),
        "https://phabricator.example.org",
        at("2026-11-17T10:00:00Z"),
    );
    assert!(agenda.reviews.is_empty(), "{agenda:?}");
    assert_eq!(agenda.rolled_over.len(), 1);
    assert_eq!(
        agenda.rolled_over[0].rolled_over_from.as_deref(),
        Some("2026-11-16")
    );
}

#[test]
fn the_demo_runs_end_to_end() {
    let out = std::process::Command::new(common::bin())
        .arg("demo")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "accessbot posted a new checklist on T101 (verdict blocked)",
        "accessbot posted a new checklist on T101 (verdict ready)",
        "on the agenda of the SRE meeting of 2026-11-16",
        "accessbot posted a new checklist on T102 (verdict ready)",
        "the RSA key has 2048 bits",
        "When nothing changes, a poll costs 1 Conduit call.",
        "T101  ready",
        "+  jdoe:",
        // A group privilege change on the agenda, and an LDAP-only request with its grant.
        "accessbot posted a new checklist on T104 (verdict waiting)",
        "| [T104](",
        "accessbot posted a new checklist on T105 (verdict ready)",
        "modify-ldap-group --addmembers=stew klaxon-users\n",
        // The life of access after ready: granted once data.yaml shows it, and reminded.
        "accessbot says T501 is granted:",
        "**accessbot granted**: @ipark is in analytics-privatedata-users in data.yaml",
        "accessbot says T502 is granted:",
        "accessbot posted the removal on T504:",
        "accessbot reminds the expiry contact on T501:",
        "**accessbot expiry reminder** for 2027-01-15: @mboss",
        "T501  ipark  analytics-privatedata-users  2027-01-15    14  mboss    2027-01-01  expiring",
    ] {
        assert!(
            stdout.contains(expected),
            "demo output lacks {expected:?}:\n{stdout}"
        );
    }
    assert!(
        String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "demo is quiet on stderr"
    );
}

/// The bundled rules with a ready column.
fn rules_with_ready_column(column: &str) -> std::sync::Arc<accessbot::rules::Rules> {
    let dir = common::rules_dir(|p| {
        p.replace(
            "ready_column = \"\"",
            &format!("ready_column = \"{column}\""),
        )
    });
    std::sync::Arc::new(accessbot::rules::Rules::load(dir.path()).unwrap())
}

#[tokio::test]
async fn a_request_that_stops_being_ready_says_so() {
    let mut w = World::start("unready.toml", "2026-11-06T09:00:00Z").await;
    w.rules = rules_with_ready_column(&accessbot::sim::state::column_phid(
        "SRE-Access-Requests",
        "Ready for SRE",
    ));
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 201).await, Verdict::Ready);
    w.set_now("2026-11-07T12:00:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 201).await, Verdict::Blocked);
    let last = w.comments(201).last().cloned().unwrap();
    assert!(
        last.contains("BLOCKED") && last.contains("marked ready to grant earlier and no longer is"),
        "{last}"
    );
    insta::assert_snapshot!(w.thread(201), @"
    --- comment 1 by accessbot at 2026-11-06T09:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

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
    --- comment 2 by accessbot at 2026-11-07T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager.**
    //Since the last checklist//: no longer passing: manager-approval
    //Needed now//: @mboss (manager-approval)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): approval withdrawn by @[zwsp]mboss on 2026-11-07 (T201#15); to approve again, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-06 08:30 UTC

    Note: this request was marked ready to grant earlier and no longer is; do not grant it until this checklist says READY again.

    //Evaluated 2026-11-07 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn a_ready_request_moves_to_the_ready_column_once() {
    let mut w = World::start("plain.toml", "2026-11-04T12:00:00Z").await;
    let column = accessbot::sim::state::column_phid("SRE-Access-Requests", "Ready for SRE");
    w.rules = rules_with_ready_column(&column);
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 201).await, Verdict::Waiting);
    let in_column = |w: &World| {
        let client = w.client();
        let column = column.clone();
        async move {
            let t = client.tasks_by_ids(&[201]).await.unwrap().remove(0);
            let cols = t.attachments.columns.unwrap_or_default();
            cols.boards
                .values()
                .any(|b| b.columns.iter().any(|c| c.phid.as_str() == column))
        }
    };
    assert!(!in_column(&w).await);
    w.set_now("2026-11-06T09:00:00Z");
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    assert_eq!(verdict(&w, 201).await, Verdict::Ready);
    let kinds: Vec<_> = r.effects.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["checklist", "ready-column"]);
    // The READY checklist and the column move are one edit.
    assert_eq!(
        w.sim.stats().calls.get("maniphest.edit").copied(),
        Some(1),
        "{:?}",
        w.sim.stats()
    );
    assert!(in_column(&w).await, "moved to the ready column");
    // Idempotent: later cycles and a restarted bot do not move it again.
    w.set_now("2026-11-06T12:00:00Z");
    let r = bot.cycle().await.unwrap();
    assert!(r.effects.is_empty(), "{:?}", r.effects);
    let r = w.bot().await.cycle().await.unwrap();
    assert!(
        r.effects.iter().all(|e| e.kind != "ready-column"),
        "{:?}",
        r.effects
    );
}
