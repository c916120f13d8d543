//! The policy file of a repository the self-modifier may change: which
//! paths a change may touch, which are critical, which are tests, and the
//! commands of the gates (tests, benchmark, health watch) with their
//! sandbox.
//!
//! It is read once, strictly: an unknown key is an error naming it, so a
//! misspelt `critcal = [...]` cannot silently leave a path unprotected.
//!
//! ```
//! use hive_core::selfmod::Policy;
//!
//! let policy = Policy::from_toml(r#"
//!     allowed = ["src/**", "tests/**"]
//!     tests = ["tests/**"]
//!     [test]
//!     command = ["sh", "run-tests.sh"]
//! "#)?;
//! assert!(policy.is_allowed("src/lib.rs"));
//! assert!(!policy.is_allowed("Cargo.toml"));
//! assert!(policy.is_test("tests/it.rs"));
//! assert!(policy.is_critical("migrations/0001.sql"));
//! assert!(!policy.is_critical("src/lib.rs"));
//! assert!(Policy::from_toml("critcal = []").is_err());
//! # Ok::<(), hive_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sandbox::Limits;

/// Paths every policy treats as critical besides its own list: CI, schema
/// migrations and the policy file itself. A change that modifies or
/// deletes a test is critical too (the static gate says so); one that only
/// adds tests is not.
pub const ALWAYS_CRITICAL: [&str; 5] = [
    ".ci/**",
    ".github/**",
    "migrations/**",
    "**/migrations/**",
    "hive-policy.toml",
];

/// A repository's self-modification policy (`hive-policy.toml` by
/// convention). Defaults per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    /// Glob patterns (`*` within a path segment, `**` across segments) of
    /// the paths a change may touch; anything else refuses the change.
    /// Required: an empty list allows nothing.
    pub allowed: Vec<String>,
    /// Paths whose change makes a change set critical (it then waits for
    /// an approval), besides [`ALWAYS_CRITICAL`] and modified tests.
    /// Default none.
    #[serde(default)]
    pub critical: Vec<String>,
    /// Test files: restored from the base commit before the tests run (a
    /// change cannot pass by editing them); added ones must fail on the
    /// base. Default `tests/**`, `test/**`, `**/*_test.*`, `**/test_*.*`.
    #[serde(default = "default_tests")]
    pub tests: Vec<String>,
    /// The most lines (inserted plus deleted) a change may have. Default 2000.
    #[serde(default = "default_max_diff_lines")]
    pub max_diff_lines: u64,
    /// The test gate. Required.
    pub test: Gate,
    /// The benchmark gate; none when absent.
    #[serde(default)]
    pub bench: Option<BenchGate>,
    /// The watch after the merge; none when absent (the change set is done
    /// at its merge).
    #[serde(default)]
    pub watch: Option<WatchGate>,
    /// How long a critical change set waits for its approval. Default 1 day.
    #[serde(default = "default_approval_secs")]
    pub approval_timeout_secs: u64,
    /// How the gates' commands run. Defaults per field.
    #[serde(default)]
    pub sandbox: SandboxPolicy,
}

/// A command run by a gate, in a worktree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gate {
    /// The program and its arguments, run in the worktree's root.
    pub command: Vec<String>,
    /// Killed (and failed) past this. Default 600 s.
    #[serde(default = "default_gate_secs")]
    pub timeout_secs: u64,
}

/// The benchmark gate: base and candidate built once each, then the
/// benchmark run alternately on each, `runs` times, timed by wall clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchGate {
    /// Run once in each worktree before timing; none when absent.
    #[serde(default)]
    pub build: Option<Vec<String>>,
    /// The benchmark; the time it takes, measured inside the sandbox (its
    /// set-up not counted), is the figure.
    pub command: Vec<String>,
    /// Runs on each side, at least 10. Default 10.
    #[serde(default = "default_runs")]
    pub runs: u32,
    /// The slowdown allowed, as a fraction: 0.1 refuses a candidate whose
    /// interval on the ratio of medians lies wholly above 1.1. Default 0.1.
    #[serde(default = "default_slowdown")]
    pub max_slowdown: f64,
    /// The interval's confidence. Default 0.95.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Each run is killed (and the gate failed) past this. Default 600 s.
    #[serde(default = "default_gate_secs")]
    pub timeout_secs: u64,
}

