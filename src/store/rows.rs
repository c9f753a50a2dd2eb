//! The encodings of a task row between SQLite and [`TaskRow`], behind one module: the plain
//! column-by-column read (sqlx `FromRow`), and the fast forms the store uses instead when it
//! reads or writes many rows (sqlx hands SQLite rows over one at a time between threads, which
//! for 10,000 rows costs more than the query): a row as a JSON array ([`BRIEF_COLUMNS`],
//! [`row_json`]), the views' rows as one text of separated fields ([`VIEW_ROWS`]), and the
//! reports `status --json` streams ([`STATUS_REPORTS`]). Every fast form decodes to what the
//! plain one reads, or gives up and lets the caller read the plain way
//! (`every_encoding_decodes_to_the_plain_row`).

use super::TaskRow;
use sqlx::Row;
use std::collections::HashMap;

/// A task row read by sqlx column by column (the report's [`TaskRow`] is a plain type of the
/// core's `view`, which knows nothing of the database; the orphan rule keeps sqlx's `FromRow`
/// off it, so queries read it with `query(..).try_map(task_row)`).
pub(super) fn task_row(r: sqlx::sqlite::SqliteRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        id: r.try_get("id")?,
        phid: r.try_get("phid")?,
        title: r.try_get("title")?,
        requester: r.try_get("requester")?,
        shell_user: r.try_get("shell_user")?,
        groups: r.try_get("groups")?,
        sudo: r.try_get("sudo")?,
        open: r.try_get("open")?,
        verdict: r.try_get("verdict")?,
        until_at: r.try_get("until_at")?,
        who: r.try_get("who")?,
        tagged_at: r.try_get("tagged_at")?,
        created_at: r.try_get("created_at")?,
        date_modified: r.try_get("date_modified")?,
        last_activity: r.try_get("last_activity")?,
        checklist_hash: r.try_get("checklist_hash")?,
        posted_hash: r.try_get("posted_hash")?,
        posted_xact: r.try_get("posted_xact")?,
        posted_at: r.try_get("posted_at")?,
        evaluated_at: r.try_get("evaluated_at")?,
        first_ready_at: r.try_get("first_ready_at")?,
        meeting: r.try_get("meeting")?,
        decision: r.try_get("decision")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        nudged_for: r.try_get("nudged_for")?,
        ready_marked: r.try_get("ready_marked")?,
        last_xact_id: r.try_get("last_xact_id")?,
        wake_at: r.try_get("wake_at")?,
        first_meeting: r.try_get("first_meeting")?,
        report_json: r.try_get("report_json")?,
    })
}

/// A task row as the JSON array [`Store::write_batch`] reads: the columns of [`BRIEF_COLUMNS`],
/// then the report.
pub(super) fn row_json(t: &TaskRow) -> serde_json::Value {
    serde_json::json!([
        t.id,
        t.phid,
        t.title,
        t.requester,
        t.shell_user,
        t.groups,
        t.sudo as i64,
        t.open as i64,
        t.verdict,
        t.until_at,
        t.who,
        t.tagged_at,
        t.created_at,
        t.date_modified,
        t.last_activity,
        t.checklist_hash,
        t.posted_hash,
        t.posted_xact,
        t.posted_at,
        t.evaluated_at,
        t.first_ready_at,
        t.meeting,
        t.decision,
        t.decided_by,
        t.decided_at,
        t.nudged_for,
        t.ready_marked as i64,
        t.last_xact_id,
        t.wake_at,
        t.first_meeting,
        t.report_json
    ])
}

