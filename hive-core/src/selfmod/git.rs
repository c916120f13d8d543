//! Version control for the self-modifier, through `git2`: worktrees made
//! from a freshly resolved base, patches applied and snapshots committed in
//! them, diffs and file contents read from commits, rollback tags, the
//! compare-and-swap fast-forward of the target branch and the automatic
//! revert commit.
//!
//! The self-modifier changes the code the hive itself runs from, so one
//! rule holds for everything here: nothing touches the repository's own
//! working tree, index or checked-out branch except the final move of the
//! target branch ([`Repo::fast_forward`], [`Repo::revert`]). Every edit
//! happens in a linked worktree ([`Repo::apply_patch`], [`Repo::snapshot`]
//! and [`Repo::restore_files`] refuse anything else); a branch is only ever
//! moved with a compare-and-swap on the commit it was seen at, so a
//! concurrent move by someone else is a [`Error::Conflict`], never lost
//! work; and when the target branch is the one checked out in the main
//! working tree, that tree is updated the way `git merge --ff-only` would —
//! and only when it is clean.
//!
//! `coding::worktree` drives the `git` CLI instead; this module uses
//! libgit2 because it needs what the CLI offers only through porcelain to
//! parse: patches parsed and applied atomically, in-memory reverts,
//! reference compare-and-swap. `git2` is built without network support.
//!
//! Everything is synchronous (libgit2 blocks): async callers wrap calls in
//! `spawn_blocking`. [`Repo`] holds only a path and opens the repository
//! per call, so it is cheap to clone and can cross threads.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use git2::{
    ApplyLocation, BranchType, Commit, Delta, Diff, DiffFindOptions, DiffOptions, ErrorClass,
    ErrorCode, FileMode, IndexAddOption, ObjectType, Oid, Patch, Reference, Repository, Signature,
    StatusOptions, WorktreeAddOptions, WorktreePruneOptions,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest excerpt of a patch-derived message an error carries: patches
/// may be large, and a message is for a log line.
const CLIP: usize = 200;

/// A git repository the self-modifier works on.
///
/// It stores the repository's common git directory, so a `Repo` opened
/// from a linked worktree still means the repository as a whole, and its
/// "main working tree" is the one `git worktree list` prints first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    git_dir: PathBuf,
}

/// How a file changed between two commits.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The file is new.
    Added,
    /// The file's content or mode changed.
    Modified,
    /// The file is gone.
    Deleted,
    /// The file moved (and may have changed too); see
    /// [`FileChange::old_path`].
    Renamed,
    /// The path changed type: a file became a symlink or the other way
    /// round.
    TypeChanged,
}

/// One file of a [`Repo::diff`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// The path after the change (for a deletion, the deleted path).
    pub path: String,
    /// The path before the change, for a rename.
    pub old_path: Option<String>,
    /// How it changed.
    pub kind: ChangeKind,
    /// The path is a symlink after the change (before it, for a deletion):
    /// mode `120000`.
    pub symlink: bool,
    /// The path is an executable file after the change (before it, for a
    /// deletion): mode `100755`.
    pub executable: bool,
    /// Git considers the content binary; the line counts are then zero.
    pub binary: bool,
    /// Lines added.
    pub insertions: u64,
    /// Lines removed.
    pub deletions: u64,
}

/// Where a branch is checked out.
enum CheckedOut {
    /// In the repository's main working tree.
    Main,
    /// In the linked worktree of this name.
    Linked(String),
}

impl Repo {
    /// The repository at `path`: its working tree, its git directory, a
    /// bare repository, or a linked worktree of it (which then stands for
    /// the repository as a whole). Parent directories are not searched.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], naming the path, when it is not a git
    /// repository.
    pub fn open(path: &Path) -> Result<Repo> {
        let repo = Repository::open(path).map_err(|e| {
            Error::invalid(format!(
                "{} is not a git repository: {}",
                path.display(),
                e.message()
            ))
        })?;
        let git_dir = if repo.is_worktree() {
            repo.commondir()
        } else {
            repo.path()
        };
        Ok(Repo {
            git_dir: git_dir.to_path_buf(),
        })
    }

    /// The repository's (common) git directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The commit `refs/heads/<branch>` points at now, as hex.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid branch name;
    /// [`Error::NotFound`] when there is no such branch.
    pub fn resolve_branch(&self, branch: &str) -> Result<String> {
        let refname = branch_ref(branch)?;
        let repo = self.repo()?;
        Ok(branch_head(&repo, &refname, branch)?.to_string())
    }

