//! Table-driven tests of the plan (`plan::plan`, issue 18 item 2): from one evaluated task and
//! what is stored and already on its timeline, what the bot will do — the checklist comment or
//! none, the stale nudge, the marks (ready column and tag, verdict columns) and the audit
//! record — without any I/O. Each case is a small edit of one ready request (the facts of
//! `tests/policy.rs`).

mod common;

use accessbot::evidence::Gathered;
use accessbot::ids::Phid;
use accessbot::lifecycle::DataYaml;
use accessbot::plan::{plan, Input, Plan, NO_LONGER_READY};
use accessbot::policy::{evaluate, Verdict};
use accessbot::report;
use accessbot::rules::Rules;
use accessbot::store::TaskRow;
use accessbot::timeline::{Moment, Timeline, TimelineComment};
use accessbot::wire::Task;
use chrono::{DateTime, Utc};
use common::at;
use common::facts::ready;
use common::rules;

/// The evaluation time of every case unless it sets its own.
const NOW: &str = "2026-11-10T12:00:00Z";
const READY_COLUMN: &str = "PHID-PCOL-ready";
const READY_TAG: &str = "PHID-PROJ-ready";

/// What one case starts from: the task as read, the gathered facts, what is stored.
struct Setup {
    task: Task,
    gathered: Gathered,
    row: Option<TaskRow>,
    ready_column: Option<Phid>,
    ready_tag: Option<Phid>,
    now: DateTime<Utc>,
}

fn task(tags: &[&str]) -> Task {
    serde_json::from_value(serde_json::json!({
        "id": 101,
        "phid": "PHID-TASK-t101",
        "fields": {
            "name": "Requesting access to analytics-privatedata-users for jdoe",
            "authorPHID": "PHID-USER-jdoe",
            "status": {"value": "open", "name": "Open"},
            "dateCreated": at("2026-11-02T09:00:00Z").timestamp(),
            "dateModified": at("2026-11-03T11:00:00Z").timestamp(),
        },
        "attachments": {"projects": {"projectPHIDs": tags}},
    }))
    .expect("task")
}

fn setup() -> Setup {
    let mut timeline = Timeline {
        created_at: Some(at("2026-11-02T09:00:00Z")),
        tagged_at: Some(at("2026-11-02T09:00:00Z")),
        last_activity: Some(at("2026-11-03T11:00:00Z")),
        ..Timeline::default()
    };
    timeline.author = Some(Phid::from("PHID-USER-jdoe"));
    Setup {
        task: task(&[]),
        gathered: Gathered {
            facts: ready(),
            timeline,
            fingerprint: None,
            key_since: Moment::of(at("2026-11-02T09:00:00Z"), 1),
            key_line: None,
            manager_account: None,
        },
        row: None,
        ready_column: None,
        ready_tag: None,
        now: at(NOW),
    }
}

/// A comment of the bot on the timeline at `when`.
fn bot_comment(anchor: u64, when: &str, text: &str) -> TimelineComment {
    TimelineComment {
        xact: Phid::from(format!("PHID-XACT-TASK-b{anchor}")),
        anchor,
        author: Phid::from("PHID-USER-accessbot"),
        at: at(when),
        text: text.to_string(),
        edited: false,
        removed: false,
    }
}

/// The row as the bot stored it after evaluating `s` at `when` (as if a cycle had run then).
fn stored_after(s: &Setup, when: &str) -> TaskRow {
    let mut earlier = Setup {
        now: at(when),
        ..clone_setup(s)
    };
    earlier.row = s.row.clone();
    run(&earlier, &rules()).row
}

fn clone_setup(s: &Setup) -> Setup {
    Setup {
        task: s.task.clone(),
        gathered: Gathered {
            facts: s.gathered.facts.clone(),
            timeline: s.gathered.timeline.clone(),
            fingerprint: s.gathered.fingerprint.clone(),
            key_since: s.gathered.key_since,
            key_line: s.gathered.key_line.clone(),
            manager_account: s.gathered.manager_account.clone(),
        },
        row: s.row.clone(),
        ready_column: s.ready_column.clone(),
        ready_tag: s.ready_tag.clone(),
        now: s.now,
    }
}

