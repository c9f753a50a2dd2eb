//! Who approved what, when, and through which channel: text analysis of task comments with
//! the phrases of `rules/phrases.toml`, and the role logic of design §1.3 (pure).
//!
//! Before a phrase is matched, everything that is not the commenter's own words is removed:
//! quoted lines (`> …`), fenced code blocks, `lang=` blocks, indented code, inline backticks
//! and text inside double quotes. A comment that matches `withdraw` is a withdrawal even if
//! it also matches `approve` ("not approved"). Per person the latest relevant comment wins;
//! removed comments never count; email never counts; an unknown channel is "could not be
//! verified".

use crate::ids::{Phid, Username};
use crate::rules::Phrases;
use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;

pub use crate::conduit::Channel;

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

/// What a comment says about an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stance {
    /// It approves.
    Approve,
    /// It withdraws or negates an approval ("not approved", "revoke", "on hold").
    Withdraw,
    /// Neither.
    Neutral,
}

/// The commenter's own words: quoted lines, code blocks, inline code and quoted strings
/// removed. Lines are kept apart by `\n` so that line-anchored phrases still work.
pub fn visible_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    let mut in_lang_block = false;
    let mut prev_blank = true;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        let blank = trimmed.is_empty();
        if in_fence {
            if trimmed.starts_with("```") {
                in_fence = false;
            }
            prev_blank = blank;
            continue;
        }
        if in_lang_block {
            if blank {
                in_lang_block = false;
            }
            prev_blank = blank;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("```") {
            // A fence that closes on the same line (```x```) is inline code.
            if !rest.contains("```") {
                in_fence = true;
            }
            prev_blank = false;
            continue;
        }
        if starts_with_ignore_case(trimmed, "lang=") {
            in_lang_block = true;
            prev_blank = false;
            continue;
        }
        if trimmed.starts_with('>') {
            prev_blank = false;
            continue;
        }
        let indent = line.len() - trimmed.len();
        let indented_code = !blank
            && (line.starts_with('\t') || indent >= 2)
            && prev_blank
            && !starts_like_list_item(trimmed);
        if indented_code {
            // Remarkup renders a block indented by two spaces as code; the block runs on
            // while lines stay indented.
            prev_blank = true;
            continue;
        }
        strip_inline(line, &mut out);
        out.push('\n');
        prev_blank = blank;
    }
    out
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn starts_like_list_item(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(b'-' | b'*' | b'#') => true,
        Some(c) if c.is_ascii_digit() => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            matches!(b.get(digits), Some(b'.' | b')'))
        }
        _ => false,
    }
}

/// Appends `line` without inline code spans and double-quoted spans. An unclosed backtick or
/// quote hides the rest of the line (fail closed).
fn strip_inline(line: &str, out: &mut String) {
    let mut closing: Option<char> = None;
    for c in line.chars() {
        match closing {
            Some(end) => {
                if c == end {
                    closing = None;
                    out.push(' ');
                }
            }
            None => match c {
                '`' => closing = Some('`'),
                '"' => closing = Some('"'),
                '\u{201C}' => closing = Some('\u{201D}'),
                '\u{201E}' => closing = Some('\u{201C}'),
                '\u{00AB}' => closing = Some('\u{00BB}'),
                _ => out.push(c),
            },
        }
    }
}

/// Whether the visible text (see [`visible_text`]) matches a phrase.
pub fn says(visible: &str, phrase: &Regex) -> bool {
    phrase.is_match(visible)
}

/// The stance of a comment's visible text: a withdrawal wins over an approval.
pub fn stance(visible: &str, phrases: &Phrases) -> Stance {
    if phrases.withdraw.is_match(visible) {
        Stance::Withdraw
    } else if phrases.approve.is_match(visible) {
        Stance::Approve
    } else {
        Stance::Neutral
    }
}

