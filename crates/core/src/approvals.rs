//! Who said what, when, and through which channel: each comment of a task read once by the
//! one statement reader (`crate::statement`) into `yes`/`no`/`unclear`/`none` for every
//! statement, and the per-person logic of design §1.3 and §9 (pure).
//!
//! Per person the newest `yes`/`no`/`unclear` wins; removed comments never count; a `yes`
//! counts only through the web or Conduit and after the last key or group change; a `no` or
//! an `unclear` cancels through any channel (fail closed); an unknown channel is "could not
//! be verified".

use crate::ids::{Phid, Username};
use crate::rules::Rules;
use crate::statement::{Capacity, Reader, Reading, Readings, Scope, Statement};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

pub use crate::wire::Channel;

/// One comment of the task, resolved by the glue (author looked up, channel read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentFact {
    /// The comment's transaction PHID.
    pub xact: Phid,
    /// The transaction id (anchor on the task page).
    pub anchor: u64,
    /// The author's username.
    pub author: Username,
    /// The author is a bot (agent) account or a mailing list.
    pub author_is_bot: bool,
    /// The author's account is disabled.
    pub author_disabled: bool,
    /// The author is a member of a staff project.
    pub author_is_staff: bool,
    /// The date of the comment's newest version.
    pub at: DateTime<Utc>,
    /// The newest version's text.
    pub text: String,
    /// How it was posted.
    pub channel: Channel,
    /// The comment was removed.
    pub removed: bool,
}

/// How an approval's scope fits the role being checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeFit {
    /// It counts for this role.
    Covers,
    /// It is for other groups: it does not count here (a note fit to post).
    Elsewhere(String),
    /// It covers part of what this role needs: doubtful (why, fit to post).
    Partial(String),
}

/// The comments of a task, each read once for every statement (design §9), with their order.
#[derive(Debug)]
pub(crate) struct Analysed<'a> {
    /// The comments, in the order given.
    pub comments: &'a [CommentFact],
    /// The reading of each comment (removed comments read as nothing).
    pub readings: Vec<Readings>,
    /// Indices of the comments by (date of newest version, anchor).
    order: Vec<usize>,
}

/// A comment that could not be read plainly, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubt<'a> {
    /// The comment.
    pub comment: &'a CommentFact,
    /// Why, fit to post ("it asks a question").
    pub why: String,
}

