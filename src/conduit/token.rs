//! The Conduit API token: a secret that never shows in `Debug`, logs or error texts, how it is
//! loaded (environment or file), and `redact`, which scrubs it (and anything shaped like a
//! Conduit token) out of text that came back from the server. Also the other secret file, the
//! web session cookie, with the same permission check.

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The environment variable that holds the token.
pub const TOKEN_ENV: &str = "ACCESSBOT_TOKEN";

/// What a token looks like when it is redacted.
pub const REDACTED: &str = "api-***";

/// Anything shaped like a Conduit token (`api-`, `cli-` or `clr-` and 28 alphanumerics).
static TOKEN_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:api|cli|clr)-[A-Za-z0-9]{28}").expect("the token pattern is a valid regex")
});

/// A Conduit API token. `Debug` prints `Token(***)`; there is deliberately no `Display`.
#[derive(Clone)]
pub struct Token(SecretString);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Why a token could not be loaded. The texts never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `ACCESSBOT_TOKEN` is not set.
    #[error("no Conduit API token: set {TOKEN_ENV} or pass --token-file")]
    Missing,
    /// The token source holds no token.
    #[error("the Conduit API token from {source_name} is empty")]
    Empty {
        /// Where the token was read from.
        source_name: String,
    },
    /// The token holds whitespace or control characters inside it.
    #[error("the Conduit API token from {source_name} is not one word (it contains whitespace or control characters)")]
    NotOneWord {
        /// Where the token was read from.
        source_name: String,
    },
    /// The token file could not be read.
    #[error("cannot read the token file {path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        detail: String,
    },
}

impl Token {
    /// Wraps a token as given (no trimming or checks: use [`Token::from_env`] or
    /// [`Token::from_file`] for tokens that come from outside).
    pub fn new(token: String) -> Token {
        Token(SecretString::from(token))
    }

    /// Reads the token from `ACCESSBOT_TOKEN` (trimmed).
    pub fn from_env() -> Result<Token, TokenError> {
        match std::env::var(TOKEN_ENV) {
            Ok(v) => Self::checked(v, TOKEN_ENV),
            Err(std::env::VarError::NotPresent) => Err(TokenError::Missing),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::NotOneWord {
                source_name: TOKEN_ENV.to_string(),
            }),
        }
    }

    /// Reads the token from a file (trimmed). The warnings say what is unsafe or odd about the
    /// file (group or world readable) or the token (not shaped like a Conduit API token); they
    /// never quote the token.
    pub fn from_file(path: &Path) -> Result<(Token, Vec<String>), TokenError> {
        let io = |e: std::io::Error| TokenError::Io {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| TokenError::NotOneWord {
            source_name: path.display().to_string(),
        })?;
        let mut warnings = Vec::new();
        if let Some(w) = permission_warning(path, "token file") {
            warnings.push(w);
        }
        let token = Self::checked(text, &path.display().to_string())?;
        if !looks_like_token(token.expose()) {
            warnings.push(format!(
                "the token in {} does not look like a Conduit API token (api-… 32 characters)",
                path.display()
            ));
        }
        Ok((token, warnings))
    }

    fn checked(raw: String, source_name: &str) -> Result<Token, TokenError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(TokenError::Empty {
                source_name: source_name.to_string(),
            });
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TokenError::NotOneWord {
                source_name: source_name.to_string(),
            });
        }
        Ok(Token::new(t.to_string()))
    }

    /// The token text, for the one place that sends it (the request body).
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Whether `t` has the shape of a Conduit token (`api-`/`cli-`/`clr-`, 32 characters).
fn looks_like_token(t: &str) -> bool {
    t.len() == 32 && TOKEN_SHAPE.is_match(t)
}

/// A warning when a secret file (`what`: "token file", "session cookie file") is readable by
/// group or others.
#[cfg(unix)]
pub fn permission_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "the {what} {} is readable by group or others (mode {:04o}); run chmod 600 on it",
            path.display(),
            mode & 0o7777
        )
    })
}

/// A warning when a secret file is readable by group or others (never on this platform).
#[cfg(not(unix))]
pub fn permission_warning(_path: &Path, _what: &str) -> Option<String> {
    None
}

