//! The encodings of a task row between SQLite and [`TaskRow`], behind one module: the plain
//! column-by-column read (sqlx `FromRow`), and the fast forms the store uses instead when it
//! reads or writes many rows (sqlx hands SQLite rows over one at a time between threads, which
//! for 10,000 rows costs more than the query): a row as a JSON array ([`BRIEF_COLUMNS`],
//! [`row_json`]), the views' rows as one text of separated fields ([`VIEW_ROWS`]), and the
//! reports `status --json` streams ([`STATUS_REPORTS`]). Every fast form decodes to what the
//! plain one reads, or gives up and lets the caller read the plain way
//! (`every_encoding_decodes_to_the_plain_row`). A lifecycle row's columns become types and back
//! here too ([`StoredLife`]).

use super::{LifecycleRow, TaskRow};
use crate::ids::{Phid, TaskId, Username};
use crate::view::flag;
use crate::view::GrantedBy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::FromRow;
use std::collections::HashMap;

/// A task row as SQLite holds it: each column in its stored type (integers, texts), in the
/// order of [`BRIEF_COLUMNS`], then the report. Every read fills one — sqlx column by column
/// ([`task_row`]), serde from a JSON array ([`typed_rows`]), [`parse_view_rows`] from the
/// views' text — and [`Stored::typed`] turns it into a [`TaskRow`]; every write goes through
/// [`Stored::of`]. The one place where columns become types and back.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, FromRow)]
#[serde(default)]
pub(super) struct Stored {
    pub(super) id: i64,
    pub(super) phid: String,
    pub(super) title: String,
    pub(super) requester: String,
    pub(super) shell_user: Option<String>,
    pub(super) groups: String,
    #[serde(deserialize_with = "flag")]
    pub(super) sudo: bool,
    #[serde(deserialize_with = "flag")]
    pub(super) open: bool,
    pub(super) verdict: String,
    pub(super) until_at: Option<i64>,
    pub(super) who: String,
    pub(super) tagged_at: Option<i64>,
    pub(super) created_at: i64,
    pub(super) date_modified: i64,
    pub(super) last_activity: Option<i64>,
    pub(super) checklist_hash: Option<String>,
    pub(super) posted_hash: Option<String>,
    pub(super) posted_xact: Option<String>,
    pub(super) posted_at: Option<i64>,
    pub(super) evaluated_at: Option<i64>,
    pub(super) first_ready_at: Option<i64>,
    pub(super) meeting: Option<String>,
    pub(super) decision: Option<String>,
    pub(super) decided_by: Option<String>,
    pub(super) decided_at: Option<i64>,
    pub(super) nudged_for: Option<i64>,
    #[serde(deserialize_with = "flag")]
    pub(super) ready_marked: bool,
    pub(super) last_xact_id: i64,
    pub(super) wake_at: Option<i64>,
    pub(super) first_meeting: Option<String>,
    pub(super) report_json: String,
}

/// How a meeting date is stored.
const DAY: &str = "%Y-%m-%d";

impl Stored {
    /// The columns of a row, as they are written.
    pub(super) fn of(t: &TaskRow) -> Stored {
        let day = |d: &Option<NaiveDate>| d.map(|d| d.format(DAY).to_string());
        Stored {
            id: t.id.get() as i64,
            phid: t.phid.to_string(),
            title: t.title.clone(),
            requester: t.requester.to_string(),
            shell_user: t.shell_user.clone(),
            groups: t.groups.clone(),
            sudo: t.sudo,
            open: t.open,
            verdict: t.verdict.as_str().to_string(),
            until_at: t.until_at.map(|t| t.timestamp()),
            who: t
                .who
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(","),
            tagged_at: t.tagged_at.map(|t| t.timestamp()),
            created_at: t.created_at.timestamp(),
            date_modified: t.date_modified.timestamp(),
            last_activity: t.last_activity.map(|t| t.timestamp()),
            checklist_hash: t.checklist_hash.clone(),
            posted_hash: t.posted_hash.clone(),
            posted_xact: t.posted_xact.clone(),
            posted_at: t.posted_at.map(|t| t.timestamp()),
            evaluated_at: t.evaluated_at.map(|t| t.timestamp()),
            first_ready_at: t.first_ready_at.map(|t| t.timestamp()),
            meeting: day(&t.meeting),
            decision: t.decision.map(|d| d.as_str().to_string()),
            decided_by: t.decided_by.clone(),
            decided_at: t.decided_at.map(|t| t.timestamp()),
            nudged_for: t.nudged_for.map(|t| t.timestamp()),
            ready_marked: t.ready_marked,
            last_xact_id: t.last_xact_id,
            wake_at: t.wake_at.map(|t| t.timestamp()),
            first_meeting: day(&t.first_meeting),
            report_json: t.report_json.clone(),
        }
    }

