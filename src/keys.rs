//! SSH key policy: algorithm, size, fingerprint, private-key detection, freshness.
//!
//! Pure except for reading the optional `data.yaml` and known-keys files ([`KeyIndex::load`]).
//! Key texts are untrusted: nothing here panics on them, and no message, error or report ever
//! repeats any part of a private key.

use crate::ids::{Fingerprint, ShellUser};
use crate::rules::{KeyRules, Rules};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssh_key::public::KeyData;
use ssh_key::{EcdsaCurve, Mpint};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The judgement of one key text. `key --json` prints this object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyReport {
    /// The key is acceptable under the rules.
    pub ok: bool,
    /// Algorithm name, e.g. `ssh-ed25519`.
    pub algorithm: Option<String>,
    /// Key size in bits.
    pub bits: Option<u32>,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fingerprint: Option<Fingerprint>,
    /// What is wrong, fit to post; never quotes key material.
    pub problems: Vec<String>,
    /// A private key was posted (then no other field holds any of its material).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private_key: bool,
}

/// The message for a posted private key (exact text, fit to post).
pub const PRIVATE_KEY_MESSAGE: &str =
    "a private key was posted: it must be considered compromised; generate a new key pair";

/// Longest base64 text of one public key blob the checker reads (certificates included);
/// anything longer is refused, which keeps the work per input bounded.
const MAX_BLOB_BASE64: usize = 16 * 1024;

/// Base64 as OpenSSH writes it, with or without the trailing `=` padding.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn private_key_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?i)BEGIN\s+(?:[A-Z0-9]+\s+){0,3}PRIVATE\s+KEY",
            r"|PuTTY-User-Key-File-\d+\s*:",
            r"|Private-Lines\s*:\s*\d",
            // "openssh-key-v1\0" in base64: the body of an OpenSSH private key without its armour
            r"|b3BlbnNzaC1rZXktdjE",
        ))
        .expect("static regex")
    })
}

/// Whether the text holds a private key: OpenSSH (`BEGIN OPENSSH PRIVATE KEY`, or its body
/// alone), PEM RSA/EC/DSA, PKCS#8 (plain and encrypted, with or without their armour: see
/// [`crate::secret`]), SSH.com, or a PuTTY key file.
///
/// The poller uses it to scrub comments before anything is echoed.
pub fn is_private_key(text: &str) -> bool {
    private_key_regex().is_match(text) || crate::secret::has_der_private_key(text)
}

/// Whether a whitespace-separated token is written like an SSH key type (`ssh-…`, `ecdsa-…`,
/// `sk-…`, or a certificate type).
pub(crate) fn looks_like_key_type(token: &str) -> bool {
    let t = token.as_bytes();
    let shaped = t.len() >= 7
        && t.len() <= 64
        && t.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'@' | b'.')
        });
    shaped
        && (token.starts_with("ssh-")
            || token.starts_with("ecdsa-sha2-")
            || token.starts_with("sk-")
            || token.ends_with("-cert-v01@openssh.com"))
}

/// Whether a token is made only of base64 characters.
pub(crate) fn is_base64_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
}

/// Decodes base64 key data if it holds exactly one well-formed SSH public key blob.
pub(crate) fn complete_blob(b64: &str) -> Option<(Vec<u8>, KeyData)> {
    if b64.len() > MAX_BLOB_BASE64 {
        return None;
    }
    let blob = B64.decode(b64).ok()?;
    let data = ssh_key::PublicKey::from_bytes(&blob)
        .ok()?
        .key_data()
        .clone();
    Some((blob, data))
}

/// Whether base64 key data holds exactly one well-formed SSH public key blob.
pub(crate) fn is_complete_blob(b64: &str) -> bool {
    b64.len() <= MAX_BLOB_BASE64
        && B64
            .decode(b64)
            .is_ok_and(|blob| ssh_key::PublicKey::from_bytes(&blob).is_ok())
}

/// One key found in a text: its type token, its (unwrapped) base64 data, and how many
/// tokens of the text it used.
struct Found<'a> {
    type_token: &'a str,
    base64: String,
    complete: Option<(Vec<u8>, KeyData)>,
}

