//! The facts the policy is given about one task: the request as parsed, its key and where it
//! came from, the people and their comments, L3, the subject, the sudo bookkeeping, and where
//! each came from. Gathered by the service (its `evidence`), read by [`super::evaluate`].

use super::checklist::Evidence;
use crate::ids::{Phid, TaskId, Username};
use crate::keys::KeyReport;
use crate::request::Parsed;
use crate::statement::Statement;
use crate::timeline::Moment;
use chrono::{DateTime, NaiveDate, Utc};

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

impl KeyFacts {
    /// The other users' requests that hold the key (`T952`), in the order found.
    pub fn other_requests(&self) -> Vec<String> {
        self.reuse
            .iter()
            .filter_map(|r| match r {
                KeyReuse::EarlierRequest { task } => Some(task.to_string()),
                _ => None,
            })
            .collect()
    }
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
    /// [`Checklist::sudo_meeting`](super::Checklist::sudo_meeting) the glue saw, stored once and never moved (rollovers are
    /// computed from it, so the checklist can say which meeting did not decide).
    pub scheduled_for: Option<NaiveDate>,
    /// When the rest of the checklist was complete, as the glue stored it when the review was
    /// first scheduled ([`Checklist::sudo_ready_at`](super::Checklist::sudo_ready_at)).
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
/// - `sudo.scheduled_for`: the stored [`Checklist::sudo_meeting`](super::Checklist::sudo_meeting) of the last evaluation.
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
    /// The requester's shell user is in `data.yaml`, but its entry's realname and email are
    /// not the request's: someone else's account (`request-complete` fails).
    pub shell_user_taken: bool,
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
    /// When a description edit last moved the expiry date later or removed it, if one did:
    /// approvals before it approved less time, so they are stale.
    pub expiry_extended_at: Option<Moment>,
    /// When a description edit last changed a user the request had named (shell, Wikitech or
    /// Phabricator account), if one did: approvals before it were for someone else.
    pub user_changed_at: Option<Moment>,
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
    /// The manager or sponsor named in the request is an existing, enabled, non-bot account of
    /// a staff member (`None`: none named, or not looked up). Only a staff member's approval
    /// counts as the manager's, so a request naming anyone else can never be approved as it
    /// stands: the requester is told to name someone on staff.
    pub manager_staff: Option<bool>,
    /// The subject's L3 signature (`L3::Unknown` while the subject is unknown).
    pub l3: L3,
    /// Sudo-review bookkeeping.
    pub sudo: SudoFacts,
    /// Where the facts came from (the evidence of checks).
    pub sources: Sources,
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
