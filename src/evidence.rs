//! Evidence gathering: turns one task's Conduit data into the engine's [`Facts`] — users,
//! staff/NDA memberships, L3 signatures, pastes, comment channels from the task page, key
//! reuse — with caches, so that an unchanged world costs no calls.
//!
//! This is the only I/O in front of the pure policy engine. Whatever cannot be read is
//! recorded as unknown (and so fails closed in the engine), never guessed.

use crate::conduit::{channel_map, Channel, Client, ConduitError, NotAPage, TaskPage};
use crate::ids::{Fingerprint, Phid, ShellUser, TaskId, Username};
use crate::keys::{self, KeyIndex, KeyOwner};
use crate::policy::{
    self, CommentFact, Eligibility, Evidence, Facts, KeyFacts, KeyReuse, KeySource, Sources,
    Subject, SubjectBasis, SudoFacts, Trust, L3,
};
use crate::request::{self, KeyRef, Parser, Request};
use crate::rules::{ChannelSource, L3Source, Rules};
use crate::store::{Store, TaskRow};
use crate::timeline::{DescriptionChanges, Moment, Person, Timeline, TimelineComment};
use crate::wire::{Task, Transaction, User};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Identities resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Context {
    /// The watched project.
    pub project: Phid,
    /// The bot's own PHID.
    pub bot_phid: Phid,
    /// The bot's own username.
    pub bot_user: Username,
    /// How L3 signatures can be read.
    pub l3: L3Access,
    /// Ready-column PHID, if configured.
    pub ready_column: Option<Phid>,
    /// Ready-tag project PHID, if configured.
    pub ready_tag: Option<Phid>,
}

/// Whether the bot can read L3 signatures from Legalpad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L3Access {
    /// The document, and whether the bot can see other people's signatures.
    Legalpad {
        /// The document PHID.
        document: Phid,
        /// The bot sees signatures other than its own (it can edit the document).
        visible: bool,
    },
    /// Legalpad is not usable; the reason is fit to post.
    Unavailable(String),
    /// Legalpad is not among the configured sources.
    NotConfigured,
}

impl Context {
    /// Resolves the project, the bot and L3 access (a few calls, once per start).
    pub async fn resolve(client: &Client, rules: &Rules) -> anyhow::Result<Context> {
        let me = client.whoami().await?;
        let project = client.project_by_name(&rules.phabricator.project).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the project {:?} ([phabricator] project in policy.toml) does not exist or is not visible to the bot",
                rules.phabricator.project
            )
        })?;
        let ready_column = (!rules.phabricator.ready_column.is_empty())
            .then(|| Phid(rules.phabricator.ready_column.clone()));
        let ready_tag = if rules.phabricator.ready_tag.is_empty() {
            None
        } else {
            Some(
                client
                    .project_by_name(&rules.phabricator.ready_tag)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the ready tag project {:?} does not exist",
                            rules.phabricator.ready_tag
                        )
                    })?
                    .phid,
            )
        };
        let l3 = if rules.l3.sources.contains(&L3Source::Legalpad) {
            l3_access(client, rules, &me.phid).await?
        } else {
            L3Access::NotConfigured
        };
        match &l3 {
            L3Access::Legalpad { visible: false, .. } => tracing::error!(
                document = %rules.l3.document,
                "THE BOT CANNOT SEE {} SIGNATURES: add it to the document's edit policy. Until then every L3 check is pending.",
                rules.l3.document
            ),
            L3Access::Unavailable(why) => {
                tracing::error!(document = %rules.l3.document, "L3 signatures cannot be read: {why}")
            }
            _ => {}
        }
        Ok(Context {
            project: project.phid,
            bot_phid: me.phid,
            bot_user: Username::new(&me.user_name),
            l3,
            ready_column,
            ready_tag,
        })
    }
}

/// Finds the L3 document and whether its signatures are visible: the bot sees someone else's
/// signature only when it can edit the document (an empty list proves nothing). A transient
/// failure (the server is down) is an error, so that start-up tries again rather than running
/// without L3 until the next restart.
async fn l3_access(client: &Client, rules: &Rules, bot: &Phid) -> Result<L3Access, ConduitError> {
    let mono = rules.l3.document.clone();
    let docs = match client.documents(&[mono.as_str()]).await {
        Ok(d) => d,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            return Ok(L3Access::Unavailable(format!(
                "legalpad.document.search failed: {e}"
            )))
        }
    };
    let Some(doc) = docs.into_iter().next() else {
        return Ok(L3Access::Unavailable(format!(
            "the Legalpad document {mono} was not found"
        )));
    };
    let visible = doc
        .attachments
        .get("signatures")
        .and_then(|s| s.get("signatures"))
        .and_then(|s| s.as_array())
        .is_some_and(|sigs| {
            sigs.iter().any(|s| {
                s.get("signerPHID")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p != bot.as_str())
            })
        });
    Ok(L3Access::Legalpad {
        document: doc.phid,
        visible,
    })
}

#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    at: Instant,
}

#[derive(Debug, Clone)]
struct UserInfo {
    username: Username,
    real_name: String,
    bot: bool,
    disabled: bool,
}

#[derive(Debug, Default)]
struct Caches {
    /// Accounts as read, each used for `cache_ttl_minutes` after its read: an account
    /// disabled (or made a bot) since is seen by the next read after that.
    users: HashMap<Phid, Cached<UserInfo>>,
    by_name: HashMap<String, Option<Phid>>,
    staff: Option<Cached<Arc<HashSet<Phid>>>>,
    nda: Option<Cached<Arc<HashSet<Phid>>>>,
    project_phids: HashMap<String, Option<Phid>>,
    l3_signed: HashMap<Phid, DateTime<Utc>>,
    l3_unsigned: HashMap<Phid, Instant>,
    channels: HashMap<Phid, Channel>,
    /// Members of single projects by name: research projects and eligible projects.
    rosters: HashMap<String, Cached<Arc<HashSet<Phid>>>>,
    /// Pastes read for a batch about to be gathered ([`EvidenceSource::prefetch`]), each used
    /// once, within [`PASTE_FRESH`] of its read (`None`: the batch's answer did not have it).
    pastes: HashMap<u64, (Instant, Option<crate::wire::Paste>)>,
    /// Who wrote each paste and when its history last changed, as of its `dateModified`: any
    /// edit moves it, so the paste's transactions are read again only then.
    paste_history: HashMap<u64, PasteHistory>,
}

/// A paste's history as the key check needs it, read at one `dateModified`.
#[derive(Debug, Clone)]
struct PasteHistory {
    date_modified: i64,
    editors: Vec<Phid>,
    newest: Option<i64>,
}

/// How long a paste read for a batch stands for a read of it while gathering: a batch is
/// gathered within seconds of its prefetch; an older read is not used.
const PASTE_FRESH: Duration = Duration::from_secs(30);

/// A paste as the key check needs it.
#[derive(Debug, Clone)]
struct PasteInfo {
    author: Phid,
    content: String,
    /// Everyone who created or changed it (the authors of its transactions).
    editors: Vec<Phid>,
    /// When its text last changed: the newest of its creation, its `dateModified` and its
    /// transactions.
    changed: DateTime<Utc>,
}

/// Gathers facts with caches shared across tasks and cycles.
pub struct EvidenceSource {
    client: Client,
    rules: Arc<Rules>,
    keys: Arc<KeyIndex>,
    parser: Parser,
    ctx: Context,
    signers: Option<HashSet<String>>,
    ttl: Duration,
    caches: Mutex<Caches>,
    /// Held while the staff/NDA memberships are refreshed, so that tasks gathered at once
    /// wait for one refresh instead of each making the same calls.
    members_refresh: tokio::sync::Mutex<()>,
    /// What the last task page fetched was: said once, loudly, when it changes.
    pages: Mutex<PageHealth>,
    /// The instant of a what-if (`--now`): tasks are read as they were then
    /// ([`Self::rewind`]), pastes changed later are unverified, later L3 signatures unsigned.
    as_of: Option<DateTime<Utc>>,
    /// Where the comment channels learnt from task pages are kept across restarts, if set
    /// ([`Self::remember_channels_in`]).
    channel_store: std::sync::OnceLock<Store>,
}

/// Whether task pages can be read, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageHealth {
    /// No page fetched yet.
    Unknown,
    /// The last page was a task page.
    Readable,
    /// The last page was not a task page.
    Broken(NotAPage),
}

/// Why task pages cannot be read, with the fix, for the log and `check`/`explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageProblem {
    /// What the server answered instead of a task page.
    pub kind: NotAPage,
    /// One paragraph for an operator: what happened, what it means, how to fix it.
    pub message: String,
}

