//! Removal tasks (design §11): whether a task asks to take access away, and whose. Parsed
//! from the title (`[lifecycle] removal` and `removal_target` of phrases.toml) and the request's
//! fields; a doubt is never a guess. The policy gives such a task its one check
//! (`policy::removal_check`); the lifecycle writes its removal comment.

use crate::ids::ShellUser;
use crate::remarkup_out::inert;
use crate::request::Parsed;
use crate::rules::Rules;

/// Whose access a removal task removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// The user, and the groups named (empty: every group the user is in).
    Target {
        /// The shell user.
        user: ShellUser,
        /// The groups, lowercase, once each, as named on the task.
        groups: Vec<String>,
    },
    /// What could not be determined (each fit to post).
    Doubt(Vec<String>),
}

/// Splits a list of groups written in a title ("a, b and c").
fn title_groups(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in text
        .split([',', ' ', '\t'])
        .map(|g| g.trim().to_lowercase())
        .filter(|g| !g.is_empty() && g != "and")
    {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// Whether a task is a removal request, and whose access it removes: the shell user named by
/// the title (`[lifecycle] removal_target` in phrases.toml) or, failing that, by a shell user
/// field; the groups named by the title or a groups field (none: every group). Two different
/// users, two different group lists, or a name that is not a shell username are a doubt,
/// never a guess. `None`: the title does not ask for a removal.
pub fn removal(title: &str, parsed: &Parsed, rules: &Rules) -> Option<Removal> {
    let l = &rules.lifecycle;
    let title = title.trim();
    if !l.removal.is_match(title) {
        return None;
    }
    let mut doubts = Vec::new();
    let caps = l.removal_target.iter().find_map(|re| re.captures(title));
    let named = caps
        .as_ref()
        .and_then(|c| c.name("user"))
        .map(|u| u.as_str().to_string());
    let title_user = match named {
        Some(u) => match u.parse::<ShellUser>() {
            Ok(s) => Some(s),
            Err(e) => {
                doubts.push(format!("the title names {}: {e}", inert(&u)));
                None
            }
        },
        None => None,
    };
    let named_groups = caps
        .as_ref()
        .and_then(|c| c.name("groups"))
        .map(|g| title_groups(g.as_str()))
        .unwrap_or_default();
    let r = &parsed.request;
    // One user a task: a description naming several shell users is a doubt.
    for p in &parsed.problems {
        if p.field == "request" && p.message.contains("shell username") {
            doubts.push(p.message.clone());
        }
    }
    let user = match (title_user, &r.shell_user) {
        (Some(t), Some(f)) if &t != f => {
            doubts.push(format!(
                "the title names {} but the shell username field says {}",
                inert(t.as_str()),
                inert(f.as_str())
            ));
            None
        }
        (Some(t), _) => Some(t),
        (None, Some(f)) => Some(f.clone()),
        (None, None) => {
            if doubts.is_empty() {
                doubts.push("neither the title nor a shell username field names the user".into());
            }
            None
        }
    };
    let groups = match (named_groups.is_empty(), r.groups.is_empty()) {
        (false, false) => {
            let mut a = named_groups.clone();
            let mut b = r.groups.clone();
            a.sort();
            b.sort();
            if a != b {
                doubts.push(format!(
                    "the title names the groups {} but the groups field says {}",
                    list(&named_groups),
                    list(&r.groups)
                ));
            }
            named_groups
        }
        (false, true) => named_groups,
        (true, _) => r.groups.clone(),
    };
    Some(match user {
        Some(user) if doubts.is_empty() => Removal::Target { user, groups },
        _ => Removal::Doubt(doubts),
    })
}

/// A list of groups as posted: joined, defused.
fn list(items: &[String]) -> String {
    inert(&items.join(", "))
}
