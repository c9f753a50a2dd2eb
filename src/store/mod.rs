//! SQLite state (sqlx, embedded migrations): poll cursor, tracked tasks, posted checklists,
//! sudo-review bookkeeping, keys seen, the append-only audit log, and the lifecycle of
//! requests after ready (granted, expiry reminders, removal tasks).
//!
//! This module opens the database (creating, migrating, checking its schema, read-only for
//! the views) and holds its meta values; each kind of state has its own file of queries
//! (`tasks`, `evidence`, `keys`, `audit`, `lifecycle`), and `rows` turns stored columns into
//! types. One small function per query. One writer at a time: `run` holds an OS lock on
//! `<db>.lock` for its whole life, so a second `run` refuses to start.

pub use crate::view::{LifecycleRow, TaskRow};
pub use rows::StatusReports;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

mod audit;
mod evidence;
mod keys;
mod lifecycle;
mod rows;
mod tasks;
#[cfg(test)]
mod tests;

pub use audit::{AuditEntry, AuditRecord};
pub use evidence::PasteHistoryRow;
pub use keys::{KeyRecord, KeySighting, StoredSighting};
pub use tasks::{Batch, PollEntry};

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

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Parses the JSON text a query aggregated its rows into.
fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
}

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
            // Plain reads, no memory map: a mapped file counts in the resident memory with
            // every page the kernel maps around a touched one (its fault-around), so `status`,
            // which reads the 3 MB `tasks` table of a 77 MB database, showed 43 MB of mapped
            // pages. Its queries read one aggregated text each, so a `pread` per page costs
            // no more time than the map did (BENCHMARKS.md).
            .busy_timeout(Duration::from_secs(10));
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
}