impl std::fmt::Display for PageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The fix when task pages need a session (the README says how to get the cookie).
const COOKIE_FIX: &str = "set `session_cookie_file` in policy.toml ([evidence]) to a file holding the `phsid` cookie of an ordinary read-only account (bot accounts cannot hold web sessions; see the README, \"Pointing it at a real Phabricator\"), or, if the install accepts no email replies, set `channel = \"no-inbound-mail\"`";

/// A task's facts plus what the poller needs beside them.
#[derive(Debug)]
pub struct Gathered {
    /// The engine's input.
    pub facts: Facts,
    /// The timeline.
    pub timeline: Timeline,
    /// The key fingerprint, when the key parsed.
    pub fingerprint: Option<Fingerprint>,
    /// When the current key first appeared on the task (key reuse is decided by it).
    pub key_since: Moment,
    /// The acceptable public key line (for the grant patch); `None` unless the key passed.
    pub key_line: Option<String>,
    /// The named manager's account as the server spells it, only when the bot found an
    /// existing, enabled, non-bot account by that name that is a member of a staff project
    /// (only a staff member's approval counts as the manager's): a live mention goes only to
    /// it, so a requester cannot have the bot ping an arbitrary account.
    pub manager_account: Option<Username>,
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl KeyDates {
    /// The dates of a key in a paste that was referenced at `self`: the key appeared when
    /// both the reference and the paste's text were there, so a paste created or changed
    /// later dates it (and makes older approvals stale). `changed`: the paste's last change.
    fn with_paste(self, changed: Option<Moment>) -> KeyDates {
        let Some(p) = changed else {
            return self;
        };
        KeyDates {
            first_seen: self.first_seen.max(p),
            changed: Some(self.changed.map_or(p, |c| c.max(p))),
        }
    }
}

/// A key read from a paste: the key text (a private key redacted), whether it counts, when the
/// paste last changed, and the paste's text as written.
struct PasteKey {
    text: Option<String>,
    trust: Trust,
    changed: Option<Moment>,
    raw: Option<String>,
}

/// The key found for a request: its facts, its dates, its fingerprint and, when acceptable,
/// its public key line.
type FoundKey = (KeyFacts, KeyDates, Option<Fingerprint>, Option<String>);

/// When a request's key appeared (design §10, provenance by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDates {
    /// When this key first appeared on the task: the first description version that held it,
    /// the comment with it, the paste's last change (whichever is later for a paste). Key reuse
    /// is decided by it: the earlier appearance wins, whatever the tasks' creation dates.
    pub first_seen: Moment,
    /// When the current key came, for the approvals: the description edit that set it, the
    /// comment with it, the paste's last change. `None`: unchanged since the first
    /// description.
    pub changed: Option<Moment>,
}

/// A key candidate in a comment.
enum CommentKey {
    Text(String),
    Paste(u64),
}

/// Where a task's facts came from ([`Sources`]): the description's last version, the tag
/// transaction, where the key judged was written, and the comments whose key was not taken.
fn key_sources(
    timeline: &Timeline,
    txs: &[Transaction],
    key: &KeyFacts,
    dates: &KeyDates,
    subject: &Username,
    comments: &[CommentFact],
) -> Sources {
    let version = |anchor: Option<u64>| {
        anchor
            .and_then(|a| timeline.descriptions.iter().find(|v| v.anchor == a))
            .map(|v| Evidence::Transaction {
                xact: v.xact.clone(),
                anchor: v.anchor,
            })
            .unwrap_or(Evidence::Task)
    };
    let description = Some(version(timeline.descriptions.last().map(|v| v.anchor)));
    let tag = match (&timeline.tag_xact, timeline.tagged_at) {
        (Some(x), _) => txs
            .iter()
            .find(|t| &t.phid == x)
            .map(|t| Evidence::Transaction {
                xact: t.phid.clone(),
                anchor: t.id,
            }),
        (None, Some(_)) => Some(Evidence::Task),
        (None, None) => None,
    };
    let (key_at, taken) = match &key.source {
        KeySource::Description => (vec![version(dates.first_seen.xact)], None),
        KeySource::Comment { xact, anchor } => {
            let mut v = vec![Evidence::Transaction {
                xact: xact.clone(),
                anchor: *anchor,
            }];
            let said = comments.iter().find(|c| &c.xact == xact);
            if let Some(CommentKey::Paste(id)) = said.and_then(|c| key_in_comment(&c.text)) {
                v.push(Evidence::Paste { id });
            }
            (v, Some(xact.clone()))
        }
        KeySource::Paste { id } => (
            vec![version(dates.first_seen.xact), Evidence::Paste { id: *id }],
            None,
        ),
        KeySource::Pointer => (vec![version(dates.first_seen.xact)], None),
        KeySource::None => (Vec::new(), None),
    };
    let keys_not_taken = comments
        .iter()
        .filter(|c| !c.removed && Some(&c.xact) != taken.as_ref())
        .filter(|c| key_in_comment(&c.text).is_some())
        .map(|c| {
            let why = if &c.author != subject {
                format!(
                    "a key posted by @{}, not by @{subject}, whom the request is for, never counts",
                    c.author
                )
            } else if c.channel == Channel::Email {
                "a key that came by email is not taken: it must be posted on the web".to_string()
            } else {
                format!("an older key of @{subject}: the newest key posted on the web counts")
            };
            (c.xact.clone(), why)
        })
        .collect();
    Sources {
        description,
        tag,
        key: key_at,
        keys_not_taken,
        edited_from_yes: Vec::new(),
    }
}

/// The key a comment gives, read by the one reader ([`request::scan`]): a private key
/// anywhere (its material never leaves here), public keys in the author's own text or code
/// (never in quotes; several are all passed on, and the key check refuses them), or a paste
/// reference in a comment that speaks of a key.
fn key_in_comment(text: &str) -> Option<CommentKey> {
    let found = request::scan(text);
    if found.private {
        return Some(CommentKey::Text(request::REDACTED_PRIVATE_KEY.into()));
    }
    if !found.keys.is_empty() {
        return Some(CommentKey::Text(found.keys.join("\n")));
    }
    let speaks_of_a_key = text.to_lowercase().contains("key");
    match found.pastes.first() {
        Some(&id) if speaks_of_a_key => Some(CommentKey::Paste(id)),
        _ => None,
    }
}

/// The key text of a paste, read like a comment: a private key anywhere is redacted, public
/// keys outside quotes are passed on, a key that is only quoted is no key.
fn key_in_paste(content: String) -> String {
    let found = request::scan(&content);
    if found.private {
        request::REDACTED_PRIVATE_KEY.into()
    } else if !found.keys.is_empty() {
        found.keys.join("\n")
    } else if found.quoted {
        String::new()
    } else {
        content
    }
}

impl EvidenceSource {
    /// A source for the bot's rules on this client: loads the known-keys index and resolves
    /// the context (the bot's account, the project, the Legalpad document) from Phabricator.
    pub async fn connect(client: Client, rules: Arc<Rules>) -> anyhow::Result<EvidenceSource> {
        let keys = Arc::new(KeyIndex::load(&rules)?);
        let ctx = Context::resolve(&client, &rules).await?;
        EvidenceSource::new(client, rules, keys, ctx)
    }

    /// A new source for this context.
    pub fn new(
        client: Client,
        rules: Arc<Rules>,
        keys: Arc<KeyIndex>,
        ctx: Context,
    ) -> anyhow::Result<EvidenceSource> {
        let signers = if rules.l3.sources.contains(&L3Source::SignersFile) {
            let path = rules
                .path(&rules.l3.signers_file)
                .ok_or_else(|| anyhow::anyhow!("[l3] signers_file is empty"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("cannot read the L3 signers file {}: {e}", path.display())
            })?;
            Some(
                text.lines()
                    .map(|l| l.trim().trim_start_matches('@').to_ascii_lowercase())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect(),
            )
        } else {
            None
        };
        let ttl = Duration::from_secs(u64::from(rules.timing.cache_ttl_minutes) * 60);
        let parser = Parser::new(&rules.labels);
        Ok(EvidenceSource {
            client,
            rules,
            keys,
            parser,
            ctx,
            signers,
            ttl,
            caches: Mutex::new(Caches::default()),
            members_refresh: tokio::sync::Mutex::new(()),
            pages: Mutex::new(PageHealth::Unknown),
            as_of: None,
            channel_store: std::sync::OnceLock::new(),
        })
    }

    /// Keeps the comment channels read from task pages in `store` and looks there before
    /// reading a page: a comment's channel never changes, so a restarted bot reads a task's
    /// page again only for comments it has not seen. Set once; later calls are ignored.
    pub fn remember_channels_in(&self, store: Store) {
        let _ = self.channel_store.set(store);
    }

    /// Reads every task as it was at `at` (`--now`): see [`Self::rewind`]. `None`: as it is.
    pub fn with_as_of(mut self, at: Option<DateTime<Utc>>) -> EvidenceSource {
        self.as_of = at;
        self
    }

