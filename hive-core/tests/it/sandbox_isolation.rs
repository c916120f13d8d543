//! `ScrubbedCommand` with an `Isolation`, for real: each test runs shell
//! commands in the namespaces and checks what they could and could not
//! reach. They need what `Isolation::probe` checks (Linux, util-linux's
//! `unshare`, a kernel that allows user namespaces), and bash.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hive_core::sandbox::{EnvPolicy, Isolation, Limits, ProcessOutcome, ScrubbedCommand};
use hive_core::Error;
use tokio_util::sync::CancellationToken;

/// `script` run by bash in `dir`, with the base environment.
fn bash(script: &str, dir: &Path) -> ScrubbedCommand {
    ScrubbedCommand::new(vec!["bash".into(), "-c".into(), script.into()], dir)
        .expect("command")
        .env(EnvPolicy::base())
        .timeout(Duration::from_secs(30))
}

async fn run(command: ScrubbedCommand) -> ProcessOutcome {
    command
        .run(&CancellationToken::new())
        .await
        .expect("the command runs")
}

/// A number no other test (or test run) uses, for markers in command lines.
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}{nanos:09}", std::process::id())
}

/// Pids of live processes whose command line is exactly `argv`.
fn processes_running(argv: &[&str]) -> Vec<String> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == wanted))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits up to 5 s for no process to run `argv`; returns those left.
async fn gone(argv: &[&str]) -> Vec<String> {
    for _ in 0..50 {
        let left = processes_running(argv);
        if left.is_empty() {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    processes_running(argv)
}

#[tokio::test]
async fn probe_answers_ok_on_this_machine() {
    Isolation::probe().await.expect("this machine can isolate");
    // The second answer is the cached first one.
    Isolation::probe().await.expect("still");
}

#[tokio::test]
async fn only_the_writable_directories_can_be_written() {
    let work = tempfile::tempdir().expect("temp dir");
    let outside = tempfile::tempdir().expect("temp dir");
    let inside_file = work.path().join("inside.txt");
    let relative_file = work.path().join("relative.txt");
    let outside_file = outside.path().join("outside.txt");

    let script = format!(
        "echo in > '{}' && echo rel > relative.txt && echo null > /dev/null && echo ok",
        inside_file.display()
    );
    let out = run(bash(&script, work.path()).isolate(Isolation::new([work.path()]))).await;
    assert!(out.success(), "{out:#?}");
    assert_eq!(out.stdout, "ok\n");
    assert_eq!(
        std::fs::read_to_string(&inside_file).expect("written"),
        "in\n"
    );
    // The working directory is the writable bind, not the read-only
    // mount below it.
    assert_eq!(
        std::fs::read_to_string(&relative_file).expect("written"),
        "rel\n"
    );

    let script = format!("echo out > '{}'", outside_file.display());
    let out = run(bash(&script, work.path()).isolate(Isolation::new([work.path()]))).await;
    assert!(!out.success() && out.exit_code.is_some(), "{out:#?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:#?}");
    assert!(!outside_file.exists());

    // Without isolation the same write goes through.
    let out = run(bash(&script, work.path())).await;
    assert!(out.success(), "{out:#?}");
    assert!(outside_file.exists());
}

#[tokio::test]
async fn the_network_is_unreachable_unless_allowed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("address").port();
    let work = tempfile::tempdir().expect("temp dir");
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");

    let out = run(bash(&script, work.path())).await;
    assert!(out.success() && out.stdout == "connected\n", "{out:#?}");

    let out = run(bash(&script, work.path()).isolate(Isolation::new([work.path()]))).await;
    assert!(!out.success(), "{out:#?}");
    assert!(!out.stdout.contains("connected"), "{out:#?}");

    let shared = Isolation::new([work.path()]).network(true);
    let out = run(bash(&script, work.path()).isolate(shared)).await;
    assert!(out.success() && out.stdout == "connected\n", "{out:#?}");
}

#[tokio::test]
async fn loopback_works_inside_the_empty_network() {
    let work = tempfile::tempdir().expect("temp dir");
    let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];
    if !ip.iter().any(|p| Path::new(p).exists()) {
        eprintln!("skipped: no `ip` to bring the loopback up with");
        return;
    }
    // A server inside the namespace, reached from inside it.
    let script = "python3 -c '
import socket
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen()
socket.create_connection(s.getsockname()).close(); print(\"loopback\")'";
    let out = run(bash(script, work.path()).isolate(Isolation::new([work.path()]))).await;
    assert!(out.success() && out.stdout == "loopback\n", "{out:#?}");
}

/// Set in the test process before anything reads the environment: the
/// runtime is built after, so no other thread of this test races the write
/// (nextest runs each test in a process of its own).
#[test]
fn secrets_in_the_environment_stay_outside() {
    std::env::set_var("HIVE_TEST_SECRET_KEY", "hunter2");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let work = tempfile::tempdir().expect("temp dir");
        let isolation = Isolation::new([work.path()]);
        let out = run(
            bash("echo \"[${HIVE_TEST_SECRET_KEY-}]\"", work.path()).isolate(isolation.clone())
        )
        .await;
        assert!(out.success(), "{out:#?}");
        assert_eq!(out.stdout, "[]\n");

        // Exactly the policy's variables reach the command: the sandbox's
        // own shell adds none (no PWD, no OLDPWD, no PATH).
        let env = ScrubbedCommand::new(vec!["env".into()], work.path())
            .expect("command")
            .env(EnvPolicy::empty().set("ONLY", "this"))
            .isolate(isolation);
        let out = run(env).await;
        assert!(out.success(), "{out:#?}");
        assert_eq!(out.stdout, "ONLY=this\n");
    });
}