impl<'a> Analysed<'a> {
    /// Reads every comment once with the rules' phrases. Removed comments read as nothing.
    pub fn new(comments: &'a [CommentFact], rules: &Rules) -> Self {
        let reader = Reader::new(rules);
        let readings = comments
            .iter()
            .map(|c| {
                if c.removed {
                    Readings::none()
                } else {
                    reader.read(&c.text)
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..comments.len()).collect();
        order.sort_by_key(|&i| (comments[i].at, comments[i].anchor));
        Analysed {
            comments,
            readings,
            order,
        }
    }

    /// The comments in time order with their reading for one statement (removed ones left out).
    pub fn said(
        &self,
        statement: Statement,
    ) -> impl Iterator<Item = (&'a CommentFact, &Reading)> + '_ {
        self.order
            .iter()
            .map(move |&i| (&self.comments[i], self.readings[i].get(statement)))
            .filter(|(c, _)| !c.removed)
    }

    /// Evaluates one statement for the people who may make it (a role: the manager, the
    /// leads of a group, the legal users …): see [`RoleOutcome`].
    ///
    /// Per person, their newest `yes`/`no`/`unclear` comment wins (`none` comments are
    /// skipped; removed comments never count). A `no` or an `unclear` cancels earlier `yes`
    /// readings whatever its channel (fail closed); a `yes` counts only through the web or
    /// Conduit and after `cutoff`.
    ///
    /// `eligible` says whether a comment's author holds the role: `Ok(())`, or `Err(note)` with
    /// a note fit to post when a `yes` by that author does not count (`None`: say nothing).
    /// `fit` says how a `yes`'s scope fits the role; `capacity` is the role ("approved as
    /// manager" does not count for a lead, see [`Capacity`]): a `yes` given in another role
    /// is doubtful.
    pub fn role(
        &self,
        statement: Statement,
        eligible: impl Fn(&CommentFact) -> Result<(), Option<String>>,
        cutoff: Option<&Cutoff>,
        capacity: Capacity,
        fit: impl Fn(&Scope) -> ScopeFit,
    ) -> RoleOutcome<'a> {
        // A `yes` given in another role fits no scope of this one.
        let fit = |scope: &Scope, given: Capacity| {
            if given.serves(capacity) {
                fit(scope)
            } else {
                ScopeFit::Partial(format!(
                    "it approves as {}, not as {}",
                    given.describe(),
                    capacity.describe()
                ))
            }
        };
        struct Person<'a> {
            /// `yes` readings since the last `no`/`unclear`, with their scopes and roles.
            yes: Vec<(&'a CommentFact, Scope, Capacity)>,
            /// The newest non-`yes` reading, if it is the newest of all.
            last: Option<(&'a CommentFact, Option<String>)>,
            had_yes: bool,
            withdrew_a_yes: bool,
        }
        let mut people: Vec<Person<'a>> = Vec::new();
        let mut slot_of: HashMap<String, usize> = HashMap::new();
        let mut outcome = RoleOutcome::default();
        for &i in &self.order {
            let c = &self.comments[i];
            let mut reading = self.readings[i].get(statement);
            // An objection that names no statement ("Wait.", "I have concerns.") cancels its
            // author's standing `yes` as doubt; with none standing it says nothing here.
            let objected;
            if *reading == Reading::None && !c.removed {
                if let (Some(why), Some(&slot)) =
                    (self.readings[i].objection(), slot_of.get(&c.author.key()))
                {
                    if !people[slot].yes.is_empty() {
                        objected = Reading::Unclear { why: why.into() };
                        reading = &objected;
                    }
                }
            }
            if c.removed || *reading == Reading::None {
                continue;
            }
            if let Err(note) = eligible(c) {
                if let (Reading::Yes { .. }, Some(note)) = (reading, note) {
                    push_unique(&mut outcome.notes, note);
                }
                continue;
            }
            let key = c.author.key();
            let slot = *slot_of.entry(key).or_insert_with(|| {
                people.push(Person {
                    yes: Vec::new(),
                    last: None,
                    had_yes: false,
                    withdrew_a_yes: false,
                });
                people.len() - 1
            });
            let p = &mut people[slot];
            match reading {
                Reading::Yes { scope, capacity } => {
                    p.yes.push((c, scope.clone(), *capacity));
                    p.last = None;
                    p.had_yes = true;
                }
                Reading::No => {
                    p.withdrew_a_yes = p.had_yes;
                    p.yes.clear();
                    p.last = Some((c, None));
                }
                Reading::Unclear { why } => {
                    p.yes.clear();
                    p.last = Some((c, Some(why.clone())));
                }
                Reading::None => {}
            }
        }
        let predates = |c: &CommentFact| cutoff.is_some_and(|k| k.predates(c));
        for p in people {
            match p.last {
                Some((c, None)) => {
                    if p.withdrew_a_yes {
                        outcome.withdrawn.push(c);
                    } else {
                        outcome.objections.push(c);
                    }
                    continue;
                }
                Some((c, Some(why))) => {
                    // Doubt older than the last key or group change changes nothing: no
                    // approval of that time would count anyway.
                    if !predates(c) {
                        outcome.doubts.push(Doubt { comment: c, why });
                    }
                    continue;
                }
                None => {}
            }
            let Some((newest, newest_scope, newest_capacity)) = p.yes.last() else {
                continue;
            };
            let newest: &'a CommentFact = newest;
            match fit(newest_scope, *newest_capacity) {
                ScopeFit::Elsewhere(note) => {
                    push_unique(&mut outcome.notes, note);
                    continue;
                }
                ScopeFit::Partial(why) => {
                    if !predates(newest) {
                        outcome.doubts.push(Doubt {
                            comment: newest,
                            why,
                        });
                    }
                    continue;
                }
                ScopeFit::Covers => {}
            }
            let fitting: Vec<&'a CommentFact> = p
                .yes
                .iter()
                .filter(|(_, s, k)| fit(s, *k) == ScopeFit::Covers)
                .map(|(c, _, _)| *c)
                .collect();
            if let Some(valid) = fitting
                .iter()
                .rev()
                .find(|c| c.channel.counts() && !predates(c))
            {
                outcome.approved.push(valid);
                continue;
            }
            if let Some(unverified) = fitting
                .iter()
                .rev()
                .find(|c| c.channel == Channel::Unknown && !predates(c))
            {
                outcome.unverified.push(unverified);
                continue;
            }
            let note = match (predates(newest), cutoff) {
                (true, Some(k)) => format!(
                    "approval by @{} predates the {} on {}",
                    newest.author, k.what, k.date
                ),
                _ if statement == Statement::Approve => format!(
                    "approval by @{} came by email and does not count",
                    newest.author
                ),
                _ => format!(
                    "{} by @{} came by email and does not count",
                    statement.describe(),
                    newest.author
                ),
            };
            push_unique(&mut outcome.notes, note);
        }
        outcome
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// The last change that invalidates earlier approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cutoff {
    /// When.
    pub at: DateTime<Utc>,
    /// The task transaction id of the change (a description edit, a comment), which orders it
    /// among the events of the same second; `None` when the change has none on the task (a
    /// paste edited, a comment edited): then an approval of the same second is stale too.
    pub xact: Option<u64>,
    /// What changed, in words: "key change", "group change".
    pub what: &'static str,
    /// The local date of the change, for messages.
    pub date: NaiveDate,
}

impl Cutoff {
    /// Whether a comment came before this change. Events are ordered by (time, transaction
    /// id), never by time alone: on a real Phorge an approval and the key change after it often
    /// share a second. A comment's time is that of its newest version and its id that of the
    /// comment, so a comment edited in the very second of the change counts as before it
    /// unless the comment itself was posted after the change (fail closed).
    pub fn predates(&self, c: &CommentFact) -> bool {
        match self.xact {
            Some(x) => (c.at, c.anchor) < (self.at, x),
            None => c.at <= self.at,
        }
    }
}

/// The outcome of one role.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RoleOutcome<'a> {
    /// Counting `yes` readings, one per person (their newest valid one), in order of the
    /// person's first reading.
    pub approved: Vec<&'a CommentFact>,
    /// `yes` readings that would count but whose channel could not be verified.
    pub unverified: Vec<&'a CommentFact>,
    /// People whose newest reading is `unclear` (or a `yes` for only part of what the role
    /// needs): their comment and why.
    pub doubts: Vec<Doubt<'a>>,
    /// People whose newest reading is `no` after a `yes` of theirs: the withdrawing comment.
    pub withdrawn: Vec<&'a CommentFact>,
    /// People whose newest reading is `no` without an earlier `yes`: the comment.
    pub objections: Vec<&'a CommentFact>,
    /// Why other approvals do not count, fit to post.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Phid;

    fn comment(anchor: u64, author: &str, minute: i64, text: &str) -> CommentFact {
        CommentFact {
            xact: Phid::from(format!("PHID-XACT-TASK-{anchor}")),
            anchor,
            author: Username::new(author),
            author_is_bot: false,
            author_disabled: false,
            author_is_staff: true,
            at: DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap_or_default(),
            text: text.into(),
            channel: Channel::Web,
            removed: false,
        }
    }

    fn outcome<'a>(a: &Analysed<'a>) -> RoleOutcome<'a> {
        a.role(
            Statement::Approve,
            |_| Ok(()),
            None,
            Capacity::Any,
            |_| ScopeFit::Covers,
        )
    }

    #[test]
    fn a_cutoff_orders_by_time_then_transaction_id() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let c = |anchor: u64, when: &str| CommentFact {
            xact: Phid::from(format!("PHID-XACT-TASK-{anchor}")),
            anchor,
            author: Username::new("mboss"),
            author_is_bot: false,
            author_disabled: false,
            author_is_staff: true,
            at: at(when),
            text: "Approved.".into(),
            channel: Channel::Web,
            removed: false,
        };
        let key_change = Cutoff {
            at: at("2026-11-03T10:00:00Z"),
            xact: Some(20),
            what: "key change",
            date: NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
        };
        // Same second: the transaction id decides.
        assert!(key_change.predates(&c(19, "2026-11-03T10:00:00Z")));
        assert!(!key_change.predates(&c(21, "2026-11-03T10:00:00Z")));
        // Otherwise the time decides, whatever the ids.
        assert!(key_change.predates(&c(25, "2026-11-03T09:59:59Z")));
        assert!(!key_change.predates(&c(5, "2026-11-03T10:00:01Z")));
        // A change with no transaction id on the task (a paste edit): the same second is stale.
        let paste_edit = Cutoff {
            xact: None,
            ..key_change
        };
        assert!(paste_edit.predates(&c(21, "2026-11-03T10:00:00Z")));
        assert!(!paste_edit.predates(&c(21, "2026-11-03T10:00:01Z")));
    }

