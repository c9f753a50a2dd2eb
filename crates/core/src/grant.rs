//! The admin module's `data.yaml` change for a ready request, and the one that removes it
//! (pure, no I/O).
//!
//! [`snippet`] prints the YAML an operator adds by hand; [`patch`] edits a copy of an existing
//! `data.yaml` *textually*, so that ordering, comments, anchors and each list's own style
//! survive, and then proves the edit by re-parsing both texts with `serde_norway` and comparing
//! the trees: the new user (or nothing, for an existing user) and the requested memberships are
//! the only semantic changes. Everything the requester wrote is quoted so that it round-trips;
//! the key line is the one the requester wrote, comment included ([`exact_key_line`]).
//! [`revoke_patch`] and [`revoke_snippet`] (in `revoke`) are the revocation, built on the same
//! line-level editor (`Doc`); [`AdminData`] (in `access`) reads a user's access from the file.

use crate::request::Request;
use serde_norway::{Mapping, Value};
use std::fmt::Write as _;

mod access;
mod key_line;
mod revoke;

pub use access::{Access, AdminData};
pub use key_line::exact_key_line;
pub(crate) use revoke::ABSENT_GROUP;
pub use revoke::{revoke_patch, revoke_snippet, RevokePatch};

/// The primary group (`wikidev`) every shell user of the admin module belongs to.
pub(crate) const PRIMARY_GID: u64 = 500;

/// Lines of a multi-line flow list are kept within this width when a member is added.
const WRAP_WIDTH: usize = 100;

/// The comment that stands where the operator must write the user's uid.
const UID_PLACEHOLDER: &str = "# uid: FILL IN the next free uid (accessbot leaves it to you)";

/// Why no `data.yaml` change can be produced; every message is fit to show an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A field the change needs is absent from the request.
    #[error("the request has no {0}")]
    Missing(&'static str),
    /// The request names no groups.
    #[error("the request names no groups")]
    NoGroups,
    /// A value cannot be written to `data.yaml` safely.
    #[error("the {field} cannot go into data.yaml: {reason}")]
    BadValue {
        /// Which value (`real name`, `email`, `ssh key`, …).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An expiry date without a contact, or the other way round.
    #[error("expiry_date and expiry_contact go together, but the request has only the {0}")]
    ExpiryIncomplete(&'static str),
    /// The given `data.yaml` is not valid YAML.
    #[error("data.yaml cannot be parsed{}: {message}", line_suffix(.line))]
    Unparseable {
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// `data.yaml` lacks the top-level `users:` or `groups:` mapping.
    #[error("data.yaml has no `{0}:` mapping at the top level")]
    MissingSection(&'static str),
    /// A requested group is not defined in `data.yaml`.
    #[error("group {0:?} is not in data.yaml")]
    UnknownGroup(String),
    /// The user is already a member of a requested group.
    #[error("{user} is already a member of {group}")]
    AlreadyMember {
        /// The shell user.
        user: String,
        /// The group, as named in `data.yaml`.
        group: String,
    },
    /// The user exists but is not `ensure: present`.
    #[error(
        "{user} is in data.yaml with ensure: {ensure}; re-enabling an account is a manual change"
    )]
    UserNotPresent {
        /// The shell user.
        user: String,
        /// Their `ensure` value.
        ensure: String,
    },
    /// The key already belongs to another user in `data.yaml`.
    #[error("this ssh key is already in data.yaml for {0}")]
    KeyInUse(String),
    /// The file is laid out in a way this editor does not change automatically.
    #[error("cannot edit {place} in data.yaml automatically: {reason}")]
    Layout {
        /// Where (`users`, `groups.ops.members`, …).
        place: String,
        /// Why.
        reason: String,
    },
    /// The user to revoke has no entry under `users:`.
    #[error(
        "{user} is not under `users:` in data.yaml, so there is no shell access to revoke{}",
        if *.ldap_only { " (they are in ldap_only_users: LDAP group membership is removed with modify-ldap-group)" } else { "" }
    )]
    UnknownUser {
        /// The shell user.
        user: String,
        /// Whether they are in `ldap_only_users`.
        ldap_only: bool,
    },
    /// The user is in none of the groups to revoke.
    #[error("nothing to revoke for {user}: {detail}")]
    NothingToRevoke {
        /// The shell user.
        user: String,
        /// Why, group by group.
        detail: String,
    },
    /// After the edit the user would still be a member of a revoked group, through an alias of
    /// a list that is not revoked.
    #[error("{user} stays a member of {group} through {via}: revoke that group too, or edit data.yaml by hand")]
    StillMember {
        /// The shell user.
        user: String,
        /// The group, as named in `data.yaml`.
        group: String,
        /// The aliases in its members list, and where they are defined.
        via: String,
    },
    /// The edited text did not verify; nothing should be applied.
    #[error("the edited data.yaml did not verify, so no patch is offered: {0}")]
    Verification(String),
}

fn line_suffix(line: &Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// An edited `data.yaml`: the new text, its unified diff and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPatch {
    /// The whole edited file.
    pub text: String,
    /// Unified diff from the old to the new text (`--- a/<label>` / `+++ b/<label>`).
    pub diff: String,
    /// Whether a user entry was added (false: the user existed; only groups changed).
    pub new_user: bool,
    /// The groups the user was added to, as named in `data.yaml`.
    pub groups: Vec<String>,
    /// Other groups that now include the user because they alias an edited list (`*anchor`).
    pub also_affected: Vec<String>,
    /// Things the operator should know (uid to fill in, existing keys left alone, …).
    pub notes: Vec<String>,
}

/// The values of a request that go into `data.yaml`, checked.
struct Wanted<'a> {
    user: &'a str,
    key_line: String,
    key_blob: String,
    groups: Vec<String>,
    expiry: Option<(String, String)>,
    req: &'a Request,
}

/// A field the entry needs, trimmed: absent or blank is `Missing(what)`.
fn given<'a>(value: Option<&'a str>, what: &'static str) -> Result<&'a str, GrantError> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(GrantError::Missing(what))
}

