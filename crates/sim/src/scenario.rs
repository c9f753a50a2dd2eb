//! The simulator's scenario file (design §8): users, projects, Legalpad documents, pastes and
//! tasks with timed events, parsed strictly and validated as a whole.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SimError;

/// A whole scenario: the world the simulator serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The simulator's clock unless `--now` overrides it.
    pub now: DateTime<Utc>,
    /// Accounts; PHIDs are derived from usernames.
    #[serde(default)]
    pub users: Vec<ScenarioUser>,
    /// Projects (tags) with their members.
    #[serde(default)]
    pub projects: Vec<ScenarioProject>,
    /// Legalpad documents with signers and editors.
    #[serde(default)]
    pub legalpad: Vec<ScenarioDocument>,
    /// Pastes (`P<id>`).
    #[serde(default)]
    pub pastes: Vec<ScenarioPaste>,
    /// Maniphest tasks with their timelines.
    #[serde(default)]
    pub tasks: Vec<ScenarioTask>,
    /// How the web site answers visitors (simulator extension; public by default).
    #[serde(default, skip_serializing_if = "Site::is_default")]
    pub site: Site,
}

/// `[site]`: how the install's web pages answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Whether anonymous visitors may read task pages (`policy.allow-public`). When `false`,
    /// as on a default Phorge install, an anonymous visitor gets HTTP 200 with the login page
    /// and an unknown or expired session cookie a 302 to `?cleared=1`.
    #[serde(default = "yes")]
    pub public: bool,
}

fn yes() -> bool {
    true
}

impl Default for Site {
    fn default() -> Self {
        Site { public: true }
    }
}

impl Site {
    fn is_default(&self) -> bool {
        *self == Site::default()
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioUser {
    /// The username (`@jdoe`).
    pub username: String,
    /// The display name.
    #[serde(default)]
    pub real_name: String,
    /// A bot ("system agent") account.
    #[serde(default)]
    pub bot: bool,
    /// A disabled account.
    #[serde(default)]
    pub disabled: bool,
    /// A Conduit token that authenticates as this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A web session (`phsid` cookie value) that authenticates as this user on task pages
    /// (simulator extension). Bot accounts cannot hold one, as on Phorge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// One project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioProject {
    /// The project name, e.g. `SRE-Access-Requests`.
    pub name: String,
    /// Usernames of the members.
    #[serde(default)]
    pub members: Vec<String>,
    /// The primary hashtag; defaults to the lower-cased name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Extra workboard columns (simulator extension); every board has `Backlog` first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// One Legalpad document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDocument {
    /// `L3`.
    pub monogram: String,
    /// The document title.
    pub title: String,
    /// Usernames that signed it.
    #[serde(default)]
    pub signers: Vec<String>,
    /// Usernames that may edit it, and so see every signature.
    #[serde(default)]
    pub editors: Vec<String>,
}

/// One paste.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioPaste {
    /// `P<id>`.
    pub id: u64,
    /// Username of the author.
    pub author: String,
    /// Creation time; invisible before.
    pub at: DateTime<Utc>,
    /// The raw text.
    pub content: String,
    /// Title (simulator extension); defaults to `P<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Later edits of the text, in time order (simulator extension, `[[pastes.events]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ScenarioPasteEdit>,
}

/// One edit of a paste's text: from `at` on, `paste.search` answers `content` with this
/// `dateModified`, and `transaction.search` on the paste lists the edit by `author`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioPasteEdit {
    /// When; invisible while the clock is earlier.
    pub at: DateTime<Utc>,
    /// Username of the editor; defaults to the paste's author (any user may edit a paste
    /// whose edit policy allows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The new text.
    pub content: String,
}

/// One task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTask {
    /// `T<id>`.
    pub id: u64,
    /// Username of the author.
    pub author: String,
    /// Creation time; the task is invisible before.
    pub at: DateTime<Utc>,
    /// The title.
    pub title: String,
    /// Project names tagged at creation.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Status key at creation (`open` by default).
    #[serde(default = "default_status")]
    pub status: String,
    /// The description (raw remarkup).
    #[serde(default)]
    pub description: String,
    /// Later events, in time order.
    #[serde(default)]
    pub events: Vec<ScenarioEvent>,
}

