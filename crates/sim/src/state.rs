//! The simulator's world: users, projects, documents, pastes and tasks with their
//! transactions, indexed for lookups by name, PHID and id. Scenario events are turned into
//! transactions ("materialised") in time order as the virtual clock reaches them, so
//! transaction ids grow with time even when the bot writes in between.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::scenario::{
    monogram_number, project_slug, EventKind, Scenario, ScenarioEvent, Via, STATUSES,
};

/// `len` lowercase base32 characters of sha256(`seed`): the random part of a PHID.
pub fn hash32(seed: &str, len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let digest = Sha256::digest(seed.as_bytes());
    let mut out = String::with_capacity(len);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut bytes = digest.iter().cycle();
    while out.len() < len {
        if bits < 5 {
            acc = (acc << 8) | u32::from(*bytes.next().unwrap_or(&0));
            bits += 8;
        }
        bits -= 5;
        out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
    }
    out
}

/// The PHID of a user, from the username.
pub fn user_phid(username: &str) -> String {
    format!("PHID-USER-{}", hash32(username, 20))
}

/// The PHID of a task.
pub fn task_phid(id: u64) -> String {
    format!("PHID-TASK-{}", hash32(&format!("task/{id}"), 20))
}

/// The PHID of a project, from its name.
pub fn project_phid(name: &str) -> String {
    format!("PHID-PROJ-{}", hash32(&format!("project/{name}"), 20))
}

/// The PHID of a workboard column.
pub fn column_phid(project: &str, column: &str) -> String {
    format!(
        "PHID-PCOL-{}",
        hash32(&format!("column/{project}/{column}"), 20)
    )
}

/// The PHID of a Legalpad document, from its number.
pub fn document_phid(number: u64) -> String {
    format!("PHID-LEGD-{}", hash32(&format!("legalpad/L{number}"), 20))
}

/// The PHID of a signature.
pub fn signature_phid(number: u64, username: &str) -> String {
    format!(
        "PHID-LEGS-{}",
        hash32(&format!("signature/L{number}/{username}"), 20)
    )
}

/// The PHID of a paste.
pub fn paste_phid(id: u64) -> String {
    format!("PHID-PSTE-{}", hash32(&format!("paste/{id}"), 20))
}

fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// An account.
#[derive(Debug, Clone)]
pub struct User {
    /// Sequential id.
    pub id: u64,
    /// Username as written in the scenario.
    pub username: String,
    /// Display name.
    pub real_name: String,
    /// PHID.
    pub phid: String,
    /// Bot account.
    pub bot: bool,
    /// Disabled account.
    pub disabled: bool,
}

/// A workboard column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Sequential id.
    pub id: u64,
    /// PHID.
    pub phid: String,
    /// Display name.
    pub name: String,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Sequential id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Primary hashtag.
    pub slug: String,
    /// PHID.
    pub phid: String,
    /// Member user indexes.
    pub members: Vec<usize>,
    /// Workboard columns, `Backlog` first.
    pub columns: Vec<Column>,
}

/// A Legalpad document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The number of `L<n>`.
    pub id: u64,
    /// PHID.
    pub phid: String,
    /// Title.
    pub title: String,
    /// Signatures: (signature id, signer user index).
    pub signatures: Vec<(u64, usize)>,
    /// Users who may edit it and so see every signature.
    pub editors: HashSet<usize>,
}

/// A paste.
#[derive(Debug, Clone)]
pub struct Paste {
    /// `P<id>`.
    pub id: u64,
    /// PHID.
    pub phid: String,
    /// Author user index.
    pub author: usize,
    /// Creation time (epoch seconds).
    pub at: i64,
    /// Title.
    pub title: String,
    /// The texts, oldest first: the creation, then each `[[pastes.events]]` edit.
    pub versions: Vec<PasteVersion>,
}

/// One text of a paste, with the transactions that set it.
#[derive(Debug, Clone)]
pub struct PasteVersion {
    /// When (epoch seconds).
    pub at: i64,
    /// Editor user index.
    pub author: usize,
    /// The raw text.
    pub content: String,
    /// Transaction ids (global to pastes, in time order) and PHIDs: at creation the `create`
    /// transaction and the text's, for an edit the text's alone.
    pub xacts: Vec<(u64, String)>,
}

impl Paste {
    /// The newest version visible at `now` (none before the creation).
    pub fn version_at(&self, now: i64) -> Option<&PasteVersion> {
        self.versions.iter().rev().find(|v| v.at <= now)
    }
}

