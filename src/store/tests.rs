//! The store's tests: each table's reads and writes, the migrations, the read-only open.

use super::tasks::{approvals_column, rests_on_comments};
use super::*;
use crate::conduit::Channel;
use crate::ids::{Fingerprint, Phid, TaskId, Username};
use crate::policy::{Verdict, Who};
use crate::timeline::Moment;
use crate::view::Decision;
use std::collections::HashMap;

fn date(d: &str) -> chrono::NaiveDate {
    d.parse().unwrap()
}

fn t(s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(s, 0).unwrap()
}

#[tokio::test]
async fn the_reconcile_tier_follows_each_stored_checklist() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("t.db")).await.unwrap();
    let tier = |report: &str, id: u64| TaskRow {
        id: TaskId::new(id),
        report_json: report.into(),
        ..Default::default()
    };
    let approval = r#"{"checks":[{"id":"l3","status":"pass","evidence":[]},
        {"id":"manager-approval","status":"pass","evidence":["PHID-XACT-TASK-a"]}]}"#;
    let pending = r#"{"checks":[{"id":"manager-approval","status":"pending",
        "evidence":["PHID-XACT-TASK-a"]},{"id":"l3","status":"pass","evidence":[]}]}"#;
    let paste = r#"{"request":{"key":{"source":"paste"}},"checks":[]}"#;
    for (id, report) in [(1, approval), (2, pending), (3, paste), (4, "not json")] {
        s.put_task(&tier(report, id)).await.unwrap();
    }
    let rests = |index: Vec<PollEntry>| -> Vec<(i64, bool)> {
        index.iter().map(|e| (e.id, e.rests_on_comments)).collect()
    };
    assert_eq!(
        rests(s.poll_index().await.unwrap()),
        [(1, true), (2, false), (3, true), (4, true)]
    );
    // A new checklist moves the task between tiers.
    s.put_task(&tier(pending, 1)).await.unwrap();
    s.put_task(&tier(approval, 2)).await.unwrap();
    assert_eq!(
        rests(s.poll_index().await.unwrap())[..2],
        [(1, false), (2, true)]
    );
    // So does a batch of settled tasks; a row without a report keeps its tier.
    s.write_batch(&Batch {
        tasks: vec![tier(approval, 1), tier(pending, 2), tier("", 3)],
        ..Batch::default()
    })
    .await
    .unwrap();
    assert_eq!(
        rests(s.poll_index().await.unwrap()),
        [(1, true), (2, false), (3, true), (4, true)]
    );
}

/// Migration 0007 dropped 0005's triggers: the tier is decided in Rust now. Both agree on
/// the reports the bot writes and on the odd ones (not a checklist: frequent tier).
#[tokio::test]
async fn the_tier_decided_in_rust_agrees_with_the_triggers_of_migration_0005() {
    let s = Store::open_in_memory().await.unwrap();
    let reports = [
        r#"{"checks":[{"id":"l3","status":"pass","evidence":[]}]}"#,
        r#"{"checks":[{"id":"m","status":"pass","evidence":["PHID-XACT-TASK-a"]}]}"#,
        r#"{"checks":[{"id":"m","status":"fail","evidence":["PHID-XACT-TASK-a"]}]}"#,
        r#"{"checks":[{"id":"m","status":"pass","evidence":"x"}]}"#,
        r#"{"checks":[{"id":"m","status":"pass"}]}"#,
        r#"{"request":{"key":{"source":"paste"}},"checks":[]}"#,
        r#"{"request":{"key":{"source":"description"}},"checks":[]}"#,
        r#"{"request":{"key":null}}"#,
        r#"{"request":{}}"#,
        r#"{}"#,
        "not json",
    ];
    for r in reports {
        let sql: bool = sqlx::query_scalar(
            "SELECT CASE WHEN json_valid(?1) THEN
                EXISTS (SELECT 1 FROM json_each(?1, '$.checks') c
                        WHERE json_extract(?1, c.fullkey || '.status') IS 'pass'
                          AND json_array_length(?1, c.fullkey || '.evidence') > 0)
                OR json_extract(?1, '$.request.key.source') IS 'paste'
             ELSE 1 END",
        )
        .bind(r)
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(rests_on_comments(r), sql, "{r}");
    }
}

