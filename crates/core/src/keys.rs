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
use std::collections::{BTreeMap, HashMap};
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
pub(crate) fn fingerprint_of_blob(blob: &[u8]) -> Fingerprint {
    Fingerprint::from(format!(
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
            "the key type (e.g. `ssh-ed25519`) is missing before the key data: post the whole line of the .pub file"
        } else {
            "no SSH public key was found: post the whole line of your .pub file (`ssh-ed25519 AAAA… comment`)"
        };
        report.problems.push(msg.into());
        return report;
    };
    // authorized_keys options before the key ("command=\"…\",no-pty ssh-ed25519 …") would
    // be granted with it: refused, the plain line is asked for.
    if start > 0 && is_key_options(tokens[start - 1]) {
        report.problems.push(
            "the key line begins with authorized_keys options (command=, from=, no-pty …): post the plain public key line of the .pub file"
                .into(),
        );
    }
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
            "DSA (ssh-dss) keys are refused: generate an ed25519 key (`ssh-keygen -t ed25519`)"
                .into(),
        );
        return;
    }
    if !rules.allowed.iter().any(|a| a == &algorithm) {
        report.problems.push(format!(
            "{algorithm} keys are not accepted (allowed: {}): generate an ed25519 key (`ssh-keygen -t ed25519`)",
            rules
                .allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return;
    }
    if algorithm == "ssh-rsa" {
        let b = bits.unwrap_or(0);
        if b < rules.min_rsa_bits {
            report.problems.push(format!(
                "the RSA key has {b} bits; at least {} are required (or use `ssh-keygen -t ed25519`)",
                rules.min_rsa_bits
            ));
        }
    }
    report.problems.extend(degenerate(data));
}

/// Whether a token is a list of authorized_keys options (sshd(8) AUTHORIZED_KEYS FILE FORMAT):
/// `restrict`, `no-pty`, `cert-authority`, `command="…"`, `from="…"` and the like, comma-joined.
/// An option with a quoted value that holds spaces ends in a token like `pty"`: the token
/// just before the key type is judged, so `…/bin/sh",no-pty` counts too.
pub(crate) fn is_key_options(token: &str) -> bool {
    const FLAGS: [&str; 11] = [
        "restrict",
        "cert-authority",
        "no-pty",
        "no-port-forwarding",
        "no-agent-forwarding",
        "no-x11-forwarding",
        "no-user-rc",
        "no-touch-required",
        "verify-required",
        "pty",
        "port-forwarding",
    ];
    const VALUED: [&str; 9] = [
        "command=",
        "environment=",
        "from=",
        "permitopen=",
        "permitlisten=",
        "principals=",
        "tunnel=",
        "expiry-time=",
        "agent-forwarding",
    ];
    token.split(',').any(|part| {
        let part = part.trim_matches('"').to_ascii_lowercase();
        FLAGS.contains(&part.as_str()) || VALUED.iter().any(|v| part.starts_with(v))
    }) || token.contains("=\"")
}

/// Why a key that decodes is still no key a generator makes, if it is not: see
/// [`ed25519_problem`] and [`rsa_problems`].
fn degenerate(data: &KeyData) -> Vec<String> {
    match data {
        KeyData::Ed25519(k) => ed25519_problem(&k.0).into_iter().collect(),
        KeyData::SkEd25519(k) => ed25519_problem(&k.public_key().0).into_iter().collect(),
        KeyData::Rsa(k) => rsa_problems(&k.e, &k.n),
        _ => Vec::new(),
    }
}

/// Why 32 bytes are not an ED25519 public key a key generator makes, if they are not.
///
/// An honest key is `a·B` for the base point `B`: a canonical encoding of a point of the
/// prime-order subgroup. The point is decoded with `curve25519-dalek` rather than compared
/// with a list of the 8 small-order encodings (and their non-canonical twins), because
/// decoding also refuses what a list misses: bytes that are no point at all, and "mixed"
/// points (an honest point plus a small-order one) that no generator outputs either.
/// Small-order points, the identity first, are the dangerous ones: a signature checked
/// against them can be forged without any secret.
pub(crate) fn ed25519_problem(bytes: &[u8; 32]) -> Option<String> {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let Some(point) = CompressedEdwardsY(*bytes).decompress() else {
        return Some(
            "the `ssh-ed25519` key data is not a point of the curve: no real key looks like this; post the .pub file unchanged"
                .into(),
        );
    };
    if point.is_small_order() {
        return Some(
            "the `ssh-ed25519` key is a degenerate small-order point (such as the identity) that forged signatures can match: generate a new key (`ssh-keygen -t ed25519`)"
                .into(),
        );
    }
    if point.compress().as_bytes() != bytes {
        return Some(
            "the `ssh-ed25519` key is not written in canonical form, as no key generator writes it: generate a new key (`ssh-keygen -t ed25519`)"
                .into(),
        );
    }
    if !point.is_torsion_free() {
        return Some(
            "the `ssh-ed25519` key has a small-order component that no key generator produces: generate a new key (`ssh-keygen -t ed25519`)"
                .into(),
        );
    }
    None
}

/// The odd primes below this divide no real RSA modulus (whose two factors have hundreds of
/// digits); trying them all costs a few thousand divisions of a 512-byte number.
const SMALL_PRIME_BOUND: u32 = 10_000;

fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let n = SMALL_PRIME_BOUND as usize;
        let mut composite = vec![false; n];
        let mut out = Vec::new();
        for i in 2..n {
            if !composite[i] {
                if i > 2 {
                    out.push(i as u32);
                }
                let mut j = i * i;
                while j < n {
                    composite[j] = true;
                    j += i;
                }
            }
        }
        out
    })
}