/// One version of a comment.
#[derive(Debug, Clone)]
pub struct Version {
    /// Global comment id.
    pub id: u64,
    /// `PHID-XCMT-…`.
    pub phid: String,
    /// 1-based version number.
    pub version: u64,
    /// Author PHID.
    pub author: String,
    /// Time (epoch seconds).
    pub at: i64,
    /// This version removed the comment.
    pub removed: bool,
    /// Raw text.
    pub text: String,
}

/// What a transaction did.
#[derive(Debug, Clone)]
pub enum XactKind {
    /// Task created.
    Create,
    /// Title set.
    Title { old: String, new: String },
    /// Description set.
    Description { old: String, new: String },
    /// Status changed (`old` null at creation).
    Status { old: Option<String>, new: String },
    /// Tags added (true) or removed (false).
    Projects(Vec<(bool, String)>),
    /// Subscribers added (true) or removed (false).
    Subscribers(Vec<(bool, String)>),
    /// Workboard move.
    Columns {
        column: String,
        board: String,
        from: Option<String>,
    },
    /// A comment; the text is in the versions.
    Comment,
}

impl XactKind {
    /// The `type` of transaction.search.
    pub fn type_name(&self) -> &'static str {
        match self {
            XactKind::Create => "create",
            XactKind::Title { .. } => "title",
            XactKind::Description { .. } => "description",
            XactKind::Status { .. } => "status",
            XactKind::Projects(_) => "projects",
            XactKind::Subscribers(_) => "subscribers",
            XactKind::Columns { .. } => "core:columns",
            XactKind::Comment => "comment",
        }
    }
}

/// One transaction on a task.
#[derive(Debug, Clone)]
pub struct Xact {
    /// Global transaction id (also the page anchor).
    pub id: u64,
    /// `PHID-XACT-TASK-…`.
    pub phid: String,
    /// Time (epoch seconds).
    pub at: i64,
    /// Author PHID.
    pub author: String,
    /// Shared by all transactions of one edit.
    pub group_id: String,
    /// The channel shown on the task page.
    pub via: Via,
    /// What it did.
    pub kind: XactKind,
    /// Comment versions, oldest first (empty unless a comment).
    pub versions: Vec<Version>,
}

/// A task: its identity and its transactions (in id order).
#[derive(Debug, Clone)]
pub struct Task {
    /// `T<id>`.
    pub id: u64,
    /// PHID.
    pub phid: String,
    /// Author user index.
    pub author: usize,
    /// Creation time (epoch seconds).
    pub at: i64,
    /// Transactions, by ascending id.
    pub xacts: Vec<Xact>,
    /// Index in `xacts` of each materialised scenario comment, in scenario order.
    pub scenario_comments: Vec<usize>,
    /// The scenario's creation data and events.
    source: TaskSource,
}

#[derive(Debug, Clone)]
struct TaskSource {
    title: String,
    description: String,
    projects: Vec<String>,
    status: String,
    events: Vec<ScenarioEvent>,
}

/// The state of a task as of some instant, replayed from its visible transactions.
#[derive(Debug, Clone)]
pub struct TaskView {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Status key.
    pub status: String,
    /// Tagged project PHIDs, sorted.
    pub projects: BTreeSet<String>,
    /// Subscriber PHIDs, sorted.
    pub subscribers: BTreeSet<String>,
    /// Board project PHID → column PHID where the task was moved.
    pub columns: BTreeMap<String, String>,
    /// Latest visible transaction time.
    pub date_modified: i64,
    /// When and by whom it was last closed, while closed.
    pub closed: Option<(i64, String)>,
}

/// A comment posted through `maniphest.edit`, for `/_sim/comments`.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct PostedComment {
    /// Username of the poster.
    pub author: String,
    /// The text.
    pub text: String,
    /// When (RFC 3339, simulator clock).
    pub at: String,
    /// The comment transaction's PHID.
    pub phid: String,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    at: i64,
    task: u64,
    /// `None`: the creation; `Some(i)`: event i.
    event: Option<usize>,
}

