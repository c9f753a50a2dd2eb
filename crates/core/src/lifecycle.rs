//! The life of access after "ready" (design §11), as pure decisions and the texts that go
//! with them: whether a request is granted, when its expiry reminder or its "expired" note is
//! due, whether a tagged task asks to remove access and whose, and what `accessbot expiring`
//! and the agenda list. The poller (and `check`) feed it; the service's `data_yaml` watches the
//! configured `data.yaml` and hands in what it knows of it ([`DataYaml`]).
//!
//! Every comment posted here is recognised again on the task by its first words (the
//! `*_HEADER` constants), by the bot's own account only, so that restarts, a lost database and
//! clock jumps never post it twice: the same read-back rule as checklists.

use crate::grant::AdminData;
use crate::grant::{self, GrantError};
use crate::ids::TaskId;
use crate::policy::{Checklist, RequestKind};
use crate::removal::Removal;
use crate::report::{self, inert, ExpiringItem};
use crate::request::Request;
use crate::rules::Rules;
use crate::timeline::{Timeline, TimelineComment};
pub use crate::view::GrantedBy;
use crate::view::{group_list, LifeKind};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use std::fmt::Write as _;
use std::sync::Arc;

/// What the bot knows of the configured `data.yaml` now (the service reads and watches it).
#[derive(Debug, Clone)]
pub enum DataYaml {
    /// `[keys] data_yaml` is empty.
    NotConfigured,
    /// Configured, but it cannot be read or parsed now; the reason is fit to log.
    Unknown(String),
    /// Read and parsed.
    Known(Arc<AdminData>),
}

impl DataYaml {
    /// The parsed file, when known.
    pub fn known(&self) -> Option<&AdminData> {
        match self {
            DataYaml::Known(d) => Some(d),
            _ => None,
        }
    }
}

/// The first words of the comment that says a request is granted.
pub const GRANTED_HEADER: &str = "**accessbot granted**";
/// The first words of the expiry reminder (followed by ` for YYYY-MM-DD`).
pub const REMINDER_HEADER: &str = "**accessbot expiry reminder**";
/// The first words of the note that an access expired and was not removed (followed by
/// ` on YYYY-MM-DD`).
pub const EXPIRED_HEADER: &str = "**accessbot expired**";
/// The first words of the comment a removal task gets in its checklist's place.
pub const REMOVAL_HEADER: &str = "**accessbot removal**";

/// How long the bot waits to look again at an expired access while `data.yaml` is unreadable.
const RETRY_UNKNOWN: TimeDelta = TimeDelta::hours(1);

/// Whether a comment text is one of the lifecycle comments (granted, reminder, expired,
/// removal): none of them is a checklist or a stale nudge.
pub fn is_lifecycle_comment(text: &str) -> bool {
    [
        GRANTED_HEADER,
        REMINDER_HEADER,
        EXPIRED_HEADER,
        REMOVAL_HEADER,
    ]
    .iter()
    .any(|h| text.starts_with(h))
}

/// A username as a live mention when it is one (letters, digits, `.`, `_`, `-`), else inert
/// text: a value that is not a plain username never becomes markup.
pub fn mention(username: &str) -> String {
    let u = username.trim().trim_start_matches('@');
    if !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        format!("@{u}")
    } else {
        inert(u)
    }
}

fn list(items: &[String]) -> String {
    inert(&items.join(", "))
}

// ---------------------------------------------------------------------------------------
// Granted.

/// How the stored lifecycle row says the request was granted, if it does.
pub fn stored_granted(life: Option<&crate::view::LifecycleRow>) -> Option<GrantedBy> {
    life.filter(|l| l.kind == LifeKind::User)?.granted
}

