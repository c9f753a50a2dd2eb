//! Table-driven tests of the policy engine: one ready request, and one case per rule and per
//! way to get it wrong, each a small edit of the ready request's facts. Plus the timeline of
//! the recorded T1 and the JSON shape of a checklist.

use accessbot::ids::{Phid, TaskId, Username};
use accessbot::keys::KeyReport;
use accessbot::policy::{
    authored_key_trust, comment_key_trust, comment_notes, evaluate, is_stale, is_user_request,
    request_kind, Channel, Check, CheckId, Checklist, CommentFact, Facts, KeyFacts, KeyReuse,
    KeySource, RequestKind, Subject, SubjectBasis, Trust, Verdict, Who, L3,
};
use accessbot::request::{Parsed, PrivilegeChange, Problem, Request};
use accessbot::rules::Review;
use accessbot::rules::Rules;
use accessbot::timeline::{Moment, Timeline};
use accessbot::wire::{SearchPage, Transaction};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::Path;

mod common;
use common::facts::{comment, ready};

fn rules() -> Rules {
    Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).expect("bundled rules")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// The evaluation time of every case unless it sets its own.
const NOW: &str = "2026-11-10T12:00:00Z";

/// Makes `name` both the author and the subject of the request.
fn filed_by_self(f: &mut Facts, name: &str) {
    f.author = Username::new(name);
    f.author_phid = Phid::from(format!("PHID-USER-{name}"));
    f.subject = Subject::Known {
        username: Username::new(name),
        phid: Phid::from(format!("PHID-USER-{name}")),
        basis: SubjectBasis::Author,
    };
}

/// Makes the requester a volunteer with a valid expiry and an NDA.
fn volunteer(f: &mut Facts) {
    f.subject_staff = false;
    f.subject_nda = true;
    f.parsed.request.expiry_date = Some(date("2027-06-30"));
    f.parsed.request.expiry_contact = Some(Username::new("mboss"));
    f.expiry_contact_staff = Some(true);
}

/// Requests the sudo group analytics-admins (approver aotto) instead.
fn sudo(f: &mut Facts) {
    f.parsed.request.groups = vec!["analytics-admins".into()];
}

type Edit = fn(&mut Facts, &mut Rules, &mut DateTime<Utc>);

struct Case {
    name: &'static str,
    edit: Edit,
    verdict: Verdict,
    /// The check to look at, its status (`pass`/`fail`/`pending`), who, and a message part.
    check: &'static str,
    status: &'static str,
    who: Option<Who>,
    says: &'static str,
}

fn find<'a>(list: &'a Checklist, id: &str) -> Option<&'a Check> {
    list.checks.iter().find(|c| c.id.to_string() == id)
}