/// Everything the simulator knows, with its indexes.
#[derive(Debug)]
pub struct World {
    /// The virtual clock.
    pub now: DateTime<Utc>,
    /// Creation time of users, projects and documents.
    pub epoch0: i64,
    /// Users by index.
    pub users: Vec<User>,
    user_by_name: HashMap<String, usize>,
    user_by_phid: HashMap<String, usize>,
    user_by_token: HashMap<String, usize>,
    user_by_session: HashMap<String, usize>,
    /// Whether anonymous visitors may read task pages (`[site] public`).
    pub public: bool,
    /// Projects by index.
    pub projects: Vec<Project>,
    project_by_key: HashMap<String, usize>,
    project_by_phid: HashMap<String, usize>,
    /// Column PHID → (project index, column index).
    column_by_phid: HashMap<String, (usize, usize)>,
    /// Documents by index.
    pub documents: Vec<Document>,
    /// Pastes by id.
    pub pastes: BTreeMap<u64, Paste>,
    paste_by_phid: HashMap<String, u64>,
    /// Tasks by id (created or not yet).
    pub tasks: BTreeMap<u64, Task>,
    task_by_phid: HashMap<String, u64>,
    pending: Vec<Pending>,
    next_pending: usize,
    next_xact: u64,
    next_comment: u64,
    next_edit: u64,
    posted: HashMap<u64, Vec<PostedComment>>,
    view_cache: RefCell<HashMap<u64, CachedView>>,
    /// Tasks `maniphest.search` serves in a shape no client can read (a test fault:
    /// [`super::SimHandle::mangle_task`]).
    pub mangled: HashSet<u64>,
}

/// A replayed view with the instant and transaction count it was computed for.
type CachedView = (i64, usize, Arc<TaskView>);