/// The remainder of a big-endian magnitude divided by `p`.
fn rem_small(magnitude: &[u8], p: u32) -> u32 {
    magnitude
        .iter()
        .fold(0u64, |r, b| ((r << 8) | u64::from(*b)) % u64::from(p)) as u32
}

/// Why an RSA public key (`e`, `n`) is no key a generator makes: a public exponent below
/// 65537 (e = 3 and other small exponents make textbook attacks practical) or even (then it
/// is no RSA key at all), an even modulus, or a modulus with a small factor.
pub(crate) fn rsa_problems(e: &Mpint, n: &Mpint) -> Vec<String> {
    let mut out = Vec::new();
    match e.as_positive_bytes() {
        None | Some([]) => out.push(
            "the RSA public exponent is not a positive number: no real key looks like this; generate a new key".into(),
        ),
        Some(bytes) => {
            let small = bytes.len() <= 8 && bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)) < 65_537;
            if small {
                let value = bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
                out.push(format!(
                    "the RSA public exponent is {value}; it must be at least 65537 (ssh-keygen uses 65537): generate a new key"
                ));
            }
            if bytes.last().is_some_and(|b| b % 2 == 0) {
                out.push("the RSA public exponent is even, which no RSA key can have: generate a new key".into());
            }
        }
    }
    match n.as_positive_bytes() {
        None | Some([]) => out.push(
            "the RSA modulus is not a positive number: no real key looks like this; generate a new key".into(),
        ),
        Some(bytes) => {
            if bytes.last().is_some_and(|b| b % 2 == 0) {
                out.push("the RSA modulus is even, which no RSA key can have: generate a new key".into());
            } else if let Some(p) = small_primes().iter().find(|p| rem_small(bytes, **p) == 0) {
                out.push(format!(
                    "the RSA modulus is divisible by {p}, which no RSA key's can be: generate a new key"
                ));
            }
        }
    }
    out
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
    shell_users: HashMap<String, ShellHolder>,
}

/// Who holds a shell user of `data.yaml`, as its entry says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellHolder {
    /// The entry's `realname`.
    pub realname: Option<String>,
    /// The entry's `email`.
    pub email: Option<String>,
}

