//! One task that cannot be read never stops the others (issue 14, item 8, the poller half):
//! a task whose description is larger than the client's size cap, and one Conduit serves in
//! a shape no client can read, beside honest requests, through the real client, poller and
//! SQLite store against the simulator. The honest requests get their checklists; the
//! unreadable ones are set aside with a `blocked` status entry for clinic duty and read again
//! only when they change; a ready request that turns unreadable says its READY no longer
//! holds, and says READY again once it can be read. Conduit calls are counted per cycle.

mod common;

use accessbot::bot::Bot;
use accessbot::ids::TaskId;
use accessbot::policy::{Verdict, Who};
use accessbot::poller::CycleReport;
use accessbot::report;
use common::World;

/// The size cap of the test's client: the oversized description is twice as large.
const CAP: usize = 64 << 10;

/// A TOML basic string.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A request description in the form's shape.
fn form(name: &str, user: &str, key: &str) -> String {
    format!(
        "**Full name**: {name}\n**Wikitech username**: {name}\n**Preferred shell username**: {user}\n\
         **Email address**: {user}@example.org\n**SSH public key**: {key}\n\
         **Requested group membership**: analytics-privatedata-users\n\
         **Reason for access**: Research on editor retention.\n**Manager / sponsor**: @mboss\n"
    )
}

/// One task of a scenario: id, author, creation time, description, comments (time, author,
/// text).
type TaskSpec = (
    u64,
    &'static str,
    &'static str,
    String,
    Vec<(&'static str, &'static str, String)>,
);

/// The world of the tests (users, projects, L3) and `tasks`, as a scenario file.
fn scenario_of(tasks: Vec<TaskSpec>) -> String {
    let mut s = String::from("now = \"2026-11-05T12:00:00Z\"\n");
    for (user, name, extra) in [
        (
            "accessbot",
            "Access Bot",
            "bot = true\ntoken = \"api-unreadableaccessbot00000000\"\n",
        ),
        ("asmith", "Alex Smith", ""),
        ("mallory", "Mallory Bigly", ""),
        ("jdoe", "Jane Doe", ""),
        ("mboss", "Morgan Boss", ""),
        ("aotto", "Andrew Otto", ""),
        ("clinicduty", "Clinic Duty", ""),
    ] {
        s.push_str(&format!(
            "\n[[users]]\nusername = {}\nreal_name = {}\n{extra}",
            q(user),
            q(name)
        ));
    }
    s.push_str(
        "\n[[projects]]\nname = \"SRE-Access-Requests\"\nmembers = []\n\
         \n[[projects]]\nname = \"WMF-Staff\"\nmembers = [\"asmith\", \"mallory\", \"jdoe\", \"mboss\", \"aotto\", \"clinicduty\"]\n\
         \n[[legalpad]]\nmonogram = \"L3\"\ntitle = \"L3\"\nsigners = [\"asmith\", \"mallory\", \"jdoe\"]\neditors = [\"accessbot\"]\n",
    );
    for (id, author, at, description, events) in tasks {
        s.push_str(&format!(
            "\n[[tasks]]\nid = {id}\nauthor = {}\nat = {}\ntitle = {}\nprojects = [\"SRE-Access-Requests\"]\ndescription = {}\n",
            q(author),
            q(at),
            q(&format!("Requesting access to analytics-privatedata-users for {author}")),
            q(&description)
        ));
        for (at, who, comment) in events {
            s.push_str(&format!(
                "\n[[tasks.events]]\nat = {}\nauthor = {}\ncomment = {}\n",
                q(at),
                q(who),
                q(&comment)
            ));
        }
    }
    s
}

const ASMITH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0741lOXlBowiT7hPyuouENgjE5DTsFF+85gc5v6kBb asmith@laptop";
const MALLORY_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wFCifms6x4Hgs+v9 m@laptop";
const JDOE_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEiVSTZX2fX8cpIwClBb/C+IUSsldzgsgKZZ7BUHRXuG jdoe@laptop";

/// `bytes` of filler text, in lines.
fn filler(bytes: usize) -> String {
    let line = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
    line.repeat(bytes / line.len() + 1)
}