impl<'a> Wanted<'a> {
    fn from(req: &'a Request, key_line: &str) -> Result<Wanted<'a>, GrantError> {
        let user = shell_user(req)?;
        let groups = requested_groups(req)?;
        let (key_line, key_blob) = check_key_line(key_line)?;
        let expiry = match (&req.expiry_date, &req.expiry_contact) {
            (None, None) => None,
            (Some(_), None) => return Err(GrantError::ExpiryIncomplete("expiry date")),
            (None, Some(_)) => return Err(GrantError::ExpiryIncomplete("expiry contact")),
            (Some(d), Some(c)) => {
                let contact = c.as_str().trim();
                if contact.is_empty()
                    || contact.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(GrantError::BadValue {
                        field: "expiry contact",
                        reason: "must be one username".into(),
                    });
                }
                Some((d.format("%Y-%m-%d").to_string(), contact.to_string()))
            }
        };
        Ok(Wanted {
            user,
            key_line,
            key_blob,
            groups,
            expiry,
            req,
        })
    }

    fn realname(&self) -> Result<String, GrantError> {
        let name = given(self.req.full_name.as_deref(), "full name")?;
        if name.chars().any(char::is_control) {
            return Err(GrantError::BadValue {
                field: "real name",
                reason: "it contains control characters (line breaks, tabs, …)".into(),
            });
        }
        Ok(name.to_string())
    }

    fn email(&self) -> Result<String, GrantError> {
        let email = given(self.req.email.as_deref(), "email address")?;
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) || !email.contains('@') {
            return Err(GrantError::BadValue {
                field: "email",
                reason: "it is not one email address".into(),
            });
        }
        Ok(email.to_string())
    }

    /// The new user's entry, as `(key, value)` lines in the admin module's usual order.
    fn entry_fields(&self) -> Result<Vec<Field>, GrantError> {
        let mut f = vec![
            Field::Pair("ensure", "present".into()),
            Field::Pair("gid", PRIMARY_GID.to_string()),
            Field::Pair("name", scalar(self.user)),
            Field::Pair("realname", scalar(&self.realname()?)),
            Field::Keys(scalar(&self.key_line)),
            Field::Comment(UID_PLACEHOLDER),
            Field::Pair("email", scalar(&self.email()?)),
        ];
        if let Some((date, contact)) = &self.expiry {
            f.push(Field::Pair("expiry_date", date.clone()));
            f.push(Field::Pair("expiry_contact", scalar(contact)));
        }
        Ok(f)
    }

    /// The parsed form the new entry must have after the edit.
    fn expected_entry(&self) -> Result<Value, GrantError> {
        let mut m = Mapping::new();
        let s = |x: &str| Value::String(x.to_string());
        m.insert(s("ensure"), s("present"));
        m.insert(s("gid"), Value::Number(PRIMARY_GID.into()));
        m.insert(s("name"), s(self.user));
        m.insert(s("realname"), s(&self.realname()?));
        m.insert(s("ssh_keys"), Value::Sequence(vec![s(&self.key_line)]));
        m.insert(s("email"), s(&self.email()?));
        if let Some((date, contact)) = &self.expiry {
            m.insert(s("expiry_date"), s(date));
            m.insert(s("expiry_contact"), s(contact));
        }
        Ok(Value::Mapping(m))
    }
}

/// The request's shell user.
fn shell_user(req: &Request) -> Result<&str, GrantError> {
    Ok(req
        .shell_user
        .as_ref()
        .ok_or(GrantError::Missing("shell username"))?
        .as_str())
}

/// The request's groups, trimmed, once each, in the order written; at least one.
fn requested_groups(req: &Request) -> Result<Vec<String>, GrantError> {
    let mut groups: Vec<String> = Vec::new();
    for g in &req.groups {
        let g = g.trim();
        if !g.is_empty() && !groups.iter().any(|x| x == g) {
            groups.push(g.to_string());
        }
    }
    if groups.is_empty() {
        return Err(GrantError::NoGroups);
    }
    Ok(groups)
}

/// The name under which `data.yaml` defines a requested group: exact, else case-insensitive.
fn resolve_group<'a>(groups: &'a Mapping, g: &str) -> Option<&'a str> {
    let names = || groups.keys().filter_map(Value::as_str);
    names()
        .find(|k| *k == g)
        .or_else(|| names().find(|k| k.eq_ignore_ascii_case(g)))
}

/// Whether `user` is among the members of `group` in a parsed file, aliases followed.
fn is_member(tree: &Value, group: &str, user: &str) -> bool {
    tree.get("groups")
        .and_then(|g| g.get(group))
        .and_then(|g| g.get("members"))
        .is_some_and(|m| flatten(m).iter().any(|x| x.as_str() == Some(user)))
}

