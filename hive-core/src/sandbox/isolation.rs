//! [`Isolation`]: what a [`ScrubbedCommand`](super::ScrubbedCommand) may
//! reach besides its scrubbed environment — no network, a read-only
//! filesystem except the directories it is given, and resource limits.
//!
//! The self-modifier runs code a model wrote: a change's tests, its build,
//! its benchmark. A scrubbed environment keeps the hive's keys out of that
//! code's reach, but not the network, the rest of the disk (other
//! worktrees, the hive's own files) or the machine's CPU and memory. Docker
//! would give all of that, and is not something every host running a hive
//! has; Linux user namespaces give it to an unprivileged process with
//! util-linux's `unshare`, which every distribution ships.
//!
//! The command runs as `unshare --user --map-root-user --mount --pid
//! --fork --kill-child --mount-proc [--net] sh -c SCRIPT …`. The script
//! binds each writable directory onto itself (recursively), remounts every
//! other mount read-only, checks that none of them is still writable (and
//! refuses to run the command if one is), brings up the loopback interface
//! of the fresh network namespace when `ip` is installed (so tests that
//! serve on 127.0.0.1 work; nothing outside the namespace is reachable
//! either way), and then runs the command as its child. The paths travel
//! as positional arguments, never inside the script's text. Resource limits
//! are set with `setrlimit` in the child before `unshare` is executed, so
//! everything it starts inherits them.
//!
//! When `unshare` is killed — its process group is killed on every way out
//! of [`ScrubbedCommand::run`](super::ScrubbedCommand::run), and it gets
//! SIGKILL if the hive itself dies — `--kill-child` kills the namespace's
//! first process, and the kernel then kills every process of the PID
//! namespace, including those that left the process group.
//!
//! The shell stays the namespace's first process (its init) rather than
//! exec'ing the command: an init ignores the signals it has no handler for
//! when they come from inside its namespace (SIGPIPE, SIGTERM, SIGXFSZ…),
//! and a test suite run as one would not behave as it does elsewhere. The
//! shell exits with the command's status, so a command killed by signal N
//! ends with exit code 128 + N, as in a shell. (`unshare` 2.38 could not
//! pass SIGKILL on anyway: it fails with "sigprocmask unblock failed".)
//!
//! What this does not cover:
//! - Read-only is not hidden: files this user can read (dotfiles, keys on
//!   disk) stay readable.
//! - Unix sockets on the filesystem (`/run/…`, `/tmp/…`) can still be
//!   connected to: a read-only mount does not stop `connect(2)`.
//! - [`Limits::processes`] is `RLIMIT_NPROC`, which the kernel does not
//!   enforce for root, and counts all of the user's processes otherwise.
//! - The parent-death signal is tied to the thread that spawned the
//!   command: if that thread ends while the command runs (a tokio worker
//!   lives as long as its runtime; a blocking-pool thread may not), the
//!   command is killed.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Resource limits applied with `setrlimit` in the child before exec, so
/// everything it starts inherits them. Each is set as both the soft and the
/// hard limit (the command cannot raise it again), capped at the hard limit
/// this process already has. `None` leaves a limit as it is.
///
/// ```
/// use hive_core::sandbox::Limits;
///
/// let limits: Limits = serde_json::from_str(r#"{ "cpu_secs": 600 }"#)?;
/// assert_eq!(limits, Limits { cpu_secs: Some(600), ..Limits::default() });
/// assert!(serde_json::from_str::<Limits>(r#"{ "cpu": 600 }"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// CPU seconds per process (`RLIMIT_CPU`); a process that uses them
    /// all is killed with SIGKILL.
    pub cpu_secs: Option<u64>,
    /// Address space per process in bytes (`RLIMIT_AS`): virtual memory,
    /// not resident memory, so a program that reserves much more than it
    /// touches (a JVM, a Go binary, sanitizers) needs room above its real
    /// use.
    pub memory_bytes: Option<u64>,
    /// The largest file a process may write, in bytes (`RLIMIT_FSIZE`); a
    /// write past it gets SIGXFSZ, which kills by default.
    pub file_size_bytes: Option<u64>,
    /// Processes of the user (`RLIMIT_NPROC`). The kernel does not enforce
    /// it for root, and for other users it counts all of their processes,
    /// not only the command's.
    pub processes: Option<u64>,
}

