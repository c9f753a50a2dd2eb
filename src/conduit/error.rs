//! `ConduitError`: every way a Conduit call can fail, as one line fit for an operator, never
//! holding the token, and whether trying again later may help.

/// A failed Conduit call (or task-page fetch). `method` is the Conduit method name, or
/// `task-page` for the web page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConduitError {
    /// Conduit answered with an `error_code` (HTTP 200). `info` is always redacted.
    #[error("{method}: {} ({code}){}", summary(code), info_suffix(info))]
    Conduit {
        /// The method.
        method: String,
        /// The error code, e.g. `ERR-INVALID-AUTH`.
        code: String,
        /// The server's explanation, with any token replaced by `api-***`.
        info: String,
    },
    /// The answer was not HTTP 2xx (rate limit, proxy or web-server error).
    #[error("{method}: the server answered HTTP {status}{}", http_hint(*status))]
    Http {
        /// The method.
        method: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The request did not get an answer (connection refused, DNS, TLS, reset, …).
    #[error("{method}: cannot reach the server: {detail}")]
    Network {
        /// The method.
        method: String,
        /// What went wrong (redacted).
        detail: String,
    },
    /// No complete answer within the configured timeout.
    #[error("{method}: no answer from the server within the timeout")]
    Timeout {
        /// The method.
        method: String,
    },
    /// The answer was not the JSON shape the method returns, or paging went wrong.
    #[error("{method}: unexpected answer from the server: {detail}")]
    Malformed {
        /// The method.
        method: String,
        /// What was wrong with it (never the body itself).
        detail: String,
    },
    /// The answer was larger than the client's size cap
    /// ([`super::Client::set_max_body_bytes`]); reading it again gives the same.
    #[error("{method}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// The method.
        method: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer is JSON, but its result does not have the shape the method documents (a
    /// server in trouble may answer so for a while: it is retried like a cut answer).
    #[error("{method}: the answer does not have the shape the method documents: {detail}")]
    Shape {
        /// The method.
        method: String,
        /// Where (never the values it holds: they may be anyone's text).
        detail: String,
    },
    /// The client was set up or called wrongly (bad URL, bad method name, bad arguments).
    #[error("conduit client: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
}

impl ConduitError {
    /// Whether trying again later may succeed: network errors, timeouts, HTTP 5xx and 429,
    /// malformed answers (cut, garbled or of the wrong shape). Conduit error codes,
    /// configuration errors and answers over the size cap are final.
    pub fn is_transient(&self) -> bool {
        match self {
            ConduitError::Network { .. }
            | ConduitError::Timeout { .. }
            | ConduitError::Malformed { .. }
            | ConduitError::Shape { .. } => true,
            ConduitError::Http { status, .. } => *status >= 500 || *status == 429,
            ConduitError::Conduit { .. }
            | ConduitError::Config { .. }
            | ConduitError::TooLarge { .. } => false,
        }
    }

    /// A short, stable name of the way the call failed, for metrics: `conduit-error`,
    /// `http-error`, `network-error`, `timeout`, `malformed`, `too-large`, `shape`, `config-error`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConduitError::Conduit { .. } => "conduit-error",
            ConduitError::Http { .. } => "http-error",
            ConduitError::Network { .. } => "network-error",
            ConduitError::Timeout { .. } => "timeout",
            ConduitError::Malformed { .. } => "malformed",
            ConduitError::TooLarge { .. } => "too-large",
            ConduitError::Shape { .. } => "shape",
            ConduitError::Config { .. } => "config-error",
        }
    }

    /// Whether the answer came whole and cannot be used as it is (over the size cap, or of
    /// the wrong shape once retries are spent): what it is about cannot be read until it
    /// changes.
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            ConduitError::TooLarge { .. } | ConduitError::Shape { .. }
        )
    }

    /// The Conduit error code, if Conduit refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            ConduitError::Conduit { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the token was refused or missing (`ERR-INVALID-AUTH`, `ERR-INVALID-SESSION`).
    pub fn is_auth(&self) -> bool {
        matches!(
            self.code(),
            Some("ERR-INVALID-AUTH" | "ERR-INVALID-SESSION")
        )
    }
}