impl World {
    /// Builds the world from a validated scenario, with the clock at `now`.
    pub fn new(s: &Scenario, now: DateTime<Utc>) -> World {
        let epoch0 = epoch(s.now) - 400 * 86_400;
        let mut w = World {
            now,
            epoch0,
            users: Vec::new(),
            user_by_name: HashMap::new(),
            user_by_phid: HashMap::new(),
            user_by_token: HashMap::new(),
            user_by_session: HashMap::new(),
            public: s.site.public,
            projects: Vec::new(),
            project_by_key: HashMap::new(),
            project_by_phid: HashMap::new(),
            column_by_phid: HashMap::new(),
            documents: Vec::new(),
            pastes: BTreeMap::new(),
            paste_by_phid: HashMap::new(),
            tasks: BTreeMap::new(),
            task_by_phid: HashMap::new(),
            pending: Vec::new(),
            next_pending: 0,
            next_xact: 1,
            next_comment: 1,
            next_edit: 1,
            posted: HashMap::new(),
            view_cache: RefCell::new(HashMap::new()),
            mangled: HashSet::new(),
        };
        for (i, u) in s.users.iter().enumerate() {
            let phid = user_phid(&u.username);
            w.user_by_name.insert(u.username.to_lowercase(), i);
            w.user_by_phid.insert(phid.clone(), i);
            if let Some(t) = &u.token {
                w.user_by_token.insert(t.clone(), i);
            }
            if let Some(session) = &u.session {
                w.user_by_session.insert(session.clone(), i);
            }
            w.users.push(User {
                id: i as u64 + 1,
                username: u.username.clone(),
                real_name: u.real_name.clone(),
                phid,
                bot: u.bot,
                disabled: u.disabled,
            });
        }
        let mut column_id = 1;
        for (i, p) in s.projects.iter().enumerate() {
            let phid = project_phid(&p.name);
            let slug = project_slug(p);
            let mut columns = Vec::new();
            for name in std::iter::once("Backlog").chain(p.columns.iter().map(String::as_str)) {
                let c = Column {
                    id: column_id,
                    phid: column_phid(&p.name, name),
                    name: name.to_string(),
                };
                column_id += 1;
                w.column_by_phid.insert(c.phid.clone(), (i, columns.len()));
                columns.push(c);
            }
            w.project_by_key.insert(p.name.to_lowercase(), i);
            w.project_by_key.insert(slug.clone(), i);
            w.project_by_phid.insert(phid.clone(), i);
            let members = p
                .members
                .iter()
                .filter_map(|m| w.user_by_name.get(&m.to_lowercase()).copied())
                .collect();
            w.projects.push(Project {
                id: i as u64 + 1,
                name: p.name.clone(),
                slug,
                phid,
                members,
                columns,
            });
        }
        let mut sig_id = 1;
        for d in &s.legalpad {
            let number = monogram_number(&d.monogram, 'L').unwrap_or(0);
            let mut signatures = Vec::new();
            for signer in &d.signers {
                if let Some(&u) = w.user_by_name.get(&signer.to_lowercase()) {
                    signatures.push((sig_id, u));
                    sig_id += 1;
                }
            }
            let editors = d
                .editors
                .iter()
                .filter_map(|e| w.user_by_name.get(&e.to_lowercase()).copied())
                .collect();
            w.documents.push(Document {
                id: number,
                phid: document_phid(number),
                title: d.title.clone(),
                signatures,
                editors,
            });
        }
        for p in &s.pastes {
            let author = w.user_index(&p.author).unwrap_or(0);
            let phid = paste_phid(p.id);
            w.paste_by_phid.insert(phid.clone(), p.id);
            let mut versions = vec![PasteVersion {
                at: epoch(p.at),
                author,
                content: p.content.clone(),
                xacts: Vec::new(),
            }];
            for e in &p.events {
                versions.push(PasteVersion {
                    at: epoch(e.at),
                    author: e
                        .author
                        .as_deref()
                        .and_then(|a| w.user_index(a))
                        .unwrap_or(author),
                    content: e.content.clone(),
                    xacts: Vec::new(),
                });
            }
            w.pastes.insert(
                p.id,
                Paste {
                    id: p.id,
                    phid,
                    author,
                    at: epoch(p.at),
                    title: p.title.clone().unwrap_or_else(|| format!("P{}", p.id)),
                    versions,
                },
            );
        }
        // Paste transactions are numbered apart from the tasks' (Phorge keeps one table per
        // application), in time order across all pastes.
        let mut stamps: Vec<(i64, u64, usize)> = w
            .pastes
            .values()
            .flat_map(|p| p.versions.iter().enumerate().map(|(j, v)| (v.at, p.id, j)))
            .collect();
        stamps.sort();
        let mut next = 1u64;
        for (_, id, j) in stamps {
            if let Some(v) = w.pastes.get_mut(&id).and_then(|p| p.versions.get_mut(j)) {
                let kinds: &[&str] = if j == 0 {
                    &["create", "text"]
                } else {
                    &["text"]
                };
                for k in kinds {
                    let phid = format!(
                        "PHID-XACT-PSTE-{}",
                        hash32(&format!("xact/P{id}/v{j}/{k}"), 15)
                    );
                    v.xacts.push((next, phid));
                    next += 1;
                }
            }
        }
        for t in &s.tasks {
            let phid = task_phid(t.id);
            w.task_by_phid.insert(phid.clone(), t.id);
            w.pending.push(Pending {
                at: epoch(t.at),
                task: t.id,
                event: None,
            });
            for (j, e) in t.events.iter().enumerate() {
                w.pending.push(Pending {
                    at: epoch(e.at),
                    task: t.id,
                    event: Some(j),
                });
            }
            w.tasks.insert(
                t.id,
                Task {
                    id: t.id,
                    phid,
                    author: w.user_index(&t.author).unwrap_or(0),
                    at: epoch(t.at),
                    xacts: Vec::new(),
                    scenario_comments: Vec::new(),
                    source: TaskSource {
                        title: t.title.clone(),
                        description: t.description.clone(),
                        projects: t.projects.clone(),
                        status: t.status.clone(),
                        events: t.events.clone(),
                    },
                },
            );
        }
        // Stable sort: equal times keep scenario order (creation before its events).
        w.pending.sort_by_key(|p| p.at);
        w.materialize();
        w
    }

    /// The clock as epoch seconds.
    pub fn now_epoch(&self) -> i64 {
        epoch(self.now)
    }

