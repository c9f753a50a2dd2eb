//! The policy engine (pure): the facts gathered about one task, the rules and `now` in; the
//! checklist of design §7 and its verdict out.
//!
//! Nothing here does I/O or reads the clock. The glue (the poller) resolves usernames,
//! memberships, channels, L3 signatures and store bookkeeping into [`Facts`]; [`evaluate`]
//! turns them into a [`Checklist`] that the report renderer prints. Whatever is unknown is
//! `pending` or `fail`, never `pass`.

use crate::approvals::{Analysed, Cutoff, RoleOutcome, ScopeFit};
use crate::calendar;
use crate::ids::{Fingerprint, Phid, TaskId, Username};
use crate::keys::KeyReport;
use crate::removal::Removal;
use crate::request::Parsed;
use crate::rules::{L3Source, Rules, Timing};
use crate::statement::{Scope, Statement};
use crate::timeline::Moment;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use std::fmt;

pub use crate::approvals::{Channel, CommentFact};
use crate::statement::Reading;

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

/// How the subject's account was found (design §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectBasis {
    /// Named in the request's `Phabricator username` field.
    Named,
    /// The task's author, whose username or real name matches the request's shell user,
    /// wikitech user or full name.
    Author,
    /// The one account whose username matches the shell or wikitech user and whose real name
    /// matches the full name.
    Directory,
}

/// The person the request is for (design §10): the task's author, or someone the author
/// files for (a manager for a new team member). Every person-check (L3, NDA, expiry, the
/// key's channel, "never by the requester") is about the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The subject's account is known.
    Known {
        /// Username.
        username: Username,
        /// PHID.
        phid: Phid,
        /// How it was found.
        basis: SubjectBasis,
    },
    /// The bot could not tell which account the request is for: clinic duty must look
    /// (pending). The reason is fit to post.
    Unknown {
        /// Why.
        reason: String,
    },
    /// The request names an account that cannot be its subject (none by that name, a bot,
    /// a disabled account, an unreadable field): the requester must correct it (fail).
    /// The reason is fit to post.
    Refused {
        /// Why.
        reason: String,
    },
}

impl Subject {
    /// The subject's username, when known.
    pub fn username(&self) -> Option<&Username> {
        match self {
            Subject::Known { username, .. } => Some(username),
            _ => None,
        }
    }

    /// The subject's PHID, when known.
    pub fn phid(&self) -> Option<&Phid> {
        match self {
            Subject::Known { phid, .. } => Some(phid),
            _ => None,
        }
    }

    /// What the store files a key sighting under: the subject's username (lowercase), or,
    /// while the subject is unknown, a name no account can have, unique to the task (so the
    /// sighting counts as another person's for every other request, and every other
    /// request's as another person's for this one).
    pub fn reuse_key(&self, task: TaskId) -> String {
        match self {
            Subject::Known { username, .. } => username.key(),
            _ => format!("?{task}"),
        }
    }
}

/// Sudo-review bookkeeping kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SudoFacts {
    /// The SRE meeting the review was first put on the agenda of: the first
    /// [`Checklist::sudo_meeting`] the glue saw, stored once and never moved (rollovers are
    /// computed from it, so the checklist can say which meeting did not decide).
    pub scheduled_for: Option<NaiveDate>,
    /// When the rest of the checklist was complete, as the glue stored it when the review was
    /// first scheduled ([`Checklist::sudo_ready_at`]).
    pub first_ready_at: Option<DateTime<Utc>>,
    /// When the bot last evaluated the request and found it not yet scheduled for a review
    /// (the stored evaluation before this one): the rest of the checklist was not complete
    /// then as far as the bot could see, which dates the facts that carry no date of their
    /// own (project memberships).
    pub incomplete_at: Option<DateTime<Utc>>,
}

/// Whether the subject may join an LDAP-only group with eligibility rules (design §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    /// Eligible; `via` says how, fit to post ("a member of Stewards").
    Eligible {
        /// How.
        via: String,
    },
    /// Neither a member of an eligible project nor in the eligible list.
    NotEligible,
    /// Could not be determined (the eligible file unreadable); the reason is fit to post.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Everything the engine needs about one task, gathered by the glue.
///
/// How the glue fills it (all pure helpers exist):
/// - `comments`: [`crate::timeline::Timeline::comment_facts`] with resolved people and the
///   channel source's answers (unknown → `Channel::Unknown`);
/// - `key_changed_at`, `groups_changed_at`: [`crate::timeline::Timeline::description_changes`];
///   when the key comes from a comment or paste newer than the description, the key changed
///   at that comment's (or paste's) time;
/// - `subject`: design §10 (the `Phabricator username` field, else the author when they
///   match the request, else the one matching account); unknown when it cannot tell;
/// - `key.trust`: [`comment_key_trust`] or [`authored_key_trust`] (the description version
///   that set the key, `DescriptionChanges::key_written_by`, or the paste author, compared
///   with the subject's PHID; unverified while the subject is unknown);
/// - `tagged_at`: `Timeline::tagged_at`;
/// - `sudo.scheduled_for`: the stored [`Checklist::sudo_meeting`] of the last evaluation.
///
/// Whatever the glue could not learn is left at its fail-closed value (`None`,
/// `L3::Unknown`, `Trust::Unverified`, `false`), never guessed.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The task.
    pub task: TaskId,
    /// Whether the task is open.
    pub open: bool,
    /// Whether the task carries the watched project's tag (`SRE-Access-Requests`). An open
    /// task whose tag was removed is `untagged`: not tracked, no checklist.
    pub tagged: bool,
    /// The task title (untrusted: used only for the not-a-request heuristic).
    pub title: String,
    /// The task's author: who filed it (not necessarily whom it is for).
    pub author: Username,
    /// The author's PHID.
    pub author_phid: Phid,
    /// The person the request is for; every person-check is about them.
    pub subject: Subject,
    /// The bot's own username (its comments never count).
    pub bot_user: Username,
    /// The description as written (untrusted: read only for signs of sudo in a privilege
    /// change).
    pub description: String,
    /// The parsed description.
    pub parsed: Parsed,
    /// The key.
    pub key: KeyFacts,
    /// The requester's shell user already exists in `data.yaml` (no new key needed).
    pub existing_user: bool,
    /// The comments of the task, oldest first, without the bot's own.
    pub comments: Vec<CommentFact>,
    /// When the current key came (the description edit that set it, the comment with it, the
    /// paste's last change), if after the task's first description.
    pub key_changed_at: Option<Moment>,
    /// When the requested groups last changed (description edit), if they did.
    pub groups_changed_at: Option<Moment>,
    /// When a group privilege change (its group, change or impact) last changed (description
    /// edit), if it did: approvals before it are stale.
    pub change_changed_at: Option<Moment>,
    /// The newest description edit, if the description was ever edited: the request cannot
    /// have been complete before it.
    pub described_at: Option<Moment>,
    /// When the task was tagged with the watched project (`None`: unknown).
    pub tagged_at: Option<DateTime<Utc>>,
    /// The subject is a member of a staff project (`false` while the subject is unknown).
    pub subject_staff: bool,
    /// The subject is a member of an NDA project (`false` while the subject is unknown).
    pub subject_nda: bool,
    /// The subject is a member of a `[people] research_projects` project (`false` while the
    /// subject is unknown, or when it was not looked up: no private-data group requested).
    pub subject_research: bool,
    /// The subject's eligibility for each requested LDAP-only group that has eligibility rules,
    /// by lowercase group name (absent: not determined, which is pending).
    pub eligibility: std::collections::BTreeMap<String, Eligibility>,
    /// The expiry contact named in the request is staff (`None`: unknown or none named).
    pub expiry_contact_staff: Option<bool>,
    /// The subject's L3 signature (`L3::Unknown` while the subject is unknown).
    pub l3: L3,
    /// Sudo-review bookkeeping.
    pub sudo: SudoFacts,
    /// Where the facts came from (the evidence of checks).
    pub sources: Sources,
}

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
    /// the expiry ([`crate::lifecycle`] decides it; [`evaluate`] never returns it).
    Granted,
    /// Open, but no longer (or not yet) tagged with the watched project: the bot does not
    /// track it and posts nothing; once tagged again it is checked again. Not `closed`: the
    /// task is open and someone may put the tag back.
    Untagged,
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

/// Where the facts of a task came from, for the evidence of checks (`explain`): filled by the
/// glue (the service's `evidence`); empty when it does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// The description as it is now: its last edit, or [`Evidence::Task`] when never edited.
    pub description: Option<Evidence>,
    /// The transaction that tagged the task with the watched project, or [`Evidence::Task`]
    /// when it was created with the tag.
    pub tag: Option<Evidence>,
    /// Where the key judged was written: the description version that set it, the comment,
    /// the paste.
    pub key: Vec<Evidence>,
    /// Comments with a key that was not taken, and why (fit to show).
    pub keys_not_taken: Vec<(Phid, String)>,
    /// Comments whose first version said `yes` to a statement and were edited since: if their
    /// newest version says `no`, that is a withdrawal.
    pub edited_from_yes: Vec<(Phid, Statement)>,
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
    /// the checklist was complete, from the facts ([`SudoFacts::first_ready_at`] keeps it), so
    /// that a request complete before a meeting's cutoff goes to that meeting even when the
    /// bot first sees it after the cutoff.
    #[serde(skip)]
    pub sudo_ready_at: Option<DateTime<Utc>>,
}

/// The trust of a key posted in a comment (design §1.2, §10): only the subject (`subject`:
/// their username), through the web or Conduit, counts; email never; an unknown channel is
/// unverified; a removed comment is no source at all (the glue should not pick it).
pub fn comment_key_trust(c: &CommentFact, subject: &Username) -> Trust {
    if c.removed {
        return Trust::NotTrusted {
            reason: "the comment with the key was removed".into(),
        };
    }
    if &c.author != subject {
        return Trust::NotTrusted {
            reason: format!(
                "the key was posted by @{}, not by @{subject}, whom the request is for",
                c.author
            ),
        };
    }
    match c.channel {
        Channel::Web | Channel::Conduit => Trust::Trusted,
        Channel::Email => Trust::NotTrusted {
            reason: "the key came in an email reply".into(),
        },
        Channel::Unknown => Trust::Unverified {
            reason: "the channel of the comment with the key could not be verified".into(),
        },
    }
}

/// The trust of a key in the description or in a paste: it counts when the subject wrote it
/// (`written_by_subject`: the description version that set the key, or the paste, was
/// authored by the person the request is for). A key a manager wrote into the description
/// they filed for someone else is not that person's: they post it themselves (a comment,
/// their own paste, or their own edit of the description).
pub fn authored_key_trust(source: &KeySource, written_by_subject: bool) -> Trust {
    if written_by_subject {
        return Trust::Trusted;
    }
    let reason = match source {
        KeySource::Paste { id } => {
            format!("paste P{id} was not written by the person the request is for")
        }
        _ => "the key in the description was written by someone other than the person the request is for".to_string(),
    };
    Trust::NotTrusted { reason }
}