#[tokio::test]
async fn paste_histories_are_remembered_across_opens_the_last_reading_standing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let h = |paste_id, date_modified, editors: &[&str]| PasteHistoryRow {
        paste_id,
        date_modified,
        editors: editors.iter().map(|e| Phid::from(*e)).collect(),
        newest: Some(date_modified),
    };
    {
        let s = Store::open(&path).await.unwrap();
        s.put_paste_history(&h(7, 100, &["PHID-USER-a"]))
            .await
            .unwrap();
        s.put_paste_history(&h(8, 200, &[])).await.unwrap();
        // Read again after an edit: the new reading replaces the old.
        s.put_paste_history(&h(7, 150, &["PHID-USER-a", "PHID-USER-b"]))
            .await
            .unwrap();
    }
    let s = Store::open(&path).await.unwrap();
    let mut found = s.paste_histories(&[7, 8, 9]).await.unwrap();
    found.sort_by_key(|h| h.paste_id);
    assert_eq!(
        found,
        [h(7, 150, &["PHID-USER-a", "PHID-USER-b"]), h(8, 200, &[])]
    );
    assert!(s.paste_histories(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn comment_channels_are_remembered_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let (a, b, c) = (
        Phid::from("PHID-XACT-TASK-a"),
        Phid::from("PHID-XACT-TASK-b"),
        Phid::from("PHID-XACT-TASK-c"),
    );
    {
        let s = Store::open(&path).await.unwrap();
        s.put_channels(&[
            (a.clone(), Channel::Web),
            (b.clone(), Channel::Email),
            (c.clone(), Channel::Unknown),
        ])
        .await
        .unwrap();
        // The first reading stands.
        s.put_channels(&[(a.clone(), Channel::Email)])
            .await
            .unwrap();
    }
    let s = Store::open(&path).await.unwrap();
    let found = s
        .channels(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!(
        found,
        HashMap::from([(a, Channel::Web), (b, Channel::Email)])
    );
    assert!(s.channels(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn briefs_are_the_rows_without_their_report() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("b.db")).await.unwrap();
    // Every field set, and each to a value no other field has: a column read into the
    // wrong field cannot go unnoticed.
    let open = TaskRow {
        id: TaskId::new(3),
        phid: "PHID-TASK-a".into(),
        title: "Requesting access for jdoe".into(),
        requester: Username::new("jdoe"),
        shell_user: Some("jdoe-shell".into()),
        groups: "ops,deployment".into(),
        sudo: true,
        open: true,
        verdict: Verdict::Ready,
        until_at: Some(t(11)),
        who: vec![Who::Manager, Who::ProjectLead],
        tagged_at: Some(t(12)),
        created_at: t(13),
        date_modified: t(14),
        last_activity: Some(t(15)),
        checklist_hash: Some("hash-c".into()),
        posted_hash: Some("hash-p".into()),
        posted_xact: Some("PHID-XACT-TASK-p".into()),
        posted_at: Some(t(16)),
        evaluated_at: Some(t(17)),
        first_ready_at: Some(t(18)),
        meeting: Some(date("2026-11-16")),
        decision: Some(Decision::Approved),
        decided_by: Some("sre-lead".into()),
        decided_at: Some(t(19)),
        nudged_for: Some(t(20)),
        ready_marked: true,
        last_xact_id: 21,
        wake_at: Some(t(9)),
        first_meeting: Some(date("2026-11-09")),
        report_json: r#"{"verdict":"ready"}"#.into(),
    };
    let closed = TaskRow {
        id: TaskId::new(4),
        phid: "PHID-TASK-b".into(),
        verdict: Verdict::Closed,
        open: false,
        report_json: "{}".into(),
        ..Default::default()
    };
    s.put_task(&open).await.unwrap();
    s.put_task(&closed).await.unwrap();
    let briefs = s.task_briefs(false).await.unwrap();
    assert_eq!(briefs.len(), 2);
    assert_eq!(
        briefs[0],
        TaskRow {
            report_json: String::new(),
            ..open.clone()
        }
    );
    assert_eq!(s.task_briefs(true).await.unwrap().len(), 1);
    assert_eq!(
        s.tasks(false).await.unwrap(),
        vec![open.clone(), closed.clone()]
    );
    assert_eq!(s.task(TaskId::new(3)).await.unwrap(), Some(open.clone()));
    assert_eq!(
        s.task_brief(TaskId::new(3)).await.unwrap(),
        Some(TaskRow {
            report_json: String::new(),
            ..open.clone()
        })
    );
    assert_eq!(s.task_brief(TaskId::new(99)).await.unwrap(), None);
    let view = rows::view_fields;
    assert_eq!(
        s.view_rows(false).await.unwrap(),
        vec![view(&open), view(&closed)]
    );
    assert_eq!(s.view_rows(true).await.unwrap(), vec![view(&open)]);
    assert_eq!(
        s.poll_index().await.unwrap(),
        vec![
            PollEntry {
                id: 3,
                date_modified: 14,
                open: true,
                wake_at: Some(9),
                blocked: false,
                last_activity: Some(15),
                nudged_for: Some(20),
                granted: false,
                evaluated_at: Some(17),
                rests_on_comments: false,
                ready: true,
            },
            PollEntry {
                id: 4,
                date_modified: 0,
                open: false,
                wake_at: None,
                blocked: false,
                last_activity: None,
                nudged_for: None,
                granted: false,
                evaluated_at: None,
                rests_on_comments: false,
                ready: false,
            }
        ]
    );
    // A separator inside a field: the same rows, read the other way.
    let odd = TaskRow {
        id: TaskId::new(5),
        phid: "PHID-TASK-c".into(),
        groups: "a\u{1f}b\u{1e}c".into(),
        shell_user: Some(String::new()),
        ..Default::default()
    };
    s.put_task(&odd).await.unwrap();
    let rows = s.view_rows(false).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].groups, odd.groups);
    assert_eq!(rows[2].shell_user, Some(String::new()));
    // Writing a brief back keeps the stored report.
    let mut brief = briefs[0].clone();
    brief.verdict = Verdict::Waiting;
    s.put_task(&brief).await.unwrap();
    let again = s.task(TaskId::new(3)).await.unwrap().unwrap();
    assert_eq!(again.verdict, Verdict::Waiting);
    assert_eq!(again.report_json, open.report_json);
}

#[tokio::test]
async fn agenda_approvals_match_the_reports_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("g.db")).await.unwrap();
    let report = |checks: &[(&str, &str)]| {
        let checks: Vec<_> = checks
            .iter()
            .map(|(id, status)| serde_json::json!({"id": id, "status": status, "label": "x"}))
            .collect();
        serde_json::json!({"verdict": "waiting", "checks": checks}).to_string()
    };
    let sudo = |id: u64, meeting: &str, report_json: String| TaskRow {
        id: TaskId::new(id),
        phid: format!("PHID-TASK-{id}").into(),
        open: true,
        sudo: true,
        meeting: Some(date(meeting)),
        report_json,
        ..Default::default()
    };
    let day = "2026-11-16";
    let rows = vec![
        sudo(
            1,
            day,
            report(&[
                ("manager-approval", "pass"),
                ("lead-approval:ops", "pass"),
                ("lead-approval:deployment", "fail"),
                ("approval-typo", "pass"),
                ("l3", "pass"),
                ("sudo-review", "waiting"),
            ]),
        ),
        sudo(2, day, report(&[("manager-approval", "fail")])),
        sudo(3, "2026-11-30", report(&[("manager-approval", "pass")])),
        TaskRow {
            decision: Some(Decision::Approved),
            ..sudo(4, day, report(&[("manager-approval", "pass")]))
        },
        TaskRow {
            open: false,
            ..sudo(5, day, report(&[("manager-approval", "pass")]))
        },
        TaskRow {
            sudo: false,
            ..sudo(6, day, report(&[("manager-approval", "pass")]))
        },
        sudo(7, day, "not json".into()),
        sudo(8, day, r#"{"checks": "none"}"#.into()),
        sudo(9, day, report(&[("sponsor-approval", "pass")])),
    ];
    for r in &rows {
        s.put_task(r).await.unwrap();
    }
    let meeting = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let from_db = s.agenda_approvals(day).await.unwrap();
    assert_eq!(from_db, crate::report::approvals_by_task(&rows, meeting));
    assert_eq!(
        from_db.get(&1).cloned(),
        Some(vec![
            "manager-approval".to_string(),
            "lead-approval:ops".into()
        ])
    );
    assert_eq!(
        from_db.get(&9).cloned(),
        Some(vec!["sponsor-approval".into()])
    );
    assert_eq!(
        from_db.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 7, 8, 9]
    );
    assert_eq!(from_db.get(&7).cloned(), Some(vec![]));
}

