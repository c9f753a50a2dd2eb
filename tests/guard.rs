//! The per-test watchdog (`tests/common/guard.rs`): a test that hangs is stopped with its name
//! after its deadline, and a guard that is dropped in time never fires. Each case runs this
//! test binary again as a child process, on one ignored test that hangs on purpose.

mod common;

use common::guard::{Guard, TIMEOUT_VAR};
use std::process::{Command, Output};
use std::time::Duration;

/// Set for the child process: which way the hanging test should hang.
const CHILD_VAR: &str = "ACCESSBOT_GUARD_CHILD";

/// Runs the ignored test `name` of this binary alone, with `env`, its output captured by the
/// harness as in a normal run.
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--ignored", "--test-threads=1"])
        .env_remove(TIMEOUT_VAR)
        .envs(env.iter().copied())
        .output()
        .expect("the test binary runs")
}

/// Blocks the calling thread for good: only the watchdog ends the process.
fn hang() -> ! {
    loop {
        std::thread::park();
    }
}

#[test]
#[ignore = "a child of a_hung_test_is_aborted_with_its_name: it hangs"]
fn child_hangs_under_the_environment_deadline() {
    if std::env::var(CHILD_VAR).as_deref() == Ok("hang") {
        let _guard = Guard::start();
        hang();
    }
}

#[test]
#[ignore = "a child of a_dropped_guard_never_fires: it hangs"]
fn child_drops_a_guard_then_hangs_under_another() {
    if std::env::var(CHILD_VAR).as_deref() == Ok("drop-then-hang") {
        drop(Guard::with_timeout(Duration::from_secs(1)));
        let _guard = Guard::with_timeout(Duration::from_secs(2));
        hang();
    }
}

#[test]
fn a_hung_test_is_aborted_with_its_name() {
    let out = run_child(
        "child_hangs_under_the_environment_deadline",
        &[(CHILD_VAR, "hang"), (TIMEOUT_VAR, "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains("test child_hangs_under_the_environment_deadline (in guard-")
            && stderr.contains("timed out: still running after 1 s"),
        "{stderr}"
    );
}

#[test]
fn a_dropped_guard_never_fires() {
    let out = run_child(
        "child_drops_a_guard_then_hangs_under_another",
        &[(CHILD_VAR, "drop-then-hang")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{:?}: {stderr}", out.status);
    // Only the second guard (2 s) fired: the first one, dropped, said nothing.
    assert_eq!(stderr.matches("timed out").count(), 1, "{stderr}");
    assert!(
        stderr.contains("test child_drops_a_guard_then_hangs_under_another (in guard-")
            && stderr.contains("timed out: still running after 2 s"),
        "{stderr}"
    );
}

#[test]
fn the_deadline_comes_from_the_environment() {
    // Read in a child so that this process's environment is not changed under other tests.
    let out = run_child(
        "child_hangs_under_the_environment_deadline",
        &[(CHILD_VAR, "hang"), (TIMEOUT_VAR, "soon")],
    );
    // The panic fails that test; the harness prints its captured message on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ACCESSBOT_TEST_TIMEOUT_SECS=\"soon\" is not a whole number of seconds"),
        "{stdout}"
    );
}
