//! SQLite state (sqlx, embedded migrations): poll cursor, tracked tasks, posted checklists,
//! sudo-review bookkeeping, keys seen, the append-only audit log, and the lifecycle of
//! requests after ready (granted, expiry reminders, removal tasks).
//!
//! One small function per query. One writer at a time: `run` holds an OS lock on
//! `<db>.lock` for its whole life, so a second `run` refuses to start.

use crate::conduit::Channel;
use crate::ids::{Fingerprint, Phid, TaskId};
use crate::timeline::Moment;
use crate::view::flag;
pub use crate::view::{LifecycleRow, TaskRow};
pub use rows::StatusReports;
use rows::{json_columns, lifecycle_row, task_row, BRIEF_COLUMNS};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

mod rows;

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
    /// The database was written by another version of accessbot (read-only commands do not
    /// migrate it).
    #[error("the database {path} is at schema version {found}, this accessbot reads version {wanted}: {hint}")]
    Schema {
        /// The database path.
        path: PathBuf,
        /// Its newest applied migration (0: none, not an accessbot database).
        found: i64,
        /// This build's newest migration.
        wanted: i64,
        /// What to do.
        hint: &'static str,
    },
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

/// SQLite's extended codes for a reader that cannot create the WAL index
/// (`SQLITE_READONLY_CANTINIT`, `SQLITE_READONLY_DIRECTORY`, `SQLITE_CANTOPEN`).
fn cannot_init_wal(code: Option<&str>) -> bool {
    matches!(code, Some("1288" | "1544" | "14"))
}

fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

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

/// A key sighting as stored, for the poller's key ledger (see [`Store::sightings_of`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct StoredSighting {
    /// The fingerprint.
    pub fingerprint: String,
    /// Task id number.
    pub task_id: i64,
    /// Whom it is filed under (the subject's [`crate::policy::Subject::reuse_key`]).
    pub username: String,
    /// When the key first appeared there (epoch seconds).
    pub first_seen: i64,
    /// The transaction id of that appearance, if it was one.
    pub first_xact: Option<i64>,
    /// Dated by appearance (`false`: a sighting from before migration 0003).
    #[serde(deserialize_with = "flag")]
    pub dated: bool,
}

/// A verdict change for the audit log (see [`Store::audit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The task.
    pub task: TaskId,
    /// When (epoch seconds).
    pub at: i64,
    /// The previous verdict.
    pub old: Option<String>,
    /// The new verdict.
    pub new: String,
    /// Evidence JSON.
    pub evidence: String,
}

/// A key seen on a task (see [`Store::record_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The fingerprint.
    pub fingerprint: Fingerprint,
    /// The task.
    pub task: TaskId,
    /// The subject's [`crate::policy::Subject::reuse_key`].
    pub user: String,
    /// The requested shell user.
    pub shell_user: Option<String>,
    /// When the key first appeared on the task.
    pub first: Moment,
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

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

/// A paste's history as the bot read it (migration 0006): the authors of its transactions
/// and the time of its newest one, valid while the paste's `dateModified` is `date_modified`
/// (Phorge moves it on every save of the paste).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasteHistoryRow {
    /// The paste's id (`P<id>`).
    pub paste_id: u64,
    /// The paste's `dateModified` when its history was read.
    pub date_modified: i64,
    /// Everyone who created or changed it.
    pub editors: Vec<Phid>,
    /// When its newest transaction was (`None`: it listed none).
    pub newest: Option<i64>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Parses the JSON text a query aggregated its rows into.
fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
}

/// The `approvals` column of a stored report (migration 0002): the ids of its passing
/// approval checks as a JSON array, computed in Rust by [`crate::report::approvals_of`] when
/// the report is written (the agenda reads the column, not the report). Migration 0002 filled
/// the column of the reports that existed then with its own SQL, which agrees with that
/// function on the reports the bot writes (`migration_0002_agrees_with_approvals_of`).
fn approvals_column(report_json: &str) -> String {
    serde_json::to_string(&crate::report::approvals_of(report_json)).unwrap_or_else(|_| "[]".into())
}