/// What a sandboxed command may reach; give it to
/// [`ScrubbedCommand::isolate`](super::ScrubbedCommand::isolate).
///
/// Linux only: it needs a kernel that lets this user create user, mount,
/// PID and network namespaces, and util-linux's `unshare` (see
/// [`Isolation::probe`]).
///
/// Everything outside [`Isolation::writable`] is read-only, `/tmp`
/// included: a build that needs a temporary directory gets one in
/// `writable`, with `TMPDIR` pointing at it. Device files such as
/// `/dev/null` stay writable.
///
/// ```
/// use hive_core::sandbox::{Isolation, Limits};
///
/// let isolation = Isolation::new(["/srv/worktrees/change-42"])
///     .limits(Limits { cpu_secs: Some(600), ..Limits::default() });
/// assert!(!isolation.network);
/// assert_eq!(isolation.writable.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Isolation {
    /// Directories the command may write in, with everything below them.
    /// Each must be an absolute path to an existing directory (it is
    /// canonicalized when the command runs).
    pub writable: Vec<PathBuf>,
    /// True to share this process's network; false (the default) gives the
    /// command a fresh, empty network namespace with only a loopback
    /// interface.
    pub network: bool,
    /// Resource limits.
    pub limits: Limits,
}

/// Arguments of `unshare` before the namespaces that depend on
/// [`Isolation::network`].
const UNSHARE_FLAGS: [&str; 7] = [
    "--user",
    "--map-root-user",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
];

/// Where `unshare` and `sh` are looked for before the child's PATH: a PATH
/// that names a directory of the worktree must not be able to replace them.
const UNSHARE_AT: [&str; 2] = ["/usr/bin/unshare", "/bin/unshare"];
const SH_AT: [&str; 2] = ["/bin/sh", "/usr/bin/sh"];

/// The search path `sh` uses for the command when the child has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs inside the namespaces, as `sh -c SCRIPT hive-sandbox NET PWD
/// OLDPWD N W1 … WN COMMAND…`: NET is `isolated` or `shared`; PWD and
/// OLDPWD are `+value` or empty for unset (what the command's environment
/// holds: `sh` sets both when it changes directory); N writable
/// directories follow, then the command, run in a subshell that execs it
/// (so a program called like one of the script's functions or a shell
/// builtin is still the program). Exit code 125 with a `hive-sandbox:`
/// line on stderr means the sandbox could not be set up and the command
/// did not run.
///
/// The mount table is read from /proc/self/mountinfo, whose paths escape
/// space, tab, newline and backslash as octal (`\040`); mounts stacked
/// under another at the same path, and everything below them, are hidden
/// and skipped.
const SCRIPT: &str = r#"
net=$1 pwd_was=$2 oldpwd_was=$3 n=$4
shift 4
user_path=${PATH-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin${user_path:+:$user_path}
fail() {
  printf 'hive-sandbox: %s\n' "$1" >&2
  exit 125
}
under_writable() {
  j=1
  while [ "$j" -le "$n" ]; do
    eval "w=\${$((j + 1))}"
    case "$1/" in "${w%/}/"*) return 0 ;; esac
    j=$((j + 1))
  done
  return 1
}
mounts() {
  awk -v only_rw="$1" '
    function decode(s,  out, i) {
      out = ""
      while ((i = index(s, "\\")) > 0) {
        out = out substr(s, 1, i - 1) sprintf("%c", substr(s, i + 1, 1) * 64 + substr(s, i + 2, 1) * 8 + substr(s, i + 3, 1))
        s = substr(s, i + 4)
      }
      return out s
    }
    {
      id[NR] = $1; parent[NR] = $2; at[NR] = decode($5); rw[NR] = ($6 ~ /^rw(,|$)/)
      row[$1] = NR
      if ($1 != $2) stacked[$2 SUBSEP at[NR]] = 1
    }
    END {
      for (r = 1; r <= NR; r++) {
        hidden = 0
        for (k = r; !hidden; k = row[parent[k]]) {
          if ((id[k] SUBSEP at[k]) in stacked) hidden = 1
          if (!(parent[k] in row) || parent[k] == id[k] || ++depth > NR) break
        }
        depth = 0
        if (!hidden && (only_rw == "" || rw[r])) print at[r]
      }
    }' /proc/self/mountinfo | sort -u
}
i=1
while [ "$i" -le "$n" ]; do
  eval "w=\${$i}"
  mount --rbind -- "$w" "$w" || fail "cannot bind $w onto itself"
  i=$((i + 1))