/// T201: ready from 2026-11-05 09:30. T202: a form followed by twice the cap of filler.
/// T203: an honest request nobody approved yet. Later events: T201 thanked (12:50), T202
/// commented on (13:05).
fn scenario() -> String {
    scenario_of(vec![
        (
            201,
            "asmith",
            "2026-11-02T09:30:00Z",
            form("Alex Smith", "asmith", ASMITH_KEY),
            vec![
                ("2026-11-02T10:30:00Z", "mboss", "Approved.".into()),
                (
                    "2026-11-02T11:30:00Z",
                    "aotto",
                    "Approved for analytics-privatedata-users.".into(),
                ),
                ("2026-11-05T12:50:00Z", "asmith", "Thanks!".into()),
            ],
        ),
        (
            202,
            "mallory",
            "2026-11-02T09:40:00Z",
            format!(
                "{}{}",
                form("Mallory Bigly", "mallory", MALLORY_KEY),
                filler(2 * CAP)
            ),
            vec![("2026-11-05T13:05:00Z", "mallory", "Any news?".into())],
        ),
        (
            203,
            "jdoe",
            "2026-11-02T09:50:00Z",
            form("Jane Doe", "jdoe", JDOE_KEY),
            vec![],
        ),
    ])
}

/// Runs one cycle at `now` with fresh call counts; returns the report and the calls made
/// per method.
async fn cycle(
    w: &World,
    bot: &Bot,
    now: &str,
) -> (CycleReport, std::collections::BTreeMap<String, u64>) {
    w.set_now(now);
    w.sim.reset_stats();
    let r = bot.cycle().await.expect("the cycle runs");
    (r, w.sim.stats().calls)
}

fn calls(c: &std::collections::BTreeMap<String, u64>, method: &str) -> u64 {
    c.get(method).copied().unwrap_or(0)
}

fn ids(list: &[(TaskId, String)]) -> Vec<u64> {
    list.iter().map(|(id, _)| id.get()).collect()
}