/// Whether a tagged task is a user access request at all.
///
/// Conservative (a doubtful task gets a checklist, which then says what is missing): the
/// task is a request when the description names anything personal — full name, wikitech
/// user, shell user, email or a key — or when the title reads like an access request
/// ("requesting access", "access to", "access for", "access request", "shell access", "ssh
/// access", "production access", "new user"). A task with none of these, such as "Change
/// privileges of group analytics-admins", is not (it is a privilege change: [`request_kind`]).
pub fn is_user_request(title: &str, parsed: &Parsed) -> bool {
    if names_a_person(parsed) {
        return true;
    }
    let t = title.to_lowercase();
    [
        "requesting access",
        "access to",
        "access for",
        "access request",
        "shell access",
        "ssh access",
        "production access",
        "new user",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// Whether the description names anything personal: full name, wikitech user, shell user,
/// email or a key. Such a request is for a person, whatever else it says.
fn names_a_person(parsed: &Parsed) -> bool {
    let r = &parsed.request;
    r.full_name.is_some()
        || r.wikitech_user.is_some()
        || r.shell_user.is_some()
        || r.email.is_some()
        || r.key.is_some()
}

/// What a tagged task asks for (design §11); `None`: it is no request (`not-a-request`).
///
/// In this order: a description with a privilege change's own fields (`Existing group:`,
/// `Requested change:`) that names nobody is a privilege change; a title asking to remove
/// access is a removal; a description that names a person is a user request (whatever its
/// title or other fields say); a privilege-change title (`[privilege_change] title`) is a
/// privilege change; a title that reads like an access request is a user request.
pub fn request_kind(title: &str, parsed: &Parsed, rules: &Rules) -> Option<RequestKind> {
    let person = names_a_person(parsed);
    if !person && parsed.request.change.is_some() {
        return Some(RequestKind::PrivilegeChange);
    }
    if crate::removal::removal(title, parsed, rules).is_some() {
        return Some(RequestKind::Removal);
    }
    if person {
        return Some(RequestKind::User);
    }
    if privilege_title(title, rules).is_some() {
        return Some(RequestKind::PrivilegeChange);
    }
    is_user_request(title, parsed).then_some(RequestKind::User)
}

/// The first `[privilege_change] title` pattern the (folded) title matches, with the group it
/// names: `Some(None)` when it matches without naming one, `Some(Some(Err(word)))` when what it
/// names is no group name.
fn privilege_title(title: &str, rules: &Rules) -> Option<Option<Result<String, String>>> {
    let folded = crate::statement::fold(title);
    rules.privilege_change.title.iter().find_map(|re| {
        let caps = re.captures(&folded)?;
        Some(caps.name("group").map(|g| {
            let name = g.as_str().trim_matches(|c: char| matches!(c, '.' | '`'));
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                });
            if ok {
                Ok(name.to_string())
            } else {
                Err(name.chars().take(40).collect())
            }
        }))
    })
}

/// Why a privilege change needs the SRE meeting's security review (design §11), or `None`.
/// Fail closed: any sign of sudo in the title or the description (code, quotes and all, after
/// folding look-alikes, with and without emphasis markup), a change to a sudo group or to a
/// group that is not known, another sudo group named, or a change not described.
fn change_review_reason(facts: &Facts, rules: &Rules, group: Option<&str>) -> Option<String> {
    let described = facts
        .parsed
        .request
        .change
        .as_ref()
        .is_some_and(|c| c.change.is_some());
    if !described {
        return Some("the change is not described, so it may grant sudo".into());
    }
    let Some(name) = group else {
        return Some("the group is not known, so the change may grant sudo".into());
    };
    match rules.group(name) {
        None => return Some("the group is not known, so the change may grant sudo".into()),
        Some(g) if g.sudo => return Some(format!("{name} is a sudo group")),
        Some(_) => {}
    }
    let sudo = &rules.privilege_change.sudo;
    for text in [facts.title.as_str(), facts.description.as_str()] {
        let folded = crate::statement::fold(text);
        let bare: String = folded
            .replace("//", "")
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '~' | '`' | '#' | '!'))
            .collect();
        if sudo.is_match(&folded) || sudo.is_match(&bare) {
            return Some("the change mentions sudo, root, NOPASSWD or a privileges line".into());
        }
    }
    if facts
        .parsed
        .problems
        .iter()
        .any(|p| p.field == HIDDEN_GROUPS_FIELD)
    {
        return Some("it names a sudo group".into());
    }
    None
}

/// Whether a request without visible progress since `last_activity` is stale:
/// `stale_after_business_days` business days have passed (same local time of day).
pub fn is_stale(last_activity: DateTime<Utc>, now: DateTime<Utc>, timing: &Timing) -> bool {
    let local = last_activity.with_timezone(&timing.timezone);
    let day =
        calendar::add_business_days(local.date_naive(), timing.stale_after_business_days, timing);
    now >= calendar::local_to_utc(day, local.time(), timing)
}

/// Evaluates one task: the checklist of design §7 and its verdict. Pure: `now` is the
/// evaluation time; nothing is read or written.
pub fn evaluate(facts: &Facts, rules: &Rules, now: DateTime<Utc>) -> Checklist {
    let kind = request_kind(&facts.title, &facts.parsed, rules);
    let request = summary(facts, rules, kind.unwrap_or_default());
    let done = |verdict| Checklist {
        task: facts.task,
        verdict,
        until: None,
        request: request.clone(),
        checks: Vec::new(),
        sudo_meeting: None,
        sudo_ready_at: None,
    };
    if !facts.open {
        return done(Verdict::Closed);
    }
    if !facts.tagged {
        return done(Verdict::Untagged);
    }
    let kind = match kind {
        None => return done(Verdict::NotARequest),
        Some(k) => k,
    };
    // A task asking to remove access gets the removal instead of a checklist.
    if kind == RequestKind::Removal {
        if let Some(removal) = crate::removal::removal(&facts.title, &facts.parsed, rules) {
            let mut summary = request.clone();
            if let Removal::Target { user, groups } = &removal {
                summary.shell_user = Some(user.to_string());
                summary.groups = groups.clone();
            }
            return Checklist {
                request: summary,
                checks: vec![removal_check(&removal)],
                ..done(Verdict::Blocked)
            };
        }
    }
    let ctx = Ctx {
        facts,
        rules,
        now,
        kind,
        comments: Analysed::new(&facts.comments, rules),
        cutoff: cutoff(facts, &rules.timing, kind),
    };
    let mut checks = Vec::with_capacity(16);
    let mut expiry = None;
    if kind == RequestKind::PrivilegeChange {
        let target = ctx.change_target();
        checks.push(ctx.change_known_group(&target));
        checks.push(ctx.change_described(&request));
        checks.push(ctx.change_reason());
        if let Ok(name) = &target {
            if let Some(group) = rules.group(name) {
                checks.push(ctx.lead_approval(name, group));
            }
        }
    } else {
        let ldap_only = ctx.ldap_only();
        checks.push(ctx.request_complete(ldap_only));
        checks.push(ctx.one_user());
        checks.push(ctx.subject());
        checks.extend(ctx.known_groups());
        checks.extend(ctx.key_checks(ldap_only));
        checks.push(ctx.l3());
        checks.push(ctx.nda());
        checks.extend(ctx.data_access());
        checks.extend(ctx.eligibility());
        checks.push(ctx.manager_approval());
        checks.extend(ctx.lead_approvals());
        expiry = ctx.expiry();
    }
    let mut sudo_meeting = None;
    let mut sudo_ready_at = None;
    let mut declined = false;
    if request.review == Some(crate::rules::Review::Meeting) {
        let others_pass = checks
            .iter()
            .chain(expiry.iter())
            .all(|c| c.status == Status::Pass);
        let complete_at = ctx.complete_at(checks.iter().chain(expiry.iter()));
        let review = ctx.sudo_review(others_pass, approvals_at(&checks, facts), complete_at);
        sudo_meeting = review.meeting;
        sudo_ready_at = review.ready_at;
        declined = review.declined;
        checks.push(review.check);
    } else if kind == RequestKind::User {
        checks.push(ctx.waiting_period());
    }
    checks.extend(expiry);
    if kind == RequestKind::User {
        checks.extend(ctx.executive_signoff(&checks));
    }
    for c in &mut checks {
        ctx.add_sources(c);
    }

    let (verdict, until) = if declined {
        (Verdict::Declined, None)
    } else {
        verdict_of(&checks)
    };
    Checklist {
        task: facts.task,
        verdict,
        until,
        request,
        checks,
        sudo_meeting,
        sudo_ready_at,
    }
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

/// Why each comment of a task counted or did not (`explain`): removed, by a bot, a key not
/// taken, by email or through an unknown channel, the requester's own word, an unclear reading
/// and why, a withdrawal, before the key or group change, withdrawn later, not a person whose
/// word counts here, or nothing the bot reads (quotes and code never count). Pure, like
/// [`evaluate`], whose checklist it is given; empty when the task has no checks (closed,
/// untagged, not a request).
pub fn comment_notes(facts: &Facts, rules: &Rules, checklist: &Checklist) -> Vec<CommentNote> {
    // A closed, untagged or not-a-request task is not checked: its comments are not judged.
    if checklist.checks.is_empty() {
        return Vec::new();
    }
    let analysed = Analysed::new(&facts.comments, rules);
    let cut = cutoff(facts, &rules.timing, checklist.request.kind);
    let day = |at: DateTime<Utc>| calendar::local_date(at, &rules.timing);
    facts
        .comments
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cites = |pass: bool| -> Vec<String> {
                checklist
                    .checks
                    .iter()
                    .filter(|k| (k.status == Status::Pass) == pass)
                    .filter(|k| k.evidence.iter().any(|e| e.xact() == Some(&c.xact)))
                    .map(|k| k.id.to_string())
                    .collect()
            };
            let (passing, other) = (cites(true), cites(false));
            let counted = !passing.is_empty();
            // What it said: about a check it is evidence of, else a `yes`, an `unclear`, a
            // `no`, in that order (a correction reads as a `no` of several statements).
            let readings = &analysed.readings[i];
            let about = |s: &Statement| {
                checklist.checks.iter().any(|k| {
                    k.evidence.iter().any(|e| e.xact() == Some(&c.xact))
                        && matches!(
                            (&k.id, s),
                            (
                                CheckId::ManagerApproval | CheckId::LeadApproval(_),
                                Statement::Approve
                            ) | (
                                CheckId::SudoReview,
                                Statement::SreApproved | Statement::SreDeclined
                            ) | (CheckId::Nda, Statement::NdaConfirmed)
                                | (CheckId::L3, Statement::L3Verified)
                        )
                })
            };
            let said = Statement::ALL
                .iter()
                .filter(|s| about(s))
                .chain(Statement::ALL.iter().filter(|s| matches!(readings.get(**s), Reading::Yes { .. })))
                .chain(Statement::ALL.iter().filter(|s| matches!(readings.get(**s), Reading::Unclear { .. })))
                .chain(Statement::ALL.iter())
                .map(|s| (*s, readings.get(*s)))
                .find(|(_, r)| **r != Reading::None);
            let key_note = facts
                .sources
                .keys_not_taken
                .iter()
                .find(|(x, _)| x == &c.xact)
                .map(|(_, why)| why.clone());
            let withdrawn_later = |s: Statement| {
                analysed
                    .said(s)
                    .filter(|(k, r)| {
                        k.author == c.author
                            && (k.at, k.anchor) > (c.at, c.anchor)
                            && **r == Reading::No
                    })
                    .map(|(k, _)| k)
                    .last()
            };
            let why = if counted {
                None
            } else if c.removed {
                Some("it was removed".to_string())
            } else if c.author_is_bot {
                Some("its author is a bot account".to_string())
            } else if let Some(k) = key_note {
                Some(k)
            } else if let Some((s, r)) = said {
                Some(match r {
                    _ if c.channel == Channel::Email => {
                        "it came by email: only comments made on the web count".to_string()
                    }
                    _ if c.channel == Channel::Unknown => {
                        "its channel (web or email) could not be verified".to_string()
                    }
                    _ if facts.subject.username() == Some(&c.author) => format!(
                        "@{} is the person the request is for: their own word never counts",
                        c.author
                    ),
                    Reading::Unclear { why } => {
                        format!("it could not be read as {}: {why}", s.describe())
                    }
                    Reading::No => format!("it withdraws or denies {}", s.describe()),
                    _ if cut.as_ref().is_some_and(|k| k.predates(c)) => {
                        let k = cut.as_ref().expect("checked");
                        format!("it predates the {} on {}", k.what, k.date)
                    }
                    _ => match withdrawn_later(s) {
                        Some(w) => format!(
                            "withdrawn by @{} on {} ({}#{})",
                            w.author,
                            day(w.at),
                            facts.task,
                            w.anchor
                        ),
                        None if !other.is_empty() => {
                            format!("it does not settle {}: see there", other.join(", "))
                        }
                        None => format!(
                            "@{} is not among the people whose {} counts for this request",
                            c.author,
                            s.describe().trim_start_matches("an ").trim_start_matches("a ")
                        ),
                    },
                })
            } else {
                Some("it says nothing accessbot reads as an approval, a confirmation or a decision (quotes and code never count)".to_string())
            };
            let mut checks = passing;
            checks.extend(other);
            CommentNote {
                anchor: c.anchor,
                author: c.author.clone(),
                at: c.at,
                channel: match c.channel {
                    Channel::Web => "web",
                    Channel::Email => "email",
                    Channel::Conduit => "conduit",
                    Channel::Unknown => "unknown",
                },
                counted,
                checks,
                why_not: why,
            }
        })
        .collect()
}

