//! The tracked tasks: their rows and stored reports, the poll's index of them, what the
//! views read (`status`, `agenda`, `status --json`), and the cycle's batch written in one
//! transaction.

use super::keys::KEY_UPSERT;
use super::rows::{self, json_columns, task_row, BRIEF_COLUMNS};
use super::{decode, AuditRecord, KeyRecord, LifecycleRow, Store, StoreError, TaskRow};
use crate::ids::TaskId;
use crate::view::flag;
use std::collections::BTreeMap;

/// What the poll needs of a tracked task (see [`Store::poll_index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct PollEntry {
    /// Task id number.
    pub id: i64,
    /// The task's dateModified when last read.
    pub date_modified: i64,
    /// Whether the task is open.
    #[serde(deserialize_with = "flag")]
    pub open: bool,
    /// When time alone may change the checklist.
    pub wake_at: Option<i64>,
    /// Whether the last verdict was `blocked`.
    #[serde(deserialize_with = "flag")]
    pub blocked: bool,
    /// Last activity by anyone but the bot.
    pub last_activity: Option<i64>,
    /// The last_activity value a stale nudge was posted for.
    pub nudged_for: Option<i64>,
    /// Whether the last verdict was `granted` (its task is read again only when it changes or
    /// its expiry is due, never on the reconcile cycle).
    #[serde(deserialize_with = "flag")]
    pub granted: bool,
    /// When it was last read and evaluated (the reconcile re-reads it a period after).
    pub evaluated_at: Option<i64>,
    /// Whether its last checklist rests on comments or a paste, which can change without the
    /// task's dateModified (migration 0005; true when unknown).
    #[serde(deserialize_with = "flag")]
    pub rests_on_comments: bool,
    /// Whether the last verdict was `ready`.
    #[serde(deserialize_with = "flag")]
    pub ready: bool,
}

/// What the poller writes for a batch of settled tasks, in one transaction
/// ([`Store::write_batch`]): task rows (with their reports), audit entries, key sightings,
/// lifecycle rows and meta values.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Task rows; a row with an empty `report_json` keeps its stored report.
    pub tasks: Vec<TaskRow>,
    /// Audit entries, appended in this order.
    pub audit: Vec<AuditRecord>,
    /// Key sightings.
    pub keys: Vec<KeyRecord>,
    /// Lifecycle rows (inserted or replaced).
    pub lifecycle: Vec<LifecycleRow>,
    /// Meta values.
    pub meta: Vec<(String, String)>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
            && self.audit.is_empty()
            && self.keys.is_empty()
            && self.lifecycle.is_empty()
            && self.meta.is_empty()
    }
}

/// The `approvals` column of a stored report (migration 0002): the ids of its passing
/// approval checks as a JSON array, computed in Rust by [`crate::report::approvals_of`] when
/// the report is written (the agenda reads the column, not the report). Migration 0002 filled
/// the column of the reports that existed then with its own SQL, which agrees with that
/// function on the reports the bot writes (`migration_0002_agrees_with_approvals_of`).
pub(super) fn approvals_column(report_json: &str) -> String {
    serde_json::to_string(&crate::report::approvals_of(report_json)).unwrap_or_else(|_| "[]".into())
}

/// The reconcile tier of a stored report (`reconcile_tiers`, migration 0005): whether its
/// checklist rests on what can change without the task's dateModified moving, i.e. a passing
/// check with evidence (always a comment) or a key in a paste. Written with the report since
/// migration 0007, deciding as 0005's triggers did; a report that cannot be read as a
/// checklist counts as resting on comments (the frequent tier: fail closed).
pub(super) fn rests_on_comments(report_json: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Report {
        #[serde(default)]
        checks: Vec<Check>,
        #[serde(default)]
        request: Option<Request>,
    }
    #[derive(serde::Deserialize)]
    struct Check {
        #[serde(default)]
        status: serde_json::Value,
        #[serde(default)]
        evidence: serde_json::Value,
    }
    #[derive(serde::Deserialize)]
    struct Request {
        #[serde(default)]
        key: Option<Key>,
    }
    #[derive(serde::Deserialize)]
    struct Key {
        #[serde(default)]
        source: serde_json::Value,
    }
    let Ok(r) = serde_json::from_str::<Report>(report_json) else {
        return true;
    };
    r.checks
        .iter()
        .any(|c| c.status == "pass" && c.evidence.as_array().is_some_and(|e| !e.is_empty()))
        || r.request
            .and_then(|q| q.key)
            .is_some_and(|k| k.source == "paste")
}

