//! The policy engine (pure): the facts gathered about one task, the rules and `now` in; the
//! checklist of design §7 and its verdict out.
//!
//! Nothing here does I/O or reads the clock. The glue (the poller) resolves usernames,
//! memberships, channels, L3 signatures and store bookkeeping into [`Facts`]; [`evaluate`]
//! turns them into a [`Checklist`] that the report renderer prints. Whatever is unknown is
//! `pending` or `fail`, never `pass`.

use crate::approvals::{Analysed, Cutoff, RoleOutcome};
use crate::calendar;
use crate::ids::{Fingerprint, Phid, TaskId, Username};
use crate::keys::KeyReport;
use crate::request::Parsed;
use crate::rules::{L3Source, Rules, Timing};
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
    /// The SRE meeting the review was first put on the agenda of: the first
    /// [`Checklist::sudo_meeting`] the glue saw, stored once and never moved (rollovers are
    /// computed from it, so the checklist can say which meeting did not decide).
    pub scheduled_for: Option<NaiveDate>,
    /// When the rest of the checklist first passed.
    pub first_ready_at: Option<DateTime<Utc>>,
}

/// Everything the engine needs about one task, gathered by the glue.
///
/// How the glue fills it (all pure helpers exist):
/// - `comments`: [`crate::timeline::Timeline::comment_facts`] with resolved people and the
///   channel source's answers (unknown → `Channel::Unknown`);
/// - `key_changed_at`, `groups_changed_at`: [`crate::timeline::Timeline::description_changes`];
///   when the key comes from a comment or paste newer than the description, the key changed
///   at that comment's (or paste's) time;
/// - `key.trust`: [`comment_key_trust`] or [`authored_key_trust`] (the description version
///   that set the key, `DescriptionChanges::key_written_by`, or the paste author, compared
///   with `requester_phid`);
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
    /// The access is in place (design §11): the bot posted once more and now only follows
    /// the expiry ([`crate::lifecycle`] decides it; [`evaluate`] never returns it).
    Granted,
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
    /// `removal`: a task asking to remove access (design §11).
    Removal,
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

/// What a request asks for (design §11): JSON `request.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// Access for a user (the access-request form).
    #[default]
    User,
    /// The removal of a user's access ("Remove access for jdoe", "Offboard jdoe").
    Removal,
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
    /// For sudo requests: the SRE meeting whose agenda lists the review now (after rollovers),
    /// once it is scheduled (`None` before everything else passes, or once decided without a
    /// schedule). The agenda export uses it; the glue stores it as `SudoFacts::scheduled_for`
    /// only when nothing is stored yet.
    #[serde(skip)]
    pub sudo_meeting: Option<NaiveDate>,
}

