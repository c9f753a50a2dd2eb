//! The policy as data: loads and validates `rules/` (policy.toml, groups.toml, phrases.toml).
//!
//! Every threshold, name and phrase the bot uses comes from here. A broken file is refused
//! as a whole with an error that names the file, the line and the key.

use crate::ids::Username;
pub use crate::statement::{Phrases, ReadingRules, Vocabulary};
use crate::statement::{Reading, Statement, WordSet};
use chrono::{NaiveDate, Weekday};
use regex::{Regex, RegexBuilder, RegexSetBuilder};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod locate;
mod phrases;

use locate::read;
pub use locate::{de, locate};
use phrases::{
    bundled_phrases_raw, compile_phrases, form_phrases, lifecycle_phrases,
    privilege_change_phrases, reading_nothing,
};

/// The phrases bundled with the binary; used when a rules directory has no `phrases.toml`.
pub(crate) const BUNDLED_PHRASES: &str = include_str!("../../../rules/phrases.toml");
/// The bundled policy (the demo's).
pub(crate) const BUNDLED_POLICY: &str = include_str!("../../../rules/policy.toml");
/// The bundled groups (the demo's).
pub(crate) const BUNDLED_GROUPS: &str = include_str!("../../../rules/groups.toml");

/// A rules error fit to show an operator: file, line (when known), key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RulesError {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line, when it can be located.
    pub line: Option<usize>,
    /// The dotted key, e.g. `timing.waiting_period_days`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// `[phabricator]` in policy.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhabricatorRules {
    /// The project (name or slug) whose tasks are requests.
    pub project: String,
    /// Username pinged on stale requests.
    pub clinic_duty: String,
    /// Optional workboard column PHID to move ready tasks to ("" = none).
    #[serde(default)]
    pub ready_column: String,
    /// Optional project (name) to tag ready tasks with ("" = none).
    #[serde(default)]
    pub ready_tag: String,
    /// `[phabricator.columns]`: the workboard column PHID of each verdict (`ready`,
    /// `waiting`, `blocked`, `declined`, `granted`); `ready_column` is the short form of
    /// `ready`. Read them with [`Rules::column`].
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// The Maniphest status values that close a task (the server's closed statuses); any other
    /// status, a custom one too, is open, so that the task stays tracked. Read with
    /// [`PhabricatorRules::is_open`].
    #[serde(default = "default_closed_statuses")]
    pub closed_statuses: Vec<String>,
}

/// Phorge's closed statuses as shipped (`maniphest.statuses`).
pub(crate) fn default_closed_statuses() -> Vec<String> {
    [
        "resolved",
        "declined",
        "invalid",
        "duplicate",
        "wontfix",
        "spite",
    ]
    .map(String::from)
    .into()
}

impl PhabricatorRules {
    /// Whether a Maniphest status value is open: anything but `closed_statuses`.
    pub fn is_open(&self, status: &str) -> bool {
        !self.closed_statuses.iter().any(|s| s == status)
    }
}

/// The verdicts `[phabricator.columns]` may name.
pub(crate) const COLUMN_VERDICTS: [&str; 5] =
    ["ready", "waiting", "blocked", "declined", "granted"];

/// `[effects]` in policy.toml: how much the bot may post.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectsRules {
    /// The most comments posted in one cycle (checklists, stale nudges, the lifecycle's
    /// comments); the rest wait for later cycles, ready requests first, then the oldest.
    #[serde(default = "default_max_posts")]
    pub max_posts_per_cycle: u32,
}

impl Default for EffectsRules {
    fn default() -> Self {
        EffectsRules {
            max_posts_per_cycle: default_max_posts(),
        }
    }
}

fn default_max_posts() -> u32 {
    20
}

/// `[people]` in policy.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleRules {
    /// Members of these projects are staff: NDA covered, no expiry needed.
    #[serde(default)]
    pub staff_projects: Vec<String>,
    /// Members of these projects have an NDA on file.
    #[serde(default)]
    pub nda_projects: Vec<String>,
    /// Users who may confirm an NDA on the task.
    #[serde(default)]
    pub legal_users: Vec<Username>,
    /// Users whose SRE-meeting decision comments count.
    #[serde(default)]
    pub sre_deciders: Vec<Username>,
    /// Executives whose sign-off a volunteer's request needs once everything else passes
    /// (design §11); empty: no executive sign-off is asked for.
    #[serde(default)]
    pub executives: Vec<Username>,
    /// Members of these projects are research collaborators: a volunteer among them may join
    /// a `private_data` group.
    #[serde(default)]
    pub research_projects: Vec<String>,
    /// Users whose `research_confirmed` comment confirms a research collaboration.
    #[serde(default)]
    pub research_users: Vec<Username>,
    /// The latest expiry date a time-limited request may give, in days after it was filed.
    #[serde(default = "default_max_expiry_days")]
    pub max_expiry_days: u32,
}

fn default_max_expiry_days() -> u32 {
    366
}

/// How the bot learns the channel (web/email/conduit) of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelSource {
    /// Read `Via Web` / `Via Email` markers from the task's web page.
    TaskPage,
    /// The operator asserts that the install accepts no email replies.
    NoInboundMail,
}

/// `[evidence]` in policy.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRules {
    /// The channel source.
    #[serde(default = "default_channel")]
    pub channel: ChannelSource,
    /// Optional file holding a `phsid` session cookie for reading non-public task pages.
    #[serde(default)]
    pub session_cookie_file: String,
    /// The most "Show Older Changes" parts read for one task page (100 events each).
    #[serde(default = "default_max_older_pages")]
    pub max_older_pages: u32,
}

fn default_max_older_pages() -> u32 {
    crate::wire::MAX_OLDER_PAGES
}

fn default_channel() -> ChannelSource {
    ChannelSource::TaskPage
}

impl Default for EvidenceRules {
    fn default() -> Self {
        EvidenceRules {
            channel: ChannelSource::TaskPage,
            session_cookie_file: String::new(),
            max_older_pages: default_max_older_pages(),
        }
    }
}

/// Where the L3 signature can be learnt from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum L3Source {
    /// `legalpad.signature.search`.
    Legalpad,
    /// A file of signer usernames exported from Legalpad.
    SignersFile,
    /// An "L3 verified" comment by one of `[l3] verifiers`.
    VerifierComment,
}

/// `[l3]` in policy.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L3Rules {
    /// The sources, any of which may show the signature.
    #[serde(default = "default_l3_sources")]
    pub sources: Vec<L3Source>,
    /// The Legalpad document monogram.
    #[serde(default = "default_l3_document")]
    pub document: String,
    /// Whose "L3 verified" comment counts.
    #[serde(default)]
    pub verifiers: Vec<Username>,
    /// One username per line, exported from Legalpad L3.
    #[serde(default)]
    pub signers_file: String,
}

fn default_l3_sources() -> Vec<L3Source> {
    vec![L3Source::Legalpad]
}
fn default_l3_document() -> String {
    "L3".into()
}

/// `[keys]` in policy.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRules {
    /// Allowed key algorithms, by their OpenSSH names. DSA is refused even if listed.
    #[serde(default = "default_allowed")]
    pub allowed: Vec<String>,
    /// Minimum RSA modulus size in bits.
    #[serde(default = "default_min_rsa")]
    pub min_rsa_bits: u32,
    /// Optional file of public keys used elsewhere (Cloud VPS), one a line.
    #[serde(default)]
    pub known_keys_file: String,
    /// Optional path of the admin module's data.yaml.
    #[serde(default)]
    pub data_yaml: String,
    /// Shell usernames a new account may not take: exact names, `prefix*` or `*suffix`.
    #[serde(default = "default_reserved_shell_users")]
    pub reserved_shell_users: Vec<String>,
}

fn default_allowed() -> Vec<String> {
    vec!["ssh-ed25519".into(), "ssh-rsa".into()]
}

