//! The bot as a service to whoever operates it: Prometheus metrics and a health endpoint
//! (`run --listen ADDR`), systemd notifications (`Type=notify`: READY, WATCHDOG, STOPPING,
//! STATUS) and progress lines on long cycles.
//!
//! The poller reports to a [`Monitor`] (cycle ends, posts, progress); the HTTP server and the
//! notifications read it. Metrics are kept with `prometheus-client` and served in the
//! Prometheus text format (0.0.4); Conduit call counts are read from the client at each scrape.
//!
//! Health: `GET /healthz` answers 200 while the last successful cycle is newer than three
//! intervals (before the first cycle ends, three intervals after start-up count as
//! `starting`), else 503; the JSON body has `status`, `last_cycle_at`, `last_success_at`,
//! `consecutive_failures` and `interval_seconds`, times as RFC 3339 on the bot's clock.

use crate::clock::Clock;
use crate::conduit::Client;
use crate::store::Store;
use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A progress line at most this often during a cycle (and only once a cycle has run this
/// long).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The verdicts of tracked requests (open ones, and granted ones whose expiry the bot
/// follows), reported even when none has them.
const OPEN_VERDICTS: [&str; 6] = [
    "ready",
    "waiting",
    "blocked",
    "declined",
    "not-a-request",
    "granted",
];

/// One label, as prometheus-client encodes label sets.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

/// Reads the Conduit client's call counts at each scrape (the client is known only once
/// start-up has built it).
#[derive(Debug, Default)]
struct ConduitCalls(Mutex<Option<Client>>);

impl Collector for ConduitCalls {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = lock(&self.0)
            .as_ref()
            .map(Client::call_outcomes)
            .unwrap_or_default();
        let mut family = encoder.encode_descriptor(
            "conduit_calls",
            "Conduit HTTP requests (and task page fetches) by method and outcome; every attempt counts.",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for ((method, outcome), n) in counts {
            let labels = CallLabels {
                method,
                outcome: outcome.to_string(),
            };
            ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// What the health endpoint reports.
#[derive(Debug, Clone, Default)]
struct HealthState {
    last_cycle_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    consecutive_failures: u64,
}

/// Progress through one cycle: tasks handed to the pipeline and finished so far.
#[derive(Debug, Clone)]
pub struct Progress {
    started: Instant,
    last_line: Option<Instant>,
    done: usize,
    total: usize,
}

impl Progress {
    /// A cycle starting at `now`.
    pub fn new(now: Instant) -> Progress {
        Progress {
            started: now,
            last_line: None,
            done: 0,
            total: 0,
        }
    }

    /// More tasks were handed to the pipeline.
    pub fn add_total(&mut self, n: usize) {
        self.total += n;
    }

    /// One more task finished at `now`; `Some((done, total))` when a progress line is due:
    /// the cycle has run [`PROGRESS_EVERY`] and the last line is that old.
    pub fn done(&mut self, now: Instant) -> Option<(usize, usize)> {
        self.done += 1;
        let since = self.last_line.unwrap_or(self.started);
        if now.duration_since(since) < PROGRESS_EVERY {
            return None;
        }
        self.last_line = Some(now);
        Some((self.done, self.total.max(self.done)))
    }
}

/// systemd's notification socket and watchdog, when the service manager set them.
#[derive(Debug)]
struct Notifier {
    /// Whether `NOTIFY_SOCKET` was set.
    enabled: bool,
    /// Half the watchdog timeout, when a watchdog is on (`WATCHDOG_USEC`, for this process).
    watchdog_every: Option<Duration>,
    last_ping: Mutex<Option<Instant>>,
}

impl Notifier {
    fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|p| p.trim().parse::<u32>().ok() == Some(std::process::id()));
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| enabled && for_us && *u > 0)
            .map(|u| Duration::from_micros(u / 2));
        Notifier {
            enabled,
            watchdog_every,
            last_ping: Mutex::new(None),
        }
    }

    fn send(&self, states: &[sd_notify::NotifyState]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(false, states) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }

    /// WATCHDOG=1, at most every half timeout (`force`: now, whatever the last ping).
    fn ping(&self, force: bool) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        let now = Instant::now();
        {
            let mut last = lock(&self.last_ping);
            if !force && last.is_some_and(|l| now.duration_since(l) < every) {
                return;
            }
            *last = Some(now);
        }
        self.send(&[sd_notify::NotifyState::Watchdog]);
    }
}