    /// Creates branch `branch` at `commit` (resetting it if it exists from
    /// a crashed earlier run) and a worktree `name` checked out on it at
    /// `path`. A worktree already called `name`, or a directory already at
    /// `path`, is removed first (crash recovery); the parent of `path` is
    /// created when missing. Neither the main working tree nor its index is
    /// touched.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid worktree or branch name, a
    /// commit id that is not one, or a `path` that holds the repository;
    /// [`Error::NotFound`] for an unknown commit; [`Error::Conflict`] when
    /// `branch` is checked out elsewhere (in the main working tree, or in
    /// another worktree); a backend error when git or the filesystem fails.
    pub fn add_worktree(&self, name: &str, path: &Path, branch: &str, commit: &str) -> Result<()> {
        check_worktree_name(name)?;
        let refname = branch_ref(branch)?;
        let repo = self.repo()?;
        let target = find_commit(&repo, commit)?;
        let path = absolute(path)?;
        // Checked before and after the leftovers go: a branch checked out
        // elsewhere is refused before anything is removed, and one checked
        // out in a leftover of this very worktree is free once it is gone.
        let refuse = |place: CheckedOut| {
            Error::conflict(format!(
                "branch {branch} is checked out in {place}; it cannot be reset for worktree \
                 {name}"
            ))
        };
        match checked_out(&repo, &refname)? {
            Some(CheckedOut::Linked(other)) if other == name => {}
            Some(place) => return Err(refuse(place)),
            None => {}
        }
        drop_worktree(&repo, name, &path)?;
        if let Some(place) = checked_out(&repo, &refname)? {
            return Err(refuse(place));
        }
        repo.branch(branch, &target, true)
            .map_err(git_error(format_args!("creating branch {branch}")))?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(io_error(format_args!("creating {}", parent.display())))?;
        }
        let reference = repo
            .find_reference(&refname)
            .map_err(git_error(format_args!("reading {refname}")))?;
        let mut options = WorktreeAddOptions::new();
        options.reference(Some(&reference));
        repo.worktree(name, &path, Some(&options))
            .map_err(git_error(format_args!(
                "adding worktree {name} at {}",
                path.display()
            )))?;
        Ok(())
    }

    /// Removes worktree `name`: its directory (and `path`, when that is
    /// somewhere else) and git's record of it. Changes in it are lost.
    /// Removing a worktree that is already gone is not an error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid name or a `path` that holds
    /// the repository; a backend error when git or the filesystem fails.
    pub fn remove_worktree(&self, name: &str, path: &Path) -> Result<()> {
        check_worktree_name(name)?;
        let repo = self.repo()?;
        drop_worktree(&repo, name, &absolute(path)?)
    }

    /// Deletes local branch `branch`; deleting one that does not exist is
    /// not an error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid branch name;
    /// [`Error::Conflict`] when the branch is checked out; a backend error
    /// when git fails.
    pub fn delete_branch(&self, branch: &str) -> Result<()> {
        let refname = branch_ref(branch)?;
        let repo = self.repo()?;
        let mut found = match repo.find_branch(branch, BranchType::Local) {
            Ok(found) => found,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(git_error(format_args!("reading branch {branch}"))(e)),
        };
        if let Some(place) = checked_out(&repo, &refname)? {
            return Err(Error::conflict(format!(
                "branch {branch} is checked out in {place}; it was not deleted"
            )));
        }
        found
            .delete()
            .map_err(git_error(format_args!("deleting branch {branch}")))
    }

    /// The names of the repository's linked worktrees, sorted.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub fn worktree_names(&self) -> Result<Vec<String>> {
        let repo = self.repo()?;
        let names = repo.worktrees().map_err(git_error("listing worktrees"))?;
        let mut names: Vec<String> = names.iter().flatten().map(str::to_string).collect();
        names.sort();
        Ok(names)
    }

    /// The local branches whose names start with `prefix`, sorted.
    ///
    /// # Errors
    /// A backend error when git fails.
    pub fn branches(&self, prefix: &str) -> Result<Vec<String>> {
        let repo = self.repo()?;
        let mut names = Vec::new();
        for entry in repo
            .branches(Some(BranchType::Local))
            .map_err(git_error("listing branches"))?
        {
            let (found, _) = entry.map_err(git_error("listing branches"))?;
            // A name that is not UTF-8 cannot start with a `&str` prefix
            // the hive chose, so it is not one of the hive's branches.
            if let Ok(Some(name)) = found.name() {
                if name.starts_with(prefix) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Every path a unified diff in git's format names — old and new, so a
    /// rename shows both — sorted and without duplicates: each path as
    /// libgit2 reads it, and as the patch's header lines (`---`, `+++`,
    /// `rename from`/`to`, `copy from`/`to`) spell it, because libgit2
    /// normalises some spellings (`+++ b//etc/x` reads as `etc/x`). Unsafe
    /// paths (`../x`, `/etc/x`) are reported, not refused: deciding which
    /// are acceptable is the caller's gate.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `patch` is not a patch, or names no
    /// file.
    pub fn patch_paths(patch: &str) -> Result<Vec<String>> {
        let diff = parse_patch(patch)?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path_bytes() {
                    paths.push(String::from_utf8_lossy(path).into_owned());
                }
            }
        }
        paths.extend(header_paths(patch));
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Applies `patch` to the files of the linked worktree at `worktree`
    /// (not to its index). It applies completely or not at all.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], saying why, when `patch` is not a patch or
    /// does not apply — the worktree is then unchanged — or when
    /// `worktree` is not a linked worktree; a backend error when the
    /// filesystem fails.
    pub fn apply_patch(worktree: &Path, patch: &str) -> Result<()> {
        let repo = open_worktree(worktree)?;
        let diff = parse_patch(patch)?;
        repo.apply(&diff, ApplyLocation::WorkDir, None)
            .map_err(|e| match e.class() {
                ErrorClass::Os | ErrorClass::NoMemory => git_error("applying the patch")(e),
                _ => Error::invalid(format!("the patch does not apply: {}", clip(e.message()))),
            })
    }

    /// Commits everything in the linked worktree at `worktree` on its
    /// branch — new, modified and deleted files, honouring `.gitignore` —
    /// as `author` (name, email), who is the committer too, at the current
    /// time. It snapshots what is on disk, not a list of edits: a coding
    /// CLI may have changed files through shell commands. Answers the new
    /// commit, or `None` when nothing changed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `worktree` is not a linked worktree or
    /// the author is not a valid signature; a backend error when git fails.
    pub fn snapshot(
        worktree: &Path,
        message: &str,
        author: (&str, &str),
    ) -> Result<Option<String>> {
        let repo = open_worktree(worktree)?;
        let signature = signature(author)?;
        let mut index = repo.index().map_err(git_error("reading the index"))?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .map_err(git_error("staging the worktree's files"))?;
        // `add_all` stages new and modified files; deleted ones leave the
        // index only through `update_all`.
        index
            .update_all(["*"], None)
            .map_err(git_error("staging the worktree's deletions"))?;
        let tree = index
            .write_tree()
            .map_err(git_error("writing the snapshot's tree"))?;
        index.write().map_err(git_error("writing the index"))?;
        let parent = match repo.head() {
            Ok(head) => Some(
                head.peel_to_commit()
                    .map_err(git_error("reading the worktree's HEAD"))?,
            ),
            Err(e) if e.code() == ErrorCode::UnbornBranch => None,
            Err(e) => return Err(git_error("reading the worktree's HEAD")(e)),
        };
        if parent.as_ref().is_some_and(|p| p.tree_id() == tree) {
            return Ok(None);
        }
        let tree = repo
            .find_tree(tree)
            .map_err(git_error("reading the snapshot's tree"))?;
        let parents: Vec<&Commit<'_>> = parent.iter().collect();
        let id = repo
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .map_err(git_error("committing the snapshot"))?;
        Ok(Some(id.to_string()))
    }

    /// The files that differ between commits `from` and `to`, with renames
    /// detected and lines counted per file, in git's path order.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::NotFound`] for a commit id that
    /// is not one; a backend error when git fails.
    pub fn diff(&self, from: &str, to: &str) -> Result<Vec<FileChange>> {
        let repo = self.repo()?;
        let old = find_commit(&repo, from)?
            .tree()
            .map_err(git_error(format_args!("reading the tree of {from}")))?;
        let new = find_commit(&repo, to)?
            .tree()
            .map_err(git_error(format_args!("reading the tree of {to}")))?;
        let mut options = DiffOptions::new();
        // Without this a file turned symlink shows as a deletion and an
        // addition, and a gate looking for new symlinks would have to pair
        // them up itself.
        options.include_typechange(true);
        let mut diff = repo
            .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))
            .map_err(git_error(format_args!("diffing {from}..{to}")))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))
            .map_err(git_error("detecting renames"))?;
        let mut changes = Vec::with_capacity(diff.deltas().len());
        for index in 0..diff.deltas().len() {
            // The patch loads both sides, which is what tells binary
            // content apart; its delta carries that flag.
            let patch = Patch::from_diff(&diff, index)
                .map_err(git_error(format_args!("diffing {from}..{to}")))?;
            let (insertions, deletions) = match &patch {
                Some(patch) => {
                    let (_, added, removed) =
                        patch.line_stats().map_err(git_error("counting lines"))?;
                    (added as u64, removed as u64)
                }
                None => (0, 0),
            };
            let delta = match &patch {
                Some(patch) => patch.delta(),
                None => match diff.get_delta(index) {
                    Some(delta) => delta,
                    None => continue,
                },
            };
            let kind = match delta.status() {
                Delta::Unmodified => continue,
                Delta::Added | Delta::Untracked | Delta::Copied => ChangeKind::Added,
                Delta::Deleted => ChangeKind::Deleted,
                Delta::Renamed => ChangeKind::Renamed,
                Delta::Typechange => ChangeKind::TypeChanged,
                Delta::Modified | Delta::Ignored | Delta::Unreadable | Delta::Conflicted => {
                    ChangeKind::Modified
                }
            };
            let side = if kind == ChangeKind::Deleted {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let path = side
                .path_bytes()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default();
            let old_path = match delta.status() {
                Delta::Renamed | Delta::Copied => delta
                    .old_file()
                    .path_bytes()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                _ => None,
            };
            changes.push(FileChange {
                path,
                old_path,
                kind,
                symlink: side.mode() == FileMode::Link,
                executable: side.mode() == FileMode::BlobExecutable,
                binary: delta.flags().is_binary(),
                insertions,
                deletions,
            });
        }
        Ok(changes)
    }

    /// The content of `path` at `commit` (for a symlink, its target), or
    /// `None` when no file is there (nothing, or a directory).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a path that is not relative and plain
    /// (see [`Repo::restore_files`]) or a commit id that is not one;
    /// [`Error::NotFound`] for an unknown commit; a backend error when git
    /// fails.
    pub fn read_file(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let relative = check_relative(path)?;
        let repo = self.repo()?;
        let tree = find_commit(&repo, commit)?
            .tree()
            .map_err(git_error(format_args!("reading the tree of {commit}")))?;
        match entry_at(&repo, &tree, &relative, path)? {
            Some(Entry::File(content, _)) => Ok(Some(content)),
            Some(Entry::Directory | Entry::Submodule) | None => Ok(None),
        }
    }

    /// Makes each of `paths` in the linked worktree at `worktree` what it
    /// is at `commit`: its content written (parent directories created,
    /// the executable bit and symlinks kept), or the file deleted when it
    /// is absent at `commit`. Every path is checked before any is written.
    /// A symlink the worktree has where `commit` has a directory is
    /// replaced by a directory, so nothing is written outside the worktree.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an absolute path, a `..` or `.git`
    /// component, a path that is a directory or submodule at `commit`, or a
    /// `worktree` that is not a linked worktree of this repository;
    /// [`Error::NotFound`] for an unknown commit; a backend error when git
    /// or the filesystem fails.
    pub fn restore_files(&self, worktree: &Path, commit: &str, paths: &[String]) -> Result<()> {
        let relatives = paths
            .iter()
            .map(|p| check_relative(p))
            .collect::<Result<Vec<_>>>()?;
        let repo = self.repo()?;
        let checkout = open_worktree(worktree)?;
        if !same_dir(checkout.commondir(), repo.commondir()) {
            return Err(Error::invalid(format!(
                "{} is not a worktree of {}",
                worktree.display(),
                self.git_dir.display()
            )));
        }
        let root = match checkout.workdir() {
            Some(root) => root.to_path_buf(),
            None => {
                return Err(Error::invalid(format!(
                    "{} has no working tree",
                    worktree.display()
                )))
            }
        };
        let tree = find_commit(&repo, commit)?
            .tree()
            .map_err(git_error(format_args!("reading the tree of {commit}")))?;
        let mut wanted = Vec::with_capacity(relatives.len());
        for (relative, path) in relatives.iter().zip(paths) {
            wanted.push(match entry_at(&repo, &tree, relative, path)? {
                Some(Entry::File(content, mode)) => Some((content, mode)),
                Some(Entry::Directory) => {
                    return Err(Error::invalid(format!(
                        "{path} is a directory at {commit}, not a file"
                    )))
                }
                Some(Entry::Submodule) => {
                    return Err(Error::invalid(format!(
                        "{path} is a submodule at {commit}, not a file"
                    )))
                }
                None => None,
            });
        }
        for (relative, content) in relatives.iter().zip(wanted) {
            restore_one(&root, relative, content)
                .map_err(io_error(format_args!("restoring {}", relative.display())))?;
        }
        Ok(())
    }

    /// Points the lightweight tag `name` at `commit`. Tagging a commit the
    /// tag already points at is not an error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid tag name or commit id;
    /// [`Error::NotFound`] for an unknown commit; [`Error::Conflict`] when
    /// the tag exists and points elsewhere; a backend error when git fails.
    pub fn tag(&self, name: &str, commit: &str) -> Result<()> {
        let refname = tag_ref(name)?;
        let repo = self.repo()?;
        let target = find_commit(&repo, commit)?.id();
        let existing = |repo: &Repository| -> Result<()> {
            match tag_commit(repo, &refname)? {
                Some(id) if id == target => Ok(()),
                Some(id) => Err(Error::conflict(format!(
                    "tag {name} already points at {id}, not {target}"
                ))),
                None => Err(Error::conflict(format!(
                    "tag {name} appeared and vanished while it was being created"
                ))),
            }
        };
        if tag_commit(&repo, &refname)?.is_some() {
            return existing(&repo);
        }
        let created = repo
            .reference(&refname, target, false, "hive: tag")
            .map(|_| ());
        match created {
            Ok(()) => Ok(()),
            // Someone made it between the look-up and now.
            Err(e) if e.code() == ErrorCode::Exists => existing(&repo),
            Err(e) => Err(git_error(format_args!("creating tag {name}"))(e)),
        }
    }

    /// The commit tag `name` points at, or `None` when there is no such
    /// tag.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid tag name; a backend error
    /// when git fails.
    pub fn tag_target(&self, name: &str) -> Result<Option<String>> {
        let refname = tag_ref(name)?;
        let repo = self.repo()?;
        Ok(tag_commit(&repo, &refname)?.map(|id| id.to_string()))
    }

    /// Moves `refs/heads/<branch>` from `expected` to `new`, a descendant
    /// of it, with a compare-and-swap: if anyone moved the branch since the
    /// caller read `expected`, nothing happens. When the branch is the one
    /// checked out in the main working tree, that tree and its index are
    /// updated too, as `git merge --ff-only` would — only when the tree is
    /// clean. Moving a branch to where it is already is not an error.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the branch no longer points at `expected`,
    /// when it is checked out in a dirty main working tree (or in a linked
    /// worktree), or when untracked files there would be overwritten — the
    /// branch is then unchanged; [`Error::InvalidInput`] when `new` does
    /// not descend from `expected` or a name or id is invalid;
    /// [`Error::NotFound`] for an unknown branch or commit; a backend error
    /// when git fails.
    pub fn fast_forward(&self, branch: &str, expected: &str, new: &str) -> Result<()> {
        let refname = branch_ref(branch)?;
        let repo = self.repo()?;
        let expected = find_commit(&repo, expected)?.id();
        let new = find_commit(&repo, new)?.id();
        let current = branch_head(&repo, &refname, branch)?;
        if current != expected {
            return Err(Error::conflict(format!(
                "branch {branch} points at {current}, not {expected}: it moved"
            )));
        }
        if new == expected {
            return Ok(());
        }
        let descends = repo
            .graph_descendant_of(new, expected)
            .map_err(git_error("walking the history"))?;
        if !descends {
            return Err(Error::invalid(format!(
                "{new} does not descend from {expected}: branch {branch} can only be \
                 fast-forwarded"
            )));
        }
        move_branch(&repo, branch, &refname, expected, new, "hive: fast-forward")
    }

    /// Makes a new commit on top of `branch`'s current head that undoes
    /// `commit` (for a merge commit, what it brought into its first
    /// parent), authored and committed by `author` now, and moves the
    /// branch to it with a compare-and-swap. History is never rewritten.
    /// When the branch is checked out in a clean main working tree, that
    /// tree and its index are updated too. Answers the new commit.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the revert does not apply cleanly, would
    /// change nothing (already undone), or the branch cannot be moved for a
    /// reason [`Repo::fast_forward`] gives — nothing is changed then;
    /// [`Error::InvalidInput`] for an invalid name, id or author;
    /// [`Error::NotFound`] for an unknown branch or commit; a backend error
    /// when git fails.
    pub fn revert(
        &self,
        branch: &str,
        commit: &str,
        message: &str,
        author: (&str, &str),
    ) -> Result<String> {
        let refname = branch_ref(branch)?;
        let signature = signature(author)?;
        let repo = self.repo()?;
        let undone = find_commit(&repo, commit)?;
        let head_id = branch_head(&repo, &refname, branch)?;
        let head = repo
            .find_commit(head_id)
            .map_err(git_error(format_args!("reading {head_id}")))?;
        let mainline = if undone.parent_count() > 1 { 1 } else { 0 };
        let mut index = repo
            .revert_commit(&undone, &head, mainline, None)
            .map_err(git_error(format_args!("reverting {}", undone.id())))?;
        if index.has_conflicts() {
            let mut paths = Vec::new();
            for conflict in index
                .conflicts()
                .map_err(git_error("reading the revert's conflicts"))?
                .flatten()
            {
                let entry = conflict.our.or(conflict.their).or(conflict.ancestor);
                if let Some(entry) = entry {
                    paths.push(String::from_utf8_lossy(&entry.path).into_owned());
                }
            }
            return Err(Error::conflict(format!(
                "reverting {} on branch {branch} conflicts in {}",
                undone.id(),
                clip(&paths.join(", "))
            )));
        }
        let tree = index
            .write_tree_to(&repo)
            .map_err(git_error("writing the revert's tree"))?;
        if tree == head.tree_id() {
            return Err(Error::conflict(format!(
                "reverting {} changes nothing on branch {branch}: it is already undone",
                undone.id()
            )));
        }
        let tree = repo
            .find_tree(tree)
            .map_err(git_error("reading the revert's tree"))?;
        let new = repo
            .commit(None, &signature, &signature, message, &tree, &[&head])
            .map_err(git_error("committing the revert"))?;
        move_branch(&repo, branch, &refname, head_id, new, "hive: revert")?;
        Ok(new.to_string())
    }

    /// How many commits are reachable from `branch`, its head included.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid branch name;
    /// [`Error::NotFound`] when there is no such branch; a backend error
    /// when git fails.
    pub fn commit_count(&self, branch: &str) -> Result<usize> {
        let refname = branch_ref(branch)?;
        let repo = self.repo()?;
        let head = branch_head(&repo, &refname, branch)?;
        let mut walk = repo.revwalk().map_err(git_error("walking the history"))?;
        walk.push(head).map_err(git_error("walking the history"))?;
        let mut count = 0;
        for id in walk {
            id.map_err(git_error("walking the history"))?;
            count += 1;
        }
        Ok(count)
    }

    /// The full message of `commit`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that is not one;
    /// [`Error::NotFound`] for an unknown commit.
    pub fn commit_message(&self, commit: &str) -> Result<String> {
        let repo = self.repo()?;
        let found = find_commit(&repo, commit)?;
        Ok(String::from_utf8_lossy(found.message_bytes()).into_owned())
    }

    /// Whether `ancestor` is `of` or one of its ancestors.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id that is not one;
    /// [`Error::NotFound`] for an unknown commit; a backend error when git
    /// fails.
    pub fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        let repo = self.repo()?;
        let ancestor = find_commit(&repo, ancestor)?.id();
        let of = find_commit(&repo, of)?.id();
        if ancestor == of {
            return Ok(true);
        }
        repo.graph_descendant_of(of, ancestor)
            .map_err(git_error("walking the history"))
    }

    /// Opens the repository for one call.
    fn repo(&self) -> Result<Repository> {
        Repository::open(&self.git_dir).map_err(git_error(format_args!(
            "opening {}",
            self.git_dir.display()
        )))
    }
}