/// Reads the Phorge web session cookie from a file (trimmed): the `phsid` value, or
/// `phsid=…` as copied from a browser. The warnings say whether the file is readable by group
/// or others, as for the token file; no text quotes the cookie.
pub fn session_cookie_from_file(path: &Path) -> Result<(String, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the session cookie file {}: {e}",
            path.display()
        )
    })?;
    let cookie = text.trim();
    if cookie.is_empty() {
        return Err(format!(
            "the session cookie file {} is empty",
            path.display()
        ));
    }
    if cookie.chars().any(|c| c.is_control()) {
        return Err(format!(
            "the session cookie file {} holds more than one line",
            path.display()
        ));
    }
    let warnings = permission_warning(path, "session cookie file")
        .into_iter()
        .collect();
    Ok((cookie.to_string(), warnings))
}

/// Replaces `token`, and anything shaped like a Conduit token, by `api-***`.
pub fn redact(text: &str, token: &Token) -> String {
    let exact = token.expose();
    let text = if exact.is_empty() {
        text.to_string()
    } else {
        text.replace(exact, REDACTED)
    };
    TOKEN_SHAPE.replace_all(&text, REDACTED).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "api-abcdefghijklmnopqrstuvwxyz12";

    #[test]
    fn debug_hides_the_token() {
        let t = Token::new(T.to_string());
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(!format!("{:?}", Some(t)).contains("abcdef"));
    }

    #[test]
    fn redact_removes_the_exact_token_and_token_shapes() {
        let t = Token::new("garbage".to_string());
        let s = redact(
            "API token \"garbage\" bad; other api-thisisnotavalidtoken00000000 too",
            &t,
        );
        assert_eq!(s, "API token \"api-***\" bad; other api-*** too");
        let t = Token::new(T.to_string());
        assert_eq!(redact(&format!("x{T}y"), &t), "xapi-***y");
        // Shorter or longer alphanumerics after api- are not token shaped.
        assert_eq!(redact("api-short", &t), "api-short");
    }

    #[test]
    fn file_is_trimmed_and_loose_modes_warn() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, format!("  {T}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            let (t, w) = Token::from_file(&p).unwrap();
            assert_eq!(t.expose(), T);
            assert!(w.is_empty(), "{w:?}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (_, w) = Token::from_file(&p).unwrap();
            assert_eq!(w.len(), 1);
            assert!(w[0].contains("readable by group or others"), "{w:?}");
            assert!(!w[0].contains(T));
        }
        std::fs::write(&p, "short\n").unwrap();
        let (_, w) = Token::from_file(&p).unwrap();
        assert!(w.iter().any(|w| w.contains("does not look like")), "{w:?}");
    }

    #[test]
    fn session_cookie_files_are_trimmed_checked_and_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cookie");
        std::fs::write(&p, "phsid=secretvalue\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            let (c, w) = session_cookie_from_file(&p).unwrap();
            assert_eq!(c, "phsid=secretvalue");
            assert!(w.is_empty(), "{w:?}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
            let (_, w) = session_cookie_from_file(&p).unwrap();
            assert_eq!(w.len(), 1);
            assert!(
                w[0].contains("session cookie file")
                    && w[0].contains("readable by group or others"),
                "{w:?}"
            );
            assert!(!w[0].contains("secretvalue"));
        }
        for bad in ["", " \n", "phsid=a\nphsid=b"] {
            std::fs::write(&p, bad).unwrap();
            let e = session_cookie_from_file(&p).unwrap_err();
            assert!(!e.contains("phsid=a"), "{e}");
        }
        assert!(session_cookie_from_file(&dir.path().join("missing"))
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn bad_files_are_errors_without_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, " \n").unwrap();
        assert!(matches!(
            Token::from_file(&p),
            Err(TokenError::Empty { .. })
        ));
        std::fs::write(&p, format!("{T} {T}")).unwrap();
        let e = Token::from_file(&p).unwrap_err();
        assert!(matches!(e, TokenError::NotOneWord { .. }));
        assert!(!e.to_string().contains(T));
        let e = Token::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, TokenError::Io { .. }), "{e}");
    }
}
