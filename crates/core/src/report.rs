//! Texts the bot posts or prints (pure): the checklist comment, the stale nudge, the terminal
//! views of `check`/`explain`, the clinic-duty status and the SRE meeting agenda (the
//! lifecycle's own comments are in `crate::lifecycle`).
//!
//! Everything that may carry requester input goes through [`inert`] (see
//! [`crate::remarkup_out`]), so nothing a requester wrote reaches a comment live: no mention,
//! embed, object link, URL or markup; the agenda's cells are escaped for their dialect and
//! the terminal views carry no control character.

use crate::ids::TaskId;
use crate::policy::{Check, CheckId, Checklist, CommentNote, Evidence, Status, Verdict};
use crate::remarkup_out::{inert_except, markdown_cell, plain, wikitext_cell};
use crate::view::{group_list, TaskRow};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The first words of every checklist comment the bot posts.
pub const CHECKLIST_HEADER: &str = "**accessbot checklist**";
/// The first words of the footer line, which is left out of the comparison hash.
const FOOTER_PREFIX: &str = "//Evaluated ";
/// The first words of the line under the header that says what changed since the bot's last
/// checklist; left out of the comparison hash too.
const CHANGES_PREFIX: &str = "//Since the last checklist//: ";
/// The first words of the line that mentions live the people whose action became needed
/// since the bot's last checklist ([`mentions_line`]); left out of the comparison hash too.
pub const MENTIONS_PREFIX: &str = "//Needed now//: ";
pub use crate::remarkup_out::inert;

fn status_box(status: Status) -> &'static str {
    match status {
        Status::Pass => "[x]",
        Status::Fail | Status::Pending => "[ ]",
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "ok",
        Status::Fail => "FAIL",
        Status::Pending => "pending",
    }
}

/// Who must act on a checklist, de-duplicated, in checklist order.
pub fn who_must_act(checklist: &Checklist) -> Vec<crate::policy::Who> {
    let mut who = Vec::new();
    for c in &checklist.checks {
        if c.status != Status::Pass {
            if let Some(w) = c.who {
                if !who.contains(&w) {
                    who.push(w);
                }
            }
        }
    }
    who
}

fn verdict_line(checklist: &Checklist, tz: chrono_tz::Tz) -> String {
    match checklist.verdict {
        Verdict::Ready => "READY: every check passes; clinic duty may grant the access.".into(),
        Verdict::Waiting => match checklist.until {
            Some(u) => format!("WAITING: nothing to do but wait until {}.", when(u, tz)),
            None => "WAITING: nothing to do but wait.".into(),
        },
        Verdict::Blocked => {
            let who = who_must_act(checklist);
            if who.is_empty() {
                "BLOCKED: see the open items below.".into()
            } else {
                format!("BLOCKED: waiting for {}.", who_names(&who).join(", "))
            }
        }
        Verdict::Declined => "DECLINED: the SRE meeting declined this sudo request.".into(),
        Verdict::Closed => "CLOSED: the task is closed; accessbot no longer tracks it.".into(),
        Verdict::NotARequest => "NOT A REQUEST: this task is not a user access request.".into(),
        Verdict::Granted => {
            "GRANTED: the access is in place; accessbot no longer checks this request and only follows its expiry.".into()
        }
        Verdict::Untagged => {
            "UNTAGGED: the task is open but not tagged as an access request (the tag was removed); accessbot does not track it until the tag is back.".into()
        }
    }
}

/// An instant in the configured time zone, e.g. `2026-11-05 09:00 UTC`.
pub fn when(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

fn check_line(c: &Check, tz: chrono_tz::Tz) -> String {
    let mut line = format!("- {} `{}`", status_box(c.status), c.id);
    if c.status != Status::Pass {
        if let Some(w) = c.who {
            let _ = write!(line, " (//{}//)", w.as_str());
        }
    }
    // The forms to comment are the bot's own words: posted as they are, in monospace.
    // So are its own values and references in the rest ([`Check::own`]).
    let (said, forms) = c.message_parts();
    if forms.is_empty() {
        let _ = write!(line, ": {}", inert_except(said, &c.own));
    } else {
        let _ = write!(line, ": {} {forms}", inert_except(said.trim_end(), &c.own));
    }
    // The time that settles it, unless the message already says that time.
    if let (Some(u), Status::Pending) = (c.until, c.status) {
        let until = when(u, tz);
        if !said.contains(&until) {
            let _ = write!(line, " (until {until})");
        }
    }
    line
}

/// The checklist comment posted on the task.
pub fn comment(checklist: &Checklist, tz: chrono_tz::Tz, now: DateTime<Utc>) -> String {
    comment_with(checklist, None, None, tz, now)
}

/// [`comment`] with what changed since the last checklist ([`changes_line`]) under the header,
/// and a note (a paragraph of the bot's own text) before the footer.
pub(crate) fn comment_with(
    checklist: &Checklist,
    changes: Option<&str>,
    note: Option<&str>,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> String {
    comment_with_mentions(checklist, changes, None, note, tz, now)
}

/// `comment_with` with the line of live mentions ([`mentions_line`]) under what changed.
pub fn comment_with_mentions(
    checklist: &Checklist,
    changes: Option<&str>,
    mentions: Option<&str>,
    note: Option<&str>,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{CHECKLIST_HEADER} for this access request: **{}**",
        verdict_line(checklist, tz)
    );
    if let Some(changes) = changes {
        let _ = writeln!(s, "{CHANGES_PREFIX}{changes}");
    }
    if let Some(mentions) = mentions {
        let _ = writeln!(s, "{mentions}");
    }
    s.push('\n');
    for c in &checklist.checks {
        s.push_str(&check_line(c, tz));
        s.push('\n');
    }
    s.push('\n');
    if let Some(note) = note {
        s.push_str(note);
        s.push_str("\n\n");
    }
    let _ = write!(
        s,
        "{FOOTER_PREFIX}{}. accessbot posts a new checklist whenever this one changes.//",
        when(now, tz)
    );
    s
}

/// The hash of a checklist comment without its footer (the evaluation time): two comments
/// with the same hash say the same thing.
pub fn comment_hash(text: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with(FOOTER_PREFIX)
                && !l.starts_with(CHANGES_PREFIX)
                && !l.starts_with(MENTIONS_PREFIX)
        })
        .collect();
    let digest = Sha256::digest(body.join("\n").trim().as_bytes());
    digest.iter().take(16).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What changed since an earlier checklist comment of the bot (`earlier`, read back from the
/// task): "now passing: … · no longer passing: … · still needed: …", by check id; `None` when
/// no check changed between passing and not. Only the ids of `checklist` are named (nothing of
/// the earlier text is repeated), defused like all text ([`inert`]).
pub fn changes_line(earlier: &str, checklist: &Checklist) -> Option<String> {
    let before: BTreeMap<&str, bool> = earlier
        .lines()
        .filter_map(|l| {
            let (passed, rest) = if let Some(r) = l.strip_prefix("- [x] `") {
                (true, r)
            } else {
                (false, l.strip_prefix("- [ ] `")?)
            };
            Some((rest.split('`').next()?, passed))
        })
        .collect();
    let ids = |f: &dyn Fn(&Check) -> bool| -> Vec<String> {
        checklist
            .checks
            .iter()
            .filter(|c| f(c))
            .map(|c| inert(&c.id.to_string()))
            .collect()
    };
    let was = |c: &Check| before.get(c.id.to_string().as_str()).copied();
    let now_passing = ids(&|c| c.status == Status::Pass && was(c) == Some(false));
    let no_longer = ids(&|c| c.status != Status::Pass && was(c) == Some(true));
    if now_passing.is_empty() && no_longer.is_empty() {
        return None;
    }
    // Needed before and now (or new): the ones that stopped passing are named once, above.
    let still = ids(&|c| c.status != Status::Pass && was(c) != Some(true));
    let mut parts = Vec::new();
    for (label, list) in [
        ("now passing", now_passing),
        ("no longer passing", no_longer),
        ("still needed", still),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label}: {}", list.join(", ")));
        }
    }
    Some(parts.join(" · "))
}