impl fmt::Display for CheckedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckedOut::Main => f.write_str("the main working tree"),
            CheckedOut::Linked(name) => write!(f, "worktree {name}"),
        }
    }
}

/// Maps a git2 error to a backend error saying what was being done.
fn git_error(what: impl fmt::Display) -> impl FnOnce(git2::Error) -> Error {
    let what = what.to_string();
    move |e| Error::backend("git", format!("{what}: {}", e.message()))
}

/// Maps an I/O error to a backend error saying what was being done.
fn io_error(what: impl fmt::Display) -> impl FnOnce(io::Error) -> Error {
    let what = what.to_string();
    move |e| Error::backend("git", format!("{what}: {e}"))
}

/// At most [`CLIP`] characters of `text`, marked when cut.
fn clip(text: &str) -> String {
    match text.char_indices().nth(CLIP) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// `refs/heads/<branch>`, once `branch` is known to be a valid branch name.
fn branch_ref(branch: &str) -> Result<String> {
    let refname = format!("refs/heads/{branch}");
    // Git itself refuses `HEAD` and a leading dash for branches, which the
    // reference-name rules alone allow.
    if branch.is_empty()
        || branch == "HEAD"
        || branch.starts_with('-')
        || !Reference::is_valid_name(&refname)
    {
        return Err(Error::invalid(format!(
            "{branch:?} is not a valid branch name"
        )));
    }
    Ok(refname)
}

/// `refs/tags/<name>`, once `name` is known to be a valid tag name.
fn tag_ref(name: &str) -> Result<String> {
    let refname = format!("refs/tags/{name}");
    if name.is_empty() || name.starts_with('-') || !Reference::is_valid_name(&refname) {
        return Err(Error::invalid(format!("{name:?} is not a valid tag name")));
    }
    Ok(refname)
}

/// A worktree name is a directory under `.git/worktrees`, so it is one
/// plain path component.
fn check_worktree_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(Error::invalid(format!(
            "{name:?} is not a valid worktree name (letters, digits, `-`, `_` and `.`, not \
             first)"
        )));
    }
    Ok(())
}