    /// The instant tasks are read as of, if it is a what-if.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }

    /// A task and its transactions as they were at the what-if instant
    /// ([`crate::timeline::rewind`]); unchanged without one. False when the task did not
    /// exist yet then.
    pub fn rewind(&self, task: &mut Task, txs: &mut Vec<Transaction>) -> bool {
        match self.as_of {
            Some(at) => {
                crate::timeline::rewind(task, txs, at, &self.ctx.bot_phid, &self.rules.phabricator)
            }
            None => true,
        }
    }

    /// The resolved context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn users(&self, phids: &[Phid]) -> Result<HashMap<Phid, UserInfo>, ConduitError> {
        let missing: Vec<Phid> = {
            let c = self.lock();
            let mut m: Vec<Phid> = phids
                .iter()
                .filter(|p| c.users.get(*p).is_none_or(|u| u.at.elapsed() >= self.ttl))
                .cloned()
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let found = self.client.users_by_phids(&missing).await?;
            let mut c = self.lock();
            let at = Instant::now();
            // An account read before that is not in the answer now (gone from view) is
            // not used as it was.
            for p in &missing {
                c.users.remove(p);
            }
            for u in found {
                c.by_name
                    .insert(u.fields.username.to_ascii_lowercase(), Some(u.phid.clone()));
                c.users.insert(
                    u.phid.clone(),
                    Cached {
                        value: info(&u),
                        at,
                    },
                );
            }
        }
        let c = self.lock();
        Ok(phids
            .iter()
            .filter_map(|p| c.users.get(p).map(|u| (p.clone(), u.value.clone())))
            .collect())
    }

    async fn phid_of(&self, username: &Username) -> Result<Option<Phid>, ConduitError> {
        if let Some(p) = self.lock().by_name.get(&username.key()) {
            return Ok(p.clone());
        }
        let found = self
            .client
            .users_by_usernames(&[username.as_str().to_string()])
            .await?;
        let mut c = self.lock();
        let hit = found
            .iter()
            .find(|u| Username::new(&u.fields.username) == *username);
        if let Some(u) = hit {
            c.users.insert(
                u.phid.clone(),
                Cached {
                    value: info(u),
                    at: Instant::now(),
                },
            );
        }
        let p = hit.map(|u| u.phid.clone());
        c.by_name.insert(username.key(), p.clone());
        Ok(p)
    }

    fn cached_members(&self, staff: bool) -> Option<Arc<HashSet<Phid>>> {
        let c = self.lock();
        let slot = if staff { &c.staff } else { &c.nda };
        slot.as_ref()
            .filter(|s| s.at.elapsed() < self.ttl)
            .map(|s| s.value.clone())
    }

    /// The members of the staff (or NDA) projects, shared: a task reads them, never copies.
    async fn members(&self, staff: bool) -> Result<Arc<HashSet<Phid>>, ConduitError> {
        if let Some(s) = self.cached_members(staff) {
            return Ok(s);
        }
        // One refresh at a time; whoever waited finds the fresh value.
        let _refreshing = self.members_refresh.lock().await;
        if let Some(s) = self.cached_members(staff) {
            return Ok(s);
        }
        let names = if staff {
            &self.rules.people.staff_projects
        } else {
            &self.rules.people.nda_projects
        };
        let mut phids = Vec::new();
        for name in names {
            let cached = self.lock().project_phids.get(name).cloned();
            let phid = match cached {
                Some(p) => p,
                None => {
                    let p = self.client.project_by_name(name).await?.map(|p| p.phid);
                    if p.is_none() {
                        tracing::warn!(project = %name, "a configured staff/NDA project does not exist: nobody counts as its member");
                    }
                    self.lock().project_phids.insert(name.clone(), p.clone());
                    p
                }
            };
            phids.extend(phid);
        }
        let mut set = HashSet::new();
        if !phids.is_empty() {
            for p in self.client.projects_with_members(&phids).await? {
                if let Some(m) = p.attachments.members {
                    set.extend(m.members.into_iter().map(|m| m.phid));
                }
            }
        }
        let set = Arc::new(set);
        let mut c = self.lock();
        let slot = if staff { &mut c.staff } else { &mut c.nda };
        *slot = Some(Cached {
            value: set.clone(),
            at: Instant::now(),
        });
        Ok(set)
    }

    /// Whether the subject's research collaboration matters: a requested group holds private
    /// data and research projects are configured.
    fn wants_research(&self, groups: &[String]) -> bool {
        !self.rules.people.research_projects.is_empty()
            && groups
                .iter()
                .any(|g| self.rules.group(g).is_some_and(|g| g.private_data))
    }

    /// The members of these projects (by name or slug), each project's members cached for the
    /// TTL like the staff projects': the research projects and the eligible projects of
    /// LDAP-only groups. A project that does not exist has no members (logged once a TTL).
    async fn roster(&self, names: &[String]) -> Result<HashSet<Phid>, ConduitError> {
        let mut out = HashSet::new();
        let mut missing: Vec<(String, Phid)> = Vec::new();
        for name in names {
            let cached = {
                let c = self.lock();
                c.rosters
                    .get(name)
                    .filter(|r| r.at.elapsed() < self.ttl)
                    .map(|r| r.value.clone())
            };
            if let Some(members) = cached {
                out.extend(members.iter().cloned());
                continue;
            }
            let known = self.lock().project_phids.get(name).cloned();
            let phid = match known {
                Some(p) => p,
                None => {
                    let p = self.client.project_by_name(name).await?.map(|p| p.phid);
                    self.lock().project_phids.insert(name.clone(), p.clone());
                    p
                }
            };
            match phid {
                Some(p) => missing.push((name.clone(), p)),
                None => {
                    tracing::warn!(project = %name, "a configured research or eligible project does not exist: nobody counts as its member");
                    self.lock().rosters.insert(
                        name.clone(),
                        Cached {
                            value: Arc::default(),
                            at: Instant::now(),
                        },
                    );
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let phids: Vec<Phid> = missing.iter().map(|(_, p)| p.clone()).collect();
        let mut by_phid: HashMap<Phid, HashSet<Phid>> = HashMap::new();
        for p in self.client.projects_with_members(&phids).await? {
            let members = p
                .attachments
                .members
                .map(|m| m.members.into_iter().map(|m| m.phid).collect())
                .unwrap_or_default();
            by_phid.insert(p.phid, members);
        }
        let mut c = self.lock();
        for (name, phid) in missing {
            let members = Arc::new(by_phid.remove(&phid).unwrap_or_default());
            out.extend(members.iter().cloned());
            c.rosters.insert(
                name,
                Cached {
                    value: members,
                    at: Instant::now(),
                },
            );
        }
        Ok(out)
    }

    /// The subject's eligibility for each requested LDAP-only group with eligibility rules
    /// (design §11): a member of one of its `eligible_projects`, or in its `eligible_file`
    /// (one username a line, `#` comments; read each time, it is small). A file that cannot
    /// be read leaves the group `Unknown` (pending), never eligible.
    async fn eligibility(
        &self,
        groups: &[String],
        username: &Username,
        phid: &Phid,
    ) -> Result<std::collections::BTreeMap<String, Eligibility>, ConduitError> {
        let mut out = std::collections::BTreeMap::new();
        for name in groups {
            let Some(g) = self.rules.group(name) else {
                continue;
            };
            if !g.is_ldap() || !g.has_eligibility() {
                continue;
            }
            let mut verdict = Eligibility::NotEligible;
            if !g.eligible_projects.is_empty()
                && self.roster(&g.eligible_projects).await?.contains(phid)
            {
                verdict = Eligibility::Eligible {
                    via: format!("a member of {}", g.eligible_projects.join(", ")),
                };
            }
            let file = g.eligible_file.trim();
            if verdict == Eligibility::NotEligible && !file.is_empty() {
                let path = self.rules.path(file).unwrap_or_default();
                let shown = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                verdict = match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let listed = text
                            .lines()
                            .map(|l| l.trim().trim_start_matches('@'))
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .any(|l| Username::new(l) == *username);
                        if listed {
                            Eligibility::Eligible {
                                via: format!("in the eligible list {shown}"),
                            }
                        } else {
                            Eligibility::NotEligible
                        }
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot read an eligible list: eligibility stays pending");
                        Eligibility::Unknown {
                            reason: format!("the eligible list {shown} cannot be read"),
                        }
                    }
                };
            }
            out.insert(name.to_lowercase(), verdict);
        }
        Ok(out)
    }

    /// A paste, read afresh each time: it can be edited without the task changing, so a
    /// cached copy could hide a new key (a paste-keyed request is gathered when it changes
    /// and on every reconcile, so this costs two calls per paste that often). `None`: the bot
    /// cannot see it.
    ///
    /// The paste itself comes from its batch's `paste.search` ([`Self::prefetch`]) when that
    /// was read moments ago, else from its own call; its history (who changed it) is read
    /// again only when its `dateModified` moved, which every edit does, and not at all when
    /// someone other than `subject` wrote it: such a paste is never trusted whoever changed
    /// it since (its `editors` are then left empty and `changed` is its `dateModified`, which
    /// every change moves).
    async fn paste(&self, id: u64, subject: &Phid) -> Result<Option<PasteInfo>, ConduitError> {
        let prefetched = {
            let mut c = self.lock();
            c.pastes
                .remove(&id)
                .filter(|(at, _)| at.elapsed() < PASTE_FRESH)
        };
        let p = match prefetched {
            Some((_, p)) => p,
            None => self
                .client
                .pastes(&[id])
                .await?
                .into_iter()
                .find(|p| p.id == id),
        };
        let Some(p) = p else {
            return Ok(None);
        };
        if &p.fields.author_phid != subject {
            return Ok(Some(PasteInfo {
                changed: ts(p.fields.date_created.max(p.fields.date_modified)),
                author: p.fields.author_phid,
                content: p.attachments.content.map(|c| c.content).unwrap_or_default(),
                editors: Vec::new(),
            }));
        }
        let known = self
            .lock()
            .paste_history
            .get(&id)
            .filter(|h| h.date_modified == p.fields.date_modified)
            .cloned();
        let history = match known {
            Some(h) => h,
            None => {
                // Who created and changed it, and when (Phorge gives the types as null):
                // anyone whom the edit policy lets in may change the text under the author's
                // name.
                let xacts = self.client.paste_transactions(id).await?;
                let mut editors: Vec<Phid> = xacts.iter().map(|x| x.author_phid.clone()).collect();
                editors.sort();
                editors.dedup();
                let h = PasteHistory {
                    date_modified: p.fields.date_modified,
                    editors,
                    newest: xacts
                        .iter()
                        .map(|x| x.date_created.max(x.date_modified))
                        .max(),
                };
                self.lock().paste_history.insert(id, h.clone());
                h
            }
        };
        let changed = history
            .newest
            .into_iter()
            .chain([p.fields.date_created, p.fields.date_modified])
            .max()
            .unwrap_or(p.fields.date_modified);
        Ok(Some(PasteInfo {
            author: p.fields.author_phid,
            content: p.attachments.content.map(|c| c.content).unwrap_or_default(),
            editors: history.editors,
            changed: ts(changed),
        }))
    }

    async fn l3(&self, requester: &Phid, username: &Username) -> Result<L3, ConduitError> {
        if let Some(signers) = &self.signers {
            if signers.contains(&username.key()) {
                return Ok(L3::Signed {
                    at: DateTime::<Utc>::UNIX_EPOCH,
                });
            }
        }
        let (document, visible) = match &self.ctx.l3 {
            L3Access::Legalpad { document, visible } => (document, *visible),
            L3Access::Unavailable(why) => {
                return Ok(L3::Unknown {
                    reason: why.clone(),
                })
            }
            L3Access::NotConfigured => {
                return Ok(if self.signers.is_some() {
                    L3::NotSigned
                } else {
                    L3::Unknown {
                        reason: "no L3 source can show a signature".into(),
                    }
                })
            }
        };
        if let Some(at) = self.lock().l3_signed.get(requester) {
            return Ok(L3::Signed { at: *at });
        }
        if let Some(t) = self.lock().l3_unsigned.get(requester) {
            if t.elapsed() < self.ttl {
                return Ok(if visible {
                    L3::NotSigned
                } else {
                    L3::NotVisible
                });
            }
        }
        let sigs = self
            .client
            .signatures(document, std::slice::from_ref(requester))
            .await?;
        let mine: Vec<_> = sigs
            .iter()
            .filter(|s| s.fields.signer_phid.as_ref() == Some(requester))
            .collect();
        if let Some(s) = mine.iter().find(|s| !s.fields.is_exemption) {
            let at = ts(s.fields.date_created);
            self.lock().l3_signed.insert(requester.clone(), at);
            return Ok(L3::Signed { at });
        }
        if !mine.is_empty() {
            return Ok(L3::Unknown {
                reason: "L3 shows an exemption, not a signature: clinic duty must verify".into(),
            });
        }
        self.lock()
            .l3_unsigned
            .insert(requester.clone(), Instant::now());
        Ok(if visible {
            L3::NotSigned
        } else {
            L3::NotVisible
        })
    }

    /// Warms the caches for a batch of tasks about to be gathered, given the timelines read
    /// for them (`timelines`, any order, may be fewer than the tasks): the accounts of their
    /// requesters and of everyone who commented on them (the first-seen commenters too) in
    /// one `user.search` per 100, their requesters' L3 signatures in one call per 100, the
    /// pastes they name; instead of calls task by task. What fails here is simply read
    /// again, task by task, by [`Self::gather`].
    pub async fn prefetch(&self, tasks: &[&Task], timelines: &[&[Transaction]]) {
        let requests: Vec<Request> = tasks
            .iter()
            .map(|t| {
                self.parser
                    .parse(&t.fields.name, &t.fields.description.raw)
                    .request
            })
            .collect();
        self.prefetch_pastes(&requests).await;
        let mut requesters: Vec<Phid> =
            tasks.iter().map(|t| t.fields.author_phid.clone()).collect();
        requesters.sort();
        requesters.dedup();
        // Everyone [`Self::gather`] looks up: the requesters and the comments' authors (the
        // bot's own comments aside, as the timeline sets them aside).
        let mut people = requesters.clone();
        people.extend(
            timelines
                .iter()
                .flat_map(|txs| txs.iter())
                .filter(|x| x.newest_comment().is_some() && x.author_phid != self.ctx.bot_phid)
                .map(|x| x.author_phid.clone()),
        );
        if let Err(e) = self.users(&people).await {
            tracing::warn!(error = %e, "cannot prefetch the accounts of the batch's requesters and commenters");
        }
        // Those accounts are known by name now: the names looked up are the others.
        self.prefetch_names(&requests).await;
        let L3Access::Legalpad { document, .. } = &self.ctx.l3 else {
            return;
        };
        let unknown: Vec<Phid> = {
            let c = self.lock();
            let signers = self.signers.as_ref();
            requesters
                .into_iter()
                .filter(|p| !c.l3_signed.contains_key(p))
                .filter(|p| c.l3_unsigned.get(p).is_none_or(|t| t.elapsed() >= self.ttl))
                .filter(|p| {
                    // Requesters the signers file already vouches for need no call.
                    !c.users
                        .get(p)
                        .zip(signers)
                        .is_some_and(|(u, s)| s.contains(&u.value.username.key()))
                })
                .collect()
        };
        if unknown.is_empty() {
            return;
        }
        let sigs = match self.client.signatures(document, &unknown).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prefetch L3 signatures");
                return;
            }
        };
        let mut c = self.lock();
        let now = Instant::now();
        for p in unknown {
            let mine: Vec<_> = sigs
                .iter()
                .filter(|s| s.fields.signer_phid.as_ref() == Some(&p))
                .collect();
            if let Some(s) = mine.iter().find(|s| !s.fields.is_exemption) {
                c.l3_signed.insert(p, ts(s.fields.date_created));
            } else if mine.is_empty() {
                c.l3_unsigned.insert(p, now);
            }
            // Only exemptions: left to `l3`, which reports them.
        }
    }

    /// The pastes the batch's descriptions name as the key, in one `paste.search` per 100
    /// instead of one each; each is used by the next read of it within [`PASTE_FRESH`].
    async fn prefetch_pastes(&self, requests: &[Request]) {
        let mut ids: Vec<u64> = requests
            .iter()
            .filter_map(|r| match r.key {
                Some(KeyRef::Paste { id }) => Some(id),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        match self.client.pastes(&ids).await {
            Ok(found) => {
                let at = Instant::now();
                let mut by_id: HashMap<u64, crate::wire::Paste> =
                    found.into_iter().map(|p| (p.id, p)).collect();
                let mut c = self.lock();
                c.pastes.retain(|_, (t, _)| t.elapsed() < PASTE_FRESH);
                for id in ids {
                    c.pastes.insert(id, (at, by_id.remove(&id)));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot prefetch the batch's pastes"),
        }
    }

    /// The accounts the batch's requests name (the Phabricator username, the manager, the
    /// expiry contact, and the shell and wikitech users that [`Self::subject`] may look up
    /// in the directory), in one `user.search` by usernames per 100 instead of one each;
    /// a name with no account is remembered as such, as [`Self::phid_of`] does.
    async fn prefetch_names(&self, requests: &[Request]) {
        let mut names: Vec<Username> = Vec::new();
        for r in requests {
            names.extend(r.phabricator_user.iter().cloned());
            names.extend(r.manager.iter().cloned());
            names.extend(r.expiry_contact.iter().cloned());
            if r.full_name.is_some() {
                let shell = r.shell_user.as_ref().map(|s| s.as_str());
                for name in [shell, r.wikitech_user.as_deref()].into_iter().flatten() {
                    if directory_name(name) {
                        names.push(Username::new(name));
                    }
                }
            }
        }
        let mut wanted: Vec<String> = {
            let c = self.lock();
            names
                .iter()
                .filter(|n| !c.by_name.contains_key(&n.key()))
                .map(|n| n.as_str().to_string())
                .collect()
        };
        wanted.sort_unstable_by_key(|n| n.to_ascii_lowercase());
        wanted.dedup_by_key(|n| n.to_ascii_lowercase());
        if wanted.is_empty() {
            return;
        }
        let found = match self.client.users_by_usernames(&wanted).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prefetch the accounts the batch's requests name");
                return;
            }
        };
        let mut c = self.lock();
        let at = Instant::now();
        for name in wanted {
            let name = Username::new(&name);
            let hit = found
                .iter()
                .find(|u| Username::new(&u.fields.username) == name);
            if let Some(u) = hit {
                c.users
                    .insert(u.phid.clone(), Cached { value: info(u), at });
            }
            c.by_name.insert(name.key(), hit.map(|u| u.phid.clone()));
        }
    }

    /// Channels of these comment transactions: from the cache, else from the task page and as
    /// many of its "Show Older Changes" parts as it takes to find them. Of the markers, only
    /// those of the task's comments (`comments`) are kept. A page that is not a task page
    /// leaves every channel unknown and is reported ([`Self::page_problem`]).
    async fn channels(
        &self,
        task: &Task,
        xacts: &[Phid],
        comments: &HashSet<&Phid>,
    ) -> HashMap<Phid, Channel> {
        if self.rules.evidence.channel == ChannelSource::NoInboundMail {
            return xacts.iter().map(|x| (x.clone(), Channel::Web)).collect();
        }
        let mut missing: Vec<Phid> = {
            let c = self.lock();
            xacts
                .iter()
                .filter(|x| !c.channels.contains_key(*x))
                .cloned()
                .collect()
        };
        let store = self.channel_store.get();
        if let (Some(store), false) = (store, missing.is_empty()) {
            match store.channels(&missing).await {
                Ok(known) if !known.is_empty() => {
                    missing.retain(|x| !known.contains_key(x));
                    self.lock().channels.extend(known);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the known comment channels: reading the task page")
                }
            }
        }
        if !missing.is_empty() {
            let id = TaskId(task.id);
            let read = self
                .client
                .task_timeline(
                    id,
                    &task.phid,
                    &missing,
                    self.rules.evidence.max_older_pages,
                )
                .await;
            match read {
                Ok(TaskPage::Timeline(t)) => {
                    self.saw_page(id, None);
                    if let Some(why) = &t.incomplete {
                        tracing::warn!(task = %id, older_parts = t.older_parts, reason = %why, "the task page was not read to its oldest event: the channels of older comments stay unknown");
                    }
                    let found: Vec<(Phid, Channel)> = channel_map(&t.markers)
                        .into_iter()
                        .filter(|(phid, ch)| *ch != Channel::Unknown && comments.contains(phid))
                        .collect();
                    self.lock().channels.extend(found.iter().cloned());
                    if let Some(store) = store {
                        if let Err(e) = store.put_channels(&found).await {
                            tracing::warn!(task = %id, error = %e, "cannot keep the comment channels read: a restart reads the page again");
                        }
                    }
                }
                Ok(TaskPage::NotAPage(kind)) => self.saw_page(id, Some(kind)),
                Err(e) => {
                    tracing::warn!(task = %id, error = %e, "cannot read the task page: comment channels unknown")
                }
            }
        }
        let c = self.lock();
        xacts
            .iter()
            .map(|x| {
                (
                    x.clone(),
                    c.channels.get(x).copied().unwrap_or(Channel::Unknown),
                )
            })
            .collect()
    }

    /// The account named `name`, with its PHID (`None`: no such account).
    async fn account(&self, name: &Username) -> Result<Option<(Phid, UserInfo)>, ConduitError> {
        let Some(phid) = self.phid_of(name).await? else {
            return Ok(None);
        };
        let found = self.users(std::slice::from_ref(&phid)).await?;
        Ok(found.get(&phid).cloned().map(|u| (phid, u)))
    }

    /// Whose request this is (design §10): the account named in the `Phabricator username`
    /// field; else the author, when their username or real name is the request's shell user,
    /// wikitech user or full name ([`same_name`]); else the one account whose username is the
    /// shell or wikitech user and whose real name is the full name. Anything else — no match,
    /// several, a bot, a disabled account — is not guessed: unknown, or refused when the
    /// request itself names an account that cannot be its subject. The author is not taken
    /// either when another account matches the request that way too (two people could be
    /// meant).
    async fn subject(
        &self,
        request: &Request,
        field_unreadable: bool,
        author_phid: &Phid,
        author: Option<&UserInfo>,
    ) -> Result<Subject, ConduitError> {
        if field_unreadable {
            return Ok(Subject::Refused {
                reason: "the Phabricator username field could not be read".into(),
            });
        }
        let usable = |who: &Username, u: &UserInfo| -> Result<(), String> {
            if u.bot {
                Err(format!("@{who} is a bot account"))
            } else if u.disabled {
                Err(format!("@{who}'s account is disabled"))
            } else {
                Ok(())
            }
        };
        if let Some(named) = &request.phabricator_user {
            return Ok(match self.account(named).await? {
                None => Subject::Refused {
                    reason: format!(
                        "the request names @{named} as its Phabricator account, but there is no such account"
                    ),
                },
                Some((phid, u)) => match usable(&u.username, &u) {
                    Err(why) => Subject::Refused {
                        reason: format!(
                            "the request names @{} as its Phabricator account, but {why}",
                            u.username
                        ),
                    },
                    Ok(()) => Subject::Known {
                        username: u.username,
                        phid,
                        basis: SubjectBasis::Named,
                    },
                },
            });
        }
        let shell = request.shell_user.as_ref().map(|s| s.as_str());
        let wikitech = request.wikitech_user.as_deref();
        let full = request.full_name.as_deref();
        let names: Vec<&str> = [shell, wikitech, full].into_iter().flatten().collect();
        let author = author.filter(|a| usable(&a.username, a).is_ok());
        let author_matches = author.is_some_and(|a| {
            names
                .iter()
                .any(|n| same_name(a.username.as_str(), n) || same_name(&a.real_name, n))
        });
        // The directory: accounts whose username is the shell or wikitech user and whose real
        // name is the full name. A name that is the author's own username is the author, known
        // already.
        let mut found: Vec<(Phid, UserInfo)> = Vec::new();
        for name in [shell, wikitech].into_iter().flatten() {
            let well_formed = directory_name(name);
            let authors = author.is_some_and(|a| same_name(a.username.as_str(), name));
            let Some(full) = full.filter(|_| well_formed && !authors) else {
                continue;
            };
            if let Some((phid, u)) = self.account(&Username::new(name)).await? {
                if same_name(u.username.as_str(), name)
                    && same_name(&u.real_name, full)
                    && &phid != author_phid
                    && !found.iter().any(|(p, _)| *p == phid)
                {
                    found.push((phid, u));
                }
            }
        }
        if let (true, Some(a)) = (author_matches, author) {
            // The author matches, but so does someone else's account: not a guess.
            if let Some((_, other)) = found.first() {
                return Ok(Subject::Unknown {
                    reason: format!(
                        "both the author @{} and the account @{} match the request",
                        a.username, other.username
                    ),
                });
            }
            return Ok(Subject::Known {
                username: a.username.clone(),
                phid: author_phid.clone(),
                basis: SubjectBasis::Author,
            });
        }
        if full.is_none() {
            return Ok(Subject::Unknown {
                reason: "the author does not match the request, and it gives no full name to look the account up by".into(),
            });
        }
        Ok(match found.len() {
            0 => Subject::Unknown {
                reason: "neither the author nor any account matches the request's usernames and full name".into(),
            },
            1 => {
                let (phid, u) = found.remove(0);
                match usable(&u.username, &u) {
                    Err(why) => Subject::Unknown {
                        reason: format!("the only matching account is unusable: {why}"),
                    },
                    Ok(()) => Subject::Known {
                        username: u.username,
                        phid,
                        basis: SubjectBasis::Directory,
                    },
                }
            }
            n => Subject::Unknown {
                reason: format!("{n} accounts match the request's usernames and full name"),
            },
        })
    }

    /// Records what a task page turned out to be; says so when that changes: at ERROR, with
    /// the fix, when pages cannot be read (once, not for every task), at INFO when they can
    /// (again).
    fn saw_page(&self, task: TaskId, problem: Option<NotAPage>) {
        let now = match problem {
            Some(kind) => PageHealth::Broken(kind),
            None => PageHealth::Readable,
        };
        let before = {
            let mut h = self.pages.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *h, now)
        };
        if before == now {
            return;
        }
        match (problem, before) {
            (Some(kind), _) => {
                tracing::error!(task = %task, page = ?kind, "{}", self.problem_text(kind))
            }
            (None, PageHealth::Broken(_)) => {
                tracing::info!(task = %task, "task pages can be read again")
            }
            (None, _) => tracing::info!(task = %task, "task pages can be read"),
        }
    }

    /// Why task pages cannot be read, if the last page fetched said so.
    pub fn page_problem(&self) -> Option<PageProblem> {
        match *self.pages.lock().unwrap_or_else(|p| p.into_inner()) {
            PageHealth::Broken(kind) => Some(PageProblem {
                kind,
                message: self.problem_text(kind),
            }),
            _ => None,
        }
    }

    /// Whether a task page was fetched (and so [`Self::page_problem`] knows).
    pub fn page_seen(&self) -> bool {
        *self.pages.lock().unwrap_or_else(|p| p.into_inner()) != PageHealth::Unknown
    }

    /// Fetches the first page of `task` to learn whether task pages can be read at all, and
    /// says so ([`Self::page_problem`]). Nothing to do when channels do not come from pages.
    pub async fn probe_pages(&self, task: TaskId, phid: &Phid) {
        if self.rules.evidence.channel != ChannelSource::TaskPage {
            return;
        }
        match self.client.task_timeline(task, phid, &[], 0).await {
            Ok(TaskPage::Timeline(_)) => self.saw_page(task, None),
            Ok(TaskPage::NotAPage(kind)) => self.saw_page(task, Some(kind)),
            Err(e) => {
                tracing::warn!(task = %task, error = %e, "cannot read the task page to check that pages can be read")
            }
        }
    }

    /// At start-up: probes the page of the newest request, so that a login page or an expired
    /// session is said at once rather than when the first comment needs its channel.
    pub async fn probe_pages_at_start(&self) {
        if self.rules.evidence.channel != ChannelSource::TaskPage {
            return;
        }
        match self.client.newest_task(&self.ctx.project).await {
            Ok(Some(t)) => self.probe_pages(TaskId(t.id), &t.phid).await,
            Ok(None) => tracing::info!(
                "no request to read a task page from yet: pages are checked on the first one"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot find a request to check that task pages can be read")
            }
        }
    }

    /// The operator's text for a page that is not a task page.
    fn problem_text(&self, kind: NotAPage) -> String {
        let base = self.client.base_url();
        let cookie = self.rules.path(&self.rules.evidence.session_cookie_file);
        let unknown = "so no comment's channel (web or email) can be verified and every approval stays pending";
        match (kind, cookie) {
            (NotAPage::LoginPage, None) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers with its login page (the install, or these tasks, are not public), {unknown}. Fix: {COOKIE_FIX}."
            ),
            (NotAPage::LoginPage, Some(file)) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers with its login page although the session cookie from {} was sent (it is not a valid `phsid` session cookie, or that account cannot see the task), {unknown}. Fix: put the current `phsid` cookie of an ordinary read-only account that can see the requests in that file.",
                file.display()
            ),
            (NotAPage::SessionCleared, Some(file)) => format!(
                "TASK PAGES CANNOT BE READ: the session cookie in {} has expired or is invalid ({base} answered with a redirect to ?cleared=1), {unknown}. Fix: log in to {base} again as the read-only account and put its new `phsid` cookie in that file, then restart the bot.",
                file.display()
            ),
            (NotAPage::SessionCleared, None) => format!(
                "TASK PAGES CANNOT BE READ: {base} cleared a session cookie the bot did not send (a proxy in between?), {unknown}. Fix: {COOKIE_FIX}."
            ),
            (NotAPage::Unrecognised, _) => format!(
                "TASK PAGES CANNOT BE READ: {base} answers task addresses with a page that has no task timeline (an access-denied page, or --phab-url is not the Phorge web address), {unknown}. Fix: check --phab-url, and that the account of `session_cookie_file` can see the requests."
            ),
        }
    }

    /// Whether a comment could count as evidence (worth learning its channel): it says
    /// something about a statement (read by the one reader), or it gives a key and is by
    /// `poster`, whose key comments count (the subject, or the author while the subject is
    /// unknown).
    fn may_count(&self, c: &TimelineComment, poster: &Phid) -> bool {
        if c.removed {
            return false;
        }
        crate::statement::read(&c.text, &self.rules).any()
            || (&c.author == poster && key_in_comment(&c.text).is_some())
    }

    /// Gathers the facts of one task from its search result and its transactions.
    pub async fn gather(
        &self,
        task: &Task,
        txs: &[Transaction],
        row: Option<&TaskRow>,
    ) -> Result<Gathered, ConduitError> {
        let id = TaskId(task.id);
        let timeline = Timeline::build(txs, &self.ctx.project, &self.ctx.bot_phid);
        let author_phid = task.fields.author_phid.clone();
        let mut parsed = self
            .parser
            .parse(&task.fields.name, &task.fields.description.raw);
        for g in policy::hidden_sudo_groups(
            &task.fields.name,
            &task.fields.description.raw,
            &parsed.request.groups,
            &self.rules,
        ) {
            parsed.problems.push(crate::request::Problem {
                field: policy::HIDDEN_GROUPS_FIELD.into(),
                message: format!(
                    "the title or description names the sudo group {g} outside the requested groups: list every group you need under the groups field (or remove the mention)"
                ),
                span: 0..0,
            });
        }

        let mut phids: Vec<Phid> = timeline.comments.iter().map(|c| c.author.clone()).collect();
        phids.push(author_phid.clone());
        let users = self.users(&phids).await?;
        let author = users
            .get(&author_phid)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| Username::new(author_phid.as_str()));
        let field_unreadable = parsed
            .problems
            .iter()
            .any(|p| p.field == "phabricator_user");
        let subject = self
            .subject(
                &parsed.request,
                field_unreadable,
                &author_phid,
                users.get(&author_phid),
            )
            .await?;
        // Whose keys are looked for: the subject's; while the subject is unknown the author's,
        // whose trust the engine then leaves pending.
        let (poster_phid, poster) = match &subject {
            Subject::Known { username, phid, .. } => (phid.clone(), username.clone()),
            _ => (author_phid.clone(), author.clone()),
        };
        let staff = self.members(true).await?;
        let nda = if self.rules.people.nda_projects.is_empty() {
            Arc::default()
        } else {
            self.members(false).await?
        };

        let counting: Vec<Phid> = timeline
            .comments
            .iter()
            .filter(|c| self.may_count(c, &poster_phid))
            .map(|c| c.xact.clone())
            .collect();
        let channels = if counting.is_empty() {
            HashMap::new()
        } else {
            let comments: HashSet<&Phid> = timeline.comments.iter().map(|c| &c.xact).collect();
            self.channels(task, &counting, &comments).await
        };

        // Authors that are not users (Herald, applications) are left out: they never count.
        let comments: Vec<CommentFact> = timeline.comment_facts(
            |phid| {
                users.get(phid).map(|u| Person {
                    username: u.username.clone(),
                    is_bot: u.bot || *phid == self.ctx.bot_phid,
                    disabled: u.disabled,
                    staff: staff.contains(phid),
                })
            },
            |xact| channels.get(xact).copied().unwrap_or(Channel::Unknown),
        );

        let changes =
            timeline.description_changes(|text| self.parser.parse(&task.fields.name, text));
        let (key, dates, fingerprint, key_line) = self
            .key_facts(
                id,
                &parsed.request.key,
                &timeline,
                &comments,
                &poster_phid,
                &poster,
                &changes,
                task,
            )
            .await?;
        let (key_since, key_changed_at) = (dates.first_seen, dates.changed);
        let groups_changed_at = changes.groups_changed_at;

        let expiry_contact_staff = match &parsed.request.expiry_contact {
            Some(u) => match self.phid_of(u).await? {
                Some(p) => Some(staff.contains(&p)),
                None => Some(false),
            },
            None => None,
        };
        let l3 = match &subject {
            Subject::Known { username, phid, .. } => self.l3(phid, username).await?,
            _ => L3::Unknown {
                reason: "it is not known whom the request is for".into(),
            },
        };
        // A what-if before the signature: not signed then.
        let l3 = match (l3, self.as_of) {
            (L3::Signed { at }, Some(t)) if at > t => L3::NotSigned,
            (l3, _) => l3,
        };
        let subject_phid = subject.phid().cloned();
        let existing_user = parsed
            .request
            .shell_user
            .as_ref()
            .is_some_and(|s: &ShellUser| self.keys.has_shell_user(s));
        let sudo = SudoFacts {
            // The first meeting it was scheduled for: the engine counts rollovers from it.
            scheduled_for: row
                .and_then(|r| r.first_meeting.as_deref().or(r.meeting.as_deref()))
                .and_then(|m| m.parse().ok()),
            first_ready_at: row.and_then(|r| r.first_ready_at).map(ts),
            // The stored evaluation before this one, when it had not scheduled a review: the
            // rest of the checklist was not complete then, as far as the bot could see.
            incomplete_at: row
                .filter(|r| r.first_meeting.is_none() && r.meeting.is_none())
                .and_then(|r| r.evaluated_at)
                .map(ts),
        };
        let subject_staff = subject_phid.as_ref().is_some_and(|p| staff.contains(p));
        let subject_research = match &subject_phid {
            Some(p) if !subject_staff && self.wants_research(&parsed.request.groups) => self
                .roster(&self.rules.people.research_projects)
                .await?
                .contains(p),
            _ => false,
        };
        let eligibility = match &subject {
            Subject::Known { username, phid, .. } => {
                self.eligibility(&parsed.request.groups, username, phid)
                    .await?
            }
            _ => Default::default(),
        };
        let mut sources = key_sources(&timeline, txs, &key, &dates, &poster, &comments);
        // An edited comment's first version, read for what it said then.
        for x in txs.iter().filter(|x| x.comments.len() > 1) {
            let Some(first) = x.comments.iter().min_by_key(|c| c.version) else {
                continue;
            };
            let said = crate::statement::read(&first.content.raw, &self.rules);
            for st in crate::statement::Statement::ALL {
                if matches!(said.get(st), crate::statement::Reading::Yes { .. }) {
                    sources.edited_from_yes.push((x.phid.clone(), st));
                }
            }
        }
        let facts = Facts {
            task: id,
            open: self.rules.phabricator.is_open(&task.fields.status.value),
            tagged: task
                .attachments
                .projects
                .as_ref()
                .is_none_or(|p| p.project_phids.contains(&self.ctx.project)),
            title: task.fields.name.clone(),
            author,
            author_phid,
            subject,
            bot_user: self.ctx.bot_user.clone(),
            description: task.fields.description.raw.clone(),
            parsed,
            key,
            existing_user,
            comments,
            key_changed_at,
            groups_changed_at,
            change_changed_at: changes.change_changed_at,
            described_at: changes.edited_at,
            tagged_at: timeline.tagged_at,
            subject_staff,
            subject_nda: subject_phid.as_ref().is_some_and(|p| nda.contains(p)),
            subject_research,
            eligibility,
            expiry_contact_staff,
            l3,
            sudo,
            sources,
        };
        let manager_account = match facts.parsed.request.manager.clone() {
            Some(m) => self
                .account(&m)
                .await?
                .filter(|(p, u)| !u.bot && !u.disabled && staff.contains(p))
                .map(|(_, u)| u.username),
            None => None,
        };
        Ok(Gathered {
            facts,
            timeline,
            fingerprint,
            key_since,
            key_line,
            manager_account,
        })
    }

    /// Adds key reuse found in the store and in data.yaml / known keys.
    pub async fn add_reuse(
        &self,
        g: &mut Gathered,
        store: &Store,
    ) -> Result<(), crate::store::StoreError> {
        let Some(fp) = &g.fingerprint else {
            return Ok(());
        };
        let mut reuse = Vec::new();
        for s in store
            .key_sightings(fp, &g.facts.subject.reuse_key(g.facts.task), g.key_since)
            .await?
        {
            if s.task_id as u64 != g.facts.task.0 {
                reuse.push(KeyReuse::EarlierRequest {
                    task: TaskId(s.task_id as u64),
                });
            }
        }
        let own = g
            .facts
            .parsed
            .request
            .shell_user
            .as_ref()
            .map(|s| s.as_str().to_string());
        for owner in self.keys.owners(fp) {
            match owner {
                KeyOwner::Admin(user) if Some(&user) != own.as_ref() => {
                    reuse.push(KeyReuse::DataYaml { user })
                }
                KeyOwner::Admin(_) => {}
                KeyOwner::KnownKeys => reuse.push(KeyReuse::KnownKeys),
            }
        }
        g.facts.key.reuse = reuse;
        Ok(())
    }

    /// The request's key, where it came from, whether that source is trusted, and when it
    /// appeared ([`KeyDates`]). `subject` / `subject_name`: whose key counts.
    #[allow(clippy::too_many_arguments)]
    async fn key_facts(
        &self,
        id: TaskId,
        described: &Option<KeyRef>,
        timeline: &Timeline,
        comments: &[CommentFact],
        subject: &Phid,
        subject_name: &Username,
        changes: &DescriptionChanges,
        task: &Task,
    ) -> Result<FoundKey, ConduitError> {
        let created = Moment::untracked(
            timeline
                .created_at
                .unwrap_or_else(|| ts(task.fields.date_created)),
        );
        // A comment is dated by its transaction; an edited one by its newest version, which has
        // no transaction of its own.
        let moment_of = |c: &CommentFact| {
            timeline
                .comment_moment(&c.xact)
                .unwrap_or(Moment::untracked(c.at))
        };
        // The description's key is dated by the version that introduced it. When the text the
        // bot parsed is not the newest version's (the task changed between the two reads), the
        // key cannot be dated nor its writer known: dated now-ish and unverified, read again
        // next cycle.
        let described_dates = |k: &KeyRef| {
            changes.key_dates(k).map(|(first_seen, changed)| KeyDates {
                first_seen,
                changed,
            })
        };
        let unsettled = || {
            let newest = timeline
                .descriptions
                .last()
                .map(|v| v.at)
                .unwrap_or(created.at)
                .max(ts(task.fields.date_modified));
            let m = Moment::untracked(newest);
            KeyDates {
                first_seen: m,
                changed: Some(m),
            }
        };
        let unsettled_trust = || Trust::Unverified {
            reason: if timeline.descriptions.is_empty() {
                "the task's history shows no description version, so who wrote the key cannot be told".into()
            } else {
                "the description changed while the bot read it: it is read again next cycle".into()
            },
        };
        // The newest key the subject posted in a comment overrides the description's; keys
        // posted by anyone else never count, and are reported only when there is no other key.
        // A key the subject sent by email never replaces the one that counts: it is judged
        // only when there is no other key, and otherwise named on the `key-channel` line.
        let mut own: Option<(&CommentFact, CommentKey)> = None;
        let mut other: Option<&CommentFact> = None;
        let mut emailed: Option<(&CommentFact, CommentKey)> = None;
        for c in comments.iter().rev() {
            if c.removed {
                continue;
            }
            if let Some(k) = key_in_comment(&c.text) {
                if &c.author == subject_name && c.channel == Channel::Email {
                    if emailed.is_none() {
                        emailed = Some((c, k));
                    }
                } else if &c.author == subject_name {
                    own = Some((c, k));
                    break;
                } else if other.is_none() {
                    other = Some(c);
                }
            }
        }
        let newer_by_email = emailed.as_ref().map(|(c, _)| *c);
        if own.is_none() && described.is_none() {
            own = emailed;
        }
        // A paste's text as its author wrote it (the key line of a grant is found again in it).
        let mut paste_raw: Option<String> = None;
        let (source, text, trust, dates) = if let Some((c, k)) = own {
            let source = KeySource::Comment {
                xact: c.xact.clone(),
                anchor: c.anchor,
            };
            let trust = policy::comment_key_trust(c, subject_name);
            let at = moment_of(c);
            let dates = KeyDates {
                first_seen: at,
                changed: Some(at),
            };
            match k {
                CommentKey::Text(t) => (source, Some(t), trust, dates),
                CommentKey::Paste(pid) => {
                    let PasteKey {
                        text,
                        trust: ptrust,
                        changed,
                        raw,
                    } = self.paste_key(pid, subject).await?;
                    paste_raw = raw;
                    let trust = if trust == Trust::Trusted {
                        ptrust
                    } else {
                        trust
                    };
                    (source, text, trust, dates.with_paste(changed))
                }
            }
        } else {
            match described {
                Some(k @ KeyRef::Inline { text }) => {
                    let by_subject = changes.key_written_by.as_ref() == Some(subject);
                    let trust = policy::authored_key_trust(&KeySource::Description, by_subject);
                    match described_dates(k) {
                        Some(d) => (KeySource::Description, Some(text.clone()), trust, d),
                        None => (
                            KeySource::Description,
                            Some(text.clone()),
                            unsettled_trust(),
                            unsettled(),
                        ),
                    }
                }
                Some(k @ KeyRef::Paste { id: pid }) => {
                    let PasteKey {
                        text,
                        trust,
                        changed,
                        raw,
                    } = self.paste_key(*pid, subject).await?;
                    paste_raw = raw;
                    // The reference itself must come from the subject too.
                    let trust = if changes.key_written_by.as_ref() == Some(subject) {
                        trust
                    } else {
                        policy::authored_key_trust(&KeySource::Description, false)
                    };
                    match described_dates(k) {
                        Some(d) => (KeySource::Paste { id: *pid }, text, trust, d.with_paste(changed)),
                        None => (
                            KeySource::Paste { id: *pid },
                            text,
                            unsettled_trust(),
                            unsettled().with_paste(changed),
                        ),
                    }
                }
                Some(KeyRef::Pointer { .. }) => (
                    KeySource::Pointer,
                    None,
                    Trust::Unverified {
                        reason: "the key is referenced by a link: clinic duty must verify it"
                            .into(),
                    },
                    KeyDates {
                        first_seen: changes.key_first_seen.unwrap_or(created),
                        changed: changes.key_changed_at,
                    },
                ),
                None => match other {
                    Some(c) => (
                        KeySource::Comment {
                            xact: c.xact.clone(),
                            anchor: c.anchor,
                        },
                        match key_in_comment(&c.text) {
                            Some(CommentKey::Text(t)) => Some(t),
                            _ => None,
                        },
                        Trust::NotTrusted {
                            reason: format!(
                                "the key was posted by @{}, not by @{subject_name}, whom the request is for",
                                c.author
                            ),
                        },
                        KeyDates {
                            first_seen: moment_of(c),
                            changed: Some(moment_of(c)),
                        },
                    ),
                    None => (
                        KeySource::None,
                        None,
                        Trust::Unverified {
                            reason: "no key was found".into(),
                        },
                        KeyDates {
                            first_seen: created,
                            changed: changes.key_changed_at,
                        },
                    ),
                },
            }
        };
        // The subject's newest key came by email, after the key judged: their intent is a new
        // key, so the request is not ready, and the line says which key is judged.
        let trust = match newer_by_email {
            Some(e)
                if moment_of(e) > dates.first_seen
                    && !matches!(&source, KeySource::Comment { xact, .. } if *xact == e.xact) =>
            {
                let same = match (key_in_comment(&e.text), &text) {
                    (Some(CommentKey::Text(k)), Some(t)) => {
                        let fp = |k: &str| keys::judge(k, &self.rules.keys).fingerprint;
                        fp(&k).is_some() && fp(&k) == fp(t)
                    }
                    _ => false,
                };
                match trust {
                    Trust::Trusted if !same => Trust::NotTrusted {
                        reason: format!(
                            "@{subject_name} sent another key by email on {} ({id}#{}), which was not taken (the key judged is the one {})",
                            crate::calendar::local_date(e.at, &self.rules.timing),
                            e.anchor,
                            match &source {
                                KeySource::Description => "in the task description".to_string(),
                                KeySource::Comment { anchor, .. } => format!("in the comment {id}#{anchor}"),
                                KeySource::Paste { id } => format!("in paste P{id}"),
                                KeySource::Pointer | KeySource::None => "above".to_string(),
                            }
                        ),
                    },
                    t => t,
                }
            }
            _ => trust,
        };
        // A private key posted by anyone, anywhere on the task, since the current key
        // appeared compromises it (a later new key is not touched).
        let since = dates.first_seen.at;
        let compromised = comments
            .iter()
            .any(|c| !c.removed && c.at >= since && request::has_private_key(&c.text));
        let text = if compromised {
            Some(request::REDACTED_PRIVATE_KEY.to_string())
        } else {
            text
        };
        let report = text.as_deref().map(|t| keys::judge(t, &self.rules.keys));
        let fingerprint = report.as_ref().and_then(|r| {
            if r.private_key {
                None
            } else {
                r.fingerprint.clone()
            }
        });
        tracing::debug!(task = %id, source = source.as_str(), "key found");
        let key_line = match (&report, &text) {
            (Some(r), Some(t)) if r.ok && !r.private_key => {
                // The line as the requester wrote it, comment included, found again in the
                // raw text it came from (the parsed text has lost markup-like characters).
                let raw = match &source {
                    KeySource::Description => Some(task.fields.description.raw.as_str()),
                    KeySource::Comment { xact, .. } => comments
                        .iter()
                        .find(|c| &c.xact == xact)
                        .map(|c| c.text.as_str()),
                    KeySource::Paste { .. } => paste_raw.as_deref(),
                    _ => None,
                };
                raw.and_then(|raw| crate::grant::exact_key_line(raw, t))
                    .or_else(|| crate::grant::exact_key_line(t, t))
                    .or_else(|| Some(t.split_whitespace().collect::<Vec<_>>().join(" ")))
            }
            _ => None,
        };
        Ok((
            KeyFacts {
                source,
                report,
                trust,
                reuse: Vec::new(),
            },
            dates,
            fingerprint,
            key_line,
        ))
    }

    /// The key text of paste `pid`, whether it counts as the subject's, and when its text last
    /// changed (`None`: unreadable). It counts only when the subject wrote it and nobody else
    /// changed it since.
    async fn paste_key(&self, pid: u64, subject: &Phid) -> Result<PasteKey, ConduitError> {
        let Some(p) = self.paste(pid, subject).await? else {
            return Ok(PasteKey {
                text: None,
                trust: Trust::Unverified {
                    reason: format!("paste P{pid} cannot be read by the bot"),
                },
                changed: None,
                raw: None,
            });
        };
        let changed = Some(Moment::untracked(p.changed));
        if let Some(at) = self.as_of.filter(|at| p.changed > *at) {
            // What it said then is not kept: unverified (fail closed).
            return Ok(PasteKey {
                text: None,
                trust: Trust::Unverified {
                    reason: format!(
                        "paste P{pid} was written or changed after {}, so what it said then is unknown",
                        at.to_rfc3339()
                    ),
                },
                changed,
                raw: None,
            });
        }
        let key = |trust: Trust, content: String| PasteKey {
            text: Some(key_in_paste(content.clone())),
            trust,
            changed,
            raw: Some(content),
        };
        if &p.author != subject {
            let trust = Trust::NotTrusted {
                reason: format!(
                    "paste P{pid} was written by someone other than the person the request is for"
                ),
            };
            return Ok(key(trust, p.content));
        }
        let others: Vec<Phid> = p.editors.into_iter().filter(|e| e != subject).collect();
        if others.is_empty() {
            return Ok(key(Trust::Trusted, p.content));
        }
        let names = self.users(&others).await?;
        let mut who: Vec<String> = others
            .iter()
            .map(|e| {
                names.get(e).map_or_else(
                    || "another account".to_string(),
                    |u| format!("@{}", u.username),
                )
            })
            .collect();
        who.dedup();
        let trust = Trust::NotTrusted {
            reason: format!(
                "paste P{pid} was also changed by {}, not only by the person the request is for",
                who.join(", ")
            ),
        };
        Ok(key(trust, p.content))
    }
}

