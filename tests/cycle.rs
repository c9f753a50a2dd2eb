//! The poller's cycle as an operator meets it (design §12, issue 15 items 3-5): a dry run
//! writes nothing and a run after it behaves as a run alone; a first run on a backlog posts at
//! most `[effects] max_posts_per_cycle` comments a cycle (ready first, then oldest) and the
//! rest in later cycles, nothing lost or posted twice; stale nudges only for stretches the bot
//! saw begin.

mod common;

use accessbot::policy::Verdict;
use accessbot::poller::CycleReport;
use accessbot::report;
use accessbot::sim::{self, Scenario, SimOptions};
use chrono::{DateTime, Duration, Utc};
use common::World;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A generated backlog of `n` requests, a month after they were filed (every waiting period
/// is over, every stretch without activity long stale).
fn backlog(n: usize) -> (Scenario, String) {
    let sc = sim::generate(n, 8);
    let now = (sc.now + Duration::days(30)).to_rfc3339();
    (sc, now)
}

/// Every row of every table of the database, as JSON, sorted; without what depends on the
/// order of concurrent writes (audit ids, the simulator's transaction PHIDs of the bot's own
/// comments).
async fn dump(db: &Path) -> BTreeMap<String, Vec<String>> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for table in [
        "meta",
        "tasks",
        "reports",
        "keys_seen",
        "audit",
        "lifecycle",
    ] {
        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)")
            .bind(table)
            .fetch_all(&pool)
            .await
            .unwrap();
        let obj = cols
            .iter()
            // Ids the server hands out in the order of concurrent posts (transaction ids, the
            // audit's row id) differ from run to run; what the bot decided does not.
            .filter(|c| {
                !matches!(
                    (table, c.as_str()),
                    ("audit", "id") | (_, "posted_xact") | ("tasks", "last_xact_id")
                )
            })
            .map(|c| format!("'{c}', {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT json_object({obj}) FROM {table}"))
                .fetch_all(&pool)
                .await
                .unwrap();
        rows.sort();
        out.insert(table.to_string(), rows);
    }
    pool.close().await;
    out
}

/// The comments on every task, by task.
fn all_comments(w: &World, sc: &Scenario) -> BTreeMap<u64, Vec<String>> {
    sc.tasks.iter().map(|t| (t.id, w.comments(t.id))).collect()
}