/// The commit a hex id names (a full id, or an unambiguous prefix of at
/// least four digits).
fn find_commit<'r>(repo: &'r Repository, id: &str) -> Result<Commit<'r>> {
    if id.len() < 4 || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!("{:?} is not a commit id", clip(id))));
    }
    let object = if id.len() == 40 || id.len() == 64 {
        Oid::from_str(id).and_then(|oid| repo.find_object(oid, None))
    } else {
        repo.revparse_single(id)
    };
    let object = match object {
        Ok(object) => object,
        Err(e) if e.code() == ErrorCode::NotFound => {
            return Err(Error::not_found("commit", id));
        }
        Err(e) if e.code() == ErrorCode::Ambiguous => {
            return Err(Error::invalid(format!("commit id {id} is ambiguous")));
        }
        Err(e) => return Err(git_error(format_args!("reading commit {id}"))(e)),
    };
    object
        .peel_to_commit()
        .map_err(|_| Error::invalid(format!("{id} is not a commit")))
}

/// The commit `refname` (a branch) points at.
fn branch_head(repo: &Repository, refname: &str, branch: &str) -> Result<Oid> {
    match repo.find_reference(refname) {
        Ok(reference) => reference
            .peel_to_commit()
            .map(|c| c.id())
            .map_err(git_error(format_args!("reading branch {branch}"))),
        Err(e) if e.code() == ErrorCode::NotFound => Err(Error::not_found("branch", branch)),
        Err(e) => Err(git_error(format_args!("reading branch {branch}"))(e)),
    }
}

