//! The one way to build the bot: [`Bot::builder`] wires the Conduit client, the evidence
//! source, the store and the poller from a URL, a token, the rules, a database path, a clock and
//! the run's options. `run`, `check`, the demo, the benchmarks and every test harness build the
//! bot here, so a new part of the wiring is added once.

use crate::clock::Clock;
use crate::conduit::{Client, ClientOptions, Token};
use crate::evidence::EvidenceSource;
use crate::poller::{CycleReport, Poller, PollerOptions};
use crate::rules::Rules;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;

/// The username of the bot's account in a simulator scenario (the user whose token the bot
/// uses; see design §8).
pub const SCENARIO_ACCOUNT: &str = "accessbot";

/// The token of the bot's account ([`SCENARIO_ACCOUNT`]) in a simulator scenario.
pub fn scenario_token(scenario: &crate::sim::Scenario) -> anyhow::Result<String> {
    scenario
        .users
        .iter()
        .find(|u| u.username == SCENARIO_ACCOUNT)
        .and_then(|u| u.token.clone())
        .ok_or_else(|| anyhow::anyhow!("the scenario has no {SCENARIO_ACCOUNT} user with a token"))
}

/// A wired bot: the client, the store and the poller that reads through the one and writes
/// to the other.
pub struct Bot {
    client: Client,
    store: Store,
    poller: Poller,
}

impl Bot {
    /// A builder with nothing set: the system clock, not a dry run, the rules' concurrency.
    pub fn builder() -> BotBuilder {
        BotBuilder::default()
    }

    /// One cycle: see [`Poller::cycle`].
    pub async fn cycle(&self) -> anyhow::Result<CycleReport> {
        self.poller.cycle().await
    }

    /// Cycles until shutdown, or one with `once`: see [`Poller::run`].
    pub async fn run(&self, interval: std::time::Duration, once: bool) -> anyhow::Result<()> {
        self.poller.run(interval, once).await
    }

    /// The poller (its stop handle and monitor).
    pub fn poller(&self) -> &Poller {
        &self.poller
    }

    /// The Conduit client (its call counts).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The store the bot writes.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// What a [`Bot`] is built from. The token is a [`Token`] (a `SecretString`: never in `Debug`
/// or logs); the builder has no `Debug` either.
#[derive(Default)]
pub struct BotBuilder {
    url: Option<String>,
    token: Option<Token>,
    rules: Option<Arc<Rules>>,
    db: Option<PathBuf>,
    clock: Option<Clock>,
    as_of: Option<DateTime<Utc>>,
    dry_run: bool,
    concurrency: Option<usize>,
    client_options: Option<ClientOptions>,
    client: Option<Client>,
    monitor: Option<Arc<crate::service::Monitor>>,
}

impl BotBuilder {
    /// The Phabricator (or simulator) base URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The Conduit API token.
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// The rules (required by [`Self::connect`] and [`Self::build`]; for [`Self::client`]
    /// they give the concurrency and the session cookie file).
    pub fn rules(mut self, rules: Arc<Rules>) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The SQLite database (required by [`Self::build`]); created and migrated if missing.
    pub fn db(mut self, path: impl Into<PathBuf>) -> Self {
        self.db = Some(path.into());
        self
    }

    /// The bot's clock (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Reads every task as it was at this instant (`--now`); `None`: as it is.
    pub fn as_of(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.as_of = at;
        self
    }

    /// Performs no write on Phabricator.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Conduit requests in flight at once (default: the rules' `[timing] concurrency`).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// The client's timeouts and retries, as given (default: [`ClientOptions::default`] with
    /// the concurrency as `max_in_flight`). The rules' session cookie file still applies when
    /// these hold no cookie.
    pub fn client_options(mut self, opts: ClientOptions) -> Self {
        self.client_options = Some(opts);
        self
    }

    /// Uses this client instead of making one (e.g. one with a lower answer size cap); the
    /// URL, token and client options are then ignored.
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Reports to this monitor (the one `run --listen` serves) instead of the poller's own.
    pub fn monitor(mut self, monitor: Arc<crate::service::Monitor>) -> Self {
        self.monitor = Some(monitor);
        self
    }

    fn concurrency_or_rules(&self) -> usize {
        self.concurrency
            .or_else(|| self.rules.as_ref().map(|r| r.timing.concurrency))
            .unwrap_or_else(|| ClientOptions::default().max_in_flight)
    }

