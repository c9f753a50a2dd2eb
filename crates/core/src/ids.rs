//! Typed identifiers: task ids, PHIDs, usernames, shell users, key fingerprints.
//!
//! Parse, don't validate: a value of these types is well formed by construction.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Maniphest task id, shown as `T123`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct TaskId(u64);

impl TaskId {
    /// The task `T<n>`.
    pub const fn new(n: u64) -> TaskId {
        TaskId(n)
    }
    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}", self.0)
    }
}

/// Why a string is not a task id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a task id: {0:?} (expected T123, 123 or the task's address, https://…/T123)")]
pub struct BadTaskId(pub String);

impl FromStr for TaskId {
    type Err = BadTaskId;
    /// `T123`, `t123`, `123`, or a task's web address (`https://phabricator.example.org/T123`,
    /// also with a trailing `/`, `#anchor` or `?query`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut t = s.trim();
        if let Some((_, rest)) = t.split_once("://") {
            let path = rest
                .split(['#', '?'])
                .next()
                .unwrap_or_default()
                .trim_end_matches('/');
            t = match path.split_once('/') {
                Some((_, p)) => p.rsplit('/').next().unwrap_or_default(),
                None => "",
            };
            if !t.starts_with('T') {
                return Err(BadTaskId(s.to_string()));
            }
        }
        let digits = t
            .strip_prefix('T')
            .or_else(|| t.strip_prefix('t'))
            .unwrap_or(t);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(TaskId(n)),
            _ => Err(BadTaskId(s.to_string())),
        }
    }
}