#[tokio::test]
async fn one_unreadable_task_never_stops_the_others() {
    let w = World::from_scenario(&scenario()).await;
    let client = w.client();
    client.set_max_body_bytes(CAP);
    let bot = w.builder().with_client(client).build().await.unwrap();

    // 1. The first poll: the page holding T202 is over the cap. T201 and T203, before it in
    // the page, are read from the answer's head; T202 is read alone (over the cap: set
    // aside) and the poll goes on after it. Three pages, two timelines: T202's is not read.
    let (r, c) = cycle(&w, &bot, "2026-11-05T12:00:00Z").await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(ids(&r.unreadable), [202], "{r:?}");
    assert!(
        r.unreadable[0].1.contains("larger than the 64 KiB"),
        "{:?}",
        r.unreadable
    );
    assert!(
        !r.unreadable[0].1.contains("lorem"),
        "no task text in the reason"
    );
    assert_eq!(calls(&c, "maniphest.search"), 3, "{c:?}");
    assert_eq!(calls(&c, "transaction.search"), 2, "{c:?}");
    assert_eq!(r.evaluated, 2);
    let t201 = w.comments(201);
    assert_eq!(t201.len(), 1, "{t201:?}");
    assert!(t201[0].contains("**READY"), "{}", t201[0]);
    let t203 = w.comments(203);
    assert!(t203.len() == 1 && t203[0].contains("BLOCKED"), "{t203:?}");
    assert!(
        w.comments(202).is_empty(),
        "nothing is posted on an unreadable task"
    );

    // Its status entry: blocked, for clinic duty, with the reason.
    let store = w.store().await;
    let row = store
        .task(TaskId::new(202))
        .await
        .unwrap()
        .expect("a status entry");
    assert_eq!(row.verdict, Verdict::Blocked);
    assert_eq!(row.who, [Who::ClinicDuty]);
    let mut rows = store.tasks(true).await.unwrap();
    report::sort_for_status(&mut rows);
    let now = common::at("2026-11-05T12:00:00Z");
    let json = report::status_json(&rows, now, None);
    let entry = json
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["task"] == "T202")
        .expect("listed by status");
    assert_eq!(entry["verdict"], "blocked");
    assert!(
        entry["unreadable"].as_str().unwrap().contains("64 KiB"),
        "{entry}"
    );
    let table = report::status_table(&rows, now, None);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("T202") && l.contains("waits for clinic-duty")),
        "{table}"
    );
    let log = store.audit_log(TaskId::new(202)).await.unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].evidence.contains("unreadable"), "{:?}", log[0]);
    store.close().await;

    // 2. The next poll reads T201 and T203 again, modified by the bot's own comments; the
    // one after is idle: the cursor went past the readable tasks and T202 is older than them:
    // one page, nothing read again, nothing posted.
    let (r, _) = cycle(&w, &bot, "2026-11-05T12:00:30Z").await;
    assert_eq!((r.changed, r.evaluated), (2, 2), "{r:?}");
    assert!(r.effects.is_empty() && r.unreadable.is_empty(), "{r:?}");
    let (r, c) = cycle(&w, &bot, "2026-11-05T12:01:00Z").await;
    assert!(r.effects.is_empty() && r.unreadable.is_empty(), "{r:?}");
    assert_eq!(calls(&c, "maniphest.search"), 1, "{c:?}");
    assert_eq!(calls(&c, "transaction.search"), 0, "{c:?}");

    // 3. Conduit starts serving T201 (ready, READY posted) in a shape nothing can read. The
    // reconcile re-reads the ready requests by id every `reconcile_minutes` (the others,
    // like T203, every `reconcile_all_hours`), T202 left out (set aside until it changes):
    // T201 is set aside too, and says its READY no longer holds.
    w.sim.mangle_task(201);
    let (r, c) = cycle(&w, &bot, "2026-11-05T12:40:00Z").await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(ids(&r.unreadable), [201], "{r:?}");
    assert!(r.unreadable[0].1.contains("shape"), "{:?}", r.unreadable);
    // The poll's page, and one by-id read of T201 (T202 in it would cost more reads); T201's
    // timeline is not read, its task could not be.
    assert_eq!(calls(&c, "maniphest.search"), 2, "{c:?}");
    assert_eq!(calls(&c, "transaction.search"), 0, "{c:?}");
    let t201 = w.comments(201);
    assert_eq!(t201.len(), 2, "{t201:?}");
    assert!(report::is_unreadable_notice(&t201[1]), "{}", t201[1]);
    assert!(t201[1].contains("do not grant"), "{}", t201[1]);
    let store = w.store().await;
    let row = store.task(TaskId::new(201)).await.unwrap().unwrap();
    assert_eq!(row.verdict, Verdict::Blocked, "status no longer says ready");
    let log = store.audit_log(TaskId::new(201)).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.old_verdict.as_deref(), last.new_verdict.as_str()),
        (Some("ready"), "blocked")
    );
    store.close().await;

    // 4. T201 reads again and changes (a thank-you at 12:50): it is read, and its READY
    // checklist is posted again after the notice, although it is the same as before.
    w.sim.unmangle_task(201);
    let (r, c) = cycle(&w, &bot, "2026-11-05T13:00:00Z").await;
    assert!(r.unreadable.is_empty() && r.failed.is_empty(), "{r:?}");
    assert_eq!(calls(&c, "maniphest.search"), 1, "{c:?}");
    let t201 = w.comments(201);
    assert_eq!(t201.len(), 3, "{t201:?}");
    assert!(
        report::is_checklist(&t201[2]) && t201[2].contains("**READY"),
        "{}",
        t201[2]
    );
    assert_eq!(
        w.store()
            .await
            .task(TaskId::new(201))
            .await
            .unwrap()
            .unwrap()
            .verdict,
        Verdict::Ready
    );

    // (The next poll reads T201 again, modified by the bot's comment.)
    let (r, _) = cycle(&w, &bot, "2026-11-05T13:01:00Z").await;
    assert!(r.effects.is_empty() && r.unreadable.is_empty(), "{r:?}");

    // 5. T202 changes (a comment at 13:05) and is still too large: met again at the head of
    // the poll (its first answer alone proves it: no read of it alone), set aside again; the
    // page after it is read. No timeline, no post, no second audit entry.
    let (r, c) = cycle(&w, &bot, "2026-11-05T13:08:00Z").await;
    assert_eq!(ids(&r.unreadable), [202], "{r:?}");
    assert!(r.effects.is_empty(), "{r:?}");
    assert_eq!(calls(&c, "maniphest.search"), 2, "{c:?}");
    assert_eq!(calls(&c, "transaction.search"), 0, "{c:?}");
    let store = w.store().await;
    assert_eq!(store.audit_log(TaskId::new(202)).await.unwrap().len(), 1);
    store.close().await;
    assert!(w.comments(202).is_empty());
    insta::assert_snapshot!(w.thread(201), @"
    --- comment 1 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]asmith
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:JuI/dDJ5Ymy6FELywnsGL+vgwnAr5ToRQQ059KTQLxg`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]asmith in the task description
    - [x] `l3`: @[zwsp]asmith signed `L3`
    - [x] `nda`: @[zwsp]asmith is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:30 UTC

    //Evaluated 2026-11-05 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    --- comment 2 by accessbot at 2026-11-05T12:40:00+00:00 ---
    **accessbot**: this task can no longer be read (an answer larger than accessbot accepts, or one it cannot decode). Its last checklist no longer holds: do not grant this access until accessbot reads the task again and posts a new checklist. Clinic duty: see `accessbot status --json`.
    --- comment 3 by accessbot at 2026-11-05T13:00:00+00:00 ---
    **accessbot checklist** for this access request: **READY: every check passes; clinic duty may grant the access.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]asmith
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:JuI/dDJ5Ymy6FELywnsGL+vgwnAr5ToRQQ059KTQLxg`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]asmith in the task description
    - [x] `l3`: @[zwsp]asmith signed `L3`
    - [x] `nda`: @[zwsp]asmith is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [x] `lead-approval:analytics-privatedata-users`: approved by @[zwsp]aotto
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:30 UTC

    //Evaluated 2026-11-05 13:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(203), @"
    --- comment 1 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:50 UTC

    //Evaluated 2026-11-05 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}