/// The commit the tag `refname` points at, when it exists.
fn tag_commit(repo: &Repository, refname: &str) -> Result<Option<Oid>> {
    match repo.find_reference(refname) {
        Ok(reference) => reference
            .peel_to_commit()
            .map(|c| Some(c.id()))
            .map_err(git_error(format_args!("reading {refname}"))),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git_error(format_args!("reading {refname}"))(e)),
    }
}

/// A (name, email) pair as a signature dated now.
fn signature((name, email): (&str, &str)) -> Result<Signature<'static>> {
    Signature::now(name, email)
        .map_err(|e| Error::invalid(format!("unusable author {name:?}: {}", e.message())))
}

/// Parses a patch, refusing text that names no file.
fn parse_patch(patch: &str) -> Result<Diff<'static>> {
    let diff = Diff::from_buffer(patch.as_bytes())
        .map_err(|e| Error::invalid(format!("not a patch: {}", clip(e.message()))))?;
    if diff.deltas().len() == 0 {
        return Err(Error::invalid("not a patch: it names no file"));
    }
    Ok(diff)
}

/// The paths a patch's header lines spell, outside its hunks: `--- a/x`,
/// `+++ b/x` (without their one-letter prefix), `rename from x`,
/// `rename to x`, `copy from x`, `copy to x`. Hunk lines are skipped by
/// their counts, so a removed line reading `-- a/x` is not taken for a
/// header.
fn header_paths(patch: &str) -> Vec<String> {
    let mut paths = Vec::new();
    // Lines still to come in the current hunk: (old side, new side).
    let mut hunk = (0u64, 0u64);
    for line in patch.lines() {
        if hunk != (0, 0) {
            match line.as_bytes().first() {
                Some(b'+') => hunk.1 = hunk.1.saturating_sub(1),
                Some(b'-') => hunk.0 = hunk.0.saturating_sub(1),
                Some(b'\\') => {}
                // A context line; git writes an empty one for a blank line
                // when whitespace is stripped.
                _ => hunk = (hunk.0.saturating_sub(1), hunk.1.saturating_sub(1)),
            }
            continue;
        }
        if let Some(range) = line.strip_prefix("@@ ") {
            hunk = hunk_lengths(range);
            continue;
        }
        let named = [
            ("--- ", true),
            ("+++ ", true),
            ("rename from ", false),
            ("rename to ", false),
            ("copy from ", false),
            ("copy to ", false),
        ]
        .iter()
        .find_map(|(prefix, prefixed)| line.strip_prefix(prefix).map(|rest| (rest, *prefixed)));
        let Some((name, prefixed)) = named else {
            continue;
        };
        // A traditional diff may follow the name with a tab and a date.
        let name = name.split('\t').next().unwrap_or_default();
        let name = unquote(name);
        if prefixed && name == "/dev/null" {
            continue;
        }
        let name = match name.get(..2) {
            Some("a/" | "b/") if prefixed => name[2..].to_string(),
            _ => name,
        };
        if !name.is_empty() {
            paths.push(name);
        }
    }
    paths
}

