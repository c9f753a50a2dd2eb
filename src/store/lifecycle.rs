//! The life of a request after ready: granted, expiry reminders, removal.

use super::rows::{self, lifecycle_row};
use super::{LifecycleRow, Store, StoreError};
use crate::ids::TaskId;

impl Store {
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