    /// Moves the clock and materialises the scenario events it reached.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.materialize();
    }

    /// Turns every pending scenario event up to the clock into transactions, in time order.
    pub fn materialize(&mut self) {
        let now = self.now_epoch();
        while let Some(p) = self.pending.get(self.next_pending).copied() {
            if p.at > now {
                break;
            }
            self.next_pending += 1;
            match p.event {
                None => self.create_task(p.task),
                Some(j) => self.apply_event(p.task, j),
            }
        }
    }

    /// A user index by username (case-insensitive).
    pub fn user_index(&self, name: &str) -> Option<usize> {
        self.user_by_name.get(&name.to_lowercase()).copied()
    }

    /// A user index by PHID.
    pub fn user_by_phid(&self, phid: &str) -> Option<usize> {
        self.user_by_phid.get(phid).copied()
    }

    /// The user a token authenticates as.
    pub fn user_by_token(&self, token: &str) -> Option<usize> {
        self.user_by_token.get(token).copied()
    }

    /// The user a web session (`phsid` cookie value) authenticates as; a disabled account's
    /// session is no session.
    pub fn user_by_session(&self, session: &str) -> Option<usize> {
        self.user_by_session
            .get(session)
            .copied()
            .filter(|u| !self.users[*u].disabled)
    }

    /// A project index by PHID, name (case-insensitive) or slug.
    pub fn project_index(&self, key: &str) -> Option<usize> {
        self.project_by_phid
            .get(key)
            .or_else(|| self.project_by_key.get(&key.to_lowercase()))
            .or_else(|| {
                self.project_by_key
                    .get(&key.trim_start_matches('#').to_lowercase())
            })
            .copied()
    }

    /// (project index, column index) of a column PHID.
    pub fn column(&self, phid: &str) -> Option<(usize, usize)> {
        self.column_by_phid.get(phid).copied()
    }

    /// A paste id by PHID.
    pub fn paste_by_phid(&self, phid: &str) -> Option<u64> {
        self.paste_by_phid.get(phid).copied()
    }

    /// A task id by PHID.
    pub fn task_by_phid(&self, phid: &str) -> Option<u64> {
        self.task_by_phid.get(phid).copied()
    }

    /// A task that exists at the current clock.
    pub fn visible_task(&self, id: u64) -> Option<&Task> {
        let now = self.now_epoch();
        self.tasks
            .get(&id)
            .filter(|t| t.at <= now && !t.xacts.is_empty())
    }

    /// A task id from `123`, `T123` or a task PHID.
    pub fn resolve_task(&self, ident: &str) -> Option<u64> {
        let ident = ident.trim();
        if ident.starts_with("PHID-TASK-") {
            return self.task_by_phid(ident);
        }
        let digits = ident.strip_prefix('T').unwrap_or(ident);
        digits.parse().ok()
    }

    /// The comments posted through `maniphest.edit` on a task.
    pub fn posted(&self, task: u64) -> Vec<PostedComment> {
        self.posted.get(&task).cloned().unwrap_or_default()
    }

    fn new_xact(&mut self, stamp: &Stamp, phid_seed: &str, via: Via, kind: XactKind) -> Xact {
        let id = self.next_xact;
        self.next_xact += 1;
        Xact {
            id,
            phid: format!("PHID-XACT-TASK-{}", hash32(phid_seed, 15)),
            at: stamp.at,
            author: stamp.author.to_string(),
            group_id: stamp.group.to_string(),
            via,
            kind,
            versions: Vec::new(),
        }
    }

    /// The stamp's author subscribing to the task (as commenting and filing a task do).
    fn author_subscribes(&mut self, stamp: &Stamp, phid_seed: &str, via: Via) -> Xact {
        let kind = XactKind::Subscribers(vec![(true, stamp.author.to_string())]);
        self.new_xact(stamp, phid_seed, via, kind)
    }

    /// A comment by the stamp's author, with its first version (`text`).
    fn new_comment(&mut self, stamp: &Stamp, phid_seed: &str, via: Via, text: String) -> Xact {
        let mut x = self.new_xact(stamp, phid_seed, via, XactKind::Comment);
        let v = self.new_version(&x.phid, 1, stamp.author, stamp.at, false, text);
        x.versions.push(v);
        x
    }

    fn new_version(
        &mut self,
        xact_phid: &str,
        version: u64,
        author: &str,
        at: i64,
        removed: bool,
        text: String,
    ) -> Version {
        let id = self.next_comment;
        self.next_comment += 1;
        Version {
            id,
            phid: format!(
                "PHID-XCMT-{}",
                hash32(&format!("{xact_phid}/v{version}"), 20)
            ),
            version,
            author: author.to_string(),
            at,
            removed,
            text,
        }
    }

    fn create_task(&mut self, id: u64) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        // Everything but the events, which creation does not need.
        let src = TaskSource {
            title: task.source.title.clone(),
            description: task.source.description.clone(),
            projects: task.source.projects.clone(),
            status: task.source.status.clone(),
            events: Vec::new(),
        };
        let at = task.at;
        let author = self.users[task.author].phid.clone();
        let group = hash32(&format!("group/T{id}/create"), 32);
        let stamp = Stamp {
            at,
            author: &author,
            group: &group,
        };
        let seed = |n: &str| format!("xact/T{id}/create/{n}");
        let mut xacts = vec![
            self.new_xact(&stamp, &seed("create"), Via::Web, XactKind::Create),
            self.new_xact(
                &stamp,
                &seed("title"),
                Via::Web,
                XactKind::Title {
                    old: String::new(),
                    new: src.title.clone(),
                },
            ),
            self.new_xact(
                &stamp,
                &seed("description"),
                Via::Web,
                XactKind::Description {
                    old: String::new(),
                    new: src.description.clone(),
                },
            ),
        ];
        if src.status != "open" {
            xacts.push(self.new_xact(
                &stamp,
                &seed("status"),
                Via::Web,
                XactKind::Status {
                    old: None,
                    new: src.status.clone(),
                },
            ));
        }
        let ops: Vec<(bool, String)> = src
            .projects
            .iter()
            .filter_map(|p| self.project_index(p))
            .map(|i| (true, self.projects[i].phid.clone()))
            .collect();
        if !ops.is_empty() {
            xacts.push(self.new_xact(&stamp, &seed("projects"), Via::Web, XactKind::Projects(ops)));
        }
        xacts.push(self.author_subscribes(&stamp, &seed("subscribers"), Via::Web));
        if let Some(task) = self.tasks.get_mut(&id) {
            task.xacts.extend(xacts);
        }
    }

    fn apply_event(&mut self, id: u64, j: usize) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        let Some(event) = task.source.events.get(j).cloned() else {
            return;
        };
        let Ok(kind) = event.kind() else {
            return;
        };
        let at = epoch(event.at);
        let author = match self.user_index(&event.author) {
            Some(u) => self.users[u].phid.clone(),
            None => return,
        };
        let group = hash32(&format!("group/T{id}/event{j}"), 32);
        let stamp = Stamp {
            at,
            author: &author,
            group: &group,
        };
        let seed = |n: &str| format!("xact/T{id}/event{j}/{n}");
        let view = self.view_at(id, i64::MAX);
        let mut xacts = Vec::new();
        let mut comment_pos = None;
        match kind {
            EventKind::Comment { text, via } => {
                if !view
                    .as_ref()
                    .is_some_and(|v| v.subscribers.contains(&author))
                {
                    xacts.push(self.author_subscribes(&stamp, &seed("subscribers"), via));
                }
                let x = self.new_comment(&stamp, &seed("comment"), via, text);
                comment_pos = Some(xacts.len());
                xacts.push(x);
            }
            EventKind::Description(new) => {
                let old = view.map(|v| v.description.clone()).unwrap_or_default();
                xacts.push(self.new_xact(
                    &stamp,
                    &seed("description"),
                    Via::Web,
                    XactKind::Description { old, new },
                ));
            }
            EventKind::Projects { add, remove } => {
                let current = view.map(|v| v.projects.clone()).unwrap_or_default();
                let mut ops = Vec::new();
                for (adding, names) in [(true, add), (false, remove)] {
                    for name in names {
                        if let Some(p) = self.project_index(&name) {
                            let phid = self.projects[p].phid.clone();
                            if current.contains(&phid) != adding {
                                ops.push((adding, phid));
                            }
                        }
                    }
                }
                if !ops.is_empty() {
                    xacts.push(self.new_xact(
                        &stamp,
                        &seed("projects"),
                        Via::Web,
                        XactKind::Projects(ops),
                    ));
                }
            }
            EventKind::Status(new) => {
                let old = view.map(|v| v.status.clone());
                if old.as_deref() != Some(new.as_str()) {
                    xacts.push(self.new_xact(
                        &stamp,
                        &seed("status"),
                        Via::Web,
                        XactKind::Status { old, new },
                    ));
                }
            }
            EventKind::EditComment { index, text } => {
                self.add_version(id, index, &author, at, false, text);
            }
            EventKind::RemoveComment(index) => {
                self.add_version(id, index, &author, at, true, String::new());
            }
        }
        if let Some(task) = self.tasks.get_mut(&id) {
            let base = task.xacts.len();
            task.xacts.extend(xacts);
            if let Some(pos) = comment_pos {
                task.scenario_comments.push(base + pos);
            }
        }
    }

    fn add_version(
        &mut self,
        id: u64,
        index: usize,
        author: &str,
        at: i64,
        removed: bool,
        text: String,
    ) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        let Some(&pos) = index
            .checked_sub(1)
            .and_then(|i| task.scenario_comments.get(i))
        else {
            return;
        };
        let xact = &task.xacts[pos];
        let version = xact.versions.len() as u64 + 1;
        let xphid = xact.phid.clone();
        let v = self.new_version(&xphid, version, author, at, removed, text);
        if let Some(task) = self.tasks.get_mut(&id) {
            task.xacts[pos].versions.push(v);
        }
    }

    /// The task as of `now` (transactions at or before it), if it exists by then. Views are
    /// cached per task, instant and number of transactions (transactions are only ever
    /// appended), so a poll over many unchanged tasks replays nothing.
    pub fn view_at(&self, id: u64, now: i64) -> Option<Arc<TaskView>> {
        let len = self.tasks.get(&id)?.xacts.len();
        if let Some((at, n, view)) = self.view_cache.borrow().get(&id) {
            if *at == now && *n == len {
                return Some(view.clone());
            }
        }
        let view = Arc::new(self.replay(id, now)?);
        self.view_cache
            .borrow_mut()
            .insert(id, (now, len, view.clone()));
        Some(view)
    }

    fn replay(&self, id: u64, now: i64) -> Option<TaskView> {
        let task = self.tasks.get(&id)?;
        let mut title = "";
        let mut description = "";
        if task.at > now || task.xacts.is_empty() {
            return None;
        }
        let mut v = TaskView {
            title: String::new(),
            description: String::new(),
            status: "open".to_string(),
            projects: BTreeSet::new(),
            subscribers: BTreeSet::new(),
            columns: BTreeMap::new(),
            date_modified: task.at,
            closed: None,
        };
        for x in task.xacts.iter().filter(|x| x.at <= now) {
            v.date_modified = v.date_modified.max(x.at);
            match &x.kind {
                XactKind::Create | XactKind::Comment => {}
                XactKind::Title { new, .. } => title = new,
                XactKind::Description { new, .. } => description = new,
                XactKind::Status { new, .. } => {
                    let closed = STATUSES
                        .iter()
                        .any(|(k, _, closed)| *k == new.as_str() && *closed);
                    v.closed = if closed {
                        Some((x.at, x.author.clone()))
                    } else {
                        None
                    };
                    v.status = new.clone();
                }
                XactKind::Projects(ops) => {
                    for (add, p) in ops {
                        if *add {
                            v.projects.insert(p.clone());
                        } else {
                            v.projects.remove(p);
                            v.columns.remove(p);
                        }
                    }
                }
                XactKind::Subscribers(ops) => {
                    for (add, p) in ops {
                        if *add {
                            v.subscribers.insert(p.clone());
                        } else {
                            v.subscribers.remove(p);
                        }
                    }
                }
                XactKind::Columns { column, board, .. } => {
                    v.columns.insert(board.clone(), column.clone());
                }
            }
        }
        v.title = title.to_string();
        v.description = description.to_string();
        Some(v)
    }

    /// The column a task sits in on a board (default: the board's first column).
    pub fn column_on_board(&self, view: &TaskView, board: usize) -> &Column {
        let p = &self.projects[board];
        view.columns
            .get(&p.phid)
            .and_then(|c| self.column(c))
            .and_then(|(pi, ci)| (pi == board).then(|| &p.columns[ci]))
            .unwrap_or(&p.columns[0])
    }

    /// Applies one `maniphest.edit` as `viewer`: the already validated operations, in order,
    /// as one group at the current clock. Returns the new transaction PHIDs.
    pub fn edit(&mut self, id: u64, viewer: usize, ops: Vec<EditOp>) -> Vec<String> {
        let now = self.now_epoch();
        let author = self.users[viewer].phid.clone();
        let n = self.next_edit;
        self.next_edit += 1;
        let group = hash32(&format!("group/edit/{n}"), 32);
        let stamp = Stamp {
            at: now,
            author: &author,
            group: &group,
        };
        let mut produced: Vec<Xact> = Vec::new();
        let mut posted = Vec::new();
        let mut view = match self.view_at(id, now) {
            Some(v) => (*v).clone(),
            None => return Vec::new(),
        };
        for (k, op) in ops.into_iter().enumerate() {
            let seed = format!("xact/edit/{n}/{k}");
            let via = Via::Conduit;
            match op {
                EditOp::Comment(text) => {
                    if text.trim().is_empty() {
                        continue;
                    }
                    if !view.subscribers.contains(&author) {
                        view.subscribers.insert(author.clone());
                        let subscribers = format!("{seed}/subscribers");
                        produced.push(self.author_subscribes(&stamp, &subscribers, via));
                    }
                    let x = self.new_comment(&stamp, &seed, via, text.clone());
                    posted.push(PostedComment {
                        author: self.users[viewer].username.clone(),
                        text,
                        at: self.now.to_rfc3339(),
                        phid: x.phid.clone(),
                    });
                    produced.push(x);
                }
                EditOp::Projects { add, remove } => {
                    let ops = toggle(&mut view.projects, add, remove);
                    for (_, p) in ops.iter().filter(|(added, _)| !added) {
                        view.columns.remove(p);
                    }
                    if !ops.is_empty() {
                        produced.push(self.new_xact(&stamp, &seed, via, XactKind::Projects(ops)));
                    }
                }
                EditOp::Subscribers { add, remove } => {
                    let ops = toggle(&mut view.subscribers, add, remove);
                    if !ops.is_empty() {
                        produced.push(self.new_xact(
                            &stamp,
                            &seed,
                            via,
                            XactKind::Subscribers(ops),
                        ));
                    }
                }
                EditOp::Column(column) => {
                    let Some((pi, _)) = self.column(&column) else {
                        continue;
                    };
                    let board = self.projects[pi].phid.clone();
                    if view.projects.insert(board.clone()) {
                        produced.push(self.new_xact(
                            &stamp,
                            &format!("{seed}/projects"),
                            via,
                            XactKind::Projects(vec![(true, board.clone())]),
                        ));
                    }
                    let from = self.column_on_board(&view, pi).phid.clone();
                    if from == column {
                        continue;
                    }
                    view.columns.insert(board.clone(), column.clone());
                    produced.push(self.new_xact(
                        &stamp,
                        &seed,
                        via,
                        XactKind::Columns {
                            column,
                            board,
                            from: Some(from),
                        },
                    ));
                }
                EditOp::Status(new) => {
                    if view.status != new {
                        let old = std::mem::replace(&mut view.status, new.clone());
                        produced.push(self.new_xact(
                            &stamp,
                            &seed,
                            via,
                            XactKind::Status {
                                old: Some(old),
                                new,
                            },
                        ));
                    }
                }
                EditOp::Title(new) => {
                    if view.title != new {
                        let old = std::mem::replace(&mut view.title, new.clone());
                        produced.push(self.new_xact(
                            &stamp,
                            &seed,
                            via,
                            XactKind::Title { old, new },
                        ));
                    }
                }
                EditOp::Description(new) => {
                    if view.description != new {
                        let old = std::mem::replace(&mut view.description, new.clone());
                        produced.push(self.new_xact(
                            &stamp,
                            &seed,
                            via,
                            XactKind::Description { old, new },
                        ));
                    }
                }
            }
        }
        let phids = produced.iter().map(|x| x.phid.clone()).collect();
        if let Some(task) = self.tasks.get_mut(&id) {
            task.xacts.extend(produced);
        }
        self.posted.entry(id).or_default().extend(posted);
        phids
    }
}

