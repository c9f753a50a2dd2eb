//! The `data.yaml` change that removes a request's access (pure, no I/O).
//!
//! [`revoke_patch`] edits a copy of `data.yaml` textually, like the grant patch: the user
//! leaves each of the request's groups, every list keeping its own style. When these were all
//! of the user's groups, the account itself goes the way the admin module writes a former
//! user: `ensure: absent` and `ssh_keys: []` (its uid, names and other fields stay), and, when
//! the file has the admin module's `absent` meta group (whose members are removed from every
//! host), the user joins it; absented users are members of no other group. The edit is proven
//! by re-parsing both texts and comparing the trees: the memberships taken away, the entry's
//! two fields and the `absent` membership are the only semantic changes.
//!
//! Requested groups the user is not in, or that `data.yaml` does not define, are reported and
//! the rest is revoked; when none is left there is nothing to revoke (an error). A membership
//! that would survive through an alias of a list that is not revoked is refused: the patch
//! never claims a removal it does not make. [`revoke_snippet`] is the form applied by hand.

use super::{
    apply, each_membership, is_empty_or_comment, is_member, layout, line_key, parse_yaml,
    requested_groups, resolve_group, scalar, scan_flow, sections, shell_user, strip_comment,
    unified_diff, Doc, Edit, Flow, GrantError, Kind, MembersAt,
};
use crate::request::Request;
use serde_norway::Value;
use std::fmt::Write as _;

/// The admin module's meta group of former users: its members are removed from every host, and
/// they are members of no other group.
pub(crate) const ABSENT_GROUP: &str = "absent";

/// An edited `data.yaml` that removes a request's access: the new text, its diff and what
/// changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokePatch {
    /// The whole edited file.
    pub text: String,
    /// Unified diff from the old to the new text (`--- a/<label>` / `+++ b/<label>`).
    pub diff: String,
    /// The groups the user leaves, as named in `data.yaml`.
    pub groups: Vec<String>,
    /// Whether the account becomes `ensure: absent` with its keys removed.
    pub absent: bool,
    /// Other groups the user leaves because they include an edited list through an alias.
    pub also_affected: Vec<String>,
    /// Requested groups (as named in `data.yaml`) the user was not a member of (the `absent`
    /// meta group, which is no access, is counted here too).
    pub not_member: Vec<String>,
    /// Requested groups that `data.yaml` does not define.
    pub unknown_groups: Vec<String>,
    /// The groups the user keeps.
    pub remaining: Vec<String>,
    /// Things the operator should know.
    pub notes: Vec<String>,
}