    fn require_rules(&self) -> anyhow::Result<Arc<Rules>> {
        self.rules
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the bot is built without rules"))
    }

    /// The Conduit client this builder wires (the one given, or a new one).
    pub fn client(&self) -> anyhow::Result<Client> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("the bot is built without a Phabricator URL"))?;
        let token = self
            .token
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the bot is built without a Conduit API token"))?;
        let mut opts = self
            .client_options
            .clone()
            .unwrap_or_else(|| ClientOptions {
                max_in_flight: self.concurrency_or_rules(),
                ..ClientOptions::default()
            });
        let cookie_file = self
            .rules
            .as_ref()
            .and_then(|r| r.path(&r.evidence.session_cookie_file));
        if let (None, Some(p)) = (&opts.session_cookie, cookie_file) {
            let (cookie, warnings) =
                crate::conduit::session_cookie_from_file(&p).map_err(|e| anyhow::anyhow!(e))?;
            for w in warnings {
                tracing::warn!("{w}");
            }
            opts.session_cookie = Some(cookie);
        }
        Ok(Client::new(url, token, opts)?)
    }

    /// The client connected: the evidence source, with the context (the bot's account, the
    /// project, Legalpad) resolved on the server. Creates no database.
    pub async fn connect(&self) -> anyhow::Result<EvidenceSource> {
        let src = EvidenceSource::connect(self.client()?, self.require_rules()?).await?;
        Ok(src.with_as_of(self.as_of))
    }

    /// The bot on an evidence source from [`Self::connect`] (`run` connects first, riding out
    /// outages, and opens the database only once the server answered).
    pub async fn build_on(self, src: EvidenceSource) -> anyhow::Result<Bot> {
        let rules = self.require_rules()?;
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the bot is built without a database path"))?;
        let store = Store::open(db).await?;
        let opts = PollerOptions {
            dry_run: self.dry_run,
            concurrency: self.concurrency_or_rules(),
            clock: self.clock.clone().unwrap_or(Clock::System),
        };
        let client = src.client().clone();
        let mut poller = Poller::new(src, store.clone(), rules, opts);
        if let Some(m) = self.monitor {
            poller = poller.with_monitor(m);
        }
        Ok(Bot {
            client,
            store,
            poller,
        })
    }

    /// Connects, then opens the store: the wired bot.
    pub async fn build(self) -> anyhow::Result<Bot> {
        let src = self.connect().await?;
        self.build_on(src).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::new("api-aaaaaaaaaaaaaaaaaaaaaaaaaaaa".into())
    }

    #[test]
    fn a_client_needs_a_url_and_a_token() {
        let e = Bot::builder().token(token()).client().unwrap_err();
        assert!(e.to_string().contains("without a Phabricator URL"), "{e}");
        let e = Bot::builder()
            .url("http://127.0.0.1:1")
            .client()
            .unwrap_err();
        assert!(e.to_string().contains("without a Conduit API token"), "{e}");
        let c = Bot::builder()
            .url("http://127.0.0.1:1/")
            .token(token())
            .client()
            .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1");
    }

    #[tokio::test]
    async fn connecting_needs_the_rules() {
        let e = Bot::builder()
            .url("http://127.0.0.1:1")
            .token(token())
            .connect()
            .await
            .err()
            .expect("no rules");
        assert!(e.to_string().contains("without rules"), "{e}");
    }

    #[test]
    fn a_given_client_is_used_as_is() {
        let given = Bot::builder()
            .url("http://127.0.0.1:2")
            .token(token())
            .client()
            .unwrap();
        let c = Bot::builder().with_client(given).client().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:2");
    }

    #[test]
    fn the_scenario_token_is_the_bot_accounts() {
        let sc = crate::sim::Scenario::from_toml(
            r#"
now = "2026-11-02T09:00:00Z"
[[users]]
username = "jdoe"
real_name = "Jane Doe"
token = "api-jdoejdoejdoejdoejdoejdoejdoe"
[[users]]
username = "accessbot"
real_name = "Access Bot"
bot = true
token = "api-botbotbotbotbotbotbotbotbotb"
"#,
        )
        .unwrap();
        assert_eq!(
            scenario_token(&sc).unwrap(),
            "api-botbotbotbotbotbotbotbotbotb"
        );
        let mut sc = sc;
        sc.users.retain(|u| u.username != SCENARIO_ACCOUNT);
        let e = scenario_token(&sc).unwrap_err();
        assert!(e.to_string().contains("no accessbot user"), "{e}");
    }
}