/// The metrics, health and notifications of one bot.
#[derive(Debug)]
pub struct Monitor {
    clock: Clock,
    started_at: DateTime<Utc>,
    interval_secs: AtomicU64,
    health: Mutex<HealthState>,
    progress: Mutex<Progress>,
    notifier: Notifier,
    ready_sent: Mutex<bool>,
    registry: Registry,
    requests: Family<VerdictLabel, Gauge>,
    cycle_duration: Histogram,
    cycles: Family<OutcomeLabel, Counter>,
    posts: Family<KindLabel, Counter>,
    last_success: Gauge<f64, AtomicU64>,
    oldest_ready_age: Gauge<f64, AtomicU64>,
    consecutive_failures: Gauge,
    calls: Arc<ConduitCalls>,
}

impl Monitor {
    /// A monitor on the bot's clock; systemd notifications go out when `NOTIFY_SOCKET` is set.
    pub fn new(clock: Clock) -> Monitor {
        let started_at = clock.now();
        let mut registry = Registry::with_prefix("accessbot");
        let requests = Family::<VerdictLabel, Gauge>::default();
        registry.register(
            "requests",
            "Tracked requests by their current verdict: open ones, and every granted one",
            requests.clone(),
        );
        let cycle_duration = Histogram::new([
            0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
        ]);
        registry.register(
            "cycle_duration_seconds",
            "Wall-clock duration of poll cycles",
            cycle_duration.clone(),
        );
        let cycles = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "cycles",
            "Poll cycles by outcome (ok, failed)",
            cycles.clone(),
        );
        let posts = Family::<KindLabel, Counter>::default();
        registry.register(
            "posts",
            "Writes on Phabricator by kind (checklist, nudge, ready-column, ready-tag, unready-tag, granted, reminder, expired, removal)",
            posts.clone(),
        );
        let last_success = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "last_success_timestamp_seconds",
            "When the last successful cycle ended (Unix time, the bot's clock; 0 before the first)",
            last_success.clone(),
        );
        let oldest_ready_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "oldest_ready_age_seconds",
            "How long the longest-ready request has waited for clinic duty to grant it (0 when none is ready)",
            oldest_ready_age.clone(),
        );
        let consecutive_failures = Gauge::default();
        registry.register(
            "consecutive_failed_cycles",
            "Cycles failed in a row since the last successful one",
            consecutive_failures.clone(),
        );
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("build_info", "The running accessbot's version", build);
        let calls = Arc::new(ConduitCalls::default());
        registry.register_collector(Box::new(calls.clone()));
        for v in OPEN_VERDICTS {
            requests
                .get_or_create(&VerdictLabel { verdict: v.into() })
                .set(0);
        }
        Monitor {
            clock,
            started_at,
            interval_secs: AtomicU64::new(60),
            health: Mutex::new(HealthState::default()),
            progress: Mutex::new(Progress::new(Instant::now())),
            notifier: Notifier::from_env(),
            ready_sent: Mutex::new(false),
            registry,
            requests,
            cycle_duration,
            cycles,
            posts,
            last_success,
            oldest_ready_age,
            consecutive_failures,
            calls,
        }
    }

    /// The poll interval health is judged against.
    pub fn set_interval(&self, interval: Duration) {
        self.interval_secs
            .store(interval.as_secs().max(1), Ordering::Relaxed);
    }

    /// Conduit call counts come from this client from now on.
    pub fn watch_client(&self, client: &Client) {
        *lock(&self.calls.0) = Some(client.clone());
    }

    /// A cycle starts: progress counts from zero.
    pub fn cycle_started(&self) {
        *lock(&self.progress) = Progress::new(Instant::now());
        self.notifier.ping(false);
    }

    /// `n` more tasks were handed to this cycle's pipeline.
    pub fn tasks_handed(&self, n: usize) {
        lock(&self.progress).add_total(n);
    }

    /// One task of the cycle finished; logs progress on long cycles and keeps the watchdog fed.
    pub fn task_done(&self) {
        let line = lock(&self.progress).done(Instant::now());
        if let Some((done, total)) = line {
            tracing::info!(
                phase = "cycle",
                done,
                total,
                "progress: {done} of {total} tasks"
            );
        }
        self.notifier.ping(false);
    }

    /// Something was written on Phabricator.
    pub fn posted(&self, kind: &str) {
        self.posts
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
    }

    /// A cycle ended (`ok`: it succeeded), after `elapsed`; the request gauges are read from
    /// the store.
    pub async fn cycle_finished(&self, ok: bool, elapsed: Duration, store: &Store) {
        let now = self.clock.now();
        self.cycle_duration.observe(elapsed.as_secs_f64());
        self.cycles
            .get_or_create(&OutcomeLabel {
                outcome: if ok { "ok" } else { "failed" }.into(),
            })
            .inc();
        let failures = {
            let mut h = lock(&self.health);
            h.last_cycle_at = Some(now);
            if ok {
                h.last_success_at = Some(now);
                h.consecutive_failures = 0;
            } else {
                h.consecutive_failures += 1;
            }
            h.consecutive_failures
        };
        self.consecutive_failures.set(failures as i64);
        if ok {
            self.last_success.set(now.timestamp() as f64);
        }
        match store.open_verdict_counts().await {
            Ok(counts) => {
                for v in OPEN_VERDICTS {
                    let n = counts.get(v).copied().unwrap_or(0);
                    self.requests
                        .get_or_create(&VerdictLabel { verdict: v.into() })
                        .set(n);
                }
                for (v, n) in counts
                    .iter()
                    .filter(|(v, _)| !OPEN_VERDICTS.contains(&v.as_str()))
                {
                    self.requests
                        .get_or_create(&VerdictLabel { verdict: v.clone() })
                        .set(*n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot count the requests for the metrics"),
        }
        match store.oldest_ready_since().await {
            Ok(since) => {
                self.oldest_ready_age.set(
                    since
                        .map(|s| (now.timestamp() - s).max(0) as f64)
                        .unwrap_or(0.0),
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the oldest ready request"),
        }
        let status = if ok {
            "last cycle ok".to_string()
        } else {
            format!("{failures} cycle(s) failed in a row")
        };
        self.notifier
            .send(&[sd_notify::NotifyState::Status(&status)]);
        self.notifier.ping(true);
    }

    /// Start-up is done: READY=1 (once).
    pub fn ready(&self) {
        let mut sent = lock(&self.ready_sent);
        if !*sent {
            *sent = true;
            self.notifier.send(&[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status("started"),
            ]);
            self.notifier.ping(true);
        }
    }

    /// Between cycles: the watchdog is fed at half its timeout; this is that period.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.notifier.watchdog_every
    }

    /// Between cycles, still alive.
    pub fn alive(&self) {
        self.notifier.ping(false);
    }

    /// Shutting down: STOPPING=1.
    pub fn stopping(&self) {
        self.notifier.send(&[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::Status("stopping after the task in hand"),
        ]);
    }

    /// The metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// Whether the bot is healthy, and the JSON body of `/healthz`.
    pub fn health(&self) -> (bool, serde_json::Value) {
        let now = self.clock.now();
        let interval = self.interval_secs.load(Ordering::Relaxed).max(1) as i64;
        let h = lock(&self.health).clone();
        let fresh = |t: DateTime<Utc>| (now - t).num_seconds() < 3 * interval;
        let (ok, status) = match (h.last_success_at, h.last_cycle_at) {
            (Some(t), _) if fresh(t) => (true, "ok"),
            (None, None) if fresh(self.started_at) => (true, "starting"),
            _ => (false, "failing"),
        };
        let rfc = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        (
            ok,
            serde_json::json!({
                "status": status,
                "last_cycle_at": rfc(h.last_cycle_at),
                "last_success_at": rfc(h.last_success_at),
                "consecutive_failures": h.consecutive_failures,
                "interval_seconds": interval,
            }),
        )
    }
}

/// Locks a mutex, recovering plain data after a panic elsewhere.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves `/metrics` and `/healthz` on `listener` until the process ends.
pub fn serve(listener: tokio::net::TcpListener, monitor: Arc<Monitor>) {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let metrics = {
        let m = monitor.clone();
        move || {
            let m = m.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.metrics_text(),
                )
                    .into_response()
            }
        }
    };
    let health = {
        let m = monitor.clone();
        move || {
            let m = m.clone();
            async move {
                let (ok, body) = m.health();
                let code = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (code, axum::Json(body)).into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics and health server stopped");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_at_most_every_few_seconds() {
        let t0 = Instant::now();
        let mut p = Progress::new(t0);
        p.add_total(400);
        assert_eq!(
            p.done(t0 + Duration::from_secs(1)),
            None,
            "a short cycle is quiet"
        );
        for _ in 0..310 {
            assert_eq!(p.done(t0 + Duration::from_secs(4)), None);
        }
        assert_eq!(p.done(t0 + PROGRESS_EVERY), Some((312, 400)));
        assert_eq!(p.done(t0 + PROGRESS_EVERY + Duration::from_secs(1)), None);
        p.add_total(100);
        assert_eq!(p.done(t0 + 2 * PROGRESS_EVERY), Some((314, 500)));
    }

    #[tokio::test]
    async fn health_turns_503_three_intervals_after_the_last_success() {
        let t0: DateTime<Utc> = "2026-11-02T09:00:00Z".parse().unwrap();
        let clock = Clock::fixed(t0);
        let m = Monitor::new(clock.clone());
        m.set_interval(Duration::from_secs(60));
        let store = Store::open_in_memory().await.unwrap();
        let (ok, body) = m.health();
        assert!(ok);
        assert_eq!(body["status"], "starting");
        clock.set(t0 + chrono::Duration::seconds(180));
        assert!(!m.health().0, "no cycle within three intervals of start-up");

        m.cycle_finished(true, Duration::from_millis(10), &store)
            .await;
        let (ok, body) = m.health();
        assert!(ok, "{body}");
        assert_eq!(body["status"], "ok");
        assert_eq!(body["last_success_at"], "2026-11-02T09:03:00+00:00");

        clock.set(t0 + chrono::Duration::seconds(300));
        m.cycle_finished(false, Duration::from_millis(10), &store)
            .await;
        m.cycle_finished(false, Duration::from_millis(10), &store)
            .await;
        let (ok, body) = m.health();
        assert!(ok, "two minutes after the last success: {body}");
        assert_eq!(body["consecutive_failures"], 2);
        clock.set(t0 + chrono::Duration::seconds(360));
        let (ok, body) = m.health();
        assert!(!ok, "three intervals after the last success: {body}");
        assert_eq!(body["status"], "failing");
        assert_eq!(body["last_cycle_at"], "2026-11-02T09:05:00+00:00");

        let text = m.metrics_text();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
                .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
                .parse()
                .unwrap()
        };
        assert_eq!(value("accessbot_consecutive_failed_cycles"), 2.0);
        assert_eq!(value("accessbot_cycles_total{outcome=\"failed\"}"), 2.0);
        assert_eq!(value("accessbot_cycles_total{outcome=\"ok\"}"), 1.0);
        assert_eq!(
            value("accessbot_last_success_timestamp_seconds"),
            (t0 + chrono::Duration::seconds(180)).timestamp() as f64
        );
        assert_eq!(value("accessbot_requests{verdict=\"ready\"}"), 0.0);
        assert_eq!(value("accessbot_oldest_ready_age_seconds"), 0.0);
        assert_eq!(value("accessbot_cycle_duration_seconds_count"), 3.0);
    }
}
