//! Key sightings: where and when each key fingerprint first appeared, under whom (the
//! ledger behind `key-fresh`).

use super::{decode, Store, StoreError};
use crate::ids::{Fingerprint, TaskId};
use crate::timeline::Moment;
use crate::view::flag;

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

/// How a key sighting already stored is updated (see [`Store::record_key`]): the subject is the
/// latest, the first appearance the earliest; `excluded` is earlier than the row when it is an
/// earlier second, or the same second with a transaction id where the row has none or a larger
/// one; a sighting from before migration 0003 (`dated = 0`) is replaced outright.
pub(super) const KEY_UPSERT: &str =
    "username = excluded.username, shell_user = excluded.shell_user,
    first_seen = CASE WHEN (keys_seen.dated = 0 OR excluded.first_seen < keys_seen.first_seen
        OR (excluded.first_seen = keys_seen.first_seen AND excluded.first_xact IS NOT NULL
            AND (keys_seen.first_xact IS NULL OR excluded.first_xact < keys_seen.first_xact)))
        THEN excluded.first_seen ELSE keys_seen.first_seen END,
    first_xact = CASE WHEN (keys_seen.dated = 0 OR excluded.first_seen < keys_seen.first_seen
        OR (excluded.first_seen = keys_seen.first_seen AND excluded.first_xact IS NOT NULL
            AND (keys_seen.first_xact IS NULL OR excluded.first_xact < keys_seen.first_xact)))
        THEN excluded.first_xact ELSE keys_seen.first_xact END,
    dated = 1";

impl Store {
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
}
