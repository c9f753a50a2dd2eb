//! Evidence remembered across restarts so that it is not read again: the channel (web or
//! email) of each comment read from a task page, and the history of each paste holding a key.

use super::{decode, Store, StoreError};
use crate::conduit::Channel;
use crate::ids::Phid;
use std::collections::HashMap;

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

impl Store {
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
}