/// Reads the key starting at `tokens[0]` (a type token): base64 tokens are joined until they
/// form a whole key blob (keys wrapped over several lines), the rest is the comment.
/// Returns the key and the index of the first token after its data.
fn read_key<'a>(tokens: &[&'a str]) -> (Found<'a>, usize) {
    let mut base64 = String::new();
    let mut i = 1;
    while i < tokens.len() && is_base64_token(tokens[i]) && base64.len() <= MAX_BLOB_BASE64 {
        base64.push_str(tokens[i]);
        i += 1;
        if let Some(done) = complete_blob(&base64) {
            return (
                Found {
                    type_token: tokens[0],
                    base64,
                    complete: Some(done),
                },
                i,
            );
        }
    }
    (
        Found {
            type_token: tokens[0],
            base64,
            complete: None,
        },
        i,
    )
}

/// The algorithm named inside a key blob (its first SSH string), if readable.
fn blob_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4usize.checked_add(len)?)?).ok()
}

fn mpint_bits(m: &Mpint) -> u32 {
    match m.as_positive_bytes() {
        Some([first, rest @ ..]) => rest.len() as u32 * 8 + (8 - first.leading_zeros()),
        _ => 0,
    }
}

/// Algorithm name and size in bits of decoded key data, as `ssh-keygen -l` reports them.
fn algorithm_and_bits(data: &KeyData) -> (String, Option<u32>) {
    let name = data.algorithm().as_str().to_string();
    let bits = match data {
        KeyData::Ed25519(_) | KeyData::SkEd25519(_) => Some(256),
        KeyData::Rsa(k) => Some(mpint_bits(&k.n)),
        KeyData::Dsa(k) => Some(mpint_bits(&k.p)),
        KeyData::Ecdsa(k) => Some(match k.curve() {
            EcdsaCurve::NistP256 => 256,
            EcdsaCurve::NistP384 => 384,
            EcdsaCurve::NistP521 => 521,
        }),
        KeyData::SkEcdsaSha2NistP256(_) => Some(256),
        _ => None,
    };
    (name, bits)
}

/// The OpenSSH fingerprint of a key blob: `SHA256:` and the unpadded base64 of its SHA-256.
pub fn fingerprint_of_blob(blob: &[u8]) -> Fingerprint {
    Fingerprint(format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(Sha256::digest(blob))
    ))
}