/// Edits a copy of `data_yaml` so that the request's user loses the request's groups (and,
/// when nothing else is left, the account), and returns the new text with its diff.
pub fn revoke_patch(
    req: &Request,
    data_yaml: &str,
    path_label: &str,
) -> Result<RevokePatch, GrantError> {
    let user = shell_user(req)?;
    let requested = requested_groups(req)?;
    let old_tree = parse_yaml(data_yaml)?;
    let (root, users, groups) = sections(&old_tree)?;
    let ldap_only = root
        .get("ldap_only_users")
        .and_then(|l| l.get(user))
        .is_some();
    let entry = users.get(user).ok_or_else(|| GrantError::UnknownUser {
        user: user.to_string(),
        ldap_only,
    })?;
    let ensure = entry
        .get("ensure")
        .and_then(Value::as_str)
        .unwrap_or("(none)")
        .to_string();

    let (mut targets, mut not_member, mut unknown_groups) = (Vec::new(), Vec::new(), Vec::new());
    for g in &requested {
        match resolve_group(groups, g) {
            None => unknown_groups.push(g.clone()),
            Some(name) if name == ABSENT_GROUP => not_member.push(name.to_string()),
            Some(name) if is_member(&old_tree, name, user) => {
                if !targets.iter().any(|t| t == name) {
                    targets.push(name.to_string());
                }
            }
            Some(name) => {
                if !not_member.iter().any(|t| t == name) {
                    not_member.push(name.to_string());
                }
            }
        }
    }
    if targets.is_empty() {
        let mut detail = Vec::new();
        if !not_member.is_empty() {
            detail.push(format!("not a member of {}", not_member.join(", ")));
        }
        if !unknown_groups.is_empty() {
            let names: Vec<String> = unknown_groups.iter().map(|g| format!("{g:?}")).collect();
            detail.push(format!("not in data.yaml: {}", names.join(", ")));
        }
        if ensure != "present" {
            detail.push(format!("the account is already ensure: {ensure}"));
        }
        return Err(GrantError::NothingToRevoke {
            user: user.to_string(),
            detail: detail.join("; "),
        });
    }

    // Stage 1: the memberships.
    let doc = Doc::new(data_yaml);
    let mut edits = Vec::new();
    for g in &targets {
        edits.extend(doc.remove_member(g, user)?);
    }
    let text1 = apply(data_yaml, edits);
    let tree1 = parse_yaml(&text1).map_err(|e| GrantError::Verification(e.to_string()))?;
    if let Some(g) = targets.iter().find(|g| is_member(&tree1, g, user)) {
        return Err(GrantError::StillMember {
            user: user.to_string(),
            group: g.clone(),
            via: doc.aliases_in(g),
        });
    }
    let remaining: Vec<String> = group_names(&tree1)
        .into_iter()
        .filter(|g| g != ABSENT_GROUP && is_member(&tree1, g, user))
        .collect();

    // Stage 2: the account, when nothing is left of its access.
    let absent = remaining.is_empty() && ensure == "present";
    let has_absent_group = groups.get(ABSENT_GROUP).is_some();
    let joins_absent = absent && has_absent_group && !is_member(&tree1, ABSENT_GROUP, user);
    let text = if absent {
        let doc1 = Doc::new(&text1);
        let mut edits = doc1.absent_user(user)?;
        if joins_absent {
            edits.push(doc1.add_member(ABSENT_GROUP, user)?.0);
        }
        apply(&text1, edits)
    } else {
        text1
    };

    // Prove it.
    let new_tree = parse_yaml(&text).map_err(|e| GrantError::Verification(e.to_string()))?;
    let also_affected = verify_revoke(
        &old_tree,
        &new_tree,
        user,
        &targets,
        absent,
        joins_absent,
        &doc.including(&targets),
    )
    .map_err(GrantError::Verification)?;

    let mut notes = Vec::new();
    for g in &not_member {
        notes.push(format!(
            "{user} is not a member of {g}: nothing to remove there"
        ));
    }
    for g in &unknown_groups {
        notes.push(format!(
            "group {g:?} is not in data.yaml: nothing to remove there"
        ));
    }
    for g in &also_affected {
        notes.push(format!(
            "{user} also leaves {g}, which includes an edited list through an alias"
        ));
    }
    if absent {
        notes.push(format!(
            "{user} is in no other group: the account becomes ensure: absent and its ssh keys are removed{}",
            if joins_absent {
                format!("; {user} joins the `{ABSENT_GROUP}` group, which removes the account from every host")
            } else {
                String::new()
            }
        ));
    } else if ensure != "present" {
        notes.push(format!(
            "the account is already ensure: {ensure}: only the memberships are removed"
        ));
    } else {
        notes.push(format!(
            "{user} keeps {}: the account and its ssh keys stay",
            remaining.join(", ")
        ));
    }
    if ldap_only {
        notes.push(format!(
            "{user} is also in ldap_only_users: their LDAP access is not changed by this patch"
        ));
    }

    let diff = unified_diff(data_yaml, &text, path_label);
    Ok(RevokePatch {
        text,
        diff,
        groups: targets,
        absent,
        also_affected,
        not_member,
        unknown_groups,
        remaining,
        notes,
    })
}

/// The revocation to apply by hand, for when no `data.yaml` is at hand: the groups to take the
/// user out of, and what the account's entry becomes when these were all of its groups.
pub fn revoke_snippet(req: &Request) -> Result<String, GrantError> {
    let user = scalar(shell_user(req)?);
    let groups = requested_groups(req)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Remove {user} from the `members:` of each of these groups (or from the list a group"
    );
    out.push_str("# includes through an alias, when that is where the membership is):\n");
    for g in &groups {
        let _ = writeln!(out, "#   - {}", scalar(g));
    }
    let _ = writeln!(
        out,
        "# If these were all of {user}'s groups, the account goes too: set these two fields of"
    );
    let _ = writeln!(
        out,
        "# its entry (keep the others), and add {user} to the members of the `{ABSENT_GROUP}` meta"
    );
    out.push_str(
        "# group when data.yaml has one.
",
    );
    out.push_str("users:\n");
    let _ = writeln!(out, "  {user}:");
    out.push_str("    ensure: absent\n    ssh_keys: []\n");
    Ok(out)
}

