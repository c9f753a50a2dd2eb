//! The policy engine (pure): the facts gathered about one task, the rules and `now` in; the
//! checklist of design §7 and its verdict out.
//!
//! Nothing here does I/O or reads the clock. The glue (the poller) resolves usernames,
//! memberships, channels, L3 signatures and store bookkeeping into [`Facts`]; [`evaluate`]
//! turns them into a [`Checklist`] that the report renderer prints. Whatever is unknown is
//! `pending` or `fail`, never `pass`.

use crate::ids::{Fingerprint, Phid, TaskId, Username};
use crate::keys::KeyReport;
use crate::request::Parsed;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

pub use crate::approvals::{Channel, CommentFact};

/// Where the request's SSH key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The task description.
    Description,
    /// A comment on the task.
    Comment {
        /// The comment's transaction.
        xact: Phid,
        /// Its anchor on the task page (transaction id).
        anchor: u64,
    },
    /// A paste `P<id>`.
    Paste {
        /// Paste id.
        id: u64,
    },
    /// A pointer (wiki user page, Gerrit change): to be verified by clinic duty.
    Pointer,
    /// No key was found.
    None,
}

impl KeySource {
    /// The short name used in the design §7 `request.key.source` field.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeySource::Description => "description",
            KeySource::Comment { .. } => "comment",
            KeySource::Paste { .. } => "paste",
            KeySource::Pointer => "pointer",
            KeySource::None => "none",
        }
    }
}

/// Whether the key reached the task through a trusted channel (design §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Written by the requester in the description, a web/Conduit comment or their own paste.
    Trusted,
    /// Known not to count (posted by someone else, came by email, paste by another author).
    /// The reason is fit to post.
    NotTrusted {
        /// Why, e.g. "the key came in an email reply".
        reason: String,
    },
    /// Could not be verified (channel unknown, paste unreadable). The reason is fit to post.
    Unverified {
        /// Why, e.g. "the comment's channel could not be verified".
        reason: String,
    },
}

/// Where else the key's fingerprint was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReuse {
    /// An earlier request by another user.
    EarlierRequest {
        /// That request.
        task: TaskId,
    },
    /// Another user's entry of the admin `data.yaml`.
    DataYaml {
        /// That entry's shell user name.
        user: String,
    },
    /// The configured list of known (Cloud VPS) keys.
    KnownKeys,
}

/// Everything known about the request's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// Where the key came from.
    pub source: KeySource,
    /// The judgement of the key text (`None` when there is no key text: none or a pointer).
    pub report: Option<KeyReport>,
    /// Whether the channel is trusted.
    pub trust: Trust,
    /// Other places the fingerprint was seen (empty: fresh).
    pub reuse: Vec<KeyReuse>,
}

impl Default for KeyFacts {
    fn default() -> Self {
        KeyFacts {
            source: KeySource::None,
            report: None,
            trust: Trust::Unverified {
                reason: "no key was found".into(),
            },
            reuse: Vec::new(),
        }
    }
}

/// The requester's L3 signature, as far as the bot can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L3 {
    /// Signed (Legalpad or signers file).
    Signed {
        /// When it was signed.
        at: DateTime<Utc>,
    },
    /// Not signed (the bot can see the signatures, and there is none).
    NotSigned,
    /// The bot cannot see the document's signatures: an empty answer means nothing.
    NotVisible,
    /// Could not be determined; the reason is fit to post.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Sudo-review bookkeeping kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SudoFacts {
    /// The SRE meeting the review is on the agenda of (set once the rest of the checklist
    /// passed, from [`Checklist::sudo_meeting`]).
    pub scheduled_for: Option<NaiveDate>,
    /// When the rest of the checklist first passed.
    pub first_ready_at: Option<DateTime<Utc>>,
}

/// Everything the engine needs about one task, gathered by the glue.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The task.
    pub task: TaskId,
    /// Whether the task is open.
    pub open: bool,
    /// The task title (untrusted: used only for the not-a-request heuristic).
    pub title: String,
    /// The task author.
    pub requester: Username,
    /// The task author's PHID.
    pub requester_phid: Phid,
    /// The bot's own username (its comments never count).
    pub bot_user: Username,
    /// The parsed description.
    pub parsed: Parsed,
    /// The key.
    pub key: KeyFacts,
    /// The requester's shell user already exists in `data.yaml` (no new key needed).
    pub existing_user: bool,
    /// The comments of the task, oldest first, without the bot's own.
    pub comments: Vec<CommentFact>,
    /// When the key last changed (description edit or a newer key comment), if it did.
    pub key_changed_at: Option<DateTime<Utc>>,
    /// When the requested groups last changed (description edit), if they did.
    pub groups_changed_at: Option<DateTime<Utc>>,
    /// When the task was tagged with the watched project (`None`: unknown).
    pub tagged_at: Option<DateTime<Utc>>,
    /// The requester is a member of a staff project.
    pub requester_staff: bool,
    /// The requester is a member of an NDA project.
    pub requester_nda: bool,
    /// The expiry contact named in the request is staff (`None`: unknown or none named).
    pub expiry_contact_staff: Option<bool>,
    /// The L3 signature.
    pub l3: L3,
    /// Sudo-review bookkeeping.
    pub sudo: SudoFacts,
}