/// The fingerprint of the first public key in a text (`type base64 [comment]`, possibly
/// wrapped), if it holds a readable one. Private keys give `None`.
pub fn fingerprint(text: &str) -> Option<Fingerprint> {
    if is_private_key(text) {
        return None;
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let start = tokens.iter().position(|t| looks_like_key_type(t))?;
    let (found, _) = read_key(&tokens[start..]);
    found.complete.map(|(blob, _)| fingerprint_of_blob(&blob))
}

/// Judges one key text under the key rules.
///
/// The text is what the requester posted as their key: `type base64 [comment]`, possibly
/// wrapped over several lines. Every refusal reason is a message fit to post; a private key
/// gives only [`PRIVATE_KEY_MESSAGE`] and `private_key: true`, no other field.
pub fn judge(text: &str, rules: &KeyRules) -> KeyReport {
    if is_private_key(text) {
        return KeyReport {
            problems: vec![PRIVATE_KEY_MESSAGE.to_string()],
            private_key: true,
            ..KeyReport::default()
        };
    }
    let mut report = KeyReport::default();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let Some(start) = tokens.iter().position(|t| looks_like_key_type(t)) else {
        let msg = if tokens.iter().any(|t| t.starts_with("AAAA") && t.len() > 40) {
            "the key type (e.g. ssh-ed25519) is missing before the key data: post the whole line of the .pub file"
        } else {
            "no SSH public key was found: post the whole line of your .pub file (ssh-ed25519 AAAA… comment)"
        };
        report.problems.push(msg.into());
        return report;
    };
    let (found, next) = read_key(&tokens[start..]);
    let more = tokens[start + next..]
        .windows(2)
        .filter(|w| looks_like_key_type(w[0]) && is_base64_token(w[1]))
        .count();
    if more > 0 {
        report.problems.push(format!(
            "{} keys were posted in one field: post exactly one public key",
            more + 1
        ));
    }
    judge_found(&found, rules, &mut report);
    report.ok = report.problems.is_empty();
    report
}

fn judge_found(found: &Found<'_>, rules: &KeyRules, report: &mut KeyReport) {
    let type_token = found.type_token;
    if type_token.ends_with("-cert-v01@openssh.com") {
        report.problems.push(
            "a certificate was posted, not a public key: post the plain public key (the .pub file, not -cert.pub)"
                .into(),
        );
        return;
    }
    if found.base64.is_empty() {
        report.problems.push(format!(
            "the {type_token} key has no key data after its type: post the whole line of the .pub file"
        ));
        return;
    }
    let Some((blob, data)) = &found.complete else {
        report
            .problems
            .push(diagnose_broken(type_token, &found.base64));
        return;
    };
    let inner = blob_type(blob).unwrap_or_default();
    if inner.ends_with("-cert-v01@openssh.com") {
        report.problems.push(
            "a certificate was posted, not a public key: post the plain public key (the .pub file, not -cert.pub)"
                .into(),
        );
        return;
    }
    if inner != type_token {
        report.problems.push(format!(
            "the key type {type_token} does not match the key data, which is {}: post the .pub file unchanged",
            printable_type(inner)
        ));
        return;
    }
    let (algorithm, bits) = algorithm_and_bits(data);
    report.fingerprint = Some(fingerprint_of_blob(blob));
    report.algorithm = Some(algorithm.clone());
    report.bits = bits;
    if algorithm == "ssh-dss" {
        report.problems.push(
            "DSA (ssh-dss) keys are refused: generate an ed25519 key (ssh-keygen -t ed25519)"
                .into(),
        );
        return;
    }
    if !rules.allowed.iter().any(|a| a == &algorithm) {
        report.problems.push(format!(
            "{algorithm} keys are not accepted (allowed: {}): generate an ed25519 key (ssh-keygen -t ed25519)",
            rules.allowed.join(", ")
        ));
        return;
    }
    if algorithm == "ssh-rsa" {
        let b = bits.unwrap_or(0);
        if b < rules.min_rsa_bits {
            report.problems.push(format!(
                "the RSA key has {b} bits; at least {} are required (or use ssh-keygen -t ed25519)",
                rules.min_rsa_bits
            ));
        }
    }
}

/// A key type named inside a blob, shown only when it is a plausible type name.
fn printable_type(t: &str) -> String {
    if looks_like_key_type(t) {
        format!("an {t} key")
    } else {
        "not a known key type".into()
    }
}

/// Says precisely why base64 key data did not read as a key.
fn diagnose_broken(type_token: &str, b64: &str) -> String {
    if b64.len() > MAX_BLOB_BASE64 {
        return format!("the {type_token} key data is far too long to be one public key");
    }
    let Ok(blob) = B64.decode(b64) else {
        return format!(
            "the {type_token} key data is not valid base64 (truncated or altered when copied): post the .pub file unchanged"
        );
    };
    match blob_type(&blob) {
        Some(inner) if inner.ends_with("-cert-v01@openssh.com") => {
            "a certificate was posted, not a public key: post the plain public key (the .pub file, not -cert.pub)".into()
        }
        Some(inner) if inner != type_token => format!(
            "the key type {type_token} does not match the key data, which is {}: post the .pub file unchanged",
            printable_type(inner)
        ),
        Some(_) => format!(
            "the {type_token} key data is truncated or corrupted ({} bytes that are not a whole key): post the .pub file unchanged",
            blob.len()
        ),
        None => format!(
            "the {type_token} key data is truncated or corrupted: post the .pub file unchanged"
        ),
    }
}

/// Who else holds a key, according to [`KeyIndex`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum KeyOwner {
    /// A user of the admin module's `data.yaml` (the shell username).
    Admin(String),
    /// The known-keys file (keys used elsewhere, e.g. Cloud VPS).
    KnownKeys,
}

/// Why the key index could not be built: names the file and, when known, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct KeyIndexError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The keys already in use elsewhere: in `data.yaml` (by shell user) and in the known-keys file.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    owners: HashMap<Fingerprint, Vec<KeyOwner>>,
    shell_users: HashSet<String>,
}