/// The comments of a task with their visible text and stance, computed once per evaluation.
#[derive(Debug)]
pub struct Analysed<'a> {
    /// The comments, in the order given.
    pub comments: &'a [CommentFact],
    /// Visible text of each comment.
    pub visible: Vec<String>,
    /// Stance of each comment.
    pub stances: Vec<Stance>,
    /// Indices of the comments by (date of newest version, anchor).
    order: Vec<usize>,
}

impl<'a> Analysed<'a> {
    /// Analyses the comments once. Removed comments get an empty text and no stance; an SRE
    /// meeting decision ("SRE meeting: approved") is a decision, not a role approval, and
    /// gets no stance either.
    pub fn new(comments: &'a [CommentFact], phrases: &Phrases) -> Self {
        let visible: Vec<String> = comments
            .iter()
            .map(|c| {
                if c.removed {
                    String::new()
                } else {
                    visible_text(&c.text)
                }
            })
            .collect();
        let stances = visible
            .iter()
            .zip(comments)
            .map(|(v, c)| {
                if c.removed || phrases.sre_approved.is_match(v) || phrases.sre_declined.is_match(v)
                {
                    Stance::Neutral
                } else {
                    stance(v, phrases)
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..comments.len()).collect();
        order.sort_by_key(|&i| (comments[i].at, comments[i].anchor));
        Analysed {
            comments,
            visible,
            stances,
            order,
        }
    }

    /// The newest comment, by an author `who` accepts, that counts as evidence (not removed,
    /// web or Conduit) and whose visible text matches `phrase`; `None` if there is none.
    pub fn latest_matching(
        &self,
        phrase: &Regex,
        who: impl Fn(&CommentFact) -> bool,
    ) -> Option<&'a CommentFact> {
        self.order.iter().rev().find_map(|&i| {
            let c = &self.comments[i];
            (!c.removed && c.channel.counts() && who(c) && says(&self.visible[i], phrase))
                .then_some(c)
        })
    }

    /// Whether some comment by an author `who` accepts matches `phrase` but does not count
    /// only because its channel is unknown.
    pub fn unverified_matching(&self, phrase: &Regex, who: impl Fn(&CommentFact) -> bool) -> bool {
        self.order.iter().any(|&i| {
            let c = &self.comments[i];
            !c.removed && c.channel == Channel::Unknown && who(c) && says(&self.visible[i], phrase)
        })
    }

    /// Evaluates one role (manager, lead of a group): see [`RoleOutcome`].
    ///
    /// `eligible` says whether a comment's author holds the role: `Ok(())`, or `Err(note)`
    /// with a note fit to post when an approval by that author does not count (`None`: say
    /// nothing). `cutoff` is the last change of the key or groups: approvals before it do not
    /// count.
    pub fn role(
        &self,
        eligible: impl Fn(&CommentFact) -> Result<(), Option<String>>,
        cutoff: Option<&Cutoff>,
    ) -> RoleOutcome<'a> {
        // Per author (lowercase), the approvals since their last withdrawal.
        let mut by_author: Vec<(String, Vec<&'a CommentFact>)> = Vec::new();
        let mut outcome = RoleOutcome::default();
        for &i in &self.order {
            let c = &self.comments[i];
            let stance = self.stances[i];
            if c.removed || stance == Stance::Neutral {
                continue;
            }
            if let Err(note) = eligible(c) {
                if stance == Stance::Approve {
                    if let Some(note) = note {
                        push_unique(&mut outcome.notes, note);
                    }
                }
                continue;
            }
            let key = c.author.key();
            let slot = match by_author.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    by_author.push((key, Vec::new()));
                    by_author.len() - 1
                }
            };
            match stance {
                // A withdrawal through any channel cancels (fail closed).
                Stance::Withdraw => {
                    let list = &mut by_author[slot].1;
                    if !list.is_empty() {
                        push_unique(
                            &mut outcome.notes,
                            format!("@{} withdrew their approval", c.author),
                        );
                    }
                    list.clear();
                }
                Stance::Approve => by_author[slot].1.push(c),
                Stance::Neutral => {}
            }
        }
        for (_, candidates) in by_author {
            let predates = |c: &CommentFact| cutoff.is_some_and(|k| k.predates(c));
            if let Some(valid) = candidates
                .iter()
                .rev()
                .find(|c| c.channel.counts() && !predates(c))
            {
                outcome.approved.push(valid);
                continue;
            }
            if let Some(unverified) = candidates
                .iter()
                .rev()
                .find(|c| c.channel == Channel::Unknown && !predates(c))
            {
                outcome.unverified.push(unverified);
                continue;
            }
            if let Some(newest) = candidates.last() {
                let note = match (predates(newest), cutoff) {
                    (true, Some(k)) => format!(
                        "approval by @{} predates the {} on {}",
                        newest.author, k.what, k.date
                    ),
                    _ => format!(
                        "approval by @{} came by email and does not count",
                        newest.author
                    ),
                };
                push_unique(&mut outcome.notes, note);
            }
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
pub struct Cutoff {
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
pub struct RoleOutcome<'a> {
    /// Counting approvals, one per person (their newest valid one), in order of first
    /// approval.
    pub approved: Vec<&'a CommentFact>,
    /// Approvals that would count but whose channel could not be verified.
    pub unverified: Vec<&'a CommentFact>,
    /// Why other approvals do not count, fit to post.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn rules() -> Rules {
        Rules::for_tests().clone()
    }

    fn st(text: &str) -> Stance {
        stance(&visible_text(text), &rules().phrases)
    }

    #[test]
    fn approvals_and_negations() {
        assert_eq!(st("Approved."), Stance::Approve);
        assert_eq!(st("+1 from me"), Stance::Approve);
        assert_eq!(st("LGTM"), Stance::Approve);
        assert_eq!(st("Not approved."), Stance::Withdraw);
        assert_eq!(st("I can't approve this yet"), Stance::Withdraw);
        assert_eq!(st("I withdraw my approval"), Stance::Withdraw);
        assert_eq!(
            st("Approved. EDIT: on hold until the key is fixed"),
            Stance::Withdraw
        );
        assert_eq!(st("Thanks for filing"), Stance::Neutral);
    }

    #[test]
    fn quotes_code_and_quoted_strings_are_ignored() {
        assert_eq!(st("> Approved.\nWhat is this for?"), Stance::Neutral);
        assert_eq!(st("```\napproved\n```\nplease explain"), Stance::Neutral);
        assert_eq!(st("lang=text\napproved\n\nhmm"), Stance::Neutral);
        assert_eq!(st("Reply with `approved` to approve"), Stance::Approve);
        assert_eq!(st("Reply with `approved` when ready"), Stance::Neutral);
        assert_eq!(st("Just say \"approved\" here"), Stance::Neutral);
        assert_eq!(
            st("Just say \u{201C}approved\u{201D} here"),
            Stance::Neutral
        );
        assert_eq!(st("unclosed \"approved"), Stance::Neutral);
        assert_eq!(st("hello\n\n  approved\n"), Stance::Neutral);
        assert_eq!(st("list:\n\n  - approved\n"), Stance::Approve);
        assert_eq!(st("```approved```"), Stance::Neutral);
    }

    proptest::proptest! {
        #[test]
        fn text_analysis_never_panics(text in "(?s).{0,400}") {
            let r = rules();
            let v = visible_text(&text);
            let _ = stance(&v, &r.phrases);
            proptest::prop_assert!(v.len() <= text.len() + text.lines().count() * 2 + 1);
        }
    }

    #[test]
    fn a_cutoff_orders_by_time_then_transaction_id() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let c = |anchor: u64, when: &str| CommentFact {
            xact: Phid(format!("PHID-XACT-TASK-{anchor}")),
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
    fn visible_text_keeps_lines() {
        assert_eq!(visible_text("a\n> b\nc"), "a\nc\n");
        assert_eq!(visible_text("x `y` z"), "x   z\n");
    }
}