fn default_status() -> String {
    "open".to_string()
}

/// One timed event on a task. Exactly one kind per event: `comment` (optionally with `via`),
/// `description`, `add_projects`/`remove_projects`, `edit_comment` (with `comment`),
/// `remove_comment`, `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEvent {
    /// When it happens; invisible while the clock is earlier.
    pub at: DateTime<Utc>,
    /// Username of whoever did it.
    pub author: String,
    /// A comment text (or the new text with `edit_comment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The channel of a comment: `web` (default), `email` or `conduit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Projects tagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_projects: Option<Vec<String>>,
    /// Projects untagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_projects: Option<Vec<String>>,
    /// New version of the task's N-th scenario comment (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_comment: Option<usize>,
    /// Removal of the task's N-th scenario comment (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_comment: Option<usize>,
    /// A new status key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl ScenarioEvent {
    /// A web comment by `author` at `at`, and nothing else.
    pub fn comment(at: DateTime<Utc>, author: &str, text: impl Into<String>) -> ScenarioEvent {
        ScenarioEvent {
            at,
            author: author.to_string(),
            comment: Some(text.into()),
            via: None,
            description: None,
            add_projects: None,
            remove_projects: None,
            edit_comment: None,
            remove_comment: None,
            status: None,
        }
    }
}

/// The channel a transaction came through, as the task page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `Via Web`.
    #[default]
    Web,
    /// `Via Email`.
    Email,
    /// `Via Conduit`.
    Conduit,
}

impl Via {
    /// The tooltip text of the task page.
    pub fn tip(self) -> &'static str {
        match self {
            Via::Web => "Via Web",
            Via::Email => "Via Email",
            Via::Conduit => "Via Conduit",
        }
    }
}

/// The event kinds, once validated.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A new comment.
    Comment { text: String, via: Via },
    /// A description edit.
    Description(String),
    /// Tags added and removed.
    Projects {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// A new version of the N-th (1-based) scenario comment of the task.
    EditComment { index: usize, text: String },
    /// Removal of the N-th (1-based) scenario comment of the task.
    RemoveComment(usize),
    /// A status change.
    Status(String),
}

/// Status keys the simulator knows, with display name and whether they are closed.
pub const STATUSES: &[(&str, &str, bool)] = &[
    ("open", "Open", false),
    ("progress", "In Progress", false),
    ("stalled", "Stalled", false),
    ("resolved", "Resolved", true),
    ("declined", "Declined", true),
    ("invalid", "Invalid", true),
    ("duplicate", "Duplicate", true),
];

/// Whether `key` is a known status key.
pub fn known_status(key: &str) -> bool {
    STATUSES.iter().any(|(k, _, _)| *k == key)
}

impl ScenarioEvent {
    /// The one kind this event has, or why it is ambiguous.
    pub fn kind(&self) -> Result<EventKind, String> {
        let mut kinds = Vec::new();
        if self.edit_comment.is_some() {
            kinds.push("edit_comment");
        } else if self.comment.is_some() {
            kinds.push("comment");
        }
        if self.description.is_some() {
            kinds.push("description");
        }
        if self.add_projects.is_some() || self.remove_projects.is_some() {
            kinds.push("add_projects/remove_projects");
        }
        if self.remove_comment.is_some() {
            kinds.push("remove_comment");
        }
        if self.status.is_some() {
            kinds.push("status");
        }
        if kinds.len() != 1 {
            return Err(format!(
                "needs exactly one of comment, description, add_projects/remove_projects, \
                 edit_comment, remove_comment, status (found: {})",
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds.join(", ")
                }
            ));
        }
        if self.via.is_some() && (self.comment.is_none() || self.edit_comment.is_some()) {
            return Err("`via` applies only to a new comment".to_string());
        }
        Ok(if let Some(index) = self.edit_comment {
            let text = self
                .comment
                .clone()
                .ok_or("edit_comment needs the new text in `comment`")?;
            EventKind::EditComment { index, text }
        } else if let Some(text) = &self.comment {
            EventKind::Comment {
                text: text.clone(),
                via: self.via.unwrap_or_default(),
            }
        } else if let Some(d) = &self.description {
            EventKind::Description(d.clone())
        } else if let Some(n) = self.remove_comment {
            EventKind::RemoveComment(n)
        } else if let Some(s) = &self.status {
            EventKind::Status(s.clone())
        } else {
            EventKind::Projects {
                add: self.add_projects.clone().unwrap_or_default(),
                remove: self.remove_projects.clone().unwrap_or_default(),
            }
        })
    }
}