/// What decides whether a request is granted.
#[derive(Debug, Clone, Copy)]
pub struct GrantFacts<'a> {
    /// The checklist as evaluated now.
    pub checklist: &'a Checklist,
    /// The task's status value (`open`, `resolved`, …).
    pub status: &'a str,
    /// Whether that status is open (`[phabricator] closed_statuses`).
    pub open: bool,
    /// The task is still tagged with the watched project.
    pub tracked: bool,
    /// Its timeline (the bot's own comments and the status changes are read).
    pub timeline: &'a Timeline,
    /// The verdict stored before this evaluation, if any.
    pub stored_verdict: Option<crate::policy::Verdict>,
    /// How the store says it was granted, if it does.
    pub stored_granted: Option<GrantedBy>,
    /// What is known of `data.yaml`.
    pub data_yaml: &'a DataYaml,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The bot's own comments that are not removed, oldest first.
fn own(timeline: &Timeline) -> impl DoubleEndedIterator<Item = &TimelineComment> {
    timeline.bot_comments.iter().filter(|c| !c.removed)
}

/// Whether the bot's granted comment is on the task (read back, never by anyone else).
pub fn granted_comment(timeline: &Timeline) -> Option<&TimelineComment> {
    own(timeline).find(|c| c.text.starts_with(GRANTED_HEADER))
}

/// When the task was last resolved, if its newest status change made it so.
fn resolved_at(timeline: &Timeline) -> Option<DateTime<Utc>> {
    timeline
        .status_changes
        .last()
        .filter(|s| s.new == "resolved")
        .map(|s| s.at)
}

/// Whether the bot's newest checklist posted before `at` said READY.
fn ready_before(timeline: &Timeline, at: DateTime<Utc>) -> bool {
    own(timeline)
        .rev()
        .filter(|c| c.at <= at)
        .find(|c| report::is_checklist(&c.text))
        .is_some_and(|c| {
            c.text
                .lines()
                .next()
                .is_some_and(|l| l.contains("**READY:"))
        })
}

/// The request's shell user and groups, as the lifecycle follows them: the shell user the
/// request names for its subject (the person it is for, design §10), the one place where
/// whose access it is gets decided.
pub fn access_of(checklist: &Checklist) -> Option<(String, Vec<String>)> {
    let user = checklist.request.shell_user.clone()?;
    (!checklist.request.groups.is_empty()).then(|| (user, checklist.request.groups.clone()))
}

/// Whether a request is granted (design §11), and how. A removal task never is. Granted stays
/// granted: once the store or the bot's own comment on the task says so, a later edit of the
/// description or of `data.yaml` does not bring the checklist back. Otherwise it is granted
/// when (a) `data.yaml` shows the shell user present in every requested group that is a shell
/// group there (at least one; the task open or resolved), its entry having the request's
/// email or real name (else the name is someone else's account), or (b) the task was
/// resolved after the bot had found it ready (its newest checklist before the resolution said
/// READY, or the stored verdict was `ready`). An unknown `data.yaml` never grants.
pub fn granted(f: &GrantFacts) -> Option<GrantedBy> {
    if f.checklist.request.kind != RequestKind::User {
        return None;
    }
    if let Some(by) = f.stored_granted {
        return Some(by);
    }
    if let Some(c) = granted_comment(f.timeline) {
        return Some(GrantedBy::Comment(c.at));
    }
    let resolved = f.status == "resolved";
    if f.tracked && (f.open || resolved) {
        if let (Some((user, groups)), DataYaml::Known(d)) = (access_of(f.checklist), f.data_yaml) {
            // Only the request's own account: a shell name someone else holds is not it.
            let r = &f.checklist.request;
            if d.access(&user, &groups).complete()
                && d.holder(&user)
                    .is(r.full_name.as_deref(), r.email.as_deref())
            {
                return Some(GrantedBy::DataYaml(f.now));
            }
        }
    }
    if resolved {
        let at = resolved_at(f.timeline);
        let was_ready = at.is_some_and(|at| ready_before(f.timeline, at))
            || f.stored_verdict == Some(crate::policy::Verdict::Ready);
        if was_ready {
            return Some(GrantedBy::Resolved(at.unwrap_or(f.now)));
        }
    }
    None
}

/// The expiry of granted access: the date and whom to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// The day the access expires.
    pub date: NaiveDate,
    /// The expiry contact (a Phabricator username), if one is known.
    pub contact: Option<String>,
}

