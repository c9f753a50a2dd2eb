//! Private key material without its armour: the base64 body of a PEM private key (PKCS#1 RSA,
//! DSA, SEC1 EC, PKCS#8 plain or encrypted) pasted without its `BEGIN … PRIVATE KEY` and
//! `END` lines. [`crate::keys::is_private_key`] asks here besides its own patterns (armour,
//! PuTTY headers, the OpenSSH `openssh-key-v1` body), so that such a paste is reported as a
//! compromised key wherever it appears and never echoed.
//!
//! The test reads the first bytes of every long base64 word: a DER `SEQUENCE` that opens with
//! the version `INTEGER` 0 or 1 (the private key structures), or with the algorithm of a
//! password-based encryption scheme (an encrypted PKCS#8 key). Public keys, certificates and
//! SSH public key blobs start otherwise. Linear in the text.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

/// The shortest base64 word looked at (a PKCS#8 Ed25519 private key is 64 characters).
const MIN_WORD: usize = 40;

/// Whether the text holds the base64 body of a DER private key, armoured or not.
pub(crate) fn has_der_private_key(text: &str) -> bool {
    // Base64 words are ASCII: split the bytes (any other byte, UTF-8 included, ends a word).
    text.as_bytes()
        .split(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
        // A DER SEQUENCE (0x30) is "M" in base64: other words need no decoding.
        .filter(|w| w.len() >= MIN_WORD && w[0] == b'M')
        .any(|w| std::str::from_utf8(w).is_ok_and(is_der_private_key_start))
}

/// Whether a base64 word starts like a DER private key.
fn is_der_private_key_start(word: &str) -> bool {
    let head: String = word
        .trim_end_matches('=')
        .chars()
        .take(48)
        .collect::<String>();
    let usable = head.len() / 4 * 4;
    let Ok(b) = STANDARD_NO_PAD.decode(&head[..usable]) else {
        return false;
    };
    // SEQUENCE with a short or long length.
    if b.first() != Some(&0x30) {
        return false;
    }
    let hdr = match b.get(1) {
        Some(&l) if l < 0x80 => 2,
        Some(0x81) => 3,
        Some(0x82) => 4,
        Some(0x83) => 5,
        _ => return false,
    };
    let body = &b[hdr.min(b.len())..];
    // version INTEGER 0 (PKCS#1 RSA, DSA, PKCS#8) or 1 (SEC1 EC, multi-prime RSA, PKCS#8 v2),
    // followed by what those structures hold next.
    match body {
        [0x02, 0x01, 0x00, next, ..] => matches!(next, 0x02 | 0x30),
        [0x02, 0x01, 0x01, next, ..] => matches!(next, 0x04 | 0x30 | 0x02),
        // EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier { OID pbes2/pbes1/pkcs12 …
        [0x30, len, 0x06, oid_len, rest @ ..] if *len < 0x80 && *oid_len >= 9 => {
            const PKCS5: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
            const PKCS12: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
            rest.starts_with(&PKCS5) || rest.starts_with(&PKCS12)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_bodies_are_found_and_public_ones_are_not() {
        // PKCS#1 RSA, PKCS#8 RSA, SEC1 EC, PKCS#8 Ed25519, encrypted PKCS#8 (first line each).
        for body in [
            "MIIEowIBAAKCAQEAsLz7p0z9iDqZbGpfzCk2S4m1Yb2Dk9bYw0cGkJ7qz0w5bYt",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC5Bx7L0Qy3fC",
            "MHcCAQEEIBv7YwQ4jS0hZc3Cq0Gv+1k2Jt1wq8Kf6N4y2Ub1o0qhoAoGCCqGSM49",
            "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF",
            "MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQIkpa2gh3LjUMCAggA",
        ] {
            assert!(has_der_private_key(body), "{body}");
            assert!(has_der_private_key(&format!("Full name: {body}")), "{body}");
        }
        // A public key (SubjectPublicKeyInfo), a certificate, an SSH public key blob.
        for body in [
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsLz7p0z9iDqZbGpfzCk2",
            "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ",
            "AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wFCifms6x4Hg",
            "short MIIEowIBAAKC",
        ] {
            assert!(!has_der_private_key(body), "{body}");
        }
    }
}
