//! What a parsed `data.yaml` says about one user's access (pure, no I/O): whether the account
//! is present, which of a request's groups it is a member of (aliases followed, as the grant
//! and revocation patches read them), every group it is in, and its expiry fields.
//!
//! The lifecycle reads it to decide that a request is granted, that an expired access is
//! still in place, and which groups an offboarding removes.

use super::{flatten, parse_yaml, resolve_group, sections, GrantError, ABSENT_GROUP};
use chrono::NaiveDate;
use serde_norway::Value;

/// A parsed `data.yaml` (it has its `users:` and `groups:` mappings), with its text.
#[derive(Debug, Clone)]
pub struct AdminData {
    text: String,
    tree: Value,
}

/// One user's access to a list of groups, as `data.yaml` has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The user has an entry under `users:` whose `ensure` is not `absent`.
    pub present: bool,
    /// The groups (as `data.yaml` names them) the user is a member of.
    pub member_of: Vec<String>,
    /// The groups `data.yaml` defines that the user is not a member of.
    pub not_member: Vec<String>,
    /// The groups `data.yaml` does not define (not shell groups: LDAP-only, or unknown).
    pub not_defined: Vec<String>,
}

impl Access {
    /// Every group that is a shell group in `data.yaml` has the user, there is at least one,
    /// and the account is present: the access is in place.
    pub fn complete(&self) -> bool {
        self.present && !self.member_of.is_empty() && self.not_member.is_empty()
    }

    /// The account is present and in at least one of the groups: some of the access is still
    /// in place.
    pub fn any(&self) -> bool {
        self.present && !self.member_of.is_empty()
    }
}

impl AdminData {
    /// Parses a `data.yaml` text; it must have the top-level `users:` and `groups:` mappings.
    pub fn parse(text: String) -> Result<AdminData, GrantError> {
        let tree = parse_yaml(&text)?;
        sections(&tree)?;
        Ok(AdminData { text, tree })
    }

    /// The text it was parsed from (what a revocation patch edits).
    pub fn text(&self) -> &str {
        &self.text
    }

    fn groups(&self) -> &serde_norway::Mapping {
        sections(&self.tree)
            .map(|(_, _, g)| g)
            .expect("checked when parsed")
    }

    fn entry(&self, user: &str) -> Option<&Value> {
        sections(&self.tree).ok().and_then(|(_, u, _)| u.get(user))
    }

    fn member(&self, group: &str, user: &str) -> bool {
        self.groups()
            .get(group)
            .and_then(|g| g.get("members"))
            .is_some_and(|m| flatten(m).iter().any(|x| x.as_str() == Some(user)))
    }

    /// The access of `user` to `groups` (matched as the grant patch matches them: exactly,
    /// else case-insensitively). The `absent` meta group is no access and is left out.
    pub fn access(&self, user: &str, groups: &[String]) -> Access {
        let present = self.entry(user).is_some_and(|e| {
            e.get("ensure").and_then(Value::as_str).map(str::trim) != Some("absent")
        });
        let mut a = Access {
            present,
            ..Access::default()
        };
        for g in groups {
            let g = g.trim();
            if g.is_empty() {
                continue;
            }
            let list = match resolve_group(self.groups(), g) {
                Some(name) if name == ABSENT_GROUP => continue,
                Some(name) if self.member(name, user) => &mut a.member_of,
                Some(_) => &mut a.not_member,
                None => &mut a.not_defined,
            };
            let name = resolve_group(self.groups(), g).unwrap_or(g).to_string();
            if !list.contains(&name) {
                list.push(name);
            }
        }
        a
    }

    /// Who holds `user`, as its entry's `realname` and `email` say (both `None` when there is
    /// no entry).
    pub fn holder(&self, user: &str) -> crate::keys::ShellHolder {
        let field = |k: &str| {
            self.entry(user)
                .and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        crate::keys::ShellHolder {
            realname: field("realname"),
            email: field("email"),
        }
    }

    /// Every group (in the file's order) `user` is a member of, but the `absent` meta group.
    pub fn groups_of(&self, user: &str) -> Vec<String> {
        self.groups()
            .keys()
            .filter_map(Value::as_str)
            .filter(|g| *g != ABSENT_GROUP && self.member(g, user))
            .map(str::to_string)
            .collect()
    }

    /// The `expiry_date` (when it is a `YYYY-MM-DD` date) and `expiry_contact` of the user's
    /// entry.
    pub fn expiry(&self, user: &str) -> (Option<NaiveDate>, Option<String>) {
        let Some(e) = self.entry(user) else {
            return (None, None);
        };
        let text = |k: &str| match e.get(k) {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let date = text("expiry_date").and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        let contact = text("expiry_contact")
            .map(|c| c.trim_start_matches('@').to_string())
            .filter(|c| !c.is_empty());
        (date, contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = "\
groups:
  absent:
    members: [gone]
  ops:
    members: &ops [kolsen, pmarsh]
  deployment:
    members: [*ops, jdoe]
  analytics-users:
    members:
      - jdoe
  empty:
    members: []
users:
  jdoe:
    ensure: present
    expiry_date: 2027-06-30
    expiry_contact: '@mboss'
  kolsen:
    ensure: present
  gone:
    ensure: absent
  nogroups:
    ensure: present
";

    fn data() -> AdminData {
        AdminData::parse(DATA.to_string()).unwrap()
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn membership_follows_aliases_and_case() {
        let d = data();
        let a = d.access("kolsen", &groups(&["Deployment", "ops"]));
        assert_eq!(a.member_of, ["deployment", "ops"]);
        assert!(a.complete());
        let a = d.access(
            "jdoe",
            &groups(&["analytics-users", "ops", "wmf", "absent"]),
        );
        assert_eq!(a.member_of, ["analytics-users"]);
        assert_eq!(a.not_member, ["ops"]);
        assert_eq!(a.not_defined, ["wmf"]);
        assert!(!a.complete());
        assert!(a.any());
    }

    #[test]
    fn an_absent_or_unknown_account_has_no_access() {
        let d = data();
        let a = d.access("gone", &groups(&["absent"]));
        assert!(!a.present && !a.any() && !a.complete());
        let a = d.access("nobody", &groups(&["ops"]));
        assert!(!a.present);
        assert_eq!(a.not_member, ["ops"]);
        // Only groups data.yaml does not define: nothing to tell the access by.
        let a = d.access("jdoe", &groups(&["wmf"]));
        assert!(a.present && !a.complete() && !a.any());
    }

    #[test]
    fn every_group_of_a_user_and_the_expiry_fields() {
        let d = data();
        assert_eq!(d.groups_of("jdoe"), ["deployment", "analytics-users"]);
        assert_eq!(d.groups_of("gone"), Vec::<String>::new());
        assert_eq!(
            d.expiry("jdoe"),
            (
                NaiveDate::from_ymd_opt(2027, 6, 30),
                Some("mboss".to_string())
            )
        );
        assert_eq!(d.expiry("kolsen"), (None, None));
    }

    #[test]
    fn a_file_without_its_sections_is_refused() {
        assert!(matches!(
            AdminData::parse("users: {}\n".into()),
            Err(GrantError::MissingSection("groups"))
        ));
        assert!(matches!(
            AdminData::parse("groups: [\n".into()),
            Err(GrantError::Unparseable { .. })
        ));
    }
}