/// The newest approval that counts (manager or project lead), as (time, transaction id): a
/// sudo request cannot have gone to a meeting before then.
fn approvals_at(checks: &[Check], facts: &Facts) -> Option<(DateTime<Utc>, u64)> {
    checks
        .iter()
        .filter(|c| {
            c.status == Status::Pass
                && matches!(c.id, CheckId::ManagerApproval | CheckId::LeadApproval(_))
        })
        .flat_map(|c| c.evidence.iter())
        .filter_map(|e| facts.comments.iter().find(|k| e.xact() == Some(&k.xact)))
        .map(|k| (k.at, k.anchor))
        .max()
}

/// The verdict of a list of checks (not closed, not declined): any fail, or a pending check
/// that needs a person or has no end in sight → blocked; only time-bound pendings → waiting
/// until the latest of them; otherwise ready.
fn verdict_of(checks: &[Check]) -> (Verdict, Option<DateTime<Utc>>) {
    let mut until: Option<DateTime<Utc>> = None;
    for c in checks {
        match (c.status, c.who, c.until) {
            (Status::Pass, _, _) => {}
            (Status::Pending, None, Some(t)) => until = Some(until.map_or(t, |u| u.max(t))),
            _ => return (Verdict::Blocked, None),
        }
    }
    match until {
        Some(t) => (Verdict::Waiting, Some(t)),
        None => (Verdict::Ready, None),
    }
}

fn summary(facts: &Facts, rules: &Rules, kind: RequestKind) -> RequestSummary {
    let r = &facts.parsed.request;
    let key = match facts.key.source {
        KeySource::None => None,
        ref source => Some(KeySummary {
            algorithm: facts.key.report.as_ref().and_then(|k| k.algorithm.clone()),
            bits: facts.key.report.as_ref().and_then(|k| k.bits),
            fingerprint: facts
                .key
                .report
                .as_ref()
                .and_then(|k| k.fingerprint.clone()),
            source: source.as_str(),
        }),
    };
    let known = || r.groups.iter().filter_map(|g| rules.group(g));
    let mut out = RequestSummary {
        kind,
        full_name: r.full_name.clone(),
        wikitech_user: r.wikitech_user.clone(),
        shell_user: r.shell_user.as_ref().map(|s| s.as_str().to_string()),
        email: r.email.clone(),
        groups: r.groups.clone(),
        sudo: known().any(|g| g.sudo),
        review: Some(
            if known().any(|g| g.review() == crate::rules::Review::Meeting) {
                crate::rules::Review::Meeting
            } else {
                crate::rules::Review::WaitingPeriod
            },
        ),
        key,
        expiry_date: r.expiry_date,
        expiry_contact: r.expiry_contact.as_ref().map(|u| u.as_str().to_string()),
        author: facts.author.as_str().to_string(),
        subject: facts.subject.username().map(|u| u.as_str().to_string()),
        change: None,
        impact: None,
    };
    match kind {
        RequestKind::PrivilegeChange => {
            let target = change_target(facts, rules);
            out.groups = match &target {
                Ok(g) => vec![g.clone()],
                Err(_) => change_groups(facts),
            };
            let why = change_review_reason(facts, rules, target.as_deref().ok());
            out.sudo = why.is_some();
            out.review = why.map(|_| crate::rules::Review::Meeting);
            if let Some(c) = &r.change {
                out.change = c.change.clone();
                out.impact = c.impact.clone();
            }
        }
        RequestKind::Removal => out.review = None,
        RequestKind::User => {}
    }
    out
}

/// The groups a privilege change names: its existing-group field, else a groups field.
fn change_groups(facts: &Facts) -> Vec<String> {
    let r = &facts.parsed.request;
    match &r.change {
        Some(c) if !c.groups.is_empty() => c.groups.clone(),
        _ => r.groups.clone(),
    }
}

/// The one known group a privilege change is for, or why it cannot be told (fit to post).
fn change_target(facts: &Facts, rules: &Rules) -> Result<String, String> {
    let field_problems: Vec<String> = facts
        .parsed
        .problems
        .iter()
        .filter(|p| p.field == "existing_group")
        .map(|p| unquoted(&p.message))
        .collect();
    if !field_problems.is_empty() {
        return Err(field_problems.join("; "));
    }
    let named = change_groups(facts);
    if named.len() > 1 {
        return Err(format!(
            "a privilege change is for one group, but this one names {}: file one task per group",
            named.join(", ")
        ));
    }
    let title = privilege_title(&facts.title, rules).flatten();
    let group = match (named.first(), title) {
        (_, Some(Err(_))) => {
            return Err(
                "the title names something that is not a group name: name the existing group in an `Existing group:` line".into(),
            )
        }
        (Some(f), Some(Ok(t))) if *f != t => {
            return Err(format!(
                "the title names the group {t} but the request names {f}: say which group the change is for"
            ))
        }
        (Some(f), _) => f.clone(),
        (None, Some(Ok(t))) => t,
        (None, None) => {
            return Err(
                "no existing group is named: write `Existing group:` and the group's name".into(),
            )
        }
    };
    if rules.group(&group).is_none() {
        return Err(format!(
            "unknown group: {group} (known groups are listed in rules/groups.toml)"
        ));
    }
    Ok(group.to_lowercase())
}

/// The latest change of the key or the groups (for a privilege change: of the change itself),
/// by (time, transaction id): approvals before it do not count.
fn cutoff(facts: &Facts, timing: &Timing, kind: RequestKind) -> Option<Cutoff> {
    let change = (kind == RequestKind::PrivilegeChange)
        .then_some(facts.change_changed_at)
        .flatten()
        .map(|m| (m, "change edit"));
    let key = facts.key_changed_at.map(|m| (m, "key change"));
    let groups = facts.groups_changed_at.map(|m| (m, "group change"));
    let (moment, what) =
        [key, groups, change]
            .into_iter()
            .flatten()
            .reduce(|a, b| if b.0 > a.0 { b } else { a })?;
    Some(Cutoff {
        at: moment.at,
        xact: moment.xact,
        what,
        date: calendar::local_date(moment.at, timing),
    })
}

fn evidence(c: &CommentFact) -> Evidence {
    Evidence::Transaction {
        xact: c.xact.clone(),
        anchor: c.anchor,
    }
}

/// A check whose message ends with `forms`, the bot's own text telling a person what to
/// comment (see [`Check::forms_from`]).
fn with_forms(id: CheckId, status: Status, who: Option<Who>, lead: String, forms: String) -> Check {
    let at = lead.len();
    let mut c = check(id, status, who, lead + &forms);
    c.forms_from = Some(at);
    c
}

fn check(id: CheckId, status: Status, who: Option<Who>, message: String) -> Check {
    Check {
        id,
        status,
        who,
        message,
        evidence: Vec::new(),
        until: None,
        forms_from: None,
    }
}

fn pass(id: CheckId, message: String) -> Check {
    check(id, Status::Pass, None, message)
}

fn mentions(people: &[&CommentFact]) -> String {
    let mut out = String::new();
    for (i, c) in people.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('@');
        out.push_str(c.author.as_str());
    }
    out
}

fn with_notes(mut message: String, notes: &[String]) -> String {
    if !notes.is_empty() {
        message.push_str(" (");
        message.push_str(&notes.join("; "));
        message.push(')');
    }
    message
}

/// Problem field for a sudo group the description names outside the requested groups:
/// `known-groups` reports it (see [`hidden_sudo_groups`]).
pub const HIDDEN_GROUPS_FIELD: &str = "groups_hidden";