/// The expiry that applies to a granted request: the user's `expiry_date` (and
/// `expiry_contact`) in `data.yaml` when it is known and has one (what production enforces,
/// and where an extension is made); else the one recorded when the request was granted
/// (`stored`); else the request's own (a lost database). A description edit after the grant
/// moves nothing.
pub fn expiry_of(
    user: Option<&str>,
    data_yaml: &DataYaml,
    stored: Option<Expiry>,
    request: Option<Expiry>,
) -> Option<Expiry> {
    let fallback = stored.or(request);
    if let (Some(user), Some(d)) = (user, data_yaml.known()) {
        if let (Some(date), contact) = d.expiry(user) {
            return Some(Expiry {
                date,
                contact: contact.or_else(|| fallback.and_then(|f| f.contact)),
            });
        }
    }
    fallback
}

/// The request's own expiry (from its description), if it has a date.
pub fn request_expiry(checklist: &Checklist) -> Option<Expiry> {
    checklist.request.expiry_date.map(|date| Expiry {
        date,
        contact: checklist.request.expiry_contact.clone(),
    })
}

/// The instant the access expires: the start of its expiry date in the configured zone.
pub(crate) fn expires_at(date: NaiveDate, rules: &Rules) -> DateTime<Utc> {
    crate::calendar::local_to_utc(date, NaiveTime::MIN, &rules.timing)
}

/// The day of the reminder: `[lifecycle] expiry_reminder_days` before the expiry date.
pub(crate) fn reminder_day(date: NaiveDate, rules: &Rules) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(rules.lifecycle.expiry_reminder_days)))
        .unwrap_or(date)
}

/// The instant the reminder is due: the start of its day in the configured zone.
pub(crate) fn reminder_at(date: NaiveDate, rules: &Rules) -> DateTime<Utc> {
    crate::calendar::local_to_utc(reminder_day(date, rules), NaiveTime::MIN, &rules.timing)
}

/// Whether the access is still in `data.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Still {
    /// Some of the request's groups still have the user.
    Yes,
    /// None has (or the account is absent).
    No,
    /// `data.yaml` is not configured: the bot cannot tell.
    Unverifiable,
    /// `data.yaml` cannot be read now.
    Unknown,
}

/// Whether `user`'s access to `groups` is still in `data.yaml`.
pub fn still_present(data_yaml: &DataYaml, user: Option<&str>, groups: &[String]) -> Still {
    match (data_yaml, user) {
        (DataYaml::NotConfigured, _) => Still::Unverifiable,
        (DataYaml::Unknown(_), _) => Still::Unknown,
        (DataYaml::Known(_), None) => Still::Unverifiable,
        (DataYaml::Known(d), Some(u)) => {
            if d.access(u, groups).any() {
                Still::Yes
            } else {
                Still::No
            }
        }
    }
}

/// What the expiry of a granted request asks for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing.
    Nothing,
    /// Post the reminder.
    Remind,
    /// Post the note that the access expired and was not removed (`verified`: `data.yaml`
    /// shows it; else the bot cannot see `data.yaml`).
    NoteExpired {
        /// `data.yaml` shows the access still in place.
        verified: bool,
    },
}

/// What to do now, and when to look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// What to post now.
    pub step: Step,
    /// When the task must be read again for its expiry (after `step` is done); `None`: never
    /// for the expiry.
    pub wake_at: Option<DateTime<Utc>>,
}

