//! The configured `data.yaml` (`[keys] data_yaml`) read from disk, re-read when it changes: a path that may
//! live in a git checkout the operator keeps pulled. Each cycle the poller asks for it; the
//! file is read and parsed again only when its size, modification time (or, on Unix, its inode:
//! `git pull` replaces files) changed. A missing or unparsable file is logged once per
//! distinct reason and is "unknown": nothing is found granted by it, no expired access is
//! reported as removed.

use crate::grant::AdminData;
pub use crate::lifecycle::DataYaml;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Reads and parses a `data.yaml` once (the read-only commands).
pub fn read(path: Option<&Path>) -> DataYaml {
    let watch = DataYamlWatch::new(path.map(Path::to_path_buf));
    watch.refresh();
    watch.current()
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

#[derive(Debug)]
struct Watched {
    /// The version last read (`None`: none could be read).
    stamp: Option<Stamp>,
    current: DataYaml,
}

/// Watches the configured `data.yaml` (see the module documentation).
#[derive(Debug)]
pub struct DataYamlWatch {
    path: Option<PathBuf>,
    state: Mutex<Watched>,
}

impl DataYamlWatch {
    /// A watch on `path` (`None`: not configured); nothing is read before [`Self::refresh`].
    pub fn new(path: Option<PathBuf>) -> DataYamlWatch {
        let current = match &path {
            None => DataYaml::NotConfigured,
            Some(_) => DataYaml::Unknown("not read yet".into()),
        };
        DataYamlWatch {
            path,
            state: Mutex::new(Watched {
                stamp: None,
                current,
            }),
        }
    }

    /// A watch on the rules' `[keys] data_yaml`.
    pub fn from_rules(rules: &crate::rules::Rules) -> DataYamlWatch {
        DataYamlWatch::new(rules.path(&rules.keys.data_yaml))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is known of the file, as of the last [`Self::refresh`].
    pub fn current(&self) -> DataYaml {
        self.lock().current.clone()
    }

    /// Reads the file again when it changed; true when what is known of it changed (another
    /// version was read, or it became unreadable or readable).
    pub fn refresh(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let mut w = self.lock();
        let stamp = match std::fs::metadata(path) {
            Ok(meta) => Stamp::of(&meta),
            Err(e) => {
                return set_unknown(&mut w, path, format!("cannot read it: {e}"));
            }
        };
        if w.stamp.as_ref() == Some(&stamp) {
            return false;
        }
        let parsed = std::fs::read(path)
            .map_err(|e| format!("cannot read it: {e}"))
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
            })
            .and_then(|text| AdminData::parse(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(data) => {
                tracing::info!(path = %path.display(), phase = "data-yaml", "data.yaml read");
                w.stamp = Some(stamp);
                w.current = DataYaml::Known(Arc::new(data));
                true
            }
            Err(why) => {
                // Read again next time: the operator may be in the middle of an edit.
                set_unknown(&mut w, path, why)
            }
        }
    }
}

/// Records that the file cannot be used now; logs the reason when it is a new one. True when
/// this changes what is known.
fn set_unknown(w: &mut Watched, path: &Path, why: String) -> bool {
    w.stamp = None;
    if matches!(&w.current, DataYaml::Unknown(old) if *old == why) {
        return false;
    }
    tracing::warn!(path = %path.display(), phase = "data-yaml", error = %why,
        "data.yaml cannot be used: no request is found granted by it, and no expired access is taken as removed, until it can");
    w.current = DataYaml::Unknown(why);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str =
        "groups:\n  ops:\n    members: [jdoe]\nusers:\n  jdoe:\n    ensure: present\n";
    const TWO: &str = "groups:\n  ops:\n    members: [jdoe, asmith]\nusers:\n  jdoe:\n    ensure: present\n  asmith:\n    ensure: present\n";

    fn members(w: &DataYamlWatch, user: &str) -> Option<bool> {
        w.current()
            .known()
            .map(|d| d.access(user, &["ops".to_string()]).complete())
    }

    #[test]
    fn it_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.yaml");
        let w = DataYamlWatch::new(Some(path.clone()));
        // Missing: unknown, said once.
        assert!(w.refresh());
        assert!(matches!(w.current(), DataYaml::Unknown(_)));
        assert!(!w.refresh());
        std::fs::write(&path, ONE).unwrap();
        assert!(w.refresh());
        assert_eq!(members(&w, "asmith"), Some(false));
        assert!(!w.refresh(), "unchanged: not read again");
        // `git pull` replaces the file.
        let next = dir.path().join("data.yaml.new");
        std::fs::write(&next, TWO).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert!(w.refresh());
        assert_eq!(members(&w, "asmith"), Some(true));
        // Half-written: unknown, never the old version.
        std::fs::write(&path, "groups: [\n").unwrap();
        assert!(w.refresh());
        assert!(
            matches!(w.current(), DataYaml::Unknown(ref why) if why.contains("cannot be parsed"))
        );
        std::fs::write(&path, ONE).unwrap();
        assert!(w.refresh());
        assert_eq!(members(&w, "jdoe"), Some(true));
    }

    #[test]
    fn not_configured_is_never_read() {
        let w = DataYamlWatch::new(None);
        assert!(!w.refresh());
        assert!(matches!(w.current(), DataYaml::NotConfigured));
        assert!(matches!(read(None), DataYaml::NotConfigured));
    }
}