#[tokio::test]
async fn a_dry_run_only_logs_an_unreadable_task() {
    let w = World::from_scenario(&scenario()).await;
    let client = w.client();
    client.set_max_body_bytes(CAP);
    let bot = w
        .builder()
        .with_client(client)
        .dry_run(true)
        .build()
        .await
        .unwrap();
    let (r, _) = cycle(&w, &bot, "2026-11-05T12:00:00Z").await;
    assert_eq!(ids(&r.unreadable), [202], "{r:?}");
    let store = w.store().await;
    assert!(
        store.task(TaskId::new(202)).await.unwrap().is_none(),
        "no status entry written"
    );
    assert!(store.audit_log(TaskId::new(202)).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn a_timeline_over_the_cap_is_read_in_smaller_pages_or_set_aside() {
    // T301: an honest request. T304: one comment twice the cap (its timeline cannot be read
    // whole, so the task cannot be read). T305: three comments of 0.4 of the cap each (no
    // page of 100 or 10 transactions fits, pages of 1 and then 100 do).
    let big = |n: usize| filler(n);
    let text = scenario_of(vec![
        (
            301,
            "asmith",
            "2026-11-02T09:30:00Z",
            form("Alex Smith", "asmith", ASMITH_KEY),
            vec![],
        ),
        (
            304,
            "mallory",
            "2026-11-02T09:40:00Z",
            form("Mallory Bigly", "mallory", MALLORY_KEY),
            vec![("2026-11-02T09:41:00Z", "mallory", big(2 * CAP))],
        ),
        (
            305,
            "jdoe",
            "2026-11-02T09:50:00Z",
            form("Jane Doe", "jdoe", JDOE_KEY),
            (0..3)
                .map(|_| ("2026-11-02T09:51:00Z", "jdoe", big(CAP * 2 / 5)))
                .collect(),
        ),
    ]);
    let w = World::from_scenario(&text).await;
    let client = w.client();
    client.set_max_body_bytes(CAP);
    let bot = w.builder().with_client(client).build().await.unwrap();

    let (r, c) = cycle(&w, &bot, "2026-11-05T12:00:00Z").await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(ids(&r.unreadable), [304], "{r:?}");
    assert!(
        r.unreadable[0].1.contains("transaction.search"),
        "{:?}",
        r.unreadable
    );
    assert_eq!(r.evaluated, 2);
    // One page of tasks. Timelines: T301 one page; T304 pages of 100, 10 and 1, each over
    // the cap, none retried; T305 pages of 100 and 10 over the cap, one of 1 (its newest
    // comment), then one of 100 with the rest.
    assert_eq!(calls(&c, "maniphest.search"), 1, "{c:?}");
    assert_eq!(calls(&c, "transaction.search"), 1 + 3 + 4, "{c:?}");
    assert!(report::is_checklist(&w.comments(305)[0]));
    assert!(w.comments(304).is_empty());
    insta::assert_snapshot!(w.thread(305), @"
    --- comment 1 by accessbot at 2026-11-05T12:00:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]jdoe
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:EXH1lf9QErDh/sRbFszUR/4vRBf7ZWvOsrZ5ItGZE+Y`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]jdoe in the task description
    - [x] `l3`: @[zwsp]jdoe signed `L3`
    - [x] `nda`: @[zwsp]jdoe is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [x] `waiting-period`: the waiting period of 3 days ended on 2026-11-05 09:50 UTC

    //Evaluated 2026-11-05 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    let store = w.store().await;
    let row = store.task(TaskId::new(304)).await.unwrap().unwrap();
    assert_eq!(
        (row.verdict, row.who.as_slice()),
        (Verdict::Blocked, [Who::ClinicDuty].as_slice())
    );
    store.close().await;

    // Once the bot's own comments are read back, T304 is not read again: it has not changed.
    let (r, _) = cycle(&w, &bot, "2026-11-05T12:00:30Z").await;
    assert!(r.unreadable.is_empty(), "{r:?}");
    let (r, c) = cycle(&w, &bot, "2026-11-05T12:01:00Z").await;
    assert!(r.unreadable.is_empty() && r.effects.is_empty(), "{r:?}");
    assert_eq!(calls(&c, "transaction.search"), 0, "{c:?}");
}