/// The expiry plan of a granted request.
///
/// - Before the reminder day: nothing; wake on the reminder day.
/// - From the reminder day until the expiry date: the reminder, once (`reminded`: already on
///   the task for this date, or recorded); a clock or a restart that lands anywhere in that
///   stretch still sends it. Then wake on the expiry date.
/// - From the expiry date on: the reminder is not sent any more (it would ask to act before
///   a day that has passed); instead, once (`noted`), the note that the access expired and
///   is still in `data.yaml`, or that the bot cannot see `data.yaml` to tell. Nothing when
///   `data.yaml` shows it removed; while `data.yaml` cannot be read, look again in an hour.
pub fn expiry_plan(
    expiry: Option<&Expiry>,
    now: DateTime<Utc>,
    rules: &Rules,
    reminded: bool,
    noted: bool,
    still: Still,
) -> Plan {
    let nothing = |wake_at| Plan {
        step: Step::Nothing,
        wake_at,
    };
    let Some(e) = expiry else {
        return nothing(None);
    };
    let (remind, expire) = (reminder_at(e.date, rules), expires_at(e.date, rules));
    if now < expire {
        return match (reminded, now >= remind) {
            (false, true) => Plan {
                step: Step::Remind,
                wake_at: Some(expire),
            },
            (false, false) => nothing(Some(remind)),
            (true, _) => nothing(Some(expire)),
        };
    }
    if noted {
        return nothing(None);
    }
    match still {
        Still::Yes => Plan {
            step: Step::NoteExpired { verified: true },
            wake_at: None,
        },
        Still::Unverifiable => Plan {
            step: Step::NoteExpired { verified: false },
            wake_at: None,
        },
        Still::No => nothing(None),
        Still::Unknown => nothing(Some(now + RETRY_UNKNOWN)),
    }
}

/// The first line a reminder for `date` starts with.
fn reminder_mark(date: NaiveDate) -> String {
    format!("{REMINDER_HEADER} for {date}")
}

/// The first line an expired note for `date` starts with.
fn expired_mark(date: NaiveDate) -> String {
    format!("{EXPIRED_HEADER} on {date}")
}

/// The bot's reminder for this expiry date, if it is on the task.
pub fn reminder_posted(timeline: &Timeline, date: NaiveDate) -> Option<&TimelineComment> {
    let mark = reminder_mark(date);
    own(timeline).find(|c| c.text.starts_with(&mark))
}

/// The bot's expired note for this expiry date, if it is on the task.
pub fn expired_posted(timeline: &Timeline, date: NaiveDate) -> Option<&TimelineComment> {
    let mark = expired_mark(date);
    own(timeline).find(|c| c.text.starts_with(&mark))
}

/// What the texts about one granted request say.
#[derive(Debug, Clone)]
pub struct Granted<'a> {
    /// The task.
    pub task: TaskId,
    /// The person the access is for (the request's subject; its author while the subject is
    /// unknown), a Phabricator username, mentioned live once, in the granted comment.
    pub person: &'a str,
    /// The shell user.
    pub shell_user: Option<&'a str>,
    /// The groups (as `data.yaml` names them when it showed them).
    pub groups: &'a [String],
    /// The expiry, if the access has one.
    pub expiry: Option<&'a Expiry>,
    /// Clinic duty's username.
    pub clinic_duty: &'a str,
    /// Whether the bot reads `data.yaml` (`[keys] data_yaml`), so that after the expiry it
    /// can tell whether the access was removed.
    pub sees_data_yaml: bool,
}

impl Granted<'_> {
    fn whose(&self) -> String {
        let user = self.shell_user.unwrap_or("?");
        if self.groups.is_empty() {
            format!("`{}`", inert(user))
        } else {
            format!("`{}` ({})", inert(user), list(self.groups))
        }
    }

    /// Who the expiry texts ping: the expiry contact, else clinic duty.
    fn contact(&self) -> String {
        mention(
            self.expiry
                .and_then(|e| e.contact.as_deref())
                .unwrap_or(self.clinic_duty),
        )
    }

    fn remove_or_extend(&self) -> String {
        format!(
            "To remove it, clinic duty applies the data.yaml change that `accessbot grant-patch {} --revoke` prints; to extend it, change `expiry_date` of {} in data.yaml.",
            self.task,
            inert(self.shell_user.unwrap_or("?")),
        )
    }
}