/// The Debian base system accounts, plus `admin`, `sshd`, `systemd-*` and `*-admin` (design
/// §10); `rules/policy.toml` spells the same list out.
fn default_reserved_shell_users() -> Vec<String> {
    [
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "admin",
        "sshd",
        "systemd-*",
        "*-admin",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Why an entry of `[keys] reserved_shell_users` is malformed, if it is: a shell username, or
/// one with a single `*` standing for the rest at its start or its end.
fn reserved_entry_problem(entry: &str) -> Option<String> {
    let fixed = entry
        .strip_suffix('*')
        .or_else(|| entry.strip_prefix('*'))
        .unwrap_or(entry);
    let shaped = !fixed.is_empty()
        && fixed.len() < 32
        && fixed
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if !shaped {
        return Some(format!(
            "{entry:?} is neither a shell username nor one with a single * at its start or end (e.g. \"systemd-*\", \"*-admin\")"
        ));
    }
    // An exact name, or a prefix pattern, must itself begin like a shell username.
    let first = fixed.as_bytes()[0];
    if !(entry.starts_with('*') || first.is_ascii_lowercase() || first == b'_') {
        return Some(format!(
            "{entry:?} can never match: a shell username begins with a lowercase letter or _"
        ));
    }
    None
}

impl KeyRules {
    /// The entry of `reserved_shell_users` that `user` matches, if any.
    pub(crate) fn reserved_entry(&self, user: &crate::ids::ShellUser) -> Option<&str> {
        let name = user.as_str();
        self.reserved_shell_users
            .iter()
            .find(|e| match (e.strip_suffix('*'), e.strip_prefix('*')) {
                (Some(prefix), _) => name.starts_with(prefix),
                (_, Some(suffix)) => name.ends_with(suffix),
                _ => name == e.as_str(),
            })
            .map(String::as_str)
    }

    /// Why a new account may not be given this shell username (fit to post: the name matches
    /// the shell username pattern), or `None` when it may.
    pub(crate) fn shell_user_refusal(&self, user: &crate::ids::ShellUser) -> Option<String> {
        let entry = self.reserved_entry(user)?;
        let what = if entry == user.as_str() {
            String::new()
        } else {
            format!(" (like every name {entry})")
        };
        Some(format!(
            "the shell username {user} is reserved for a system account{what}: choose another name"
        ))
    }
}
fn default_min_rsa() -> u32 {
    4096
}

impl Default for KeyRules {
    fn default() -> Self {
        KeyRules {
            allowed: default_allowed(),
            min_rsa_bits: default_min_rsa(),
            known_keys_file: String::new(),
            data_yaml: String::new(),
            reserved_shell_users: default_reserved_shell_users(),
        }
    }
}

/// `[timing]` in policy.toml (raw form; see [`Timing`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimingRaw {
    #[serde(default = "default_tz")]
    timezone: String,
    #[serde(default = "default_wait")]
    waiting_period_days: u32,
    #[serde(default)]
    waiting_period_business_days: bool,
    #[serde(default = "default_stale")]
    stale_after_business_days: u32,
    #[serde(default = "default_reconcile")]
    reconcile_minutes: u32,
    #[serde(default = "default_reconcile_all")]
    reconcile_all_hours: u32,
    #[serde(default = "default_weekend")]
    weekend: Vec<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default = "default_poll")]
    poll_seconds: u64,
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    #[serde(default = "default_cache_ttl")]
    cache_ttl_minutes: u32,
}

fn default_tz() -> String {
    "UTC".into()
}
fn default_wait() -> u32 {
    3
}
fn default_stale() -> u32 {
    5
}
fn default_reconcile() -> u32 {
    30
}
fn default_reconcile_all() -> u32 {
    6
}
fn default_weekend() -> Vec<String> {
    vec!["Sat".into(), "Sun".into()]
}
fn default_poll() -> u64 {
    60
}
fn default_concurrency() -> usize {
    8
}
fn default_cache_ttl() -> u32 {
    60
}

/// `[timing]`, validated.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Time zone in which days, business days and meetings are counted.
    pub timezone: chrono_tz::Tz,
    /// Waiting period after tagging for non-sudo requests.
    pub waiting_period_days: u32,
    /// Whether the waiting period counts business days.
    pub waiting_period_business_days: bool,
    /// Business days without progress before clinic duty is pinged.
    pub stale_after_business_days: u32,
    /// How often the timelines of open requests whose checklist rests on comments (or a
    /// paste) are re-read.
    pub reconcile_minutes: u32,
    /// How often the other open requests' timelines are re-read (never more often than
    /// `reconcile_minutes`).
    pub reconcile_all_hours: u32,
    /// Weekend days.
    pub weekend: Vec<Weekday>,
    /// Holidays (no business day).
    pub holidays: Vec<NaiveDate>,
    /// Default poll interval for `run`.
    pub poll_seconds: u64,
    /// The most Conduit requests in flight at once.
    pub concurrency: usize,
    /// How long cached users, memberships and Legalpad answers live.
    pub cache_ttl_minutes: u32,
}

/// `[meeting]` in policy.toml (raw form).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingRaw {
    #[serde(default = "default_meeting_day")]
    weekday: String,
    #[serde(default = "default_every")]
    every_weeks: u32,
    anchor: String,
    #[serde(default = "default_cutoff")]
    cutoff_hours: u32,
    #[serde(default = "default_meeting_time")]
    time: String,
    #[serde(default = "default_stale_agenda_days")]
    stale_agenda_days: u32,
}

fn default_meeting_day() -> String {
    "Mon".into()
}
fn default_every() -> u32 {
    2
}
fn default_cutoff() -> u32 {
    24
}
fn default_meeting_time() -> String {
    "15:00".into()
}
fn default_stale_agenda_days() -> u32 {
    14
}

/// `[meeting]`, validated.
#[derive(Debug, Clone)]
pub struct Meeting {
    /// The weekday of the SRE meeting.
    pub weekday: Weekday,
    /// Every how many weeks it takes place.
    pub every_weeks: u32,
    /// A day on which the meeting took place.
    pub anchor: NaiveDate,
    /// A request ready for review later than this many hours before a meeting goes to the next.
    pub cutoff_hours: u32,
    /// Local start time of the meeting.
    pub time: chrono::NaiveTime,
    /// The agenda's stale section lists a blocked or waiting request once it is this many days
    /// old, even if it saw activity lately (a stale one is listed at any age).
    pub stale_agenda_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRaw {
    phabricator: PhabricatorRules,
    #[serde(default = "default_people")]
    people: PeopleRules,
    #[serde(default)]
    evidence: EvidenceRules,
    #[serde(default = "default_l3")]
    l3: L3Rules,
    #[serde(default)]
    keys: KeyRules,
    timing: Option<TimingRaw>,
    meeting: MeetingRaw,
    #[serde(default)]
    lifecycle: LifecycleRaw,
    #[serde(default)]
    effects: EffectsRules,
}

/// `[lifecycle]` in policy.toml (raw form; see [`Lifecycle`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleRaw {
    #[serde(default = "default_reminder_days")]
    expiry_reminder_days: u32,
}

impl Default for LifecycleRaw {
    fn default() -> Self {
        LifecycleRaw {
            expiry_reminder_days: default_reminder_days(),
        }
    }
}

fn default_reminder_days() -> u32 {
    14
}

/// `[lifecycle]` of policy.toml and of phrases.toml, validated: what happens after a request
/// is granted, and how a task asking for a removal is recognised.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// How many days before a granted request's expiry date the expiry contact is reminded.
    pub expiry_reminder_days: u32,
    /// A task title asking to remove access (any of the patterns).
    pub removal: Regex,
    /// Patterns, tried in order, that read whose access (`(?P<user>…)`) and optionally which
    /// groups (`(?P<groups>…)`) a removal title names.
    pub removal_target: Vec<Regex>,
}

fn default_people() -> PeopleRules {
    PeopleRules {
        staff_projects: vec![],
        nda_projects: vec![],
        legal_users: vec![],
        sre_deciders: vec![],
        executives: vec![],
        research_projects: vec![],
        research_users: vec![],
        max_expiry_days: default_max_expiry_days(),
    }
}
fn default_l3() -> L3Rules {
    L3Rules {
        sources: default_l3_sources(),
        document: default_l3_document(),
        verifiers: vec![],
        signers_file: String::new(),
    }
}

/// How a request to join a group is reviewed (groups.toml `review`, design §11): the access
/// page asks for a security review at the SRE meeting for a *new level* of sudo, while joining
/// a group at the level of the rest of one's team needs the approvals only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Review {
    /// A security review at the SRE meeting (`sudo-review`); the default for `sudo = true`.
    Meeting,
    /// The waiting period after tagging (`waiting-period`); the default for other groups.
    WaitingPeriod,
}