/// The old and new line counts of a hunk header's ranges
/// (`-1,3 +1,4 @@ …`); a range without a count is one line.
fn hunk_lengths(range: &str) -> (u64, u64) {
    let mut lengths = (0, 0);
    for part in range.split(' ').take(2) {
        let count = |r: &str| match r.split_once(',') {
            Some((_, n)) => n.parse().unwrap_or(0),
            None => 1,
        };
        if let Some(r) = part.strip_prefix('-') {
            lengths.0 = count(r);
        } else if let Some(r) = part.strip_prefix('+') {
            lengths.1 = count(r);
        }
    }
    lengths
}

/// A path as git writes it in a patch: as is, or in C-style quotes with
/// backslash escapes (octal bytes for anything not ASCII).
fn unquote(name: &str) -> String {
    let Some(inner) = name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return name.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(0x07),
            Some(b'b') => bytes.push(0x08),
            Some(b'f') => bytes.push(0x0c),
            Some(b'v') => bytes.push(0x0b),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(u8::try_from(value).unwrap_or(u8::MAX));
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Opens a linked worktree, refusing the main working tree (or anything
/// else): edits never happen there.
fn open_worktree(path: &Path) -> Result<Repository> {
    let repo = Repository::open(path).map_err(|e| {
        Error::invalid(format!(
            "{} is not a git worktree: {}",
            path.display(),
            e.message()
        ))
    })?;
    if !repo.is_worktree() {
        return Err(Error::invalid(format!(
            "{} is not a linked worktree; the self-modifier never edits a repository's main \
             working tree",
            path.display()
        )));
    }
    Ok(repo)
}

/// Checks that `path` is relative and plain: no root, no `.` or `..`, no
/// `.git` component (in any case, for case-insensitive filesystems).
fn check_relative(path: &str) -> Result<PathBuf> {
    let refuse = |why: &str| Err(Error::invalid(format!("path {:?} {why}", clip(path))));
    if path.is_empty() {
        return refuse("is empty");
    }
    if path.contains('\0') {
        return refuse("contains a NUL byte");
    }
    let relative = Path::new(path);
    for component in relative.components() {
        match component {
            Component::Normal(part) if part.eq_ignore_ascii_case(".git") => {
                return refuse("has a .git component");
            }
            Component::Normal(_) => {}
            Component::ParentDir => return refuse("has a `..` component"),
            Component::CurDir => return refuse("has a `.` component"),
            Component::RootDir | Component::Prefix(_) => return refuse("is absolute"),
        }
    }
    Ok(relative.to_path_buf())
}

/// What a tree holds at a path.
enum Entry {
    /// A file (or symlink): its content and mode.
    File(Vec<u8>, FileMode),
    /// A directory.
    Directory,
    /// A submodule's commit.
    Submodule,
}

/// What `tree` holds at `relative`, or `None` when nothing is there.
fn entry_at(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    relative: &Path,
    path: &str,
) -> Result<Option<Entry>> {
    let entry = match tree.get_path(relative) {
        Ok(entry) => entry,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(git_error(format_args!("looking up {path}"))(e)),
    };
    match entry.kind() {
        Some(ObjectType::Blob) => {
            let blob = repo
                .find_blob(entry.id())
                .map_err(git_error(format_args!("reading {path}")))?;
            let mode = match entry.filemode() {
                m if m == i32::from(FileMode::Link) => FileMode::Link,
                m if m == i32::from(FileMode::BlobExecutable) => FileMode::BlobExecutable,
                _ => FileMode::Blob,
            };
            Ok(Some(Entry::File(blob.content().to_vec(), mode)))
        }
        Some(ObjectType::Tree) => Ok(Some(Entry::Directory)),
        _ => Ok(Some(Entry::Submodule)),
    }
}

/// Makes `root/relative` hold `content` (or not exist, for `None`),
/// following no symlink on the way.
fn restore_one(
    root: &Path,
    relative: &Path,
    content: Option<(Vec<u8>, FileMode)>,
) -> io::Result<()> {
    let mut dir = root.to_path_buf();
    let parents: Vec<_> = match relative.parent() {
        Some(parent) => parent.components().collect(),
        None => Vec::new(),
    };
    for part in parents {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            // A symlink or file where `commit` has a directory: nothing of
            // the path exists inside the worktree to delete, and writing
            // through it could land outside the worktree.
            Ok(_) if content.is_none() => return Ok(()),
            Ok(_) => {
                fs::remove_file(&dir)?;
                fs::create_dir(&dir)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if content.is_none() {
                    return Ok(());
                }
                fs::create_dir(&dir)?;
            }
            Err(e) => return Err(e),
        }
    }
    let target = root.join(relative);
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&target)?,
        Ok(_) => fs::remove_file(&target)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    match content {
        None => Ok(()),
        Some((bytes, FileMode::Link)) => {
            let link = String::from_utf8_lossy(&bytes).into_owned();
            std::os::unix::fs::symlink(link, &target)
        }
        Some((bytes, mode)) => {
            fs::write(&target, bytes)?;
            let bits = if mode == FileMode::BlobExecutable {
                0o755
            } else {
                0o644
            };
            fs::set_permissions(&target, fs::Permissions::from_mode(bits))
        }
    }
}

