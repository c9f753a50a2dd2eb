//! SSH key policy: algorithm, size, fingerprint, private-key detection, freshness.
//!
//! Pure except for reading the optional `data.yaml` and known-keys files.

use crate::ids::Fingerprint;
use serde::Serialize;

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

/// Judges one key text under the key rules.
///
/// PLACEHOLDER until the parser branch lands: refuses everything.
pub fn judge(_text: &str, _rules: &crate::rules::KeyRules) -> KeyReport {
    KeyReport {
        problems: vec!["key checking is not available".into()],
        ..KeyReport::default()
    }
}
