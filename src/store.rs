//! SQLite state (sqlx, embedded migrations): poll cursor, tracked tasks, posted checklists,
//! sudo-review bookkeeping, keys seen, and the append-only audit log.
//!
//! One small function per query. One writer at a time: `run` holds an OS lock on
//! `<db>.lock` for its whole life, so a second `run` refuses to start.

use crate::ids::{Fingerprint, TaskId, Username};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Store errors. Messages name the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another `accessbot run` holds the database.
    #[error("another accessbot is already running on {0} (lock file {0}.lock is held); refusing to start a second writer")]
    Locked(PathBuf),
    /// The database file does not exist (read-only commands).
    #[error("no database at {0}: run `accessbot run` first (or pass --db)")]
    Missing(PathBuf),
    /// Opening or migrating failed.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database path.
        path: PathBuf,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed (e.g. a newer or corrupt database).
    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        /// The database path.
        path: PathBuf,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// The lock file could not be created.
    #[error("cannot create the lock file {path}: {source}")]
    LockFile {
        /// The lock path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Holds the single-writer lock until dropped.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the exclusive lock beside the database, or fails at once if it is held.
    pub fn acquire(db: &Path) -> Result<WriterLock, StoreError> {
        let path = lock_path(db);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::LockFile {
                path: path.clone(),
                source,
            })?;
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => Ok(WriterLock { _file: file }),
            Ok(false) | Err(_) => Err(StoreError::Locked(db.to_path_buf())),
        }
    }
}

fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// One tracked task as stored.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow, serde::Deserialize)]
#[serde(default)]
pub struct TaskRow {
    /// Task id number.
    pub id: i64,
    /// Task PHID.
    pub phid: String,
    /// Title.
    pub title: String,
    /// Requester username.
    pub requester: String,
    /// Requested shell username.
    pub shell_user: Option<String>,
    /// Requested groups, comma separated.
    pub groups: String,
    /// Whether a sudo group is requested.
    pub sudo: bool,
    /// Whether the task is open.
    pub open: bool,
    /// Last verdict.
    pub verdict: String,
    /// Until when the verdict is `waiting` (epoch seconds).
    pub until_at: Option<i64>,
    /// Who must act, comma separated.
    pub who: String,
    /// When the task was tagged.
    pub tagged_at: Option<i64>,
    /// When the task was created.
    pub created_at: i64,
    /// The task's dateModified when last read.
    pub date_modified: i64,
    /// Last activity by anyone but the bot.
    pub last_activity: Option<i64>,
    /// The last `check --json` object.
    pub report_json: String,
    /// Hash of the last evaluated checklist text.
    pub checklist_hash: Option<String>,
    /// Hash of the checklist last posted.
    pub posted_hash: Option<String>,
    /// Transaction PHID of that comment.
    pub posted_xact: Option<String>,
    /// When it was posted.
    pub posted_at: Option<i64>,
    /// When last evaluated.
    pub evaluated_at: Option<i64>,
    /// Sudo: when everything but the review first passed.
    pub first_ready_at: Option<i64>,
    /// Sudo: the scheduled meeting (YYYY-MM-DD).
    pub meeting: Option<String>,
    /// Sudo: `approved` or `declined`.
    pub decision: Option<String>,
    /// Sudo: who decided.
    pub decided_by: Option<String>,
    /// Sudo: when.
    pub decided_at: Option<i64>,
    /// The last_activity value a stale nudge was posted for.
    pub nudged_for: Option<i64>,
    /// Whether the task was moved to the ready column / tagged.
    pub ready_marked: bool,
    /// The newest transaction id read from the task.
    pub last_xact_id: i64,
    /// When time alone may change the checklist (the task is re-read then).
    pub wake_at: Option<i64>,
    /// Sudo: the meeting the review was first scheduled for.
    pub first_meeting: Option<String>,
}

