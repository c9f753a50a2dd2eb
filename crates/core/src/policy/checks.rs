//! The checks, one method each: how every line of the checklist is decided from the facts
//! and the rules ([`super::evaluate`] runs them in checklist order).

use super::*;
use crate::approvals::{Analysed, Cutoff, RoleOutcome, ScopeFit};
use crate::calendar;
use crate::ids::{Phid, Username};
use crate::rules::{L3Source, Rules};
use crate::statement::{Capacity, Reader, Reading, Scope, SetAside, Statement};
use chrono::{DateTime, NaiveDate, Utc};

/// The bot's fixed words that its messages show in monospace, posted as they are (see
/// [`Ctx::mark_own`]): the check a message points to, the lines a request can add, the command
/// that makes a key.
const OWN_CODE: &[&str] = &[
    "`subject`",
    "`Phabricator username:`",
    "`Requested change:`",
    "`Reason:`",
    "`Impact if rejected:`",
    "`Existing group:`",
    "`ssh-keygen -t ed25519`",
    "`ssh-ed25519 AAAA… comment`",
    "`type base64 [comment]`",
];

/// What every check reads: the facts, the rules, `now`, and the comments analysed once.
pub(super) struct Ctx<'a> {
    pub(super) facts: &'a Facts,
    pub(super) rules: &'a Rules,
    pub(super) now: DateTime<Utc>,
    /// A user request or a privilege change (removals never get here).
    pub(super) kind: RequestKind,
    pub(super) comments: Analysed<'a>,
    pub(super) cutoff: Option<Cutoff>,
}

/// What the bot writes itself and a check's message may hold ([`Ctx::mark_own`]), built once
/// per evaluation.
pub(super) struct OwnPieces {
    /// Besides [`OWN_CODE`]: the allowed key types, `[l3] document`, the key's fingerprint,
    /// each one span in backticks, with no backtick inside.
    fixed: Vec<String>,
    /// `T631#`: a link to one of this task's comments starts so.
    comment_ref: String,
    /// The other requests that hold the key (`T952`).
    reuse: Vec<String>,
}

/// What [`Ctx::sudo_review`] decided.
pub(super) struct ReviewOutcome {
    /// The `sudo-review` check.
    pub(super) check: Check,
    /// The meeting whose agenda lists the review now.
    pub(super) meeting: Option<NaiveDate>,
    /// When the rest of the checklist was complete, when this evaluation schedules the review.
    pub(super) ready_at: Option<DateTime<Utc>>,
    /// The SRE meeting declined the request.
    pub(super) declined: bool,
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