impl From<TaskId> for String {
    fn from(t: TaskId) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for TaskId {
    type Error = BadTaskId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A Phabricator object identifier such as `PHID-USER-ku7wtpznfc6baencbpzy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phid(String);

impl Phid {
    /// The PHID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The object type of the PHID (`USER`, `TASK`, `XACT`, …), if it is well formed.
    pub fn kind(&self) -> Option<&str> {
        let mut parts = self.0.split('-');
        match (parts.next(), parts.next()) {
            (Some("PHID"), Some(kind)) => Some(kind),
            _ => None,
        }
    }
}

impl fmt::Display for Phid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Phid {
    fn from(s: &str) -> Self {
        Phid(s.to_string())
    }
}

impl From<String> for Phid {
    fn from(s: String) -> Self {
        Phid(s)
    }
}

/// A Phabricator username (`jdoe`), compared case-insensitively as Phabricator does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Builds a username, dropping a leading `@`.
    pub fn new(s: &str) -> Self {
        Username(s.trim().trim_start_matches('@').to_string())
    }
    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// How a message names it: `@jdoe`. A name that holds characters outside ASCII names no
    /// account (Phabricator usernames are ASCII) and may read exactly like one it is not
    /// (`@mbоss` with a Cyrillic `о`): each such character is shown as `?` and named after
    /// the name, with the ASCII it looks like: `@mb?oss (the name holds a look-alike
    /// character: U+043E, like "o")`. The result is text to defuse like any message.
    pub fn shown(&self) -> String {
        if self.0.is_ascii() {
            return format!("@{}", self.0);
        }
        let mut name = String::with_capacity(self.0.len());
        let mut named: Vec<String> = Vec::new();
        let mut all_lookalikes = true;
        for c in self.0.chars() {
            if c.is_ascii() {
                name.push(c);
                continue;
            }
            name.push('?');
            let like: String = unicode_security::skeleton(c.encode_utf8(&mut [0; 4])).collect();
            let what = if like.bytes().all(|b| b.is_ascii_graphic()) && !like.is_empty() {
                format!("U+{:04X}, like \"{like}\"", c as u32)
            } else {
                all_lookalikes = false;
                format!("U+{:04X}", c as u32)
            };
            // At most a few, each once: enough to see why the name is not the account.
            if !named.contains(&what) && named.len() < 4 {
                named.push(what);
            }
        }
        let kind = match (all_lookalikes, named.len()) {
            (true, 1) => "a look-alike character",
            (true, _) => "look-alike characters",
            (false, 1) => "a character outside ASCII",
            (false, _) => "characters outside ASCII",
        };
        format!("@{name} (the name holds {kind}: {})", named.join("; "))
    }
    /// The form used for equality, ordering and hashing alike: ASCII letters folded to
    /// lowercase, as Phabricator compares usernames (they are ASCII). Anything else compares
    /// exactly, so a look-alike such as the Kelvin sign `K` (U+212A) is never `k`.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
    /// The bytes of [`Self::key`], one at a time, for comparing and hashing without a copy.
    fn folded(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().map(|b| b.to_ascii_lowercase())
    }
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Username {}
impl std::hash::Hash for Username {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The bytes of `key()`, without building it (usernames are compared in hot loops).
        for b in self.folded() {
            state.write_u8(b);
        }
        state.write_u8(0xff);
    }
}
impl PartialOrd for Username {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Username {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.folded().cmp(other.folded())
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Unix shell username as it would go into `data.yaml`: it matches `ShellUser::PATTERN`
/// (a lowercase letter or `_`, then lowercase letters, digits, `-` or `_`; at most 32
/// characters). Whether a valid name may be *given* to a new account is a rules question
/// (`[keys] reserved_shell_users`, see `crate::rules::KeyRules::shell_user_refusal`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ShellUser(String);

/// Why a string is not a valid shell username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid shell username: it must match {pattern}", pattern = ShellUser::PATTERN)]
pub struct BadShellUser(pub String);

impl ShellUser {
    /// The shape of a shell username, as a regular expression (design §10).
    pub(crate) const PATTERN: &'static str = "^[a-z_][a-z0-9_-]{0,31}$";

    /// The shell username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` matches [`Self::PATTERN`].
    pub(crate) fn is_valid(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 32
            && (b[0].is_ascii_lowercase() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
    }
}

impl FromStr for ShellUser {
    type Err = BadShellUser;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Self::is_valid(s) {
            Ok(ShellUser(s.to_string()))
        } else {
            Err(BadShellUser(s.to_string()))
        }
    }
}

impl From<ShellUser> for String {
    fn from(u: ShellUser) -> String {
        u.0
    }
}

impl TryFrom<String> for ShellUser {
    type Error = BadShellUser;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for ShellUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An SSH key fingerprint in OpenSSH form, `SHA256:<base64 without padding>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl From<String> for Fingerprint {
    fn from(text: String) -> Self {
        Fingerprint(text)
    }
}

impl From<&str> for Fingerprint {
    fn from(text: &str) -> Self {
        Fingerprint(text.to_string())
    }
}

impl Fingerprint {
    /// The fingerprint as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    #[test]
    fn a_name_outside_ascii_is_shown_with_its_look_alikes_named() {
        use super::Username;

        assert_eq!(Username::new("@mboss").shown(), "@mboss");
        assert_eq!(
            Username::new("mb\u{043E}ss").shown(),
            "@mb?ss (the name holds a look-alike character: U+043E, like \"o\")"
        );
        assert_eq!(
            Username::new("\u{0430}\u{043E}tt\u{043E}").shown(),
            "@??tt? (the name holds look-alike characters: U+0430, like \"a\"; U+043E, like \"o\")"
        );
        let odd = Username::new("j\u{00E9}\u{4E2D}").shown();
        assert!(odd.starts_with("@j?? (the name holds"), "{odd}");
        assert!(odd.contains("U+4E2D"), "{odd}");
    }

    #[test]
    fn usernames_agree_on_equality_ordering_and_hashing() {
        use std::collections::{BTreeSet, HashSet};
        let pairs = [
            ("MBoss", "mboss", true),
            ("@mboss", "mboss", true),
            ("\u{212A}im", "kim", false),  // Kelvin sign
            ("\u{130}van", "ivan", false), // dotted capital I
            ("ﬁona", "fiona", false),
        ];
        for (a, b, same) in pairs {
            let (a, b) = (Username::new(a), Username::new(b));
            assert_eq!(a == b, same, "{a} {b}");
            assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, same, "{a} {b}");
            let h: HashSet<Username> = [a.clone(), b.clone()].into();
            let t: BTreeSet<Username> = [a.clone(), b.clone()].into();
            assert_eq!(h.len() == 1, same, "{a} {b}");
            assert_eq!(t.len() == 1, same, "{a} {b}");
        }
    }

    use super::*;

    #[test]
    fn task_ids_parse_with_or_without_prefix() {
        assert_eq!("T123".parse::<TaskId>().unwrap(), TaskId(123));
        assert_eq!("123".parse::<TaskId>().unwrap(), TaskId(123));
        assert!("T".parse::<TaskId>().is_err());
        assert!("T0".parse::<TaskId>().is_err());
        assert!("T+1".parse::<TaskId>().is_err());
        for url in [
            "https://phabricator.wikimedia.org/T123",
            "https://phabricator.wikimedia.org/T123/",
            "https://phabricator.wikimedia.org/T123#4567",
            "http://127.0.0.1:8780/T123?x=1",
            " https://phab.example/T123 ",
        ] {
            assert_eq!(url.parse::<TaskId>().unwrap(), TaskId(123), "{url}");
        }
        for bad in [
            "https://phabricator.wikimedia.org/123",
            "https://phabricator.wikimedia.org/",
            "https://T123",
            "https://phabricator.wikimedia.org/P123",
            "https://phabricator.wikimedia.org/T123x",
        ] {
            assert!(bad.parse::<TaskId>().is_err(), "{bad}");
        }
        assert_eq!(TaskId(7).to_string(), "T7");
    }

    #[test]
    fn shell_users_are_checked() {
        assert!("jdoe".parse::<ShellUser>().is_ok());
        assert!("j-doe_2".parse::<ShellUser>().is_ok());
        assert!("Jdoe".parse::<ShellUser>().is_err());
        assert!("1jdoe".parse::<ShellUser>().is_err());
        assert!("".parse::<ShellUser>().is_err());
        assert!("a".repeat(33).parse::<ShellUser>().is_err());
    }

    #[test]
    fn shell_users_match_exactly_the_pattern() {
        // The pattern of design §10, as a regex, against the type, over the edges.
        let re = regex::Regex::new(ShellUser::PATTERN).unwrap();
        let mut cases: Vec<String> = [
            "_",
            "_x",
            "a",
            "a-",
            "a_",
            "a9",
            "-a",
            "9a",
            "a.b",
            "a b",
            "a\n",
            "é",
            "ａ",
            "A",
            "aA",
            "root",
            "www-data",
            "systemd-network",
            "a$",
            "a\u{0}",
            "\u{200B}a",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cases.push("a".repeat(32));
        cases.push("a".repeat(33));
        cases.push(format!("_{}", "-".repeat(31)));
        for c in &cases {
            assert_eq!(
                c.parse::<ShellUser>().is_ok(),
                re.is_match(c),
                "{c:?} disagrees with {}",
                ShellUser::PATTERN
            );
        }
        let e = "Root!".parse::<ShellUser>().unwrap_err();
        assert!(
            e.to_string()
                .contains("must match ^[a-z_][a-z0-9_-]{0,31}$"),
            "{e}"
        );
    }

    #[test]
    fn usernames_compare_case_insensitively() {
        assert_eq!(Username::new("@JDoe"), Username::new("jdoe"));
        assert_eq!(Phid::from("PHID-USER-abc").kind(), Some("USER"));
    }

    #[test]
    fn names_match_up_to_case_and_spacing_and_nothing_else() {
        assert!(super::same_name("Jane Doe", "jane  doe"));
        assert!(super::same_name(" JDoe", "jdoe "));
        assert!(super::same_name("Émile Zola", "émile zola"));
        // Strict: no look-alikes, no punctuation or accents folded, no partial names.
        assert!(!super::same_name("Jane Doe", "Jane"));
        assert!(!super::same_name("Jane Doe", "Jane_Doe"));
        assert!(!super::same_name("jdoe", "jd\u{043e}e"), "Cyrillic o");
        assert!(
            !super::same_name("jdoe", "jdoe\u{200b}"),
            "zero-width space"
        );
        assert!(!super::same_name("Emile Zola", "Émile Zola"));
        assert!(!super::same_name("Jane Doe", "Doe Jane"));
        // Empty names match nothing, not even each other.
        assert!(!super::same_name("", ""));
        assert!(!super::same_name("  ", "\t"));
    }
}