/// One line of a generated user entry.
enum Field {
    Pair(&'static str, String),
    Keys(String),
    Comment(&'static str),
}

/// Renders a user entry with the given indents (`ci` for the user key, `pi` for its fields,
/// `so` for the `ssh_keys` list items relative to `pi`), one line per element, no newlines.
fn render_entry(user: &str, fields: &[Field], ci: usize, pi: usize, so: usize) -> Vec<String> {
    let (c, p, s) = (" ".repeat(ci), " ".repeat(pi), " ".repeat(pi + so));
    let mut out = vec![format!("{c}{}:", scalar(user))];
    for f in fields {
        match f {
            Field::Pair(k, v) => out.push(format!("{p}{k}: {v}")),
            Field::Keys(k) => {
                out.push(format!("{p}ssh_keys:"));
                out.push(format!("{s}- {k}"));
            }
            Field::Comment(text) => out.push(format!("{p}{text}")),
        }
    }
    out
}

/// Checks the verified public key line; returns it trimmed, and its base64 blob.
fn check_key_line(key_line: &str) -> Result<(String, String), GrantError> {
    let bad = |reason: &str| GrantError::BadValue {
        field: "ssh key",
        reason: reason.to_string(),
    };
    let line = key_line.trim();
    if line.is_empty() {
        return Err(GrantError::Missing("ssh key"));
    }
    // A tab may stand in the comment (written escaped); a line break would end the
    // authorized_keys line, and other control characters have no place in it.
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(bad("it must be one line without control characters"));
    }
    if line.contains("PRIVATE KEY") {
        return Err(bad("it is a private key"));
    }
    let mut parts = line.split_whitespace();
    let alg = parts.next().unwrap_or_default();
    let blob = parts.next().unwrap_or_default();
    let alg_ok = crate::rules::KNOWN_ALGORITHMS.contains(&alg);
    let blob_ok = !blob.is_empty()
        && blob
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !alg_ok || !blob_ok {
        return Err(bad(
            "it is not an OpenSSH public key line (`<algorithm> <base64> [comment]`)",
        ));
    }
    Ok((line.to_string(), blob.to_string()))
}

/// The YAML to add by hand: the new user entry and the group memberships.
pub fn snippet(req: &Request, key_line: &str) -> Result<String, GrantError> {
    let w = Wanted::from(req, key_line)?;
    let fields = w.entry_fields()?;
    let mut out = String::new();
    out.push_str("# Add under `users:` (a new user; for an existing user only add the groups).\n");
    out.push_str("users:\n");
    for line in render_entry(w.user, &fields, 2, 4, 2) {
        out.push_str(&line);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "# Add {} to the `members:` of each of these groups.",
        w.user
    );
    out.push_str("groups:\n");
    for g in &w.groups {
        let _ = writeln!(out, "  {}:", scalar(g));
        let _ = writeln!(out, "    members: [{}]", scalar(w.user));
    }
    Ok(out)
}

/// What grants LDAP-only groups (design §11: `wmf`, `nda`, `klaxon-users`): the
/// `ldap_only_users` entry to add when the user is not in data.yaml (`data_yaml`: its text;
/// `None`: unknown, the entry is printed with that condition), then one
/// `modify-ldap-group --addmembers=<user> <group>` line per group. The user is the request's
/// shell username (the LDAP uid); without one nothing is printed: clinic duty looks the uid up
/// in LDAP (a guessed uid would add someone else).
pub fn ldap_lines(
    req: &Request,
    groups: &[String],
    data_yaml: Option<&str>,
) -> Result<String, GrantError> {
    let user = shell_user(req).map_err(|_| {
        GrantError::Missing(
            "shell username (the LDAP uid: look it up in LDAP for the Wikitech user)",
        )
    })?;
    if groups.is_empty() {
        return Err(GrantError::NoGroups);
    }
    for g in groups {
        if g.is_empty()
            || !g
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(GrantError::BadValue {
                field: "group",
                reason: format!("{g:?} is not an LDAP group name"),
            });
        }
    }
    let mut out = String::new();
    let known = match data_yaml {
        Some(text) => {
            let tree = parse_yaml(text)?;
            let listed = |section: &str| tree.get(section).and_then(|s| s.get(user)).is_some();
            Some(listed("users") || listed("ldap_only_users"))
        }
        None => None,
    };
    if known != Some(true) {
        let w = Wanted {
            user,
            key_line: String::new(),
            key_blob: String::new(),
            groups: groups.to_vec(),
            expiry: None,
            req,
        };
        let mut fields = vec![
            Field::Pair("ensure", "present".into()),
            Field::Pair("realname", scalar(&w.realname()?)),
            Field::Pair("email", scalar(&w.email()?)),
        ];
        if let (Some(d), Some(c)) = (&req.expiry_date, &req.expiry_contact) {
            fields.push(Field::Pair("expiry_date", d.format("%Y-%m-%d").to_string()));
            fields.push(Field::Pair("expiry_contact", scalar(c.as_str().trim())));
        }
        let _ = writeln!(
            out,
            "# Add under `ldap_only_users:` in data.yaml{}.",
            if known.is_none() {
                format!(" (only when {user} is not in data.yaml yet)")
            } else {
                format!(" ({user} is not in data.yaml)")
            }
        );
        out.push_str("ldap_only_users:\n");
        for line in render_entry(user, &fields, 2, 4, 2) {
            out.push_str(&line);
            out.push('\n');
        }
    } else {
        let _ = writeln!(out, "# {user} is already in data.yaml: no entry to add.");
    }
    out.push_str("# Then, on a host with the LDAP admin tools:\n");
    for g in groups {
        let _ = writeln!(out, "modify-ldap-group --addmembers={user} {g}");
    }
    Ok(out)
}

/// Whether a `users:` entry of data.yaml lists a key with this base64 blob among its
/// `ssh_keys` (the blob is compared, not the key's type or comment).
fn holds_key(entry: &Value, blob: &str) -> bool {
    entry
        .get("ssh_keys")
        .and_then(Value::as_sequence)
        .is_some_and(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .any(|k| k.split_whitespace().nth(1) == Some(blob))
        })
}