/// What an earlier checklist comment of the bot (`earlier`, read back from the task) waited
/// for: each check that was not passing, by id, with the role it named (`(//manager//)`), or
/// `None` when it named none. Passing checks are left out.
pub fn waiting_in(earlier: &str) -> BTreeMap<String, Option<String>> {
    earlier
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("- [ ] `")?;
            let (id, after) = rest.split_once('`')?;
            let who = after
                .strip_prefix(" (//")
                .and_then(|r| r.split_once("//)"))
                .map(|(w, _)| w.to_string());
            Some((id.to_string(), who))
        })
        .collect()
}

/// Whether a username may be mentioned live: Phabricator's own username shape (letters,
/// digits, `.`, `_`, `-`; not ending with a period), so a mention is exactly one account.
pub fn is_mentionable(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !username.ends_with('.')
}

fn is_plain_check_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | ':' | '_' | '.')
        })
}

/// The line that mentions live the people whose action is needed now, each once with the
/// check ids that wait for them: `//Needed now//: @mboss (manager-approval), @aotto
/// (lead-approval:analytics-users)`. Only usernames of [`is_mentionable`] shape and plain check
/// ids are written (anything else is left out: fail closed); `None` when nobody is left.
pub fn mentions_line(people: &[(String, Vec<String>)]) -> Option<String> {
    let parts: Vec<String> = people
        .iter()
        .filter(|(u, _)| is_mentionable(u))
        .map(|(u, ids)| {
            let ids: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|i| is_plain_check_id(i))
                .collect();
            if ids.is_empty() {
                format!("@{u}")
            } else {
                format!("@{u} ({})", ids.join(", "))
            }
        })
        .collect();
    (!parts.is_empty()).then(|| format!("{MENTIONS_PREFIX}{}", parts.join(", ")))
}

/// Whether a line is one [`mentions_line`] writes: the prefix, then `@user (id, id)` items
/// separated by `, `, every username of [`is_mentionable`] shape and every id plain. The
/// structural tests allow a live mention in a checklist only on such a line.
#[cfg(test)]
fn is_mentions_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix(MENTIONS_PREFIX) else {
        return false;
    };
    let mut rest = rest;
    loop {
        let Some(r) = rest.strip_prefix('@') else {
            return false;
        };
        let end = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(r.len());
        let (user, mut after) = r.split_at(end);
        if !is_mentionable(user) {
            return false;
        }
        if let Some(a) = after.strip_prefix(" (") {
            let Some((ids, tail)) = a.split_once(')') else {
                return false;
            };
            if !ids.split(", ").all(is_plain_check_id) {
                return false;
            }
            after = tail;
        }
        if after.is_empty() {
            return true;
        }
        match after.strip_prefix(", ") {
            Some(a) => rest = a,
            None => return false,
        }
    }
}

/// Whether a comment text is one of the bot's checklists.
pub fn is_checklist(text: &str) -> bool {
    text.starts_with(CHECKLIST_HEADER)
}

/// The one comment that pings clinic duty about a stale request: no progress since `since`,
/// `business_days` whole business days ago (the count, [`crate::calendar::business_days_elapsed`],
/// not the threshold).
pub fn stale_nudge(
    clinic_duty: &str,
    since: DateTime<Utc>,
    business_days: u32,
    tz: chrono_tz::Tz,
) -> String {
    format!(
        "**accessbot**: @{} this request has shown no progress since {} ({} business day{} ago). Could clinic duty take a look?",
        clinic_duty.trim_start_matches('@'),
        when(since, tz),
        business_days,
        if business_days == 1 { "" } else { "s" }
    )
}

/// The first words of the comment that says a task can no longer be read.
pub const UNREADABLE_NOTICE: &str = "**accessbot**: this task can no longer be read";

