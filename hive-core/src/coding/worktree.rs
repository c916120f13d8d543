//! A fresh git worktree per task attempt: [`Worktrees`] creates one on a
//! new branch at the base branch's head *as it is now*, reports what
//! changed in it, and removes it per [`WorktreePolicy`].
//!
//! Two coding agents must never share a checkout, and an agent must start
//! from the code as it is when its task starts — not from the commit the
//! base pointed at when the fleet was started (Claude Code's own
//! worktrees had exactly this bug, claude-code#53025). So the base is
//! resolved with `git rev-parse` at creation time and the worktree is made
//! at that commit, by its id.
//!
//! Git is driven through its CLI (`tokio::process`), not `git2`: libgit2
//! would add a C build (and OpenSSL for fetching) to every build of the
//! crate, while every machine that runs a coding CLI already has `git`, and
//! the worktree subcommands are git's own reference behaviour.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::queue::TaskId;

/// What to do with a task's worktree when its attempt ends.
///
/// Removing a worktree deletes its directory; its branch is deleted too
/// unless it holds commits beyond its base — those are the agent's work,
/// and a branch costs nothing to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WorktreePolicy {
    /// Keep every worktree.
    Keep,
    /// Remove every worktree.
    Remove,
    /// Remove the worktrees of successful attempts; keep failed ones for
    /// inspection. The default.
    #[default]
    RemoveOnSuccess,
}

impl WorktreePolicy {
    /// Whether the worktree of an attempt that did (or did not) succeed is
    /// removed.
    pub fn removes(self, succeeded: bool) -> bool {
        match self {
            WorktreePolicy::Keep => false,
            WorktreePolicy::Remove => true,
            WorktreePolicy::RemoveOnSuccess => succeeded,
        }
    }
}

/// Where worktrees go and how the base is resolved. Defaults per field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorktreesConfig {
    /// The directory worktrees are created in. Default
    /// `<repository>/.hive-worktrees`, which is then added to the
    /// repository's `.git/info/exclude` so the checkouts never show up (or
    /// get added) in the main working tree.
    pub root: Option<PathBuf>,
    /// A remote to fetch the base branch from before each worktree is
    /// created; the worktree then starts at `<remote>/<base>`. Default
    /// `None`: the local branch is the base, and nothing touches the
    /// network — in a hive whose agents commit locally, the local branch
    /// is the freshest there is.
    pub fetch_remote: Option<String>,
}

/// A task attempt's checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worktree {
    /// Its directory.
    pub path: PathBuf,
    /// Its branch, `hive/<task id short>-<attempt>`.
    pub branch: String,
    /// The base branch it was made from, as named by the task.
    pub base: String,
    /// The commit the base pointed at when the worktree was made.
    pub base_commit: String,
}

/// The worktrees of one repository.
///
/// ```no_run
/// use hive_core::coding::{WorktreePolicy, Worktrees, WorktreesConfig};
/// use hive_core::queue::TaskId;
///
/// # async fn run() -> hive_core::Result<()> {
/// let worktrees = Worktrees::open("/src/my-project", WorktreesConfig::default()).await?;
/// let wt = worktrees.create(TaskId::new(), 1, "main").await?;
/// // … work in wt.path …
/// let changed = worktrees.changed_files(&wt).await?;
/// if WorktreePolicy::default().removes(!changed.is_empty()) {
///     worktrees.remove(&wt).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Worktrees {
    repo: PathBuf,
    root: PathBuf,
    fetch_remote: Option<String>,
}

/// The longest a git command may take; past it, git is killed and the
/// operation fails (a fetch over a dead network must not hang a task).
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

impl Worktrees {
    /// The worktrees of the repository that contains `repo`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `repo` is not inside a (non-bare) git
    /// repository, the remote name is unusable, or the root cannot be
    /// created.
    pub async fn open(repo: impl AsRef<Path>, config: WorktreesConfig) -> Result<Self> {
        let given = repo.as_ref();
        if !given.is_dir() {
            return Err(Error::invalid(format!(
                "repository {} is not a directory",
                given.display()
            )));
        }
        let top = git(given, ["rev-parse", "--show-toplevel"])
            .await
            .map_err(|e| {
                Error::invalid(format!(
                    "{} is not a git repository with a working tree: {e}",
                    given.display()
                ))
            })?;
        let repo = PathBuf::from(top.trim_end_matches('\n'));
        if let Some(remote) = &config.fetch_remote {
            if remote.is_empty() || remote.starts_with('-') {
                return Err(Error::invalid(format!("unusable remote name {remote:?}")));
            }
        }
        let root = match config.root {
            Some(root) => root,
            None => {
                let root = repo.join(".hive-worktrees");
                exclude(&repo, "/.hive-worktrees/").await?;
                root
            }
        };
        tokio::fs::create_dir_all(&root).await.map_err(|e| {
            Error::invalid(format!(
                "cannot create the worktree root {}: {e}",
                root.display()
            ))
        })?;
        Ok(Worktrees {
            repo,
            root,
            fetch_remote: config.fetch_remote,
        })
    }