/// Edits a copy of `data_yaml` for the request and returns the new text with its diff.
///
/// A new user gets an entry in `users:` (in alphabetical position if the map is sorted, else at
/// its end) and is appended to each requested group's `members:` in that list's own style. An
/// existing user only gets the group additions: their entry and keys are never touched.
pub fn patch(
    req: &Request,
    key_line: &str,
    data_yaml: &str,
    path_label: &str,
) -> Result<GrantPatch, GrantError> {
    let w = Wanted::from(req, key_line)?;
    let old_tree = parse_yaml(data_yaml)?;
    let (root, users, groups) = sections(&old_tree)?;

    let mut notes = Vec::new();
    let existing = users.get(w.user);
    let new_user = existing.is_none();
    if let Some(entry) = existing {
        let ensure = entry
            .get("ensure")
            .and_then(Value::as_str)
            .unwrap_or("(none)");
        if ensure != "present" {
            return Err(GrantError::UserNotPresent {
                user: w.user.to_string(),
                ensure: ensure.to_string(),
            });
        }
        let has_key = holds_key(entry, &w.key_blob);
        notes.push(format!(
            "{} already exists: only group memberships are added; their ssh_keys are unchanged{}",
            w.user,
            if has_key {
                ""
            } else {
                " (the request's key is not among them: check with the requester)"
            }
        ));
    } else {
        for (name, entry) in users {
            if holds_key(entry, &w.key_blob) {
                return Err(GrantError::KeyInUse(
                    name.as_str().unwrap_or("another user").to_string(),
                ));
            }
        }
        notes.push(format!(
            "fill in the uid of {} where the placeholder comment is",
            w.user
        ));
        if root
            .get("ldap_only_users")
            .and_then(|l| l.get(w.user))
            .is_some()
        {
            notes.push(format!(
                "{} is also in ldap_only_users: check that this is the same person and remove that entry",
                w.user
            ));
        }
    }

    // Resolve group names (exact, else case-insensitive) and refuse current members.
    let mut targets = Vec::new();
    for g in &w.groups {
        let name = resolve_group(groups, g).ok_or_else(|| GrantError::UnknownGroup(g.clone()))?;
        if is_member(&old_tree, name, w.user) {
            return Err(GrantError::AlreadyMember {
                user: w.user.to_string(),
                group: name.to_string(),
            });
        }
        if !targets.iter().any(|t| t == name) {
            targets.push(name.to_string());
        }
    }

    // The textual edits.
    let doc = Doc::new(data_yaml);
    let mut edits = Vec::new();
    let mut anchored = false;
    for g in &targets {
        let (edit, has_anchor) = doc.add_member(g, w.user)?;
        anchored |= has_anchor;
        edits.push(edit);
    }
    if new_user {
        edits.push(doc.add_user(w.user, &w.entry_fields()?)?);
    }
    let text = apply(data_yaml, edits);

    // Prove it.
    let new_tree = parse_yaml(&text).map_err(|e| GrantError::Verification(e.to_string()))?;
    let expected = if new_user {
        Some(w.expected_entry()?)
    } else {
        None
    };
    let also_affected = verify(
        &old_tree,
        &new_tree,
        w.user,
        expected.as_ref(),
        &targets,
        anchored,
    )
    .map_err(GrantError::Verification)?;
    for g in &also_affected {
        notes.push(format!(
            "{} also becomes a member of {g}, which includes an edited list through an alias",
            w.user
        ));
    }

    let diff = unified_diff(data_yaml, &text, path_label);
    Ok(GrantPatch {
        text,
        diff,
        new_user,
        groups: targets,
        also_affected,
        notes,
    })
}

/// The top-level mapping of a parsed file with its `users:` and `groups:` mappings.
fn sections(tree: &Value) -> Result<(&Mapping, &Mapping, &Mapping), GrantError> {
    let root = tree
        .as_mapping()
        .ok_or(GrantError::MissingSection("users"))?;
    let section = |name: &'static str| {
        root.get(name)
            .and_then(Value::as_mapping)
            .ok_or(GrantError::MissingSection(name))
    };
    Ok((root, section("users")?, section("groups")?))
}

/// The unified diff from `old` to `new` (`--- a/<label>` / `+++ b/<label>`).
fn unified_diff(old: &str, new: &str, label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string()
}

fn parse_yaml(text: &str) -> Result<Value, GrantError> {
    serde_norway::from_str::<Value>(text).map_err(|e| GrantError::Unparseable {
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })
}

/// All scalars of a (possibly nested, through aliases) members list.
fn flatten(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Sequence(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Null => {}
            other => out.push(other.clone()),
        }
    }
    walk(v, &mut out);
    out
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_cached_key(|x| format!("{x:?}"));
    v
}

/// Compares the parsed old and new files: only the intended changes may differ.
/// Returns the groups that gained the user through an alias of an edited list.
fn verify(
    old: &Value,
    new: &Value,
    user: &str,
    expected_entry: Option<&Value>,
    targets: &[String],
    anchored: bool,
) -> Result<Vec<String>, String> {
    let mut old_n = old.clone();
    let mut new_n = new.clone();
    let new_users = new_n
        .get_mut("users")
        .and_then(Value::as_mapping_mut)
        .ok_or("the users mapping is gone")?;
    match expected_entry {
        Some(expected) => {
            let got = new_users
                .remove(user)
                .ok_or_else(|| format!("{user} is not in users"))?;
            if &got != expected {
                return Err(format!(
                    "the entry of {user} does not read back as written: {got:?}"
                ));
            }
        }
        None => {
            if new_users.get(user) != old.get("users").and_then(|u| u.get(user)) {
                return Err(format!("the entry of {user} changed"));
            }
        }
    }

    let mut also = Vec::new();
    // An aliased list included twice counts twice.
    each_membership(
        old,
        new,
        &mut old_n,
        &mut new_n,
        user,
        |name, before, after| {
            let gained = after.saturating_sub(before);
            let lost = after < before;
            let requested = targets.iter().any(|t| t == name);
            match (requested, gained) {
                _ if lost => return Err(format!("{user} was removed from {name}")),
                (true, 0) => {
                    return Err(format!(
                        "the members of {name} do not read back with {user} added"
                    ))
                }
                (true, 1) => {}
                (true, _) if anchored => {}
                (false, 0) => {}
                (false, _) if anchored => also.push(name.to_string()),
                (false, _) => {
                    return Err(format!(
                        "{user} was added to {name}, which was not requested"
                    ))
                }
                (true, _) => return Err(format!("{user} was added to {name} more than once")),
            }
            Ok(())
        },
    )?;
    if old_n != new_n {
        return Err("something besides the new user and the memberships changed".into());
    }
    Ok(also)
}

/// Walks the groups whose members list is in both parsed files: checks that nothing but
/// `user` changed in it, hands `judge` the group and how often the user is in it before and
/// after, and then writes the list without the user into both normalised trees (`old_n`,
/// `new_n`), so that the caller can compare what remains.
fn each_membership(
    old: &Value,
    new: &Value,
    old_n: &mut Value,
    new_n: &mut Value,
    user: &str,
    mut judge: impl FnMut(&str, usize, usize) -> Result<(), String>,
) -> Result<(), String> {
    let user_v = Value::String(user.to_string());
    let names: Vec<String> = new
        .get("groups")
        .and_then(Value::as_mapping)
        .ok_or("the groups mapping is gone")?
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    for name in &names {
        let members_of = |v: &Value| {
            v.get("groups")
                .and_then(|g| g.get(name.as_str()))
                .and_then(|g| g.get("members"))
                .map(flatten)
        };
        let (Some(before), Some(after)) = (members_of(old), members_of(new)) else {
            continue;
        };
        let count = |v: &[Value]| v.iter().filter(|x| **x == user_v).count();
        let without = |v: &[Value]| sorted(v.iter().filter(|x| **x != user_v).cloned().collect());
        let rest = without(&before);
        if rest != without(&after) {
            return Err(format!("the members of {name} changed"));
        }
        judge(name, count(&before), count(&after))?;
        for tree in [&mut *old_n, &mut *new_n] {
            if let Some(members) = tree
                .get_mut("groups")
                .and_then(|g| g.get_mut(name.as_str()))
                .and_then(|g| g.get_mut("members"))
            {
                *members = Value::Sequence(rest.clone());
            }
        }
    }
    Ok(())
}

