//! `selfmod::git::Repo` against real repositories: each test makes its own
//! in a temp dir with the `git` CLI (one commit on `main`, checked out),
//! drives the self-modifier's git operations and checks the result with
//! the CLI too — above all that nothing but the final fast-forward (or
//! revert) touches the main working tree, its index or its branch.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hive_core::selfmod::git::{ChangeKind, FileChange, Repo};
use hive_core::Error;

const AUTHOR: (&str, &str) = ("Hive Self-Modifier", "selfmod@example.invalid");

/// Runs git in `dir` and returns its stdout; panics when it fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository with one commit on `main` (checked out) and a place for
/// worktrees beside it.
struct Fixture {
    dir: tempfile::TempDir,
    root: PathBuf,
    repo: Repo,
    base: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repo");
        fs::create_dir(&root).expect("repo dir");
        git(&root, &["init", "--quiet", "-b", "main"]);
        for (key, value) in [
            ("user.name", "Test"),
            ("user.email", "test@example.invalid"),
            ("commit.gpgsign", "false"),
        ] {
            git(&root, &["config", key, value]);
        }
        write(&root, "src/lib.rs", "pub fn one() -> u32 {\n    1\n}\n");
        write(
            &root,
            "tests/a.rs",
            "#[test]\nfn one() {\n    assert_eq!(1, 1);\n}\n",
        );
        write(&root, "README.md", "# a project\n\nSome words.\n");
        write(&root, ".gitignore", "*.log\n/wts/\n");
        write(&root, "run.sh", "#!/bin/sh\necho run\n");
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        git(&root, &["add", "--all"]);
        git(&root, &["commit", "--quiet", "-m", "first"]);
        let repo = Repo::open(&root).expect("open");
        let base = repo.resolve_branch("main").expect("resolve main");
        Fixture {
            dir,
            root,
            repo,
            base,
        }
    }

    /// A path for worktree `name`, outside the repository.
    fn wt_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("worktrees").join(name)
    }

    /// A worktree `name` on branch `hive/<name>` at `commit`.
    fn worktree(&self, name: &str, commit: &str) -> PathBuf {
        let path = self.wt_path(name);
        self.repo
            .add_worktree(name, &path, &format!("hive/{name}"), commit)
            .expect("add worktree");
        path
    }

    /// What `git status` says about the main working tree.
    fn status(&self) -> String {
        git(
            &self.root,
            &["status", "--porcelain", "--untracked-files=all"],
        )
    }

    /// Everything observable about the main working tree: HEAD, the branch,
    /// the index and the status.
    fn main_state(&self) -> (String, String, String, String) {
        (
            git(&self.root, &["symbolic-ref", "HEAD"]),
            git(&self.root, &["rev-parse", "HEAD"]),
            git(&self.root, &["ls-files", "--stage"]),
            self.status(),
        )
    }
}

fn write(root: &Path, path: &str, content: &str) {
    let file = root.join(path);
    fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    fs::write(file, content).expect("write");
}

fn read(root: &Path, path: &str) -> String {
    fs::read_to_string(root.join(path)).expect("read")
}

fn change<'a>(changes: &'a [FileChange], path: &str) -> &'a FileChange {
    changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no change to {path} in {changes:#?}"))
}