/// `value ->> 0, value ->> 1, …` for `n` columns of a JSON array row.
pub(super) fn json_columns(n: usize) -> String {
    (0..n)
        .map(|i| format!("value ->> {i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of a task row without its report, in the order of [`TaskRow`]'s fields: a row
/// is read as a JSON array of them (serde fills a struct from a sequence in field order), the
/// shortest text SQLite can build and serde can parse.
pub(super) const BRIEF_COLUMNS: &str = "id, phid, title, requester, shell_user, groups, sudo, open, verdict, until_at, who, tagged_at, created_at, date_modified, last_activity, checklist_hash, posted_hash, posted_xact, posted_at, evaluated_at, first_ready_at, meeting, decision, decided_by, decided_at, nudged_for, ready_marked, last_xact_id, wake_at, first_meeting";

/// The rows (all, or only open ones: `{}` is the filter) with what the clinic-duty views show,
/// and how many there are, as one text: NAK stands for NULL, US separates fields, RS rows. One
/// `printf` per row (chained `||` copies the row once per field), straight off the table in
/// rowid (= id) order, not through a sorted subquery of whole rows. A text field that holds
/// exactly the NULL mark is given a field separator instead, so the text does not parse and
/// the caller reads the rows as JSON.
pub(super) const VIEW_ROWS: &str =
    "SELECT group_concat(printf('%d%s%s%s%s%s%s%s%d%s%d%s%s%s%s%s%s%s%s%s%d%s%s%s%s%s%s%s%s',
         id, char(31), requester, char(31), {shell_user}, char(31), groups,
         char(31), sudo, char(31), open, char(31), verdict, char(31), ifnull(until_at, char(21)),
         char(31), who, char(31), ifnull(tagged_at, char(21)), char(31), created_at, char(31),
         ifnull(last_activity, char(21)), char(31), {meeting}, char(31),
         {decision}, char(31), {first_meeting}), char(30)), count(*)
     FROM tasks {filter}";

/// [`VIEW_ROWS`] with its filter.
pub(super) fn view_rows_sql(only_open: bool) -> String {
    let opt =
        |c: &str| format!("CASE WHEN {c} = char(21) THEN char(31) ELSE ifnull({c}, char(21)) END");
    VIEW_ROWS
        .replace("{shell_user}", &opt("shell_user"))
        .replace("{meeting}", &opt("meeting"))
        .replace("{decision}", &opt("decision"))
        .replace("{first_meeting}", &opt("first_meeting"))
        .replace("{filter}", if only_open { "WHERE open = 1" } else { "" })
}

/// The rows of [`VIEW_ROWS`] (`count` of them); `None` when the text does not split into
/// `count` rows of 15 fields (a separator inside a field), so the caller reads them as JSON.
pub(super) fn parse_view_rows(text: &str, count: i64) -> Option<Vec<TaskRow>> {
    fn opt_str(f: &str) -> Option<String> {
        (f != "\u{15}").then(|| f.to_string())
    }
    fn opt_int(f: &str) -> Option<Option<i64>> {
        if f == "\u{15}" {
            Some(None)
        } else {
            f.parse().ok().map(Some)
        }
    }
    let rows = text.split('\u{1e}');
    if rows.clone().count() as i64 != count {
        return None;
    }
    rows.map(|row| {
            let f: Vec<&str> = row.split('\u{1f}').collect();
            let [id, requester, shell_user, groups, sudo, open, verdict, until_at, who, tagged_at, created_at, last_activity, meeting, decision, first_meeting] =
                f.as_slice()
            else {
                return None;
            };
            Some(TaskRow {
                id: id.parse().ok()?,
                requester: requester.to_string(),
                shell_user: opt_str(shell_user),
                groups: groups.to_string(),
                sudo: *sudo != "0",
                open: *open != "0",
                verdict: verdict.to_string(),
                until_at: opt_int(until_at)?,
                who: who.to_string(),
                tagged_at: opt_int(tagged_at)?,
                created_at: created_at.parse().ok()?,
                last_activity: opt_int(last_activity)?,
                meeting: opt_str(meeting),
                decision: opt_str(decision),
                first_meeting: opt_str(first_meeting),
                ..TaskRow::default()
            })
        })
        .collect()
}

/// The evaluation time and stored report (`{}` when none) of the tasks of a JSON array of ids,
/// and how many rows there are, as one text like [`VIEW_ROWS`] (the report last, so it may
/// hold a separator).
pub(super) const STATUS_REPORTS: &str =
    "SELECT group_concat(printf('%d%s%s%s%s', t.id, char(31),
         ifnull(t.evaluated_at, char(21)), char(31), ifnull(r.report_json, '{}')), char(30)), count(*)
     FROM json_each(?) j JOIN tasks t ON t.id = j.value
     LEFT JOIN reports r ON r.task_id = t.id";

/// The same as [`STATUS_REPORTS`], row by row.
pub(super) const STATUS_REPORTS_PLAIN: &str =
    "SELECT t.id, t.evaluated_at, ifnull(r.report_json, '{}')
     FROM json_each(?) j JOIN tasks t ON t.id = j.value
     LEFT JOIN reports r ON r.task_id = t.id";