fn run(s: &Setup, rules: &Rules) -> Plan {
    let checklist = evaluate(&s.gathered.facts, rules, s.now);
    plan(Input {
        task: &s.task,
        last_xact: Some(20),
        g: &s.gathered,
        checklist,
        tracked: true,
        row: s.row.clone(),
        life: None,
        data_yaml: &DataYaml::NotConfigured,
        ready_column: s.ready_column.as_ref(),
        ready_tag: s.ready_tag.as_ref(),
        rules,
        now: s.now,
    })
}

/// The checklist comment the bot would post for `s` now, as the first of its comments.
fn posted_checklist(s: &Setup) -> String {
    run(s, &rules()).comment.expect("a checklist to post")
}

/// Removes the manager's approval: the request is blocked on the manager.
fn unapproved(s: &mut Setup) {
    s.gathered
        .facts
        .comments
        .retain(|c| c.author.as_str() != "mboss");
}

struct Expect {
    verdict: Verdict,
    /// A checklist comment is posted; `Some(part)`: it holds that text.
    comment: Option<&'static str>,
    nudge: bool,
    /// The kinds of the marks, in order.
    marks: &'static [&'static str],
    /// The audit record's old and new verdict, when the verdict changes.
    audit: Option<(Option<&'static str>, &'static str)>,
    first_sight: bool,
    ready_marked: bool,
}

struct Case {
    name: &'static str,
    edit: fn(&mut Setup),
    expect: Expect,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "first sight of a ready request: the checklist, an audit from nothing",
            edit: |_| {},
            expect: Expect {
                verdict: Verdict::Ready,
                comment: Some(""),
                nudge: false,
                marks: &[],
                audit: Some((None, "ready")),
                first_sight: true,
                ready_marked: false,
            },
        },
        Case {
            name: "ready with a ready column and tag: both marks, once",
            edit: |s| {
                s.ready_column = Some(Phid::from(READY_COLUMN));
                s.ready_tag = Some(Phid::from(READY_TAG));
            },
            expect: Expect {
                verdict: Verdict::Ready,
                comment: Some(""),
                nudge: false,
                marks: &["ready-column", "ready-tag"],
                audit: Some((None, "ready")),
                first_sight: true,
                ready_marked: true,
            },
        },
        Case {
            name: "the same checklist already posted and stored: nothing to do",
            edit: |s| {
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments =
                    vec![bot_comment(15, "2026-11-09T12:00:00Z", &text)];
                s.row = Some(stored_after(s, NOW));
            },
            expect: Expect {
                verdict: Verdict::Ready,
                comment: None,
                nudge: false,
                marks: &[],
                audit: None,
                first_sight: false,
                ready_marked: false,
            },
        },
        Case {
            name: "already marked ready: not marked again",
            edit: |s| {
                s.ready_column = Some(Phid::from(READY_COLUMN));
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments =
                    vec![bot_comment(15, "2026-11-09T12:00:00Z", &text)];
                s.row = Some(stored_after(s, NOW));
            },
            expect: Expect {
                verdict: Verdict::Ready,
                comment: None,
                nudge: false,
                marks: &[],
                audit: None,
                first_sight: false,
                ready_marked: true,
            },
        },
        Case {
            name: "was marked ready, now blocked: the note, the tag off, an audit",
            edit: |s| {
                s.ready_tag = Some(Phid::from(READY_TAG));
                s.task = task(&[READY_TAG]);
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments =
                    vec![bot_comment(15, "2026-11-09T12:00:00Z", &text)];
                s.row = Some(stored_after(s, "2026-11-09T12:00:00Z"));
                unapproved(s);
            },
            expect: Expect {
                verdict: Verdict::Blocked,
                comment: Some(NO_LONGER_READY),
                nudge: false,
                marks: &["unready-tag"],
                audit: Some((Some("ready"), "blocked")),
                first_sight: false,
                ready_marked: true,
            },
        },
        Case {
            name: "blocked and stale since the bot's first checklist: one nudge",
            edit: |s| {
                unapproved(s);
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments =
                    vec![bot_comment(15, "2026-11-03T12:00:00Z", &text)];
                s.row = Some(stored_after(s, "2026-11-03T12:00:00Z"));
                s.now = at("2026-11-20T12:00:00Z");
            },
            expect: Expect {
                verdict: Verdict::Blocked,
                comment: None,
                nudge: true,
                marks: &[],
                audit: None,
                first_sight: false,
                ready_marked: false,
            },
        },
        Case {
            name: "blocked and stale, but already nudged after the last activity: no nudge",
            edit: |s| {
                unapproved(s);
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments = vec![
                    bot_comment(15, "2026-11-03T12:00:00Z", &text),
                    bot_comment(16, "2026-11-12T12:00:00Z", "Friendly reminder"),
                ];
                s.row = Some(stored_after(s, "2026-11-03T12:00:00Z"));
                s.now = at("2026-11-20T12:00:00Z");
            },
            expect: Expect {
                verdict: Verdict::Blocked,
                comment: None,
                nudge: false,
                marks: &[],
                audit: None,
                first_sight: false,
                ready_marked: false,
            },
        },
        Case {
            name: "blocked but not yet stale: no nudge",
            edit: |s| {
                unapproved(s);
                let text = posted_checklist(s);
                s.gathered.timeline.bot_comments =
                    vec![bot_comment(15, "2026-11-09T12:00:00Z", &text)];
                s.row = Some(stored_after(s, "2026-11-09T12:00:00Z"));
            },
            expect: Expect {
                verdict: Verdict::Blocked,
                comment: None,
                nudge: false,
                marks: &[],
                audit: None,
                first_sight: false,
                ready_marked: false,
            },
        },
    ]
}