#[test]
fn open_and_resolve_answer_the_branch_as_it_is_now() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Repo>();

    let fx = Fixture::new();
    assert_eq!(fx.base, git(&fx.root, &["rev-parse", "main"]).trim());
    write(&fx.root, "README.md", "# changed\n");
    git(&fx.root, &["commit", "--quiet", "-am", "second"]);
    let now = fx.repo.resolve_branch("main").expect("resolve");
    assert_ne!(now, fx.base, "resolved once, cached");
    assert_eq!(now, git(&fx.root, &["rev-parse", "main"]).trim());

    assert!(matches!(
        fx.repo.resolve_branch("nope"),
        Err(Error::NotFound { .. })
    ));
    for bad in ["", "a..b", "-x", "HEAD", "with space", "x.lock"] {
        assert!(
            matches!(fx.repo.resolve_branch(bad), Err(Error::InvalidInput(_))),
            "{bad:?}"
        );
    }

    // The git directory and a linked worktree name the same repository.
    let by_git_dir = Repo::open(&fx.root.join(".git")).expect("open .git");
    assert_eq!(by_git_dir.resolve_branch("main").expect("resolve"), now);
    let wt = fx.worktree("w", &now);
    let by_worktree = Repo::open(&wt).expect("open worktree");
    assert_eq!(by_worktree.git_dir(), fx.repo.git_dir());

    // A bare repository is fine.
    let bare = fx.dir.path().join("bare.git");
    git(
        fx.dir.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            fx.root.to_str().expect("utf-8"),
            "bare.git",
        ],
    );
    let bare = Repo::open(&bare).expect("open bare");
    assert_eq!(bare.resolve_branch("main").expect("resolve"), now);

    let plain = fx.dir.path().join("plain");
    fs::create_dir(&plain).expect("mkdir");
    match Repo::open(&plain) {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("plain"), "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn add_worktree_leaves_the_main_tree_alone_and_recovers_from_a_crash() {
    let fx = Fixture::new();
    // Make the main tree's state non-trivial: a staged change, an unstaged
    // one and an untracked file.
    write(&fx.root, "README.md", "# staged\n");
    git(&fx.root, &["add", "README.md"]);
    write(&fx.root, "src/lib.rs", "// unstaged\n");
    write(&fx.root, "notes.txt", "untracked\n");
    let before = fx.main_state();

    let path = fx.wt_path("w1");
    assert!(!path.parent().expect("parent").exists());
    fx.repo
        .add_worktree("w1", &path, "hive/w1", &fx.base)
        .expect("add");
    assert_eq!(read(&path, "README.md"), "# a project\n\nSome words.\n");
    assert_eq!(
        git(&path, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/hive/w1"
    );
    assert_eq!(git(&path, &["rev-parse", "HEAD"]).trim(), fx.base);
    assert_eq!(
        git(&path, &["status", "--porcelain"]),
        "",
        "checked out clean"
    );
    assert_eq!(fx.repo.worktree_names().expect("names"), ["w1"]);
    assert_eq!(fx.main_state(), before, "the main tree was touched");
    assert_eq!(read(&fx.root, "src/lib.rs"), "// unstaged\n");

    // A crash mid-run: the directory is left behind with leftovers in it,
    // and the branch has moved on.
    write(&path, "leftover.txt", "from the crashed run\n");
    write(&path, "src/lib.rs", "half-edited\n");
    git(&path, &["add", "--all"]);
    git(&path, &["commit", "--quiet", "-m", "crashed work"]);
    fx.repo
        .add_worktree("w1", &path, "hive/w1", &fx.base)
        .expect("re-add over the leftovers");
    assert!(!path.join("leftover.txt").exists());
    assert_eq!(
        read(&path, "src/lib.rs"),
        "pub fn one() -> u32 {\n    1\n}\n"
    );
    assert_eq!(fx.repo.resolve_branch("hive/w1").expect("branch"), fx.base);

    // A crash that lost git's record but left the directory.
    fs::remove_dir_all(fx.root.join(".git/worktrees/w1")).expect("drop record");
    write(&path, "leftover.txt", "again\n");
    fx.repo
        .add_worktree("w1", &path, "hive/w1", &fx.base)
        .expect("re-add over a bare directory");
    assert!(!path.join("leftover.txt").exists());
    assert_eq!(git(&path, &["rev-parse", "HEAD"]).trim(), fx.base);
    assert_eq!(fx.repo.worktree_names().expect("names"), ["w1"]);
    assert_eq!(fx.main_state(), before, "the main tree was touched");

    // The branch checked out in the main tree is never reset.
    let other = fx.wt_path("w2");
    assert!(matches!(
        fx.repo.add_worktree("w2", &other, "main", &fx.base),
        Err(Error::Conflict(_))
    ));
    // Nor is a branch another worktree has checked out.
    assert!(matches!(
        fx.repo.add_worktree("w2", &other, "hive/w1", &fx.base),
        Err(Error::Conflict(_))
    ));
    // A worktree is never made over the repository itself.
    assert!(matches!(
        fx.repo.add_worktree("w3", &fx.root, "hive/w3", &fx.base),
        Err(Error::InvalidInput(_))
    ));
    assert!(fx.root.join(".git").exists());
    for bad in ["", "../x", "a/b", ".hidden"] {
        assert!(
            matches!(
                fx.repo.add_worktree(bad, &other, "hive/x", &fx.base),
                Err(Error::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        fx.repo.add_worktree(
            "w2",
            &other,
            "hive/w2",
            "0123456789abcdef0123456789abcdef01234567"
        ),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(fx.main_state(), before, "the main tree was touched");
}

/// A patch from `git diff` of `edit` done in `worktree`, which is then put
/// back as it was.
fn make_patch(worktree: &Path, edit: impl FnOnce(&Path)) -> String {
    edit(worktree);
    git(worktree, &["add", "--all"]);
    let patch = git(worktree, &["diff", "--cached"]);
    git(worktree, &["reset", "--quiet", "--hard"]);
    git(worktree, &["clean", "--quiet", "-fd"]);
    assert_eq!(git(worktree, &["status", "--porcelain"]), "");
    patch
}

#[test]
fn apply_patch_applies_everything_or_nothing() {
    let fx = Fixture::new();
    let before = fx.main_state();
    let wt = fx.worktree("w", &fx.base);
    let patch = make_patch(&wt, |wt| {
        write(
            wt,
            "src/lib.rs",
            "pub fn one() -> u32 {\n    1\n}\n\npub fn two() -> u32 {\n    2\n}\n",
        );
        write(wt, "src/new.rs", "pub const NEW: bool = true;\n");
        fs::remove_file(wt.join("README.md")).expect("rm");
    });
    Repo::apply_patch(&wt, &patch).expect("apply");
    assert!(read(&wt, "src/lib.rs").contains("fn two()"));
    assert_eq!(read(&wt, "src/new.rs"), "pub const NEW: bool = true;\n");
    assert!(!wt.join("README.md").exists());
    // Applied to the files, not the index.
    assert_eq!(git(&wt, &["diff", "--cached", "--name-only"]), "");
    git(&wt, &["reset", "--quiet", "--hard"]);
    git(&wt, &["clean", "--quiet", "-fd"]);

    // The first file's hunk applies, the second's does not: nothing is
    // written.
    let patch = make_patch(&wt, |wt| {
        write(wt, "README.md", "# a project\n\nOther words.\n");
        write(wt, "src/lib.rs", "pub fn one() -> u32 {\n    11\n}\n");
    });
    write(&wt, "src/lib.rs", "pub fn one() -> u64 {\n    1\n}\n");
    match Repo::apply_patch(&wt, &patch) {
        Err(Error::InvalidInput(msg)) => {
            assert!(msg.contains("does not apply"), "{msg}");
            assert!(msg.len() < 400, "a clipped reason: {msg}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(read(&wt, "README.md"), "# a project\n\nSome words.\n");
    assert_eq!(read(&wt, "src/lib.rs"), "pub fn one() -> u64 {\n    1\n}\n");
    assert_eq!(
        git(&wt, &["status", "--porcelain"]),
        " M src/lib.rs\n",
        "only the edit made before the patch"
    );

    // Not a patch at all, and a long one at that: the reason is clipped.
    let garbage = format!("diff --git a/x b/x\n@@ nonsense {}\n", "y".repeat(5000));
    match Repo::apply_patch(&wt, &garbage) {
        Err(Error::InvalidInput(msg)) => assert!(msg.len() < 400, "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    // A patch reaching out of the worktree writes nothing there.
    let traversal = "diff --git a/../escaped b/../escaped\nnew file mode 100644\n\
                     index 0000000..e69de29\n--- /dev/null\n+++ b/../escaped\n\
                     @@ -0,0 +1 @@\n+evil\n";
    assert!(matches!(
        Repo::apply_patch(&wt, traversal),
        Err(Error::InvalidInput(_))
    ));
    assert!(!wt.parent().expect("parent").join("escaped").exists());
    let dot_git = "diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\n\
                   new file mode 100755\nindex 0000000..e69de29\n--- /dev/null\n\
                   +++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n";
    assert!(matches!(
        Repo::apply_patch(&wt, dot_git),
        Err(Error::InvalidInput(_))
    ));
    assert!(!fx.root.join(".git/hooks/pre-commit").exists());

    // Never in the main working tree.
    let good = make_patch(&wt, |wt| write(wt, "README.md", "# new\n"));
    assert!(matches!(
        Repo::apply_patch(&fx.root, &good),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(fx.main_state(), before, "the main tree was touched");
}

#[test]
fn patch_paths_names_every_path_unsafe_ones_included() {
    let traversal = "diff --git a/../x b/../x\nnew file mode 100644\nindex 0000000..e69de29\n\
                     --- /dev/null\n+++ b/../x\n@@ -0,0 +1 @@\n+evil\n";
    let paths = Repo::patch_paths(traversal).expect("parse");
    assert!(paths.iter().any(|p| p.contains("../x")), "{paths:?}");

    let absolute = "diff --git a//etc/x b//etc/x\nnew file mode 100644\nindex 0000000..e69de29\n\
                    --- /dev/null\n+++ b//etc/x\n@@ -0,0 +1 @@\n+evil\n";
    let paths = Repo::patch_paths(absolute).expect("parse");
    assert!(paths.iter().any(|p| p == "/etc/x"), "{paths:?}");

    // Both sides of a rename; a quoted name; a removed line that reads like
    // a header is hunk content, not a path.
    let rename = "diff --git a/old.rs b/new.rs\nsimilarity index 100%\nrename from old.rs\n\
                  rename to new.rs\n\
                  diff --git \"a/sp\\303\\251cial.rs\" \"b/sp\\303\\251cial.rs\"\n\
                  index 1111111..2222222 100644\n\
                  --- \"a/sp\\303\\251cial.rs\"\n+++ \"b/sp\\303\\251cial.rs\"\n\
                  @@ -1,2 +1 @@\n-a\n--- a/not-a-path\n+b\n";
    assert_eq!(
        Repo::patch_paths(rename).expect("parse"),
        ["new.rs", "old.rs", "spécial.rs"]
    );

    for bad in ["", "hello, world\n", "--- a\n+++ b\n"] {
        assert!(
            matches!(Repo::patch_paths(bad), Err(Error::InvalidInput(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn snapshot_commits_what_is_on_disk() {
    let fx = Fixture::new();
    let before = fx.main_state();
    let wt = fx.worktree("w", &fx.base);
    assert_eq!(
        Repo::snapshot(&wt, "nothing", AUTHOR).expect("snapshot"),
        None
    );

    // Changes a coding CLI might make: a file made by a shell command, a
    // deletion, an edit, an ignored log, a new executable.
    let made = std::process::Command::new("sh")
        .current_dir(&wt)
        .args([
            "-c",
            "mkdir -p gen && echo 'made by sh' > gen/out.txt && rm tests/a.rs",
        ])
        .status()
        .expect("sh");
    assert!(made.success());
    write(&wt, "README.md", "# edited\n");
    write(&wt, "build.log", "ignored\n");
    write(&wt, "tool.sh", "#!/bin/sh\n");
    fs::set_permissions(wt.join("tool.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");

    let id = Repo::snapshot(&wt, "hive: snapshot\n", AUTHOR)
        .expect("snapshot")
        .expect("a commit");
    assert_eq!(fx.repo.resolve_branch("hive/w").expect("branch"), id);
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]).trim(), id);
    assert_eq!(
        git(&wt, &["log", "-1", "--format=%an <%ae>|%cn|%P"]).trim(),
        format!("{} <{}>|{}|{}", AUTHOR.0, AUTHOR.1, AUTHOR.0, fx.base)
    );
    assert_eq!(
        fx.repo.commit_message(&id).expect("message"),
        "hive: snapshot\n"
    );
    let changes = fx.repo.diff(&fx.base, &id).expect("diff");
    let mut paths: Vec<_> = changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
    paths.sort_by_key(|(path, _)| *path);
    assert_eq!(
        paths,
        [
            ("README.md", ChangeKind::Modified),
            ("gen/out.txt", ChangeKind::Added),
            ("tests/a.rs", ChangeKind::Deleted),
            ("tool.sh", ChangeKind::Added),
        ]
    );
    assert!(change(&changes, "tool.sh").executable);
    // The worktree's own index agrees with what was committed.
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
    assert_eq!(
        Repo::snapshot(&wt, "again", AUTHOR).expect("snapshot"),
        None
    );

    assert!(matches!(
        Repo::snapshot(&fx.root, "main", AUTHOR),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(fx.main_state(), before, "the main tree was touched");
}

#[test]
fn diff_reports_kinds_stats_renames_and_symlinks() {
    let fx = Fixture::new();
    let wt = fx.worktree("w", &fx.base);
    // A long file, so its rename is recognised despite an edit.
    let long: String = (0..40).map(|i| format!("line {i}\n")).collect();
    write(&wt, "docs/long.txt", &long);
    let first = Repo::snapshot(&wt, "long", AUTHOR)
        .expect("snap")
        .expect("commit");

    git(&wt, &["mv", "docs/long.txt", "docs/moved.txt"]);
    write(&wt, "docs/moved.txt", &format!("{long}one more\n"));
    write(
        &wt,
        "src/lib.rs",
        "pub fn one() -> u32 {\n    2\n}\n// end\n",
    );
    std::os::unix::fs::symlink("../etc/passwd", wt.join("link")).expect("symlink");
    fs::remove_file(wt.join("README.md")).expect("rm");
    std::os::unix::fs::symlink("src/lib.rs", wt.join("README.md")).expect("symlink");
    fs::write(wt.join("blob.bin"), [0u8, 159, 146, 150, 0, 1, 2]).expect("binary");
    fs::set_permissions(wt.join("run.sh"), fs::Permissions::from_mode(0o644)).expect("chmod");
    let second = Repo::snapshot(&wt, "all kinds", AUTHOR)
        .expect("snap")
        .expect("commit");

    let changes = fx.repo.diff(&first, &second).expect("diff");
    let moved = change(&changes, "docs/moved.txt");
    assert_eq!(moved.kind, ChangeKind::Renamed);
    assert_eq!(moved.old_path.as_deref(), Some("docs/long.txt"));
    assert_eq!((moved.insertions, moved.deletions), (1, 0));

    let lib = change(&changes, "src/lib.rs");
    assert_eq!(lib.kind, ChangeKind::Modified);
    assert_eq!((lib.insertions, lib.deletions), (2, 1));
    assert_eq!(lib.old_path, None);
    assert!(!lib.symlink && !lib.executable && !lib.binary);

    let link = change(&changes, "link");
    assert_eq!(link.kind, ChangeKind::Added);
    assert!(link.symlink, "{link:?}");

    let readme = change(&changes, "README.md");
    assert_eq!(readme.kind, ChangeKind::TypeChanged);
    assert!(readme.symlink);

    let bin = change(&changes, "blob.bin");
    assert_eq!(bin.kind, ChangeKind::Added);
    assert!(bin.binary);
    assert_eq!((bin.insertions, bin.deletions), (0, 0));

    let run = change(&changes, "run.sh");
    assert_eq!(run.kind, ChangeKind::Modified);
    assert!(!run.executable, "mode 100644 now");
    assert_eq!(changes.len(), 6, "{changes:#?}");

    // The other way round: a deletion, the executable bit, serde names.
    let back = fx.repo.diff(&second, &first).expect("diff");
    let gone = change(&back, "blob.bin");
    assert_eq!(gone.kind, ChangeKind::Deleted);
    assert!(change(&back, "run.sh").executable);
    let json = serde_json::to_value(change(&back, "README.md")).expect("json");
    assert_eq!(json["kind"], "type_changed");
    let round: FileChange = serde_json::from_value(json).expect("from json");
    assert_eq!(&round, change(&back, "README.md"));

    assert!(fx.repo.diff(&fx.base, &fx.base).expect("diff").is_empty());
    assert!(matches!(
        fx.repo.diff("not-hex", &fx.base),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn read_and_restore_files_put_back_the_base() {
    let fx = Fixture::new();
    let wt = fx.worktree("w", &fx.base);
    assert_eq!(
        fx.repo.read_file(&fx.base, "tests/a.rs").expect("read"),
        Some(read(&fx.root, "tests/a.rs").into_bytes())
    );
    assert_eq!(
        fx.repo.read_file(&fx.base, "tests/nope.rs").expect("read"),
        None
    );
    assert_eq!(
        fx.repo.read_file(&fx.base, "tests").expect("read"),
        None,
        "a directory"
    );

    // The agent weakened a test, added one, and dropped the executable bit.
    write(&wt, "tests/a.rs", "#[test]\nfn one() {}\n");
    write(&wt, "tests/new.rs", "#[test]\nfn new() {}\n");
    fs::remove_file(wt.join("run.sh")).expect("rm");
    write(&wt, "run.sh", "#!/bin/sh\necho changed\n");
    Repo::snapshot(&wt, "agent", AUTHOR)
        .expect("snap")
        .expect("commit");

    let paths: Vec<String> = ["tests/a.rs", "tests/new.rs", "run.sh", "tests/deep/none.rs"]
        .map(String::from)
        .to_vec();
    fx.repo
        .restore_files(&wt, &fx.base, &paths)
        .expect("restore");
    assert_eq!(read(&wt, "tests/a.rs"), read(&fx.root, "tests/a.rs"));
    assert!(!wt.join("tests/new.rs").exists());
    assert_eq!(read(&wt, "run.sh"), "#!/bin/sh\necho run\n");
    let mode = fs::metadata(wt.join("run.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable again: {mode:o}");
    assert!(
        !wt.join("tests/deep").exists(),
        "nothing made for a deletion"
    );

    // A symlinked directory does not lead the restore outside the worktree.
    let outside = fx.dir.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    fs::remove_dir_all(wt.join("tests")).expect("rm tests");
    std::os::unix::fs::symlink(&outside, wt.join("tests")).expect("symlink");
    fx.repo
        .restore_files(&wt, &fx.base, &["tests/a.rs".to_string()])
        .expect("restore");
    assert!(
        fs::read_dir(&outside).expect("ls").next().is_none(),
        "wrote outside"
    );
    assert!(fs::symlink_metadata(wt.join("tests"))
        .expect("stat")
        .is_dir());
    assert_eq!(read(&wt, "tests/a.rs"), read(&fx.root, "tests/a.rs"));

    for bad in [
        "../x",
        "/etc/passwd",
        ".git/config",
        "src/.GIT/x",
        "a/../b",
        "./a",
        "",
    ] {
        assert!(
            matches!(
                fx.repo.restore_files(&wt, &fx.base, &[bad.to_string()]),
                Err(Error::InvalidInput(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                fx.repo.read_file(&fx.base, bad),
                Err(Error::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
    // One bad path refuses the lot, before anything is written.
    write(&wt, "tests/a.rs", "edited again\n");
    assert!(matches!(
        fx.repo
            .restore_files(&wt, &fx.base, &["tests/a.rs".into(), "../x".into()]),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(read(&wt, "tests/a.rs"), "edited again\n");
    assert!(matches!(
        fx.repo.restore_files(&wt, &fx.base, &["src".into()]),
        Err(Error::InvalidInput(_))
    ));
    // Never the main working tree.
    assert!(matches!(
        fx.repo
            .restore_files(&fx.root, &fx.base, &["tests/a.rs".into()]),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn tags_are_idempotent_and_never_moved() {
    let fx = Fixture::new();
    let name = "hive/rollback/0001";
    assert_eq!(fx.repo.tag_target(name).expect("target"), None);
    fx.repo.tag(name, &fx.base).expect("tag");
    fx.repo.tag(name, &fx.base).expect("again");
    assert_eq!(
        fx.repo.tag_target(name).expect("target"),
        Some(fx.base.clone())
    );
    assert_eq!(git(&fx.root, &["rev-parse", name]).trim(), fx.base);
    assert_eq!(
        git(&fx.root, &["cat-file", "-t", &format!("refs/tags/{name}")]).trim(),
        "commit",
        "a lightweight tag"
    );

    write(&fx.root, "README.md", "# second\n");
    git(&fx.root, &["commit", "--quiet", "-am", "second"]);
    let second = fx.repo.resolve_branch("main").expect("resolve");
    assert!(matches!(
        fx.repo.tag(name, &second),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        fx.repo.tag_target(name).expect("target"),
        Some(fx.base.clone())
    );
    assert!(matches!(
        fx.repo.tag("bad..name", &second),
        Err(Error::InvalidInput(_))
    ));
}

/// A commit on `hive/<name>` on top of `base` that edits, adds and deletes.
fn change_in_worktree(fx: &Fixture, name: &str, base: &str) -> (PathBuf, String) {
    let wt = fx.worktree(name, base);
    write(
        &wt,
        "src/lib.rs",
        "pub fn one() -> u32 {\n    1\n}\n\npub fn two() -> u32 {\n    2\n}\n",
    );
    write(&wt, "src/two.rs", "pub const TWO: u32 = 2;\n");
    fs::remove_file(wt.join("README.md")).expect("rm");
    let id = Repo::snapshot(&wt, "the change", AUTHOR)
        .expect("snap")
        .expect("commit");
    (wt, id)
}

#[test]
fn fast_forward_updates_a_clean_checked_out_main() {
    let fx = Fixture::new();
    let (_wt, new) = change_in_worktree(&fx, "w", &fx.base);
    fx.repo
        .fast_forward("main", &fx.base, &new)
        .expect("fast-forward");
    assert_eq!(git(&fx.root, &["rev-parse", "main"]).trim(), new);
    assert_eq!(
        git(&fx.root, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert_eq!(fx.status(), "", "the main tree follows its branch");
    assert!(read(&fx.root, "src/lib.rs").contains("fn two()"));
    assert_eq!(read(&fx.root, "src/two.rs"), "pub const TWO: u32 = 2;\n");
    assert!(!fx.root.join("README.md").exists());
    assert_eq!(fx.repo.commit_count("main").expect("count"), 2);
    // Again, now that it is there: nothing to do.
    fx.repo.fast_forward("main", &new, &new).expect("no-op");
}

#[test]
fn fast_forward_refuses_moved_diverged_and_dirty() {
    let fx = Fixture::new();
    let (_wt, new) = change_in_worktree(&fx, "w", &fx.base);

    // Someone moved main since the change was based on it.
    write(&fx.root, "tests/a.rs", "// someone else\n");
    git(&fx.root, &["commit", "--quiet", "-am", "someone else"]);
    let moved = fx.repo.resolve_branch("main").expect("resolve");
    match fx.repo.fast_forward("main", &fx.base, &new) {
        Err(Error::Conflict(msg)) => assert!(msg.contains("moved"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), moved);
    assert_eq!(fx.status(), "");

    // `new` is not a descendant of where main is now.
    match fx.repo.fast_forward("main", &moved, &new) {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("descend"), "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), moved);

    // A dirty main working tree: the branch is not moved, the edit stays.
    let (_wt2, newer) = change_in_worktree(&fx, "w2", &moved);
    write(&fx.root, "tests/a.rs", "// uncommitted\n");
    match fx.repo.fast_forward("main", &moved, &newer) {
        Err(Error::Conflict(msg)) => assert!(msg.contains("uncommitted"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), moved);
    assert_eq!(read(&fx.root, "tests/a.rs"), "// uncommitted\n");
    assert_eq!(fx.status(), " M tests/a.rs\n");

    // An untracked file where the change adds one: refused, kept.
    git(&fx.root, &["checkout", "--quiet", "--", "tests/a.rs"]);
    write(&fx.root, "src/two.rs", "mine\n");
    assert!(matches!(
        fx.repo.fast_forward("main", &moved, &newer),
        Err(Error::Conflict(_))
    ));
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), moved);
    assert_eq!(read(&fx.root, "src/two.rs"), "mine\n");
    assert_eq!(
        read(&fx.root, "src/lib.rs"),
        "pub fn one() -> u32 {\n    1\n}\n"
    );
    fs::remove_file(fx.root.join("src/two.rs")).expect("rm");
    assert_eq!(fx.status(), "");

    // A branch nobody has checked out moves without touching any tree.
    git(&fx.root, &["branch", "release", &moved]);
    fx.repo
        .fast_forward("release", &moved, &newer)
        .expect("fast-forward");
    assert_eq!(fx.repo.resolve_branch("release").expect("resolve"), newer);
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), moved);
    assert_eq!(fx.status(), "");

    // A branch a worktree has checked out is not moved under it.
    let wt2 = fx.wt_path("w2");
    write(&wt2, "later.txt", "later\n");
    let newest = Repo::snapshot(&wt2, "later", AUTHOR)
        .expect("snap")
        .expect("commit");
    git(&wt2, &["reset", "--quiet", "--hard", &newer]);
    assert!(matches!(
        fx.repo.fast_forward("hive/w2", &newer, &newest),
        Err(Error::Conflict(_))
    ));
    assert_eq!(fx.repo.resolve_branch("hive/w2").expect("resolve"), newer);
    assert!(matches!(
        fx.repo.fast_forward("nope", &moved, &newer),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn revert_adds_a_commit_undoing_the_change() {
    let fx = Fixture::new();
    let (_wt, new) = change_in_worktree(&fx, "w", &fx.base);
    fx.repo
        .fast_forward("main", &fx.base, &new)
        .expect("fast-forward");
    fx.repo
        .tag("hive/rollback/1", &fx.base)
        .expect("rollback tag");

    let revert = fx
        .repo
        .revert("main", &new, "hive: revert the change\n", AUTHOR)
        .expect("revert");
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), revert);
    assert_eq!(
        git(&fx.root, &["rev-parse", &format!("{revert}^")]).trim(),
        new,
        "on top of the old head: history is not rewritten"
    );
    assert_eq!(
        git(&fx.root, &["rev-parse", &format!("{revert}^{{tree}}")]),
        git(&fx.root, &["rev-parse", &format!("{}^{{tree}}", fx.base)]),
        "the tree from before the change"
    );
    assert!(fx.repo.is_ancestor(&new, &revert).expect("ancestry"));
    assert_eq!(fx.repo.commit_count("main").expect("count"), 3);
    assert_eq!(
        fx.repo.commit_message(&revert).expect("message"),
        "hive: revert the change\n"
    );
    // The clean main tree followed.
    assert_eq!(fx.status(), "");
    assert_eq!(read(&fx.root, "README.md"), "# a project\n\nSome words.\n");
    assert!(!fx.root.join("src/two.rs").exists());

    // Reverting again changes nothing: refused, nothing moves.
    assert!(matches!(
        fx.repo.revert("main", &new, "again", AUTHOR),
        Err(Error::Conflict(_))
    ));
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), revert);

    // A revert that conflicts with later work changes nothing either.
    write(
        &fx.root,
        "src/lib.rs",
        "pub fn one() -> u32 {\n    1\n}\n\npub fn two() -> u32 {\n    22\n}\n",
    );
    git(&fx.root, &["commit", "--quiet", "-am", "later work"]);
    let later = fx.repo.resolve_branch("main").expect("resolve");
    let before = fx.main_state();
    let redo = fx
        .repo
        .revert("main", &revert, "redo", AUTHOR)
        .expect_err("conflicts");
    assert!(matches!(redo, Error::Conflict(_)), "{redo:?}");
    assert_eq!(fx.repo.resolve_branch("main").expect("resolve"), later);
    assert_eq!(fx.main_state(), before);
}

#[test]
fn commit_count_and_ancestry() {
    let fx = Fixture::new();
    assert_eq!(fx.repo.commit_count("main").expect("count"), 1);
    let (_wt, new) = change_in_worktree(&fx, "w", &fx.base);
    assert_eq!(fx.repo.commit_count("hive/w").expect("count"), 2);
    assert!(fx.repo.is_ancestor(&fx.base, &new).expect("ancestry"));
    assert!(fx.repo.is_ancestor(&fx.base, &fx.base).expect("ancestry"));
    assert!(!fx.repo.is_ancestor(&new, &fx.base).expect("ancestry"));
    // A short id is fine.
    assert!(fx.repo.is_ancestor(&fx.base[..10], &new).expect("ancestry"));
    assert!(matches!(
        fx.repo.commit_count("nope"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn removing_worktrees_and_branches_leaves_only_the_main_tree() {
    let fx = Fixture::new();
    let before = fx.main_state();
    let (one, _) = change_in_worktree(&fx, "one", &fx.base);
    let two = fx.worktree("two", &fx.base);
    assert_eq!(fx.repo.worktree_names().expect("names"), ["one", "two"]);
    assert_eq!(
        fx.repo.branches("hive/").expect("branches"),
        ["hive/one", "hive/two"]
    );

    // A checked-out branch is not deleted.
    assert!(matches!(
        fx.repo.delete_branch("hive/one"),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        fx.repo.delete_branch("main"),
        Err(Error::Conflict(_))
    ));
    // The repository itself is never removed as a worktree.
    assert!(matches!(
        fx.repo.remove_worktree("one", &fx.root),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        fx.repo.remove_worktree("one", fx.dir.path()),
        Err(Error::InvalidInput(_))
    ));
    assert!(fx.root.join(".git").exists());

    for (name, path) in [("one", &one), ("two", &two)] {
        fx.repo.remove_worktree(name, path).expect("remove");
        assert!(!path.exists());
        fx.repo.remove_worktree(name, path).expect("again");
        let branch = format!("hive/{name}");
        fx.repo.delete_branch(&branch).expect("delete");
        fx.repo.delete_branch(&branch).expect("again");
    }
    let list = git(&fx.root, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("worktree ")).count(),
        1,
        "{list}"
    );
    assert!(fx.repo.worktree_names().expect("names").is_empty());
    assert!(fx.repo.branches("hive/").expect("branches").is_empty());
    assert_eq!(git(&fx.root, &["branch", "--list", "hive/*"]), "");
    assert_eq!(fx.main_state(), before, "the main tree was touched");
}