fn status_name(c: &Check) -> String {
    serde_json::to_value(c.status)
        .expect("status")
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a fully ready request",
            edit: |_, _, _| {},
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "self-approval does not count",
            edit: |f, _, _| {
                f.comments[0].author = Username::new("jdoe");
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "the requester cannot approve their own request",
        },
        Case {
            name: "self-approval as lead does not count",
            edit: |f, _, _| {
                filed_by_self(f, "aotto");
                f.comments[1].author = Username::new("AOtto");
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "the requester cannot approve their own request",
        },
        Case {
            name: "approval by email does not count",
            edit: |f, _, _| f.comments[0].channel = Channel::Email,
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval by @mboss came by email",
        },
        Case {
            name: "approval with an unknown channel is pending",
            edit: |f, _, _| f.comments[0].channel = Channel::Unknown,
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "channel could not be verified",
        },
        Case {
            name: "approval through Conduit counts",
            edit: |f, _, _| f.comments[0].channel = Channel::Conduit,
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "approval by a bot does not count",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments[0].author = Username::new("deploybot");
                f.comments[0].author_is_bot = true;
                f.comments[1].author_is_staff = false;
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "@deploybot is a bot account",
        },
        Case {
            name: "approval by the accessbot user does not count",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments[0].author = Username::new("AccessBot");
                f.comments[1].author_is_staff = false;
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "bot account",
        },
        Case {
            name: "approval by a disabled account does not count",
            edit: |f, _, _| f.comments[0].author_disabled = true,
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "disabled",
        },
        Case {
            name: "manager who is not staff does not count",
            edit: |f, _, _| f.comments[0].author_is_staff = false,
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "not a staff member",
        },
        Case {
            name: "a named manager who is not staff: the requester names someone who is",
            edit: |f, _, _| {
                f.comments[0].author_is_staff = false;
                f.manager_staff = Some(false);
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request names @mboss as manager or sponsor, who is not a staff member with an enabled account: only a staff member's approval counts, so name a manager or sponsor on staff",
        },
        Case {
            // Nobody can approve while the request names its own subject as manager: the
            // requester must act, not a "manager" who is the subject (verdict unchanged).
            name: "a request naming its subject as manager: the requester names someone else",
            edit: |f, _, _| f.parsed.request.manager = Some(Username::new("jdoe")),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request names @jdoe, whom it is for, as manager or sponsor, who cannot approve their own request: name a manager or sponsor (approval by @mboss does not count: the request names @jdoe as manager)",
        },
        Case {
            // "@mbоss" with a Cyrillic о reads exactly like @mboss: the message shows the
            // character that makes it another name (08-impostor-cyrillic).
            name: "a named manager with a look-alike character is shown as no account",
            edit: |f, _, _| {
                f.parsed.request.manager = Some(Username::new("mb\u{043E}ss"));
                f.manager_staff = Some(false);
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request names @mb?ss (the name holds a look-alike character: U+043E, like \"o\") as manager or sponsor, who is not a staff member with an enabled account",
        },
        Case {
            name: "an expiry contact with a look-alike character is shown as no account",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_contact = Some(Username::new("mb\u{043E}ss"));
                f.expiry_contact_staff = Some(false);
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "the expiry contact @mb?ss (the name holds a look-alike character: U+043E, like \"o\") is not a staff member",
        },
        Case {
            name: "a named manager not looked up is still asked, never passed",
            edit: |f, _, _| {
                f.comments.remove(0);
                f.manager_staff = None;
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss (the named manager or sponsor) yet",
        },
        Case {
            name: "approval by a non-approver of the group does not count",
            edit: |f, _, _| f.comments[1].author = Username::new("someone"),
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "no approval from a project lead of analytics-privatedata-users yet (approvers: @aotto)",
        },
        Case {
            name: "approval in a quote does not count",
            edit: |f, _, _| f.comments[0].text = "> Approved.\nWhy is this needed?".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss (the named manager or sponsor) yet (@mboss's comment of 2026-11-03 (T101#11) was not counted: an approval quoted or in code is not read as one, so write it as plain text)",
        },
        Case {
            name: "approval in a code block does not count",
            edit: |f, _, _| f.comments[0].text = "Type:\n```\nApproved.\n```".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss (the named manager or sponsor) yet (@mboss's comment of 2026-11-03 (T101#11) was not counted: an approval quoted or in code is not read as one, so write it as plain text)",
        },
        Case {
            name: "approval in a lang= block does not count",
            edit: |f, _, _| f.comments[0].text = "lang=text\nApproved.\n".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss (the named manager or sponsor) yet (@mboss's comment of 2026-11-03 (T101#11) was not counted: an approval quoted or in code is not read as one, so write it as plain text)",
        },
        Case {
            name: "approval inside quotation marks does not count",
            edit: |f, _, _| f.comments[0].text = "Once I say \"approved\" you may proceed".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss (the named manager or sponsor) yet (@mboss's comment of 2026-11-03 (T101#11) was not counted: an approval quoted or in code is not read as one, so write it as plain text)",
        },
        Case {
            name: "a negated approval is no approval",
            edit: |f, _, _| f.comments[0].text = "Can't approve yet: who is this?".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            name: "not approved",
            edit: |f, _, _| f.comments[0].text = "Not approved.".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            // A struck approval takes it back; it is no refusal (53-struck-approval).
            name: "a struck-out approval is said to be struck out, not a no",
            edit: |f, _, _| {
                f.comments[0].text = "~~Approved.~~ Waiting for the data steward.".into()
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "(@mboss struck out an approval on 2026-11-03 (T101#11))",
        },
        Case {
            name: "a later withdrawal cancels the approval",
            edit: |f, _, _| {
                f.comments.push(comment(
                    13,
                    "MBoss",
                    "2026-11-04T10:00:00Z",
                    "I withdraw my approval, on hold",
                ))
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "withdrawn by @MBoss on 2026-11-04",
        },
        Case {
            name: "a withdrawal by email still cancels (fail closed)",
            edit: |f, _, _| {
                let mut c = comment(13, "mboss", "2026-11-04T10:00:00Z", "revoked");
                c.channel = Channel::Email;
                f.comments.push(c)
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "withdrawn by @mboss",
        },
        Case {
            name: "approving again after a withdrawal counts",
            edit: |f, _, _| {
                f.comments
                    .push(comment(13, "mboss", "2026-11-04T10:00:00Z", "on hold"));
                f.comments
                    .push(comment(14, "mboss", "2026-11-05T10:00:00Z", "approved now"));
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "an approval edited into a withdrawal does not count",
            edit: |f, _, _| {
                f.comments[0].text = "Approved. EDIT: not approved after all".into();
                f.comments[0].at = at("2026-11-06T10:00:00Z");
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            name: "a removed approval does not count",
            edit: |f, _, _| f.comments[0].removed = true,
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            name: "an approval before the key change does not count",
            edit: |f, _, _| f.key_changed_at = Some(Moment::of(at("2026-11-04T08:00:00Z"), 15)),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval by @mboss predates the key change on 2026-11-04",
        },
        Case {
            name: "an approval before the group change does not count",
            edit: |f, _, _| f.groups_changed_at = Some(Moment::of(at("2026-11-05T08:00:00Z"), 15)),
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "approval by @aotto predates the group change on 2026-11-05",
        },
        Case {
            name: "an approval after the key change counts",
            edit: |f, _, _| f.key_changed_at = Some(Moment::of(at("2026-11-03T09:00:00Z"), 9)),
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        // Issue 14, item 3: events are ordered by (time, transaction id), never time alone.
        Case {
            name: "an approval in the same second as the key change, but before it, is stale",
            edit: |f, _, _| f.key_changed_at = Some(Moment::of(at("2026-11-03T10:00:00Z"), 12)),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval by @mboss predates the key change on 2026-11-03",
        },
        Case {
            name: "an approval in the same second as the key change, after it, counts",
            edit: |f, _, _| f.key_changed_at = Some(Moment::of(at("2026-11-03T10:00:00Z"), 10)),
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "a paste changed in the same second as an approval makes it stale",
            edit: |f, _, _| f.key_changed_at = Some(Moment::untracked(at("2026-11-03T10:00:00Z"))),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval by @mboss predates the key change on 2026-11-03",
        },
        Case {
            name: "a group change in the same second, after the lead's approval, makes it stale",
            edit: |f, _, _| f.groups_changed_at = Some(Moment::of(at("2026-11-03T11:00:00Z"), 13)),
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "approval by @aotto predates the group change on 2026-11-03",
        },
        Case {
            name: "an impostor with a similar username does not count",
            edit: |f, _, _| f.comments[0].author = Username::new("mboss2"),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval by @mboss2 does not count: the request names @mboss as manager",
        },
        Case {
            name: "a username differing only in case is the same user",
            edit: |f, _, _| f.comments[0].author = Username::new("MBoss"),
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @MBoss",
        },
        Case {
            name: "an impostor of a project lead does not count",
            edit: |f, _, _| f.comments[1].author = Username::new("aotto-x"),
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "no approval from a project lead",
        },
        // Design §10 (issue 14, item 2): this case was "ready" before; a lead's one comment no
        // longer stands in for the manager unless the request names the lead as manager.
        Case {
            name: "with no manager named, the only lead's comment does not also make the manager",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments.remove(0);
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "@aotto approved as the project lead of analytics-privatedata-users: with no manager named, the manager's or sponsor's approval must come from someone else",
        },
        Case {
            name: "with no manager named, the lead's comment still counts for the lead",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments.remove(0);
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "pass",
            who: None,
            says: "approved by @aotto",
        },
        Case {
            name: "one comment satisfies both roles when the request names its author as manager",
            edit: |f, _, _| {
                f.parsed.request.manager = Some(Username::new("aotto"));
                f.comments.remove(0);
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @aotto",
        },
        Case {
            name: "with no manager named, two leads fill the two roles",
            edit: |f, r, _| {
                f.parsed.request.manager = None;
                f.comments.remove(0);
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .expect("group")
                    .approvers
                    .push(Username::new("bsmith"));
                f.comments
                    .push(comment(13, "bsmith", "2026-11-03T12:00:00Z", "Approved."));
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @aotto, @bsmith",
        },
        Case {
            name: "with no manager named, each group's only lead is no manager",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.parsed.request.groups.push("deployment".into());
                f.comments.remove(0);
                f.comments
                    .push(comment(13, "rel-lead", "2026-11-03T12:00:00Z", "Approved."));
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "@rel-lead approved as the project lead of deployment",
        },
        Case {
            name: "with no manager named, a lead of a group another lead approved may manage",
            edit: |f, r, _| {
                f.parsed.request.manager = None;
                f.parsed.request.groups.push("deployment".into());
                f.comments.remove(0);
                r.groups
                    .get_mut("deployment")
                    .expect("group")
                    .approvers
                    .push(Username::new("bsmith"));
                f.comments
                    .push(comment(13, "rel-lead", "2026-11-03T12:00:00Z", "Approved."));
                f.comments
                    .push(comment(14, "bsmith", "2026-11-03T13:00:00Z", "Approved."));
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @rel-lead, @bsmith",
        },
        Case {
            name: "L3 not visible to the bot",
            edit: |f, _, _| f.l3 = L3::NotVisible,
            verdict: Verdict::Blocked,
            check: "l3",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "cannot see `L3` signatures",
        },
        Case {
            name: "L3 not signed",
            edit: |f, _, _| f.l3 = L3::NotSigned,
            verdict: Verdict::Blocked,
            check: "l3",
            status: "fail",
            who: Some(Who::Requester),
            says: "has not signed `L3`",
        },
        Case {
            name: "L3 verified by a verifier comment",
            edit: |f, r, _| {
                f.l3 = L3::NotVisible;
                r.l3.sources.push(accessbot::rules::L3Source::VerifierComment);
                f.comments
                    .push(comment(13, "sre-kim", "2026-11-04T10:00:00Z", "L3 verified"));
            },
            verdict: Verdict::Ready,
            check: "l3",
            status: "pass",
            who: None,
            says: "`L3` verified by @sre-kim",
        },
        Case {
            name: "NDA confirmed by a legal user's comment",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "NDA is on file for Jane.",
                ));
            },
            verdict: Verdict::Ready,
            check: "nda",
            status: "pass",
            who: None,
            says: "NDA confirmed by @legalteam",
        },
        Case {
            name: "an NDA claimed in prose by the requester does not count",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "jdoe",
                    "2026-11-04T10:00:00Z",
                    "My NDA is on file, signed last year.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "fail",
            who: Some(Who::Legal),
            says: "no NDA on file",
        },
        Case {
            name: "an NDA confirmation by email does not count",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                let mut c = comment(13, "legalteam", "2026-11-04T10:00:00Z", "NDA confirmed");
                c.channel = Channel::Email;
                f.comments.push(c);
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "fail",
            who: Some(Who::Legal),
            says: "no NDA on file",
        },
        Case {
            name: "expiry missing for a volunteer",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_date = None;
                f.parsed.request.expiry_contact = None;
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "no valid expiry date (YYYY-MM-DD); no expiry contact",
        },
        Case {
            name: "expiry date in the past",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_date = Some(date("2026-11-10"));
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "the expiry date 2026-11-10 is not in the future",
        },
        Case {
            name: "expiry contact who is not staff",
            edit: |f, _, _| {
                volunteer(f);
                f.expiry_contact_staff = Some(false);
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "the expiry contact @mboss is not a staff member",
        },
        Case {
            name: "a volunteer with a valid expiry",
            edit: |f, _, _| volunteer(f),
            verdict: Verdict::Ready,
            check: "expiry",
            status: "pass",
            who: None,
            says: "expires on 2027-06-30; expiry contact @mboss",
        },
        Case {
            name: "unknown group",
            edit: |f, _, _| f.parsed.request.groups.push("made-up-group".into()),
            verdict: Verdict::Blocked,
            check: "known-groups",
            status: "fail",
            who: Some(Who::Requester),
            says: "unknown group: made-up-group",
        },
        Case {
            name: "missing fields",
            edit: |f, _, _| {
                f.parsed.request.email = None;
                f.parsed.request.reason = None;
            },
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "missing: email address, reason for access",
        },
        Case {
            name: "two users on one task",
            edit: |f, _, _| {
                f.parsed.problems.push(Problem {
                    field: "request".into(),
                    message: "two different shell usernames are given".into(),
                    span: 0..0,
                })
            },
            verdict: Verdict::Blocked,
            check: "one-user",
            status: "fail",
            who: Some(Who::Requester),
            says: "two different shell usernames are given",
        },
        Case {
            name: "the parser's words about a field replace 'missing', without quoting",
            edit: |f, _, _| {
                f.parsed.request.email = None;
                f.parsed.problems.push(Problem {
                    field: "email".into(),
                    message: "the email address \"@everyone {F1}\" is not an address".into(),
                    span: 0..0,
                })
            },
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "the email address … is not an address",
        },
        Case {
            name: "an unreadable manager lets nobody else stand in",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.parsed.problems.push(Problem {
                    field: "manager".into(),
                    message: "the manager is not a username".into(),
                    span: 0..0,
                })
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Requester),
            says: "the manager or sponsor could not be read: the manager is not a username",
        },
        Case {
            name: "two different keys in the description",
            edit: |f, _, _| {
                f.parsed.problems.push(Problem {
                    field: "ssh_key".into(),
                    message: "2 different SSH keys were posted".into(),
                    span: 0..0,
                })
            },
            verdict: Verdict::Blocked,
            check: "ssh-key",
            status: "fail",
            who: Some(Who::Requester),
            says: "2 different SSH keys were posted",
        },
        Case {
            name: "an unreadable expiry date is reported without quoting it",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_date = None;
                f.parsed.problems.push(Problem {
                    field: "expiry_date".into(),
                    message: "the expiry date \"soon\" is not a date written YYYY-MM-DD".into(),
                    span: 0..0,
                })
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "the expiry date … is not a date written YYYY-MM-DD",
        },
        Case {
            name: "no key for a new user",
            edit: |f, _, _| {
                f.parsed.request.key = None;
                f.key = KeyFacts::default();
            },
            verdict: Verdict::Blocked,
            check: "ssh-key",
            status: "fail",
            who: Some(Who::Requester),
            says: "no SSH public key",
        },
        Case {
            name: "a key given by reference is for clinic duty to verify",
            edit: |f, _, _| {
                f.key.source = KeySource::Pointer;
                f.key.report = None;
            },
            verdict: Verdict::Blocked,
            check: "ssh-key",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "to be verified by clinic duty",
        },
        Case {
            name: "a private key is compromised",
            edit: |f, _, _| {
                f.key.report = Some(KeyReport {
                    private_key: true,
                    problems: vec!["a private key was posted".into()],
                    ..KeyReport::default()
                })
            },
            verdict: Verdict::Blocked,
            check: "ssh-key",
            status: "fail",
            who: Some(Who::Requester),
            says: "compromised",
        },
        Case {
            name: "a refused key",
            edit: |f, _, _| {
                let r = f.key.report.as_mut().expect("report");
                r.ok = false;
                r.problems = vec!["ssh-rsa keys need at least 4096 bits (this one has 2048)".into()];
            },
            verdict: Verdict::Blocked,
            check: "ssh-key",
            status: "fail",
            who: Some(Who::Requester),
            says: "at least 4096 bits",
        },
        Case {
            name: "a key used by another user before",
            edit: |f, _, _| {
                f.key.reuse = vec![
                    KeyReuse::EarlierRequest { task: TaskId::new(7) },
                    KeyReuse::DataYaml {
                        user: "someone".into(),
                    },
                ]
            },
            verdict: Verdict::Blocked,
            check: "key-fresh",
            status: "fail",
            who: Some(Who::Requester),
            says: "(another user's request (T7), the admin data of shell user someone)",
        },
        Case {
            // The other request may be newer than this one (the key was copied onto an older
            // task): "another", never "earlier"; several are listed once.
            name: "a key on two other users' requests names them in one list",
            edit: |f, _, _| {
                f.key.reuse = vec![
                    KeyReuse::EarlierRequest { task: TaskId::new(7) },
                    KeyReuse::EarlierRequest {
                        task: TaskId::new(9),
                    },
                ]
            },
            verdict: Verdict::Blocked,
            check: "key-fresh",
            status: "fail",
            who: Some(Who::Requester),
            says: "the key is already used elsewhere (other users' requests (T7, T9)): production needs a dedicated new key",
        },
        Case {
            // Design: a fresh key used nowhere else. The requester knows best.
            name: "the description says the key is also used elsewhere",
            edit: |f, _, _| {
                f.description = "**SSH public key**: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA jdoe@laptop (the same key I use for Cloud VPS)\n".into();
            },
            verdict: Verdict::Blocked,
            check: "key-fresh",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request says this key is also used elsewhere, shared or not new: production needs a dedicated new key, used by you alone and nowhere else",
        },
        Case {
            name: "the requester's comment says the key is used elsewhere",
            edit: |f, _, _| {
                f.comments.push(comment(13, "jdoe", "2026-11-04T10:00:00Z", "FYI, this is my Toolforge key."));
            },
            verdict: Verdict::Blocked,
            check: "key-fresh",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request says this key is also used elsewhere",
        },
        Case {
            // Said of the key posted before the current one: another key.
            name: "a reuse said before the key changed is about the old key",
            edit: |f, _, _| {
                f.comments.push(comment(13, "jdoe", "2026-11-01T10:00:00Z", "FYI, this is my Toolforge key."));
                f.key_changed_at = Some(Moment::of(at("2026-11-02T08:00:00Z"), 14));
            },
            verdict: Verdict::Ready,
            check: "key-fresh",
            status: "pass",
            who: None,
            says: "not used by anyone else",
        },
        Case {
            // The subject replaced the description's key in a comment: what the description
            // says is about the old key.
            name: "a reuse said in the description is about the key a comment replaced",
            edit: |f, _, _| {
                f.description = "**SSH public key**: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA jdoe@laptop (the same key I use for Cloud VPS)\n".into();
                f.key.source = KeySource::Comment {
                    xact: Phid::from("PHID-XACT-TASK-k"),
                    anchor: 10,
                };
            },
            verdict: Verdict::Ready,
            check: "key-fresh",
            status: "pass",
            who: None,
            says: "not used by anyone else",
        },
        Case {
            // Someone else's question is not the requester's word.
            name: "someone else asking whether the key is reused changes nothing",
            edit: |f, _, _| {
                f.comments.push(comment(13, "clinic", "2026-11-04T10:00:00Z", "Is this the same key you use on Toolforge?"));
            },
            verdict: Verdict::Ready,
            check: "key-fresh",
            status: "pass",
            who: None,
            says: "not used by anyone else",
        },
        Case {
            name: "a description that says the key is new and not the Cloud VPS one",
            edit: |f, _, _| {
                f.description = "**SSH public key**: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA jdoe@laptop (a new key, not the one I use for Cloud VPS)\n".into();
            },
            verdict: Verdict::Ready,
            check: "key-fresh",
            status: "pass",
            who: None,
            says: "not used by anyone else",
        },
        Case {
            name: "a key posted by someone else",
            edit: |f, _, _| {
                f.key.source = KeySource::Comment {
                    xact: Phid::from("PHID-XACT-TASK-k"),
                    anchor: 20,
                };
                f.key.trust = Trust::NotTrusted {
                    reason: "the key was posted by someone other than the requester".into(),
                };
            },
            verdict: Verdict::Blocked,
            check: "key-channel",
            status: "fail",
            who: Some(Who::Requester),
            says: "posted by someone other than the requester",
        },
        Case {
            name: "a key whose channel is unknown",
            edit: |f, _, _| {
                f.key.trust = Trust::Unverified {
                    reason: "the comment's channel could not be verified".into(),
                };
            },
            verdict: Verdict::Blocked,
            check: "key-channel",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not be verified",
        },
        Case {
            name: "an existing user needs no new key",
            edit: |f, _, _| {
                f.parsed.request.key = None;
                f.key = KeyFacts::default();
                f.existing_user = true;
            },
            verdict: Verdict::Ready,
            check: "request-complete",
            status: "pass",
            who: None,
            says: "all fields are present",
        },
        Case {
            name: "sudo request gets scheduled for the next meeting",
            edit: |f, _, _| sudo(f),
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-16",
        },
        Case {
            // The groups field must say what is requested: sudo asked in prose, with no sudo
            // group, would be granted without a review (and without the sudo).
            name: "a request that asks for sudo in its words but names no sudo group",
            edit: |f, _, _| {
                f.description = "**Requested group membership**: analytics-privatedata-users\n**Reason for access**: I also need sudo on the stat hosts to restart my jobs.\n".into();
            },
            verdict: Verdict::Blocked,
            check: "known-groups",
            status: "fail",
            who: Some(Who::Requester),
            says: "the request asks for sudo or root, but none of its groups gives it",
        },
        Case {
            name: "a title that asks for root access with a non-sudo group",
            edit: |f, _, _| f.title = "Requesting root access to the stat hosts for jdoe".into(),
            verdict: Verdict::Blocked,
            check: "known-groups",
            status: "fail",
            who: Some(Who::Requester),
            says: "asks for sudo or root",
        },
        Case {
            name: "a request that says it needs no sudo",
            edit: |f, _, _| {
                f.description = "**Reason for access**: read-only queries, no sudo needed.\n".into();
            },
            verdict: Verdict::Ready,
            check: "known-groups",
            status: "pass",
            who: None,
            says: "groups: analytics-privatedata-users",
        },
        Case {
            // A sudo group is requested: the SRE meeting reviews it; the words add nothing.
            name: "a request for a sudo group that also says it needs sudo",
            edit: |f, _, _| {
                sudo(f);
                f.description = "**Reason for access**: I need sudo to restart the jobs.\n".into();
            },
            verdict: Verdict::Waiting,
            check: "known-groups",
            status: "pass",
            who: None,
            says: "groups: analytics-admins",
        },
        Case {
            name: "sudo request ready within the cutoff goes to the meeting after",
            edit: |f, _, now| {
                sudo(f);
                // The lead's approval, the last fact, comes after the 11-16 meeting's cutoff.
                f.comments[1].at = at("2026-11-15T15:30:00Z");
                *now = at("2026-11-15T16:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-30",
        },
        Case {
            // Issue 19 item 5: complete on 11-03, first seen after the 11-16 cutoff: that
            // meeting, not two weeks late (it was scheduled from the evaluation time before).
            name: "sudo request complete before the cutoff but first seen after it keeps that meeting",
            edit: |f, _, now| {
                sudo(f);
                *now = at("2026-11-15T16:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-16",
        },
        Case {
            // Control: a stored evaluation that found it incomplete after the cutoff dates
            // what carries no date of its own (a project membership).
            name: "sudo request found incomplete after the cutoff goes to the meeting after",
            edit: |f, _, now| {
                sudo(f);
                f.sudo.incomplete_at = Some(at("2026-11-15T15:45:00Z"));
                *now = at("2026-11-15T16:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-30",
        },
        Case {
            name: "sudo request not scheduled while something else fails",
            edit: |f, _, _| {
                sudo(f);
                f.l3 = L3::NotSigned;
            },
            verdict: Verdict::Blocked,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "to be scheduled once everything else passes",
        },
        Case {
            name: "sudo request approved at the meeting",
            edit: |f, _, _| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: approved",
                ));
            },
            verdict: Verdict::Ready,
            check: "sudo-review",
            status: "pass",
            who: None,
            says: "approved at the SRE meeting (@sre-kim)",
        },
        Case {
            name: "an SRE meeting decision is no manager approval",
            edit: |f, _, _| {
                sudo(f);
                f.parsed.request.manager = None;
                f.comments.remove(0);
                f.comments[0].author_is_staff = false;
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: approved",
                ));
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from the manager or sponsor yet",
        },
        Case {
            name: "sudo decision by someone who is not a decider does not count",
            edit: |f, _, now| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "jdoe",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: approved",
                ));
                *now = at("2026-11-16T17:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            // Said, with why, as an early decision is (35-sre-decision-by-non-decider).
            says: "waiting for the decision (the SRE meeting decision of @jdoe on 2026-11-16 (T101#13) does not count: @jdoe is not an SRE decider)",
        },
        Case {
            name: "sudo request declined at the meeting",
            edit: |f, _, _| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: declined, use the non-sudo group",
                ));
            },
            verdict: Verdict::Declined,
            check: "sudo-review",
            status: "fail",
            who: None,
            says: "declined at the SRE meeting (@sre-kim)",
        },
        Case {
            name: "a decline is final even if approved later",
            edit: |f, _, _| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: declined",
                ));
                f.comments.push(comment(
                    14,
                    "sre-kim",
                    "2026-11-17T16:00:00Z",
                    "SRE meeting: approved",
                ));
            },
            verdict: Verdict::Declined,
            check: "sudo-review",
            status: "fail",
            who: None,
            says: "declined at the SRE meeting",
        },
        Case {
            name: "sudo request not decided rolls over",
            edit: |f, _, now| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                *now = at("2026-11-18T09:00:00Z");
            },
            verdict: Verdict::Blocked,
            check: "sudo-review",
            status: "pending",
            who: Some(Who::Sre),
            says: "not decided at the SRE meeting of 2026-11-16: rolled over to 2026-11-30",
        },
        Case {
            name: "waiting period in calendar days",
            edit: |f, _, now| {
                f.tagged_at = Some(at("2026-11-06T10:00:00Z"));
                *now = at("2026-11-09T09:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "waiting-period",
            status: "pending",
            who: None,
            says: "waiting period of 3 days: ends 2026-11-09 10:00 UTC",
        },
        Case {
            name: "waiting period over",
            edit: |f, _, now| {
                f.tagged_at = Some(at("2026-11-06T10:00:00Z"));
                *now = at("2026-11-09T10:00:00Z");
            },
            verdict: Verdict::Ready,
            check: "waiting-period",
            status: "pass",
            who: None,
            says: "ended on 2026-11-09 10:00 UTC",
        },
        Case {
            name: "waiting period in business days",
            edit: |f, r, now| {
                r.timing.waiting_period_business_days = true;
                f.tagged_at = Some(at("2026-11-06T10:00:00Z"));
                *now = at("2026-11-10T12:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "waiting-period",
            status: "pending",
            who: None,
            says: "waiting period of 3 business days: ends 2026-11-11 10:00 UTC",
        },
        Case {
            name: "a reserved shell username fails request-complete",
            edit: |f, _, _| f.parsed.request.shell_user = Some("root".parse().expect("valid")),
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "the shell username root is reserved for a system account: choose another name",
        },
        Case {
            name: "a name under a reserved prefix fails request-complete",
            edit: |f, _, _| {
                f.parsed.request.shell_user = Some("systemd-jdoe".parse().expect("valid"))
            },
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "systemd-jdoe is reserved for a system account (like every name systemd-*)",
        },
        Case {
            name: "a name under a reserved suffix fails request-complete",
            edit: |f, _, _| f.parsed.request.shell_user = Some("jdoe-admin".parse().expect("valid")),
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "(like every name *-admin)",
        },
        Case {
            name: "a reserved name that data.yaml already has is the existing account",
            edit: |f, _, _| {
                f.parsed.request.shell_user = Some("backup".parse().expect("valid"));
                f.existing_user = true;
            },
            verdict: Verdict::Ready,
            check: "request-complete",
            status: "pass",
            who: None,
            says: "all fields are present",
        },
        Case {
            name: "a shell name data.yaml holds for someone else is refused",
            edit: |f, _, _| {
                f.parsed.request.shell_user = Some("aotto".parse().expect("valid"));
                f.shell_user_taken = true;
            },
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "the shell username aotto is already in data.yaml for someone else",
        },
        Case {
            name: "a reserved name data.yaml holds for someone else is refused twice over",
            edit: |f, _, _| {
                f.parsed.request.shell_user = Some("backup".parse().expect("valid"));
                f.shell_user_taken = true;
            },
            verdict: Verdict::Blocked,
            check: "request-complete",
            status: "fail",
            who: Some(Who::Requester),
            says: "reserved",
        },
        Case {
            name: "the reserved list comes from the rules",
            edit: |f, r, _| {
                f.parsed.request.shell_user = Some("root".parse().expect("valid"));
                r.keys.reserved_shell_users = vec!["nobody".into()];
            },
            verdict: Verdict::Ready,
            check: "request-complete",
            status: "pass",
            who: None,
            says: "all fields are present",
        },
        Case {
            name: "a name near a reserved one is not reserved",
            edit: |f, _, _| f.parsed.request.shell_user = Some("rooted".parse().expect("valid")),
            verdict: Verdict::Ready,
            check: "request-complete",
            status: "pass",
            who: None,
            says: "all fields are present",
        },
        Case {
            name: "unknown tag time",
            edit: |f, _, _| f.tagged_at = None,
            verdict: Verdict::Blocked,
            check: "waiting-period",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "tagged is unknown",
        },
        // Design §10: the subject.
        Case {
            name: "a request filed by its subject says so",
            edit: |_, _, _| {},
            verdict: Verdict::Ready,
            check: "subject",
            status: "pass",
            who: None,
            says: "filed by the subject @jdoe",
        },
        Case {
            name: "a request a manager filed for someone else names both",
            edit: |f, _, _| filed_for(f, "cwong", SubjectBasis::Named),
            verdict: Verdict::Ready,
            check: "subject",
            status: "pass",
            who: None,
            says: "for @cwong (named in the request), filed by @asmith",
        },
        Case {
            name: "a staff manager filing for a volunteer does not lend them an NDA",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Directory);
                volunteer(f);
                f.subject_nda = false;
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "fail",
            who: Some(Who::Legal),
            says: "no NDA on file: @cwong is neither staff",
        },
        Case {
            name: "L3 is the subject's signature",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Directory);
                f.l3 = L3::NotSigned;
            },
            verdict: Verdict::Blocked,
            check: "l3",
            status: "fail",
            who: Some(Who::Requester),
            says: "@cwong has not signed `L3`",
        },
        Case {
            name: "a volunteer subject needs an expiry even when a staff member filed",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Directory);
                f.subject_staff = false;
                f.subject_nda = true;
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "no valid expiry date",
        },
        Case {
            name: "an unknown subject is pending for clinic duty",
            edit: |f, _, _| unknown_subject(f),
            verdict: Verdict::Blocked,
            check: "subject",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not tell which Phabricator account this request is for (no match)",
        },
        Case {
            name: "an unknown subject leaves L3 pending even if the author signed",
            edit: |f, _, _| unknown_subject(f),
            verdict: Verdict::Blocked,
            check: "l3",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "until it is known whom this request is for",
        },
        Case {
            name: "an unknown subject leaves the NDA pending even if the author is staff",
            edit: |f, _, _| unknown_subject(f),
            verdict: Verdict::Blocked,
            check: "nda",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "until it is known whom this request is for",
        },
        Case {
            name: "an unknown subject leaves the expiry pending even if the author is staff",
            edit: |f, _, _| unknown_subject(f),
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "until it is known whom this request is for",
        },
        Case {
            name: "an unknown subject leaves the key's channel pending",
            edit: |f, _, _| unknown_subject(f),
            verdict: Verdict::Blocked,
            check: "key-channel",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "until it is known whom this request is for",
        },
        Case {
            name: "while the subject is unknown the author's approval cannot count",
            edit: |f, _, _| {
                unknown_subject(f);
                f.comments[0].author = Username::new("jdoe");
                f.parsed.request.manager = None;
                f.comments[1].author_is_staff = false;
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "@jdoe's approval cannot count while it is unknown whom the request is for",
        },
        Case {
            name: "a refused subject fails for the requester",
            edit: |f, _, _| {
                f.subject = Subject::Refused {
                    reason: "the request names @ghost as its Phabricator account, but there is no such account".into(),
                };
            },
            verdict: Verdict::Blocked,
            check: "subject",
            status: "fail",
            who: Some(Who::Requester),
            says: "no such account",
        },
        Case {
            name: "an unreadable Phabricator username field fails the subject",
            edit: |f, _, _| {
                f.parsed.problems.push(Problem {
                    field: "phabricator_user".into(),
                    message: "two Phabricator accounts are named (@a and @b): one task is for one user".into(),
                    span: 0..0,
                });
            },
            verdict: Verdict::Blocked,
            check: "subject",
            status: "fail",
            who: Some(Who::Requester),
            says: "could not be read: two Phabricator accounts are named",
        },
        Case {
            name: "the subject approving as manager does not count",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Named);
                f.parsed.request.manager = None;
                f.comments[0].author = Username::new("cwong");
                f.comments[1].author_is_staff = false;
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "@cwong, whom the request is for, cannot approve it",
        },
        Case {
            name: "the subject named as manager never counts",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Named);
                f.parsed.request.manager = Some(Username::new("cwong"));
                f.comments[0].author = Username::new("cwong");
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            // The requester must name someone else: the subject cannot approve (and the
            // note that says so again is left out).
            who: Some(Who::Requester),
            says: "the request names @cwong, whom it is for, as manager or sponsor, who cannot approve their own request: name a manager or sponsor",
        },
        Case {
            name: "the author approving as the named manager counts",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Directory);
                f.author = Username::new("mboss");
                f.author_phid = Phid::from("PHID-USER-mboss");
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "a key the filing manager wrote is not the subject's",
            edit: |f, _, _| {
                filed_for(f, "cwong", SubjectBasis::Named);
                f.key.trust = authored_key_trust(&KeySource::Description, false);
            },
            verdict: Verdict::Blocked,
            check: "key-channel",
            status: "fail",
            who: Some(Who::Requester),
            says: "written by someone other than the person the request is for: the key must come from @cwong",
        },
    ]
}

/// The request is for `subject` (staff, NDA, L3 like jdoe), filed by the staff member asmith.
fn filed_for(f: &mut Facts, subject: &str, basis: SubjectBasis) {
    f.author = Username::new("asmith");
    f.author_phid = Phid::from("PHID-USER-asmith");
    f.subject = Subject::Known {
        username: Username::new(subject),
        phid: Phid::from(format!("PHID-USER-{subject}")),
        basis,
    };
}

/// The bot could not tell whose request it is.
fn unknown_subject(f: &mut Facts) {
    f.subject = Subject::Unknown {
        reason: "no match".into(),
    };
    f.subject_staff = false;
    f.subject_nda = false;
}

/// Each thing is said once: the one-user problem carries its own instruction, the author
/// named as manager while the subject is unknown is explained once.
#[test]
fn repeated_wording_is_said_once() {
    let r = rules();
    let mut f = ready();
    f.parsed.problems.push(Problem {
        field: "request".into(),
        message: "one task is for one user, but this one names 2 shell usernames (jdoe, jroe): file one task per user".into(),
        span: 0..0,
    });
    let list = evaluate(&f, &r, at(NOW));
    assert_eq!(
        find(&list, "one-user").expect("one-user").message,
        "one task is for one user, but this one names 2 shell usernames (jdoe, jroe): file one task per user"
    );

    let mut f = ready();
    f.subject = Subject::Unknown {
        reason: "no account matches".into(),
    };
    f.parsed.request.manager = Some(Username::new("jdoe"));
    f.comments[0] = comment(11, "jdoe", "2026-11-03T10:00:00Z", "Approved.");
    let list = evaluate(&f, &r, at(NOW));
    let manager = find(&list, "manager-approval").expect("manager-approval");
    assert_eq!(
        manager.message,
        "the request names its author @jdoe as manager, whose approval counts only once it is known whom the request is for (see `subject`); to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`"
    );
    assert_ne!(manager.status, accessbot::policy::Status::Pass);

    // The subject known and named as manager, approving: said once, for the requester.
    let mut f = ready();
    f.parsed.request.manager = Some(Username::new("jdoe"));
    f.comments[0] = comment(11, "jdoe", "2026-11-03T10:00:00Z", "Approved.");
    let list = evaluate(&f, &r, at(NOW));
    let manager = find(&list, "manager-approval").expect("manager-approval");
    assert_eq!(
        manager.message,
        "the request names @jdoe, whom it is for, as manager or sponsor, who cannot approve their own request: name a manager or sponsor"
    );
    assert_eq!(manager.who, Some(Who::Requester));
    assert_eq!(list.verdict, Verdict::Blocked);
}

#[test]
fn engine_table() {
    let base_rules = rules();
    run_cases(cases(), &base_rules);
}

/// Runs table cases from the ready request; panics with every case that did not hold.
fn run_cases(cases: Vec<Case>, base_rules: &Rules) {
    let mut failures = Vec::new();
    for case in cases {
        let mut facts = ready();
        let mut r = base_rules.clone();
        let mut now = at(NOW);
        (case.edit)(&mut facts, &mut r, &mut now);
        let list = evaluate(&facts, &r, now);
        let Some(check) = find(&list, case.check) else {
            failures.push(format!(
                "{}: no check {} in {:?}",
                case.name, case.check, list.checks
            ));
            continue;
        };
        let ok = list.verdict == case.verdict
            && status_name(check) == case.status
            && check.who == case.who
            && check.message.contains(case.says);
        if !ok {
            failures.push(format!(
                "{}: verdict {:?} (want {:?}); {} = {} who {:?}: {:?} (want {} {:?} containing {:?})",
                case.name,
                list.verdict,
                case.verdict,
                case.check,
                status_name(check),
                check.who,
                check.message,
                case.status,
                case.who,
                case.says
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn closed_tasks_and_non_requests_get_no_checklist() {
    let r = rules();
    let mut f = ready();
    f.open = false;
    let list = evaluate(&f, &r, at(NOW));
    assert_eq!(list.verdict, Verdict::Closed);
    assert!(list.checks.is_empty());

    // Neither a user request nor a privilege change (design §11): not-a-request. (A title
    // like "Change privileges of group analytics-admins" was one before issue 19; it is a
    // privilege change now.)
    for title in [
        "Fix the wikitech login page",
        "Meeting notes: SRE clinic duty",
    ] {
        let mut f = ready();
        f.title = title.into();
        f.parsed = Parsed::default();
        let list = evaluate(&f, &r, at(NOW));
        assert_eq!(list.verdict, Verdict::NotARequest, "{title}");
        assert!(list.checks.is_empty());
    }
    let mut f = ready();
    f.title = "Change privileges of group analytics-admins".into();
    f.parsed = Parsed::default();
    let list = evaluate(&f, &r, at(NOW));
    assert_eq!(list.request.kind, RequestKind::PrivilegeChange);

    // Conservative: a request-like title alone keeps it a request (then it says what's missing).
    assert!(is_user_request(
        "Requesting access to deployment for jdoe",
        &Parsed::default()
    ));
    assert!(!is_user_request(
        "Add sudo rule to group deploy-service",
        &Parsed::default()
    ));
}

#[test]
fn checks_come_in_design_order_and_waiting_takes_the_latest_until() {
    let r = rules();
    let mut f = volunteer_facts();
    f.parsed.request.groups = vec!["deployment".into(), "analytics-privatedata-users".into()];
    f.comments
        .push(comment(13, "rel-lead", "2026-11-03T12:00:00Z", "approved"));
    let list = evaluate(&f, &r, at(NOW));
    let ids: Vec<String> = list.checks.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "request-complete",
            "one-user",
            "subject",
            "known-groups",
            "ssh-key",
            "key-fresh",
            "key-channel",
            "l3",
            "nda",
            "manager-approval",
            "lead-approval:deployment",
            "lead-approval:analytics-privatedata-users",
            "waiting-period",
            "expiry",
        ]
    );
    assert_eq!(list.verdict, Verdict::Ready);

    let mut f = ready();
    f.tagged_at = Some(at("2026-11-09T10:00:00Z"));
    let list = evaluate(&f, &r, at(NOW));
    assert_eq!(list.verdict, Verdict::Waiting);
    assert_eq!(list.until, Some(at("2026-11-12T10:00:00Z")));
}

fn volunteer_facts() -> Facts {
    let mut f = ready();
    volunteer(&mut f);
    f
}

#[test]
fn sudo_scheduling_is_stable_once_stored() {
    let r = rules();
    let mut f = ready();
    sudo(&mut f);
    let list = evaluate(&f, &r, at(NOW));
    assert_eq!(list.sudo_meeting, Some(date("2026-11-16")));
    assert_eq!(list.verdict, Verdict::Waiting);
    assert_eq!(list.until, Some(at("2026-11-16T15:00:00Z")));
    assert!(find(&list, "waiting-period").is_none());

    // The glue stores the date; a later evaluation keeps it even past the cutoff.
    f.sudo.scheduled_for = list.sudo_meeting;
    let later = evaluate(&f, &r, at("2026-11-16T14:00:00Z"));
    assert_eq!(later.sudo_meeting, Some(date("2026-11-16")));
    assert_eq!(later.verdict, Verdict::Waiting);

    // Undecided meetings roll over from the stored date; the agenda date moves on.
    let rolled = evaluate(&f, &r, at("2026-12-02T09:00:00Z"));
    assert_eq!(rolled.sudo_meeting, Some(date("2026-12-14")));
    assert_eq!(rolled.verdict, Verdict::Blocked);
    let c = find(&rolled, "sudo-review").expect("sudo-review");
    assert_eq!(c.who, Some(Who::Sre));
    assert_eq!(
        c.message,
        "not decided at the SRE meeting of 2026-11-30: rolled over to 2026-12-14"
    );
    assert_eq!(c.until, Some(at("2026-12-14T15:00:00Z")));

    // A glue that stores the rolled-over date (and the first-ready time) gets the same answer.
    let mut h = ready();
    sudo(&mut h);
    h.sudo.scheduled_for = Some(date("2026-12-14"));
    h.sudo.first_ready_at = Some(at(NOW));
    let again = evaluate(&h, &r, at("2026-12-02T09:00:00Z"));
    assert_eq!(again.sudo_meeting, Some(date("2026-12-14")));
    assert_eq!(
        find(&again, "sudo-review").map(|c| c.message.as_str()),
        Some("not decided at the SRE meeting of 2026-11-30: rolled over to 2026-12-14")
    );

    // first_ready_at decides the meeting when nothing is stored yet.
    let mut g = ready();
    sudo(&mut g);
    g.sudo.first_ready_at = Some(at("2026-11-15T20:00:00Z"));
    let list = evaluate(&g, &r, at("2026-11-16T09:00:00Z"));
    assert_eq!(list.sudo_meeting, Some(date("2026-11-30")));
}

#[test]
fn a_withdrawn_lead_approval_names_the_withdrawal_and_keeps_evidence_empty() {
    let r = rules();
    let mut f = ready();
    f.comments.push(comment(
        13,
        "aotto",
        "2026-11-04T10:00:00Z",
        "-1, revoke that",
    ));
    let list = evaluate(&f, &r, at(NOW));
    let c = find(&list, "lead-approval:analytics-privatedata-users").expect("lead check");
    assert!(c.evidence.is_empty());
    assert!(
        c.message.contains("withdrawn by @aotto on 2026-11-04"),
        "{}",
        c.message
    );
    // The manager's approval is untouched.
    let m = find(&list, "manager-approval").expect("manager check");
    assert_eq!(m.evidence.len(), 1);
    assert_eq!(m.evidence[0].anchor(), Some(11));
}

#[test]
fn checklist_serializes_into_the_design_shape() {
    let r = rules();
    let mut f = ready();
    f.comments[0].channel = Channel::Email;
    let list = evaluate(&f, &r, at(NOW));
    let v = serde_json::to_value(&list).expect("json");
    assert_eq!(v["task"], "T101");
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["until"], serde_json::Value::Null);
    assert_eq!(v["request"]["shell_user"], "jdoe");
    assert_eq!(v["request"]["sudo"], false);
    assert_eq!(v["request"]["key"]["source"], "description");
    assert_eq!(v["request"]["key"]["bits"], 256);
    assert!(v.get("sudo_meeting").is_none());
    let checks = v["checks"].as_array().expect("checks");
    let m = checks
        .iter()
        .find(|c| c["id"] == "manager-approval")
        .expect("manager");
    let keys: Vec<&String> = m.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 6, "{m}");
    assert_eq!(m["status"], "fail");
    assert_eq!(m["who"], "manager");
    let lead = checks
        .iter()
        .find(|c| c["id"] == "lead-approval:analytics-privatedata-users")
        .expect("lead");
    assert_eq!(lead["status"], "pass");
    assert_eq!(lead["who"], serde_json::Value::Null);
    assert_eq!(lead["evidence"], serde_json::json!(["PHID-XACT-TASK-c12"]));
    let who: Vec<String> = Who::ALL
        .iter()
        .map(|w| {
            serde_json::to_value(w)
                .expect("who")
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        who,
        [
            "requester",
            "manager",
            "project-lead",
            "sre",
            "legal",
            "clinic-duty"
        ]
    );
    assert_eq!(
        serde_json::to_value(Verdict::NotARequest).expect("verdict"),
        "not-a-request"
    );
    assert_eq!(
        CheckId::LeadApproval("ops".into()).to_string(),
        "lead-approval:ops"
    );
}

#[test]
fn messages_never_quote_what_the_requester_wrote() {
    let r = rules();
    let mut f = ready();
    f.parsed.request.reason = Some("{F1} @everyone T999 [[link]]".into());
    f.parsed.request.full_name = Some("Robert'); DROP".into());
    f.title = "Requesting access to analytics-privatedata-users for jdoe".into();
    f.comments.push(comment(
        13,
        "jdoe",
        "2026-11-04T10:00:00Z",
        "approved by me, {F1} @everyone",
    ));
    let list = evaluate(&f, &r, at(NOW));
    for c in &list.checks {
        assert!(!c.message.contains("{F1}"), "{}", c.message);
        assert!(!c.message.contains("@everyone"), "{}", c.message);
        assert!(!c.message.contains("DROP"), "{}", c.message);
    }
}

#[test]
fn staleness_counts_business_days() {
    let r = rules();
    let t = &r.timing;
    // Last activity Friday 2026-11-06 10:00; five business days later is Friday 13th 10:00.
    let last = at("2026-11-06T10:00:00Z");
    assert!(!is_stale(last, at("2026-11-13T09:59:59Z"), t));
    assert!(is_stale(last, at("2026-11-13T10:00:00Z"), t));
    // Over Christmas (a holiday on Friday 25th) it takes a day longer.
    let last = at("2026-12-21T10:00:00Z");
    assert!(!is_stale(last, at("2026-12-28T10:00:00Z"), t));
    assert!(is_stale(last, at("2026-12-29T10:00:00Z"), t));
}

#[test]
fn timeline_of_the_recorded_t1() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conduit/recorded/30-transaction.search-T1.json"
    );
    let text = std::fs::read_to_string(path).expect("recording");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let page: SearchPage<Transaction> =
        serde_json::from_value(v["response"]["result"].clone()).expect("page");
    let project = Phid::from("PHID-PROJ-wwpcn5hoqarqor7l7zqw");
    let bot = Phid::from("PHID-USER-ifdkg23ff5xkmcfjbyca");
    let tl = Timeline::build(&page.data, &project, &bot);

    let t = |s: i64| DateTime::from_timestamp(s, 0).expect("time");
    assert_eq!(tl.created_at, Some(t(1795445758)));
    assert_eq!(
        tl.author,
        Some(Phid::from("PHID-USER-ku7wtpznfc6baencbpzy"))
    );
    // Tagged later by another user: transaction 10.
    assert_eq!(tl.tagged_at, Some(t(1795445766)));
    assert_eq!(
        tl.tag_xact,
        Some(Phid::from("PHID-XACT-TASK-7hqnvyocub2f6pz"))
    );

    // Comments oldest first; the edited one (anchor 11) with its newest text and date.
    let anchors: Vec<u64> = tl.comments.iter().map(|c| c.anchor).collect();
    assert_eq!(anchors, [11, 13, 15, 16, 18]);
    let edited = &tl.comments[0];
    assert!(edited.edited);
    assert!(!edited.removed);
    assert_eq!(edited.at, t(1795445797));
    assert!(
        edited.text.contains("EDIT: only for deployment"),
        "{}",
        edited.text
    );
    assert!(!tl.comments[1].edited);
    assert_eq!(tl.comments[1].at, t(1795445770));

    // Two description versions: the creation and the edit that dropped a group.
    assert_eq!(tl.descriptions.len(), 2);
    assert_eq!(tl.descriptions[0].anchor, 3);
    assert_eq!(tl.descriptions[1].anchor, 17);
    assert_eq!(tl.descriptions[1].at, t(1795445802));
    assert!(tl.descriptions[0]
        .text
        .contains("deployment, analytics-privatedata-users"));
    assert!(!tl.descriptions[1]
        .text
        .contains("deployment, analytics-privatedata-users"));
    assert!(tl.bot_comments.is_empty());
    assert_eq!(tl.last_activity, Some(t(1795445804)));
}

#[test]
fn timeline_of_the_recorded_t2_created_with_the_tag() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conduit/recorded/46-transaction.search-T2-after-comment-edit.json"
    );
    let text = std::fs::read_to_string(path).expect("recording");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let page: SearchPage<Transaction> =
        serde_json::from_value(v["response"]["result"].clone()).expect("page");
    let project = Phid::from("PHID-PROJ-wwpcn5hoqarqor7l7zqw");
    let bot = Phid::from("PHID-USER-ifdkg23ff5xkmcfjbyca");
    let tl = Timeline::build(&page.data, &project, &bot);
    assert_eq!(tl.tagged_at, tl.created_at);
    assert!(tl.comments.is_empty());
    let own = tl.last_bot_comment().expect("bot comment");
    assert!(own.edited);
    assert!(own.text.contains("[x] approval from manager"));
    // The bot's own edit is no activity.
    assert_eq!(tl.last_activity, tl.created_at);
}

#[test]
fn key_trust_from_comments_descriptions_and_pastes() {
    let jdoe = Username::new("jdoe");
    let mut c = comment(20, "JDoe", "2026-11-04T10:00:00Z", "ssh-ed25519 AAAA");
    assert_eq!(comment_key_trust(&c, &jdoe), Trust::Trusted);
    c.channel = Channel::Conduit;
    assert_eq!(comment_key_trust(&c, &jdoe), Trust::Trusted);
    c.channel = Channel::Email;
    assert!(
        matches!(comment_key_trust(&c, &jdoe), Trust::NotTrusted { reason } if reason.contains("email"))
    );
    c.channel = Channel::Unknown;
    assert!(matches!(
        comment_key_trust(&c, &jdoe),
        Trust::Unverified { .. }
    ));
    c.channel = Channel::Web;
    c.author = Username::new("jdoe2");
    assert!(
        matches!(comment_key_trust(&c, &jdoe), Trust::NotTrusted { reason } if reason.contains("@jdoe2"))
    );
    c.author = Username::new("jdoe");
    c.removed = true;
    assert!(matches!(
        comment_key_trust(&c, &jdoe),
        Trust::NotTrusted { .. }
    ));

    assert_eq!(
        authored_key_trust(&KeySource::Description, true),
        Trust::Trusted
    );
    assert!(matches!(
        authored_key_trust(&KeySource::Paste { id: 12 }, false),
        Trust::NotTrusted { reason } if reason.contains("P12")
    ));
    assert!(matches!(
        authored_key_trust(&KeySource::Description, false),
        Trust::NotTrusted { .. }
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Whatever people write and whenever it is evaluated, the engine answers, and a ready
    /// verdict always has every check passing.
    #[test]
    fn evaluate_never_panics_and_ready_means_all_pass(
        texts in proptest::collection::vec("(?s).{0,120}", 0..6),
        offset in -400_000_000i64..400_000_000,
    ) {
        let r = rules_once();
        let mut f = ready();
        for (i, t) in texts.iter().enumerate() {
            f.comments.push(comment(30 + i as u64, "mboss", "2026-11-05T10:00:00Z", t));
        }
        let now = at(NOW) + chrono::TimeDelta::seconds(offset);
        let list = evaluate(&f, r, now);
        if list.verdict == Verdict::Ready {
            proptest::prop_assert!(list.checks.iter().all(|c| status_name(c) == "pass"));
        }
        if list.verdict == Verdict::Waiting {
            proptest::prop_assert!(list.until.is_some_and(|u| u > now));
        }
    }
}

fn rules_once() -> &'static Rules {
    static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    RULES.get_or_init(rules)
}

/// The people's words (issue 13): doubtful comments are pending for clinic duty and name the
/// comment, withdrawals say "withdrawn by", scopes count for their groups only, a doubt or a
/// "no" by a second person whose word could count blocks a pass, and every failing approval
/// line says how to approve.
fn reading_cases() -> Vec<Case> {
    vec![
        Case {
            name: "a questioned approval is pending for clinic duty, naming the comment",
            edit: |f, _, _| f.comments[0].text = "Approved?".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @mboss's comment of 2026-11-03 (T101#11) as an approval: it asks a question; clinic duty confirms, or @mboss comments `Approved.` or `Approved for analytics-privatedata-users.`",
        },
        Case {
            name: "a conditional approval is pending",
            edit: |f, _, _| {
                f.comments[1].text = "Approved once the data steward agrees.".into()
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @aotto's comment of 2026-11-03 (T101#12) as an approval: it is conditional",
        },
        Case {
            name: "a look-alike approval is pending",
            edit: |f, _, _| f.comments[0].text = "\u{0410}pproved.".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "look-alike",
        },
        Case {
            name: "a misspelt approval is pending",
            edit: |f, _, _| f.comments[0].text = "Aproved".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "misspelt",
        },
        Case {
            name: "a later doubtful comment by the same person replaces the approval",
            edit: |f, _, _| {
                f.comments
                    .push(comment(13, "mboss", "2026-11-04T10:00:00Z", "Approved? Hm, maybe not."))
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "(T101#13)",
        },
        Case {
            name: "a doubtful comment by email still cancels (fail closed)",
            edit: |f, _, _| {
                let mut c = comment(13, "mboss", "2026-11-04T10:00:00Z", "Approved?");
                c.channel = Channel::Email;
                f.comments.push(c)
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @mboss's comment",
        },
        Case {
            name: "a plain approval after a doubtful one counts",
            edit: |f, _, _| {
                f.comments[0].text = "Approved?".into();
                f.comments
                    .push(comment(13, "mboss", "2026-11-04T10:00:00Z", "Approved."));
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "doubt older than the key change is no doubt: the approval is simply missing",
            edit: |f, _, _| {
                f.comments[0].text = "Approved?".into();
                f.key_changed_at = Some(Moment::untracked(at("2026-11-04T09:00:00Z")));
                f.comments
                    .push(comment(13, "aotto", "2026-11-05T10:00:00Z", "Approved."));
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            name: "a withdrawal in backticks says withdrawn by, with the date and the comment",
            edit: |f, _, _| {
                f.comments.push(comment(
                    13,
                    "mboss",
                    "2026-11-04T10:00:00Z",
                    "Status: `not approved`",
                ))
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "approval withdrawn by @mboss on 2026-11-04 (T101#13); to approve again, comment `Approved.`",
        },
        Case {
            name: "a struck-through approval is withdrawn",
            edit: |f, _, _| f.comments[0].text = "~~Approved.~~ Waiting for legal.".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "fail",
            who: Some(Who::Manager),
            says: "no approval from @mboss",
        },
        Case {
            name: "every failing approval line says how to approve",
            edit: |f, _, _| {
                f.comments.clear();
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "to approve, comment `Approved.` or `Approved for analytics-privatedata-users.`",
        },
        Case {
            name: "a lead's scoped approval counts for its group",
            edit: |f, _, _| {
                f.parsed.request.groups =
                    vec!["analytics-privatedata-users".into(), "analytics-users".into()];
                f.comments[0].text = "Approved.".into();
                f.comments[1].text = "Approved for analytics-users only.".into();
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-users",
            status: "pass",
            who: None,
            says: "approved by @aotto",
        },
        Case {
            name: "a lead's scoped approval counts for no other group",
            edit: |f, _, _| {
                f.parsed.request.groups =
                    vec!["analytics-privatedata-users".into(), "analytics-users".into()];
                f.comments[1].text = "Approved for analytics-users only.".into();
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "an approval for analytics-users only does not count for analytics-privatedata-users",
        },
        Case {
            name: "a lead's approval naming both groups counts for both",
            edit: |f, _, _| {
                f.parsed.request.groups =
                    vec!["analytics-privatedata-users".into(), "analytics-users".into()];
                f.comments[1].text =
                    "Approved for analytics-users and analytics-privatedata-users.".into();
            },
            verdict: Verdict::Ready,
            check: "lead-approval:analytics-privatedata-users",
            status: "pass",
            who: None,
            says: "approved by @aotto",
        },
        Case {
            name: "the manager's approval for part of the request is doubtful",
            edit: |f, _, _| f.comments[0].text = "Approved for deployment.".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it approves deployment only, not the whole request",
        },
        Case {
            name: "the manager's approval naming every requested group counts",
            edit: |f, _, _| {
                f.comments[0].text = "Approved for analytics-privatedata-users.".into()
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "an unclear comment by a second person whose word could count blocks a pass",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments.push(comment(
                    13,
                    "bkeller",
                    "2026-11-04T10:00:00Z",
                    "Approved? I thought legal had to look first.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @bkeller's comment",
        },
        Case {
            name: "a no by a second person whose word could count blocks a pass",
            edit: |f, _, _| {
                f.parsed.request.manager = None;
                f.comments.push(comment(
                    13,
                    "bkeller",
                    "2026-11-04T10:00:00Z",
                    "Not approved: I am her manager, not Morgan.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "but @bkeller said no on 2026-11-04 (T101#13): clinic duty decides",
        },
        Case {
            name: "doubt from someone whose word cannot count changes nothing",
            edit: |f, _, _| {
                f.comments.push(comment(
                    13,
                    "bkeller",
                    "2026-11-04T10:00:00Z",
                    "Approved? I thought legal had to look first.",
                ));
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "a doubtful NDA confirmation is pending for clinic duty",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "Is an NDA on file?",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @legalteam's comment of 2026-11-04 (T101#13) as an NDA confirmation: it asks a question; clinic duty confirms, or @legalteam comments `NDA on file.`",
        },
        Case {
            name: "an NDA confirmation corrected later by the same person no longer counts",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments
                    .push(comment(13, "legalteam", "2026-11-04T10:00:00Z", "NDA on file."));
                f.comments.push(comment(
                    14,
                    "legalteam",
                    "2026-11-05T10:00:00Z",
                    "Correction: the NDA is not in place.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "fail",
            who: Some(Who::Legal),
            says: "confirmation withdrawn by @legalteam on 2026-11-05 (T101#14)",
        },
        Case {
            name: "an NDA confirmation for someone else is pending, never a pass",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "NDA is on file for Bob.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @legalteam's comment of 2026-11-04 (T101#13) as an NDA confirmation: it names bob, and this request is for @jdoe; clinic duty confirms, or @legalteam comments `NDA on file.`",
        },
        Case {
            name: "an NDA confirmation for another account is pending",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "NDA on file (for @jdoe2).",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it names jdoe2, and this request is for @jdoe",
        },
        Case {
            name: "an NDA confirmation naming the subject by first name counts",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "NDA is on file for Jane.",
                ));
            },
            verdict: Verdict::Ready,
            check: "nda",
            status: "pass",
            who: None,
            says: "NDA confirmed by @legalteam",
        },
        Case {
            name: "an NDA confirmation naming the subject's account counts",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "For @JDoe: NDA on file.",
                ));
            },
            verdict: Verdict::Ready,
            check: "nda",
            status: "pass",
            who: None,
            says: "NDA confirmed by @legalteam",
        },
        Case {
            name: "an NDA confirmation naming the subject's full name counts",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "NDA on file for Jane  Doe, thanks.",
                ));
            },
            verdict: Verdict::Ready,
            check: "nda",
            status: "pass",
            who: None,
            says: "NDA confirmed by @legalteam",
        },
        Case {
            name: "an L3 verification of someone else's signature is pending",
            edit: |f, r, _| {
                f.l3 = L3::NotSigned;
                r.l3.sources.push(accessbot::rules::L3Source::VerifierComment);
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-04T10:00:00Z",
                    "L3 signed by jsmith.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "l3",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it names jsmith, and this request is for @jdoe",
        },
        Case {
            name: "no NDA on file yet is no confirmation",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "No NDA on file yet.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "fail",
            who: Some(Who::Legal),
            says: "a legal user comments `NDA on file.`",
        },
        Case {
            name: "a doubtful L3 verification is pending for clinic duty",
            edit: |f, r, _| {
                f.l3 = L3::NotSigned;
                r.l3.sources.push(accessbot::rules::L3Source::VerifierComment);
                f.comments
                    .push(comment(13, "sre-kim", "2026-11-04T10:00:00Z", "L3 verified?"));
            },
            verdict: Verdict::Blocked,
            check: "l3",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "as an L3 verification: it asks a question",
        },
        Case {
            name: "a doubtful SRE meeting decision is pending for clinic duty",
            edit: |f, _, _| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting approved it, I think.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "sudo-review",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "could not read @sre-kim's comment of 2026-11-16 (T101#13) as an SRE meeting decision",
        },
        Case {
            name: "an SRE meeting approval questioned and not yet given is no approval",
            edit: |f, _, now| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: approved? not yet",
                ));
                *now = at("2026-11-16T17:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "waiting for the decision",
        },
        Case {
            name: "an SRE meeting approval corrected by the same decider no longer counts",
            edit: |f, _, now| {
                sudo(f);
                f.sudo.scheduled_for = Some(date("2026-11-16"));
                f.comments.push(comment(
                    13,
                    "sre-kim",
                    "2026-11-16T16:00:00Z",
                    "SRE meeting: approved.",
                ));
                f.comments.push(comment(
                    14,
                    "sre-kim",
                    "2026-11-16T16:30:00Z",
                    "Correction: SRE meeting: not approved, wrong task.",
                ));
                *now = at("2026-11-16T17:00:00Z");
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "waiting for the decision",
        },
        // An objection or a call to wait after an approval cancels it as doubt.
        Case {
            name: "the manager's later 'Wait.' puts the approval in doubt",
            edit: |f, _, _| {
                f.comments
                    .push(comment(13, "mboss", "2026-11-04T10:00:00Z", "Wait."))
            },
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it raises an objection or asks to wait (\"wait\")",
        },
        Case {
            name: "a lead's later 'She left the team.' puts the lead approval in doubt",
            edit: |f, _, _| {
                f.comments.push(comment(
                    13,
                    "aotto",
                    "2026-11-04T10:00:00Z",
                    "She left the team last week.",
                ))
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "(\"left the team\")",
        },
        Case {
            name: "concerns raised before the approval are settled by it",
            edit: |f, _, _| {
                f.comments[0].text = "I have concerns about the reason.".into();
                f.comments.push(comment(
                    13,
                    "mboss",
                    "2026-11-04T10:00:00Z",
                    "Approved.",
                ))
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "someone else's 'Wait.' changes nobody's approval",
            edit: |f, _, _| {
                f.comments
                    .push(comment(13, "bkeller", "2026-11-04T10:00:00Z", "Wait."))
            },
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        // The role an approval says it is given in: it counts for that role only.
        Case {
            name: "the manager approving as project lead is pending for the manager check",
            edit: |f, _, _| f.comments[0].text = "Approved as project lead.".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it approves as project lead, not as manager or sponsor",
        },
        Case {
            name: "a lead approving as manager is pending for the lead check",
            edit: |f, _, _| f.comments[1].text = "Approved as her manager.".into(),
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it approves as manager or sponsor, not as project lead",
        },
        Case {
            name: "a lead's labelled lead approval counts",
            edit: |f, _, _| f.comments[1].text = "Lead approval: approved.".into(),
            verdict: Verdict::Ready,
            check: "lead-approval:analytics-privatedata-users",
            status: "pass",
            who: None,
            says: "approved by @aotto",
        },
        Case {
            name: "the manager approving as manager counts",
            edit: |f, _, _| f.comments[0].text = "As her manager: approved.".into(),
            verdict: Verdict::Ready,
            check: "manager-approval",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "a manager who is also the lead approving as manager leaves the lead check open",
            edit: |f, r, _| {
                f.comments.remove(1);
                f.comments[0].text = "Approved as manager.".into();
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .expect("group")
                    .approvers
                    .push(Username::new("mboss"));
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-privatedata-users",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it approves as manager or sponsor, not as project lead",
        },
        Case {
            name: "a manager who is also the lead approving in both roles fills both",
            edit: |f, r, _| {
                f.comments.remove(1);
                f.comments[0].text = "Approved as manager and as project lead.".into();
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .expect("group")
                    .approvers
                    .push(Username::new("mboss"));
            },
            verdict: Verdict::Ready,
            check: "lead-approval:analytics-privatedata-users",
            status: "pass",
            who: None,
            says: "approved by @mboss",
        },
        Case {
            name: "a name before the colon of an approval is pending",
            edit: |f, _, _| f.comments[0].text = "mboss: approved".into(),
            verdict: Verdict::Blocked,
            check: "manager-approval",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it names someone before the colon",
        },
        Case {
            name: "an NDA confirmation with the subject's first name before the colon counts",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "Jane: NDA on file.",
                ));
            },
            verdict: Verdict::Ready,
            check: "nda",
            status: "pass",
            who: None,
            says: "NDA confirmed by @legalteam",
        },
        Case {
            name: "an NDA confirmation with someone else's name before the colon is pending",
            edit: |f, _, _| {
                volunteer(f);
                f.subject_nda = false;
                f.comments.push(comment(
                    13,
                    "legalteam",
                    "2026-11-04T10:00:00Z",
                    "Bob: NDA on file.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "nda",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "it names bob, and this request is for @jdoe",
        },
    ]
}

#[test]
fn doubtful_words_are_never_a_pass() {
    run_cases(reading_cases(), &rules());
}

/// Makes the request a group privilege change of `group` by jdev (staff), described as
/// `change`, with a reason and an impact; aotto (the analytics groups' lead) approves.
fn privilege(f: &mut Facts, group: &str, change: &str) {
    filed_by_self(f, "jdev");
    f.title = format!("Change privileges of group {group}");
    f.description = format!(
        "**Existing group**: {group}\n**Requested change**: {change}\n**Reason**: x\n**Impact if rejected**: y\n"
    );
    f.parsed = Parsed {
        request: Request {
            reason: Some("x".into()),
            groups: vec![],
            change: Some(PrivilegeChange {
                groups: vec![group.into()],
                change: Some(change.into()),
                impact: Some("y".into()),
            }),
            ..Request::default()
        },
        problems: vec![],
    };
    f.key = KeyFacts::default();
    f.comments = vec![comment(11, "aotto", "2026-11-03T10:00:00Z", "Approved.")];
}

/// Makes exec-lee the one executive.
fn executives(r: &mut Rules) {
    r.people.executives = vec![Username::new("exec-lee")];
}

/// Cases of issue 19's processes (design §11), each with its control.
fn process_cases() -> Vec<Case> {
    vec![
        Case {
            name: "privilege change without sudo: ready on the lead's approval",
            edit: |f, _, _| privilege(f, "analytics-users", "read /srv/published"),
            verdict: Verdict::Ready,
            check: "change-described",
            status: "pass",
            who: None,
            says: "no sign of sudo",
        },
        Case {
            name: "privilege change with a privileges line goes to the meeting",
            edit: |f, _, _| {
                privilege(
                    f,
                    "analytics-users",
                    "add to data.yaml:\n  privileges: ['ALL = (ALL) NOPASSWD: ALL']",
                )
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-16",
        },
        Case {
            name: "privilege change: 'root' hidden in emphasis markup is still sudo",
            edit: |f, _, _| {
                privilege(
                    f,
                    "analytics-users",
                    "let members become **r**oot on stat1008",
                )
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "SRE meeting",
        },
        Case {
            name: "privilege change of a sudo group always goes to the meeting",
            edit: |f, _, _| privilege(f, "analytics-admins", "read /srv/published"),
            verdict: Verdict::Waiting,
            check: "change-described",
            status: "pass",
            who: None,
            says: "analytics-admins is a sudo group",
        },
        Case {
            name: "privilege change of an unknown group fails known-groups",
            edit: |f, _, _| privilege(f, "made-up-group", "read /srv/published"),
            verdict: Verdict::Blocked,
            check: "known-groups",
            status: "fail",
            who: Some(Who::Requester),
            says: "unknown group: made-up-group",
        },
        Case {
            name: "privilege change whose title names another group",
            edit: |f, _, _| {
                privilege(f, "analytics-users", "read /srv/published");
                f.title = "Change privileges of group deployment".into();
            },
            verdict: Verdict::Blocked,
            check: "known-groups",
            status: "fail",
            who: Some(Who::Requester),
            says: "the title names the group deployment",
        },
        Case {
            name: "privilege change: the requester's own approval does not count",
            edit: |f, _, _| {
                privilege(f, "analytics-users", "read /srv/published");
                filed_by_self(f, "aotto");
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "cannot approve their own request",
        },
        Case {
            name: "privilege change: a negated approval does not count",
            edit: |f, _, _| {
                privilege(f, "analytics-users", "read /srv/published");
                f.comments = vec![comment(
                    11,
                    "aotto",
                    "2026-11-03T10:00:00Z",
                    "Not approved yet, let me check the directory first.",
                )];
            },
            verdict: Verdict::Blocked,
            check: "lead-approval:analytics-users",
            status: "fail",
            who: Some(Who::ProjectLead),
            says: "",
        },
        Case {
            name: "a routine sudo group (review = waiting-period) takes the waiting period",
            edit: |f, r, _| {
                sudo(f);
                r.groups
                    .get_mut("analytics-admins")
                    .unwrap()
                    .review_as_written = Some(Review::WaitingPeriod);
            },
            verdict: Verdict::Ready,
            check: "waiting-period",
            status: "pass",
            who: None,
            says: "the waiting period of 3 days ended",
        },
        Case {
            name: "a group without sudo with review = meeting goes to the meeting",
            edit: |_, r, _| {
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .unwrap()
                    .review_as_written = Some(Review::Meeting);
            },
            verdict: Verdict::Waiting,
            check: "sudo-review",
            status: "pending",
            who: None,
            says: "on the agenda of the SRE meeting of 2026-11-16",
        },
        Case {
            name: "an expiry date past max_expiry_days fails",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_date = Some(date("9999-12-31"));
            },
            verdict: Verdict::Blocked,
            check: "expiry",
            status: "fail",
            who: Some(Who::Requester),
            says: "more than 366 days after the request was filed on 2026-11-02",
        },
        Case {
            name: "an expiry date on the last allowed day passes",
            edit: |f, _, _| {
                volunteer(f);
                f.parsed.request.expiry_date = Some(date("2027-11-03"));
            },
            verdict: Verdict::Ready,
            check: "expiry",
            status: "pass",
            who: None,
            says: "expires on 2027-11-03",
        },
        Case {
            name: "a volunteer's request waits for the executive, who is asked last",
            edit: |f, r, _| {
                volunteer(f);
                executives(r);
            },
            verdict: Verdict::Blocked,
            check: "executive-signoff",
            status: "fail",
            who: Some(Who::Manager),
            says: "no executive sign-off yet",
        },
        Case {
            name: "an executive's sign-off passes",
            edit: |f, r, _| {
                volunteer(f);
                executives(r);
                f.comments.push(comment(
                    13,
                    "exec-lee",
                    "2026-11-04T10:00:00Z",
                    "Executive sign-off: given.",
                ));
            },
            verdict: Verdict::Ready,
            check: "executive-signoff",
            status: "pass",
            who: None,
            says: "signed off by @exec-lee",
        },
        Case {
            name: "a questioned executive sign-off does not count",
            edit: |f, r, _| {
                volunteer(f);
                executives(r);
                f.comments.push(comment(
                    13,
                    "exec-lee",
                    "2026-11-04T10:00:00Z",
                    "Executive sign-off given?",
                ));
            },
            verdict: Verdict::Blocked,
            check: "executive-signoff",
            status: "pending",
            who: Some(Who::ClinicDuty),
            says: "",
        },
        Case {
            name: "an executive sign-off withdrawn later does not count",
            edit: |f, r, _| {
                volunteer(f);
                executives(r);
                f.comments.push(comment(
                    13,
                    "exec-lee",
                    "2026-11-04T10:00:00Z",
                    "Executive sign-off: given.",
                ));
                f.comments.push(comment(
                    14,
                    "exec-lee",
                    "2026-11-04T12:00:00Z",
                    "Sorry, no executive sign-off after all.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "executive-signoff",
            status: "fail",
            who: Some(Who::Manager),
            says: "",
        },
        Case {
            name: "a sign-off by someone who is not an executive does not count",
            edit: |f, r, _| {
                volunteer(f);
                executives(r);
                f.comments.push(comment(
                    13,
                    "jsmith",
                    "2026-11-04T10:00:00Z",
                    "Executive sign-off: given.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "executive-signoff",
            status: "fail",
            who: Some(Who::Manager),
            says: "no executive sign-off yet",
        },
        Case {
            name: "staff need no executive sign-off",
            edit: |_, r, _| executives(r),
            verdict: Verdict::Ready,
            check: "waiting-period",
            status: "pass",
            who: None,
            says: "",
        },
        Case {
            name: "a volunteer in a private-data group without research: data-access fails",
            edit: |f, r, _| {
                volunteer(f);
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .unwrap()
                    .private_data = true;
                r.people.research_users = vec![Username::new("researchlead")];
            },
            verdict: Verdict::Blocked,
            check: "data-access",
            status: "fail",
            who: Some(Who::Manager),
            says: "a research collaboration is needed",
        },
        Case {
            name: "a negated research confirmation does not count",
            edit: |f, r, _| {
                volunteer(f);
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .unwrap()
                    .private_data = true;
                r.people.research_users = vec![Username::new("researchlead")];
                f.comments.push(comment(
                    13,
                    "researchlead",
                    "2026-11-04T10:00:00Z",
                    "The research collaboration is not confirmed yet.",
                ));
            },
            verdict: Verdict::Blocked,
            check: "data-access",
            status: "fail",
            who: Some(Who::Manager),
            says: "",
        },
        Case {
            name: "a research user's confirmation passes data-access",
            edit: |f, r, _| {
                volunteer(f);
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .unwrap()
                    .private_data = true;
                r.people.research_users = vec![Username::new("researchlead")];
                f.comments.push(comment(
                    13,
                    "researchlead",
                    "2026-11-04T10:00:00Z",
                    "Research collaboration confirmed.",
                ));
            },
            verdict: Verdict::Ready,
            check: "data-access",
            status: "pass",
            who: None,
            says: "research collaboration confirmed by @researchlead",
        },
        Case {
            name: "a research project member passes data-access",
            edit: |f, r, _| {
                volunteer(f);
                r.groups
                    .get_mut("analytics-privatedata-users")
                    .unwrap()
                    .private_data = true;
                r.people.research_projects = vec!["Research-Collab".into()];
                f.subject_research = true;
            },
            verdict: Verdict::Ready,
            check: "data-access",
            status: "pass",
            who: None,
            says: "member of a research project",
        },
    ]
}

#[test]
fn process_table() {
    run_cases(process_cases(), &rules());
}

#[test]
fn a_request_for_a_person_stays_a_user_request_whatever_else_it_says() {
    let r = rules();
    let parser = accessbot::request::Parser::new(&r.labels);
    let kind = |title: &str, text: &str| request_kind(title, &parser.parse(title, text), &r);
    // A privilege change's own fields and nobody named.
    assert_eq!(
        kind(
            "Widen deploy rights",
            "Existing group: deployment\nRequested change: restart php-fpm\nReason: trains\nImpact if rejected: SRE time\n"
        ),
        Some(RequestKind::PrivilegeChange)
    );
    // Personal fields make it a user request, even with an "Existing group" line and title.
    assert_eq!(
        kind(
            "Change privileges of group deployment",
            "Full name: Jane Doe\nPreferred shell username: jdoe\nEmail address: jdoe@example.org\nExisting group: deployment\nRequested group membership: deployment\n"
        ),
        Some(RequestKind::User)
    );
    // Neither: not a request.
    assert_eq!(kind("Update the on-call runbook", "Some notes."), None);
    // Titles of a privilege change.
    for title in [
        "Change privileges of group analytics-admins",
        "Add sudo rule to group deploy-service",
        "Privilege change for deployment",
        "Please modify the sudo rules for deploy-service",
    ] {
        assert_eq!(
            kind(title, ""),
            Some(RequestKind::PrivilegeChange),
            "{title}"
        );
    }
}

#[test]
fn comment_notes_say_why_each_comment_did_not_count() {
    let r = rules();
    let mut f = ready();
    let email = CommentFact {
        channel: Channel::Email,
        ..comment(15, "mailer", "2026-11-04T12:00:00Z", "Approved.")
    };
    let removed = CommentFact {
        removed: true,
        ..comment(17, "mboss", "2026-11-04T14:00:00Z", "Approved.")
    };
    f.comments.extend([
        comment(13, "jdoe", "2026-11-04T10:00:00Z", "Approved."),
        comment(14, "bystander", "2026-11-04T11:00:00Z", "Approved."),
        email,
        comment(16, "bystander", "2026-11-04T13:00:00Z", "Approved?"),
        removed,
        comment(18, "bystander", "2026-11-04T15:00:00Z", "> Approved."),
    ]);
    let list = evaluate(&f, &r, at(NOW));
    let notes = comment_notes(&f, &r, &list);
    let got: Vec<(u64, bool, Vec<String>, Option<String>)> = notes
        .into_iter()
        .map(|n| (n.anchor, n.counted, n.checks, n.why_not))
        .collect();
    let s = |t: &str| Some(t.to_string());
    assert_eq!(
        got,
        vec![
            (11, true, vec!["manager-approval".to_string()], None),
            (
                12,
                true,
                vec!["lead-approval:analytics-privatedata-users".to_string()],
                None
            ),
            (
                13,
                false,
                vec![],
                s("@jdoe is the person the request is for: their own word never counts")
            ),
            (
                14,
                false,
                vec![],
                s("@bystander is not among the people whose approval counts for this request")
            ),
            (
                15,
                false,
                vec![],
                s("it came by email: only comments made on the web count")
            ),
            (
                16,
                false,
                vec![],
                s("it could not be read as an approval: it asks a question")
            ),
            (17, false, vec![], s("it was removed")),
            (
                18,
                false,
                vec![],
                s("it says nothing accessbot reads as an approval, a confirmation or a decision (quotes and code never count)")
            ),
        ]
    );
}