/// The names of the groups of a parsed file, in its order.
fn group_names(tree: &Value) -> Vec<String> {
    tree.get("groups")
        .and_then(Value::as_mapping)
        .map(|g| {
            g.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares the parsed old and new files: only the intended changes may differ. `including`
/// are the groups that include a revoked list through an alias, which the user may leave too.
/// Returns the groups the user left that way.
fn verify_revoke(
    old: &Value,
    new: &Value,
    user: &str,
    targets: &[String],
    absent: bool,
    joins_absent: bool,
    including: &[String],
) -> Result<Vec<String>, String> {
    let mut old_n = old.clone();
    let mut new_n = new.clone();

    // The user's entry: unchanged, or exactly `ensure: absent` and no keys.
    let old_entry = old
        .get("users")
        .and_then(|u| u.get(user))
        .ok_or_else(|| format!("{user} is not in the old users"))?;
    let mut expected = old_entry.clone();
    if absent {
        let m = expected
            .as_mapping_mut()
            .ok_or_else(|| format!("the entry of {user} is not a mapping"))?;
        m.insert("ensure".into(), "absent".into());
        if m.contains_key("ssh_keys") {
            m.insert("ssh_keys".into(), Value::Sequence(Vec::new()));
        }
    }
    let got = new_n
        .get_mut("users")
        .and_then(Value::as_mapping_mut)
        .ok_or("the users mapping is gone")?
        .remove(user)
        .ok_or_else(|| format!("{user} is no longer in users"))?;
    if got != expected {
        return Err(format!(
            "the entry of {user} does not read back as intended: {got:?}"
        ));
    }
    if let Some(u) = old_n.get_mut("users").and_then(Value::as_mapping_mut) {
        u.remove(user);
    }

    let mut also = Vec::new();
    each_membership(
        old,
        new,
        &mut old_n,
        &mut new_n,
        user,
        |name, before, after| {
            if targets.iter().any(|t| t == name) {
                if after > 0 {
                    return Err(format!("{user} is still a member of {name}"));
                }
            } else if joins_absent && name == ABSENT_GROUP {
                if (before, after) != (0, 1) {
                    return Err(format!("{user} was not added to {name} exactly once"));
                }
            } else if after > before {
                return Err(format!("{user} was added to {name}"));
            } else if after < before {
                if !including.iter().any(|g| g == name) {
                    return Err(format!(
                        "{user} was removed from {name}, which was not revoked"
                    ));
                }
                if after == 0 {
                    also.push(name.to_string());
                }
            }
            if absent && after > 0 && name != ABSENT_GROUP {
                return Err(format!("{user} is absent but still a member of {name}"));
            }
            Ok(())
        },
    )?;
    if old_n != new_n {
        return Err(format!(
            "something besides {user}'s entry and memberships changed"
        ));
    }
    Ok(also)
}

impl Doc<'_> {
    /// The edits that take `user` out of the members of `group` (none when the user is a
    /// member only through an alias).
    fn remove_member(&self, group: &str, user: &str) -> Result<Vec<Edit>, GrantError> {
        let m = self.members(group)?;
        let edits = match &m.at {
            MembersAt::Flow(flow) => self.flow_remove(flow, user, &m.place)?,
            MembersAt::Alias(_) => Vec::new(),
            MembersAt::Block {
                value_at,
                from,
                to,
                key_indent,
            } => {
                let items = self
                    .block_items(*from, *to, *key_indent)
                    .map(|(_, items)| items)
                    .unwrap_or_default();
                let gone: Vec<usize> = items
                    .iter()
                    .filter(|(_, value, alias)| !alias && value == user)
                    .map(|(line, _, _)| *line)
                    .collect();
                let mut edits: Vec<Edit> = gone.iter().map(|&l| self.delete_lines(l, l)).collect();
                if !gone.is_empty() && gone.len() == items.len() {
                    // The list is left empty: written `[]`, as the file writes empty lists.
                    edits.push(Edit {
                        at: *value_at,
                        len: 0,
                        text: " []".into(),
                    });
                }
                edits
            }
        };
        Ok(edits)
    }

    /// The edits that take `user` out of a flow list `[a, user, b]`, keeping its line breaks.
    fn flow_remove(&self, flow: &Flow, user: &str, place: &str) -> Result<Vec<Edit>, GrantError> {
        let items = &flow.items;
        let gone = |i: usize| !items[i].alias && items[i].value == user;
        let mut edits = Vec::new();
        let mut i = 0;
        while i < items.len() {
            if !gone(i) {
                i += 1;
                continue;
            }
            // A run a..=b of the user's entries, between kept items or the brackets.
            let a = i;
            while i + 1 < items.len() && gone(i + 1) {
                i += 1;
            }
            let b = i;
            i += 1;
            let prev = a.checked_sub(1).map(|p| &items[p]);
            let next = items.get(b + 1);
            let (from, to) = match (prev, next) {
                (_, Some(n)) if !self.text[items[b].end..n.start].contains('\n') => {
                    (items[a].start, n.start)
                }
                (Some(p), _) => (p.end, items[b].end),
                (None, Some(n)) => (items[a].start, n.start),
                (None, None) => (flow.open + 1, flow.close),
            };
            // Only separators go with the entries: never a comment.
            let mut gaps = vec![(from, items[a].start.max(from)), (items[b].end.min(to), to)];
            gaps.extend((a..b).map(|k| (items[k].end, items[k + 1].start)));
            if gaps
                .iter()
                .any(|&(s, e)| s < e && self.text[s..e].contains('#'))
            {
                return Err(layout(
                    place,
                    "a comment stands next to the member to remove; remove it by hand",
                ));
            }
            edits.push(Edit {
                at: from,
                len: to - from,
                text: String::new(),
            });
        }
        Ok(edits)
    }

    /// The edit that deletes lines `first..=last` with their line breaks.
    fn delete_lines(&self, first: usize, last: usize) -> Edit {
        let (from, to) = match self.lines.get(last + 1) {
            Some(next) => (self.lines[first].start, next.start),
            // The file's last line, without a final line break: the break before it goes.
            None => (
                first.checked_sub(1).map_or(0, |p| self.lines[p].end),
                self.text.len(),
            ),
        };
        Edit {
            at: from,
            len: to - from,
            text: String::new(),
        }
    }

    /// The edits that make the entry of `user` `ensure: absent` with `ssh_keys: []`.
    fn absent_user(&self, user: &str) -> Result<Vec<Edit>, GrantError> {
        let place = format!("users.{user}");
        let e = self.entry("users", user, &place)?;
        let indent = self.lines[e.line].indent;
        let (_, after) = line_key(&self.body(e.line)[indent..])
            .ok_or_else(|| layout(&place, "unreadable entry line"))?;
        if !is_empty_or_comment(&self.body(e.line)[indent + after..]) {
            return Err(layout(
                &place,
                "the entry is not written as a block mapping",
            ));
        }
        let props = self.entries(e.line + 1, e.end, &place)?;
        // Where the value of a property starts, and the value as written.
        let value_of = |line: usize| -> Result<(usize, usize, &str), GrantError> {
            let l = self.lines[line];
            let (_, after) = line_key(&self.body(line)[l.indent..])
                .ok_or_else(|| layout(&place, "unreadable line"))?;
            let colon = l.start + l.indent + after;
            let rest = &self.text[colon..l.end];
            let start = colon + (rest.len() - rest.trim_start().len());
            Ok((colon, start, &self.text[start..l.end]))
        };

        let mut edits = Vec::new();
        let ensure = props
            .iter()
            .find(|p| p.key == "ensure")
            .ok_or_else(|| layout(&place, "the entry has no `ensure:` line"))?;
        let (_, start, value) = value_of(ensure.line)?;
        edits.push(Edit {
            at: start,
            len: strip_comment(value.trim_end()).len(),
            text: "absent".into(),
        });

        if let Some(keys) = props.iter().find(|p| p.key == "ssh_keys") {
            let kplace = format!("{place}.ssh_keys");
            let (colon, start, value) = value_of(keys.line)?;
            if value.starts_with('[') {
                let flow = scan_flow(self.text, start).map_err(|r| layout(&kplace, &r))?;
                if flow.close > flow.open + 1 {
                    edits.push(Edit {
                        at: flow.open,
                        len: flow.close + 1 - flow.open,
                        text: "[]".into(),
                    });
                }
            } else if is_empty_or_comment(value) {
                let content: Vec<usize> = (keys.line + 1..keys.end)
                    .filter(|&i| self.lines[i].kind == Kind::Content)
                    .collect();
                if let (Some(&first), Some(&last)) = (content.first(), content.last()) {
                    let l = self.lines[first];
                    if !self.body(first)[l.indent..].starts_with('-') {
                        return Err(layout(&kplace, "the keys are not a list"));
                    }
                    edits.push(self.delete_lines(first, last));
                }
                edits.push(Edit {
                    at: colon,
                    len: 0,
                    text: " []".into(),
                });
            } else {
                return Err(layout(&kplace, "the keys are not a list"));
            }
        }
        Ok(edits)
    }

    /// The aliases (`*name`) in the members list of `group`.
    fn alias_names(&self, group: &str) -> Vec<String> {
        match self.members(group).map(|m| m.at) {
            Ok(MembersAt::Alias(a)) => vec![a],
            Ok(MembersAt::Flow(f)) => f
                .items
                .into_iter()
                .filter(|i| i.alias)
                .map(|i| i.value)
                .collect(),
            Ok(MembersAt::Block {
                from,
                to,
                key_indent,
                ..
            }) => self
                .block_items(from, to, key_indent)
                .map(|(_, items)| items.into_iter().filter(|i| i.2).map(|i| i.1).collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// The aliases in the members list of `group`, each with the group whose list it names,
    /// for a message (`*ops_members (the list of ops)`).
    fn aliases_in(&self, group: &str) -> String {
        let owners = self.anchors();
        let described: Vec<String> = self
            .alias_names(group)
            .into_iter()
            .map(|a| {
                let name = a.trim_start_matches('*');
                match owners.iter().find(|(anchor, _)| anchor == name) {
                    Some((_, g)) => format!("{a} (the list of {g})"),
                    None => a,
                }
            })
            .collect();
        if described.is_empty() {
            "an alias of another list".into()
        } else {
            described.join(", ")
        }
    }

    /// The groups that include the members list of one of `groups` through an alias, directly
    /// or through another included list.
    fn including(&self, groups: &[String]) -> Vec<String> {
        let owners = self.anchors();
        let all: Vec<String> = self
            .section("groups")
            .and_then(|(key_line, end)| self.entries(key_line + 1, end, "groups"))
            .map(|e| e.into_iter().map(|e| e.key).collect())
            .unwrap_or_default();
        let aliases: Vec<(String, Vec<String>)> = all
            .iter()
            .map(|g| (g.clone(), self.alias_names(g)))
            .collect();
        let mut reached: Vec<String> = groups.to_vec();
        loop {
            let more: Vec<String> = aliases
                .iter()
                .filter(|(g, _)| !reached.contains(g))
                .filter(|(_, names)| {
                    names.iter().any(|a| {
                        owners.iter().any(|(anchor, owner)| {
                            anchor == a.trim_start_matches('*') && reached.contains(owner)
                        })
                    })
                })
                .map(|(g, _)| g.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            reached.extend(more);
        }
        reached.retain(|g| !groups.contains(g));
        reached
    }

    /// The anchors on the groups' members lists: `(anchor, group)`.
    fn anchors(&self) -> Vec<(String, String)> {
        let Ok((key_line, end)) = self.section("groups") else {
            return Vec::new();
        };
        let Ok(entries) = self.entries(key_line + 1, end, "groups") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let Ok(props) = self.entries(e.line + 1, e.end, "groups") else {
                continue;
            };
            let Some(m) = props.iter().find(|p| p.key == "members") else {
                continue;
            };
            let l = self.lines[m.line];
            let Some((_, after)) = line_key(&self.body(m.line)[l.indent..]) else {
                continue;
            };
            let value = self.body(m.line)[l.indent + after..].trim_start();
            if let Some(anchor) = value.strip_prefix('&') {
                let name = anchor.split_whitespace().next().unwrap_or_default();
                out.push((name.to_string(), e.key.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    const OLD: &str = "groups:\n  absent:\n    members: [gone]\n  a:\n    members: &x [p, u]\n  b:\n    members: [*x, q]\n  c:\n    members: [r, u]\nusers:\n  p: {ensure: present}\n  u: {ensure: present, uid: 7, ssh_keys: [k]}\n";

    /// The revocation of `targets` verified; b includes a's list.
    fn check(
        new: &str,
        targets: &[&str],
        absent: bool,
        joins: bool,
    ) -> Result<Vec<String>, String> {
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let including = if targets.iter().any(|t| t == "a") {
            vec!["b".to_string()]
        } else {
            Vec::new()
        };
        verify_revoke(
            &tree(OLD),
            &tree(new),
            "u",
            &targets,
            absent,
            joins,
            &including,
        )
    }

    #[test]
    fn including_follows_aliases_of_revoked_lists() {
        let text = "groups:\n  a:\n    members: &x [p, u]\n  b:\n    members: &y [*x, q]\n  c:\n    members: *y\n  d:\n    members:\n      - *x\n  e:\n    members: [u]\nusers: {}\n";
        let doc = Doc::new(text);
        assert_eq!(doc.including(&["a".into()]), ["b", "d", "c"]);
        assert_eq!(doc.including(&["b".into()]), ["c"]);
        assert!(doc.including(&["e".into()]).is_empty());
        assert_eq!(doc.aliases_in("b"), "*x (the list of a)");
    }

    #[test]
    fn verify_revoke_accepts_exactly_the_intended_change() {
        let one = OLD.replace("[r, u]", "[r]");
        assert_eq!(check(&one, &["c"], false, false), Ok(vec![]));
        // Leaving an anchored list leaves the group that includes it.
        let all = OLD
            .replace("[r, u]", "[r]")
            .replace("[p, u]", "[p]")
            .replace("[gone]", "[gone, u]")
            .replace(
                "ensure: present, uid: 7, ssh_keys: [k]",
                "ensure: absent, uid: 7, ssh_keys: []",
            );
        assert_eq!(check(&all, &["a", "c"], true, true), Ok(vec!["b".into()]));
    }

    #[test]
    fn verify_revoke_refuses_any_other_change() {
        let all = OLD
            .replace("[r, u]", "[r]")
            .replace("[p, u]", "[p]")
            .replace("[gone]", "[gone, u]")
            .replace(
                "ensure: present, uid: 7, ssh_keys: [k]",
                "ensure: absent, uid: 7, ssh_keys: []",
            );
        let only_c = OLD.replace("[r, u]", "[r]");
        // (new text, absent) for the revocation of a and c.
        let cases = [
            (OLD.to_string(), false),                                 // nothing removed
            (OLD.replace("[r, u]", "[]"), false),                     // another member lost
            (only_c.replace("[gone]", "[gone, u]"), false),           // joins absent, not absent
            (all.replace("uid: 7", "uid: 8"), true),                  // another field of the entry
            (all.replace("ssh_keys: []", "ssh_keys: [k]"), true),     // keys kept
            (all.replace("ensure: absent", "ensure: present"), true), // still present
            (all.replace("[gone, u]", "[gone, u, u]"), true),         // absent twice
            (all.replace("{ensure: present}", "{ensure: absent}"), true), // another user
            (all.replace("[*x, q]", "[*x, q, u]"), true),             // still in b
        ];
        for (text, absent) in cases {
            let res = check(&text, &["a", "c"], absent, absent);
            assert!(res.is_err(), "{text}");
        }
        // Revoking c only: leaving a (and so b) is never explained.
        let both = only_c.replace("[p, u]", "[p]");
        assert!(check(&both, &["c"], false, false).is_err());
        // Nor leaving b when no revoked list is included in it.
        let res = verify_revoke(
            &tree(OLD),
            &tree(&all),
            "u",
            &["a".into(), "c".into()],
            true,
            true,
            &[],
        );
        assert!(res.is_err());
    }
}
