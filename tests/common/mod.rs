//! Shared test helpers: a simulator started in-process from a scenario file, and a bot
//! (real client, real SQLite file, real poller) pointed at it with a settable clock.
#![allow(dead_code)]

pub mod facts;
pub mod guard;
pub mod snap;

use accessbot::conduit::{Client, ClientOptions, Token};
use accessbot::evidence::EvidenceSource;
use accessbot::poller::{Clock, Poller, PollerOptions};
use accessbot::rules::Rules;
use accessbot::sim::{self, Scenario, SimHandle, SimOptions};
use accessbot::store::Store;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// The bundled rules.
pub fn rules() -> Arc<Rules> {
    Arc::new(Rules::load(&root().join("rules")).expect("bundled rules"))
}

/// The bundled rules without the post limit of a cycle (`[effects] max_posts_per_cycle`):
/// for tests of a whole sync in one cycle, not of the limit.
pub fn rules_uncapped() -> Arc<Rules> {
    let mut r = (*rules()).clone();
    r.effects.max_posts_per_cycle = 100_000;
    Arc::new(r)
}

/// Edits a policy.toml to lift the post limit of a cycle (see [`rules_uncapped`]).
pub fn uncapped(policy: String) -> String {
    policy.replace("max_posts_per_cycle = 20", "max_posts_per_cycle = 100000")
}

/// A scenario under `tests/scenarios/`.
pub fn load_scenario(name: &str) -> Scenario {
    let path = root().join("tests/scenarios").join(name);
    Scenario::from_file(&path).expect("scenario loads")
}

/// A simulator and a bot sharing one clock.
pub struct World {
    /// The simulator.
    pub sim: SimHandle,
    /// Holds the database.
    pub dir: tempfile::TempDir,
    /// The rules.
    pub rules: Arc<Rules>,
    /// The bot's clock.
    pub clock: Clock,
    /// The bot's token.
    pub token: String,
    /// Aborts a test that hangs, with its name ([`guard`]).
    pub guard: guard::Guard,
}

impl World {
    /// Starts the simulator on a scenario under `tests/scenarios/` at `now`.
    pub async fn start(scenario: &str, now: &str) -> World {
        Self::start_with(scenario, now, SimOptions::default()).await
    }

    /// Same, with simulator options (faults, latency).
    pub async fn start_with(scenario: &str, now: &str, opts: SimOptions) -> World {
        Self::start_scenario(load_scenario(scenario), now, opts).await
    }

    /// Starts the simulator on a scenario built or changed by the test.
    pub async fn start_scenario(sc: Scenario, now: &str, mut opts: SimOptions) -> World {
        let guard = guard::Guard::start();
        let token = sc
            .users
            .iter()
            .find(|u| u.username == "accessbot")
            .and_then(|u| u.token.clone())
            .expect("the scenario has an accessbot user with a token");
        opts.now = Some(at(now));
        let sim = sim::start(sc, opts, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        World {
            sim,
            dir: tempfile::tempdir().unwrap(),
            rules: rules(),
            clock: Clock::fixed(at(now)),
            token,
            guard,
        }
    }

    /// The database path.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("accessbot.db")
    }

    /// Moves both clocks.
    pub fn set_now(&self, now: &str) {
        self.sim.set_now(at(now));
        self.clock.set(at(now));
    }

    /// A client for the bot, with fast retries.
    pub fn client(&self) -> Client {
        let opts = ClientOptions {
            timeout: Duration::from_secs(5),
            retries: 4,
            backoff_base: Duration::from_millis(5),
            backoff_max: Duration::from_millis(50),
            session_cookie: None,
            max_in_flight: 8,
        };
        Client::new(&self.sim.url(), Token::new(self.token.clone()), opts).unwrap()
    }

    /// A fresh bot process equivalent: new client, caches and store connection.
    pub async fn bot(&self) -> Poller {
        self.bot_with(false).await
    }