    /// The typed row; a column that does not read as its type (a verdict, a name of who must
    /// act or a decision that is none of the known ones, a date that is not `YYYY-MM-DD`, a
    /// time out of chrono's range, a negative id) is an error naming the task and the column: never a guess. Each typed
    /// value is written back as the same text ([`Stored::of`]). The requester's own words
    /// (`shell_user`, `groups`) stay text and never fail.
    pub(super) fn typed(self) -> Result<TaskRow, sqlx::Error> {
        let id = self.id;
        let d = Decoder { row: "task", id };
        let who = if self.who.is_empty() {
            Vec::new()
        } else {
            self.who
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e: crate::view::UnknownName| d.bad("who", e.to_string()))?
        };
        Ok(TaskRow {
            id: d.task_id("id")?,
            phid: Phid::from(self.phid),
            title: self.title,
            // As stored: `Username::new` would trim it, and the row must read what was written.
            requester: Username::deserialize(serde::de::value::StringDeserializer::<
                serde::de::value::Error,
            >::new(self.requester))
            .map_err(|e| d.bad("requester", e.to_string()))?,
            shell_user: self.shell_user,
            groups: self.groups,
            sudo: self.sudo,
            open: self.open,
            verdict: self
                .verdict
                .parse()
                .map_err(|e: crate::view::UnknownName| d.bad("verdict", e.to_string()))?,
            until_at: d.time("until_at", self.until_at)?,
            who,
            tagged_at: d.time("tagged_at", self.tagged_at)?,
            created_at: d.at("created_at", self.created_at)?,
            date_modified: d.at("date_modified", self.date_modified)?,
            last_activity: d.time("last_activity", self.last_activity)?,
            checklist_hash: self.checklist_hash,
            posted_hash: self.posted_hash,
            posted_xact: self.posted_xact,
            posted_at: d.time("posted_at", self.posted_at)?,
            evaluated_at: d.time("evaluated_at", self.evaluated_at)?,
            first_ready_at: d.time("first_ready_at", self.first_ready_at)?,
            meeting: d.day("meeting", self.meeting)?,
            decision: self
                .decision
                .map(|d| d.parse())
                .transpose()
                .map_err(|e: crate::view::UnknownName| d.bad("decision", e.to_string()))?,
            decided_by: self.decided_by,
            decided_at: d.time("decided_at", self.decided_at)?,
            nudged_for: d.time("nudged_for", self.nudged_for)?,
            ready_marked: self.ready_marked,
            last_xact_id: self.last_xact_id,
            wake_at: d.time("wake_at", self.wake_at)?,
            first_meeting: d.day("first_meeting", self.first_meeting)?,
            report_json: self.report_json,
        })
    }
}

/// Reads stored columns of one row into types; what does not read is an error naming the row
/// (`task row 5`, `lifecycle row 5`), the column and the text.
struct Decoder {
    row: &'static str,
    id: i64,
}