/// The one comment posted on a task that was ready (or marked ready) and can no longer be
/// read: its last checklist must not be relied on.
pub fn unreadable_notice() -> String {
    format!(
        "{UNREADABLE_NOTICE} (an answer larger than accessbot accepts, or one it cannot decode). Its last checklist no longer holds: do not grant this access until accessbot reads the task again and posts a new checklist. Clinic duty: see `accessbot status --json`."
    )
}

/// Whether a comment text is an [`unreadable_notice`].
pub fn is_unreadable_notice(text: &str) -> bool {
    text.starts_with(UNREADABLE_NOTICE)
}

/// `check` without `--json`: the checklist for a terminal.
pub fn terminal(checklist: &Checklist, tz: chrono_tz::Tz) -> String {
    let mut s = format!("{}: {}\n", checklist.task, verdict_line(checklist, tz));
    for c in &checklist.checks {
        let who = match (c.status, c.who) {
            (Status::Pass, _) | (_, None) => String::new(),
            (_, Some(w)) => format!(" [{}]", w.as_str()),
        };
        let _ = writeln!(
            s,
            "  {:<7} {:<34}{} {}",
            status_word(c.status),
            c.id.to_string(),
            who,
            plain(&c.message)
        );
    }
    s
}

/// One piece of evidence of `explain`: its kind, its link, and what it is in words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct EvidenceLink {
    /// `comment`, `transaction`, `task`, `paste`, `signature`, `membership`.
    pub kind: &'static str,
    /// Where to see it.
    pub link: String,
    /// What it is ("comment by @mboss on 2026-11-02", "paste P12").
    pub what: String,
}

/// The link of one piece of evidence on the task `task` of the install at `base`.
pub(crate) fn evidence_link(
    e: &Evidence,
    check: &CheckId,
    task: TaskId,
    notes: &[CommentNote],
    base: &str,
    tz: chrono_tz::Tz,
) -> EvidenceLink {
    let base = base.trim_end_matches('/');
    let day = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d").to_string();
    match e {
        Evidence::Transaction { anchor, .. } => {
            let link = format!("{base}/{task}#{anchor}");
            match notes.iter().find(|n| n.anchor == *anchor) {
                Some(n) => EvidenceLink {
                    kind: "comment",
                    link,
                    what: format!("comment by @{} on {}", n.author, day(n.at)),
                },
                None => EvidenceLink {
                    kind: "transaction",
                    link,
                    what: match check {
                        CheckId::WaitingPeriod => "the tag transaction".into(),
                        _ => "the description version".into(),
                    },
                },
            }
        }
        Evidence::Task => EvidenceLink {
            kind: "task",
            link: format!("{base}/{task}"),
            what: "the task as filed".into(),
        },
        Evidence::Paste { id } => EvidenceLink {
            kind: "paste",
            link: format!("{base}/P{id}"),
            what: format!("paste P{id}"),
        },
        Evidence::Signature {
            document,
            signer,
            at,
        } => EvidenceLink {
            kind: "signature",
            link: format!("{base}/{document}"),
            what: format!("{document} signed by @{signer} on {}", day(*at)),
        },
        Evidence::Membership { user, project } => EvidenceLink {
            kind: "membership",
            link: format!(
                "{base}/tag/{}/",
                project
                    .split(" or ")
                    .next()
                    .unwrap_or_default()
                    .to_lowercase()
                    .replace(' ', "_")
            ),
            what: format!("@{user} is a member of {project}"),
        },
    }
}

/// `explain`: each check with its evidence as links (the comments, the tag transaction, the
/// description version or paste of the key, the L3 signature, the membership), then every
/// comment of the task with the checks it counts for, or why it did not count.
pub fn explain(
    checklist: &Checklist,
    notes: &[CommentNote],
    phab_url: &str,
    tz: chrono_tz::Tz,
) -> String {
    let base = phab_url.trim_end_matches('/');
    let mut s = format!("{}: {}\n", checklist.task, verdict_line(checklist, tz));
    for c in &checklist.checks {
        let _ = writeln!(s, "\n{} — {}", c.id, status_word(c.status));
        if let (Some(w), false) = (c.who, c.status == Status::Pass) {
            let _ = writeln!(s, "  who must act: {}", w.as_str());
        }
        let _ = writeln!(s, "  {}", plain(&c.message));
        if let Some(u) = c.until {
            let _ = writeln!(s, "  until: {}", when(u, tz));
        }
        for e in &c.evidence {
            let l = evidence_link(e, &c.id, checklist.task, notes, base, tz);
            let _ = writeln!(s, "  evidence: {} ({})", l.link, plain(&l.what));
        }
        if c.evidence.is_empty() {
            let _ = writeln!(s, "  evidence: none");
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(s, "\ncomments:");
    }
    for n in notes {
        let head = format!(
            "  {base}/{}#{} @{} {} ({})",
            checklist.task,
            n.anchor,
            n.author,
            n.at.with_timezone(&tz).format("%Y-%m-%d"),
            n.channel
        );
        let _ = match (&n.why_not, n.checks.is_empty()) {
            (None, _) => writeln!(s, "{head}: counts for {}", n.checks.join(", ")),
            (Some(why), true) => writeln!(s, "{head}: does not count: {}", plain(why)),
            (Some(why), false) => writeln!(
                s,
                "{head}: does not count ({}): {}",
                n.checks.join(", "),
                plain(why)
            ),
        };
    }
    s
}

/// `explain --json`: the checklist with every check's evidence as objects with links
/// (arrays, never comma strings), and `comments`: every comment with `counted`, the `checks`
/// it is evidence of and `why_not`.
pub fn explain_json(
    checklist: &Checklist,
    notes: &[CommentNote],
    phab_url: &str,
    tz: chrono_tz::Tz,
) -> serde_json::Value {
    let base = phab_url.trim_end_matches('/');
    let checks: Vec<serde_json::Value> = checklist
        .checks
        .iter()
        .map(|c| {
            let evidence: Vec<EvidenceLink> = c
                .evidence
                .iter()
                .map(|e| evidence_link(e, &c.id, checklist.task, notes, base, tz))
                .collect();
            serde_json::json!({
                "id": c.id,
                "status": c.status,
                "who": c.who,
                "message": c.message,
                "until": c.until,
                "evidence": evidence,
            })
        })
        .collect();
    let comments: Vec<serde_json::Value> = notes
        .iter()
        .map(|n| {
            let mut v = serde_json::to_value(n).unwrap_or_default();
            v["link"] = format!("{base}/{}#{}", checklist.task, n.anchor).into();
            v
        })
        .collect();
    serde_json::json!({
        "task": checklist.task.to_string(),
        "verdict": checklist.verdict,
        "until": checklist.until,
        "request": checklist.request,
        "checks": checks,
        "comments": comments,
    })
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Ready => 0,
        Verdict::Waiting => 1,
        Verdict::Blocked => 2,
        Verdict::Declined => 3,
        Verdict::Granted => 4,
        Verdict::NotARequest => 5,
        Verdict::Untagged => 6,
        Verdict::Closed => 7,
    }
}

