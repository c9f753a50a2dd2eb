//! The policy engine (pure): the facts gathered about one task, the rules and `now` in; the
//! checklist of design §7 and its verdict out.
//!
//! Nothing here does I/O or reads the clock. The glue (the poller) resolves usernames,
//! memberships, channels, L3 signatures and store bookkeeping into [`Facts`]; [`evaluate`]
//! turns them into a [`Checklist`] that the report renderer prints. Whatever is unknown is
//! `pending` or `fail`, never `pass`.

use crate::approvals::{Analysed, Cutoff};
use crate::calendar;
use crate::removal::Removal;
use crate::request::Parsed;
use crate::rules::{Rules, Timing};
use crate::statement::Statement;
use chrono::{DateTime, Utc};

pub use crate::approvals::{Channel, CommentFact};
use crate::statement::Reading;

mod checklist;
mod checks;
mod facts;

pub use checklist::*;
use checks::Ctx;
pub use facts::*;

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
    if !facts.parsed.request.change_described() {
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
    let own = ctx.own_pieces();
    for c in &mut checks {
        ctx.add_sources(c);
        ctx.mark_own(c, &own);
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
/// or extension of the expiry date, or change of the user it is for, by (time, transaction
/// id): approvals before it do not count.
fn cutoff(facts: &Facts, timing: &Timing, kind: RequestKind) -> Option<Cutoff> {
    let change = (kind == RequestKind::PrivilegeChange)
        .then_some(facts.change_changed_at)
        .flatten()
        .map(|m| (m, "change edit"));
    let key = facts.key_changed_at.map(|m| (m, "key change"));
    let groups = facts.groups_changed_at.map(|m| (m, "group change"));
    let expiry = facts.expiry_extended_at.map(|m| (m, "expiry extension"));
    let user = facts.user_changed_at.map(|m| (m, "change of the user"));
    let (moment, what) = [key, groups, change, expiry, user]
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
        own: Vec::new(),
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
/// any case, as a whole word, with `-` and `_` ignored ("deploy_service"), after
/// normalisation (zero-width characters removed, dash and letter look-alikes of other scripts
/// folded) — but that are not among the requested
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
    // Keyed without separators: "deploy_service", "deployservice" and "__deploy-service__"
    // (bold markup) name deploy-service as well.
    let squash = |w: &str| -> String { w.chars().filter(|c| !matches!(c, '-' | '_')).collect() };
    let sudo: std::collections::HashMap<String, &String> = rules
        .groups
        .iter()
        .filter(|(name, g)| g.sudo && !requested.contains(name.as_str()))
        .map(|(name, _)| (squash(name), name))
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
                if let Some(name) = sudo.get(&squash(candidate)) {
                    found.insert((*name).clone());
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Whether the requester's own words say that the request's key is used elsewhere too
/// (phrases.toml `[form] key_reuse`, and not `key_fresh`): `key-fresh` fails, since production
/// needs a dedicated key and the person who uses it knows best. Read: the description (unless
/// the key was posted in a comment since), and the comments of the task's author and of the
/// subject posted since the key appeared (a newer key is another key). Own words only (no
/// quotes, code or field labels), and only a sentence about a key: one naming a key or key
/// material, the first after a key field's label, or one starting "it …" right after such a
/// sentence. Linear in the texts.
pub fn key_reuse_said(facts: &Facts, rules: &Rules) -> bool {
    let form = &rules.labels.form;
    // A key posted in a comment replaced the description's: what the description says is
    // about that older key (a paste the description names is still its key).
    let description_key = !matches!(facts.key.source, KeySource::Comment { .. });
    if description_key && says_key_reuse(&facts.description, form) {
        return true;
    }
    let since = facts.key_changed_at.map(|m| m.at);
    let subject = facts.subject.username();
    facts.comments.iter().any(|c| {
        !c.removed
            && (c.author == facts.author || Some(&c.author) == subject)
            && since.is_none_or(|t| c.at >= t)
            && says_key_reuse(&c.text, form)
    })
}

fn says_key_reuse(text: &str, form: &crate::rules::FormRules) -> bool {
    static ABOUT_A_KEY: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let about = ABOUT_A_KEY.get_or_init(|| {
        regex::RegexBuilder::new(
            r"\bkeys?\b|\bkeypair\b|ssh-(?:ed25519|rsa|dss)\b|ecdsa-sha2-|\bsk-(?:ssh|ecdsa)-|\baaaa[a-z0-9+/]{16}",
        )
        .case_insensitive(true)
        .build()
        .expect("a valid regex")
    });
    says(text, Some(about), &form.key_reuse, &form.key_fresh)
}

/// Whether a sentence of the author's own words in `text` matches `yes` and not `no`: quoted,
/// code and literal lines are skipped; a field's leading label ("SSH public key (must be a
/// dedicated key):") is the form's words, not the author's, so only what follows it is read;
/// with `about`, only a sentence about it is read (see the body). Matched on folded text
/// (lower case, look-alikes folded).
fn says(text: &str, about: Option<&regex::Regex>, yes: &regex::Regex, no: &regex::Regex) -> bool {
    use crate::remarkup::Kind;
    // Folding ASCII only lowers its case, and a sentence is part of one line: when the
    // (case-insensitive) patterns match nowhere in an ASCII text, they match in none of its
    // sentences. Most descriptions end here.
    if text.is_ascii() && !yes.is_match(text) {
        return false;
    }
    crate::remarkup::lines(text)
        .iter()
        .filter(|l| {
            !matches!(
                l.kind,
                Kind::Quote { .. } | Kind::Code | Kind::Literal | Kind::Fence
            )
        })
        .any(|l| {
            // The same holds line by line: an ASCII line the patterns miss is not folded.
            if l.text.is_ascii() && !yes.is_match(l.text) {
                return false;
            }
            let folded = crate::statement::fold(l.text);
            let (label, value) = split_label(&folded);
            let Some(about) = about else {
                let said = sentences(value).any(|s| yes.is_match(s) && !no.is_match(s));
                return said;
            };
            // A sentence is about it when it says so, or when it follows a label that does
            // ("SSH key: same as on labs"), or when it starts with a pronoun right after a
            // sentence that does ("Updated the description with my key. It's the one I use
            // for Toolforge.").
            let mut before = about.is_match(label);
            let said = sentences(value).any(|s| {
                let about_it = about.is_match(s) || (before && starts_with_pronoun(s));
                before = about_it;
                about_it && yes.is_match(s) && !no.is_match(s)
            });
            said
        })
}

/// Whether a user request asks for sudo or root in its own words (phrases.toml `[form]
/// sudo_asked`, and not `sudo_not_asked`) in its title or description ("I also need sudo on
/// the analytics hosts", "with root access") while none of its groups gives sudo: the groups
/// field must say what is requested, and a new level of sudo goes to the SRE meeting, so
/// `known-groups` fails until it does.
pub fn sudo_asked_outside_groups(facts: &Facts, rules: &Rules) -> bool {
    let form = &rules.labels.form;
    let groups = &facts.parsed.request.groups;
    if groups
        .iter()
        .any(|g| rules.group(g).is_some_and(|g| g.sudo))
    {
        return false;
    }
    title_or_description_says(facts, &form.sudo_asked, &form.sudo_not_asked)
}

/// Whether the request's title or description [`says`] `yes` and not `no` in a sentence of
/// its own words.
fn title_or_description_says(facts: &Facts, yes: &regex::Regex, no: &regex::Regex) -> bool {
    [facts.title.as_str(), facts.description.as_str()]
        .iter()
        .any(|t| says(t, None, yes, no))
}

/// Whether a user request says in its own words (phrases.toml `[form] account_shared`, and
/// not `account_personal`), in its title or description, that the account would be shared,
/// used by someone else or run by a program ("a shared account for our team", "my colleague
/// will use this account too", "used by an automated job"): `one-user` fails, since a
/// production shell account is one person's own.
pub fn shared_account_said(facts: &Facts, rules: &Rules) -> bool {
    let form = &rules.labels.form;
    title_or_description_says(facts, &form.account_shared, &form.account_personal)
}

/// Whether a sentence starts with a word that refers back ("it", "it's", "this", "that",
/// "the one", "same").
fn starts_with_pronoun(sentence: &str) -> bool {
    let first = sentence
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .next()
        .unwrap_or("");
    matches!(
        first,
        "it" | "it's" | "its" | "this" | "that" | "that's" | "the" | "same" | "which" | "one"
    )
}

/// A line's leading `label:` (at most 120 bytes, no sentence end or `=` in it; the colon
/// followed by a space or the line's end) and the rest; `("", line)` when it has none.
fn split_label(line: &str) -> (&str, &str) {
    for (i, b) in line.bytes().take(120).enumerate() {
        match b {
            b'.' | b'!' | b'?' | b';' if line.as_bytes().get(i + 1) == Some(&b' ') => break,
            // `jdoe ALL=(ALL) NOPASSWD: ALL` is a sudoers rule, not a label.
            b'=' => break,
            b':' if line
                .as_bytes()
                .get(i + 1)
                .is_none_or(|b| b.is_ascii_whitespace()) =>
            {
                return (&line[..i], &line[i + 1..]);
            }
            _ => {}
        }
    }
    ("", line)
}

/// The sentences of one line: split after `.`, `!`, `?` or `;` followed by a space (a key
/// comment like `jdoe@laptop.local` stays whole).
fn sentences(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let end = i + 1;
            if matches!(bytes[i], b'.' | b'!' | b'?' | b';')
                && bytes.get(end).is_none_or(|b| b.is_ascii_whitespace())
            {
                let s = &line[start..end];
                start = end;
                i = end;
                return Some(s);
            }
            i = end;
        }
        if start < line.len() {
            let s = &line[start..];
            start = line.len();
            return Some(s);
        }
        None
    })
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
        own: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::says_key_reuse;
    use crate::rules::Rules;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE/g4MjadqxYhe/dgplLFFhBxncUtDibsVugQ+LyWTvS jdoe@laptop";

    #[test]
    fn the_requester_saying_the_key_is_used_elsewhere_is_read_widely_and_only_then() {
        let rules = Rules::bundled().expect("bundled rules");
        let form = &rules.labels.form;
        let key_line = |note: &str| format!("**SSH public key**: {KEY} {note}");
        let reuse = [
            key_line("(same key I use for Cloud VPS)"),
            key_line("(used on labs too)"),
            key_line("- I also use it for Toolforge"),
            "This is the same key as my Cloud VPS one.".to_string(),
            "The key is the same one I use on Toolforge.".to_string(),
            "It's my usual key.".to_string(),
            "I'm reusing my Cloud VPS key here.".to_string(),
            "Key: my existing SSH key (also on GitHub)".to_string(),
            "FYI that's my GitHub key.".to_string(),
            "The key I already use to log in to Cloud VPS.".to_string(),
            "Same key as on my Toolforge account".to_string(),
            "I use this key everywhere.".to_string(),
            "Updated the description with my key. It's the one I use for Toolforge.".to_string(),
            "FYI this key is also in my ~/.ssh on the bastion for Cloud VPS.".to_string(),
            "The key I use for everything.".to_string(),
            "No, it's the same key as my Cloud VPS one.".to_string(),
            "No - same key as on Toolforge.".to_string(),
            "The key from my wikitech preferences.".to_string(),
            "**Key**: the ＳＡＭＥ key as on labs".to_string(),
            "I re-used the key I have on Gerrit.".to_string(),
            "**SSH public key (must be a dedicated key for WMF production)**: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wFCifms6x4Hgs+v9 jdoe@laptop (the same key I use for Cloud VPS)".to_string(),
            "Key: same as on labs".to_string(),
            "- SSH key: the same one as for Toolforge".to_string(),
            "Thanks! Approved by my manager below. Also: this key is used for Cloud VPS as well."
                .to_string(),
            // The key's own comment names where it is used.
            key_line("jdoe@toolforge"),
            key_line("labs-key"),
            key_line("jdoe@cloud-vps"),
            key_line("jdoe-github"),
            // Shared, old, made by someone else, or its private half sent around.
            "The key is shared with my team.".to_string(),
            "The private key is on a shared USB stick.".to_string(),
            "It's our team key.".to_string(),
            "I've had this key for years.".to_string(),
            key_line("(my existing ~/.ssh/id_ed25519.pub)"),
            "My colleague generated this key for me.".to_string(),
            "The key was generated by IT.".to_string(),
            "I emailed the private key to myself to set it up.".to_string(),
        ];
        for text in &reuse {
            assert!(
                says_key_reuse(text, form),
                "{text:?} says the key is reused"
            );
        }
        let not_reuse = [
            key_line("jdoe@laptop.local"),
            key_line("(new key, not the one I use for Cloud VPS)"),
            "**Ssh public key (must be dedicated key for wmf production)**:".to_string(),
            "A new key, separate from my labs key.".to_string(),
            "This is a dedicated key; my Cloud VPS key is different.".to_string(),
            "This key is not used anywhere else.".to_string(),
            "I have never used this key for Toolforge.".to_string(),
            "I already have a Cloud VPS account and use it for my tool.".to_string(),
            "I need the same access as the rest of my team.".to_string(),
            "I use Hive and Spark too.".to_string(),
            "Generated a new key pair for production only.".to_string(),
            "> This is the same key as my Cloud VPS one.".to_string(),
            format!("```\n{KEY} same key as labs\n```"),
            "I replaced my old key with this one.".to_string(),
            "No other service uses this key; it is not the same key as my Cloud VPS one."
                .to_string(),
            "No, not the same key as on labs.".to_string(),
            "**SSH public key (not the same key as for Cloud VPS)**:".to_string(),
            "SSH public key (must not be the same key as the one you use for Cloud VPS): see below"
                .to_string(),
            "Groups: same as on labs".to_string(),
            "The key is only used for production.".to_string(),
            "Reason: reuse of the existing dashboards for the new team.".to_string(),
            "Thanks! I updated the key. I also use Toolforge for my bot, hence the logs."
                .to_string(),
            "I have already added the key to the description.".to_string(),
            "I will also use the key to connect to stat1008 as well as the Hadoop nodes."
                .to_string(),
            "This is my existing production key (already in data.yaml).".to_string(),
            "I will use this key to log in to the stat hosts too.".to_string(),
            "I have shared my public key above.".to_string(),
            key_line("(new, generated today, not shared with anyone)"),
            "The key was generated on my work laptop.".to_string(),
            key_line("jdoe@analytics-team-laptop"),
            "My manager explained the key requirements to me.".to_string(),
            "I rotated my old key; this is the new one.".to_string(),
        ];
        for text in &not_reuse {
            assert!(
                !says_key_reuse(text, form),
                "{text:?} does not say the key is reused"
            );
        }
    }

    #[test]
    fn a_sudo_group_is_found_however_its_separators_are_written() {
        let rules = Rules::bundled().expect("bundled rules");
        let requested = ["analytics-privatedata-users".to_string()];
        let found = |t: &str| super::hidden_sudo_groups("", t, &requested, &rules);
        for text in [
            "also add me to deploy-service",
            "also add me to deploy_service",
            "also add me to deployservice",
            "also add me to __deploy-service__",
            "also add me to Deploy_Service.",
        ] {
            assert_eq!(found(text), ["deploy-service"], "{text:?}");
        }
        for text in [
            "deploy services",
            "d-e-p-l-o-y",
            "deploy-services",
            "a deploy service",
        ] {
            assert!(found(text).is_empty(), "{text:?}");
        }
        // A requested sudo group is no hidden one, however it is written elsewhere.
        let asked = ["deploy-service".to_string()];
        assert!(super::hidden_sudo_groups("", "deploy_service", &asked, &rules).is_empty());
    }

    #[test]
    fn a_request_asking_for_sudo_in_its_own_words_is_read_and_only_then() {
        let rules = Rules::bundled().expect("bundled rules");
        let form = &rules.labels.form;
        let asks = |t: &str| super::says(t, None, &form.sudo_asked, &form.sudo_not_asked);
        for text in [
            "I also need sudo on the analytics hosts.",
            "**Reason for access**: I need root to restart the services.",
            "**Requested group membership**: analytics-privatedata-users (with sudo)",
            "Requesting sudo access for jdoe",
            "Please grant me passwordless sudo.",
            "I need to run commands as root on stat1008.",
            "jdoe ALL=(ALL) NOPASSWD: ALL",
            "analytics-privatedata-users, plus root on the cache hosts",
            "I require ＳＵＤＯ rights.",
            "Needs a root shell for debugging.",
            "Could you also give me sudo?",
            "I'll need to become root occasionally.",
            "Also need the ability to sudo to root on stat hosts.",
            "I need admin rights on the stat hosts.",
            "Requesting elevated privileges on the analytics cluster.",
            "Sudo please.",
            "No, I also need sudo on the stat hosts.",
            "Thanks for looking. Sudo please.",
            "**Requested group membership**: analytics-users\n**Also**: sudo please",
            "I need to be able to run sudo commands.",
            "Please add me to sudoers.",
            "I need to be in the wheel group.",
            "I need privileged access to the stat hosts.",
            "Access to the analytics cluster with elevated privileges.",
            "Need superuser access on stat1008.",
            "I need to su to root on the stat hosts.",
        ] {
            assert!(asks(text), "{text:?} asks for sudo");
        }
        for text in [
            "**Requested group membership**: analytics-privatedata-users",
            "No sudo needed.",
            "No root access needed, thanks.",
            "I don't need sudo or root.",
            "analytics-privatedata-users (non-sudo)",
            "This is read-only access, without root.",
            "> I need sudo on the analytics hosts.",
            "```\nsudo systemctl restart foo\n```",
            "**Ssh public key (sudo groups are reviewed at the SRE meeting)**:",
            "I will query the data with Hive and Spark.",
            "The root cause was a missing group.",
            "I will help the team with root cause analysis of outages.",
            "I need root-cause data from the incident reports.",
            "I need superuser rights in Superset to manage dashboards.",
            "Requesting access to the root CA bundle docs.",
            "I need sudo -u analytics-privatedata to run the jobs.",
            "I need admin access to Superset to manage the dashboards.",
            "Elevated privileges are not needed on the hosts.",
            "I do not need elevated privileges.",
            "I need the Superset superuser role to manage dashboards.",
            "Superuser access in Superset for the dashboards.",
            "I will not be in sudoers.",
        ] {
            assert!(!asks(text), "{text:?} does not ask for sudo");
        }
    }
    #[test]
    fn a_request_saying_its_account_is_shared_is_read_and_only_then() {
        let rules = Rules::bundled().expect("bundled rules");
        let form = &rules.labels.form;
        let says_shared =
            |t: &str| super::says(t, None, &form.account_shared, &form.account_personal);
        for text in [
            "This is a shared account for our team.",
            "**Reason for access**: a team account for the analytics on-call.",
            "This is a service account for our bot.",
            "It's a bot account.",
            "My colleague @bsmith will use this account too.",
            "Other people on my team can log in with it as well.",
            "This account will be used by an automated job.",
            "The account will be shared with the interns.",
            "We share this account between the two of us.",
        ] {
            assert!(says_shared(text), "{text:?} says the account is shared");
        }
        for text in [
            "I am joining the Product Analytics team and need to query the event data.",
            "This account is not shared with anyone.",
            "No shared account: this one is mine.",
            "I will share the results with my team.",
            "My team uses Superset dashboards.",
            "I need to run jobs as the analytics service user (sudo -u analytics).",
            "> This is a shared account for our team.",
            "The data is used by the search team.",
            "I already have a Cloud VPS account.",
        ] {
            assert!(
                !says_shared(text),
                "{text:?} does not say the account is shared"
            );
        }
    }
}
