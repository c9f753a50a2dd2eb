//! The optional configuration file (`--config PATH` or `ACCESSBOT_CONFIG`): a TOML file holding
//! what the global flags and `run`'s flags hold, so that a service does not repeat them on its
//! command line.
//!
//! Precedence: a flag, then its environment variable, then the file, then the built-in
//! default. Relative paths in the file resolve against the file's directory. Unknown keys are
//! refused with the file, the line and the key. The API token itself never goes in the file
//! (only `token_file`): a `token` key is refused without its value being shown.

use crate::logging::{ColorChoice, LogFormat};
use crate::rules::RulesError;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The keys of the configuration file (see the module header and `contrib/accessbot.toml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `--phab-url`.
    pub phab_url: Option<String>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--db`.
    pub db: Option<PathBuf>,
    /// `--rules`.
    pub rules: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
    /// `--color`.
    pub color: Option<ColorChoice>,
    /// `run --listen`.
    pub listen: Option<SocketAddr>,
    /// `run --interval`.
    pub interval: Option<u64>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            file: path.to_path_buf(),
            line: None,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Self::from_text(path, &text)
    }

    /// Validates a configuration given as text (`path` names it in errors and anchors
    /// relative paths).
    pub fn from_text(path: &Path, text: &str) -> Result<Config, RulesError> {
        if let Some(line) = token_line(text) {
            return Err(RulesError {
                file: path.to_path_buf(),
                line: Some(line),
                key: "token".into(),
                message: "the API token never goes in the configuration file: put it in a file \
                          readable only by the bot and name that file with token_file"
                    .into(),
            });
        }
        let mut c: Config = crate::rules::de(path, text)?;
        if c.interval == Some(0) {
            return Err(RulesError {
                file: path.to_path_buf(),
                line: crate::rules::locate(text, "interval"),
                key: "interval".into(),
                message: "must be at least 1 (seconds)".into(),
            });
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.token_file, &mut c.db, &mut c.rules]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(c)
    }
}

/// The line of a top-level `token = …` key, if any (checked before parsing, so that the
/// parser's message cannot quote the value).
fn token_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == "token")
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_reads_and_paths_resolve_beside_it() {
        let c = Config::from_text(
            Path::new("/etc/accessbot/accessbot.toml"),
            r#"
phab_url = "https://phabricator.wikimedia.org"
token_file = "token"
db = "/var/lib/accessbot/accessbot.db"
rules = "rules"
log_format = "json"
color = "never"
listen = "127.0.0.1:9464"
interval = 120
"#,
        )
        .unwrap();
        assert_eq!(
            c.phab_url.as_deref(),
            Some("https://phabricator.wikimedia.org")
        );
        assert_eq!(c.token_file, Some(PathBuf::from("/etc/accessbot/token")));
        assert_eq!(c.db, Some(PathBuf::from("/var/lib/accessbot/accessbot.db")));
        assert_eq!(c.rules, Some(PathBuf::from("/etc/accessbot/rules")));
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(c.color, Some(ColorChoice::Never));
        assert_eq!(c.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.interval, Some(120));
        assert_eq!(
            Config::from_text(Path::new("c.toml"), "").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_keys_and_tokens_are_refused_with_file_line_and_key() {
        let p = Path::new("/etc/accessbot/accessbot.toml");
        let e = Config::from_text(p, "db = \"a.db\"\nphab_ur = \"https://x\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert_eq!(e.key, "phab_ur", "{e}");
        assert!(
            e.to_string().starts_with("/etc/accessbot/accessbot.toml:2"),
            "{e}"
        );

        let e = Config::from_text(p, "db = \"a\"\ntoken = \"api-secretsecret\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(2), "token"));
        assert!(!e.to_string().contains("api-secret"), "{e}");

        let e = Config::from_text(p, "interval = 0\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(1), "interval"));
        let e = Config::from_text(p, "color = \"sometimes\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(1), "color"), "{e}");
    }
}