/// Orders rows for clinic duty: ready, waiting (soonest first), blocked (oldest first),
/// declined, granted, not-a-request, untagged, then the rest (closed).
pub fn sort_for_status(rows: &mut [TaskRow]) {
    // By a small key, computed once per row: a row is large, and a comparison sort moving
    // whole rows was a tenth of `status` at 10,000 rows. Within a verdict, waiting rows by
    // when they wake (none first), the others by when they were tagged (or created).
    rows.sort_by_cached_key(|r| {
        let when = match r.verdict {
            Verdict::Waiting => r.until_at.map(|t| t.timestamp()),
            _ => Some(r.tagged_at.unwrap_or(r.created_at).timestamp()),
        };
        (verdict_rank(r.verdict), when, r.id)
    });
}

fn age_days(row: &TaskRow, now: DateTime<Utc>) -> i64 {
    let since = row.tagged_at.unwrap_or(row.created_at);
    ((now.timestamp() - since.timestamp()) / 86_400).max(0)
}

fn date_of(at: Option<DateTime<Utc>>) -> String {
    at.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// Who must act, by name.
fn who_names(who: &[crate::policy::Who]) -> Vec<String> {
    who.iter().map(|w| w.as_str().to_string()).collect()
}

/// The clinic-duty table, its columns aligned: the task (a link when `link_base`, the
/// Phabricator URL, is known), verdict, age, user, groups, sudo and what happens next.
pub fn status_table(rows: &[TaskRow], now: DateTime<Utc>, link_base: Option<&str>) -> String {
    if rows.is_empty() {
        return "No tracked requests.\n".into();
    }
    let mut table = crate::table::PlainTable::new();
    table
        .set_header(["TASK", "VERDICT", "AGE", "USER", "GROUPS", "SUDO", "NEXT"])
        .align_right(2);
    for r in rows {
        let next = match (r.verdict, &r.meeting) {
            (Verdict::Ready, _) => "grant it".to_string(),
            (Verdict::Waiting, Some(m)) if r.sudo => format!("SRE meeting {m}"),
            (Verdict::Waiting, _) => format!("until {}", date_of(r.until_at)),
            (Verdict::Blocked, _) if r.who.is_empty() => "waits for -".to_string(),
            (Verdict::Blocked, _) => format!("waits for {}", who_names(&r.who).join(", ")),
            (Verdict::Declined, _) => "declined at the SRE meeting".into(),
            (Verdict::Granted, _) => "nothing: granted (see expiring)".into(),
            (Verdict::Untagged, _) => "not tracked: tag it to check it".into(),
            (other @ (Verdict::Closed | Verdict::NotARequest), _) => other.to_string(),
        };
        let user = r
            .shell_user
            .clone()
            .unwrap_or_else(|| r.requester.to_string());
        let task = r.id;
        let groups = group_list(&r.groups).join(", ");
        table.add_row([
            match link_base {
                Some(base) => format!("{}/{task}", base.trim_end_matches('/')),
                None => task.to_string(),
            },
            r.verdict.to_string(),
            format!("{}d", age_days(r, now)),
            clip(&user, 16),
            if groups.is_empty() {
                "-".into()
            } else {
                groups
            },
            if r.sudo { "yes" } else { "" }.to_string(),
            clip(&next, 34),
        ]);
    }
    table.render()
}

/// `status --json`: the stored design §7 objects plus `tagged_at`, `age_days`,
/// `evaluated_at`, `waiting_for` (who must act, an array) and `url` when `link_base` (the
/// Phabricator URL) is known.
pub fn status_json(
    rows: &[TaskRow],
    now: DateTime<Utc>,
    link_base: Option<&str>,
) -> serde_json::Value {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let evaluated_at = r.evaluated_at.map(|t| t.timestamp());
            status_item(r, evaluated_at, &r.report_json, now, link_base)
        })
        .collect();
    serde_json::Value::Array(items)
}

/// One object of [`status_json`]: the row's stored report (`report_json`, read apart from the
/// row by `status --json`, which streams them) and its evaluation time, with the fields the
/// view adds.
pub fn status_item(
    r: &TaskRow,
    evaluated_at: Option<i64>,
    report_json: &str,
    now: DateTime<Utc>,
    link_base: Option<&str>,
) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(report_json).unwrap_or_else(|_| serde_json::json!({}));
    if !v.is_object() {
        v = serde_json::json!({});
    }
    let o = v.as_object_mut().expect("object");
    o.insert("task".into(), r.id.to_string().into());
    o.entry("verdict")
        .or_insert_with(|| r.verdict.as_str().into());
    o.insert(
        "tagged_at".into(),
        r.tagged_at.map(|d| d.to_rfc3339()).into(),
    );
    o.insert("age_days".into(), age_days(r, now).into());
    o.insert(
        "evaluated_at".into(),
        evaluated_at
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .map(|d| d.to_rfc3339())
            .into(),
    );
    o.insert("waiting_for".into(), who_names(&r.who).into());
    if let Some(base) = link_base {
        o.insert(
            "url".into(),
            format!("{}/{}", base.trim_end_matches('/'), r.id).into(),
        );
    }
    v
}