impl Decoder {
    fn bad(&self, column: &str, why: String) -> sqlx::Error {
        sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: format!("{} row {}: {why}", self.row, self.id).into(),
        }
    }

    /// A `YYYY-MM-DD` date, written exactly so (no other form reads back the same).
    fn day(&self, column: &str, text: Option<String>) -> Result<Option<NaiveDate>, sqlx::Error> {
        let Some(text) = text else { return Ok(None) };
        match NaiveDate::parse_from_str(&text, DAY) {
            Ok(d) if d.format(DAY).to_string() == text => Ok(Some(d)),
            _ => Err(self.bad(column, format!("{text:?} is not a date (YYYY-MM-DD)"))),
        }
    }

    /// The row's task number (`column` holds it).
    fn task_id(&self, column: &str) -> Result<TaskId, sqlx::Error> {
        u64::try_from(self.id)
            .map(TaskId::new)
            .map_err(|_| self.bad(column, format!("{} is not a task number", self.id)))
    }

    /// A time stored as epoch seconds.
    fn at(&self, column: &str, t: i64) -> Result<DateTime<Utc>, sqlx::Error> {
        DateTime::from_timestamp(t, 0)
            .ok_or_else(|| self.bad(column, format!("{t} is not a time (epoch seconds)")))
    }

    fn time(&self, column: &str, t: Option<i64>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        t.map(|t| self.at(column, t)).transpose()
    }
}

/// A lifecycle row as SQLite holds it (migration 0004), in the columns' order: read by sqlx
/// ([`lifecycle_row`]) and written ([`StoredLife::of`]) only through it, like [`Stored`].
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub(super) struct StoredLife {
    pub(super) task_id: i64,
    pub(super) kind: String,
    pub(super) shell_user: Option<String>,
    pub(super) groups: String,
    pub(super) granted_at: Option<i64>,
    pub(super) granted_by: Option<String>,
    pub(super) expiry_date: Option<String>,
    pub(super) expiry_contact: Option<String>,
    pub(super) reminded_at: Option<i64>,
    pub(super) reminded_for: Option<String>,
    pub(super) expired_noted_at: Option<i64>,
    pub(super) expired_for: Option<String>,
}

impl StoredLife {
    /// The columns of a lifecycle row, as they are written.
    pub(super) fn of(l: &LifecycleRow) -> StoredLife {
        let day = |d: Option<NaiveDate>| d.map(|d| d.format(DAY).to_string());
        StoredLife {
            task_id: l.task_id.get() as i64,
            kind: l.kind.as_str().to_string(),
            shell_user: l.shell_user.clone(),
            groups: l.groups.clone(),
            granted_at: l.granted.map(|g| g.at().timestamp()),
            granted_by: l.granted.map(|g| g.as_str().to_string()),
            expiry_date: day(l.expiry_date),
            expiry_contact: l.expiry_contact.clone(),
            reminded_at: l.reminded_at.map(|t| t.timestamp()),
            reminded_for: day(l.reminded_for),
            expired_noted_at: l.expired_noted_at.map(|t| t.timestamp()),
            expired_for: day(l.expired_for),
        }
    }

    /// The row as the JSON array `write_batch` inserts, in the columns' order.
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!([
            self.task_id,
            self.kind,
            self.shell_user,
            self.groups,
            self.granted_at,
            self.granted_by,
            self.expiry_date,
            self.expiry_contact,
            self.reminded_at,
            self.reminded_for,
            self.expired_noted_at,
            self.expired_for
        ])
    }

    /// The typed row; a column that does not read as its type (a kind or a way of granting
    /// that is none of the known ones, a time granted without its way or the other way round, a
    /// date that is not `YYYY-MM-DD`, a time out of range, a negative id) is an error naming the
    /// task and the column: never a guess.
    pub(super) fn typed(self) -> Result<LifecycleRow, sqlx::Error> {
        let id = self.task_id;
        let d = Decoder {
            row: "lifecycle",
            id,
        };
        let granted = match (d.time("granted_at", self.granted_at)?, self.granted_by) {
            (None, None) => None,
            (Some(at), Some(by)) => Some(
                GrantedBy::from_name(&by, at).map_err(|e| d.bad("granted_by", e.to_string()))?,
            ),
            (Some(_), None) => return Err(d.bad("granted_by", "a time granted without how".into())),
            (None, Some(by)) => {
                return Err(d.bad("granted_at", format!("granted by {by:?} without a time")))
            }
        };
        Ok(LifecycleRow {
            task_id: d.task_id("task_id")?,
            kind: self
                .kind
                .parse()
                .map_err(|e: crate::view::UnknownName| d.bad("kind", e.to_string()))?,
            shell_user: self.shell_user,
            groups: self.groups,
            granted,
            expiry_date: d.day("expiry_date", self.expiry_date)?,
            expiry_contact: self.expiry_contact,
            reminded_at: d.time("reminded_at", self.reminded_at)?,
            reminded_for: d.day("reminded_for", self.reminded_for)?,
            expired_noted_at: d.time("expired_noted_at", self.expired_noted_at)?,
            expired_for: d.day("expired_for", self.expired_for)?,
        })
    }
}

