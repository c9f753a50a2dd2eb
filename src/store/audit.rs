//! The append-only audit log: every verdict change, with the checks behind it.

use super::{Store, StoreError};
use crate::ids::TaskId;

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

impl Store {
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
}