/// One line of the agenda.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgendaItem {
    /// The task, `T123`.
    pub task: String,
    /// Link to the task.
    pub url: String,
    /// The requester's username.
    pub requester: String,
    /// The shell user.
    pub shell_user: Option<String>,
    /// Requested groups.
    pub groups: Vec<String>,
    /// The sudo groups among them.
    pub sudo_groups: Vec<String>,
    /// Approvals present (check ids that pass, e.g. `manager-approval`).
    pub approvals: Vec<String>,
    /// The meeting it was first scheduled for, when it rolled over.
    pub rolled_over_from: Option<String>,
    /// A group privilege change: the change requested, as written (one line, shortened; the
    /// renderers defuse it like any requester's text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// A stale or long-waiting request, listed at the end of the agenda.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgendaStale {
    /// The task.
    pub task: String,
    /// Link.
    pub url: String,
    /// Verdict.
    pub verdict: String,
    /// Days since tagging.
    pub age_days: i64,
    /// Who must act.
    pub waiting_for: Vec<String>,
}

/// The agenda of one SRE meeting.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Agenda {
    /// The meeting date.
    pub meeting: NaiveDate,
    /// Sudo requests scheduled for it.
    pub reviews: Vec<AgendaItem>,
    /// Requests not decided at an earlier meeting.
    pub rolled_over: Vec<AgendaItem>,
    /// Group privilege changes that may grant sudo (design §11), scheduled for it or rolled
    /// over to it: their own section.
    pub privilege_changes: Vec<AgendaItem>,
    /// Stale or long-waiting requests.
    pub stale: Vec<AgendaStale>,
    /// Granted access that expires before the meeting after this one, or expired and is
    /// still in place (filled by the caller: [`agenda_expiring`]).
    pub expiring: Vec<AgendaExpiring>,
}

/// One granted request whose access expires soon, or expired and was not removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpiringItem {
    /// The task, `T123`.
    pub task: String,
    /// The shell user.
    pub shell_user: Option<String>,
    /// The groups.
    pub groups: Vec<String>,
    /// The expiry date.
    pub expiry_date: NaiveDate,
    /// The expiry contact.
    pub expiry_contact: Option<String>,
    /// Days from today (in the configured zone) to the expiry date; negative once expired.
    pub days_left: i64,
    /// When the reminder was posted (RFC 3339), if it was.
    pub reminded_at: Option<String>,
    /// `expiring`, `expired` (still in data.yaml) or `expired-unverified` (data.yaml not
    /// configured or unreadable).
    pub state: &'static str,
}

/// One line of the agenda's "Expiring" section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgendaExpiring {
    /// What `accessbot expiring --json` says of it.
    #[serde(flatten)]
    pub item: ExpiringItem,
    /// Link to the task.
    pub url: String,
}

/// The agenda's "Expiring" section: the items of [`crate::lifecycle::expiring`] with links.
pub fn agenda_expiring(items: Vec<ExpiringItem>, phab_url: &str) -> Vec<AgendaExpiring> {
    let base = phab_url.trim_end_matches('/');
    items
        .into_iter()
        .map(|item| AgendaExpiring {
            url: format!("{base}/{}", item.task),
            item,
        })
        .collect()
}

/// Builds the agenda of `meeting` from the stored tasks (their reports are not read) and the
/// approvals present on each scheduled sudo request (by task id: [`approvals_by_task`], or
/// the store's `agenda_approvals` straight from the database).
pub fn agenda(
    rows: &[TaskRow],
    approvals: &BTreeMap<i64, Vec<String>>,
    meeting: NaiveDate,
    rules: &crate::rules::Rules,
    phab_url: &str,
    now: DateTime<Utc>,
) -> Agenda {
    let base = phab_url.trim_end_matches('/');
    let mut reviews = Vec::new();
    let mut rolled_over = Vec::new();
    let mut stale = Vec::new();
    for r in rows.iter().filter(|r| r.open) {
        let task = r.id.to_string();
        let url = format!("{base}/{task}");
        if under_review(r, meeting) {
            let groups = group_list(&r.groups);
            let sudo_groups = groups
                .iter()
                .filter(|g| rules.group(g).is_some_and(|x| x.sudo))
                .cloned()
                .collect();
            let approvals = approvals
                .get(&(r.id.get() as i64))
                .cloned()
                .unwrap_or_default();
            let first = r.first_meeting;
            let item = AgendaItem {
                task: task.clone(),
                url: url.clone(),
                requester: r.requester.to_string(),
                shell_user: r.shell_user.clone(),
                groups,
                sudo_groups,
                approvals,
                rolled_over_from: first.filter(|f| *f != meeting).map(|f| f.to_string()),
                change: None,
            };
            if item.rolled_over_from.is_some() {
                rolled_over.push(item);
            } else {
                reviews.push(item);
            }
            continue;
        }
        let age = age_days(r, now);
        let is_stale = r
            .last_activity
            .is_some_and(|t| crate::policy::is_stale(t, now, &rules.timing));
        if matches!(r.verdict, Verdict::Blocked | Verdict::Waiting)
            && (is_stale || age >= i64::from(rules.meeting.stale_agenda_days))
        {
            stale.push(AgendaStale {
                task,
                url,
                verdict: r.verdict.to_string(),
                age_days: age,
                waiting_for: who_names(&r.who),
            });
        }
    }
    stale.sort_by_key(|s| std::cmp::Reverse(s.age_days));
    Agenda {
        meeting,
        reviews,
        rolled_over,
        privilege_changes: Vec::new(),
        stale,
        expiring: Vec::new(),
    }
}

