//! The binary under test, pinned: a hard link to `CARGO_BIN_EXE_accessbot` taken once, when
//! the test binary starts. Several worktrees build into one shared target directory, and a
//! build elsewhere replaces `target/debug/accessbot` while tests run; the link keeps the
//! binary of this build for the whole run (in CI it is simply the same file).
//! `ACCESSBOT_TEST_BIN` overrides the path (to test a copy made right after `cargo build`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The pinned binary's path.
pub fn accessbot() -> &'static Path {
    static PINNED: OnceLock<PathBuf> = OnceLock::new();
    PINNED.get_or_init(|| {
        if let Some(p) = std::env::var_os("ACCESSBOT_TEST_BIN") {
            return PathBuf::from(p);
        }
        let original = PathBuf::from(env!("CARGO_BIN_EXE_accessbot"));
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let exe = std::env::current_exe().unwrap_or_default();
        let name = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pinned = dir.join(format!("accessbot-pinned-for-{name}"));
        let _ = std::fs::remove_file(&pinned);
        match std::fs::hard_link(&original, &pinned)
            .or_else(|_| std::fs::copy(&original, &pinned).map(|_| ()))
        {
            Ok(()) => pinned,
            Err(_) => original,
        }
    })
}

/// Runs the pinned binary; returns (code, stdout, stderr).
pub fn run(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(accessbot())
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
