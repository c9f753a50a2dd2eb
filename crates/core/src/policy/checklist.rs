//! What the policy answers: the checklist of design §7 (each check's id, status, who must act,
//! message and evidence), the verdict, and the request as summarised for the report.

use crate::ids::{Fingerprint, Phid, TaskId, Username};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

/// Who must act on a failing or pending check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// The requester: the person the request is for, or whoever filed it for them (they
    /// correct the request).
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
    /// Everyone who may be asked to act, in declaration order.
    pub const ALL: [Who; 6] = [
        Who::Requester,
        Who::Manager,
        Who::ProjectLead,
        Who::Sre,
        Who::Legal,
        Who::ClinicDuty,
    ];

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
    /// The access is in place (design §11): the bot posted once more and now only follows
    /// the expiry ([`crate::lifecycle`] decides it; [`evaluate`](super::evaluate) never returns it).
    Granted,
    /// Open, but no longer (or not yet) tagged with the watched project: the bot does not
    /// track it and posts nothing; once tagged again it is checked again. Not `closed`: the
    /// task is open and someone may put the tag back.
    Untagged,
}

impl Verdict {
    /// Every verdict, in declaration order.
    pub const ALL: [Verdict; 8] = [
        Verdict::Ready,
        Verdict::Waiting,
        Verdict::Blocked,
        Verdict::Declined,
        Verdict::Closed,
        Verdict::NotARequest,
        Verdict::Granted,
        Verdict::Untagged,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Waiting => "waiting",
            Verdict::Blocked => "blocked",
            Verdict::Declined => "declined",
            Verdict::Closed => "closed",
            Verdict::NotARequest => "not-a-request",
            Verdict::Granted => "granted",
            Verdict::Untagged => "untagged",
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
    /// `subject`: whose request it is (design §10); always present.
    Subject,
    /// `known-groups`.
    KnownGroups,
    /// `change-described`: a group privilege change says what should change (design §11).
    ChangeDescribed,
    /// `reason`: a group privilege change gives its reason and the impact if rejected.
    Reason,
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
    /// `data-access`: private data for someone who is not staff needs a research
    /// collaboration (design §11).
    DataAccess,
    /// `eligibility:<group>` (lowercase group name): LDAP-only groups with eligibility rules.
    Eligibility(String),
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
    /// `executive-signoff`: a volunteer's request, once everything else passes (design §11).
    ExecutiveSignoff,
    /// `removal`: a task asking to remove access (design §11).
    Removal,
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            CheckId::RequestComplete => "request-complete",
            CheckId::OneUser => "one-user",
            CheckId::Subject => "subject",
            CheckId::KnownGroups => "known-groups",
            CheckId::ChangeDescribed => "change-described",
            CheckId::Reason => "reason",
            CheckId::SshKey => "ssh-key",
            CheckId::KeyFresh => "key-fresh",
            CheckId::KeyChannel => "key-channel",
            CheckId::L3 => "l3",
            CheckId::Nda => "nda",
            CheckId::DataAccess => "data-access",
            CheckId::Eligibility(g) => return write!(f, "eligibility:{g}"),
            CheckId::ManagerApproval => "manager-approval",
            CheckId::LeadApproval(g) => return write!(f, "lead-approval:{g}"),
            CheckId::SudoReview => "sudo-review",
            CheckId::WaitingPeriod => "waiting-period",
            CheckId::Expiry => "expiry",
            CheckId::ExecutiveSignoff => "executive-signoff",
            CheckId::Removal => "removal",
        };
        f.write_str(s)
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What supports a check: a transaction on the task, the task as filed, a paste, a
/// signature or a membership. In `check --json` it is one string: a transaction's PHID, or
/// `task`, `P<id>`, `<document> signed by @user <RFC 3339>`, `@user in <projects>`; `explain`
/// links each ([`crate::report::explain`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// A transaction on the task (a comment, a description edit, a tag change): its PHID and
    /// its id, the anchor on the task page (`T123#<anchor>`).
    Transaction {
        /// The transaction PHID.
        xact: Phid,
        /// The transaction id.
        anchor: u64,
    },
    /// The task as it was filed (its first description, its creation with the tag).
    Task,
    /// A paste `P<id>`.
    Paste {
        /// The paste id.
        id: u64,
    },
    /// A Legalpad signature.
    Signature {
        /// The document's monogram (`L3`).
        document: String,
        /// Who signed.
        signer: Username,
        /// When.
        at: DateTime<Utc>,
    },
    /// Membership of a project (staff, NDA).
    Membership {
        /// The member.
        user: Username,
        /// The project or projects ("WMF-Staff", "A or B").
        project: String,
    },
}

impl Evidence {
    /// The transaction PHID, when it is a transaction.
    pub fn xact(&self) -> Option<&Phid> {
        match self {
            Evidence::Transaction { xact, .. } => Some(xact),
            _ => None,
        }
    }