/// What membership of a group is (groups.toml `kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKind {
    /// A POSIX group of the admin module's `data.yaml`: a shell account and an SSH key.
    #[default]
    Shell,
    /// An LDAP-only group (`wmf`, `nda`, `klaxon-users`): no shell account, no key; granted
    /// with `modify-ldap-group`.
    Ldap,
}

/// One group of `groups.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Whether membership grants sudo.
    #[serde(default)]
    pub sudo: bool,
    /// Project leads; one of them must approve.
    pub approvers: Vec<Username>,
    /// What the group gives access to.
    #[serde(default)]
    pub description: String,
    /// How joining is reviewed, as written (`None`: the default, see [`Group::review`]).
    #[serde(default, rename = "review")]
    pub review_as_written: Option<Review>,
    /// Membership gives access to private data: someone who is not staff needs a research
    /// collaboration (`data-access`).
    #[serde(default)]
    pub private_data: bool,
    /// A shell group or an LDAP-only group.
    #[serde(default)]
    pub kind: GroupKind,
    /// LDAP-only groups: members of these projects are eligible (`eligibility:<group>`).
    #[serde(default)]
    pub eligible_projects: Vec<String>,
    /// LDAP-only groups: a file of eligible usernames, one a line (e.g. an exported steward
    /// list); relative to the rules directory; `""`: none.
    #[serde(default)]
    pub eligible_file: String,
}

impl Group {
    /// How joining the group is reviewed: as written, else `meeting` for a sudo group and the
    /// waiting period for the others.
    pub fn review(&self) -> Review {
        self.review_as_written.unwrap_or(if self.sudo {
            Review::Meeting
        } else {
            Review::WaitingPeriod
        })
    }

    /// Whether the group is LDAP-only.
    pub fn is_ldap(&self) -> bool {
        self.kind == GroupKind::Ldap
    }

    /// Whether joining needs an eligibility check (`eligibility:<group>`).
    pub fn has_eligibility(&self) -> bool {
        !self.eligible_projects.is_empty() || !self.eligible_file.trim().is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsRaw {
    groups: BTreeMap<String, Group>,
}

/// `[labels]` of phrases.toml: the label aliases of each request field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// Full name.
    pub full_name: Vec<String>,
    /// Wikitech (LDAP) username.
    pub wikitech_user: Vec<String>,
    /// Shell username.
    pub shell_user: Vec<String>,
    /// Email address.
    pub email: Vec<String>,
    /// SSH public key.
    pub ssh_key: Vec<String>,
    /// Requested groups.
    pub groups: Vec<String>,
    /// Reason for access.
    pub reason: Vec<String>,
    /// Manager or sponsor.
    pub manager: Vec<String>,
    /// Expiry date.
    pub expiry_date: Vec<String>,
    /// Expiry contact.
    pub expiry_contact: Vec<String>,
    /// The Phabricator account the request is for (design §10). Optional in a phrases.toml
    /// written before it existed: the bundled aliases apply.
    #[serde(default = "default_phabricator_user_labels")]
    pub phabricator_user: Vec<String>,
    /// A group privilege change (design §11): the existing group whose privileges change.
    /// Optional: the bundled aliases apply.
    #[serde(default = "default_existing_group_labels")]
    pub existing_group: Vec<String>,
    /// A group privilege change: the change requested. Optional: the bundled aliases apply.
    #[serde(default = "default_requested_change_labels")]
    pub requested_change: Vec<String>,
    /// A group privilege change: the impact if it is rejected. Optional: the bundled aliases
    /// apply.
    #[serde(default = "default_impact_labels")]
    pub impact: Vec<String>,
    /// `[form]` of phrases.toml, compiled (not a `[labels]` key: [`Rules`] sets it; labels read
    /// alone carry the bundled `[form]`), so that the request parser has it with the labels.
    #[serde(skip)]
    pub form: FormRules,
}

/// `[form]` of phrases.toml: how a request is read besides its labelled fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormRaw {
    title: Vec<String>,
    pointer: Vec<String>,
    #[serde(default)]
    key_reuse: Option<Vec<String>>,
    #[serde(default)]
    key_fresh: Option<Vec<String>>,
    #[serde(default)]
    sudo_asked: Option<Vec<String>>,
    #[serde(default)]
    sudo_not_asked: Option<Vec<String>>,
    #[serde(default)]
    account_shared: Option<Vec<String>>,
    #[serde(default)]
    account_personal: Option<Vec<String>>,
}

/// `[form]` of phrases.toml, compiled.
#[derive(Debug, Clone)]
pub struct FormRules {
    /// Titles (or a `Subject:` line) that name the groups and the user when the description
    /// does not, tried in order; each has `(?P<groups>…)` and `(?P<user>…)` captures.
    pub title: Vec<Regex>,
    /// Text in a key field that points somewhere else instead of giving the key (a user page,
    /// a Gerrit change): the key check then says where the key must be.
    pub pointer: Regex,
    /// A sentence of the requester's own words that says the request's key is used elsewhere
    /// too ("the same key I use for Cloud VPS"): `key-fresh` fails.
    pub key_reuse: Regex,
    /// A sentence that says the key is new or not used elsewhere ("not the key I use on
    /// Toolforge", "a new dedicated key"): it is not read as reuse, whatever else it says.
    pub key_fresh: Regex,
    /// A sentence of a user request's own words that asks for sudo or root ("I also need sudo
    /// on the analytics hosts"): when no requested group gives sudo, `known-groups` fails.
    pub sudo_asked: Regex,
    /// A sentence matching one of these does not ask for sudo ("no sudo needed").
    pub sudo_not_asked: Regex,
    /// A sentence of a user request's own words that says the account would be shared, used
    /// by someone else or run by a program ("a shared account for our team", "my colleague
    /// will use this account too"): `one-user` fails.
    pub account_shared: Regex,
    /// A sentence matching one of these does not say so ("not shared with anyone").
    pub account_personal: Regex,
}

impl Default for FormRules {
    /// The bundled `[form]`.
    fn default() -> FormRules {
        static BUNDLED: OnceLock<FormRules> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                // Only `[form]` is read here: reading the whole bundle would build `Labels`,
                // whose `form` is this default.
                #[derive(Deserialize)]
                struct Bundled {
                    form: FormRaw,
                }
                let raw: Bundled = toml::from_str(BUNDLED_PHRASES)
                    .expect("the bundled phrases have a [form] table");
                form_phrases(&raw.form, &|key, message| RulesError {
                    file: PathBuf::from("phrases.toml"),
                    line: None,
                    key: key.into(),
                    message,
                })
                .expect("the bundled [form] compiles")
            })
            .clone()
    }
}

impl FormRules {
    /// Whether two compiled `[form]`s hold the same patterns.
    pub fn same(&self, other: &FormRules) -> bool {
        self.pointer.as_str() == other.pointer.as_str()
            && self.key_reuse.as_str() == other.key_reuse.as_str()
            && self.key_fresh.as_str() == other.key_fresh.as_str()
            && self.sudo_asked.as_str() == other.sudo_asked.as_str()
            && self.sudo_not_asked.as_str() == other.sudo_not_asked.as_str()
            && self.account_shared.as_str() == other.account_shared.as_str()
            && self.account_personal.as_str() == other.account_personal.as_str()
            && self.title.len() == other.title.len()
            && self
                .title
                .iter()
                .zip(&other.title)
                .all(|(a, b)| a.as_str() == b.as_str())
    }
}

fn default_existing_group_labels() -> Vec<String> {
    bundled_labels(|l| &l.existing_group)
}

fn default_requested_change_labels() -> Vec<String> {
    bundled_labels(|l| &l.requested_change)
}

fn default_impact_labels() -> Vec<String> {
    bundled_labels(|l| &l.impact)
}

/// One alias list of the bundled phrases.toml, for a phrases.toml written before it existed.
fn bundled_labels(pick: fn(&Labels) -> &Vec<String>) -> Vec<String> {
    pick(&bundled_phrases_raw().labels).clone()
}