/// Whether `name` (a shell or wikitech user) is one the directory is searched for.
fn directory_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn info(u: &User) -> UserInfo {
    UserInfo {
        username: Username::new(&u.fields.username),
        real_name: u.fields.real_name.clone(),
        bot: u.is_bot(),
        disabled: u.is_disabled(),
    }
}

/// Whether two names are the same for design §10: case and runs of whitespace do not matter;
/// nothing else is forgiven (no look-alikes, accents or punctuation folded), and an empty
/// name matches nothing.
pub fn same_name(a: &str, b: &str) -> bool {
    let lower = |w: &str| w.chars().flat_map(char::to_lowercase).collect::<String>();
    let (mut x, mut y) = (a.split_whitespace(), b.split_whitespace());
    let mut words = 0;
    loop {
        match (x.next(), y.next()) {
            (None, None) => return words > 0,
            (Some(p), Some(q)) if lower(p) == lower(q) => words += 1,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_name;

    #[test]
    fn names_match_up_to_case_and_spacing_and_nothing_else() {
        assert!(same_name("Jane Doe", "jane  doe"));
        assert!(same_name(" JDoe", "jdoe "));
        assert!(same_name("Émile Zola", "émile zola"));
        // Strict: no look-alikes, no punctuation or accents folded, no partial names.
        assert!(!same_name("Jane Doe", "Jane"));
        assert!(!same_name("Jane Doe", "Jane_Doe"));
        assert!(!same_name("jdoe", "jd\u{043e}e"), "Cyrillic o");
        assert!(!same_name("jdoe", "jdoe\u{200b}"), "zero-width space");
        assert!(!same_name("Emile Zola", "Émile Zola"));
        assert!(!same_name("Jane Doe", "Doe Jane"));
        // Empty names match nothing, not even each other.
        assert!(!same_name("", ""));
        assert!(!same_name("  ", "\t"));
    }
}