/// Who must act on a failing or pending check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// The person who filed the request.
    Requester,
    /// The requester's manager or sponsor.
    Manager,
    /// A project lead of a requested group.
    ProjectLead,
    /// The SRE meeting / an SRE decider.
    Sre,
    /// A legal user.
    Legal,
    /// The SRE on clinic duty.
    ClinicDuty,
}

impl Who {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Requester => "requester",
            Who::Manager => "manager",
            Who::ProjectLead => "project-lead",
            Who::Sre => "sre",
            Who::Legal => "legal",
            Who::ClinicDuty => "clinic-duty",
        }
    }
}

/// The state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Satisfied.
    Pass,
    /// Not satisfied.
    Fail,
    /// Not decided yet (waiting for time, a person or a verification).
    Pending,
}

/// The overall verdict on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passes: clinic duty may grant.
    Ready,
    /// Only time must pass (waiting period, scheduled meeting).
    Waiting,
    /// Someone must act.
    Blocked,
    /// The SRE meeting declined the sudo request.
    Declined,
    /// The task is closed.
    Closed,
    /// Tagged, but not a user access request.
    NotARequest,
}

impl Verdict {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Waiting => "waiting",
            Verdict::Blocked => "blocked",
            Verdict::Declined => "declined",
            Verdict::Closed => "closed",
            Verdict::NotARequest => "not-a-request",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable check ids of design §7, in checklist order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    /// `request-complete`.
    RequestComplete,
    /// `one-user`.
    OneUser,
    /// `known-groups`.
    KnownGroups,
    /// `ssh-key`.
    SshKey,
    /// `key-fresh`.
    KeyFresh,
    /// `key-channel`.
    KeyChannel,
    /// `l3`.
    L3,
    /// `nda`.
    Nda,
    /// `manager-approval`.
    ManagerApproval,
    /// `lead-approval:<group>` (lowercase group name).
    LeadApproval(String),
    /// `sudo-review`.
    SudoReview,
    /// `waiting-period`.
    WaitingPeriod,
    /// `expiry`.
    Expiry,
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            CheckId::RequestComplete => "request-complete",
            CheckId::OneUser => "one-user",
            CheckId::KnownGroups => "known-groups",
            CheckId::SshKey => "ssh-key",
            CheckId::KeyFresh => "key-fresh",
            CheckId::KeyChannel => "key-channel",
            CheckId::L3 => "l3",
            CheckId::Nda => "nda",
            CheckId::ManagerApproval => "manager-approval",
            CheckId::LeadApproval(g) => return write!(f, "lead-approval:{g}"),
            CheckId::SudoReview => "sudo-review",
            CheckId::WaitingPeriod => "waiting-period",
            CheckId::Expiry => "expiry",
        };
        f.write_str(s)
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A transaction that supports a check; serialized as the transaction PHID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// The transaction PHID.
    pub xact: Phid,
    /// The transaction id: the anchor on the task page (`T123#<anchor>`).
    pub anchor: u64,
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.xact.as_str())
    }
}

/// One check of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id.
    pub id: CheckId,
    /// Pass, fail or pending.
    pub status: Status,
    /// Who must act (failing or pending checks that need a person).
    pub who: Option<Who>,
    /// Fit to post: may name usernames, never quotes free text the requester wrote.
    pub message: String,
    /// Supporting transactions.
    pub evidence: Vec<Evidence>,
    /// For time-bound pending checks: when time alone will settle it.
    pub until: Option<DateTime<Utc>>,
}

/// The key part of the design §7 `request` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// Algorithm, e.g. `ssh-ed25519`.
    pub algorithm: Option<String>,
    /// Size in bits.
    pub bits: Option<u32>,
    /// `SHA256:…`.
    pub fingerprint: Option<Fingerprint>,
    /// `description`, `comment`, `paste`, `pointer`.
    pub source: &'static str,
}

/// The design §7 `request` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// Full name.
    pub full_name: Option<String>,
    /// Wikitech username.
    pub wikitech_user: Option<String>,
    /// Shell username.
    pub shell_user: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Requested groups (lowercase).
    pub groups: Vec<String>,
    /// Whether any requested known group grants sudo.
    pub sudo: bool,
    /// The key, if one was found.
    pub key: Option<KeySummary>,
    /// Expiry date.
    pub expiry_date: Option<NaiveDate>,
    /// Expiry contact.
    pub expiry_contact: Option<String>,
}

/// The engine's answer for one task: serializes as the design §7 `check --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    /// The task.
    pub task: TaskId,
    /// The verdict.
    pub verdict: Verdict,
    /// For `waiting`: when the last time-bound item settles.
    pub until: Option<DateTime<Utc>>,
    /// The request as parsed.
    pub request: RequestSummary,
    /// The checks, in design §7 order; checks that do not apply are omitted.
    pub checks: Vec<Check>,
    /// For sudo requests whose other checks all pass: the SRE meeting the review is (or is now
    /// to be) on the agenda of. The glue stores it as `SudoFacts::scheduled_for`.
    #[serde(skip)]
    pub sudo_meeting: Option<NaiveDate>,
}