/// The trust of a key posted in a comment (design §1.2): only the requester, through the web
/// or Conduit, counts; email never; an unknown channel is unverified; a removed comment is
/// no source at all (the glue should not pick it).
pub fn comment_key_trust(c: &CommentFact, requester: &Username) -> Trust {
    if c.removed {
        return Trust::NotTrusted {
            reason: "the comment with the key was removed".into(),
        };
    }
    if &c.author != requester {
        return Trust::NotTrusted {
            reason: format!("the key was posted by @{}, not by the requester", c.author),
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

/// The trust of a key in the description or in a paste: it counts when the requester wrote
/// it (`written_by_requester`: the description version that set the key, or the paste, was
/// authored by the requester).
pub fn authored_key_trust(source: &KeySource, written_by_requester: bool) -> Trust {
    if written_by_requester {
        return Trust::Trusted;
    }
    let reason = match source {
        KeySource::Paste { id } => format!("paste P{id} was not written by the requester"),
        _ => {
            "the key in the description was written by someone other than the requester".to_string()
        }
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
/// privileges of group analytics-admins", is `not-a-request`.
pub fn is_user_request(title: &str, parsed: &Parsed) -> bool {
    let r = &parsed.request;
    if r.full_name.is_some()
        || r.wikitech_user.is_some()
        || r.shell_user.is_some()
        || r.email.is_some()
        || r.key.is_some()
    {
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
    let request = summary(facts, rules);
    let done = |verdict| Checklist {
        task: facts.task,
        verdict,
        until: None,
        request: request.clone(),
        checks: Vec::new(),
        sudo_meeting: None,
    };
    if !facts.open {
        return done(Verdict::Closed);
    }
    // A task asking to remove access gets the removal instead of a checklist.
    if let Some(removal) = crate::lifecycle::removal(&facts.title, &facts.parsed, rules) {
        let mut summary = RequestSummary {
            kind: RequestKind::Removal,
            ..request.clone()
        };
        if let crate::lifecycle::Removal::Target { user, groups } = &removal {
            summary.shell_user = Some(user.to_string());
            summary.groups = groups.clone();
        }
        return Checklist {
            request: summary,
            checks: vec![crate::lifecycle::removal_check(&removal)],
            ..done(Verdict::Blocked)
        };
    }
    if !is_user_request(&facts.title, &facts.parsed) {
        return done(Verdict::NotARequest);
    }
    let ctx = Ctx {
        facts,
        rules,
        now,
        comments: Analysed::new(&facts.comments, &rules.phrases),
        cutoff: cutoff(facts, &rules.timing),
    };
    let mut checks = Vec::with_capacity(16);
    checks.push(ctx.request_complete());
    checks.push(ctx.one_user());
    checks.extend(ctx.known_groups());
    checks.extend(ctx.key_checks());
    checks.push(ctx.l3());
    checks.push(ctx.nda());
    checks.push(ctx.manager_approval());
    checks.extend(ctx.lead_approvals());
    let expiry = ctx.expiry();
    let mut sudo_meeting = None;
    let mut declined = false;
    if request.sudo {
        let others_pass = checks
            .iter()
            .chain(expiry.iter())
            .all(|c| c.status == Status::Pass);
        let (check, meeting, is_declined) =
            ctx.sudo_review(others_pass, approvals_at(&checks, facts));
        sudo_meeting = meeting;
        declined = is_declined;
        checks.push(check);
    } else {
        checks.push(ctx.waiting_period());
    }
    checks.extend(expiry);

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
    }
}

/// When the newest approval that counts (manager or project lead) was written: a sudo
/// request cannot have gone to a meeting before then.
fn approvals_at(checks: &[Check], facts: &Facts) -> Option<DateTime<Utc>> {
    checks
        .iter()
        .filter(|c| {
            c.status == Status::Pass
                && matches!(c.id, CheckId::ManagerApproval | CheckId::LeadApproval(_))
        })
        .flat_map(|c| c.evidence.iter())
        .filter_map(|e| facts.comments.iter().find(|k| k.xact == e.xact))
        .map(|k| k.at)
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

fn summary(facts: &Facts, rules: &Rules) -> RequestSummary {
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
    RequestSummary {
        kind: RequestKind::User,
        full_name: r.full_name.clone(),
        wikitech_user: r.wikitech_user.clone(),
        shell_user: r.shell_user.as_ref().map(|s| s.as_str().to_string()),
        email: r.email.clone(),
        groups: r.groups.clone(),
        sudo: r
            .groups
            .iter()
            .any(|g| rules.group(g).is_some_and(|g| g.sudo)),
        key,
        expiry_date: r.expiry_date,
        expiry_contact: r.expiry_contact.as_ref().map(|u| u.as_str().to_string()),
    }
}

/// The latest change of the key or the groups: approvals before it do not count.
fn cutoff(facts: &Facts, timing: &Timing) -> Option<Cutoff> {
    let key = facts.key_changed_at.map(|at| (at, "key change"));
    let groups = facts.groups_changed_at.map(|at| (at, "group change"));
    let (at, what) = match (key, groups) {
        (Some(k), Some(g)) => {
            if g.0 > k.0 {
                g
            } else {
                k
            }
        }
        (k, g) => k.or(g)?,
    };
    Some(Cutoff {
        at,
        what,
        date: calendar::local_date(at, timing),
    })
}

fn evidence(c: &CommentFact) -> Evidence {
    Evidence {
        xact: c.xact.clone(),
        anchor: c.anchor,
    }
}

fn check(id: CheckId, status: Status, who: Option<Who>, message: String) -> Check {
    Check {
        id,
        status,
        who,
        message,
        evidence: Vec::new(),
        until: None,
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

/// Sudo groups (from `groups.toml`) that the description names anywhere, in any case, as a
/// whole word, but that are not among the requested groups: a sudo group hidden in free text
/// must not slip past the SRE meeting (the request is blocked until the groups field says
/// exactly what is requested).
pub fn hidden_sudo_groups(description: &str, requested: &[String], rules: &Rules) -> Vec<String> {
    let text = description.to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    rules
        .groups
        .iter()
        .filter(|(name, g)| g.sudo && !requested.iter().any(|r| r.eq_ignore_ascii_case(name)))
        .filter(|(name, _)| {
            text.match_indices(name.to_lowercase().as_str())
                .any(|(i, m)| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + m.len()..].chars().next();
                    !before.is_some_and(word) && !after.is_some_and(word)
                })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Problem fields that `one-user` reports: the parser reports "more than one user on this
/// task" on the whole request (`request`); `one_user` is accepted as well.
pub const ONE_USER_FIELD: &str = "one_user";
/// See [`ONE_USER_FIELD`].
pub const REQUEST_FIELD: &str = "request";

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
    comments: Analysed<'a>,
    cutoff: Option<Cutoff>,
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

    /// Whether a comment's author is an ordinary person other than the requester.
    fn independent(&self, c: &CommentFact) -> bool {
        c.author != self.facts.requester
            && c.author != self.facts.bot_user
            && !c.author_is_bot
            && !c.author_disabled
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

    fn request_complete(&self) -> Check {
        let r = &self.facts.parsed.request;
        let fields = [
            ("full_name", "full name", r.full_name.is_none()),
            (
                "wikitech_user",
                "wikitech username",
                r.wikitech_user.is_none(),
            ),
            ("shell_user", "shell username", r.shell_user.is_none()),
            ("email", "email address", r.email.is_none()),
            ("groups", "requested groups", r.groups.is_empty()),
            ("reason", "reason for access", r.reason.is_none()),
        ];
        let mut missing: Vec<&str> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        for (field, label, absent) in fields {
            let found = self.problems(field);
            if found.is_empty() {
                if absent {
                    missing.push(label);
                }
            } else {
                problems.extend(found);
            }
        }
        let no_key = r.key.is_none() && self.facts.key.source == KeySource::None;
        if no_key && !self.facts.existing_user {
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

    fn key_evidence(&self) -> Vec<Evidence> {
        match &self.facts.key.source {
            KeySource::Comment { xact, anchor } => vec![Evidence {
                xact: xact.clone(),
                anchor: *anchor,
            }],
            _ => Vec::new(),
        }
    }

    /// `ssh-key`, `key-fresh`, `key-channel`. An existing user who gives no key needs none.
    fn key_checks(&self) -> Vec<Check> {
        let k = &self.facts.key;
        let mut out = Vec::with_capacity(3);
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
        let mut channel = match &k.trust {
            Trust::Trusted => pass(
                CheckId::KeyChannel,
                match &k.source {
                    KeySource::Description => "posted by the requester in the task description".into(),
                    KeySource::Comment { .. } => "posted by the requester in a comment".into(),
                    KeySource::Paste { id } => format!("in paste P{id}, written by the requester"),
                    KeySource::Pointer | KeySource::None => "from the requester".into(),
                },
            ),
            Trust::NotTrusted { reason } => check(
                CheckId::KeyChannel,
                Status::Fail,
                Some(Who::Requester),
                format!("{reason}: the key must come from the requester in the task description, a web comment or their own paste"),
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

    /// A confirmation comment (`phrase`) by one of `people`, independent of the requester:
    /// a pass naming who confirmed, or pending when only an unverifiable one exists.
    fn confirmed_by(
        &self,
        id: &CheckId,
        phrase: &regex::Regex,
        people: &[Username],
        passed: &str,
        unverified: &str,
    ) -> Option<Check> {
        let by = |c: &CommentFact| self.independent(c) && people.contains(&c.author);
        if let Some(c) = self.comments.latest_matching(phrase, by) {
            let mut ok = pass(id.clone(), format!("{passed} @{}", c.author));
            ok.evidence.push(evidence(c));
            return Some(ok);
        }
        self.comments.unverified_matching(phrase, by).then(|| {
            check(
                id.clone(),
                Status::Pending,
                Some(Who::ClinicDuty),
                unverified.into(),
            )
        })
    }

    fn l3(&self) -> Check {
        let id = CheckId::L3;
        if let L3::Signed { .. } = self.facts.l3 {
            return pass(id, "the requester signed L3".into());
        }
        if self.rules.l3.sources.contains(&L3Source::VerifierComment) {
            let confirmed = self.confirmed_by(
                &id,
                &self.rules.phrases.l3_verified,
                &self.rules.l3.verifiers,
                "L3 verified by",
                "an L3 verification comment's channel could not be verified",
            );
            if let Some(c) = confirmed {
                return c;
            }
        }
        match &self.facts.l3 {
            L3::Signed { .. } | L3::NotSigned => check(
                id,
                Status::Fail,
                Some(Who::Requester),
                "the requester has not signed L3 (Acknowledgement of Wikimedia Server Access Responsibilities) yet".into(),
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
        if self.facts.requester_staff {
            return pass(id, "the requester is staff".into());
        }
        if self.facts.requester_nda {
            return pass(id, "the requester is a member of an NDA project".into());
        }
        let confirmed = self.confirmed_by(
            &id,
            &self.rules.phrases.nda_confirmed,
            &self.rules.people.legal_users,
            "NDA confirmed by",
            "an NDA confirmation by a legal user could not be verified (channel unknown)",
        );
        if let Some(c) = confirmed {
            return c;
        }
        check(
            id,
            Status::Fail,
            Some(Who::Legal),
            "no NDA on file: the requester is neither staff nor in an NDA project, and no legal user confirmed an NDA on the task".into(),
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

    fn role_check(
        &self,
        id: CheckId,
        who: Who,
        outcome: RoleOutcome<'_>,
        missing: String,
    ) -> Check {
        if !outcome.approved.is_empty() {
            let mut ok = pass(id, format!("approved by {}", mentions(&outcome.approved)));
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
                        "approval by {}: channel could not be verified",
                        mentions(&outcome.unverified)
                    ),
                    &outcome.notes,
                ),
            );
            p.evidence = outcome.unverified.iter().map(|c| evidence(c)).collect();
            return p;
        }
        check(
            id,
            Status::Fail,
            Some(who),
            with_notes(missing, &outcome.notes),
        )
    }

    /// Why the author of `c` can never approve this request (the requester, a bot, a disabled
    /// account), fit to post.
    fn cannot_approve(&self, c: &CommentFact) -> Option<String> {
        if c.author == self.facts.requester {
            Some("the requester cannot approve their own request".into())
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
        let outcome = self.comments.role(eligible, self.cutoff.as_ref());
        let missing = match named {
            Some(m) if m == &self.facts.requester => {
                "the request names the requester as manager: name the manager or sponsor".into()
            }
            Some(m) => format!("no approval from @{m} (the named manager or sponsor) yet"),
            None => "no approval from the manager or sponsor yet".into(),
        };
        self.role_check(CheckId::ManagerApproval, Who::Manager, outcome, missing)
    }

    fn lead_approvals(&self) -> Vec<Check> {
        let mut out = Vec::new();
        for name in &self.facts.parsed.request.groups {
            let Some(group) = self.rules.group(name) else {
                continue; // reported by known-groups
            };
            let eligible = |c: &CommentFact| -> Result<(), Option<String>> {
                if !group.approvers.contains(&c.author) {
                    return Err(None);
                }
                if let Some(why) = self.cannot_approve(c) {
                    return Err(Some(why));
                }
                Ok(())
            };
            let outcome = self.comments.role(eligible, self.cutoff.as_ref());
            let approvers: Vec<String> = group.approvers.iter().map(|a| format!("@{a}")).collect();
            let missing = format!(
                "no approval from a project lead of {name} yet (approvers: {})",
                approvers.join(", ")
            );
            out.push(self.role_check(
                CheckId::LeadApproval(name.to_lowercase()),
                Who::ProjectLead,
                outcome,
                missing,
            ));
        }
        out
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
        approvals_at: Option<DateTime<Utc>>,
    ) -> (Check, Option<NaiveDate>, bool) {
        let id = CheckId::SudoReview;
        let (m, t) = (&self.rules.meeting, &self.rules.timing);
        let decider = |c: &CommentFact| {
            self.independent(c) && self.rules.people.sre_deciders.contains(&c.author)
        };
        let declined = self
            .comments
            .latest_matching(&self.rules.phrases.sre_declined, decider);
        let earliest = [self.cutoff.as_ref().map(|k| k.at), approvals_at]
            .into_iter()
            .flatten()
            .max();
        let reviewable_from = self
            .first_meeting()
            .or_else(|| earliest.map(|e| calendar::next_meeting(e, m, t)))
            .map(|d| calendar::meeting_start(d, m, t));
        let decision = self
            .comments
            .latest_matching(&self.rules.phrases.sre_approved, decider);
        let approved = decision.filter(|c| {
            earliest.is_none_or(|e| c.at >= e) && reviewable_from.is_some_and(|s| c.at >= s)
        });
        let early_note: Vec<String> = if decision.is_some() && approved.is_none() {
            vec!["an SRE meeting decision posted before the meeting that reviews the request does not count".into()]
        } else {
            Vec::new()
        };
        // Declined is final for the request (design §1.6), whatever came after.
        match (declined, approved) {
            (Some(d), _) => {
                let mut c = check(
                    id,
                    Status::Fail,
                    None,
                    format!("declined at the SRE meeting (@{})", d.author),
                );
                c.evidence.push(evidence(d));
                return (c, self.facts.sudo.scheduled_for, true);
            }
            (_, Some(a)) => {
                let mut c = pass(id, format!("approved at the SRE meeting (@{})", a.author));
                c.evidence.push(evidence(a));
                return (c, self.facts.sudo.scheduled_for, false);
            }
            _ => {}
        }
        let unverified = self
            .comments
            .unverified_matching(&self.rules.phrases.sre_approved, decider)
            || self
                .comments
                .unverified_matching(&self.rules.phrases.sre_declined, decider);
        if unverified {
            let c = check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                "an SRE meeting decision comment's channel could not be verified".into(),
            );
            return (c, self.facts.sudo.scheduled_for, false);
        }
        // Once scheduled, the first meeting it went to (rollovers count from it); otherwise it
        // is scheduled when everything else passes.
        let scheduled = match self.facts.sudo.scheduled_for {
            Some(_) => self.first_meeting(),
            None => others_pass.then(|| {
                self.first_meeting()
                    .unwrap_or_else(|| calendar::next_meeting(self.now, m, t))
            }),
        };
        let Some(date) = scheduled else {
            let c = check(
                id,
                Status::Pending,
                None,
                with_notes(
                    "sudo access needs a security review at the SRE meeting: to be scheduled once everything else passes".into(),
                    &early_note,
                ),
            );
            return (c, None, false);
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
                    &early_note,
                ),
            );
            c.until = Some(calendar::meeting_start(r.next, m, t));
            return (c, Some(r.next), false);
        }
        let start = calendar::meeting_start(date, m, t);
        let mut c = check(
            id,
            Status::Pending,
            None,
            format!("on the agenda of the SRE meeting of {date}"),
        );
        if self.now < start {
            c.until = Some(start);
        } else {
            c.message =
                format!("on the agenda of the SRE meeting of {date}: waiting for the decision");
            c.until = Some(calendar::meeting_day_end(date, t));
        }
        (c, Some(date), false)
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
        if self.facts.requester_staff {
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
            Some(_) => {}
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
            Some(c) if c == &self.facts.requester => {
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
