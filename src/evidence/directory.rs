//! The directory: the cached Conduit reads of who people are (accounts, staff and NDA
//! memberships, rosters, eligibility), their L3 signatures and pastes. Each answer is kept for
//! `cache_ttl_minutes`, so that an unchanged world costs no calls.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Cached<T> {
    pub(super) value: T,
    pub(super) at: Instant,
}

#[derive(Debug, Clone)]
pub(super) struct UserInfo {
    pub(super) username: Username,
    pub(super) real_name: String,
    pub(super) bot: bool,
    pub(super) disabled: bool,
}

#[derive(Debug, Default)]
pub(super) struct Caches {
    /// Accounts as read, each used for `cache_ttl_minutes` after its read: an account
    /// disabled (or made a bot) since is seen by the next read after that.
    pub(super) users: HashMap<Phid, Cached<UserInfo>>,
    pub(super) by_name: HashMap<String, Option<Phid>>,
    pub(super) staff: Option<Cached<Arc<HashSet<Phid>>>>,
    pub(super) nda: Option<Cached<Arc<HashSet<Phid>>>>,
    pub(super) project_phids: HashMap<String, Option<Phid>>,
    pub(super) l3_signed: HashMap<Phid, DateTime<Utc>>,
    pub(super) l3_unsigned: HashMap<Phid, Instant>,
    pub(super) channels: HashMap<Phid, Channel>,
    /// Members of single projects by name: research projects and eligible projects.
    pub(super) rosters: HashMap<String, Cached<Arc<HashSet<Phid>>>>,
    /// Pastes read for a batch about to be gathered ([`EvidenceSource::prefetch`]), each used
    /// once, within [`PASTE_FRESH`] of its read (`None`: the batch's answer did not have it).
    pub(super) pastes: HashMap<u64, (Instant, Option<crate::wire::Paste>)>,
    /// Who wrote each paste and when its history last changed, as of its `dateModified`: any
    /// edit moves it, so the paste's transactions are read again only then. Also kept in the
    /// store (migration 0006), so a restart does not read them again either.
    pub(super) paste_history: HashMap<u64, PasteHistory>,
    /// Comment transactions whose channel the store was asked for with their batch
    /// ([`EvidenceSource::prefetch`]) and did not have: their task page is read without
    /// asking the store again.
    pub(super) unstored: HashSet<Phid>,
    /// Channels read from task pages and not yet kept in the store: written once per batch
    /// and at the end of each cycle ([`EvidenceSource::keep_learnt`]), not once per task.
    pub(super) to_keep: Vec<(Phid, Channel)>,
}

/// A paste's history as the key check needs it, read at one `dateModified`.
#[derive(Debug, Clone)]
pub(super) struct PasteHistory {
    pub(super) date_modified: i64,
    pub(super) editors: Vec<Phid>,
    pub(super) newest: Option<i64>,
}

/// A paste as the key check needs it.
#[derive(Debug, Clone)]
pub(super) struct PasteInfo {
    pub(super) author: Phid,
    pub(super) content: String,
    /// Everyone who created or changed it (the authors of its transactions).
    pub(super) editors: Vec<Phid>,
    /// When its text last changed: the newest of its creation, its `dateModified` and its
    /// transactions.
    pub(super) changed: DateTime<Utc>,
}

impl EvidenceSource {
    pub(super) async fn users(
        &self,
        phids: &[Phid],
    ) -> Result<HashMap<Phid, UserInfo>, ConduitError> {
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

    pub(super) async fn phid_of(&self, username: &Username) -> Result<Option<Phid>, ConduitError> {
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

    pub(super) fn cached_members(&self, staff: bool) -> Option<Arc<HashSet<Phid>>> {
        let c = self.lock();
        let slot = if staff { &c.staff } else { &c.nda };
        slot.as_ref()
            .filter(|s| s.at.elapsed() < self.ttl)
            .map(|s| s.value.clone())
    }

    /// The members of the staff (or NDA) projects, shared: a task reads them, never copies.
    pub(super) async fn members(&self, staff: bool) -> Result<Arc<HashSet<Phid>>, ConduitError> {
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
    pub(super) fn wants_research(&self, groups: &[String]) -> bool {
        !self.rules.people.research_projects.is_empty()
            && groups
                .iter()
                .any(|g| self.rules.group(g).is_some_and(|g| g.private_data))
    }

    /// The members of these projects (by name or slug), each project's members cached for the
    /// TTL like the staff projects': the research projects and the eligible projects of
    /// LDAP-only groups. A project that does not exist has no members (logged once a TTL).
    pub(super) async fn roster(&self, names: &[String]) -> Result<HashSet<Phid>, ConduitError> {
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
    pub(super) async fn eligibility(
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
    pub(super) async fn paste(
        &self,
        id: u64,
        subject: &Phid,
    ) -> Result<Option<PasteInfo>, ConduitError> {
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
        let cached = |c: &Caches| {
            c.paste_history
                .get(&id)
                .filter(|h| h.date_modified == p.fields.date_modified)
                .cloned()
        };
        let mut known = cached(&self.lock());
        if known.is_none() {
            // Kept by an earlier run (not prefetched with a batch): one look-up.
            self.load_paste_histories(&[id]).await;
            known = cached(&self.lock());
        }
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
                if let Some(store) = self.store.get() {
                    let row = crate::store::PasteHistoryRow {
                        paste_id: id,
                        date_modified: h.date_modified,
                        editors: h.editors.clone(),
                        newest: h.newest,
                    };
                    if let Err(e) = store.put_paste_history(&row).await {
                        tracing::warn!(paste = id, error = %e, "cannot keep the paste's history: a restart reads it again");
                    }
                }
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

    /// Puts the histories the store keeps of these pastes (read by an earlier run, see
    /// [`Self::remember_in`]) in the cache, in one query; [`Self::paste`] uses one only while
    /// the paste's `dateModified` is the one it was read at. Nothing without a store; a store
    /// that cannot be read leaves the histories to be read from the server.
    pub(super) async fn load_paste_histories(&self, ids: &[u64]) {
        let Some(store) = self.store.get() else {
            return;
        };
        if ids.is_empty() {
            return;
        }
        match store.paste_histories(ids).await {
            Ok(rows) => {
                let mut c = self.lock();
                for r in rows {
                    c.paste_history.insert(
                        r.paste_id,
                        PasteHistory {
                            date_modified: r.date_modified,
                            editors: r.editors,
                            newest: r.newest,
                        },
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the kept paste histories: reading them from the server")
            }
        }
    }

    pub(super) async fn l3(
        &self,
        requester: &Phid,
        username: &Username,
    ) -> Result<L3, ConduitError> {
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

    /// The account named `name`, with its PHID (`None`: no such account).
    pub(super) async fn account(
        &self,
        name: &Username,
    ) -> Result<Option<(Phid, UserInfo)>, ConduitError> {
        let Some(phid) = self.phid_of(name).await? else {
            return Ok(None);
        };
        let found = self.users(std::slice::from_ref(&phid)).await?;
        Ok(found.get(&phid).cloned().map(|u| (phid, u)))
    }
}

/// Whether `name` (a shell or wikitech user) is one the directory is searched for.
pub(super) fn directory_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn info(u: &User) -> UserInfo {
    UserInfo {
        username: Username::new(&u.fields.username),
        real_name: u.fields.real_name.clone(),
        bot: u.is_bot(),
        disabled: u.is_disabled(),
    }
}