#[test]
fn plan_table() {
    let rules = rules();
    let mut failures = Vec::new();
    for case in cases() {
        let mut s = setup();
        (case.edit)(&mut s);
        let p = run(&s, &rules);
        let e = &case.expect;
        let marks: Vec<&str> = p.marks.iter().map(|m| m.kind()).collect();
        let audit = p.audit.as_ref().map(|a| (a.old.as_deref(), a.new.as_str()));
        let comment_ok = match (e.comment, &p.comment) {
            (None, None) => true,
            (Some(part), Some(text)) => text.contains(part) && report::is_checklist(text),
            _ => false,
        };
        let ok = p.verdict == e.verdict
            && comment_ok
            && p.nudge.is_some() == e.nudge
            && marks == e.marks
            && audit == e.audit
            && p.first_sight == e.first_sight
            && p.row.ready_marked == e.ready_marked;
        if !ok {
            failures.push(format!(
                "{}:\n  verdict {:?}, comment {:?}, nudge {:?}, marks {marks:?}, audit {audit:?}, \
                 first sight {}, ready marked {}",
                case.name,
                p.verdict,
                p.comment.as_deref().map(|c| c.lines().next().unwrap_or("")),
                p.nudge,
                p.first_sight,
                p.row.ready_marked
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_row_carries_the_evaluation_and_the_posted_hash() {
    let s = setup();
    let p = run(&s, &rules());
    let text = p.comment.as_deref().expect("a checklist");
    assert_eq!(p.row.id, accessbot::ids::TaskId::new(101));
    assert_eq!(p.row.verdict, Verdict::Ready);
    assert_eq!(p.row.requester.as_str(), "jdoe");
    assert_eq!(p.row.groups, "analytics-privatedata-users");
    assert_eq!(
        p.row.posted_hash.as_deref(),
        Some(report::comment_hash(text).as_str())
    );
    assert_eq!(p.row.evaluated_at, Some(s.now));
    assert_eq!(p.row.last_xact_id, 20);
    assert!(p.row.open);
    assert!(p.posts.is_empty() && p.lifecycle.is_none());
}