/// The group privilege changes among the open, undecided requests of `rows` scheduled for
/// `meeting`, by task id, with the change each asks for (`None`: not described), read from
/// their stored reports; the store's `agenda_changes` is the same straight from the
/// database.
pub fn changes_by_task(rows: &[TaskRow], meeting: NaiveDate) -> BTreeMap<i64, Option<String>> {
    rows.iter()
        .filter(|r| r.open && under_review(r, meeting))
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.report_json).ok()?;
            let request = v.get("request")?;
            (request.get("kind").and_then(|k| k.as_str()) == Some("privilege-change")).then(|| {
                let change = request.get("change").and_then(|c| c.as_str());
                (r.id.get() as i64, change.map(str::to_string))
            })
        })
        .collect()
}

/// Moves the group privilege changes (`changes`: [`changes_by_task`] or
/// the store's `agenda_changes`) from the agenda's reviews to their own section.
pub fn file_privilege_changes(agenda: &mut Agenda, changes: &BTreeMap<i64, Option<String>>) {
    let id_of = |i: &AgendaItem| i.task.trim_start_matches('T').parse::<i64>().ok();
    for list in [&mut agenda.reviews, &mut agenda.rolled_over] {
        let (moved, kept): (Vec<AgendaItem>, Vec<AgendaItem>) = std::mem::take(list)
            .into_iter()
            .partition(|i| id_of(i).is_some_and(|id| changes.contains_key(&id)));
        *list = kept;
        for mut item in moved {
            let change = id_of(&item).and_then(|id| changes.get(&id).cloned().flatten());
            item.change = Some(one_line_change(change.as_deref()));
            agenda.privilege_changes.push(item);
        }
    }
    agenda.privilege_changes.sort_by_key(|i| id_of(i));
}

/// A requested change as the agenda shows it: one line, at most [`AGENDA_CHANGE_CHARS`]
/// characters (`"(not described)"` when there is none).
fn one_line_change(change: Option<&str>) -> String {
    let text = change
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|c| !c.is_empty());
    match text {
        Some(t) if t.chars().count() > AGENDA_CHANGE_CHARS => {
            let cut: String = t.chars().take(AGENDA_CHANGE_CHARS - 1).collect();
            format!("{cut}…")
        }
        Some(t) => t,
        None => "(not described)".into(),
    }
}

/// The longest requested change the agenda shows (the task has the rest).
const AGENDA_CHANGE_CHARS: usize = 160;

/// The approvals present on each open, undecided sudo request of `rows` scheduled for
/// `meeting`: the ids of the passing approval checks of its stored report, in report order.
pub fn approvals_by_task(rows: &[TaskRow], meeting: NaiveDate) -> BTreeMap<i64, Vec<String>> {
    rows.iter()
        .filter(|r| r.open && under_review(r, meeting))
        .map(|r| (r.id.get() as i64, approvals_of(&r.report_json)))
        .collect()
}

/// Whether a row is a sudo request for review, undecided, at `meeting`;
/// `Store::agenda_approvals` selects the same rows (open ones) in SQL.
fn under_review(r: &TaskRow, meeting: NaiveDate) -> bool {
    r.sudo && r.decision.is_none() && r.meeting == Some(meeting)
}