/// A YAML scalar for `s`: plain when that is unambiguous, else single- or double-quoted.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else if !s.chars().any(needs_escape) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if needs_escape(c) => {
                    let n = c as u32;
                    let _ = if n < 0x100 {
                        write!(out, "\\x{n:02X}")
                    } else if n < 0x10000 {
                        write!(out, "\\u{n:04X}")
                    } else {
                        write!(out, "\\U{n:08X}")
                    };
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// Characters written escaped: controls, and invisible or direction-changing characters that
/// would make a diff read differently from what it does.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
            | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether `s` reads back as the same string when written plain, in YAML 1.1 and 1.2 alike.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    first.is_alphabetic()
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars().all(|c| {
            (c.is_alphanumeric() && !needs_escape(c))
                || matches!(
                    c,
                    ' ' | '.' | '-' | '_' | '\'' | '@' | '+' | '/' | '(' | ')' | '='
                )
        })
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// One text replacement: `len` bytes at `at` become `text`.
struct Edit {
    at: usize,
    len: usize,
    text: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.at));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.at..e.at + e.len, &e.text);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Content,
}

/// One line of the file: byte range without its line break, indent and kind.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    indent: usize,
    kind: Kind,
}

/// A block mapping entry: `key:` at `line`, leading comments from `head`, body up to `end`.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    head: usize,
    line: usize,
    end: usize,
}

/// How a group's `members:` value is written.
enum MembersAt {
    /// A flow list `[…]`.
    Flow(Flow),
    /// A block list (or nothing) on lines `from..to` under the key indented `key_indent`;
    /// `value_at` is the byte after the key's colon (or after its anchor), where a value goes.
    Block {
        value_at: usize,
        from: usize,
        to: usize,
        key_indent: usize,
    },
    /// An alias `*name` of another group's list, as written.
    Alias(String),
}

/// A group's `members:` value: where it is, whether it carries an anchor, and its place name
/// (`groups.<name>.members`) for messages.
struct Members {
    at: MembersAt,
    anchored: bool,
    place: String,
}

/// One `- item` line of a block list: its line index, its value (unquoted) and whether it is
/// an alias.
type BlockItem = (usize, String, bool);