/// One user of `data.yaml` (only the fields the index needs; others are ignored).
#[derive(Debug, Deserialize)]
struct AdminUser {
    #[serde(default)]
    ensure: Option<String>,
    #[serde(default)]
    ssh_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AdminData {
    #[serde(default)]
    users: BTreeMap<String, Option<AdminUser>>,
}

const DATA_YAML: &str = "<data.yaml>";
const KNOWN_KEYS: &str = "<known keys>";

impl KeyIndex {
    /// Reads `[keys] data_yaml` and `known_keys_file` when set (relative to the rules directory).
    pub fn load(rules: &Rules) -> Result<KeyIndex, KeyIndexError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| KeyIndexError {
                file: p.to_path_buf(),
                line: None,
                message: format!("cannot read: {e}"),
            })
        };
        let mut index = KeyIndex::default();
        if let Some(p) = rules.path(&rules.keys.data_yaml) {
            index.add_data_yaml(&read(&p)?, &p)?;
        }
        if let Some(p) = rules.path(&rules.keys.known_keys_file) {
            index.add_known_keys(&read(&p)?, &p)?;
        }
        Ok(index)
    }

    /// Builds the index from the texts of `data.yaml` and of the known-keys file.
    pub fn from_texts(
        data_yaml: Option<&str>,
        known_keys: Option<&str>,
    ) -> Result<KeyIndex, KeyIndexError> {
        let mut index = KeyIndex::default();
        if let Some(t) = data_yaml {
            index.add_data_yaml(t, Path::new(DATA_YAML))?;
        }
        if let Some(t) = known_keys {
            index.add_known_keys(t, Path::new(KNOWN_KEYS))?;
        }
        Ok(index)
    }

    fn add(&mut self, fp: Fingerprint, owner: KeyOwner) {
        let list = self.owners.entry(fp).or_default();
        if !list.contains(&owner) {
            list.push(owner);
        }
    }

    fn add_data_yaml(&mut self, text: &str, file: &Path) -> Result<(), KeyIndexError> {
        let data: AdminData = serde_norway::from_str(text).map_err(|e| KeyIndexError {
            file: file.to_path_buf(),
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        for (name, user) in data.users {
            let Some(user) = user else { continue };
            if user.ensure.as_deref() != Some("absent") {
                self.shell_users.insert(name.clone());
            }
            for key in &user.ssh_keys {
                // A key that does not read cannot equal a requester's valid key: skip it.
                if let Some(fp) = fingerprint(key) {
                    self.add(fp, KeyOwner::Admin(name.clone()));
                }
            }
        }
        Ok(())
    }

    fn add_known_keys(&mut self, text: &str, file: &Path) -> Result<(), KeyIndexError> {
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match fingerprint(t) {
                Some(fp) => self.add(fp, KeyOwner::KnownKeys),
                None => {
                    return Err(KeyIndexError {
                        file: file.to_path_buf(),
                        line: Some(i + 1),
                        message: "not an SSH public key (expected `type base64 [comment]`)".into(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Who already holds the key with this fingerprint (empty: nobody known).
    pub fn owners(&self, fp: &Fingerprint) -> Vec<KeyOwner> {
        self.owners.get(fp).cloned().unwrap_or_default()
    }

    /// Whether `data.yaml` has this shell user (and does not mark it `ensure: absent`).
    pub fn has_shell_user(&self, user: &ShellUser) -> bool {
        self.shell_users.contains(user.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM/02V1IG9X4JzDcrvOgJmtNvIw/ryad5qnOlqKR8Q5L ed25519@example.org";

    #[test]
    fn ed25519_passes_and_wrapped_key_reads_the_same() {
        let r = judge(ED, &KeyRules::default());
        assert!(r.ok, "{r:?}");
        assert_eq!(r.bits, Some(256));
        let wrapped = ED.replacen("AAAAIM/02V1", "AAAAIM/\n02V1", 1);
        let w = judge(&wrapped, &KeyRules::default());
        assert_eq!(w, r);
    }

    #[test]
    fn type_token_shapes() {
        assert!(looks_like_key_type("ssh-ed25519"));
        assert!(looks_like_key_type("ecdsa-sha2-nistp256"));
        assert!(!looks_like_key_type("ssh"));
        assert!(!looks_like_key_type("SSH-RSA"));
    }

    #[test]
    fn mismatched_type_is_refused_precisely() {
        let r = judge(&ED.replace("ssh-ed25519", "ssh-rsa"), &KeyRules::default());
        assert!(!r.ok);
        assert_eq!(
            r.problems,
            vec!["the key type ssh-rsa does not match the key data, which is an ssh-ed25519 key: post the .pub file unchanged"]
        );
    }

    #[test]
    fn truncated_key_is_refused() {
        let r = judge(&ED.replace("8Q5L", ""), &KeyRules::default());
        assert!(!r.ok);
        assert!(r.problems[0].contains("truncated or corrupted"), "{r:?}");
        assert_eq!(r.fingerprint, None);
    }

    #[test]
    fn private_key_markers() {
        assert!(is_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nxx"));
        assert!(is_private_key("PuTTY-User-Key-File-2: ssh-rsa"));
        assert!(!is_private_key(ED));
    }
}
