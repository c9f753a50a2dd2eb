//! A task's timeline as facts (pure): `transaction.search` results (all pages, any order)
//! into creation, tag time, description versions, comments (newest version, edits,
//! removals), status changes, the bot's own comments and the last activity by anyone else;
//! and [`Moment`], the order of events: (time, transaction id), never time alone.

use crate::approvals::{Channel, CommentFact};
use crate::ids::{Phid, Username};
use crate::request::{KeyRef, Parsed};
use crate::wire::{Task, Transaction};
use chrono::{DateTime, Utc};

/// When something happened on a task: its time and, when it was a task transaction, that
/// transaction's id, which orders the events of one second (on a real Phorge an approval and
/// the key change after it often share a second). A change with no transaction on the task —
/// a paste edited, a comment edited — has no id (`xact: None`): it sorts after every
/// transaction of its second, so whatever shares its second counts as earlier (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Moment {
    /// When.
    pub at: DateTime<Utc>,
    /// The task transaction's id, if the change was one.
    pub xact: Option<u64>,
}

impl Moment {
    /// A task transaction.
    pub fn of(at: DateTime<Utc>, xact: u64) -> Moment {
        Moment {
            at,
            xact: Some(xact),
        }
    }

    /// A change with no transaction on the task.
    pub fn untracked(at: DateTime<Utc>) -> Moment {
        Moment { at, xact: None }
    }

    /// Whether `self` may have come before `other`: an earlier second, or the same second
    /// unless both ids show `other` first. A tie that the ids cannot settle counts as earlier
    /// (used where "earlier" fails closed, e.g. "this key appeared earlier elsewhere").
    pub fn maybe_before(&self, other: &Moment) -> bool {
        match (self.at.cmp(&other.at), self.xact, other.xact) {
            (std::cmp::Ordering::Less, _, _) => true,
            (std::cmp::Ordering::Equal, Some(a), Some(b)) => a < b,
            (std::cmp::Ordering::Equal, _, _) => true,
            (std::cmp::Ordering::Greater, _, _) => false,
        }
    }
}

impl Ord for Moment {
    /// By time, then by transaction id, a change without one last in its second.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |m: &Moment| (m.at, m.xact.is_none(), m.xact.unwrap_or(0));
        rank(self).cmp(&rank(other))
    }
}

impl PartialOrd for Moment {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One version of the task description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionVersion {
    /// The transaction that set it.
    pub xact: Phid,
    /// Its id (anchor).
    pub anchor: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub author: Phid,
    /// The full new text.
    pub text: String,
}

/// One comment, as of its newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineComment {
    /// The comment transaction's PHID.
    pub xact: Phid,
    /// The transaction id: the anchor on the task page.
    pub anchor: u64,
    /// The transaction's author.
    pub author: Phid,
    /// The date of the newest version (`comments[0].dateCreated`).
    pub at: DateTime<Utc>,
    /// The newest version's text (empty when removed).
    pub text: String,
    /// More than one version exists.
    pub edited: bool,
    /// The comment was removed.
    pub removed: bool,
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The transaction.
    pub xact: Phid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub author: Phid,
    /// The new status value (`open`, `resolved`, …).
    pub new: String,
}

/// The facts of a task's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// When the task was created (the `create` transaction), if seen.
    pub created_at: Option<DateTime<Utc>>,
    /// Who created it.
    pub author: Option<Phid>,
    /// When the watched project was last added and not removed since (`None`: not tagged
    /// according to the timeline). Created with the tag: the creation time.
    pub tagged_at: Option<DateTime<Utc>>,
    /// The transaction that added the tag.
    pub tag_xact: Option<Phid>,
    /// Description versions, oldest first.
    pub descriptions: Vec<DescriptionVersion>,
    /// Comments by anyone but the bot, oldest first (by transaction id).
    pub comments: Vec<TimelineComment>,
    /// Status changes, oldest first.
    pub status_changes: Vec<StatusChange>,
    /// The bot's own comments, oldest first: never evidence.
    pub bot_comments: Vec<TimelineComment>,
    /// The newest activity (transaction or comment edit) by anyone but the bot.
    pub last_activity: Option<DateTime<Utc>>,
}