fn count(r: &CycleReport, kind: &str) -> usize {
    r.effects.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_a_run_after_it_equals_a_run_alone() {
    let (sc, now) = backlog(30);
    let alone = World::start_scenario(sc.clone(), &now, SimOptions::default()).await;
    let after = World::start_scenario(sc.clone(), &now, SimOptions::default()).await;

    let bot = after.builder().dry_run(true).build().await.unwrap();
    let dry = bot.cycle().await.unwrap();
    // It would have posted; it posted and stored nothing.
    assert!(count(&dry, "checklist") > 0, "{:?}", dry.effects.len());
    assert!(all_comments(&after, &sc).values().all(Vec::is_empty));
    let empty = dump(&after.db()).await;
    assert!(empty.values().all(Vec::is_empty), "{empty:?}");
    // Its summary says what a real run would do.
    let summary = accessbot::poller::dry_run_summary(&dry, &after.rules);
    assert!(
        summary.contains(&format!(
            "would post {} checklist(s)",
            count(&dry, "checklist")
        )) && summary.contains(&format!("{} request(s) would wait", dry.waiting)),
        "{summary}"
    );

    // Then the same cycles on both, until nothing is left to post.
    for _ in 0..4 {
        let a = alone.bot().await.cycle().await.unwrap();
        let b = after.bot().await.cycle().await.unwrap();
        assert_eq!(a.effects, b.effects);
    }
    assert_eq!(all_comments(&alone, &sc), all_comments(&after, &sc));
    assert_eq!(dump(&alone.db()).await, dump(&after.db()).await);
    // The dry run's checklists are the ones the real runs posted first.
    for e in dry.effects.iter().filter(|e| e.kind == "checklist") {
        let posted = after.comments(e.task.get());
        assert_eq!(
            report::comment_hash(&posted[0]),
            report::comment_hash(&e.text)
        );
    }
}

#[tokio::test]
async fn a_backlog_posts_at_most_the_cap_a_cycle_ready_first_then_oldest_and_loses_nothing() {
    let (sc, now) = backlog(30);
    // The reference: the whole backlog in one cycle.
    let mut reference = World::start_scenario(sc.clone(), &now, SimOptions::default()).await;
    reference.rules = common::rules_uncapped();
    let whole = reference.bot().await.cycle().await.unwrap();
    let want = all_comments(&reference, &sc);
    let total: usize = want.values().map(Vec::len).sum();
    let ready = count_verdict(&whole, Verdict::Ready);
    assert!(ready > 0 && total > 12, "{ready} ready, {total} comments");
    // The order a capped run must post in: ready first, then the oldest.
    let store = reference.store().await;
    let mut order = Vec::new();
    for t in &sc.tasks {
        let row = store
            .task(accessbot::ids::TaskId::new(t.id))
            .await
            .unwrap()
            .unwrap();
        if !want[&t.id].is_empty() {
            let age = row.tagged_at.unwrap_or(row.created_at);
            order.push((row.verdict != Verdict::Ready, age, t.id));
        }
    }
    order.sort();

    let mut w = World::start_scenario(sc.clone(), &now, SimOptions::default()).await;
    let mut rules = (*common::rules()).clone();
    rules.effects.max_posts_per_cycle = 5;
    w.rules = Arc::new(rules);
    let bot = w.bot().await;
    let mut posted_order = Vec::new();
    let mut cycles = 0;
    loop {
        let before: usize = all_comments(&w, &sc).values().map(Vec::len).sum();
        let r = bot.cycle().await.unwrap();
        let after: usize = all_comments(&w, &sc).values().map(Vec::len).sum();
        assert!(
            after - before <= 5,
            "{} comments in one cycle",
            after - before
        );
        // The tasks that got a comment this cycle (marks are not comments).
        let mut tasks: Vec<u64> = r
            .effects
            .iter()
            .filter(|e| !e.kind.contains("column") && !e.kind.contains("tag"))
            .map(|e| e.task.get())
            .collect();
        tasks.dedup();
        tasks.sort_by_key(|id| order.iter().position(|o| o.2 == *id));
        posted_order.extend(tasks);
        cycles += 1;
        if r.waiting == 0 {
            break;
        }
        assert!(cycles < 20, "the backlog does not drain");
    }
    assert!(cycles >= total.div_ceil(5), "{cycles} cycles for {total}");
    // Ready first, then oldest; nothing lost, nothing twice.
    let want_order: Vec<u64> = order.iter().map(|o| o.2).collect();
    assert_eq!(posted_order, want_order);
    assert_eq!(all_comments(&w, &sc), want);
    // And then idle.
    let idle = bot.cycle().await.unwrap();
    assert!(idle.effects.is_empty(), "{:?}", idle.effects);
}

fn count_verdict(r: &CycleReport, v: Verdict) -> usize {
    r.effects
        .iter()
        .filter(|e| e.kind == "checklist" && e.verdict == v)
        .count()
}

#[tokio::test]
async fn a_first_run_on_a_backlog_of_400_nudges_no_stretch_that_began_before_it() {
    let (sc, now) = backlog(400);
    let mut w = World::start_scenario(sc.clone(), &now, SimOptions::default()).await;
    w.rules = common::rules_uncapped();
    let bot = w.bot().await;
    let first = bot.cycle().await.unwrap();
    let blocked = count_verdict(&first, Verdict::Blocked);
    assert!(blocked > 20, "{blocked} blocked");
    assert_eq!(count(&first, "nudge"), 0);
    assert!(count(&first, "checklist") > blocked);
    // Nobody acts on them for two weeks after the bot came: now they are nudged, once.
    let later = DateTime::parse_from_rfc3339(&now)
        .unwrap()
        .with_timezone(&Utc)
        + Duration::days(14);
    w.set_now(&later.to_rfc3339());
    let second = bot.cycle().await.unwrap();
    assert!(count(&second, "nudge") > 0, "{:?}", second.effects.len());
    assert_eq!(bot.cycle().await.unwrap().effects.len(), 0);
    // What a nudged task holds, for the lowest nudged id (the effects come in the order the
    // reads complete): the first run's checklist, then, two weeks on, the one nudge of clinic
    // duty, which names the task's last progress (from before the bot came).
    let nudged = second
        .effects
        .iter()
        .filter(|e| e.kind == "nudge")
        .map(|e| e.task.get())
        .min()
        .unwrap();
    insta::assert_snapshot!(w.thread(nudged), @"
    --- comment 1 by accessbot at 2026-11-29T00:55:20+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, legal, manager, project-lead.**
    //Needed now//: @user0 (l3), @legalteam (nda), @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user0
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:QyVaYGDqtuJDr33v348LRIZqjVAcakbLS1tgWbxGuoE`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user0 in the task description
    - [ ] `l3` (//requester//): @[zwsp]user0 has not signed `L3` (Acknowledgement of Wikimedia Server Access Responsibilities) yet
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user0 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet; to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes
    - [x] `expiry`: expires on 2027-01-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-11-29 00:55 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-12-13T00:55:20+00:00 ---
    **accessbot**: @clinicduty this request has shown no progress since 2026-10-26 07:35 UTC (34 business days ago). Could clinic duty take a look?
    ");
}

#[tokio::test]
async fn each_request_moves_to_the_column_of_its_verdict_when_it_changes() {
    let mut w = World::start("plain.toml", "2026-11-04T12:00:00Z").await;
    let col = |name: &str| accessbot::sim::state::column_phid("SRE-Access-Requests", name);
    let (waiting, ready) = (col("Done"), col("Ready for SRE"));
    let dir = common::rules_dir(|p| {
        p.replace(
            "# waiting = \"PHID-PCOL-…\"",
            &format!("waiting = \"{waiting}\""),
        )
        .replace("# ready = \"PHID-PCOL-…\"", &format!("ready = \"{ready}\""))
    });
    w.rules = Arc::new(accessbot::rules::Rules::load(dir.path()).unwrap());
    assert_eq!(w.rules.column("ready"), Some(ready.as_str()));
    let column_of = |w: &World| {
        let client = w.client();
        async move {
            let t = client.tasks_by_ids(&[201]).await.unwrap().remove(0);
            let cols = t.attachments.columns.unwrap_or_default();
            cols.boards
                .values()
                .flat_map(|b| b.columns.iter().map(|c| c.phid.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let bot = w.bot().await;
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    let kinds = |r: &CycleReport| -> Vec<&str> {
        r.effects
            .iter()
            .filter(|e| e.task.get() == 201)
            .map(|e| e.kind)
            .collect()
    };
    assert_eq!(kinds(&r), ["checklist", "column"]);
    assert_eq!(column_of(&w).await, std::slice::from_ref(&waiting));
    // Unchanged verdict: no move again.
    w.set_now("2026-11-04T14:00:00Z");
    let r = bot.cycle().await.unwrap();
    assert!(kinds(&r).is_empty(), "{:?}", r.effects);
    // Ready: the column of `ready` from `[phabricator.columns]`, in the checklist's edit.
    w.set_now("2026-11-06T09:00:00Z");
    w.sim.reset_stats();
    let r = bot.cycle().await.unwrap();
    assert_eq!(kinds(&r), ["checklist", "ready-column"]);
    assert_eq!(column_of(&w).await, [ready]);
    let edits = w.sim.stats().calls.get("maniphest.edit").copied();
    assert_eq!(
        edits,
        Some(r.effects.iter().filter(|e| e.kind == "checklist").count() as u64)
    );
}

#[tokio::test]
async fn a_later_checklist_begins_with_what_changed_and_hashes_as_without_it() {
    let w = World::start("plain.toml", "2026-11-04T12:00:00Z").await;
    let bot = w.bot().await;
    bot.cycle().await.unwrap();
    let first = w.comments(201);
    assert_eq!(first.len(), 1);
    assert!(
        !first[0].contains("Since the last checklist"),
        "{}",
        first[0]
    );
    w.set_now("2026-11-06T09:00:00Z");
    bot.cycle().await.unwrap();
    let posted = w.comments(201);
    let second = posted.last().unwrap();
    let line = second.lines().nth(1).unwrap();
    assert!(
        line.starts_with("//Since the last checklist//: now passing: "),
        "{second}"
    );
    // The line names checks that passed since, and leaves the comparison hash alone.
    let without: String = second
        .lines()
        .filter(|l| !l.starts_with("//Since"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(report::comment_hash(second), report::comment_hash(&without));
    insta::assert_snapshot!(w.thread(201), @"
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
    --- comment 2 by accessbot at 2026-11-06T09:00:00+00:00 ---
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
    // A restarted bot (or a lost database) posts nothing again.
    w.set_now("2026-11-06T10:00:00Z");
    let r = w.bot().await.cycle().await.unwrap();
    assert!(
        r.effects.iter().all(|e| e.kind != "checklist"),
        "{:?}",
        r.effects
    );
}