/// A whole task row: the task and its stored report.
pub(super) const FULL: &str = "SELECT t.*, COALESCE(r.report_json, '{}') AS report_json
    FROM tasks t LEFT JOIN reports r ON r.task_id = t.id";

impl Store {
    /// One task.
    pub async fn task(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        Ok(sqlx::query(&format!("{FULL} WHERE t.id = ?"))
            .bind(id.get() as i64)
            .try_map(task_row)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// All tasks, or only open ones, by id.
    pub async fn tasks(&self, only_open: bool) -> Result<Vec<TaskRow>, StoreError> {
        self.rows(if only_open { "WHERE t.open = 1" } else { "" }, true)
            .await
    }

    /// All tasks, or only open ones, by id, without their `report_json` (left empty): what
    /// the poller and the status table need, without reading every stored checklist. Writing
    /// such a row back keeps the stored report.
    pub async fn task_briefs(&self, only_open: bool) -> Result<Vec<TaskRow>, StoreError> {
        self.rows(if only_open { "WHERE t.open = 1" } else { "" }, false)
            .await
    }

    /// The approvals present (ids of passing approval checks, in report order) of each open,
    /// undecided sudo request scheduled for `meeting` (`YYYY-MM-DD`), by task id: what the
    /// agenda lists. They are kept beside each report when it is stored, so no report is read
    /// here; [`crate::report::approvals_by_task`] is the same extraction over rows read whole.
    pub async fn agenda_approvals(
        &self,
        meeting: &str,
    ) -> Result<BTreeMap<i64, Vec<String>>, StoreError> {
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_object(t.id, json(r.approvals)), '{}')
             FROM tasks t JOIN reports r ON r.task_id = t.id
             WHERE t.open = 1 AND t.sudo = 1 AND t.decision IS NULL AND t.meeting = ?",
        )
        .bind(meeting)
        .fetch_one(&self.pool)
        .await?;
        let by_id: BTreeMap<String, Vec<String>> = decode(&json)?;
        Ok(by_id
            .into_iter()
            .filter_map(|(id, a)| Some((id.parse().ok()?, a)))
            .collect())
    }