    /// A bot, optionally in dry-run.
    pub async fn bot_with(&self, dry_run: bool) -> Poller {
        self.bot_on(self.client(), dry_run).await
    }

    /// A bot that uses `client` (e.g. one with a lower size cap).
    pub async fn bot_on(&self, client: Client, dry_run: bool) -> Poller {
        let store = Store::open(&self.db()).await.unwrap();
        let src = EvidenceSource::connect(client, self.rules.clone())
            .await
            .unwrap();
        let opts = PollerOptions {
            dry_run,
            concurrency: 4,
            clock: self.clock.clone(),
        };
        Poller::new(src, store, self.rules.clone(), opts)
    }

    /// The texts the bot posted on a task, oldest first.
    pub fn comments(&self, task: u64) -> Vec<String> {
        self.sim
            .comments(task)
            .into_iter()
            .map(|c| c.text)
            .collect()
    }

    /// The store.
    pub async fn store(&self) -> Store {
        Store::open(&self.db()).await.unwrap()
    }

    /// Runs the real binary against this simulator with the bundled rules, this database and
    /// the bot's token, as of `now`; returns (code, stdout, stderr).
    pub async fn run_cli(&self, now: &str, cmd: &[&str]) -> (i32, String, String) {
        self.run_cli_rules(&root().join("rules"), now, cmd).await
    }

    /// [`Self::run_cli`] with another rules directory.
    pub async fn run_cli_rules(
        &self,
        rules: &Path,
        now: &str,
        cmd: &[&str],
    ) -> (i32, String, String) {
        let (url, db) = (self.sim.url(), self.db());
        let mut args = vec![
            "--phab-url",
            url.as_str(),
            "--rules",
            rules.to_str().expect("UTF-8 path"),
            "--db",
            db.to_str().expect("UTF-8 path"),
            "--now",
            now,
        ];
        args.extend_from_slice(cmd);
        let token = [("ACCESSBOT_TOKEN", self.token.as_str())];
        run_bin_async(&args, &token, self.dir.path()).await
    }
}

/// The binary under test, pinned: a hard link to `CARGO_BIN_EXE_accessbot` taken once, when
/// the test binary starts, so that a rebuild elsewhere that replaces `target/debug/accessbot`
/// while tests run cannot swap it (in CI it is simply the same file). `ACCESSBOT_TEST_BIN`
/// overrides the path.
pub fn bin() -> &'static Path {
    static PINNED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PINNED.get_or_init(|| {
        if let Some(p) = std::env::var_os("ACCESSBOT_TEST_BIN") {
            return PathBuf::from(p);
        }
        let original = PathBuf::from(env!("CARGO_BIN_EXE_accessbot"));
        let exe = std::env::current_exe().unwrap_or_default();
        let name = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pinned =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("accessbot-pinned-for-{name}"));
        let _ = std::fs::remove_file(&pinned);
        match std::fs::hard_link(&original, &pinned)
            .or_else(|_| std::fs::copy(&original, &pinned).map(|_| ()))
        {
            Ok(()) => pinned,
            Err(_) => original,
        }
    })
}

/// Runs the real binary with the arguments and environment (nothing inherited that could
/// change its behaviour: token, URL, log level); returns (code, stdout, stderr).
pub fn run_bin(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .env_remove("ACCESSBOT_TOKEN")
        .env_remove("ACCESSBOT_PHAB_URL")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .current_dir(cwd)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`run_bin`] from async tests, without blocking the runtime the simulator runs on.
pub async fn run_bin_async(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_bin(&args, &env, &cwd)
    })
    .await
    .expect("the binary's thread")
}

/// A copy of the bundled rules whose policy.toml is edited by `edit`.
pub fn rules_dir(edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["groups.toml", "phrases.toml"] {
        std::fs::copy(root().join("rules").join(f), dir.path().join(f)).unwrap();
    }
    let policy = std::fs::read_to_string(root().join("rules/policy.toml")).unwrap();
    std::fs::write(dir.path().join("policy.toml"), edit(policy)).unwrap();
    dir
}