#[tokio::test]
async fn file_size_limit_stops_a_large_write() {
    let work = tempfile::tempdir().expect("temp dir");
    let limits = Limits {
        file_size_bytes: Some(4096),
        ..Limits::default()
    };
    let isolation = Isolation::new([work.path()]).limits(limits);
    let out = run(bash("head -c 1000000 /dev/zero > big", work.path()).isolate(isolation)).await;
    assert!(!out.success(), "{out:#?}");
    let written = std::fs::metadata(work.path().join("big")).map_or(0, |m| m.len());
    assert!(written <= 4096, "{written} bytes written");
}

#[tokio::test]
async fn cpu_limit_kills_a_busy_loop() {
    let work = tempfile::tempdir().expect("temp dir");
    let limits = Limits {
        cpu_secs: Some(1),
        ..Limits::default()
    };
    let isolation = Isolation::new([work.path()]).limits(limits);
    let out = run(bash("while :; do :; done", work.path()).isolate(isolation)).await;
    // Killed by SIGKILL, which the namespace's init shell reports as a
    // shell does.
    assert_eq!(out.exit_code, Some(128 + libc::SIGKILL), "{out:#?}");
    assert!(!out.timed_out, "{out:#?}");
    assert!(out.duration < Duration::from_secs(20), "{out:#?}");
}

/// A program run as a PID namespace's init ignores the signals it has no
/// handler for when they come from inside; the command is not the init,
/// so a shell that sends itself SIGTERM dies of it.
#[tokio::test]
async fn the_command_keeps_ordinary_signal_behaviour() {
    let work = tempfile::tempdir().expect("temp dir");
    let out =
        run(bash("kill -TERM $$; echo survived", work.path())
            .isolate(Isolation::new([work.path()])))
        .await;
    assert_eq!(out.exit_code, Some(128 + libc::SIGTERM), "{out:#?}");
    assert_eq!(out.stdout, "", "{out:#?}");
}

#[tokio::test]
async fn the_timeout_kills_background_children_in_the_namespace() {
    let work = tempfile::tempdir().expect("temp dir");
    let marker = format!("301.{}", unique());
    let script = format!("sleep {marker} & echo started; wait");
    let out = run(bash(&script, work.path())
        .timeout(Duration::from_secs(2))
        .isolate(Isolation::new([work.path()])))
    .await;
    assert!(out.timed_out, "{out:#?}");
    assert_eq!(out.stdout, "started\n", "the sleep never started: {out:#?}");
    assert_eq!(gone(&["sleep", &marker]).await, Vec::<String>::new());
}

// That the sandbox dies with the process that started it (killed -9, so
// nothing of it runs on the way out) is shown through the real `hive`
// binary: hive-server's `changes::a_kill_9_during_the_sandboxed_tests_leaves_nothing_behind`.

#[tokio::test]
async fn a_writable_path_that_does_not_exist_is_invalid_input() {
    let work = tempfile::tempdir().expect("temp dir");
    let missing: PathBuf = work.path().join("no-such-dir");
    let result = bash("true", work.path())
        .isolate(Isolation::new([work.path().to_path_buf(), missing.clone()]))
        .run(&CancellationToken::new())
        .await;
    match result {
        Err(Error::InvalidInput(message)) => {
            assert!(message.contains(&*missing.to_string_lossy()), "{message}")
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}