/// Sudo groups (from `groups.toml`) that the title or the description names anywhere — in
/// any case, as a whole word, after normalisation (zero-width characters removed, dash and
/// letter look-alikes of other scripts folded) — but that are not among the requested
/// groups: a sudo group hidden in free text must not slip past the SRE meeting (the request
/// is blocked until the groups field says exactly what is requested). Linear in the text.
pub fn hidden_sudo_groups(
    title: &str,
    description: &str,
    requested: &[String],
    rules: &Rules,
) -> Vec<String> {
    let requested: std::collections::HashSet<String> =
        requested.iter().map(|g| g.to_lowercase()).collect();
    let sudo: std::collections::HashMap<&str, &String> = rules
        .groups
        .iter()
        .filter(|(name, g)| g.sudo && !requested.contains(name.as_str()))
        .map(|(name, _)| (name.as_str(), name))
        .collect();
    if sudo.is_empty() {
        return Vec::new();
    }
    let mut found = std::collections::BTreeSet::new();
    for text in [title, description] {
        let folded = crate::statement::fold(text);
        let words = folded.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')));
        for word in words {
            let word = word.trim_matches('.');
            // "deploy-service.", "see deploy-service.yaml": the word and its dotted parts.
            for candidate in std::iter::once(word).chain(word.split('.')) {
                if let Some(name) = sudo.get(candidate) {
                    found.insert((*name).clone());
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Problem fields that `one-user` reports: the parser reports "more than one user on this
/// task" on the whole request (`request`); `one_user` is accepted as well.
pub(crate) const ONE_USER_FIELD: &str = "one_user";
/// See [`ONE_USER_FIELD`].
pub(crate) const REQUEST_FIELD: &str = "request";

/// A parser message without the requester's words: every double-quoted span (the parser
/// quotes what it could not read) becomes `…`.
fn unquoted(message: &str) -> String {
    if !message.contains('"') {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push('…');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

struct Ctx<'a> {
    facts: &'a Facts,
    rules: &'a Rules,
    now: DateTime<Utc>,
    /// A user request or a privilege change (removals never get here).
    kind: RequestKind,
    comments: Analysed<'a>,
    cutoff: Option<Cutoff>,
}

/// What [`Ctx::sudo_review`] decided.
struct ReviewOutcome {
    /// The `sudo-review` check.
    check: Check,
    /// The meeting whose agenda lists the review now.
    meeting: Option<NaiveDate>,
    /// When the rest of the checklist was complete, when this evaluation schedules the review.
    ready_at: Option<DateTime<Utc>>,
    /// The SRE meeting declined the request.
    declined: bool,
}

impl<'a> Ctx<'a> {
    /// `2026-11-09 10:00 CET`: local date and time with the zone's abbreviation (or its
    /// name when it has none).
    fn fmt_time(&self, t: DateTime<Utc>) -> String {
        use chrono::Timelike;
        use chrono_tz::OffsetName;
        let local = t.with_timezone(&self.rules.timing.timezone);
        let offset = local.offset();
        format!(
            "{} {:02}:{:02} {}",
            local.date_naive(),
            local.hour(),
            local.minute(),
            offset.abbreviation().unwrap_or(offset.tz_id())
        )
    }

    /// Whether a comment's author is an ordinary person other than the subject.
    fn independent(&self, c: &CommentFact) -> bool {
        !self.is_subject(&c.author)
            && c.author != self.facts.bot_user
            && !c.author_is_bot
            && !c.author_disabled
    }

    /// Whether `who` is the person the request is for. While the subject is not known, the
    /// author may be: they are treated as the subject (fail closed), so that nobody approves
    /// or confirms what may be their own request.
    fn is_subject(&self, who: &Username) -> bool {
        if self.kind == RequestKind::PrivilegeChange {
            // A change to a group is nobody's own access: its requester is its author.
            return who == &self.facts.author;
        }
        match &self.facts.subject {
            Subject::Known { username, .. } => who == username,
            Subject::Unknown { .. } | Subject::Refused { .. } => who == &self.facts.author,
        }
    }

    /// `@cwong`: how messages name the subject (`None` while unknown).
    fn subject_mention(&self) -> Option<String> {
        self.facts.subject.username().map(|u| format!("@{u}"))
    }

    /// A person-check (`l3`, `nda`, `expiry`, `key-channel`) while it is not known whom the
    /// request is for: pending, for whoever must settle the subject; never a pass.
    fn without_subject(&self, id: CheckId) -> Check {
        let who = match &self.facts.subject {
            Subject::Refused { .. } => Who::Requester,
            Subject::Known { .. } | Subject::Unknown { .. } => Who::ClinicDuty,
        };
        check(
            id,
            Status::Pending,
            Some(who),
            "cannot be checked until it is known whom this request is for (see `subject`)".into(),
        )
    }

    /// `subject`: whose request this is (design §10), always present.
    fn subject(&self) -> Check {
        let id = CheckId::Subject;
        let field = self.problems("phabricator_user");
        if !field.is_empty() {
            return check(
                id,
                Status::Fail,
                Some(Who::Requester),
                format!(
                    "the Phabricator username field could not be read: {}",
                    field.join("; ")
                ),
            );
        }
        match &self.facts.subject {
            Subject::Known {
                username, basis, ..
            } => {
                let how = match basis {
                    SubjectBasis::Named => " (named in the request)",
                    SubjectBasis::Author => "",
                    SubjectBasis::Directory => {
                        " (the one account with the request's username and full name)"
                    }
                };
                let author = &self.facts.author;
                if username == author {
                    pass(id, format!("filed by the subject @{username}{how}"))
                } else {
                    pass(id, format!("for @{username}{how}, filed by @{author}"))
                }
            }
            Subject::Unknown { reason } => check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!(
                    "could not tell which Phabricator account this request is for ({reason}); the request can name it in a `Phabricator username:` line"
                ),
            ),
            Subject::Refused { reason } => {
                check(id, Status::Fail, Some(Who::Requester), reason.clone())
            }
        }
    }

    /// The parser's problems about `field`, made safe to post.
    fn problems(&self, field: &str) -> Vec<String> {
        self.facts
            .parsed
            .problems
            .iter()
            .filter(|p| p.field == field)
            .map(|p| unquoted(&p.message))
            .collect()
    }

    /// Whether every requested group is a known LDAP-only group (design §11): no shell
    /// account, so no key and no shell username are needed. A request that also names a shell
    /// group, or an unknown one, keeps them.
    fn ldap_only(&self) -> bool {
        let groups = &self.facts.parsed.request.groups;
        !groups.is_empty()
            && groups
                .iter()
                .all(|g| self.rules.group(g).is_some_and(|g| g.is_ldap()))
    }

    /// `request-complete`. An LDAP-only request (`ldap_only`) needs no key and no shell
    /// username (a shell username it does give must still be valid).
    fn request_complete(&self, ldap_only: bool) -> Check {
        let r = &self.facts.parsed.request;
        let fields = [
            ("full_name", "full name", r.full_name.is_none()),
            (
                "wikitech_user",
                "wikitech username",
                r.wikitech_user.is_none(),
            ),
            (
                "shell_user",
                "shell username",
                r.shell_user.is_none() && !ldap_only,
            ),
            ("email", "email address", r.email.is_none()),
            ("groups", "requested groups", r.groups.is_empty()),
            ("reason", "reason for access", r.reason.is_none()),
        ];
        let mut missing: Vec<&str> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        for (field, label, absent) in fields {
            let mut found = self.problems(field);
            if ldap_only && field == "shell_user" {
                found.retain(|p| p != crate::request::MISSING_SHELL_USER);
            }
            if found.is_empty() {
                if absent {
                    missing.push(label);
                }
            } else {
                problems.extend(found);
            }
        }
        // A reserved name is refused for a new account; one already in data.yaml is the
        // account the request is about, not a new one.
        if let Some(user) = &r.shell_user {
            if !self.facts.existing_user {
                problems.extend(self.rules.keys.shell_user_refusal(user));
            }
        }
        let no_key = r.key.is_none() && self.facts.key.source == KeySource::None;
        if no_key && !self.facts.existing_user && !ldap_only {
            missing.push("SSH public key");
        }
        if missing.is_empty() && problems.is_empty() {
            return pass(CheckId::RequestComplete, "all fields are present".into());
        }
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing: {}", missing.join(", ")));
        }
        parts.extend(problems);
        check(
            CheckId::RequestComplete,
            Status::Fail,
            Some(Who::Requester),
            parts.join("; "),
        )
    }

    fn one_user(&self) -> Check {
        let mut problems = self.problems(ONE_USER_FIELD);
        problems.extend(self.problems(REQUEST_FIELD));
        if problems.is_empty() {
            pass(CheckId::OneUser, "one user per task".into())
        } else {
            check(
                CheckId::OneUser,
                Status::Fail,
                Some(Who::Requester),
                format!(
                    "one task per user, please: {} (file a separate task for each user)",
                    problems.join("; ")
                ),
            )
        }
    }

    fn known_groups(&self) -> Option<Check> {
        let groups = &self.facts.parsed.request.groups;
        if groups.is_empty() {
            return None; // reported by request-complete
        }
        let unknown: Vec<&str> = groups
            .iter()
            .filter(|g| self.rules.group(g).is_none())
            .map(String::as_str)
            .collect();
        let hidden = self.problems(HIDDEN_GROUPS_FIELD);
        if unknown.is_empty() && !hidden.is_empty() {
            return Some(check(
                CheckId::KnownGroups,
                Status::Fail,
                Some(Who::Requester),
                hidden.join("; "),
            ));
        }
        Some(if unknown.is_empty() {
            pass(
                CheckId::KnownGroups,
                format!("groups: {}", groups.join(", ")),
            )
        } else {
            check(
                CheckId::KnownGroups,
                Status::Fail,
                Some(Who::Requester),
                format!(
                    "unknown group{}: {} (known groups are listed in rules/groups.toml)",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.join(", ")
                ),
            )
        })
    }

    /// The evidence of a check that is not a person's comment: the description for what the
    /// request says, the key's source, the L3 signature, the staff or NDA membership, the tag
    /// transaction (`explain` links each).
    fn add_sources(&self, c: &mut Check) {
        let f = self.facts;
        let add: Vec<Evidence> = match &c.id {
            CheckId::RequestComplete
            | CheckId::OneUser
            | CheckId::Subject
            | CheckId::KnownGroups
            | CheckId::Expiry => f.sources.description.iter().cloned().collect(),
            CheckId::SshKey | CheckId::KeyFresh => self.key_evidence(),
            CheckId::L3 => match (&f.l3, f.subject.username()) {
                (L3::Signed { at }, Some(u)) => vec![Evidence::Signature {
                    document: self.rules.l3.document.clone(),
                    signer: u.clone(),
                    at: *at,
                }],
                _ => Vec::new(),
            },
            CheckId::Nda => {
                let projects = if f.subject_staff {
                    &self.rules.people.staff_projects
                } else {
                    &self.rules.people.nda_projects
                };
                match f.subject.username() {
                    Some(u) if c.status == Status::Pass && (f.subject_staff || f.subject_nda) => {
                        vec![Evidence::Membership {
                            user: u.clone(),
                            project: projects.join(" or "),
                        }]
                    }
                    _ => Vec::new(),
                }
            }
            CheckId::WaitingPeriod => f.sources.tag.iter().cloned().collect(),
            CheckId::KeyChannel if c.status != Status::Pass => f
                .sources
                .keys_not_taken
                .iter()
                .filter_map(|(x, _)| f.comments.iter().find(|k| &k.xact == x))
                .map(evidence)
                .collect(),
            _ => Vec::new(),
        };
        for e in add {
            if !c.evidence.contains(&e) {
                c.evidence.push(e);
            }
        }
    }

    fn key_evidence(&self) -> Vec<Evidence> {
        if !self.facts.sources.key.is_empty() {
            return self.facts.sources.key.clone();
        }
        match &self.facts.key.source {
            KeySource::Comment { xact, anchor } => vec![Evidence::Transaction {
                xact: xact.clone(),
                anchor: *anchor,
            }],
            KeySource::Paste { id } => vec![Evidence::Paste { id: *id }],
            _ => Vec::new(),
        }
    }

    /// `ssh-key`, `key-fresh`, `key-channel`. An existing user who gives no key needs none;
    /// an LDAP-only request (`ldap_only`) needs none either, but a private key posted on it
    /// is still reported as compromised.
    fn key_checks(&self, ldap_only: bool) -> Vec<Check> {
        let k = &self.facts.key;
        let mut out = Vec::with_capacity(3);
        if ldap_only {
            if k.report.as_ref().is_some_and(|r| r.private_key) {
                let mut c = check(
                    CheckId::SshKey,
                    Status::Fail,
                    Some(Who::Requester),
                    "a private key was posted: it must be considered compromised; this LDAP-only request needs no key, but that key pair must never be used".into(),
                );
                c.evidence = self.key_evidence();
                out.push(c);
            }
            return out;
        }
        let mut ssh = match (&k.source, &k.report) {
            (KeySource::None, _) => {
                if self.facts.existing_user {
                    return out;
                }
                let found = self.problems("ssh_key");
                let message = if found.is_empty() {
                    "no SSH public key was found: add a dedicated public key for production"
                        .to_string()
                } else {
                    found.join("; ")
                };
                check(CheckId::SshKey, Status::Fail, Some(Who::Requester), message)
            }
            (KeySource::Pointer, _) => check(
                CheckId::SshKey,
                Status::Pending,
                Some(Who::ClinicDuty),
                "the key is given by reference (wiki page or Gerrit change): to be verified by clinic duty".into(),
            ),
            (_, None) => check(
                CheckId::SshKey,
                Status::Pending,
                Some(Who::ClinicDuty),
                "the key could not be read: to be verified by clinic duty".into(),
            ),
            (_, Some(report)) if report.private_key => check(
                CheckId::SshKey,
                Status::Fail,
                Some(Who::Requester),
                "a private key was posted: it must be considered compromised; generate a new key pair and post only the public key".into(),
            ),
            // The description's key field has problems of its own (e.g. two different keys).
            (KeySource::Description, Some(report))
                if report.ok && !self.problems("ssh_key").is_empty() =>
            {
                check(
                    CheckId::SshKey,
                    Status::Fail,
                    Some(Who::Requester),
                    self.problems("ssh_key").join("; "),
                )
            }
            (_, Some(report)) if report.ok && report.fingerprint.is_some() => {
                let mut m = report.algorithm.clone().unwrap_or_else(|| "key".into());
                if let Some(bits) = report.bits {
                    m.push_str(&format!(", {bits} bits"));
                }
                if let Some(fp) = &report.fingerprint {
                    m.push_str(&format!(", {fp}"));
                }
                pass(CheckId::SshKey, m)
            }
            (_, Some(report)) => {
                let why = if report.problems.is_empty() {
                    "the key is not acceptable".to_string()
                } else {
                    report.problems.join("; ")
                };
                check(CheckId::SshKey, Status::Fail, Some(Who::Requester), why)
            }
        };
        ssh.evidence = self.key_evidence();
        out.push(ssh);

        let Some(report) = &k.report else {
            return out;
        };
        if report.private_key {
            return out;
        }
        if report.fingerprint.is_some() {
            out.push(if k.reuse.is_empty() {
                pass(
                    CheckId::KeyFresh,
                    "the key is not used by anyone else".into(),
                )
            } else {
                let places: Vec<String> = k
                    .reuse
                    .iter()
                    .map(|r| match r {
                        KeyReuse::EarlierRequest { task } => {
                            format!("an earlier request by another user ({task})")
                        }
                        KeyReuse::DataYaml { user } => {
                            format!("the admin data of shell user {user}")
                        }
                        KeyReuse::KnownKeys => "the known Cloud VPS keys".into(),
                    })
                    .collect();
                check(
                    CheckId::KeyFresh,
                    Status::Fail,
                    Some(Who::Requester),
                    format!(
                        "the key is already used elsewhere ({}): production needs a dedicated new key",
                        places.join(", ")
                    ),
                )
            });
        }
        let subject = self
            .subject_mention()
            .unwrap_or_else(|| "the requester".into());
        let mut channel = match &k.trust {
            _ if self.facts.subject.username().is_none() => {
                self.without_subject(CheckId::KeyChannel)
            }
            Trust::Trusted => pass(
                CheckId::KeyChannel,
                match &k.source {
                    KeySource::Description => format!("posted by {subject} in the task description"),
                    KeySource::Comment { .. } => format!("posted by {subject} in a comment"),
                    KeySource::Paste { id } => format!("in paste P{id}, written by {subject}"),
                    KeySource::Pointer | KeySource::None => format!("from {subject}"),
                },
            ),
            Trust::NotTrusted { reason } => check(
                CheckId::KeyChannel,
                Status::Fail,
                Some(Who::Requester),
                format!("{reason}: the key must come from {subject} in the task description, a web comment or their own paste"),
            ),
            Trust::Unverified { reason } => check(
                CheckId::KeyChannel,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!("{reason}: to be verified by clinic duty"),
            ),
        };
        channel.evidence = self.key_evidence();
        out.push(channel);
        out
    }

    /// A confirmation (`statement`) by one of `people`, independent of the requester, read
    /// like an approval (design §9): `Ok(check)` when it decides the check (pass, or pending
    /// because a comment is doubtful or its channel unknown), else `Err(notes)` for the
    /// caller's failing message (a withdrawn confirmation, say).
    fn confirmed_by(
        &self,
        id: &CheckId,
        statement: Statement,
        people: &[Username],
        passed: &str,
    ) -> Result<Check, Vec<String>> {
        let by = |c: &CommentFact| -> Result<(), Option<String>> {
            if self.independent(c) && people.contains(&c.author) {
                Ok(())
            } else {
                Err(None)
            }
        };
        let outcome = self
            .comments
            .role(statement, by, None, |_| ScopeFit::Covers);
        if outcome.doubts.is_empty()
            && outcome.withdrawn.is_empty()
            && outcome.objections.is_empty()
        {
            if let Some(c) = outcome.approved.first() {
                let mut ok = pass(id.clone(), format!("{passed} @{}", c.author));
                ok.evidence.push(evidence(c));
                return Ok(ok);
            }
        }
        if !outcome.doubts.is_empty()
            || !outcome.approved.is_empty()
            || !outcome.unverified.is_empty()
        {
            // Doubt, a disagreement or an unverified channel: the generic role check says which.
            return Ok(self.role_check(
                id.clone(),
                Who::ClinicDuty,
                statement,
                outcome,
                String::new(),
                None,
            ));
        }
        let mut notes = outcome.notes;
        for c in &outcome.withdrawn {
            notes.push(format!(
                "confirmation withdrawn by @{} on {}",
                c.author,
                self.comment_ref(c)
            ));
        }
        for c in &outcome.objections {
            notes.push(format!("@{} said no on {}", c.author, self.comment_ref(c)));
        }
        Err(notes)
    }

    fn l3(&self) -> Check {
        let id = CheckId::L3;
        let Some(subject) = self.subject_mention() else {
            return self.without_subject(id);
        };
        if let L3::Signed { .. } = self.facts.l3 {
            return pass(id, format!("{subject} signed L3"));
        }
        let mut notes = Vec::new();
        if self.rules.l3.sources.contains(&L3Source::VerifierComment) {
            match self.confirmed_by(
                &id,
                Statement::L3Verified,
                &self.rules.l3.verifiers,
                "L3 verified by",
            ) {
                Ok(c) => return c,
                Err(n) => notes = n,
            }
        }
        match &self.facts.l3 {
            L3::Signed { .. } | L3::NotSigned => check(
                id,
                Status::Fail,
                Some(Who::Requester),
                with_notes(
                    format!("{subject} has not signed L3 (Acknowledgement of Wikimedia Server Access Responsibilities) yet"),
                    &notes,
                ),
            ),
            L3::NotVisible => check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                "cannot see L3 signatures: clinic duty must verify the signature".into(),
            ),
            L3::Unknown { reason } => check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!("the L3 signature could not be checked ({reason}): clinic duty must verify it"),
            ),
        }
    }

    fn nda(&self) -> Check {
        let id = CheckId::Nda;
        let Some(subject) = self.subject_mention() else {
            return self.without_subject(id);
        };
        if self.facts.subject_staff {
            return pass(id, format!("{subject} is staff"));
        }
        if self.facts.subject_nda {
            return pass(id, format!("{subject} is a member of an NDA project"));
        }
        let notes = match self.confirmed_by(
            &id,
            Statement::NdaConfirmed,
            &self.rules.people.legal_users,
            "NDA confirmed by",
        ) {
            Ok(c) => return c,
            Err(notes) => notes,
        };
        with_forms(
            id,
            Status::Fail,
            Some(Who::Legal),
            with_notes(
                format!(
                    "no NDA on file: {subject} is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task"
                ),
                &notes,
            ) + "; to confirm, a legal user comments ",
            self.how_to(Statement::NdaConfirmed, None),
        )
    }

    fn is_lead_of_requested(&self, who: &Username) -> bool {
        self.facts
            .parsed
            .request
            .groups
            .iter()
            .filter_map(|g| self.rules.group(g))
            .any(|g| g.approvers.contains(who))
    }

    /// A comment named in a message: "2026-11-03 (T123#45)".
    fn comment_ref(&self, c: &CommentFact) -> String {
        format!(
            "{} ({}#{})",
            calendar::local_date(c.at, &self.rules.timing),
            self.facts.task,
            c.anchor
        )
    }

    /// The form of a statement the bot always understands, for messages: "`Approved.`" or,
    /// for an approval with a group, "`Approved.` or `Approved for deployment.`".
    fn how_to(&self, st: Statement, group: Option<&str>) -> String {
        let example = self
            .rules
            .phrases
            .reading
            .examples
            .get(&st)
            .map(String::as_str)
            .unwrap_or("");
        match group {
            Some(g) if st == Statement::Approve => {
                format!("`{example}` or `{}`", crate::rules::approve_for(example, g))
            }
            _ => format!("`{example}`"),
        }
    }

    /// The check of one role from its outcome (design §9): `pass` only when someone whose
    /// word counts said `yes` plainly and nobody whose word could count is in doubt or took
    /// it back; an `unclear` reading makes it `pending` for clinic duty, naming the comment.
    fn role_check(
        &self,
        id: CheckId,
        who: Who,
        st: Statement,
        outcome: RoleOutcome<'_>,
        missing: String,
        group: Option<&str>,
    ) -> Check {
        let what = st.describe();
        let how = self.how_to(st, group);
        // A `yes` edited into a `no` is a withdrawal, as much as a later `no` comment.
        let mut outcome = outcome;
        let (edited, objections): (Vec<_>, Vec<_>) =
            outcome.objections.into_iter().partition(|c| {
                self.facts
                    .sources
                    .edited_from_yes
                    .iter()
                    .any(|(x, s)| *x == c.xact && *s == st)
            });
        outcome.objections = objections;
        outcome.withdrawn.extend(edited);
        if let Some(first) = outcome.doubts.first() {
            let c = first.comment;
            let mut message = format!(
                "could not read @{}'s comment of {} as {what}: {}",
                c.author,
                self.comment_ref(c),
                first.why,
            );
            if outcome.doubts.len() > 1 {
                message.push_str(&format!(
                    " (and {} more doubtful comment{})",
                    outcome.doubts.len() - 1,
                    if outcome.doubts.len() == 2 { "" } else { "s" }
                ));
            }
            message.push_str(&format!(
                "; clinic duty confirms, or @{} comments ",
                c.author
            ));
            let mut p = with_forms(id, Status::Pending, Some(Who::ClinicDuty), message, how);
            p.evidence = outcome.doubts.iter().map(|d| evidence(d.comment)).collect();
            return p;
        }
        let against: Vec<&CommentFact> = outcome
            .withdrawn
            .iter()
            .chain(outcome.objections.iter())
            .copied()
            .collect();
        if !outcome.approved.is_empty() {
            if let Some(c) = against.first() {
                // Someone whose word counts said yes, someone else whose word could count
                // said no: a person decides.
                let mut p = check(
                    id,
                    Status::Pending,
                    Some(Who::ClinicDuty),
                    format!(
                        "{} by {}, but @{} said no on {}: clinic duty decides",
                        if st == Statement::Approve {
                            "approved"
                        } else {
                            "confirmed"
                        },
                        mentions(&outcome.approved),
                        c.author,
                        self.comment_ref(c)
                    ),
                );
                p.evidence = outcome.approved.iter().map(|c| evidence(c)).collect();
                return p;
            }
            let verb = match st {
                Statement::Approve => "approved by",
                Statement::ExecutiveSignoff => "signed off by",
                _ => "confirmed by",
            };
            let mut ok = pass(id, format!("{verb} {}", mentions(&outcome.approved)));
            ok.evidence = outcome.approved.iter().map(|c| evidence(c)).collect();
            return ok;
        }
        if !outcome.unverified.is_empty() {
            let mut p = check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                with_notes(
                    format!(
                        "{} by {}: channel could not be verified",
                        if st == Statement::Approve {
                            "approval"
                        } else {
                            "confirmation"
                        },
                        mentions(&outcome.unverified)
                    ),
                    &outcome.notes,
                ),
            );
            p.evidence = outcome.unverified.iter().map(|c| evidence(c)).collect();
            return p;
        }
        if let Some(c) = outcome.withdrawn.first() {
            let lead = with_notes(
                format!(
                    "{} withdrawn by @{} on {}",
                    if st == Statement::Approve {
                        "approval"
                    } else {
                        "confirmation"
                    },
                    c.author,
                    self.comment_ref(c),
                ),
                &outcome.notes,
            );
            let again = if st == Statement::Approve {
                "approve again"
            } else {
                "confirm again"
            };
            return with_forms(
                id,
                Status::Fail,
                Some(who),
                format!("{lead}; to {again}, comment "),
                how,
            );
        }
        let mut notes = outcome.notes.clone();
        for c in &outcome.objections {
            notes.push(format!("@{} said no on {}", c.author, self.comment_ref(c)));
        }
        let lead = format!(
            "{}; to {}, comment ",
            with_notes(missing, &notes),
            if st == Statement::Approve {
                "approve"
            } else {
                "confirm"
            }
        );
        with_forms(id, Status::Fail, Some(who), lead, how)
    }

    /// Why the author of `c` can never approve this request (the requester, a bot, a disabled
    /// account), fit to post.
    fn cannot_approve(&self, c: &CommentFact) -> Option<String> {
        if self.is_subject(&c.author) {
            Some(match &self.facts.subject {
                _ if self.kind == RequestKind::PrivilegeChange => {
                    "the requester cannot approve their own request".into()
                }
                Subject::Known { username, .. } if username == &self.facts.author => {
                    "the requester cannot approve their own request".into()
                }
                Subject::Known { username, .. } => {
                    format!("@{username}, whom the request is for, cannot approve it")
                }
                _ => format!(
                    "@{}'s approval cannot count while it is unknown whom the request is for (it may be their own)",
                    c.author
                ),
            })
        } else if c.author == self.facts.bot_user || c.author_is_bot {
            Some(format!("@{} is a bot account", c.author))
        } else if c.author_disabled {
            Some(format!("@{}'s account is disabled", c.author))
        } else {
            None
        }
    }

    fn manager_approval(&self) -> Check {
        let named = self.facts.parsed.request.manager.as_ref();
        // With no manager named, whoever is needed as the project lead of a requested group
        // cannot also be the manager (design §10): one person fills both roles only when the
        // request names them as manager.
        let leads: Vec<(&str, Vec<&CommentFact>)> = if named.is_none() {
            self.facts
                .parsed
                .request
                .groups
                .iter()
                .filter_map(|name| {
                    let group = self.rules.group(name)?;
                    Some((name.as_str(), self.lead_role(name, group).approved))
                })
                .collect()
        } else {
            Vec::new()
        };
        let eligible = |c: &CommentFact| -> Result<(), Option<String>> {
            if let Some(why) = self.cannot_approve(c) {
                return Err(Some(why));
            }
            if let Some(m) = named {
                if &c.author != m {
                    if self.is_lead_of_requested(&c.author) {
                        return Err(None);
                    }
                    return Err(Some(format!(
                        "approval by @{} does not count: the request names @{m} as manager",
                        c.author
                    )));
                }
            }
            if !c.author_is_staff {
                if self.is_lead_of_requested(&c.author) {
                    return Err(None);
                }
                return Err(Some(format!(
                    "approval by @{} does not count: not a staff member",
                    c.author
                )));
            }
            let sole_lead = leads.iter().find(|(_, approved)| {
                approved.iter().any(|l| l.author == c.author)
                    && approved.iter().all(|l| l.author == c.author)
            });
            if let Some((group, _)) = sole_lead {
                return Err(Some(format!(
                    "@{} approved as the project lead of {group}: with no manager named, the manager's or sponsor's approval must come from someone else (or the request names @{} as manager)",
                    c.author, c.author
                )));
            }
            Ok(())
        };
        let unreadable = self.problems("manager");
        if named.is_none() && !unreadable.is_empty() {
            // Someone is named but could not be read: nobody else may stand in (fail closed).
            return check(
                CheckId::ManagerApproval,
                Status::Fail,
                Some(Who::Requester),
                format!(
                    "the manager or sponsor could not be read: {}",
                    unreadable.join("; ")
                ),
            );
        }
        let requested = &self.facts.parsed.request.groups;
        // The manager approves the request: a scoped approval counts only when it names every
        // requested group; otherwise it is doubtful for this role.
        let fit = |scope: &Scope| {
            if scope.covers_all(requested) {
                ScopeFit::Covers
            } else {
                ScopeFit::Partial(format!(
                    "it approves {} only, not the whole request",
                    scope.names()
                ))
            }
        };
        let outcome = self
            .comments
            .role(Statement::Approve, eligible, self.cutoff.as_ref(), fit);
        let missing = match named {
            Some(m) if self.is_subject(m) => match &self.facts.subject {
                Subject::Known { .. } => format!(
                    "the request names @{m}, whom it is for, as manager: name the manager or sponsor"
                ),
                _ => format!(
                    "the request names its author @{m} as manager, whose approval counts only once it is known whom the request is for (see `subject`)"
                ),
            },
            Some(m) => format!("no approval from @{m} (the named manager or sponsor) yet"),
            None => "no approval from the manager or sponsor yet".into(),
        };
        let group = match requested.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        self.role_check(
            CheckId::ManagerApproval,
            Who::Manager,
            Statement::Approve,
            outcome,
            missing,
            group,
        )
    }

    /// The approvals that count for the project lead of `group` (named `name`): a scoped
    /// approval counts for the groups it names and for no other group.
    fn lead_role(&self, name: &str, group: &crate::rules::Group) -> RoleOutcome<'a> {
        let eligible = |c: &CommentFact| -> Result<(), Option<String>> {
            if !group.approvers.contains(&c.author) {
                return Err(None);
            }
            if let Some(why) = self.cannot_approve(c) {
                return Err(Some(why));
            }
            Ok(())
        };
        let fit = |scope: &Scope| {
            if scope.covers(name) {
                ScopeFit::Covers
            } else {
                ScopeFit::Elsewhere(format!(
                    "an approval for {} only does not count for {name}",
                    scope.names()
                ))
            }
        };
        self.comments
            .role(Statement::Approve, eligible, self.cutoff.as_ref(), fit)
    }

    fn lead_approvals(&self) -> Vec<Check> {
        self.facts
            .parsed
            .request
            .groups
            .iter()
            // An unknown group is reported by known-groups.
            .filter_map(|name| Some(self.lead_approval(name, self.rules.group(name)?)))
            .collect()
    }

    /// `lead-approval:<group>`: one of the group's approvers.
    fn lead_approval(&self, name: &str, group: &crate::rules::Group) -> Check {
        let outcome = self.lead_role(name, group);
        let approvers: Vec<String> = group.approvers.iter().map(|a| format!("@{a}")).collect();
        let missing = format!(
            "no approval from a project lead of {name} yet (approvers: {})",
            approvers.join(", ")
        );
        self.role_check(
            CheckId::LeadApproval(name.to_lowercase()),
            Who::ProjectLead,
            Statement::Approve,
            outcome,
            missing,
            Some(name),
        )
    }

    /// The sudo-review check, the meeting it is on the agenda of, and whether it was declined.
    ///
    /// `approvals_at` is when the newest counting approval was written. An approval decision
    /// counts only when a meeting could have made it: at or after the start of the first
    /// meeting the review went to (the stored schedule, or else the meeting that follows the
    /// last approval and the last key or group change). A decision posted before the request
    /// was even scheduled is no meeting decision.
    fn sudo_review(
        &self,
        others_pass: bool,
        approvals_at: Option<(DateTime<Utc>, u64)>,
        complete_at: Option<DateTime<Utc>>,
    ) -> ReviewOutcome {
        let decided = |check: Check, meeting: Option<NaiveDate>, declined: bool| ReviewOutcome {
            check,
            meeting,
            ready_at: None,
            declined,
        };
        let id = CheckId::SudoReview;
        let (m, t) = (&self.rules.meeting, &self.rules.timing);
        let decider = |c: &CommentFact| {
            self.independent(c) && self.rules.people.sre_deciders.contains(&c.author)
        };
        // Declined is final for the request (design §1.6): any plain decline by a decider,
        // whatever came after.
        let mut declined: Option<&CommentFact> = None;
        let mut unverified = false;
        let mut doubt: Option<(&CommentFact, String)> = None;
        for (c, r) in self.comments.said(Statement::SreDeclined) {
            if !decider(c) {
                continue;
            }
            match r {
                Reading::Yes { .. } if c.channel.counts() => declined = Some(c),
                Reading::Yes { .. } if c.channel == Channel::Unknown => unverified = true,
                Reading::Unclear { why } => {
                    doubt.get_or_insert((c, why.clone()));
                }
                _ => {}
            }
        }
        let outcome = self.comments.role(
            Statement::SreApproved,
            |c| if decider(c) { Ok(()) } else { Err(None) },
            None,
            |_| ScopeFit::Covers,
        );
        if let Some(d) = outcome.doubts.first() {
            doubt.get_or_insert((d.comment, d.why.clone()));
        }
        unverified |= !outcome.unverified.is_empty();
        let disagree = !outcome.withdrawn.is_empty() || !outcome.objections.is_empty();
        let earliest = [
            self.cutoff.as_ref().map(|k| k.at),
            approvals_at.map(|a| a.0),
            complete_at,
        ]
        .into_iter()
        .flatten()
        .max();
        let reviewable_from = self
            .first_meeting()
            .or_else(|| earliest.map(|e| calendar::next_meeting(e, m, t)))
            .map(|d| calendar::meeting_start(d, m, t));
        let decision = outcome
            .approved
            .iter()
            .copied()
            .max_by_key(|c| (c.at, c.anchor));
        let approved = decision.filter(|c| {
            !self.cutoff.as_ref().is_some_and(|k| k.predates(c))
                && approvals_at.is_none_or(|a| (c.at, c.anchor) > a)
                && reviewable_from.is_some_and(|s| c.at >= s)
        });
        // Said on every line while the request waits for its meeting: an early decision does
        // not count (and when the meeting is), a withdrawn one says by whom.
        let early = decision.filter(|_| approved.is_none());
        let notes_for = |meeting: Option<NaiveDate>| -> Vec<String> {
            let mut notes = Vec::new();
            if let Some(d) = early {
                notes.push(format!(
                    "the SRE meeting decision of @{} on {} was posted before the meeting that reviews the request{} and does not count",
                    d.author,
                    self.comment_ref(d),
                    meeting.map(|m| format!(", on {m},")).unwrap_or_default(),
                ));
            }
            for c in &outcome.withdrawn {
                notes.push(format!(
                    "SRE meeting approval withdrawn by @{} on {}",
                    c.author,
                    self.comment_ref(c)
                ));
            }
            notes
        };
        let noted: Vec<Evidence> = early
            .into_iter()
            .chain(outcome.withdrawn.iter().copied())
            .map(evidence)
            .collect();
        if let Some(d) = declined {
            let mut c = check(
                id,
                Status::Fail,
                None,
                format!("declined at the SRE meeting (@{})", d.author),
            );
            c.evidence.push(evidence(d));
            return decided(c, self.facts.sudo.scheduled_for, true);
        }
        if let Some((d, why)) = doubt {
            let mut c = with_forms(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!(
                    "could not read @{}'s comment of {} as an SRE meeting decision: {why}; clinic duty confirms, or @{} comments ",
                    d.author,
                    self.comment_ref(d),
                    d.author,
                ),
                format!(
                    "{} or {}",
                    self.how_to(Statement::SreApproved, None),
                    self.how_to(Statement::SreDeclined, None)
                ),
            );
            c.evidence.push(evidence(d));
            return decided(c, self.facts.sudo.scheduled_for, false);
        }
        if let (Some(a), false) = (approved, disagree) {
            let mut c = pass(id, format!("approved at the SRE meeting (@{})", a.author));
            c.evidence.push(evidence(a));
            return decided(c, self.facts.sudo.scheduled_for, false);
        }
        if unverified {
            let c = check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                "an SRE meeting decision comment's channel could not be verified".into(),
            );
            return decided(c, self.facts.sudo.scheduled_for, false);
        }
        // Once scheduled, the first meeting it went to (rollovers count from it); otherwise it
        // is scheduled when everything else passes, for the meeting whose cutoff comes after
        // the time the rest was complete (from the facts, not the time of this evaluation: a
        // request complete before the cutoff goes to that meeting even when the bot first sees
        // it after the cutoff).
        let mut ready_at = None;
        let scheduled = match self.facts.sudo.scheduled_for {
            Some(_) => self.first_meeting(),
            None => others_pass.then(|| {
                self.first_meeting().unwrap_or_else(|| {
                    let at = complete_at.map_or(self.now, |c| c.min(self.now));
                    ready_at = Some(at);
                    calendar::next_meeting(at, m, t)
                })
            }),
        };
        let Some(date) = scheduled else {
            let mut c = check(
                id,
                Status::Pending,
                None,
                with_notes(
                    "sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes".into(),
                    &notes_for(None),
                ),
            );
            c.evidence = noted;
            return decided(c, None, false);
        };
        if let Some(r) = calendar::rolled_over(date, self.now, m, t) {
            let mut c = check(
                id,
                Status::Pending,
                Some(Who::Sre),
                with_notes(
                    format!(
                        "not decided at the SRE meeting of {}: rolled over to {}",
                        r.missed, r.next
                    ),
                    &notes_for(Some(r.next)),
                ),
            );
            c.evidence = noted;
            c.until = Some(calendar::meeting_start(r.next, m, t));
            return ReviewOutcome {
                ready_at,
                ..decided(c, Some(r.next), false)
            };
        }
        let start = calendar::meeting_start(date, m, t);
        let mut c = check(
            id,
            Status::Pending,
            None,
            with_notes(
                format!("on the agenda of the SRE meeting of {date}"),
                &notes_for(Some(date)),
            ),
        );
        if self.now < start {
            c.until = Some(start);
        } else {
            c.message = with_notes(
                format!("on the agenda of the SRE meeting of {date}: waiting for the decision"),
                &notes_for(Some(date)),
            );
            c.until = Some(calendar::meeting_day_end(date, t));
        }
        c.evidence = noted;
        ReviewOutcome {
            check: c,
            meeting: Some(date),
            ready_at,
            declined: false,
        }
    }

    /// The first meeting a sudo review went to, as far as it is known: the stored date, or
    /// the meeting that follows the time it first became ready, whichever is earlier (so a
    /// glue that stores the rolled-over date still gets "not decided at …").
    fn first_meeting(&self) -> Option<NaiveDate> {
        let (m, t) = (&self.rules.meeting, &self.rules.timing);
        let first = self
            .facts
            .sudo
            .first_ready_at
            .map(|ready| calendar::next_meeting(ready, m, t));
        match (self.facts.sudo.scheduled_for, first) {
            (Some(stored), Some(first)) => Some(stored.min(first)),
            (stored, first) => stored.or(first),
        }
    }

    fn waiting_period(&self) -> Check {
        let id = CheckId::WaitingPeriod;
        let t = &self.rules.timing;
        let Some(tagged) = self.facts.tagged_at else {
            return check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                "the time the task was tagged is unknown: clinic duty must check the waiting period".into(),
            );
        };
        let end = calendar::waiting_period_end(tagged, t);
        let unit = if t.waiting_period_business_days {
            "business days"
        } else {
            "days"
        };
        if self.now >= end {
            pass(
                id,
                format!(
                    "the waiting period of {} {unit} ended on {}",
                    t.waiting_period_days,
                    self.fmt_time(end)
                ),
            )
        } else {
            let mut c = check(
                id,
                Status::Pending,
                None,
                format!(
                    "waiting period of {} {unit}: ends {}",
                    t.waiting_period_days,
                    self.fmt_time(end)
                ),
            );
            c.until = Some(end);
            c
        }
    }

    fn expiry(&self) -> Option<Check> {
        if self.facts.subject.username().is_none() {
            return Some(self.without_subject(CheckId::Expiry));
        }
        if self.facts.subject_staff {
            return None;
        }
        let id = CheckId::Expiry;
        let r = &self.facts.parsed.request;
        let today = calendar::local_date(self.now, &self.rules.timing);
        let mut problems: Vec<String> = Vec::new();
        match r.expiry_date {
            None => {
                let found = self.problems("expiry_date");
                if found.is_empty() {
                    problems.push("no valid expiry date (YYYY-MM-DD)".into());
                } else {
                    problems.extend(found);
                }
            }
            Some(d) if d <= today => {
                problems.push(format!("the expiry date {d} is not in the future"))
            }
            Some(d) => {
                // At most `max_expiry_days` after the filing (the tag time; the evaluation
                // when it is unknown): a "time-limited" account dated 9999-12-31 is permanent.
                let max = self.rules.people.max_expiry_days;
                let filed = calendar::local_date(
                    self.facts.tagged_at.unwrap_or(self.now),
                    &self.rules.timing,
                );
                if let Some(limit) = filed.checked_add_days(chrono::Days::new(u64::from(max))) {
                    if d > limit {
                        problems.push(format!(
                            "the expiry date {d} is more than {max} days after the request was filed on {filed}: time-limited access lasts at most {max} days (until {limit} at the latest)"
                        ));
                    }
                }
            }
        }
        let mut unknown_contact = None;
        match &r.expiry_contact {
            None => {
                let found = self.problems("expiry_contact");
                if found.is_empty() {
                    problems.push("no expiry contact".into());
                } else {
                    problems.extend(found);
                }
            }
            Some(c) if self.is_subject(c) => {
                problems.push("the expiry contact must be someone other than the requester".into())
            }
            Some(c) => match self.facts.expiry_contact_staff {
                Some(true) => {}
                Some(false) => {
                    problems.push(format!("the expiry contact @{c} is not a staff member"))
                }
                None => unknown_contact = Some(c),
            },
        }
        Some(if !problems.is_empty() {
            check(
                id,
                Status::Fail,
                Some(Who::Requester),
                format!(
                    "a requester who is not staff needs an expiry date in the future and a staff expiry contact: {}",
                    problems.join("; ")
                ),
            )
        } else if let Some(c) = unknown_contact {
            check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!("could not verify that the expiry contact @{c} is staff"),
            )
        } else {
            let d = r.expiry_date.map(|d| d.to_string()).unwrap_or_default();
            let c = r.expiry_contact.as_ref().map(|c| c.as_str()).unwrap_or("");
            pass(id, format!("expires on {d}; expiry contact @{c}"))
        })
    }
}

