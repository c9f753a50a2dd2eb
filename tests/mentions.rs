//! Live mentions of the people who must act (issue 17, design §12 "Notify who must act"),
//! through the real poller against the simulator: the first checklist mentions the named
//! manager and the group's approver; a re-post with the same people needed mentions nobody; an
//! approval withdrawn mentions the manager again; a lost database mentions nobody again; a name
//! the requester wrote (in free text, or as a manager without an account or without staff
//! membership) is never mentioned live.

mod common;

use accessbot::report;
use common::World;

/// The mentions line of a posted checklist, if any.
fn needed(text: &str) -> Option<&str> {
    text.lines()
        .find(|l| l.starts_with(report::MENTIONS_PREFIX))
}

/// Every `@name` of a comment that is live (not defused with a zero-width space).
fn live_mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    for (i, _) in text.match_indices('@') {
        let before_ok = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'@');
        let name: String = text[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        if before_ok && !name.is_empty() {
            out.push(name);
        }
    }
    out
}

fn lose_database(w: &World) {
    std::fs::remove_file(w.db()).unwrap();
    let _ = std::fs::remove_file(w.db().with_extension("db-wal"));
    let _ = std::fs::remove_file(w.db().with_extension("db-shm"));
}

#[tokio::test]
async fn who_must_act_is_mentioned_once_each_time_their_action_becomes_needed() {
    let w = World::start("talk.toml", "2026-11-02T12:00:00Z").await;
    let bot = w.bot().await;
    let last = |t: u64| w.comments(t).last().cloned().unwrap_or_default();

    // First checklist: the manager and the lead, with the checks that wait for them.
    bot.cycle().await.unwrap();
    let first = last(301);
    assert_eq!(
        needed(&first),
        Some("//Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-users)"),
        "{first}"
    );
    // The line is left out of the comparison hash.
    let without: String = first
        .lines()
        .filter(|l| !l.starts_with(report::MENTIONS_PREFIX))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(report::comment_hash(&first), report::comment_hash(&without));
    insta::assert_snapshot!(w.posted(301)[0], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Needed now//: @mboss (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // The key changed: a new checklist, the same people still needed, nobody mentioned again.
    w.set_now("2026-11-02T13:30:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 2, "the key change re-posts");
    let second = last(301);
    assert_eq!(needed(&second), None, "{second}");
    assert!(live_mentions(&second).is_empty(), "{second}");
    insta::assert_snapshot!(w.posted(301)[1], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:aQgu+DovuJ/ITiK6e/CjdTb97wH3HErJu5wVUa2GQHs`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): no approval from @[zwsp]mboss (the named manager or sponsor) yet; to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-02 13:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // The manager approves: nobody new is needed.
    w.set_now("2026-11-02T14:30:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 3);
    let approved = last(301);
    assert!(approved.contains("- [x] `manager-approval`"), "{approved}");
    assert_eq!(needed(&approved), None, "{approved}");
    insta::assert_snapshot!(w.posted(301)[2], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for project-lead.**
    //Since the last checklist//: now passing: manager-approval · still needed: lead-approval:analytics-users, waiting-period

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:aQgu+DovuJ/ITiK6e/CjdTb97wH3HErJu5wVUa2GQHs`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [x] `manager-approval`: approved by @[zwsp]mboss
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-02 14:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // … then withdraws: the manager's action is needed again, and only theirs.
    w.set_now("2026-11-02T15:30:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 4);
    let withdrawn = last(301);
    assert_eq!(
        needed(&withdrawn),
        Some("//Needed now//: @mboss (manager-approval)"),
        "{withdrawn}"
    );
    insta::assert_snapshot!(w.posted(301)[3], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**
    //Since the last checklist//: no longer passing: manager-approval · still needed: lead-approval:analytics-users, waiting-period
    //Needed now//: @mboss (manager-approval)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:aQgu+DovuJ/ITiK6e/CjdTb97wH3HErJu5wVUa2GQHs`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): approval withdrawn by @[zwsp]mboss on 2026-11-02 (T301#27); to approve again, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-02 15:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // A lost database and a restart, then a change that re-posts: the previous checklist on
    // the task says who was already needed, so nobody is mentioned again.
    lose_database(&w);
    w.set_now("2026-11-02T17:30:00Z");
    w.bot().await.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 5, "the key change re-posts");
    let after_loss = last(301);
    assert_eq!(needed(&after_loss), None, "{after_loss}");
    insta::assert_snapshot!(w.posted(301)[4], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for manager, project-lead.**

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]cnguyen
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:6FjKTNT72v4qslxjQ/ZYWtmb4GhEO1qBpKuF1qrWUv0`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]cnguyen in the task description
    - [x] `l3`: @[zwsp]cnguyen signed `L3`
    - [x] `nda`: @[zwsp]cnguyen is staff
    - [ ] `manager-approval` (//manager//): approval withdrawn by @[zwsp]mboss on 2026-11-02 (T301#27); to approve again, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC

    //Evaluated 2026-11-02 17:30 UTC. accessbot posts a new checklist whenever this one changes.//
    ");

    // Across every comment: @victim, whom the requester wrote about, is never live; only
    // the accounts the bot resolved are.
    for c in w.comments(301) {
        for n in live_mentions(&c) {
            assert!(
                ["mboss", "aotto"].contains(&n.as_str()),
                "@{n} live in:\n{c}"
            );
        }
    }
}

#[tokio::test]
async fn a_named_manager_without_a_staff_account_is_not_mentioned_live() {
    let w = World::start("talk.toml", "2026-11-02T12:00:00Z").await;
    w.bot().await.cycle().await.unwrap();
    // T302 names @ghostboss (no such account), T303 @victim (an account, not staff): their
    // approval could never count, so the requester is asked to name someone on staff; the
    // requester and the lead are mentioned, the named manager never is (its name stays in the
    // message, defused).
    for (t, requester) in [(302, "dlee"), (303, "elin")] {
        let c = w.comments(t).last().cloned().unwrap();
        assert!(
            c.contains("- [ ] `manager-approval` (//requester//): the request names @\u{200b}"),
            "{c}"
        );
        assert_eq!(
            needed(&c).map(str::to_string),
            Some(format!(
                "//Needed now//: @{requester} (manager-approval), @aotto (lead-approval:analytics-users)"
            )),
            "{c}"
        );
        assert_eq!(live_mentions(&c), [requester, "aotto"], "{c}");
    }
    insta::assert_snapshot!(w.posted(302)[0], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, project-lead.**
    //Needed now//: @dlee (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]dlee
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:NQkDazUrtJWm6pAfy/yfMsMGrlj+M1EFlMdidPaBAOA`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]dlee in the task description
    - [x] `l3`: @[zwsp]dlee signed `L3`
    - [x] `nda`: @[zwsp]dlee is staff
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]ghostboss as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:10 UTC

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
    insta::assert_snapshot!(w.posted(303)[0], @"
    **accessbot checklist** for this access request: **BLOCKED: waiting for requester, project-lead.**
    //Needed now//: @elin (manager-approval), @aotto (lead-approval:analytics-users)

    - [x] `request-complete`: all fields are present
    - [x] `one-user`: one user per task
    - [x] `subject`: filed by the subject @[zwsp]elin
    - [x] `known-groups`: groups: analytics-users
    - [x] `ssh-key`: `ssh-ed25519`, 256 bits, `SHA256:pn6MUELG+B3pZsIJz1ZXTXA+TOE+M5+Y/sOLniBqAaw`
    - [x] `key-fresh`: the key is not used by anyone else
    - [x] `key-channel`: posted by @[zwsp]elin in the task description
    - [x] `l3`: @[zwsp]elin signed `L3`
    - [x] `nda`: @[zwsp]elin is staff
    - [ ] `manager-approval` (//requester//): the request names @[zwsp]victim as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff
    - [ ] `lead-approval:analytics-users` (//project-lead//): no approval from a project lead of analytics-users yet (approvers: @[zwsp]aotto); to approve, comment `Approved.` or `Approved for analytics-users.`
    - [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:20 UTC

    //Evaluated 2026-11-02 12:00 UTC. accessbot posts a new checklist whenever this one changes.//
    ");
}