done
mounts "" | while IFS= read -r m; do
  under_writable "$m" "$@" || mount -o remount,bind,ro -- "$m" 2>/dev/null
done
left=$(mounts rw | while IFS= read -r m; do under_writable "$m" "$@" || printf ' %s' "$m"; done)
[ -z "$left" ] || fail "could not make these mounts read-only:$left"
if [ "$net" = isolated ] && command -v ip >/dev/null 2>&1; then
  ip link set lo up 2>/dev/null
fi
here=$(pwd -P) && cd -P -- "$here" || fail "cannot enter the working directory again"
case $pwd_was in +*) PWD=${pwd_was#+}; export PWD ;; *) unset PWD ;; esac
case $oldpwd_was in +*) OLDPWD=${oldpwd_was#+}; export OLDPWD ;; *) unset OLDPWD ;; esac
PATH=$user_path
shift "$n"
(exec "$@")
exit "$?"
"#;

impl Isolation {
    /// No network, no limits, and only `writable` (with everything below)
    /// writable.
    pub fn new(writable: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        Isolation {
            writable: writable.into_iter().map(Into::into).collect(),
            network: false,
            limits: Limits::default(),
        }
    }

    /// Sets whether the command shares this process's network.
    pub fn network(mut self, allowed: bool) -> Self {
        self.network = allowed;
        self
    }

    /// Sets the resource limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Checks that this machine can isolate a command: that `unshare` is
    /// installed and the kernel lets this user create the namespaces and
    /// make the filesystem read-only in them. It runs an isolated `sh -c :`
    /// the way [`ScrubbedCommand::run`](super::ScrubbedCommand::run) would,
    /// once per process; later calls give the first answer.
    ///
    /// # Errors
    /// [`Error::NotSupported`] saying what was refused (`unshare`'s own
    /// words, or that it is not installed) — a policy that must run
    /// anyway opts out of isolation explicitly.
    pub async fn probe() -> Result<()> {
        static ANSWER: OnceLock<std::result::Result<(), String>> = OnceLock::new();
        let answer = match ANSWER.get() {
            Some(answer) => answer,
            None => {
                let answer = probe_once().await;
                ANSWER.get_or_init(|| answer)
            }
        };
        match answer {
            Ok(()) => Ok(()),
            Err(why) => Err(Error::NotSupported {
                operation: why.as_str(),
                backend: "host",
            }),
        }
    }

    /// The program and arguments that run `argv` isolated, in `dir`, with
    /// the child environment `env`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a writable path that is not an absolute
    /// path to an existing directory; [`Error::NotFound`] when `argv[0]`
    /// is not on the child's PATH; [`Error::NotSupported`] when `unshare`
    /// or `sh` cannot be found.
    pub(super) fn wrap(
        &self,
        argv: &[String],
        env: &[(OsString, OsString)],
        dir: &Path,
    ) -> Result<(PathBuf, Vec<OsString>)> {
        let writable = self
            .writable
            .iter()
            .map(|path| writable_dir(path))
            .collect::<Result<Vec<_>>>()?;
        let var = |name: &str| {
            env.iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.as_os_str())
        };
        let path = var("PATH");
        let Some(program) = argv.first() else {
            return Err(Error::invalid("a command needs a program to run"));
        };
        if resolve_program(program, path, dir).is_none() {
            return Err(Error::not_found(
                "program",
                format!(
                    "{program} (on the PATH given to it, or its working directory {})",
                    dir.display()
                ),
            ));
        }
        let missing = |tool: &str, package: &str| Error::NotSupported {
            operation: missing_tool(tool, package),
            backend: "host",
        };
        let unshare = find_tool("unshare", &UNSHARE_AT, path)
            .ok_or_else(|| missing("unshare", "util-linux"))?;
        let sh = find_tool("sh", &SH_AT, path).ok_or_else(|| missing("sh", "a POSIX shell"))?;

        let was = |name: &str| match var(name) {
            Some(value) => {
                let mut spec = OsString::from("+");
                spec.push(value);
                spec
            }
            None => OsString::new(),
        };
        let mut args: Vec<OsString> = UNSHARE_FLAGS.iter().map(OsString::from).collect();
        if !self.network {
            args.push("--net".into());
        }
        args.extend([sh.into_os_string(), "-c".into(), SCRIPT.into()]);
        args.extend([
            "hive-sandbox".into(),
            (if self.network { "shared" } else { "isolated" }).into(),
            was("PWD"),
            was("OLDPWD"),
            writable.len().to_string().into(),
        ]);
        args.extend(writable.into_iter().map(PathBuf::into_os_string));
        args.extend(argv.iter().map(OsString::from));
        Ok((unshare, args))
    }

    /// What the child runs between fork and exec: the parent-death signal,
    /// then the limits. Only async-signal-safe calls (`prctl`, `getppid`,
    /// `getrlimit`, `setrlimit`), no allocation.
    pub(super) fn before_exec(
        &self,
    ) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
        let limits = self.limits.clone();
        let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        move || {
            #[cfg(target_os = "linux")]
            {
                // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid take and
                // return plain integers. If the hive dies, `unshare` gets
                // SIGKILL, and --kill-child takes the namespace with it.
                let rc = unsafe {
                    libc::prctl(
                        libc::PR_SET_PDEATHSIG,
                        libc::SIGKILL as libc::c_ulong,
                        0 as libc::c_ulong,
                        0 as libc::c_ulong,
                        0 as libc::c_ulong,
                    )
                };
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died between fork and prctl: nobody would
                // ever kill this command.
                if unsafe { libc::getppid() } != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            let set = |resource, value: Option<u64>| -> std::io::Result<()> {
                let Some(value) = value else { return Ok(()) };
                let mut current = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: getrlimit and setrlimit read and write only the
                // rlimit structs on this stack.
                if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let wanted = libc::rlim_t::try_from(value).unwrap_or(libc::RLIM_INFINITY);
                let limit = wanted.min(current.rlim_max);
                let new = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if unsafe { libc::setrlimit(resource, &new) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            set(libc::RLIMIT_CPU, limits.cpu_secs)?;
            set(libc::RLIMIT_AS, limits.memory_bytes)?;
            set(libc::RLIMIT_FSIZE, limits.file_size_bytes)?;
            set(libc::RLIMIT_NPROC, limits.processes)?;
            Ok(())
        }
    }
}

/// The probe behind [`Isolation::probe`]: an isolated `sh -c :` with this
/// process's PATH, run to its end. `Err` holds what to tell the caller.
async fn probe_once() -> std::result::Result<(), String> {
    const OPT_OUT: &str = "a policy can opt out of isolation explicitly";
    if !cfg!(target_os = "linux") {
        return Err(format!(
            "isolating a command (it needs Linux namespaces; {OPT_OUT})"
        ));
    }
    let env: Vec<(OsString, OsString)> = std::env::var_os("PATH")
        .map(|path| ("PATH".into(), path))
        .into_iter()
        .collect();
    let path = env.first().map(|(_, value)| value.as_os_str());
    let Some(sh) = find_tool("sh", &SH_AT, path) else {
        return Err(format!("isolating a command (sh not found; {OPT_OUT})"));
    };
    let argv = [sh.to_string_lossy().into_owned(), "-c".into(), ":".into()];
    let (program, args) =
        match Isolation::new(Vec::<PathBuf>::new()).wrap(&argv, &env, Path::new("/")) {
            Ok(wrapped) => wrapped,
            Err(Error::NotSupported { operation, .. }) => return Err(operation.to_string()),
            Err(e) => return Err(format!("isolating a command ({e}; {OPT_OUT})")),
        };
    let run = tokio::process::Command::new(&program)
        .args(&args)
        .current_dir("/")
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(format!(
                "isolating a command ({} could not start: {e}; {OPT_OUT})",
                program.display()
            ))
        }
        Err(_) => {
            return Err(format!(
                "isolating a command (the probe through {} did not finish in 30 s; {OPT_OUT})",
                program.display()
            ))
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said.trim();
    Err(format!(
        "isolating a command (the kernel or {} refused: {}; {OPT_OUT})",
        program.display(),
        if said.is_empty() {
            format!("{}", output.status)
        } else {
            said.to_string()
        },
    ))
}

/// The message of [`Error::NotSupported`] for a missing tool, made once per
/// process and tool (the error wants a `&'static str`).
fn missing_tool(tool: &str, package: &str) -> &'static str {
    static UNSHARE: OnceLock<String> = OnceLock::new();
    static SH: OnceLock<String> = OnceLock::new();
    let cell = if tool == "unshare" { &UNSHARE } else { &SH };
    cell.get_or_init(|| {
        format!(
            "isolating a command ({tool} not found: install {package}; a policy can opt out of \
             isolation explicitly)"
        )
    })
}

/// `path` canonicalized, when it is an absolute path to a directory whose
/// canonical name the sandbox script can pass through the mount table.
fn writable_dir(path: &Path) -> Result<PathBuf> {
    if !path.is_absolute() {
        return Err(Error::invalid(format!(
            "writable path {} is not absolute",
            path.display()
        )));
    }
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| Error::invalid(format!("writable path {}: {e}", path.display())))?;
    if !canonical.is_dir() {
        return Err(Error::invalid(format!(
            "writable path {} is not a directory",
            path.display()
        )));
    }
    if canonical.as_os_str().as_bytes().contains(&b'\n') {
        return Err(Error::invalid(format!(
            "writable path {} holds a newline",
            path.display()
        )));
    }
    Ok(canonical)
}