/// A line-level view of a YAML file, enough to find and edit `users:` and group members.
struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
    nl: &'static str,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Doc<'a> {
        let mut lines = Vec::new();
        let mut start = 0;
        for piece in text.split('\n') {
            let end = start + piece.len();
            let body = piece.strip_suffix('\r').unwrap_or(piece);
            let indent = body.len() - body.trim_start_matches(' ').len();
            let rest = body[indent..].trim();
            let kind = if rest.is_empty() {
                Kind::Blank
            } else if rest.starts_with('#') {
                Kind::Comment
            } else {
                Kind::Content
            };
            lines.push(Line {
                start,
                end: start + body.len(),
                indent,
                kind,
            });
            start = end + 1;
        }
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Doc { text, lines, nl }
    }

    fn body(&self, i: usize) -> &'a str {
        &self.text[self.lines[i].start..self.lines[i].end]
    }

    /// The entries of the block mapping in lines `from..to`, all at the first content indent.
    fn entries(&self, from: usize, to: usize, place: &str) -> Result<Vec<Entry>, GrantError> {
        let Some(ci) = (from..to)
            .find(|&i| self.lines[i].kind == Kind::Content)
            .map(|i| self.lines[i].indent)
        else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Entry> = Vec::new();
        for i in from..to {
            let l = self.lines[i];
            let body = self.body(i);
            let rest = &body[l.indent..];
            let continues = rest == "-" || rest.starts_with("- ") || rest.starts_with([']', '}']);
            if l.kind != Kind::Content || l.indent > ci || (l.indent == ci && continues) {
                // Deeper lines, and `- item` or the closing bracket of a flow list at the same
                // indent, belong to the entry above.
                continue;
            }
            if l.indent < ci {
                return Err(layout(place, "its entries are not indented alike"));
            }
            let (key, _) = line_key(&self.body(i)[ci..])
                .ok_or_else(|| layout(place, "a line in it is not a `key:` entry"))?;
            let mut head = i;
            while head > from
                && self.lines[head - 1].kind == Kind::Comment
                && self.lines[head - 1].indent == ci
            {
                head -= 1;
            }
            if let Some(prev) = out.last_mut() {
                prev.end = i;
            }
            out.push(Entry {
                key,
                head,
                line: i,
                end: to,
            });
        }
        Ok(out)
    }

    /// The top-level block mapping `name:` as `(key line, first line after it)`.
    fn section(&self, name: &'static str) -> Result<(usize, usize), GrantError> {
        let top_key = |i: usize| self.lines[i].kind == Kind::Content && self.lines[i].indent == 0;
        let at = (0..self.lines.len())
            .find(|&i| top_key(i) && line_key(self.body(i)).is_some_and(|(k, _)| k == name))
            .ok_or(GrantError::MissingSection(name))?;
        let (_, after) = line_key(self.body(at)).ok_or(GrantError::MissingSection(name))?;
        if !is_empty_or_comment(&self.body(at)[after..]) {
            return Err(layout(name, "it is not a block mapping"));
        }
        let end = (at + 1..self.lines.len())
            .find(|&j| top_key(j))
            .unwrap_or(self.lines.len());
        Ok((at, end))
    }

    /// The last line that belongs to a section: its last non-blank line indented under it.
    fn section_last(&self, key_line: usize, end: usize) -> usize {
        (key_line + 1..end)
            .rev()
            .find(|&i| self.lines[i].kind != Kind::Blank && self.lines[i].indent > 0)
            .unwrap_or(key_line)
    }

    /// The edit that adds a user entry to `users:`.
    fn add_user(&self, user: &str, fields: &[Field]) -> Result<Edit, GrantError> {
        let (key_line, end) = self.section("users")?;
        let entries = self.entries(key_line + 1, end, "users")?;
        let ci = entries
            .first()
            .map(|e| self.lines[e.line].indent)
            .unwrap_or(2);
        let pi = entries
            .iter()
            .find_map(|e| {
                (e.line + 1..e.end)
                    .find(|&i| self.lines[i].kind == Kind::Content)
                    .map(|i| self.lines[i].indent)
                    .filter(|&p| p > ci)
            })
            .unwrap_or(ci + 2);
        let so = self.ssh_keys_offset(&entries, pi).unwrap_or(2);
        let rendered = render_entry(user, fields, ci, pi, so);

        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let is_sorted = keys.len() >= 2 && keys.windows(2).all(|w| w[0] <= w[1]);
        let before = if is_sorted {
            entries.iter().find(|e| e.key.as_str() > user)
        } else {
            None
        };
        Ok(match before {
            Some(e) => Edit {
                at: self.lines[e.head].start,
                len: 0,
                text: rendered.iter().map(|l| format!("{l}{}", self.nl)).collect(),
            },
            None => {
                let last = self.section_last(key_line, end);
                Edit {
                    at: self.lines[last].end,
                    len: 0,
                    text: rendered.iter().map(|l| format!("{}{l}", self.nl)).collect(),
                }
            }
        })
    }

    /// How far the `- ` of a block `ssh_keys:` list is indented beyond the entry's fields.
    fn ssh_keys_offset(&self, entries: &[Entry], pi: usize) -> Option<usize> {
        entries.iter().find_map(|e| {
            let k = (e.line + 1..e.end).find(|&i| {
                self.lines[i].kind == Kind::Content
                    && self.lines[i].indent == pi
                    && line_key(&self.body(i)[pi..]).is_some_and(|(k, after)| {
                        k == "ssh_keys" && is_empty_or_comment(&self.body(i)[pi + after..])
                    })
            })?;
            let item = (k + 1..e.end).find(|&i| self.lines[i].kind == Kind::Content)?;
            let l = self.lines[item];
            (self.body(item)[l.indent..].starts_with('-') && l.indent >= pi).then(|| l.indent - pi)
        })
    }

    /// The entry `key` of the top-level block mapping `section` (`place` names it in errors).
    fn entry(&self, section: &'static str, key: &str, place: &str) -> Result<Entry, GrantError> {
        let (key_line, end) = self.section(section)?;
        self.entries(key_line + 1, end, section)?
            .into_iter()
            .find(|e| e.key == key)
            .ok_or_else(|| layout(place, "its entry was not found in the text"))
    }

    /// Where the `members:` value of `group` is written, and whether it carries an anchor.
    fn members(&self, group: &str) -> Result<Members, GrantError> {
        let place = format!("groups.{group}.members");
        let entry = self.entry("groups", group, &place)?;
        let props = self.entries(entry.line + 1, entry.end, &format!("groups.{group}"))?;
        let m = props
            .iter()
            .find(|p| p.key == "members")
            .ok_or_else(|| layout(&place, "the group has no members list"))?;
        let li = m.line;
        let l = self.lines[li];
        let (_, after) = line_key(&self.body(li)[l.indent..])
            .ok_or_else(|| layout(&place, "unreadable members line"))?;
        let colon = l.start + l.indent + after;
        let mut pos = colon;
        let rest = &self.text[pos..l.end];
        let skipped = rest.len() - rest.trim_start().len();
        pos += skipped;
        let mut anchored = false;
        let mut value_at = colon;
        if self.text[pos..l.end].starts_with('&') {
            anchored = true;
            let anchor_len = self.text[pos..l.end]
                .find(char::is_whitespace)
                .unwrap_or(l.end - pos);
            pos += anchor_len;
            value_at = pos;
            let rest = &self.text[pos..l.end];
            pos += rest.len() - rest.trim_start().len();
        }
        let value = &self.text[pos..l.end];
        let at = if value.starts_with('[') {
            MembersAt::Flow(scan_flow(self.text, pos).map_err(|r| layout(&place, &r))?)
        } else if value.starts_with('*') {
            MembersAt::Alias(strip_comment(value.trim_end()).to_string())
        } else if is_empty_or_comment(value) {
            MembersAt::Block {
                value_at,
                from: li + 1,
                to: m.end,
                key_indent: l.indent,
            }
        } else {
            return Err(layout(&place, "the members are not a list"));
        };
        Ok(Members {
            at,
            anchored,
            place,
        })
    }

    /// The edit that adds `user` to the members of `group`, and whether the list has an anchor.
    fn add_member(&self, group: &str, user: &str) -> Result<(Edit, bool), GrantError> {
        let m = self.members(group)?;
        let name = scalar(user);
        let edit = match &m.at {
            MembersAt::Flow(flow) => self.flow_insert(flow, user, &name),
            MembersAt::Alias(_) => return Err(layout(
                &m.place,
                "the members are an alias of another list; add the user where that list is defined",
            )),
            MembersAt::Block {
                from,
                to,
                key_indent,
                ..
            } => self
                .block_insert(*from, *to, *key_indent, user, &name)
                .ok_or_else(|| layout(&m.place, "the members key has no list"))?,
        };
        Ok((edit, m.anchored))
    }

    /// Adds `name` to a flow list `[a, b]`, sorted if the list is, wrapping long lines.
    fn flow_insert(&self, flow: &Flow, user: &str, name: &str) -> Edit {
        let plain: Vec<&str> = flow
            .items
            .iter()
            .filter(|i| !i.alias)
            .map(|i| i.value.as_str())
            .collect();
        let is_sorted = plain.len() >= 2 && plain.windows(2).all(|w| w[0] <= w[1]);
        let sep = if flow
            .items
            .windows(2)
            .any(|w| &self.text[w[0].end..w[1].start] == ",")
        {
            ","
        } else {
            ", "
        };
        let multiline = self.text[flow.open..flow.close].contains('\n');
        let cont = self.continuation_indent(flow);
        let line_len = |at: usize| {
            let s = self.text[..at].rfind('\n').map_or(0, |p| p + 1);
            let e = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |p| at + p);
            self.text[s..e].trim_end_matches('\r').chars().count()
        };
        let too_long = |at: usize, add: usize| multiline && line_len(at) + add > WRAP_WIDTH;

        let target = if is_sorted {
            flow.items
                .iter()
                .position(|i| !i.alias && i.value.as_str() > user)
        } else {
            None
        };
        match (target, flow.items.last()) {
            (_, None) => Edit {
                at: flow.open + 1,
                len: 0,
                text: name.to_string(),
            },
            (Some(idx), _) => {
                let item = &flow.items[idx];
                let add = name.len() + sep.len();
                if idx > 0 && too_long(item.start, add) {
                    // Break the line before the item: `a,\n<cont>name, item`.
                    let prev_end = flow.items[idx - 1].end;
                    let comma = self.text[prev_end..item.start]
                        .find(',')
                        .map_or(prev_end, |p| prev_end + p + 1);
                    let gap = &self.text[comma..item.start];
                    if gap.trim().is_empty() && !gap.contains('\n') {
                        return Edit {
                            at: comma,
                            len: item.start - comma,
                            text: format!("{}{cont}{name}{sep}", self.nl),
                        };
                    }
                }
                Edit {
                    at: item.start,
                    len: 0,
                    text: format!("{name}{sep}"),
                }
            }
            (None, Some(last)) => {
                let add = name.len() + sep.len();
                let text = if too_long(last.end, add) {
                    format!(",{}{cont}{name}", self.nl)
                } else {
                    format!("{sep}{name}")
                };
                Edit {
                    at: last.end,
                    len: 0,
                    text,
                }
            }
        }
    }

    /// The indent of a flow list's continuation lines (or the column of its first item).
    fn continuation_indent(&self, flow: &Flow) -> String {
        let first_line = self
            .lines
            .iter()
            .position(|l| l.end >= flow.open)
            .unwrap_or(0);
        let from_lines = (first_line + 1..self.lines.len())
            .take_while(|&i| self.lines[i].start <= flow.close)
            .find(|&i| {
                let l = self.lines[i];
                l.kind == Kind::Content && !self.body(i)[l.indent..].starts_with(']')
            })
            .map(|i| self.lines[i].indent);
        let n = from_lines.unwrap_or_else(|| {
            let line_start = self.lines[first_line].start;
            let at = flow.items.first().map_or(flow.open + 1, |i| i.start);
            self.text[line_start..at].chars().count()
        });
        " ".repeat(n)
    }

    /// The `- item` lines of the block list on lines `from..to` under a key indented
    /// `key_indent`: the dash's indent and each item's line, value and whether it is an alias.
    fn block_items(
        &self,
        from: usize,
        to: usize,
        key_indent: usize,
    ) -> Option<(usize, Vec<BlockItem>)> {
        let mut items: Vec<BlockItem> = Vec::new();
        let mut dash = None;
        for i in from..to {
            let l = self.lines[i];
            if l.kind != Kind::Content {
                continue;
            }
            let body = &self.body(i)[l.indent..];
            let is_item = l.indent >= key_indent
                && !matches!(dash, Some(d) if d != l.indent)
                && (body == "-" || body.starts_with("- "));
            if !is_item {
                break;
            }
            dash = Some(l.indent);
            let raw = strip_comment(body[1..].trim());
            let alias = raw.starts_with('*');
            items.push((i, unquote(raw), alias));
        }
        Some((dash?, items))
    }

    /// Adds `- name` to the block list on lines `from..to` under a key indented `key_indent`.
    fn block_insert(
        &self,
        from: usize,
        to: usize,
        key_indent: usize,
        user: &str,
        name: &str,
    ) -> Option<Edit> {
        let (d, items) = self.block_items(from, to, key_indent)?;
        let plain: Vec<&str> = items
            .iter()
            .filter(|i| !i.2)
            .map(|i| i.1.as_str())
            .collect();
        let is_sorted = plain.len() >= 2 && plain.windows(2).all(|w| w[0] <= w[1]);
        let line = format!("{}- {name}", " ".repeat(d));
        let before = if is_sorted {
            items.iter().find(|i| !i.2 && i.1.as_str() > user)
        } else {
            None
        };
        Some(match before {
            Some((i, _, _)) => Edit {
                at: self.lines[*i].start,
                len: 0,
                text: format!("{line}{}", self.nl),
            },
            None => {
                let (last, _, _) = items.last()?;
                Edit {
                    at: self.lines[*last].end,
                    len: 0,
                    text: format!("{}{line}", self.nl),
                }
            }
        })
    }
}