fn default_phabricator_user_labels() -> Vec<String> {
    [
        "Phabricator username",
        "Phabricator user",
        "Phabricator account",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhrasesRaw {
    labels: Labels,
    phrases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    forms: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    vocabulary: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    negated: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    examples: Option<BTreeMap<String, String>>,
    #[serde(default)]
    reading: Option<BTreeMap<String, Vec<String>>>,
    /// Optional: without it the bundled `[lifecycle]` phrases apply.
    #[serde(default)]
    lifecycle: Option<LifecyclePhrasesRaw>,
    /// Optional: without it the bundled `[privilege_change]` phrases apply.
    #[serde(default)]
    privilege_change: Option<PrivilegeChangeRaw>,
    /// Optional: without it the bundled `[form]` phrases apply.
    #[serde(default)]
    form: Option<FormRaw>,
}

/// `[privilege_change]` of phrases.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivilegeChangeRaw {
    title: Vec<String>,
    sudo: Vec<String>,
}

/// `[privilege_change]` of phrases.toml, compiled: how a task asking to change an access
/// group's privileges is recognised, and what makes a change grant sudo (design §11).
#[derive(Debug, Clone)]
pub struct PrivilegeChangeRules {
    /// Titles of a privilege change, tried in order; a `(?P<group>…)` capture, when a pattern
    /// has one, names the group.
    pub title: Vec<Regex>,
    /// Any match in the title or the description (code included, after folding) means the
    /// change may grant sudo.
    pub sudo: Regex,
}

/// `[lifecycle]` of phrases.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecyclePhrasesRaw {
    removal: Vec<String>,
    removal_target: Vec<String>,
}

impl crate::statement::Lexicon for Rules {
    fn phrases(&self) -> &Phrases {
        Rules::phrases(self)
    }
    fn is_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }
}

/// A reader's lexicon before a [`Rules`] holds its phrases: the compiled phrases and the
/// groups, for the check that the examples read as what they say.
struct Compiled<'a> {
    phrases: &'a Phrases,
    groups: &'a BTreeMap<String, Group>,
}

impl crate::statement::Lexicon for Compiled<'_> {
    fn phrases(&self) -> &Phrases {
        self.phrases
    }
    fn is_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }
}

