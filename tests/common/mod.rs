//! Shared test helpers: a simulator started in-process from a scenario file, and a bot
//! (real client, real SQLite file, real poller) pointed at it with a settable clock.
#![allow(dead_code)]

pub mod facts;
pub mod guard;
pub mod snap;

use accessbot::bot::{Bot, BotBuilder};
use accessbot::conduit::{Client, ClientOptions, Token};
use accessbot::poller::Clock;
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

    /// Starts the simulator at the scenario's own `now`. `source` is the scenario's TOML
    /// itself (anything with a line break), or a file: a name under `tests/scenarios/` or a
    /// path.
    pub async fn from_scenario(source: &str) -> World {
        let sc = if source.contains('\n') {
            Scenario::from_toml(source).expect("scenario loads")
        } else {
            load_scenario(source)
        };
        let now = sc.now.to_rfc3339();
        Self::start_scenario(sc, &now, SimOptions::default()).await
    }

    /// Starts the simulator on a scenario built or changed by the test.
    pub async fn start_scenario(sc: Scenario, now: &str, mut opts: SimOptions) -> World {
        let guard = guard::Guard::start();
        let token = accessbot::bot::scenario_token(&sc).expect("the scenario's bot token");
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

    /// The bot's builder on this world: the simulator, the bot's token, the rules, the
    /// database, the clock, four tasks at once and a client with fast retries. A test changes
    /// what it is about (`.dry_run(true)`, `.with_client(…)`, `.rules(…)`) and builds.
    pub fn builder(&self) -> BotBuilder {
        Bot::builder()
            .url(self.sim.url())
            .token(Token::new(self.token.clone()))
            .client_options(ClientOptions {
                timeout: Duration::from_secs(5),
                retries: 4,
                backoff_base: Duration::from_millis(5),
                backoff_max: Duration::from_millis(50),
                session_cookie: None,
                max_in_flight: 8,
            })
            .rules(self.rules.clone())
            .db(self.db())
            .clock(self.clock.clone())
            .concurrency(4)
    }

    /// A client for the bot, with fast retries (the one [`Self::builder`] makes).
    pub fn client(&self) -> Client {
        self.builder().client().unwrap()
    }

    /// A fresh bot process equivalent: new client, caches and store connection.
    pub async fn bot(&self) -> Bot {
        self.builder().build().await.unwrap()
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

    /// The real binary's command line against this world (see [`Bin`]): `cmd` after the
    /// global flags.
    pub fn bin(&self, cmd: &[&str]) -> Bin {
        Bin {
            url: Some(self.sim.url()),
            rules: Some(root().join("rules")),
            db: Some(self.db()),
            now: Some(
                self.clock
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            flags: Vec::new(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            env: vec![("ACCESSBOT_TOKEN".into(), self.token.clone())],
            cwd: self.dir.path().to_path_buf(),
        }
    }

    /// Runs the real binary against this world as of its clock; returns (code, stdout, stderr).
    pub async fn cli(&self, cmd: &[&str]) -> (i32, String, String) {
        self.bin(cmd).output().await
    }

    /// [`Self::cli`] as of `now`.
    pub async fn run_cli(&self, now: &str, cmd: &[&str]) -> (i32, String, String) {
        self.bin(cmd).now(now).output().await
    }

    /// [`Self::cli`] as of `now` with another rules directory.
    pub async fn run_cli_rules(
        &self,
        rules: &Path,
        now: &str,
        cmd: &[&str],
    ) -> (i32, String, String) {
        self.bin(cmd).rules(rules).now(now).output().await
    }
}

/// A command line of the real binary against a [`World`]: `--phab-url` the simulator,
/// `--rules` the bundled rules, `--db` the world's database, `--now` the world's clock, the
/// bot's token in `ACCESSBOT_TOKEN`, the world's temp dir as the working directory. A test
/// changes or leaves out what it is about, then runs it ([`Bin::output`]) or spawns it
/// ([`Bin::command`]).
pub struct Bin {
    url: Option<String>,
    rules: Option<PathBuf>,
    db: Option<PathBuf>,
    now: Option<String>,
    flags: Vec<String>,
    cmd: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
}

impl Bin {
    /// Another `--phab-url`.
    pub fn url(mut self, url: &str) -> Bin {
        self.url = Some(url.into());
        self
    }

    /// Another rules directory.
    pub fn rules(mut self, dir: &Path) -> Bin {
        self.rules = Some(dir.to_path_buf());
        self
    }

    /// Another database.
    pub fn db(mut self, path: &Path) -> Bin {
        self.db = Some(path.to_path_buf());
        self
    }

    /// As of `now` instead of the world's clock.
    pub fn now(mut self, now: &str) -> Bin {
        self.now = Some(now.into());
        self
    }

    /// Leaves out a global flag (`--phab-url`, `--rules`, `--db` or `--now`): the binary's
    /// default or configuration applies.
    pub fn without(mut self, flag: &str) -> Bin {
        match flag {
            "--phab-url" => self.url = None,
            "--rules" => self.rules = None,
            "--db" => self.db = None,
            "--now" => self.now = None,
            other => panic!("no global flag {other} to leave out"),
        }
        self
    }

    /// More global flags (before the command), e.g. `["--log-format", "json"]`.
    pub fn flags(mut self, flags: &[&str]) -> Bin {
        self.flags.extend(flags.iter().map(|s| s.to_string()));
        self
    }

    /// Another token in `ACCESSBOT_TOKEN`, or none.
    pub fn token(mut self, token: Option<&str>) -> Bin {
        self.env.retain(|(k, _)| k != "ACCESSBOT_TOKEN");
        if let Some(t) = token {
            self.env.push(("ACCESSBOT_TOKEN".into(), t.into()));
        }
        self
    }

    /// An environment variable (e.g. `RUST_LOG`).
    pub fn env(mut self, key: &str, value: &str) -> Bin {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Another working directory.
    pub fn cwd(mut self, dir: &Path) -> Bin {
        self.cwd = dir.to_path_buf();
        self
    }

    /// The whole argument list.
    pub fn args(&self) -> Vec<String> {
        let path = |p: &PathBuf| p.to_str().expect("UTF-8 path").to_string();
        let mut args = Vec::new();
        let flags = [
            ("--phab-url", self.url.clone()),
            ("--rules", self.rules.as_ref().map(path)),
            ("--db", self.db.as_ref().map(path)),
            ("--now", self.now.clone()),
        ];
        for (flag, value) in flags {
            if let Some(v) = value {
                args.extend([flag.to_string(), v]);
            }
        }
        args.extend(self.flags.iter().cloned());
        args.extend(self.cmd.iter().cloned());
        args
    }

    /// The process to spawn (output not captured: the caller sets stdout and stderr).
    pub fn command(&self) -> std::process::Command {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        bin_command(&self.args(), &env, &self.cwd)
    }

    /// Runs it to the end, off the runtime's thread; returns (code, stdout, stderr).
    pub async fn output(self) -> (i32, String, String) {
        let command = self.command();
        tokio::task::spawn_blocking(move || output_of(command))
            .await
            .expect("the binary's thread")
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

/// The real binary with the arguments and environment (nothing inherited that could change
/// its behaviour: token, URL, configuration file, log level, systemd's variables), in `cwd`.
pub fn bin_command(
    args: &[impl AsRef<std::ffi::OsStr>],
    env: &[(&str, &str)],
    cwd: &Path,
) -> std::process::Command {
    let mut command = std::process::Command::new(bin());
    command
        .args(args)
        .env_remove("ACCESSBOT_TOKEN")
        .env_remove("ACCESSBOT_PHAB_URL")
        .env_remove("ACCESSBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .current_dir(cwd);
    command
}

/// Runs a command to the end; returns (code, stdout, stderr).
fn output_of(mut command: std::process::Command) -> (i32, String, String) {
    let out = command.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the real binary with the arguments and environment (see [`bin_command`]); returns
/// (code, stdout, stderr).
pub fn run_bin(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> (i32, String, String) {
    output_of(bin_command(args, env, cwd))
}

/// [`run_bin`] from async tests, without blocking the runtime the simulator runs on.
pub async fn run_bin_async(
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> (i32, String, String) {
    let command = bin_command(args, env, cwd);
    tokio::task::spawn_blocking(move || output_of(command))
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