impl TaskRow {
    /// The task id.
    pub fn task_id(&self) -> TaskId {
        TaskId(self.id as u64)
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// Task id number.
    pub task_id: i64,
    /// When (epoch seconds).
    pub at: i64,
    /// Previous verdict.
    pub old_verdict: Option<String>,
    /// New verdict.
    pub new_verdict: String,
    /// Evidence JSON.
    pub evidence: String,
}

/// A key seen on another request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeySighting {
    /// Task id number.
    pub task_id: i64,
    /// Requester username.
    pub username: String,
    /// When the key first appeared there.
    pub first_seen: i64,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The columns of a brief task row as a JSON object (booleans as JSON booleans).
const BRIEF_OBJECT: &str = "json_object('id', id, 'phid', phid, 'title', title, 'requester', requester, 'shell_user', shell_user, 'groups', groups, 'sudo', json(CASE WHEN sudo THEN 'true' ELSE 'false' END), 'open', json(CASE WHEN open THEN 'true' ELSE 'false' END), 'verdict', verdict, 'until_at', until_at, 'who', who, 'tagged_at', tagged_at, 'created_at', created_at, 'date_modified', date_modified, 'last_activity', last_activity, 'checklist_hash', checklist_hash, 'posted_hash', posted_hash, 'posted_xact', posted_xact, 'posted_at', posted_at, 'evaluated_at', evaluated_at, 'first_ready_at', first_ready_at, 'meeting', meeting, 'decision', decision, 'decided_by', decided_by, 'decided_at', decided_at, 'nudged_for', nudged_for, 'ready_marked', json(CASE WHEN ready_marked THEN 'true' ELSE 'false' END), 'last_xact_id', last_xact_id, 'wake_at', wake_at, 'first_meeting', first_meeting)";

/// A whole task row: the task and its stored report.
const FULL: &str = "SELECT t.*, COALESCE(r.report_json, '{}') AS report_json
    FROM tasks t LEFT JOIN reports r ON r.task_id = t.id";

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Self::connect(path, true).await
    }

    /// Opens an existing database for reading (views, `check`). Fails if it does not exist.
    pub async fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        Self::connect(path, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool (flushes the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `PRAGMA integrity_check` answers `ok`.
    pub async fn integrity_ok(&self) -> Result<bool, StoreError> {
        let r: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?;
        Ok(r == "ok")
    }

    /// Reads a meta value.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Writes a meta value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One task.
    pub async fn task(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{FULL} WHERE t.id = ?"))
            .bind(id.0 as i64)
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

    /// The open sudo requests scheduled for a meeting, whole (the agenda reads their reports).
    pub async fn scheduled_sudo(&self) -> Result<Vec<TaskRow>, StoreError> {
        self.rows(
            "WHERE t.open = 1 AND t.sudo = 1 AND t.meeting IS NOT NULL",
            true,
        )
        .await
    }

    /// Task rows matching `filter`, by id, as one JSON array: sqlx hands SQLite rows over one
    /// by one between threads, which for 10,000 rows costs far more than building and parsing
    /// one JSON text.
    async fn rows(&self, filter: &str, with_report: bool) -> Result<Vec<TaskRow>, StoreError> {
        let object = if with_report {
            format!("json_set({BRIEF_OBJECT}, '$.report_json', COALESCE(report_json, '{{}}'))")
        } else {
            BRIEF_OBJECT.to_string()
        };
        let sql = format!(
            "SELECT COALESCE(json_group_array(json({object})), '[]') FROM
             (SELECT t.*, r.report_json AS report_json FROM tasks t
              LEFT JOIN reports r ON r.task_id = t.id {filter} ORDER BY t.id)"
        );
        let json: String = sqlx::query_scalar(&sql).fetch_one(&self.pool).await?;
        serde_json::from_str(&json).map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
    }

    /// Inserts or replaces a task row, and its report unless the row carries none (a row read
    /// with [`Self::task_briefs`] keeps the stored report).
    pub async fn put_task(&self, t: &TaskRow) -> Result<(), StoreError> {
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
                "INSERT INTO reports (task_id, report_json) VALUES (?, ?)
                 ON CONFLICT(task_id) DO UPDATE SET report_json = excluded.report_json",
            )
            .bind(t.id)
            .bind(&t.report_json)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
        .bind(id.0 as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a stale nudge for this stretch of inactivity.
    pub async fn record_nudge(&self, id: TaskId, last_activity: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE tasks SET nudged_for = ? WHERE id = ?")
            .bind(last_activity)
            .bind(id.0 as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the task was marked ready (column/tag) or unmarked.
    pub async fn record_ready_marked(&self, id: TaskId, marked: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE tasks SET ready_marked = ? WHERE id = ?")
            .bind(marked)
            .bind(id.0 as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Remembers a key fingerprint seen on a task (first sighting wins).
    pub async fn record_key(
        &self,
        fp: &Fingerprint,
        task: TaskId,
        user: &Username,
        shell_user: Option<&str>,
        first_seen: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO keys_seen (fingerprint, task_id, username, shell_user, first_seen) VALUES (?,?,?,?,?)
             ON CONFLICT(fingerprint, task_id) DO UPDATE SET first_seen = MIN(first_seen, excluded.first_seen)",
        )
        .bind(&fp.0)
        .bind(task.0 as i64)
        .bind(user.key())
        .bind(shell_user)
        .bind(first_seen)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Other users' requests on which this key appeared before `before` (epoch seconds).
    pub async fn key_sightings(
        &self,
        fp: &Fingerprint,
        not_user: &Username,
        before: i64,
    ) -> Result<Vec<KeySighting>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT task_id, username, first_seen FROM keys_seen
             WHERE fingerprint = ? AND username <> ? AND first_seen < ? ORDER BY first_seen, task_id",
        )
        .bind(&fp.0)
        .bind(not_user.key())
        .bind(before)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Appends an audit entry.
    pub async fn audit(
        &self,
        task: TaskId,
        at: i64,
        old: Option<&str>,
        new: &str,
        evidence: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (task_id, at, old_verdict, new_verdict, evidence) VALUES (?,?,?,?,?)")
            .bind(task.0 as i64)
            .bind(at)
            .bind(old)
            .bind(new)
            .bind(evidence)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The audit log of one task, oldest first.
    pub async fn audit_log(&self, task: TaskId) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM audit WHERE task_id = ? ORDER BY id")
                .bind(task.0 as i64)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Number of tracked tasks.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM tasks")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>("n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn briefs_are_the_rows_without_their_report() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("b.db")).await.unwrap();
        let open = TaskRow {
            id: 3,
            phid: "PHID-TASK-a".into(),
            verdict: "ready".into(),
            open: true,
            sudo: true,
            meeting: Some("2026-11-16".into()),
            report_json: r#"{"verdict":"ready"}"#.into(),
            wake_at: Some(9),
            ..Default::default()
        };
        let closed = TaskRow {
            id: 4,
            phid: "PHID-TASK-b".into(),
            verdict: "closed".into(),
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
        let scheduled = s.scheduled_sudo().await.unwrap();
        assert_eq!(scheduled, vec![open.clone()]);
        // Writing a brief back keeps the stored report.
        let mut brief = briefs[0].clone();
        brief.verdict = "waiting".into();
        s.put_task(&brief).await.unwrap();
        let again = s.task(TaskId(3)).await.unwrap().unwrap();
        assert_eq!(again.verdict, "waiting");
        assert_eq!(again.report_json, open.report_json);
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
            id: 7,
            phid: "PHID-TASK-x".into(),
            verdict: "blocked".into(),
            open: true,
            ..Default::default()
        };
        s.put_task(&row).await.unwrap();
        s.record_posted(TaskId(7), "h1", Some("PHID-XACT-TASK-a"), 100)
            .await
            .unwrap();
        let got = s.task(TaskId(7)).await.unwrap().unwrap();
        assert_eq!(got.posted_hash.as_deref(), Some("h1"));
        assert_eq!(s.tasks(true).await.unwrap().len(), 1);

        let fp = Fingerprint("SHA256:abc".into());
        s.record_key(&fp, TaskId(7), &Username::new("alice"), Some("alice"), 50)
            .await
            .unwrap();
        s.record_key(&fp, TaskId(8), &Username::new("bob"), Some("bob"), 60)
            .await
            .unwrap();
        // Bob's request is checked: Alice had the key earlier.
        let seen = s
            .key_sightings(&fp, &Username::new("Bob"), 60)
            .await
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].username, "alice");
        // Alice's request is checked: Bob's later copy does not block her.
        assert!(s
            .key_sightings(&fp, &Username::new("alice"), 50)
            .await
            .unwrap()
            .is_empty());

        s.audit(TaskId(7), 1, None, "blocked", "[]").await.unwrap();
        s.audit(TaskId(7), 2, Some("blocked"), "ready", "[]")
            .await
            .unwrap();
        assert_eq!(s.audit_log(TaskId(7)).await.unwrap().len(), 2);
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
    }
}