/// Adds and removes members of a set (a task's projects or subscribers), in that order:
/// the changes made, `(true, added)` and `(false, removed)`; what was already so is left out.
fn toggle(
    set: &mut BTreeSet<String>,
    add: Vec<String>,
    remove: Vec<String>,
) -> Vec<(bool, String)> {
    let mut ops = Vec::new();
    for p in add {
        if set.insert(p.clone()) {
            ops.push((true, p));
        }
    }
    for p in remove {
        if set.remove(&p) {
            ops.push((false, p));
        }
    }
    ops
}

/// What the transactions of one edit (or one scenario event) share: when, by whom, in which
/// group.
struct Stamp<'a> {
    at: i64,
    author: &'a str,
    group: &'a str,
}

/// One validated `maniphest.edit` operation (PHIDs already resolved).
#[derive(Debug, Clone)]
pub enum EditOp {
    /// `comment`.
    Comment(String),
    /// `projects.add` / `projects.remove` (`projects.set` becomes both).
    Projects {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// `subscribers.add` / `subscribers.remove`.
    Subscribers {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// `column`: a column PHID.
    Column(String),
    /// `status`.
    Status(String),
    /// `title`.
    Title(String),
    /// `description`.
    Description(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phids_are_deterministic_and_well_formed() {
        let a = user_phid("jdoe");
        assert_eq!(a, user_phid("jdoe"));
        assert_ne!(a, user_phid("jdoe2"));
        assert_eq!(a.len(), "PHID-USER-".len() + 20);
        assert!(a["PHID-USER-".len()..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
        assert_eq!(hash32("x", 15).len(), 15);
        assert_eq!(hash32("x", 60).len(), 60);
    }
}