fn time(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

impl Timeline {
    /// Builds the timeline of one task from its transactions (Conduit sends them newest
    /// first; any order is accepted). `project` is the watched project, `bot` the bot's PHID.
    pub fn build(txs: &[Transaction], project: &Phid, bot: &Phid) -> Timeline {
        let mut sorted: Vec<&Transaction> = txs.iter().collect();
        sorted.sort_by_key(|t| t.id);
        let mut tl = Timeline::default();
        let mut create_group: Option<&str> = None;
        for t in sorted {
            let Some(at) = time(t.date_created) else {
                continue;
            };
            let by_bot = &t.author_phid == bot;
            if !by_bot {
                let touched = time(t.date_modified).map_or(at, |m| m.max(at));
                tl.last_activity = Some(tl.last_activity.map_or(touched, |l| l.max(touched)));
            }
            match t.kind.as_deref() {
                Some("create") => {
                    tl.created_at = Some(at);
                    tl.author = Some(t.author_phid.clone());
                    create_group = t.group_id.as_deref();
                }
                Some("projects") => {
                    for op in t.operations() {
                        if &op.phid != project {
                            continue;
                        }
                        match op.operation.as_str() {
                            "add" => {
                                let same_edit =
                                    create_group.is_some() && t.group_id.as_deref() == create_group;
                                tl.tagged_at = Some(match (same_edit, tl.created_at) {
                                    (true, Some(created)) => created,
                                    _ => at,
                                });
                                tl.tag_xact = Some(t.phid.clone());
                            }
                            "remove" => {
                                tl.tagged_at = None;
                                tl.tag_xact = None;
                            }
                            _ => {}
                        }
                    }
                }
                Some("description") => {
                    if let Some(text) = t.fields.get("new").and_then(|v| v.as_str()) {
                        tl.descriptions.push(DescriptionVersion {
                            xact: t.phid.clone(),
                            anchor: t.id,
                            at,
                            author: t.author_phid.clone(),
                            text: text.to_string(),
                        });
                    }
                }
                Some("status") => {
                    if let Some(new) = t.fields.get("new").and_then(|v| v.as_str()) {
                        tl.status_changes.push(StatusChange {
                            xact: t.phid.clone(),
                            at,
                            author: t.author_phid.clone(),
                            new: new.to_string(),
                        });
                    }
                }
                _ => {}
            }
            if let Some(newest) = t.newest_comment() {
                let comment = TimelineComment {
                    xact: t.phid.clone(),
                    anchor: t.id,
                    author: t.author_phid.clone(),
                    at: time(newest.date_created).unwrap_or(at),
                    text: if newest.removed {
                        String::new()
                    } else {
                        newest.content.raw.clone()
                    },
                    edited: t.comments.len() > 1 || newest.version > 1,
                    removed: newest.removed,
                };
                if by_bot {
                    tl.bot_comments.push(comment);
                } else {
                    tl.comments.push(comment);
                }
            }
        }
        tl
    }

    /// When a comment (by its transaction PHID) was written: its transaction; once edited,
    /// its newest version, which has no transaction of its own.
    pub fn comment_moment(&self, xact: &Phid) -> Option<Moment> {
        let c = self.comments.iter().find(|c| &c.xact == xact)?;
        Some(if c.edited {
            Moment::untracked(c.at)
        } else {
            Moment::of(c.at, c.anchor)
        })
    }

    /// The bot's newest comment (what idempotent posting compares with).
    pub fn last_bot_comment(&self) -> Option<&TimelineComment> {
        self.bot_comments
            .iter()
            .filter(|c| !c.removed)
            .max_by_key(|c| (c.at, c.anchor))
    }

    /// The current description (the newest version), if any version was seen.
    pub fn description(&self) -> Option<&DescriptionVersion> {
        self.descriptions.last()
    }

    /// When the key and the requested groups last changed between description versions,
    /// who wrote the version that set the current key, and when the current key first
    /// appeared. `parse` parses one description text (the glue passes
    /// `|d| request::parse(title, d, &rules.labels)`). The first version is no change; a key or
    /// groups appearing later is. Keys compare by algorithm and key material (a changed key
    /// comment is no change); groups compare as sets. Every time is a [`Moment`] of the
    /// version's transaction.
    pub fn description_changes(&self, parse: impl Fn(&str) -> Parsed) -> DescriptionChanges {
        let mut out = DescriptionChanges::default();
        let mut prev: Option<(Option<String>, Vec<String>)> = None;
        let mut prev_change: Option<Option<crate::request::PrivilegeChange>> = None;
        let mut prev_expiry: Option<Option<chrono::NaiveDate>> = None;
        let mut prev_user: Option<[Option<String>; 3]> = None;
        // Each key identity's first version, looked up for the last version's key at the end.
        let mut first: Vec<(String, Moment)> = Vec::new();
        for v in &self.descriptions {
            let parsed = parse(&v.text);
            let key = parsed.request.key.as_ref().map(key_identity);
            // Whose access it is (compared with the previous version's below).
            let r = &parsed.request;
            let user = [
                r.shell_user.as_ref().map(|u| u.as_str().to_string()),
                r.wikitech_user.clone(),
                r.phabricator_user.as_ref().map(|u| u.as_str().to_string()),
            ];
            let moment = Moment::of(v.at, v.anchor);
            if let Some(k) = &key {
                if !first.iter().any(|(seen, _)| seen == k) {
                    first.push((k.clone(), moment));
                }
            }
            let mut groups = parsed.request.groups;
            groups.sort();
            groups.dedup();
            match &prev {
                None => {
                    if key.is_some() {
                        out.key_written_by = Some(v.author.clone());
                    }
                }
                Some((prev_key, prev_groups)) => {
                    if *prev_key != key {
                        out.key_changed_at = Some(moment);
                        out.key_written_by = key.as_ref().map(|_| v.author.clone());
                    }
                    if *prev_groups != groups {
                        out.groups_changed_at = Some(moment);
                    }
                }
            }
            prev = Some((key, groups));
            // A privilege change's group, change or impact (design §11): approvals before an
            // edit of them are stale.
            let change = parsed.request.change;
            if prev_change.as_ref().is_some_and(|p| *p != change) {
                out.change_changed_at = Some(moment);
            }
            prev_change = Some(change);
            // An expiry moved later or removed asks for more than was approved; an earlier
            // one asks for less.
            let expiry = parsed.request.expiry_date;
            if let Some(Some(before)) = prev_expiry {
                if expiry.is_none_or(|e| e > before) {
                    out.expiry_extended_at = Some(moment);
                }
            }
            prev_expiry = Some(expiry);
            // Whose access it is: the shell user, the Wikitech (LDAP) user and the named
            // Phabricator account, compared as names are (`ids::same_name`: any case and
            // spacing). Approvals were given for the user named then. A shell or Wikitech
            // user given where there was none completes the request; a Phabricator account
            // named where there was none changes whom it is for (the author before).
            const ADDED_IS_A_CHANGE: [bool; 3] = [false, false, true];
            let differs = |before: &Option<String>, now: &Option<String>| match (before, now) {
                (Some(a), Some(b)) => !crate::ids::same_name(a, b),
                (None, None) => false,
                _ => true,
            };
            if prev_user.as_ref().is_some_and(|p| {
                p.iter()
                    .zip(&user)
                    .zip(ADDED_IS_A_CHANGE)
                    .any(|((before, now), added)| {
                        (before.is_some() || added) && differs(before, now)
                    })
            }) {
                out.user_changed_at = Some(moment);
            }
            prev_user = Some(user);
            if self.descriptions.len() > 1 {
                out.edited_at = Some(moment);
            }
        }
        if let Some((Some(current), _)) = &prev {
            out.key_identity = Some(current.clone());
            out.key_first_seen = first
                .into_iter()
                .find(|(k, _)| k == current)
                .map(|(_, m)| m);
        }
        out
    }

    /// The comments (not the bot's) as [`CommentFact`]s for the policy engine. `person`
    /// resolves an author PHID (`None`: unknown user — such comments are left out, so they
    /// can never count); `channel` gives a transaction's channel (`Channel::Unknown` when the
    /// channel source could not tell).
    pub fn comment_facts(
        &self,
        person: impl Fn(&Phid) -> Option<Person>,
        channel: impl Fn(&Phid) -> Channel,
    ) -> Vec<CommentFact> {
        self.comments
            .iter()
            .filter_map(|c| {
                let p = person(&c.author)?;
                Some(CommentFact {
                    xact: c.xact.clone(),
                    anchor: c.anchor,
                    author: p.username,
                    author_is_bot: p.is_bot,
                    author_disabled: p.disabled,
                    author_is_staff: p.staff,
                    at: c.at,
                    text: c.text.clone(),
                    channel: channel(&c.xact),
                    removed: c.removed,
                })
            })
            .collect()
    }
}

/// Rewinds a task and its transactions to how they were at `at` (the `--now` of a what-if):
/// every transaction written after `at` — a comment, a description or title edit, a tag
/// change, a status change — is dropped and its effect on the task undone (the task's
/// description, title, status and tags become the `old` values of the first such edit), and
/// comment versions written after `at` (edits, removals) are dropped, so the comment reads
/// as it did then. The bot's own transactions are kept whatever their time: they are never
/// evidence, and posting compares with them (a what-if run must not post twice). Returns
/// whether the task existed at `at`; a task created later is left untagged and empty.
pub fn rewind(
    task: &mut Task,
    txs: &mut Vec<Transaction>,
    at: DateTime<Utc>,
    bot: &Phid,
    phabricator: &crate::rules::PhabricatorRules,
) -> bool {
    let t = at.timestamp();
    let existed = task.fields.date_created <= t;
    // Newest first: each undo writes the `old` value, so the earliest later edit wins.
    let mut later: Vec<&Transaction> = txs
        .iter()
        .filter(|x| x.date_created > t && &x.author_phid != bot)
        .collect();
    later.sort_by_key(|x| std::cmp::Reverse(x.id));
    for x in later {
        let old = || {
            x.fields
                .get("old")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        match x.kind.as_deref() {
            Some("description") => task.fields.description.raw = old().unwrap_or_default(),
            Some("title") => {
                if let Some(o) = old() {
                    task.fields.name = o;
                }
            }
            Some("status") => {
                if let Some(o) = old() {
                    task.fields.status.value = o;
                }
            }
            Some("projects") => {
                let tags = task
                    .attachments
                    .projects
                    .get_or_insert_with(Default::default);
                for op in x.operations() {
                    match op.operation.as_str() {
                        "add" => tags.project_phids.retain(|p| *p != op.phid),
                        "remove" if !tags.project_phids.contains(&op.phid) => {
                            tags.project_phids.push(op.phid)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    txs.retain(|x| x.date_created <= t || &x.author_phid == bot);
    for x in txs.iter_mut().filter(|x| &x.author_phid != bot) {
        let before = x.comments.len();
        x.comments.retain(|c| c.date_created <= t);
        if x.comments.len() < before || x.date_modified > t {
            let newest = x.comments.iter().map(|c| c.date_created).max();
            x.date_modified = newest.unwrap_or(x.date_created).max(x.date_created).min(t);
        }
    }
    if phabricator.is_open(&task.fields.status.value) {
        task.fields.date_closed = None;
    }
    if !existed {
        task.attachments.projects = Some(Default::default());
    }
    existed
}

/// What [`Timeline::description_changes`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescriptionChanges {
    /// The last time a description edit changed the key (or added one).
    pub key_changed_at: Option<Moment>,
    /// The last time a description edit changed the requested groups.
    pub groups_changed_at: Option<Moment>,
    /// The last time a description edit changed a group privilege change (its group, the
    /// change or the impact).
    pub change_changed_at: Option<Moment>,
    /// The last time a description edit moved the expiry date later or removed it.
    pub expiry_extended_at: Option<Moment>,
    /// The last time a description edit changed a user the request had named (its shell
    /// user, Wikitech user or Phabricator account): approvals were for that user.
    pub user_changed_at: Option<Moment>,
    /// The newest description edit, whatever it changed (`None`: never edited).
    pub edited_at: Option<Moment>,
    /// The identity (`key_identity`) of the newest version's key, if it has one: the glue
    /// compares it with the description it parsed (they differ only when the task changed
    /// between the two reads).
    pub key_identity: Option<String>,
    /// The first version that held the newest version's key (the same identity), even if
    /// other keys came in between: when that key first appeared on the task.
    pub key_first_seen: Option<Moment>,
    /// Who wrote the description version that set the current key (`None`: no key in the
    /// description). A key in the description counts only when this is the requester.
    pub key_written_by: Option<Phid>,
}

impl DescriptionChanges {
    /// When the description key `k` (as the bot parsed the current description) appeared:
    /// its first appearance on the task and the version that last set it (`None`: unchanged
    /// since the first version). `None` when the newest version in the history holds another
    /// key or none — the task changed between the reads, or the history lacks the version —
    /// so the key cannot be dated (nor its writer known).
    pub fn key_dates(&self, k: &KeyRef) -> Option<(Moment, Option<Moment>)> {
        if self.key_identity.as_deref() != Some(key_identity(k).as_str()) {
            return None;
        }
        Some((self.key_first_seen?, self.key_changed_at))
    }
}

/// A user as the glue resolved them (`user.search` + memberships).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Username.
    pub username: Username,
    /// A bot (agent) account or mailing list.
    pub is_bot: bool,
    /// A disabled account.
    pub disabled: bool,
    /// A member of a staff project.
    pub staff: bool,
}

/// What identifies a key: algorithm and material of an inline key (not its comment); a paste
/// or a pointer by its target.
pub(crate) fn key_identity(k: &KeyRef) -> String {
    match k {
        KeyRef::Inline { text } => {
            let mut parts = text.split_whitespace();
            let alg = parts.next().unwrap_or("");
            let material = parts.next().unwrap_or("");
            format!("inline {alg} {material}")
        }
        KeyRef::Paste { id } => format!("paste {id}"),
        KeyRef::Pointer { target } => format!("pointer {target}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tx(id: u64, kind: &str, author: &str, at: i64, fields: serde_json::Value) -> Transaction {
        serde_json::from_value(json!({
            "id": id, "phid": format!("PHID-XACT-TASK-{id}"), "type": kind,
            "authorPHID": author, "objectPHID": "PHID-TASK-1",
            "dateCreated": at, "dateModified": at, "groupID": format!("g{id}"),
            "comments": [], "fields": fields,
        }))
        .unwrap()
    }

    #[test]
    fn tag_removed_and_added_again_takes_the_last_add() {
        let p = Phid::from("PHID-PROJ-sre");
        let bot = Phid::from("PHID-USER-bot");
        let add = json!({"operations": [{"operation": "add", "phid": "PHID-PROJ-sre"}]});
        let rm = json!({"operations": [{"operation": "remove", "phid": "PHID-PROJ-sre"}]});
        let txs = vec![
            tx(4, "projects", "PHID-USER-a", 400, add.clone()),
            tx(3, "projects", "PHID-USER-a", 300, rm.clone()),
            tx(2, "projects", "PHID-USER-a", 200, add),
            tx(1, "create", "PHID-USER-a", 100, json!({})),
        ];
        let tl = Timeline::build(&txs, &p, &bot);
        assert_eq!(tl.tagged_at, DateTime::from_timestamp(400, 0));
        let tl = Timeline::build(&txs[1..], &p, &bot);
        assert_eq!(tl.tagged_at, None);
        assert_eq!(tl.created_at, DateTime::from_timestamp(100, 0));
    }

    fn version(anchor: u64, at: i64, author: &str, text: &str) -> DescriptionVersion {
        DescriptionVersion {
            xact: Phid::from(format!("PHID-XACT-TASK-{anchor}")),
            anchor,
            at: DateTime::from_timestamp(at, 0).unwrap(),
            author: Phid::from(author),
            text: text.into(),
        }
    }

    /// A stand-in parser: line 1 is the key, line 2 the comma-separated groups.
    fn fake_parse(text: &str) -> Parsed {
        let mut lines = text.lines();
        let mut p = Parsed::default();
        p.request.key = lines
            .next()
            .filter(|l| !l.is_empty())
            .map(|l| KeyRef::Inline { text: l.into() });
        p.request.groups = lines
            .next()
            .unwrap_or("")
            .split(',')
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect();
        p.request.expiry_date = lines.next().and_then(|d| d.parse().ok());
        p
    }

    /// A timeline of these description versions by the requester, 100 seconds apart from 100.
    fn edits(texts: impl Iterator<Item = String>) -> Timeline {
        Timeline {
            descriptions: texts
                .enumerate()
                .map(|(i, t)| version(i as u64 + 1, 100 * (i as i64 + 1), "PHID-USER-req", &t))
                .collect(),
            ..Timeline::default()
        }
    }

    /// A change of the shell, Wikitech or Phabricator user is a change of the user; a shell or
    /// Wikitech user given where there was none is not, a Phabricator account named where
    /// there was none is; case and spacing are no change.
    #[test]
    fn description_changes_date_changes_of_the_user() {
        let rules = crate::rules::Rules::bundled().expect("bundled rules");
        let changes = |texts: &[&str]| {
            edits(texts.iter().map(|t| t.to_string()))
                .description_changes(|t| crate::request::parse("", t, &rules.labels))
                .user_changed_at
                .map(|m| m.at.timestamp())
        };
        let form = |shell: &str, wikitech: &str, phab: &str| {
            let mut t = String::new();
            for (label, v) in [
                ("Preferred shell username", shell),
                ("Wikitech username", wikitech),
                ("Phabricator username", phab),
            ] {
                if !v.is_empty() {
                    t.push_str(&format!("{label}: {v}\n"));
                }
            }
            t
        };
        let jane = form("jdoe", "Jane Doe", "");
        assert_eq!(changes(&[&jane, &form("jdoe2", "Jane Doe", "")]), Some(200));
        assert_eq!(
            changes(&[&jane, &form("jdoe", "Bea Keller", "")]),
            Some(200)
        );
        assert_eq!(
            changes(&[&jane, &form("jdoe", "Jane Doe", "@bkeller")]),
            Some(200)
        );
        assert_eq!(changes(&[&jane, &form("", "Jane Doe", "")]), Some(200));
        assert_eq!(changes(&[&jane, &form("jdoe", "jane  doe", "")]), None);
        assert_eq!(changes(&[&form("", "", ""), &jane]), None);
        assert_eq!(changes(&[&jane, &jane]), None);
    }

    /// Only an expiry moved later or removed is an extension; one moved earlier, or one added
    /// where there was none, asks for less.
    #[test]
    fn description_changes_date_expiry_extensions() {
        let changes = |dates: &[&str]| {
            edits(dates.iter().map(|d| format!("k\ng\n{d}")))
                .description_changes(fake_parse)
                .expiry_extended_at
                .map(|m| m.at.timestamp())
        };
        assert_eq!(changes(&["2027-03-01", "2027-10-01"]), Some(200));
        assert_eq!(changes(&["2027-03-01", ""]), Some(200));
        assert_eq!(
            changes(&["2027-03-01", "2027-10-01", "2027-01-01"]),
            Some(200)
        );
        assert_eq!(changes(&["2027-06-30", "2027-03-01"]), None);
        assert_eq!(changes(&["", "2027-03-01"]), None);
        assert_eq!(
            changes(&["2027-03-01", "2027-03-01", "2027-03-02"]),
            Some(300)
        );
        assert_eq!(changes(&["2027-03-01"]), None);
    }

    #[test]
    fn description_changes_date_key_and_group_edits() {
        let tl = Timeline {
            descriptions: vec![
                version(1, 100, "PHID-USER-req", "ssh-ed25519 AAA a@b\nx,y"),
                // Same key material, new comment; groups reordered: no change.
                version(2, 200, "PHID-USER-req", "ssh-ed25519 AAA a@c\ny,x"),
                version(3, 300, "PHID-USER-admin", "ssh-ed25519 BBB a@b\ny,x"),
                version(4, 400, "PHID-USER-req", "ssh-ed25519 BBB a@b\ny"),
            ],
            ..Timeline::default()
        };
        let c = tl.description_changes(fake_parse);
        let m = |at: i64, id: u64| Some(Moment::of(DateTime::from_timestamp(at, 0).unwrap(), id));
        assert_eq!(c.key_changed_at, m(300, 3));
        assert_eq!(c.groups_changed_at, m(400, 4));
        assert_eq!(c.key_written_by, Some(Phid::from("PHID-USER-admin")));
        assert_eq!(c.key_first_seen, m(300, 3));
        assert_eq!(c.key_identity.as_deref(), Some("inline ssh-ed25519 BBB"));

        let first_only = Timeline {
            descriptions: tl.descriptions[..2].to_vec(),
            ..Timeline::default()
        };
        let c = first_only.description_changes(fake_parse);
        assert_eq!(c.key_changed_at, None);
        assert_eq!(c.groups_changed_at, None);
        assert_eq!(c.key_written_by, Some(Phid::from("PHID-USER-req")));
        // The key of the first version appeared with it, whatever edits followed.
        assert_eq!(c.key_first_seen, m(100, 1));

        // A key that comes back after another: it changed last at its return, but it first
        // appeared on the task with the first version.
        let mut back = tl.descriptions.clone();
        back.push(version(5, 500, "PHID-USER-req", "ssh-ed25519 AAA a@b\ny"));
        let c = Timeline {
            descriptions: back,
            ..Timeline::default()
        }
        .description_changes(fake_parse);
        assert_eq!(c.key_changed_at, m(500, 5));
        assert_eq!(c.key_first_seen, m(100, 1));
        assert_eq!(c.key_identity.as_deref(), Some("inline ssh-ed25519 AAA"));
    }

    #[test]
    fn a_description_key_is_dated_only_when_the_newest_version_holds_it() {
        let tl = Timeline {
            descriptions: vec![
                version(1, 100, "PHID-USER-req", "ssh-ed25519 AAA a@b\nx"),
                version(2, 200, "PHID-USER-req", "ssh-ed25519 BBB a@b\nx"),
            ],
            ..Timeline::default()
        };
        let c = tl.description_changes(fake_parse);
        let m = |at: i64, id: u64| Moment::of(DateTime::from_timestamp(at, 0).unwrap(), id);
        let key = |t: &str| KeyRef::Inline { text: t.into() };
        assert_eq!(
            c.key_dates(&key("ssh-ed25519 BBB other@comment")),
            Some((m(200, 2), Some(m(200, 2))))
        );
        // The bot parsed a key the newest version does not hold: undatable.
        assert_eq!(c.key_dates(&key("ssh-ed25519 AAA a@b")), None);
        assert_eq!(c.key_dates(&KeyRef::Paste { id: 12 }), None);
        // No description version at all: undatable.
        let none = Timeline::default().description_changes(fake_parse);
        assert_eq!(none.key_dates(&key("ssh-ed25519 BBB a@b")), None);
    }

    #[test]
    fn moments_order_by_time_then_transaction_and_untracked_changes_last() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        assert!(Moment::of(t(10), 5) < Moment::of(t(10), 6));
        assert!(Moment::of(t(10), 99) < Moment::of(t(11), 1));
        assert!(Moment::of(t(10), 99) < Moment::untracked(t(10)));
        assert!(Moment::untracked(t(10)) < Moment::of(t(11), 1));
        assert_eq!(
            Moment::of(t(10), 5).max(Moment::untracked(t(10))),
            Moment::untracked(t(10))
        );
        // "Maybe before": a tie the ids cannot settle counts as before, both ways.
        assert!(Moment::of(t(10), 5).maybe_before(&Moment::of(t(10), 6)));
        assert!(!Moment::of(t(10), 6).maybe_before(&Moment::of(t(10), 5)));
        assert!(Moment::untracked(t(10)).maybe_before(&Moment::of(t(10), 5)));
        assert!(Moment::of(t(10), 5).maybe_before(&Moment::untracked(t(10))));
        assert!(!Moment::untracked(t(11)).maybe_before(&Moment::of(t(10), 5)));
    }

    #[test]
    fn comment_facts_resolve_people_and_channels() {
        let tl = Timeline {
            comments: vec![
                TimelineComment {
                    xact: Phid::from("PHID-XACT-TASK-1"),
                    anchor: 1,
                    author: Phid::from("PHID-USER-known"),
                    at: DateTime::from_timestamp(100, 0).unwrap(),
                    text: "Approved".into(),
                    edited: false,
                    removed: false,
                },
                TimelineComment {
                    xact: Phid::from("PHID-XACT-TASK-2"),
                    anchor: 2,
                    author: Phid::from("PHID-USER-ghost"),
                    at: DateTime::from_timestamp(200, 0).unwrap(),
                    text: "Approved".into(),
                    edited: false,
                    removed: false,
                },
            ],
            ..Timeline::default()
        };
        let facts = tl.comment_facts(
            |p| {
                (p.as_str() == "PHID-USER-known").then(|| Person {
                    username: Username::new("mboss"),
                    is_bot: false,
                    disabled: false,
                    staff: true,
                })
            },
            |x| {
                if x.as_str() == "PHID-XACT-TASK-1" {
                    Channel::Email
                } else {
                    Channel::Web
                }
            },
        );
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].author, Username::new("MBoss"));
        assert_eq!(facts[0].channel, Channel::Email);
        assert!(facts[0].author_is_staff);
    }

    #[test]
    fn bot_activity_is_kept_apart() {
        let p = Phid::from("PHID-PROJ-sre");
        let bot = Phid::from("PHID-USER-bot");
        let mut c = tx(2, "comment", "PHID-USER-bot", 500, json!({}));
        c.comments = serde_json::from_value(json!([{
            "id": 1, "phid": "PHID-XCMT-1", "version": 1, "authorPHID": "PHID-USER-bot",
            "dateCreated": 500, "dateModified": 500, "removed": false,
            "content": {"raw": "checklist"}}]))
        .unwrap();
        let txs = vec![c, tx(1, "create", "PHID-USER-a", 100, json!({}))];
        let tl = Timeline::build(&txs, &p, &bot);
        assert!(tl.comments.is_empty());
        assert_eq!(
            tl.last_bot_comment().map(|c| c.text.as_str()),
            Some("checklist")
        );
        assert_eq!(tl.last_activity, DateTime::from_timestamp(100, 0));
    }
}
