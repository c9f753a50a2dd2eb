//! What the report reads of a tracked task: [`TaskRow`], one row of the `tasks` table as plain
//! data. The store (`crate::store`) reads and writes it; the report, the plan and the poller
//! read it without knowing of the database (this module imports neither sqlx nor the store).

use crate::ids::TaskId;

/// One tracked task as stored.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
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
    /// Whether the request is reviewed at the SRE meeting: a requested group's `review` is
    /// `meeting` (the default for sudo groups), or a privilege change may grant sudo.
    #[serde(deserialize_with = "flag")]
    pub sudo: bool,
    /// Whether the task is open.
    #[serde(deserialize_with = "flag")]
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
    /// Sudo: when everything but the review was complete (from the facts; see
    /// `Checklist::sudo_ready_at`).
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
    #[serde(deserialize_with = "flag")]
    pub ready_marked: bool,
    /// The newest transaction id read from the task.
    pub last_xact_id: i64,
    /// When time alone may change the checklist (the task is re-read then).
    pub wake_at: Option<i64>,
    /// Sudo: the meeting the review was first scheduled for.
    pub first_meeting: Option<String>,
    /// The last `check --json` object (empty when read without it: the store's `task_briefs`).
    /// Last, so that a row read as a JSON array may stop before it (the store's `BRIEF_COLUMNS`).
    pub report_json: String,
}

/// The life of a request after ready (migration 0004): granted, its expiry followed, or a
/// removal task, as stored (the store reads and writes it). See [`crate::lifecycle`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleRow {
    /// Task id number.
    pub task_id: i64,
    /// `user` or `removal`.
    pub kind: String,
    /// The shell user whose access it is.
    pub shell_user: Option<String>,
    /// The groups, comma separated.
    pub groups: String,
    /// When it was granted (epoch seconds).
    pub granted_at: Option<i64>,
    /// How: `data-yaml`, `resolved`, `comment`.
    pub granted_by: Option<String>,
    /// The expiry date followed (YYYY-MM-DD).
    pub expiry_date: Option<String>,
    /// The expiry contact.
    pub expiry_contact: Option<String>,
    /// When the expiry reminder was posted.
    pub reminded_at: Option<i64>,
    /// The expiry date the reminder was for.
    pub reminded_for: Option<String>,
    /// When the "expired" note was posted.
    pub expired_noted_at: Option<i64>,
    /// The expiry date the note was for.
    pub expired_for: Option<String>,
}

impl TaskRow {
    /// The task id.
    pub fn task_id(&self) -> TaskId {
        TaskId::new(self.id as u64)
    }
}

/// SQLite stores booleans as 0 and 1.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean, 0 or 1")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
    }
    d.deserialize_any(Flag)
}