/// The checks of design §11's processes: group privilege changes, volunteers (data access,
/// the executive sign-off), LDAP-only groups, and when a review's checklist was complete.
impl<'a> Ctx<'a> {
    fn change_target(&self) -> Result<String, String> {
        change_target(self.facts, self.rules)
    }

    /// `known-groups` of a privilege change: it names exactly one known group.
    fn change_known_group(&self, target: &Result<String, String>) -> Check {
        match target {
            Ok(g) => pass(CheckId::KnownGroups, format!("group: {g}")),
            Err(why) => check(
                CheckId::KnownGroups,
                Status::Fail,
                Some(Who::Requester),
                why.clone(),
            ),
        }
    }

    /// `change-described`: the change requested is written down (its text is never quoted).
    fn change_described(&self, request: &RequestSummary) -> Check {
        let id = CheckId::ChangeDescribed;
        let described = self
            .facts
            .parsed
            .request
            .change
            .as_ref()
            .is_some_and(|c| c.change.is_some());
        if !described {
            return check(
                id,
                Status::Fail,
                Some(Who::Requester),
                "the requested change is not described: write `Requested change:` and what should change (for sudo, the exact rule)".into(),
            );
        }
        let target = self.change_target();
        let review = match change_review_reason(self.facts, self.rules, target.as_deref().ok()) {
            Some(why) if request.review == Some(crate::rules::Review::Meeting) => {
                format!("{why}: it needs a security review at the SRE meeting")
            }
            _ => "no sign of sudo: the project lead's approval suffices".into(),
        };
        pass(id, format!("the requested change is described ({review})"))
    }