/// The one comment that says a request is granted. It mentions the person the access is for
/// live (their own request is done); the expiry contact is named, not pinged: only the
/// reminder pings them.
pub fn granted_text(g: &Granted, by: GrantedBy, rules: &Rules) -> String {
    let tz = rules.timing.timezone;
    let mut s = match by {
        GrantedBy::Resolved(at) => format!(
            "{GRANTED_HEADER}: this request was ready to grant and the task was resolved on {}, so accessbot takes it as granted: {}, shell user {}. accessbot no longer checks this request.",
            report::when(at, tz),
            mention(g.person),
            g.whose(),
        ),
        GrantedBy::Comment(_) => format!(
            "{GRANTED_HEADER}: the access of {}, shell user {}, is granted. accessbot no longer checks this request.",
            mention(g.person),
            g.whose(),
        ),
        GrantedBy::DataYaml(_) => format!(
            "{GRANTED_HEADER}: {} is in {} in data.yaml (shell user `{}`), so this request is granted. accessbot no longer checks it.",
            mention(g.person),
            if g.groups.is_empty() {
                "the requested groups".to_string()
            } else {
                list(g.groups)
            },
            inert(g.shell_user.unwrap_or("?")),
        ),
    };
    if let Some(e) = g.expiry {
        let contact = e
            .contact
            .as_deref()
            .map(|c| format!("the expiry contact, {},", inert(c)))
            .unwrap_or_else(|| "clinic duty".into());
        let after = if g.sees_data_yaml {
            "if the access is still in data.yaml once it has expired, it says so here"
        } else {
            "once it has expired it asks here that its removal be checked (accessbot reads no data.yaml)"
        };
        let _ = write!(
            s,
            " The access expires on {}: on {} accessbot reminds {contact} here, and {after}.",
            e.date,
            reminder_day(e.date, rules),
        );
    }
    s
}

/// The expiry reminder: pings the expiry contact live (the one live mention a person named
/// by the requester ever gets), or clinic duty when there is none.
pub fn reminder_text(g: &Granted, now: DateTime<Utc>, rules: &Rules) -> String {
    let Some(e) = g.expiry else {
        return String::new();
    };
    let today = crate::calendar::local_date(now, &rules.timing);
    let days = (e.date - today).num_days();
    format!(
        "{}: {}, the access of {} granted on this task expires on {} (in {days} day{}). Remove it then, or extend it. {}",
        reminder_mark(e.date),
        g.contact(),
        g.whose(),
        e.date,
        if days == 1 { "" } else { "s" },
        g.remove_or_extend(),
    )
}

/// The note that an access expired and was not removed (or that the bot cannot tell): pings
/// the expiry contact and clinic duty.
pub fn expired_text(g: &Granted, verified: bool) -> String {
    let Some(e) = g.expiry else {
        return String::new();
    };
    let mut who = g.contact();
    let duty = mention(g.clinic_duty);
    if who != duty {
        let _ = write!(who, " {duty}");
    }
    let state = if verified {
        " and is still in data.yaml."
    } else {
        ". accessbot has no data.yaml ([keys] data_yaml) to see whether it was removed: please check."
    };
    format!(
        "{}: {who}, the access of {} granted on this task expired on {}{state} {}",
        expired_mark(e.date),
        g.whose(),
        e.date,
        g.remove_or_extend(),
    )
}

// ---------------------------------------------------------------------------------------
// Removal tasks (what a task asks to remove: `crate::removal`).

/// Remarkup code block of `text`: a line holding a fence cannot end it early.
fn code_block(lang: &str, text: &str) -> String {
    let mut s = format!("```lang={lang}\n");
    for line in text.lines() {
        s.push_str(&line.replace("```", "``\u{200B}`"));
        s.push('\n');
    }
    s.push_str("```");
    s
}

/// The footer of a removal comment.
const REMOVAL_FOOTER: &str =
    "//accessbot posts a new comment here when this one changes (not for unrelated data.yaml edits).//";

