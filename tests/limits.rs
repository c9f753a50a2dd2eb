//! Input limits: a 1 MiB description, a 1 MiB comment, 10,000 comments on one task and
//! quotes nested 10,000 deep. The bot must finish, post one checklist per request with a
//! clear problem where the request cannot be read, never panic, and page through all
//! 10,000 transactions.

mod common;

use common::World;

use accessbot::conduit::ClientOptions;
use accessbot::ids::TaskId;
use accessbot::report;
use accessbot::sim::scenario::{ScenarioEvent, ScenarioTask};
use accessbot::sim::{self, Scenario, SimOptions};

const MIB: usize = 1 << 20;

/// Three generated requests made hostile, plus two new tasks.
fn hostile() -> Scenario {
    let mut sc = sim::generate(3, 3);
    let base = sc.tasks[0].at;
    let author = sc.tasks[0].author.clone();
    // T100: the description grows to 1 MiB of filler after the form.
    let line = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n";
    let filler = line.repeat(MIB / line.len() + 1);
    sc.tasks[0].description.push_str(&filler[..MIB]);
    // T101: 10,000 comments, one of them 1 MiB long.
    let t1 = &mut sc.tasks[1];
    let who = t1.author.clone();
    let mut at = t1.at;
    t1.events.clear();
    for i in 0..10_000 {
        at += chrono::Duration::seconds(7);
        let text = if i == 5_000 {
            "a very long comment ".repeat(MIB / 20)
        } else {
            format!("comment number {i}: still waiting, @{who}")
        };
        t1.events.push(ScenarioEvent::comment(at, &who, text));
    }
    let form = sc.tasks[2].description.clone();
    let form_title = sc.tasks[2].title.clone();
    // T102: a description that is only quotes, 10,000 deep, around a key-like line.
    sc.tasks[2].description = format!("{} **Shell username:** x\n", ">".repeat(10_000));
    // T103: a description of 1 MiB on one single line, no newline at all.
    sc.tasks.push(ScenarioTask {
        id: 103,
        author: author.clone(),
        at: base,
        title: "one huge line".into(),
        projects: vec!["SRE-Access-Requests".into()],
        status: "open".into(),
        description: "x".repeat(MIB),
        events: vec![],
    });
    // T104: a comment with a quote 10,000 deep, then quotes nesting one level per line up
    // to 1,000 (about half a MiB), each "approving".
    let mut nested = format!("{} Approved.\n", ">".repeat(10_000));
    nested.extend((1..=1_000).map(|d| format!("{} Approved.\n", ">".repeat(d))));
    sc.tasks.push(ScenarioTask {
        id: 104,
        author,
        at: base,
        title: form_title,
        projects: vec!["SRE-Access-Requests".into()],
        status: "open".into(),
        description: form,
        events: vec![ScenarioEvent::comment(
            base + chrono::Duration::minutes(5),
            "aotto",
            nested,
        )],
    });
    let last = sc
        .tasks
        .iter()
        .flat_map(|t| t.events.iter().map(|e| e.at).chain([t.at]))
        .max()
        .unwrap();
    sc.now = last + chrono::Duration::days(1);
    sc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_deep_inputs_finish_with_clear_problems_and_no_panic() {
    let sc = hostile();
    sc.validate().expect("the hostile scenario is valid");
    let now = sc.now.to_rfc3339();
    let w = World::start_scenario(sc, &now, SimOptions::default()).await;
    let sim = &w.sim;
    let builder = w.builder().client_options(ClientOptions::default());
    let client = builder.client().unwrap();

    // Transaction paging reads every one of the 10,000 comments.
    let txs = client.transactions(TaskId::new(101)).await.unwrap();
    let comments = txs.iter().filter(|t| !t.comments.is_empty()).count();
    assert!(comments >= 10_000, "{comments} comments read");
    assert!(
        sim.stats().calls.get("transaction.search").copied() >= Some(100),
        "paged: {:?}",
        sim.stats()
    );

    let bot = builder.with_client(client).build().await.unwrap();
    let r = bot.cycle().await.unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let r = bot.cycle().await.unwrap();
    assert!(r.effects.is_empty(), "a second cycle posts nothing: {r:?}");

    for id in [100, 101, 102, 104] {
        let posted: Vec<String> = sim
            .comments(id)
            .into_iter()
            .map(|c| c.text)
            .filter(|t| report::is_checklist(t))
            .collect();
        assert_eq!(posted.len(), 1, "T{id}: one checklist");
        let text = &posted[0];
        // The bot's comment stays small whatever it was fed.
        assert!(text.len() < 16 * 1024, "T{id}: {} bytes", text.len());
        assert!(!text.contains("lorem ipsum"), "T{id} quotes the filler");
        assert!(!text.contains("xxxxxxxxxx"), "T{id} quotes the filler");
        assert!(!text.contains(">>>>>>>>>>"), "T{id} quotes the nesting");
    }
    // The unreadable request says so, naming the failing check, and is not ready.
    let text = sim
        .comments(102)
        .into_iter()
        .map(|c| c.text)
        .find(|t| report::is_checklist(t))
        .unwrap();
    assert!(!text.contains("READY"), "{text}");
    assert!(text.contains("BLOCKED"), "{text}");
    assert!(text.contains("`request-complete`"), "{text}");
    insta::assert_snapshot!(w.normalise(&text), @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, legal.**
    //Needed now//: @user2 (request-complete, ssh-key, expiry), @legalteam (nda)

    - [ ] `request-complete` (//requester//): missing: SSH public key; no full name was given (Full name: …); no Wikitech username was given (Wikitech username: …); no email address was given (Email address: …); no reason for access was given (Reason for access: …)
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user2
    - [x] `known-groups`: groups: deployment
    - [ ] `ssh-key` (//requester//): no SSH public key was found (needed unless the shell user already exists)
    - [x] `l3`: @[zwsp]user2 signed `L3`
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user2 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [x] `manager-approval`: approved by @[zwsp]mgr0
    - [x] `lead-approval:deployment`: approved by @[zwsp]rel-lead
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:51 UTC
    - [ ] `expiry` (//requester//): a requester who is not staff needs an expiry date in the future and a staff expiry contact: no valid expiry date (YYYY-MM-DD); no expiry contact

    //Evaluated 2026-10-28 03:10 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    // The other three threads, whole (one checklist each, counted above), read like any
    // request's, quoting nothing of what they were fed: T100 (1 MiB of filler after its
    // form), T101 (10,000 comments, one of them 1 MiB long), T104 (its approvals only quoted,
    // 10,000 deep and then nested line by line: no approval).
    insta::assert_snapshot!(w.thread(100), @"
    --- comment 1 by accessbot at 2026-10-28T03:10:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @svc-lead (lead-approval:deploy-service)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user0
    - [x] `known-groups`: groups: deploy-service
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:7+rVMUmvy9S/MYfsALliJEo4znEqJbYkZuCfaMChebE`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user0 in the task description
    - [x] `l3`: @[zwsp]user0 signed `L3`
    - [x] `nda`: @[zwsp]user0 is staff
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet; to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `lead-approval:deploy-service` (//project-lead//): no approval from a project lead of deploy-service yet (approvers: @[zwsp]svc-lead); to approve, comment `Approved.` or `Approved for deploy-service.`
    - [ ] `sudo-review`: sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes

    //Evaluated 2026-10-28 03:10 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(101), @"
    --- comment 1 by accessbot at 2026-10-28T03:10:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @aotto (lead-approval:analytics-privatedata-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]user1
    - [x] `known-groups`: groups: analytics-privatedata-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:TXBaG/mQcy5x2GTbF790WpG7awH53EQ9FSRPqtCNvRM`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]user1 in the task description
    - [x] `l3`: @[zwsp]user1 signed `L3`
    - [x] `nda`: @[zwsp]user1 is a member of an NDA project
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet; to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `lead-approval:analytics-privatedata-users` (//project-lead//): no approval from a project lead of analytics-privatedata-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:43 UTC
    - [x] `expiry`: expires on 2027-02-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-10-28 03:10 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.thread(104), @"
    --- comment 1 by accessbot at 2026-10-28T03:10:00+00:00 ---
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, legal, manager, project-lead.**
    //Needed now//: @user2 (key-channel), @legalteam (nda), @rel-lead (lead-approval:deployment)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: for @[zwsp]user2 (the one account with the request's username and full name), filed by @[zwsp]user0
    - [x] `known-groups`: groups: deployment
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:hdXf3fUmoV2TO61xTQV4drEYQMowLYeWbtYOXEkodbA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [ ] `key-channel` (//requester//): the key in the description was written by someone other than the person the request is for: the key must come from @[zwsp]user2 in the task description, a web comment or their own paste
    - [x] `l3`: @[zwsp]user2 signed `L3`
    - [ ] `nda` (//legal//): no NDA on file: @[zwsp]user2 is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task; to confirm, a legal user comments `NDA on file.`
    - [ ] `manager-approval` (//manager//): no approval from the manager or sponsor yet (@[zwsp]aotto's comment of 2026-10-26 (T104#17) was not counted: an approval quoted or in code is not read as one, so write it as plain text); to approve, comment `Approved.` or `Approved for deployment.`
    - [ ] `lead-approval:deployment` (//project-lead//): no approval from a project lead of deployment yet (approvers: @[zwsp]rel-lead); to approve, comment `Approved.` or `Approved for deployment.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-10-29 07:34 UTC
    - [x] `expiry`: expires on 2027-03-15; expiry contact @[zwsp]mgr0

    //Evaluated 2026-10-28 03:10 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    let store = w.store().await;
    // A quoted "Approved." at any depth is no approval.
    let row = store.task(TaskId::new(104)).await.unwrap().unwrap();
    assert_ne!(row.verdict, accessbot::policy::Verdict::Ready);
    // A megabyte of one character is no request form: listed for clinic duty, no comment.
    let row = store.task(TaskId::new(103)).await.unwrap().unwrap();
    assert_eq!(row.verdict, accessbot::policy::Verdict::NotARequest);
    assert!(sim.comments(103).is_empty());
}
