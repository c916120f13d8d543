//! [`ScrubbedCommand`]: a child process that cannot outlive its task and
//! cannot read the hive's secrets.
//!
//! A coding CLI starts shells, language servers, test runners and other
//! children of its own. Killing only the process we started would leave
//! those running (and holding our pipes open), so the command runs in its
//! own process group and every way out of [`ScrubbedCommand::run`] — exit,
//! timeout, cancellation, or the future being dropped — ends with SIGKILL
//! to the whole group. The environment starts empty and only an
//! allow-list ([`EnvPolicy`]) passes, because the hive's process holds
//! database URLs and API keys the CLI has no business seeing. With an
//! [`Isolation`] it also runs without network, on a read-only filesystem
//! except the directories it is given, and under resource limits.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::isolation::Isolation;
use crate::error::{Error, Result};

/// Which environment variables a child process gets.
///
/// The child's environment starts empty; a variable of this process is
/// copied when its name matches an entry of [`EnvPolicy::allow`] (an exact
/// name, or a prefix followed by `*`), then every [`EnvPolicy::set`] entry
/// is added, overriding a copied one of the same name.
///
/// ```
/// use hive_core::sandbox::EnvPolicy;
///
/// let policy = EnvPolicy::default().set("PATH", "/opt/fake/bin:/usr/bin");
/// let from = [("PATH", "/usr/bin"), ("CLAUDE_CONFIG_DIR", "/c"), ("DATABASE_URL", "postgres://…")]
///     .map(|(k, v)| (k.into(), v.into()));
/// let passed = policy.resolve(from);
/// assert_eq!(
///     passed,
///     vec![
///         ("CLAUDE_CONFIG_DIR".into(), "/c".into()),
///         ("PATH".into(), "/opt/fake/bin:/usr/bin".into()),
///     ]
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvPolicy {
    /// Names (or `PREFIX*` patterns) copied from this process when set.
    /// Default: [`EnvPolicy::BASE`] plus `ANTHROPIC_API_KEY` and `CLAUDE_*`,
    /// what Claude Code needs to find its binary, its config and its key.
    pub allow: Vec<String>,
    /// Variables set explicitly, whatever this process has. Default none.
    pub set: BTreeMap<String, String>,
}

impl EnvPolicy {
    /// What any command needs to behave like it does in a terminal: PATH,
    /// HOME, LANG, TERM, USER, TMPDIR.
    pub const BASE: [&'static str; 6] = ["PATH", "HOME", "LANG", "TERM", "USER", "TMPDIR"];

    /// Nothing passes; add with [`EnvPolicy::allow`] and [`EnvPolicy::set`].
    pub fn empty() -> Self {
        EnvPolicy {
            allow: Vec::new(),
            set: BTreeMap::new(),
        }
    }

    /// Only [`EnvPolicy::BASE`]: for CLIs that need no credentials from the
    /// environment.
    pub fn base() -> Self {
        EnvPolicy {
            allow: Self::BASE.iter().map(|s| s.to_string()).collect(),
            set: BTreeMap::new(),
        }
    }

    /// Also copies `pattern` (a name, or a prefix followed by `*`).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.allow.push(pattern.into());
        self
    }

    /// Also sets `name` to `value`.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set.insert(name.into(), value.into());
        self
    }

    /// True when a variable called `name` is copied.
    pub fn passes(&self, name: &str) -> bool {
        self.allow
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == pattern,
            })
    }

    /// The child's environment, sorted by name, given this process's
    /// (usually `std::env::vars_os()`). Names that are not UTF-8 never pass.
    pub fn resolve(
        &self,
        from: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        let mut env: BTreeMap<OsString, OsString> = from
            .into_iter()
            .filter(|(name, _)| name.to_str().is_some_and(|n| self.passes(n)))
            .collect();
        for (name, value) in &self.set {
            env.insert(name.into(), value.into());
        }
        env.into_iter().collect()
    }
}

impl Default for EnvPolicy {
    /// [`EnvPolicy::base`] plus `ANTHROPIC_API_KEY` and `CLAUDE_*`.
    fn default() -> Self {
        EnvPolicy::base()
            .allow("ANTHROPIC_API_KEY")
            .allow("CLAUDE_*")
    }
}

