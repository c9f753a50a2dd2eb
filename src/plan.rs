//! The plan of one evaluated task (issue 18 item 2, "plan, then apply"): what the bot would
//! post on it (the checklist, a stale nudge, the lifecycle's comments), which marks it would
//! set (a workboard column, the ready tag added or removed), the stored row and lifecycle row
//! that follow, and the audit entry of a verdict change. [`plan`] is pure: no I/O, `now`
//! passed in; the poller reads, plans every task of a cycle, then applies the plans
//! (`crate::poller`).

use crate::evidence::Gathered;
use crate::ids::{Phid, TaskId};
use crate::lifecycle::{self, DataYaml, GrantedBy};
use crate::policy::{self, Checklist, RequestKind, Status, Verdict};
use crate::report;
use crate::rules::Rules;
use crate::store::{AuditRecord, LifecycleRow, TaskRow};
use crate::view::{group_list, Decision, LifeKind};
use crate::wire::Task;
use chrono::{DateTime, Utc};

/// The note a checklist carries when its request was marked ready earlier and no longer is.
pub const NO_LONGER_READY: &str = "Note: this request was marked ready to grant earlier and no longer is; do not grant it until this checklist says READY again.";

/// A mark on the task: not a comment, set in the same edit as the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Move to the ready column (`ready_column`, or `[phabricator.columns] ready`).
    ReadyColumn(Phid),
    /// Move to the column of another verdict (`[phabricator.columns]`).
    Column(Phid),
    /// Tag with the ready tag.
    ReadyTag(Phid),
    /// Take the ready tag off.
    UnreadyTag(Phid),
}

impl Mark {
    /// The effect kind (logs, metrics, `Effect::kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Mark::ReadyColumn(_) => "ready-column",
            Mark::Column(_) => "column",
            Mark::ReadyTag(_) => "ready-tag",
            Mark::UnreadyTag(_) => "unready-tag",
        }
    }

    /// The column or project.
    pub fn target(&self) -> &Phid {
        match self {
            Mark::ReadyColumn(p) | Mark::Column(p) | Mark::ReadyTag(p) | Mark::UnreadyTag(p) => p,
        }
    }

    /// The `maniphest.edit` transaction.
    pub fn transaction(&self) -> serde_json::Value {
        let ty = match self {
            Mark::ReadyColumn(_) | Mark::Column(_) => "column",
            Mark::ReadyTag(_) => "projects.add",
            Mark::UnreadyTag(_) => "projects.remove",
        };
        serde_json::json!({"type": ty, "value": [self.target().as_str()]})
    }
}

/// A comment of the lifecycle after ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    /// The granted comment.
    Granted,
    /// The expiry reminder.
    Reminder,
    /// The expired note.
    Expired,
    /// A removal task's comment.
    Removal,
}

impl PostKind {
    /// The effect kind.
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Granted => "granted",
            PostKind::Reminder => "reminder",
            PostKind::Expired => "expired",
            PostKind::Removal => "removal",
        }
    }
}

/// What to do on one task.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The task.
    pub task: TaskId,
    /// Its verdict now.
    pub verdict: Verdict,
    /// The checklist comment, when it differs from the bot's last one.
    pub comment: Option<String>,
    /// The stale nudge, in the same edit as the checklist.
    pub nudge: Option<String>,
    /// Marks set in that edit.
    pub marks: Vec<Mark>,
    /// The lifecycle's comments, each its own edit, in order.
    pub posts: Vec<(PostKind, String)>,
    /// The row to store once the plan is applied (the posted hash already set when a
    /// checklist is posted; its transaction is filled in by the apply).
    pub row: TaskRow,
    /// The audit entry, when the verdict changed.
    pub audit: Option<AuditRecord>,
    /// The lifecycle row to store, if any.
    pub lifecycle: Option<LifecycleRow>,
    /// Whether this is the first time the bot evaluates the task (no stored evaluation).
    pub first_sight: bool,
}

impl Plan {
    /// The comments the plan posts (each counts against `[effects] max_posts_per_cycle`).
    pub fn comments(&self) -> usize {
        usize::from(self.comment.is_some()) + usize::from(self.nudge.is_some()) + self.posts.len()
    }

