//! The self-modifier end to end on the embedded hive: change sets on a
//! fixture repository made here (shell scripts: a function, its tests, a
//! benchmark, a health check), through every gate, with the sandbox on.
//!
//! What each test shows is a clause of issue 22's "What must show": a
//! correct change merges with a rollback tag (its new test failed on the
//! base); editing a test or breaking one is rejected with nothing left
//! behind; a 30 % slower benchmark is rejected and a neutral change
//! passes 5 of 5; a critical change waits for an approval (approve merges,
//! reject and timeout do not); a merged change that breaks the health
//! command is reverted within 30 s by a commit naming it; a patch that
//! does not apply is refused with the repository unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hive_core::queue::TaskFilter;
use hive_core::selfmod::STEP_TASK;
use hive_core::selfmod::{
    ChangeSet, ChangeStatus, NewChangeSet, Policy, RepositoryConfig, RiskClass,
};
use hive_core::Hive;

/// Runs git in `dir`, answering its stdout; panics with its stderr.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
    std::fs::write(file, text).expect("write");
}

const POLICY: &str = r#"
allowed = ["src/**", "tests/**"]
critical = ["src/auth/**"]
tests = ["tests/**"]
approval_timeout_secs = 3
[test]
command = ["sh", "run-tests.sh"]
timeout_secs = 60
"#;

const BENCH: &str = r#"
[bench]
command = ["sh", "src/work.sh"]
runs = 10
max_slowdown = 0.1
"#;

const WATCH: &str = r#"
[watch]
command = ["sh", "src/health.sh"]
window_secs = 4
interval_secs = 1
"#;

/// A fixture repository on `main` with a policy, a hive and the
/// repository added to it.
struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    scratch: PathBuf,
    hive: Hive,
}

impl Fixture {
    async fn new(policy_extra: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "user.name", "Fixture"]);
        git(&repo, &["config", "user.email", "fixture@example.com"]);
        write(&repo, "src/add.sh", "echo $(( $1 + $2 ))\n");
        write(&repo, "src/work.sh", "sleep 0.1\n");
        write(&repo, "src/health.sh", "exit 0\n");
        write(
            &repo,
            "tests/test_add.sh",
            "[ \"$(sh src/add.sh 2 3)\" = 5 ]\n",
        );
        write(
            &repo,
            "run-tests.sh",
            "for t in tests/*.sh; do sh \"$t\" || { echo \"FAIL $t\"; exit 1; }; done\necho ok\n",
        );
        let policy_text = format!("{POLICY}{policy_extra}");
        write(&repo, "hive-policy.toml", &policy_text);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "fixture"]);
        let scratch = dir.path().join("scratch");
        git(
            dir.path(),
            &["clone", "-q", repo.to_str().expect("utf-8"), "scratch"],
        );
        let hive = Hive::embedded(dir.path().join("hive.db"))
            .await
            .expect("hive");
        let policy = Policy::from_toml(&policy_text).expect("policy");
        hive.add_repository(RepositoryConfig::new("app", &repo, policy))
            .await
            .expect("add repository");
        Fixture {
            _dir: dir,
            repo,
            scratch,
            hive,
        }
    }

    /// The patch that makes these edits (None deletes) to `main`.
    fn patch(&self, edits: &[(&str, Option<&str>)]) -> String {
        git(&self.scratch, &["fetch", "-q", "origin"]);
        git(&self.scratch, &["reset", "-q", "--hard", "origin/main"]);
        for (path, text) in edits {
            match text {
                Some(t) => write(&self.scratch, path, t),
                None => std::fs::remove_file(self.scratch.join(path)).expect("rm"),
            }
        }
        git(&self.scratch, &["add", "-A"]);
        let patch = git(&self.scratch, &["diff", "--cached"]);
        git(&self.scratch, &["reset", "-q", "--hard"]);
        format!("{patch}\n")
    }

    async fn propose(&self, title: &str, edits: &[(&str, Option<&str>)]) -> ChangeSet {
        self.hive
            .changes()
            .propose(NewChangeSet::patch("app", title, self.patch(edits)))
            .await
            .expect("propose")
    }

    /// Waits until the change set reaches one of `statuses`.
    async fn until(&self, c: &ChangeSet, statuses: &[ChangeStatus]) -> ChangeSet {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let now = self.hive.changes().get(c.id).await.expect("get");
            if statuses.contains(&now.status) {
                return now;
            }
            if Instant::now() >= deadline {
                let filter = TaskFilter {
                    task_type: Some(STEP_TASK.into()),
                    ..TaskFilter::default()
                };
                let tasks = self.hive.queue().list(&filter).await.expect("tasks");
                let errors: Vec<_> = tasks
                    .iter()
                    .map(|t| (t.payload.to_string(), t.status, t.attempts, t.error.clone()))
                    .collect();
                panic!(
                    "change set stuck at {:?}/{:?}: {}\nstep errors: {errors:#?}",
                    now.status,
                    now.step,
                    log_of(&now)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn settle(&self, c: &ChangeSet) -> ChangeSet {
        self.until(
            c,
            &[
                ChangeStatus::Done,
                ChangeStatus::Rejected,
                ChangeStatus::Reverted,
                ChangeStatus::Failed,
                ChangeStatus::AwaitingApproval,
            ],
        )
        .await
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "main"])
    }

    /// Nothing of a change set is left: no worktree but the main one, no
    /// hive branch, a clean main working tree.
    fn assert_clean(&self) {
        let worktrees = git(&self.repo, &["worktree", "list", "--porcelain"]);
        assert_eq!(
            worktrees.matches("worktree ").count(),
            1,
            "worktrees left: {worktrees}"
        );
        assert_eq!(git(&self.repo, &["branch", "--list", "hive/*"]), "");
        assert_eq!(git(&self.repo, &["status", "--porcelain"]), "");
    }
}