#[tokio::test]
async fn migration_0002_fills_the_approvals_of_existing_reports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let first = dir.path().join("migrations");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(
        first.join("0001_initial.sql"),
        include_str!("../../migrations/0001_initial.sql"),
    )
    .unwrap();
    {
        // A database as the first release left it.
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        let report = r#"{"checks":[{"id":"manager-approval","status":"pass"},{"id":"lead-approval:ops","status":"fail"},{"id":"lead-approval:deployment","status":"pass"}]}"#;
        for (id, report) in [(1, report), (2, "{broken")] {
            sqlx::query("INSERT INTO tasks (id, phid, sudo, open, meeting) VALUES (?, 'P', 1, 1, '2026-11-16')")
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO reports (task_id, report_json) VALUES (?, ?)")
                .bind(id)
                .bind(report)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let s = Store::open(&db).await.unwrap();
    let got = s.agenda_approvals("2026-11-16").await.unwrap();
    assert_eq!(
        got.get(&1).cloned(),
        Some(vec![
            "manager-approval".to_string(),
            "lead-approval:deployment".into()
        ])
    );
    assert_eq!(got.get(&2).cloned(), Some(vec![]));
}

#[tokio::test]
async fn migration_0002_agrees_with_approvals_of() {
    // The reports the bot writes (a checklist's checks in order), and shapes it never
    // writes: the column migration 0002 filled for old reports is what the store now
    // computes in Rust for new ones.
    let checks = |checks: &[(&str, &str)]| {
        let checks: Vec<_> = checks
            .iter()
            .map(|(id, status)| serde_json::json!({"id": id, "status": status, "label": "é ✓"}))
            .collect();
        serde_json::json!({"verdict": "waiting", "checks": checks}).to_string()
    };
    let reports = [
        checks(&[
            ("manager-approval", "pass"),
            ("lead-approval:ops", "pass"),
            ("lead-approval:deployment", "fail"),
            ("approval-typo", "pass"),
            ("l3", "pass"),
            ("sponsor-approval", "pass"),
            ("lead-approval:wmcs-ü", "pass"),
        ]),
        checks(&[("manager-approval", "waiting"), ("Manager-Approval", "pass")]),
        checks(&[]),
        r#"{"verdict":"ready"}"#.into(),
        r#"{"checks":[{"id":"manager-approval"},{"status":"pass"},{"id":7,"status":"pass"},{"id":"x-approval","status":"pass"}]}"#.into(),
        r#"{"checks":[]}"#.into(),
        "{broken".into(),
        "[]".into(),
        String::new(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
        .unwrap()
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
    sqlx::raw_sql(include_str!("../../migrations/0001_initial.sql"))
        .execute(&pool)
        .await
        .unwrap();
    for (id, report) in reports.iter().enumerate() {
        sqlx::query("INSERT INTO reports (task_id, report_json) VALUES (?, ?)")
            .bind(id as i64)
            .bind(report)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::raw_sql(include_str!("../../migrations/0002_report_approvals.sql"))
        .execute(&pool)
        .await
        .unwrap();
    for (id, report) in reports.iter().enumerate() {
        let filled: String = sqlx::query_scalar("SELECT approvals FROM reports WHERE task_id = ?")
            .bind(id as i64)
            .fetch_one(&pool)
            .await
            .unwrap();
        let filled: Vec<String> = serde_json::from_str(&filled).unwrap();
        assert_eq!(filled, crate::report::approvals_of(report), "{report}");
        assert_eq!(
            approvals_column(report),
            serde_json::to_string(&filled).unwrap()
        );
    }
    pool.close().await;
}

fn moment(at: i64, xact: u64) -> Moment {
    Moment::of(chrono::DateTime::from_timestamp(at, 0).unwrap(), xact)
}

fn untracked(at: i64) -> Moment {
    Moment::untracked(chrono::DateTime::from_timestamp(at, 0).unwrap())
}

#[tokio::test]
async fn key_sightings_keep_the_first_appearance_and_order_one_second_by_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("k.db")).await.unwrap();
    let fp = Fingerprint::from("SHA256:k");
    let users = |v: Vec<KeySighting>| v.into_iter().map(|k| k.username).collect::<Vec<_>>();

    // The same second on two tasks: the transaction ids decide, both ways.
    s.record_key(&fp, TaskId::new(1), "owner", None, moment(100, 10))
        .await
        .unwrap();
    s.record_key(&fp, TaskId::new(2), "copier", None, moment(100, 11))
        .await
        .unwrap();
    let for_copier = s
        .key_sightings(&fp, "copier", moment(100, 11))
        .await
        .unwrap();
    assert_eq!(users(for_copier), ["owner"]);
    assert!(s
        .key_sightings(&fp, "owner", moment(100, 10))
        .await
        .unwrap()
        .is_empty());
    // A sighting with no transaction id in the same second: counts as earlier for both.
    s.record_key(&fp, TaskId::new(3), "third", None, untracked(100))
        .await
        .unwrap();
    assert_eq!(
        users(
            s.key_sightings(&fp, "owner", moment(100, 10))
                .await
                .unwrap()
        ),
        ["third"]
    );
    assert_eq!(
        users(s.key_sightings(&fp, "third", untracked(100)).await.unwrap()),
        ["owner", "copier"]
    );

    // Read again later with a later date (e.g. the comment with the key was edited): the
    // first appearance stays; the subject may change (it became known).
    s.record_key(&fp, TaskId::new(1), "Owner2", None, untracked(500))
        .await
        .unwrap();
    let row: (i64, Option<i64>, String) =
        sqlx::query_as("SELECT first_seen, first_xact, username FROM keys_seen WHERE task_id = 1")
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert_eq!(row, (100, Some(10), "owner2".to_string()));
    // An earlier date (a version the bot had not seen) moves it back.
    s.record_key(&fp, TaskId::new(1), "owner2", None, moment(90, 3))
        .await
        .unwrap();
    let row: (i64, Option<i64>) =
        sqlx::query_as("SELECT first_seen, first_xact FROM keys_seen WHERE task_id = 1")
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert_eq!(row, (90, Some(3)));

    // A sighting from before migration 0003 (dated by its task's creation) is replaced
    // outright by the first dated one, even though that one is later.
    sqlx::query(
        "INSERT INTO keys_seen (fingerprint, task_id, username, first_seen) VALUES (?, 4, 'author', 10)",
    )
    .bind(fp.as_str())
    .execute(&s.pool)
    .await
    .unwrap();
    s.record_key(&fp, TaskId::new(4), "subject", None, moment(300, 40))
        .await
        .unwrap();
    let row: (i64, Option<i64>, String, i64) = sqlx::query_as(
        "SELECT first_seen, first_xact, username, dated FROM keys_seen WHERE task_id = 4",
    )
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(row, (300, Some(40), "subject".to_string(), 1));
}

#[tokio::test]
async fn tasks_keys_and_audit_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let s = Store::open(&db).await.unwrap();
    assert_eq!(s.meta("cursor").await.unwrap(), None);
    s.set_meta("cursor", "42").await.unwrap();
    s.set_meta("cursor", "43").await.unwrap();
    assert_eq!(s.meta("cursor").await.unwrap().as_deref(), Some("43"));

    let row = TaskRow {
        id: TaskId::new(7),
        phid: "PHID-TASK-x".into(),
        verdict: Verdict::Blocked,
        open: true,
        ..Default::default()
    };
    s.put_task(&row).await.unwrap();
    s.record_posted(TaskId::new(7), "h1", Some("PHID-XACT-TASK-a"), 100)
        .await
        .unwrap();
    let got = s.task(TaskId::new(7)).await.unwrap().unwrap();
    assert_eq!(got.posted_hash.as_deref(), Some("h1"));
    assert_eq!(s.tasks(true).await.unwrap().len(), 1);

    let fp = Fingerprint::from("SHA256:abc");
    s.record_key(&fp, TaskId::new(7), "alice", Some("alice"), moment(50, 5))
        .await
        .unwrap();
    s.record_key(&fp, TaskId::new(8), "bob", Some("bob"), moment(60, 9))
        .await
        .unwrap();
    // Bob's request is checked: Alice had the key earlier.
    let seen = s.key_sightings(&fp, "Bob", moment(60, 9)).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].username, "alice");
    // Alice's request is checked: Bob's later copy does not block her.
    assert!(s
        .key_sightings(&fp, "alice", moment(50, 5))
        .await
        .unwrap()
        .is_empty());

    s.audit(TaskId::new(7), 1, None, "blocked", "[]")
        .await
        .unwrap();
    s.audit(TaskId::new(7), 2, Some("blocked"), "ready", "[]")
        .await
        .unwrap();
    assert_eq!(s.audit_log(TaskId::new(7)).await.unwrap().len(), 2);
    assert!(
        sqlx::query("DELETE FROM audit")
            .execute(&s.pool)
            .await
            .is_err(),
        "audit is append-only"
    );
    assert!(sqlx::query("UPDATE audit SET new_verdict = 'x'")
        .execute(&s.pool)
        .await
        .is_err());
    assert!(s.integrity_ok().await.unwrap());
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let first = WriterLock::acquire(&db).unwrap();
    let err = WriterLock::acquire(&db).unwrap_err();
    assert!(err.to_string().contains("already running"), "{err}");
    drop(first);
    WriterLock::acquire(&db).unwrap();
}

