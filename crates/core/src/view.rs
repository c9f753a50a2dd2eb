//! What the report reads of a tracked task: [`TaskRow`], one row of the `tasks` table as typed
//! data. The store (`crate::store`) reads and writes it (its `rows` module is the one place
//! that turns columns into these types and back); the report, the plan and the poller read it
//! without knowing of the database (this module imports neither sqlx nor the store).

use crate::ids::{Phid, TaskId, Username};
use crate::policy::{Verdict, Who};
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

/// One tracked task as stored. Its times are whole seconds (stored as epoch seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRow {
    /// The task.
    pub id: TaskId,
    /// Task PHID.
    pub phid: Phid,
    /// Title.
    pub title: String,
    /// Requester username (the task's author, as Conduit names them).
    pub requester: Username,
    /// Requested shell username, as the requester wrote it: text, not a
    /// [`crate::ids::ShellUser`], because it may be a name the type refuses (the checklist
    /// says so), and reading a row must not fail on what a requester wrote.
    pub shell_user: Option<String>,
    /// Requested groups, comma separated, as the requester wrote them (lowercased): text for
    /// the same reason as `shell_user`.
    pub groups: String,
    /// Whether the request is reviewed at the SRE meeting: a requested group's `review` is
    /// `meeting` (the default for sudo groups), or a privilege change may grant sudo.
    pub sudo: bool,
    /// Whether the task is open.
    pub open: bool,
    /// Last verdict.
    pub verdict: Verdict,
    /// Until when the verdict is `waiting`.
    pub until_at: Option<DateTime<Utc>>,
    /// Who must act, in the checklist's order (stored comma separated).
    pub who: Vec<Who>,
    /// When the task was tagged.
    pub tagged_at: Option<DateTime<Utc>>,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// The task's dateModified when last read.
    pub date_modified: DateTime<Utc>,
    /// Last activity by anyone but the bot.
    pub last_activity: Option<DateTime<Utc>>,
    /// Hash of the last evaluated checklist text.
    pub checklist_hash: Option<String>,
    /// Hash of the checklist last posted.
    pub posted_hash: Option<String>,
    /// Transaction PHID of that comment.
    pub posted_xact: Option<String>,
    /// When it was posted.
    pub posted_at: Option<DateTime<Utc>>,
    /// When last evaluated.
    pub evaluated_at: Option<DateTime<Utc>>,
    /// Sudo: when everything but the review was complete (from the facts; see
    /// `Checklist::sudo_ready_at`).
    pub first_ready_at: Option<DateTime<Utc>>,
    /// Sudo: the scheduled meeting.
    pub meeting: Option<NaiveDate>,
    /// Sudo: the meeting's decision.
    pub decision: Option<Decision>,
    /// Sudo: who decided.
    pub decided_by: Option<String>,
    /// Sudo: when.
    pub decided_at: Option<DateTime<Utc>>,
    /// The last_activity value a stale nudge was posted for.
    pub nudged_for: Option<DateTime<Utc>>,
    /// Whether the task was moved to the ready column / tagged.
    pub ready_marked: bool,
    /// The newest transaction id read from the task.
    pub last_xact_id: i64,
    /// When time alone may change the checklist (the task is re-read then).
    pub wake_at: Option<DateTime<Utc>>,
    /// Sudo: the meeting the review was first scheduled for.
    pub first_meeting: Option<NaiveDate>,
    /// The last `check --json` object (empty when read without it: the store's `task_briefs`).
    /// Last, so that a row read as a JSON array may stop before it (the store's `BRIEF_COLUMNS`).
    pub report_json: String,
}