/// A short human summary of well-known codes.
fn summary(code: &str) -> &'static str {
    match code {
        "ERR-INVALID-AUTH" => "Conduit refused the API token",
        "ERR-INVALID-SESSION" => "no API token reached Conduit",
        "ERR-OAUTH-ACCESS" => "the token may not call this method",
        "ERR-CONDUIT-CALL" => "Conduit rejected the call (unknown method or parameter)",
        "ERR-INVALID-CONSTRAINT" => "Conduit rejected a search constraint",
        "ERR-INVALID-ATTACHMENT" => "Conduit rejected a search attachment",
        "ERR-INVALID-PAGE-SIZE" => "Conduit rejected the page size",
        "ERR-INVALID-OBJECT-PHID" => "no such object",
        "ERR-CONDUIT-CORE" => "Conduit refused the call",
        _ => "Conduit error",
    }
}

/// `: info` on one line, shortened, or nothing when there is no info.
fn info_suffix(info: &str) -> String {
    const MAX: usize = 300;
    let one_line: String = info
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX + 1)
        .collect();
    if one_line.is_empty() {
        String::new()
    } else if one_line.chars().count() > MAX {
        format!(": {}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        format!(": {one_line}")
    }
}

fn http_hint(status: u16) -> &'static str {
    match status {
        429 => " (rate limited)",
        500..=599 => " (server error)",
        300..=399 => " (redirect; check the URL)",
        401 | 403 => " (access denied by the web server)",
        404 => " (not found; check the URL)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_clear_line() {
        let e = ConduitError::Conduit {
            method: "user.whoami".into(),
            code: "ERR-INVALID-AUTH".into(),
            info: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "user.whoami: Conduit refused the API token (ERR-INVALID-AUTH)"
        );
        let e = ConduitError::Conduit {
            method: "maniphest.search".into(),
            code: "ERR-X".into(),
            info: "line one\nline two".into(),
        };
        assert_eq!(
            e.to_string(),
            "maniphest.search: Conduit error (ERR-X): line one line two"
        );
        let e = ConduitError::Http {
            method: "conduit.ping".into(),
            status: 503,
        };
        assert_eq!(
            e.to_string(),
            "conduit.ping: the server answered HTTP 503 (server error)"
        );
    }

    #[test]
    fn transient_classification() {
        let m = || "m".to_string();
        assert!(ConduitError::Timeout { method: m() }.is_transient());
        assert!(ConduitError::Network {
            method: m(),
            detail: m()
        }
        .is_transient());
        assert!(ConduitError::Malformed {
            method: m(),
            detail: m()
        }
        .is_transient());
        assert!(ConduitError::Http {
            method: m(),
            status: 502
        }
        .is_transient());
        assert!(ConduitError::Http {
            method: m(),
            status: 429
        }
        .is_transient());
        assert!(!ConduitError::Http {
            method: m(),
            status: 404
        }
        .is_transient());
        let auth = ConduitError::Conduit {
            method: m(),
            code: "ERR-INVALID-AUTH".into(),
            info: m(),
        };
        assert!(!auth.is_transient());
        assert!(auth.is_auth());
        assert!(!ConduitError::Config { detail: m() }.is_transient());
        // An answer over the cap is the same again: not retried. One of the wrong shape is
        // retried; both mean the object cannot be read.
        let large = ConduitError::TooLarge {
            method: m(),
            limit: 10,
        };
        assert!(!large.is_transient() && large.is_unreadable(), "{large}");
        let shape = ConduitError::Shape {
            method: m(),
            detail: m(),
        };
        assert!(shape.is_transient() && shape.is_unreadable(), "{shape}");
        assert!(!ConduitError::Timeout { method: m() }.is_unreadable());
    }

    #[test]
    fn long_info_is_shortened() {
        let e = ConduitError::Conduit {
            method: "m".into(),
            code: "C".into(),
            info: "x".repeat(1000),
        };
        assert!(e.to_string().chars().count() < 400);
        assert!(e.to_string().ends_with('…'));
    }
}