/// The reports of [`STATUS_REPORTS`] by id; `None` when the text does not split into `count`
/// rows of distinct ids (a report holding a row separator), so the caller reads them row by
/// row.
pub(super) fn parse_status_reports(
    text: Option<&str>,
    count: i64,
) -> Option<HashMap<i64, (Option<i64>, String)>> {
    let Some(text) = text else {
        return (count == 0).then(HashMap::new);
    };
    let rows = text.split('\u{1e}');
    if rows.clone().count() as i64 != count {
        return None;
    }
    let found = rows
        .map(|row| {
            let mut f = row.splitn(3, '\u{1f}');
            let id: i64 = f.next()?.parse().ok()?;
            let at = match f.next()? {
                "\u{15}" => None,
                t => Some(t.parse().ok()?),
            };
            Some((id, (at, f.next()?.to_string())))
        })
        .collect::<Option<HashMap<_, _>>>()?;
    (found.len() as i64 == count).then_some(found)
}

#[cfg(test)]
/// What the views keep of a row (see [`VIEW_ROWS`]).
pub(super) fn view_fields(r: &TaskRow) -> TaskRow {
    TaskRow {
        id: r.id,
        requester: r.requester.clone(),
        shell_user: r.shell_user.clone(),
        groups: r.groups.clone(),
        sudo: r.sudo,
        open: r.open,
        verdict: r.verdict.clone(),
        until_at: r.until_at,
        who: r.who.clone(),
        tagged_at: r.tagged_at,
        created_at: r.created_at,
        last_activity: r.last_activity,
        meeting: r.meeting.clone(),
        decision: r.decision.clone(),
        first_meeting: r.first_meeting.clone(),
        ..TaskRow::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Batch, Store, FULL};
    use super::*;

    fn full(id: i64, text: &str) -> TaskRow {
        TaskRow {
            id,
            phid: format!("PHID-TASK-{text}"),
            title: text.into(),
            requester: text.into(),
            shell_user: Some(text.into()),
            groups: text.into(),
            sudo: true,
            open: true,
            verdict: text.into(),
            until_at: Some(i64::MAX),
            who: text.into(),
            tagged_at: Some(i64::MIN),
            created_at: -1,
            date_modified: i64::MAX,
            last_activity: Some(0),
            checklist_hash: Some(text.into()),
            posted_hash: Some(String::new()),
            posted_xact: Some(text.into()),
            posted_at: Some(1 << 53 | 1),
            evaluated_at: Some(-(1 << 53) - 1),
            first_ready_at: Some(1),
            meeting: Some(text.into()),
            decision: Some(text.into()),
            decided_by: Some(text.into()),
            decided_at: Some(2),
            nudged_for: Some(3),
            ready_marked: true,
            last_xact_id: i64::MIN,
            wake_at: Some(4),
            first_meeting: Some(text.into()),
            report_json:
                serde_json::json!({"verdict": text, "checks": [{"id": "l3", "status": "pass"}]})
                    .to_string(),
        }
    }

    /// Rows holding the fast forms' separators or NULL mark, one at a time: each makes its
    /// form give up (one is crafted to read as an extra row of the view's text).
    fn hostile_rows() -> Vec<TaskRow> {
        let injected =
            "g\u{1f}0\u{1f}1\u{1f}ready\u{1f}\u{15}\u{1f}\u{1f}\u{15}\u{1f}0\u{1f}\u{15}\u{1f}\u{15}\u{1f}\u{15}\u{1f}\u{15}\u{1e}999\u{1f}mallory\u{1f}root\u{1f}g2";
        vec![
            TaskRow {
                groups: injected.into(),
                ..full(10, "x")
            },
            full(11, "\u{15}"),
            TaskRow {
                report_json: "{\"a\":\"\u{1e}12\u{1f}\u{15}\u{1f}{}\"}".into(),
                ..full(12, "y")
            },
            TaskRow {
                who: "a\u{1f}b".into(),
                ..full(13, "z")
            },
        ]
    }

    /// Rows covering every column's edge values: NULLs and empty texts, the largest and
    /// smallest integers, unicode, JSON-looking and quoted text.
    fn edge_rows() -> Vec<TaskRow> {
        vec![
            TaskRow {
                id: 1,
                ..TaskRow::default()
            },
            full(2, "ünïcødé ✓ 🔑 עברית e\u{301} \"quoted\" back\\slash\nline\ttab {\"a\":[1]} [1,2] null"),
            full(i64::MAX, "0"),
            TaskRow {
                report_json: "not json at all".into(),
                sudo: true,
                ..full(1 << 53 | 1, "")
            },
            TaskRow {
                id: -7,
                shell_user: Some(String::new()),
                meeting: Some(String::new()),
                ..TaskRow::default()
            },
        ]
    }

    #[tokio::test]
    async fn every_encoding_decodes_to_the_plain_row() {
        let sets = std::iter::once(None).chain(hostile_rows().into_iter().map(Some));
        for extra in sets {
            let hostile = extra.is_some();
            for batch in [false, true] {
                let s = Store::open_in_memory().await.unwrap();
                let mut written = edge_rows();
                written.extend(extra.clone());
                if batch {
                    s.write_batch(&Batch {
                        tasks: written.clone(),
                        ..Batch::default()
                    })
                    .await
                    .unwrap();
                } else {
                    for r in &written {
                        s.put_task(r).await.unwrap();
                    }
                }
                written.sort_by_key(|r| r.id);
                for r in &mut written {
                    if r.report_json.is_empty() {
                        r.report_json = "{}".into();
                    }
                }
                // The plain path reads what was written, whichever way it was written.
                let plain: Vec<TaskRow> = sqlx::query(&format!("{FULL} ORDER BY t.id"))
                    .try_map(task_row)
                    .fetch_all(&s.pool)
                    .await
                    .unwrap();
                assert_eq!(plain, written, "{extra:?}, batch {batch}");

                // Rows as JSON arrays, with and without their reports.
                assert_eq!(s.tasks(false).await.unwrap(), plain);
                let briefs: Vec<TaskRow> = plain
                    .iter()
                    .map(|r| TaskRow {
                        report_json: String::new(),
                        ..r.clone()
                    })
                    .collect();
                assert_eq!(s.task_briefs(false).await.unwrap(), briefs);
                for r in &plain {
                    assert_eq!(s.task(r.task_id()).await.unwrap().as_ref(), Some(r));
                }

                // The views' text: parsed when clean, read as JSON otherwise, the same rows.
                let (text, count): (Option<String>, i64) = sqlx::query_as(&view_rows_sql(false))
                    .fetch_one(&s.pool)
                    .await
                    .unwrap();
                let parsed = parse_view_rows(&text.unwrap(), count);
                // The report with separators does not touch the view's text.
                let report_only = extra.as_ref().is_some_and(|r| r.id == 12);
                assert_eq!(parsed.is_some(), !hostile || report_only, "{extra:?}");
                let view: Vec<TaskRow> = plain.iter().map(view_fields).collect();
                if let Some(mut parsed) = parsed {
                    parsed.sort_by_key(|r| r.id);
                    assert_eq!(parsed, view);
                }
                // (The fallback reads whole rows without reports: the view's fields agree.)
                let read: Vec<TaskRow> = s
                    .view_rows(false)
                    .await
                    .unwrap()
                    .iter()
                    .map(view_fields)
                    .collect();
                assert_eq!(read, view, "{extra:?}");

                // The reports of `status --json`: parsed when clean, row by row otherwise.
                let ids: Vec<i64> = plain.iter().map(|r| r.id).collect();
                let list = serde_json::to_string(&ids).unwrap();
                let (text, count): (Option<String>, i64) = sqlx::query_as(STATUS_REPORTS)
                    .bind(&list)
                    .fetch_one(&s.pool)
                    .await
                    .unwrap();
                assert_eq!(
                    parse_status_reports(text.as_deref(), count).is_some(),
                    !report_only,
                    "{extra:?}"
                );
                let reports: HashMap<i64, (Option<i64>, String)> = plain
                    .iter()
                    .map(|r| (r.id, (r.evaluated_at, r.report_json.clone())))
                    .collect();
                assert_eq!(s.status_reports(&ids).await.unwrap(), reports);
                assert!(s.status_reports(&[]).await.unwrap().is_empty());
            }
        }
    }
}