/// A command to run with a scrubbed environment, in its own process group,
/// with a timeout. Build with [`ScrubbedCommand::new`].
///
/// ```
/// use std::time::Duration;
/// use hive_core::sandbox::{EnvPolicy, ScrubbedCommand};
/// use tokio_util::sync::CancellationToken;
///
/// # #[tokio::main] async fn main() -> hive_core::Result<()> {
/// let argv = ["/bin/sh", "-c", "echo $HOME; sleep 5"].map(String::from).to_vec();
/// let outcome = ScrubbedCommand::new(argv, "/")?
///     .env(EnvPolicy::empty().set("HOME", "/nowhere"))
///     .timeout(Duration::from_millis(200))
///     .run(&CancellationToken::new())
///     .await?;
/// assert!(outcome.timed_out && !outcome.success());
/// assert_eq!(outcome.stdout, "/nowhere\n");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ScrubbedCommand {
    argv: Vec<String>,
    dir: PathBuf,
    env: EnvPolicy,
    timeout: Duration,
    output_limit: usize,
    isolation: Option<Isolation>,
}

impl ScrubbedCommand {
    /// Default [`ScrubbedCommand::timeout`]: 30 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default [`ScrubbedCommand::output_limit`]: the last 1 MiB of each
    /// stream is kept.
    pub const DEFAULT_OUTPUT_LIMIT: usize = 1024 * 1024;