#[tokio::test]
async fn read_only_open_needs_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_existing(&dir.path().join("none.db"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no database at"), "{err}");
    let err = Store::open_read_only(&dir.path().join("none.db"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no database at"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a read-only open of a missing database creates nothing"
    );
}

#[tokio::test]
async fn a_read_only_store_reads_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let w = Store::open(&db).await.unwrap();
    w.put_task(&TaskRow {
        id: TaskId::new(1),
        phid: "PHID-TASK-1".into(),
        verdict: Verdict::Ready,
        open: true,
        ..Default::default()
    })
    .await
    .unwrap();
    w.audit(TaskId::new(1), 100, None, "ready", "[]")
        .await
        .unwrap();
    w.close().await;
    let before = std::fs::read(&db).unwrap();
    let r = Store::open_read_only(&db).await.unwrap();
    assert_eq!(r.tasks(false).await.unwrap().len(), 1);
    assert_eq!(r.audit_log(TaskId::new(1)).await.unwrap().len(), 1);
    let err = r.set_meta("cursor", "1").await.unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    r.close().await;
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is unchanged");
}

#[tokio::test]
async fn a_read_only_open_refuses_another_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("other.db");
    {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        sqlx::query("CREATE TABLE x (y)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let err = Store::open_read_only(&db).await.unwrap_err();
    assert!(
        err.to_string().contains("not an accessbot database"),
        "{err}"
    );
    let s = Store::open(&db).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&s.pool)
    .await
    .unwrap();
    s.close().await;
    let err = Store::open_read_only(&db).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the next `accessbot run` migrates it"),
        "{err}"
    );
}