/// `path` made absolute, through its nearest existing ancestor's real path
/// (git records worktree paths resolved).
fn absolute(path: &Path) -> Result<PathBuf> {
    let path = std::path::absolute(path)
        .map_err(io_error(format_args!("resolving {}", path.display())))?;
    let mut tail = Vec::new();
    let mut head = path.as_path();
    loop {
        if let Ok(real) = head.canonicalize() {
            let mut resolved = real;
            resolved.extend(tail.iter().rev());
            return Ok(resolved);
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                head = parent;
            }
            _ => return Ok(path),
        }
    }
}

/// Whether two paths name the same directory.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Refuses to delete a directory that is, or contains, the repository's
/// main working tree or git directory.
fn guard_removal(repo: &Repository, path: &Path) -> Result<()> {
    let mut protected = vec![repo.commondir().to_path_buf()];
    if let Some(workdir) = repo.workdir() {
        protected.push(workdir.to_path_buf());
    }
    for kept in protected {
        let kept = absolute(&kept)?;
        if kept.starts_with(path) {
            return Err(Error::invalid(format!(
                "{} holds the repository {}; it is not a worktree to remove",
                path.display(),
                kept.display()
            )));
        }
    }
    Ok(())
}

/// Removes a directory or whatever else is at `path`, if anything is.
fn remove_path(repo: &Repository, path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(format_args!("reading {}", path.display()))(e)),
    };
    guard_removal(repo, path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .map_err(io_error(format_args!("removing {}", path.display())))
}