/// A lifecycle row read by sqlx column by column (see [`task_row`] for why not `FromRow`).
pub(super) fn lifecycle_row(r: sqlx::sqlite::SqliteRow) -> Result<LifecycleRow, sqlx::Error> {
    StoredLife::from_row(&r)?.typed()
}

/// A task row read by sqlx column by column (the report's [`TaskRow`] is a plain type of the
/// core's `view`, which knows nothing of the database; the orphan rule keeps sqlx's `FromRow`
/// off it, so queries read it with `query(..).try_map(task_row)`).
pub(super) fn task_row(r: sqlx::sqlite::SqliteRow) -> Result<TaskRow, sqlx::Error> {
    Stored::from_row(&r)?.typed()
}

/// The rows of a JSON array of [`Stored`] rows (what [`BRIEF_COLUMNS`] reads), typed.
pub(super) fn typed_rows(rows: Vec<Stored>) -> Result<Vec<TaskRow>, sqlx::Error> {
    rows.into_iter().map(Stored::typed).collect()
}

/// A task row as the JSON array [`Store::write_batch`] reads: the columns of [`BRIEF_COLUMNS`],
/// then the report.
pub(super) fn row_json(t: &TaskRow) -> serde_json::Value {
    let t = Stored::of(t);
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
            Stored {
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
                ..Stored::default()
            }
            // A column that does not read as its type: the plain read says which.
            .typed()
            .ok()
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

/// The reports of one slice of `status --json` (one query aggregates it): one text, each task's
/// evaluation time beside the range of the text that is its report, so a slice of 500 reports
/// is one allocation and no report is copied out of it.
#[derive(Debug, Default)]
pub struct StatusReports {
    text: String,
    found: HashMap<i64, (Option<i64>, std::ops::Range<usize>)>,
}

impl StatusReports {
    /// The evaluation time and the stored report of task `id`, if the slice holds it.
    pub fn get(&self, id: i64) -> Option<(Option<i64>, &str)> {
        let (at, range) = self.found.get(&id)?;
        Some((*at, &self.text[range.clone()]))
    }

    /// How many tasks the slice holds.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Whether the slice holds no task.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The slice read row by row ([`STATUS_REPORTS_PLAIN`]).
    pub(super) fn from_rows(rows: Vec<(i64, Option<i64>, String)>) -> Self {
        let mut out = StatusReports {
            text: String::with_capacity(rows.iter().map(|r| r.2.len()).sum()),
            found: HashMap::with_capacity(rows.len()),
        };
        for (id, at, report) in rows {
            let start = out.text.len();
            out.text.push_str(&report);
            out.found.insert(id, (at, start..out.text.len()));
        }
        out
    }

    #[cfg(test)]
    fn to_map(&self) -> HashMap<i64, (Option<i64>, String)> {
        self.found
            .iter()
            .map(|(id, (at, r))| (*id, (*at, self.text[r.clone()].to_string())))
            .collect()
    }
}

/// The reports of [`STATUS_REPORTS`] by id; `None` when the text does not split into `count`
/// rows of distinct ids (a report holding a row separator), so the caller reads them row by
/// row.
pub(super) fn parse_status_reports(text: Option<String>, count: i64) -> Option<StatusReports> {
    let Some(text) = text else {
        return (count == 0).then(StatusReports::default);
    };
    let mut found = HashMap::with_capacity(usize::try_from(count).ok()?);
    let mut rows = 0i64;
    let mut start = 0;
    for row in text.split('\u{1e}') {
        rows += 1;
        let mut f = row.splitn(3, '\u{1f}');
        let id: i64 = f.next()?.parse().ok()?;
        let at = match f.next()? {
            "\u{15}" => None,
            t => Some(t.parse().ok()?),
        };
        let report = f.next()?;
        let end = start + row.len();
        found.insert(id, (at, end - report.len()..end));
        start = end + '\u{1e}'.len_utf8();
    }
    (rows == count && found.len() as i64 == count).then_some(StatusReports { text, found })
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
        verdict: r.verdict,
        until_at: r.until_at,
        who: r.who.clone(),
        tagged_at: r.tagged_at,
        created_at: r.created_at,
        last_activity: r.last_activity,
        meeting: r.meeting,
        decision: r.decision,
        first_meeting: r.first_meeting,
        ..TaskRow::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tasks::FULL;
    use super::super::{Batch, Store, StoreError};
    use super::*;
    use crate::policy::{Verdict, Who};
    use crate::view::Decision;
    use chrono::Utc;

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    /// The time `s` epoch seconds.
    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    /// The latest and the earliest whole seconds a time column holds.
    fn latest() -> DateTime<Utc> {
        t(DateTime::<Utc>::MAX_UTC.timestamp())
    }
    fn earliest() -> DateTime<Utc> {
        t(DateTime::<Utc>::MIN_UTC.timestamp())
    }

    fn full(id: u64, text: &str) -> TaskRow {
        TaskRow {
            id: TaskId::new(id),
            phid: format!("PHID-TASK-{text}").into(),
            title: text.into(),
            requester: Username::new(text),
            shell_user: Some(text.into()),
            groups: text.into(),
            sudo: true,
            open: true,
            verdict: Verdict::NotARequest,
            until_at: Some(latest()),
            who: vec![Who::Requester, Who::ClinicDuty, Who::ProjectLead],
            tagged_at: Some(earliest()),
            created_at: t(-1),
            date_modified: latest(),
            last_activity: Some(t(0)),
            checklist_hash: Some(text.into()),
            posted_hash: Some(String::new()),
            posted_xact: Some(text.into()),
            posted_at: Some(t(1 << 40 | 1)),
            evaluated_at: Some(t(-(1 << 40) - 1)),
            first_ready_at: Some(t(1)),
            meeting: Some(date("9999-12-31")),
            decision: Some(Decision::Declined),
            decided_by: Some(text.into()),
            decided_at: Some(t(2)),
            nudged_for: Some(t(3)),
            ready_marked: true,
            last_xact_id: i64::MIN,
            wake_at: Some(t(4)),
            first_meeting: Some(date("0001-01-01")),
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
                requester: Username::new("a\u{1f}b"),
                ..full(13, "z")
            },
        ]
    }

    /// Rows covering every column's edge values: NULLs and empty texts, the largest and
    /// smallest integers, unicode, JSON-looking and quoted text, and every value of each
    /// typed column.
    fn edge_rows() -> Vec<TaskRow> {
        let mut rows = vec![
            TaskRow {
                id: TaskId::new(1),
                ..TaskRow::default()
            },
            full(2, "ünïcødé ✓ 🔑 עברית e\u{301} \"quoted\" back\\slash\nline\ttab {\"a\":[1]} [1,2] null"),
            full(i64::MAX as u64, "0"),
            TaskRow {
                report_json: "not json at all".into(),
                sudo: true,
                ..full(1 << 53 | 1, "")
            },
            TaskRow {
                id: TaskId::new(0),
                shell_user: Some(String::new()),
                ..TaskRow::default()
            },
        ];
        for (i, verdict) in Verdict::ALL.into_iter().enumerate() {
            rows.push(TaskRow {
                verdict,
                who: Who::ALL
                    .iter()
                    .copied()
                    .cycle()
                    .skip(i)
                    .take(i % 4)
                    .collect(),
                decision: [None, Some(Decision::Approved), Some(Decision::Declined)][i % 3],
                meeting: (i % 2 == 0).then(|| date("2026-11-16")),
                first_meeting: (i % 3 == 0).then(|| date("2026-02-28")),
                ..full(100 + i as u64, "v")
            });
        }
        rows
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
                let report_only = extra.as_ref().is_some_and(|r| r.id == TaskId::new(12));
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
                let ids: Vec<i64> = plain.iter().map(|r| r.id.get() as i64).collect();
                let list = serde_json::to_string(&ids).unwrap();
                let (text, count): (Option<String>, i64) = sqlx::query_as(STATUS_REPORTS)
                    .bind(&list)
                    .fetch_one(&s.pool)
                    .await
                    .unwrap();
                assert_eq!(
                    parse_status_reports(text, count).is_some(),
                    !report_only,
                    "{extra:?}"
                );
                let reports: HashMap<i64, (Option<i64>, String)> = plain
                    .iter()
                    .map(|r| {
                        let at = r.evaluated_at.map(|t| t.timestamp());
                        (r.id.get() as i64, (at, r.report_json.clone()))
                    })
                    .collect();
                assert_eq!(s.status_reports(&ids).await.unwrap().to_map(), reports);
                assert!(s.status_reports(&[]).await.unwrap().is_empty());
            }
        }
    }

    /// Stored texts that are none of their type's values (a row written by another version or
    /// by hand): every way of reading the row fails and names the column and the text; none
    /// guesses a value.
    #[tokio::test]
    async fn a_stored_value_its_type_refuses_is_an_error_on_every_read() {
        let bad = [
            ("verdict", "'readyish'", "readyish"),
            ("verdict", "'Ready'", "Ready"),
            ("verdict", "''", "\"\""),
            ("who", "'sre,boss'", "boss"),
            ("who", "'sre,'", "\"\""),
            ("who", "'sre, manager'", " manager"),
            ("decision", "'maybe'", "maybe"),
            ("meeting", "'2026-13-01'", "2026-13-01"),
            ("meeting", "'2026-1-5'", "2026-1-5"),
            ("first_meeting", "'soon'", "soon"),
            ("id", "-7", "-7"),
            ("until_at", "8210298412800", "8210298412800"),
            ("created_at", "-9223372036854775807", "-9223372036854775807"),
            (
                "last_activity",
                "9223372036854775807",
                "9223372036854775807",
            ),
            ("wake_at", "-8334601228801", "-8334601228801"),
        ];
        for (column, value, shown) in bad {
            let s = Store::open_in_memory().await.unwrap();
            s.put_task(&full(5, "x")).await.unwrap();
            s.put_task(&full(6, "y")).await.unwrap();
            sqlx::query(&format!("UPDATE tasks SET {column} = {value} WHERE id = 5"))
                .execute(&s.pool)
                .await
                .unwrap();
            let id = if column == "id" { -7 } else { 5 };
            let says = |e: StoreError| {
                let e = e.to_string();
                assert!(
                    e.contains(column) && e.contains(shown) && e.contains(&format!("row {id}")),
                    "{column} = {value}: {e}"
                );
            };
            if column != "id" {
                says(s.task(TaskId::new(5)).await.unwrap_err());
                says(s.task_brief(TaskId::new(5)).await.unwrap_err());
                says(s.task_briefs_of(&[5, 6]).await.unwrap_err());
            }
            says(s.tasks(false).await.unwrap_err());
            says(s.task_briefs(false).await.unwrap_err());
            // The views' text gives up on it, and the fallback says why; a column the views do
            // not read does not stop them.
            let (text, count): (Option<String>, i64) = sqlx::query_as(&view_rows_sql(false))
                .fetch_one(&s.pool)
                .await
                .unwrap();
            let parsed = parse_view_rows(&text.unwrap(), count);
            // (Of these columns, only `wake_at` is not among the views' fields.)
            if column != "wake_at" {
                assert_eq!(parsed, None, "{column}");
                says(s.view_rows(false).await.unwrap_err());
            } else {
                assert!(parsed.is_some(), "{column}");
                assert_eq!(s.view_rows(false).await.unwrap().len(), 2);
            }
            // The other row still reads.
            assert_eq!(s.task(TaskId::new(6)).await.unwrap(), Some(full(6, "y")));
        }
    }

    /// A lifecycle row reads back as it was written, by `put_lifecycle` and by `write_batch`,
    /// through every read; a stored value its type refuses is an error naming the row and the
    /// column, never a guess (before, a bad expiry date read as no expiry at all).
    #[tokio::test]
    async fn a_lifecycle_row_reads_back_typed_and_a_bad_one_is_an_error() {
        use crate::view::{GrantedBy, LifeKind};
        let day = |d: &str| NaiveDate::parse_from_str(d, DAY).unwrap();
        let at = |t: i64| DateTime::from_timestamp(t, 0).unwrap();
        let full = LifecycleRow {
            task_id: TaskId::new(5),
            kind: LifeKind::User,
            shell_user: Some("jdoe".into()),
            groups: "a,b".into(),
            granted: Some(GrantedBy::Resolved(at(1_796_000_000))),
            expiry_date: Some(day("2027-01-15")),
            expiry_contact: Some("mboss".into()),
            reminded_at: Some(at(1_796_100_000)),
            reminded_for: Some(day("2027-01-15")),
            expired_noted_at: Some(at(1_796_200_000)),
            expired_for: Some(day("2027-01-15")),
        };
        let removal = LifecycleRow {
            task_id: TaskId::new(6),
            kind: LifeKind::Removal,
            ..LifecycleRow::default()
        };
        for via_batch in [false, true] {
            let s = Store::open_in_memory().await.unwrap();
            if via_batch {
                s.write_batch(&Batch {
                    lifecycle: vec![full.clone(), removal.clone()],
                    ..Batch::default()
                })
                .await
                .unwrap();
            } else {
                s.put_lifecycle(&full).await.unwrap();
                s.put_lifecycle(&removal).await.unwrap();
            }
            assert_eq!(
                s.lifecycle(TaskId::new(5)).await.unwrap(),
                Some(full.clone())
            );
            assert_eq!(
                s.lifecycle(TaskId::new(6)).await.unwrap(),
                Some(removal.clone())
            );
            assert_eq!(s.lifecycles_of(&[5, 6]).await.unwrap().len(), 2);
            assert_eq!(s.granted_lifecycles().await.unwrap(), vec![full.clone()]);
            // Stored as before: the same texts and integers.
            let (kind, by, granted_at, expiry): (String, String, i64, String) = sqlx::query_as(
                "SELECT kind, granted_by, granted_at, expiry_date FROM lifecycle WHERE task_id = 5",
            )
            .fetch_one(&s.pool)
            .await
            .unwrap();
            assert_eq!(
                (kind.as_str(), by.as_str(), granted_at, expiry.as_str()),
                ("user", "resolved", 1_796_000_000, "2027-01-15")
            );
        }
        let bad = [
            ("kind", "'users'", "users"),
            ("granted_by", "'hand'", "hand"),
            ("granted_by", "NULL", "without how"),
            ("expiry_date", "'2027-1-15'", "2027-1-15"),
            ("reminded_for", "'soon'", "soon"),
            ("reminded_at", "8210298412800", "8210298412800"),
            ("task_id", "-5", "-5"),
        ];
        for (column, value, shown) in bad {
            let s = Store::open_in_memory().await.unwrap();
            s.put_lifecycle(&full).await.unwrap();
            sqlx::query(&format!("UPDATE lifecycle SET {column} = {value}"))
                .execute(&s.pool)
                .await
                .unwrap();
            let id = if column == "task_id" { -5 } else { 5 };
            let says = |e: StoreError| {
                let e = e.to_string();
                assert!(
                    e.contains(column) && e.contains(shown) && e.contains(&format!("row {id}")),
                    "{column} = {value}: {e}"
                );
            };
            if column != "task_id" {
                says(s.lifecycle(TaskId::new(5)).await.unwrap_err());
            }
            says(s.granted_lifecycles().await.unwrap_err());
        }
    }
}