    /// `reason`: a privilege change gives its reason and the impact if it is rejected.
    fn change_reason(&self) -> Check {
        let r = &self.facts.parsed.request;
        let mut missing = Vec::new();
        if r.reason.is_none() {
            missing.push("the reason for the change (`Reason:`)");
        }
        if r.change.as_ref().is_none_or(|c| c.impact.is_none()) {
            missing.push("the impact if it is rejected (`Impact if rejected:`)");
        }
        if missing.is_empty() {
            pass(
                CheckId::Reason,
                "the reason and the impact if rejected are given".into(),
            )
        } else {
            check(
                CheckId::Reason,
                Status::Fail,
                Some(Who::Requester),
                format!("missing: {}", missing.join(", ")),
            )
        }
    }

    /// `data-access`: a requested `private_data` group, for someone who is not staff, needs a
    /// research collaboration: membership of a `[people] research_projects` project or a
    /// `research_confirmed` comment by one of `[people] research_users`.
    fn data_access(&self) -> Option<Check> {
        let private: Vec<&str> = self
            .facts
            .parsed
            .request
            .groups
            .iter()
            .filter(|g| self.rules.group(g).is_some_and(|g| g.private_data))
            .map(String::as_str)
            .collect();
        if private.is_empty() {
            return None;
        }
        let id = CheckId::DataAccess;
        let Some(subject) = self.subject_mention() else {
            return Some(self.without_subject(id));
        };
        if self.facts.subject_staff {
            return None;
        }
        let people = &self.rules.people;
        let groups = format!(
            "{} hold{} private data",
            private.join(", "),
            if private.len() == 1 { "s" } else { "" }
        );
        if self.facts.subject_research {
            return Some(pass(
                id,
                format!(
                    "{subject} is a member of a research project ({})",
                    people.research_projects.join(", ")
                ),
            ));
        }
        let mut notes = Vec::new();
        if !people.research_users.is_empty() {
            match self.confirmed_by(
                &id,
                Statement::ResearchConfirmed,
                &people.research_users,
                "research collaboration confirmed by",
            ) {
                Ok(c) => return Some(c),
                Err(n) => notes = n,
            }
        }
        if people.research_projects.is_empty() && people.research_users.is_empty() {
            return Some(check(
                id,
                Status::Fail,
                Some(Who::ClinicDuty),
                format!(
                    "{groups}, which someone who is not staff may see only in a research collaboration, and no research project or research user is configured ([people] research_projects, research_users)"
                ),
            ));
        }
        let mut ways = Vec::new();
        if !people.research_projects.is_empty() {
            ways.push(format!(
                "membership of a research project ({})",
                people.research_projects.join(", ")
            ));
        }
        if !people.research_users.is_empty() {
            let users: Vec<String> = people
                .research_users
                .iter()
                .map(|u| format!("@{u}"))
                .collect();
            ways.push(format!(
                "a confirmation on the task by a research user ({})",
                users.join(", ")
            ));
        }
        let lead = with_notes(
            format!(
                "{groups}: {subject} is not staff, so a research collaboration is needed: {}",
                ways.join(" or ")
            ),
            &notes,
        );
        Some(if people.research_users.is_empty() {
            check(id, Status::Fail, Some(Who::Manager), lead)
        } else {
            with_forms(
                id,
                Status::Fail,
                Some(Who::Manager),
                lead + "; to confirm, a research user comments ",
                self.how_to(Statement::ResearchConfirmed, None),
            )
        })
    }