/// The forms the bot tells people to write (`[examples]`) must read as what they say.
fn check_examples(
    phrases: &Phrases,
    groups: &BTreeMap<String, Group>,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<(), RulesError> {
    let lexicon = Compiled { phrases, groups };
    let reader = crate::statement::Reader::new(&lexicon);
    for (st, example) in &phrases.reading.examples {
        let mut texts = vec![example.clone()];
        if *st == Statement::Approve {
            if let Some(g) = groups.keys().next() {
                texts.push(approve_for(example, g));
            }
        }
        for text in texts {
            if !matches!(reader.read(&text).get(*st), Reading::Yes { .. }) {
                return Err(xerr(
                    &format!("examples.{}", st.key()),
                    format!(
                        "{text:?} does not read as {} with these phrases",
                        st.describe()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The reading phrases of a [`Rules`] (`[phrases]`, `[vocabulary]`, `[negated]`, `[forms]`,
/// `[examples]`, `[reading]` of phrases.toml): compiled when the rules are loaded
/// ([`Rules::load`]), or when first read for a rule set loaded for the views
/// ([`Rules::load_for_views`]).
#[derive(Debug, Clone)]
enum PhrasesCell {
    /// Compiled and checked at load.
    Compiled(Phrases),
    /// Parsed, not compiled yet: compiled by [`Rules::phrases`] on first use.
    Deferred {
        compiled: OnceLock<Phrases>,
        source: std::sync::Arc<PhrasesSource>,
    },
}

/// What a deferred [`PhrasesCell`] compiles from: phrases.toml parsed, and its path and text
/// for the error's file and line.
#[derive(Debug)]
struct PhrasesSource {
    raw: PhrasesRaw,
    file: PathBuf,
    text: String,
}

/// How much of phrases.toml a load compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compile {
    /// Everything, refusing the rules on the first error.
    Everything,
    /// All but the reading phrases, which are compiled on first use.
    AllButReading,
}

/// The whole, validated rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    /// `[phabricator]`.
    pub phabricator: PhabricatorRules,
    /// `[people]`.
    pub people: PeopleRules,
    /// `[evidence]`.
    pub evidence: EvidenceRules,
    /// `[l3]`.
    pub l3: L3Rules,
    /// `[keys]`.
    pub keys: KeyRules,
    /// `[timing]`.
    pub timing: Timing,
    /// `[meeting]`.
    pub meeting: Meeting,
    /// Groups by lowercase name.
    pub groups: BTreeMap<String, Group>,
    /// Field label aliases.
    pub labels: Labels,
    /// The reading phrases: [`Rules::phrases`].
    phrases: PhrasesCell,
    /// `[lifecycle]`: expiry reminders and removal tasks.
    pub lifecycle: Lifecycle,
    /// `[privilege_change]` of phrases.toml: group privilege changes.
    pub privilege_change: PrivilegeChangeRules,
    /// `[effects]`: how much the bot may post in one cycle.
    pub effects: EffectsRules,
    /// The directory the rules were read from (relative paths in the rules resolve against it).
    pub dir: PathBuf,
}

impl Rules {
    /// Reads and validates a rules directory.
    pub fn load(dir: &Path) -> Result<Rules, RulesError> {
        Self::load_compiling(dir, Compile::Everything)
    }

    /// Reads and validates a rules directory for the views that never read a comment
    /// (`agenda`, `expiring`): as [`Rules::load`], except that the reading phrases of
    /// phrases.toml (`[phrases]`, `[vocabulary]`, `[negated]`, `[forms]`, `[examples]`,
    /// `[reading]`) are parsed but not compiled or checked: that is most of the time a load
    /// takes (the regexes and their prefilter). phrases.toml must still parse (unknown keys
    /// refused), its `[labels]`, `[form]`, `[lifecycle]` and `[privilege_change]` are compiled
    /// and checked, policy.toml and groups.toml are validated in full.
    ///
    /// The reading phrases are compiled when first read ([`Rules::phrases`], the reader's
    /// [`crate::statement::Lexicon`]). Should they not compile then (or their examples not
    /// read as what they say), which [`Rules::load`] refuses at load, the error is logged and
    /// the rules read with phrases under which no comment counts (every pattern matches
    /// nothing): fail closed, never a panic. `agenda` and `expiring` never get there: they
    /// read no comment. Anything that evaluates requests loads with [`Rules::load`].
    pub fn load_for_views(dir: &Path) -> Result<Rules, RulesError> {
        Self::load_compiling(dir, Compile::AllButReading)
    }

    fn load_compiling(dir: &Path, compile: Compile) -> Result<Rules, RulesError> {
        let policy_path = dir.join("policy.toml");
        let groups_path = dir.join("groups.toml");
        let phrases_path = dir.join("phrases.toml");
        let policy_text = read(&policy_path)?;
        let groups_text = read(&groups_path)?;
        let (phrases_text, phrases_path) = if phrases_path.exists() {
            (read(&phrases_path)?, phrases_path)
        } else {
            (
                BUNDLED_PHRASES.to_string(),
                PathBuf::from("<bundled>/phrases.toml"),
            )
        };
        Self::from_texts_compiling(
            dir,
            (&policy_path, &policy_text),
            (&groups_path, &groups_text),
            (&phrases_path, &phrases_text),
            compile,
        )
    }

    /// Validates rules given as texts (paths are used in messages and to resolve relative files).
    pub fn from_texts(
        dir: &Path,
        policy: (&Path, &str),
        groups: (&Path, &str),
        phrases: (&Path, &str),
    ) -> Result<Rules, RulesError> {
        Self::from_texts_compiling(dir, policy, groups, phrases, Compile::Everything)
    }

    fn from_texts_compiling(
        dir: &Path,
        policy: (&Path, &str),
        groups: (&Path, &str),
        phrases: (&Path, &str),
        compile: Compile,
    ) -> Result<Rules, RulesError> {
        let raw: PolicyRaw = de(policy.0, policy.1)?;
        let groups_raw: GroupsRaw = de(groups.0, groups.1)?;
        let phrases_raw: PhrasesRaw = de(phrases.0, phrases.1)?;
        let perr = |key: &str, message: String| RulesError {
            file: policy.0.to_path_buf(),
            line: locate(policy.1, key),
            key: key.to_string(),
            message,
        };
        // Every bounded number is refused with the same words.
        let in_range = |key: &str, value: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(perr(key, format!("{value} is out of range ({lo} to {hi})")))
            }
        };

        if let Some(i) = raw
            .phabricator
            .closed_statuses
            .iter()
            .position(|s| s.trim().is_empty() || s == "open")
        {
            return Err(perr(
                "phabricator.closed_statuses",
                format!(
                    "entry {} is {:?}: name the status values that close a task",
                    i + 1,
                    raw.phabricator.closed_statuses[i]
                ),
            ));
        }
        if raw.phabricator.project.trim().is_empty() {
            return Err(perr(
                "phabricator.project",
                "must name the project whose tasks are requests".into(),
            ));
        }
        if raw.phabricator.clinic_duty.trim().is_empty() {
            return Err(perr(
                "phabricator.clinic_duty",
                "must name the clinic duty user".into(),
            ));
        }
        if !raw.phabricator.ready_column.is_empty()
            && !raw.phabricator.ready_column.starts_with("PHID-PCOL-")
        {
            return Err(perr(
                "phabricator.ready_column",
                "must be a column PHID (PHID-PCOL-…) or empty".into(),
            ));
        }
        for (verdict, column) in &raw.phabricator.columns {
            let key = format!("phabricator.columns.{verdict}");
            if !COLUMN_VERDICTS.contains(&verdict.as_str()) {
                return Err(perr(
                    &key,
                    format!(
                        "{verdict:?} is not a verdict with a column (one of {})",
                        COLUMN_VERDICTS.join(", ")
                    ),
                ));
            }
            if !column.starts_with("PHID-PCOL-") {
                return Err(perr(&key, "must be a column PHID (PHID-PCOL-…)".into()));
            }
        }
        if let Some(ready) = raw.phabricator.columns.get("ready") {
            if !raw.phabricator.ready_column.is_empty() && *ready != raw.phabricator.ready_column {
                return Err(perr(
                    "phabricator.columns.ready",
                    "differs from phabricator.ready_column (its short form): set one of them"
                        .into(),
                ));
            }
        }
        in_range(
            "effects.max_posts_per_cycle",
            raw.effects.max_posts_per_cycle.into(),
            1,
            100_000,
        )?;
        if raw.l3.sources.is_empty() {
            return Err(perr(
                "l3.sources",
                "at least one source is needed (legalpad, signers-file, verifier-comment)".into(),
            ));
        }
        if raw.l3.sources.contains(&L3Source::SignersFile) && raw.l3.signers_file.trim().is_empty()
        {
            return Err(perr(
                "l3.signers_file",
                "the signers-file source needs a signers_file path".into(),
            ));
        }
        if raw.l3.sources.contains(&L3Source::VerifierComment) && raw.l3.verifiers.is_empty() {
            return Err(perr(
                "l3.verifiers",
                "the verifier-comment source needs at least one verifier".into(),
            ));
        }
        in_range(
            "evidence.max_older_pages",
            raw.evidence.max_older_pages.into(),
            1,
            1000,
        )?;
        if raw.keys.allowed.is_empty() {
            return Err(perr(
                "keys.allowed",
                "at least one key algorithm must be allowed".into(),
            ));
        }
        for alg in &raw.keys.allowed {
            if alg == "ssh-dss" {
                return Err(perr(
                    "keys.allowed",
                    "ssh-dss (DSA) keys are never acceptable".into(),
                ));
            }
            if !KNOWN_ALGORITHMS.contains(&alg.as_str()) {
                return Err(perr(
                    "keys.allowed",
                    format!(
                        "unknown key algorithm {alg:?} (known: {})",
                        KNOWN_ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        for entry in &raw.keys.reserved_shell_users {
            if let Some(problem) = reserved_entry_problem(entry) {
                return Err(perr("keys.reserved_shell_users", problem));
            }
        }
        in_range(
            "people.max_expiry_days",
            raw.people.max_expiry_days.into(),
            1,
            3660,
        )?;
        for (key, names) in [
            ("people.executives", &raw.people.executives),
            ("people.research_users", &raw.people.research_users),
        ] {
            if names.iter().any(|u| u.as_str().trim().is_empty()) {
                return Err(perr(key, "a username is empty".into()));
            }
        }
        if raw
            .people
            .research_projects
            .iter()
            .any(|p| p.trim().is_empty())
        {
            return Err(perr(
                "people.research_projects",
                "a project name is empty".into(),
            ));
        }
        in_range(
            "keys.min_rsa_bits",
            raw.keys.min_rsa_bits.into(),
            2048,
            16384,
        )?;

        let t = raw
            .timing
            .unwrap_or_else(|| toml::from_str("").expect("timing defaults"));
        let timezone: chrono_tz::Tz = t.timezone.parse().map_err(|_| {
            perr(
                "timing.timezone",
                format!(
                    "unknown time zone {:?} (use an IANA name such as Europe/Berlin)",
                    t.timezone
                ),
            )
        })?;
        let mut weekend = Vec::new();
        for d in &t.weekend {
            weekend.push(parse_weekday(d).ok_or_else(|| {
                perr(
                    "timing.weekend",
                    format!("{d:?} is not a weekday (Mon … Sun)"),
                )
            })?);
        }
        if weekend.len() >= 7 {
            return Err(perr(
                "timing.weekend",
                "a week needs at least one business day".into(),
            ));
        }
        let mut holidays = Vec::new();
        for h in &t.holidays {
            holidays.push(NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                perr(
                    "timing.holidays",
                    format!("{h:?} is not a date (YYYY-MM-DD)"),
                )
            })?);
        }
        if t.reconcile_minutes == 0 {
            return Err(perr(
                "timing.reconcile_minutes",
                "must be at least 1".into(),
            ));
        }
        if t.reconcile_all_hours == 0 {
            return Err(perr(
                "timing.reconcile_all_hours",
                "must be at least 1".into(),
            ));
        }
        in_range("timing.concurrency", t.concurrency as u64, 1, 64)?;
        if t.waiting_period_days > 365 {
            return Err(perr(
                "timing.waiting_period_days",
                "more than a year is surely a mistake".into(),
            ));
        }
        let timing = Timing {
            timezone,
            waiting_period_days: t.waiting_period_days,
            waiting_period_business_days: t.waiting_period_business_days,
            stale_after_business_days: t.stale_after_business_days,
            reconcile_minutes: t.reconcile_minutes,
            reconcile_all_hours: t.reconcile_all_hours,
            weekend,
            holidays,
            poll_seconds: t.poll_seconds.max(1),
            concurrency: t.concurrency,
            cache_ttl_minutes: t.cache_ttl_minutes,
        };

        let m = raw.meeting;
        let meeting = Meeting {
            weekday: parse_weekday(&m.weekday).ok_or_else(|| {
                perr(
                    "meeting.weekday",
                    format!("{:?} is not a weekday (Mon … Sun)", m.weekday),
                )
            })?,
            every_weeks: if m.every_weeks == 0 {
                return Err(perr("meeting.every_weeks", "must be at least 1".into()));
            } else {
                m.every_weeks
            },
            anchor: NaiveDate::parse_from_str(&m.anchor, "%Y-%m-%d").map_err(|_| {
                perr(
                    "meeting.anchor",
                    format!("{:?} is not a date (YYYY-MM-DD)", m.anchor),
                )
            })?,
            cutoff_hours: m.cutoff_hours,
            time: chrono::NaiveTime::parse_from_str(&m.time, "%H:%M").map_err(|_| {
                perr(
                    "meeting.time",
                    format!("{:?} is not a time (HH:MM)", m.time),
                )
            })?,
            stale_agenda_days: if m.stale_agenda_days == 0 {
                return Err(perr(
                    "meeting.stale_agenda_days",
                    "must be at least 1".into(),
                ));
            } else {
                m.stale_agenda_days
            },
        };
        if parse_weekday(&m.weekday) != Some(chrono::Datelike::weekday(&meeting.anchor)) {
            return Err(perr(
                "meeting.anchor",
                format!(
                    "{} is a {:?}, not the meeting weekday {}",
                    meeting.anchor,
                    chrono::Datelike::weekday(&meeting.anchor),
                    m.weekday
                ),
            ));
        }

        let gerr = |key: &str, message: String| RulesError {
            file: groups.0.to_path_buf(),
            line: locate(groups.1, key),
            key: key.to_string(),
            message,
        };
        if groups_raw.groups.is_empty() {
            return Err(gerr("groups", "no groups are defined".into()));
        }
        let mut groups_map = BTreeMap::new();
        for (name, g) in groups_raw.groups {
            let key = format!("groups.{name}.approvers");
            if g.approvers.is_empty() {
                return Err(gerr(
                    &key,
                    "each group needs at least one approver (project lead)".into(),
                ));
            }
            if g.approvers.iter().any(|a| a.as_str().is_empty()) {
                return Err(gerr(&key, "an approver is empty".into()));
            }
            check_group_process(dir, &name, &g, &gerr)?;
            let lower = name.to_lowercase();
            if let Some((first, _)) = groups_map.insert(lower.clone(), (name.clone(), g)) {
                // Name the definition that comes later in the file: that is the duplicate.
                let line_of_group = |n: &str| locate(groups.1, &format!("groups.{n}"));
                let later = if line_of_group(&first) > line_of_group(&name) {
                    first
                } else {
                    name
                };
                return Err(gerr(
                    &format!("groups.{later}"),
                    format!("group {lower:?} is defined twice (names are case-insensitive)"),
                ));
            }
        }

        let mut labels = phrases_raw.labels.clone();
        let xerr = |key: &str, message: String| RulesError {
            file: phrases.0.to_path_buf(),
            line: locate(phrases.1, key),
            key: key.to_string(),
            message,
        };
        for (field, aliases) in labels.fields() {
            if aliases.is_empty() || aliases.iter().any(|a| a.trim().is_empty()) {
                return Err(xerr(
                    &format!("labels.{field}"),
                    "needs at least one non-empty label".into(),
                ));
            }
        }
        labels.form = match &phrases_raw.form {
            Some(raw) => form_phrases(raw, &xerr)?,
            None => FormRules::default(),
        };
        let lifecycle_raw = phrases_raw.lifecycle.clone();
        let privilege_change = privilege_change_phrases(
            phrases_raw
                .privilege_change
                .as_ref()
                .or(bundled_phrases_raw().privilege_change.as_ref())
                .expect("the bundled phrases have a [privilege_change] table"),
            &xerr,
        )?;
        let reading = match compile {
            Compile::Everything => PhrasesCell::Compiled(compile_phrases(phrases_raw, &xerr)?),
            Compile::AllButReading => PhrasesCell::Deferred {
                compiled: OnceLock::new(),
                source: std::sync::Arc::new(PhrasesSource {
                    raw: phrases_raw,
                    file: phrases.0.to_path_buf(),
                    text: phrases.1.to_string(),
                }),
            },
        };

        let days = raw.lifecycle.expiry_reminder_days;
        in_range("lifecycle.expiry_reminder_days", days.into(), 1, 365)?;
        let lifecycle = match lifecycle_raw {
            Some(l) => lifecycle_phrases(days, &l, &xerr)?,
            None => {
                // The bundled `[lifecycle]` phrases, for a phrases.toml written without them.
                let bundled: PhrasesRaw = de(Path::new("<bundled>/phrases.toml"), BUNDLED_PHRASES)?;
                let l = bundled
                    .lifecycle
                    .expect("the bundled phrases have a [lifecycle] table");
                lifecycle_phrases(days, &l, &xerr)?
            }
        };

        let groups: BTreeMap<String, Group> =
            groups_map.into_iter().map(|(k, (_, g))| (k, g)).collect();
        if let PhrasesCell::Compiled(p) = &reading {
            check_examples(p, &groups, &xerr)?;
        }
        Ok(Rules {
            phabricator: raw.phabricator,
            people: raw.people,
            evidence: raw.evidence,
            l3: raw.l3,
            keys: raw.keys,
            timing,
            meeting,
            groups,
            labels,
            phrases: reading,
            lifecycle,
            privilege_change,
            effects: raw.effects,
            dir: dir.to_path_buf(),
        })
    }

    /// The reading phrases of phrases.toml, compiled (on first use for rules loaded with
    /// [`Rules::load_for_views`]; should they not compile then, phrases under which no comment
    /// counts, and the error logged).
    pub fn phrases(&self) -> &Phrases {
        match &self.phrases {
            PhrasesCell::Compiled(p) => p,
            PhrasesCell::Deferred { compiled, source } => {
                compiled.get_or_init(|| self.compile_deferred(source))
            }
        }
    }

    /// Compiles and checks deferred reading phrases as [`Rules::load`] does; on an error,
    /// logs it and returns phrases under which no comment counts.
    fn compile_deferred(&self, source: &PhrasesSource) -> Phrases {
        let xerr = |key: &str, message: String| RulesError {
            file: source.file.clone(),
            line: locate(&source.text, key),
            key: key.to_string(),
            message,
        };
        let checked = compile_phrases(source.raw.clone(), &xerr)
            .and_then(|p| check_examples(&p, &self.groups, &xerr).map(|()| p));
        match checked {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(
                    "the reading phrases do not compile ({e}): no comment counts with these rules"
                );
                reading_nothing()
            }
        }
    }

    /// The rules bundled with the binary (the repository's `rules/`).
    pub fn bundled() -> Result<Rules, RulesError> {
        let dir = Path::new("<bundled>");
        Self::from_texts(
            dir,
            (&dir.join("policy.toml"), BUNDLED_POLICY),
            (&dir.join("groups.toml"), BUNDLED_GROUPS),
            (&dir.join("phrases.toml"), BUNDLED_PHRASES),
        )
    }

    /// The bundled rules, parsed once, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> &'static Rules {
        static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
        RULES.get_or_init(|| Rules::bundled().expect("the bundled rules are valid"))
    }

    /// A group by name, case-insensitively.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(&name.to_lowercase())
    }

    /// The workboard column configured for a verdict (`[phabricator.columns]`, and
    /// `ready_column` for `ready`), if any.
    pub fn column(&self, verdict: &str) -> Option<&str> {
        let p = &self.phabricator;
        p.columns
            .get(verdict)
            .map(String::as_str)
            .or_else(|| (verdict == "ready").then_some(p.ready_column.as_str()))
            .filter(|c| !c.is_empty())
    }

    /// Resolves a path from the rules (relative to the rules directory); `None` for "".
    pub fn path(&self, p: &str) -> Option<PathBuf> {
        if p.trim().is_empty() {
            None
        } else if Path::new(p).is_absolute() {
            Some(PathBuf::from(p))
        } else {
            Some(self.dir.join(p))
        }
    }
}

/// The process keys of one group (design §11): an LDAP-only group grants no sudo; eligibility
/// is for LDAP-only groups; an eligible file must be readable now (a typo in its path would
/// otherwise leave every request for the group pending).
fn check_group_process(
    dir: &Path,
    name: &str,
    g: &Group,
    gerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<(), RulesError> {
    let key = |k: &str| format!("groups.{name}.{k}");
    if g.is_ldap() && g.sudo {
        return Err(gerr(
            &key("sudo"),
            "an LDAP-only group (kind = \"ldap\") gives no shell account, so it cannot grant sudo"
                .into(),
        ));
    }
    if !g.is_ldap() {
        for (k, set) in [
            ("eligible_projects", !g.eligible_projects.is_empty()),
            ("eligible_file", !g.eligible_file.is_empty()),
        ] {
            if set {
                return Err(gerr(
                    &key(k),
                    "eligibility applies to LDAP-only groups: add kind = \"ldap\" or remove it"
                        .into(),
                ));
            }
        }
    }
    if g.eligible_projects.iter().any(|p| p.trim().is_empty()) {
        return Err(gerr(
            &key("eligible_projects"),
            "a project name is empty".into(),
        ));
    }
    if !g.eligible_file.is_empty() {
        let file = g.eligible_file.trim();
        if file.is_empty() {
            return Err(gerr(&key("eligible_file"), "the path is blank".into()));
        }
        let path = if Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            dir.join(file)
        };
        if let Err(e) = std::fs::read_to_string(&path) {
            return Err(gerr(
                &key("eligible_file"),
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
    Ok(())
}

/// The example of an approval scoped to a group: "Approved." → "Approved for deployment.".
pub fn approve_for(example: &str, group: &str) -> String {
    let base = example.trim_end().trim_end_matches(['.', '!']);
    format!("{base} for {group}.")
}

impl Labels {
    /// Each field name with its aliases.
    pub fn fields(&self) -> [(&'static str, &Vec<String>); 14] {
        [
            ("full_name", &self.full_name),
            ("wikitech_user", &self.wikitech_user),
            ("shell_user", &self.shell_user),
            ("email", &self.email),
            ("ssh_key", &self.ssh_key),
            ("groups", &self.groups),
            ("reason", &self.reason),
            ("manager", &self.manager),
            ("expiry_date", &self.expiry_date),
            ("expiry_contact", &self.expiry_contact),
            ("phabricator_user", &self.phabricator_user),
            ("existing_group", &self.existing_group),
            ("requested_change", &self.requested_change),
            ("impact", &self.impact),
        ]
    }
}

/// Key algorithm names the key checker knows.
pub(crate) const KNOWN_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn parse_weekday(s: &str) -> Option<Weekday> {
    s.trim().parse::<Weekday>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Rules {
        Rules::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../rules"
        )))
        .expect("bundled rules load")
    }

    #[test]
    fn bundled_rules_are_valid() {
        let r = bundled();
        assert!(r.group("Analytics-Privatedata-Users").is_some());
        assert!(r.phrases().approve.is_match("Approved."));
        assert!(r.phrases().withdraw.is_match("not approved"));
        assert_eq!(r.meeting.weekday, Weekday::Mon);
    }

    #[test]
    fn reserved_shell_users_match_names_prefixes_and_suffixes() {
        let keys = KeyRules::default();
        let user = |s: &str| s.parse::<crate::ids::ShellUser>().expect("valid");
        for (name, entry) in [
            ("root", Some("root")),
            ("www-data", Some("www-data")),
            ("nobody", Some("nobody")),
            ("systemd-network", Some("systemd-*")),
            ("systemd-", Some("systemd-*")),
            ("db-admin", Some("*-admin")),
            ("-admin", None), // not a shell username at all: never reaches the list
            ("rooted", None),
            ("systemd", None),
            ("admins", None),
            ("administrator", None),
            ("jdoe", None),
        ] {
            if name.starts_with('-') {
                assert!(name.parse::<crate::ids::ShellUser>().is_err());
                continue;
            }
            assert_eq!(keys.reserved_entry(&user(name)), entry, "{name}");
        }
        assert_eq!(
            keys.shell_user_refusal(&user("db-admin")).as_deref(),
            Some("the shell username db-admin is reserved for a system account (like every name *-admin): choose another name")
        );
        assert_eq!(keys.shell_user_refusal(&user("jdoe")), None);
        // The bundled policy.toml spells out the same list as the default.
        assert_eq!(
            bundled().keys.reserved_shell_users,
            default_reserved_shell_users()
        );
    }

    #[test]
    fn malformed_reserved_entries_are_refused() {
        for bad in [
            "",
            "*",
            "**",
            "sys*tem",
            "*sys*",
            "Root",
            "ro ot",
            "1abc",
            "-x",
            "a".repeat(33).as_str(),
        ] {
            assert!(reserved_entry_problem(bad).is_some(), "{bad:?} accepted");
        }
        for good in ["root", "_apt", "systemd-*", "*-admin", "*1", "x*"] {
            assert_eq!(reserved_entry_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn locate_finds_keys_where_the_parser_saw_them() {
        let text = "a = 1\n\n[groups.deployment]\nsudo = true\napprovers = [\n  \"x\",\n]\n\n[groups.\"odd.name\"]\nsudo = false\n\n[t]\ninline = { k = 1 }\nx.y = 2\n";
        assert_eq!(locate(text, "a"), Some(1));
        // An implicit table (`groups`) has no line of its own; its members do.
        assert_eq!(locate(text, "groups.deployment"), Some(3));
        assert_eq!(locate(text, "groups.deployment.approvers"), Some(5));
        // A quoted key holding a dot, and a key that is not there: its table's line.
        assert_eq!(locate(text, "groups.odd.name.sudo"), Some(10));
        assert_eq!(locate(text, "groups.deployment.missing"), Some(3));
        assert_eq!(locate(text, "t.inline.k"), Some(13));
        assert_eq!(locate(text, "t.x.y"), Some(14));
        assert_eq!(locate(text, "nowhere"), None);
        assert_eq!(locate("a = [", "a"), None);
    }

    /// One bundled rules file's text.
    fn bundled_text(file: &str) -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules");
        std::fs::read_to_string(format!("{dir}/{file}")).unwrap()
    }

    /// The bundled rules with this policy.toml and phrases.toml text.
    fn with_texts(policy: &str, phrases: &str) -> Result<Rules, RulesError> {
        Rules::from_texts(
            Path::new("r"),
            (Path::new("r/policy.toml"), policy),
            (Path::new("r/groups.toml"), &bundled_text("groups.toml")),
            (Path::new("r/phrases.toml"), phrases),
        )
    }

    fn with_phrases(phrases: &str) -> Result<Rules, RulesError> {
        with_texts(&bundled_text("policy.toml"), phrases)
    }

    fn with_policy(policy: &str) -> Result<Rules, RulesError> {
        with_texts(policy, BUNDLED_PHRASES)
    }

    #[test]
    fn the_form_table_is_read_and_checked() {
        let r = bundled();
        assert!(r
            .labels
            .form
            .pointer
            .is_match("see https://wikitech.wikimedia.org/wiki/User:Jdoe"));
        assert!(r.labels.form.same(&FormRules::default()));
        // A phrases.toml without [form] gets the bundled one.
        let start = BUNDLED_PHRASES.find("[form]").unwrap();
        let end = start + BUNDLED_PHRASES[start..].find("\n[phrases]").unwrap();
        let without = format!("{}{}", &BUNDLED_PHRASES[..start], &BUNDLED_PHRASES[end..]);
        assert!(with_phrases(&without)
            .unwrap()
            .labels
            .form
            .same(&FormRules::default()));
        // Its own patterns replace the bundled ones.
        let own = BUNDLED_PHRASES.replace(
            "'requesting\\s+access\\s+to",
            "'^access\\s+(?P<groups>\\S+)\\s+for\\s+(?P<user>\\S+)$', 'requesting\\s+access\\s+to",
        );
        assert_ne!(own, BUNDLED_PHRASES);
        let r = with_phrases(&own).unwrap();
        assert_eq!(r.labels.form.title.len(), 2);
        assert!(!r.labels.form.same(&FormRules::default()));
        // A title pattern must say where the groups and the user are.
        let bad = BUNDLED_PHRASES.replace("(?P<user>", "(?P<someone>");
        let e = with_phrases(&bad).unwrap_err();
        assert_eq!(e.key, "form.title");
        assert!(e.message.contains("(?P<user>"), "{e}");
        assert!(e.line.is_some(), "{e}");
        let bad = BUNDLED_PHRASES.replace("pointer = [", "pointer = [ '(unclosed',");
        assert_eq!(with_phrases(&bad).unwrap_err().key, "form.pointer");
        // These are optional (the bundled ones apply) but never empty or broken, nor hold a
        // backspace where a TOML "…" string was given `\b`.
        for key in [
            "key_reuse",
            "key_fresh",
            "sudo_asked",
            "sudo_not_asked",
            "account_shared",
            "account_personal",
        ] {
            let start = BUNDLED_PHRASES.find(&format!("\n{key} = [")).unwrap() + 1;
            let end = start + BUNDLED_PHRASES[start..].find("\n]\n").unwrap() + 3;
            let without = format!("{}{}", &BUNDLED_PHRASES[..start], &BUNDLED_PHRASES[end..]);
            assert!(
                with_phrases(&without)
                    .unwrap()
                    .labels
                    .form
                    .same(&FormRules::default()),
                "{key}"
            );
            let empty = format!(
                "{}{key} = []\n{}",
                &BUNDLED_PHRASES[..start],
                &BUNDLED_PHRASES[end..]
            );
            assert_eq!(with_phrases(&empty).unwrap_err().key, format!("form.{key}"));
            let backspace = BUNDLED_PHRASES
                .replace(&format!("{key} = ["), &format!("{key} = [ \"\\bsudo\\b\","));
            let e = with_phrases(&backspace).unwrap_err();
            assert_eq!(e.key, format!("form.{key}"));
            assert!(e.message.contains("U+0008"), "{e}");
            let bad =
                BUNDLED_PHRASES.replace(&format!("{key} = ["), &format!("{key} = [ '(unclosed',"));
            assert_eq!(with_phrases(&bad).unwrap_err().key, format!("form.{key}"));
        }
    }

    #[test]
    fn closed_statuses_decide_what_is_open() {
        let r = bundled();
        for closed in [
            "resolved",
            "declined",
            "invalid",
            "duplicate",
            "wontfix",
            "spite",
        ] {
            assert!(!r.phabricator.is_open(closed), "{closed}");
        }
        for open in ["open", "stalled", "progress", "needs-triage", "Resolved"] {
            assert!(r.phabricator.is_open(open), "{open}");
        }
        let load = with_policy;
        let policy = bundled_text("policy.toml");
        let line = policy
            .lines()
            .find(|l| l.starts_with("closed_statuses"))
            .unwrap();
        // A site's own closed status; a list without "spite" leaves it open.
        let own = policy.replace(line, "closed_statuses = [\"resolved\", \"obsolete\"]");
        let r = load(&own).unwrap();
        assert!(!r.phabricator.is_open("obsolete"));
        assert!(r.phabricator.is_open("spite"));
        // Absent: Phorge's.
        let r = load(&policy.replace(line, "")).unwrap();
        assert_eq!(r.phabricator.closed_statuses, default_closed_statuses());
        for bad in ["[\"\"]", "[\"open\"]"] {
            let e = load(&policy.replace(line, &format!("closed_statuses = {bad}"))).unwrap_err();
            assert_eq!(e.key, "phabricator.closed_statuses", "{bad}");
        }
    }

    #[test]
    fn stale_agenda_days_is_read_and_must_be_positive() {
        assert_eq!(bundled().meeting.stale_agenda_days, 14);
        let load = with_policy;
        let policy = bundled_text("policy.toml");
        let seven = policy.replace("stale_agenda_days = 14", "stale_agenda_days = 7");
        assert_eq!(load(&seven).unwrap().meeting.stale_agenda_days, 7);
        let zero = policy.replace("stale_agenda_days = 14", "stale_agenda_days = 0");
        let e = load(&zero).unwrap_err();
        assert_eq!(e.key, "meeting.stale_agenda_days");
        assert!(zero
            .lines()
            .nth(e.line.unwrap() - 1)
            .unwrap()
            .contains("stale_agenda_days"));
        // Absent: the default.
        let absent = policy.replace("stale_agenda_days = 14", "");
        assert_eq!(load(&absent).unwrap().meeting.stale_agenda_days, 14);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let policy = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../rules/policy.toml"
        ))
        .unwrap();
        let groups = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../rules/groups.toml"
        ))
        .unwrap();
        let bad = policy.replace("weekday = \"Mon\"", "weekday = \"Funday\"");
        let e = Rules::from_texts(
            Path::new("r"),
            (Path::new("r/policy.toml"), &bad),
            (Path::new("r/groups.toml"), &groups),
            (Path::new("r/phrases.toml"), BUNDLED_PHRASES),
        )
        .unwrap_err();
        assert_eq!(e.key, "meeting.weekday");
        let line = e.line.unwrap();
        assert!(bad.lines().nth(line - 1).unwrap().contains("Funday"), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("r/policy.toml:{line}: key `meeting.weekday`")),
            "{e}"
        );

        let bad = policy.replace("[timing]", "[timing]\nwaiting_period = 3");
        let e = Rules::from_texts(
            Path::new("r"),
            (Path::new("r/policy.toml"), &bad),
            (Path::new("r/groups.toml"), &groups),
            (Path::new("r/phrases.toml"), BUNDLED_PHRASES),
        )
        .unwrap_err();
        assert_eq!(e.key, "timing.waiting_period");
        assert!(
            bad.lines()
                .nth(e.line.unwrap() - 1)
                .unwrap()
                .contains("waiting_period = 3"),
            "{e}"
        );
    }

    /// The bundled rules with this phrases.toml text, loaded for the views.
    fn for_views_with_phrases(phrases: &str) -> Result<Rules, RulesError> {
        Rules::from_texts_compiling(
            Path::new("r"),
            (Path::new("r/policy.toml"), &bundled_text("policy.toml")),
            (Path::new("r/groups.toml"), &bundled_text("groups.toml")),
            (Path::new("r/phrases.toml"), phrases),
            Compile::AllButReading,
        )
    }

    /// Whether the reading phrases of `r` are compiled yet.
    fn compiled_yet(r: &Rules) -> bool {
        match &r.phrases {
            PhrasesCell::Compiled(_) => true,
            PhrasesCell::Deferred { compiled, .. } => compiled.get().is_some(),
        }
    }

    /// Comments of every statement, and withdrawals.
    const COMMENTS: &[&str] = &[
        "Approved.",
        "Approved for deployment.",
        "LGTM",
        "+1, thanks!",
        "I approve this request.",
        "Not approved yet, wait for the NDA.",
        "I withdraw my approval.",
        "L3 verified.",
        "NDA on file.",
        "No NDA on file.",
        "SRE meeting: approved.",
        "SRE meeting: declined.",
        "Executive sign-off: given.",
        "Research collaboration confirmed.",
        "> Approved.\n\nI will approve once the training is done.",
        "No.",
    ];

    #[test]
    fn views_loaded_rules_compile_their_phrases_on_first_read_and_read_alike() {
        let text = bundled_text("phrases.toml");
        let eager = with_phrases(&text).unwrap();
        let lazy = for_views_with_phrases(&text).unwrap();
        assert!(compiled_yet(&eager));
        assert!(
            !compiled_yet(&lazy),
            "a views load compiles no reading phrase"
        );
        let (a, b) = (
            crate::statement::Reader::new(&eager),
            crate::statement::Reader::new(&lazy),
        );
        assert!(compiled_yet(&lazy), "compiled for the first reader");
        let mut yes = 0;
        for c in COMMENTS {
            let (ra, rb) = (a.read(c), b.read(c));
            assert_eq!(ra, rb, "{c:?}");
            yes += Statement::ALL
                .iter()
                .filter(|s| matches!(ra.get(**s), Reading::Yes { .. }))
                .count();
        }
        assert_eq!(a.work(), b.work());
        assert!(yes >= 9, "the comments hold statements that count: {yes}");
        // Compiled once: the same phrases on every read.
        assert!(std::ptr::eq(lazy.phrases(), lazy.phrases()));
    }

    #[test]
    fn a_views_load_takes_phrases_that_do_not_compile_and_then_no_comment_counts() {
        let text = bundled_text("phrases.toml");
        let start = text.find("\n[phrases]\n").unwrap();
        let at = start + text[start..].find("'approv'").unwrap();
        let bad = format!("{}'(unclosed', {}", &text[..at], &text[at..]);
        // A strict load refuses it, as before.
        let e = with_phrases(&bad).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            ("phrases.approve", "invalid regex: error: unclosed group")
        );
        let key_at = start + text[start..].find("\napprove = [").unwrap() + 1;
        assert_eq!(e.line, Some(text[..key_at].lines().count() + 1));
        // A views load takes it: all but the reading phrases hold.
        let r = for_views_with_phrases(&bad).unwrap();
        assert!(r.group("deployment").is_some());
        assert!(!compiled_yet(&r));
        // Read anyway (agenda and expiring never do): no comment counts, nothing panics.
        let reader = crate::statement::Reader::new(&r);
        assert!(compiled_yet(&r));
        let examples: Vec<String> = r.phrases().reading.examples.values().cloned().collect();
        assert_eq!(examples.len(), Statement::ALL.len());
        for c in COMMENTS
            .iter()
            .copied()
            .chain(examples.iter().map(String::as_str))
        {
            let readings = reader.read(c);
            for st in Statement::ALL {
                assert!(
                    !matches!(readings.get(st), Reading::Yes { .. }),
                    "{c:?} counts as {st:?}"
                );
            }
        }
        // Errors elsewhere in phrases.toml are refused by a views load as by a strict one.
        let bad_sudo = text.replacen("'\\bsudo', ", "'(sudo', ", 1);
        assert_ne!(bad_sudo, text);
        let e = with_phrases(&bad_sudo).unwrap_err();
        assert_eq!(e.key, "privilege_change.sudo");
        assert_eq!(for_views_with_phrases(&bad_sudo).unwrap_err(), e);
    }
}