    /// Runs `argv[0]` with the rest as its arguments, in `dir`, with the
    /// default [`EnvPolicy`], timeout and output limit. The program is looked
    /// up on the PATH the child gets, not on this process's.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `argv` is empty or its program is "".
    pub fn new(argv: Vec<String>, dir: impl Into<PathBuf>) -> Result<Self> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::invalid("a command needs a program to run"));
        }
        Ok(ScrubbedCommand {
            argv,
            dir: dir.into(),
            env: EnvPolicy::default(),
            timeout: Self::DEFAULT_TIMEOUT,
            output_limit: Self::DEFAULT_OUTPUT_LIMIT,
            isolation: None,
        })
    }

    /// Sets which environment variables pass.
    pub fn env(mut self, env: EnvPolicy) -> Self {
        self.env = env;
        self
    }

    /// Sets how long the command may run before its group is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many bytes of each of stdout and stderr are kept (the last
    /// ones: a CLI's verdict comes at the end).
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Runs the command isolated (Linux): in its own user, mount, PID and
    /// (unless [`Isolation::network`]) network namespaces, with everything
    /// but [`Isolation::writable`] read-only and [`Isolation::limits`] set.
    /// If the hive process dies, the command and everything it started
    /// die with it. A command killed by a signal inside (a resource limit)
    /// is reported as a shell reports it: exit code 128 + the signal.
    ///
    /// ```no_run
    /// use hive_core::sandbox::{EnvPolicy, Isolation, Limits, ScrubbedCommand};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # #[tokio::main] async fn main() -> hive_core::Result<()> {
    /// let worktree = "/srv/worktrees/change-42";
    /// let argv = ["cargo", "test", "--offline"].map(String::from).to_vec();
    /// let outcome = ScrubbedCommand::new(argv, worktree)?
    ///     .env(EnvPolicy::base().set("TMPDIR", format!("{worktree}/.tmp")))
    ///     .isolate(Isolation::new([worktree]).limits(Limits {
    ///         cpu_secs: Some(1800),
    ///         ..Limits::default()
    ///     }))
    ///     .run(&CancellationToken::new())
    ///     .await?;
    /// # let _ = outcome; Ok(()) }
    /// ```
    pub fn isolate(mut self, isolation: Isolation) -> Self {
        self.isolation = Some(isolation);
        self
    }

    /// The program and its arguments.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Runs the command to its end, its timeout, or `cancel` firing,
    /// whichever comes first, and then kills what is left of its process
    /// group. Stdin is closed.
    ///
    /// A non-zero exit, a timeout or a cancellation is an `Ok` outcome that
    /// says so: the caller decides what they mean. Isolated, exit code 125
    /// with a `hive-sandbox:` line on stderr means the sandbox could not be
    /// set up and the command did not run.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the program does not exist on the child's
    /// PATH; [`Error::InvalidInput`] when it cannot be started for another
    /// reason (not executable, working directory missing, a writable path
    /// of its [`Isolation`] that is not an absolute path to an existing
    /// directory…); [`Error::NotSupported`] when it is isolated and this
    /// machine cannot isolate it (see [`Isolation::probe`]).
    ///
    /// # Cancellation
    /// Dropping the future kills the process group too.
    pub async fn run(&self, cancel: &CancellationToken) -> Result<ProcessOutcome> {
        let env = self.env.resolve(std::env::vars_os());
        let mut command = match &self.isolation {
            None => {
                let mut command = tokio::process::Command::new(&self.argv[0]);
                command.args(&self.argv[1..]);
                command
            }
            Some(isolation) => {
                Isolation::probe().await?;
                let (unshare, args) = isolation.wrap(&self.argv, &env, &self.dir)?;
                let mut command = tokio::process::Command::new(unshare);
                command.args(args);
                // SAFETY: the hook makes only async-signal-safe system
                // calls and does not allocate (see `Isolation::before_exec`).
                unsafe {
                    command.pre_exec(isolation.before_exec());
                }
                command
            }
        };
        command
            .current_dir(&self.dir)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = self.spawn(&mut command).await?;
        let Some(pid) = child.id() else {
            return Err(Error::invalid(format!(
                "{} exited before it could be watched",
                self.argv[0]
            )));
        };
        // The child leads its own group, so the group id is its pid.
        let mut group = GroupKill {
            pgid: pid,
            armed: true,
        };
        let stdout = Tail::pump(child.stdout.take(), self.output_limit);
        let stderr = Tail::pump(child.stderr.take(), self.output_limit);

        let (status, timed_out, cancelled) = tokio::select! {
            status = child.wait() => (status.ok(), false, false),
            () = tokio::time::sleep(self.timeout) => (None, true, false),
            () = cancel.cancelled() => (None, false, true),
        };
        // Whatever ended the wait, nothing of the group may live on: a CLI's
        // background children would keep working in a worktree that is
        // about to be removed, and keep our pipes open.
        group.kill();
        let status = match status {
            Some(s) => Some(s),
            None => child.wait().await.ok(),
        };
        let duration = started.elapsed();
        Ok(ProcessOutcome {
            pid,
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stdout: stdout.finish().await,
            stderr: stderr.finish().await,
            duration,
            timed_out,
            cancelled,
        })
    }

    /// Spawns, retrying briefly on ETXTBSY: a script written just before
    /// (a fake CLI in a test, a freshly installed one) can still be open for
    /// writing in a process another thread forked meanwhile.
    async fn spawn(&self, command: &mut tokio::process::Command) -> Result<tokio::process::Child> {
        let program = &self.argv[0];
        let mut tries = 0u32;
        loop {
            match command.spawn() {
                Ok(child) => return Ok(child),
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 10 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(tries))).await;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::not_found(
                        "program",
                        format!(
                            "{program} (on the PATH given to it, or its working directory {})",
                            self.dir.display()
                        ),
                    ))
                }
                Err(e) => {
                    return Err(Error::invalid(format!("cannot start {program}: {e}")));
                }
            }
        }
    }
}

/// How a [`ScrubbedCommand`] run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// The process id (and process group id) it ran as: isolated, that of
    /// the `unshare` holding its namespaces.
    pub pid: u32,
    /// Its exit code, when it exited rather than being killed.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// The end of what it printed on stdout (lossy UTF-8).
    pub stdout: String,
    /// The end of what it printed on stderr (lossy UTF-8).
    pub stderr: String,
    /// From spawn to the end of the wait.
    pub duration: Duration,
    /// True when the timeout killed it.
    pub timed_out: bool,
    /// True when the cancellation token killed it.
    pub cancelled: bool,
}