fn layout(place: &str, reason: &str) -> GrantError {
    GrantError::Layout {
        place: place.to_string(),
        reason: reason.to_string(),
    }
}

fn is_empty_or_comment(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t.starts_with('#')
}

/// Drops a trailing ` # comment` from a plain value.
fn strip_comment(s: &str) -> &str {
    if s.starts_with('\'') || s.starts_with('"') {
        return s;
    }
    match s.find(" #") {
        Some(p) => s[..p].trim_end(),
        None => s,
    }
}

/// The text of a scalar as written (quotes removed), good enough for ordering.
fn unquote(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        s.to_string()
    }
}

/// The key of a `key: …` line (without indent) and the byte offset just after its colon.
fn line_key(s: &str) -> Option<(String, usize)> {
    let first = s.chars().next()?;
    if first == '\'' || first == '"' {
        let close = s[1..].find(first)? + 1;
        let after = close + 1;
        return s[after..]
            .starts_with(':')
            .then(|| (unquote(&s[..after]), after + 1));
    }
    if matches!(
        first,
        '-' | '#' | '[' | '{' | '&' | '*' | '!' | '|' | '>' | '%' | '@'
    ) {
        return None;
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && matches!(bytes.get(i + 1), None | Some(b' ' | b'\r')) {
            return Some((s[..i].trim_end().to_string(), i + 1));
        }
        i += 1;
    }
    None
}