    /// The group privilege changes among the open, undecided requests scheduled for `meeting`
    /// (`YYYY-MM-DD`), by task id, with the change each asks for (`None`: not described):
    /// what the agenda lists in their own section ([`crate::report::changes_by_task`] is the
    /// same over rows read whole).
    pub async fn agenda_changes(
        &self,
        meeting: &str,
    ) -> Result<BTreeMap<i64, Option<String>>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT t.id, json_extract(r.report_json, '$.request.change')
             FROM tasks t JOIN reports r ON r.task_id = t.id
             WHERE t.open = 1 AND t.sudo = 1 AND t.decision IS NULL AND t.meeting = ?
               AND json_valid(r.report_json)
               AND json_extract(r.report_json, '$.request.kind') = 'privilege-change'",
        )
        .bind(meeting)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The rows (all, or only open ones) with just what the clinic-duty views show: id,
    /// requester, shell user, groups, sudo, open, verdict, until, who, tagged, created, last
    /// activity, meeting, decision, first meeting; every other field is left empty. Read as one
    /// text of separated fields, the cheapest form SQLite builds (building JSON for 10,000 rows
    /// was most of `status`); a field holding a separator falls back to [`Self::task_briefs`].
    pub async fn view_rows(&self, only_open: bool) -> Result<Vec<TaskRow>, StoreError> {
        let (text, count): (Option<String>, i64) = sqlx::query_as(&rows::view_rows_sql(only_open))
            .fetch_one(&self.pool)
            .await?;
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        match rows::parse_view_rows(&text, count) {
            Some(mut rows) => {
                // Already in id order in practice; SQLite does not promise it.
                rows.sort_by_key(|r| r.id);
                Ok(rows)
            }
            None => self.task_briefs(only_open).await,
        }
    }

    /// The evaluation time and stored report (`{}` when none is stored) of each of `ids`, by
    /// id: what `status --json` adds to the rows of [`Self::view_rows`], read a slice of the
    /// tasks at a time so that no more than that slice of reports is held. Read as one text of
    /// separated fields like [`Self::view_rows`] (a report is JSON, whose strings hold no raw
    /// control character); a text that does not split cleanly falls back to row by row.
    pub async fn status_reports(&self, ids: &[i64]) -> Result<rows::StatusReports, StoreError> {
        let list = format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        let (text, count): (Option<String>, i64) = sqlx::query_as(rows::STATUS_REPORTS)
            .bind(&list)
            .fetch_one(&self.pool)
            .await?;
        if let Some(found) = rows::parse_status_reports(text, count) {
            return Ok(found);
        }
        let rows: Vec<(i64, Option<i64>, String)> = sqlx::query_as(rows::STATUS_REPORTS_PLAIN)
            .bind(&list)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::StatusReports::from_rows(rows))
    }

    /// One task's row without its report (see [`Self::task_briefs`]).
    pub async fn task_brief(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        Ok(self
            .rows(&format!("WHERE t.id = {}", id.get() as i64), false)
            .await?
            .pop())
    }

    /// What the poll needs of every tracked task, by id: `(id, date_modified, open, wake_at,
    /// blocked, last_activity, nudged_for, granted)`; a cold sync of thousands does not hold whole rows.
    pub async fn poll_index(&self) -> Result<Vec<PollEntry>, StoreError> {
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_array(json_array(t.id, t.date_modified, t.open, t.wake_at,
                 t.verdict = 'blocked', t.last_activity, t.nudged_for, t.verdict = 'granted',
                 t.evaluated_at, COALESCE(r.rests_on_comments, 1), t.verdict = 'ready')), '[]')
             FROM tasks t LEFT JOIN reconcile_tiers r ON r.task_id = t.id",
        )
        .fetch_one(&self.pool)
        .await?;
        decode(&json)
    }

    /// Task rows matching `filter`, by id, as one JSON array of arrays: sqlx hands SQLite rows
    /// over one by one between threads, which for 10,000 rows costs far more than building and
    /// parsing one JSON text.
    async fn rows(&self, filter: &str, with_report: bool) -> Result<Vec<TaskRow>, StoreError> {
        let sql = if with_report {
            format!(
                "SELECT COALESCE(json_group_array(json_array({BRIEF_COLUMNS}, report_json)), '[]') FROM
                 (SELECT t.*, COALESCE(r.report_json, '{{}}') AS report_json FROM tasks t
                  LEFT JOIN reports r ON r.task_id = t.id {filter} ORDER BY t.id)"
            )
        } else {
            format!(
                "SELECT COALESCE(json_group_array(json_array({BRIEF_COLUMNS})), '[]') FROM
                 (SELECT * FROM tasks t {filter} ORDER BY t.id)"
            )
        };
        let json: String = sqlx::query_scalar(&sql).fetch_one(&self.pool).await?;
        Ok(rows::typed_rows(decode(&json)?)?)
    }

    /// Inserts or replaces a task row, and its report unless the row carries none (a row read
    /// with [`Self::task_briefs`] keeps the stored report).
    pub async fn put_task(&self, t: &TaskRow) -> Result<(), StoreError> {
        let t = &rows::Stored::of(t);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tasks (id, phid, title, requester, shell_user, groups, sudo, open, verdict, until_at, who,
                tagged_at, created_at, date_modified, last_activity, checklist_hash,
                posted_hash, posted_xact, posted_at, evaluated_at, first_ready_at, meeting, decision, decided_by,
                decided_at, nudged_for, ready_marked, last_xact_id, wake_at, first_meeting)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
             ON CONFLICT(id) DO UPDATE SET phid=excluded.phid, title=excluded.title, requester=excluded.requester,
                shell_user=excluded.shell_user, groups=excluded.groups, sudo=excluded.sudo, open=excluded.open,
                verdict=excluded.verdict, until_at=excluded.until_at, who=excluded.who, tagged_at=excluded.tagged_at,
                created_at=excluded.created_at, date_modified=excluded.date_modified,
                last_activity=excluded.last_activity,
                checklist_hash=excluded.checklist_hash,
                posted_hash=excluded.posted_hash, posted_xact=excluded.posted_xact, posted_at=excluded.posted_at,
                evaluated_at=excluded.evaluated_at, first_ready_at=excluded.first_ready_at,
                meeting=excluded.meeting, decision=excluded.decision, decided_by=excluded.decided_by,
                decided_at=excluded.decided_at, nudged_for=excluded.nudged_for, ready_marked=excluded.ready_marked,
                last_xact_id=excluded.last_xact_id, wake_at=excluded.wake_at, first_meeting=excluded.first_meeting",
        )
        .bind(t.id)
        .bind(&t.phid)
        .bind(&t.title)
        .bind(&t.requester)
        .bind(&t.shell_user)
        .bind(&t.groups)
        .bind(t.sudo)
        .bind(t.open)
        .bind(&t.verdict)
        .bind(t.until_at)
        .bind(&t.who)
        .bind(t.tagged_at)
        .bind(t.created_at)
        .bind(t.date_modified)
        .bind(t.last_activity)
        .bind(&t.checklist_hash)
        .bind(&t.posted_hash)
        .bind(&t.posted_xact)
        .bind(t.posted_at)
        .bind(t.evaluated_at)
        .bind(t.first_ready_at)
        .bind(&t.meeting)
        .bind(&t.decision)
        .bind(&t.decided_by)
        .bind(t.decided_at)
        .bind(t.nudged_for)
        .bind(t.ready_marked)
        .bind(t.last_xact_id)
        .bind(t.wake_at)
        .bind(&t.first_meeting)
        .execute(&mut *tx)
        .await?;
        if !t.report_json.is_empty() {
            sqlx::query(
                "INSERT INTO reports (task_id, report_json, approvals) VALUES (?, ?, ?)
                 ON CONFLICT(task_id) DO UPDATE SET report_json = excluded.report_json,
                    approvals = excluded.approvals",
            )
            .bind(t.id)
            .bind(&t.report_json)
            .bind(approvals_column(&t.report_json))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT OR REPLACE INTO reconcile_tiers (task_id, rests_on_comments) VALUES (?, ?)",
            )
            .bind(t.id)
            .bind(rests_on_comments(&t.report_json))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes a batch of settled tasks in one transaction: one statement per table, each
    /// reading its rows from one JSON array (a statement per row would hand each one over to
    /// SQLite's thread on its own).
    pub async fn write_batch(&self, b: &Batch) -> Result<(), StoreError> {
        if b.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if !b.tasks.is_empty() {
            let rows =
                serde_json::Value::Array(b.tasks.iter().map(rows::row_json).collect()).to_string();
            let updates = BRIEF_COLUMNS
                .split(", ")
                .skip(1)
                .map(|c| format!("{c}=excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::query(&format!(
                "INSERT INTO tasks ({BRIEF_COLUMNS}) SELECT {} FROM json_each(?1) WHERE true
                 ON CONFLICT(id) DO UPDATE SET {updates}",
                json_columns(30)
            ))
            .bind(&rows)
            .execute(&mut *tx)
            .await?;
            let reports: Vec<serde_json::Value> = b
                .tasks
                .iter()
                .filter(|t| !t.report_json.is_empty())
                .map(|t| {
                    serde_json::json!([t.id.get(), t.report_json, approvals_column(&t.report_json)])
                })
                .collect();
            if !reports.is_empty() {
                sqlx::query(
                    "INSERT INTO reports (task_id, report_json, approvals)
                     SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true
                     ON CONFLICT(task_id) DO UPDATE SET report_json = excluded.report_json,
                        approvals = excluded.approvals",
                )
                .bind(serde_json::Value::Array(reports).to_string())
                .execute(&mut *tx)
                .await?;
                let tiers: Vec<(i64, bool)> = b
                    .tasks
                    .iter()
                    .filter(|t| !t.report_json.is_empty())
                    .map(|t| (t.id.get() as i64, rests_on_comments(&t.report_json)))
                    .collect();
                sqlx::query(
                    "INSERT OR REPLACE INTO reconcile_tiers (task_id, rests_on_comments)
                     SELECT value ->> 0, value ->> 1 FROM json_each(?1)",
                )
                .bind(serde_json::to_string(&tiers).unwrap_or_else(|_| "[]".into()))
                .execute(&mut *tx)
                .await?;
            }
        }
        if !b.audit.is_empty() {
            let rows: Vec<serde_json::Value> = b
                .audit
                .iter()
                .map(|a| serde_json::json!([a.task.get(), a.at, a.old, a.new, a.evidence]))
                .collect();
            sqlx::query(
                "INSERT INTO audit (task_id, at, old_verdict, new_verdict, evidence)
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
                 FROM json_each(?1) ORDER BY key",
            )
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        if !b.keys.is_empty() {
            let rows: Vec<serde_json::Value> = b
                .keys
                .iter()
                .map(|k| {
                    serde_json::json!([
                        k.fingerprint.as_str(),
                        k.task.get(),
                        k.user.to_lowercase(),
                        k.shell_user,
                        k.first.at.timestamp(),
                        k.first.xact
                    ])
                })
                .collect();
            sqlx::query(&format!(
                "INSERT INTO keys_seen (fingerprint, task_id, username, shell_user, first_seen, first_xact, dated)
                 SELECT {}, 1 FROM json_each(?1) WHERE true
                 ON CONFLICT(fingerprint, task_id) DO UPDATE SET {KEY_UPSERT}",
                json_columns(6)
            ))
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        if !b.lifecycle.is_empty() {
            let rows: Vec<serde_json::Value> = b
                .lifecycle
                .iter()
                .map(|r| rows::StoredLife::of(r).json())
                .collect();
            sqlx::query(&format!(
                "INSERT OR REPLACE INTO lifecycle (task_id, kind, shell_user, groups, granted_at, granted_by,
                    expiry_date, expiry_contact, reminded_at, reminded_for, expired_noted_at, expired_for)
                 SELECT {} FROM json_each(?1)",
                json_columns(12)
            ))
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        if !b.meta.is_empty() {
            let rows: Vec<serde_json::Value> = b
                .meta
                .iter()
                .map(|(k, v)| serde_json::json!([k, v]))
                .collect();
            sqlx::query(
                "INSERT INTO meta (key, value) SELECT value ->> 0, value ->> 1 FROM json_each(?1) WHERE true
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The rows of these tasks without their reports (see [`Self::task_briefs`]), by id; one
    /// query for all.
    pub async fn task_briefs_of(&self, ids: &[u64]) -> Result<Vec<TaskRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(|id| (*id as i64).to_string()).collect();
        self.rows(&format!("WHERE t.id IN ({})", list.join(",")), false)
            .await
    }

    /// Records that a checklist with this hash was posted as this transaction.
    pub async fn record_posted(
        &self,
        id: TaskId,
        hash: &str,
        xact: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET posted_hash = ?, posted_xact = ?, posted_at = ? WHERE id = ?",
        )
        .bind(hash)
        .bind(xact)
        .bind(at)
        .bind(id.get() as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The open (tracked) requests by verdict, and every granted one (open or closed: the
    /// bot follows its expiry): what `accessbot_requests{verdict}` reports.
    pub async fn open_verdict_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_object(verdict, n), '{}')
             FROM (SELECT verdict, COUNT(*) AS n FROM tasks WHERE open = 1 OR verdict = 'granted'
                   GROUP BY verdict)",
        )
        .fetch_one(&self.pool)
        .await?;
        decode(&json)
    }

    /// When the open request that has been ready longest became ready (epoch seconds: its
    /// newest audit entry to `ready`); `None` when none is ready.
    pub async fn oldest_ready_since(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(became) FROM (
                 SELECT (SELECT MAX(a.at) FROM audit a
                         WHERE a.task_id = t.id AND a.new_verdict = 'ready') AS became
                 FROM tasks t WHERE t.open = 1 AND t.verdict = 'ready')",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