/// Refuses a name (any case) that is not among the lower-cased `names` of `[[list]]`: a
/// reference to a user or a project the scenario does not declare.
fn known(
    names: &HashSet<String>,
    what: &str,
    list: &str,
    where_: &str,
    name: &str,
) -> Result<(), SimError> {
    if names.contains(&name.to_lowercase()) {
        Ok(())
    } else {
        Err(SimError::Scenario(format!(
            "{where_}: unknown {what} {name:?} (not in [[{list}]])"
        )))
    }
}

impl Scenario {
    /// Reads and validates a scenario file; errors name the file (and line, for syntax).
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::from_toml(&text).map_err(|e| match e {
            SimError::Scenario(msg) => SimError::Scenario(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Parses and validates a scenario from TOML text.
    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let scenario: Scenario =
            toml::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        scenario.validate().map_err(|e| match e {
            SimError::Scenario(msg) => match line_of(text, &msg) {
                Some(line) => SimError::Scenario(format!("line {line}: {msg}")),
                None => SimError::Scenario(msg),
            },
            other => other,
        })?;
        Ok(scenario)
    }

    /// Checks cross references and ordering; the first problem is returned with its place.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |msg: String| Err(SimError::Scenario(msg));
        let mut users = HashSet::new();
        let mut tokens = HashSet::new();
        let mut sessions = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if u.username.is_empty()
                || !u
                    .username
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return bad(format!("users[{i}]: invalid username {:?}", u.username));
            }
            if !users.insert(u.username.to_lowercase()) {
                return bad(format!("users[{i}]: duplicate username {:?}", u.username));
            }
            if let Some(t) = &u.token {
                if t.is_empty() || !tokens.insert(t.clone()) {
                    return bad(format!(
                        "users[{i}] ({}): empty or duplicate token",
                        u.username
                    ));
                }
            }
            if let Some(session) = &u.session {
                if u.bot {
                    return bad(format!(
                        "users[{i}] ({}): bot accounts cannot hold web sessions",
                        u.username
                    ));
                }
                let cookie_safe = session
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b";,\\\"".contains(&b));
                if session.is_empty() || !cookie_safe || !sessions.insert(session.clone()) {
                    return bad(format!(
                        "users[{i}] ({}): empty, duplicate or malformed session",
                        u.username
                    ));
                }
            }
        }
        let user = |where_: &str, name: &str| known(&users, "user", "users", where_, name);
        let mut projects = HashSet::new();
        let mut slugs = HashSet::new();
        for (i, p) in self.projects.iter().enumerate() {
            if p.name.trim().is_empty() || !projects.insert(p.name.to_lowercase()) {
                return bad(format!(
                    "projects[{i}]: empty or duplicate name {:?}",
                    p.name
                ));
            }
            let slug = project_slug(p);
            if !slugs.insert(slug.clone()) {
                return bad(format!(
                    "projects[{i}] ({}): duplicate slug {slug:?}",
                    p.name
                ));
            }
            for m in &p.members {
                user(&format!("projects[{i}] ({}) members", p.name), m)?;
            }
            let mut cols = HashSet::new();
            for c in &p.columns {
                if c.eq_ignore_ascii_case("backlog") || !cols.insert(c.to_lowercase()) {
                    return bad(format!(
                        "projects[{i}] ({}): duplicate column {c:?} (Backlog is implicit)",
                        p.name
                    ));
                }
            }
        }
        let project =
            |where_: &str, name: &str| known(&projects, "project", "projects", where_, name);
        let mut docs = HashSet::new();
        for (i, d) in self.legalpad.iter().enumerate() {
            let Some(n) = monogram_number(&d.monogram, 'L') else {
                return bad(format!(
                    "legalpad[{i}]: monogram {:?} is not like L3",
                    d.monogram
                ));
            };
            if !docs.insert(n) {
                return bad(format!("legalpad[{i}]: duplicate monogram {}", d.monogram));
            }
            for s in d.signers.iter().chain(&d.editors) {
                user(&format!("legalpad[{i}] ({})", d.monogram), s)?;
            }
        }
        let mut pastes = HashSet::new();
        for (i, p) in self.pastes.iter().enumerate() {
            if p.id == 0 || !pastes.insert(p.id) {
                return bad(format!("pastes[{i}]: zero or duplicate id {}", p.id));
            }
            user(&format!("pastes[{i}] (P{})", p.id), &p.author)?;
            let mut last = p.at;
            for (j, e) in p.events.iter().enumerate() {
                let here = format!("pastes[{i}] (P{}) events[{j}]", p.id);
                if let Some(a) = &e.author {
                    user(&here, a)?;
                }
                if e.at < last {
                    return bad(format!(
                        "{here}: at {} is earlier than the previous edit or the paste's creation",
                        e.at.to_rfc3339()
                    ));
                }
                last = e.at;
            }
        }
        let mut tasks = HashSet::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let here = format!("tasks[{i}] (T{})", t.id);
            if t.id == 0 || !tasks.insert(t.id) {
                return bad(format!("{here}: zero or duplicate id"));
            }
            user(&here, &t.author)?;
            for p in &t.projects {
                project(&format!("{here} projects"), p)?;
            }
            if !known_status(&t.status) {
                return bad(format!("{here}: unknown status {:?}", t.status));
            }
            let mut last = t.at;
            let mut comments = 0usize;
            let mut removed = BTreeSet::new();
            for (j, e) in t.events.iter().enumerate() {
                let here = format!("tasks[{i}] (T{}) events[{j}]", t.id);
                user(&here, &e.author)?;
                if e.at < last {
                    return bad(format!(
                        "{here}: at {} is earlier than the previous event or the task creation",
                        e.at.to_rfc3339()
                    ));
                }
                last = e.at;
                match e
                    .kind()
                    .map_err(|m| SimError::Scenario(format!("{here}: {m}")))?
                {
                    EventKind::Comment { .. } => comments += 1,
                    EventKind::EditComment { index, .. } | EventKind::RemoveComment(index) => {
                        if index == 0 || index > comments {
                            return bad(format!(
                                "{here}: there is no comment {index} before this event \
                                 (comments are counted from 1 in scenario order)"
                            ));
                        }
                        if removed.contains(&index) {
                            return bad(format!("{here}: comment {index} was removed"));
                        }
                        if matches!(
                            e.kind().map_err(SimError::Scenario)?,
                            EventKind::RemoveComment(_)
                        ) {
                            removed.insert(index);
                        }
                    }
                    EventKind::Projects { add, remove } => {
                        for p in add.iter().chain(&remove) {
                            project(&here, p)?;
                        }
                    }
                    EventKind::Status(s) => {
                        if !known_status(&s) {
                            return bad(format!("{here}: unknown status {s:?}"));
                        }
                    }
                    EventKind::Description(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// The line of the table a validation message starts with (`tasks[2] (T103) events[1]: …`),
/// found by counting `[[tasks]]` and `[[tasks.events]]` headers in the text.
fn line_of(text: &str, msg: &str) -> Option<usize> {
    let (section, rest) = msg.split_once('[')?;
    if !["users", "projects", "legalpad", "pastes", "tasks"].contains(&section) {
        return None;
    }
    let (index, rest) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    let event: Option<usize> = rest
        .split_once(" events[")
        .and_then(|(_, r)| r.split_once(']'))
        .and_then(|(n, _)| n.parse().ok());
    let header = |line: &str, name: &str| {
        let line = line.trim();
        line.strip_prefix("[[")
            .and_then(|l| l.split_once("]]"))
            .is_some_and(|(h, _)| h.trim() == name)
    };
    let mut seen = 0;
    let mut lines = text.lines().enumerate();
    let start = lines.find(|(_, l)| {
        if header(l, section) {
            seen += 1;
            seen == index + 1
        } else {
            false
        }
    })?;
    let Some(event) = event else {
        return Some(start.0 + 1);
    };
    let mut seen = 0;
    for (n, l) in lines {
        if header(l, section) {
            return None;
        }
        if header(l, &format!("{section}.events")) {
            seen += 1;
            if seen == event + 1 {
                return Some(n + 1);
            }
        }
    }
    None
}

/// The primary hashtag of a project.
pub fn project_slug(p: &ScenarioProject) -> String {
    p.slug.clone().unwrap_or_else(|| {
        p.name
            .trim()
            .to_lowercase()
            .replace(char::is_whitespace, "_")
    })
}

/// `L3` → 3 (for the given letter).
pub fn monogram_number(s: &str, letter: char) -> Option<u64> {
    let rest = s.strip_prefix(letter)?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|n| *n > 0)
}

/// Group names and their approvers used by [`generate`] (the bundled `rules/groups.toml`).
const GEN_GROUPS: &[(&str, &str, bool)] = &[
    ("analytics-privatedata-users", "aotto", false),
    ("analytics-users", "aotto", false),
    ("deployment", "rel-lead", false),
    ("restricted", "sre-kim", false),
    ("deploy-service", "svc-lead", true),
];

/// A small deterministic generator (SplitMix64), so benchmarks need no fixture files.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// An `ssh-ed25519` public key line whose secret scalar comes from the generator: a real
/// public key (a multiple of the base point), as the key check accepts only those.
fn gen_ed25519(rng: &mut Mix, comment: &str) -> String {
    use base64::Engine as _;
    use curve25519_dalek::{constants::ED25519_BASEPOINT_POINT, Scalar};
    let mut secret = [0u8; 32];
    for chunk in secret.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_be_bytes());
    }
    let point = (ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(secret)).compress();
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(point.as_bytes());
    format!(
        "ssh-ed25519 {} {comment}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Builds a realistic scenario of `n_tasks` access requests for benchmarks: requesters,
/// managers, group leads, staff/NDA projects, L3 signatures, pastes, approvals (some by
/// email, some edited or withdrawn) and a few closed tasks. Deterministic for a seed.
pub fn generate(n_tasks: usize, seed: u64) -> Scenario {
    let mut rng = Mix(seed);
    let start: DateTime<Utc> = DateTime::from_timestamp(1_793_000_000, 0).unwrap_or_default();
    let mut users = vec![
        ScenarioUser {
            username: "accessbot".into(),
            real_name: "Access Bot".into(),
            bot: true,
            disabled: false,
            token: Some(
                "api-simaccessbottoken0000000000000"
                    .chars()
                    .take(32)
                    .collect(),
            ),
            session: None,
        },
        ScenarioUser {
            username: "clinicduty".into(),
            real_name: "Clinic Duty".into(),
            bot: false,
            disabled: false,
            token: None,
            session: None,
        },
        ScenarioUser {
            username: "legalteam".into(),
            real_name: "Legal Team".into(),
            bot: false,
            disabled: false,
            token: None,
            session: None,
        },
    ];
    for lead in ["aotto", "rel-lead", "svc-lead", "sre-kim"] {
        users.push(ScenarioUser {
            username: lead.into(),
            real_name: format!("Lead {lead}"),
            bot: false,
            disabled: false,
            token: None,
            session: None,
        });
    }
    let managers = 1 + n_tasks / 25;
    for m in 0..managers {
        users.push(ScenarioUser {
            username: format!("mgr{m}"),
            real_name: format!("Manager {m}"),
            bot: false,
            disabled: false,
            token: None,
            session: None,
        });
    }
    let mut staff: Vec<String> = (0..managers).map(|m| format!("mgr{m}")).collect();
    staff.extend(["aotto", "rel-lead", "svc-lead", "sre-kim", "clinicduty"].map(String::from));
    let mut nda = Vec::new();
    let mut signers = Vec::new();
    let mut pastes = Vec::new();
    let mut tasks = Vec::with_capacity(n_tasks);
    for i in 0..n_tasks {
        let name = format!("user{i}");
        users.push(ScenarioUser {
            username: name.clone(),
            real_name: format!("User Number{i}"),
            bot: false,
            disabled: false,
            token: None,
            session: None,
        });
        let is_staff = rng.below(3) == 0;
        if is_staff {
            staff.push(name.clone());
        } else if rng.below(2) == 0 {
            nda.push(name.clone());
        }
        if rng.below(5) != 0 {
            signers.push(name.clone());
        }
        let (group, lead, _sudo) = GEN_GROUPS[rng.below(GEN_GROUPS.len() as u64) as usize];
        let manager = format!("mgr{}", rng.below(managers as u64));
        let at = start + chrono::Duration::minutes((i as i64) * 7 + rng.below(5) as i64);
        let key = gen_ed25519(&mut rng, &format!("{name}@laptop"));
        let key_line = if rng.below(8) == 0 {
            let id = pastes.len() as u64 + 1;
            pastes.push(ScenarioPaste {
                id,
                author: name.clone(),
                at,
                content: format!("{key}\n"),
                title: Some(format!("{name} ssh key")),
                events: Vec::new(),
            });
            format!("see P{id}")
        } else {
            format!("```\n{key}\n```")
        };
        let expiry = if is_staff {
            String::new()
        } else {
            format!(
                "**Expiry date:** 2027-0{}-15\n**Expiry contact:** @{manager}\n",
                1 + i % 9
            )
        };
        let description = format!(
            "**Full name:** User Number{i}\n**Wikitech username:** User{i}\n\
             **Shell username:** {name}\n**Email address:** {name}@example.org\n\
             **SSH public key (must be a separate key from Wikimedia cloud SSH access):**\n\
             {key_line}\n**Requested group membership:** {group}\n\
             **Reason for access:** benchmark request {i}\n\
             **Name of approving party (manager for WMF/WMDE staff):** @{manager}\n{expiry}"
        );
        let mut events = Vec::new();
        let mut t = at;
        let comment = |t: &mut DateTime<Utc>, rng: &mut Mix, author: &str, text: &str| {
            *t += chrono::Duration::minutes(30 + rng.below(600) as i64);
            ScenarioEvent {
                via: (rng.below(10) == 0).then_some(Via::Email),
                ..ScenarioEvent::comment(*t, author, text)
            }
        };
        if rng.below(4) != 0 {
            events.push(comment(&mut t, &mut rng, &manager, "Approved."));
            if rng.below(12) == 0 {
                let mut e = comment(&mut t, &mut rng, &manager, "Not approved, on hold.");
                e.edit_comment = Some(1);
                e.via = None;
                events.push(e);
            }
        }
        if rng.below(3) != 0 {
            events.push(comment(
                &mut t,
                &mut rng,
                lead,
                &format!("+1, approved for {group}."),
            ));
        }
        if rng.below(15) == 0 {
            let mut e = comment(&mut t, &mut rng, "clinicduty", "");
            e.comment = None;
            e.via = None;
            e.status = Some("resolved".into());
            events.push(e);
        }
        tasks.push(ScenarioTask {
            id: 100 + i as u64,
            author: name.clone(),
            at,
            title: format!("Requesting access to {group} for {name}"),
            projects: vec!["SRE-Access-Requests".into()],
            status: "open".into(),
            description,
            events,
        });
    }
    let end = tasks
        .iter()
        .flat_map(|t| t.events.iter().map(|e| e.at).chain([t.at]))
        .max()
        .unwrap_or(start);
    Scenario {
        now: end + chrono::Duration::days(1),
        users,
        projects: vec![
            ScenarioProject {
                name: "SRE-Access-Requests".into(),
                members: vec!["sre-kim".into(), "clinicduty".into()],
                slug: None,
                columns: vec!["Ready for SRE".into()],
            },
            ScenarioProject {
                name: "WMF-Staff".into(),
                members: staff,
                slug: None,
                columns: vec![],
            },
            ScenarioProject {
                name: "WMF-NDA".into(),
                members: nda,
                slug: None,
                columns: vec![],
            },
        ],
        legalpad: vec![ScenarioDocument {
            monogram: "L3".into(),
            title: "Acknowledgement of Wikimedia Server Access Responsibilities".into(),
            signers,
            editors: vec!["accessbot".into()],
        }],
        pastes,
        tasks,
        site: Site::default(),
    }
}