    /// `eligibility:<group>`: for each requested LDAP-only group with eligibility rules, the
    /// subject is a member of one of its `eligible_projects` or in its `eligible_file`.
    fn eligibility(&self) -> Vec<Check> {
        let mut out = Vec::new();
        for name in &self.facts.parsed.request.groups {
            let Some(g) = self.rules.group(name) else {
                continue;
            };
            if !g.is_ldap() || !g.has_eligibility() {
                continue;
            }
            let lower = name.to_lowercase();
            let id = CheckId::Eligibility(lower.clone());
            let Some(subject) = self.subject_mention() else {
                out.push(self.without_subject(id));
                continue;
            };
            let mut who = Vec::new();
            if !g.eligible_projects.is_empty() {
                who.push(format!("members of {}", g.eligible_projects.join(", ")));
            }
            if !g.eligible_file.trim().is_empty() {
                let file = std::path::Path::new(g.eligible_file.trim())
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                who.push(format!("the people in the eligible list {file}"));
            }
            let who = who.join(" and ");
            out.push(match self.facts.eligibility.get(&lower) {
                Some(Eligibility::Eligible { via }) => {
                    pass(id, format!("{subject} may join {lower}: {via}"))
                }
                Some(Eligibility::NotEligible) => check(
                    id,
                    Status::Fail,
                    Some(Who::ClinicDuty),
                    format!("{subject} is not eligible for {lower}: only {who} may join it"),
                ),
                Some(Eligibility::Unknown { reason }) => check(
                    id,
                    Status::Pending,
                    Some(Who::ClinicDuty),
                    format!(
                        "eligibility for {lower} could not be checked ({reason}): clinic duty verifies that {subject} is among {who}"
                    ),
                ),
                None => check(
                    id,
                    Status::Pending,
                    Some(Who::ClinicDuty),
                    format!(
                        "eligibility for {lower} was not checked: clinic duty verifies that {subject} is among {who}"
                    ),
                ),
            });
        }
        out
    }

