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

    // The key changed: a new checklist, the same people still needed, nobody mentioned again.
    w.set_now("2026-11-02T13:30:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 2, "the key change re-posts");
    let second = last(301);
    assert_eq!(needed(&second), None, "{second}");
    assert!(live_mentions(&second).is_empty(), "{second}");

    // The manager approves: nobody new is needed.
    w.set_now("2026-11-02T14:30:00Z");
    bot.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 3);
    let approved = last(301);
    assert!(approved.contains("- [x] `manager-approval`"), "{approved}");
    assert_eq!(needed(&approved), None, "{approved}");

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

    // A lost database and a restart, then a change that re-posts: the previous checklist on
    // the task says who was already needed, so nobody is mentioned again.
    lose_database(&w);
    w.set_now("2026-11-02T17:30:00Z");
    w.bot().await.cycle().await.unwrap();
    assert_eq!(w.comments(301).len(), 5, "the key change re-posts");
    let after_loss = last(301);
    assert_eq!(needed(&after_loss), None, "{after_loss}");

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
    // T302 names @ghostboss (no such account), T303 @victim (an account, not staff): the lead
    // is mentioned, the named manager is not (its name stays in the message, defused).
    for t in [302, 303] {
        let c = w.comments(t).last().cloned().unwrap();
        assert!(c.contains("- [ ] `manager-approval`"), "{c}");
        assert_eq!(
            needed(&c),
            Some("//Needed now//: @aotto (lead-approval:analytics-users)"),
            "{c}"
        );
        assert_eq!(live_mentions(&c), ["aotto"], "{c}");
    }
}