    /// The repository's top-level directory.
    pub fn repo(&self) -> &Path {
        &self.repo
    }

    /// The directory worktrees are created in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The commit `base` points at now (after fetching it, when a remote is
    /// configured).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name that is not a valid branch name;
    /// [`Error::NotFound`] when there is no such branch; a backend error
    /// when the fetch fails.
    pub async fn resolve_base(&self, base: &str) -> Result<String> {
        // The `refs/heads/` prefix keeps a name such as `--help` from being
        // read as an option anywhere below.
        let local = format!("refs/heads/{base}");
        if git(&self.repo, ["check-ref-format", local.as_str()])
            .await
            .is_err()
        {
            return Err(Error::invalid(format!(
                "{base:?} is not a valid branch name"
            )));
        }
        let reference = match &self.fetch_remote {
            None => local,
            Some(remote) => {
                let refspec = format!("+{local}:refs/remotes/{remote}/{base}");
                git(&self.repo, ["fetch", "--quiet", remote, refspec.as_str()])
                    .await
                    .map_err(|e| match e {
                        Error::Backend { source, .. } => Error::backend(
                            "git",
                            format!("fetching {base} from {remote}: {source}"),
                        ),
                        e => e,
                    })?;
                format!("refs/remotes/{remote}/{base}")
            }
        };
        let commit = format!("{reference}^{{commit}}");
        match git(
            &self.repo,
            ["rev-parse", "--verify", "--quiet", commit.as_str()],
        )
        .await
        {
            Ok(sha) => Ok(sha.trim().to_string()),
            Err(_) => Err(Error::not_found(
                "base branch",
                format!("{base} in {}", self.repo.display()),
            )),
        }
    }