    /// `executive-signoff`: a volunteer's request (the subject is not staff) for production
    /// access needs, after every other check passes, the sign-off of one of `[people]
    /// executives`, read per person like any statement (design §9). Omitted when no
    /// executives are configured and for an LDAP-only request. Until every other check
    /// passes it is pending, and nobody is asked yet: it waits for the other checks' time
    /// when they only wait for time.
    fn executive_signoff(&self, others: &[Check]) -> Option<Check> {
        let executives = &self.rules.people.executives;
        if executives.is_empty() || self.ldap_only() {
            return None;
        }
        let id = CheckId::ExecutiveSignoff;
        if self.facts.subject.username().is_none() {
            return Some(self.without_subject(id));
        }
        if self.facts.subject_staff {
            return None;
        }
        let eligible = |c: &CommentFact| -> Result<(), Option<String>> {
            if self.independent(c) && executives.contains(&c.author) {
                Ok(())
            } else {
                Err(None)
            }
        };
        let outcome = self.comments.role(
            Statement::ExecutiveSignoff,
            eligible,
            self.cutoff.as_ref(),
            |_| ScopeFit::Covers,
        );
        let names: Vec<String> = executives.iter().map(|u| format!("@{u}")).collect();
        let names = names.join(", ");
        let open: Vec<&Check> = others.iter().filter(|c| c.status != Status::Pass).collect();
        if open.is_empty() {
            return Some(self.role_check(
                id,
                Who::Manager,
                Statement::ExecutiveSignoff,
                outcome,
                format!(
                    "no executive sign-off yet: a volunteer's request needs one of {names}; the sponsor asks for it"
                ),
                None,
            ));
        }
        let only_time = open
            .iter()
            .all(|c| c.status == Status::Pending && c.who.is_none() && c.until.is_some());
        let clean = outcome.doubts.is_empty()
            && outcome.withdrawn.is_empty()
            && outcome.objections.is_empty();
        let said = match outcome.approved.first() {
            Some(c) if clean => format!(" (@{} signed off already: it counts then)", c.author),
            _ => String::new(),
        };
        let mut c = check(
            id,
            Status::Pending,
            None,
            format!(
                "a volunteer's request needs the sign-off of an executive ({names}) once every other check passes ({} open); the sponsor coordinates it{said}",
                open.len()
            ),
        );
        c.until = if only_time {
            open.iter().filter_map(|c| c.until).max()
        } else {
            None
        };
        Some(c)
    }

    /// When the rest of the checklist was complete, as far as the facts tell (design §11): the
    /// latest of the tag time, the last change of the key, the groups, a privilege change or
    /// the description, the L3 signature, the comments that pass a check (approvals,
    /// confirmations, a key in a comment), and the bot's last evaluation that found the
    /// request not yet complete (which dates what carries no date: project memberships).
    fn complete_at<'c>(&self, checks: impl Iterator<Item = &'c Check>) -> Option<DateTime<Utc>> {
        let f = self.facts;
        let mut latest: Option<DateTime<Utc>> = None;
        let mut see = |t: DateTime<Utc>| latest = Some(latest.map_or(t, |l| l.max(t)));
        for t in f.tagged_at.into_iter().chain(f.sudo.incomplete_at) {
            see(t);
        }
        for m in [
            f.key_changed_at,
            f.groups_changed_at,
            f.change_changed_at,
            f.described_at,
        ]
        .into_iter()
        .flatten()
        {
            see(m.at);
        }
        if let L3::Signed { at } = f.l3 {
            see(at);
        }
        let passing: std::collections::HashSet<&Phid> = checks
            .filter(|c| c.status == Status::Pass)
            .flat_map(|c| c.evidence.iter().filter_map(|e| e.xact()))
            .collect();
        for c in f.comments.iter().filter(|c| passing.contains(&c.xact)) {
            see(c.at);
        }
        latest
    }
}

/// The check a removal task gets in its checklist's place.
pub(crate) fn removal_check(removal: &Removal) -> Check {
    let (status, who, message) = match removal {
        Removal::Target { user, groups } => (
            Status::Pending,
            Who::ClinicDuty,
            format!(
                "remove the access of {} ({}) once the removal is confirmed: the data.yaml change is in accessbot's removal comment",
                user,
                if groups.is_empty() {
                    "every group".to_string()
                } else {
                    groups.join(", ")
                }
            ),
        ),
        Removal::Doubt(d) => (
            Status::Fail,
            Who::Requester,
            format!(
                "could not tell whose access to remove: {}; name the shell user in the title (\"Remove access for <shell user>\") or in a shell username field",
                d.join("; ")
            ),
        ),
    };
    Check {
        id: CheckId::Removal,
        status,
        who: Some(who),
        message,
        evidence: Vec::new(),
        until: None,
        forms_from: None,
    }
}
