//! A per-test watchdog: a test that hangs fails with its name after a bounded time, instead
//! of holding CI until the job's own limit.
//!
//! The harness constructors (`World::start…`) create one, so every scenario test has it; a
//! test that does not use them calls [`Guard::start`] itself. The deadline is 120 s per guard,
//! or `ACCESSBOT_TEST_TIMEOUT_SECS` (a whole number of seconds) when set: far above what any
//! test needs on a loaded machine, far below a CI job's limit. When it passes, the watchdog
//! prints the test's name (the name of the thread that created the guard, which is the
//! test's name under the standard harness) and aborts the whole test process: a hung thread
//! cannot be stopped from outside, and the other tests of the binary would only wait behind
//! it. The abort is the failure CI sees, with the name on stderr.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// The deadline when `ACCESSBOT_TEST_TIMEOUT_SECS` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The environment variable that overrides [`DEFAULT_TIMEOUT`].
pub const TIMEOUT_VAR: &str = "ACCESSBOT_TEST_TIMEOUT_SECS";

/// Armed while it lives; dropping it (the test finished, or panicked and unwound) disarms the
/// watchdog.
#[must_use = "the watchdog is disarmed when the guard is dropped"]
pub struct Guard {
    /// Dropped with the guard: the watchdog's wait ends with a disconnection.
    _disarm: mpsc::Sender<()>,
}

impl Guard {
    /// A guard with the deadline of the environment (see the module's header).
    pub fn start() -> Guard {
        Self::with_timeout(timeout_from_env())
    }

    /// A guard whose watchdog aborts the process once `timeout` has passed.
    pub fn with_timeout(timeout: Duration) -> Guard {
        let name = test_name();
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name(format!("watchdog of {name}"))
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(timeout) {
                    // Straight to the process's stderr: `eprintln!` would go to the harness's
                    // capture of the test's output, which the abort throws away.
                    let _ = writeln!(
                        std::io::stderr(),
                        "test {name} timed out: still running after {} s \
                         ({TIMEOUT_VAR} sets the limit); aborting the test process",
                        timeout.as_secs_f64()
                    );
                    std::process::abort();
                }
            })
            .expect("the watchdog thread starts");
        Guard { _disarm: tx }
    }
}

/// The name of the running test, as the standard harness names its thread, with the test
/// binary's name; a guard created on another thread (a runtime's worker, the main thread under
/// `--test-threads=1` on some harnesses) says so instead.
fn test_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    match std::thread::current().name() {
        Some(n) if n != "main" && !n.starts_with("tokio-") => format!("{n} (in {exe})"),
        Some(n) => format!("of {exe} on thread {n:?}"),
        None => format!("of {exe} on an unnamed thread"),
    }
}

/// The deadline: `ACCESSBOT_TEST_TIMEOUT_SECS` when set, else [`DEFAULT_TIMEOUT`]. A value that
/// is not a whole number of seconds is a mistake the run should show, not ignore.
pub fn timeout_from_env() -> Duration {
    match std::env::var(TIMEOUT_VAR) {
        Ok(v) => Duration::from_secs(
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{TIMEOUT_VAR}={v:?} is not a whole number of seconds")),
        ),
        Err(_) => DEFAULT_TIMEOUT,
    }
}