/// The groups of a row (`TaskRow::groups`, `LifecycleRow::groups`: comma separated) as a
/// list, in the order stored, blanks around a name and empty entries left out.
pub fn group_list(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// The life of a request after ready (migration 0004): granted, its expiry followed, or a
/// removal task, as stored (the store reads and writes it). See [`crate::lifecycle`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleRow {
    /// The task.
    pub task_id: TaskId,
    /// A granted user request, or a removal task.
    pub kind: LifeKind,
    /// The shell user whose access it is (the requester's words, kept as text).
    pub shell_user: Option<String>,
    /// The groups, comma separated (the requester's words, kept as text).
    pub groups: String,
    /// How and when it was granted (`None`: not yet).
    pub granted: Option<GrantedBy>,
    /// The expiry date followed.
    pub expiry_date: Option<NaiveDate>,
    /// The expiry contact (the requester's words, kept as text).
    pub expiry_contact: Option<String>,
    /// When the expiry reminder was posted.
    pub reminded_at: Option<DateTime<Utc>>,
    /// The expiry date the reminder was for.
    pub reminded_for: Option<NaiveDate>,
    /// When the "expired" note was posted.
    pub expired_noted_at: Option<DateTime<Utc>>,
    /// The expiry date the note was for.
    pub expired_for: Option<NaiveDate>,
}

/// What a lifecycle row follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LifeKind {
    /// A user request: granted, then its expiry.
    #[default]
    User,
    /// A removal task.
    Removal,
}

impl LifeKind {
    /// The stored name: `user`, `removal`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifeKind::User => "user",
            LifeKind::Removal => "removal",
        }
    }
}

impl FromStr for LifeKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<LifeKind, UnknownName> {
        by_name(
            s,
            "lifecycle kind",
            &[LifeKind::User, LifeKind::Removal],
            LifeKind::as_str,
        )
    }
}

/// How a request came to be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantedBy {
    /// `data.yaml` showed the access (first seen at this instant).
    DataYaml(DateTime<Utc>),
    /// The task was resolved, at this instant, after the bot had found it ready.
    Resolved(DateTime<Utc>),
    /// Known only from the bot's own granted comment on the task (a lost database), posted
    /// then.
    Comment(DateTime<Utc>),
}

impl GrantedBy {
    /// The stored name: `data-yaml`, `resolved`, `comment`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantedBy::DataYaml(_) => "data-yaml",
            GrantedBy::Resolved(_) => "resolved",
            GrantedBy::Comment(_) => "comment",
        }
    }

    /// From its stored name (`as_str`) and time.
    pub fn from_name(name: &str, at: DateTime<Utc>) -> Result<GrantedBy, UnknownName> {
        let all = [
            GrantedBy::DataYaml(at),
            GrantedBy::Resolved(at),
            GrantedBy::Comment(at),
        ];
        by_name(name, "way of granting", &all, GrantedBy::as_str)
    }

    /// When.
    pub fn at(self) -> DateTime<Utc> {
        match self {
            GrantedBy::DataYaml(t) | GrantedBy::Resolved(t) | GrantedBy::Comment(t) => t,
        }
    }
}

/// The SRE meeting's decision on a sudo request, stored as `approved` or `declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The meeting approved the request.
    Approved,
    /// The meeting declined it.
    Declined,
}

impl Decision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Declined => "declined",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is none of its type's names (a row written by another version, or by
/// hand): reading it fails rather than guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what} (one of {names})")]
pub struct UnknownName {
    /// What was expected (`verdict`, `who`, `decision`).
    pub what: &'static str,
    /// The text found.
    pub value: String,
    /// The names that would have been read.
    pub names: String,
}

/// Reads `s` as the one of `all` whose `name` it is.
fn by_name<T: Copy>(
    s: &str,
    what: &'static str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|v| name(*v) == s)
        .ok_or_else(|| UnknownName {
            what,
            value: s.to_string(),
            names: all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", "),
        })
}

// The stored names of the policy's enums read back (the inverse of their `as_str`), here
// beside the row that stores them.

impl FromStr for Verdict {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Verdict, UnknownName> {
        by_name(s, "verdict", &Verdict::ALL, Verdict::as_str)
    }
}

impl FromStr for Who {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Who, UnknownName> {
        by_name(s, "who", &Who::ALL, Who::as_str)
    }
}

impl FromStr for Decision {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Decision, UnknownName> {
        let all = [Decision::Approved, Decision::Declined];
        by_name(s, "decision", &all, Decision::as_str)
    }
}

/// A row that was never evaluated holds the schema's default verdict, `blocked` (fail
/// closed: never `ready` by default).
impl Default for Verdict {
    fn default() -> Verdict {
        Verdict::Blocked
    }
}

impl TaskRow {
    /// The task id.
    pub fn task_id(&self) -> TaskId {
        self.id
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