/// One item of a flow list, with its byte range in the file.
#[derive(Debug)]
struct FlowItem {
    start: usize,
    end: usize,
    value: String,
    alias: bool,
}

/// A flow list `[ … ]`: the offsets of its brackets and its items.
#[derive(Debug)]
struct Flow {
    open: usize,
    close: usize,
    items: Vec<FlowItem>,
}

/// Reads the flow list opening at `open`, across lines, skipping comments.
fn scan_flow(text: &str, open: usize) -> Result<Flow, String> {
    let b = text.as_bytes();
    let mut i = open + 1;
    let mut items = Vec::new();
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' if b[i - 1].is_ascii_whitespace() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b']' => {
                return Ok(Flow {
                    open,
                    close: i,
                    items,
                })
            }
            b'[' | b'{' => return Err("the list nests other lists or maps".into()),
            q @ (b'\'' | b'"') => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("a quoted member is not closed".into()),
                        Some(b'\\') if q == b'"' => i += 2,
                        Some(c) if *c == q => {
                            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
                items.push(FlowItem {
                    start,
                    end: i,
                    value: unquote(&text[start..i]),
                    alias: false,
                });
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !matches!(b[i], b',' | b']' | b'\n' | b'\r')
                    && !(b[i] == b'#' && b[i - 1] == b' ')
                {
                    i += 1;
                }
                let end = start + text[start..i].trim_end().len();
                items.push(FlowItem {
                    start,
                    end,
                    value: text[start..end].to_string(),
                    alias: b[start] == b'*',
                });
            }
        }
    }
    Err("the list is not closed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_back(s: &str) {
        let yaml = format!("v: {}\n", scalar(s));
        let v: Value = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(v.get("v").and_then(Value::as_str), Some(s), "{yaml}");
    }

    #[test]
    fn scalars_round_trip() {
        for s in [
            "Jane Doe",
            "O'Brien: \"Bob\" #1",
            "Zoë Ünïcödé",
            "李小龙",
            "- dash",
            "yes",
            "NO",
            "null",
            "~",
            "@mention",
            "12345",
            "1.5",
            "2027-06-30",
            "a: b",
            "a #b",
            "[x]",
            "{x}",
            "tab\there",
            "line\nbreak",
            "rtl\u{202E}txet",
            "back\\slash \"q\"",
            " lead",
            "trail ",
            "*alias",
            "&anchor",
            "!tag",
            "%x",
            "|",
            ">",
            "'",
            "\"",
            "",
        ] {
            reads_back(s);
        }
    }

    #[test]
    fn plain_only_when_unambiguous() {
        assert_eq!(scalar("Jane Doe"), "Jane Doe");
        assert_eq!(
            scalar("ssh-ed25519 AAAA+/= jdoe@laptop"),
            "ssh-ed25519 AAAA+/= jdoe@laptop"
        );
        assert_eq!(scalar("yes"), "'yes'");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("rtl\u{202E}"), "\"rtl\\u202E\"");
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips(s in "\\PC*|[ -~\t\n\u{80}-\u{10FFFF}]{0,40}") {
            reads_back(&s);
        }
    }

    fn tree(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    const OLD: &str = "groups:\n  a:\n    members: &x [p]\n  b:\n    members: [*x, q]\n  c:\n    description: C\n    members: [r]\nusers:\n  p: {ensure: present}\n";

    #[test]
    fn verify_accepts_exactly_the_intended_change() {
        let new = tree(&OLD.replace("[p]", "[p, u]"));
        assert_eq!(
            verify(&tree(OLD), &new, "u", None, &["a".into()], true),
            Ok(vec!["b".into()])
        );
        // Without an anchor on the edited list, a change elsewhere is not explained.
        assert!(verify(&tree(OLD), &new, "u", None, &["a".into()], false).is_err());
    }

    #[test]
    fn verify_refuses_any_other_change() {
        let old = tree(OLD);
        let intended = OLD.replace("[p]", "[p, u]");
        let cases = [
            intended.replace("[r]", "[r, u]"), // unrequested group
            intended.replace("description: C", "description: D"), // another field
            intended.replace("[r]", "[]"),     // a member lost
            intended.replace("{ensure: present}", "{ensure: absent}"), // another user
            OLD.to_string(),                   // the change missing
        ];
        for text in cases {
            let res = verify(&old, &tree(&text), "u", None, &["a".into()], false);
            assert!(res.is_err(), "{text}");
        }
        let entry = tree("{ensure: present}");
        let with_user = format!("{intended}  u: {{ensure: present, uid: 0}}\n");
        let res = verify(
            &old,
            &tree(&with_user),
            "u",
            Some(&entry),
            &["a".into()],
            true,
        );
        assert!(res.unwrap_err().contains("does not read back"));
    }

    #[test]
    fn keys_of_lines() {
        assert_eq!(line_key("users:"), Some(("users".into(), 6)));
        assert_eq!(line_key("ops:  # c"), Some(("ops".into(), 4)));
        assert_eq!(line_key("'no': x"), Some(("no".into(), 5)));
        assert_eq!(line_key("- a"), None);
        assert_eq!(line_key("http://x"), None);
    }

    #[test]
    fn flow_lists_scan_across_lines_and_comments() {
        let t = "m: &a [x, 'y''s', # c\n   *b, z\n]";
        let f = scan_flow(t, t.find('[').unwrap()).unwrap();
        let v: Vec<_> = f
            .items
            .iter()
            .map(|i| (i.value.as_str(), i.alias))
            .collect();
        assert_eq!(
            v,
            [("x", false), ("y's", false), ("*b", true), ("z", false)]
        );
        assert!(scan_flow("[a, [b]]", 0).is_err());
        assert!(scan_flow("[a, b", 0).is_err());
    }
}
