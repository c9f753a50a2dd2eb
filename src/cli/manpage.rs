//! Each subcommand's long help and man page: what it does, its options, environment, files
//! and exit codes (`accessbot manpage`).

use super::*;

/// What each command's help and man page say beyond its flags.
pub(super) struct Page {
    /// The subcommand (`rules check` is under `rules`).
    pub(super) name: &'static str,
    /// The global options that apply to it (the others are accepted and hidden).
    pub(super) globals: &'static [&'static str],
    /// Examples, shown after the options.
    pub(super) examples: &'static str,
    /// EXIT STATUS: code and meaning.
    pub(super) exit: &'static [(&'static str, &'static str)],
}

/// Every global option.
pub(super) const ALL: &[&str] = &[
    "config",
    "phab_url",
    "token_file",
    "db",
    "rules",
    "now",
    "log_format",
    "color",
];

const OK_OR_ERROR: &[(&str, &str)] = &[("0", "success"), ("1", "an error, printed on one line")];

pub(super) const PAGES: &[Page] = &[
    Page {
        name: "run",
        globals: ALL,
        examples: "Examples:
  accessbot --config /etc/accessbot/accessbot.toml run
  accessbot --phab-url https://phabricator.example.org --token-file token run --dry-run --once
  accessbot --config accessbot.toml run --listen 127.0.0.1:9464 --interval 120

A second `run` on the same database refuses to start. SIGTERM or Ctrl-C stop the bot after
the task in hand. With --listen, GET /metrics and GET /healthz (200 while the last
successful cycle is newer than three intervals, else 503). Under systemd (Type=notify) it
sends READY=1 after start-up, WATCHDOG=1 while cycles progress and STOPPING=1 on shutdown.",
        exit: &[
            ("0", "stopped cleanly (SIGTERM, Ctrl-C), or --once ran its cycle"),
            (
                "1",
                "an error: configuration, rules, token, a refused token, a database that cannot be opened, another run holding the lock",
            ),
        ],
    },
    Page {
        name: "check",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token check T123
  accessbot check https://phabricator.example.org/T123 --json | jq .verdict
  accessbot check 123 && echo ready to grant",
        exit: &[
            ("0", "the request is ready to grant"),
            ("3", "it is not (waiting, blocked, declined, closed, untagged, not a request)"),
            ("1", "an error: the task cannot be read, no token, bad rules"),
        ],
    },
    Page {
        name: "explain",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token explain T123
  accessbot explain T123 --json | jq '.comments[] | select(.counted | not)'",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "grant-patch",
        globals: ALL,
        examples: "Examples:
  accessbot --token-file token grant-patch T123
  accessbot grant-patch T123 --data-yaml ~/puppet/modules/admin/data/data.yaml",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "parse",
        globals: &["config", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot parse request.txt
  xclip -o | accessbot parse - --json

The input is capped at 1 MiB; binary input (NUL bytes, or mostly invalid UTF-8) is refused.
A key in a paste (P123) cannot be read offline and is reported as a problem.",
        exit: &[
            ("0", "the request is complete and its key acceptable"),
            ("3", "it has problems (listed)"),
            ("1", "an error: unreadable, binary or oversized input, bad rules"),
        ],
    },
    Page {
        name: "key",
        globals: &["config", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot key ~/.ssh/id_ed25519.pub
  ssh-add -L | head -1 | accessbot key - --json

A pasted private key is reported as compromised and never echoed. The input is capped at
1 MiB.",
        exit: &[
            ("0", "the key is acceptable"),
            ("2", "it is refused (the reasons are printed)"),
            ("1", "an error: unreadable, binary or oversized input, no key, bad rules"),
        ],
    },
    Page {
        name: "status",
        globals: &["config", "phab_url", "db", "now", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db status
  accessbot status --json | jq '.[] | select(.verdict == \"ready\") | .task'

Opens the database read-only: it works beside the running bot and without write access.
With --phab-url (or the configuration file) tasks are shown as links.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "agenda",
        globals: &["config", "phab_url", "db", "rules", "now", "log_format", "color"],
        examples: "Examples:
  accessbot agenda
  accessbot agenda --meeting 2026-11-16 --format wikitext

Opens the database read-only.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "expiring",
        globals: &["config", "db", "rules", "now", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db expiring
  accessbot expiring --within 60 --json | jq '.[] | select(.state != \"expiring\")'

Lists granted requests whose access expires within DAYS (state `expiring`), and those whose
expiry date has passed while their access is still in data.yaml (`expired`), or while
data.yaml is not configured or cannot be read (`expired-unverified`). Opens the database
read-only; reads the rules' data.yaml.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "log",
        globals: &["config", "db", "log_format", "color"],
        examples: "Examples:
  accessbot --db /var/lib/accessbot/accessbot.db log T123
  accessbot log https://phabricator.example.org/T123 --json

Opens the database read-only.",
        exit: &[
            ("0", "the log was printed"),
            ("1", "an error, e.g. the task is not in the database"),
        ],
    },
    Page {
        name: "rules",
        globals: &["config", "phab_url", "token_file", "rules", "log_format", "color"],
        examples: "Examples:
  accessbot rules check rules/
  accessbot --config /etc/accessbot/accessbot.toml rules check --live",
        exit: &[
            ("0", "the rules are valid (and, with --live, every name exists on the server)"),
            ("1", "they are not; each problem names its file, line and key"),
        ],
    },
    Page {
        name: "sim",
        globals: &["now", "log_format", "color"],
        examples: "Examples:
  accessbot sim --scenario tests/scenarios/demo.toml --listen 127.0.0.1:0
  accessbot sim --scenario s.toml --faults 5xx=0.1,timeout=0.05 --seed 7

The first line of standard output is `listening on http://ADDR`.",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "demo",
        globals: &["log_format", "color"],
        examples: "Examples:
  accessbot demo",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "completions",
        globals: &[],
        examples: "Examples:
  accessbot completions bash > /etc/bash_completion.d/accessbot",
        exit: OK_OR_ERROR,
    },
    Page {
        name: "manpage",
        globals: &[],
        examples: "Examples:
  accessbot manpage | man -l -
  accessbot manpage run | man -l -
  accessbot manpage --dir /usr/local/share/man/man1",
        exit: OK_OR_ERROR,
    },
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("ACCESSBOT_PHAB_URL", "the Phabricator base URL (--phab-url)"),
    (
        "ACCESSBOT_TOKEN",
        "the Conduit API token, unless --token-file is given; never logged",
    ),
    ("ACCESSBOT_CONFIG", "the configuration file (--config)"),
    (
        "RUST_LOG",
        "the log filter; default warn,accessbot=info; a bare level (debug) applies to accessbot only, name a dependency to raise it (debug,sqlx=debug)",
    ),
    (
        "NO_COLOR",
        "when set and not empty, no colour in logs (--color auto)",
    ),
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC",
        "set by systemd for Type=notify: run sends READY, WATCHDOG, STOPPING and STATUS",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "accessbot.db, accessbot.db.lock",
        "the SQLite database (--db) and the lock held by the one running `run`",
    ),
    (
        "rules/policy.toml, rules/groups.toml, rules/phrases.toml",
        "the policy, the groups and the phrases (--rules; phrases.toml is optional)",
    ),
    (
        "/etc/accessbot/accessbot.toml",
        "the configuration file of the service (--config); see contrib/README.md",
    ),
    (
        "/etc/accessbot/token",
        "the Conduit API token of the service, handed over as a systemd credential",
    ),
];

pub(super) fn page(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}

/// `manpage`: accessbot's page, one command's, or every page into a directory.
pub(super) fn cmd_manpage(name: Option<&str>, dir: Option<&Path>) -> anyhow::Result<u8> {
    let cmd = command();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let mut pages = vec![("accessbot".to_string(), manpage(&cmd, None)?)];
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            pages.push((
                format!("accessbot-{}", sub.get_name()),
                manpage(sub, page(sub.get_name()))?,
            ));
        }
        for (file, text) in pages {
            let path = dir.join(format!("{file}.1"));
            std::fs::write(&path, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            println!("{}", path.display());
        }
        return Ok(0);
    }
    let text = match name {
        None => manpage(&cmd, None)?,
        Some(n) => {
            let sub = cmd.find_subcommand(n).ok_or_else(|| {
                anyhow::anyhow!("no command {n:?} (see accessbot --help for the commands)")
            })?;
            manpage(sub, page(n))?
        }
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

/// One man page: clap's sections, then EXIT STATUS, ENVIRONMENT and FILES.
pub(super) fn manpage(cmd: &clap::Command, page: Option<&Page>) -> anyhow::Result<String> {
    use roff::{bold, roman, Roff};
    let name = match page {
        Some(p) => format!("accessbot-{}", p.name),
        None => "accessbot".to_string(),
    };
    let man = clap_mangen::Man::new(cmd.clone()).title(name.clone());
    let mut out = Vec::new();
    man.render(&mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    let mut extra = Roff::new();
    extra.control("SH", ["EXIT STATUS"]);
    let exit: Vec<(&str, &str)> = match page {
        Some(p) => p.exit.to_vec(),
        None => vec![
            (
                "0",
                "success (check: ready; parse: complete; key: acceptable)",
            ),
            ("1", "an error, printed on one line"),
            ("2", "key: the key is refused"),
            ("3", "check: not ready; parse: the request has problems"),
        ],
    };
    for (code, meaning) in exit {
        extra
            .control("TP", [])
            .text([bold(code)])
            .text([roman(meaning)]);
    }
    extra.control("SH", ["ENVIRONMENT"]);
    for (var, meaning) in ENVIRONMENT {
        extra
            .control("TP", [])
            .text([bold(*var)])
            .text([roman(*meaning)]);
    }
    extra.control("SH", ["FILES"]);
    for (file, meaning) in FILES {
        extra
            .control("TP", [])
            .text([bold(*file)])
            .text([roman(*meaning)]);
    }
    let extra = extra.to_roff();
    match text.find("\n.SH VERSION") {
        Some(i) => text.insert_str(i + 1, &extra),
        None => text.push_str(&extra),
    }
    Ok(text)
}