fn log_of(c: &ChangeSet) -> String {
    c.logs
        .iter()
        .map(|l| {
            format!(
                "{}: {} {}\n{}",
                l.step.as_str(),
                l.passed,
                l.summary,
                l.output
            )
        })
        .collect()
}

const MUL: &str = "echo $(( $1 * $2 ))\n";
const MUL_TEST: &str = "[ \"$(sh src/mul.sh 2 3)\" = 6 ]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_change_with_a_new_test_merges_with_a_rollback_tag() {
    let f = Fixture::new("").await;
    let before = f.head();
    let c = f
        .propose(
            "add mul",
            &[
                ("src/mul.sh", Some(MUL)),
                ("tests/test_mul.sh", Some(MUL_TEST)),
            ],
        )
        .await;
    let c = f.settle(&c).await;
    assert_eq!(c.status, ChangeStatus::Done, "{}", log_of(&c));
    assert_eq!(c.risk, Some(RiskClass::Normal));
    let tests = c
        .logs
        .iter()
        .find(|l| l.step.as_str() == "tests")
        .expect("tests ran");
    assert!(
        tests.summary.contains("fail on the base"),
        "{}",
        tests.summary
    );
    assert!(
        tests.output.contains("FAIL tests/test_mul.sh"),
        "{}",
        tests.output
    );
    let head = f.head();
    assert_eq!(Some(&head), c.merged_commit.as_ref());
    assert_eq!(git(&f.repo, &["rev-parse", &format!("{head}~1")]), before);
    let tag = c.rollback_tag.clone().expect("a rollback tag");
    assert_eq!(tag, format!("hive/rollback/{}", c.id));
    assert_eq!(git(&f.repo, &["rev-parse", &tag]), before);
    assert_eq!(
        std::fs::read_to_string(f.repo.join("src/mul.sh")).expect("merged"),
        MUL
    );
    let diff = c.diff.expect("diff stats");
    assert_eq!((diff.files, diff.insertions, diff.deletions), (2, 2, 0));
    f.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_test_to_pass_or_breaking_one_is_rejected_and_leaves_nothing() {
    let f = Fixture::new("").await;
    let before = f.head();
    let cheat = f
        .propose(
            "subtract instead",
            &[
                ("src/add.sh", Some("echo $(( $1 - $2 ))\n")),
                (
                    "tests/test_add.sh",
                    Some("[ \"$(sh src/add.sh 2 3)\" = -1 ]\n"),
                ),
            ],
        )
        .await;
    let cheat = f.settle(&cheat).await;
    assert_eq!(cheat.status, ChangeStatus::Rejected, "{}", log_of(&cheat));
    let why = cheat.reason.clone().unwrap_or_default();
    assert!(why.contains("the tests fail on the change"), "{why}");
    let tests = cheat
        .logs
        .iter()
        .find(|l| l.step.as_str() == "tests")
        .expect("ran");
    assert!(
        tests
            .output
            .contains("restored from the base: tests/test_add.sh"),
        "{}",
        tests.output
    );

    let broken = f
        .propose("break add", &[("src/add.sh", Some("echo 0\n"))])
        .await;
    let broken = f.settle(&broken).await;
    assert_eq!(broken.status, ChangeStatus::Rejected, "{}", log_of(&broken));
    assert_eq!(f.head(), before, "the target never moved");
    f.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_tests_that_pass_on_the_base_are_refused() {
    let f = Fixture::new("").await;
    let c = f
        .propose(
            "a test of nothing new",
            &[(
                "tests/test_again.sh",
                Some("[ \"$(sh src/add.sh 1 1)\" = 2 ]\n"),
            )],
        )
        .await;
    let c = f.settle(&c).await;
    assert_eq!(c.status, ChangeStatus::Rejected, "{}", log_of(&c));
    assert!(c.reason.unwrap_or_default().contains("pass on the base"));
    f.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_gate_refuses_a_slowdown_and_does_not_flap() {
    let f = Fixture::new(BENCH).await;
    let before = f.head();
    let slow = f
        .propose("slower work", &[("src/work.sh", Some("sleep 0.13\n"))])
        .await;
    let slow = f.settle(&slow).await;
    assert_eq!(slow.status, ChangeStatus::Rejected, "{}", log_of(&slow));
    let figures = slow.bench.clone().expect("figures kept");
    eprintln!(
        "30 % slower: ratio {:.3}, interval [{:.3}, {:.3}]",
        figures.ratio, figures.low, figures.high
    );
    assert!(figures.low > 1.1 && !figures.passed, "{figures:?}");
    assert_eq!(figures.base_ms.len(), 10);
    assert!(slow.reason.unwrap_or_default().contains("interval"));
    assert_eq!(f.head(), before);

    for i in 0..5 {
        let text = format!("# neutral {i}\nsleep 0.1\n");
        let same = f
            .propose(&format!("neutral {i}"), &[("src/work.sh", Some(&text))])
            .await;
        let same = f.settle(&same).await;
        let figures = same.bench.clone().expect("figures kept");
        eprintln!(
            "neutral {i}: ratio {:.3}, interval [{:.3}, {:.3}]",
            figures.ratio, figures.low, figures.high
        );
        assert_eq!(
            same.status,
            ChangeStatus::Done,
            "repeat {i}: {figures:?}\n{}",
            log_of(&same)
        );
    }
    f.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_change_waits_for_approval_and_rejection_or_timeout_stop_it() {
    let f = Fixture::new("").await;
    let key = "echo key\n";
    let approved = f
        .propose("rotate keys", &[("src/auth/key.sh", Some(key))])
        .await;
    let waiting = f.settle(&approved).await;
    assert_eq!(
        waiting.status,
        ChangeStatus::AwaitingApproval,
        "{}",
        log_of(&waiting)
    );
    assert_eq!(waiting.risk, Some(RiskClass::Critical));
    let merged = f
        .hive
        .changes()
        .approve(approved.id, "carol", "reviewed")
        .await
        .expect("approve");
    assert_eq!(
        merged.decision.as_ref().map(|d| d.by.as_str()),
        Some("carol")
    );
    let done = f.until(&approved, &[ChangeStatus::Done]).await;
    assert_eq!(Some(f.head()), done.merged_commit);

    let before = f.head();
    let rejected = f
        .propose("more keys", &[("src/auth/more.sh", Some(key))])
        .await;
    f.until(&rejected, &[ChangeStatus::AwaitingApproval]).await;
    let r = f
        .hive
        .changes()
        .reject(rejected.id, "dave", "not now")
        .await
        .expect("reject");
    assert_eq!(r.status, ChangeStatus::Rejected);
    assert!(f
        .hive
        .changes()
        .approve(rejected.id, "carol", "late")
        .await
        .is_err());

    let timed = f
        .propose("keys again", &[("src/auth/again.sh", Some(key))])
        .await;
    f.until(&timed, &[ChangeStatus::AwaitingApproval]).await;
    let timed = f.until(&timed, &[ChangeStatus::Rejected]).await;
    assert!(timed
        .reason
        .unwrap_or_default()
        .contains("no approval within 3 s"));
    assert_eq!(f.head(), before);
    f.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_that_breaks_the_health_command_is_reverted_within_30_s() {
    let f = Fixture::new(WATCH).await;
    let before = f.head();
    let c = f
        .propose("break health", &[("src/health.sh", Some("exit 3\n"))])
        .await;
    let merged = f
        .until(&c, &[ChangeStatus::Watching, ChangeStatus::Reverted])
        .await;
    let merged_at = Instant::now();
    let c = f.until(&merged, &[ChangeStatus::Reverted]).await;
    assert!(merged_at.elapsed() < Duration::from_secs(30));
    let revert = c.revert_commit.clone().expect("a revert commit");
    assert_eq!(f.head(), revert);
    let message = git(&f.repo, &["log", "-1", "--format=%B", &revert]);
    assert!(message.contains(&c.id.to_string()), "{message}");
    assert_eq!(
        git(&f.repo, &["rev-parse", &format!("{revert}^{{tree}}")]),
        git(&f.repo, &["rev-parse", &format!("{before}^{{tree}}")]),
        "the revert restores the tree"
    );
    assert_eq!(
        git(&f.repo, &["rev-list", "--count", "main"]),
        "3",
        "history kept"
    );
    f.assert_clean();

    let healthy = f
        .propose(
            "touch health",
            &[("src/health.sh", Some("# fine\nexit 0\n"))],
        )
        .await;
    let healthy = f.settle(&healthy).await;
    assert_eq!(healthy.status, ChangeStatus::Done, "{}", log_of(&healthy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_the_repository_unchanged() {
    let f = Fixture::new("").await;
    let before = f.head();
    let patch = "diff --git a/src/add.sh b/src/add.sh\n--- a/src/add.sh\n+++ b/src/add.sh\n@@ -1 +1 @@\n-echo nothing like this\n+echo 1\n";
    let c = f
        .hive
        .changes()
        .propose(NewChangeSet::patch("app", "does not apply", patch))
        .await
        .expect("proposed");
    let c = f.settle(&c).await;
    assert_eq!(c.status, ChangeStatus::Rejected);
    assert!(c.reason.unwrap_or_default().contains("does not apply"));

    let escape = "diff --git a/../outside b/../outside\nnew file mode 100644\n--- /dev/null\n+++ b/../outside\n@@ -0,0 +1 @@\n+x\n";
    let c = f
        .hive
        .changes()
        .propose(NewChangeSet::patch("app", "escape", escape))
        .await
        .expect("proposed");
    let c = f.settle(&c).await;
    assert_eq!(c.status, ChangeStatus::Rejected, "{}", log_of(&c));

    let outside = f.propose("outside", &[("README.md", Some("hi\n"))]).await;
    let outside = f.settle(&outside).await;
    assert!(outside
        .reason
        .unwrap_or_default()
        .contains("outside the allowed paths"));

    for (new, field) in [
        (NewChangeSet::patch("app", "", "x"), "title"),
        (NewChangeSet::patch("app", "t", " "), "patch"),
        (NewChangeSet::agent("app", "t", "do it"), "coding command"),
    ] {
        let e = f
            .hive
            .changes()
            .propose(new)
            .await
            .expect_err("refused")
            .to_string();
        assert!(e.contains(field), "{e}");
    }
    let e = f
        .hive
        .changes()
        .propose(NewChangeSet::patch("nope", "t", "x"))
        .await
        .expect_err("unknown");
    assert!(matches!(e, hive_core::Error::NotFound { .. }), "{e}");
    assert_eq!(f.head(), before);
    f.assert_clean();
}

/// A test (added by the change) that tries each escape and succeeds only
/// if the escape works: writing outside its worktree, connecting to a
/// listener on 127.0.0.1, reading a variable the hive's process has.
fn escapes(outside: &Path, port: u16) -> String {
    format!(
        "echo escaped > {out} || exit 1\n\
         python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)' || exit 2\n\
         [ -n \"$CARGO_MANIFEST_DIR\" ] || exit 3\n\
         echo all-escaped\n",
        out = outside.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_the_sandbox_writing_outside_connecting_and_reading_keys_fail() {
    assert!(
        std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "the variable the escape reads is set in this process"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let outside_dir = tempfile::tempdir().expect("tempdir");

    // Each escape alone, so each is shown to fail on its own.
    let cases = [
        ("write", format!("echo escaped > {}\n", outside_dir.path().join("w").display())),
        (
            "connect",
            format!("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)'\n"),
        ),
        ("key", "[ -n \"$CARGO_MANIFEST_DIR\" ]\n".to_string()),
    ];
    let f = Fixture::new("").await;
    let before = f.head();
    for (name, script) in cases {
        let c = f
            .propose(
                &format!("escape by {name}"),
                &[(&format!("tests/test_{name}.sh"), Some(script.as_str()))],
            )
            .await;
        let c = f.settle(&c).await;
        assert_eq!(c.status, ChangeStatus::Rejected, "{name}: {}", log_of(&c));
        assert!(
            c.reason
                .clone()
                .unwrap_or_default()
                .contains("the tests fail on the change"),
            "{name}: {:?}",
            c.reason
        );
    }
    assert!(
        !outside_dir.path().join("w").exists(),
        "nothing written outside"
    );
    assert_eq!(f.head(), before);
    f.assert_clean();

    // The control: the same escapes with isolation off and the variable
    // allowed do get out — the test above could fail.
    let open =
        Fixture::new("[sandbox]\nisolate = false\nenv = [\"PATH\", \"CARGO_MANIFEST_DIR\"]\n")
            .await;
    let outside = outside_dir.path().join("control");
    let c = open
        .propose(
            "escape everything",
            &[
                ("src/x.sh", Some("exit 0\n")),
                ("tests/test_escape.sh", Some(&escapes(&outside, port))),
            ],
        )
        .await;
    let c = open.settle(&c).await;
    let tests = c
        .logs
        .iter()
        .find(|l| l.step.as_str() == "tests")
        .expect("tests ran");
    assert!(tests.output.contains("all-escaped"), "{}", log_of(&c));
    assert!(
        tests.output.contains("isolation is off by the policy"),
        "{}",
        tests.output
    );
    assert!(outside.exists());
    drop(listener);
}