impl ProcessOutcome {
    /// True when it exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }

    /// "exit code 3", "killed by signal 9" — how it ended, for messages.
    pub fn describe_exit(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "an unknown exit status".to_string(),
        }
    }
}

/// Kills a process group when told to, or when dropped armed — the drop
/// covers a task future abandoned at its deadline.
struct GroupKill {
    pgid: u32,
    armed: bool,
}

impl GroupKill {
    fn kill(&mut self) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let Ok(pgid) = libc::pid_t::try_from(self.pgid) else {
            return;
        };
        // SAFETY: kill(2) takes plain integers and touches no memory of
        // ours. A negative pid addresses the group. ESRCH (the group is
        // already gone) is the expected outcome after a clean exit. The
        // group id cannot be reused while any member lives; the window
        // between reaping the leader and this call is the only one in which
        // the id could name a new group, and it is microseconds long.
        let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                tracing::warn!(pgid, error = %e, "could not kill the process group");
            }
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `limit` bytes of a stream, filled by a reader task.
struct Tail {
    buf: Arc<Mutex<VecDeque<u8>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Tail {
    /// How long the readers may take to drain after the group is killed. A
    /// process that left the group (setsid) can hold a pipe open forever.
    const DRAIN: Duration = Duration::from_secs(2);

    fn pump(pipe: Option<impl AsyncRead + Unpin + Send + 'static>, limit: usize) -> Tail {
        let buf = Arc::new(Mutex::new(VecDeque::new()));
        let reader = pipe.map(|mut pipe| {
            let buf = buf.clone();
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 8192];
                while let Ok(n) = pipe.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    let Ok(mut buf) = buf.lock() else { break };
                    buf.extend(&chunk[..n]);
                    let excess = buf.len().saturating_sub(limit);
                    buf.drain(..excess);
                }
            })
        });
        Tail { buf, reader }
    }

    async fn finish(mut self) -> String {
        if let Some(mut reader) = self.reader.take() {
            if tokio::time::timeout(Self::DRAIN, &mut reader)
                .await
                .is_err()
            {
                reader.abort();
            }
        }
        let bytes: Vec<u8> = match self.buf.lock() {
            Ok(mut buf) => buf.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ScrubbedCommand {
        ScrubbedCommand::new(
            vec!["/bin/sh".into(), "-c".into(), script.into()],
            std::env::temp_dir(),
        )
        .map(|c| c.env(EnvPolicy::base()))
        .expect("command")
    }

    #[test]
    fn allow_list_patterns_match_names_and_prefixes() {
        let policy = EnvPolicy::default();
        assert!(policy.passes("PATH") && policy.passes("CLAUDE_CODE_X"));
        assert!(policy.passes("ANTHROPIC_API_KEY"));
        assert!(!policy.passes("ANTHROPIC_BASE_URL") && !policy.passes("PATHX"));
        assert!(!EnvPolicy::empty().passes("PATH"));
    }

    #[tokio::test]
    async fn output_keeps_the_tail_and_the_exit_code() {
        let out = sh("printf 'abcdefghij'; echo oops >&2; exit 3")
            .output_limit(4)
            .run(&CancellationToken::new())
            .await
            .expect("command");
        assert_eq!(out.stdout, "ghij");
        assert_eq!(out.stderr, "ops\n");
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.describe_exit(), "exit code 3");
        assert!(!out.success());
    }

    #[tokio::test]
    async fn cancellation_kills_the_command() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.cancel();
        });
        let out = sh("sleep 30").run(&cancel).await.expect("command");
        assert!(out.cancelled && !out.timed_out);
        assert_eq!(out.signal, Some(libc::SIGKILL));
        assert!(out.duration < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_or_an_empty_argv_is_an_error() {
        let missing = ScrubbedCommand::new(vec!["hive-no-such-cli".into()], std::env::temp_dir())
            .expect("command")
            .run(&CancellationToken::new())
            .await;
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
        assert!(matches!(
            ScrubbedCommand::new(Vec::new(), "/"),
            Err(Error::InvalidInput(_))
        ));
    }
}