    /// When the request began (its tag time, else its creation): older requests go first.
    pub fn age_key(&self) -> DateTime<Utc> {
        self.row.tagged_at.unwrap_or(self.row.created_at)
    }
}

/// Everything a plan is made of.
pub struct Input<'a> {
    /// The task as read.
    pub task: &'a Task,
    /// The newest transaction id read.
    pub last_xact: Option<i64>,
    /// Its gathered facts and timeline.
    pub g: &'a Gathered,
    /// The checklist as evaluated.
    pub checklist: Checklist,
    /// Whether the task is still tagged with the watched project.
    pub tracked: bool,
    /// The stored row, if any.
    pub row: Option<TaskRow>,
    /// The stored lifecycle row, if any.
    pub life: Option<LifecycleRow>,
    /// The current `data.yaml`.
    pub data_yaml: &'a DataYaml,
    /// The ready column and tag as resolved at start-up.
    pub ready_column: Option<&'a Phid>,
    /// The ready tag.
    pub ready_tag: Option<&'a Phid>,
    /// The rules.
    pub rules: &'a Rules,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The people to mention live in a checklist (issue 17): for each check that is not passing
/// and became needed since the bot's `earlier` checklist on the task (it passed or was absent
/// there, or waited for another role), the accounts whose action it waits for, each once with
/// the check ids, in checklist order. The bookkeeping is the earlier checklist itself (read
/// back from the timeline), so it survives a restart and a lost database.
///
/// Only accounts the bot resolved are named (fail closed): the subject's account (else the
/// task's author) for the requester, the named manager only when it is an existing enabled
/// account (`Gathered::manager_account`), a group's configured approvers, the configured
/// executives, SRE deciders, legal users and clinic duty. Never the bot, never requester text.
pub fn needed_now(
    checklist: &Checklist,
    g: &Gathered,
    rules: &Rules,
    earlier: Option<&str>,
) -> Vec<(String, Vec<String>)> {
    use crate::policy::{CheckId, Subject, Who};
    let before = earlier.map(report::waiting_in).unwrap_or_default();
    let f = &g.facts;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for c in checklist.checks.iter().filter(|c| c.status != Status::Pass) {
        let Some(who) = c.who else { continue };
        let id = c.id.to_string();
        if before
            .get(&id)
            .is_some_and(|w| w.as_deref() == Some(who.as_str()))
        {
            continue;
        }
        let people: Vec<String> = match (&c.id, who) {
            (CheckId::LeadApproval(group), Who::ProjectLead) => rules
                .group(group)
                .map(|gr| {
                    gr.approvers
                        .iter()
                        .map(|u| u.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            (CheckId::ExecutiveSignoff, _) => rules
                .people
                .executives
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            (_, Who::Requester) => match &f.subject {
                Subject::Known { username, .. } => vec![username.as_str().to_string()],
                _ => vec![f.author.as_str().to_string()],
            },
            (_, Who::Manager) => g
                .manager_account
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            (_, Who::ProjectLead) => Vec::new(),
            (_, Who::Sre) => rules
                .people
                .sre_deciders
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            (_, Who::Legal) => rules
                .people
                .legal_users
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            (_, Who::ClinicDuty) => vec![rules.phabricator.clinic_duty.clone()],
        };
        for p in people {
            if p.eq_ignore_ascii_case(f.bot_user.as_str())
                || p.starts_with("PHID-")
                || !report::is_mentionable(&p)
            {
                continue;
            }
            match out.iter_mut().find(|(u, _)| u.eq_ignore_ascii_case(&p)) {
                Some((_, ids)) => {
                    if !ids.contains(&id) {
                        ids.push(id.clone());
                    }
                }
                None => out.push((p, vec![id.clone()])),
            }
        }
    }
    out
}

/// Whether the request is granted (design §11, [`lifecycle::granted`]), decided from the
/// task as read and gathered (its status; open and still tagged as its facts say) and what the
/// store held of it before this evaluation (its row's verdict, its lifecycle row's grant), and
/// its checklist marked so when it is (verdict `granted`, no `until`): the one place the
/// poller's plan and `accessbot check` decide it.
pub fn settle_granted(
    checklist: &mut Checklist,
    t: &Task,
    g: &Gathered,
    row: Option<&TaskRow>,
    life: Option<&LifecycleRow>,
    data_yaml: &DataYaml,
    now: DateTime<Utc>,
) -> Option<GrantedBy> {
    let granted = lifecycle::granted(&lifecycle::GrantFacts {
        checklist,
        status: &t.fields.status.value,
        open: g.facts.open,
        tracked: g.facts.tagged,
        timeline: &g.timeline,
        stored_verdict: row.map(|r| r.verdict),
        stored_granted: lifecycle::stored_granted(life),
        data_yaml,
        now,
    });
    if granted.is_some() {
        checklist.verdict = Verdict::Granted;
        checklist.until = None;
    }
    granted
}

/// The plan of an evaluated task (pure).
pub fn plan(input: Input) -> Plan {
    let Input {
        task: t,
        last_xact,
        g,
        mut checklist,
        tracked,
        row,
        life,
        data_yaml,
        ready_column,
        ready_tag,
        rules,
        now,
    } = input;
    let id = TaskId::new(t.id);
    let granted = settle_granted(
        &mut checklist,
        t,
        g,
        row.as_ref(),
        life.as_ref(),
        data_yaml,
        now,
    );
    let first_sight = row.as_ref().is_none_or(|r| r.evaluated_at.is_none());
    let mut row = row.unwrap_or_else(|| TaskRow {
        id,
        ..TaskRow::default()
    });
    let old_verdict = row.evaluated_at.is_some().then_some(row.verdict);
    let tz = rules.timing.timezone;
    sudo_bookkeeping(&mut row, &checklist, g, now);

    // The checklist comment: only when it differs from the bot's last one on the task (a
    // removal task gets its removal comment instead, below).
    let active = checklist.request.kind != RequestKind::Removal
        && matches!(
            checklist.verdict,
            Verdict::Ready | Verdict::Waiting | Verdict::Blocked | Verdict::Declined
        );
    let note = (row.ready_marked && checklist.verdict != Verdict::Ready && active)
        .then_some(NO_LONGER_READY);
    let last_posted = g
        .timeline
        .bot_comments
        .iter()
        .rev()
        .find(|c| !c.removed && report::is_checklist(&c.text));
    // Later checklists begin with what changed since the last one.
    let changes = last_posted.and_then(|c| report::changes_line(&c.text, &checklist));
    // The people whose action became needed since that checklist are mentioned live, once.
    let mentions = report::mentions_line(&needed_now(
        &checklist,
        g,
        rules,
        last_posted.map(|c| c.text.as_str()),
    ));
    let text = report::comment_with_mentions(
        &checklist,
        changes.as_deref(),
        mentions.as_deref(),
        note,
        tz,
        now,
    );
    let hash = report::comment_hash(&text);
    let last_hash = last_posted.map(|c| report::comment_hash(&c.text));
    // A notice that the task could not be read, after the last checklist, said that
    // checklist no longer holds: the checklist is posted again even if it is the same.
    let after_notice = g
        .timeline
        .bot_comments
        .iter()
        .rev()
        .filter(|c| !c.removed)
        .take_while(|c| !report::is_checklist(&c.text))
        .any(|c| report::is_unreadable_notice(&c.text));
    let post_checklist = active && (after_notice || last_hash.as_deref() != Some(hash.as_str()));

    // Ready to grant: the column / tag, once; the tag comes off when it no longer is. Other
    // verdicts with a column (`[phabricator.columns]`): moved there when the verdict changes.
    let mut marks = Vec::new();
    let marking = checklist.verdict == Verdict::Ready && !row.ready_marked;
    if marking {
        let column = ready_column
            .cloned()
            .or_else(|| rules.column("ready").map(Phid::from));
        marks.extend(column.map(Mark::ReadyColumn));
        marks.extend(ready_tag.cloned().map(Mark::ReadyTag));
    } else if checklist.verdict != Verdict::Ready {
        if row.ready_marked {
            if let Some(tag) = ready_tag {
                let has_tag = t
                    .attachments
                    .projects
                    .as_ref()
                    .is_some_and(|p| p.project_phids.contains(tag));
                if has_tag {
                    marks.push(Mark::UnreadyTag(tag.clone()));
                }
            }
        }
        if old_verdict != Some(checklist.verdict) {
            marks.extend(
                rules
                    .column(checklist.verdict.as_str())
                    .map(|c| Mark::Column(Phid::from(c))),
            );
        }
    }
    if post_checklist {
        row.posted_hash = Some(hash);
        row.posted_xact = None;
        row.posted_at = Some(now);
    } else if let Some(c) = last_posted {
        row.posted_hash = last_hash;
        row.posted_xact = Some(c.xact.to_string());
    }
    if marking {
        row.ready_marked = !marks.is_empty();
    }

    // Stale nudge: once per stretch without progress, read back from the timeline too. A
    // stretch counts from when the bot first saw the task (its first comment there; now, if it
    // has none yet): a first run on a backlog nudges nothing, and a request nobody acted on
    // is nudged once it stayed stale that long after the bot's first checklist.
    let mut nudge = None;
    let first_seen = g
        .timeline
        .bot_comments
        .iter()
        .map(|c| c.at)
        .min()
        .unwrap_or(now);
    // The stretch as the bot counts it (stored as the row's `last_activity`, which the poll
    // tests for a due nudge).
    let stretch = g.timeline.last_activity.map(|la| la.max(first_seen));
    if let (Some(la), Some(since)) = (g.timeline.last_activity, stretch) {
        let stretch_nudged = row.nudged_for == Some(since)
            || g.timeline.bot_comments.iter().any(|c| {
                c.at >= la
                    && !report::is_checklist(&c.text)
                    && !lifecycle::is_lifecycle_comment(&c.text)
            });
        // Only when someone must act: a request waiting for time alone is not stale.
        if checklist.verdict == Verdict::Blocked
            && policy::is_stale(since, now, &rules.timing)
            && !stretch_nudged
        {
            nudge = Some(report::stale_nudge(
                &rules.phabricator.clinic_duty,
                la,
                crate::calendar::business_days_elapsed(la, now, &rules.timing),
                tz,
            ));
        }
        if nudge.is_some() || stretch_nudged {
            row.nudged_for = Some(since);
        }
    }

    // After ready: the granted comment, the expiry, the removal comment.
    let mut posts = Vec::new();
    let (lifecycle, granted_wake) = lifecycle_plan(
        t, g, &checklist, granted, life, data_yaml, rules, now, &mut posts,
    );

    let audit = (old_verdict != Some(checklist.verdict)).then(|| AuditRecord {
        task: id,
        at: now.timestamp(),
        old: old_verdict.map(|v| v.as_str().to_string()),
        new: checklist.verdict.as_str().to_string(),
        evidence: serde_json::to_string(&checklist.checks).unwrap_or_default(),
    });
    fill_row(&mut row, t, last_xact, g, &checklist, now, tracked);
    row.last_activity = stretch;
    if let Some(wake) = granted_wake {
        // Nobody must act on a granted request; it is read again when its expiry is due.
        row.who = Vec::new();
        row.wake_at = wake;
    }
    Plan {
        task: id,
        verdict: checklist.verdict,
        comment: post_checklist.then_some(text),
        nudge,
        marks,
        posts,
        row,
        audit,
        lifecycle,
        first_sight,
    }
}

/// Sudo bookkeeping: the meeting, who decided.
fn sudo_bookkeeping(row: &mut TaskRow, checklist: &Checklist, g: &Gathered, now: DateTime<Utc>) {
    match checklist.sudo_meeting {
        Some(m) => {
            if row.first_meeting.is_none() {
                row.first_meeting = Some(m);
            }
            // When the rest was complete (from the facts), not when the bot saw it.
            row.first_ready_at
                .get_or_insert(checklist.sudo_ready_at.unwrap_or(now));
            row.meeting = Some(m);
        }
        None if checklist.verdict != Verdict::Declined => {
            row.meeting = None;
            row.first_meeting = None;
            row.first_ready_at = None;
        }
        None => {}
    }
    let review = checklist
        .checks
        .iter()
        .find(|c| c.id == policy::CheckId::SudoReview);
    match review {
        Some(c) if checklist.verdict == Verdict::Declined || c.status == Status::Pass => {
            row.decision = Some(if checklist.verdict == Verdict::Declined {
                Decision::Declined
            } else {
                Decision::Approved
            });
            if let Some(e) = c.evidence.last() {
                if let Some(cf) = g
                    .facts
                    .comments
                    .iter()
                    .find(|cf| e.xact() == Some(&cf.xact))
                {
                    row.decided_by = Some(cf.author.to_string());
                    row.decided_at = Some(cf.at);
                }
            }
        }
        _ => {
            row.decision = None;
            row.decided_by = None;
            row.decided_at = None;
        }
    }
}

/// The lifecycle after ready (see [`crate::lifecycle`]): a removal task's comment, when it
/// differs from the bot's last one; a granted request's comment, once, then its expiry
/// reminder or expired note, each once, every one of them read back from the task. Returns
/// the lifecycle row to store and, for a granted request, when it must be read again
/// (`Some(None)`: only when it changes).
#[allow(clippy::too_many_arguments)]
fn lifecycle_plan(
    t: &Task,
    g: &Gathered,
    checklist: &Checklist,
    granted: Option<GrantedBy>,
    life: Option<LifecycleRow>,
    data_yaml: &DataYaml,
    rules: &Rules,
    now: DateTime<Utc>,
    posts: &mut Vec<(PostKind, String)>,
) -> (Option<LifecycleRow>, Option<Option<DateTime<Utc>>>) {
    let id = TaskId::new(t.id);
    if checklist.request.kind == RequestKind::Removal {
        let Some(removal) = crate::removal::removal(&t.fields.name, &g.facts.parsed, rules) else {
            return (None, None);
        };
        let last = lifecycle::last_removal_comment(&g.timeline);
        let label = rules
            .path(&rules.keys.data_yaml)
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "data.yaml".into());
        if let Some(text) = lifecycle::removal_text(id, &removal, data_yaml, &label, last.is_some())
        {
            let hash = lifecycle::removal_hash(&text);
            if last.map(|c| lifecycle::removal_hash(&c.text)) != Some(hash) {
                posts.push((PostKind::Removal, text));
            }
        }
        let (shell_user, groups) = match &removal {
            crate::removal::Removal::Target { user, groups } => {
                (Some(user.to_string()), groups.join(","))
            }
            crate::removal::Removal::Doubt(_) => (None, String::new()),
        };
        let row = LifecycleRow {
            task_id: id,
            kind: LifeKind::Removal,
            shell_user,
            groups,
            ..LifecycleRow::default()
        };
        return (Some(row), None);
    }
    let Some(by) = granted else {
        // The title no longer asks for a removal.
        let row = life
            .filter(|l| l.kind == LifeKind::Removal)
            .map(|old| LifecycleRow {
                kind: LifeKind::User,
                shell_user: None,
                groups: String::new(),
                ..old
            });
        return (row, None);
    };

    // Whose access and which groups: as recorded when it was granted (a later description
    // edit moves nothing), else the request's.
    let mut life = life
        .filter(|l| l.kind == LifeKind::User)
        .unwrap_or_else(|| LifecycleRow {
            task_id: id,
            kind: LifeKind::User,
            ..LifecycleRow::default()
        });
    if life.granted.is_none() {
        let (user, groups) = lifecycle::access_of(checklist)
            .map(|(u, g)| (Some(u), g.join(",")))
            .unwrap_or((checklist.request.shell_user.clone(), String::new()));
        life.shell_user = user;
        life.groups = groups;
        life.granted = Some(by);
    }
    let user = life.shell_user.clone();
    let groups = group_list(&life.groups);
    let stored = life.expiry_date.map(|date| lifecycle::Expiry {
        date,
        contact: life.expiry_contact.clone(),
    });
    let expiry = lifecycle::expiry_of(
        user.as_deref(),
        data_yaml,
        stored,
        lifecycle::request_expiry(checklist),
    );
    life.expiry_date = expiry.as_ref().map(|e| e.date);
    life.expiry_contact = expiry.as_ref().and_then(|e| e.contact.clone());
    let shown: Vec<String> = match (by, data_yaml.known(), &user) {
        (GrantedBy::DataYaml(_), Some(d), Some(u)) => d.access(u, &groups).member_of,
        _ => groups.clone(),
    };
    let texts = lifecycle::Granted {
        task: id,
        // The person the access is for: the subject (the author while it is unknown).
        person: g
            .facts
            .subject
            .username()
            .unwrap_or(&g.facts.author)
            .as_str(),
        shell_user: user.as_deref(),
        groups: &shown,
        expiry: expiry.as_ref(),
        clinic_duty: &rules.phabricator.clinic_duty,
        sees_data_yaml: !matches!(data_yaml, DataYaml::NotConfigured),
    };
    if lifecycle::granted_comment(&g.timeline).is_none() {
        posts.push((
            PostKind::Granted,
            lifecycle::granted_text(&texts, by, rules),
        ));
    }

    // The expiry: each comment once per expiry date, read back from the task.
    let date = expiry.as_ref().map(|e| e.date);
    let reminder = date.and_then(|d| lifecycle::reminder_posted(&g.timeline, d));
    let note = date.and_then(|d| lifecycle::expired_posted(&g.timeline, d));
    if let Some(c) = reminder.filter(|_| life.reminded_for != date) {
        life.reminded_at = Some(c.at);
        life.reminded_for = date;
    }
    if let Some(c) = note.filter(|_| life.expired_for != date) {
        life.expired_noted_at = Some(c.at);
        life.expired_for = date;
    }
    let reminded = date.is_some() && life.reminded_for == date;
    let noted = date.is_some() && life.expired_for == date;
    let still = lifecycle::still_present(data_yaml, user.as_deref(), &groups);
    let step = lifecycle::expiry_plan(expiry.as_ref(), now, rules, reminded, noted, still);
    match step.step {
        lifecycle::Step::Nothing => {}
        lifecycle::Step::Remind => {
            posts.push((
                PostKind::Reminder,
                lifecycle::reminder_text(&texts, now, rules),
            ));
            life.reminded_at = Some(now);
            life.reminded_for = date;
        }
        lifecycle::Step::NoteExpired { verified } => {
            posts.push((PostKind::Expired, lifecycle::expired_text(&texts, verified)));
            life.expired_noted_at = Some(now);
            life.expired_for = date;
        }
    }
    (Some(life), Some(step.wake_at))
}

/// A Conduit time (epoch seconds) as a row's time (the epoch when out of range).
pub fn epoch(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Copies the evaluation into the stored row.
fn fill_row(
    row: &mut TaskRow,
    t: &Task,
    last_xact: Option<i64>,
    g: &Gathered,
    checklist: &Checklist,
    now: DateTime<Utc>,
    tracked: bool,
) {
    row.phid = t.phid.clone();
    row.title = t.fields.name.clone();
    row.requester = g.facts.author.clone();
    row.shell_user = checklist.request.shell_user.clone();
    row.groups = checklist.request.groups.join(",");
    // The SRE meeting's track (a requested group's `review`, or a privilege change that may
    // grant sudo): what the agenda lists.
    row.sudo = checklist.request.review == Some(crate::rules::Review::Meeting);
    row.open = tracked && g.facts.open;
    row.verdict = checklist.verdict;
    row.until_at = checklist.until;
    row.who = report::who_must_act(checklist);
    row.tagged_at = g.timeline.tagged_at;
    row.created_at = g
        .timeline
        .created_at
        .unwrap_or_else(|| epoch(t.fields.date_created));
    row.date_modified = epoch(t.fields.date_modified);
    row.last_activity = g.timeline.last_activity;
    let mut json = serde_json::to_value(checklist).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.insert(
            "first_meeting".into(),
            row.first_meeting.map(|m| m.to_string()).into(),
        );
    }
    row.report_json = json.to_string();
    row.evaluated_at = Some(now);
    row.last_xact_id = last_xact.unwrap_or(row.last_xact_id);
    // Re-read when the earliest time-bound item settles.
    row.wake_at = checklist
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .filter_map(|c| c.until)
        .filter(|u| *u > now)
        .min();
    row.checklist_hash = Some(report::comment_hash(&report::comment(
        checklist,
        chrono_tz::UTC,
        now,
    )));
}