/// The watch after a merge: a health command run every `interval_secs` for
/// `window_secs`; one failure reverts the merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchGate {
    /// The health command, run in a checkout of the merged commit.
    pub command: Vec<String>,
    /// How long the merged change is watched. Default 60 s.
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// Between two runs of the command. Default 5 s.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Each run is killed (and counted a failure) past this. Default 60 s.
    #[serde(default = "default_window")]
    pub timeout_secs: u64,
    /// Whether the health command runs isolated like the tests (no
    /// network). Default false: a health check usually asks a running
    /// service.
    #[serde(default)]
    pub isolate: bool,
}

/// How the gates' commands run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SandboxPolicy {
    /// Run in fresh user, mount, network and pid namespaces with the
    /// filesystem read-only outside the worktree. Default true; false is
    /// an explicit opt-out (for a kernel that refuses namespaces), written
    /// in every gate's log.
    pub isolate: bool,
    /// Environment variables passed (names, or prefixes ending in `*`).
    /// Default `PATH`, `HOME`, `LANG`, `TERM`, `USER`: no keys.
    pub env: Vec<String>,
    /// More directories the commands may write (a shared build cache).
    /// Default none.
    pub writable: Vec<String>,
    /// Resource limits. Default: CPU 600 s, memory 4 GiB, files 1 GiB,
    /// 512 processes.
    pub limits: Limits,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        SandboxPolicy {
            isolate: true,
            env: ["PATH", "HOME", "LANG", "TERM", "USER"]
                .map(String::from)
                .to_vec(),
            writable: Vec::new(),
            limits: Limits {
                cpu_secs: Some(600),
                memory_bytes: Some(4 << 30),
                file_size_bytes: Some(1 << 30),
                processes: Some(512),
            },
        }
    }
}

fn default_tests() -> Vec<String> {
    ["tests/**", "test/**", "**/*_test.*", "**/test_*.*"]
        .map(String::from)
        .to_vec()
}
fn default_max_diff_lines() -> u64 {
    2000
}
fn default_approval_secs() -> u64 {
    86_400
}
fn default_gate_secs() -> u64 {
    600
}
fn default_runs() -> u32 {
    10
}
fn default_slowdown() -> f64 {
    0.1
}
fn default_confidence() -> f64 {
    0.95
}
fn default_window() -> u64 {
    60
}
fn default_interval() -> u64 {
    5
}

impl Policy {
    /// Reads a policy from TOML and checks it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the key: unknown keys, wrong types,
    /// and the checks of [`Policy::check`].
    pub fn from_toml(text: &str) -> Result<Policy> {
        let policy: Policy = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("policy file: {}", e.to_string().trim_end())))?;
        policy.check()?;
        Ok(policy)
    }

    /// Checks what serde cannot: commands have a program, the benchmark
    /// runs at least 10 times with a confidence in (0, 1), timeouts and
    /// windows are not zero, patterns are relative.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn check(&self) -> Result<()> {
        let command = |field: &str, argv: &[String]| {
            if argv.first().is_none_or(|p| p.is_empty()) {
                Err(Error::invalid(format!("policy: {field} needs a program")))
            } else {
                Ok(())
            }
        };
        let positive = |field: &str, n: u64| {
            if n == 0 {
                Err(Error::invalid(format!("policy: {field} must be above 0")))
            } else {
                Ok(())
            }
        };
        for (field, patterns) in [
            ("allowed", &self.allowed),
            ("critical", &self.critical),
            ("tests", &self.tests),
        ] {
            for p in patterns {
                if p.is_empty() || p.starts_with('/') || p.split('/').any(|s| s == "..") {
                    return Err(Error::invalid(format!(
                        "policy: {field} pattern {p:?} must be a relative path without '..'"
                    )));
                }
            }
        }
        positive("max_diff_lines", self.max_diff_lines)?;
        command("test.command", &self.test.command)?;
        positive("test.timeout_secs", self.test.timeout_secs)?;
        positive("approval_timeout_secs", self.approval_timeout_secs)?;
        if let Some(bench) = &self.bench {
            command("bench.command", &bench.command)?;
            if let Some(build) = &bench.build {
                command("bench.build", build)?;
            }
            if bench.runs < 10 {
                return Err(Error::invalid(format!(
                    "policy: bench.runs must be at least 10, got {}",
                    bench.runs
                )));
            }
            if !(bench.max_slowdown >= 0.0 && bench.max_slowdown.is_finite()) {
                return Err(Error::invalid(
                    "policy: bench.max_slowdown must be 0 or more",
                ));
            }
            if !(bench.confidence > 0.0 && bench.confidence < 1.0) {
                return Err(Error::invalid(
                    "policy: bench.confidence must lie between 0 and 1",
                ));
            }
            positive("bench.timeout_secs", bench.timeout_secs)?;
        }
        if let Some(watch) = &self.watch {
            command("watch.command", &watch.command)?;
            positive("watch.window_secs", watch.window_secs)?;
            positive("watch.interval_secs", watch.interval_secs)?;
            positive("watch.timeout_secs", watch.timeout_secs)?;
        }
        Ok(())
    }

    /// Whether a change may touch `path`.
    pub fn is_allowed(&self, path: &str) -> bool {
        self.allowed.iter().any(|p| glob_match(p, path))
    }

    /// Whether `path` is a test file.
    pub fn is_test(&self, path: &str) -> bool {
        self.tests.iter().any(|p| glob_match(p, path))
    }

    /// Whether changing `path` makes a change set critical (tests aside:
    /// see [`Policy`]'s `tests`).
    pub fn is_critical(&self, path: &str) -> bool {
        ALWAYS_CRITICAL.iter().any(|p| glob_match(p, path))
            || self.critical.iter().any(|p| glob_match(p, path))
    }
}