/// The comment a removal task gets in its checklist's place: whose access, then the data.yaml
/// change made by [`grant::revoke_patch`] (checked by re-parsing) when `data.yaml` is known,
/// else [`grant::revoke_snippet`] to apply by hand, or what could not be determined.
/// Everything taken from the task is inert or inside a code block. `None` while `data.yaml`
/// cannot be read and `posted_before`: the comment on the task stays until it can.
pub fn removal_text(
    task: TaskId,
    removal: &Removal,
    data_yaml: &DataYaml,
    label: &str,
    posted_before: bool,
) -> Option<String> {
    let (user, groups) = match removal {
        Removal::Doubt(d) => {
            let mut s = format!(
                "{REMOVAL_HEADER}: this task asks to remove access, but accessbot could not tell whose:\n"
            );
            for x in d {
                let _ = writeln!(s, "- {}", inert(x));
            }
            s.push_str("\nName the shell user in the title (\"Remove access for <shell user>\", optionally \"… from <groups>\") or in a shell username field. accessbot offers no data.yaml change for a user it would have to guess.\n\n");
            s.push_str(REMOVAL_FOOTER);
            return Some(s);
        }
        Removal::Target { user, groups } => (user.as_str(), groups),
    };
    if matches!(data_yaml, DataYaml::Unknown(_)) && posted_before {
        return None;
    }
    // Every group the user is in, when the task names none.
    let groups: Vec<String> = match (groups.is_empty(), data_yaml.known()) {
        (true, Some(d)) => d.groups_of(user),
        _ => groups.clone(),
    };
    let what = if groups.is_empty() {
        "every group".to_string()
    } else {
        list(&groups)
    };
    let mut s = format!(
        "{REMOVAL_HEADER}: this task asks to remove the access of `{}` ({what}). Make sure the removal is wanted (who asks for it, and for whom) before applying it.\n\n",
        inert(user)
    );
    let request = Request {
        shell_user: Some(user.parse().expect("a shell user")),
        groups: groups.clone(),
        ..Request::default()
    };
    let by_hand = |s: &mut String, why: &str| match grant::revoke_snippet(&request) {
        Ok(snippet) => {
            let _ = write!(
                s,
                "{why} The change to make by hand:\n\n{}",
                code_block("yaml", &snippet)
            );
        }
        Err(e) => {
            let _ = write!(s, "{why} {}.", inert(&e.to_string()));
        }
    };
    match (data_yaml, groups.is_empty()) {
        (DataYaml::Known(_), true) => {
            let _ = write!(
                s,
                "Nothing to remove in data.yaml: {} is in none of its groups.",
                inert(user)
            );
        }
        (DataYaml::Known(d), false) => match grant::revoke_patch(&request, d.text(), label) {
            Ok(p) => {
                let _ = writeln!(
                    s,
                    "The data.yaml change, checked by re-parsing (`accessbot grant-patch {task} --revoke` prints it too):"
                );
                // The group the bot names in its own words stays monospace.
                let own = [format!("`{}`", grant::ABSENT_GROUP)];
                for n in &p.notes {
                    let _ = writeln!(s, "- {}", crate::remarkup_out::inert_except(n, &own));
                }
                s.push('\n');
                s.push_str(&code_block("diff", &p.diff));
            }
            Err(e @ (GrantError::NothingToRevoke { .. } | GrantError::UnknownUser { .. })) => {
                let _ = write!(
                    s,
                    "Nothing to remove in data.yaml: {}.",
                    inert(&e.to_string())
                );
            }
            Err(e) => by_hand(
                &mut s,
                &format!(
                    "accessbot cannot edit data.yaml for it: {}.",
                    inert(&e.to_string())
                ),
            ),
        },
        (_, true) => {
            let _ = write!(
                s,
                "The task names no groups and accessbot has no data.yaml to look them up: remove {u} from each of its groups in data.yaml, set `ensure: absent` and `ssh_keys: []` in its entry, and add {u} to the `absent` group.",
                u = inert(user)
            );
        }
        (DataYaml::NotConfigured, false) => by_hand(
            &mut s,
            "accessbot has no data.yaml ([keys] data_yaml) to make the change in.",
        ),
        (DataYaml::Unknown(_), false) => by_hand(&mut s, "data.yaml cannot be read right now."),
    }
    s.push_str("\n\n");
    s.push_str(REMOVAL_FOOTER);
    Some(s)
}