    #[test]
    fn the_newest_reading_of_each_person_wins() {
        let r = Rules::for_tests();
        let cs = vec![
            comment(1, "a", 1, "Approved."),
            comment(2, "a", 2, "Approved?"),
            comment(3, "b", 3, "Not approved."),
            comment(4, "c", 4, "Approved."),
            comment(5, "c", 5, "Revoked."),
            comment(6, "d", 6, "Thanks!"),
            comment(7, "d", 7, "+1"),
        ];
        let a = Analysed::new(&cs, r);
        let o = outcome(&a);
        assert_eq!(o.doubts.len(), 1);
        assert_eq!(o.doubts[0].comment.anchor, 2);
        assert_eq!(
            o.objections.iter().map(|c| c.anchor).collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(
            o.withdrawn.iter().map(|c| c.anchor).collect::<Vec<_>>(),
            [5]
        );
        assert_eq!(o.approved.iter().map(|c| c.anchor).collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn email_cancels_but_never_approves() {
        let r = Rules::for_tests();
        let mut cs = vec![
            comment(1, "a", 1, "Approved."),
            comment(2, "a", 2, "On hold."),
            comment(3, "b", 3, "Approved."),
        ];
        cs[1].channel = Channel::Email;
        cs[2].channel = Channel::Email;
        let a = Analysed::new(&cs, r);
        let o = outcome(&a);
        assert!(o.approved.is_empty());
        assert_eq!(o.withdrawn.len(), 1);
        assert!(o.notes[0].contains("came by email"), "{:?}", o.notes);
    }

    #[test]
    fn removed_comments_never_count() {
        let r = Rules::for_tests();
        let mut cs = vec![comment(1, "a", 1, "Approved.")];
        cs[0].removed = true;
        let a = Analysed::new(&cs, r);
        assert_eq!(outcome(&a), RoleOutcome::default());
    }
}