/// The first of `trusted` that is an executable file, else `name` on
/// `path`.
fn find_tool(name: &str, trusted: &[&str], path: Option<&OsStr>) -> Option<PathBuf> {
    trusted
        .iter()
        .map(PathBuf::from)
        .find(|p| is_executable(p))
        .or_else(|| resolve_program(name, path, Path::new("/")).filter(|p| p.is_absolute()))
}

/// Where `program` would be found by a shell with search path `path` (a
/// default one when `None`) running in `dir`.
fn resolve_program(program: &str, path: Option<&OsStr>, dir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let candidate = dir.join(program);
        return is_executable(&candidate).then_some(candidate);
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    std::env::split_paths(path)
        .map(|entry| dir.join(entry).join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn paths_travel_as_arguments_after_the_script() {
        let dir = tempfile::tempdir().expect("temp dir");
        let odd = dir.path().join("it's a \"dir\" $(x)");
        std::fs::create_dir(&odd).expect("dir");
        let argv = ["sh", "-c", "echo hi"].map(String::from);
        let (program, args) = Isolation::new([&odd])
            .wrap(
                &argv,
                &env(&[("PATH", "/usr/bin:/bin"), ("PWD", "/w")]),
                Path::new("/"),
            )
            .expect("wrap");
        assert!(program.ends_with("unshare"), "{program:?}");
        assert!(args.iter().any(|a| a == "--net"));
        let script = args.iter().position(|a| a == SCRIPT).expect("script");
        let tail: Vec<OsString> = args[script + 1..].to_vec();
        let canonical = std::fs::canonicalize(&odd).expect("canonical");
        let expected: Vec<OsString> = vec![
            "hive-sandbox".into(),
            "isolated".into(),
            "+/w".into(),
            "".into(),
            "1".into(),
            canonical.into_os_string(),
            "sh".into(),
            "-c".into(),
            "echo hi".into(),
        ];
        assert_eq!(tail, expected);
        let shared = Isolation::new(Vec::<PathBuf>::new())
            .network(true)
            .wrap(&argv, &env(&[]), Path::new("/"))
            .expect("wrap");
        assert!(!shared.1.iter().any(|a| a == "--net"));
    }

    #[test]
    fn writable_paths_must_be_absolute_existing_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").expect("file");
        let argv = ["sh".to_string()];
        for bad in [PathBuf::from("relative"), dir.path().join("missing"), file] {
            let e = Isolation::new([&bad])
                .wrap(&argv, &env(&[]), Path::new("/"))
                .expect_err("refused");
            assert!(
                matches!(&e, Error::InvalidInput(m) if m.contains(&*bad.to_string_lossy())),
                "{e:?}"
            );
        }
    }

    #[test]
    fn the_program_is_looked_up_on_the_childs_path() {
        let none = Isolation::new(Vec::<PathBuf>::new()).wrap(
            &["hive-no-such-program".to_string()],
            &env(&[("PATH", "/usr/bin:/bin")]),
            Path::new("/"),
        );
        assert!(matches!(none, Err(Error::NotFound { .. })), "{none:?}");
        assert!(resolve_program("sh", Some(OsStr::new("/nowhere:/bin")), Path::new("/")).is_some());
        assert!(resolve_program("sh", Some(OsStr::new("/nowhere")), Path::new("/")).is_none());
    }
}