/// The reconcile tier of a stored report (`reconcile_tiers`, migration 0005): whether its
/// checklist rests on what can change without the task's dateModified moving, i.e. a passing
/// check with evidence (always a comment) or a key in a paste. Written with the report since
/// migration 0007, deciding as 0005's triggers did; a report that cannot be read as a
/// checklist counts as resting on comments (the frequent tier: fail closed).
fn rests_on_comments(report_json: &str) -> bool {
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

/// How a key sighting already stored is updated (see [`Store::record_key`]): the subject is the
/// latest, the first appearance the earliest; `excluded` is earlier than the row when it is an
/// earlier second, or the same second with a transaction id where the row has none or a larger
/// one; a sighting from before migration 0003 (`dated = 0`) is replaced outright.
const KEY_UPSERT: &str = "username = excluded.username, shell_user = excluded.shell_user,
    first_seen = CASE WHEN (keys_seen.dated = 0 OR excluded.first_seen < keys_seen.first_seen
        OR (excluded.first_seen = keys_seen.first_seen AND excluded.first_xact IS NOT NULL
            AND (keys_seen.first_xact IS NULL OR excluded.first_xact < keys_seen.first_xact)))
        THEN excluded.first_seen ELSE keys_seen.first_seen END,
    first_xact = CASE WHEN (keys_seen.dated = 0 OR excluded.first_seen < keys_seen.first_seen
        OR (excluded.first_seen = keys_seen.first_seen AND excluded.first_xact IS NOT NULL
            AND (keys_seen.first_xact IS NULL OR excluded.first_xact < keys_seen.first_xact)))
        THEN excluded.first_xact ELSE keys_seen.first_xact END,
    dated = 1";

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

    /// Opens an existing database read-only (SQLite `mode=ro`): the views (`status`, `agenda`,
    /// `log`) and `check`. Nothing is written: no migration, no journal-mode change, no file
    /// created, so it works without write access to the file or its directory. Fails when the
    /// file does not exist, and when its schema is not this version's (the bot migrates it on
    /// its next start).
    ///
    /// The database is in WAL mode: SQLite reads it through the `-wal` and `-shm` files a
    /// running bot keeps beside it. When the bot is stopped they are gone, and a reader that
    /// may not create them (a read-only directory) is refused; the database is then opened as
    /// `immutable`, which is exact because no writer is running (none can be without a
    /// `-wal` file).
    pub async fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        match Self::connect_read_only(path, false).await {
            Err(StoreError::Open {
                source: sqlx::Error::Database(e),
                ..
            }) if cannot_init_wal(e.code().as_deref()) && !wal_path(path).exists() => {
                tracing::debug!(db = %path.display(), "no -wal file and a read-only directory: reading the database as immutable");
                Self::connect_read_only(path, true).await
            }
            other => other,
        }
    }

    /// Connects read-only and checks the schema (the first read, where SQLite opens the WAL).
    async fn connect_read_only(path: &Path, immutable: bool) -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .read_only(true)
            .immutable(immutable)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(10))
            // See `connect`: short-lived readers map pages instead of one `pread` each.
            .pragma("mmap_size", "268435456");
        let store = Store::pool(path, opts, false).await?;
        store.check_schema().await?;
        Ok(store)
    }

    /// An empty, migrated database in memory: `check` without a database file.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?
            .foreign_keys(true);
        // One connection, kept: an in-memory database lives as long as its connection.
        let store = Store::pool(&path, opts, true).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool of one connection (`keep`: never closed while the pool lives).
    async fn pool(
        path: &Path,
        opts: SqliteConnectOptions,
        keep: bool,
    ) -> Result<Store, StoreError> {
        let mut pool = SqlitePoolOptions::new().max_connections(1);
        if keep {
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// Applies the migrations this build has and the database lacks.
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: self.path.clone(),
                source,
            })
    }

    /// A read-only opener's check that the database is at this build's schema version.
    async fn check_schema(&self) -> Result<(), StoreError> {
        let wanted = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let found: i64 = match sqlx::query_scalar(
            "SELECT COALESCE((SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1), 0)",
        )
        .fetch_one(&self.pool)
        .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => 0,
            Err(e) => {
                return Err(StoreError::Open {
                    path: self.path.clone(),
                    source: e,
                })
            }
        };
        if found == wanted {
            return Ok(());
        }
        let hint = if found == 0 {
            "it is not an accessbot database"
        } else if found < wanted {
            "the next `accessbot run` migrates it"
        } else {
            "it was written by a newer accessbot"
        };
        Err(StoreError::Schema {
            path: self.path.clone(),
            found,
            wanted,
            hint,
        })
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
        // The views (short-lived, read-only) read pages through a memory map instead of one
        // `pread` each: over 10,000 tasks those system calls were a third of their time. The
        // long-running bot keeps plain reads, so its resident memory does not grow with the
        // size of the database file.
        let opts = if create {
            opts
        } else {
            opts.pragma("mmap_size", "268435456")
        };
        let store = Store::pool(path, opts, false).await?;
        store.migrate().await?;
        Ok(store)
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

    /// Lets go of the database pages a read-only store has mapped into memory (the views read
    /// the file through a memory map, see `connect_read_only`): each page a long read touched
    /// stays in the process's resident memory until the map is dropped. `status --json`, which
    /// reads every report, calls this after each slice of reports, so it holds one slice's
    /// pages instead of the whole file. Nothing when the file is not mapped.
    pub async fn unmap_pages(&self) -> Result<(), StoreError> {
        let mut c = self.pool.acquire().await?;
        let size: i64 = sqlx::query_scalar("PRAGMA mmap_size")
            .fetch_one(&mut *c)
            .await?;
        if size > 0 {
            sqlx::query("PRAGMA mmap_size = 0").execute(&mut *c).await?;
            sqlx::query(&format!("PRAGMA mmap_size = {size}"))
                .execute(&mut *c)
                .await?;
        }
        Ok(())
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

    /// The channels known of these comment transactions (see [`Store::put_channels`]).
    pub async fn channels(&self, xacts: &[Phid]) -> Result<HashMap<Phid, Channel>, StoreError> {
        if xacts.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = serde_json::to_string(xacts).unwrap_or_else(|_| "[]".into());
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_object(xact_phid, channel), '{}') FROM comment_channels
             WHERE xact_phid IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_one(&self.pool)
        .await?;
        let found: HashMap<Phid, Channel> = decode(&json)?;
        Ok(found
            .into_iter()
            .filter(|(_, c)| *c != Channel::Unknown)
            .collect())
    }

    /// Remembers how comments were posted, read from their task page: a comment's channel
    /// never changes, so a restarted bot reads no page for a comment it has seen. Unknown
    /// channels are not stored.
    pub async fn put_channels(&self, found: &[(Phid, Channel)]) -> Result<(), StoreError> {
        let known: Vec<&(Phid, Channel)> = found
            .iter()
            .filter(|(_, c)| *c != Channel::Unknown)
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let rows = serde_json::to_string(&known).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT OR IGNORE INTO comment_channels (xact_phid, channel)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
        )
        .bind(rows)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The paste histories kept of these pastes (see [`Store::put_paste_history`]), in one
    /// query; pastes with none are left out.
    pub async fn paste_histories(&self, ids: &[u64]) -> Result<Vec<PasteHistoryRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_array(json_object('paste_id', paste_id,
                 'date_modified', date_modified, 'editors', json(editors), 'newest', newest)), '[]')
             FROM paste_histories WHERE paste_id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_one(&self.pool)
        .await?;
        decode(&json)
    }

    /// Keeps a paste's history as read at its `dateModified`, replacing the one kept before:
    /// a restarted bot uses it while the paste's `dateModified` is the same (migration 0006).
    pub async fn put_paste_history(&self, h: &PasteHistoryRow) -> Result<(), StoreError> {
        let editors = serde_json::to_string(&h.editors).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT OR REPLACE INTO paste_histories (paste_id, date_modified, editors, newest)
             VALUES (?, ?, ?, ?)",
        )
        .bind(h.paste_id as i64)
        .bind(h.date_modified)
        .bind(editors)
        .bind(h.newest)
        .execute(&self.pool)
        .await?;
        Ok(())
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

    /// The lifecycle rows of these tasks (those that have one), by task id; one query.
    pub async fn lifecycles_of(&self, ids: &[u64]) -> Result<Vec<LifecycleRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(|id| (*id as i64).to_string()).collect();
        Ok(sqlx::query(&format!(
            "SELECT * FROM lifecycle WHERE task_id IN ({}) ORDER BY task_id",
            list.join(",")
        ))
        .try_map(lifecycle_row)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every stored sighting of these fingerprints, in one query (read as one JSON text).
    pub async fn sightings_of(
        &self,
        fingerprints: &[&str],
    ) -> Result<Vec<StoredSighting>, StoreError> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let json: String = sqlx::query_scalar(
            "SELECT COALESCE(json_group_array(json_array(fingerprint, task_id, username, first_seen,
                 first_xact, dated)), '[]')
             FROM keys_seen WHERE fingerprint IN (SELECT value FROM json_each(?1))",
        )
        .bind(serde_json::to_string(fingerprints).unwrap_or_default())
        .fetch_one(&self.pool)
        .await?;
        decode(&json)
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

    /// Remembers a key fingerprint seen on a task: when it first appeared there (the
    /// earliest of all sightings by (time, transaction id) wins, so a later read that can only
    /// date it later changes nothing) and under whom (`user`: the subject's
    /// [`crate::policy::Subject::reuse_key`], the latest wins). A sighting recorded before
    /// sightings were dated by appearance (`dated = 0`) is replaced outright.
    pub async fn record_key(
        &self,
        fp: &Fingerprint,
        task: TaskId,
        user: &str,
        shell_user: Option<&str>,
        first: Moment,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO keys_seen (fingerprint, task_id, username, shell_user, first_seen, first_xact, dated)
             VALUES (?,?,?,?,?,?,1)
             ON CONFLICT(fingerprint, task_id) DO UPDATE SET {KEY_UPSERT}"
        );
        sqlx::query(&sql)
            .bind(fp.as_str())
            .bind(task.get() as i64)
            .bind(user.to_lowercase())
            .bind(shell_user)
            .bind(first.at.timestamp())
            .bind(first.xact.map(|x| x as i64))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Other people's requests on which this key may have appeared before `before`: an
    /// earlier second, or the same second unless both transaction ids show this one first (a
    /// tie that cannot be settled counts as earlier: fail closed). `not_user` is the subject's
    /// [`crate::policy::Subject::reuse_key`].
    pub async fn key_sightings(
        &self,
        fp: &Fingerprint,
        not_user: &str,
        before: Moment,
    ) -> Result<Vec<KeySighting>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT task_id, username, first_seen FROM keys_seen
             WHERE fingerprint = ?1 AND username <> ?2
               AND (first_seen < ?3 OR (first_seen = ?3
                    AND (first_xact IS NULL OR ?4 IS NULL OR first_xact < ?4)))
             ORDER BY first_seen, task_id",
        )
        .bind(fp.as_str())
        .bind(not_user.to_lowercase())
        .bind(before.at.timestamp())
        .bind(before.xact.map(|x| x as i64))
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
            .bind(task.get() as i64)
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
                .bind(task.get() as i64)
                .fetch_all(&self.pool)
                .await?,
        )
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

    /// One task's lifecycle row.
    pub async fn lifecycle(&self, id: TaskId) -> Result<Option<LifecycleRow>, StoreError> {
        Ok(sqlx::query("SELECT * FROM lifecycle WHERE task_id = ?")
            .bind(id.get() as i64)
            .try_map(lifecycle_row)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Inserts or replaces a task's lifecycle row.
    pub async fn put_lifecycle(&self, r: &LifecycleRow) -> Result<(), StoreError> {
        let s = rows::StoredLife::of(r);
        sqlx::query(
            "INSERT OR REPLACE INTO lifecycle (task_id, kind, shell_user, groups, granted_at, granted_by,
                expiry_date, expiry_contact, reminded_at, reminded_for, expired_noted_at, expired_for)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(s.task_id)
        .bind(s.kind)
        .bind(s.shell_user)
        .bind(s.groups)
        .bind(s.granted_at)
        .bind(s.granted_by)
        .bind(s.expiry_date)
        .bind(s.expiry_contact)
        .bind(s.reminded_at)
        .bind(s.reminded_for)
        .bind(s.expired_noted_at)
        .bind(s.expired_for)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The granted requests' lifecycle rows, by task id: what `expiring` and the agenda read.
    pub async fn granted_lifecycles(&self) -> Result<Vec<LifecycleRow>, StoreError> {
        Ok(
            sqlx::query("SELECT * FROM lifecycle WHERE granted_at IS NOT NULL ORDER BY task_id")
                .try_map(lifecycle_row)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The open requests a new version of `data.yaml` may concern, by id: removal tasks (their
    /// data.yaml change) and user requests not yet granted (`(id, shell_user, groups)`: the
    /// access to look for).
    pub async fn data_yaml_candidates(
        &self,
    ) -> Result<(Vec<i64>, Vec<(i64, String, String)>), StoreError> {
        let removals = sqlx::query_scalar(
            "SELECT l.task_id FROM lifecycle l JOIN tasks t ON t.id = l.task_id
             WHERE l.kind = 'removal' AND t.open = 1 ORDER BY l.task_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let requests = sqlx::query_as(
            "SELECT id, shell_user, groups FROM tasks
             WHERE open = 1 AND shell_user IS NOT NULL AND groups <> ''
               AND verdict NOT IN ('granted', 'closed', 'not-a-request')
               AND id NOT IN (SELECT task_id FROM lifecycle WHERE kind = 'removal')
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok((removals, requests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Username;
    use crate::policy::{Verdict, Who};
    use crate::view::Decision;

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
            let filled: String =
                sqlx::query_scalar("SELECT approvals FROM reports WHERE task_id = ?")
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
        let row: (i64, Option<i64>, String) = sqlx::query_as(
            "SELECT first_seen, first_xact, username FROM keys_seen WHERE task_id = 1",
        )
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
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
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
}