/// The hash two removal comments are compared by: their words outside code blocks, so that
/// the same change with other line numbers (an unrelated data.yaml edit) is no change.
pub fn removal_hash(text: &str) -> String {
    let mut inside = false;
    let mut words = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        if !inside {
            words.push_str(line);
            words.push('\n');
        }
    }
    report::comment_hash(&words)
}

/// The bot's newest removal comment on the task.
pub fn last_removal_comment(timeline: &Timeline) -> Option<&TimelineComment> {
    own(timeline)
        .rev()
        .find(|c| c.text.starts_with(REMOVAL_HEADER))
}

// ---------------------------------------------------------------------------------------
// What expires: `accessbot expiring` and the agenda.

/// The stored lifecycle of a granted request, as the views read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The task.
    pub task: TaskId,
    /// The shell user.
    pub shell_user: Option<String>,
    /// The groups.
    pub groups: Vec<String>,
    /// The expiry recorded for it.
    pub expiry: Option<Expiry>,
    /// When the reminder was posted.
    pub reminded_at: Option<DateTime<Utc>>,
}

impl Followed {
    /// From a stored lifecycle row.
    pub fn from_row(l: &crate::view::LifecycleRow) -> Followed {
        Followed {
            task: l.task_id,
            shell_user: l.shell_user.clone(),
            groups: group_list(&l.groups),
            expiry: l.expiry_date.map(|date| Expiry {
                date,
                contact: l.expiry_contact.clone(),
            }),
            reminded_at: l.reminded_at,
        }
    }
}

/// The granted requests that expire on or before `until`, and those already expired whose
/// access is still in `data.yaml` (or cannot be checked), soonest first.
pub fn expiring(
    followed: &[Followed],
    data_yaml: &DataYaml,
    now: DateTime<Utc>,
    until: NaiveDate,
    rules: &Rules,
) -> Vec<ExpiringItem> {
    let today = crate::calendar::local_date(now, &rules.timing);
    let mut out: Vec<ExpiringItem> = followed
        .iter()
        .filter_map(|f| {
            let e = expiry_of(f.shell_user.as_deref(), data_yaml, f.expiry.clone(), None)?;
            let state = if now < expires_at(e.date, rules) {
                if e.date > until {
                    return None;
                }
                "expiring"
            } else {
                match still_present(data_yaml, f.shell_user.as_deref(), &f.groups) {
                    Still::Yes => "expired",
                    Still::No => return None,
                    Still::Unverifiable | Still::Unknown => "expired-unverified",
                }
            };
            Some(ExpiringItem {
                task: f.task.to_string(),
                shell_user: f.shell_user.clone(),
                groups: f.groups.clone(),
                expiry_date: e.date,
                expiry_contact: e.contact,
                days_left: (e.date - today).num_days(),
                reminded_at: f.reminded_at.map(|t| t.to_rfc3339()),
                state,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.expiry_date
            .cmp(&b.expiry_date)
            .then_with(|| a.task.cmp(&b.task))
    });
    out
}

/// `accessbot expiring` as a table.
pub fn expiring_table(items: &[ExpiringItem]) -> String {
    if items.is_empty() {
        return "Nothing expires in that time, and no expired access is left in place.\n".into();
    }
    let mut table = crate::table::PlainTable::new();
    table
        .set_header([
            "TASK", "USER", "GROUPS", "EXPIRES", "DAYS", "CONTACT", "REMINDED", "STATE",
        ])
        .align_right(4);
    for i in items {
        table.add_row(vec![
            i.task.clone(),
            i.shell_user.clone().unwrap_or_else(|| "-".into()),
            if i.groups.is_empty() {
                "-".into()
            } else {
                i.groups.join(", ")
            },
            i.expiry_date.to_string(),
            i.days_left.to_string(),
            i.expiry_contact.clone().unwrap_or_else(|| "-".into()),
            i.reminded_at
                .as_deref()
                .map(|t| t.get(..10).unwrap_or(t).to_string())
                .unwrap_or_else(|| "-".into()),
            i.state.to_string(),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests;