/// Removes worktree `name` (its recorded directory and git's record) and
/// whatever is at `path`, plus any other worktree git records at `path`.
fn drop_worktree(repo: &Repository, name: &str, path: &Path) -> Result<()> {
    // Refused before anything is removed, not when its turn comes.
    guard_removal(repo, path)?;
    let mut names = vec![name.to_string()];
    let recorded = repo.worktrees().map_err(git_error("listing worktrees"))?;
    for other in recorded.iter().flatten() {
        if other == name {
            continue;
        }
        if let Ok(worktree) = repo.find_worktree(other) {
            if absolute(worktree.path())? == path {
                names.push(other.to_string());
            }
        }
    }
    for name in &names {
        match repo.find_worktree(name) {
            Ok(worktree) => {
                let directory = absolute(worktree.path())?;
                remove_path(repo, &directory)?;
                worktree
                    .prune(Some(
                        WorktreePruneOptions::new()
                            .valid(true)
                            .locked(true)
                            .working_tree(false),
                    ))
                    .map_err(git_error(format_args!("pruning worktree {name}")))?;
            }
            Err(e) if e.code() == ErrorCode::NotFound => {}
            // A record a crash left half-written cannot be opened; it is
            // removed below like any leftover.
            Err(_) => {}
        }
        // What pruning leaves, or what a crash left before the record was
        // complete: a later `git worktree add` of this name would trip on
        // it. The name is one plain component (checked), so this stays
        // under `worktrees/`.
        let record = repo.commondir().join("worktrees").join(name);
        if record.exists() {
            fs::remove_dir_all(&record)
                .map_err(io_error(format_args!("removing {}", record.display())))?;
        }
    }
    remove_path(repo, path)
}

/// Where the branch `refname` is checked out, if anywhere. Each worktree's
/// `HEAD` file is read directly, so a worktree whose directory is gone
/// still counts until it is pruned (as git counts it).
fn checked_out(repo: &Repository, refname: &str) -> Result<Option<CheckedOut>> {
    if !repo.is_bare() {
        if let Ok(head) = repo.find_reference("HEAD") {
            if head.symbolic_target_bytes() == Some(refname.as_bytes()) {
                return Ok(Some(CheckedOut::Main));
            }
        }
    }
    let names = repo.worktrees().map_err(git_error("listing worktrees"))?;
    let wanted = format!("ref: {refname}");
    for name in names.iter().flatten() {
        let head = repo.commondir().join("worktrees").join(name).join("HEAD");
        if let Ok(text) = fs::read_to_string(&head) {
            if text.trim_end() == wanted {
                return Ok(Some(CheckedOut::Linked(name.to_string())));
            }
        }
    }
    Ok(None)
}

/// Moves `refname` from `expected` to `new` with a compare-and-swap,
/// updating the main working tree and index when the branch is checked out
/// there (and the tree is clean). The caller has checked that `new`
/// descends from `expected`.
fn move_branch(
    repo: &Repository,
    branch: &str,
    refname: &str,
    expected: Oid,
    new: Oid,
    log: &str,
) -> Result<()> {
    let swap = |repo: &Repository| {
        repo.reference_matching(refname, new, true, expected, log)
            .map(|_| ())
            .map_err(|e| match e.code() {
                ErrorCode::Modified | ErrorCode::NotFound | ErrorCode::Locked => {
                    Error::conflict(format!(
                        "branch {branch} moved away from {expected} (or is locked): {}",
                        e.message()
                    ))
                }
                _ => git_error(format_args!("moving branch {branch}"))(e),
            })
    };
    match checked_out(repo, refname)? {
        None => swap(repo),
        Some(CheckedOut::Linked(name)) => Err(Error::conflict(format!(
            "branch {branch} is checked out in worktree {name}; it was not moved"
        ))),
        Some(CheckedOut::Main) => {
            let dirty = dirty_paths(repo)?;
            if !dirty.is_empty() {
                return Err(Error::conflict(format!(
                    "branch {branch} is checked out in the main working tree, which has \
                     uncommitted changes ({}); it was not moved",
                    clip(&dirty.join(", "))
                )));
            }
            // Checked here too, so a moved branch is reported as such
            // rather than as a checkout conflict against the wrong base.
            let current = branch_head(repo, refname, branch)?;
            if current != expected {
                return Err(Error::conflict(format!(
                    "branch {branch} points at {current}, not {expected}: it moved"
                )));
            }
            let target = repo
                .find_commit(new)
                .map_err(git_error(format_args!("reading {new}")))?;
            // HEAD still points at `expected`, which is the baseline a
            // safe checkout compares against: files the fast-forward
            // changes are rewritten, and an untracked file in the way is a
            // conflict found before anything is written.
            let mut checkout = git2::build::CheckoutBuilder::new();
            checkout.safe();
            repo.checkout_tree(target.as_object(), Some(&mut checkout))
                .map_err(|e| match e.code() {
                    ErrorCode::Conflict => Error::conflict(format!(
                        "moving branch {branch} would overwrite files in the main working \
                         tree: {}; it was not moved",
                        e.message()
                    )),
                    _ => git_error(format_args!("updating the main working tree to {new}"))(e),
                })?;
            if let Err(e) = swap(repo) {
                // Someone moved the branch between the check and the swap:
                // put the files back the way they were, as far as can be.
                let restored = repo.find_commit(expected).and_then(|old| {
                    let mut checkout = git2::build::CheckoutBuilder::new();
                    checkout.force();
                    repo.checkout_tree(old.as_object(), Some(&mut checkout))
                });
                if let Err(restore) = restored {
                    tracing::warn!(
                        branch,
                        error = restore.message(),
                        "could not restore the main working tree after a lost race"
                    );
                }
                return Err(e);
            }
            Ok(())
        }
    }
}

/// The tracked paths of the main working tree that differ from HEAD, in
/// the index or on disk. Untracked files do not count (a checkout that
/// would overwrite one fails on its own).
fn dirty_paths(repo: &Repository) -> Result<Vec<String>> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(git_error("reading the main working tree's status"))?;
    Ok(statuses
        .iter()
        .filter(|entry| !entry.status().is_empty())
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .collect())
}