impl ShellHolder {
    /// Whether the entry is, as far as `data.yaml` tells, the account of the person a request
    /// with this full name and email is for: the same email (in any case), or the same real
    /// name (in any case, whatever the spacing). An entry that gives neither matches nobody: a
    /// shell name someone else already holds must never be read as the requester's own
    /// account (its groups would be granted to that person).
    pub fn is(&self, full_name: Option<&str>, email: Option<&str>) -> bool {
        let same_email = match (self.email.as_deref(), email) {
            (Some(a), Some(b)) => !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim()),
            _ => false,
        };
        let same_name = match (self.realname.as_deref(), full_name) {
            (Some(a), Some(b)) => crate::ids::same_name(a, b),
            _ => false,
        };
        same_email || same_name
    }
}

/// One user of `data.yaml` (only the fields the index needs; others are ignored).
#[derive(Debug, Deserialize)]
struct AdminUser {
    #[serde(default)]
    ensure: Option<String>,
    #[serde(default)]
    ssh_keys: Vec<String>,
    #[serde(default)]
    realname: Option<String>,
    #[serde(default)]
    email: Option<String>,
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
                self.shell_users.insert(
                    name.clone(),
                    ShellHolder {
                        realname: user.realname.clone(),
                        email: user.email.clone(),
                    },
                );
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
        self.shell_users.contains_key(user.as_str())
    }

    /// Who holds this shell user in `data.yaml` (`None`: not there, or `ensure: absent`).
    pub fn shell_user(&self, user: &ShellUser) -> Option<&ShellHolder> {
        self.shell_users.get(user.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_with_authorized_keys_options_is_refused_and_prose_before_it_is_not() {
        let rules = KeyRules::default();
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDlox4BxGXvzsD6dsTssIvvxnpYV6GUdVsYWfyxvU5M4 me@x";
        for prefix in [
            "command=\"/bin/sh\",no-pty",
            "restrict",
            "from=\"10.0.0.0/8\"",
            "no-port-forwarding,no-X11-forwarding",
            "environment=\"LD_PRELOAD=/tmp/x.so\"",
        ] {
            let r = judge(&format!("{prefix} {key}"), &rules);
            assert!(!r.ok, "{prefix}: {r:?}");
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.contains("authorized_keys options")),
                "{prefix}"
            );
        }
        for prose in ["my key is", "key:", "Here it is, thanks:"] {
            let r = judge(&format!("{prose} {key}"), &rules);
            assert!(
                !r.problems.iter().any(|p| p.contains("options")),
                "{prose}: {r:?}"
            );
        }
    }

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

    /// An SSH string: its length (4 bytes, big-endian), then its bytes.
    fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// An SSH mpint of a positive big-endian magnitude: minimal, with a 0 byte in front when
    /// the top bit is set.
    fn ssh_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
        let m: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = Vec::with_capacity(m.len() + 1);
        if m.first().is_some_and(|b| b & 0x80 != 0) {
            v.push(0);
        }
        v.extend_from_slice(&m);
        ssh_string(out, &v);
    }

    /// A public key line built from its wire format, as ssh-keygen would never write it.
    fn ed25519_line(point: &[u8; 32]) -> String {
        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ssh-ed25519");
        ssh_string(&mut blob, point);
        format!("ssh-ed25519 {} crafted@test", B64.encode(blob))
    }

    fn rsa_line(e: &[u8], n: &[u8]) -> String {
        let mut blob = Vec::new();
        ssh_string(&mut blob, b"ssh-rsa");
        ssh_mpint(&mut blob, e);
        ssh_mpint(&mut blob, n);
        format!("ssh-rsa {} crafted@test", B64.encode(blob))
    }

    fn hex32(h: &str) -> [u8; 32] {
        let v: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    /// The point of the ed25519 fixture (an honest key made by ssh-keygen).
    fn honest_point() -> [u8; 32] {
        let line = include_str!("../../../tests/fixtures/keys/ed25519.pub");
        let (_, data) = complete_blob(line.split_whitespace().nth(1).unwrap()).unwrap();
        match data {
            KeyData::Ed25519(k) => k.0,
            other => panic!("not ed25519: {other:?}"),
        }
    }

    /// `e` and `n` of the 4096-bit RSA fixture.
    fn honest_rsa() -> (Vec<u8>, Vec<u8>) {
        let line = include_str!("../../../tests/fixtures/keys/rsa4096.pub");
        let (_, data) = complete_blob(line.split_whitespace().nth(1).unwrap()).unwrap();
        match data {
            KeyData::Rsa(k) => (
                k.e.as_positive_bytes().unwrap().to_vec(),
                k.n.as_positive_bytes().unwrap().to_vec(),
            ),
            other => panic!("not rsa: {other:?}"),
        }
    }

    /// Subtracts a small number from a big-endian magnitude.
    fn minus(magnitude: &[u8], k: u32) -> Vec<u8> {
        let mut out = magnitude.to_vec();
        let mut borrow = k as i64;
        for b in out.iter_mut().rev() {
            let v = *b as i64 - borrow;
            *b = v.rem_euclid(256) as u8;
            borrow = if v < 0 { (-v + 255) / 256 } else { 0 };
            if borrow == 0 {
                break;
            }
        }
        out
    }

    #[test]
    fn crafted_honest_keys_pass_so_the_builders_are_right() {
        let rules = KeyRules::default();
        let r = judge(&ed25519_line(&honest_point()), &rules);
        assert!(r.ok, "{r:?}");
        let (e, n) = honest_rsa();
        assert_eq!(e, vec![1, 0, 1]);
        let r = judge(&rsa_line(&e, &n), &rules);
        assert!(r.ok, "{r:?}");
        assert_eq!(r.bits, Some(4096));
    }

    #[test]
    fn small_order_ed25519_points_are_refused() {
        // The eight points of order 1, 2, 4 and 8 in canonical form, as libsodium lists them
        // (an independent witness: not derived from the library the check uses), and
        // non-canonical encodings of some of them (y >= p, or x = 0 with the sign bit set).
        let order8_a = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";
        let order8_b = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
        let ones = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        let mut points: Vec<(String, [u8; 32])> = vec![
            ("identity".into(), hex32(&format!("01{}", "00".repeat(31)))),
            ("order 4, y = 0".into(), [0u8; 32]),
            (
                "order 4, y = 0, x negative".into(),
                hex32(&format!("{}80", "00".repeat(31))),
            ),
            ("order 2, y = p - 1".into(), hex32(&format!("ec{ones}7f"))),
            ("order 8 a".into(), hex32(order8_a)),
            ("order 8 b".into(), hex32(order8_b)),
            (
                "identity with the sign bit".into(),
                hex32(&format!("01{}80", "00".repeat(30))),
            ),
            (
                "y = p (0, non-canonical)".into(),
                hex32(&format!("ed{ones}7f")),
            ),
            (
                "y = p + 1 (identity, non-canonical)".into(),
                hex32(&format!("ee{ones}7f")),
            ),
        ];
        for (name, p) in [
            ("order 8 a, x negative", order8_a),
            ("order 8 b, x negative", order8_b),
        ] {
            let mut b = hex32(p);
            b[31] |= 0x80;
            points.push((name.into(), b));
        }
        for (name, point) in &points {
            let r = judge(&ed25519_line(point), &KeyRules::default());
            assert!(!r.ok, "{name} accepted");
            assert_eq!(r.problems.len(), 1, "{name}: {r:?}");
            assert!(r.problems[0].contains("small-order point"), "{name}: {r:?}");
        }
    }

    #[test]
    fn ed25519_bytes_that_are_no_honest_point_are_refused() {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        // No point has y = 2 (2 is not a square's ratio there): the bytes decode to nothing.
        let mut none = [0u8; 32];
        none[0] = 2;
        assert!(
            CompressedEdwardsY(none).decompress().is_none(),
            "pick other bytes"
        );
        let r = judge(&ed25519_line(&none), &KeyRules::default());
        assert!(r.problems[0].contains("not a point of the curve"), "{r:?}");

        // An honest point plus the point of order 2: valid bytes, but no generator makes it.
        let honest = CompressedEdwardsY(honest_point()).decompress().unwrap();
        let order2 = CompressedEdwardsY(hex32(
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ))
        .decompress()
        .unwrap();
        let mixed = (honest + order2).compress().to_bytes();
        let r = judge(&ed25519_line(&mixed), &KeyRules::default());
        assert!(r.problems[0].contains("small-order component"), "{r:?}");

        // Encodings of y >= p are y - p written the long way round: p + k for k = 0 … 18.
        // Each k that is the y of a point (not small-order) gives a non-canonical twin.
        let mut twins = 0;
        for k in 2u8..=18 {
            let mut canonical = [0u8; 32];
            canonical[0] = k;
            let on_curve = CompressedEdwardsY(canonical)
                .decompress()
                .is_some_and(|p| !p.is_small_order());
            if !on_curve {
                continue;
            }
            let mut twin = [0xffu8; 32];
            twin[0] = 0xed + k;
            twin[31] = 0x7f;
            assert_eq!(
                CompressedEdwardsY(twin)
                    .decompress()
                    .map(|p| p.compress().to_bytes()),
                Some(canonical),
                "p + {k} is the same point as {k}"
            );
            let r = judge(&ed25519_line(&twin), &KeyRules::default());
            assert!(r.problems[0].contains("canonical form"), "{r:?}");
            twins += 1;
        }
        assert!(twins > 0, "no y below 19 is on the curve?");
    }

    #[test]
    fn degenerate_rsa_keys_are_refused() {
        let rules = KeyRules::default();
        let (e, n) = honest_rsa();
        // (name, e, n, what each problem says)
        type Case<'a> = (&'a str, Vec<u8>, Vec<u8>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "e = 3",
                vec![3],
                n.clone(),
                vec!["exponent is 3; it must be at least 65537"],
            ),
            ("e = 1", vec![1], n.clone(), vec!["exponent is 1;"]),
            (
                "e = 65535",
                vec![0xff, 0xff],
                n.clone(),
                vec!["exponent is 65535;"],
            ),
            (
                "e = 65536",
                vec![1, 0, 0],
                n.clone(),
                vec!["exponent is 65536;", "exponent is even"],
            ),
            (
                "e = 65538",
                vec![1, 0, 2],
                n.clone(),
                vec!["exponent is even"],
            ),
            (
                "a huge even e",
                vec![0x7f; 300].into_iter().chain([2]).collect(),
                n.clone(),
                vec!["exponent is even"],
            ),
            ("n even", e.clone(), minus(&n, 1), vec!["modulus is even"]),
            (
                "n divisible by 3",
                e.clone(),
                {
                    let r = rem_small(&n, 3);
                    let m = minus(&n, r);
                    if m.last().unwrap() % 2 == 0 {
                        minus(&m, 3)
                    } else {
                        m
                    }
                },
                vec!["divisible by 3,"],
            ),
            (
                "n divisible by 9973",
                e.clone(),
                {
                    let r = rem_small(&n, 9973);
                    let m = minus(&n, r);
                    if m.last().unwrap() % 2 == 0 {
                        minus(&m, 9973)
                    } else {
                        m
                    }
                },
                vec!["divisible by"],
            ),
        ];
        for (name, e, n, want) in cases {
            let r = judge(&rsa_line(&e, &n), &rules);
            assert!(!r.ok, "{name} accepted");
            assert_eq!(r.bits, Some(4096), "{name}: still 4096 bits");
            assert_eq!(r.problems.len(), want.len(), "{name}: {:?}", r.problems);
            for (p, w) in r.problems.iter().zip(&want) {
                assert!(p.contains(w), "{name}: {p:?} lacks {w:?}");
            }
        }
        // A modulus divisible only by primes above the bound passes this check (it is about
        // degenerate keys, not a factoring test).
        assert_ne!(rem_small(&n, 10_007), 0);
        assert!(small_primes()
            .iter()
            .all(|p| *p < SMALL_PRIME_BOUND && *p > 2));
        assert_eq!(small_primes().len(), 1228, "odd primes below 10,000");
    }

    #[test]
    fn private_key_markers() {
        assert!(is_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nxx"));
        assert!(is_private_key("PuTTY-User-Key-File-2: ssh-rsa"));
        assert!(!is_private_key(ED));
    }
}
