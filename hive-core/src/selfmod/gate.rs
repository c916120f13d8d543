//! The static gate: what a change set's diff may contain, decided from the
//! diff alone before anything runs — the paths it touches against the
//! policy's allow-list, symlinks, `.git`, absolute and `..` paths, the
//! diff's size — and its risk class.
//!
//! A path is checked twice: a supplied patch's paths before it is applied
//! ([`check_path`] over [`super::git::Repo::patch_paths`]), so a patch
//! aimed at `../` or `.git/hooks` never touches the disk; and every path of
//! the committed snapshot ([`static_gate`]), which is what a coding CLI
//! really left, whatever it says it did.

use serde::{Deserialize, Serialize};

use super::git::FileChange;
use super::policy::Policy;

/// Why a path may never be part of a change, whatever the policy allows:
/// `None` when it may be.
pub fn check_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("an empty path".into());
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Some(format!("{path}: an absolute path"));
    }
    if path.split(['/', '\\']).any(|s| s == "..") {
        return Some(format!("{path}: a '..' component"));
    }
    if path.split(['/', '\\']).any(|s| s == ".git") {
        return Some(format!("{path}: inside .git"));
    }
    None
}

/// A change set's risk class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RiskClass {
    /// Merged when every gate passes.
    #[default]
    Normal,
    /// Also waits for an approval by an approver.
    Critical,
}

/// What the static gate decided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaticVerdict {
    /// Why the change is refused; empty when it passes.
    pub refused: Vec<String>,
    /// Why it is critical; empty when it is not.
    pub critical: Vec<String>,
    /// Test files the change adds: they must fail on the base.
    pub added_tests: Vec<String>,
    /// Test files the change modifies or deletes: restored from the base
    /// before the tests run.
    pub changed_tests: Vec<String>,
    /// Lines inserted plus deleted.
    pub lines: u64,
}

impl StaticVerdict {
    /// True when nothing refuses the change.
    pub fn passed(&self) -> bool {
        self.refused.is_empty()
    }

    /// The risk class it implies.
    pub fn risk(&self) -> RiskClass {
        if self.critical.is_empty() {
            RiskClass::Normal
        } else {
            RiskClass::Critical
        }
    }
}

/// Judges a diff against a policy.
pub fn static_gate(changes: &[FileChange], policy: &Policy) -> StaticVerdict {
    let mut v = StaticVerdict::default();
    if changes.is_empty() {
        v.refused.push("the change is empty".into());
    }
    for c in changes {
        v.lines = v.lines.saturating_add(c.insertions + c.deletions);
        let paths = std::iter::once(&c.path).chain(c.old_path.as_ref());
        for path in paths {
            if let Some(why) = check_path(path) {
                v.refused.push(why);
            } else if !policy.is_allowed(path) {
                v.refused.push(format!("{path}: outside the allowed paths"));
            }
            if policy.is_critical(path) {
                v.critical.push(format!("{path}: a critical path"));
            }
        }
        if c.symlink {
            v.refused.push(format!("{}: a symlink", c.path));
        }
        if policy.is_test(&c.path) {
            match c.kind {
                super::git::ChangeKind::Added => v.added_tests.push(c.path.clone()),
                _ => {
                    v.changed_tests.push(c.path.clone());
                    v.critical.push(format!("{}: modifies a test", c.path));
                }
            }
        }
        if let Some(old) = &c.old_path {
            if policy.is_test(old) && old != &c.path {
                v.changed_tests.push(old.clone());
                v.critical.push(format!("{old}: moves a test"));
            }
        }
    }
    if v.lines > policy.max_diff_lines {
        v.refused.push(format!(
            "the diff has {} lines, over the policy's {}",
            v.lines, policy.max_diff_lines
        ));
    }
    v.refused.dedup();
    v.critical.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::super::git::ChangeKind;
    use super::*;

    fn change(path: &str, kind: ChangeKind, lines: u64) -> FileChange {
        FileChange {
            path: path.into(),
            old_path: None,
            kind,
            symlink: false,
            executable: false,
            binary: false,
            insertions: lines,
            deletions: 0,
        }
    }

    fn policy() -> Policy {
        Policy::from_toml(
            "allowed = [\"src/**\", \"tests/**\"]\ncritical = [\"src/auth/**\"]\nmax_diff_lines = 100\n[test]\ncommand = [\"t\"]\n",
        )
        .unwrap()
    }

    #[test]
    fn paths_are_refused_whatever_the_policy() {
        for (path, why) in [
            ("/etc/passwd", "absolute"),
            ("src/../../x", "'..'"),
            (".git/hooks/pre-commit", ".git"),
            ("src/.git/config", ".git"),
            ("", "empty"),
        ] {
            let got = check_path(path).unwrap_or_default();
            assert!(got.contains(why), "{path}: {got}");
        }
        assert_eq!(check_path("src/a.rs"), None);
    }

    #[test]
    fn the_gate_refuses_and_classifies() {
        let p = policy();
        let ok = static_gate(&[change("src/a.rs", ChangeKind::Modified, 5)], &p);
        assert!(ok.passed() && ok.risk() == RiskClass::Normal, "{ok:?}");

        let outside = static_gate(&[change("Cargo.toml", ChangeKind::Modified, 1)], &p);
        assert!(outside.refused[0].contains("outside the allowed paths"));

        let mut link = change("src/l", ChangeKind::Added, 1);
        link.symlink = true;
        assert!(static_gate(&[link], &p).refused[0].contains("symlink"));

        let big = static_gate(&[change("src/a.rs", ChangeKind::Modified, 101)], &p);
        assert!(big.refused[0].contains("101 lines"), "{big:?}");

        let tests = static_gate(
            &[
                change("tests/new.rs", ChangeKind::Added, 3),
                change("tests/old.rs", ChangeKind::Modified, 3),
                change("src/auth/k.rs", ChangeKind::Modified, 1),
            ],
            &p,
        );
        assert!(tests.passed());
        assert_eq!(tests.risk(), RiskClass::Critical);
        assert_eq!(tests.added_tests, vec!["tests/new.rs"]);
        assert_eq!(tests.changed_tests, vec!["tests/old.rs"]);
        assert_eq!(
            tests.critical,
            vec![
                "tests/old.rs: modifies a test",
                "src/auth/k.rs: a critical path"
            ]
        );
        let added = static_gate(&[change("tests/new.rs", ChangeKind::Added, 3)], &p);
        assert_eq!(
            added.risk(),
            RiskClass::Normal,
            "adding a test is not critical"
        );

        assert!(!static_gate(&[], &p).passed());
    }
}