/// The approvals present on a stored report (`check --json`'s object): the ids of its
/// passing approval checks (`*approval`, `lead-approval:*`), in report order; none for a text
/// that is not such a report. The one place that says which checks are approvals: the store
/// keeps its result beside each report (`reports.approvals`) for the agenda.
pub fn approvals_of(report_json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(report_json).unwrap_or_default();
    v.get("checks")
        .and_then(|c| c.as_array())
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c.get("status").and_then(|s| s.as_str()) == Some("pass"))
                .filter_map(|c| c.get("id").and_then(|s| s.as_str()))
                .filter(|id| id.ends_with("approval") || id.starts_with("lead-approval:"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Agenda output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AgendaFormat {
    /// A GitHub-style markdown table.
    Markdown,
    /// A MediaWiki table.
    Wikitext,
    /// JSON.
    Json,
}

/// Renders the agenda in one of the formats.
pub fn render_agenda(a: &Agenda, format: AgendaFormat) -> String {
    match format {
        AgendaFormat::Json => format!("{}\n", serde_json::to_string_pretty(a).unwrap_or_default()),
        AgendaFormat::Markdown => render_tables(a, &Dialect::MARKDOWN),
        AgendaFormat::Wikitext => render_tables(a, &Dialect::WIKITEXT),
    }
}

/// How a table dialect writes headings (the title one level above the sections), tables and
/// links.
struct Dialect {
    title: fn(&str) -> String,
    heading: fn(&str) -> String,
    table_start: &'static str,
    header: fn(&[&str]) -> String,
    row: fn(&[String]) -> String,
    table_end: &'static str,
    link: fn(&str, &str) -> String,
    empty: &'static str,
    /// A value that may come from a request (requester, shell user, groups), escaped.
    cell: fn(&str) -> String,
}

impl Dialect {
    const MARKDOWN: Dialect = Dialect {
        title: |t| format!("# {t}\n\n"),
        heading: |t| format!("## {t}\n\n"),
        table_start: "",
        header: |h| format!("| {} |\n|{}\n", h.join(" | "), "---|".repeat(h.len())),
        row: |r| {
            format!(
                "| {} |\n",
                r.iter()
                    .map(|c| c.replace('|', "\\|"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        },
        table_end: "\n",
        link: |text, url| format!("[{text}]({url})"),
        empty: "_None._\n\n",
        cell: markdown_cell,
    };
    const WIKITEXT: Dialect = Dialect {
        title: |t| format!("== {t} ==\n"),
        heading: |t| format!("=== {t} ===\n"),
        table_start: "{| class=\"wikitable\"\n",
        header: |h| format!("! {}\n", h.join(" !! ")),
        row: |r| {
            format!(
                "|-\n| {}\n",
                r.iter()
                    .map(|c| c.replace('|', "&#124;"))
                    .collect::<Vec<_>>()
                    .join(" || ")
            )
        },
        table_end: "|}\n\n",
        link: |text, url| format!("[{url} {text}]"),
        empty: "''None.''\n\n",
        cell: wikitext_cell,
    };

    /// One section of a table agenda: its heading, then its rows in a table under `header`,
    /// or the "none" line when it has no row.
    fn section(
        &self,
        s: &mut String,
        title: &str,
        header: &[&str],
        rows: impl Iterator<Item = Vec<String>>,
    ) {
        s.push_str(&(self.heading)(title));
        let mut rows = rows.peekable();
        if rows.peek().is_none() {
            s.push_str(self.empty);
            return;
        }
        s.push_str(self.table_start);
        s.push_str(&(self.header)(header));
        for row in rows {
            s.push_str(&(self.row)(&row));
        }
        s.push_str(self.table_end);
    }
}

fn render_tables(a: &Agenda, d: &Dialect) -> String {
    let mut s = (d.title)(&format!("SRE meeting {}: access requests", a.meeting));
    let header = [
        "Task",
        "Requester",
        "Shell user",
        "Groups",
        "Sudo groups",
        "Approvals present",
    ];
    let cells = |values: &[String]| {
        values
            .iter()
            .map(|v| (d.cell)(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Names (approvals, whom a request waits for), or a dash for none.
    let listed = |names: &[String]| {
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        }
    };
    let item_row = |i: &AgendaItem| {
        vec![
            (d.link)(&i.task, &i.url),
            (d.cell)(&i.requester),
            i.shell_user
                .as_deref()
                .map_or_else(|| "-".into(), |u| (d.cell)(u)),
            cells(&i.groups),
            cells(&i.sudo_groups),
            listed(&i.approvals),
        ]
    };
    for (title, items) in [
        ("Sudo requests for review", &a.reviews),
        ("Rolled over from an earlier meeting", &a.rolled_over),
    ] {
        let rows = items.iter().map(|i| {
            let mut row = item_row(i);
            if let Some(from) = &i.rolled_over_from {
                row[0] = format!("{} (from {from})", row[0]);
            }
            row
        });
        d.section(&mut s, title, &header, rows);
    }
    let rows = a.privilege_changes.iter().map(|i| {
        let mut task = (d.link)(&i.task, &i.url);
        if let Some(from) = &i.rolled_over_from {
            task = format!("{task} (from {from})");
        }
        vec![
            task,
            (d.cell)(&i.requester),
            cells(&i.groups),
            (d.cell)(i.change.as_deref().unwrap_or_default()),
            listed(&i.approvals),
        ]
    });
    d.section(
        &mut s,
        "Group privilege changes",
        &[
            "Task",
            "Requester",
            "Group",
            "Requested change",
            "Approvals present",
        ],
        rows,
    );
    let rows = a.stale.iter().map(|st| {
        vec![
            (d.link)(&st.task, &st.url),
            st.verdict.clone(),
            st.age_days.to_string(),
            listed(&st.waiting_for),
        ]
    });
    d.section(
        &mut s,
        "Stale or long-waiting requests",
        &["Task", "Verdict", "Age (days)", "Waiting for"],
        rows,
    );
    let rows = a.expiring.iter().map(|e| {
        let i = &e.item;
        vec![
            (d.link)(&i.task, &e.url),
            i.shell_user
                .as_deref()
                .map_or_else(|| "-".into(), |u| (d.cell)(u)),
            cells(&i.groups),
            i.expiry_date.to_string(),
            i.expiry_contact
                .as_deref()
                .map_or_else(|| "-".into(), |c| (d.cell)(c)),
            i.state.to_string(),
        ]
    });
    d.section(
        &mut s,
        "Expiring",
        &[
            "Task",
            "Shell user",
            "Groups",
            "Expires",
            "Expiry contact",
            "State",
        ],
        rows,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status order as it was first written, comparing whole rows.
    fn sorted_by_comparison(rows: &mut [TaskRow]) {
        rows.sort_by(|a, b| {
            verdict_rank(a.verdict)
                .cmp(&verdict_rank(b.verdict))
                .then_with(|| match a.verdict {
                    Verdict::Waiting => a.until_at.cmp(&b.until_at),
                    _ => a
                        .tagged_at
                        .unwrap_or(a.created_at)
                        .cmp(&b.tagged_at.unwrap_or(b.created_at)),
                })
                .then(a.id.cmp(&b.id))
        });
    }

    proptest::proptest! {
        #[test]
        fn the_status_order_by_key_is_the_order_by_comparison(
            rows in proptest::collection::vec(
                (0usize..9, proptest::option::of(0i64..5), proptest::option::of(0i64..5), 0i64..5, 0u64..40),
                0..40,
            )
        ) {
            let verdicts = [
                Verdict::Ready, Verdict::Waiting, Verdict::Blocked, Verdict::Declined,
                Verdict::Granted, Verdict::Untagged, Verdict::Closed, Verdict::NotARequest,
                Verdict::Waiting,
            ];
            let at = |t: i64| DateTime::from_timestamp(t * 3600, 0).expect("in range");
            let mut rows: Vec<TaskRow> = rows
                .into_iter()
                .map(|(v, until, tagged, created, id)| TaskRow {
                    id: crate::ids::TaskId::new(id),
                    verdict: verdicts[v],
                    until_at: until.map(at),
                    tagged_at: tagged.map(at),
                    created_at: at(created),
                    ..TaskRow::default()
                })
                .collect();
            let mut by_comparison = rows.clone();
            sorted_by_comparison(&mut by_comparison);
            sort_for_status(&mut rows);
            proptest::prop_assert_eq!(rows, by_comparison);
        }
    }

    #[test]
    fn the_forms_to_comment_stay_live_and_the_rest_is_defused() {
        use crate::policy::Who;
        let lead = "no approval from @mboss (**T1**); to approve, comment ".to_string();
        let c = Check {
            id: CheckId::ManagerApproval,
            status: Status::Fail,
            who: Some(Who::Manager),
            message: format!("{lead}`Approved.`"),
            evidence: vec![],
            until: None,
            forms_from: Some(lead.len()),
            own: Vec::new(),
        };
        let line = check_line(&c, chrono_tz::UTC);
        assert!(line.ends_with("comment `Approved.`"), "{line}");
        assert!(
            !line.contains("@mboss") && !line.contains("**T1**"),
            "{line}"
        );
        // Without forms, the whole message is defused.
        let c = Check {
            forms_from: None,
            own: Vec::new(),
            ..c
        };
        assert!(!check_line(&c, chrono_tz::UTC).contains("`Approved.`"));
    }

    #[test]
    fn a_pending_line_says_its_time_once_and_the_nudge_says_the_days_that_passed() {
        let until = DateTime::parse_from_rfc3339("2026-11-05T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Check {
            id: CheckId::WaitingPeriod,
            status: Status::Pending,
            who: None,
            message: "waiting period of 3 days: ends 2026-11-05 09:00 UTC".into(),
            evidence: vec![],
            until: Some(until),
            forms_from: None,
            own: Vec::new(),
        };
        assert_eq!(
            check_line(&c, chrono_tz::UTC),
            "- [ ] `waiting-period`: waiting period of 3 days: ends 2026-11-05 09:00 UTC"
        );
        // A message that does not say the time gets it once.
        let c = Check {
            message: "on the agenda of the SRE meeting of 2026-11-05".into(),
            ..c
        };
        assert!(check_line(&c, chrono_tz::UTC).ends_with(" (until 2026-11-05 09:00 UTC)"));
        let nudge = stale_nudge("clinicduty", until, 7, chrono_tz::UTC);
        assert!(
            nudge.contains("no progress since 2026-11-05 09:00 UTC (7 business days ago)"),
            "{nudge}"
        );
        assert!(
            stale_nudge("clinicduty", until, 1, chrono_tz::UTC).contains("(1 business day ago)")
        );
    }

    #[test]
    fn terminal_views_print_no_control_character() {
        use crate::ids::TaskId;
        use crate::policy::{RequestSummary, Who};
        let checklist = Checklist {
            task: TaskId::new(5),
            verdict: Verdict::Blocked,
            until: None,
            request: RequestSummary {
                full_name: None,
                wikitech_user: None,
                shell_user: None,
                email: None,
                groups: vec![],
                sudo: false,
                key: None,
                expiry_date: None,
                expiry_contact: None,
                author: "jdoe".into(),
                subject: None,
                kind: Default::default(),
                review: None,
                change: None,
                impact: None,
            },
            checks: vec![Check {
                id: CheckId::KnownGroups,
                status: Status::Fail,
                who: Some(Who::Requester),
                message: "unknown group: x\u{1b}[2J\u{1b}]0;owned\u{7}\u{202E}y".into(),
                evidence: vec![],
                until: None,
                forms_from: None,
                own: Vec::new(),
            }],
            sudo_meeting: None,
            sudo_ready_at: None,
        };
        for out in [
            terminal(&checklist, chrono_tz::UTC),
            explain(&checklist, &[], "https://phab.example.org", chrono_tz::UTC),
        ] {
            assert!(
                !out.chars()
                    .any(|c| (c.is_control() && c != '\n') || c == '\u{202E}'),
                "{out:?}"
            );
            assert!(out.contains("unknown group: x [2J ]0;owned y"), "{out:?}");
        }
    }

    #[test]
    fn comment_hash_ignores_the_footer_only() {
        let a = "**accessbot checklist** x\n- [ ] a\n\n//Evaluated 2026-11-02 09:00 UTC. …//";
        let b = "**accessbot checklist** x\n- [ ] a\n\n//Evaluated 2026-11-03 10:00 UTC. …//";
        let c = "**accessbot checklist** x\n- [x] a\n\n//Evaluated 2026-11-03 10:00 UTC. …//";
        assert_eq!(comment_hash(a), comment_hash(b));
        assert_ne!(comment_hash(a), comment_hash(c));
    }

    #[test]
    fn the_mentions_line_names_only_username_shaped_accounts_and_reads_back() {
        let people = vec![
            ("mboss".to_string(), vec!["manager-approval".to_string()]),
            ("evil user".to_string(), vec!["l3".to_string()]),
            ("x.".to_string(), vec!["l3".to_string()]),
            ("{F1}".to_string(), vec!["l3".to_string()]),
            (
                "aotto".to_string(),
                vec!["lead-approval:a-b".to_string(), "NDA **x**".to_string()],
            ),
        ];
        let line = mentions_line(&people).unwrap();
        assert_eq!(
            line,
            "//Needed now//: @mboss (manager-approval), @aotto (lead-approval:a-b)"
        );
        assert!(is_mentions_line(&line));
        assert!(!is_mentions_line(&format!("{line} @victim")));
        assert!(!is_mentions_line("//Needed now//: @x. (l3)"));
        assert_eq!(mentions_line(&people[1..4]), None);
        // The mentions line is left out of the hash; the roles of an earlier checklist read back.
        let text = format!("{CHECKLIST_HEADER} x\n{line}\n- [ ] `l3` (//requester//): m\n- [x] `nda`: ok\n- [ ] `waiting-period`: w");
        let plain = format!("{CHECKLIST_HEADER} x\n- [ ] `l3` (//requester//): m\n- [x] `nda`: ok\n- [ ] `waiting-period`: w");
        assert_eq!(comment_hash(&text), comment_hash(&plain));
        let waiting = waiting_in(&text);
        assert_eq!(waiting.get("l3"), Some(&Some("requester".to_string())));
        assert_eq!(waiting.get("waiting-period"), Some(&None));
        assert_eq!(waiting.get("nda"), None);
    }
}