    /// A new worktree for attempt `attempt` of task `task`, on a new branch
    /// at the current head of `base`.
    ///
    /// # Errors
    /// As [`Worktrees::resolve_base`]; a backend error when git cannot make
    /// the worktree.
    pub async fn create(&self, task: TaskId, attempt: u32, base: &str) -> Result<Worktree> {
        let base_commit = self.resolve_base(base).await?;
        // The end of a v7 UUID is its random part; the start is a timestamp
        // shared by every task submitted in the same minute.
        let id = task.0.simple().to_string();
        let short = &id[id.len() - 12..];
        let mut name = format!("{short}-{attempt}");
        // A released attempt keeps its number, so the same name can come
        // round again while the first one's worktree is still kept.
        for n in 2..=100 {
            let taken = self.root.join(&name).exists()
                || git(
                    &self.repo,
                    [
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        &format!("refs/heads/hive/{name}"),
                    ],
                )
                .await
                .is_ok();
            if !taken {
                break;
            }
            name = format!("{short}-{attempt}-{n}");
        }
        let branch = format!("hive/{name}");
        let path = self.root.join(&name);
        git_os(
            &self.repo,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("--quiet"),
                OsStr::new("-b"),
                OsStr::new(&branch),
                path.as_os_str(),
                OsStr::new(&base_commit),
            ],
        )
        .await?;
        Ok(Worktree {
            path,
            branch,
            base: base.to_string(),
            base_commit,
        })
    }

    /// The commit the worktree's HEAD points at.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub async fn head(&self, worktree: &Worktree) -> Result<String> {
        Ok(git(&worktree.path, ["rev-parse", "HEAD"])
            .await?
            .trim()
            .to_string())
    }

    /// Every path that differs from the base commit, committed or not,
    /// untracked files included (ignored ones not), sorted.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub async fn changed_files(&self, worktree: &Worktree) -> Result<Vec<String>> {
        let diff = git(
            &worktree.path,
            [
                "diff",
                "--name-only",
                "--no-renames",
                "-z",
                worktree.base_commit.as_str(),
                "--",
            ],
        )
        .await?;
        let untracked = git(
            &worktree.path,
            ["ls-files", "--others", "--exclude-standard", "-z"],
        )
        .await?;
        let mut files: Vec<String> = diff
            .split('\0')
            .chain(untracked.split('\0'))
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Commits everything in the worktree (untracked files included,
    /// ignored ones not) as `author`, skipping hooks and signing: this is a
    /// snapshot of an agent's work for a person or another agent to review,
    /// not a commit that must pass the repository's gates. Returns the new
    /// commit, or `None` when there was nothing to commit.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub async fn commit_all(
        &self,
        worktree: &Worktree,
        author: &str,
        message: &str,
    ) -> Result<Option<String>> {
        if git(&worktree.path, ["status", "--porcelain", "-z"])
            .await?
            .is_empty()
        {
            return Ok(None);
        }
        git(&worktree.path, ["add", "--all"]).await?;
        let name = format!("user.name={author}");
        git(
            &worktree.path,
            [
                "-c",
                name.as_str(),
                "-c",
                "user.email=agent-hive@localhost",
                "-c",
                "commit.gpgsign=false",
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                message,
            ],
        )
        .await?;
        self.head(worktree).await.map(Some)
    }

    /// Removes the worktree's directory (changes in it are lost) and its
    /// branch when the branch holds no commits beyond the base.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub async fn remove(&self, worktree: &Worktree) -> Result<()> {
        git_os(
            &self.repo,
            [
                OsStr::new("worktree"),
                OsStr::new("remove"),
                OsStr::new("--force"),
                worktree.path.as_os_str(),
            ],
        )
        .await?;
        let reference = format!("refs/heads/{}", worktree.branch);
        let head = git(
            &self.repo,
            ["rev-parse", "--verify", "--quiet", reference.as_str()],
        )
        .await;
        if head.is_ok_and(|h| h.trim() == worktree.base_commit) {
            git(
                &self.repo,
                ["branch", "--quiet", "-D", worktree.branch.as_str()],
            )
            .await?;
        }
        Ok(())
    }
}

/// Adds `pattern` to the repository's `info/exclude` unless it is there.
async fn exclude(repo: &Path, pattern: &str) -> Result<()> {
    let common = git(repo, ["rev-parse", "--git-common-dir"]).await?;
    let common = repo.join(common.trim_end_matches('\n'));
    let info = common.join("info");
    let file = info.join("exclude");
    let current = tokio::fs::read_to_string(&file).await.unwrap_or_default();
    if current.lines().any(|l| l.trim() == pattern) {
        return Ok(());
    }
    let mut updated = current;
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(pattern);
    updated.push('\n');
    let write = async {
        tokio::fs::create_dir_all(&info).await?;
        tokio::fs::write(&file, updated).await
    };
    write.await.map_err(|e| {
        Error::invalid(format!(
            "cannot add the worktree root to {}: {e}",
            file.display()
        ))
    })
}

async fn git<const N: usize>(dir: &Path, args: [&str; N]) -> Result<String> {
    git_os(dir, args.map(OsStr::new)).await
}

/// Runs git in `dir` and returns its stdout; a failure carries its stderr.
/// Variables that would point git at another repository are removed (a
/// hive started from a git hook inherits them), and git may not prompt.
async fn git_os<const N: usize>(dir: &Path, args: [&OsStr; N]) -> Result<String> {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let what = || {
        let args: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        format!("git {}", args.join(" "))
    };
    let output = match tokio::time::timeout(GIT_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(Error::backend("git", format!("{}: {e}", what()))),
        Err(_) => {
            return Err(Error::backend(
                "git",
                format!("{} took longer than {GIT_TIMEOUT:?}", what()),
            ))
        }
    };
    if !output.status.success() {
        return Err(Error::backend(
            "git",
            format!(
                "{} failed ({}): {}",
                what(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_keeps_failed_worktrees() {
        assert_eq!(WorktreePolicy::default(), WorktreePolicy::RemoveOnSuccess);
        assert!(WorktreePolicy::RemoveOnSuccess.removes(true));
        assert!(!WorktreePolicy::RemoveOnSuccess.removes(false));
        assert!(WorktreePolicy::Remove.removes(false));
        assert!(!WorktreePolicy::Keep.removes(true));
    }
}