/// Whether `path` (relative, `/`-separated) matches `pattern`: `**` is any
/// number of whole segments, `*` any run of characters within a segment,
/// `?` one character; a pattern ending in `/` matches everything under it.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern = match pattern.strip_suffix('/') {
        Some(dir) => format!("{dir}/**"),
        None => pattern.to_string(),
    };
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    segments(&pat, &segs)
}

fn segments(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((seg, tail)) => segment(first.as_bytes(), seg.as_bytes()) && segments(rest, tail),
            None => false,
        },
    }
}

fn segment(pat: &[u8], text: &[u8]) -> bool {
    match pat.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && segment(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && segment(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments() {
        for (pattern, path, expected) in [
            ("src/**", "src/a/b.rs", true),
            ("src/**", "src", true),
            ("src/**", "srcx/a", false),
            ("src/*.rs", "src/a.rs", true),
            ("src/*.rs", "src/a/b.rs", false),
            ("**/*_test.*", "a/b/c_test.py", true),
            ("**/*_test.*", "c_test.py", true),
            ("docs/", "docs/x.md", true),
            ("README.md", "README.md", true),
            ("README.md", "x/README.md", false),
            ("a?c", "abc", true),
        ] {
            assert_eq!(glob_match(pattern, path), expected, "{pattern} vs {path}");
        }
    }

    fn minimal() -> &'static str {
        "allowed = [\"src/**\"]\n[test]\ncommand = [\"true\"]\n"
    }

    #[test]
    fn defaults_fill_in_and_unknown_keys_are_named() {
        let p = Policy::from_toml(minimal()).unwrap();
        assert_eq!(p.max_diff_lines, 2000);
        assert!(p.sandbox.isolate);
        assert!(p.bench.is_none());
        let e = Policy::from_toml(&format!("{}surprise = 1\n", minimal()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("surprise"), "{e}");
        let e = Policy::from_toml(&format!("{}[sandbox]\nisolated = false\n", minimal()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("isolated"), "{e}");
    }

    #[test]
    fn checks_name_the_field() {
        for (extra, field) in [
            ("[bench]\ncommand = [\"b\"]\nruns = 3\n", "bench.runs"),
            (
                "[bench]\ncommand = [\"b\"]\nconfidence = 1.5\n",
                "bench.confidence",
            ),
            ("[watch]\ncommand = []\n", "watch.command"),
            (
                "[watch]\ncommand = [\"h\"]\nwindow_secs = 0\n",
                "watch.window_secs",
            ),
        ] {
            let e = Policy::from_toml(&format!("{}{extra}", minimal()))
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{extra}: {e}");
        }
        let e = Policy::from_toml("allowed = [\"../x\"]\n[test]\ncommand = [\"t\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("allowed"), "{e}");
    }
}