    /// How a confirmation's scope fits this request: one that names nobody, or names the
    /// subject (username with or without `@`, the request's full name or its first word, its
    /// wikitech or shell user; any letter case, a trailing `'s` dropped), counts; one that
    /// names anyone or anything else ("NDA on file for Bob" on Bea's request) is doubtful,
    /// for clinic duty, never a pass.
    fn about_subject(&self, scope: &Scope) -> ScopeFit {
        use crate::ids::same_name;
        let Scope::Person(named) = scope else {
            return ScopeFit::Covers;
        };
        let named = named.trim();
        let named = named.strip_prefix('@').unwrap_or(named);
        let named = named.strip_suffix("'s").unwrap_or(named);
        let r = &self.facts.parsed.request;
        let full = r.full_name.as_deref();
        let candidates = [
            self.facts.subject.username().map(|u| u.as_str()),
            full,
            // The first name alone, when one word is named.
            full.and_then(|f| f.split_whitespace().next())
                .filter(|_| named.split_whitespace().count() == 1),
            r.wikitech_user.as_deref(),
            r.shell_user.as_ref().map(|u| u.as_str()),
        ];
        if self.facts.subject.username().is_some()
            && candidates.iter().flatten().any(|c| same_name(c, named))
        {
            return ScopeFit::Covers;
        }
        let subject = self
            .subject_mention()
            .unwrap_or_else(|| "the request's subject".into());
        ScopeFit::Partial(format!(
            "it names {}, and this request is for {subject}",
            crate::remarkup_out::inert(named)
        ))
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
    pub(super) fn subject(&self) -> Check {
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
    pub(super) fn ldap_only(&self) -> bool {
        let groups = &self.facts.parsed.request.groups;
        !groups.is_empty()
            && groups
                .iter()
                .all(|g| self.rules.group(g).is_some_and(|g| g.is_ldap()))
    }

    /// `request-complete`. An LDAP-only request (`ldap_only`) needs no key and no shell
    /// username (a shell username it does give must still be valid).
    pub(super) fn request_complete(&self, ldap_only: bool) -> Check {
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
                found.retain(|p| !p.starts_with(crate::request::MISSING_SHELL_USER));
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
            // A shell name someone else holds: granting would add its groups to that person.
            if self.facts.shell_user_taken {
                problems.push(format!(
                    "the shell username {} is already in data.yaml for someone else (neither \
                     its realname nor its email is this request's): choose another one, or, if \
                     that account is yours, give its full name or email here",
                    user.as_str()
                ));
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

    pub(super) fn one_user(&self) -> Check {
        let mut problems = self.problems(ONE_USER_FIELD);
        problems.extend(self.problems(REQUEST_FIELD));
        if self.kind == RequestKind::User
            && crate::policy::shared_account_said(self.facts, self.rules)
        {
            problems.push(
                "the request says the account would be shared, used by someone else or run by \
                 a program: a production shell account is one person's own; file one task per \
                 user (a service account is not requested here)"
                    .into(),
            );
        }
        if problems.is_empty() {
            pass(CheckId::OneUser, "one user per task".into())
        } else {
            // The problems say it already ("one task is for one user … file one task per
            // user"); the instruction is added only to one that does not.
            let mut message = problems.join("; ");
            if !message.contains("one user") && !message.contains("per user") {
                message.push_str(": file one task per user");
            }
            check(
                CheckId::OneUser,
                Status::Fail,
                Some(Who::Requester),
                message,
            )
        }
    }

    pub(super) fn known_groups(&self) -> Option<Check> {
        let groups = &self.facts.parsed.request.groups;
        if groups.is_empty() {
            return None; // reported by request-complete
        }
        let unknown: Vec<&str> = groups
            .iter()
            .filter(|g| self.rules.group(g).is_none())
            .map(String::as_str)
            .collect();
        let mut hidden = self.problems(HIDDEN_GROUPS_FIELD);
        if self.kind == RequestKind::User
            && unknown.is_empty()
            && hidden.is_empty()
            && crate::policy::sudo_asked_outside_groups(self.facts, self.rules)
        {
            hidden.push(
                "the request asks for sudo or root, but none of its groups gives it: name the sudo \
                 group you need under the groups field (a new level of sudo is reviewed at the \
                 SRE meeting), or remove the mention"
                    .into(),
            );
        }
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
    pub(super) fn add_sources(&self, c: &mut Check) {
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

    /// Registers the pieces of `c`'s message that the bot computed itself ([`Check::own`]):
    /// its fixed monospace words ([`OWN_CODE`]), the allowed key types, the key's fingerprint
    /// and `[l3] document`, in backticks; the references to this task's comments
    /// (`T631#12`) and to the requests that reuse the key (`T952`), which the bot found
    /// itself. A paste the request names (`P77`) stays defused: its number is the
    /// requester's. Only what the
    /// message holds is registered; a requester's text that is equal to one of these pieces
    /// is posted as the bot's own (the same monospace value, the same link).
    pub(super) fn own_pieces(&self) -> OwnPieces {
        let f = self.facts;
        let mut fixed: Vec<String> = Vec::with_capacity(self.rules.keys.allowed.len() + 2);
        fixed.extend(self.rules.keys.allowed.iter().map(|a| format!("`{a}`")));
        fixed.push(format!("`{}`", self.rules.l3.document));
        if let Some(fp) = f.key.report.as_ref().and_then(|r| r.fingerprint.as_ref()) {
            fixed.push(format!("`{fp}`"));
        }
        let reuse = f.key.other_requests();
        OwnPieces {
            fixed,
            comment_ref: format!("{}#", f.task),
            reuse,
        }
    }

    /// Registers in `c.own` the pieces of [`Self::own_pieces`] that its message holds.
    pub(super) fn mark_own(&self, c: &mut Check, pieces: &OwnPieces) {
        let mut found: Vec<String> = Vec::new();
        // Every fixed piece is one monospace span: look up the message's spans, each from a
        // backtick to the next.
        let ticks: Vec<usize> = c.message.match_indices('`').map(|(i, _)| i).collect();
        for w in ticks.windows(2) {
            let span = &c.message[w[0]..=w[1]];
            if OWN_CODE.contains(&span) || pieces.fixed.iter().any(|p| p == span) {
                found.push(span.to_string());
            }
        }
        // `T631#12` for each comment of this task the message links, in the comments' order
        // (the loop below registers each piece once).
        if c.message.contains(&pieces.comment_ref) {
            let linked: std::collections::HashSet<u64> = c
                .message
                .match_indices(&pieces.comment_ref)
                .filter_map(|(at, r)| {
                    let rest = &c.message[at + r.len()..];
                    let digits = rest.len()
                        - rest
                            .trim_start_matches(|ch: char| ch.is_ascii_digit())
                            .len();
                    rest[..digits].parse().ok()
                })
                .collect();
            found.extend(
                self.facts
                    .comments
                    .iter()
                    .filter(|k| linked.contains(&k.anchor))
                    .map(|k| format!("{}{}", pieces.comment_ref, k.anchor)),
            );
        }
        found.extend(
            pieces
                .reuse
                .iter()
                .filter(|p| c.message.contains(p.as_str()))
                .cloned(),
        );
        for piece in found {
            if !c.own.contains(&piece) {
                c.own.push(piece);
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
    pub(super) fn key_checks(&self, ldap_only: bool) -> Vec<Check> {
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
                let mut m = report
                    .algorithm
                    .as_ref()
                    .map_or_else(|| "key".into(), |a| format!("`{a}`"));
                if let Some(bits) = report.bits {
                    m.push_str(&format!(", {bits} bits"));
                }
                if let Some(fp) = &report.fingerprint {
                    m.push_str(&format!(", `{fp}`"));
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
            let said = crate::policy::key_reuse_said(self.facts, self.rules);
            out.push(if k.reuse.is_empty() && !said {
                pass(
                    CheckId::KeyFresh,
                    "the key is not used by anyone else".into(),
                )
            } else {
                // Each kind of place once; the other requests in one list. They are other
                // users' requests, not always earlier ones: the key may have been copied onto
                // an older task (the earlier appearance of the key wins, design §10).
                let tasks = k.other_requests();
                let mut places: Vec<String> = match tasks.as_slice() {
                    [] => Vec::new(),
                    [one] => vec![format!("another user's request ({one})")],
                    more => vec![format!("other users' requests ({})", more.join(", "))],
                };
                places.extend(k.reuse.iter().filter_map(|r| match r {
                    KeyReuse::DataYaml { user } => {
                        Some(format!("the admin data of shell user {user}"))
                    }
                    KeyReuse::KnownKeys => Some("the known Cloud VPS keys".into()),
                    KeyReuse::EarlierRequest { .. } => None,
                }));
                let message = match (places.is_empty(), said) {
                    (true, _) => "the request says this key is also used elsewhere, shared or \
                                  not new: production needs a dedicated new key, used by you \
                                  alone and nowhere else"
                        .to_string(),
                    (false, said) => format!(
                        "the key is already used elsewhere ({}{}): production needs a dedicated new key",
                        places.join(", "),
                        if said { "; the request says so too" } else { "" }
                    ),
                };
                check(
                    CheckId::KeyFresh,
                    Status::Fail,
                    Some(Who::Requester),
                    message,
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
        let outcome = self.comments.role(statement, by, None, Capacity::Any, |s| {
            self.about_subject(s)
        });
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
            notes.push(self.said_no(c, statement));
        }
        Err(notes)
    }

    pub(super) fn l3(&self) -> Check {
        let id = CheckId::L3;
        let Some(subject) = self.subject_mention() else {
            return self.without_subject(id);
        };
        let doc = format!("`{}`", self.rules.l3.document);
        if let L3::Signed { .. } = self.facts.l3 {
            return pass(id, format!("{subject} signed {doc}"));
        }
        let mut notes = Vec::new();
        if self.rules.l3.sources.contains(&L3Source::VerifierComment) {
            match self.confirmed_by(
                &id,
                Statement::L3Verified,
                &self.rules.l3.verifiers,
                &format!("{doc} verified by"),
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
                    format!("{subject} has not signed {doc} (Acknowledgement of Wikimedia Server Access Responsibilities) yet"),
                    &notes,
                ),
            ),
            L3::NotVisible => check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!("cannot see {doc} signatures: clinic duty must verify the signature"),
            ),
            L3::Unknown { reason } => check(
                id,
                Status::Pending,
                Some(Who::ClinicDuty),
                format!("the {doc} signature could not be checked ({reason}): clinic duty must verify it"),
            ),
        }
    }

    pub(super) fn nda(&self) -> Check {
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

    /// A `no` named in a message: "@mboss said no on 2026-11-03 (T123#45)", or, when the
    /// comment struck the statement through (`~~Approved.~~`, read as taking it back, never
    /// as a refusal), "@mboss struck out an approval on …".
    fn said_no(&self, c: &CommentFact, st: Statement) -> String {
        match Reader::new(self.rules).set_aside(&c.text, st) {
            Some(SetAside::Struck) => format!(
                "@{} struck out {} on {}",
                c.author,
                st.describe(),
                self.comment_ref(c)
            ),
            _ => format!("@{} said no on {}", c.author, self.comment_ref(c)),
        }
    }

    /// Notes for the comments of people whose word would count (`counts`) that speak of `st`
    /// only in a quote, code or quotation marks, which are never read as one (design §9): the
    /// person learns to write it plainly. Removed comments and comments read as anything are
    /// left out.
    fn quoted_notes(&self, st: Statement, counts: impl Fn(&CommentFact) -> bool) -> Vec<String> {
        let reader = Reader::new(self.rules);
        self.comments
            .said(st)
            .filter(|(c, r)| **r == Reading::None && counts(c))
            .filter(|(c, _)| reader.set_aside(&c.text, st) == Some(SetAside::Quoted))
            .map(|(c, _)| {
                format!(
                    "@{}'s comment of {} was not counted: {} quoted or in code is not read as one, so write it as plain text",
                    c.author,
                    self.comment_ref(c),
                    st.describe()
                )
            })
            .collect()
    }

    /// The form of a statement the bot always understands, for messages: "`Approved.`" or,
    /// for an approval with a group, "`Approved.` or `Approved for deployment.`".
    fn how_to(&self, st: Statement, group: Option<&str>) -> String {
        let example = self
            .rules
            .phrases()
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
        // How to say it, for the messages that ask for a comment (not for a pass).
        let how = || self.how_to(st, group);
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
            let mut p = with_forms(id, Status::Pending, Some(Who::ClinicDuty), message, how());
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
                        "{} by {}, but {}: clinic duty decides",
                        if st == Statement::Approve {
                            "approved"
                        } else {
                            "confirmed"
                        },
                        mentions(&outcome.approved),
                        self.said_no(c, st)
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
                how(),
            );
        }
        let mut notes = outcome.notes.clone();
        for c in &outcome.objections {
            notes.push(self.said_no(c, st));
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
        with_forms(id, Status::Fail, Some(who), lead, how())
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

    pub(super) fn manager_approval(&self) -> Check {
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
        // The person the request is (or may be) for, named as manager: the message says why
        // their approval does not count, so no note repeats it.
        let eligible = |c: &CommentFact| -> Result<(), Option<String>> {
            if let Some(why) = self.cannot_approve(c) {
                if named == Some(&c.author) && self.is_subject(&c.author) {
                    return Err(None);
                }
                return Err(Some(why));
            }
            if let Some(m) = named {
                if &c.author != m {
                    if self.is_lead_of_requested(&c.author) {
                        return Err(None);
                    }
                    return Err(Some(format!(
                        "approval by @{} does not count: the request names {} as manager",
                        c.author,
                        m.shown()
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
            // "I approve @jsmith's access": only the subject's counts.
            if let Scope::Person(_) = scope {
                return self.about_subject(scope);
            }
            if scope.covers_all(requested) {
                ScopeFit::Covers
            } else {
                ScopeFit::Partial(format!(
                    "it approves {} only, not the whole request",
                    scope.names()
                ))
            }
        };
        let mut outcome = self.comments.role(
            Statement::Approve,
            eligible,
            self.cutoff.as_ref(),
            Capacity::Manager,
            fit,
        );
        outcome
            .notes
            .extend(self.quoted_notes(Statement::Approve, |c| eligible(c).is_ok()));
        if let Some(m) = named {
            if !self.is_subject(m) && self.facts.manager_staff == Some(false) {
                return check(
                    CheckId::ManagerApproval,
                    Status::Fail,
                    Some(Who::Requester),
                    format!(
                        "the request names {} as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff",
                        m.shown()
                    ),
                );
            }
        }
        if let (Some(m), Subject::Known { .. }) = (named, &self.facts.subject) {
            if self.is_subject(m) {
                // Nobody's approval can count while the request names its own subject as
                // manager (theirs is their own, anyone else's is not the named manager's): the
                // requester must name someone, as when the named manager is not on staff.
                return check(
                    CheckId::ManagerApproval,
                    Status::Fail,
                    Some(Who::Requester),
                    with_notes(
                        format!(
                            "the request names {}, whom it is for, as manager or sponsor, who cannot approve their own request: name a manager or sponsor",
                            m.shown()
                        ),
                        &outcome.notes,
                    ),
                );
            }
        }
        let missing = match named {
            // The subject is unknown here (a known one returned above): the author may be
            // the subject.
            Some(m) if self.is_subject(m) => format!(
                "the request names its author {} as manager, whose approval counts only once it is known whom the request is for (see `subject`)",
                m.shown()
            ),
            Some(m) => format!(
                "no approval from {} (the named manager or sponsor) yet",
                m.shown()
            ),
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
            if let Scope::Person(_) = scope {
                return self.about_subject(scope);
            }
            if scope.covers(name) {
                ScopeFit::Covers
            } else {
                ScopeFit::Elsewhere(format!(
                    "an approval for {} only does not count for {name}",
                    scope.names()
                ))
            }
        };
        self.comments.role(
            Statement::Approve,
            eligible,
            self.cutoff.as_ref(),
            Capacity::Lead,
            fit,
        )
    }

    pub(super) fn lead_approvals(&self) -> Vec<Check> {
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
    pub(super) fn lead_approval(&self, name: &str, group: &crate::rules::Group) -> Check {
        let mut outcome = self.lead_role(name, group);
        outcome
            .notes
            .extend(self.quoted_notes(Statement::Approve, |c| {
                group.approvers.contains(&c.author) && self.cannot_approve(c).is_none()
            }));
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
    pub(super) fn sudo_review(
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
        // A plain decision by someone who is not a decider is said not to count, and why.
        let not_counted = |c: &CommentFact| {
            let why = if !self.rules.people.sre_deciders.contains(&c.author) {
                format!("@{} is not an SRE decider", c.author)
            } else {
                self.cannot_approve(c)
                    .unwrap_or_else(|| format!("@{} cannot decide this request", c.author))
            };
            format!(
                "the SRE meeting decision of @{} on {} does not count: {why}",
                c.author,
                self.comment_ref(c)
            )
        };
        let outcome = self.comments.role(
            Statement::SreApproved,
            |c| {
                if decider(c) {
                    Ok(())
                } else {
                    Err(Some(not_counted(c)))
                }
            },
            None,
            Capacity::Any,
            |s| self.about_subject(s),
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
            notes.extend(outcome.notes.iter().cloned());
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

    pub(super) fn waiting_period(&self) -> Check {
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

    pub(super) fn expiry(&self) -> Option<Check> {
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
                Some(false) => problems.push(format!(
                    "the expiry contact {} is not a staff member",
                    c.shown()
                )),
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
                format!(
                    "could not verify that the expiry contact {} is staff",
                    c.shown()
                ),
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
    pub(super) fn change_target(&self) -> Result<String, String> {
        change_target(self.facts, self.rules)
    }

    /// `known-groups` of a privilege change: it names exactly one known group.
    pub(super) fn change_known_group(&self, target: &Result<String, String>) -> Check {
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
    pub(super) fn change_described(&self, request: &RequestSummary) -> Check {
        let id = CheckId::ChangeDescribed;
        if !self.facts.parsed.request.change_described() {
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
    pub(super) fn change_reason(&self) -> Check {
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
    pub(super) fn data_access(&self) -> Option<Check> {
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
    pub(super) fn eligibility(&self) -> Vec<Check> {
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
    pub(super) fn executive_signoff(&self, others: &[Check]) -> Option<Check> {
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
            Capacity::Any,
            |s| self.about_subject(s),
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
    pub(super) fn complete_at<'c>(
        &self,
        checks: impl Iterator<Item = &'c Check>,
    ) -> Option<DateTime<Utc>> {
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
            f.expiry_extended_at,
            f.user_changed_at,
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