#[tokio::test]
async fn verdict_counts_and_the_oldest_ready_request() {
    let s = Store::open_in_memory().await.unwrap();
    assert_eq!(s.oldest_ready_since().await.unwrap(), None);
    for (id, verdict, open) in [
        (1, Verdict::Ready, true),
        (2, Verdict::Ready, true),
        (3, Verdict::Blocked, true),
        (4, Verdict::Ready, false),
    ] {
        s.put_task(&TaskRow {
            id: TaskId::new(id),
            phid: format!("PHID-TASK-{id}").into(),
            verdict,
            open,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    // T1 was ready at 100, blocked at 150, ready again at 300; T2 ready since 200; T4
    // (closed) since 50.
    for (id, at, verdict) in [
        (1, 100, "ready"),
        (1, 150, "blocked"),
        (1, 300, "ready"),
        (2, 200, "ready"),
        (4, 50, "ready"),
    ] {
        s.audit(TaskId::new(id), at, None, verdict, "[]")
            .await
            .unwrap();
    }
    assert_eq!(s.oldest_ready_since().await.unwrap(), Some(200));
    let counts = s.open_verdict_counts().await.unwrap();
    assert_eq!(counts.get("ready"), Some(&2));
    assert_eq!(counts.get("blocked"), Some(&1));
    assert_eq!(counts.len(), 2);
}