    /// The anchor on the task page, when it is a transaction.
    pub fn anchor(&self) -> Option<u64> {
        match self {
            Evidence::Transaction { anchor, .. } => Some(*anchor),
            _ => None,
        }
    }
}

impl fmt::Display for Evidence {
    /// The `check --json` string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Transaction { xact, .. } => f.write_str(xact.as_str()),
            Evidence::Task => f.write_str("task"),
            Evidence::Paste { id } => write!(f, "P{id}"),
            Evidence::Signature {
                document,
                signer,
                at,
            } => write!(
                f,
                "{document} signed by @{signer} {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Evidence::Membership { user, project } => write!(f, "@{user} in {project}"),
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
    /// Where the message's last part begins when that part is the bot's own text alone: the
    /// forms a person comments to act (`` `Approved.` or `Approved for deployment.` ``). It is
    /// posted as it is, so its monospace stays and can be copied; everything before it is
    /// defused like any message ([`crate::report`]).
    #[serde(skip)]
    pub forms_from: Option<usize>,
    /// Pieces of the message the bot computed itself, posted as they are instead of defused
    /// (see [`crate::remarkup_out::inert_except`]): its monospace values (`` `SHA256:…` ``,
    /// `` `ssh-ed25519` ``, `` `ssh-keygen -t ed25519` ``, `` `subject` ``), so that they can
    /// be copied, and its references to comments and tasks (`T631#12`, `T952`), so that they
    /// link. A piece of any other shape is defused like the rest.
    #[serde(skip)]
    pub own: Vec<String>,
}

impl Check {
    /// The message in two parts: what is defused when posted, and the bot's own forms that
    /// are posted as they are (empty when there are none).
    pub(crate) fn message_parts(&self) -> (&str, &str) {
        match self.forms_from {
            Some(i) if self.message.is_char_boundary(i) => self.message.split_at(i),
            _ => (&self.message, ""),
        }
    }
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

/// What a request asks for (design §11): JSON `request.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// Access for a user (the access-request form).
    #[default]
    User,
    /// The removal of a user's access ("Remove access for jdoe", "Offboard jdoe").
    Removal,
    /// A change of an access group's privileges ("Change privileges of group X").
    PrivilegeChange,
}

/// The design §7 `request` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// What the request asks for.
    pub kind: RequestKind,
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
    /// Whether any requested known group grants sudo; for a privilege change, whether the
    /// change may grant sudo (it then needs the SRE meeting's review).
    pub sudo: bool,
    /// How the request is reviewed: `meeting` (the SRE meeting's security review) when a
    /// requested group's `review` says so (or a privilege change may grant sudo), else
    /// `waiting-period`; `null` for a privilege change without review and a removal.
    pub review: Option<crate::rules::Review>,
    /// The key, if one was found.
    pub key: Option<KeySummary>,
    /// Expiry date.
    pub expiry_date: Option<NaiveDate>,
    /// Expiry contact.
    pub expiry_contact: Option<String>,
    /// The task's author (who filed it).
    pub author: String,
    /// The Phabricator account the request is for (`null` while it is unknown).
    pub subject: Option<String>,
    /// A privilege change: the change requested, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// A privilege change: the impact if rejected, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
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
    /// For sudo requests: the SRE meeting whose agenda lists the review now (after rollovers),
    /// once it is scheduled (`None` before everything else passes, or once decided without a
    /// schedule). The agenda export uses it; the glue stores it as `SudoFacts::scheduled_for`
    /// only when nothing is stored yet.
    #[serde(skip)]
    pub sudo_meeting: Option<NaiveDate>,
    /// When the review is scheduled by this evaluation (nothing stored yet): when the rest of
    /// the checklist was complete, from the facts ([`SudoFacts::first_ready_at`](super::SudoFacts::first_ready_at) keeps it), so
    /// that a request complete before a meeting's cutoff goes to that meeting even when the
    /// bot first sees it after the cutoff.
    #[serde(skip)]
    pub sudo_ready_at: Option<DateTime<Utc>>,
}

/// One comment of a task as `explain` shows it: which checks it is evidence of, and, when it
/// did not count, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentNote {
    /// The comment's transaction id (the anchor on the task page).
    pub anchor: u64,
    /// Its author.
    pub author: Username,
    /// The date of its newest version.
    pub at: DateTime<Utc>,
    /// `web`, `email`, `conduit` or `unknown`.
    pub channel: &'static str,
    /// Whether it counts: it is evidence of a passing check.
    pub counted: bool,
    /// The checks it is evidence of (passing or not).
    pub checks: Vec<String>,
    /// Why it did not count (fit to show; `None` when it counted).
    pub why_not: Option<String>,
}
